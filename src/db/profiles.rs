//! Reading profiles: one statement per lookup, joining the photo, the counters when wanted, and
//! the two facts the privacy rule needs about the viewer (blocked? following?).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{blocks, follow_counters, follows, media, users};
use crate::error::{AppError, AppResult};
use crate::i18n::MessageId;
use crate::profiles::update::ProfileChanges;
use crate::profiles::{
    AvailabilityStatus, FollowCounts, FollowStatus, MediaType, ObjectId, ProfilePhoto, Relation,
    User, UsernameKey,
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

/// A user as read for a viewer: the user and what the privacy rule needs to know.
#[derive(Debug, Clone)]
pub struct UserForViewer {
    /// The stored user.
    pub user: User,
    /// The viewer's relation to the user.
    pub relation: Relation,
}

/// A user row with its photo and the four relation facts: owner blocked viewer, viewer blocked
/// owner, viewer's follow of the owner, owner's follow of the viewer.
type ProfileRow = (
    UserRow,
    Option<PhotoRow>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

// `blocks` and `follows` each join twice, once per direction between owner and viewer.
diesel::alias! {
    const OWNER_BLOCKS: Alias<OwnerBlocks> = blocks as owner_blocks;
    const VIEWER_BLOCKS: Alias<ViewerBlocks> = blocks as viewer_blocks;
    const VIEWER_FOLLOWS: Alias<ViewerFollows> = follows as viewer_follows;
    const OWNER_FOLLOWS: Alias<OwnerFollows> = follows as owner_follows;
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

fn into_user_for_viewer(
    (user, photo, owner_blocker, viewer_blocker, viewer_follow, owner_follow): ProfileRow,
) -> AppResult<UserForViewer> {
    Ok(UserForViewer {
        user: user.into_user(photo)?,
        relation: Relation {
            blocked_by_owner: owner_blocker.is_some(),
            blocked_by_viewer: viewer_blocker.is_some(),
            viewer_follow: viewer_follow.as_deref().and_then(FollowStatus::parse),
            owner_follow: owner_follow.as_deref().and_then(FollowStatus::parse),
        },
    })
}

/// Which user(s) to read.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// By id.
    Id(&'a ObjectId),
    /// By folded username.
    Username(&'a UsernameKey),
}

/// The viewer id the joins compare with; anonymous viewers match no row.
fn viewer_key(viewer: Option<&ObjectId>) -> String {
    viewer.map_or_else(String::new, ToString::to_string)
}

// One macro for the shared FROM clause, because each filter gives diesel a different query type.
// Every join matches at most one row through a primary key; an anonymous viewer matches none.
macro_rules! profiles_for_viewer {
    ($viewer:expr) => {
        users::table
            .left_join(media::table.on(users::profile_photo_id.eq(media::id.nullable())))
            .left_join(
                OWNER_BLOCKS.on(OWNER_BLOCKS
                    .field(blocks::blocker_id)
                    .eq(users::id)
                    .and(OWNER_BLOCKS.field(blocks::blocked_id).eq($viewer.clone()))),
            )
            .left_join(
                VIEWER_BLOCKS.on(VIEWER_BLOCKS
                    .field(blocks::blocked_id)
                    .eq(users::id)
                    .and(VIEWER_BLOCKS.field(blocks::blocker_id).eq($viewer.clone()))),
            )
            .left_join(
                VIEWER_FOLLOWS.on(VIEWER_FOLLOWS
                    .field(follows::followee_id)
                    .eq(users::id)
                    .and(
                        VIEWER_FOLLOWS
                            .field(follows::follower_id)
                            .eq($viewer.clone()),
                    )),
            )
            .left_join(
                OWNER_FOLLOWS.on(OWNER_FOLLOWS.field(follows::follower_id).eq(users::id).and(
                    OWNER_FOLLOWS
                        .field(follows::followee_id)
                        .eq($viewer.clone()),
                )),
            )
    };
}

macro_rules! profile_columns {
    () => {
        (
            UserRow::as_select(),
            Option::<PhotoRow>::as_select(),
            OWNER_BLOCKS.field(blocks::blocker_id).nullable(),
            VIEWER_BLOCKS.field(blocks::blocker_id).nullable(),
            VIEWER_FOLLOWS.field(follows::status).nullable(),
            OWNER_FOLLOWS.field(follows::status).nullable(),
        )
    };
}

/// One user with its counters, as `viewer` sees it: a single statement (the REST read).
pub async fn find_with_counts(
    conn: &mut AsyncPgConnection,
    lookup: Lookup<'_>,
    viewer: Option<&ObjectId>,
) -> AppResult<Option<(UserForViewer, FollowCounts)>> {
    let viewer = viewer_key(viewer);
    let base = profiles_for_viewer!(viewer)
        .left_join(follow_counters::table.on(follow_counters::user_id.eq(users::id)))
        .select((
            UserRow::as_select(),
            Option::<PhotoRow>::as_select(),
            OWNER_BLOCKS.field(blocks::blocker_id).nullable(),
            VIEWER_BLOCKS.field(blocks::blocker_id).nullable(),
            VIEWER_FOLLOWS.field(follows::status).nullable(),
            OWNER_FOLLOWS.field(follows::status).nullable(),
            follow_counters::followers_count.nullable(),
            follow_counters::following_count.nullable(),
        ));
    type Row = (
        UserRow,
        Option<PhotoRow>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i32>,
        Option<i32>,
    );
    let row: Option<Row> = match lookup {
        Lookup::Id(id) => base
            .filter(users::id.eq(id.as_str()))
            .first(conn)
            .await
            .optional()?,
        Lookup::Username(key) => base
            .filter(users::username_key.eq(key.as_str()))
            .first(conn)
            .await
            .optional()?,
    };
    row.map(
        |(
            user,
            photo,
            owner_blocker,
            viewer_blocker,
            viewer_follow,
            owner_follow,
            followers,
            following,
        )| {
            let counts = FollowCounts {
                followers: followers.unwrap_or_default(),
                following: following.unwrap_or_default(),
            };
            Ok((
                into_user_for_viewer((
                    user,
                    photo,
                    owner_blocker,
                    viewer_blocker,
                    viewer_follow,
                    owner_follow,
                ))?,
                counts,
            ))
        },
    )
    .transpose()
}

/// Users by id as `viewer` sees them, in one statement; missing ids are simply absent.
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[ObjectId],
    viewer: Option<&ObjectId>,
) -> AppResult<Vec<UserForViewer>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let viewer = viewer_key(viewer);
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows: Vec<ProfileRow> = profiles_for_viewer!(viewer)
        .filter(users::id.eq_any(ids))
        .select(profile_columns!())
        .load(conn)
        .await?;
    rows.into_iter().map(into_user_for_viewer).collect()
}

/// Users by folded username as `viewer` sees them, in one statement.
pub async fn find_many_by_username(
    conn: &mut AsyncPgConnection,
    keys: &[UsernameKey],
    viewer: Option<&ObjectId>,
) -> AppResult<Vec<UserForViewer>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let viewer = viewer_key(viewer);
    let keys: Vec<String> = keys.iter().map(|k| k.as_str().to_owned()).collect();
    let rows: Vec<ProfileRow> = profiles_for_viewer!(viewer)
        .filter(users::username_key.eq_any(keys))
        .select(profile_columns!())
        .load(conn)
        .await?;
    rows.into_iter().map(into_user_for_viewer).collect()
}

/// Follower and following counts of `ids`, in one statement; users without a counter row
/// (none, short of a manual deletion) count zero.
pub async fn follow_counts(
    conn: &mut AsyncPgConnection,
    ids: &[ObjectId],
) -> AppResult<Vec<(ObjectId, FollowCounts)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows: Vec<(String, i32, i32)> = follow_counters::table
        .filter(follow_counters::user_id.eq_any(keys))
        .select((
            follow_counters::user_id,
            follow_counters::followers_count,
            follow_counters::following_count,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, followers, following)| {
            Some((
                ObjectId::parse(&id)?,
                FollowCounts {
                    followers,
                    following,
                },
            ))
        })
        .collect())
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
