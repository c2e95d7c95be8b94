//! The counters: exact under concurrency, repaired by `recount`, read in O(1) and in at most two
//! statements for a hundred users.

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::harness::{Fixtures, Lcg, TestApp, test_config, uid, user};

/// The statements of the database path: what a read costs when the cache does not hold it (the
/// cache's own test is `cached_reads_take_no_statement`).
#[tokio::test]
async fn a_hundred_users_with_counts_take_two_statements() {
    let mut config = test_config();
    config.cache.enabled = false;
    let app = TestApp::with_config(config).await;
    let mut fixtures = Fixtures::default();
    for n in 1..=101 {
        fixtures = fixtures.user(user(n));
    }
    for n in 2..=101 {
        fixtures = fixtures
            .follow(&uid(n), &uid(1), true)
            .follow(&uid(1), &uid(n), n % 2 == 0);
    }
    app.insert(fixtures).await;
    let ids: Vec<String> = (2..=101).map(uid).collect();
    let query = "query($ids: [ID!]!) { users(ids: $ids) { id followersCount followingCount } }";

    // Warm the pool, so that connection set-up is not counted.
    app.graphql(query, json!({ "ids": ids })).send().await;

    let before = app.db.statements_executed();
    let body = app
        .graphql(query, json!({ "ids": ids }))
        .send()
        .await
        .json();
    let anonymous = app.db.statements_executed() - before;
    let users = body["data"]["users"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // User n follows user 1, who follows back the even ones (accepted) and asked the odd ones
    // (pending, counted nowhere).
    let expected: Vec<Value> = (2..=101)
        .map(|n| {
            json!({
                "id": uid(n),
                "followersCount": u32::from(n % 2 == 0),
                "followingCount": 1
            })
        })
        .collect();
    assert_eq!(users, expected);
    assert!(anonymous <= 2, "anonymous: {anonymous} statements");

    let token = app.token(&uid(1));
    let before = app.db.statements_executed();
    app.graphql(query, json!({ "ids": ids }))
        .bearer(&token)
        .send()
        .await;
    let authenticated = app.db.statements_executed() - before;
    assert!(
        authenticated <= 3,
        "authenticated: {authenticated} statements (the token's user adds one)"
    );

    let single = |fields: &'static str| {
        let app = &app;
        async move {
            let before = app.db.statements_executed();
            let body = app
                .graphql(
                    &format!("{{ user(id: \"{}\") {{ {fields} }} }}", uid(1)),
                    json!({}),
                )
                .send()
                .await
                .json();
            assert!(body["errors"].is_null(), "{body}");
            app.db.statements_executed() - before
        }
    };
    let without = single("id name").await;
    let with = single("id name followersCount followingCount").await;
    assert!(
        with <= without + 1,
        "user(id) with counts: {with}, without: {without}"
    );
    // The REST read is one statement whatever the counts.
    let before = app.db.statements_executed();
    app.get(&format!("/api/v1/users/profile/{}", uid(1)))
        .send()
        .await;
    assert_eq!(app.db.statements_executed() - before, 1);
}

/// With the cache, a profile read once is read again without the database: REST, GraphQL by id
/// and by username, anonymous or signed in.
#[tokio::test]
async fn cached_reads_take_no_statement() {
    let mut config = test_config();
    config.cache.enabled = true;
    let app = TestApp::with_config(config).await;
    app.insert(
        Fixtures::default()
            .user(user(1))
            .user(user(2))
            .follow(&uid(2), &uid(1), true),
    )
    .await;
    let token = app.token(&uid(2));
    let query = format!(
        "{{ user(id: \"{}\") {{ id followersCount isFollowedByViewer }} byName: userByUsername(username: \"USER1\") {{ id }} }}",
        uid(1)
    );
    let rest = format!("/api/v1/users/profile/{}", uid(1));
    let rest_by_name = "/api/v1/users/profile/username/@user1";
    let mut costs = Vec::new();
    for round in 0..2 {
        let before = app.db.statements_executed();
        assert_eq!(app.get(&rest).send().await.status, 200);
        assert_eq!(app.get(rest_by_name).send().await.status, 200);
        assert_eq!(app.get(&rest).bearer(&token).send().await.status, 200);
        let body = app
            .graphql(&query, json!({}))
            .bearer(&token)
            .send()
            .await
            .json();
        assert_eq!(body["data"]["user"]["followersCount"], 1, "{body}");
        assert_eq!(body["data"]["user"]["isFollowedByViewer"], true, "{body}");
        assert_eq!(body["data"]["byName"]["id"], uid(1), "{body}");
        costs.push((round, app.db.statements_executed() - before));
    }
    assert!(
        costs[0].1 > 0,
        "the first round reads the database: {costs:?}"
    );
    assert_eq!(
        costs[1].1, 0,
        "the second round is served from the cache: {costs:?}"
    );
}

