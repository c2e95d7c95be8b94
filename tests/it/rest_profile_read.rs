//! `GET /api/v1/users/profile/{id}` and `GET /api/v1/users/profile/username/{username}`.

use http::{Method, StatusCode};
use insta::assert_json_snapshot;
use serde_json::json;

use crate::harness::{Fixtures, TestApp, uid, user, years_ago};

pub const JOHN: &str = "507f1f77bcf86cd799439011";
const PHOTO: &str = "507f1f77bcf86cd799439012";

/// The seed's example user, as the legacy documentation shows it.
pub async fn app_with_john() -> TestApp {
    let app = TestApp::new().await;
    let mut john = user(1);
    john.id = JOHN.to_owned();
    john.name = "John".into();
    john.surname = "Doe".into();
    john.username = "johndoe123".into();
    john.interests = vec!["music".into(), "sports".into()];
    john.expertise = Some("designer".into());
    john.birth_date = Some(years_ago(28));
    john.minute_price_in_live_stream = 1;
    john.bio = Some("Passionate about technology and travel".into());
    john.instagram = Some("myinstagram".into());
    john.snapchat = Some("mysnapchat".into());
    john.x = Some("mytwitterx".into());
    john.tiktok = Some("mytiktok".into());
    john.facebook = Some("myfacebook".into());
    let mut fixtures = Fixtures::default()
        .user(john)
        .photo(JOHN, PHOTO, "https://example.com/profile.jpg")
        .user(user(2))
        .user(user(3))
        .follow(&uid(2), JOHN, true)
        .follow(&uid(3), JOHN, false)
        .follow(JOHN, &uid(2), true);
    let mut gone = user(9);
    gone.deactivated_at = Some(chrono::Utc::now());
    fixtures = fixtures.user(gone);
    app.insert(fixtures).await;
    app
}

