//! `Subscription`: live profiles (SPEC §8), over WebSocket ([`super::ws`]). The updates come from
//! the instance's live-profile hub ([`crate::profiles::live`]), which decides per event what the
//! subscriber may see.

use std::sync::{Arc, Mutex};

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ErrorExtensions, ID, Object, Schema, Subscription,
};
use chrono::Utc;
use futures_util::{Stream, StreamExt as _};

use super::error::{GqlResult, IntoGql, gql_error, request_context};
use super::scalars::DateTime;
use super::types::{AvailabilityStatus, User};
use crate::i18n::Lang;
use crate::identity::Viewer;
use crate::profiles::live::{Update, Watch, WatchKind};
use crate::profiles::{ObjectId, service};
use crate::state::AppState;

/// Live profiles.
pub struct SubscriptionRoot;

/// Live profiles, over WebSocket on `/graphql` (the `graphql-transport-ws` protocol). The
/// `connection_init` payload carries the request context with the HTTP header names
/// (`Authorization`, `Accept-Language`, `X-Timezone`, …).
///
/// Each update is decided when the change happens: a profile the subscriber may not see at that
/// moment (private, blocking the subscriber, deactivated, missing) is never delivered; losing
/// sight of one is told once, as `null` with an error whose `extensions.userId` names it (an id
/// the subscriber cannot see from the start is told at once). A subscriber that reads slowly
/// gets the latest state of each id, intermediate states skipped. A subscriber whose own account
/// is deactivated gets `UNAUTHENTICATED`, and its subscriptions complete.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    #[doc = concat!("The profiles of up to ", crate::profile_limit!(IDS_PER_READ_MAX), " users, as the subscriber may see them, each time one changes in
a way the subscriber sees (any field, counts and relations to the subscriber included).")]
    async fn profile_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "User ids (see the field for how many).")] ids: Vec<ID>,
    ) -> Result<impl Stream<Item = Option<GqlResult<User>>> + use<>, async_graphql::Error> {
        let updates = watch(ctx, &ids, WatchKind::Profile).await?;
        let lang = request_context(ctx)?.lang;
        Ok(updates.filter_map(move |update| futures_util::future::ready(as_user(update, lang))))
    }

    #[doc = concat!("The availability of up to ", crate::profile_limit!(IDS_PER_READ_MAX), " users each time it changes, for the users the
subscriber may see at that moment.")]
    async fn availability_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "User ids (see the field for how many).")] ids: Vec<ID>,
    ) -> Result<
        impl Stream<Item = Option<GqlResult<AvailabilityChange>>> + use<>,
        async_graphql::Error,
    > {
        let updates = watch(ctx, &ids, WatchKind::Availability).await?;
        let lang = request_context(ctx)?.lang;
        Ok(updates
            .filter_map(move |update| futures_util::future::ready(as_availability(update, lang))))
    }
}

/// An update of a `profileChanged` watch as the field's value (`None`: not this field's).
fn as_user(update: Update, lang: Lang) -> Option<Option<GqlResult<User>>> {
    match update {
        Update::Profile(profile) => Some(Some(Ok(User::from(profile)))),
        Update::Hidden { user, error } => Some(Some(Err(hidden(&user, &error, lang)))),
        Update::Revoked(error) => Some(Some(Err(gql_error(&error, lang)))),
        Update::Availability { .. } => None,
    }
}

/// An update of an `availabilityChanged` watch as the field's value (`None`: not this field's).
fn as_availability(update: Update, lang: Lang) -> Option<Option<GqlResult<AvailabilityChange>>> {
    match update {
        Update::Availability { user, status, at } => {
            Some(Some(Ok(AvailabilityChange { user, status, at })))
        }
        Update::Hidden { user, error } => Some(Some(Err(hidden(&user, &error, lang)))),
        Update::Revoked(error) => Some(Some(Err(gql_error(&error, lang)))),
        Update::Profile(_) => None,
    }
}

/// What the resolvers of [`LiveRoot`] work on: the start of a subscription (they check its ids
/// and open its watch, which they leave in the slot), or one of its updates.
pub enum Phase {
    /// Starting: the watch goes here.
    Start(Arc<Mutex<Option<Watch>>>),
    /// One update to show.
    Update(Mutex<Option<Update>>),
}

