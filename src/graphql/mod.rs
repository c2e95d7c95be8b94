//! The GraphQL API (SPEC §6): one schema built by [`schema`] for the server, the tests and
//! `export-schema`, and the HTTP handler that runs it with the request's context and viewer.

mod document;
pub mod error;
pub mod follows;
pub mod graphiql;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod scalars;
pub mod types;

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{EmptySubscription, Schema};
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::{HeaderMap, StatusCode, header};

use crate::config::GraphqlLimits;
use crate::context::Ctx;
use crate::context::RequestContext;
use crate::error::AppError;
use crate::profiles::service;
use crate::state::AppState;
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
    let request =
        match <GraphQLRequest as FromRequest<AppState>>::from_request(request, &state).await {
            Ok(request) => request.into_inner(),
            Err(rejection) => return malformed(&ctx, &rejection),
        };
    let mut request = request;
    // GraphQL over HTTP: GET is for queries only, so a link can never change data.
    let is_mutation = request.parsed_query().is_ok_and(|doc| {
        doc.operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation)
    });
    if is_mutation {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "mutations must be sent with POST",
        )
            .into_response();
    }
    execute(&state, &schema, &ctx, request).await
}

async fn post_graphql(
    State(state): State<AppState>,
    Extension(schema): Extension<ApiSchema>,
    Ctx(ctx): Ctx,
    request: Result<GraphQLRequest, GraphQLRejection>,
) -> Response {
    match request {
        Ok(request) => execute(&state, &schema, &ctx, request.into_inner()).await,
        Err(rejection) => malformed(&ctx, &rejection),
    }
}

/// A request that is not a GraphQL request at all (malformed JSON, no query): a GraphQL error
/// response in the request's language, not the library's plain text.
fn malformed(ctx: &RequestContext, rejection: &GraphQLRejection) -> Response {
    tracing::debug!(rejection = %rejection.0, "malformed GraphQL request");
    let error = AppError::invalid("body", crate::i18n::MessageId::GraphqlRequestMalformed);
    request_error(ctx, StatusCode::BAD_REQUEST, &error)
}

async fn execute(
    state: &AppState,
    schema: &ApiSchema,
    ctx: &Arc<RequestContext>,
    request: async_graphql::Request,
) -> Response {
    if !ctx.header_problems.is_empty() {
        return request_error(
            ctx,
            StatusCode::BAD_REQUEST,
            &AppError::Validation(ctx.header_problems.clone()),
        );
    }
    let viewer = match service::resolve_viewer(state.db(), &ctx.credentials).await {
        Ok(viewer) => viewer,
        Err(error) => {
            let status = error.kind().status();
            return request_error(ctx, status, &error);
        }
    };
    if request.query.trim().is_empty() {
        let error = AppError::invalid("query", crate::i18n::MessageId::GraphqlRequestMalformed);
        return request_error(ctx, StatusCode::BAD_REQUEST, &error);
    }
    let mut request = request;
    let document = request.parsed_query().ok().cloned();
    let operation_name = request.operation_name.clone();
    let limits = &state.config().graphql;
    if let Some(document) = &document {
        let aliases = document::alias_count(document);
        if aliases > limits.max_aliases {
            let error = AppError::Validation(vec![
                crate::error::FieldError::new("query", crate::i18n::MessageId::TooManyAliases)
                    .arg("count", aliases)
                    .arg("max", limits.max_aliases),
            ]);
            return request_error(ctx, StatusCode::BAD_REQUEST, &error);
        }
        if let Some((name, operation)) = document::operation(document, operation_name.as_deref()) {
            crate::metrics::record_operation(name, document::kind(operation));
        }
    }
    let request = request
        .data(Loaders::new(state, &viewer))
        .data(viewer)
        .data(ctx.clone())
        .data(state.clone());
    let timeout = state.config().http.request_timeout;
    let Ok(mut response) = tokio::time::timeout(timeout, schema.execute(request)).await else {
        let error = AppError::Unavailable("the operation took too long".to_owned());
        return request_error(ctx, StatusCode::SERVICE_UNAVAILABLE, &error);
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
    GraphQLResponse::from(response).into_response()
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

/// An error about the request as a whole (bad headers, bad token): no operation ran.
pub(crate) fn request_error(
    ctx: &RequestContext,
    status: StatusCode,
    error: &AppError,
) -> Response {
    let errors: Vec<async_graphql::ServerError> = error::gql_errors(error, ctx.lang)
        .into_iter()
        .map(|e| e.into_server_error(async_graphql::Pos::default()))
        .collect();
    let body = async_graphql::Response::from_errors(errors);
    (status, GraphQLResponse::from(body)).into_response()
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}
