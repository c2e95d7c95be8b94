//! The follow graph in GraphQL: the lists on `User`, their connection types, and the
//! relationship mutations (SPEC §6).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::error::{GqlResult, IntoGql, raise, request_context};
use super::scalars::DateTime;
use super::types::User;
use crate::identity::Viewer;
use crate::profiles::follows::{ListKind, RelationChange};
use crate::profiles::{FollowCounts, FollowStatus, ObjectId, VisibleProfile, follows, service};
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
    owner_counts: FollowCounts,
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
            ListKind::Followers => Ok(self.owner_counts.followers),
            ListKind::Following => Ok(self.owner_counts.following),
        }
    }
}

/// Reads a page of `owner`'s `kind` list for the request's viewer.
pub async fn connection(
    ctx: &Context<'_>,
    owner: &VisibleProfile,
    kind: ListKind,
    first: i32,
    after: Option<String>,
) -> GqlResult<UserConnection> {
    let state = ctx.data_unchecked::<AppState>();
    let viewer = ctx.data_unchecked::<Viewer>();
    let owner_id = &owner.user().id;
    let page = follows::list(state.db(), viewer, owner_id, kind, first, after.as_deref())
        .await
        .gql(ctx)?;
    let zone = &request_context(ctx)?.timezone;
    let edges: Vec<UserEdge> = page
        .entries
        .into_iter()
        .map(|entry| UserEdge {
            cursor: entry.cursor,
            node: User::from(entry.profile),
            followed_at: DateTime(zone.format(entry.followed_at)),
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
        owner: owner_id.clone(),
        owner_counts: owner.counts(),
        kind,
    })
}

/// Applies a relation change for the request's viewer.
async fn relate(ctx: &Context<'_>, change: RelationChange, user_id: &ID) -> GqlResult<bool> {
    let result = async {
        let other = service::user_id(user_id, "userId")?;
        let state = ctx.data_unchecked::<AppState>();
        follows::change(state.db(), ctx.data_unchecked::<Viewer>(), change, &other).await
    };
    result.await.map(|()| true).map_err(|e| raise(ctx, &e))
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
        let result = async {
            let other = service::user_id(&user_id, "userId")?;
            let state = ctx.data_unchecked::<AppState>();
            follows::follow(state.db(), ctx.data_unchecked::<Viewer>(), &other).await
        };
        result
            .await
            .map(FollowState::from)
            .map_err(|e| raise(ctx, &e))
    }

    /// Stops following a user, or withdraws a pending request. True once done (also when there
    /// was nothing to undo).
    async fn unfollow(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to unfollow.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Unfollow, &user_id).await
    }

    /// Approves a user's pending request to follow you. True once done (also when already
    /// approved); an error when the user has not asked.
    async fn approve_follow_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user who asked to follow you.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Approve, &user_id).await
    }

    /// Rejects a user's pending request to follow you. True once done (also when nothing was
    /// pending).
    async fn reject_follow_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user who asked to follow you.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Reject, &user_id).await
    }

    /// Blocks a user: follows and requests between you end in both directions, neither can
    /// follow the other, and you disappear from each other's view. True once done.
    async fn block(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to block.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Block, &user_id).await
    }

    /// Lifts your block of a user. True once done (also when there was none).
    async fn unblock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to unblock.")] user_id: ID,
    ) -> GqlResult<bool> {
        relate(ctx, RelationChange::Unblock, &user_id).await
    }
}
