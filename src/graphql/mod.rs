//! The GraphQL API (SPEC §6): one schema built by [`schema`] for the server, the tests and
//! `export-schema`, and the HTTP handler that runs it with the request's context and viewer.

mod document;
pub mod error;
pub mod follows;
pub mod graphiql;
pub mod http;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod scalars;
pub mod types;

use std::sync::Arc;

use ::http::{HeaderMap, HeaderValue, StatusCode, header};
use async_graphql::parser::types::OperationType;
use async_graphql::{EmptySubscription, Schema};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

use crate::app::Ctx;
use crate::config::GraphqlLimits;
use crate::context::RequestContext;
use crate::error::AppError;
use crate::profiles::service;
use crate::state::AppState;
use http::ResponseType;
use loaders::Loaders;
use mutation::MutationRoot;
use query::QueryRoot;

/// The schema type.
pub type ApiSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Builds the schema with the configured limits.
pub fn schema(limits: &GraphqlLimits) -> ApiSchema {
    let mut builder = Schema::build(QueryRoot, MutationRoot::default(), EmptySubscription)
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

/// `/graphql`: POST and GET for operations, GraphiQL for browsers (with its assets under
/// `/graphql/assets/`).
pub fn routes(schema: ApiSchema) -> Router<AppState> {
    graphiql::asset_routes(Router::new())
        .route("/graphql", get(get_graphql).post(post_graphql))
        .layer(Extension(schema))
}

async fn get_graphql(
    State(state): State<AppState>,
    Extension(schema): Extension<ApiSchema>,
    Ctx(ctx): Ctx,
    request: Request,
) -> Response {
    if wants_html(request.headers()) {
        return graphiql::page();
    }
    let media = ResponseType::negotiate(request.headers());
    if let Some(response) = header_problems(&ctx, media) {
        return response;
    }
    let max_bytes = state.config().graphql.max_body_bytes;
    let mut operation = match http::read_get(request.uri(), max_bytes) {
        Ok(operation) => operation,
        Err(rejection) => return request_error(&ctx, media, rejection.status, &rejection.error),
    };
    // GraphQL over HTTP: GET runs queries only, so that following a link never changes data.
    let operation_name = operation.operation_name.clone();
    let is_mutation = operation.parsed_query().is_ok_and(|doc| {
        document::operation(doc, operation_name.as_deref())
            .is_some_and(|(_, op)| op.ty == OperationType::Mutation)
    });
    if is_mutation {
        let mut response = request_error(
            &ctx,
            media,
            StatusCode::METHOD_NOT_ALLOWED,
            &AppError::MethodNotAllowed,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &schema, &ctx, media, operation).await
}

async fn post_graphql(
    State(state): State<AppState>,
    Extension(schema): Extension<ApiSchema>,
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
        Ok(operation) => execute(&state, &schema, &ctx, media, operation).await,
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

async fn execute(
    state: &AppState,
    schema: &ApiSchema,
    ctx: &Arc<RequestContext>,
    media: ResponseType,
    request: async_graphql::Request,
) -> Response {
    let viewer = match service::resolve_viewer(state.db(), &ctx.credentials).await {
        Ok(viewer) => viewer,
        Err(error) => {
            let status = crate::rest::envelope::status_of(error.kind());
            return request_error(ctx, media, status, &error);
        }
    };
    let mut request = request;
    let document = request.parsed_query().ok().cloned();
    let operation_name = request.operation_name.clone();
    let limits = &state.config().graphql;
    if let Some(document) = &document {
        let aliases = document::alias_count(document);
        if aliases > limits.max_aliases {
            // A validation error like the library's own limits, with the same status.
            let error = AppError::Validation(vec![
                crate::error::FieldError::new("query", crate::i18n::MessageId::TooManyAliases)
                    .arg("count", aliases)
                    .arg("max", limits.max_aliases),
            ]);
            return request_error(ctx, media, media.status_before_execution(), &error);
        }
        if let Some((name, operation)) = document::operation(document, operation_name.as_deref()) {
            crate::metrics::record_operation(name, document::kind(operation));
        }
    }
    let request = request
        .data(Loaders::new(state.db(), &viewer))
        .data(viewer)
        .data(ctx.clone())
        .data(state.clone());
    let timeout = state.config().http.request_timeout;
    let Ok(mut response) = tokio::time::timeout(timeout, schema.execute(request)).await else {
        let error = AppError::Unavailable("the operation took too long".to_owned());
        return request_error(ctx, media, StatusCode::SERVICE_UNAVAILABLE, &error);
    };
    if let Some(document) = &document
        && let Some((_, operation)) = document::operation(document, operation_name.as_deref())
    {
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

/// Gives `extensions.code` to an error the library raised itself. Ours all carry one; the
/// library's — a syntax error, an unknown field or operation, a query over the depth or
/// complexity limit, an argument of the wrong type — are all about the document the client
/// sent, hence `BAD_USER_INPUT`. Their messages stay the library's precise English, written for
/// the developer of the query.
fn with_default_code(error: &mut async_graphql::ServerError) {
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
