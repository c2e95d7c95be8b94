//! The use cases both adapters call: who is the viewer, which profiles they may see, and how
//! they update their own.
//!
//! [`read_profiles`] is the one read path: REST, the GraphQL loaders and the follow lists all
//! read through it, so the statement, the privacy decision and (later) any cache behind it are
//! the same for every read.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde_json::{Map, Value};

use super::privacy::{self, VisibleProfile};
use super::rules::IDS_PER_READ_MAX;
use super::update;
use super::view::{self, if_match_accepts};
use super::{ObjectId, ProfileKeys, UsernameKey};
use crate::db::Db;
use crate::db::pool::transaction;
use crate::db::profiles as queries;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::MessageId;
use crate::identity::{Credentials, Viewer};

/// Parses a user id a client sent in `field` (any case).
pub fn user_id(text: &str, field: &str) -> AppResult<ObjectId> {
    ObjectId::parse(text).ok_or_else(|| AppError::invalid(field, MessageId::InvalidUserId))
}

/// Parses the ids of a batch read sent in `field`: at most [`IDS_PER_READ_MAX`], each valid.
pub fn user_ids<S: AsRef<str>>(texts: &[S], field: &str) -> AppResult<Vec<ObjectId>> {
    if texts.len() > IDS_PER_READ_MAX {
        return Err(AppError::Validation(vec![
            FieldError::new(field, MessageId::TooManyIds).arg("max", IDS_PER_READ_MAX),
        ]));
    }
    texts.iter().map(|t| user_id(t.as_ref(), field)).collect()
}

/// Parses a username a client looks up by in `field` (any case, one leading `@`).
pub fn username_key(text: &str, field: &str) -> AppResult<UsernameKey> {
    UsernameKey::parse_lookup(text)
        .ok_or_else(|| AppError::invalid(field, MessageId::InvalidUsername))
}

/// Turns the request's credentials into a viewer: a valid token whose user exists and is active
/// is that user; a missing one is anonymous; anything else is a 401.
pub async fn resolve_viewer(db: &Db, credentials: &Credentials) -> AppResult<Viewer> {
    match credentials {
        Credentials::None => Ok(Viewer::Anonymous),
        Credentials::Invalid(reason) => Err(AppError::Unauthenticated(*reason)),
        Credentials::Token(token) => {
            if db.is_active_user(&token.user_id).await? {
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

/// The profiles `keys` name as `viewer` may see them, with their counts: one result per key, in
/// the keys' order (a key asked twice is answered twice) — the profile, or why it cannot be
/// shown (not found for a missing or deactivated user, forbidden for a block or a private
/// profile; see [`privacy::check`]). All of them in one statement; a failure to read at all is
/// the outer error.
pub async fn read_profiles(
    db: &Db,
    viewer: &Viewer,
    keys: ProfileKeys<'_>,
) -> AppResult<Vec<AppResult<VisibleProfile>>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found = db.profiles(keys, viewer.user_id()).await?;
    let check = |found: Option<_>| {
        found
            .ok_or(AppError::NotFound)
            .and_then(|found| privacy::check(viewer, found))
    };
    Ok(match keys {
        // A few keys (a REST read has one): a scan costs less than building a map.
        ProfileKeys::Ids(ids) if found.len() <= SCAN_MAX => ids
            .iter()
            .map(|id| check(found.iter().find(|f| f.user.id == *id).cloned()))
            .collect(),
        ProfileKeys::Ids(ids) => {
            let by_id: HashMap<ObjectId, _> =
                found.into_iter().map(|f| (f.user.id.clone(), f)).collect();
            ids.iter().map(|id| check(by_id.get(id).cloned())).collect()
        }
        ProfileKeys::Usernames(names) => {
            let by_name: HashMap<String, _> = found
                .into_iter()
                .map(|f| (f.user.username.to_ascii_lowercase(), f))
                .collect();
            names
                .iter()
                .map(|n| check(by_name.get(n.as_str()).cloned()))
                .collect()
        }
    })
}

/// Up to how many profiles found the answers are matched to their keys by a scan.
const SCAN_MAX: usize = 8;

/// The one profile `key` names, as `viewer` may see it (REST's read).
pub async fn read_profile(
    db: &Db,
    viewer: &Viewer,
    key: ProfileKeys<'_>,
) -> AppResult<VisibleProfile> {
    read_profiles(db, viewer, key)
        .await?
        .into_iter()
        .next()
        .unwrap_or(Err(AppError::NotFound))
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
) -> AppResult<VisibleProfile> {
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

    transaction!(
        db,
        writer = Some(&id),
        commit_if = !options.dry_run,
        |conn| {
            if let Some(condition) = options.if_match {
                if !queries::lock_user(conn, &id).await? {
                    return Err(AppError::Unauthenticated(MessageId::TokenUnknownUser));
                }
                let current = read_own(conn, &owner, &id).await?;
                let current = view::render(&current, options.today);
                if !if_match_accepts(condition, &current.etag) {
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
    )
}

async fn read_own(
    conn: &mut AsyncPgConnection,
    owner: &Viewer,
    id: &ObjectId,
) -> AppResult<VisibleProfile> {
    let found = queries::find_many(conn, ProfileKeys::Ids(std::slice::from_ref(id)), Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::Unauthenticated(MessageId::TokenUnknownUser))?;
    privacy::check(owner, found)
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
