//! The HTTP application: the router that serves REST, GraphQL and the operational endpoints,
//! and the middleware that builds each request's context.

use std::sync::Arc;

use axum::Router;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get};
use http::HeaderValue;

use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::context::{self, Ctx, RequestContext};
use crate::error::AppError;
use crate::rate_limit::{self, Decision, RateLimiter, retry_after_seconds};
use crate::rest::envelope;
use crate::state::AppState;
use crate::{graphql, ops, rest};

/// Builds the application router; tests drive exactly what `serve` serves.
pub fn router(state: AppState, schema: graphql::ApiSchema) -> Router {
    router_with_api(state, schema, rest::routes())
}

/// The application router with `api` as the API's routes, full paths under `/api/` (tests add
/// failing routes to see how the envelope reports them).
pub fn router_with_api(
    state: AppState,
    schema: graphql::ApiSchema,
    api: Router<AppState>,
) -> Router {
    // Record from the first request on, not only after the first scrape.
    crate::metrics::handle();
    let http_config = &state.config().http;
    // Merged rather than nested under `/api`: a nest routes every request twice and rewrites
    // its URI, which the cached read, answered in microseconds, felt.
    let api = api
        // Every other path under `/api` is unknown to the API, in its envelope.
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .route("/api/{*unknown}", any(not_found))
        .layer(middleware::from_fn_with_state(
            http_config.request_timeout,
            envelope::envelope_layer,
        ));
    let cors = cors_layer(&http_config.cors_origins);
    let router = Router::new()
        .merge(api)
        // The API's own documents, outside the envelope (their errors are still enveloped).
        .merge(rest::docs::routes())
        .merge(graphql::routes(schema))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(crate::metrics::render))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), context_layer))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// CORS for the configured browser origins (`*` for any); none configured, no CORS headers.
fn cors_layer(origins: &str) -> Option<CorsLayer> {
    use http::{Method, header};
    let origins: Vec<&str> = origins
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::ACCEPT_LANGUAGE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                context::TIMEZONE,
                context::PLATFORM,
                context::APP_VERSION,
                context::DEVICE_ID,
                context::REQUEST_ID,
            ])
            .expose_headers([
                header::ETAG,
                header::CONTENT_LANGUAGE,
                header::RETRY_AFTER,
                rate_limit::RATELIMIT_POLICY,
                rate_limit::RATELIMIT,
                context::TIMEZONE,
                context::REQUEST_ID,
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn not_found(Ctx(ctx): Ctx) -> Response {
    envelope::failure(&ctx, &AppError::NotFound)
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
    let limit = match limiter_for(&state, &request) {
        Some((limiter, peer)) => Some((limiter, limiter.check(&ctx, peer).await)),
        None => None,
    };
    if let Some((limiter, decision)) = &limit
        && !decision.admitted
    {
        let mut response = too_many_requests(&ctx, &request, decision);
        limiter.add_headers(decision, response.headers_mut());
        return with_context_headers(&ctx, response);
    }
    // The route's pattern, not the raw path: bounded label values, no ids in the metrics.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %ctx.request_id,
        method = %method,
        route = %route,
        path = %request.uri().path(),
        platform = ctx.platform.as_str(),
        app_version = ctx.app_version.as_deref(),
        device = ctx.device_hash(),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    let latency = started.elapsed();
    span.record("status", response.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    span.in_scope(|| tracing::info!("request finished"));
    crate::metrics::record_request(
        route,
        &method,
        response.status().as_u16(),
        ctx.platform.as_str(),
        latency,
    );
    if let Some((limiter, decision)) = &limit {
        limiter.add_headers(decision, response.headers_mut());
    }
    with_context_headers(&ctx, response)
}

/// The limiter and the client's address when the limiter applies to `request`: the API and
/// GraphQL, never the operational endpoints.
fn limiter_for<'s>(
    state: &'s AppState,
    request: &Request,
) -> Option<(&'s RateLimiter, Option<SocketAddr>)> {
    let path = request.uri().path();
    if !(path == "/graphql" || path.starts_with("/api/")) {
        return None;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    Some((state.rate_limiter()?, peer))
}

/// The 429 answer, in GraphQL's error format or the API's envelope, with `Retry-After`.
fn too_many_requests(ctx: &RequestContext, request: &Request, decision: &Decision) -> Response {
    let mut response = if request.uri().path() == "/graphql" {
        graphql::request_error(
            ctx,
            graphql::http::ResponseType::negotiate(request.headers()),
            http::StatusCode::TOO_MANY_REQUESTS,
            &AppError::TooManyRequests,
        )
    } else {
        envelope::failure(ctx, &AppError::TooManyRequests)
    };
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        HeaderValue::from(retry_after_seconds(decision.retry_after)),
    );
    response
}

/// Says which language, zone and request id a response used.
fn with_context_headers(ctx: &RequestContext, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_LANGUAGE,
        HeaderValue::from_static(ctx.lang.tag()),
    );
    // Zone names are static text: no copy for them.
    let zone = match ctx.timezone.label() {
        std::borrow::Cow::Borrowed(label) => Some(HeaderValue::from_static(label)),
        std::borrow::Cow::Owned(label) => HeaderValue::from_str(&label).ok(),
    };
    if let Some(zone) = zone {
        headers.insert(context::TIMEZONE, zone);
    }
    if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
        headers.insert(context::REQUEST_ID, id);
    }
    response
}
