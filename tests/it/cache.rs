//! The profile cache across instances (SPEC §8): several instances on one database, each with
//! its own cache and change listener, behave as one — a writer reads its own writes at once,
//! every other instance sees a change within the bound, whoever made it, and visibility is never
//! served from a state older than the bound.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Fixtures, Lcg, TestApp, test_config, uid, user};

/// The consistency bound of SPEC §8. Tests allow more before they call a read stale, because
/// they share two cores with everything else; the benchmark measures the real figure.
const BOUND: Duration = Duration::from_millis(100);
const TEST_BOUND: Duration = Duration::from_secs(2);

fn cached() -> profile_api::config::Config {
    let mut config = test_config();
    config.cache.enabled = true;
    config
}

fn uncached() -> profile_api::config::Config {
    let mut config = test_config();
    config.cache.enabled = false;
    config
}

fn private(mut record: profile_api::db::bulk::UserRecord) -> profile_api::db::bulk::UserRecord {
    record.is_private = true;
    record
}

/// GET the profile of `id` on `app`, as `token`'s user or anonymously: status and data.
async fn read(app: &TestApp, id: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.get(&format!("/api/v1/users/profile/{id}"));
    if let Some(token) = token {
        request = request.bearer(token);
    }
    let response = request.send().await;
    (response.status.as_u16(), response.json()["data"].clone())
}

/// PATCHes `token`'s own profile on `app` with `body`, expecting 200.
pub async fn patch(app: &TestApp, token: &str, body: Value) {
    let response = app
        .request(http::Method::PATCH, "/api/v1/users/profile")
        .bearer(token)
        .header("content-type", "application/json")
        .json(&body)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
}

/// Polls `app` until `id`'s profile satisfies `done`; how long that took.
async fn until(app: &TestApp, id: &str, done: impl Fn(&(u16, Value)) -> bool) -> Duration {
    until_as(app, id, None, done).await
}

/// [`until`], read as the holder of `token` (anonymously without one).
async fn until_as(
    app: &TestApp,
    id: &str,
    token: Option<&str>,
    done: impl Fn(&(u16, Value)) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let seen = read(app, id, token).await;
        if done(&seen) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < TEST_BOUND,
            "still not visible after {TEST_BOUND:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn a_change_on_one_instance_shows_on_the_others() {
    let a = TestApp::with_config(cached()).await;
    let b = a.another_instance(cached()).await;
    a.insert(Fixtures::default().user(user(1))).await;
    let token = a.token(&uid(1));
    // Both caches hold the profile.
    for app in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(read(app, &uid(1), None).await.1["bio"], Value::Null);
        }
    }
    let mut lags = Vec::new();
    for round in 0..20 {
        let bio = format!("round {round}");
        patch(&a, &token, json!({ "bio": bio })).await;
        // The writer sees its own write at once.
        assert_eq!(read(&a, &uid(1), None).await.1["bio"], bio);
        lags.push(until(&b, &uid(1), |(_, data)| data["bio"] == bio).await);
    }
    lags.sort();
    println!(
        "another instance saw the change after: median {:?}, worst {:?} (bound {BOUND:?})",
        lags[lags.len() / 2],
        lags[lags.len() - 1]
    );
}

#[tokio::test]
async fn changes_made_in_psql_reach_every_instance() {
    let a = TestApp::with_config(cached()).await;
    let b = a.another_instance(cached()).await;
    a.insert(
        Fixtures::default()
            .user(user(1))
            .user(user(2))
            .follow(&uid(2), &uid(1), true),
    )
    .await;
    for app in [&a, &b] {
        assert_eq!(read(app, &uid(1), None).await.1["followersCount"], 1);
    }
    type Visible = fn(&(u16, Value)) -> bool;
    let changes: [(&str, Visible); 4] = [
        (
            "UPDATE users SET bio = 'set by hand' WHERE id = '000000000000000000000001'",
            |(_, d)| d["bio"] == "set by hand",
        ),
        (
            "DELETE FROM follows WHERE followee_id = '000000000000000000000001'",
            |(_, d)| d["followersCount"] == 0,
        ),
        (
            "UPDATE users SET is_private = true WHERE id = '000000000000000000000001'",
            |(status, _)| *status == 403,
        ),
        (
            "UPDATE users SET deactivated_at = now() WHERE id = '000000000000000000000001'",
            |(status, _)| *status == 404,
        ),
    ];
    for (sql, done) in changes {
        a.execute(sql).await;
        for app in [&a, &b] {
            until(app, &uid(1), done).await;
        }
    }
}

