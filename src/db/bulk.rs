//! The one bulk writer: `import`, the demo seed and the test fixtures all write through it, in
//! the one order users → media → profile photos → follows → blocks ([`BulkWriter::write_all`]
//! for a data set in memory; `import` streams the same steps file by file).
//!
//! A batch is one transaction: its rows go by `COPY … FROM STDIN (FORMAT binary)` into a
//! temporary staging table, then one set-based `INSERT … SELECT … ON CONFLICT DO UPDATE` moves
//! them into the real table (an existing id or pair is updated, a new one inserted), and the
//! import's checkpoint is saved in the same transaction. The tables' statement-level triggers
//! fire once per statement: the follow counters of the users a batch touches are brought up to
//! date set-based inside the transaction (so no reader sees counts that disagree with
//! `follows`), and the change stream announces the batch to every running instance's cache. If
//! the set-based statement fails because of a bad row (a username taken in another letter case,
//! a photo that is not the user's), the batch is written again row by row from the same staging
//! table, each row under its own savepoint, so the bad row is named and the rest still land.
//!
//! An import's follows, by far its largest file, take another road
//! ([`BulkWriter::stage_follows`], [`BulkWriter::merge_follows`]): batch by batch, with their
//! checkpoints, into the plain table `import_follows` (COPY only, no look-up), then into
//! `follows` in one transaction at the end of the file: the refusals (missing users, blocks,
//! superseded lines) set-based, then one sorted statement. A batch written on its own spent its
//! time, each about a third, on the insert into three B-tree indexes scattered over the whole
//! table, on two foreign-key checks per row and on the counters' trigger; into an empty
//! `follows` the merge builds the indexes and keys once, after the rows, and sets the counters
//! in one statement, five times faster than batch by batch (bench/README.md).
//!
//! Two things used to cost more than all of that and are gone: JIT compilation of every batch's
//! statements (the session turns JIT off, see [`BulkWriter::connect`]), and a quadratic nested
//! loop in the `users`/`media` change-stream triggers that pair old and new rows of a bulk
//! UPDATE (migration `2026-12-07-000002_transition_joins`).
//!
//! Why a tokio-postgres connection of its own: diesel-async 0.9 (our driver for everything else)
//! has no COPY, and diesel's own `copy_from` needs the synchronous libpq connection. tokio-postgres
//! is the client diesel-async is built on (no new dependency tree), and its binary `copy_in`
//! sends typed values with no text escaping to get wrong. COPY, the staging tables and the
//! upserts must share a session and a transaction, so the whole batch runs on that connection:
//! this is the one transaction in the code base not run by `db::pool::transaction!` (which is
//! tied to diesel's connection type); it retries a lost race the same way.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{TryStreamExt, pin_mut};
use secrecy::ExposeSecret;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Transaction};

use super::pool::APPLICATION_NAME;
use super::{Db, changes, follows};
use crate::error::{AppError, AppResult};

/// A user as imported or seeded (everything but the profile photo, set afterwards).
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Id.
    pub id: String,
    /// Given name.
    pub name: String,
    /// Family name.
    pub surname: String,
    /// Username.
    pub username: String,
    /// `available`, `busy`, `away` or `offline`.
    pub availability_status: String,
    /// Interests.
    pub interests: Vec<String>,
    /// Expertise.
    pub expertise: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Price per live-stream minute.
    pub minute_price_in_live_stream: i32,
    /// Bio.
    pub bio: Option<String>,
    /// Instagram handle.
    pub instagram: Option<String>,
    /// Snapchat handle.
    pub snapchat: Option<String>,
    /// X handle.
    pub x: Option<String>,
    /// TikTok handle.
    pub tiktok: Option<String>,
    /// Facebook handle.
    pub facebook: Option<String>,
    /// Private profile.
    pub is_private: bool,
    /// Deactivation time.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A media item.
#[derive(Debug, Clone)]
pub struct MediaRecord {
    /// Id.
    pub id: String,
    /// Owning user.
    pub owner_id: String,
    /// URL.
    pub url: String,
    /// `image` or `video`.
    pub media_type: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A follow relation.
#[derive(Debug, Clone)]
pub struct FollowRecord {
    /// Who follows.
    pub follower_id: String,
    /// Who is followed.
    pub followee_id: String,
    /// `pending` or `accepted`.
    pub status: String,
    /// When the follow was requested.
    pub created_at: DateTime<Utc>,
}

/// A block.
#[derive(Debug, Clone)]
pub struct BlockRecord {
    /// Who blocks.
    pub blocker_id: String,
    /// Who is blocked.
    pub blocked_id: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A whole data set in memory (the demo data, a test's fixtures).
#[derive(Debug, Default, Clone)]
pub struct Dataset {
    /// Users.
    pub users: Vec<UserRecord>,
    /// Media items.
    pub media: Vec<MediaRecord>,
    /// Profile photos: (user id, media id).
    pub photos: Vec<(String, Option<String>)>,
    /// Follow relations.
    pub follows: Vec<FollowRecord>,
    /// Blocks.
    pub blocks: Vec<BlockRecord>,
}

/// What a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// New rows.
    pub inserted: u64,
    /// Existing rows overwritten.
    pub updated: u64,
    /// The rows not written (their index in the batch), and why.
    pub skipped: Vec<(usize, String)>,
}

impl Written {
    fn add(&mut self, other: Written) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.skipped.extend(other.skipped);
    }
}

/// Counts of one file so far (see [`Checkpoint`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// New rows.
    pub inserted: u64,
    /// Existing rows overwritten.
    pub updated: u64,
    /// Documents not written.
    pub skipped: u64,
    /// Values dropped from written documents.
    pub warnings: u64,
}

