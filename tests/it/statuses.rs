//! Every row of SPEC §3's status table, with its exact English and Turkish texts.

use std::time::Duration;

use axum::routing::get;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, TestResponse, test_config, uid, user};

async fn in_both(send: impl AsyncFn(&str) -> TestResponse) -> (TestResponse, TestResponse) {
    (send("en").await, send("tr-TR,tr;q=0.9,en;q=0.8").await)
}

#[track_caller]
fn assert_envelope(response: &TestResponse, status: u16, errors: Value) {
    assert_eq!(response.status.as_u16(), status, "{}", response.text);
    assert_eq!(response.header("content-type"), "application/json");
    let body = response.json();
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["isSuccess", "statusCode", "data", "errors", "timestamp"]
    );
    assert_eq!(body["isSuccess"], false);
    assert_eq!(body["statusCode"], status);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"], errors);
}

async fn patch(
    app: &TestApp,
    lang: &str,
    body: &str,
    content_type: &str,
    token: Option<String>,
) -> TestResponse {
    let mut request = app
        .request(Method::PATCH, "/api/v1/users/profile")
        .header("accept-language", lang)
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer(&token);
    }
    request.send().await
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    let mut private = user(1);
    private.is_private = true;
    app.insert(
        Fixtures::default()
            .user(private)
            .user(user(2))
            .user(user(3))
            .block(&uid(3), &uid(2)),
    )
    .await;
    app
}

