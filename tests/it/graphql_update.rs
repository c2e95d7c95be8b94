//! GraphQL `updateProfile`: the same rules and results as `PATCH`.

use http::Method;
use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, uid, user};

const MUTATION: &str = "mutation($input: UpdateProfileInput!, $ifMatch: String, $dryRun: Boolean) {
  updateProfile(input: $input, ifMatch: $ifMatch, dryRun: $dryRun) { name bio x interests etag }
}";

async fn app() -> TestApp {
    let app = TestApp::new().await;
    let mut me = user(1);
    me.bio = Some("old bio".into());
    app.insert(Fixtures::default().user(me).user(user(2))).await;
    app
}

#[tokio::test]
async fn same_input_same_result_as_patch() {
    let rest_app = app().await;
    let graphql_app = app().await;
    let input = json!({"bio": null, "name": "  Ayşe ", "x": "@ayse", "interests": ["a", "b"]});
    let rest = rest_app
        .request(Method::PATCH, "/api/v1/users/profile")
        .bearer(&rest_app.token(&uid(1)))
        .header("content-type", "application/json")
        .json(&input)
        .send()
        .await
        .json();
    let graphql = graphql_app
        .graphql(MUTATION, json!({ "input": input }))
        .bearer(&graphql_app.token(&uid(1)))
        .send()
        .await
        .json();
    let updated = &graphql["data"]["updateProfile"];
    // The patch applied (trimmed, cleared, the handle without its @), the same on both sides.
    let expected = json!({"name": "Ayşe", "bio": null, "x": "ayse", "interests": ["a", "b"]});
    for field in ["name", "bio", "x", "interests"] {
        assert_eq!(
            updated[field], expected[field],
            "GraphQL {field}: {graphql}"
        );
        assert_eq!(rest["data"][field], expected[field], "REST {field}: {rest}");
    }
    let rest_view = graphql_app
        .get(&format!("/api/v1/users/profile/{}", uid(1)))
        .send()
        .await;
    assert_eq!(
        updated["etag"],
        json!(rest_view.header("etag")),
        "the GraphQL etag is the REST ETag"
    );
}

#[tokio::test]
async fn every_problem_is_an_error_with_its_field() {
    let app = app().await;
    let response = app
        .graphql(
            MUTATION,
            json!({ "input": {"name": null, "username": "x", "minutePriceInLiveStream": -5, "instagram": "..", "bio": "b".repeat(501)} }),
        )
        .bearer(&app.token(&uid(1)))
        .header("accept-language", "tr")
        .send()
        .await
        .json();
    assert_eq!(response["data"], Value::Null);
    let errors = response["errors"].as_array().cloned().unwrap_or_default();
    let mut fields: Vec<String> = errors
        .iter()
        .map(|e| {
            e["extensions"]["field"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "bio",
            "instagram",
            "minutePriceInLiveStream",
            "name",
            "username"
        ]
    );
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(error["path"], json!(["updateProfile"]));
        assert_eq!(error["extensions"]["messages"][0], "Doğrulama başarısız");
    }
    let name = errors
        .iter()
        .find(|e| e["extensions"]["field"] == "name")
        .cloned()
        .unwrap_or_default();
    assert_eq!(name["message"], "name boş ya da null olamaz");
}

#[tokio::test]
async fn anonymous_conflict_precondition_and_dry_run() {
    let app = app().await;
    let anonymous = app
        .graphql(MUTATION, json!({ "input": {"bio": "x"} }))
        .send()
        .await
        .json();
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anonymous}"
    );

    let token = app.token(&uid(1));
    let conflict = app
        .graphql(MUTATION, json!({ "input": {"username": "USER2"} }))
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(conflict["errors"][0]["extensions"]["code"], "CONFLICT");
    assert_eq!(
        conflict["errors"][0]["message"],
        "Username is already taken"
    );

    let stale = app
        .graphql(
            MUTATION,
            json!({ "input": {"bio": "x"}, "ifMatch": "\"stale\"" }),
        )
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(
        stale["errors"][0]["extensions"]["code"],
        "PRECONDITION_FAILED"
    );

    let dry = app
        .graphql(
            MUTATION,
            json!({ "input": {"bio": "  dry  "}, "dryRun": true }),
        )
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(dry["data"]["updateProfile"]["bio"], "dry");
    let etag = dry["data"]["updateProfile"]["etag"].clone();
    let stored = app
        .graphql("{ viewer { bio etag } }", json!({}))
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(stored["data"]["viewer"]["bio"], "old bio");

    let conditional = app
        .graphql(
            MUTATION,
            json!({ "input": {"bio": "fresh"}, "ifMatch": stored["data"]["viewer"]["etag"] }),
        )
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(
        conditional["data"]["updateProfile"]["bio"], "fresh",
        "{conditional}"
    );
    assert_ne!(etag, conditional["data"]["updateProfile"]["etag"]);
}