/// `import` writes through the bulk writer's own connection: its batches' statement triggers
/// announce the change like any other write, so no instance serves a stale profile afterwards.
#[tokio::test]
async fn an_import_reaches_every_cached_instance() {
    let a = TestApp::with_config(cached()).await;
    let b = a.another_instance(cached()).await;
    a.insert(
        Fixtures::default()
            .user(user(1))
            .user(user(2))
            .user(private(user(3))),
    )
    .await;
    let two = a.token(&uid(2));
    for app in [&a, &b] {
        let (_, seen) = read(app, &uid(1), None).await;
        assert_eq!(
            (&seen["bio"], &seen["followersCount"]),
            (&Value::Null, &json!(0))
        );
        // Both caches hold that 2 does not follow the private 3.
        assert_eq!(read(app, &uid(3), Some(&two)).await.0, 403);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("users.jsonl"),
        format!(
            r#"{{"_id":{{"$oid":"{}"}},"name":"Name1","surname":"Surname1","username":"user1","bio":"imported"}}"#,
            uid(1)
        ),
    )
    .expect("users.jsonl");
    // Into an empty follows table: the import's first load, which announces itself as one
    // change to everything rather than through the table's triggers.
    let follow = |follower: &str, followee: &str| {
        format!(
            r#"{{"follower":{{"$oid":"{follower}"}},"followee":{{"$oid":"{followee}"}},"status":"accepted"}}"#
        )
    };
    std::fs::write(
        dir.path().join("follows.jsonl"),
        [follow(&uid(2), &uid(1)), follow(&uid(2), &uid(3))].join("\n"),
    )
    .expect("follows.jsonl");
    profile_api::import::run(&a.db, dir.path(), 100)
        .await
        .expect("import");
    for app in [&a, &b] {
        until(app, &uid(1), |(_, d)| {
            d["bio"] == "imported" && d["followersCount"] == 1
        })
        .await;
        // The relation the cache held is gone with it: 2 now sees 3.
        until_as(app, &uid(3), Some(&two), |(status, _)| *status == 200).await;
    }
}

#[tokio::test]
async fn the_writer_reads_its_own_writes_at_once() {
    let a = TestApp::with_config(cached()).await;
    let _b = a.another_instance(cached()).await;
    a.insert(
        Fixtures::default()
            .user(user(1))
            .user(private(user(2)))
            .user(user(3)),
    )
    .await;
    let one = a.token(&uid(1));
    let two = a.token(&uid(2));
    for round in 0..10 {
        // Warm the cache with the state before the write, then write and read at once.
        read(&a, &uid(1), Some(&one)).await;
        let bio = format!("bio {round}");
        patch(&a, &one, json!({ "bio": bio })).await;
        assert_eq!(read(&a, &uid(1), Some(&one)).await.1["bio"], bio);

        assert_eq!(read(&a, &uid(3), None).await.1["followersCount"], 0);
        let follow = format!("mutation {{ follow(userId: \"{}\") }}", uid(3));
        let body = a
            .graphql(&follow, json!({}))
            .bearer(&one)
            .send()
            .await
            .json();
        assert_eq!(body["data"]["follow"], "ACCEPTED", "{body}");
        assert_eq!(read(&a, &uid(3), None).await.1["followersCount"], 1);
        let unfollow = format!("mutation {{ unfollow(userId: \"{}\") }}", uid(3));
        a.graphql(&unfollow, json!({})).bearer(&one).send().await;
        assert_eq!(read(&a, &uid(3), None).await.1["followersCount"], 0);

        // A private profile: refused, then shown once the owner approves the request.
        assert_eq!(read(&a, &uid(2), Some(&one)).await.0, 403);
        let ask = format!("mutation {{ follow(userId: \"{}\") }}", uid(2));
        a.graphql(&ask, json!({})).bearer(&one).send().await;
        let approve = format!(
            "mutation {{ approveFollowRequest(userId: \"{}\") }}",
            uid(1)
        );
        a.graphql(&approve, json!({})).bearer(&two).send().await;
        assert_eq!(read(&a, &uid(2), Some(&one)).await.0, 200);
        let block = format!("mutation {{ block(userId: \"{}\") }}", uid(1));
        a.graphql(&block, json!({})).bearer(&two).send().await;
        assert_eq!(read(&a, &uid(2), Some(&one)).await.0, 403);
        let unblock = format!("mutation {{ unblock(userId: \"{}\") }}", uid(1));
        a.graphql(&unblock, json!({})).bearer(&two).send().await;
    }
}

