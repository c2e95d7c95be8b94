//! The legacy envelope (SPEC §3), on every response under `/api/`:
//! `{"isSuccess","statusCode","data","errors","timestamp"}` in that order.
//!
//! Handlers return `Result<Response, ApiError>`. An [`ApiError`] becomes a response that only
//! carries the error in its extensions; [`envelope_layer`], which knows the request's language
//! and zone, writes the body. Responses that axum or a layer produced on its own (405, an
//! unknown route, a rejected body) are rewritten by status, so no exit skips the envelope.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::context::RequestContext;
use crate::error::{AppError, ErrorKind};

/// An error on its way to becoming an envelope.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError(error.into())
    }
}

/// The error a response stands for, left for [`envelope_layer`] to render.
#[derive(Debug, Clone)]
struct PendingError(Arc<AppError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.0.kind().status().into_response();
        response
            .extensions_mut()
            .insert(PendingError(Arc::new(self.0)));
        response
    }
}

/// The error a bare status produced outside our handlers stands for.
fn error_for_status(status: StatusCode) -> AppError {
    match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        StatusCode::TOO_MANY_REQUESTS => AppError::TooManyRequests,
        StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::REQUEST_TIMEOUT
        | StatusCode::GATEWAY_TIMEOUT => AppError::Unavailable(format!("{status}")),
        StatusCode::UNAUTHORIZED => AppError::Unauthenticated(crate::i18n::MessageId::TokenMissing),
        s if s.is_client_error() => AppError::Validation(Vec::new()),
        _ => AppError::internal(anyhow::anyhow!("unexpected status {status}")),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    is_success: bool,
    status_code: u16,
    data: Option<&'a RawValue>,
    errors: &'a [String],
    timestamp: String,
}

/// A success envelope around already-serialized `data`.
pub fn success(ctx: &RequestContext, status: StatusCode, data: &RawValue) -> Response {
    let body = Envelope {
        is_success: true,
        status_code: status.as_u16(),
        data: Some(data),
        errors: &[],
        timestamp: ctx.now(),
    };
    json_response(status, &body, data.get().len() + ENVELOPE_BYTES)
}

/// How many headers a response under `/api` carries at most.
const RESPONSE_HEADERS: usize = 12;

/// About what the envelope adds around `data`, so that its buffer is allocated once.
const ENVELOPE_BYTES: usize = 128;

/// The envelope of `error` in the request's language and zone.
pub fn failure(ctx: &RequestContext, error: &AppError) -> Response {
    error.log();
    let status = error.kind().status();
    let body = Envelope {
        is_success: false,
        status_code: status.as_u16(),
        data: None,
        errors: &error.messages(ctx.lang),
        timestamp: ctx.now(),
    };
    let mut response = json_response(status, &body, 4 * ENVELOPE_BYTES);
    if matches!(
        error.kind(),
        ErrorKind::Unavailable | ErrorKind::TooManyRequests
    ) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if error.kind() == ErrorKind::Unauthenticated {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn json_response(status: StatusCode, body: &impl Serialize, capacity: usize) -> Response {
    let mut bytes = Vec::with_capacity(capacity);
    // Serializing our own structs of strings and raw JSON cannot fail.
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes.clear();
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    // Room for every header an answer under `/api` gets (type, tag, caching, language, zone,
    // request id, rate limits), so the map is allocated once.
    response.headers_mut().reserve(RESPONSE_HEADERS);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Middleware for everything under `/api/` (the API's routes and its unknown paths, see
/// `app::router_with_api`): rejects bad headers, bounds the request's time (`time_limit`: a 503
/// after it), turns panics into 500s, and renders every error as the envelope.
pub async fn envelope_layer(
    State(time_limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let Some(ctx) = request.extensions().get::<Arc<RequestContext>>().cloned() else {
        return next.run(request).await;
    };
    if !ctx.header_problems.is_empty() {
        return failure(&ctx, &AppError::Validation(ctx.header_problems.clone()));
    }
    let run = AssertUnwindSafe(next.run(request)).catch_unwind();
    let Some(outcome) = crate::timeout::within(time_limit, run).await else {
        let error = AppError::Unavailable("the request took too long".to_owned());
        return failure(&ctx, &error);
    };
    let response = match outcome {
        Ok(response) => response,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            return failure(
                &ctx,
                &AppError::internal(anyhow::anyhow!("panic: {detail}")),
            );
        }
    };
    finish(&ctx, response)
}

/// Middleware for the API's own documents under `/api/` (`/api/openapi.json`, `/api/docs`), which
/// are served as they are: successes pass untouched and request headers are not judged, but an
/// error (a wrong method, say) still leaves as the envelope.
pub async fn error_envelope_layer(request: Request, next: Next) -> Response {
    let Some(ctx) = request.extensions().get::<Arc<RequestContext>>().cloned() else {
        return next.run(request).await;
    };
    let response = next.run(request).await;
    finish(&ctx, response)
}

fn finish(ctx: &RequestContext, mut response: Response) -> Response {
    let error = match response.extensions_mut().remove::<PendingError>() {
        Some(PendingError(error)) => error,
        None if response.status().is_client_error() || response.status().is_server_error() => {
            Arc::new(error_for_status(response.status()))
        }
        None => return response,
    };
    let mut rendered = failure(ctx, &error);
    // Keep what the original response said beyond its body (`Allow` on a 405, for one).
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered
                .headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
    }
    rendered
}
