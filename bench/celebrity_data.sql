-- The data set of bench/celebrity.sh, written straight into a freshly migrated database
-- (`profile-api migrate` first): set-based INSERT ... SELECT generate_series statements, with no
-- files to write or parse (under two minutes on a 2-core machine, VACUUM ANALYZE included).
-- The follow counters are not written here: the triggers of the follow_counters migration keep
-- them, as they do for every other writer, and `profile-api recount` checks them afterwards.
--
--   the celebrity   ce0000000000000000000001  followed by all 500,000 fans, follows 5 ordinary users
--   100,000 users   ab + 22 hex digits (1..100000), "user_N": each follows 5 others and is
--                   followed by 5 (N+1, N+7, N+31, N+101, N+997, wrapping around)
--   500,000 fans    fa + 22 hex digits (1..500000), "fan_N": each follows the celebrity only
--
-- The celebrity and the ordinary users have the same shape (a profile photo, interests, a bio,
-- a handle), so that their two reads differ in nothing but the follower count. Every user is
-- public and active: anonymous reads of any of them succeed.

\set ON_ERROR_STOP on
\timing on

BEGIN;

INSERT INTO users (id, name, surname, username, availability_status, interests, expertise,
                   birth_date, minute_price_in_live_stream, bio, instagram, created_at, updated_at)
SELECT id, name, 'Yıldız', username, 'available', ARRAY['music', 'travel'], 'Live music',
       date '1990-05-17', 120, 'Streaming most evenings; say hello.', 'handle_' || username,
       timestamptz '2024-01-02 03:04:05.678+00', timestamptz '2024-01-02 03:04:05.678+00'
  FROM (SELECT 'ce0000000000000000000001' AS id, 'Celebrity' AS name, 'celebrity' AS username
        UNION ALL
        SELECT 'ab' || lpad(to_hex(n), 22, '0'), 'User' || n, 'user_' || n
          FROM generate_series(1, 100000) AS n
        UNION ALL
        SELECT 'fa' || lpad(to_hex(n), 22, '0'), 'Fan' || n, 'fan_' || n
          FROM generate_series(1, 500000) AS n) AS u;

-- A photo for the celebrity and each ordinary user: media id = the user id with its first
-- character replaced by "e" (ab… -> eb…, ce… -> ee…).
INSERT INTO media (id, owner_id, url, type)
SELECT 'e' || substr(id, 2), id, 'https://cdn.example.com/' || id || '.jpg', 'image'
  FROM users WHERE id LIKE 'ab%' OR id LIKE 'ce%';
UPDATE users SET profile_photo_id = 'e' || substr(id, 2) WHERE id LIKE 'ab%' OR id LIKE 'ce%';

-- Each statement fires the counters' statement-level trigger once for all its rows.
INSERT INTO follows (follower_id, followee_id, status, created_at)
SELECT 'fa' || lpad(to_hex(n), 22, '0'), 'ce0000000000000000000001', 'accepted',
       timestamptz '2024-02-01 00:00:00+00' + n * interval '1 second'
  FROM generate_series(1, 500000) AS n;

INSERT INTO follows (follower_id, followee_id, status, created_at)
SELECT 'ab' || lpad(to_hex(n), 22, '0'), 'ab' || lpad(to_hex((n - 1 + k) % 100000 + 1), 22, '0'),
       'accepted', timestamptz '2024-03-01 00:00:00+00' + (n * 5 + k) * interval '1 second'
  FROM generate_series(1, 100000) AS n, unnest(ARRAY[1, 7, 31, 101, 997]) AS k;

INSERT INTO follows (follower_id, followee_id, status, created_at)
SELECT 'ce0000000000000000000001', 'ab' || lpad(to_hex(n), 22, '0'), 'accepted',
       timestamptz '2024-04-01 00:00:00+00' + n * interval '1 second'
  FROM generate_series(1, 5) AS n;

COMMIT;

VACUUM (ANALYZE) users, media, follows, follow_counters;
