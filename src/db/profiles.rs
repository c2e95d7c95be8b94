//! Reading profiles: one statement per lookup, joining the photo, the counters, and the facts the
//! privacy rule needs about the viewer (blocked? following?) — through the profile cache when
//! there is one ([`Db::profiles`]).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::consistency::Floor;
use super::pool::read;
use super::schema::{follow_counters, media, users};
use crate::error::{AppError, AppResult};
use crate::i18n::MessageId;
use crate::profiles::privacy::FoundProfile;
use crate::profiles::update::ProfileChanges;
use crate::profiles::{
    AvailabilityStatus, FollowCounts, FollowStatus, MediaType, ObjectId, ProfileKeys, ProfilePhoto,
    Relation, User, UsernameKey,
};

/// The columns of `users` a profile needs.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    id: String,
    name: String,
    surname: String,
    username: String,
    availability_status: String,
    interests: Vec<Option<String>>,
    expertise: Option<String>,
    birth_date: Option<chrono::NaiveDate>,
    minute_price_in_live_stream: i32,
    bio: Option<String>,
    instagram: Option<String>,
    snapchat: Option<String>,
    x: Option<String>,
    tiktok: Option<String>,
    facebook: Option<String>,
    is_private: bool,
    deactivated_at: Option<chrono::DateTime<chrono::Utc>>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// The columns of a profile photo.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = media, check_for_backend(diesel::pg::Pg))]
pub struct PhotoRow {
    id: String,
    url: String,
    type_: String,
}

