//! The GraphQL API (SPEC §6): one schema built by [`schema`] for the server, the tests and
//! `export-schema`, and the HTTP handler that runs it with the request's context and viewer.

mod document;
pub mod documents;
pub mod error;
pub mod follows;
pub mod graphiql;
pub mod http;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;
pub mod ws;

use std::sync::Arc;

use ::http::{HeaderMap, HeaderValue, StatusCode, header};
use async_graphql::Schema;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::config::GraphqlLimits;
use crate::context::{Ctx, IfNoneMatch, RequestContext};
use crate::error::{AppError, FieldError};
use crate::i18n::{Message, MessageId};
use crate::profiles::service;
use crate::profiles::view::etag_of;
use crate::state::AppState;
use documents::Persisted;
use http::ResponseType;
use loaders::Loaders;
use mutation::MutationRoot;
use query::QueryRoot;
use subscription::SubscriptionRoot;

/// The schema type.
pub type ApiSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with the configured limits.
pub fn schema(limits: &GraphqlLimits) -> ApiSchema {
    let mut builder = Schema::build(QueryRoot, MutationRoot::default(), SubscriptionRoot)
        .extension(documents::ValidationCache)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL of the schema as served (what `schema.graphql` holds).
pub fn sdl() -> String {
    schema(&GraphqlLimits::default()).sdl()
}

/// `/graphql`: POST and GET for operations, WebSocket for subscriptions ([`ws`]), GraphiQL for
/// browsers (with its assets under `/graphql/assets/`).
pub fn routes(schema: ApiSchema) -> Router<AppState> {
    let executor = Executor {
        schema,
        documents: Arc::new(documents::DocumentCache::default()),
        live: Arc::default(),
    };
    graphiql::asset_routes(Router::new())
        .route("/graphql", get(get_graphql).post(post_graphql))
        .layer(Extension(executor))
        .layer(Extension(Arc::new(ws::Connections::default())))
}

/// What runs operations: the schema, and the documents it has parsed before.
#[derive(Clone)]
pub struct Executor {
    schema: ApiSchema,
    documents: Arc<documents::DocumentCache>,
    /// The schema subscriptions run on over WebSocket, built with the first.
    live: Arc<std::sync::OnceLock<subscription::LiveSchema>>,
}

async fn get_graphql(
    State(state): State<AppState>,
    Extension(executor): Extension<Executor>,
    Extension(connections): Extension<Arc<ws::Connections>>,
    Ctx(ctx): Ctx,
    request: Request,
) -> Response {
    if ws::is_upgrade(request.headers()) {
        let (parts, _) = request.into_parts();
        return ws::upgrade(state, executor, connections, &ctx, parts).await;
    }
    if wants_html(request.headers()) {
        return graphiql::page();
    }
    let media = ResponseType::negotiate(request.headers());
    if let Some(response) = header_problems(&ctx, media) {
        return response;
    }
    let if_none_match = IfNoneMatch::from_headers(request.headers());
    let max_bytes = state.config().graphql.max_body_bytes;
    let operation = match http::read_get(request.uri(), max_bytes) {
        Ok(operation) => operation,
        Err(rejection) => return request_error(&ctx, media, rejection.status, &rejection.error),
    };
    let response = execute(&state, &executor, &ctx, media, Method::Get, operation).await;
    conditional(&if_none_match, response).await
}

async fn post_graphql(
    State(state): State<AppState>,
    Extension(executor): Extension<Executor>,
    Ctx(ctx): Ctx,
    request: Request,
) -> Response {
    let media = ResponseType::negotiate(request.headers());
    if let Some(response) = header_problems(&ctx, media) {
        return response;
    }
    let (parts, body) = request.into_parts();
    let max_bytes = state.config().graphql.max_body_bytes;
    match http::read_post(&parts.headers, body, max_bytes).await {
        Ok(operation) => execute(&state, &executor, &ctx, media, Method::Post, operation).await,
        Err(rejection) => request_error(&ctx, media, rejection.status, &rejection.error),
    }
}

/// The 400 for bad request-context headers (SPEC §2), which win over everything else.
fn header_problems(ctx: &RequestContext, media: ResponseType) -> Option<Response> {
    (!ctx.header_problems.is_empty()).then(|| {
        let error = AppError::Validation(ctx.header_problems.clone());
        request_error(ctx, media, StatusCode::BAD_REQUEST, &error)
    })
}

/// How an operation came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// A GET: queries only, so that following a link never changes data.
    Get,
    /// A POST.
    Post,
}

