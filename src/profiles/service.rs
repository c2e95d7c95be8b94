//! The read use cases both adapters call: who is the viewer, and what profile may they see.

use super::FollowCounts;
use super::privacy::{self, VisibleProfile};
use crate::db::Db;
use crate::db::profiles as queries;
pub use crate::db::profiles::Lookup;
use crate::error::{AppError, AppResult};
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