/// Where an import's pass over a file stands, saved with the batch it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The pass: `users`, `media`, `photos`, `follows` or `blocks`.
    pub pass: String,
    /// The file, as given.
    pub source: String,
    /// The file's size.
    pub file_size: u64,
    /// Everything before this byte is written.
    pub byte_offset: u64,
    /// The last line written (1-based; 0 before the first).
    pub line: u64,
    /// The whole file is written.
    pub done: bool,
    /// The file's counts up to here.
    pub tally: Tally,
}

/// Records the bulk writer can load: a staging table and the statement that upserts from it.
pub trait Stage: Send + Sync {
    /// The temporary staging table.
    const STAGING: &'static str;
    /// Its columns after `ord` (the row's index in the batch), with their types.
    const COLUMNS: &'static [(&'static str, Type)];
    /// Moves the staged rows whose `ord` is `$1` (all of them when `$1` is null) into the real
    /// table; returns (inserted, updated).
    const UPSERT: &'static str;
    /// The row's values, in [`Stage::COLUMNS`] order.
    fn values(&self) -> Vec<&(dyn ToSql + Sync)>;
}

/// Wraps an `INSERT … RETURNING (xmax = 0) AS inserted` into the counts the report needs:
/// `xmax = 0` holds for a row the statement inserted and not for one it updated.
macro_rules! upsert {
    ($insert:literal) => {
        concat!(
            "WITH written AS (",
            $insert,
            " RETURNING (xmax = 0) AS inserted) \
             SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
        )
    };
}

impl Stage for UserRecord {
    const STAGING: &'static str = "bulk_users";
    const COLUMNS: &'static [(&'static str, Type)] = &[
        ("id", Type::TEXT),
        ("name", Type::TEXT),
        ("surname", Type::TEXT),
        ("username", Type::TEXT),
        ("availability_status", Type::TEXT),
        ("interests", Type::TEXT_ARRAY),
        ("expertise", Type::TEXT),
        ("birth_date", Type::DATE),
        ("minute_price_in_live_stream", Type::INT4),
        ("bio", Type::TEXT),
        ("instagram", Type::TEXT),
        ("snapchat", Type::TEXT),
        ("x", Type::TEXT),
        ("tiktok", Type::TEXT),
        ("facebook", Type::TEXT),
        ("is_private", Type::BOOL),
        ("deactivated_at", Type::TIMESTAMPTZ),
        ("created_at", Type::TIMESTAMPTZ),
        ("updated_at", Type::TIMESTAMPTZ),
    ];
    const UPSERT: &'static str = upsert!(
        "INSERT INTO users (id, name, surname, username, availability_status, interests, \
             expertise, birth_date, minute_price_in_live_stream, bio, instagram, snapchat, x, \
             tiktok, facebook, is_private, deactivated_at, created_at, updated_at) \
         SELECT id, name, surname, username, availability_status, interests, expertise, \
             birth_date, minute_price_in_live_stream, bio, instagram, snapchat, x, tiktok, \
             facebook, is_private, deactivated_at, created_at, updated_at \
           FROM bulk_users WHERE $1::int8 IS NULL OR ord = $1 ORDER BY id \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, surname = excluded.surname, \
             username = excluded.username, availability_status = excluded.availability_status, \
             interests = excluded.interests, expertise = excluded.expertise, \
             birth_date = excluded.birth_date, \
             minute_price_in_live_stream = excluded.minute_price_in_live_stream, \
             bio = excluded.bio, instagram = excluded.instagram, snapchat = excluded.snapchat, \
             x = excluded.x, tiktok = excluded.tiktok, facebook = excluded.facebook, \
             is_private = excluded.is_private, deactivated_at = excluded.deactivated_at, \
             created_at = excluded.created_at, updated_at = excluded.updated_at"
    );

    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.name,
            &self.surname,
            &self.username,
            &self.availability_status,
            &self.interests,
            &self.expertise,
            &self.birth_date,
            &self.minute_price_in_live_stream,
            &self.bio,
            &self.instagram,
            &self.snapchat,
            &self.x,
            &self.tiktok,
            &self.facebook,
            &self.is_private,
            &self.deactivated_at,
            &self.created_at,
            &self.updated_at,
        ]
    }
}

