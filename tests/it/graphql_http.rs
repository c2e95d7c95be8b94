//! GraphQL over HTTP (`src/graphql/http.rs`): media types from `Accept`, the status of requests
//! that never ran under each, POST's content type and parameters, the body limit, and GET.

use axum::body::Body;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, TestResponse, test_config};

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A POST of `body` (as it is) with `accept`, if any.
async fn post(app: &TestApp, body: &str, accept: Option<&str>) -> TestResponse {
    let mut request = app
        .request(Method::POST, "/graphql")
        .header("content-type", JSON)
        .body(body.to_owned());
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await
}

/// Every location of every error is 1-based.
#[track_caller]
fn assert_locations_are_one_based(body: &Value) {
    for error in body["errors"].as_array().into_iter().flatten() {
        for location in error["locations"].as_array().into_iter().flatten() {
            assert!(
                location["line"].as_u64() >= Some(1) && location["column"].as_u64() >= Some(1),
                "{error}"
            );
        }
    }
}

#[tokio::test]
async fn the_media_type_follows_accept() {
    let app = TestApp::new().await;
    for (accept, expected) in [
        (None, JSON),
        (Some("*/*"), JSON),
        (Some("application/*"), JSON),
        (Some(JSON), JSON),
        (Some("text/html"), JSON),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
        (
            Some("application/graphql-response+json;q=0.5, application/json"),
            JSON,
        ),
    ] {
        let response = post(&app, r#"{"query": "{ __typename }"}"#, accept).await;
        assert_eq!(response.status, StatusCode::OK, "{accept:?}");
        assert_eq!(response.header("content-type"), expected, "{accept:?}");
        assert_eq!(response.header("vary"), "accept");
        assert_eq!(response.json(), json!({"data": {"__typename": "Query"}}));
    }
}

#[tokio::test]
async fn a_request_that_never_ran_has_no_data() {
    let app = TestApp::new().await;
    for (what, body) in [
        (
            "a document that does not parse",
            json!({"query": "{ user("}),
        ),
        (
            "a document that does not validate",
            json!({"query": "{ nope }"}),
        ),
        (
            "variables that do not coerce",
            json!({"query": "query($id: ID!) { user(id: $id) { id } }", "variables": {"id": null}}),
        ),
        (
            "an unknown operation",
            json!({"query": "query A { __typename }", "operationName": "B"}),
        ),
    ] {
        // application/graphql-response+json: 400; application/json: 200 (legacy clients).
        for (accept, status) in [
            (GRAPHQL_RESPONSE, StatusCode::BAD_REQUEST),
            (JSON, StatusCode::OK),
        ] {
            let response = post(&app, &body.to_string(), Some(accept)).await;
            assert_eq!(response.status, status, "{what}, {accept}");
            assert_eq!(response.header("content-type"), accept, "{what}");
            let json = response.json();
            assert!(json.get("data").is_none(), "{what}: {json}");
            assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
            assert_locations_are_one_based(&json);
        }
    }
}

#[tokio::test]
async fn a_field_error_keeps_its_data_and_a_200() {
    let app = TestApp::new().await;
    let response = post(
        &app,
        r#"{"query": "{ user(id: \"xyz\") { id } }"}"#,
        Some(GRAPHQL_RESPONSE),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(body["data"], json!({"user": null}));
    assert_eq!(body["errors"][0]["path"], json!(["user"]));
    assert_eq!(
        body["errors"][0]["locations"],
        json!([{"line": 1, "column": 3}])
    );
}

#[tokio::test]
async fn errors_about_the_request_have_no_location() {
    let app = TestApp::new().await;
    for accept in [GRAPHQL_RESPONSE, JSON] {
        let response = app
            .graphql("{ __typename }", json!({}))
            .header("accept", accept)
            .header("x-timezone", "Mars/Olympus")
            .send()
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.header("content-type"), accept);
        let body = response.json();
        assert!(body.get("data").is_none(), "{body}");
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(error["extensions"]["field"], "X-Timezone");
        assert!(error.get("locations").is_none(), "{error}");
    }
}

#[tokio::test]
async fn a_post_must_say_it_is_json() {
    let app = TestApp::new().await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/graphql"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
    ] {
        let mut request = app
            .request(Method::POST, "/graphql")
            .header("accept-language", "tr")
            .body(r#"{"query": "{ __typename }"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await;
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(
            response.json()["errors"],
            json!([{
                "message": "Desteklenmeyen medya türü",
                "extensions": {"code": "BAD_USER_INPUT", "messages": ["Desteklenmeyen medya türü"]}
            }])
        );
    }
    let utf8 = app
        .request(Method::POST, "/graphql")
        .header("content-type", "application/json; charset=UTF-8")
        .body(r#"{"query": "{ __typename }"}"#)
        .send()
        .await;
    assert_eq!(utf8.status, StatusCode::OK);
}

#[tokio::test]
async fn parameters_have_their_types_and_null_is_absent() {
    let app = TestApp::new().await;
    for body in [
        json!({"query": "{ __typename }", "operationName": 1}),
        json!({"query": "{ __typename }", "variables": "{}"}),
        json!({"query": "{ __typename }", "variables": []}),
        json!({"query": "{ __typename }", "extensions": "x"}),
        json!({"query": ["{ __typename }"]}),
        json!({"qeury": "{ __typename }"}),
    ] {
        let response = post(&app, &body.to_string(), None).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        let json = response.json();
        assert!(json.get("data").is_none(), "{json}");
        assert_eq!(json["errors"][0]["extensions"]["field"], "body", "{body}");
    }
    let nulls = json!({
        "query": "{ __typename }", "operationName": null, "variables": null, "extensions": null
    });
    let response = post(&app, &nulls.to_string(), Some(JSON)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"data": {"__typename": "Query"}}));
    let with_extensions = json!({"query": "{ __typename }", "extensions": {"some": "value"}});
    let response = post(&app, &with_extensions.to_string(), Some(JSON)).await;
    assert_eq!(response.json(), json!({"data": {"__typename": "Query"}}));
}

