//! The follow graph: relations, blocks and the counters the triggers keep.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use super::schema::{blocks, follows, users};
use crate::error::AppResult;
use crate::profiles::follows::{ListKind, ListPosition};
use crate::profiles::{FollowStatus, ObjectId};

/// A counter row that did not match the follow table.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CounterDrift {
    /// The user.
    #[diesel(sql_type = Text)]
    pub user_id: String,
    /// Followers counter before the repair.
    #[diesel(sql_type = Integer)]
    pub followers_was: i32,
    /// Following counter before the repair.
    #[diesel(sql_type = Integer)]
    pub following_was: i32,
    /// Followers, counted.
    #[diesel(sql_type = Integer)]
    pub followers: i32,
    /// Following, counted.
    #[diesel(sql_type = Integer)]
    pub following: i32,
}

impl std::fmt::Display for CounterDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: followers {} -> {}, following {} -> {}",
            self.user_id, self.followers_was, self.followers, self.following_was, self.following
        )
    }
}

/// Sets every follow counter that disagrees with `follows` to the truth (accepted follows,
/// counted), returning the user, the counts it had and the true counts of each: `recount`'s
/// repair, and how the import's first load of `follows` sets the counters (`db::bulk`).
pub(crate) const RECOUNT: &str = "\
    WITH truth AS ( \
        SELECT u.id AS user_id, \
               coalesce(fr.n, 0)::integer AS followers, \
               coalesce(fg.n, 0)::integer AS following \
          FROM users u \
          LEFT JOIN (SELECT followee_id, count(*) AS n FROM follows WHERE status = 'accepted' GROUP BY 1) fr \
                 ON fr.followee_id = u.id \
          LEFT JOIN (SELECT follower_id, count(*) AS n FROM follows WHERE status = 'accepted' GROUP BY 1) fg \
                 ON fg.follower_id = u.id), \
    drift AS ( \
        SELECT t.user_id, c.followers_count AS followers_was, c.following_count AS following_was, \
               t.followers, t.following \
          FROM truth t JOIN follow_counters c USING (user_id) \
         WHERE c.followers_count <> t.followers OR c.following_count <> t.following) \
    UPDATE follow_counters c \
       SET followers_count = d.followers, following_count = d.following \
      FROM drift d WHERE c.user_id = d.user_id \
    RETURNING d.user_id, d.followers_was, d.following_was, d.followers, d.following";

/// Counts the accepted follows of every user and repairs the counters that differ, creating
/// missing counter rows. Run it in a transaction: writes to `follows` wait until it ends, so the
/// counts are exact.
pub async fn recount(conn: &mut AsyncPgConnection) -> AppResult<Vec<CounterDrift>> {
    // An operator's command over the whole table: no statement timeout, and writes to
    // `follows` wait meanwhile so that the counts are exact.
    conn.batch_execute("SET LOCAL statement_timeout = 0; LOCK TABLE follows IN SHARE MODE")
        .await?;
    diesel::sql_query(
        "INSERT INTO follow_counters (user_id) SELECT id FROM users u \
                 WHERE NOT EXISTS (SELECT 1 FROM follow_counters c WHERE c.user_id = u.id)",
    )
    .execute(conn)
    .await?;
    let drift = diesel::sql_query(RECOUNT)
        .load::<CounterDrift>(conn)
        .await?;
    Ok(drift)
}

