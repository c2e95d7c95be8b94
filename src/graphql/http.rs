//! GraphQL over HTTP, as the GraphQL-over-HTTP specification has it (and the `graphql-http`
//! package's audit checks it): reading an operation from a GET query string or a POST body
//! within the size limit, choosing the response's media type from `Accept`, and writing the
//! response with the status that goes with that media type.
//!
//! Two media types answer: `application/graphql-response+json` when the client names it (and
//! does not prefer `application/json`), `application/json` otherwise — for `*/*`, for no
//! `Accept`, and for an `Accept` naming only types we do not serve, which the spec lets a server
//! ignore rather than answer 406. They differ for a request that fails before execution (a
//! document that does not parse or validate, variables that do not coerce): `application/json`
//! keeps the 200 that legacy clients expect, `application/graphql-response+json` says 400. Either
//! way such a response has no `data` key, since no operation ran.

use std::collections::BTreeMap;

use async_graphql::{ServerError, Value, Variables};
use axum::body::Body;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use http_body_util::LengthLimitError;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};
use crate::i18n::MessageId;

/// `application/json`.
const JSON: &str = "application/json";
/// `application/graphql-response+json`.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/json`, the default.
    Json,
    /// `application/graphql-response+json`.
    GraphqlResponseJson,
}

impl ResponseType {
    /// The type `Accept` asks for: `application/graphql-response+json` when it is named with a
    /// quality at least that of `application/json` (as the most specific range matching it gives
    /// it); `application/json` in every other case.
    pub fn negotiate(headers: &HeaderMap) -> Self {
        // (quality, specificity) of the most specific range matching each type.
        let mut graphql_response: Option<(f32, u8)> = None;
        let mut json: Option<(f32, u8)> = None;
        let ranges = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','));
        for range in ranges {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, q)| q.trim().parse::<f32>().ok());
            let Some(quality) = quality else { continue };
            let specificity = match media.as_str() {
                "*/*" => 0,
                "application/*" => 1,
                _ => 2,
            };
            let more_specific = |best: Option<(f32, u8)>| best.is_none_or(|(_, s)| specificity > s);
            if (media == GRAPHQL_RESPONSE_JSON || specificity < 2)
                && more_specific(graphql_response)
            {
                graphql_response = Some((quality, specificity));
            }
            if (media == JSON || specificity < 2) && more_specific(json) {
                json = Some((quality, specificity));
            }
        }
        match (graphql_response, json) {
            // Named, acceptable, and not less wanted than application/json.
            (Some((q, 2)), json) if q > 0.0 && json.is_none_or(|(j, _)| q >= j) => {
                ResponseType::GraphqlResponseJson
            }
            _ => ResponseType::Json,
        }
    }

    /// The `Content-Type` of the response.
    fn content_type(self) -> &'static str {
        match self {
            ResponseType::Json => JSON,
            ResponseType::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
        }
    }

    /// The status of a response to a request that failed before execution.
    pub fn status_before_execution(self) -> StatusCode {
        match self {
            ResponseType::Json => StatusCode::OK,
            ResponseType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        }
    }
}

/// A request that could not be read: the error to answer and its status.
#[derive(Debug)]
pub struct Rejection {
    /// 400, 413, 414 or 415.
    pub status: StatusCode,
    /// What to tell the client.
    pub error: AppError,
}

impl Rejection {
    fn malformed(field: &str, id: MessageId) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: AppError::invalid(field, id),
        }
    }

    fn too_large() -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: AppError::PayloadTooLarge,
        }
    }
}

/// The parameters of a POST body. `null` is the same as absent for each; anything but the
/// types below is a 400.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Map<String, serde_json::Value>>,
    extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The parameters of a GET query string; `variables` and `extensions` are JSON text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// Reads the operation of a POST: `Content-Type: application/json` (UTF-8, the only charset
/// JSON has), at most `max_bytes` of body, chunked or not, and the parameters of the spec.
pub async fn read_post(
    headers: &HeaderMap,
    body: Body,
    max_bytes: usize,
) -> Result<async_graphql::Request, Rejection> {
    if !is_json(headers) {
        return Err(Rejection {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            error: AppError::UnsupportedMediaType,
        });
    }
    // A declared length over the limit is refused before a byte is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_bytes as u64) {
        return Err(Rejection::too_large());
    }
    let bytes = match axum::body::to_bytes(body, max_bytes).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let over_limit = std::error::Error::source(&error)
                .is_some_and(<dyn std::error::Error>::is::<LengthLimitError>);
            if over_limit {
                return Err(Rejection::too_large());
            }
            // The client stopped sending half-way; it will hardly read the answer.
            tracing::debug!(%error, "GraphQL body could not be read");
            return Err(Rejection::malformed(
                "body",
                MessageId::GraphqlRequestMalformed,
            ));
        }
    };
    let params: PostParams = serde_json::from_slice(&bytes).map_err(|error| {
        tracing::debug!(%error, "malformed GraphQL request body");
        Rejection::malformed("body", MessageId::GraphqlRequestMalformed)
    })?;
    operation(
        params.query,
        params.operation_name,
        params.variables,
        params.extensions,
    )
    .ok_or_else(|| Rejection::malformed("body", MessageId::GraphqlRequestMalformed))
}

