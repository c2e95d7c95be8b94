//! Rate limits: the IETF RateLimit fields, limits shared by instances through the machine's Redis
//! (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), and service that goes on when Redis
//! does not answer.
//!
//! Every test writes under a key prefix of its own, so parallel tests and test runs do not share
//! buckets. The requests go to a route that answers without the database (a malformed id), so
//! the timing depends on the limiter alone.

use std::time::{Duration, Instant};

use http::StatusCode;
use profile_api::config::Config;
use serde_json::json;

use crate::harness::{TestApp, TestResponse, test_config, uid};

const PATH: &str = "/api/v1/users/profile/not-an-id";

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test uses.
fn unique_prefix() -> String {
    format!("profile-api-test:{}:", uuid::Uuid::new_v4())
}

fn limited(per_second: u32, burst: u32, redis_url: Option<String>) -> Config {
    let mut config = test_config();
    config.http.rate_limit_per_second = per_second;
    config.http.rate_limit_burst = burst;
    config.redis.url = redis_url.map(secrecy::SecretString::from);
    config.redis.key_prefix = unique_prefix();
    config
}

#[track_caller]
fn assert_fields(response: &TestResponse, policy: &str, limit: &str) {
    assert_eq!(response.header("ratelimit-policy"), policy);
    assert_eq!(response.header("ratelimit"), limit);
}

async fn redis_keys(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url()).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis (start it or set TEST_REDIS_URL)");
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS")
}

/// The fields of draft-ietf-httpapi-ratelimit-headers-11 on every limited response, with the
/// values of a 2-request bucket refilled at 1 per second; `Retry-After` on the 429.
#[tokio::test]
async fn responses_carry_the_ratelimit_fields() {
    let app = TestApp::with_config(limited(1, 2, None)).await;
    let policy = "\"default\";q=2;w=2";
    let first = app.get(PATH).send().await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
    assert_fields(&first, policy, "\"default\";r=1;t=1");
    let second = app.get(PATH).send().await;
    assert_fields(&second, policy, "\"default\";r=0;t=2");
    let refused = app.get(PATH).send().await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_fields(&refused, policy, "\"default\";r=0;t=2");
    assert_eq!(refused.header("retry-after"), "1");
    // GraphQL is limited by the same buckets and says so the same way.
    let graphql = app.graphql("{ viewer { id } }", json!({})).send().await;
    assert_eq!(graphql.status, StatusCode::TOO_MANY_REQUESTS);
    assert_fields(&graphql, policy, "\"default\";r=0;t=2");
    // Operational endpoints are not limited and carry no fields.
    let health = app.get("/healthz").send().await;
    assert_eq!(health.status, StatusCode::OK);
    assert!(health.headers.get("ratelimit").is_none());
    assert!(health.headers.get("ratelimit-policy").is_none());
    // A token's user has a bucket of their own.
    let user = app.get(PATH).bearer(&app.token(&uid(1))).send().await;
    assert_fields(&user, policy, "\"default\";r=1;t=1");
}

#[tokio::test]
async fn without_a_limit_there_are_no_fields() {
    let app = TestApp::new().await;
    let response = app.get(PATH).send().await;
    assert!(response.headers.get("ratelimit").is_none());
    assert!(response.headers.get("ratelimit-policy").is_none());
}

/// Two instances on one Redis admit together what one limit admits; each on its own would admit
/// the burst twice.
#[tokio::test]
async fn instances_sharing_redis_admit_one_limit() {
    let config = limited(1, 5, Some(redis_url()));
    let prefix = config.redis.key_prefix.clone();
    let a = TestApp::with_config(config.clone()).await;
    let b = TestApp::with_config(config).await;
    let token = a.token(&uid(7));
    let started = Instant::now();
    let mut admitted = 0;
    let mut first = None;
    for i in 0..20 {
        let app = if i % 2 == 0 { &a } else { &b };
        let response = app.get(PATH).bearer(&token).send().await;
        match response.status {
            StatusCode::BAD_REQUEST => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(
                    response
                        .header("retry-after")
                        .parse::<u64>()
                        .is_ok_and(|s| s >= 1)
                );
            }
            other => panic!("unexpected {other}: {}", response.text),
        }
        first.get_or_insert(response);
    }
    let elapsed = started.elapsed().as_secs();
    // The burst, plus what the steady rate gave back while the requests were being sent.
    assert!(
        (5..=5 + elapsed + 1).contains(&admitted),
        "admitted {admitted} in {elapsed}s"
    );
    let first = first.expect("a response");
    assert_fields(&first, "\"default\";q=5;w=5", "\"default\";r=4;t=1");
    // The bucket is in Redis, under the user's key.
    assert_eq!(
        redis_keys(&prefix).await,
        vec![format!("{prefix}rate:user:{}", uid(7))]
    );
}

