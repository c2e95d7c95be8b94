//! Batched, idempotent writes of whole records, used by `import` and the demo seed: an existing
//! id (or pair) is updated, a new one inserted, and each row's outcome is reported.
//!
//! A batch is written in one transaction. If the batch fails because of one bad row, it is
//! written again row by row, each in its own transaction, so the bad row is named and the rest
//! still land.

use std::collections::HashSet;
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Array, Bool, Text};
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::pool::is_unavailable;
use super::schema::{blocks, follows, media, users};
use crate::error::{AppError, AppResult};

/// A user as imported or seeded (everything but the profile photo, set afterwards).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
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
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = media)]
pub struct MediaRecord {
    /// Id.
    pub id: String,
    /// Owning user.
    pub owner_id: String,
    /// URL.
    pub url: String,
    /// `image` or `video`.
    #[diesel(column_name = type_)]
    pub media_type: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A follow relation.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = follows)]
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
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = blocks)]
pub struct BlockRecord {
    /// Who blocks.
    pub blocker_id: String,
    /// Who is blocked.
    pub blocked_id: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new row.
    Inserted,
    /// An existing row, overwritten.
    Updated,
    /// Not written, and why.
    Skipped(String),
}

/// Records that [`write_batch`] can upsert.
pub trait Upsert: Sized + Send + Sync {
    /// Upserts `rows` in one statement; returns, per row, whether it was inserted (else updated).
    fn upsert<'a>(
        conn: &'a mut AsyncPgConnection,
        rows: &'a [Self],
    ) -> impl Future<Output = QueryResult<Vec<bool>>> + Send + 'a;
}

/// `xmax = 0` holds for a row this statement inserted and not for one it updated.
fn inserted_flag() -> diesel::expression::SqlLiteral<Bool> {
    sql::<Bool>("xmax = 0")
}

impl Upsert for UserRecord {
    fn upsert<'a>(
        conn: &'a mut AsyncPgConnection,
        rows: &'a [Self],
    ) -> impl Future<Output = QueryResult<Vec<bool>>> + Send + 'a {
        diesel::insert_into(users::table)
            .values(rows)
            .on_conflict(users::id)
            .do_update()
            .set((
                users::name.eq(excluded(users::name)),
                users::surname.eq(excluded(users::surname)),
                users::username.eq(excluded(users::username)),
                users::availability_status.eq(excluded(users::availability_status)),
                users::interests.eq(excluded(users::interests)),
                users::expertise.eq(excluded(users::expertise)),
                users::birth_date.eq(excluded(users::birth_date)),
                users::minute_price_in_live_stream.eq(excluded(users::minute_price_in_live_stream)),
                users::bio.eq(excluded(users::bio)),
                users::instagram.eq(excluded(users::instagram)),
                users::snapchat.eq(excluded(users::snapchat)),
                users::x.eq(excluded(users::x)),
                users::tiktok.eq(excluded(users::tiktok)),
                users::facebook.eq(excluded(users::facebook)),
                users::is_private.eq(excluded(users::is_private)),
                users::deactivated_at.eq(excluded(users::deactivated_at)),
                users::created_at.eq(excluded(users::created_at)),
                users::updated_at.eq(excluded(users::updated_at)),
            ))
            .returning(inserted_flag())
            .get_results(conn)
    }
}

impl Upsert for MediaRecord {
    fn upsert<'a>(
        conn: &'a mut AsyncPgConnection,
        rows: &'a [Self],
    ) -> impl Future<Output = QueryResult<Vec<bool>>> + Send + 'a {
        diesel::insert_into(media::table)
            .values(rows)
            .on_conflict(media::id)
            .do_update()
            .set((
                media::owner_id.eq(excluded(media::owner_id)),
                media::url.eq(excluded(media::url)),
                media::type_.eq(excluded(media::type_)),
                media::created_at.eq(excluded(media::created_at)),
            ))
            .returning(inserted_flag())
            .get_results(conn)
    }
}

impl Upsert for FollowRecord {
    fn upsert<'a>(
        conn: &'a mut AsyncPgConnection,
        rows: &'a [Self],
    ) -> impl Future<Output = QueryResult<Vec<bool>>> + Send + 'a {
        diesel::insert_into(follows::table)
            .values(rows)
            .on_conflict((follows::follower_id, follows::followee_id))
            .do_update()
            .set((
                follows::status.eq(excluded(follows::status)),
                follows::created_at.eq(excluded(follows::created_at)),
            ))
            .returning(inserted_flag())
            .get_results(conn)
    }
}

impl Upsert for BlockRecord {
    async fn upsert(conn: &mut AsyncPgConnection, rows: &[Self]) -> QueryResult<Vec<bool>> {
        {
            let flags = diesel::insert_into(blocks::table)
                .values(rows)
                .on_conflict((blocks::blocker_id, blocks::blocked_id))
                .do_update()
                .set(blocks::created_at.eq(excluded(blocks::created_at)))
                .returning(inserted_flag())
                .get_results(&mut *conn)
                .await?;
            // A block ends every follow between the two users, in both directions.
            let blockers: Vec<&str> = rows.iter().map(|r| r.blocker_id.as_str()).collect();
            let blocked: Vec<&str> = rows.iter().map(|r| r.blocked_id.as_str()).collect();
            diesel::sql_query(
                "DELETE FROM follows f USING unnest($1::text[], $2::text[]) AS b (blocker, blocked) \
                 WHERE (f.follower_id = b.blocker AND f.followee_id = b.blocked) \
                    OR (f.follower_id = b.blocked AND f.followee_id = b.blocker)",
            )
            .bind::<Array<Text>, _>(blockers)
            .bind::<Array<Text>, _>(blocked)
            .execute(conn)
            .await?;
            Ok(flags)
        }
    }
}