impl Stage for MediaRecord {
    const STAGING: &'static str = "bulk_media";
    const COLUMNS: &'static [(&'static str, Type)] = &[
        ("id", Type::TEXT),
        ("owner_id", Type::TEXT),
        ("url", Type::TEXT),
        ("type", Type::TEXT),
        ("created_at", Type::TIMESTAMPTZ),
    ];
    const UPSERT: &'static str = upsert!(
        "INSERT INTO media (id, owner_id, url, type, created_at) \
         SELECT id, owner_id, url, type, created_at \
           FROM bulk_media WHERE $1::int8 IS NULL OR ord = $1 ORDER BY id \
         ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id, url = excluded.url, \
             type = excluded.type, created_at = excluded.created_at"
    );

    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.owner_id,
            &self.url,
            &self.media_type,
            &self.created_at,
        ]
    }
}

impl Stage for FollowRecord {
    const STAGING: &'static str = "bulk_follows";
    const COLUMNS: &'static [(&'static str, Type)] = &[
        ("follower_id", Type::TEXT),
        ("followee_id", Type::TEXT),
        ("status", Type::TEXT),
        ("created_at", Type::TIMESTAMPTZ),
    ];
    const UPSERT: &'static str = upsert!(
        "INSERT INTO follows (follower_id, followee_id, status, created_at) \
         SELECT follower_id, followee_id, status, created_at \
           FROM bulk_follows WHERE $1::int8 IS NULL OR ord = $1 ORDER BY follower_id, followee_id \
         ON CONFLICT (follower_id, followee_id) DO UPDATE SET status = excluded.status, \
             created_at = excluded.created_at"
    );

    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.follower_id,
            &self.followee_id,
            &self.status,
            &self.created_at,
        ]
    }
}

impl Stage for BlockRecord {
    const STAGING: &'static str = "bulk_blocks";
    const COLUMNS: &'static [(&'static str, Type)] = &[
        ("blocker_id", Type::TEXT),
        ("blocked_id", Type::TEXT),
        ("created_at", Type::TIMESTAMPTZ),
    ];
    // The follows between the two users end by the trigger `blocks_end_follows`, the same rule
    // the live block goes through.
    const UPSERT: &'static str = upsert!(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) \
         SELECT blocker_id, blocked_id, created_at \
           FROM bulk_blocks WHERE $1::int8 IS NULL OR ord = $1 ORDER BY blocker_id, blocked_id \
         ON CONFLICT (blocker_id, blocked_id) DO UPDATE SET created_at = excluded.created_at"
    );

    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![&self.blocker_id, &self.blocked_id, &self.created_at]
    }
}

/// How many times a batch that lost a race the database detected is tried in all (as
/// `transaction!` does).
const ATTEMPTS: u32 = 3;

/// The bulk writer's connection, with its staging tables.
pub struct BulkWriter {
    client: Client,
}

impl std::fmt::Debug for BulkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkWriter").finish_non_exhaustive()
    }
}

