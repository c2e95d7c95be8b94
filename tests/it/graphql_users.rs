//! GraphQL `user`, `userByUsername`, `users` and `viewer`, and their parity with REST.

use http::StatusCode;
use insta::assert_json_snapshot;
use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, uid, user};
use crate::rest_profile_read::{JOHN, app_with_john};

const ALL_FIELDS: &str = "id name surname username availabilityStatus profilePhoto { id url type }
    interests expertise age minutePriceInLiveStream followersCount followingCount bio instagram
    snapchat x tiktok facebook isPrivate createdAt updatedAt birthDate";

#[tokio::test]
async fn user_by_id_has_every_field() {
    let app = app_with_john().await;
    let response = app
        .graphql(
            &format!("query($id: ID!) {{ user(id: $id) {{ {ALL_FIELDS} }} }}"),
            json!({ "id": JOHN }),
        )
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let mut body = response.json();
    body["data"]["user"]["createdAt"] = json!("[createdAt]");
    body["data"]["user"]["updatedAt"] = json!("[updatedAt]");
    assert_json_snapshot!(body, @r#"
    {
      "data": {
        "user": {
          "id": "507f1f77bcf86cd799439011",
          "name": "John",
          "surname": "Doe",
          "username": "johndoe123",
          "availabilityStatus": "available",
          "profilePhoto": {
            "id": "507f1f77bcf86cd799439012",
            "url": "https://example.com/profile.jpg",
            "type": "image"
          },
          "interests": [
            "music",
            "sports"
          ],
          "expertise": "designer",
          "age": 28,
          "minutePriceInLiveStream": 1,
          "followersCount": 1,
          "followingCount": 1,
          "bio": "Passionate about technology and travel",
          "instagram": "myinstagram",
          "snapchat": "mysnapchat",
          "x": "mytwitterx",
          "tiktok": "mytiktok",
          "facebook": "myfacebook",
          "isPrivate": false,
          "createdAt": "[createdAt]",
          "updatedAt": "[updatedAt]",
          "birthDate": null
        }
      }
    }
    "#);
}

/// Every REST field and its GraphQL twin carry the same value.
#[tokio::test]
async fn rest_and_graphql_agree_for_the_same_users() {
    let app = app_with_john().await;
    let twins = [
        ("_id", "id"),
        ("name", "name"),
        ("surname", "surname"),
        ("username", "username"),
        ("availabilityStatus", "availabilityStatus"),
        ("interests", "interests"),
        ("expertise", "expertise"),
        ("age", "age"),
        ("minutePriceInLiveStream", "minutePriceInLiveStream"),
        ("followersCount", "followersCount"),
        ("followingCount", "followingCount"),
        ("bio", "bio"),
        ("instagram", "instagram"),
        ("snapchat", "snapchat"),
        ("x", "x"),
        ("tiktok", "tiktok"),
        ("facebook", "facebook"),
    ];
    for id in [JOHN.to_owned(), uid(2), uid(3)] {
        for zone in ["UTC", "UTC-12:00", "UTC+14:00"] {
            let rest = app
                .get(&format!("/api/v1/users/profile/{id}"))
                .header("x-timezone", zone)
                .send()
                .await
                .json();
            let graphql = app
                .graphql(
                    &format!("query($id: ID!) {{ user(id: $id) {{ {ALL_FIELDS} }} }}"),
                    json!({ "id": id }),
                )
                .header("x-timezone", zone)
                .send()
                .await
                .json();
            let (rest, graphql) = (&rest["data"], &graphql["data"]["user"]);
            for (rest_key, graphql_key) in twins {
                assert_eq!(
                    rest[rest_key], graphql[graphql_key],
                    "{id} {rest_key} in {zone}"
                );
            }
            let photo = &rest["profilePhoto"];
            let twin = &graphql["profilePhoto"];
            assert_eq!(photo.is_null(), twin.is_null());
            if !photo.is_null() {
                assert_eq!(photo["_id"], twin["id"]);
                assert_eq!(photo["url"], twin["url"]);
                assert_eq!(photo["type"], twin["type"]);
            }
        }
    }
}

#[tokio::test]
async fn user_by_username_matches_like_rest() {
    let app = app_with_john().await;
    for name in ["JohnDoe123", "@johndoe123"] {
        let response = app
            .graphql(
                "query($u: String!) { userByUsername(username: $u) { id } }",
                json!({ "u": name }),
            )
            .send()
            .await;
        assert_eq!(
            response.json()["data"]["userByUsername"]["id"],
            JOHN,
            "{name}"
        );
    }
}

#[tokio::test]
async fn missing_users_are_null_with_an_error_at_their_path() {
    let app = app_with_john().await;
    let response = app
        .graphql(
            "{ a: user(id: \"000000000000000000000404\") { id } b: user(id: \"000000000000000000000009\") { id } c: user(id: \"nope\") { id } }",
            json!({}),
        )
        .header("accept-language", "tr")
        .send()
        .await;
    assert_json_snapshot!(response.json(), @r#"
    {
      "data": {
        "a": null,
        "b": null,
        "c": null
      },
      "errors": [
        {
          "message": "Kaynak bulunamadı",
          "locations": [
            {
              "line": 1,
              "column": 3
            }
          ],
          "path": [
            "a"
          ],
          "extensions": {
            "code": "NOT_FOUND",
            "messages": [
              "Kaynak bulunamadı"
            ]
          }
        },
        {
          "message": "Kaynak bulunamadı",
          "locations": [
            {
              "line": 1,
              "column": 50
            }
          ],
          "path": [
            "b"
          ],
          "extensions": {
            "code": "NOT_FOUND",
            "messages": [
              "Kaynak bulunamadı"
            ]
          }
        },
        {
          "message": "id 24 karakterlik onaltılık bir kimlik olmalıdır",
          "locations": [
            {
              "line": 1,
              "column": 97
            }
          ],
          "path": [
            "c"
          ],
          "extensions": {
            "code": "BAD_USER_INPUT",
            "field": "id",
            "messages": [
              "Doğrulama başarısız",
              "id 24 karakterlik onaltılık bir kimlik olmalıdır"
            ]
          }
        }
      ]
    }
    "#);
}

#[tokio::test]
async fn users_keeps_order_and_nulls_what_cannot_be_seen() {
    let app = app_with_john().await;
    let ids = json!([uid(2), uid(404), JOHN, uid(2), uid(9)]);
    let response = app
        .graphql(
            "query($ids: [ID!]!) { users(ids: $ids) { id followersCount } }",
            json!({ "ids": ids }),
        )
        .send()
        .await;
    let body = response.json();
    assert_eq!(
        body["data"]["users"],
        json!([
            { "id": uid(2), "followersCount": 1 },
            null,
            { "id": JOHN, "followersCount": 1 },
            { "id": uid(2), "followersCount": 1 },
            null
        ])
    );
    let paths: Vec<&Value> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["path"])
        .collect();
    assert_eq!(paths, [&json!(["users", 1]), &json!(["users", 4])]);
}

#[tokio::test]
async fn users_refuses_more_than_100_ids() {
    let app = TestApp::new().await;
    let ids: Vec<String> = (0..101).map(uid).collect();
    let response = app
        .graphql(
            "query($ids: [ID!]!) { users(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .send()
        .await;
    let body = response.json();
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["message"], "ids accepts at most 100 ids");
}

#[tokio::test]
async fn viewer_is_null_when_anonymous_and_the_owner_sees_the_birth_date() {
    let app = app_with_john().await;
    let anonymous = app.graphql("{ viewer { id } }", json!({})).send().await;
    assert_eq!(anonymous.json(), json!({ "data": { "viewer": null } }));

    let token = app.token(JOHN);
    let owner = app
        .graphql(
            "{ viewer { id birthDate } user(id: \"507f1f77bcf86cd799439011\") { birthDate } }",
            json!({}),
        )
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(owner["data"]["viewer"]["id"], JOHN);
    let birth = owner["data"]["viewer"]["birthDate"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(birth.len(), 10, "{owner}");
    assert_eq!(owner["data"]["user"]["birthDate"], json!(birth));

    let stranger = app
        .graphql(
            "{ user(id: \"507f1f77bcf86cd799439011\") { birthDate } }",
            json!({}),
        )
        .bearer(&app.token(&uid(2)))
        .send()
        .await
        .json();
    assert_eq!(stranger["data"]["user"]["birthDate"], Value::Null);
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = app_with_john().await;
    let response = app
        .get("/graphql?query=%7B%20user(id%3A%20%22507f1f77bcf86cd799439011%22)%20%7B%20name%20%7D%20%7D")
        .send()
        .await;
    assert_eq!(
        response.json(),
        json!({ "data": { "user": { "name": "John" } } })
    );
    let mutation = app
        .get("/graphql?query=mutation%20%7B%20__typename%20%7D")
        .send()
        .await;
    assert_eq!(mutation.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn browsers_get_graphiql() {
    let app = TestApp::new().await;
    let response = app
        .get("/graphql")
        .header("accept", "text/html")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").starts_with("text/html"));
    assert!(
        response.text.contains("graphiql"),
        "{}",
        &response.text[..200.min(response.text.len())]
    );
}

#[tokio::test]
async fn fixtures_with_private_users_exist() {
    let app = TestApp::new().await;
    let mut private = user(7);
    private.is_private = true;
    app.insert(Fixtures::default().user(private)).await;
    let response = app
        .graphql(
            "{ user(id: \"000000000000000000000007\") { id } }",
            json!({}),
        )
        .send()
        .await
        .json();
    assert_eq!(response["data"]["user"], Value::Null);
    assert_eq!(response["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(
        response["errors"][0]["extensions"]["messages"],
        json!(["This profile cannot be viewed", "This profile is private"])
    );
}

#[tokio::test]
async fn malformed_requests_get_graphql_errors() {
    let app = TestApp::new().await;
    for body in [
        "{not json",
        r#"{"variables": {}}"#,
        "42",
        "[]",
        r#"{"query": "  "}"#,
    ] {
        let response = app
            .request(http::Method::POST, "/graphql")
            .header("content-type", "application/json")
            .header("accept-language", "tr")
            .body(body)
            .send()
            .await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            response.text
        );
        let json = response.json();
        assert_eq!(
            json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        assert!(
            json["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Gövde bir GraphQL isteği")
        );
    }
}

#[tokio::test]
async fn the_librarys_own_errors_carry_a_code_too() {
    let app = TestApp::new().await;
    // Five levels of followers: 17 deep, over the default limit of 15.
    let deep = format!(
        "{{ viewer {}{{ id }}{} }}",
        "{ followers(first: 1) { edges { node ".repeat(5),
        " } } }".repeat(5)
    );
    for (query, operation, message) in [
        ("{ user(", None, "expected name"),
        (
            r#"{ user(id: "x") { nope } }"#,
            None,
            r#"Unknown field "nope""#,
        ),
        (
            r#"{ user(id: "x") { id } }"#,
            Some("Missing"),
            r#"Unknown operation named "Missing""#,
        ),
        (
            "{ users(ids: {a: 1}) { id } }",
            None,
            "Invalid value for argument",
        ),
        (deep.as_str(), None, "nested too deep"),
    ] {
        let mut body = json!({ "query": query });
        if let Some(operation) = operation {
            body["operationName"] = json!(operation);
        }
        let response = app
            .request(http::Method::POST, "/graphql")
            .header("content-type", "application/json")
            .header("accept-language", "tr")
            .body(body.to_string())
            .send()
            .await;
        let json = response.json();
        let errors = json["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{query}: {json}"));
        assert!(!errors.is_empty(), "{query}");
        for error in errors {
            assert_eq!(
                error["extensions"]["code"], "BAD_USER_INPUT",
                "{query}: {error}"
            );
        }
        assert!(
            errors
                .iter()
                .any(|e| e["message"].as_str().unwrap_or_default().contains(message)),
            "{query}: {json}"
        );
    }
}