async fn execute(
    state: &AppState,
    executor: &Executor,
    ctx: &Arc<RequestContext>,
    media: ResponseType,
    method: Method,
    request: async_graphql::Request,
) -> Response {
    let mut request = request;
    match executor
        .documents
        .persisted(&request.extensions, &request.query)
    {
        Persisted::No => {}
        Persisted::Text(text) => request.query = text,
        Persisted::NotFound => return persisted_query_not_found(ctx, media),
        Persisted::Invalid(reason) => {
            let error = AppError::Validation(vec![
                FieldError::new(
                    "extensions.persistedQuery",
                    MessageId::PersistedQueryInvalid,
                )
                .arg("reason", reason),
            ]);
            return request_error(ctx, media, StatusCode::BAD_REQUEST, &error);
        }
    }
    let operation_name = request.operation_name.clone();
    // A document parsed before is not parsed again; one that does not parse is left for the
    // library to report as it always does.
    let parsed = executor.documents.parsed(&request.query);
    if let Some(parsed) = &parsed {
        request.set_parsed_query(ExecutableDocument::clone(&parsed.document));
        if request.variables.is_empty() {
            request = request.data(documents::Revalidation {
                parsed: parsed.clone(),
                operation: operation_name.clone(),
            });
        }
    }
    let document = parsed.as_ref().map(|p| &*p.document);
    let selected = document.and_then(|d| document::operation(d, operation_name.as_deref()));
    if method == Method::Get && selected.is_some_and(|(_, op)| op.ty == OperationType::Mutation) {
        let mut response = request_error(
            ctx,
            media,
            StatusCode::METHOD_NOT_ALLOWED,
            &AppError::MethodNotAllowed,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let viewer = match service::resolve_viewer(state.db(), &ctx.credentials).await {
        Ok(viewer) => viewer,
        Err(error) => {
            let status = error.kind().status();
            return request_error(ctx, media, status, &error);
        }
    };
    let limits = &state.config().graphql;
    if let Some(document) = document {
        let aliases = document::alias_count(document);
        if aliases > limits.max_aliases {
            // A validation error like the library's own limits, with the same status.
            let error = AppError::Validation(vec![
                FieldError::new("query", MessageId::TooManyAliases)
                    .arg("count", aliases)
                    .arg("max", limits.max_aliases),
            ]);
            return request_error(ctx, media, media.status_before_execution(), &error);
        }
        if let Some((name, operation)) = selected {
            crate::metrics::record_operation(name, document::kind(operation));
        }
    }
    let request = request
        .data(Loaders::new(state, &viewer))
        .data(viewer)
        .data(ctx.clone())
        .data(state.clone());
    let timeout = state.config().http.request_timeout;
    let Some(mut response) =
        crate::timeout::within(timeout, executor.schema.execute(request)).await
    else {
        let error = AppError::Unavailable("the operation took too long".to_owned());
        return request_error(ctx, media, StatusCode::SERVICE_UNAVAILABLE, &error);
    };
    if let (Some(document), Some((_, operation))) = (document, selected) {
        document::reorder(&mut response.data, document, operation);
    }
    // Errors of fields that waited come last; list them in query order, as people read them.
    response
        .errors
        .sort_by_key(|e| e.locations.first().map(|l| (l.line, l.column)));
    for error in &mut response.errors {
        with_default_code(error);
    }
    if http::executed(&response) {
        http::respond(media, StatusCode::OK, response, true)
    } else {
        http::respond(media, media.status_before_execution(), response, false)
    }
}

/// Apollo's answer to a hash it does not know: the client then sends the text with the hash.
/// The message and code are the protocol's (clients match them); `messages` says it in the
/// request's language.
fn persisted_query_not_found(ctx: &RequestContext, media: ResponseType) -> Response {
    let mut error = async_graphql::ServerError::new("PersistedQueryNotFound", None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "PERSISTED_QUERY_NOT_FOUND");
    extensions.set(
        "messages",
        vec![Message::new(MessageId::PersistedQueryNotFound).translate(ctx.lang)],
    );
    error.extensions = Some(extensions);
    http::respond(
        media,
        media.status_before_execution(),
        async_graphql::Response::from_errors(vec![error]),
        false,
    )
}

/// A GET's answer with a strong `ETag` of its body, or a bodiless 304 when the client's
/// `If-None-Match` already names it — for persisted queries over GET, which browsers and CDNs
/// can then revalidate like the REST reads. Only successful answers are tagged.
async fn conditional(if_none_match: &IfNoneMatch, response: Response) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The body is already in memory: a serialized response.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = etag_of(&bytes);
    let not_modified = if_none_match.hits(&etag);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, value);
    }
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    for name in ["accept-language", "authorization", "x-timezone"] {
        parts
            .headers
            .append(header::VARY, HeaderValue::from_static(name));
    }
    if not_modified {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Gives `extensions.code` to an error the library raised itself. Ours all carry one; the
/// library's — a syntax error, an unknown field or operation, a query over the depth or
/// complexity limit, an argument of the wrong type — are all about the document the client
/// sent, hence `BAD_USER_INPUT`. Their messages stay the library's precise English, written for
/// the developer of the query.
pub(crate) fn with_default_code(error: &mut async_graphql::ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", error::code_of(crate::error::ErrorKind::BadRequest));
    }
}

/// An error about the request as a whole (bad headers, bad token, a body too large): no
/// operation ran, so the response has errors without a place in the document and no `data`.
pub(crate) fn request_error(
    ctx: &RequestContext,
    media: ResponseType,
    status: StatusCode,
    error: &AppError,
) -> Response {
    let errors: Vec<async_graphql::ServerError> = error::gql_errors(error, ctx.lang)
        .into_iter()
        .map(|e| {
            let mut error = async_graphql::ServerError::new(e.message, None);
            error.extensions = e.extensions;
            error
        })
        .collect();
    http::respond(
        media,
        status,
        async_graphql::Response::from_errors(errors),
        false,
    )
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}