impl UserRow {
    /// Converts a row into the domain's user; the table's checks make failures impossible short
    /// of a corrupted database, which is reported as an internal error.
    pub fn into_user(self, photo: Option<PhotoRow>) -> AppResult<User> {
        let corrupt =
            |what: &str| AppError::internal(anyhow::anyhow!("stored {what} is not valid"));
        let profile_photo = photo
            .map(|p| {
                Ok::<_, AppError>(ProfilePhoto {
                    id: ObjectId::parse(&p.id).ok_or_else(|| corrupt("media id"))?,
                    url: p.url,
                    media_type: MediaType::parse(&p.type_).ok_or_else(|| corrupt("media type"))?,
                })
            })
            .transpose()?;
        Ok(User {
            id: ObjectId::parse(&self.id).ok_or_else(|| corrupt("user id"))?,
            name: self.name,
            surname: self.surname,
            username: self.username,
            availability_status: AvailabilityStatus::parse(&self.availability_status)
                .ok_or_else(|| corrupt("availability status"))?,
            profile_photo,
            interests: self.interests.into_iter().flatten().collect(),
            expertise: self.expertise,
            birth_date: self.birth_date,
            minute_price_in_live_stream: self.minute_price_in_live_stream,
            bio: self.bio,
            instagram: self.instagram,
            snapchat: self.snapchat,
            x: self.x,
            tiktok: self.tiktok,
            facebook: self.facebook,
            is_private: self.is_private,
            deactivated_at: self.deactivated_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The four relations between the viewer and each user, as a select-list expression of
/// primary-key probes: `owner_blocks,viewer_blocks,viewer_follows:<status>,owner_follows:<status>`
/// (the parts that hold). Subqueries rather than joins, because a join's plan depends on whose
/// relations they are: a plan made once for every viewer could scan all follows of a viewer who
/// follows a hundred thousand users, where a probe by key never reads more than one row.
/// `KNOWN = false` is the anonymous viewer, who has no relations; it is a type of its own so that
/// each shape of the statement is prepared once per connection.
#[derive(Debug, Clone)]
struct ViewerRelations<const KNOWN: bool> {
    viewer: String,
}

impl<const KNOWN: bool> diesel::Expression for ViewerRelations<KNOWN> {
    type SqlType = diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

impl<const KNOWN: bool> diesel::query_builder::QueryFragment<diesel::pg::Pg>
    for ViewerRelations<KNOWN>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::Text;
        if !KNOWN {
            out.push_sql("NULL::text");
            return Ok(());
        }
        out.push_sql(
            "concat_ws(',', \
             (SELECT 'owner_blocks' FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = ",
        );
        out.push_bind_param::<Text, _>(&self.viewer)?;
        out.push_sql("), (SELECT 'viewer_blocks' FROM blocks b WHERE b.blocker_id = ");
        out.push_bind_param::<Text, _>(&self.viewer)?;
        out.push_sql(
            " AND b.blocked_id = users.id), \
             (SELECT 'viewer_follows:' || f.status FROM follows f WHERE f.follower_id = ",
        );
        out.push_bind_param::<Text, _>(&self.viewer)?;
        out.push_sql(
            " AND f.followee_id = users.id), \
             (SELECT 'owner_follows:' || f.status FROM follows f WHERE f.follower_id = users.id \
             AND f.followee_id = ",
        );
        out.push_bind_param::<Text, _>(&self.viewer)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<const KNOWN: bool> diesel::query_builder::QueryId for ViewerRelations<KNOWN> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<QS, const KNOWN: bool> diesel::AppearsOnTable<QS> for ViewerRelations<KNOWN> {}
impl<QS, const KNOWN: bool> diesel::SelectableExpression<QS> for ViewerRelations<KNOWN> {}
impl<GB, const KNOWN: bool> diesel::expression::ValidGrouping<GB> for ViewerRelations<KNOWN> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

fn parse_relations(text: &str) -> Relation {
    let mut relation = Relation::default();
    for part in text.split(',') {
        match part.split_once(':') {
            None if part == "owner_blocks" => relation.blocked_by_owner = true,
            None if part == "viewer_blocks" => relation.blocked_by_viewer = true,
            Some(("viewer_follows", status)) => {
                relation.viewer_follow = FollowStatus::parse(status)
            }
            Some(("owner_follows", status)) => relation.owner_follow = FollowStatus::parse(status),
            _ => {}
        }
    }
    relation
}

type ProfileRow = (
    UserRow,
    Option<PhotoRow>,
    Option<i32>,
    Option<i32>,
    Option<String>,
);

// One statement for every read: the users, their photos, their counters, and the viewer's
// relations with each. A macro because each filter and each kind of viewer is a query type of
// its own (and so a prepared statement of its own).
macro_rules! load_profiles {
    ($conn:expr, $filter:expr, $viewer:expr) => {
        match $viewer {
            None => load_profiles!(@query $conn, $filter, ViewerRelations::<false> {
                viewer: String::new()
            }),
            Some(viewer) => load_profiles!(@query $conn, $filter, ViewerRelations::<true> {
                viewer: viewer.to_string()
            }),
        }
    };
    (@query $conn:expr, $filter:expr, $relations:expr) => {
        users::table
            .left_join(media::table.on(users::profile_photo_id.eq(media::id.nullable())))
            .left_join(follow_counters::table.on(follow_counters::user_id.eq(users::id)))
            .filter($filter)
            .select((
                UserRow::as_select(),
                Option::<PhotoRow>::as_select(),
                follow_counters::followers_count.nullable(),
                follow_counters::following_count.nullable(),
                $relations,
            ))
            .load::<ProfileRow>($conn)
            .await?
    };
}

/// Users with their counts and `viewer`'s relations with each, in one statement; missing keys
/// are simply absent.
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    keys: ProfileKeys<'_>,
    viewer: Option<&ObjectId>,
) -> AppResult<Vec<FoundProfile>> {
    let rows = match keys {
        ProfileKeys::Ids([]) | ProfileKeys::Usernames([]) => Vec::new(),
        ProfileKeys::Ids(ids) => {
            let ids: Vec<&str> = ids.iter().map(ObjectId::as_str).collect();
            load_profiles!(conn, users::id.eq_any(ids), viewer)
        }
        ProfileKeys::Usernames(keys) => {
            let keys: Vec<&str> = keys.iter().map(UsernameKey::as_str).collect();
            load_profiles!(conn, users::username_key.eq_any(keys), viewer)
        }
    };
    rows.into_iter()
        .map(|(user, photo, followers, following, relations)| {
            Ok(FoundProfile {
                rendered: None,
                user: std::sync::Arc::new(user.into_user(photo)?),
                counts: FollowCounts {
                    followers: followers.unwrap_or_default(),
                    following: following.unwrap_or_default(),
                },
                relation: relations
                    .as_deref()
                    .map(parse_relations)
                    .unwrap_or_default(),
            })
        })
        .collect()
}

impl super::Db {
    /// Users with their counts and `viewer`'s relations with each; missing keys are simply
    /// absent. From the cache where it holds them (and vouches for them), the rest in one
    /// statement, which then fills the cache.
    pub async fn profiles(
        &self,
        keys: ProfileKeys<'_>,
        viewer: Option<&ObjectId>,
    ) -> AppResult<Vec<FoundProfile>> {
        // The viewer's own last write, if reads may come from something behind the primary.
        let floor = self.floor(viewer).await;
        let cached = self
            .cache
            .as_ref()
            .filter(|cache| floor.met_by(cache.applied()))
            .and_then(|cache| Some((cache, cache.ticket()?)));
        let Some((cache, ticket)) = cached else {
            return self.fetch_profiles(floor, keys, viewer).await;
        };
        let mut found = Vec::with_capacity(keys.len());
        let (missed_ids, missed_names) = match keys {
            ProfileKeys::Ids(ids) => {
                let mut missed: Vec<ObjectId> = Vec::new();
                for id in ids {
                    match cache.profile(id, viewer) {
                        Some(hit) => found.push(hit),
                        None if !missed.contains(id) => missed.push(id.clone()),
                        None => {}
                    }
                }
                (missed, Vec::new())
            }
            ProfileKeys::Usernames(names) => {
                let mut missed: Vec<UsernameKey> = Vec::new();
                for name in names {
                    match cache.profile_by_username(name, viewer) {
                        Some(hit) => found.push(hit),
                        None if !missed.contains(name) => missed.push(name.clone()),
                        None => {}
                    }
                }
                (Vec::new(), missed)
            }
        };
        // What fills the cache must have replayed the last invalidation of what it fills.
        let (missed, refill) = if missed_ids.is_empty() {
            let floor = Floor::from_known(cache.fill_floor_for_any());
            (ProfileKeys::Usernames(&missed_names), floor)
        } else {
            let floor = Floor::from_known(cache.fill_floor(&missed_ids, viewer));
            (ProfileKeys::Ids(&missed_ids), floor)
        };
        if !missed.is_empty() {
            let read = self
                .fetch_profiles(floor.and(refill), missed, viewer)
                .await?;
            for profile in &read {
                cache.fill(ticket, viewer, profile);
            }
            found.extend(read);
        }
        Ok(found)
    }

    /// [`profiles`](Self::profiles) from the database. Boxed: the query's future is large, and
    /// a read answered from the cache would otherwise carry (and move) its space on every call.
    fn fetch_profiles<'a>(
        &'a self,
        floor: Floor,
        keys: ProfileKeys<'a>,
        viewer: Option<&'a ObjectId>,
    ) -> futures_util::future::BoxFuture<'a, AppResult<Vec<FoundProfile>>> {
        Box::pin(async move { read!(self, floor, |conn| find_many(conn, keys, viewer).await) })
    }

    /// Whether `id` is an existing, active user (the token check of SPEC §5).
    pub async fn is_active_user(&self, id: &ObjectId) -> AppResult<bool> {
        if self.cache.is_some() {
            let found = self
                .profiles(ProfileKeys::Ids(std::slice::from_ref(id)), None)
                .await?;
            return Ok(found.iter().any(|f| !f.user.is_deactivated()));
        }
        // Boxed for the reason `fetch_profiles` is.
        Box::pin(async move { read!(self, Floor::Anything, |conn| is_active_user(conn, id).await) })
            .await
    }
}

/// Whether `id` is an existing, active user (the token check of SPEC §5).
pub async fn is_active_user(conn: &mut AsyncPgConnection, id: &ObjectId) -> AppResult<bool> {
    let found: Option<Option<chrono::DateTime<chrono::Utc>>> = users::table
        .filter(users::id.eq(id.as_str()))
        .select(users::deactivated_at)
        .first(conn)
        .await
        .optional()?;
    Ok(matches!(found, Some(None)))
}

/// The columns an update sets; `None` leaves a column alone, `Some(None)` clears it.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
struct UserChangeset {
    name: Option<String>,
    surname: Option<String>,
    username: Option<String>,
    availability_status: Option<&'static str>,
    interests: Option<Vec<String>>,
    expertise: Option<Option<String>>,
    bio: Option<Option<String>>,
    minute_price_in_live_stream: Option<i32>,
    instagram: Option<Option<String>>,
    snapchat: Option<Option<String>>,
    x: Option<Option<String>>,
    tiktok: Option<Option<String>>,
    facebook: Option<Option<String>>,
    birth_date: Option<Option<chrono::NaiveDate>>,
    is_private: Option<bool>,
    profile_photo_id: Option<Option<String>>,
}

impl From<&ProfileChanges> for UserChangeset {
    fn from(c: &ProfileChanges) -> Self {
        let [instagram, snapchat, x, tiktok, facebook] = c.handles.clone();
        Self {
            name: c.name.clone(),
            surname: c.surname.clone(),
            username: c.username.clone(),
            availability_status: c.availability_status.map(AvailabilityStatus::as_str),
            interests: c.interests.clone(),
            expertise: c.expertise.clone(),
            bio: c.bio.clone(),
            minute_price_in_live_stream: c.minute_price_in_live_stream,
            instagram,
            snapchat,
            x,
            tiktok,
            facebook,
            birth_date: c.birth_date,
            is_private: c.is_private,
            profile_photo_id: c
                .profile_photo_id
                .as_ref()
                .map(|p| p.as_ref().map(ToString::to_string)),
        }
    }
}

/// Applies `changes` to an active user in one `UPDATE` of only the given columns, moving
/// `updated_at`; returns whether the user was there to update. A taken username is a conflict
/// (the unique index decides, so racing updates cannot both win); a photo the user does not own
/// is a validation error (the composite foreign key decides).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: &ObjectId,
    changes: &ProfileChanges,
) -> AppResult<bool> {
    use diesel::result::{DatabaseErrorKind, Error};

    let updated = diesel::update(users::table)
        .filter(users::id.eq(id.as_str()))
        .filter(users::deactivated_at.is_null())
        .set((
            UserChangeset::from(changes),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await;
    match updated {
        Ok(rows) => Ok(rows == 1),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.constraint_name() == Some("users_username_key_idx") =>
        {
            Err(AppError::Conflict(MessageId::UsernameTaken))
        }
        Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info))
            if info.constraint_name() == Some("users_profile_photo_owned_fkey") =>
        {
            Err(AppError::invalid(
                "profilePhotoId",
                MessageId::FieldProfilePhoto,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Locks an active user's row until the transaction ends; returns whether it exists.
pub async fn lock_user(conn: &mut AsyncPgConnection, id: &ObjectId) -> AppResult<bool> {
    let found: Option<String> = users::table
        .filter(users::id.eq(id.as_str()))
        .filter(users::deactivated_at.is_null())
        .select(users::id)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// Whether media item `media_id` belongs to `owner`.
pub async fn owns_media(
    conn: &mut AsyncPgConnection,
    owner: &ObjectId,
    media_id: &ObjectId,
) -> AppResult<bool> {
    let found: Option<String> = media::table
        .filter(media::id.eq(media_id.as_str()))
        .filter(media::owner_id.eq(owner.as_str()))
        .select(media::id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
