//! `Query`: reading profiles.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use super::error::{GqlResult, IntoGql};
use super::loaders::Loaders;
use super::types::User;
use crate::db::profiles::UserForViewer;
use crate::error::{AppError, AppResult};
use crate::i18n::MessageId;
use crate::identity::Viewer;
use crate::profiles::{FollowCounts, ObjectId, UsernameKey, privacy};

/// Most ids `users(ids:)` accepts.
pub const MAX_IDS: usize = 100;

/// Reading profiles.
pub struct QueryRoot;

/// Reading profiles of the social / live-streaming app.
///
/// Every request may carry these headers (REST and GraphQL alike):
/// `Accept-Language` (`en` or `tr`, q-values honoured; the language of every error message,
/// echoed in `Content-Language`);
/// `X-Timezone` (`UTC`, a fixed offset `UTC±HH:MM` from `UTC-12:00` to `UTC+14:00` with minutes
/// 00, 30 or 45, or an IANA zone such as `Europe/Istanbul`: every `DateTime` is written in it and
/// `age` counts on its today);
/// `X-Platform` (`web`, `mobile_ios`, `mobile_android`, `admin`, `api`, `unknown`, `all`);
/// `X-App-Version`; `X-Device-Id`; `X-Request-Id` (echoed; generated when absent);
/// `Authorization: Bearer <JWT>` (optional for reads; needed for mutations and `viewer`).
/// A bad header value is refused with `BAD_USER_INPUT` naming the header; a bad token with
/// `UNAUTHENTICATED`.
#[Object(name = "Query")]
impl QueryRoot {
    /// A user by id (case-insensitive). Null, with an error at this path, when the user does not
    /// exist, is deactivated, or may not be seen by the viewer.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id: 24 hexadecimal characters, any case.")] id: ID,
    ) -> Option<GqlResult<User>> {
        let result = async {
            let id = parse_id(&id, "id")?;
            let loaded = ctx.data_unchecked::<Loaders>().users.load_one(id).await?;
            visible(ctx, loaded)
        };
        Some(result.await.gql(ctx))
    }

    /// A user by username, case-insensitively; one leading `@` is allowed.
    async fn user_by_username(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The username, any case, with at most one leading `@`.")] username: String,
    ) -> Option<GqlResult<User>> {
        let result = async {
            let key = UsernameKey::parse_lookup(&username)
                .ok_or_else(|| AppError::invalid("username", MessageId::InvalidUsername))?;
            let loaded = ctx
                .data_unchecked::<Loaders>()
                .usernames
                .load_one(key)
                .await?;
            visible(ctx, loaded)
        };
        Some(result.await.gql(ctx))
    }

    /// Up to 100 users by id, in the order asked, in one database round trip (and one more for
    /// their counts). Each user that does not exist or may not be seen is null, with an error at
    /// its index.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Up to 100 user ids; the answer keeps their order.")] ids: Vec<ID>,
    ) -> GqlResult<Vec<Option<GqlResult<User>>>> {
        if ids.len() > MAX_IDS {
            return Err(AppError::Validation(vec![
                crate::error::FieldError::new("ids", MessageId::TooManyIds).arg("max", MAX_IDS),
            ]))
            .gql(ctx);
        }
        let parsed: Vec<ObjectId> = ids
            .iter()
            .map(|id| parse_id(id, "ids"))
            .collect::<AppResult<_>>()
            .gql(ctx)?;
        let loaded = ctx
            .data_unchecked::<Loaders>()
            .users
            .load_many(parsed.iter().cloned())
            .await
            .gql(ctx)?;
        let users: Vec<Option<GqlResult<User>>> = parsed
            .iter()
            .map(|id| Some(visible(ctx, loaded.get(id).cloned()).gql(ctx)))
            .collect();
        Ok(users)
    }

    /// The authenticated user's own profile; null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<GqlResult<User>> {
        let id = ctx.data_unchecked::<Viewer>().user_id().cloned()?;
        let loaded = ctx.data_unchecked::<Loaders>().users.load_one(id).await;
        Some(loaded.and_then(|loaded| visible(ctx, loaded)).gql(ctx))
    }
}

fn parse_id(id: &ID, field: &str) -> AppResult<ObjectId> {
    ObjectId::parse(id).ok_or_else(|| AppError::invalid(field, MessageId::InvalidUserId))
}

/// Applies the privacy rule to a loaded user; absent users are not found.
pub fn visible(
    ctx: &Context<'_>,
    loaded: Option<(UserForViewer, FollowCounts)>,
) -> AppResult<User> {
    let (loaded, counts) = loaded.ok_or(AppError::NotFound)?;
    let viewer = ctx.data_unchecked::<Viewer>();
    let profile = privacy::check(viewer, loaded.user, loaded.relation)?;
    Ok(User::with_counts(Arc::new(profile), counts))
}
