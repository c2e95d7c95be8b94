//! `PATCH /api/v1/users/profile` (SPEC §4).

use http::{Method, StatusCode};
use insta::assert_json_snapshot;
use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, TestResponse, uid, user, years_ago};

const ME: u32 = 1;

async fn app() -> TestApp {
    let app = TestApp::new().await;
    let mut me = user(ME);
    me.bio = Some("old bio".into());
    me.expertise = Some("old expertise".into());
    me.instagram = Some("old.insta".into());
    me.interests = vec!["music".into()];
    app.insert(
        Fixtures::default()
            .user(me)
            .user(user(2))
            .photo(&uid(ME), "0000000000000000000000aa", "https://cdn/me.jpg")
            .photo(&uid(2), "0000000000000000000000bb", "https://cdn/two.jpg"),
    )
    .await;
    app
}

async fn patch(app: &TestApp, token: &str, body: Value) -> TestResponse {
    send_patch(app, None, token, body).await
}

/// `patch` with `Accept-Language: lang`.
async fn patch_in(app: &TestApp, lang: &str, token: &str, body: Value) -> TestResponse {
    send_patch(app, Some(lang), token, body).await
}

async fn send_patch(app: &TestApp, lang: Option<&str>, token: &str, body: Value) -> TestResponse {
    let mut request = app
        .request(Method::PATCH, "/api/v1/users/profile")
        .bearer(token)
        .header("content-type", "application/json");
    if let Some(lang) = lang {
        request = request.header("accept-language", lang);
    }
    request.json(&body).send().await
}

async fn profile(app: &TestApp) -> Value {
    app.get(&format!("/api/v1/users/profile/{}", uid(ME)))
        .send()
        .await
        .json()["data"]
        .clone()
}

