-- The change stream: every committed change that can alter a profile read is announced on the
-- `profile_changes` channel, whoever makes it (any instance of the server, `import`, `recount`,
-- a fix in psql). Each instance LISTENs on one connection and drops what its cache holds about
-- the keys named (src/db/changes.rs); live subscriptions follow the same stream.
--
-- NOTIFY is transactional: a notification is delivered only if and when its transaction commits,
-- after the commit, and notifications reach every listener in commit order.
--
-- A payload is `<kind>:<when>:<key>,<key>,...`, where <when> is the statement's clock time in
-- microseconds since the Unix epoch (how late an invalidation arrives is measured from it), and
-- <kind> is one of:
--   u  users whose row changed (any profile field, privacy, deactivation, photo)
--   a  users whose availability changed (also announced as `u`)
--   c  users whose follower or following counter changed
--   f  follow relations that appeared, changed or went, as `follower>followee`
--   b  blocks that appeared or went, as `blocker>blocked`
--   *  too much to name (a bulk statement, a TRUNCATE): drop everything
-- Triggers are per statement, so a bulk statement sends one notification, not one per row.

CREATE FUNCTION profile_changes_notify(kind text, keys text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF coalesce(cardinality(keys), 0) = 0 THEN
        RETURN;
    END IF;
    payload := kind || ':' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint || ':'
        || array_to_string(keys, ',');
    -- NOTIFY payloads are limited to 8000 bytes; past that, ask for a flush instead.
    IF octet_length(payload) > 7900 THEN
        payload := '*';
    END IF;
    PERFORM pg_notify('profile_changes', payload);
END
$$;

CREATE FUNCTION users_changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM profile_changes_notify('u', (SELECT array_agg(id) FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM profile_changes_notify('u', (SELECT array_agg(id) FROM old_rows));
    ELSE
        PERFORM profile_changes_notify('u', (
            SELECT array_agg(n.id) FROM new_rows n JOIN old_rows o USING (id)
             WHERE (n.*) IS DISTINCT FROM (o.*)));
        PERFORM profile_changes_notify('a', (
            SELECT array_agg(n.id) FROM new_rows n JOIN old_rows o USING (id)
             WHERE n.availability_status IS DISTINCT FROM o.availability_status));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_changes_insert
    AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_changes_notify();
CREATE TRIGGER users_changes_update
    AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_changes_notify();
CREATE TRIGGER users_changes_delete
    AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_changes_notify();

-- A media item shows in its owner's profile when it is the profile photo. Deleting one clears
-- the photo through the foreign key, which the users trigger announces; only an edit of the
-- item itself is left to announce here.
CREATE FUNCTION media_changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM profile_changes_notify('u', (
        SELECT array_agg(DISTINCT n.owner_id) FROM new_rows n JOIN old_rows o USING (id)
         WHERE (n.url, n.type, n.owner_id) IS DISTINCT FROM (o.url, o.type, o.owner_id)));
    RETURN NULL;
END
$$;

CREATE TRIGGER media_changes_update
    AFTER UPDATE ON media REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION media_changes_notify();

CREATE FUNCTION follows_changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM profile_changes_notify('f', (
            SELECT array_agg(follower_id || '>' || followee_id) FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM profile_changes_notify('f', (
            SELECT array_agg(follower_id || '>' || followee_id) FROM old_rows));
    ELSE
        PERFORM profile_changes_notify('f', (
            SELECT array_agg(DISTINCT pair) FROM (
                SELECT follower_id || '>' || followee_id AS pair FROM new_rows
                UNION
                SELECT follower_id || '>' || followee_id FROM old_rows) AS pairs));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER follows_changes_insert
    AFTER INSERT ON follows REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follows_changes_notify();
CREATE TRIGGER follows_changes_update
    AFTER UPDATE ON follows REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follows_changes_notify();
CREATE TRIGGER follows_changes_delete
    AFTER DELETE ON follows REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follows_changes_notify();

CREATE FUNCTION blocks_changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM profile_changes_notify('b', (
            SELECT array_agg(blocker_id || '>' || blocked_id) FROM new_rows));
    ELSE
        PERFORM profile_changes_notify('b', (
            SELECT array_agg(blocker_id || '>' || blocked_id) FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER blocks_changes_insert
    AFTER INSERT ON blocks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_changes_notify();
CREATE TRIGGER blocks_changes_delete
    AFTER DELETE ON blocks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_changes_notify();

CREATE FUNCTION follow_counters_changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM profile_changes_notify('c', (SELECT array_agg(user_id) FROM old_rows));
    ELSE
        PERFORM profile_changes_notify('c', (SELECT array_agg(user_id) FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER follow_counters_changes_insert
    AFTER INSERT ON follow_counters REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_counters_changes_notify();
CREATE TRIGGER follow_counters_changes_update
    AFTER UPDATE ON follow_counters REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_counters_changes_notify();
CREATE TRIGGER follow_counters_changes_delete
    AFTER DELETE ON follow_counters REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_counters_changes_notify();

-- TRUNCATE fires no row or transition-table triggers: announce a flush.
CREATE FUNCTION profile_changes_flush() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('profile_changes', '*');
    RETURN NULL;
END
$$;

CREATE TRIGGER users_changes_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION profile_changes_flush();
CREATE TRIGGER media_changes_truncate AFTER TRUNCATE ON media
    FOR EACH STATEMENT EXECUTE FUNCTION profile_changes_flush();
CREATE TRIGGER follows_changes_truncate AFTER TRUNCATE ON follows
    FOR EACH STATEMENT EXECUTE FUNCTION profile_changes_flush();
CREATE TRIGGER blocks_changes_truncate AFTER TRUNCATE ON blocks
    FOR EACH STATEMENT EXECUTE FUNCTION profile_changes_flush();
CREATE TRIGGER follow_counters_changes_truncate AFTER TRUNCATE ON follow_counters
    FOR EACH STATEMENT EXECUTE FUNCTION profile_changes_flush();
