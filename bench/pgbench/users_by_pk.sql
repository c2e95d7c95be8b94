-- One user row by primary key, the floor under any profile read: an id drawn uniformly from the
-- 100,000 ordinary users of the celebrity data set (ab + the number in 22 hex digits; the id is
-- built from the number inside the statement, since pgbench variables are numbers only).
\set n random(1, 100000)
SELECT * FROM users WHERE id = 'ab' || lpad(to_hex(:n::integer), 22, '0');
