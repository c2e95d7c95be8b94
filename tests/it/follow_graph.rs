//! The follow graph (SPEC §6, issue 5): relationship mutations, counters, lists, viewer-relative
//! fields, and the DataLoader's round trips.

use http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Fixtures, TestApp, uid, user};

const ALICE: u32 = 1; // public
const BOB: u32 = 2; // public
const PRIVATE: u32 = 3; // private
const GONE: u32 = 4; // deactivated

async fn app() -> TestApp {
    let app = TestApp::new().await;
    let mut private = user(PRIVATE);
    private.is_private = true;
    let mut gone = user(GONE);
    gone.deactivated_at = Some(chrono::Utc::now());
    app.insert(
        Fixtures::default()
            .user(user(ALICE))
            .user(user(BOB))
            .user(private)
            .user(gone),
    )
    .await;
    app
}

async fn mutate(app: &TestApp, who: u32, mutation: &str, target: &str) -> Value {
    app.graphql(
        &format!("mutation($id: ID!) {{ result: {mutation}(userId: $id) }}"),
        json!({ "id": target }),
    )
    .bearer(&app.token(&uid(who)))
    .send()
    .await
    .json()
}

/// A query without variables, as user `who`.
async fn query_as(app: &TestApp, who: u32, query: &str) -> Value {
    app.graphql(query, json!({}))
        .bearer(&app.token(&uid(who)))
        .send()
        .await
        .json()
}