/// Reads the operation of a GET from its query string, which is bounded like a POST body
/// (414 beyond `max_bytes`).
pub fn read_get(uri: &Uri, max_bytes: usize) -> Result<async_graphql::Request, Rejection> {
    if uri.query().map_or(0, str::len) > max_bytes {
        return Err(Rejection {
            status: StatusCode::URI_TOO_LONG,
            error: AppError::Validation(vec![
                FieldError::new("query", MessageId::GraphqlQueryStringTooLong)
                    .arg("max", max_bytes),
            ]),
        });
    }
    let malformed = || Rejection::malformed("query", MessageId::GraphqlGetMalformed);
    let Query(params) = Query::<GetParams>::try_from_uri(uri).map_err(|_| malformed())?;
    let object = |text: Option<String>| match text.as_deref().map(serde_json::from_str) {
        None | Some(Ok(serde_json::Value::Null)) => Ok(None),
        Some(Ok(serde_json::Value::Object(map))) => Ok(Some(map)),
        Some(_) => Err(malformed()),
    };
    let variables = object(params.variables)?;
    let extensions = object(params.extensions)?;
    operation(params.query, params.operation_name, variables, extensions).ok_or_else(malformed)
}

/// `Content-Type: application/json`, with no charset or UTF-8.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(JSON)
        && parts.all(|param| match param.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                let value = value.trim().trim_matches('"');
                value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
            }
            _ => true,
        })
}

/// The request of the parameters, if they make one: a query that is not blank (or, for a
/// persisted query, none at all: its hash stands for it), variables and extensions that are
/// JSON objects.
pub(crate) fn operation(
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Map<String, serde_json::Value>>,
    extensions: Option<serde_json::Map<String, serde_json::Value>>,
) -> Option<async_graphql::Request> {
    let persisted = extensions
        .as_ref()
        .is_some_and(|e| e.contains_key("persistedQuery"));
    let query = match query.filter(|q| !q.trim().is_empty()) {
        Some(query) => query,
        None if persisted => String::new(),
        None => return None,
    };
    let mut request = async_graphql::Request::new(query);
    request.operation_name = operation_name;
    if let Some(variables) = variables {
        request.variables = Variables::from_json(serde_json::Value::Object(variables));
    }
    if let Some(extensions) = extensions {
        request.extensions = serde_json::from_value(serde_json::Value::Object(extensions)).ok()?;
    }
    Some(request)
}

/// Whether `response` comes from an operation that ran. One that did not (the document did
/// not parse or validate, the variables did not coerce, the operation is unknown) has no data
/// and only errors without a path: every error raised while executing has the path of its
/// field, and a `null` at the root only comes with such an error.
pub fn executed(response: &async_graphql::Response) -> bool {
    !(response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty()))
}

/// The body of a response: `data` only when the operation ran, then `extensions` and `errors`
/// when there are any (async-graphql's order).
#[derive(Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
}

/// Writes `response` as `media` with `status`; `data` is left out when `with_data` is false.
/// Positions are 1-based, so a location at line or column 0 (a library error without a place
/// in the document) is dropped rather than sent.
pub fn respond(
    media: ResponseType,
    status: StatusCode,
    mut response: async_graphql::Response,
    with_data: bool,
) -> Response {
    for error in &mut response.errors {
        error.locations.retain(|pos| pos.line > 0 && pos.column > 0);
    }
    let body = ResponseBody {
        data: with_data.then_some(&response.data),
        extensions: &response.extensions,
        errors: &response.errors,
    };
    // Values and errors of async-graphql always serialize.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut http_response = (status, bytes).into_response();
    let headers = http_response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    headers.append(header::VARY, HeaderValue::from_static("accept"));
    http_response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: Option<&str>) -> ResponseType {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("value"));
        }
        ResponseType::negotiate(&headers)
    }

    #[test]
    fn negotiation() {
        use ResponseType::{GraphqlResponseJson as Gr, Json};
        assert_eq!(accept(None), Json);
        assert_eq!(accept(Some("*/*")), Json);
        assert_eq!(accept(Some("application/*")), Json);
        assert_eq!(accept(Some("application/json")), Json);
        assert_eq!(accept(Some("text/html")), Json);
        assert_eq!(accept(Some("application/graphql-response+json")), Gr);
        assert_eq!(
            accept(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Gr
        );
        assert_eq!(
            accept(Some("application/json, application/graphql-response+json")),
            Gr
        );
        assert_eq!(
            accept(Some(
                "Application/GraphQL-Response+JSON; charset=utf-8, */*;q=0.1"
            )),
            Gr
        );
        assert_eq!(
            accept(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Json
        );
        assert_eq!(accept(Some("application/graphql-response+json;q=0")), Json);
        assert_eq!(accept(Some("application/graphql-response+json;q=x")), Json);
    }

    #[test]
    fn content_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(value).expect("value"),
            );
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=UTF-8"));
        assert!(with("application/json;charset=\"utf-8\""));
        assert!(!with("application/json; charset=latin1"));
        assert!(!with("text/plain"));
        assert!(!with("application/graphql"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn get_parameters() {
        let uri = |q: &str| format!("/graphql?{q}").parse::<Uri>().expect("uri");
        let request = read_get(
            &uri("query=%7Ba%7D&operationName=A&variables=%7B%22x%22%3A1%7D"),
            1000,
        )
        .expect("a request");
        assert_eq!(request.query, "{a}");
        assert_eq!(request.operation_name.as_deref(), Some("A"));
        for bad in [
            "operationName=A",
            "query=%20",
            "query=%7Ba%7D&variables=%5B%5D",
            "query=%7Ba%7D&variables=nope",
            "query=%7Ba%7D&extensions=1",
        ] {
            let rejection = read_get(&uri(bad), 1000).expect_err(bad);
            assert_eq!(rejection.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let long = read_get(&uri("query=%7Ba%7D"), 5).expect_err("too long");
        assert_eq!(long.status, StatusCode::URI_TOO_LONG);
    }
}
