//! `PATCH /api/v1/users/profile`: a JSON Merge Patch of the caller's own profile (SPEC §4).

use axum::body::{Body, to_bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::response::Response;
use chrono::Utc;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

use super::envelope::{self, ApiError};
use super::openapi;
use crate::context::Ctx;
use crate::error::{AppError, FieldError};
use crate::i18n::MessageId;
use crate::profiles::service::{self, UpdateOptions};
use crate::profiles::view;
use crate::state::AppState;

/// Largest body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `PATCH /api/v1/users/profile[?dryRun=true]`
#[utoipa::path(
    patch,
    path = "/api/v1/users/profile",
    tag = openapi::PROFILES_TAG,
    operation_id = "updateProfile",
    summary = "Update the caller's own profile",
    description = "A partial update of the authenticated user's profile as a JSON Merge Patch \
        (RFC 7396), with the rules of the GraphQL mutation `updateProfile`. One `UPDATE` sets \
        only the given fields, so two clients patching different fields never lose each other's \
        change; `updatedAt` moves and the response carries the new `ETag`. `If-Match` makes the \
        write conditional.",
    params(openapi::RequestHeaders, openapi::PatchParams),
    request_body(
        description = "The fields to change; absent fields are left as they are.",
        content(
            (openapi::ProfilePatch = "application/merge-patch+json",
                example = json!({"bio": "Streaming every evening", "instagram": null})),
            (openapi::ProfilePatch = "application/json",
                example = json!({"bio": "Streaming every evening", "instagram": null})),
        )
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, response = inline(openapi::ProfilePatched)),
        (status = 400, response = inline(openapi::BadPatch)),
        (status = 401, response = inline(openapi::PatchUnauthorized)),
        (status = 409, response = inline(openapi::UsernameTaken)),
        (status = 412, response = inline(openapi::PreconditionFailed)),
        (status = 413, response = inline(openapi::PayloadTooLarge)),
        (status = 415, response = inline(openapi::UnsupportedMediaType)),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::Unavailable),
    )
)]
pub async fn patch_profile(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    query: Result<Query<PatchQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let dry_run = dry_run(query)?;
    let (parts, body) = request.into_parts();
    check_content_type(&parts.headers)?;
    let if_match = joined(&parts.headers, header::IF_MATCH)?;
    let patch = read_object(body).await?;
    let today = ctx.timezone.date_at(Utc::now());
    let options = UpdateOptions {
        if_match: if_match.as_deref(),
        dry_run,
        today,
    };
    let viewer = service::resolve_viewer(state.db(), &ctx.credentials).await;
    let profile = service::update_profile(state.db(), viewer, &patch, options).await?;
    let view = view::render(&profile, today);
    let mut response = envelope::success(&ctx, StatusCode::OK, &view.json);
    if let Ok(etag) = HeaderValue::from_str(&view.etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The query parameters of a PATCH.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PatchQuery {
    /// `dryRun`: validate and show the result without writing.
    #[serde(rename = "dryRun")]
    dry_run: Option<String>,
}

/// Whether the PATCH is a dry run: `dryRun` alone, empty, `true` or `1` says yes; `false` or `0`
/// (or no `dryRun`) says no; anything else is a 400 naming it.
fn dry_run(query: Result<Query<PatchQuery>, QueryRejection>) -> Result<bool, AppError> {
    let invalid = || AppError::invalid("dryRun", MessageId::FieldWrongTypeBoolean);
    let Query(query) = query.map_err(|_| invalid())?;
    match query.dry_run.as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1" | "") => Ok(true),
        Some(_) => Err(invalid()),
    }
}

/// Only `application/json` and `application/merge-patch+json` (any parameters) are accepted.
fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json" | "application/merge-patch+json") => Ok(()),
        _ => Err(AppError::UnsupportedMediaType),
    }
}

/// All values of a header joined with commas, as HTTP allows; `None` when absent.
fn joined(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<String>, AppError> {
    let mut values = Vec::new();
    for value in headers.get_all(&name) {
        let text = value
            .to_str()
            .map_err(|_| AppError::invalid("If-Match", MessageId::InvalidIfMatch))?;
        values.push(text.trim().to_owned());
    }
    let joined = values.join(", ");
    let well_formed = joined.split(',').map(str::trim).all(|tag| {
        tag == "*"
            || (tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"'))
            || tag.starts_with("W/\"")
    });
    if !values.is_empty() && !well_formed {
        return Err(AppError::invalid("If-Match", MessageId::InvalidIfMatch));
    }
    Ok((!values.is_empty()).then_some(joined))
}

/// Reads the body (at most [`MAX_BODY_BYTES`]) as a JSON object.
async fn read_object(body: Body) -> Result<serde_json::Map<String, Value>, AppError> {
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid("body", MessageId::BodyEmpty));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AppError::invalid("body", MessageId::BodyNotObject)),
        Err(e) => Err(AppError::Validation(vec![
            FieldError::new("body", MessageId::BodyMalformedJson)
                .arg("line", e.line())
                .arg("column", e.column()),
        ])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(value).expect("value"),
            );
            check_content_type(&headers).is_ok()
        };
        assert!(with("application/json"));
        assert!(with("application/json; charset=utf-8"));
        assert!(with("Application/Merge-Patch+JSON"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn dry_run_values() {
        let parse = |query: &str| {
            let uri: http::Uri = format!("/?{query}").parse().expect("uri");
            dry_run(Query::try_from_uri(&uri))
        };
        assert_eq!(parse("").ok(), Some(false));
        assert_eq!(parse("dryRun=true").ok(), Some(true));
        assert_eq!(parse("a=b&dryRun").ok(), Some(true));
        assert_eq!(parse("dryRun=false").ok(), Some(false));
        assert!(parse("dryRun=maybe").is_err());
    }
}
