//! The output types: `User`, `Media` and their enums. Every REST field has its twin here with the
//! same value, because both read the same domain `User`.

use async_graphql::{Context, Enum, ID, Object};
use chrono::Utc;

use super::error::{GqlResult, request_context};
use super::follows::{UserConnection, connection};
use super::scalars::{Date, DateTime};
use crate::profiles::follows::ListKind;
use crate::profiles::view;
use crate::profiles::{self, VisibleProfile};

/// Whether a user can take a live-stream call now. The values are the REST API's, lowercase.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(name = "AvailabilityStatus", rename_items = "lowercase")]
pub enum AvailabilityStatus {
    /// Ready to take calls.
    Available,
    /// In a call or otherwise occupied.
    Busy,
    /// Temporarily away.
    Away,
    /// Not reachable.
    Offline,
}

impl From<AvailabilityStatus> for profiles::AvailabilityStatus {
    fn from(status: AvailabilityStatus) -> Self {
        match status {
            AvailabilityStatus::Available => profiles::AvailabilityStatus::Available,
            AvailabilityStatus::Busy => profiles::AvailabilityStatus::Busy,
            AvailabilityStatus::Away => profiles::AvailabilityStatus::Away,
            AvailabilityStatus::Offline => profiles::AvailabilityStatus::Offline,
        }
    }
}

impl From<profiles::AvailabilityStatus> for AvailabilityStatus {
    fn from(status: profiles::AvailabilityStatus) -> Self {
        match status {
            profiles::AvailabilityStatus::Available => AvailabilityStatus::Available,
            profiles::AvailabilityStatus::Busy => AvailabilityStatus::Busy,
            profiles::AvailabilityStatus::Away => AvailabilityStatus::Away,
            profiles::AvailabilityStatus::Offline => AvailabilityStatus::Offline,
        }
    }
}

/// The kind of a media item, as in the REST API.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(name = "MediaType", rename_items = "lowercase")]
pub enum MediaType {
    /// A still image.
    Image,
    /// A video.
    Video,
}

/// A media item: a user's profile photo.
pub struct Media(profiles::ProfilePhoto);

/// A media item: a user's profile photo.
#[Object(name = "Media")]
impl Media {
    /// The media item's id (24 hexadecimal characters).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Where the media is served from.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// Image or video.
    #[graphql(name = "type")]
    async fn media_type(&self) -> MediaType {
        match self.0.media_type {
            profiles::MediaType::Image => MediaType::Image,
            profiles::MediaType::Video => MediaType::Video,
        }
    }
}

/// A user's public profile, as the viewer may see it.
#[derive(Clone)]
pub struct User(VisibleProfile);

impl From<VisibleProfile> for User {
    fn from(profile: VisibleProfile) -> Self {
        Self(profile)
    }
}

impl User {
    fn user(&self) -> &profiles::User {
        self.0.user()
    }
}

/// A user's profile. Profiles that the viewer may not see (private, blocked, deactivated) never
/// resolve to a `User`: they are `null` with an error at their path.
#[Object(name = "User")]
impl User {
    /// The user's id (24 hexadecimal characters; `_id` in the REST API).
    async fn id(&self) -> ID {
        ID(self.user().id.to_string())
    }

    #[doc = concat!("Given name, 1–", crate::profile_limit!(NAME_MAX), " characters.")]
    async fn name(&self) -> &str {
        &self.user().name
    }

    #[doc = concat!("Family name, 1–", crate::profile_limit!(NAME_MAX), " characters.")]
    async fn surname(&self) -> &str {
        &self.user().surname
    }

    #[doc = concat!("Username as chosen by the user: ", crate::profile_limit!(USERNAME_MIN), "–", crate::profile_limit!(USERNAME_MAX), " of letters, digits, `_` and `.`; unique regardless
of letter case.")]
    async fn username(&self) -> &str {
        &self.user().username
    }

    /// Whether the user can take a live-stream call now.
    async fn availability_status(&self) -> AvailabilityStatus {
        self.user().availability_status.into()
    }

    /// The profile photo, when set.
    async fn profile_photo(&self) -> Option<Media> {
        self.user().profile_photo.clone().map(Media)
    }

    #[doc = concat!("Interests in the user's order (at most ", crate::profile_limit!(INTERESTS_MAX), ").")]
    async fn interests(&self) -> &[String] {
        &self.user().interests
    }

    #[doc = concat!("Area of expertise (at most ", crate::profile_limit!(EXPERTISE_MAX), " characters).")]
    async fn expertise(&self) -> Option<&str> {
        self.user().expertise.as_deref()
    }

    /// Age in whole years, counted on today's date in the request's timezone; null without a
    /// birth date.
    async fn age(&self, ctx: &Context<'_>) -> GqlResult<Option<i32>> {
        let request = request_context(ctx)?;
        Ok(self.user().age_on(request.timezone.date_at(Utc::now())))
    }

    #[doc = concat!("Price per live-stream minute in credits (0–", crate::profile_limit!(PRICE_MAX), ").")]
    async fn minute_price_in_live_stream(&self) -> i32 {
        self.user().minute_price_in_live_stream
    }

    /// Number of accepted followers (pending requests do not count).
    async fn followers_count(&self) -> i32 {
        self.0.counts().followers
    }

