//! `GET /api/v1/users/profile/{id}` and `GET /api/v1/users/profile/username/{username}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderValue, StatusCode, header};
use serde_json::value::RawValue;

use super::envelope::{self, ApiError};
use super::openapi;
use crate::context::{Ctx, IfNoneMatch, RequestContext};
use crate::profiles::ProfileKeys;
use crate::profiles::service;
use crate::profiles::view;
use crate::state::AppState;

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
        openapi::IdPath,
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
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::Unavailable),
    )
)]
pub async fn by_id(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let id = service::user_id(&id, "id")?;
    read(
        &state,
        &ctx,
        &if_none_match,
        ProfileKeys::Ids(std::slice::from_ref(&id)),
    )
    .await
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
        openapi::UsernamePath,
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
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::Unavailable),
    )
)]
pub async fn by_username(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(username): Path<String>,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let key = service::username_key(&username, "username")?;
    read(
        &state,
        &ctx,
        &if_none_match,
        ProfileKeys::Usernames(std::slice::from_ref(&key)),
    )
    .await
}

async fn read(
    state: &AppState,
    ctx: &RequestContext,
    if_none_match: &IfNoneMatch,
    key: ProfileKeys<'_>,
) -> Result<Response, ApiError> {
    let viewer = service::resolve_viewer(state.db(), &ctx.credentials).await?;
    let profile = service::read_profile(state.db(), &viewer, key).await?;
    let today = ctx.timezone.date_at(Utc::now());
    let view = view::render(&profile, today);
    Ok(cacheable(ctx, if_none_match, &view.json, &view.etag))
}

/// A 200 envelope around `data` with its strong `etag`, or a bodiless 304 when the client's
/// `If-None-Match` already names that ETag. Only called once the viewer may see the data.
pub fn cacheable(
    ctx: &RequestContext,
    if_none_match: &IfNoneMatch,
    data: &RawValue,
    etag: &str,
) -> Response {
    let mut response = if if_none_match.hits(etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        envelope::success(ctx, StatusCode::OK, data)
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
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
