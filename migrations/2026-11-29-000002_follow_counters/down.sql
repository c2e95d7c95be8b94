DROP TRIGGER follows_counters_delete ON follows;
DROP TRIGGER follows_counters_update ON follows;
DROP TRIGGER follows_counters_insert ON follows;
DROP FUNCTION follow_counters_on_follows_change();
DROP FUNCTION apply_follow_count_changes(text[], text[], integer[]);
DROP TRIGGER users_follow_counters ON users;
DROP FUNCTION follow_counters_for_new_users();
DROP TABLE follow_counters;
