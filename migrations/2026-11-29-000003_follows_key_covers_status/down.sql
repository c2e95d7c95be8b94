ALTER TABLE follows
    DROP CONSTRAINT follows_pkey,
    ADD CONSTRAINT follows_pkey PRIMARY KEY (follower_id, followee_id);