impl BulkWriter {
    /// Opens the writer's own connection to `db`'s primary and creates its staging tables.
    pub async fn connect(db: &Db) -> AppResult<Self> {
        let (client, connection) = tokio_postgres::connect(db.url().expose_secret(), NoTls)
            .await
            .map_err(|e| AppError::Unavailable(format!("database unreachable: {e}")))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "the bulk writer's connection ended");
            }
        });
        // Every bulk statement reaches the rows of one batch by key, but right after a load the
        // planner's statistics lag behind (autovacuum analyzes later): it chose to scan all of
        // `users` for a batch of 2,000 photos, a cost that grows with the table. enable_seqscan
        // = off is a penalty, not a ban: the staging tables are still scanned, the real ones
        // are reached through their indexes. A batch's statements are bounded by its size, not
        // by a waiting client: the pool's short statement_timeout does not apply.
        // synchronous_commit = off: a crash of the server may lose the last batches' commits,
        // but each batch's checkpoint is lost with it, so a resumed import writes them again;
        // flushing the WAL at every batch would cost more than the whole batch. jit = off: the
        // seqscan penalty inflates every plan's cost past jit_above_cost, and compiling each
        // batch's statements (the upsert, the triggers' queries) took 200 ms of the 550 ms of a
        // 2,000-follow batch; these statements are short, compiling them never pays.
        let setup = format!(
            "SET application_name = '{APPLICATION_NAME} bulk'; SET TIME ZONE 'UTC'; \
             SET statement_timeout = '10min'; SET synchronous_commit = off; \
             SET enable_seqscan = off; SET jit = off; {} {} {} {}",
            staging::<UserRecord>(),
            staging::<MediaRecord>(),
            staging::<FollowRecord>(),
            staging::<BlockRecord>(),
        );
        client.batch_execute(&setup).await.map_err(error)?;
        Ok(Self { client })
    }

    /// Writes `rows` in one transaction (see the module's documentation), with `checkpoint`
    /// saved in it, its tally advanced by what the batch did.
    pub async fn write<T: Stage>(
        &mut self,
        rows: &[T],
        checkpoint: Option<Checkpoint>,
    ) -> AppResult<Written> {
        self.in_transaction(async |transaction| {
            write_in(transaction, rows, checkpoint.clone()).await
        })
        .await
    }

    /// Stages a batch of an import's follows in `import_follows`, in one transaction with
    /// `checkpoint`: each row with its line in follows.jsonl (`lines`) and, when a later line
    /// of the batch has the same pair, that line (`superseded_by`). They reach `follows` all at
    /// once, by [`BulkWriter::merge_follows`] at the end of the file.
    pub async fn stage_follows(
        &mut self,
        rows: &[FollowRecord],
        lines: &[u64],
        superseded_by: &[Option<u64>],
        checkpoint: &Checkpoint,
    ) -> AppResult<()> {
        // A missing line number cannot happen (one per row); it would fail on the primary key
        // rather than stage a row under a wrong line.
        let lead = |index: usize| {
            [
                lines.get(index).map(|line| number(*line)),
                superseded_by.get(index).copied().flatten().map(number),
            ]
        };
        self.in_transaction(async |transaction| {
            if !rows.is_empty() {
                copy_in(
                    transaction,
                    "import_follows",
                    ["line", "superseded_by"],
                    rows,
                    lead,
                )
                .await?;
            }
            save(transaction, checkpoint).await
        })
        .await
    }

    /// Moves the staged follows into `follows` in one transaction with `checkpoint` (its tally
    /// advanced by the merge; saved as it is, so pass it marked done), and empties the staging.
    ///
    /// First the refusals, set-based, with the reasons a batch written on its own gives: a
    /// follow whose user is missing, whose users have blocked one another, or that a later line
    /// of its batch superseded is not written; the first `list` of them come back with their
    /// lines. Of the rest, the last line of a pair wins; the earlier ones count as updates, as
    /// they would have, written batch by batch. Into an empty `follows` (the first load), the
    /// table's indexes and its primary and foreign keys are dropped, the rows written in one
    /// statement, and everything rebuilt from its catalog definition at the end, the way
    /// `pg_restore` loads a table; `follows` is locked for the transaction, so nobody sees it
    /// without them. The statement-level triggers (counters, change stream) fire once.
    pub async fn merge_follows(
        &mut self,
        checkpoint: &Checkpoint,
        list: usize,
    ) -> AppResult<Merged> {
        self.in_transaction(async |transaction| {
            merge_follows_in(transaction, checkpoint, list).await
        })
        .await
    }

    /// Sets each user's profile photo (or clears it, for `None`) where the media item exists and
    /// belongs to the user, in one transaction with `checkpoint`; returns the ids whose photo
    /// could not be set (counted as warnings in the checkpoint's tally).
    pub async fn set_profile_photos(
        &mut self,
        photos: &[(String, Option<String>)],
        checkpoint: Option<Checkpoint>,
    ) -> AppResult<Vec<String>> {
        let ids: Vec<&str> = photos.iter().map(|(id, _)| id.as_str()).collect();
        let media: Vec<Option<&str>> = photos.iter().map(|(_, m)| m.as_deref()).collect();
        self.in_transaction(async |transaction| {
            // Rows that already hold the wanted photo are fine too: only a wanted photo
            // that is not the user's own media item (or a user who is not there) fails.
            // `u.id = ANY($1)` repeats the join for the planner, so it can look the batch's
            // users up by index.
            let failed: Vec<String> = transaction
                .query(
                    "WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS p (id, media)), \
                     updated AS ( \
                         UPDATE users u SET profile_photo_id = p.media FROM wanted p \
                          WHERE u.id = p.id AND u.id = ANY($1::text[]) \
                            AND u.profile_photo_id IS DISTINCT FROM p.media \
                            AND (p.media IS NULL OR EXISTS (SELECT 1 FROM media m \
                                 WHERE m.id = p.media AND m.owner_id = u.id)) \
                         RETURNING u.id) \
                     SELECT p.id FROM wanted p \
                      WHERE p.media IS NOT NULL \
                        AND NOT EXISTS (SELECT 1 FROM updated d WHERE d.id = p.id) \
                        AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.id \
                                          AND u.id = ANY($1::text[]) \
                                          AND u.profile_photo_id = p.media)",
                    &[&ids, &media],
                )
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            if let Some(mut checkpoint) = checkpoint.clone() {
                checkpoint.tally.warnings += failed.len() as u64;
                save(transaction, &checkpoint).await?;
            }
            Ok(failed)
        })
        .await
    }

    /// Writes a whole data set in the one order (users, media, photos, follows, blocks); the
    /// photos that could not be set are reported as skips of their own.
    pub async fn write_all(&mut self, data: &Dataset) -> AppResult<Written> {
        let mut written = self.write(&data.users, None).await?;
        written.add(self.write(&data.media, None).await?);
        for id in self.set_profile_photos(&data.photos, None).await? {
            written.skipped.push((
                0,
                format!("the profile photo of {id} is not its own media item"),
            ));
        }
        written.add(self.write(&data.follows, None).await?);
        written.add(self.write(&data.blocks, None).await?);
        Ok(written)
    }

    /// Of `ids`, those that are users.
    pub async fn existing_users(&self, ids: &[&str]) -> AppResult<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let rows = self
            .client
            .query("SELECT id FROM users WHERE id = ANY($1::text[])", &[&ids])
            .await
            .map_err(error)?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(error))
            .collect()
    }

    /// The checkpoints of the last import, in no particular order.
    pub async fn checkpoints(&self) -> AppResult<Vec<Checkpoint>> {
        let rows = self
            .client
            .query(
                "SELECT pass, source, file_size, byte_offset, line, done, inserted, updated, \
                        skipped, warnings FROM import_checkpoints",
                &[],
            )
            .await
            .map_err(error)?;
        rows.iter()
            .map(|row| {
                let number = |index: usize| -> AppResult<u64> {
                    let value: i64 = row.try_get(index).map_err(error)?;
                    Ok(u64::try_from(value).unwrap_or_default())
                };
                Ok(Checkpoint {
                    pass: row.try_get(0).map_err(error)?,
                    source: row.try_get(1).map_err(error)?,
                    file_size: number(2)?,
                    byte_offset: number(3)?,
                    line: number(4)?,
                    done: row.try_get(5).map_err(error)?,
                    tally: Tally {
                        inserted: number(6)?,
                        updated: number(7)?,
                        skipped: number(8)?,
                        warnings: number(9)?,
                    },
                })
            })
            .collect()
    }

    /// Whether any follows are staged (see [`BulkWriter::stage_follows`]).
    pub async fn has_staged_follows(&self) -> AppResult<bool> {
        let row = self
            .client
            .query_one("SELECT EXISTS (SELECT 1 FROM import_follows)", &[])
            .await
            .map_err(error)?;
        row.try_get(0).map_err(error)
    }

    /// Forgets the last import's checkpoints and staged follows (a new import starts).
    pub async fn clear_checkpoints(&mut self) -> AppResult<()> {
        self.in_transaction(async |transaction| {
            transaction
                .batch_execute("DELETE FROM import_checkpoints; TRUNCATE import_follows")
                .await
        })
        .await
    }

    /// Saves a checkpoint on its own (a pass that ends without a batch to carry it).
    pub async fn save_checkpoint(&mut self, checkpoint: &Checkpoint) -> AppResult<()> {
        self.in_transaction(async |transaction| save(transaction, checkpoint).await)
            .await
    }

    /// Runs `work` in one transaction of the bulk session, committed when it succeeds, rolled
    /// back on an error, and run again (up to [`ATTEMPTS`] in all) when it lost a race the
    /// database detected: what `transaction!` does for the pool, on the session COPY needs.
    async fn in_transaction<T>(
        &mut self,
        mut work: impl AsyncFnMut(&Transaction<'_>) -> Result<T, tokio_postgres::Error>,
    ) -> AppResult<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let transaction = self.client.transaction().await.map_err(error)?;
            let result = match work(&transaction).await {
                Ok(value) => transaction.commit().await.map(|()| value),
                Err(e) => Err(e),
            };
            match result.map_err(error) {
                Err(AppError::Contention(reason)) if attempt < ATTEMPTS => {
                    tracing::debug!(%reason, attempt, "a bulk batch lost a race; running it again");
                }
                other => return other,
            }
        }
    }
}

