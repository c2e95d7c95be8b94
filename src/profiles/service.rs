//! The use cases both adapters call: who is the viewer, what profile may they see, and how
//! they update their own.

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager};
use serde_json::{Map, Value};

use super::privacy::{self, VisibleProfile};
use super::update;
use super::view::{ProfileView, if_match_accepts};
use super::{FollowCounts, ObjectId};
use crate::db::Db;
use crate::db::profiles as queries;
pub use crate::db::profiles::Lookup;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::MessageId;
use crate::identity::{Credentials, Viewer};

/// Turns the request's credentials into a viewer: a valid token whose user exists and is active
/// is that user; a missing one is anonymous; anything else is a 401.
pub async fn resolve_viewer(db: &Db, credentials: &Credentials) -> AppResult<Viewer> {
    match credentials {
        Credentials::None => Ok(Viewer::Anonymous),
        Credentials::Invalid(reason) => Err(AppError::Unauthenticated(*reason)),
        Credentials::Token(token) => {
            let mut conn = db.conn().await?;
            if queries::is_active_user(&mut conn, &token.user_id).await? {
                Ok(Viewer::User {
                    id: token.user_id.clone(),
                    admin: token.admin,
                })
            } else {
                Err(AppError::Unauthenticated(MessageId::TokenUnknownUser))
            }
        }
    }
}

/// A profile and its counts as `viewer` may see it, in one statement.
pub async fn read_profile(
    db: &Db,
    viewer: &Viewer,
    lookup: Lookup<'_>,
) -> AppResult<(VisibleProfile, FollowCounts)> {
    let mut conn = db.conn().await?;
    let (found, counts) = queries::find_with_counts(&mut conn, lookup, viewer.user_id())
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    let profile = privacy::check(viewer, found.user, found.relation)?;
    Ok((profile, counts))
}

/// How an update is carried out.
#[derive(Debug, Clone, Copy)]
pub struct UpdateOptions<'a> {
    /// The `If-Match` / `ifMatch` condition, if any.
    pub if_match: Option<&'a str>,
    /// Validate and show the result without writing.
    pub dry_run: bool,
    /// Today in the request's zone (birth date bounds, `age`, the ETag).
    pub today: NaiveDate,
}

/// Updates the viewer's own profile from a merge-patch object (SPEC §4) and returns it as
/// stored. Problems with the body come first (all of them, 400), then the credentials (401);
/// then the `If-Match` condition (412), and the write itself (409 for a taken username). A dry
/// run performs the same write inside a transaction that is rolled back, so it reports exactly
/// what a real update would, conflicts included.
///
/// `viewer` is the outcome of [`resolve_viewer`], whose error is only reported once the body is
/// known to be well-formed.
pub async fn update_profile(
    db: &Db,
    viewer: AppResult<Viewer>,
    patch: &Map<String, Value>,
    options: UpdateOptions<'_>,
) -> AppResult<(VisibleProfile, FollowCounts)> {
    let changes = match update::parse_patch(patch, options.today) {
        Ok(changes) => changes,
        Err(mut problems) => {
            // Photo ownership needs the database; check it too, so every problem is reported.
            if let (Ok(Viewer::User { id, .. }), Some(Ok(Some(Some(photo))))) = (
                &viewer,
                patch
                    .get("profilePhotoId")
                    .map(|_| photo_of(patch, options.today)),
            ) {
                let mut conn = db.conn().await?;
                if !queries::owns_media(&mut conn, id, &photo).await? {
                    problems.push(FieldError::new(
                        "profilePhotoId",
                        MessageId::FieldProfilePhoto,
                    ));
                }
            }
            return Err(AppError::Validation(problems));
        }
    };
    let id = match viewer? {
        Viewer::User { id, .. } => id,
        Viewer::Anonymous => return Err(AppError::Unauthenticated(MessageId::TokenMissing)),
    };
    let owner = Viewer::User {
        id: id.clone(),
        admin: false,
    };

    let mut pooled = db.conn().await?;
    let conn: &mut AsyncPgConnection = &mut pooled;
    type Transactions = <AsyncPgConnection as AsyncConnection>::TransactionManager;
    Transactions::begin_transaction(conn).await?;
    let outcome = async {
        if let Some(condition) = options.if_match {
            if !queries::lock_user(conn, &id).await? {
                return Err(AppError::Unauthenticated(MessageId::TokenUnknownUser));
            }
            let (current, counts) = read_own(conn, &owner, &id).await?;
            let etag = ProfileView::new(&current, counts, options.today).etag();
            if !if_match_accepts(condition, &etag) {
                return Err(AppError::PreconditionFailed);
            }
        }
        if !changes.is_empty() && !queries::update(conn, &id, &changes).await? {
            return Err(AppError::Unauthenticated(MessageId::TokenUnknownUser));
        }
        // Going public lets every waiting request through, as the requesters asked.
        if changes.is_private == Some(false) {
            crate::db::follows::accept_all_pending(conn, &id).await?;
        }
        read_own(conn, &owner, &id).await
    }
    .await;
    match (&outcome, options.dry_run) {
        (Ok(_), false) => Transactions::commit_transaction(conn).await?,
        _ => Transactions::rollback_transaction(conn).await?,
    }
    outcome
}

async fn read_own(
    conn: &mut AsyncPgConnection,
    owner: &Viewer,
    id: &ObjectId,
) -> AppResult<(VisibleProfile, FollowCounts)> {
    let (found, counts) = queries::find_with_counts(conn, Lookup::Id(id), Some(id))
        .await?
        .ok_or(AppError::Unauthenticated(MessageId::TokenUnknownUser))?;
    Ok((privacy::check(owner, found.user, found.relation)?, counts))
}

/// The profile photo a patch names, parsed alone.
fn photo_of(
    patch: &Map<String, Value>,
    today: NaiveDate,
) -> Result<Option<Option<ObjectId>>, Vec<FieldError>> {
    let mut single = Map::new();
    if let Some(value) = patch.get("profilePhotoId") {
        single.insert("profilePhotoId".to_owned(), value.clone());
    }
    update::parse_patch(&single, today).map(|c| c.profile_photo_id)
}
