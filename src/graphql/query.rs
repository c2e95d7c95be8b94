//! `Query`: reading profiles.

use async_graphql::{Context, ID, Object};

use super::error::{GqlResult, IntoGql};
use super::loaders::Loaders;
use super::types::User;
use crate::identity::Viewer;
use crate::profiles::service;

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
            let id = service::user_id(&id, "id")?;
            loaders(ctx).user(id).await
        };
        Some(result.await.map(User::from).gql(ctx))
    }

    /// A user by username, case-insensitively; one leading `@` is allowed.
    async fn user_by_username(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The username, any case, with at most one leading `@`.")] username: String,
    ) -> Option<GqlResult<User>> {
        let result = async {
            let key = service::username_key(&username, "username")?;
            loaders(ctx).user_by_username(key).await
        };
        Some(result.await.map(User::from).gql(ctx))
    }

    #[doc = concat!("Up to ", crate::profile_limit!(IDS_PER_READ_MAX), " users by id, in the order asked, in one database round trip. Each user that
does not exist or may not be seen is null, with an error at its index.")]
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "User ids (see the field for how many); the answer keeps their order.")]
        ids: Vec<ID>,
    ) -> GqlResult<Vec<Option<GqlResult<User>>>> {
        let ids = service::user_ids(&ids, "ids").gql(ctx)?;
        let loaded = loaders(ctx).users(&ids).await.gql(ctx)?;
        Ok(loaded
            .into_iter()
            .map(|user| Some(user.map(User::from).gql(ctx)))
            .collect())
    }

    /// The authenticated user's own profile; null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<GqlResult<User>> {
        let id = ctx.data_unchecked::<Viewer>().user_id().cloned()?;
        Some(loaders(ctx).user(id).await.map(User::from).gql(ctx))
    }
}

fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}