/// What [`BulkWriter::merge_follows`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// New follows.
    pub inserted: u64,
    /// Staged rows that overwrote a follow (an earlier one, or one from before the import).
    pub updated: u64,
    /// Staged rows not written.
    pub skipped: u64,
    /// The first of them, with their lines, in line order.
    pub listed: Vec<(u64, Refusal)>,
}

/// Why a staged follow is not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This user (the follower, else the followee) does not exist.
    NotAUser(String),
    /// One of the two users has blocked the other.
    Blocked,
    /// A later line of the same batch has the same pair: this line.
    SupersededBy(u64),
}

/// The staged follows that are not to be written, with why (in [`Refusal`]'s order of
/// precedence: the checks of a batch written on its own), into the temporary table
/// `refused_follows`. Left joins, so that PostgreSQL hashes `users` and `blocks` once rather
/// than probing them per row; a `CREATE TABLE AS` rather than a `DELETE … RETURNING`, so that
/// it may run in parallel (a statement that writes to a table never does).
const REFUSE_STAGED_FOLLOWS: &str = "\
    CREATE TEMP TABLE refused_follows ON COMMIT DROP AS \
    SELECT * FROM ( \
        SELECT s.line, \
               CASE WHEN follower.id IS NULL THEN s.follower_id \
                    WHEN followee.id IS NULL THEN s.followee_id END AS missing_user, \
               blocked.blocker_id IS NOT NULL OR blocking.blocker_id IS NOT NULL AS blocked, \
               s.superseded_by \
          FROM import_follows s \
          LEFT JOIN users follower ON follower.id = s.follower_id \
          LEFT JOIN users followee ON followee.id = s.followee_id \
          LEFT JOIN blocks blocked \
                 ON blocked.blocker_id = s.follower_id AND blocked.blocked_id = s.followee_id \
          LEFT JOIN blocks blocking \
                 ON blocking.blocker_id = s.followee_id AND blocking.blocked_id = s.follower_id \
        ) checked \
     WHERE missing_user IS NOT NULL OR blocked OR superseded_by IS NOT NULL";

