-- Follower and following counts kept as counters, so that reading a profile never counts rows:
-- a user followed by five million costs the same to read as one followed by five.
--
-- The counters are maintained by statement-level triggers over transition tables rather than by
-- the application: every path that changes `follows` (the API, `import`, a manual fix in psql)
-- keeps them right in the same transaction, and a bulk statement updates each counter once per
-- statement instead of once per row.

CREATE TABLE follow_counters (
    user_id         text    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    followers_count integer NOT NULL DEFAULT 0 CHECK (followers_count >= 0),
    following_count integer NOT NULL DEFAULT 0 CHECK (following_count >= 0)
);

INSERT INTO follow_counters (user_id) SELECT id FROM users;

CREATE FUNCTION follow_counters_for_new_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO follow_counters (user_id) SELECT id FROM new_users ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_follow_counters
    AFTER INSERT ON users REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION follow_counters_for_new_users();

-- Applies one signed change per accepted follow relation (+1 when it appears, -1 when it goes).
CREATE FUNCTION apply_follow_count_changes(followers text[], followees text[], deltas integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Lock the counter rows in id order: two transactions touching the same users then always
    -- queue behind each other instead of deadlocking.
    PERFORM 1 FROM follow_counters
     WHERE user_id IN (SELECT unnest(followers) UNION SELECT unnest(followees))
     ORDER BY user_id
       FOR UPDATE;

    UPDATE follow_counters AS c
       SET followers_count = c.followers_count + d.followers_delta,
           following_count = c.following_count + d.following_delta
      FROM (SELECT user_id, sum(followers_delta)::integer AS followers_delta,
                   sum(following_delta)::integer AS following_delta
              FROM (SELECT followee AS user_id, delta AS followers_delta, 0 AS following_delta
                      FROM unnest(followees, deltas) AS t (followee, delta)
                    UNION ALL
                    SELECT follower, 0, delta
                      FROM unnest(followers, deltas) AS t (follower, delta)) AS per_side
             GROUP BY user_id) AS d
     WHERE c.user_id = d.user_id
       AND (d.followers_delta <> 0 OR d.following_delta <> 0);
END
$$;

CREATE FUNCTION follow_counters_on_follows_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM apply_follow_count_changes(array_agg(follower_id), array_agg(followee_id), array_agg(1))
           FROM new_rows WHERE status = 'accepted' HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM apply_follow_count_changes(array_agg(follower_id), array_agg(followee_id), array_agg(-1))
           FROM old_rows WHERE status = 'accepted' HAVING count(*) > 0;
    ELSE
        PERFORM apply_follow_count_changes(array_agg(follower_id), array_agg(followee_id), array_agg(delta))
           FROM (SELECT follower_id, followee_id, 1 AS delta FROM new_rows WHERE status = 'accepted'
                 UNION ALL
                 SELECT follower_id, followee_id, -1 FROM old_rows WHERE status = 'accepted') AS changes
         HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER follows_counters_insert
    AFTER INSERT ON follows REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_counters_on_follows_change();

CREATE TRIGGER follows_counters_update
    AFTER UPDATE ON follows REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_counters_on_follows_change();

CREATE TRIGGER follows_counters_delete
    AFTER DELETE ON follows REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_counters_on_follows_change();
