//! `GET /api/v1/users/profile/{id}` and `GET /api/v1/users/profile/username/{username}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::envelope::{self, ApiError};
use super::openapi;
use crate::app::Ctx;
use crate::context::RequestContext;
use crate::error::AppError;
use crate::i18n::MessageId;
use crate::profiles::service::{self, Lookup};
use crate::profiles::{FollowCounts, ObjectId, UsernameKey, VisibleProfile};
use crate::state::AppState;

/// The profile in the legacy wire format: the seed's keys, in the seed's order. Every key is
/// always present; unset nullable values are `null`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyProfile<'a> {
    /// The user's id: 24 lowercase hexadecimal characters (a MongoDB ObjectId).
    #[serde(rename = "_id")]
    #[schema(pattern = "^[0-9a-f]{24}$", example = "507f1f77bcf86cd799439011")]
    id: &'a str,
    /// First name: 1 to 50 characters, any script.
    #[schema(min_length = 1, max_length = 50, example = "John")]
    name: &'a str,
    /// Last name: 1 to 50 characters, any script.
    #[schema(min_length = 1, max_length = 50, example = "Doe")]
    surname: &'a str,
    /// Username as stored (unique case-insensitively).
    #[schema(pattern = "^[A-Za-z0-9_.]{3,30}$", example = "johndoe123")]
    username: &'a str,
    /// Whether the user can take a live-stream call now.
    #[schema(schema_with = openapi::availability_status_schema)]
    availability_status: &'static str,
    /// The profile photo, or `null` when there is none.
    profile_photo: Option<LegacyPhoto<'a>>,
    /// Up to 20 interests of 1 to 32 characters, in the user's order, no case-insensitive
    /// duplicates.
    #[schema(max_items = 20, example = json!(["music", "sports"]))]
    interests: &'a [String],
    /// Expertise, at most 100 characters.
    #[schema(max_length = 100, example = "designer")]
    expertise: Option<&'a str>,
    /// Age in whole years, counted on today's date in the request's timezone (`X-Timezone`);
    /// `null` when the user has not given a birth date.
    #[schema(minimum = 0, example = 28)]
    age: Option<i32>,
    /// Price of one live-stream minute, in credits.
    #[schema(minimum = 0, maximum = 100000, example = 1)]
    minute_price_in_live_stream: i32,
    /// Accepted followers.
    #[schema(minimum = 0, example = 128)]
    followers_count: i32,
    /// Accepted followings.
    #[schema(minimum = 0, example = 256)]
    following_count: i32,
    /// Biography, at most 500 characters.
    #[schema(max_length = 500, example = "Passionate about technology and travel")]
    bio: Option<&'a str>,
    /// Instagram handle, without a leading `@`.
    #[schema(example = "myinstagram")]
    instagram: Option<&'a str>,
    /// Snapchat handle, without a leading `@`.
    #[schema(example = "mysnapchat")]
    snapchat: Option<&'a str>,
    /// X handle, without a leading `@`.
    #[schema(example = "mytwitterx")]
    x: Option<&'a str>,
    /// TikTok handle, without a leading `@`.
    #[schema(example = "mytiktok")]
    tiktok: Option<&'a str>,
    /// Facebook handle, without a leading `@`.
    #[schema(example = "myfacebook")]
    facebook: Option<&'a str>,
}

/// The profile photo in the legacy wire format.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyPhoto<'a> {
    /// The media item's id (a MongoDB ObjectId).
    #[serde(rename = "_id")]
    #[schema(pattern = "^[0-9a-f]{24}$", example = "507f1f77bcf86cd799439012")]
    id: &'a str,
    /// Where the media is served.
    #[schema(format = "uri", example = "https://example.com/profile.jpg")]
    url: &'a str,
    /// The kind of media.
    #[serde(rename = "type")]
    #[schema(schema_with = openapi::media_type_schema)]
    media_type: &'static str,
}