#[tokio::test]
async fn a_thousand_concurrent_operations_leave_no_drift() {
    let app = TestApp::new().await;
    const USERS: u32 = 24;
    let mut fixtures = Fixtures::default();
    for n in 1..=USERS {
        let mut u = user(n);
        u.is_private = n % 4 == 0;
        fixtures = fixtures.user(u);
    }
    app.insert(fixtures).await;
    let tokens: Vec<String> = (0..=USERS).map(|n| app.token(&uid(n.max(1)))).collect();
    let mutations = [
        "follow",
        "follow",
        "follow",
        "unfollow",
        "approveFollowRequest",
        "rejectFollowRequest",
        "block",
        "unblock",
    ];
    let mut rng = Lcg(42);
    let operations: Vec<(usize, &str, u32)> = (0..1000)
        .map(|_| {
            let actor = 1 + rng.next(u64::from(USERS)) as usize;
            let mutation = mutations[rng.next(mutations.len() as u64) as usize];
            let target = 1 + rng.next(u64::from(USERS)) as u32;
            (actor, mutation, target)
        })
        .collect();
    let outcomes: Vec<Value> = futures_util::stream::iter(operations.iter())
        .map(|(actor, mutation, target)| {
            let request = app
                .graphql(
                    &format!("mutation($id: ID!) {{ {mutation}(userId: $id) }}"),
                    json!({ "id": uid(*target) }),
                )
                .bearer(&tokens[*actor]);
            async move { request.send().await.json() }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut succeeded = 0;
    for outcome in &outcomes {
        match outcome["errors"][0]["extensions"]["code"].as_str() {
            None => succeeded += 1,
            // Following yourself, being blocked, approving what nobody asked for.
            Some("BAD_USER_INPUT" | "FORBIDDEN" | "NOT_FOUND") => {}
            Some(other) => panic!("unexpected {other}: {outcome}"),
        }
    }
    assert!(succeeded > 500, "only {succeeded} operations succeeded");

    let drift = profile_api::profiles::follows::recount(&app.db)
        .await
        .expect("recount");
    assert!(drift.is_empty(), "counters drifted: {drift:?}");
    // And checked by hand against COUNT(*).
    let mut conn = app.db.conn().await.expect("connection");
    #[derive(diesel::QueryableByName, Debug)]
    struct Mismatch {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        mismatches: i64,
    }
    let mismatch: Mismatch = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS mismatches FROM follow_counters c WHERE \
               c.followers_count <> (SELECT count(*) FROM follows WHERE followee_id = c.user_id AND status = 'accepted') \
            OR c.following_count <> (SELECT count(*) FROM follows WHERE follower_id = c.user_id AND status = 'accepted')",
        ),
        &mut conn,
    )
    .await
    .expect("count");
    assert_eq!(mismatch.mismatches, 0);
    // No blocked pair kept a follow.
    let leftover: Mismatch = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS mismatches FROM follows f JOIN blocks b ON \
             (b.blocker_id = f.follower_id AND b.blocked_id = f.followee_id) OR (b.blocker_id = f.followee_id AND b.blocked_id = f.follower_id)",
        ),
        &mut conn,
    )
    .await
    .expect("count");
    assert_eq!(leftover.mismatches, 0);
}

#[tokio::test]
async fn recount_repairs_drift_and_says_what_it_fixed() {
    let app = TestApp::new().await;
    app.insert(
        Fixtures::default()
            .user(user(1))
            .user(user(2))
            .follow(&uid(2), &uid(1), true),
    )
    .await;
    app.execute(&format!(
        "UPDATE follow_counters SET followers_count = 99 WHERE user_id = '{}'; \
         DELETE FROM follow_counters WHERE user_id = '{}'",
        uid(1),
        uid(2)
    ))
    .await;
    let fixed = profile_api::profiles::follows::recount(&app.db)
        .await
        .expect("recount");
    let report: Vec<String> = fixed.iter().map(ToString::to_string).collect();
    assert_eq!(
        report,
        [
            format!("{}: followers 99 -> 1, following 0 -> 0", uid(1)),
            format!("{}: followers 0 -> 0, following 0 -> 1", uid(2)),
        ]
    );
    assert!(
        profile_api::profiles::follows::recount(&app.db)
            .await
            .expect("recount")
            .is_empty()
    );
    let body = app
        .get(&format!("/api/v1/users/profile/{}", uid(1)))
        .send()
        .await
        .json();
    assert_eq!(body["data"]["followersCount"], 1);
}
