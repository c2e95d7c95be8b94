-- The statement profile-api sends for GET /api/v1/users/profile/{id} by an anonymous viewer
-- (src/db/profiles.rs, find_many through find_with_counts): the user, its photo and its
-- counters, one row; an anonymous viewer has no relations to probe. The id is one of the first
-- :hot ordinary users (pgbench -D hot=N; 100000 for all of them, as in users_by_pk.sql).
\set n random(1, :hot)
SELECT "users"."id", "users"."name", "users"."surname", "users"."username", "users"."availability_status", "users"."interests", "users"."expertise", "users"."birth_date", "users"."minute_price_in_live_stream", "users"."bio", "users"."instagram", "users"."snapchat", "users"."x", "users"."tiktok", "users"."facebook", "users"."is_private", "users"."deactivated_at", "users"."created_at", "users"."updated_at", "media"."id", "media"."url", "media"."type", "follow_counters"."followers_count", "follow_counters"."following_count", NULL::text FROM (("users" LEFT OUTER JOIN "media" ON ("users"."profile_photo_id" = "media"."id")) LEFT OUTER JOIN "follow_counters" ON ("follow_counters"."user_id" = "users"."id")) WHERE ("users"."id" = ANY(ARRAY['ab' || lpad(to_hex(:n::integer), 22, '0')]));
