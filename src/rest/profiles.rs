//! `GET /api/v1/users/profile/{id}` and `GET /api/v1/users/profile/username/{username}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::value::RawValue;

use super::envelope::{self, ApiError};
use crate::app::Ctx;
use crate::context::RequestContext;
use crate::error::AppError;
use crate::i18n::MessageId;
use crate::profiles::service::{self, Lookup};
use crate::profiles::view::{ProfileView, etag_of, if_none_match_hits};
use crate::profiles::{ObjectId, UsernameKey};
use crate::state::AppState;

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
    let today = ctx.timezone.date_at(Utc::now());
    Ok(cacheable(
        ctx,
        headers,
        ProfileView::new(&profile, counts, today).to_json(),
    ))
}

/// A 200 envelope around `data` with its strong ETag, or a bodiless 304 when the client's
/// `If-None-Match` already names that ETag. Only called once the viewer may see the data.
pub fn cacheable(ctx: &RequestContext, request_headers: &HeaderMap, data: String) -> Response {
    let etag = etag_of(data.as_bytes());
    let not_modified = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| if_none_match_hits(v, &etag));
    let mut response = if not_modified {
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