#[tokio::test]
async fn by_id_answers_the_seed_body() {
    let app = app_with_john().await;
    let response = app
        .get(&format!("/api/v1/users/profile/{JOHN}"))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), "application/json");
    assert_json_snapshot!(response.stable_json(), @r#"
    {
      "isSuccess": true,
      "statusCode": 200,
      "data": {
        "_id": "507f1f77bcf86cd799439011",
        "name": "John",
        "surname": "Doe",
        "username": "johndoe123",
        "availabilityStatus": "available",
        "profilePhoto": {
          "_id": "507f1f77bcf86cd799439012",
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
        "facebook": "myfacebook"
      },
      "errors": [],
      "timestamp": "[timestamp]"
    }
    "#);
    // The timestamp is RFC 3339 in UTC with exactly three fractional digits.
    let timestamp = response.json()["timestamp"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        timestamp.len(),
        "2026-05-22T16:11:26.806Z".len(),
        "{timestamp}"
    );
    assert!(timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.');
}

#[tokio::test]
async fn unset_values_are_null_and_every_key_is_present() {
    let app = TestApp::new().await;
    app.insert(Fixtures::default().user(user(5))).await;
    let response = app
        .get(&format!("/api/v1/users/profile/{}", uid(5)))
        .send()
        .await;
    assert_json_snapshot!(response.stable_json()["data"], @r#"
    {
      "_id": "000000000000000000000005",
      "name": "Name5",
      "surname": "Surname5",
      "username": "user5",
      "availabilityStatus": "available",
      "profilePhoto": null,
      "interests": [],
      "expertise": null,
      "age": null,
      "minutePriceInLiveStream": 0,
      "followersCount": 0,
      "followingCount": 0,
      "bio": null,
      "instagram": null,
      "snapchat": null,
      "x": null,
      "tiktok": null,
      "facebook": null
    }
    "#);
}

#[tokio::test]
async fn ids_match_case_insensitively() {
    let app = app_with_john().await;
    let upper = app
        .get(&format!("/api/v1/users/profile/{}", JOHN.to_uppercase()))
        .send()
        .await;
    assert_eq!(upper.status, StatusCode::OK);
    assert_eq!(upper.json()["data"]["_id"], JOHN);
}

#[tokio::test]
async fn usernames_match_case_insensitively_with_one_leading_at() {
    let app = app_with_john().await;
    let by_id = app
        .get(&format!("/api/v1/users/profile/{JOHN}"))
        .send()
        .await;
    for name in [
        "johndoe123",
        "JohnDoe123",
        "@johndoe123",
        "@JOHNDOE123",
        "%40JohnDoe123",
    ] {
        let response = app
            .get(&format!("/api/v1/users/profile/username/{name}"))
            .send()
            .await;
        assert_eq!(response.status, StatusCode::OK, "{name}");
        assert_eq!(response.json()["data"], by_id.json()["data"], "{name}");
        assert_eq!(response.header("etag"), by_id.header("etag"), "{name}");
    }
}

#[tokio::test]
async fn malformed_ids_and_usernames_are_400_in_both_languages() {
    let app = app_with_john().await;
    let response = app.get("/api/v1/users/profile/xyz").send().await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_json_snapshot!(response.stable_json(), @r#"
    {
      "isSuccess": false,
      "statusCode": 400,
      "data": null,
      "errors": [
        "Validation failed",
        "id must be a 24-character hexadecimal id"
      ],
      "timestamp": "[timestamp]"
    }
    "#);
    let response = app
        .get("/api/v1/users/profile/username/@@john")
        .header("accept-language", "tr-TR,tr;q=0.9,en;q=0.8")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.header("content-language"), "tr");
    assert_eq!(
        response.json()["errors"],
        json!([
            "Doğrulama başarısız",
            "username 3 ile 30 arasında harf, rakam, alt çizgi veya noktadan oluşmalıdır; başta en fazla bir @ olabilir"
        ])
    );
    for bad in [
        "ab",
        "john%20doe",
        "%C4%B0smail",
        "a.very.long.username.over.thirty.chars",
    ] {
        let response = app
            .get(&format!("/api/v1/users/profile/username/{bad}"))
            .send()
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn unknown_and_deactivated_users_are_404() {
    let app = app_with_john().await;
    for path in [
        format!("/api/v1/users/profile/{}", uid(404)),
        format!("/api/v1/users/profile/{}", uid(9)),
        "/api/v1/users/profile/username/user9".to_owned(),
    ] {
        let response = app.get(&path).send().await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        insta::allow_duplicates! { assert_json_snapshot!(response.stable_json(), @r#"
        {
          "isSuccess": false,
          "statusCode": 404,
          "data": null,
          "errors": [
            "Resource not found"
          ],
          "timestamp": "[timestamp]"
        }
        "#); }
    }
    let response = app
        .get(&format!("/api/v1/users/profile/{}", uid(404)))
        .header("accept-language", "tr")
        .send()
        .await;
    assert_eq!(response.json()["errors"], json!(["Kaynak bulunamadı"]));
}

#[tokio::test]
async fn unknown_routes_are_404_envelopes() {
    let app = TestApp::new().await;
    for path in [
        "/api/v1/users",
        "/api/v2/users/profile/x",
        "/api/v1/users/profile/a/b/c",
        "/api",
        "/api/",
    ] {
        let response = app.get(path).send().await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.json()["errors"],
            json!(["Resource not found"]),
            "{path}"
        );
        assert_eq!(response.json()["statusCode"], 404);
        // Inside the API's envelope, a bad header is told before the unknown route.
        let bad_header = app.get(path).header("x-platform", "fridge").send().await;
        assert_eq!(bad_header.status, StatusCode::BAD_REQUEST, "{path}");
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = app_with_john().await;
    for method in [Method::POST, Method::DELETE, Method::PUT] {
        let response = app
            .request(method.clone(), &format!("/api/v1/users/profile/{JOHN}"))
            .send()
            .await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(response.header("allow"), "GET,HEAD");
        assert_eq!(response.header("content-type"), "application/json");
        insta::allow_duplicates! { assert_json_snapshot!(response.stable_json(), @r#"
        {
          "isSuccess": false,
          "statusCode": 405,
          "data": null,
          "errors": [
            "Method not allowed"
          ],
          "timestamp": "[timestamp]"
        }
        "#); }
    }
    let response = app
        .request(Method::DELETE, &format!("/api/v1/users/profile/{JOHN}"))
        .header("accept-language", "tr")
        .send()
        .await;
    assert_eq!(response.json()["errors"], json!(["İzin verilmeyen yöntem"]));
}

#[tokio::test]
async fn etags_answer_if_none_match_with_304() {
    let app = app_with_john().await;
    let path = format!("/api/v1/users/profile/{JOHN}");
    let first = app.get(&path).send().await;
    let etag = first.header("etag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );
    assert_eq!(first.header("cache-control"), "private, no-cache");
    assert_eq!(
        first.header("vary"),
        "Accept-Language, Authorization, X-Timezone"
    );

    for header in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let response = app.get(&path).header("if-none-match", &header).send().await;
        assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{header}");
        assert!(response.text.is_empty());
        assert_eq!(response.header("etag"), etag);
    }
    let changed = app
        .get(&path)
        .header("if-none-match", "\"stale\"")
        .send()
        .await;
    assert_eq!(changed.status, StatusCode::OK);

    // The ETag is of the data: a change of the profile changes it.
    app.execute(&format!("UPDATE users SET bio = 'new' WHERE id = '{JOHN}'"))
        .await;
    let after = app.get(&path).header("if-none-match", &etag).send().await;
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(after.header("etag"), etag);
}

#[tokio::test]
async fn pending_follows_never_count() {
    let app = app_with_john().await;
    let response = app
        .get(&format!("/api/v1/users/profile/{JOHN}"))
        .send()
        .await;
    // user 2 (accepted) and user 3 (pending) follow John; John follows user 2.
    assert_eq!(response.json()["data"]["followersCount"], 1);
    assert_eq!(response.json()["data"]["followingCount"], 1);
}
