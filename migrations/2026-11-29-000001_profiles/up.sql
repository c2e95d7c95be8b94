-- Users, their media, and the follow/block graph (SPEC §1).
--
-- Ids are MongoDB ObjectIds kept as 24 lowercase hex characters so that the legacy clients keep
-- their ids; lookups lowercase the input before they reach the database.

CREATE TABLE users (
    id                          text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{24}$'),
    name                        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    surname                     text        NOT NULL CHECK (char_length(surname) BETWEEN 1 AND 50),
    username                    text        NOT NULL CHECK (username ~ '^[A-Za-z0-9_.]{3,30}$'),
    -- Usernames are ASCII, but lower() follows the database's LC_CTYPE: under a Turkish locale
    -- it turns 'I' into 'ı'. Folding under the "C" collation keeps it locale-independent.
    username_key                text        NOT NULL GENERATED ALWAYS AS (lower(username COLLATE "C")) STORED,
    availability_status         text        NOT NULL DEFAULT 'offline'
                                            CHECK (availability_status IN ('available', 'busy', 'away', 'offline')),
    profile_photo_id            text,
    interests                   text[]      NOT NULL DEFAULT '{}'
                                            CHECK (cardinality(interests) <= 20 AND array_position(interests, NULL) IS NULL),
    expertise                   text        CHECK (char_length(expertise) <= 100),
    birth_date                  date,
    minute_price_in_live_stream integer     NOT NULL DEFAULT 0 CHECK (minute_price_in_live_stream BETWEEN 0 AND 100000),
    bio                         text        CHECK (char_length(bio) <= 500),
    instagram                   text        CHECK (char_length(instagram) BETWEEN 1 AND 100),
    snapchat                    text        CHECK (char_length(snapchat) BETWEEN 1 AND 100),
    x                           text        CHECK (char_length(x) BETWEEN 1 AND 100),
    tiktok                      text        CHECK (char_length(tiktok) BETWEEN 1 AND 100),
    facebook                    text        CHECK (char_length(facebook) BETWEEN 1 AND 100),
    is_private                  boolean     NOT NULL DEFAULT false,
    deactivated_at              timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

-- The one guard against two users sharing a username in any letter case; a racing update loses
-- here with a unique violation, which the API reports as 409.
CREATE UNIQUE INDEX users_username_key_idx ON users (username_key);

CREATE TABLE media (
    id         text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{24}$'),
    owner_id   text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url        text        NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    type       text        NOT NULL CHECK (type IN ('image', 'video')),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Target of the users' composite foreign key below.
    UNIQUE (id, owner_id)
);

CREATE INDEX media_owner_idx ON media (owner_id);

-- A profile photo must be a media item of the same user: the composite key makes the database
-- enforce ownership, not only existence.
ALTER TABLE users
    ADD CONSTRAINT users_profile_photo_owned_fkey
    FOREIGN KEY (profile_photo_id, id) REFERENCES media (id, owner_id)
    ON DELETE SET NULL (profile_photo_id);

CREATE TABLE follows (
    follower_id text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      text        NOT NULL CHECK (status IN ('pending', 'accepted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);

-- Followers of a user and the users someone follows, newest first with ties broken by id: the
-- order of the paginated lists, so a page is an index range scan.
CREATE INDEX follows_followee_page_idx ON follows (followee_id, status, created_at DESC, follower_id DESC);
CREATE INDEX follows_follower_page_idx ON follows (follower_id, status, created_at DESC, followee_id DESC);

CREATE TABLE blocks (
    blocker_id text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);

CREATE INDEX blocks_blocked_idx ON blocks (blocked_id, blocker_id);
