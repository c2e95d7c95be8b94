-- Bulk loads (`profile-api import`, the demo seed, the test fixtures) and the live API share
-- the rules that used to be written once for each of them.

-- A block ends every follow between the two users, in both directions, pending or accepted:
-- whoever records the block (the GraphQL/REST block, `import`, a fix in psql). Per statement, so
-- a bulk load of blocks removes the follows in one set-based DELETE (which the counter and
-- change-stream triggers on `follows` then account for once).
CREATE FUNCTION blocks_end_follows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM follows f
     USING new_rows b
     WHERE (f.follower_id = b.blocker_id AND f.followee_id = b.blocked_id)
        OR (f.follower_id = b.blocked_id AND f.followee_id = b.blocker_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER blocks_end_follows_insert
    AFTER INSERT ON blocks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_end_follows();
CREATE TRIGGER blocks_end_follows_update
    AFTER UPDATE ON blocks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_end_follows();

-- Where an import stands, per pass over a file: committed in the same transaction as the batch
-- it follows, so `import --resume` continues exactly after the last batch that landed. A new
-- import (without --resume) starts by emptying it.
CREATE TABLE import_checkpoints (
    pass        text        PRIMARY KEY CHECK (pass IN ('users', 'media', 'photos', 'follows', 'blocks')),
    -- The file read, as the import was given it, and its size then: a resume refuses another.
    source      text        NOT NULL,
    file_size   bigint      NOT NULL CHECK (file_size >= 0),
    -- Everything before this byte (the start of line `line + 1`) is written.
    byte_offset bigint      NOT NULL CHECK (byte_offset >= 0),
    line        bigint      NOT NULL CHECK (line >= 0),
    done        boolean     NOT NULL DEFAULT false,
    -- The file's report counts so far, so that a resumed import's report covers the whole file.
    inserted    bigint      NOT NULL DEFAULT 0,
    updated     bigint      NOT NULL DEFAULT 0,
    skipped     bigint      NOT NULL DEFAULT 0,
    warnings    bigint      NOT NULL DEFAULT 0,
    saved_at    timestamptz NOT NULL DEFAULT now()
);
