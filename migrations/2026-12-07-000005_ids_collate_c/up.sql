-- Ids are 24 lowercase hex characters: compared byte by byte ("C") they sort in the same order
-- and are equal exactly when they were equal under the database's locale, but PostgreSQL
-- compares them without the locale's machinery and sorts them with abbreviated keys. Every
-- index on an id gets cheaper to search and to build: for the first import of 10 M follows,
-- sorting them took 18.5 s rather than 24.4 s and building their three indexes 34.7 s rather
-- than 40.8 s (bench/README.md). All id columns change together, so every key and the foreign
-- key that refers to it share one collation. (Usernames are compared under "C" already.)
ALTER TABLE follows
    ALTER COLUMN follower_id TYPE text COLLATE "C",
    ALTER COLUMN followee_id TYPE text COLLATE "C";
ALTER TABLE blocks
    ALTER COLUMN blocker_id TYPE text COLLATE "C",
    ALTER COLUMN blocked_id TYPE text COLLATE "C";
ALTER TABLE follow_counters ALTER COLUMN user_id TYPE text COLLATE "C";
ALTER TABLE import_follows
    ALTER COLUMN follower_id TYPE text COLLATE "C",
    ALTER COLUMN followee_id TYPE text COLLATE "C";
ALTER TABLE media
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN owner_id TYPE text COLLATE "C";
ALTER TABLE users
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN profile_photo_id TYPE text COLLATE "C";
