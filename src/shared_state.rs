//! Redis, where instances keep what they share (SPEC §8): the rate limits' buckets
//! ([`crate::rate_limit`]) and users' write positions ([`crate::db::consistency`]).
//!
//! Redis must never turn into a client error: every call is cut after [`REDIS_WAIT`], and after
//! a failure Redis is not asked again for [`PAUSE_AFTER_FAILURE`], so a hung Redis costs one slow
//! request per pause, not every request. The connection is made on first use (the manager
//! needs the runtime) and reconnects by itself; an outage is logged when it starts and when it
//! ends, not per call, and counted in `redis_errors_total` by use and kind.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult};
use secrecy::ExposeSecret;

use crate::config::RedisConfig;

/// Longest wait for Redis; Redis on the same network answers in well under a millisecond.
pub const REDIS_WAIT: Duration = Duration::from_millis(50);
/// How long Redis is left alone after a failure.
pub const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// The origin of the pause clock (an `Instant` cannot live in an atomic).
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// One use of the shared Redis (its own connection, pause and outage log).
pub struct SharedState {
    client: Client,
    connection: OnceLock<Option<ConnectionManager>>,
    key_prefix: String,
    /// What this use is, for logs and metrics (`rate_limit`, `write_positions`).
    purpose: &'static str,
    /// What an outage means for clients, for the log.
    meanwhile: &'static str,
    /// Milliseconds since [`EPOCH`] before which Redis is not asked.
    paused_until: AtomicU64,
    /// Whether the last call failed: the outage is logged once, when it begins.
    failing: AtomicBool,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("purpose", &self.purpose)
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl SharedState {
    /// Redis as `config` names it, for `purpose`; `None` without `REDIS_URL` (or, logged, with
    /// one the client cannot use — the configuration has checked it already). `meanwhile` says
    /// what an outage means, for the log.
    pub fn new(
        config: &RedisConfig,
        purpose: &'static str,
        meanwhile: &'static str,
    ) -> Option<Self> {
        let url = config.url.as_ref()?;
        let client = match Client::open(url.expose_secret()) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, purpose, "REDIS_URL is not usable: {meanwhile}");
                return None;
            }
        };
        Some(Self {
            client,
            connection: OnceLock::new(),
            key_prefix: config.key_prefix.clone(),
            purpose,
            meanwhile,
            paused_until: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        })
    }

    /// Connects now rather than on the first call, so that the first request does not pay for
    /// the connection (and, on a loaded machine, miss the wait): a `PING`, in the background.
    pub fn connect_early(self: &std::sync::Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Some(mut connection) = this.connection() {
                let ping = redis::cmd("PING");
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    ping.query_async::<String>(&mut connection),
                )
                .await;
            }
        });
    }

    /// The full name of a key: the deployment's prefix, then `name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.key_prefix)
    }

    /// A connection to call Redis with, unless Redis is paused after a failure.
    pub fn connection(&self) -> Option<ConnectionManager> {
        if millis_since_epoch() < self.paused_until.load(Ordering::Relaxed) {
            return None;
        }
        self.connection
            .get_or_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_secs(1)))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_secs(1));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .inspect_err(|e| {
                        tracing::error!(error = %e, purpose = self.purpose, "cannot set up the Redis connection: {}", self.meanwhile);
                    })
                    .ok()
            })
            .clone()
    }

    /// Awaits a call for at most [`REDIS_WAIT`]: its answer, or `None` (counted, logged when
    /// an outage begins, and Redis left alone for a while).
    pub async fn bounded<T>(&self, call: impl Future<Output = RedisResult<T>>) -> Option<T> {
        match tokio::time::timeout(REDIS_WAIT, call).await {
            Ok(Ok(answer)) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(purpose = self.purpose, "Redis answers again");
                }
                Some(answer)
            }
            Ok(Err(e)) => {
                self.failed("error", &e);
                None
            }
            Err(_) => {
                self.failed("timeout", &format_args!("no answer within {REDIS_WAIT:?}"));
                None
            }
        }
    }

    fn failed(&self, kind: &'static str, error: &dyn std::fmt::Display) {
        metrics::counter!("redis_errors_total", "use" => self.purpose, "kind" => kind).increment(1);
        let until = millis_since_epoch() + PAUSE_AFTER_FAILURE.as_millis() as u64;
        self.paused_until.store(until, Ordering::Relaxed);
        if !self.failing.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, purpose = self.purpose, "Redis does not answer: {}", self.meanwhile);
        }
    }
}

fn millis_since_epoch() -> u64 {
    u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX)
}
