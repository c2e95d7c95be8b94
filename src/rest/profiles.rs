//! `GET /api/v1/users/profile/{id}` and `GET /api/v1/users/profile/username/{username}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::value::RawValue;

use super::envelope::{self, ApiError};
use crate::app::Ctx;
use crate::context::RequestContext;
use crate::error::AppError;
use crate::i18n::MessageId;
use crate::profiles::service::{self, Lookup};
use crate::profiles::{FollowCounts, ObjectId, UsernameKey, VisibleProfile};
use crate::state::AppState;

/// The profile in the legacy wire format: the seed's keys, in the seed's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyProfile<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    name: &'a str,
    surname: &'a str,
    username: &'a str,
    availability_status: &'static str,
    profile_photo: Option<LegacyPhoto<'a>>,
    interests: &'a [String],
    expertise: Option<&'a str>,
    age: Option<i32>,
    minute_price_in_live_stream: i32,
    followers_count: i32,
    following_count: i32,
    bio: Option<&'a str>,
    instagram: Option<&'a str>,
    snapchat: Option<&'a str>,
    x: Option<&'a str>,
    tiktok: Option<&'a str>,
    facebook: Option<&'a str>,
}

/// The profile photo in the legacy wire format.
#[derive(Debug, Serialize)]
pub struct LegacyPhoto<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    url: &'a str,
    #[serde(rename = "type")]
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