/// Redis refusing connections: every request is still answered, by the local buckets.
#[tokio::test]
async fn an_unreachable_redis_leaves_the_limits_local() {
    let app = TestApp::with_config(limited(1, 2, Some("redis://127.0.0.1:1".to_owned()))).await;
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.get(PATH).send().await.status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A Redis that accepts connections but never answers costs a request at most the bound, and
/// only the first in each pause.
#[tokio::test]
async fn a_silent_redis_costs_a_bounded_wait() {
    let silent = SilentServer::start().await;
    let app = TestApp::with_config(limited(100, 100, Some(silent.url()))).await;
    for _ in 0..20 {
        let started = Instant::now();
        let response = app.get(PATH).send().await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.header("ratelimit-policy"), "\"default\";q=100;w=1");
        assert!(response.header("ratelimit").starts_with("\"default\";r="));
        // REDIS_WAIT is 50 ms; the rest is scheduling on a busy machine.
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
}

/// Redis cut, then back: requests are served all along, and the limits are shared again within
/// seconds, without a restart.
#[tokio::test]
async fn the_limits_are_shared_again_when_redis_returns() {
    let mut proxy = RedisProxy::start().await;
    // A bucket in Redis lives until it is full again: a second here, long enough to be seen.
    let config = limited(1, 100, Some(proxy.url()));
    let prefix = config.redis.key_prefix.clone();
    let app = TestApp::with_config(config).await;
    // Whether user n's request was decided in Redis: their bucket is there right after it.
    let decided_in_redis = async |n| {
        let response = app.get(PATH).bearer(&app.token(&uid(n))).send().await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        let key = format!("{prefix}rate:user:{}", uid(n));
        redis_keys(&prefix).await.contains(&key)
    };

    assert!(decided_in_redis(1).await);
    proxy.cut();
    for n in 2..12 {
        assert!(!decided_in_redis(n).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    for n in 100.. {
        if decided_in_redis(n).await {
            break;
        }
        assert!(Instant::now() < deadline, "Redis is not used again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client over its limit stays refused when Redis stops answering: each instance's own
/// buckets have counted its requests all along, so none hands it a fresh burst.
#[tokio::test]
async fn a_client_over_its_limit_stays_limited_when_redis_fails() {
    let mut proxy = RedisProxy::start().await;
    let app = TestApp::with_config(limited(1, 3, Some(proxy.url()))).await;
    let token = app.token(&uid(3));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.get(PATH).bearer(&token).send().await.status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::BAD_REQUEST)
            .count(),
        3
    );
    proxy.cut();
    let response = app.get(PATH).bearer(&token).send().await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.header("retry-after"), "1");
    // Another client is served by the local buckets meanwhile.
    let other = app.get(PATH).bearer(&app.token(&uid(4))).send().await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
}

/// Accepts connections and reads whatever comes, answering nothing.
struct SilentServer {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Self { port, task }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP proxy to the test Redis that can be cut and restored on the same port.
struct RedisProxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RedisProxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        Self {
            port,
            task: Some(tokio::spawn(Self::serve(listener))),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Closes every connection and refuses new ones.
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind");
        self.task = Some(tokio::spawn(Self::serve(listener)));
    }

    async fn serve(listener: tokio::net::TcpListener) {
        let upstream = redis_url();
        let address = upstream
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap_or("127.0.0.1:6379")
            .to_owned();
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let address = address.clone();
            connections.spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(&address).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    }
}

impl Drop for RedisProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
