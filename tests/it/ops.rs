//! Operations: health, readiness through an outage, metrics, limits, CORS, timeouts, and the
//! binary's logs and graceful shutdown.

use std::time::Duration;

use axum::routing::get;
use diesel_async::SimpleAsyncConnection as _;
use http::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::harness::{
    DbProxy, Fixtures, TestApp, connect, eventually, http_get, scalar, spawn_server, test_config,
    uid, user,
};

#[tokio::test]
async fn health_and_readiness_through_a_database_outage() {
    let mut proxy = DbProxy::start().await;
    let mut config = test_config();
    config.database.wait_timeout = Duration::from_millis(500);
    config.database.create_timeout = Duration::from_millis(500);
    config.database.recycle_timeout = Duration::from_millis(500);
    config.database.verify_idle_after = Duration::from_millis(1);
    let app = TestApp::through_proxy(config, &proxy).await;
    app.insert(Fixtures::default().user(user(1))).await;
    let profile = format!("/api/v1/users/profile/{}", uid(1));

    assert_eq!(
        app.get("/healthz").send().await.json(),
        json!({"status": "ok"})
    );
    assert_eq!(app.get("/readyz").send().await.status, StatusCode::OK);
    assert_eq!(app.get(&profile).send().await.status, StatusCode::OK);

    // Once cut, the pool's connections are closed and new ones are refused.
    proxy.cut().await;
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.header("retry-after"), "1");
    // The profile cache may answer until its listener (a thread of its own) has noticed the cut:
    // it vouches for what it holds for at most 100 ms after its last heartbeat (SPEC §8). Then
    // the outage shows.
    let cut_at = std::time::Instant::now();
    let read = loop {
        let read = app.get(&profile).send().await;
        if read.status != StatusCode::OK || cut_at.elapsed() > Duration::from_secs(1) {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(read.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        read.json()["errors"],
        json!(["Service temporarily unavailable"])
    );
    assert_eq!(
        app.get("/healthz").send().await.status,
        StatusCode::OK,
        "the process is still up"
    );

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..50 {
        if app.get("/readyz").send().await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "readiness never came back");
    assert_eq!(
        app.get(&profile).send().await.status,
        StatusCode::OK,
        "the service recovered by itself"
    );
}

/// The value of the sample `name{labels}` in Prometheus text, if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse().ok())?
        })
        .next()
}