#[tokio::test]
async fn clears_with_null_and_trims_names() {
    let app = app().await;
    let before = app
        .get(&format!("/api/v1/users/profile/{}", uid(ME)))
        .send()
        .await;
    let response = patch(
        &app,
        &app.token(&uid(ME)),
        json!({ "bio": null, "name": "  Ayşe " }),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let data = &response.json()["data"];
    assert_eq!(data["bio"], Value::Null);
    assert_eq!(data["name"], "Ayşe");
    assert_eq!(
        data["expertise"], "old expertise",
        "absent fields are untouched"
    );
    assert_ne!(response.header("etag"), before.header("etag"));
    assert_eq!(
        profile(&app).await,
        *data,
        "the response is the stored profile"
    );
    let etag_now = app
        .get(&format!("/api/v1/users/profile/{}", uid(ME)))
        .send()
        .await;
    assert_eq!(etag_now.header("etag"), response.header("etag"));
}

#[tokio::test]
async fn updated_at_moves() {
    let app = app().await;
    let query = "{ viewer { updatedAt } }";
    let token = app.token(&uid(ME));
    let before = app
        .graphql(query, json!({}))
        .bearer(&token)
        .send()
        .await
        .json();
    patch(&app, &token, json!({ "bio": "new" })).await;
    let after = app
        .graphql(query, json!({}))
        .bearer(&token)
        .send()
        .await
        .json();
    assert_ne!(
        before["data"]["viewer"]["updatedAt"],
        after["data"]["viewer"]["updatedAt"]
    );
}

#[tokio::test]
async fn five_bad_fields_give_one_400_naming_all_five() {
    let app = app().await;
    let body = json!({
        "name": "",
        "username": "has space",
        "minutePriceInLiveStream": -1,
        "instagram": "not/valid",
        "followersCount": 5
    });
    let response = patch(&app, &app.token(&uid(ME)), body.clone()).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_json_snapshot!(response.stable_json(), @r#"
    {
      "isSuccess": false,
      "statusCode": 400,
      "data": null,
      "errors": [
        "Validation failed",
        "name cannot be null or empty",
        "username must be 3 to 30 letters, digits, underscores or dots",
        "minutePriceInLiveStream must be a whole number from 0 to 100000",
        "instagram must be an Instagram username: 1 to 30 letters, digits, dots or underscores, not starting or ending with a dot, or an instagram.com profile link",
        "followersCount is read-only"
      ],
      "timestamp": "[timestamp]"
    }
    "#);
    let turkish = patch_in(&app, "tr", &app.token(&uid(ME)), body).await;
    assert_json_snapshot!(turkish.stable_json()["errors"], @r#"
    [
      "Doğrulama başarısız",
      "name boş ya da null olamaz",
      "username 3 ile 30 arasında harf, rakam, alt çizgi veya noktadan oluşmalıdır",
      "minutePriceInLiveStream 0 ile 100000 arasında bir tam sayı olmalıdır",
      "instagram bir Instagram kullanıcı adı olmalıdır: 1 ile 30 arasında harf, rakam, nokta veya alt çizgi, nokta ile başlamadan ve bitmeden, ya da bir instagram.com profil bağlantısı",
      "followersCount salt okunurdur"
    ]
    "#);
    assert_eq!(profile(&app).await["name"], "Name1", "nothing was written");
}

/// PostgreSQL's text cannot hold U+0000: a NUL in any string is the client's 400, never the
/// database's error (schemathesis found the 500 this was).
#[tokio::test]
async fn a_nul_character_is_a_400_naming_the_field() {
    let app = app().await;
    let body = json!({ "bio": "a\u{0}b", "interests": ["music", "x\u{0}"], "name": "Ayşe" });
    let response = patch(&app, &app.token(&uid(ME)), body.clone()).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_json_snapshot!(response.stable_json(), @r#"
    {
      "isSuccess": false,
      "statusCode": 400,
      "data": null,
      "errors": [
        "Validation failed",
        "bio must not contain the NUL character (U+0000)",
        "interests must not contain the NUL character (U+0000)"
      ],
      "timestamp": "[timestamp]"
    }
    "#);
    let turkish = patch_in(&app, "tr", &app.token(&uid(ME)), body).await;
    assert_json_snapshot!(turkish.stable_json()["errors"], @r#"
    [
      "Doğrulama başarısız",
      "bio NUL karakterini (U+0000) içeremez",
      "interests NUL karakterini (U+0000) içeremez"
    ]
    "#);
    assert_eq!(profile(&app).await["bio"], "old bio", "nothing was written");
}

/// Each field's valid and invalid values: (body, expected status, field and value after).
#[tokio::test]
async fn every_field_valid_and_invalid() {
    let app = app().await;
    let token = app.token(&uid(ME));
    let eighteen = years_ago(18).to_string();
    let seventeen = years_ago(17).succ_opt().expect("date").to_string();
    let cases: Vec<(Value, u16, &str, Value)> = vec![
        (
            json!({"name": "İsmail Çağrı"}),
            200,
            "name",
            json!("İsmail Çağrı"),
        ),
        (
            json!({"name": "x".repeat(51)}),
            400,
            "name",
            json!("İsmail Çağrı"),
        ),
        (json!({"name": null}), 400, "name", json!("İsmail Çağrı")),
        (json!({"name": 5}), 400, "name", json!("İsmail Çağrı")),
        (
            json!({"surname": "Öztürk-Şahin"}),
            200,
            "surname",
            json!("Öztürk-Şahin"),
        ),
        (
            json!({"surname": "   "}),
            400,
            "surname",
            json!("Öztürk-Şahin"),
        ),
        (
            json!({"username": "New.Name_1"}),
            200,
            "username",
            json!("New.Name_1"),
        ),
        (
            json!({"username": "ab"}),
            400,
            "username",
            json!("New.Name_1"),
        ),
        (
            json!({"username": "ışık"}),
            400,
            "username",
            json!("New.Name_1"),
        ),
        (
            json!({"availabilityStatus": "busy"}),
            200,
            "availabilityStatus",
            json!("busy"),
        ),
        (
            json!({"availabilityStatus": "Busy"}),
            400,
            "availabilityStatus",
            json!("busy"),
        ),
        (
            json!({"availabilityStatus": null}),
            400,
            "availabilityStatus",
            json!("busy"),
        ),
        (
            json!({"interests": [" art ", "Müzik"]}),
            200,
            "interests",
            json!(["art", "Müzik"]),
        ),
        (json!({"interests": []}), 200, "interests", json!([])),
        (
            json!({"interests": ["a", "A"]}),
            400,
            "interests",
            json!([]),
        ),
        (
            json!({"interests": ["x".repeat(33)]}),
            400,
            "interests",
            json!([]),
        ),
        (
            json!({"interests": vec!["i"; 21].iter().enumerate().map(|(n, _)| format!("i{n}")).collect::<Vec<_>>()}),
            400,
            "interests",
            json!([]),
        ),
        (json!({"interests": null}), 400, "interests", json!([])),
        (
            json!({"expertise": "e".repeat(100)}),
            200,
            "expertise",
            json!("e".repeat(100)),
        ),
        (
            json!({"expertise": "e".repeat(101)}),
            400,
            "expertise",
            json!("e".repeat(100)),
        ),
        (json!({"expertise": ""}), 200, "expertise", Value::Null),
        (
            json!({"bio": "ğ".repeat(500)}),
            200,
            "bio",
            json!("ğ".repeat(500)),
        ),
        (
            json!({"bio": "ğ".repeat(501)}),
            400,
            "bio",
            json!("ğ".repeat(500)),
        ),
        (
            json!({"minutePriceInLiveStream": 100000}),
            200,
            "minutePriceInLiveStream",
            json!(100000),
        ),
        (
            json!({"minutePriceInLiveStream": 100001}),
            400,
            "minutePriceInLiveStream",
            json!(100000),
        ),
        (
            json!({"minutePriceInLiveStream": 1.5}),
            400,
            "minutePriceInLiveStream",
            json!(100000),
        ),
        (
            json!({"minutePriceInLiveStream": "5"}),
            400,
            "minutePriceInLiveStream",
            json!(100000),
        ),
        (
            json!({"instagram": "https://www.instagram.com/new.insta/"}),
            200,
            "instagram",
            json!("new.insta"),
        ),
        (
            json!({"instagram": ".bad"}),
            400,
            "instagram",
            json!("new.insta"),
        ),
        (
            json!({"snapchat": "@snap_me"}),
            200,
            "snapchat",
            json!("snap_me"),
        ),
        (
            json!({"snapchat": "1snap"}),
            400,
            "snapchat",
            json!("snap_me"),
        ),
        (
            json!({"x": "https://twitter.com/jack"}),
            200,
            "x",
            json!("jack"),
        ),
        (json!({"x": "sixteen_chars_xx"}), 400, "x", json!("jack")),
        (
            json!({"tiktok": "https://www.tiktok.com/@tik.tok"}),
            200,
            "tiktok",
            json!("tik.tok"),
        ),
        (json!({"tiktok": "ends."}), 400, "tiktok", json!("tik.tok")),
        (
            json!({"facebook": "john.doe.5"}),
            200,
            "facebook",
            json!("john.doe.5"),
        ),
        (
            json!({"facebook": "abc"}),
            400,
            "facebook",
            json!("john.doe.5"),
        ),
        (json!({"facebook": ""}), 200, "facebook", Value::Null),
        (json!({"birthDate": eighteen}), 200, "age", json!(18)),
        (json!({"birthDate": seventeen}), 400, "age", json!(18)),
        (json!({"birthDate": "1900-01-01"}), 400, "age", json!(18)),
        (json!({"birthDate": "01/02/2000"}), 400, "age", json!(18)),
        (json!({"birthDate": null}), 200, "age", Value::Null),
        (
            json!({"isPrivate": "yes"}),
            400,
            "username",
            json!("New.Name_1"),
        ),
        (
            json!({"profilePhotoId": "0000000000000000000000aa"}),
            200,
            "profilePhoto",
            json!({"_id": "0000000000000000000000aa", "url": "https://cdn/me.jpg", "type": "image"}),
        ),
        (
            json!({"profilePhotoId": "0000000000000000000000bb"}),
            400,
            "profilePhoto",
            json!({"_id": "0000000000000000000000aa", "url": "https://cdn/me.jpg", "type": "image"}),
        ),
        (
            json!({"profilePhotoId": "0000000000000000000000cc"}),
            400,
            "profilePhoto",
            json!({"_id": "0000000000000000000000aa", "url": "https://cdn/me.jpg", "type": "image"}),
        ),
        (
            json!({"profilePhotoId": null}),
            200,
            "profilePhoto",
            Value::Null,
        ),
    ];
    for (body, status, field, expected) in cases {
        let response = patch(&app, &token, body.clone()).await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{body}: {}",
            response.text
        );
        if status == 400 {
            let errors = response.json()["errors"].clone();
            assert_eq!(errors.as_array().map(Vec::len), Some(2), "{body}: {errors}");
            let name = body
                .as_object()
                .and_then(|o| o.keys().next())
                .cloned()
                .unwrap_or_default();
            assert!(
                errors[1].as_str().unwrap_or_default().starts_with(&name),
                "{body}: {errors}"
            );
        }
        let key = if field == "age" { "age" } else { field };
        assert_eq!(profile(&app).await[key], expected, "{body}");
    }
    let private = patch(&app, &token, json!({"isPrivate": true})).await;
    assert_eq!(private.status, StatusCode::OK);
    let anonymous = app
        .get(&format!("/api/v1/users/profile/{}", uid(ME)))
        .send()
        .await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn read_only_and_unknown_fields_are_named() {
    let app = app().await;
    let response = patch(
        &app,
        &app.token(&uid(ME)),
        json!({"_id": "x", "age": 3, "profilePhoto": null, "createdAt": "x", "colour": "red"}),
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json()["errors"],
        json!([
            "Validation failed",
            "_id is read-only",
            "age is read-only",
            "profilePhoto is read-only",
            "createdAt is read-only",
            "colour is not a field of the profile"
        ])
    );
}

#[tokio::test]
async fn http_edges() {
    let app = app().await;
    let token = app.token(&uid(ME));
    let send = |content_type: Option<&str>, body: Vec<u8>, token: Option<&str>| {
        let mut request = app
            .request(Method::PATCH, "/api/v1/users/profile")
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if let Some(t) = token {
            request = request.bearer(t);
        }
        request.send()
    };
    type Case<'a> = (Option<&'a str>, Vec<u8>, Option<&'a str>, u16, Value);
    let cases: Vec<Case<'_>> = vec![
        (
            Some("application/json"),
            br#"{"bio":"x"}"#.to_vec(),
            None,
            401,
            json!([
                "Authentication required",
                "This request needs a bearer token in the Authorization header"
            ]),
        ),
        (
            Some("application/json"),
            br#"{"bio":"x"}"#.to_vec(),
            Some("garbage"),
            401,
            json!([
                "Authentication required",
                "The Authorization header must be \"Bearer\" followed by a JSON Web Token"
            ]),
        ),
        (
            Some("text/plain"),
            br#"{"bio":"x"}"#.to_vec(),
            Some(&token),
            415,
            json!(["Unsupported media type"]),
        ),
        (
            None,
            br#"{"bio":"x"}"#.to_vec(),
            Some(&token),
            415,
            json!(["Unsupported media type"]),
        ),
        (
            Some("application/merge-patch+json"),
            vec![b' '; 64 * 1024 + 1],
            Some(&token),
            413,
            json!(["Payload too large"]),
        ),
        (
            Some("application/json"),
            b"{\"bio\": \n oops}".to_vec(),
            Some(&token),
            400,
            json!([
                "Validation failed",
                "The body is not valid JSON (line 2, column 2)"
            ]),
        ),
        (
            Some("application/json"),
            b"[1, 2]".to_vec(),
            Some(&token),
            400,
            json!(["Validation failed", "The body must be a JSON object"]),
        ),
        (
            Some("application/json"),
            b"".to_vec(),
            Some(&token),
            400,
            json!([
                "Validation failed",
                "The body is empty; send a JSON object with the fields to change"
            ]),
        ),
    ];
    for (content_type, body, token, status, errors) in cases {
        let response = send(content_type, body, token).await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{content_type:?} {token:?}"
        );
        assert_eq!(response.json()["errors"], errors, "{content_type:?}");
        assert_eq!(response.json()["statusCode"], status);
    }
    // A body within the limit but with the merge-patch media type works.
    let ok = send(
        Some("application/merge-patch+json; charset=utf-8"),
        br#"{"bio":"merge"}"#.to_vec(),
        Some(&token),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    // A malformed body wins over a bad token (SPEC §3's order).
    let both = send(Some("application/json"), b"{".to_vec(), Some("bad")).await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    // PATCH is the only method of the route.
    let get = app.get("/api/v1/users/profile").send().await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.header("allow"), "PATCH");
}

#[tokio::test]
async fn dry_run_normalises_without_writing() {
    let app = app().await;
    let response = app
        .request(Method::PATCH, "/api/v1/users/profile?dryRun=true")
        .bearer(&app.token(&uid(ME)))
        .header("content-type", "application/json")
        .json(&json!({"name": "  Zeynep  ", "x": "https://x.com/zeynep", "bio": ""}))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let data = &response.json()["data"];
    assert_eq!(
        (data["name"].clone(), data["x"].clone(), data["bio"].clone()),
        (json!("Zeynep"), json!("zeynep"), Value::Null)
    );
    let stored = profile(&app).await;
    assert_eq!(
        (
            stored["name"].clone(),
            stored["x"].clone(),
            stored["bio"].clone()
        ),
        (json!("Name1"), Value::Null, json!("old bio"))
    );
    // A dry run reports the conflicts a real update would meet.
    let taken = app
        .request(Method::PATCH, "/api/v1/users/profile?dryRun=true")
        .bearer(&app.token(&uid(ME)))
        .header("content-type", "application/json")
        .json(&json!({"username": "USER2"}))
        .send()
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn if_match_makes_the_write_conditional() {
    let app = app().await;
    let token = app.token(&uid(ME));
    let etag = app
        .get(&format!("/api/v1/users/profile/{}", uid(ME)))
        .send()
        .await
        .header("etag")
        .to_owned();
    patch(&app, &token, json!({"bio": "changed meanwhile"})).await;
    let stale = app
        .request(Method::PATCH, "/api/v1/users/profile")
        .bearer(&token)
        .header("content-type", "application/json")
        .header("if-match", &etag)
        .json(&json!({"bio": "mine"}))
        .send()
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.json()["errors"], json!(["Precondition failed"]));
    assert_eq!(
        profile(&app).await["bio"],
        "changed meanwhile",
        "a 412 changes nothing"
    );

    let current = app
        .get(&format!("/api/v1/users/profile/{}", uid(ME)))
        .send()
        .await
        .header("etag")
        .to_owned();
    for condition in [current.as_str(), "*"] {
        let fresh = app
            .request(Method::PATCH, "/api/v1/users/profile")
            .bearer(&token)
            .header("content-type", "application/json")
            .header("if-match", condition)
            .json(&json!({"bio": format!("mine {condition}")}))
            .send()
            .await;
        assert_eq!(fresh.status, StatusCode::OK, "{condition}");
    }
    let malformed = app
        .request(Method::PATCH, "/api/v1/users/profile")
        .bearer(&token)
        .header("content-type", "application/json")
        .header("if-match", "no-quotes")
        .json(&json!({"bio": "x"}))
        .send()
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_taken_username_is_409_in_any_case() {
    let app = app().await;
    let response = patch(&app, &app.token(&uid(ME)), json!({"username": "USER2"})).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_json_snapshot!(response.stable_json(), @r#"
    {
      "isSuccess": false,
      "statusCode": 409,
      "data": null,
      "errors": [
        "Conflict",
        "Username is already taken"
      ],
      "timestamp": "[timestamp]"
    }
    "#);
    let turkish = app
        .request(Method::PATCH, "/api/v1/users/profile")
        .bearer(&app.token(&uid(ME)))
        .header("content-type", "application/json")
        .header("accept-language", "tr")
        .json(&json!({"username": "user2"}))
        .send()
        .await;
    assert_eq!(
        turkish.json()["errors"],
        json!(["Çakışma", "Kullanıcı adı zaten alınmış"])
    );
    // Changing only the case of one's own username is no conflict.
    let own = patch(&app, &app.token(&uid(ME)), json!({"username": "USER1"})).await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.json()["data"]["username"], "USER1");
}

#[tokio::test]
async fn twenty_concurrent_patches_of_different_fields_lose_nothing() {
    let app = app().await;
    let token = app.token(&uid(ME));
    let patches = vec![
        json!({"name": "Concurrent"}),
        json!({"surname": "Writer"}),
        json!({"username": "concurrent_1"}),
        json!({"availabilityStatus": "away"}),
        json!({"interests": ["one", "two"]}),
        json!({"expertise": "racing"}),
        json!({"bio": "no lost updates"}),
        json!({"minutePriceInLiveStream": 77}),
        json!({"instagram": "ig.c"}),
        json!({"snapchat": "snapc"}),
        json!({"x": "xc"}),
        json!({"tiktok": "tt.c"}),
        json!({"facebook": "fb.concurrent"}),
        json!({"birthDate": years_ago(30).to_string()}),
        json!({"profilePhotoId": "0000000000000000000000aa"}),
        json!({"isPrivate": false}),
        json!({"bio": "no lost updates"}),
        json!({"name": "Concurrent"}),
        json!({"x": "xc"}),
        json!({"minutePriceInLiveStream": 77}),
    ];
    assert_eq!(patches.len(), 20);
    let responses = futures_util::future::join_all(
        patches.iter().map(|body| patch(&app, &token, body.clone())),
    )
    .await;
    for response in &responses {
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    }
    let stored = profile(&app).await;
    for body in &patches {
        for (field, value) in body.as_object().into_iter().flatten() {
            let (key, expected) = match field.as_str() {
                "birthDate" => ("age".to_owned(), json!(30)),
                "profilePhotoId" => (
                    "profilePhoto".to_owned(),
                    json!({"_id": value, "url": "https://cdn/me.jpg", "type": "image"}),
                ),
                "isPrivate" => continue,
                _ => (field.clone(), value.clone()),
            };
            assert_eq!(stored[&key], expected, "{field} was lost");
        }
    }
}

#[tokio::test]
async fn two_users_racing_for_one_username_one_wins() {
    let app = app().await;
    for round in 0..5 {
        let wanted = format!("prize_{round}");
        let (mine, theirs) = (app.token(&uid(ME)), app.token(&uid(2)));
        let (a, b) = tokio::join!(
            patch(&app, &mine, json!({"username": wanted.to_uppercase()})),
            patch(&app, &theirs, json!({"username": wanted})),
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409],
            "round {round}: {} / {}",
            a.text,
            b.text
        );
    }
}
