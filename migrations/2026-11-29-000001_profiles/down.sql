DROP TABLE blocks;
DROP TABLE follows;
ALTER TABLE users DROP CONSTRAINT users_profile_photo_owned_fkey;
DROP TABLE media;
DROP TABLE users;