#[tokio::test]
async fn a_lost_listener_bypasses_the_cache_and_recovers_by_itself() {
    let app = TestApp::with_config(cached()).await;
    app.insert(Fixtures::default().user(user(1))).await;
    for _ in 0..2 {
        read(&app, &uid(1), None).await;
    }
    let cache = app.db.cache().expect("a cache");
    // Cut the listener's connection from the database side (not through `execute`, which
    // would wait for the stream to catch up, and so for the listener to be back).
    {
        use diesel_async::SimpleAsyncConnection as _;
        let mut conn = app.db.conn().await.expect("connection");
        conn.batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'profile-api-changes' AND datname = current_database()",
        )
        .await
        .expect("terminate the listener");
    }
    let started = Instant::now();
    while cache.usable() {
        assert!(started.elapsed() < TEST_BOUND, "the loss went unnoticed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // While it is down (or reconnecting), reads come from the database.
    app.execute("UPDATE users SET bio = 'while away' WHERE id = '000000000000000000000001'")
        .await;
    assert_eq!(read(&app, &uid(1), None).await.1["bio"], "while away");
    // It comes back by itself, with nothing of before.
    let started = Instant::now();
    while !cache.usable() {
        assert!(
            started.elapsed() < TEST_BOUND * 5,
            "the listener did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..2 {
        assert_eq!(read(&app, &uid(1), None).await.1["bio"], "while away");
    }
    app.execute("UPDATE users SET bio = 'back again' WHERE id = '000000000000000000000001'")
        .await;
    until(&app, &uid(1), |(_, d)| d["bio"] == "back again").await;
}

/// Random edits, privacy toggles, follows, approvals and blocks on one instance; reads by random
/// viewers on another, each compared with the truth read at the same moment through a third
/// instance without a cache. A read may show the state before the last write only while that
/// write is younger than the bound; any other difference is a failure.
#[tokio::test]
async fn random_interleavings_never_show_a_state_older_than_the_bound() {
    let writer = TestApp::with_config(cached()).await;
    let reader = writer.another_instance(cached()).await;
    let truth = writer.another_instance(uncached()).await;
    const USERS: u32 = 5;
    let mut fixtures = Fixtures::default();
    for n in 1..=USERS {
        fixtures = fixtures.user(user(n));
    }
    writer.insert(fixtures).await;
    let tokens: Vec<String> = (1..=USERS).map(|n| writer.token(&uid(n))).collect();
    let mut rng = Lcg(0x5eed);
    let (mut reads, mut late, mut within_bound) = (0, 0, 0);
    for step in 0..80 {
        // One write by a random user.
        let actor = rng.next(u64::from(USERS)) as usize;
        let other = uid(rng.next(u64::from(USERS)) as u32 + 1);
        let mutation = match rng.next(7) {
            0 => Some(format!("mutation {{ follow(userId: \"{other}\") }}")),
            1 => Some(format!("mutation {{ unfollow(userId: \"{other}\") }}")),
            2 => Some(format!(
                "mutation {{ approveFollowRequest(userId: \"{other}\") }}"
            )),
            3 => Some(format!("mutation {{ block(userId: \"{other}\") }}")),
            4 => Some(format!("mutation {{ unblock(userId: \"{other}\") }}")),
            _ => None,
        };
        let before = snapshot(&truth, &tokens).await;
        match mutation {
            Some(mutation) => {
                writer
                    .graphql(&mutation, json!({}))
                    .bearer(&tokens[actor])
                    .send()
                    .await;
            }
            None => {
                let private = rng.next(2) == 0;
                patch(
                    &writer,
                    &tokens[actor],
                    json!({ "bio": format!("step {step}"), "isPrivate": private }),
                )
                .await;
            }
        }
        let written = Instant::now();
        // Read every profile as every viewer on the other instance right away, while the
        // change may still be on its way; then the truth, which no later write can change.
        let mut seen = Vec::new();
        for (index, _) in before.iter().enumerate() {
            let (viewer, target) = (index / USERS as usize, index % USERS as usize);
            let token = (viewer < USERS as usize).then(|| tokens[viewer].as_str());
            let started = Instant::now();
            seen.push((started, read(&reader, &uid(target as u32 + 1), token).await));
        }
        let after = snapshot(&truth, &tokens).await;
        // The instance that wrote has applied its own write before answering it.
        assert_eq!(
            snapshot(&writer, &tokens).await,
            after,
            "step {step}: the writing instance shows something else than the database"
        );
        for (index, (started, seen)) in seen.into_iter().enumerate() {
            reads += 1;
            if seen == after[index] {
                continue;
            }
            // Only the state before the write, and only while the write is young.
            assert_eq!(
                seen, before[index],
                "step {step}: read {index} is neither the state before nor after the write"
            );
            if started.duration_since(written) > TEST_BOUND {
                late += 1;
            } else {
                within_bound += 1;
            }
        }
    }
    println!(
        "{reads} reads: {within_bound} showed the state before a write younger than the bound, {late} older"
    );
    assert_eq!(late, 0, "reads older than the bound");
}

/// Every profile as every viewer (the last "viewer" is anonymous), through `app`.
async fn snapshot(app: &TestApp, tokens: &[String]) -> Vec<(u16, Value)> {
    let users = tokens.len();
    let mut states = Vec::new();
    for viewer in 0..=users {
        for target in 0..users {
            let token = tokens.get(viewer).map(String::as_str);
            states.push(read(app, &uid(target as u32 + 1), token).await);
        }
    }
    states
}

/// Followers of the change stream (live subscriptions) hear every change, with or without a
/// cache, whoever makes it.
#[tokio::test]
async fn the_change_stream_reaches_its_followers_without_a_cache() {
    use profile_api::db::changes::{Change, StreamEvent};
    let app = TestApp::with_config(uncached()).await;
    app.insert(Fixtures::default().user(user(1))).await;
    let mut events = app.db.subscribe_changes();
    let wanted = profile_api::profiles::ObjectId::parse(&uid(1)).expect("id");
    // Wait until the listener is connected, then change a user by hand.
    let connected = tokio::time::timeout(TEST_BOUND, async {
        loop {
            if let Ok(event) = events.recv().await
                && matches!(*event, StreamEvent::Connected)
            {
                return;
            }
        }
    })
    .await;
    assert!(connected.is_ok(), "the listener did not connect");
    app.execute(
        "UPDATE users SET availability_status = 'busy' WHERE id = '000000000000000000000001'",
    )
    .await;
    let heard = tokio::time::timeout(TEST_BOUND, async {
        let mut kinds = Vec::new();
        while kinds.len() < 2 {
            if let Ok(event) = events.recv().await
                && let StreamEvent::Change(announced) = &*event
            {
                match &announced.change {
                    Change::Users(ids) if ids.contains(&wanted) => kinds.push("users"),
                    Change::Availability(ids) if ids.contains(&wanted) => {
                        kinds.push("availability")
                    }
                    _ => {}
                }
            }
        }
        kinds
    })
    .await
    .expect("the change was not heard");
    assert_eq!(heard, ["users", "availability"]);
}

fn shared_through_redis(url: &str) -> profile_api::config::Config {
    let mut config = cached();
    config.redis.url = Some(secrecy::SecretString::from(url.to_owned()));
    config.redis.key_prefix = format!("profile-api-test:{}:", uuid::Uuid::new_v4());
    config
}

/// A user's write position, recorded by the instance that wrote, is what every other instance
/// asks of that user's reads (and nothing of anyone else's); without Redis, reads still work,
/// from the primary.
#[tokio::test]
async fn a_users_write_position_reaches_every_instance_through_redis() {
    use profile_api::db::consistency::Floor;
    let redis =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let config = shared_through_redis(&redis);
    let a = TestApp::with_config(config.clone()).await;
    let b = a.another_instance(config).await;
    a.insert(Fixtures::default().user(user(1)).user(user(2)))
        .await;
    let one = profile_api::profiles::ObjectId::parse(&uid(1)).expect("id");
    let two = profile_api::profiles::ObjectId::parse(&uid(2)).expect("id");
    // Redis may take a moment to answer on a busy machine (meanwhile the floor is the primary,
    // which is right but says nothing about the positions).
    let floor = |user: profile_api::profiles::ObjectId| {
        let b = &b;
        async move {
            let started = Instant::now();
            loop {
                let floor = b.db.floor(Some(&user)).await;
                if floor != Floor::Primary {
                    return floor;
                }
                assert!(started.elapsed() < TEST_BOUND * 5, "Redis never answered");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(floor(one.clone()).await, Floor::Anything);

    let before = {
        let mut conn = a.db.conn().await.expect("connection");
        profile_api::db::replicas::flush_position(&mut conn)
            .await
            .expect("position")
    };
    let token = a.token(&uid(1));
    patch(&a, &token, json!({ "bio": "written on a" })).await;
    let Floor::AtLeast(position) = floor(one.clone()).await else {
        panic!("no write position for the writer on the other instance");
    };
    assert!(position > before, "{position} is not past {before}");
    assert_eq!(floor(two.clone()).await, Floor::Anything);
    assert_eq!(
        read(&b, &uid(1), Some(&token)).await.1["bio"],
        "written on a"
    );

    // Redis gone: the floor cannot be known, so the writer's reads go to the primary — and
    // still answer.
    let gone = shared_through_redis("redis://127.0.0.1:9");
    let c = a.another_instance(gone).await;
    assert_eq!(c.db.floor(Some(&one)).await, Floor::Primary);
    assert_eq!(
        read(&c, &uid(1), Some(&token)).await,
        read(&a, &uid(1), Some(&token)).await
    );
}