/// The staged follows left after [`REFUSE_STAGED_FOLLOWS`], the last line of each pair, sorted
/// by key, into `follows`. Into an empty table (`fresh`), a plain insert (no key to conflict
/// on; its row count is the answer); otherwise an existing pair is overwritten, and the
/// statement returns (inserted, updated) like [`Stage::UPSERT`].
fn merge_statement(fresh: bool) -> String {
    let insert = "INSERT INTO follows (follower_id, followee_id, status, created_at) \
                  SELECT DISTINCT ON (follower_id, followee_id) \
                         follower_id, followee_id, status, created_at \
                    FROM import_follows \
                   ORDER BY follower_id, followee_id, line DESC";
    if fresh {
        return insert.to_owned();
    }
    format!(
        "WITH written AS ({insert} \
             ON CONFLICT (follower_id, followee_id) DO UPDATE SET status = excluded.status, \
                 created_at = excluded.created_at \
             RETURNING (xmax = 0) AS inserted) \
         SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
    )
}

/// The triggers of `follows` that fire on an insert, which the first load replaces by
/// set-based work of its own (migrations `2026-11-29-000002_follow_counters` and
/// `2026-12-01-000001_change_stream`).
const FOLLOWS_INSERT_TRIGGERS: [&str; 2] = ["follows_counters_insert", "follows_changes_insert"];

/// How to drop and how to rebuild each index and key constraint of `follows` (check
/// constraints stay), from the catalog, so the definitions live in the migrations only. The
/// third column orders the drops (foreign keys first), the fourth the rebuilds (the primary key
/// first, foreign keys last).
const FOLLOWS_INDEXES_AND_KEYS: &str = "\
    SELECT format('ALTER TABLE follows DROP CONSTRAINT %I', conname), \
           format('ALTER TABLE follows ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)), \
           CASE contype WHEN 'f' THEN 1 ELSE 2 END, CASE contype WHEN 'f' THEN 3 ELSE 1 END \
      FROM pg_constraint WHERE conrelid = 'follows'::regclass AND contype IN ('p', 'u', 'f', 'x') \
    UNION ALL \
    SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), 3, 2 \
      FROM pg_index i \
     WHERE i.indrelid = 'follows'::regclass \
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                        WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid)";

