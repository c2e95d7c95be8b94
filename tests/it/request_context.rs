//! The request context (SPEC §2): languages, timezones, platform, version, device and request
//! ids — identical for REST and GraphQL.

use http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, uid, user};

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.insert(Fixtures::default().user(user(1))).await;
    app
}

fn profile_path() -> String {
    format!("/api/v1/users/profile/{}", uid(1))
}

#[tokio::test]
async fn languages_are_negotiated_with_q_values() {
    let app = app().await;
    for (header, expected) in [
        (None, "en"),
        (Some("tr-TR,tr;q=0.9,en;q=0.8"), "tr"),
        (Some("en;q=0.2, tr;q=0.8"), "tr"),
        (Some("de-DE, fr;q=0.9"), "en"),
        (Some("tr;q=0, en"), "en"),
        (Some("TR"), "tr"),
    ] {
        let mut request = app.get("/api/v1/users/profile/xyz");
        if let Some(h) = header {
            request = request.header("accept-language", h);
        }
        let response = request.send().await;
        assert_eq!(response.header("content-language"), expected, "{header:?}");
        let first = response.json()["errors"][0].clone();
        assert_eq!(
            first,
            if expected == "tr" {
                "Doğrulama başarısız"
            } else {
                "Validation failed"
            },
            "{header:?}"
        );
    }
}

#[tokio::test]
async fn timestamps_follow_x_timezone() {
    let app = app().await;
    for (zone, suffix) in [
        ("UTC", "Z"),
        ("UTC+03:00", "+03:00"),
        ("UTC-09:30", "-09:30"),
        ("UTC+05:45", "+05:45"),
        ("UTC-08:00", "-08:00"),
        ("UTC+00:00", "Z"),
        ("Asia/Kathmandu", "+05:45"),
    ] {
        let response = app
            .get(&profile_path())
            .header("x-timezone", zone)
            .send()
            .await;
        assert_eq!(response.status, StatusCode::OK, "{zone}");
        assert_eq!(response.header("x-timezone"), zone);
        let timestamp = response.json()["timestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(timestamp.ends_with(suffix), "{zone}: {timestamp}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&timestamp).is_ok(),
            "{timestamp}"
        );
        assert_eq!(
            timestamp
                .split('.')
                .nth(1)
                .map(|f| f.trim_end_matches(suffix).len()),
            Some(3),
            "{timestamp}"
        );
        // GraphQL writes its timestamps in the same zone.
        let body = app
            .graphql(
                &format!("{{ user(id: \"{}\") {{ createdAt }} }}", uid(1)),
                json!({}),
            )
            .header("x-timezone", zone)
            .send()
            .await
            .json();
        let created = body["data"]["user"]["createdAt"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(created.ends_with(suffix), "{zone}: {created}");
    }
    let istanbul = app
        .graphql(
            &format!("{{ user(id: \"{}\") {{ createdAt }} }}", uid(1)),
            json!({}),
        )
        .header("x-timezone", "UTC+03:00")
        .send()
        .await
        .json();
    assert_eq!(
        istanbul["data"]["user"]["createdAt"],
        "2026-05-22T19:11:26.806+03:00"
    );
}

#[tokio::test]
async fn daylight_saving_applies_to_iana_zones() {
    let app = app().await;
    // The fixture user was created at 2026-05-22T16:11:26.806Z: summer time in Berlin (+02:00).
    app.execute(&format!(
        "UPDATE users SET updated_at = '2026-01-10T12:00:00Z' WHERE id = '{}'",
        uid(1)
    ))
    .await;
    let body = app
        .graphql(
            &format!("{{ user(id: \"{}\") {{ createdAt updatedAt }} }}", uid(1)),
            json!({}),
        )
        .header("x-timezone", "Europe/Berlin")
        .send()
        .await
        .json();
    assert_eq!(
        body["data"]["user"]["createdAt"],
        "2026-05-22T18:11:26.806+02:00"
    );
    assert_eq!(
        body["data"]["user"]["updatedAt"],
        "2026-01-10T13:00:00.000+01:00"
    );
}

#[tokio::test]
async fn age_counts_on_today_in_the_request_zone() {
    let app = app().await;
    // A birthday that is today somewhere and not yet (or already past) elsewhere: at any instant,
    // UTC-12:00 and UTC+14:00 are on different dates.
    let now = chrono::Utc::now();
    let west = (now - chrono::Duration::hours(12)).date_naive();
    let east = (now + chrono::Duration::hours(14)).date_naive();
    assert_ne!(west, east);
    use chrono::Datelike;
    // 28 years: a multiple of four, so a 29 February stays a valid date.
    let birthday_east = east.with_year(east.year() - 28).expect("date");
    app.execute(&format!(
        "UPDATE users SET birth_date = '{birthday_east}' WHERE id = '{}'",
        uid(1)
    ))
    .await;
    let age = |zone: &'static str| {
        let app = &app;
        async move {
            app.get(&profile_path())
                .header("x-timezone", zone)
                .send()
                .await
                .json()["data"]["age"]
                .clone()
        }
    };
    assert_eq!(
        age("UTC+14:00").await,
        json!(28),
        "already 28 where it is tomorrow"
    );
    assert_eq!(
        age("UTC-12:00").await,
        json!(27),
        "not yet 28 where it is yesterday"
    );
    let graphql = app
        .graphql(
            &format!("{{ user(id: \"{}\") {{ age }} }}", uid(1)),
            json!({}),
        )
        .header("x-timezone", "UTC-12:00")
        .send()
        .await
        .json();
    assert_eq!(graphql["data"]["user"]["age"], json!(27));
}

