-- The viewer's relation to a profile is read by key: "does A follow B, and how?". With the
-- status in the primary key's index, that answer is an index-only probe on both ids; without
-- it, the planner preferred the paging index (which holds the status) and walked all of A's
-- follows to find B — fine for most, slow for a viewer who follows a hundred thousand users.
ALTER TABLE follows
    DROP CONSTRAINT follows_pkey,
    ADD CONSTRAINT follows_pkey PRIMARY KEY (follower_id, followee_id) INCLUDE (status);