/// Serializes every relationship change between two users, whoever starts it: a follow and a
/// block of the same pair can never interleave. Held until the transaction ends.
pub async fn lock_pair(conn: &mut AsyncPgConnection, a: &ObjectId, b: &ObjectId) -> AppResult<()> {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("{low}:{high}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `id` is an active user, and if so whether the profile is private.
pub async fn active_user_privacy(
    conn: &mut AsyncPgConnection,
    id: &ObjectId,
) -> AppResult<Option<bool>> {
    Ok(users::table
        .filter(users::id.eq(id.as_str()))
        .filter(users::deactivated_at.is_null())
        .select(users::is_private)
        .first(conn)
        .await
        .optional()?)
}

/// Whether either user has blocked the other.
pub async fn blocked_either_way(
    conn: &mut AsyncPgConnection,
    a: &ObjectId,
    b: &ObjectId,
) -> AppResult<bool> {
    let found: Option<String> = blocks::table
        .filter(
            blocks::blocker_id
                .eq(a.as_str())
                .and(blocks::blocked_id.eq(b.as_str()))
                .or(blocks::blocker_id
                    .eq(b.as_str())
                    .and(blocks::blocked_id.eq(a.as_str()))),
        )
        .select(blocks::blocker_id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// The state of `follower`'s follow of `followee`, if any.
pub async fn follow_status(
    conn: &mut AsyncPgConnection,
    follower: &ObjectId,
    followee: &ObjectId,
) -> AppResult<Option<FollowStatus>> {
    let status: Option<String> = follows::table
        .find((follower.as_str(), followee.as_str()))
        .select(follows::status)
        .first(conn)
        .await
        .optional()?;
    Ok(status.as_deref().and_then(FollowStatus::parse))
}

/// Records a follow as `status`, keeping an existing one (a pending request is accepted only
/// when `status` is accepted); returns the state now stored.
pub async fn insert_follow(
    conn: &mut AsyncPgConnection,
    follower: &ObjectId,
    followee: &ObjectId,
    status: FollowStatus,
) -> AppResult<FollowStatus> {
    let stored: String = diesel::insert_into(follows::table)
        .values((
            follows::follower_id.eq(follower.as_str()),
            follows::followee_id.eq(followee.as_str()),
            follows::status.eq(status.as_str()),
        ))
        .on_conflict((follows::follower_id, follows::followee_id))
        .do_update()
        .set(follows::status.eq(diesel::dsl::sql::<Text>(
            "CASE WHEN excluded.status = 'accepted' THEN 'accepted' ELSE follows.status END",
        )))
        .returning(follows::status)
        .get_result(conn)
        .await?;
    Ok(FollowStatus::parse(&stored).unwrap_or(status))
}

/// Deletes `follower`'s follow of `followee` (accepted or pending); returns whether one existed.
pub async fn delete_follow(
    conn: &mut AsyncPgConnection,
    follower: &ObjectId,
    followee: &ObjectId,
) -> AppResult<bool> {
    let deleted = diesel::delete(follows::table.find((follower.as_str(), followee.as_str())))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// Deletes a pending request of `follower` to `followee`; returns whether one existed.
pub async fn delete_pending(
    conn: &mut AsyncPgConnection,
    follower: &ObjectId,
    followee: &ObjectId,
) -> AppResult<bool> {
    let deleted = diesel::delete(
        follows::table
            .find((follower.as_str(), followee.as_str()))
            .filter(follows::status.eq(FollowStatus::Pending.as_str())),
    )
    .execute(conn)
    .await?;
    Ok(deleted > 0)
}

/// Accepts a pending request of `follower` to `followee`; returns whether one was pending.
pub async fn accept_pending(
    conn: &mut AsyncPgConnection,
    follower: &ObjectId,
    followee: &ObjectId,
) -> AppResult<bool> {
    let updated = diesel::update(
        follows::table
            .find((follower.as_str(), followee.as_str()))
            .filter(follows::status.eq(FollowStatus::Pending.as_str())),
    )
    .set(follows::status.eq(FollowStatus::Accepted.as_str()))
    .execute(conn)
    .await?;
    Ok(updated > 0)
}

/// Accepts every request pending for `followee` (who just made the profile public).
pub async fn accept_all_pending(
    conn: &mut AsyncPgConnection,
    followee: &ObjectId,
) -> AppResult<usize> {
    Ok(diesel::update(
        follows::table
            .filter(follows::followee_id.eq(followee.as_str()))
            .filter(follows::status.eq(FollowStatus::Pending.as_str())),
    )
    .set(follows::status.eq(FollowStatus::Accepted.as_str()))
    .execute(conn)
    .await?)
}

/// Records a block (a repeated one changes nothing). The follows between the two users end, in
/// both directions, pending or accepted, by the database's one rule for every writer of
/// `blocks` (the trigger `blocks_end_follows`, which the bulk writer relies on too).
pub async fn block(
    conn: &mut AsyncPgConnection,
    blocker: &ObjectId,
    blocked: &ObjectId,
) -> AppResult<()> {
    diesel::insert_into(blocks::table)
        .values((
            blocks::blocker_id.eq(blocker.as_str()),
            blocks::blocked_id.eq(blocked.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a block; returns whether there was one.
pub async fn unblock(
    conn: &mut AsyncPgConnection,
    blocker: &ObjectId,
    blocked: &ObjectId,
) -> AppResult<bool> {
    let deleted = diesel::delete(blocks::table.find((blocker.as_str(), blocked.as_str())))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// Up to `limit` entries of `owner`'s list after `after`, newest follow first, ties broken by
/// the listed user's id (descending), so pages never skip or repeat. An index range scan.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    owner: &ObjectId,
    kind: ListKind,
    after: Option<&ListPosition>,
    limit: i64,
) -> AppResult<Vec<ListPosition>> {
    // (owner column, listed column, status) of each list.
    let (owner_column, listed_column, status) = match kind {
        ListKind::Followers => ("followee_id", "follower_id", FollowStatus::Accepted),
        ListKind::Following => ("follower_id", "followee_id", FollowStatus::Accepted),
        ListKind::Requests => ("followee_id", "follower_id", FollowStatus::Pending),
    };
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        user_id: String,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        created_at: DateTime<Utc>,
    }
    let sql = format!(
        "SELECT {listed_column} AS user_id, created_at FROM follows \
          WHERE {owner_column} = $1 AND status = $2 \
            AND ($3::timestamptz IS NULL OR (created_at, {listed_column}) < ($3, $4)) \
          ORDER BY created_at DESC, {listed_column} DESC \
          LIMIT $5"
    );
    let rows: Vec<Row> = diesel::sql_query(sql)
        .bind::<Text, _>(owner.as_str())
        .bind::<Text, _>(status.as_str())
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(
            after.map(|a| a.created_at),
        )
        .bind::<Text, _>(after.map_or("", |a| a.user_id.as_str()))
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ListPosition {
            created_at: r.created_at,
            user_id: r.user_id,
        })
        .collect())
}

/// The number of requests pending for `owner`.
pub async fn pending_count(conn: &mut AsyncPgConnection, owner: &ObjectId) -> AppResult<i64> {
    Ok(follows::table
        .filter(follows::followee_id.eq(owner.as_str()))
        .filter(follows::status.eq(FollowStatus::Pending.as_str()))
        .count()
        .get_result(conn)
        .await?)
}
