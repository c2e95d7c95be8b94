//! `followers`, `following` and `followRequests` connections: order, paging, visibility.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, uid, user};

const STAR: u32 = 1;
const VIEWER: u32 = 2;

fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_750_000_000 + seconds, 0).expect("time")
}

/// The star has 40 followers (users 100..140): ten of them at the very same instant, to prove
/// ties never skip or repeat; plus a private follower, one who blocked the viewer, a deactivated
/// one and a pending request.
async fn app() -> TestApp {
    let app = TestApp::new().await;
    let mut fixtures = Fixtures::default().user(user(STAR)).user(user(VIEWER));
    for n in 100..140 {
        fixtures = fixtures.user(user(n)).follow_at(
            &uid(n),
            &uid(STAR),
            true,
            at(if n < 110 { 5 } else { i64::from(n) }),
        );
    }
    let mut private = user(200);
    private.is_private = true;
    let mut gone = user(202);
    gone.deactivated_at = Some(chrono::Utc::now());
    fixtures = fixtures
        .user(private)
        .user(user(201))
        .user(gone)
        .user(user(203))
        .follow_at(&uid(200), &uid(STAR), true, at(1000))
        .follow_at(&uid(201), &uid(STAR), true, at(1001))
        .follow_at(&uid(202), &uid(STAR), true, at(1002))
        .follow_at(&uid(203), &uid(STAR), false, at(1003))
        .block(&uid(201), &uid(VIEWER));
    app.insert(fixtures).await;
    app
}

const PAGE: &str = "query($id: ID!, $first: Int!, $after: String) {
  user(id: $id) { followers(first: $first, after: $after) {
    totalCount edges { cursor followedAt node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }
}";

async fn all_pages(app: &TestApp, first: i32, token: Option<&str>) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..100 {
        let mut request = app.graphql(
            PAGE,
            json!({ "id": uid(STAR), "first": first, "after": after }),
        );
        if let Some(t) = token {
            request = request.bearer(t);
        }
        let body = request.send().await.json();
        let connection = &body["data"]["user"]["followers"];
        assert!(body["errors"].is_null(), "{body}");
        let edges = connection["edges"].as_array().cloned().unwrap_or_default();
        assert!(edges.len() <= first as usize);
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap_or_default().to_owned()),
        );
        let info = &connection["pageInfo"];
        assert_eq!(info["hasPreviousPage"], false);
        if let Some(last) = edges.last() {
            assert_eq!(info["endCursor"], last["cursor"]);
            assert_eq!(info["startCursor"], edges[0]["cursor"]);
        }
        if info["hasNextPage"] != true {
            return seen;
        }
        after = info["endCursor"].clone();
    }
    panic!("paging never ended");
}

#[tokio::test]
async fn pages_never_skip_or_repeat_and_are_newest_first() {
    let app = app().await;
    let token = app.token(&uid(VIEWER));
    let whole = all_pages(&app, 100, Some(&token)).await;
    for first in [1, 3, 7, 10] {
        assert_eq!(
            all_pages(&app, first, Some(&token)).await,
            whole,
            "page size {first}"
        );
    }
    let unique: HashSet<&String> = whole.iter().collect();
    assert_eq!(unique.len(), whole.len());
    // 40 ordinary followers; not the private one, not the one who blocked the viewer, not the
    // deactivated one, not the pending request.
    assert_eq!(whole.len(), 40);
    for hidden in [200, 201, 202, 203] {
        assert!(!whole.contains(&uid(hidden)), "{hidden} leaked");
    }
    // Newest first; the ten simultaneous follows come last, ties by id, descending.
    let expected: Vec<String> = (110..140).rev().chain((100..110).rev()).map(uid).collect();
    assert_eq!(whole, expected);
}