/// The merge's work inside its transaction.
async fn merge_follows_in(
    transaction: &Transaction<'_>,
    checkpoint: &Checkpoint,
    list: usize,
) -> Result<Merged, tokio_postgres::Error> {
    // The merge reads whole tables: let the planner hash-join them (the session otherwise
    // penalizes sequential scans, see `connect`), with the memory to hold a million users'
    // ids in one hash table, and to sort more of an index build in memory.
    transaction
        .batch_execute(
            "SET LOCAL enable_seqscan = on; SET LOCAL work_mem = '256MB'; \
             SET LOCAL maintenance_work_mem = '256MB'",
        )
        .await?;
    let is_empty = async || -> Result<bool, tokio_postgres::Error> {
        let row = transaction
            .query_one("SELECT NOT EXISTS (SELECT 1 FROM follows)", &[])
            .await?;
        row.try_get(0)
    };
    // Checked again under the lock: a follow may have come in between.
    let fresh = is_empty().await? && {
        transaction
            .batch_execute("LOCK TABLE follows IN ACCESS EXCLUSIVE MODE")
            .await?;
        is_empty().await?
    };

    let mut merged = Merged::default();
    transaction.batch_execute(REFUSE_STAGED_FOLLOWS).await?;
    transaction
        .batch_execute("DELETE FROM import_follows s USING refused_follows r WHERE s.line = r.line")
        .await?;
    // Streamed: however many are refused, only the first `list` are kept.
    let refused = transaction
        .query_raw(
            "SELECT line, missing_user, blocked, superseded_by FROM refused_follows ORDER BY line",
            std::iter::empty::<i64>(),
        )
        .await?;
    pin_mut!(refused);
    while let Some(row) = refused.try_next().await? {
        merged.skipped += 1;
        if merged.listed.len() < list {
            let line = |index: usize| -> Result<Option<u64>, tokio_postgres::Error> {
                let line: Option<i64> = row.try_get(index)?;
                Ok(line.map(|line| u64::try_from(line).unwrap_or_default()))
            };
            let refusal = match (row.try_get(1)?, row.try_get(2)?, line(3)?) {
                (Some(user), ..) => Refusal::NotAUser(user),
                (None, true, _) => Refusal::Blocked,
                (None, false, winner) => Refusal::SupersededBy(winner.unwrap_or_default()),
            };
            merged.listed.push((line(0)?.unwrap_or_default(), refusal));
        }
    }
    let staged: i64 = transaction
        .query_one("SELECT count(*) FROM import_follows", &[])
        .await?
        .try_get(0)?;

    let mut rebuilds = Vec::new();
    if fresh {
        let mut definitions: Vec<(String, String, i32, i32)> = transaction
            .query(FOLLOWS_INDEXES_AND_KEYS, &[])
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                ))
            })
            .collect::<Result<_, tokio_postgres::Error>>()?;
        definitions.sort_by_key(|(_, _, drop_order, _)| *drop_order);
        for (drop, ..) in &definitions {
            transaction.batch_execute(drop).await?;
        }
        definitions.sort_by_key(|(.., rebuild_order)| *rebuild_order);
        rebuilds = definitions
            .into_iter()
            .map(|(_, rebuild, ..)| rebuild)
            .collect();
    }
    let written = if fresh {
        // The table's statement-level triggers would first copy every row into a transition
        // table; what they do is done once below instead: the counters set by `recount`'s
        // repair (every counter was zero, with `follows` empty), and every instance told to
        // forget its cache (every count changed). By name: a trigger added later still runs.
        let insert_triggers = |switch: &str| {
            let each = FOLLOWS_INSERT_TRIGGERS.map(|t| format!("{switch} TRIGGER {t}"));
            format!("ALTER TABLE follows {}", each.join(", "))
        };
        transaction
            .batch_execute(&insert_triggers("DISABLE"))
            .await?;
        let inserted = transaction.execute(&merge_statement(true), &[]).await?;
        transaction
            .batch_execute(&insert_triggers("ENABLE"))
            .await?;
        for rebuild in &rebuilds {
            transaction.batch_execute(rebuild).await?;
        }
        transaction.execute(follows::RECOUNT, &[]).await?;
        transaction
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&changes::CHANNEL, &changes::EVERYTHING],
            )
            .await?;
        // Statistics for the API's first queries, rather than those of the empty table.
        transaction.batch_execute("ANALYZE follows").await?;
        Written {
            inserted,
            ..Written::default()
        }
    } else {
        counts(&transaction.query_one(&merge_statement(false), &[]).await?)?
    };
    transaction.batch_execute("TRUNCATE import_follows").await?;

    // Every staged row that was written but is not the last of its pair overwrote that pair.
    merged.inserted = written.inserted;
    merged.updated = u64::try_from(staged)
        .unwrap_or_default()
        .saturating_sub(written.inserted);
    let mut checkpoint = checkpoint.clone();
    checkpoint.tally.inserted += merged.inserted;
    checkpoint.tally.updated += merged.updated;
    checkpoint.tally.skipped += merged.skipped;
    save(transaction, &checkpoint).await?;
    Ok(merged)
}

/// `CREATE TEMP TABLE` for `T`'s staging: no constraints (the real table's decide), emptied at
/// every commit.
fn staging<T: Stage>() -> String {
    let columns: Vec<String> = T::COLUMNS
        .iter()
        .map(|(name, kind)| format!("{name} {kind}"))
        .collect();
    format!(
        "CREATE TEMP TABLE {} (ord int8 NOT NULL, {}) ON COMMIT DELETE ROWS;",
        T::STAGING,
        columns.join(", ")
    )
}

/// The batch's work inside its transaction.
async fn write_in<T: Stage>(
    transaction: &Transaction<'_>,
    rows: &[T],
    checkpoint: Option<Checkpoint>,
) -> Result<Written, tokio_postgres::Error> {
    let mut written = Written::default();
    if !rows.is_empty() {
        copy_in(transaction, T::STAGING, ["ord"], rows, |index| {
            [Some(ord(index))]
        })
        .await?;
        let upsert = transaction.prepare(T::UPSERT).await?;
        transaction.batch_execute("SAVEPOINT batch").await?;
        match transaction.query_one(&upsert, &[&None::<i64>]).await {
            Ok(row) => written.add(counts(&row)?),
            Err(e) if !is_row_error(&e) => return Err(e),
            Err(_) => {
                // One bad row failed the statement: write row by row to name it.
                transaction
                    .batch_execute("ROLLBACK TO SAVEPOINT batch")
                    .await?;
                for index in 0..rows.len() {
                    transaction.batch_execute("SAVEPOINT row").await?;
                    match transaction.query_one(&upsert, &[&Some(ord(index))]).await {
                        Ok(row) => {
                            written.add(counts(&row)?);
                            transaction.batch_execute("RELEASE SAVEPOINT row").await?;
                        }
                        Err(e) if !is_row_error(&e) => return Err(e),
                        Err(e) => {
                            transaction
                                .batch_execute("ROLLBACK TO SAVEPOINT row")
                                .await?;
                            written.skipped.push((index, describe(&e)));
                        }
                    }
                }
            }
        }
    }
    if let Some(mut checkpoint) = checkpoint {
        checkpoint.tally.inserted += written.inserted;
        checkpoint.tally.updated += written.updated;
        checkpoint.tally.skipped += written.skipped.len() as u64;
        save(transaction, &checkpoint).await?;
    }
    Ok(written)
}

