//! Who may see a profile (SPEC §3): the 403/404 matrix for every kind of viewer, over every read
//! path — REST by id and username, GraphQL single, batch, aliases, fragments, conditional GETs.

use http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, uid, user};

const PRIVATE: u32 = 1;
const PUBLIC: u32 = 2;
const FOLLOWER: u32 = 3;
const PENDING: u32 = 4;
const ADMIN: u32 = 5;
const BLOCKED: u32 = 6;
const STRANGER: u32 = 7;
const GONE: u32 = 8;

async fn app() -> TestApp {
    let app = TestApp::new().await;
    let mut private = user(PRIVATE);
    private.is_private = true;
    private.bio = Some("secret bio".into());
    let mut gone = user(GONE);
    gone.deactivated_at = Some(chrono::Utc::now());
    let mut fixtures = Fixtures::default().user(private).user(gone);
    for n in [PUBLIC, FOLLOWER, PENDING, ADMIN, BLOCKED, STRANGER] {
        fixtures = fixtures.user(user(n));
    }
    app.insert(
        fixtures
            .follow(&uid(FOLLOWER), &uid(PRIVATE), true)
            .follow(&uid(PENDING), &uid(PRIVATE), false)
            .block(&uid(PRIVATE), &uid(BLOCKED))
            .block(&uid(PUBLIC), &uid(BLOCKED)),
    )
    .await;
    app
}

#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    User(u32),
    Admin,
}

fn token(app: &TestApp, who: Who) -> Option<String> {
    match who {
        Who::Anonymous => None,
        Who::User(n) => Some(app.token(&uid(n))),
        Who::Admin => Some(app.admin_token(&uid(ADMIN))),
    }
}

const CANNOT: &str = "This profile cannot be viewed";
const IS_PRIVATE: &str = "This profile is private";

/// (viewer, target, REST status, REST errors)
fn matrix() -> Vec<(Who, u32, u16, Vec<&'static str>)> {
    vec![
        (Who::Anonymous, PRIVATE, 403, vec![CANNOT, IS_PRIVATE]),
        (Who::User(PRIVATE), PRIVATE, 200, vec![]),
        (Who::User(FOLLOWER), PRIVATE, 200, vec![]),
        (Who::User(PENDING), PRIVATE, 403, vec![CANNOT, IS_PRIVATE]),
        (Who::User(STRANGER), PRIVATE, 403, vec![CANNOT, IS_PRIVATE]),
        (Who::Admin, PRIVATE, 200, vec![]),
        (Who::User(BLOCKED), PRIVATE, 403, vec![CANNOT]),
        (Who::Anonymous, PUBLIC, 200, vec![]),
        (Who::User(STRANGER), PUBLIC, 200, vec![]),
        (Who::User(BLOCKED), PUBLIC, 403, vec![CANNOT]),
        (Who::Admin, PUBLIC, 200, vec![]),
        (Who::Anonymous, GONE, 404, vec!["Resource not found"]),
        (Who::Admin, GONE, 404, vec!["Resource not found"]),
        (Who::User(FOLLOWER), GONE, 404, vec!["Resource not found"]),
    ]
}

#[tokio::test]
async fn rest_by_id_and_username_follow_the_matrix() {
    let app = app().await;
    for (who, target, status, errors) in matrix() {
        for path in [
            format!("/api/v1/users/profile/{}", uid(target)),
            format!("/api/v1/users/profile/username/user{target}"),
        ] {
            let mut request = app.get(&path);
            if let Some(t) = token(&app, who) {
                request = request.bearer(&t);
            }
            let response = request.send().await;
            assert_eq!(response.status.as_u16(), status, "{who:?} → {path}");
            let body = response.json();
            if status == 200 {
                assert_eq!(body["data"]["_id"], uid(target));
            } else {
                assert_eq!(body["errors"], json!(errors), "{who:?} → {path}");
                assert_eq!(body["data"], Value::Null);
                assert!(!response.text.contains("secret bio"));
            }
        }
    }
}

#[tokio::test]
async fn graphql_follows_the_same_matrix() {
    let app = app().await;
    for (who, target, status, errors) in matrix() {
        for query in [
            format!("{{ user(id: \"{}\") {{ id bio }} }}", uid(target)),
            format!("{{ user: userByUsername(username: \"user{target}\") {{ id bio }} }}"),
            format!("{{ list: users(ids: [\"{}\"]) {{ id bio }} }}", uid(target)),
        ] {
            let mut request = app.graphql(&query, json!({}));
            if let Some(t) = token(&app, who) {
                request = request.bearer(&t);
            }
            let body = request.send().await.json();
            let value = if query.contains("list") {
                body["data"]["list"][0].clone()
            } else {
                body["data"]["user"].clone()
            };
            if status == 200 {
                assert_eq!(value["id"], uid(target), "{who:?} {query}");
            } else {
                assert_eq!(value, Value::Null, "{who:?} {query}");
                let expected_code = if status == 403 {
                    "FORBIDDEN"
                } else {
                    "NOT_FOUND"
                };
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], expected_code,
                    "{who:?} {query}"
                );
                assert_eq!(body["errors"][0]["extensions"]["messages"], json!(errors));
                assert!(!body.to_string().contains("secret bio"));
            }
        }
    }
}

