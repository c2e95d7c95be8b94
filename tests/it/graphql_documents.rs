//! GraphQL without re-parsing: documents parsed once, Automatic Persisted Queries (Apollo's
//! protocol), and persisted queries over GET answered with `ETag` / 304 like the REST reads.
//! Nothing cached may change an answer: limits and variables are checked on every request.

use http::StatusCode;
use insta::assert_json_snapshot;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::harness::TestApp;
use crate::rest_profile_read::{JOHN, app_with_john};

const QUERY: &str = "query John($id: ID!) { user(id: $id) { id username followersCount } }";

fn hash(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

fn persisted(query: &str) -> serde_json::Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(query) } })
}

async fn post(app: &TestApp, body: serde_json::Value) -> crate::harness::TestResponse {
    app.request(http::Method::POST, "/graphql")
        .header("content-type", "application/json")
        .header("accept-language", "tr")
        .json(&body)
        .send()
        .await
}

#[tokio::test]
async fn a_hash_alone_runs_once_its_text_was_sent() {
    let app = app_with_john().await;
    let variables = json!({ "id": JOHN });
    let unknown = post(
        &app,
        json!({ "variables": variables, "extensions": persisted(QUERY) }),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_json_snapshot!(unknown.json(), @r#"
    {
      "errors": [
        {
          "message": "PersistedQueryNotFound",
          "extensions": {
            "code": "PERSISTED_QUERY_NOT_FOUND",
            "messages": [
              "Bu kalıcı sorgu burada bilinmiyor: metnini özetiyle birlikte bir kez gönderin"
            ]
          }
        }
      ]
    }
    "#);

    let with_text = post(
        &app,
        json!({ "query": QUERY, "variables": variables, "extensions": persisted(QUERY) }),
    )
    .await;
    assert_eq!(with_text.status, StatusCode::OK);
    let expected = json!({ "data": { "user": {
        "id": JOHN, "username": "johndoe123", "followersCount": 1
    } } });
    assert_eq!(with_text.json(), expected);

    let by_hash = post(
        &app,
        json!({ "variables": variables, "extensions": persisted(QUERY) }),
    )
    .await;
    assert_eq!(by_hash.json(), expected);
}

#[tokio::test]
async fn a_hash_that_does_not_match_its_text_is_refused() {
    let app = app_with_john().await;
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
    for extensions in [
        wrong,
        json!({ "persistedQuery": { "version": 2, "sha256Hash": hash(QUERY) } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "xyz" } }),
    ] {
        let response = post(
            &app,
            json!({ "query": QUERY, "variables": { "id": JOHN }, "extensions": extensions }),
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{}",
            response.text
        );
        let body = response.json();
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["extensions"]["field"],
            "extensions.persistedQuery"
        );
    }
}

#[tokio::test]
async fn persisted_queries_over_get_revalidate_with_etags() {
    let app = app_with_john().await;
    // Register the text, then read by hash over GET.
    post(
        &app,
        json!({ "query": QUERY, "variables": { "id": JOHN }, "extensions": persisted(QUERY) }),
    )
    .await;
    let uri = format!(
        "/graphql?variables={}&extensions={}",
        urlencode(&json!({ "id": JOHN }).to_string()),
        urlencode(&persisted(QUERY).to_string())
    );
    let first = app.get(&uri).send().await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json()["data"]["user"]["id"], JOHN);
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
    assert_eq!(first.header("cache-control"), "private, no-cache");

    let again = app.get(&uri).header("if-none-match", &etag).send().await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    assert_eq!(again.header("etag"), etag);

    // The tag is of the answer: a change of the profile changes it.
    app.execute(&format!(
        "UPDATE users SET username = 'johnny' WHERE id = '{JOHN}'"
    ))
    .await;
    let changed = app.get(&uri).header("if-none-match", &etag).send().await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.json()["data"]["user"]["username"], "johnny");
    assert_ne!(changed.header("etag"), etag);
}

#[tokio::test]
async fn a_persisted_mutation_never_runs_over_get() {
    let app = app_with_john().await;
    let mutation = "mutation { follow(userId: \"000000000000000000000002\") }";
    let token = app.token(JOHN);
    app.request(http::Method::POST, "/graphql")
        .header("content-type", "application/json")
        .bearer(&token)
        .json(&json!({ "query": mutation, "extensions": persisted(mutation) }))
        .send()
        .await;
    let uri = format!(
        "/graphql?extensions={}",
        urlencode(&persisted(mutation).to_string())
    );
    let response = app.get(&uri).bearer(&token).send().await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), "POST");
}

/// A document seen before still has its limits and variables checked on every request.
#[tokio::test]
async fn cached_documents_keep_every_check() {
    let app = app_with_john().await;
    // The same text with good variables, then with variables that do not coerce.
    for _ in 0..2 {
        let good = post(&app, json!({ "query": QUERY, "variables": { "id": JOHN } })).await;
        assert_eq!(good.json()["data"]["user"]["id"], JOHN);
    }
    for _ in 0..2 {
        let bad = app
            .request(http::Method::POST, "/graphql")
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": QUERY, "variables": { "id": [1, 2] } }))
            .send()
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
        assert!(bad.json().get("data").is_none(), "{}", bad.text);
    }
    // A query over the complexity limit is refused every time, not only the first.
    let ids: Vec<String> = (0..100).map(|n| format!("{n:024x}")).collect();
    let heavy = format!(
        "{{ users(ids: {}) {{ followers(first: 100) {{ nodes {{ id }} }} }} }}",
        serde_json::to_string(&ids).expect("json")
    );
    for _ in 0..2 {
        let refused = post(&app, json!({ "query": heavy })).await;
        let body = refused.json();
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(body["errors"][0]["message"], "Query is too complex.");
    }
    // With variables, the limit follows them: few ids pass, many do not, whatever came first.
    let by_variables =
        "query($ids: [ID!]!) { users(ids: $ids) { followers(first: 100) { nodes { id } } } }";
    for (count, allowed) in [(1, true), (100, false), (1, true)] {
        let response = post(
            &app,
            json!({ "query": by_variables, "variables": { "ids": ids[..count] } }),
        )
        .await;
        let body = response.json();
        assert_eq!(body.get("data").is_some(), allowed, "{count} ids: {body}");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