/// The root that runs a subscription over WebSocket ([`super::ws`]) one update at a time.
///
/// async-graphql's own subscription execution keeps the state of its whole executor alive for
/// as long as a subscription runs, tens of kilobytes each; here a subscription is its watch, its
/// variables and a share of its document (one copy per query text, see
/// [`Parsed::variant`](super::documents::Parsed::variant)), and each update runs as a short
/// operation on this root — named, shaped and limited as `Subscription`, so the document
/// validates exactly as it would there.
pub struct LiveRoot;

/// The schema of [`LiveRoot`].
pub type LiveSchema = Schema<LiveRoot, EmptyMutation, EmptySubscription>;

/// Builds the schema of [`LiveRoot`] with the limits of the API's.
pub fn live_schema(limits: &crate::config::GraphqlLimits) -> LiveSchema {
    Schema::build(LiveRoot, EmptyMutation, EmptySubscription)
        .extension(super::documents::ValidationCache)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .finish()
}

/// `Subscription`'s fields, one update at a time.
#[Object(name = "Subscription")]
impl LiveRoot {
    /// See `Subscription.profileChanged`.
    async fn profile_changed(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Option<GqlResult<User>> {
        let update = live(ctx, &ids, WatchKind::Profile).await?;
        let lang = request_context(ctx).map(|c| c.lang).unwrap_or_default();
        update.map_or_else(|e| Some(Err(e)), |u| as_user(u, lang).flatten())
    }

    /// See `Subscription.availabilityChanged`.
    async fn availability_changed(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> Option<GqlResult<AvailabilityChange>> {
        let update = live(ctx, &ids, WatchKind::Availability).await?;
        let lang = request_context(ctx).map(|c| c.lang).unwrap_or_default();
        update.map_or_else(|e| Some(Err(e)), |u| as_availability(u, lang).flatten())
    }
}

/// Starting: opens the watch (`None` when it is in the slot); an update: that update.
async fn live(ctx: &Context<'_>, ids: &[ID], kind: WatchKind) -> Option<GqlResult<Update>> {
    match ctx.data_unchecked::<Phase>() {
        Phase::Start(slot) => {
            let watch = match open(ctx, ids, kind).await {
                Ok(watch) => watch,
                Err(error) => return Some(Err(error)),
            };
            *slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(watch);
            None
        }
        Phase::Update(update) => update
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .map(Ok),
    }
}

/// Opens a watch of `ids` as the connection's viewer.
async fn open(ctx: &Context<'_>, ids: &[ID], kind: WatchKind) -> GqlResult<Watch> {
    let ids = service::user_ids(ids, "ids").gql(ctx)?;
    let state = ctx.data_unchecked::<AppState>();
    let viewer = ctx.data_unchecked::<Viewer>().clone();
    state.live().watch(viewer, &ids, kind).await.gql(ctx)
}

/// Starts a watch of `ids` as the connection's viewer.
async fn watch(
    ctx: &Context<'_>,
    ids: &[ID],
    kind: WatchKind,
) -> Result<impl Stream<Item = Update> + Send + 'static + use<>, async_graphql::Error> {
    Ok(open(ctx, ids, kind).await?.into_stream())
}

/// The error that says the subscriber may not see `user` (any more).
fn hidden(user: &ObjectId, error: &crate::error::AppError, lang: Lang) -> async_graphql::Error {
    let user = user.to_string();
    gql_error(error, lang).extend_with(move |_, e| e.set("userId", user.clone()))
}

/// A change of a user's availability.
pub struct AvailabilityChange {
    user: ObjectId,
    status: crate::profiles::AvailabilityStatus,
    at: chrono::DateTime<Utc>,
}

/// A change of a user's availability.
#[Object(name = "AvailabilityChange")]
impl AvailabilityChange {
    /// The user's id.
    async fn user_id(&self) -> ID {
        ID(self.user.to_string())
    }

    /// The new status.
    async fn availability_status(&self) -> AvailabilityStatus {
        self.status.into()
    }

    /// When it changed, in the subscriber's timezone.
    async fn changed_at(&self, ctx: &Context<'_>) -> GqlResult<DateTime> {
        Ok(DateTime(request_context(ctx)?.timezone.format(self.at)))
    }
}