#[tokio::test]
async fn client_errors_in_english_and_turkish() {
    let app = app().await;
    let (en, tr) = in_both(async |l| {
        app.get("/api/v1/users/profile/xyz")
            .header("accept-language", l)
            .send()
            .await
    })
    .await;
    assert_envelope(
        &en,
        400,
        json!([
            "Validation failed",
            "id must be a 24-character hexadecimal id"
        ]),
    );
    assert_envelope(
        &tr,
        400,
        json!([
            "Doğrulama başarısız",
            "id 24 karakterlik onaltılık bir kimlik olmalıdır"
        ]),
    );

    let (en, tr) = in_both(async |l| patch(&app, l, "{}", "application/json", None).await).await;
    assert_envelope(
        &en,
        401,
        json!([
            "Authentication required",
            "This request needs a bearer token in the Authorization header"
        ]),
    );
    assert_envelope(
        &tr,
        401,
        json!([
            "Kimlik doğrulaması gerekli",
            "Bu istek Authorization başlığında bir bearer belirteci gerektirir"
        ]),
    );
    assert_eq!(en.header("www-authenticate"), "Bearer");

    let (en, tr) = in_both(async |l| {
        app.get(&format!("/api/v1/users/profile/{}", uid(3)))
            .bearer(&app.token(&uid(2)))
            .header("accept-language", l)
            .send()
            .await
    })
    .await;
    assert_envelope(&en, 403, json!(["This profile cannot be viewed"]));
    assert_envelope(&tr, 403, json!(["Bu profil görüntülenemez"]));

    let (en, tr) = in_both(async |l| {
        app.get(&format!("/api/v1/users/profile/{}", uid(1)))
            .header("accept-language", l)
            .send()
            .await
    })
    .await;
    assert_envelope(
        &en,
        403,
        json!(["This profile cannot be viewed", "This profile is private"]),
    );
    assert_envelope(
        &tr,
        403,
        json!(["Bu profil görüntülenemez", "Bu profil gizli"]),
    );

    let (en, tr) = in_both(async |l| {
        app.get("/api/nowhere")
            .header("accept-language", l)
            .send()
            .await
    })
    .await;
    assert_envelope(&en, 404, json!(["Resource not found"]));
    assert_envelope(&tr, 404, json!(["Kaynak bulunamadı"]));

    let (en, tr) = in_both(async |l| {
        app.request(Method::PUT, "/api/v1/users/profile")
            .header("accept-language", l)
            .send()
            .await
    })
    .await;
    assert_envelope(&en, 405, json!(["Method not allowed"]));
    assert_envelope(&tr, 405, json!(["İzin verilmeyen yöntem"]));

    let (en, tr) = in_both(async |l| {
        patch(
            &app,
            l,
            r#"{"username":"USER3"}"#,
            "application/json",
            Some(app.token(&uid(2))),
        )
        .await
    })
    .await;
    assert_envelope(&en, 409, json!(["Conflict", "Username is already taken"]));
    assert_envelope(&tr, 409, json!(["Çakışma", "Kullanıcı adı zaten alınmış"]));

    let (en, tr) = in_both(async |l| {
        app.request(Method::PATCH, "/api/v1/users/profile")
            .header("accept-language", l)
            .header("content-type", "application/json")
            .header("if-match", "\"nope\"")
            .bearer(&app.token(&uid(2)))
            .body("{}")
            .send()
            .await
    })
    .await;
    assert_envelope(&en, 412, json!(["Precondition failed"]));
    assert_envelope(&tr, 412, json!(["Ön koşul sağlanamadı"]));

    let big = format!("{{\"bio\":\"{}\"}}", "x".repeat(70_000));
    let (en, tr) =
        in_both(async |l| patch(&app, l, &big, "application/json", Some(app.token(&uid(2)))).await)
            .await;
    assert_envelope(&en, 413, json!(["Payload too large"]));
    assert_envelope(&tr, 413, json!(["İstek gövdesi çok büyük"]));

    let (en, tr) =
        in_both(async |l| patch(&app, l, "{}", "text/plain", Some(app.token(&uid(2)))).await).await;
    assert_envelope(&en, 415, json!(["Unsupported media type"]));
    assert_envelope(&tr, 415, json!(["Desteklenmeyen medya türü"]));
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let mut config = test_config();
    config.http.rate_limit_per_second = 1;
    config.http.rate_limit_burst = 2;
    let app = TestApp::with_config(config).await;
    app.insert(Fixtures::default().user(user(1))).await;
    let path = format!("/api/v1/users/profile/{}", uid(1));
    let mut statuses = Vec::new();
    for lang in ["en", "en", "en", "tr"] {
        statuses.push(app.get(&path).header("accept-language", lang).send().await);
    }
    assert_eq!(statuses[0].status, StatusCode::OK);
    assert_eq!(statuses[1].status, StatusCode::OK);
    assert_envelope(&statuses[2], 429, json!(["Too many requests"]));
    assert_envelope(&statuses[3], 429, json!(["Çok fazla istek"]));
    assert!(
        statuses[2]
            .header("retry-after")
            .parse::<u64>()
            .is_ok_and(|s| s >= 1)
    );
    // Each token's user has a bucket of their own.
    let other = app.get(&path).bearer(&app.token(&uid(1))).send().await;
    assert_eq!(other.status, StatusCode::OK);
    // GraphQL is limited too, in its own error format.
    let graphql = app.graphql("{ viewer { id } }", json!({})).send().await;
    assert_eq!(graphql.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        graphql.json()["errors"][0]["extensions"]["code"],
        "TOO_MANY_REQUESTS"
    );
    // Health checks never are.
    assert_eq!(app.get("/healthz").send().await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_panic_is_a_500_envelope_that_leaks_nothing() {
    fn boom() -> &'static str {
        panic!("connection string postgres://secret")
    }
    let app = TestApp::with_api(|api| api.route("/api/v1/boom", get(|| async { boom() }))).await;
    let (en, tr) = in_both(async |l| {
        app.get("/api/v1/boom")
            .header("accept-language", l)
            .send()
            .await
    })
    .await;
    assert_envelope(&en, 500, json!(["Internal server error"]));
    assert_envelope(&tr, 500, json!(["Sunucu hatası"]));
    assert!(!en.text.contains("secret"));
    // The service goes on serving.
    assert_eq!(
        app.get("/api/v1/users/profile/xyz").send().await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_with_retry_after() {
    let mut config = test_config();
    config.database.wait_timeout = Duration::from_millis(500);
    config.database.create_timeout = Duration::from_millis(500);
    let app = TestApp::with_database_url(config, "postgres://postgres@127.0.0.1:1/nowhere").await;
    let (en, tr) = in_both(async |l| {
        app.get(&format!("/api/v1/users/profile/{}", uid(1)))
            .header("accept-language", l)
            .send()
            .await
    })
    .await;
    assert_envelope(&en, 503, json!(["Service temporarily unavailable"]));
    assert_envelope(&tr, 503, json!(["Hizmet geçici olarak kullanılamıyor"]));
    assert_eq!(en.header("retry-after"), "1");
    let graphql = app
        .graphql(
            &format!("{{ user(id: \"{}\") {{ id }} }}", uid(1)),
            json!({}),
        )
        .send()
        .await
        .json();
    assert_eq!(
        graphql["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    assert_eq!(
        app.get("/readyz").send().await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}