impl<'a> LegacyProfile<'a> {
    /// The legacy view of a visible profile, with `age` on the request's today.
    pub fn new(ctx: &RequestContext, profile: &'a VisibleProfile, counts: FollowCounts) -> Self {
        let user = profile.user();
        Self {
            id: user.id.as_str(),
            name: &user.name,
            surname: &user.surname,
            username: &user.username,
            availability_status: user.availability_status.as_str(),
            profile_photo: user.profile_photo.as_ref().map(|photo| LegacyPhoto {
                id: photo.id.as_str(),
                url: &photo.url,
                media_type: photo.media_type.as_str(),
            }),
            interests: &user.interests,
            expertise: user.expertise.as_deref(),
            age: user.age_on(ctx.timezone.date_at(Utc::now())),
            minute_price_in_live_stream: user.minute_price_in_live_stream,
            followers_count: counts.followers,
            following_count: counts.following,
            bio: user.bio.as_deref(),
            instagram: user.instagram.as_deref(),
            snapchat: user.snapchat.as_deref(),
            x: user.x.as_deref(),
            tiktok: user.tiktok.as_deref(),
            facebook: user.facebook.as_deref(),
        }
    }
}

/// `GET /api/v1/users/profile/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/users/profile/{id}",
    tag = openapi::PROFILES_TAG,
    operation_id = "getProfileById",
    summary = "A profile by user id",
    description = "The public profile of a user, by id (matched case-insensitively). Anonymous \
        requests may read public profiles; a private profile is shown to its owner, its accepted \
        followers and admins. When several errors apply, the first of 400, 401, 404, 403 (blocked), \
        403 (private) answers.",
    params(
        ("id" = String, Path, description = "The user's id: 24 hexadecimal characters, any case.",
            pattern = "^[0-9a-fA-F]{24}$", example = "507f1f77bcf86cd799439011"),
        openapi::RequestHeaders,
        openapi::IfNoneMatch,
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, response = openapi::ProfileOk),
        (status = 304, response = openapi::NotModified),
        (status = 400, response = inline(openapi::BadProfileId)),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::ProfileForbidden),
        (status = 404, response = openapi::NotFound),
        (status = 405, response = openapi::MethodNotAllowed),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::Unavailable),
    )
)]
pub async fn by_id(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id =
        ObjectId::parse(&id).ok_or_else(|| AppError::invalid("id", MessageId::InvalidUserId))?;
    read(&state, &ctx, &headers, Lookup::Id(&id)).await
}

/// `GET /api/v1/users/profile/username/{username}`
#[utoipa::path(
    get,
    path = "/api/v1/users/profile/username/{username}",
    tag = openapi::PROFILES_TAG,
    operation_id = "getProfileByUsername",
    summary = "A profile by username",
    description = "The public profile of a user, by username (matched case-insensitively; one \
        leading `@` is allowed). Visibility and the order of errors are those of the lookup by id.",
    params(
        ("username" = String, Path, description = "The username, any case, with at most one \
            leading `@`.", pattern = "^@?[A-Za-z0-9_.]{3,30}$", example = "@JohnDoe123"),
        openapi::RequestHeaders,
        openapi::IfNoneMatch,
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, response = openapi::ProfileOk),
        (status = 304, response = openapi::NotModified),
        (status = 400, response = inline(openapi::BadUsername)),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::ProfileForbidden),
        (status = 404, response = openapi::NotFound),
        (status = 405, response = openapi::MethodNotAllowed),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::Unavailable),
    )
)]
pub async fn by_username(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = UsernameKey::parse_lookup(&username)
        .ok_or_else(|| AppError::invalid("username", MessageId::InvalidUsername))?;
    read(&state, &ctx, &headers, Lookup::Username(&key)).await
}

async fn read(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    lookup: Lookup<'_>,
) -> Result<Response, ApiError> {
    let viewer = service::resolve_viewer(state.db(), &ctx.credentials).await?;
    let (profile, counts) = service::read_profile(state.db(), &viewer, lookup).await?;
    let data = serde_json::to_string(&LegacyProfile::new(ctx, &profile, counts))
        .map_err(AppError::internal)?;
    Ok(cacheable(ctx, headers, data))
}

/// A 200 envelope around `data` with its strong ETag, or a bodiless 304 when the client's
/// `If-None-Match` already names that ETag. Only called once the viewer may see the data.
pub fn cacheable(ctx: &RequestContext, request_headers: &HeaderMap, data: String) -> Response {
    let etag = etag_of(data.as_bytes());
    let mut response = if if_none_match_hits(request_headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match RawValue::from_string(data) {
            Ok(raw) => envelope::success(ctx, StatusCode::OK, &raw),
            Err(e) => return ApiError(AppError::internal(e)).into_response(),
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Authorization, X-Timezone"),
    );
    response
}

/// A strong entity tag of a representation: a quoted, truncated SHA-256.
pub fn etag_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..16]))
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored.
fn if_none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}