    /// Number of users this user follows (accepted relations only).
    async fn following_count(&self) -> i32 {
        self.0.counts().following
    }

    #[doc = concat!("Free text about the user (at most ", crate::profile_limit!(BIO_MAX), " characters).")]
    async fn bio(&self) -> Option<&str> {
        self.user().bio.as_deref()
    }

    /// Instagram handle, without `@`.
    async fn instagram(&self) -> Option<&str> {
        self.user().instagram.as_deref()
    }

    /// Snapchat handle, without `@`.
    async fn snapchat(&self) -> Option<&str> {
        self.user().snapchat.as_deref()
    }

    /// X (Twitter) handle, without `@`.
    async fn x(&self) -> Option<&str> {
        self.user().x.as_deref()
    }

    /// TikTok handle, without `@`.
    async fn tiktok(&self) -> Option<&str> {
        self.user().tiktok.as_deref()
    }

    /// Facebook username.
    async fn facebook(&self) -> Option<&str> {
        self.user().facebook.as_deref()
    }

    /// Whether only approved followers may see the profile.
    async fn is_private(&self) -> bool {
        self.user().is_private
    }

    /// When the account was created, in the request's timezone.
    async fn created_at(&self, ctx: &Context<'_>) -> GqlResult<DateTime> {
        Ok(DateTime(
            request_context(ctx)?
                .timezone
                .format(self.user().created_at),
        ))
    }

    /// When the profile last changed, in the request's timezone.
    async fn updated_at(&self, ctx: &Context<'_>) -> GqlResult<DateTime> {
        Ok(DateTime(
            request_context(ctx)?
                .timezone
                .format(self.user().updated_at),
        ))
    }

    /// Birth date (`YYYY-MM-DD`): only for the owner and admins, null for everyone else.
    async fn birth_date(&self) -> Option<Date> {
        if !self.0.shows_birth_date() {
            return None;
        }
        self.user()
            .birth_date
            .map(|d| Date(d.format("%Y-%m-%d").to_string()))
    }

    #[doc = concat!("Users who follow this user (accepted follows), newest first, 1–", crate::profile_limit!(PAGE_MAX), " per page. Users the
viewer may not see (private, blocking the viewer, deactivated) are left out.")]
    #[graphql(
        complexity = "first.clamp(1, crate::profiles::rules::PAGE_MAX as i32) as usize * child_complexity"
    )]
    async fn followers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (bounds in the field's description).")] first: i32,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Option<GqlResult<UserConnection>> {
        Some(connection(ctx, &self.0, ListKind::Followers, first, after).await)
    }

    #[doc = concat!("Users this user follows (accepted follows), newest first, 1–", crate::profile_limit!(PAGE_MAX), " per page, with the same
visibility as `followers`.")]
    #[graphql(
        complexity = "first.clamp(1, crate::profiles::rules::PAGE_MAX as i32) as usize * child_complexity"
    )]
    async fn following(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (bounds in the field's description).")] first: i32,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Option<GqlResult<UserConnection>> {
        Some(connection(ctx, &self.0, ListKind::Following, first, after).await)
    }

    #[doc = concat!(
        "Pending requests to follow this user, newest first, 1–",
        crate::profile_limit!(PAGE_MAX),
        " per page: only the user may read them\n(`FORBIDDEN` for anyone else), to approve or reject them."
    )]
    #[graphql(
        complexity = "first.clamp(1, crate::profiles::rules::PAGE_MAX as i32) as usize * child_complexity"
    )]
    async fn follow_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (bounds in the field's description).")] first: i32,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Option<GqlResult<UserConnection>> {
        Some(connection(ctx, &self.0, ListKind::Requests, first, after).await)
    }

    /// Whether the viewer follows this user (accepted); null when anonymous.
    async fn is_followed_by_viewer(&self) -> Option<bool> {
        self.0
            .relation()
            .map(|r| r.viewer_follow == Some(profiles::FollowStatus::Accepted))
    }

    /// Whether this user follows the viewer (accepted); null when anonymous.
    async fn follows_viewer(&self) -> Option<bool> {
        self.0
            .relation()
            .map(|r| r.owner_follow == Some(profiles::FollowStatus::Accepted))
    }

    /// Whether the viewer's request to follow this user waits for approval; null when anonymous.
    async fn follow_request_pending(&self) -> Option<bool> {
        self.0
            .relation()
            .map(|r| r.viewer_follow == Some(profiles::FollowStatus::Pending))
    }

    /// Whether this user's request to follow the viewer waits for the viewer's approval; null
    /// when anonymous.
    async fn has_requested_to_follow_viewer(&self) -> Option<bool> {
        self.0
            .relation()
            .map(|r| r.owner_follow == Some(profiles::FollowStatus::Pending))
    }

    /// Whether the viewer has blocked this user; null when anonymous.
    async fn is_blocked_by_viewer(&self) -> Option<bool> {
        self.0.relation().map(|r| r.blocked_by_viewer)
    }

    /// The profile's entity tag, equal to the REST `ETag` for the same request: pass it as
    /// `updateProfile(ifMatch:)` to update only if nothing changed in between.
    async fn etag(&self, ctx: &Context<'_>) -> GqlResult<String> {
        let today = request_context(ctx)?.timezone.date_at(Utc::now());
        Ok(view::render(&self.0, today).etag.clone())
    }
}