/// A body of exactly `size` bytes: `{ __typename }` padded with spaces inside the query.
fn body_of(size: usize) -> String {
    let head = r#"{"query": "{ __typename "#;
    let tail = r#"}"}"#;
    format!("{head}{}{tail}", " ".repeat(size - head.len() - tail.len()))
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_413_in_the_request_language() {
    let app = TestApp::new().await;
    // The default limit, 256 KiB: a 2 MB body is refused, from its Content-Length.
    let response = app
        .request(Method::POST, "/graphql")
        .header("content-type", JSON)
        .header("accept-language", "tr")
        .body(body_of(2_000_000))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.header("content-type"), JSON);
    assert_eq!(
        response.json(),
        json!({"errors": [{
            "message": "İstek gövdesi çok büyük",
            "extensions": {"code": "BAD_USER_INPUT", "messages": ["İstek gövdesi çok büyük"]}
        }]})
    );
    let at_the_limit = post(&app, &body_of(256 * 1024), None).await;
    assert_eq!(at_the_limit.status, StatusCode::OK, "{}", at_the_limit.text);
}

#[tokio::test]
async fn the_limit_is_configurable_and_holds_for_chunked_bodies() {
    let mut config = test_config();
    config.graphql.max_body_bytes = 1000;
    let app = TestApp::with_config(config).await;
    assert_eq!(
        post(&app, &body_of(1000), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        post(&app, &body_of(1001), None).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Chunked: no Content-Length to refuse up front; the server stops reading at the limit.
    let chunks = |size: usize| {
        let bytes = body_of(size).into_bytes();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            bytes.chunks(100).map(|c| Ok(c.to_vec())).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    };
    for (size, status) in [
        (1000, StatusCode::OK),
        (1001, StatusCode::PAYLOAD_TOO_LARGE),
        (2_000_000, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let response = app
            .request(Method::POST, "/graphql")
            .header("content-type", JSON)
            .body(chunks(size))
            .send()
            .await;
        assert_eq!(response.status, status, "{size} bytes, chunked");
    }
}

#[tokio::test]
async fn get_runs_queries_from_a_bounded_query_string() {
    let mut config = test_config();
    config.graphql.max_body_bytes = 1000;
    let app = TestApp::with_config(config).await;
    let get = |query: String| {
        let app = &app;
        async move { app.get(&format!("/graphql?{query}")).send().await }
    };
    let variables = "query=query%20T(%24n%3A%20String!)%20%7B%20__type(name%3A%20%24n)%20%7B%20name%20%7D%20%7D\
                     &variables=%7B%22n%22%3A%22Query%22%7D";
    let response = get(variables.to_owned()).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.json(),
        json!({"data": {"__type": {"name": "Query"}}})
    );
    // Over the limit: 414, with a GraphQL error saying the limit.
    let long = get(format!("query=%7B{}__typename%7D", "%20".repeat(400))).await;
    assert_eq!(long.status, StatusCode::URI_TOO_LONG);
    assert_eq!(
        long.json()["errors"][0]["message"],
        "The query string must be at most 1000 bytes"
    );
    // No query, or variables that are not a JSON object: 400.
    for bad in ["operationName=A", "query=%7B__typename%7D&variables=%5B%5D"] {
        let response = get(bad.to_owned()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(response.json()["errors"][0]["extensions"]["field"], "query");
    }
}

#[tokio::test]
async fn get_never_runs_a_mutation() {
    let app = TestApp::new().await;
    let mutation = app
        .get("/graphql?query=mutation%20%7B%20unfollow(userId%3A%20%22x%22)%20%7D")
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await;
    assert_eq!(mutation.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.header("allow"), "POST");
    assert_eq!(mutation.header("content-type"), GRAPHQL_RESPONSE);
    assert_eq!(
        mutation.json()["errors"][0]["message"],
        "Method not allowed"
    );
    // A document with a mutation too, but the query selected: it runs.
    let query = app
        .get(
            "/graphql?query=query%20Q%20%7B%20__typename%20%7D%20mutation%20M%20%7B%20unfollow(userId%3A%20%22x%22)%20%7D\
             &operationName=Q",
        )
        .send()
        .await;
    assert_eq!(query.status, StatusCode::OK);
    assert_eq!(query.json(), json!({"data": {"__typename": "Query"}}));
}
