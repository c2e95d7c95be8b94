//! The follow graph's use cases: following, requests, blocks, and the paged lists (SPEC §6).
//!
//! Every change runs in one transaction that first takes the pair's lock, so concurrent calls
//! about the same two users queue; the counters move with the relations by trigger, in the same
//! transaction. Repeating a call is not an error and changes nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;

use super::model::FollowStatus;
use super::privacy::VisibleProfile;
use super::rules::PAGE_MAX;
use super::service::read_profiles;
use super::{ObjectId, ProfileKeys};
use crate::db::Db;
use crate::db::follows::{self as queries, CounterDrift};
use crate::db::pool::{read, transaction};
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::MessageId;
use crate::identity::Viewer;

/// The argument naming the other user in relationship calls.
const USER_ID: &str = "userId";

/// A change of the relation between the viewer and another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationChange {
    /// Follow: accepted at once for a public profile, a pending request for a private one;
    /// refused when either user has blocked the other.
    Follow,
    /// Stop following, or withdraw a pending request.
    Unfollow,
    /// Approve the other user's pending request to follow the viewer; approving an accepted
    /// follow again changes nothing, and with no request at all it is an error.
    Approve,
    /// Reject the other user's pending request; with none pending nothing changes.
    Reject,
    /// Block: follows and requests between the two end in both directions, and neither can
    /// follow the other until the block is lifted.
    Block,
    /// Lift the viewer's block.
    Unblock,
}

impl RelationChange {
    /// What doing this to oneself is refused with.
    fn self_refusal(self) -> MessageId {
        match self {
            RelationChange::Block | RelationChange::Unblock => MessageId::CannotBlockSelf,
            _ => MessageId::CannotFollowSelf,
        }
    }
}

/// Which list of a user to page through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Accepted followers of the user.
    Followers,
    /// Users the user follows (accepted).
    Following,
    /// Pending requests to follow the user.
    Requests,
}

/// A position in a list: the follow's time and the other user's id (the tie-breaker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    /// When the follow was made.
    pub created_at: DateTime<chrono::Utc>,
    /// The listed user.
    pub user_id: String,
}

/// Follows `other` for the viewer: the follow's state afterwards, `Accepted` for a public
/// profile, `Pending` (a request) for a private one.
pub async fn follow(db: &Db, viewer: &Viewer, other: &ObjectId) -> AppResult<FollowStatus> {
    apply(db, viewer, RelationChange::Follow, other)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a follow left no follow state")))
}

/// Applies `change` (any but [`RelationChange::Follow`], which is [`follow`]) between the
/// viewer and `other`.
pub async fn change(
    db: &Db,
    viewer: &Viewer,
    change: RelationChange,
    other: &ObjectId,
) -> AppResult<()> {
    apply(db, viewer, change, other).await.map(|_| ())
}

/// Applies `change` between the viewer and `other`, who must be another active user. Returns
/// the state of the viewer's follow after a [`RelationChange::Follow`], `None` otherwise.
async fn apply(
    db: &Db,
    viewer: &Viewer,
    change: RelationChange,
    other: &ObjectId,
) -> AppResult<Option<FollowStatus>> {
    let me = viewer
        .user_id()
        .cloned()
        .ok_or(AppError::Unauthenticated(MessageId::TokenMissing))?;
    if &me == other {
        return Err(AppError::invalid(USER_ID, change.self_refusal()));
    }
    transaction!(db, writer = Some(&me), |conn| {
        queries::lock_pair(conn, &me, other).await?;
        let is_private = queries::active_user_privacy(conn, other)
            .await?
            .ok_or(AppError::NotFound)?;
        match change {
            RelationChange::Follow => {
                if queries::blocked_either_way(conn, &me, other).await? {
                    return Err(AppError::Forbidden(MessageId::FollowBlocked));
                }
                let wanted = if is_private {
                    FollowStatus::Pending
                } else {
                    FollowStatus::Accepted
                };
                return queries::insert_follow(conn, &me, other, wanted)
                    .await
                    .map(Some);
            }
            RelationChange::Unfollow => {
                queries::delete_follow(conn, &me, other).await?;
            }
            RelationChange::Approve => match queries::follow_status(conn, other, &me).await? {
                Some(FollowStatus::Pending) => {
                    queries::accept_pending(conn, other, &me).await?;
                }
                Some(FollowStatus::Accepted) => {}
                None => return Err(AppError::Missing(MessageId::NoFollowRequest)),
            },
            RelationChange::Reject => {
                queries::delete_pending(conn, other, &me).await?;
            }
            RelationChange::Block => queries::block(conn, &me, other).await?,
            RelationChange::Unblock => {
                queries::unblock(conn, &me, other).await?;
            }
        }
        Ok(None)
    })
}