/// A row's `ord` in its batch's staging table.
fn ord(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// Sends `rows` into `table` by binary COPY: first the `N` bigint columns `leading` (their
/// values `lead(index)`), then `T`'s columns.
async fn copy_in<T: Stage, const N: usize>(
    transaction: &Transaction<'_>,
    table: &str,
    leading: [&str; N],
    rows: &[T],
    lead: impl Fn(usize) -> [Option<i64>; N],
) -> Result<(), tokio_postgres::Error> {
    let columns: Vec<&str> = leading
        .into_iter()
        .chain(T::COLUMNS.iter().map(|(name, _)| *name))
        .collect();
    let types: Vec<Type> = std::iter::repeat_n(Type::INT8, N)
        .chain(T::COLUMNS.iter().map(|(_, kind)| kind.clone()))
        .collect();
    let sink = transaction
        .copy_in(&format!(
            "COPY {table} ({}) FROM STDIN (FORMAT binary)",
            columns.join(", ")
        ))
        .await?;
    let copy = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(copy);
    for (index, row) in rows.iter().enumerate() {
        let lead = lead(index);
        let values: Vec<&(dyn ToSql + Sync)> = lead
            .iter()
            .map(|value| value as &(dyn ToSql + Sync))
            .chain(row.values())
            .collect();
        copy.as_mut().write(&values).await?;
    }
    copy.finish().await?;
    Ok(())
}

fn counts(row: &tokio_postgres::Row) -> Result<Written, tokio_postgres::Error> {
    let inserted: i64 = row.try_get(0)?;
    let updated: i64 = row.try_get(1)?;
    Ok(Written {
        inserted: u64::try_from(inserted).unwrap_or_default(),
        updated: u64::try_from(updated).unwrap_or_default(),
        skipped: Vec::new(),
    })
}

async fn save(
    transaction: &Transaction<'_>,
    checkpoint: &Checkpoint,
) -> Result<(), tokio_postgres::Error> {
    transaction
        .execute(
            "INSERT INTO import_checkpoints (pass, source, file_size, byte_offset, line, done, \
                 inserted, updated, skipped, warnings) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (pass) DO UPDATE SET source = excluded.source, \
                 file_size = excluded.file_size, byte_offset = excluded.byte_offset, \
                 line = excluded.line, done = excluded.done, inserted = excluded.inserted, \
                 updated = excluded.updated, skipped = excluded.skipped, \
                 warnings = excluded.warnings, saved_at = now()",
            &[
                &checkpoint.pass,
                &checkpoint.source,
                &number(checkpoint.file_size),
                &number(checkpoint.byte_offset),
                &number(checkpoint.line),
                &checkpoint.done,
                &number(checkpoint.tally.inserted),
                &number(checkpoint.tally.updated),
                &number(checkpoint.tally.skipped),
                &number(checkpoint.tally.warnings),
            ],
        )
        .await?;
    Ok(())
}

/// A count or position as PostgreSQL's bigint.
fn number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Whether the statement failed because of a row's values (a constraint), rather than because
/// of the database or the connection.
fn is_row_error(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        let class = &code.code()[..2];
        // 23: integrity constraint violation; 22: data exception.
        class == "23" || class == "22"
    })
}

/// A reason for the import report, from the constraint a row broke.
fn describe(error: &tokio_postgres::Error) -> String {
    let Some(db) = error.as_db_error() else {
        return error.to_string();
    };
    let constraint = db.constraint().unwrap_or_default();
    match (db.code(), constraint) {
        (&SqlState::UNIQUE_VIOLATION, "users_username_key_idx") => {
            "username is already taken by another user (usernames are unique ignoring case)"
                .to_owned()
        }
        (&SqlState::FOREIGN_KEY_VIOLATION, "users_profile_photo_owned_fkey") => {
            "the media item is the profile photo of a user other than its new owner".to_owned()
        }
        (&SqlState::FOREIGN_KEY_VIOLATION, _) => "refers to a user that does not exist".to_owned(),
        (&SqlState::CHECK_VIOLATION, c) => format!("breaks the rule {c}"),
        _ => db.message().to_owned(),
    }
}

/// The service's error for a failed bulk statement: out of reach or overloaded → unavailable,
/// a lost race → contention (tried again), anything else → internal.
fn error(error: tokio_postgres::Error) -> AppError {
    let code = error.code();
    let io = std::error::Error::source(&error).is_some_and(|s| s.is::<std::io::Error>());
    if error.is_closed()
        || io
        || code == Some(&SqlState::QUERY_CANCELED)
        || code == Some(&SqlState::ADMIN_SHUTDOWN)
        || code == Some(&SqlState::CANNOT_CONNECT_NOW)
    {
        AppError::Unavailable(error.to_string())
    } else if code == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        || code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
    {
        AppError::Contention(error.to_string())
    } else {
        AppError::internal(error)
    }
}