#[tokio::test]
async fn total_count_comes_from_the_counter_and_follow_times_from_the_follow() {
    let app = app().await;
    let body = app
        .graphql(PAGE, json!({ "id": uid(STAR), "first": 1 }))
        .header("x-timezone", "UTC+03:00")
        .send()
        .await
        .json();
    let connection = &body["data"]["user"]["followers"];
    // Accepted follows, whoever may see them: 40 + private + blocker + deactivated.
    assert_eq!(connection["totalCount"], 43);
    // For an anonymous reader the newest visible follower is 201 (202 is deactivated, 203 only
    // asked); the follow's time is written in the request's zone.
    assert_eq!(connection["edges"][0]["node"]["id"], uid(201));
    let offset = chrono::FixedOffset::east_opt(3 * 3600).expect("offset");
    let expected = at(1001)
        .with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(connection["edges"][0]["followedAt"], json!(expected));
}

#[tokio::test]
async fn what_an_admin_and_the_anonymous_see() {
    let app = app().await;
    let admin = all_pages(&app, 50, Some(&app.admin_token(&uid(VIEWER)))).await;
    assert!(admin.contains(&uid(200)), "admins see private followers");
    assert!(
        !admin.contains(&uid(201)),
        "the blocker blocked the admin's account"
    );
    let anonymous = all_pages(&app, 50, None).await;
    assert!(
        anonymous.contains(&uid(201)),
        "the blocker did not block anonymous readers"
    );
    assert!(!anonymous.contains(&uid(200)) && !anonymous.contains(&uid(202)));
}

#[tokio::test]
async fn following_lists_and_private_owners() {
    let app = app().await;
    let body = app
        .graphql(
            "query($id: ID!) { user(id: $id) { following(first: 5) { totalCount nodes { id } } } }",
            json!({ "id": uid(105) }),
        )
        .send()
        .await
        .json();
    assert_eq!(
        body["data"]["user"]["following"],
        json!({"totalCount": 1, "nodes": [{"id": uid(STAR)}]})
    );
    // A private user's lists are as hidden as the profile itself.
    let private = app
        .graphql(
            "query($id: ID!) { user(id: $id) { following(first: 5) { totalCount } } }",
            json!({ "id": uid(200) }),
        )
        .send()
        .await
        .json();
    assert_eq!(private["data"]["user"], Value::Null);
    assert_eq!(private["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let own = app
        .graphql(
            "{ viewer { following(first: 5) { nodes { id } } } }",
            json!({}),
        )
        .bearer(&app.token(&uid(200)))
        .send()
        .await
        .json();
    assert_eq!(
        own["data"]["viewer"]["following"]["nodes"],
        json!([{"id": uid(STAR)}])
    );
}

#[tokio::test]
async fn follow_requests_are_for_the_owner_only() {
    let app = app().await;
    let query = "query($id: ID!) { user(id: $id) { id followRequests(first: 10) { totalCount nodes { id } } } }";
    let owner = app
        .graphql(query, json!({ "id": uid(STAR) }))
        .bearer(&app.token(&uid(STAR)))
        .send()
        .await
        .json();
    assert_eq!(
        owner["data"]["user"]["followRequests"],
        json!({"totalCount": 1, "nodes": [{"id": uid(203)}]})
    );
    let other = app
        .graphql(query, json!({ "id": uid(STAR) }))
        .bearer(&app.token(&uid(VIEWER)))
        .send()
        .await
        .json();
    assert_eq!(
        other["data"]["user"]["id"],
        uid(STAR),
        "the profile itself still shows"
    );
    assert_eq!(other["data"]["user"]["followRequests"], Value::Null);
    assert_eq!(other["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(
        other["errors"][0]["path"],
        json!(["user", "followRequests"])
    );
}

#[tokio::test]
async fn page_arguments_are_checked() {
    let app = app().await;
    for (first, after, message) in [
        (0, Value::Null, "first must be between 1 and 100"),
        (101, Value::Null, "first must be between 1 and 100"),
        (-5, Value::Null, "first must be between 1 and 100"),
        (
            5,
            json!("not-a-cursor"),
            "after is not a cursor returned by this list",
        ),
    ] {
        let body = app
            .graphql(
                PAGE,
                json!({ "id": uid(STAR), "first": first, "after": after }),
            )
            .send()
            .await
            .json();
        assert_eq!(body["data"]["user"]["followers"], Value::Null, "{first}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["message"], message);
    }
}
