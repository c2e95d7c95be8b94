-- `profile-api import` stages follows.jsonl here, batch by batch, each batch committed with its
-- checkpoint, and moves them into `follows` in one set-based transaction at the end of the file
-- (db::bulk::BulkWriter::merge_follows), which also refuses, set-based, the follows whose users
-- are missing or have blocked one another. One sorted statement is cheaper than a thousand small
-- ones scattered over the table's three indexes, and into an empty `follows` (the first load of
-- a legacy database) the indexes and foreign keys are built once, after the rows, instead of row
-- by row. Empty between imports.
--
-- Unlogged: what it holds can be read again from the file, so writing it to the WAL as well
-- (and to the replicas) would only slow the import down (by 40 % for 10 M follows here). The
-- price: a crash of PostgreSQL empties it, while the checkpoints say the rows were staged; an
-- import resumed after that notices and reads follows.jsonl again from its start
-- (src/import/mod.rs).
CREATE UNLOGGED TABLE import_follows (
    -- The document's line in follows.jsonl: the last line of a pair wins, a skip names it.
    line          bigint      PRIMARY KEY,
    -- Set when a later line of the same batch has the same pair: that line wins, this one is
    -- reported as superseded by it (as when batches were written one by one).
    superseded_by bigint,
    follower_id   text        NOT NULL,
    followee_id   text        NOT NULL,
    status        text        NOT NULL,
    created_at    timestamptz NOT NULL
);