/// Writes a batch in one transaction, falling back to one transaction per row when the batch
/// fails, so that a bad row is reported and the others are still written.
pub async fn write_batch<T: Upsert>(
    conn: &mut AsyncPgConnection,
    rows: &[T],
) -> AppResult<Vec<Outcome>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let batch = conn
        .transaction(async |conn| T::upsert(conn, rows).await)
        .await;
    match batch {
        Ok(flags) if flags.len() == rows.len() => Ok(flags.into_iter().map(outcome).collect()),
        Ok(_) => Err(AppError::internal(anyhow::anyhow!(
            "upsert returned a row count unlike the batch"
        ))),
        Err(e) if is_unavailable(&e) => Err(e.into()),
        Err(_) => {
            let mut outcomes = Vec::with_capacity(rows.len());
            for row in rows {
                let single = std::slice::from_ref(row);
                let result = conn
                    .transaction(async |conn| T::upsert(conn, single).await)
                    .await;
                outcomes.push(match result {
                    Ok(flags) => <[bool]>::first(&flags)
                        .copied()
                        .map_or(Outcome::Updated, outcome),
                    Err(e) if is_unavailable(&e) => return Err(e.into()),
                    Err(e) => Outcome::Skipped(describe(&e)),
                });
            }
            Ok(outcomes)
        }
    }
}

fn outcome(inserted: bool) -> Outcome {
    if inserted {
        Outcome::Inserted
    } else {
        Outcome::Updated
    }
}

/// A reason for the import report, from the constraint a row broke.
fn describe(error: &DieselError) -> String {
    match error {
        DieselError::DatabaseError(kind, info) => {
            let constraint = info.constraint_name().unwrap_or_default();
            match (kind, constraint) {
                (DatabaseErrorKind::UniqueViolation, "users_username_key_idx") => {
                    "username is already taken by another user (usernames are unique ignoring case)"
                        .to_owned()
                }
                (DatabaseErrorKind::ForeignKeyViolation, "users_profile_photo_owned_fkey") => {
                    "the media item is the profile photo of a user other than its new owner"
                        .to_owned()
                }
                (DatabaseErrorKind::ForeignKeyViolation, _) => {
                    "refers to a user that does not exist".to_owned()
                }
                (DatabaseErrorKind::CheckViolation, c) => format!("breaks the rule {c}"),
                _ => info.message().to_owned(),
            }
        }
        other => other.to_string(),
    }
}

/// Of `ids`, those that are users.
pub async fn existing_users(
    conn: &mut AsyncPgConnection,
    ids: &[String],
) -> AppResult<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<String> = users::table
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// Of the pairs, those whose users have blocked one another (either way).
pub async fn blocked_pairs(
    conn: &mut AsyncPgConnection,
    pairs: &[(String, String)],
) -> AppResult<HashSet<(String, String)>> {
    #[derive(QueryableByName)]
    struct Pair {
        #[diesel(sql_type = Text)]
        a: String,
        #[diesel(sql_type = Text)]
        b: String,
    }
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    let firsts: Vec<&str> = pairs.iter().map(|(a, _)| a.as_str()).collect();
    let seconds: Vec<&str> = pairs.iter().map(|(_, b)| b.as_str()).collect();
    let found: Vec<Pair> = diesel::sql_query(
        "SELECT p.a, p.b FROM unnest($1::text[], $2::text[]) AS p (a, b) \
         WHERE EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = p.a AND blocked_id = p.b) \
                                              OR (blocker_id = p.b AND blocked_id = p.a))",
    )
    .bind::<Array<Text>, _>(firsts)
    .bind::<Array<Text>, _>(seconds)
    .load(conn)
    .await?;
    Ok(found.into_iter().map(|p| (p.a, p.b)).collect())
}

/// Sets each user's profile photo (or clears it, for `None`) where the media item exists and
/// belongs to the user; returns the ids whose photo could not be set.
pub async fn set_profile_photos(
    conn: &mut AsyncPgConnection,
    photos: &[(String, Option<String>)],
) -> AppResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    if photos.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = photos.iter().map(|(id, _)| id.as_str()).collect();
    let media: Vec<Option<&str>> = photos.iter().map(|(_, m)| m.as_deref()).collect();
    let updated: Vec<Id> = diesel::sql_query(
        "UPDATE users u SET profile_photo_id = p.media \
           FROM unnest($1::text[], $2::text[]) AS p (id, media) \
          WHERE u.id = p.id \
            AND u.profile_photo_id IS DISTINCT FROM p.media \
            AND (p.media IS NULL OR EXISTS (SELECT 1 FROM media m WHERE m.id = p.media AND m.owner_id = u.id)) \
        RETURNING u.id",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<diesel::sql_types::Nullable<Text>>, _>(media)
    .load(conn)
    .await?;
    let done: HashSet<String> = updated.into_iter().map(|r| r.id).collect();
    // Rows left untouched because they already held the wanted photo are fine too.
    let wanted: Vec<&str> = photos
        .iter()
        .filter(|(id, m)| m.is_some() && !done.contains(id))
        .map(|(id, _)| id.as_str())
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let already: Vec<(String, Option<String>)> = users::table
        .filter(users::id.eq_any(&wanted))
        .select((users::id, users::profile_photo_id))
        .load(conn)
        .await?;
    let already: HashSet<(String, Option<String>)> = already.into_iter().collect();
    Ok(photos
        .iter()
        .filter(|(id, m)| {
            m.is_some() && !done.contains(id) && !already.contains(&(id.clone(), m.clone()))
        })
        .map(|(id, _)| id.clone())
        .collect())
}
