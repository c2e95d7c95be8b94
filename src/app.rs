//! The HTTP application: the router that serves REST, GraphQL and the operational endpoints,
//! and the middleware that builds each request's context.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::request::Parts;
use http::{HeaderName, HeaderValue};

use crate::context::{self, RequestContext};
use crate::error::AppError;
use crate::rest::envelope;
use crate::state::AppState;
use crate::{graphql, ops, rest};

/// Builds the application router; tests drive exactly what `serve` serves.
pub fn router(state: AppState, schema: graphql::ApiSchema) -> Router {
    let api = rest::routes()
        .fallback(not_found)
        .layer(middleware::from_fn(envelope::envelope_layer));
    Router::new()
        .nest("/api", api)
        // The API's own documents, outside the envelope (their errors are still enveloped).
        .merge(rest::docs::routes())
        .merge(graphql::routes(schema))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), context_layer))
        .with_state(state)
}

async fn not_found(Ctx(ctx): Ctx) -> Response {
    envelope::failure(&ctx, &AppError::NotFound)
}

/// The request's context, built once by [`context_layer`].
#[derive(Debug, Clone)]
pub struct Ctx(pub Arc<RequestContext>);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<RequestContext>>()
            .cloned()
            .map(Ctx)
            .ok_or_else(|| http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// Reads the request context from the headers, runs the request inside a span that carries it,
/// and says on the response which language, zone and request id were used.
async fn context_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ctx = Arc::new(RequestContext::from_headers(
        request.headers(),
        state.keys(),
    ));
    request.extensions_mut().insert(ctx.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %ctx.request_id,
        method = %request.method(),
        path = %request.uri().path(),
        platform = ctx.platform.as_str(),
        app_version = ctx.app_version.as_deref(),
        device = ctx.device_hash(),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    span.record("status", response.status().as_u16());
    span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| tracing::debug!("finished"));

    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_LANGUAGE,
        HeaderValue::from_static(ctx.lang.tag()),
    );
    if let Ok(zone) = HeaderValue::from_str(&ctx.timezone.label()) {
        headers.insert(HeaderName::from_static(context::TIMEZONE), zone);
    }
    if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
        headers.insert(HeaderName::from_static(context::REQUEST_ID), id);
    }
    response
}
