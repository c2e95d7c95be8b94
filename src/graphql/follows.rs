//! The follow graph in GraphQL: the lists on `User`, their connection types, and the
//! relationship mutations (SPEC §6).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::error::{GqlResult, IntoGql, raise, request_context};
use super::scalars::DateTime;
use super::types::User;
use crate::db::follows::ListKind;
use crate::identity::Viewer;
use crate::profiles::follows::RelationChange;
use crate::profiles::{FollowStatus, ObjectId, follows};
use crate::state::AppState;

/// The state of a follow relation.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum FollowState {
    /// The follow is in effect.
    Accepted,
    /// The followed user's profile is private: the request waits for approval.
    Pending,
}

impl From<FollowStatus> for FollowState {
    fn from(status: FollowStatus) -> Self {
        match status {
            FollowStatus::Accepted => FollowState::Accepted,
            FollowStatus::Pending => FollowState::Pending,
        }
    }
}

/// Paging information of a connection (forward paging with `first` and `after`).
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// Whether more entries follow this page.
    pub has_next_page: bool,
    /// Always false: lists page forward only.
    pub has_previous_page: bool,
    /// The cursor of the first entry of this page.
    pub start_cursor: Option<String>,
    /// The cursor of the last entry; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// One entry of a list of users.
#[derive(SimpleObject, Clone)]
pub struct UserEdge {
    /// This entry's position, for `after`.
    pub cursor: String,
    /// The user.
    pub node: User,
    /// When the follow (or the request) was made, in the request's timezone.
    pub followed_at: DateTime,
}

/// A page of users, newest follow first.
pub struct UserConnection {
    edges: Vec<UserEdge>,
    page_info: PageInfo,
    owner: ObjectId,
    kind: ListKind,
}

/// A page of users, newest follow first.
#[Object]
impl UserConnection {
    /// The entries of this page.
    async fn edges(&self) -> &[UserEdge] {
        &self.edges
    }

    /// The users of this page (the edges' nodes).
    async fn nodes(&self) -> Vec<User> {
        self.edges.iter().map(|e| e.node.clone()).collect()
    }

    /// Paging information.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many entries the whole list has: the follower or following counter (accepted
    /// relations, including users the viewer may not see in the list), or the number of
    /// pending requests.
    async fn total_count(&self, ctx: &Context<'_>) -> GqlResult<i32> {
        let state = ctx.data_unchecked::<AppState>();
        match self.kind {
            ListKind::Requests => {
                let count = follows::pending_requests(state.db(), &self.owner)
                    .await
                    .gql(ctx)?;
                Ok(i32::try_from(count).unwrap_or(i32::MAX))
            }
            kind => {
                let counts = super::types::counts_of(ctx, &self.owner).await?;
                Ok(if kind == ListKind::Followers {
                    counts.followers
                } else {
                    counts.following
                })
            }
        }
    }
}

/// Reads a page of `owner`'s `kind` list for the request's viewer.
pub async fn connection(
    ctx: &Context<'_>,
    owner: &ObjectId,
    kind: ListKind,
    first: i32,
    after: Option<String>,
) -> GqlResult<UserConnection> {
    let state = ctx.data_unchecked::<AppState>();
    let viewer = ctx.data_unchecked::<Viewer>();
    let page = follows::list(state.db(), viewer, owner, kind, first, after.as_deref())
        .await
        .gql(ctx)?;
    let zone = &request_context(ctx)?.timezone;
    let edges: Vec<UserEdge> = page
        .entries
        .into_iter()
        .map(|(cursor, at, profile, counts)| UserEdge {
            cursor,
            node: User::with_counts(Arc::new(profile), counts),
            followed_at: DateTime(zone.format(at)),
        })
        .collect();
    Ok(UserConnection {
        page_info: PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: false,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        },
        edges,
        owner: owner.clone(),
        kind,
    })
}

fn parse_user_id(ctx: &Context<'_>, id: &ID) -> GqlResult<ObjectId> {
    ObjectId::parse(id)
        .ok_or_else(|| {
            crate::error::AppError::invalid("userId", crate::i18n::MessageId::InvalidUserId)
        })
        .gql(ctx)
}

/// Applies a relation change for the request's viewer.
async fn relate(
    ctx: &Context<'_>,
    change: RelationChange,
    user_id: &ID,
) -> GqlResult<Option<FollowStatus>> {
    let other = parse_user_id(ctx, user_id)?;
    let state = ctx.data_unchecked::<AppState>();
    follows::change(state.db(), ctx.data_unchecked::<Viewer>(), change, &other)
        .await
        .map_err(|e| raise(ctx, &e))
}

/// The relationship mutations.
#[derive(Default)]
pub struct RelationshipMutations;

#[Object]
impl RelationshipMutations {
    /// Follows a user: `ACCEPTED` at once for a public profile, `PENDING` (a request the user
    /// must approve) for a private one. Following again changes nothing. Refused when either
    /// user has blocked the other.
    async fn follow(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to follow.")] user_id: ID,
    ) -> GqlResult<FollowState> {
        let status = relate(ctx, RelationChange::Follow, &user_id).await?;
        Ok(status.unwrap_or(FollowStatus::Accepted).into())
    }

    /// Stops following a user, or withdraws a pending request. True once done (also when there
    /// was nothing to undo).
    async fn unfollow(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to unfollow.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Unfollow, &user_id)
            .await
            .map(|_| true)
    }

    /// Approves a user's pending request to follow you. True once done (also when already
    /// approved); an error when the user has not asked.
    async fn approve_follow_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user who asked to follow you.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Approve, &user_id)
            .await
            .map(|_| true)
    }

    /// Rejects a user's pending request to follow you. True once done (also when nothing was
    /// pending).
    async fn reject_follow_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user who asked to follow you.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Reject, &user_id)
            .await
            .map(|_| true)
    }

    /// Blocks a user: follows and requests between you end in both directions, neither can
    /// follow the other, and you disappear from each other's view. True once done.
    async fn block(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to block.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Block, &user_id)
            .await
            .map(|_| true)
    }

    /// Lifts your block of a user. True once done (also when there was none).
    async fn unblock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to unblock.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Unblock, &user_id)
            .await
            .map(|_| true)
    }
}