/// One entry of a list.
#[derive(Debug, Clone)]
pub struct ListEntry {
    /// The entry's opaque position, for the next page's `after`.
    pub cursor: String,
    /// When the follow (or the request) was made.
    pub followed_at: DateTime<chrono::Utc>,
    /// The listed user, as the viewer may see it.
    pub profile: VisibleProfile,
}

/// One page of a list: the visible users, and whether more follow.
#[derive(Debug, Clone)]
pub struct Page {
    /// The entries, newest first.
    pub entries: Vec<ListEntry>,
    /// Whether there are entries after the last one.
    pub has_next_page: bool,
}

/// A page of `owner`'s followers, followings or pending requests, as `viewer` may see them.
///
/// The owner's own visibility was decided when the owner was read. Within a list, each user
/// passes the same privacy rule as everywhere else, so a private user, a user who blocked the
/// viewer or a deactivated one never shows through someone's list; such entries are skipped and
/// the page is filled from further down. Pending requests are the owner's business only.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    owner: &ObjectId,
    kind: ListKind,
    first: i32,
    after: Option<&str>,
) -> AppResult<Page> {
    let first = usize::try_from(first)
        .ok()
        .filter(|n| (1..=PAGE_MAX).contains(n))
        .ok_or_else(|| {
            AppError::Validation(vec![
                FieldError::new("first", MessageId::PageSizeOutOfRange).arg("max", PAGE_MAX),
            ])
        })?;
    let mut position = after.map(decode_cursor).transpose()?;
    if kind == ListKind::Requests && viewer.user_id() != Some(owner) {
        return Err(AppError::Forbidden(MessageId::ProfileCannotBeViewed));
    }
    let floor = db.floor(viewer.user_id()).await;
    let mut entries = Vec::with_capacity(first);
    // Read a little more than a page, so that skipped entries rarely cost another round trip.
    let batch = (first + 1 + first / 4) as i64;
    loop {
        let after = position.as_ref();
        let rows = read!(db, floor, |conn| {
            queries::list_page(conn, owner, kind, after, batch).await
        })?;
        let exhausted = (rows.len() as i64) < batch;
        let ids: Vec<ObjectId> = rows
            .iter()
            .filter_map(|r| ObjectId::parse(&r.user_id))
            .collect();
        let mut profiles: std::collections::HashMap<ObjectId, VisibleProfile> =
            read_profiles(db, viewer, ProfileKeys::Ids(&ids))
                .await?
                .into_iter()
                .filter_map(Result::ok)
                .map(|p| (p.user().id.clone(), p))
                .collect();
        for row in rows {
            position = Some(row.clone());
            let Some(profile) = ObjectId::parse(&row.user_id).and_then(|id| profiles.remove(&id))
            else {
                continue;
            };
            if entries.len() == first {
                return Ok(Page {
                    entries,
                    has_next_page: true,
                });
            }
            entries.push(ListEntry {
                cursor: encode_cursor(&row),
                followed_at: row.created_at,
                profile,
            });
        }
        if exhausted {
            return Ok(Page {
                entries,
                has_next_page: false,
            });
        }
    }
}

/// The number of requests pending for the viewer.
pub async fn pending_requests(db: &Db, owner: &ObjectId) -> AppResult<i64> {
    let floor = db.floor(Some(owner)).await;
    read!(db, floor, |conn| queries::pending_count(conn, owner).await)
}

/// An opaque cursor: the follow's time in microseconds and the listed user's id.
fn encode_cursor(position: &ListPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}:{}",
        position.created_at.timestamp_micros(),
        position.user_id
    ))
}

fn decode_cursor(cursor: &str) -> AppResult<ListPosition> {
    let invalid = || AppError::invalid("after", MessageId::InvalidCursor);
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
    let created_at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    let user_id = ObjectId::parse(id).ok_or_else(invalid)?.to_string();
    Ok(ListPosition {
        created_at,
        user_id,
    })
}

/// Verifies every follower/following counter against the follow table and repairs drift;
/// returns what was repaired.
pub async fn recount(db: &Db) -> AppResult<Vec<CounterDrift>> {
    transaction!(db, |conn| { queries::recount(conn).await })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let position = ListPosition {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("time"),
            user_id: "507f1f77bcf86cd799439011".to_owned(),
        };
        assert_eq!(
            decode_cursor(&encode_cursor(&position)).ok(),
            Some(position)
        );
        for bad in ["", "%%%", "bm9wZQ", &URL_SAFE_NO_PAD.encode("12:nope")] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