#[tokio::test]
async fn metrics_parse_and_count_requests() {
    let app = TestApp::new().await;
    app.insert(Fixtures::default().user(user(1))).await;
    let route = [
        ("route", "/api/v1/users/profile/{id}"),
        ("status", "200"),
        ("platform", "mobile_ios"),
    ];
    let before = app.get("/metrics").send().await.text;
    let count_before = sample(&before, "http_requests_total", &route).unwrap_or(0.0);
    for _ in 0..3 {
        app.get(&format!("/api/v1/users/profile/{}", uid(1)))
            .header("x-platform", "mobile_ios")
            .send()
            .await;
    }
    // An operation name no other test uses, so that its count is exact.
    app.graphql(
        "query MetricsCountThisOnce($id: ID!) { user(id: $id) { id followersCount } }",
        json!({ "id": uid(1) }),
    )
    .send()
    .await;
    let response = app.get("/metrics").send().await;
    assert!(response.header("content-type").starts_with("text/plain"));
    let text = response.text;
    // Every sample line parses as `name{labels} value`.
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let value = line.rsplit_once(' ').map(|(_, v)| v).unwrap_or_default();
        assert!(value.parse::<f64>().is_ok(), "unparsable sample: {line}");
    }
    let count_after = sample(&text, "http_requests_total", &route).unwrap_or(0.0);
    // No other test reads with X-Platform: mobile_ios, so the count is exact.
    assert_eq!(
        count_after - count_before,
        3.0,
        "{count_before} → {count_after}"
    );
    assert!(sample(&text, "http_request_duration_seconds_bucket", &route).is_some());
    assert!(sample(&text, "db_pool_connections", &[("state", "idle")]).is_some());
    assert!(sample(&text, "db_pool_waiting_requests", &[]).is_some());
    assert_eq!(
        sample(
            &text,
            "graphql_operations_total",
            &[("operation", "MetricsCountThisOnce"), ("type", "query")]
        ),
        Some(1.0)
    );
    assert!(text.contains("graphql_dataloader_batch_size"), "{text}");
    // Ids never become labels.
    assert!(!text.contains(&uid(1)));
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    let mut config = test_config();
    config.graphql.max_aliases = 3;
    let app = TestApp::with_config(config).await;
    let query = "{ a: viewer { id } b: viewer { id } c: viewer { id } d: viewer { id } }";
    // A document that fails validation: 400 for clients of application/graphql-response+json,
    // 200 for those of application/json (GraphQL over HTTP), and no data either way.
    for (accept, status) in [
        ("application/graphql-response+json", StatusCode::BAD_REQUEST),
        ("application/json", StatusCode::OK),
    ] {
        let response = app
            .graphql(query, json!({}))
            .header("accept", accept)
            .send()
            .await;
        assert_eq!(response.status, status, "{accept}");
        let body = response.json();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["message"],
            "The operation uses 4 aliases; at most 3 are allowed"
        );
        assert!(body.get("data").is_none(), "{body}");
    }
    let fine = app
        .graphql("{ a: viewer { id } b: viewer { id } }", json!({}))
        .send()
        .await;
    assert_eq!(fine.status, StatusCode::OK);
}

#[tokio::test]
async fn deep_queries_are_refused() {
    let mut config = test_config();
    config.graphql.max_depth = 3;
    let app = TestApp::with_config(config).await;
    let deep = "{ viewer { followers(first: 1) { edges { node { id } } } } }";
    let body = app.graphql(deep, json!({})).send().await.json();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nested too deep"),
        "{body}"
    );
}

#[tokio::test]
async fn queries_over_the_complexity_limit_are_refused() {
    let mut config = test_config();
    config.graphql.max_complexity = 5;
    let app = TestApp::with_config(config).await;
    // Six fields: a complexity of 6.
    let over = "{ viewer { id name surname username bio age } }";
    let response = app
        .graphql(over, json!({}))
        .header("accept", "application/graphql-response+json")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let body = response.json();
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(
        body["errors"],
        json!([{"message": "Query is too complex.", "extensions": {"code": "BAD_USER_INPUT"}}])
    );
    let within = "{ viewer { id name surname username } }";
    let response = app.graphql(within, json!({})).send().await;
    assert_eq!(response.json(), json!({"data": {"viewer": null}}));
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let introspection = "{ __schema { queryType { name } } }";
    let on = TestApp::new().await;
    assert_eq!(
        on.graphql(introspection, json!({})).send().await.json(),
        json!({"data": {"__schema": {"queryType": {"name": "Query"}}}})
    );
    let mut config = test_config();
    config.graphql.introspection = false;
    let off = TestApp::with_config(config).await;
    // async-graphql answers the introspection fields with null (no schema is revealed).
    assert_eq!(
        off.graphql(introspection, json!({})).send().await.json(),
        json!({"data": {"__schema": null}})
    );
    assert_eq!(
        off.graphql(
            "{ __type(name: \"User\") { name fields { name } } }",
            json!({})
        )
        .send()
        .await
        .json(),
        json!({"data": {"__type": null}})
    );
    // What is not introspection still works, `__typename` included.
    assert_eq!(
        off.graphql("{ __typename viewer { id } }", json!({}))
            .send()
            .await
            .json(),
        json!({"data": {"__typename": "Query", "viewer": null}})
    );
}