async fn counts(app: &TestApp, n: u32) -> (i64, i64) {
    let body = app
        .get(&format!("/api/v1/users/profile/{}", uid(n)))
        .bearer(&app.token(&uid(n)))
        .send()
        .await
        .json();
    (
        body["data"]["followersCount"].as_i64().unwrap_or(-1),
        body["data"]["followingCount"].as_i64().unwrap_or(-1),
    )
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn following_a_public_user_is_accepted_at_once() {
    let app = app().await;
    assert_eq!(
        mutate(&app, ALICE, "follow", &uid(BOB)).await["data"]["result"],
        "ACCEPTED"
    );
    assert_eq!(counts(&app, BOB).await, (1, 0));
    assert_eq!(counts(&app, ALICE).await, (0, 1));
    // Again: nothing changes.
    assert_eq!(
        mutate(&app, ALICE, "follow", &uid(BOB)).await["data"]["result"],
        "ACCEPTED"
    );
    assert_eq!(counts(&app, BOB).await, (1, 0));
    assert_eq!(
        mutate(&app, ALICE, "unfollow", &uid(BOB)).await["data"]["result"],
        true
    );
    assert_eq!(
        mutate(&app, ALICE, "unfollow", &uid(BOB)).await["data"]["result"],
        true
    );
    assert_eq!(counts(&app, BOB).await, (0, 0));
}

#[tokio::test]
async fn following_a_private_user_is_a_request_until_approved() {
    let app = app().await;
    assert_eq!(
        mutate(&app, ALICE, "follow", &uid(PRIVATE)).await["data"]["result"],
        "PENDING"
    );
    assert_eq!(
        counts(&app, PRIVATE).await,
        (0, 0),
        "a pending request does not count"
    );
    // Alice still may not see the profile, but knows her request waits.
    let seen = app
        .get(&format!("/api/v1/users/profile/{}", uid(PRIVATE)))
        .bearer(&app.token(&uid(ALICE)))
        .send()
        .await;
    assert_eq!(seen.status, StatusCode::FORBIDDEN);
    // The private user finds the request, sees who asks, and approves it.
    let requests = query_as(&app, PRIVATE, "{ viewer { followRequests(first: 10) { totalCount edges { node { id name followRequestPending hasRequestedToFollowViewer } } } } }").await;
    assert_eq!(
        requests["data"]["viewer"]["followRequests"],
        json!({"totalCount": 1, "edges": [{"node": {"id": uid(ALICE), "name": "Name1", "followRequestPending": false, "hasRequestedToFollowViewer": true}}]})
    );
    assert_eq!(
        mutate(&app, PRIVATE, "approveFollowRequest", &uid(ALICE)).await["data"]["result"],
        true
    );
    assert_eq!(
        mutate(&app, PRIVATE, "approveFollowRequest", &uid(ALICE)).await["data"]["result"],
        true,
        "again"
    );
    assert_eq!(counts(&app, PRIVATE).await, (1, 0));
    let seen = app
        .get(&format!("/api/v1/users/profile/{}", uid(PRIVATE)))
        .bearer(&app.token(&uid(ALICE)))
        .send()
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    // Following again once accepted stays accepted.
    assert_eq!(
        mutate(&app, ALICE, "follow", &uid(PRIVATE)).await["data"]["result"],
        "ACCEPTED"
    );
}

#[tokio::test]
async fn rejecting_and_withdrawing_requests() {
    let app = app().await;
    mutate(&app, ALICE, "follow", &uid(PRIVATE)).await;
    mutate(&app, BOB, "follow", &uid(PRIVATE)).await;
    assert_eq!(
        mutate(&app, PRIVATE, "rejectFollowRequest", &uid(ALICE)).await["data"]["result"],
        true
    );
    assert_eq!(
        mutate(&app, PRIVATE, "rejectFollowRequest", &uid(ALICE)).await["data"]["result"],
        true,
        "again"
    );
    assert_eq!(
        mutate(&app, BOB, "unfollow", &uid(PRIVATE)).await["data"]["result"],
        true,
        "withdraws the request"
    );
    let nothing = mutate(&app, PRIVATE, "approveFollowRequest", &uid(BOB)).await;
    assert_eq!(code(&nothing), "NOT_FOUND");
    assert_eq!(
        nothing["errors"][0]["message"],
        "This user has no pending follow request to you"
    );
    let requests = query_as(
        &app,
        PRIVATE,
        "{ viewer { followRequests(first: 10) { totalCount } } }",
    )
    .await;
    assert_eq!(
        requests["data"]["viewer"]["followRequests"]["totalCount"],
        0
    );
}

#[tokio::test]
async fn blocking_ends_follows_both_ways_and_prevents_new_ones() {
    let app = app().await;
    mutate(&app, ALICE, "follow", &uid(BOB)).await;
    mutate(&app, BOB, "follow", &uid(ALICE)).await;
    mutate(&app, BOB, "follow", &uid(PRIVATE)).await;
    mutate(&app, PRIVATE, "follow", &uid(BOB)).await;
    assert_eq!(counts(&app, ALICE).await, (1, 1));
    assert_eq!(
        mutate(&app, ALICE, "block", &uid(BOB)).await["data"]["result"],
        true
    );
    assert_eq!(
        mutate(&app, ALICE, "block", &uid(BOB)).await["data"]["result"],
        true,
        "again"
    );
    assert_eq!(counts(&app, ALICE).await, (0, 0));
    assert_eq!(
        counts(&app, BOB).await,
        (1, 0),
        "only the follows with Alice ended"
    );
    for (who, target) in [(ALICE, BOB), (BOB, ALICE)] {
        let refused = mutate(&app, who, "follow", &uid(target)).await;
        assert_eq!(code(&refused), "FORBIDDEN", "{who} → {target}");
        assert_eq!(
            refused["errors"][0]["message"],
            "You cannot follow this user"
        );
    }
    // A pending request dies with a block too.
    mutate(&app, ALICE, "follow", &uid(PRIVATE)).await;
    mutate(&app, PRIVATE, "block", &uid(ALICE)).await;
    let requests = query_as(
        &app,
        PRIVATE,
        "{ viewer { followRequests(first: 10) { totalCount nodes { id } } } }",
    )
    .await;
    assert_eq!(
        requests["data"]["viewer"]["followRequests"],
        json!({"totalCount": 1, "nodes": [{"id": uid(BOB)}]}),
        "Bob's request waits; Alice's ended with the block"
    );
    // Blocked users cannot see the blocker.
    let seen = app
        .get(&format!("/api/v1/users/profile/{}", uid(ALICE)))
        .bearer(&app.token(&uid(BOB)))
        .send()
        .await;
    assert_eq!(seen.status, StatusCode::FORBIDDEN);
    assert_eq!(
        mutate(&app, ALICE, "unblock", &uid(BOB)).await["data"]["result"],
        true
    );
    assert_eq!(
        mutate(&app, ALICE, "unblock", &uid(BOB)).await["data"]["result"],
        true,
        "again"
    );
    assert_eq!(
        mutate(&app, BOB, "follow", &uid(ALICE)).await["data"]["result"],
        "ACCEPTED"
    );
}

#[tokio::test]
async fn refusals_have_codes_and_translated_messages() {
    let app = app().await;
    let own = mutate(&app, ALICE, "follow", &uid(ALICE)).await;
    assert_eq!(code(&own), "BAD_USER_INPUT");
    assert_eq!(own["errors"][0]["message"], "You cannot follow yourself");
    assert_eq!(own["errors"][0]["extensions"]["field"], "userId");
    assert_eq!(
        mutate(&app, ALICE, "block", &uid(ALICE)).await["errors"][0]["message"],
        "You cannot block yourself"
    );
    for mutation in [
        "follow",
        "unfollow",
        "approveFollowRequest",
        "rejectFollowRequest",
        "block",
        "unblock",
    ] {
        assert_eq!(
            code(&mutate(&app, ALICE, mutation, &uid(404)).await),
            "NOT_FOUND",
            "{mutation}"
        );
        assert_eq!(
            code(&mutate(&app, ALICE, mutation, &uid(GONE)).await),
            "NOT_FOUND",
            "{mutation}"
        );
        assert_eq!(
            code(&mutate(&app, ALICE, mutation, "nope").await),
            "BAD_USER_INPUT",
            "{mutation}"
        );
        let anonymous = app
            .graphql(
                &format!("mutation {{ {mutation}(userId: \"{}\") }}", uid(BOB)),
                json!({}),
            )
            .send()
            .await
            .json();
        assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{mutation}");
    }
    let turkish = app
        .graphql(
            "mutation($id: ID!) { follow(userId: $id) }",
            json!({ "id": uid(ALICE) }),
        )
        .bearer(&app.token(&uid(ALICE)))
        .header("accept-language", "tr")
        .send()
        .await
        .json();
    assert_eq!(
        turkish["errors"][0]["message"],
        "Kendinizi takip edemezsiniz"
    );
}

#[tokio::test]
async fn going_public_lets_waiting_requests_through() {
    let app = app().await;
    mutate(&app, ALICE, "follow", &uid(PRIVATE)).await;
    mutate(&app, BOB, "follow", &uid(PRIVATE)).await;
    let public = query_as(
        &app,
        PRIVATE,
        "mutation { updateProfile(input: { isPrivate: false }) { followersCount isPrivate } }",
    )
    .await;
    assert_eq!(
        public["data"]["updateProfile"],
        json!({"followersCount": 2, "isPrivate": false})
    );
}

#[tokio::test]
async fn viewer_relative_fields() {
    let app = app().await;
    mutate(&app, ALICE, "follow", &uid(BOB)).await;
    mutate(&app, ALICE, "follow", &uid(PRIVATE)).await;
    mutate(&app, PRIVATE, "follow", &uid(ALICE)).await;
    mutate(&app, ALICE, "block", &uid(GONE)).await; // deactivated: NOT_FOUND, nothing blocked
    let fields = "id isFollowedByViewer followsViewer followRequestPending hasRequestedToFollowViewer isBlockedByViewer";
    let query = format!(
        "query($a: ID!, $b: ID!) {{ a: user(id: $a) {{ {fields} }} b: user(id: $b) {{ {fields} }} }}"
    );
    let as_bob = app
        .graphql(&query, json!({"a": uid(ALICE), "b": uid(BOB)}))
        .bearer(&app.token(&uid(BOB)))
        .send()
        .await
        .json();
    assert_eq!(
        as_bob["data"]["a"],
        json!({"id": uid(ALICE), "isFollowedByViewer": false, "followsViewer": true, "followRequestPending": false, "hasRequestedToFollowViewer": false, "isBlockedByViewer": false})
    );
    assert_eq!(
        as_bob["data"]["b"],
        json!({"id": uid(BOB), "isFollowedByViewer": false, "followsViewer": false, "followRequestPending": false, "hasRequestedToFollowViewer": false, "isBlockedByViewer": false})
    );
    let as_private = app
        .graphql(&query, json!({"a": uid(ALICE), "b": uid(BOB)}))
        .bearer(&app.token(&uid(PRIVATE)))
        .send()
        .await
        .json();
    // The private user follows Alice (public: accepted); Alice's request to them waits.
    assert_eq!(
        as_private["data"]["a"],
        json!({"id": uid(ALICE), "isFollowedByViewer": true, "followsViewer": false, "followRequestPending": false, "hasRequestedToFollowViewer": true, "isBlockedByViewer": false})
    );
    mutate(&app, BOB, "block", &uid(ALICE)).await;
    let as_alice = app
        .graphql(
            &format!("{{ user(id: \"{}\") {{ isBlockedByViewer }} }}", uid(BOB)),
            json!({}),
        )
        .bearer(&app.token(&uid(ALICE)))
        .send()
        .await
        .json();
    assert_eq!(
        code(&as_alice),
        "FORBIDDEN",
        "Bob blocked Alice: she cannot see him"
    );
    let as_bob = app
        .graphql(
            &format!(
                "{{ user(id: \"{}\") {{ isBlockedByViewer isFollowedByViewer }} }}",
                uid(ALICE)
            ),
            json!({}),
        )
        .bearer(&app.token(&uid(BOB)))
        .send()
        .await
        .json();
    assert_eq!(
        as_bob["data"]["user"],
        json!({"isBlockedByViewer": true, "isFollowedByViewer": false})
    );
    let anonymous = app
        .graphql(
            &format!("{{ user(id: \"{}\") {{ {fields} }} }}", uid(ALICE)),
            json!({}),
        )
        .send()
        .await
        .json();
    assert_eq!(
        anonymous["data"]["user"],
        json!({"id": uid(ALICE), "isFollowedByViewer": null, "followsViewer": null, "followRequestPending": null, "hasRequestedToFollowViewer": null, "isBlockedByViewer": null})
    );
}