#[tokio::test]
async fn private_profiles_never_leak_through_aliases_fragments_or_batches() {
    let app = app().await;
    let query = format!(
        "query {{
            a: user(id: \"{private}\") {{ ...Everything }}
            b: user(id: \"{public}\") {{ name }}
            c: users(ids: [\"{public}\", \"{private}\", \"{private_upper}\"]) {{ ... on User {{ bio name }} }}
            d: userByUsername(username: \"@USER{p}\") {{ ...Everything }}
        }}
        fragment Everything on User {{ id name surname username bio interests age followersCount birthDate isPrivate createdAt }}",
        private = uid(PRIVATE),
        public = uid(PUBLIC),
        private_upper = uid(PRIVATE).to_uppercase(),
        p = PRIVATE,
    );
    let body = app
        .graphql(&query, json!({}))
        .bearer(&app.token(&uid(STRANGER)))
        .send()
        .await
        .json();
    assert_eq!(body["data"]["a"], Value::Null);
    assert_eq!(body["data"]["d"], Value::Null);
    assert_eq!(body["data"]["b"]["name"], "Name2");
    assert_eq!(
        body["data"]["c"],
        json!([{"bio": null, "name": "Name2"}, null, null])
    );
    let text = body.to_string();
    assert!(
        !text.contains("secret bio") && !text.contains("Name1"),
        "{text}"
    );
    let codes: Vec<&Value> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["extensions"]["code"])
        .collect();
    assert_eq!(codes.len(), 4);
    assert!(codes.iter().all(|c| *c == "FORBIDDEN"));
}

#[tokio::test]
async fn a_304_is_never_answered_for_a_profile_the_viewer_may_not_see() {
    let app = app().await;
    let path = format!("/api/v1/users/profile/{}", uid(PRIVATE));
    let owner_view = app
        .get(&path)
        .bearer(&app.token(&uid(PRIVATE)))
        .send()
        .await;
    let etag = owner_view.header("etag").to_owned();
    for if_none_match in [etag.as_str(), "*"] {
        let anonymous = app
            .get(&path)
            .header("if-none-match", if_none_match)
            .send()
            .await;
        assert_eq!(anonymous.status, StatusCode::FORBIDDEN, "{if_none_match}");
        assert!(anonymous.header("etag").is_empty());
        let blocked = app
            .get(&path)
            .bearer(&app.token(&uid(BLOCKED)))
            .header("if-none-match", if_none_match)
            .send()
            .await;
        assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    }
    let follower = app
        .get(&path)
        .bearer(&app.token(&uid(FOLLOWER)))
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(follower.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn turkish_messages_for_the_403s() {
    let app = app().await;
    let private = app
        .get(&format!("/api/v1/users/profile/{}", uid(PRIVATE)))
        .header("accept-language", "tr")
        .send()
        .await;
    assert_eq!(
        private.json()["errors"],
        json!(["Bu profil görüntülenemez", "Bu profil gizli"])
    );
    let blocked = app
        .get(&format!("/api/v1/users/profile/{}", uid(PUBLIC)))
        .header("accept-language", "tr")
        .bearer(&app.token(&uid(BLOCKED)))
        .send()
        .await;
    assert_eq!(
        blocked.json()["errors"],
        json!(["Bu profil görüntülenemez"])
    );
}

#[tokio::test]
async fn the_owner_sees_the_birth_date_others_do_not() {
    let app = app().await;
    app.execute(&format!(
        "UPDATE users SET birth_date = '1990-01-02' WHERE id = '{}'",
        uid(PRIVATE)
    ))
    .await;
    let query = format!("{{ user(id: \"{}\") {{ birthDate }} }}", uid(PRIVATE));
    for (who, expected) in [
        (Who::User(PRIVATE), json!("1990-01-02")),
        (Who::Admin, json!("1990-01-02")),
        (Who::User(FOLLOWER), Value::Null),
    ] {
        let body = app
            .graphql(&query, json!({}))
            .bearer(&token(&app, who).unwrap_or_default())
            .send()
            .await
            .json();
        assert_eq!(body["data"]["user"]["birthDate"], expected, "{who:?}");
    }
}