#[tokio::test]
async fn cors_allows_the_configured_origins() {
    let mut config = test_config();
    config.http.cors_origins = "https://app.example, https://admin.example".to_owned();
    let app = TestApp::with_config(config).await;
    let preflight = app
        .request(Method::OPTIONS, "/api/v1/users/profile")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-timezone",
        )
        .send()
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        "https://app.example"
    );
    assert!(
        preflight
            .header("access-control-allow-methods")
            .contains("PATCH")
    );
    let other = app
        .get("/api/v1/users/profile/xyz")
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert!(other.header("access-control-allow-origin").is_empty());
    let exposed = app
        .get("/api/v1/users/profile/xyz")
        .header("origin", "https://admin.example")
        .send()
        .await;
    assert!(
        exposed
            .header("access-control-expose-headers")
            .to_lowercase()
            .contains("x-request-id")
    );
}

#[tokio::test]
async fn a_request_over_its_time_is_a_503_envelope() {
    let mut config = test_config();
    config.http.request_timeout = Duration::from_millis(100);
    let app = TestApp::build_with(config, |api| {
        api.route(
            "/api/v1/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
    })
    .await;
    let response = app
        .get("/api/v1/slow")
        .header("accept-language", "tr")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.json()["errors"],
        json!(["Hizmet geçici olarak kullanılamıyor"])
    );
}

#[tokio::test]
async fn json_logs_have_a_line_per_request_with_its_id() {
    let mut server = spawn_server(&[("LOG_FORMAT", "json")]).await;
    let response = http_get(
        server.port,
        "/api/v1/users/profile/xyz",
        "X-Request-Id: log-me-123\r\nX-Device-Id: secret-device\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    let _ = server.child.start_kill();
    let output = server.child.wait_with_output().await.expect("output");
    let logs = String::from_utf8_lossy(&output.stderr);
    let line = logs
        .lines()
        .find(|l| l.contains("log-me-123"))
        .unwrap_or_else(|| panic!("no log line with the request id in:\n{logs}"));
    let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    let span = &entry["span"];
    assert_eq!(span["request_id"], "log-me-123");
    assert_eq!(span["route"], "/api/v1/users/profile/{id}");
    assert_eq!(span["status"], 400);
    assert!(span["latency_ms"].is_number());
    assert!(
        span["device"].as_str().is_some_and(|d| d.len() == 16),
        "a hash of the device id: {span}"
    );
    assert!(
        !logs.contains("secret-device"),
        "the raw device id must never be logged"
    );
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    // A pool as large as the number of requests, so that each one waits for the lock in the
    // database, where the test can see it, rather than for a connection.
    let mut server = spawn_server(&[("DB_POOL_SIZE", "8")]).await;
    let mut log = BufReader::new(server.child.stderr.take().expect("stderr")).lines();
    // Hold the users table so that requests stay in flight until we let go.
    let url = server.database.url();
    let mut blocker = connect(&url).await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let port = server.port;
    let requests: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                http_get(port, &format!("/api/v1/users/profile/{}", uid(1)), "").await
            })
        })
        .collect();
    let mut watcher = connect(&url).await;
    eventually("the eight requests to wait for the lock", async || {
        let waiting = scalar(
            &mut watcher,
            "SELECT count(*) AS value FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'profile-api' \
               AND wait_event_type = 'Lock'",
        )
        .await;
        waiting == 8
    })
    .await;
    let pid =
        nix::unistd::Pid::from_raw(i32::try_from(server.child.id().expect("pid")).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    // The server has taken the signal and is draining, with every request still in flight.
    while let Some(line) = log.next_line().await.expect("read the log") {
        if line.contains("shutting down: finishing in-flight requests") {
            break;
        }
    }
    assert!(requests.iter().all(|r| !r.is_finished()));
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    blocker.batch_execute("ROLLBACK").await.expect("unlock");
    for request in requests {
        let response = request.await.expect("request task");
        // Every in-flight request got its answer: the user does not exist, a 404 envelope.
        assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    }
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(status.success(), "{status}");
    // New connections are refused once it has stopped.
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
}
