ALTER TABLE follows
    ALTER COLUMN follower_id TYPE text COLLATE "default",
    ALTER COLUMN followee_id TYPE text COLLATE "default";
ALTER TABLE blocks
    ALTER COLUMN blocker_id TYPE text COLLATE "default",
    ALTER COLUMN blocked_id TYPE text COLLATE "default";
ALTER TABLE follow_counters ALTER COLUMN user_id TYPE text COLLATE "default";
ALTER TABLE import_follows
    ALTER COLUMN follower_id TYPE text COLLATE "default",
    ALTER COLUMN followee_id TYPE text COLLATE "default";
ALTER TABLE media
    ALTER COLUMN id TYPE text COLLATE "default",
    ALTER COLUMN owner_id TYPE text COLLATE "default";
ALTER TABLE users
    ALTER COLUMN id TYPE text COLLATE "default",
    ALTER COLUMN profile_photo_id TYPE text COLLATE "default";