#[tokio::test]
async fn bad_header_values_are_400s_naming_the_header() {
    let app = app().await;
    let cases = [
        ("x-timezone", "UTC+3", "X-Timezone must be UTC"),
        ("x-timezone", "UTC+14:30", "X-Timezone must be UTC"),
        ("x-timezone", "UTC-12:30", "X-Timezone must be UTC"),
        ("x-timezone", "UTC+03:15", "X-Timezone must be UTC"),
        ("x-timezone", "Mars/Olympus_Mons", "X-Timezone must be UTC"),
        ("x-timezone", "EST", "X-Timezone must be UTC"),
        ("x-platform", "ios", "X-Platform must be one of"),
        ("x-platform", "WEB", "X-Platform must be one of"),
        ("x-app-version", "1.0 beta", "X-App-Version must be"),
        ("x-app-version", &"9".repeat(33), "X-App-Version must be"),
        ("x-device-id", &"d".repeat(129), "X-Device-Id must be"),
        ("x-device-id", "has space", "X-Device-Id must be"),
    ];
    for (name, value, message) in cases {
        let response = app.get(&profile_path()).header(name, value).send().await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{name}: {value}");
        let errors = response.json()["errors"].clone();
        assert_eq!(errors[0], "Validation failed");
        assert!(
            errors[1].as_str().unwrap_or_default().starts_with(message),
            "{name}: {errors}"
        );
        let graphql = app
            .graphql("{ viewer { id } }", json!({}))
            .header(name, value)
            .send()
            .await;
        assert_eq!(graphql.status, StatusCode::BAD_REQUEST, "{name}: {value}");
        assert_eq!(
            graphql.json()["errors"][0]["extensions"]["code"],
            "BAD_USER_INPUT"
        );
    }
    // Several bad headers are all named, in Turkish too.
    let response = app
        .get(&profile_path())
        .header("accept-language", "tr")
        .header("x-timezone", "nope")
        .header("x-platform", "nope")
        .send()
        .await;
    let errors = response.json()["errors"].clone();
    assert_eq!(errors.as_array().map(Vec::len), Some(3));
    assert_eq!(errors[0], "Doğrulama başarısız");
    assert!(
        errors[2]
            .as_str()
            .unwrap_or_default()
            .starts_with("X-Platform şunlardan biri olmalıdır")
    );
    // A header problem wins over everything that follows (an unknown id, a bad token).
    let response = app
        .get(&format!("/api/v1/users/profile/{}", uid(99)))
        .header("x-platform", "nope")
        .bearer("bad")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn good_header_values_are_accepted() {
    let app = app().await;
    for (name, value) in [
        ("x-platform", "mobile_android"),
        ("x-platform", "all"),
        ("x-app-version", "2.14.0-beta+7"),
        ("x-device-id", "A1B2-C3D4:e5f6"),
        ("x-timezone", "UTC-12:00"),
        ("x-timezone", "UTC+14:00"),
    ] {
        let response = app.get(&profile_path()).header(name, value).send().await;
        assert_eq!(response.status, StatusCode::OK, "{name}: {value}");
    }
    // X-Platform: admin grants nothing.
    let mut private = user(2);
    private.is_private = true;
    app.insert(Fixtures::default().user(private)).await;
    let response = app
        .get(&format!("/api/v1/users/profile/{}", uid(2)))
        .header("x-platform", "admin")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = app().await;
    let echoed = app
        .get(&profile_path())
        .header("x-request-id", "abc-123")
        .send()
        .await;
    assert_eq!(echoed.header("x-request-id"), "abc-123");
    let generated = app.get(&profile_path()).send().await;
    assert_eq!(generated.header("x-request-id").len(), 36);
    let replaced = app
        .get(&profile_path())
        .header("x-request-id", &"x".repeat(200))
        .send()
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(replaced.header("x-request-id").len(), 36);
    let graphql = app
        .graphql("{ viewer { id } }", json!({}))
        .header("x-request-id", "gql-1")
        .send()
        .await;
    assert_eq!(graphql.header("x-request-id"), "gql-1");
    assert_eq!(graphql.header("content-language"), "en");
    assert_eq!(graphql.json(), json!({"data": {"viewer": Value::Null}}));
}
