//! Buckets kept in Redis, so every instance draws on the same budget: one atomic script call per
//! request (GCRA, the algorithm governor uses locally), run by its SHA (`EVALSHA`, loaded again
//! by the crate when Redis answers `NOSCRIPT`).
//!
//! Redis must never turn into a client error: a call is cut after [`REDIS_WAIT`], and after a
//! failure the local buckets decide for [`PAUSE_AFTER_FAILURE`] before Redis is tried again, so a
//! hung Redis costs one slow request per pause, not every request. The connection manager
//! reconnects by itself; the outage is logged when it starts and when it ends, not per request,
//! and counted in `rate_limit_redis_errors_total`.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use secrecy::{ExposeSecret, SecretString};

use super::{Decision, record_decision};

/// Longest wait for Redis before the request is decided locally; Redis on the same network
/// answers in well under a millisecond.
pub const REDIS_WAIT: Duration = Duration::from_millis(50);
/// How long the local buckets decide alone after Redis failed.
pub const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// GCRA over one key. KEYS[1]: the client's bucket. ARGV[1]: microseconds per request (one
/// second over the rate); ARGV[2]: the burst. The key holds the theoretical arrival time (TAT)
/// in microseconds of Redis's clock, so instances' clocks do not matter; it expires when the
/// bucket is full again. Returns {admitted (1 or 0), requests remaining, microseconds until
/// one request would be admitted}.
///
/// Numbers are written with `%d`: Lua's default formatting keeps only 14 digits, fewer than a
/// timestamp in microseconds has.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local capacity = interval * tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local admit_at = next_tat - capacity
if now < admit_at then
  return {0, 0, admit_at - now}
end
local ttl = math.ceil((next_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', ttl)
return {1, math.floor((capacity - (next_tat - now)) / interval), 0}
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA));
/// The origin of the pause clock below (an `Instant` cannot live in an atomic).
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Rate limiting shared by all instances through Redis.
pub struct SharedLimiter {
    client: Client,
    /// Made on first use: the connection manager needs the async runtime.
    connection: OnceLock<Option<ConnectionManager>>,
    key_prefix: String,
    interval_micros: u64,
    burst: u32,
    /// Milliseconds since [`EPOCH`] before which Redis is not asked.
    paused_until: AtomicU64,
    /// Whether the last call failed: the outage is logged once, when it begins.
    failing: AtomicBool,
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimiter")
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl SharedLimiter {
    /// A limiter on the Redis at `url`; `None` (with an error logged) when the URL is not one
    /// the client understands — the configuration has checked it already.
    pub fn new(
        url: &SecretString,
        key_prefix: &str,
        per_second: NonZeroU32,
        burst: NonZeroU32,
    ) -> Option<Self> {
        let client = match Client::open(url.expose_secret()) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "REDIS_URL is not usable: rate limits stay per instance");
                return None;
            }
        };
        Some(Self {
            client,
            connection: OnceLock::new(),
            key_prefix: key_prefix.to_owned(),
            interval_micros: (1_000_000 / u64::from(per_second.get())).max(1),
            burst: burst.get(),
            paused_until: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        })
    }

    /// The decision for the client `key`, or `None` when Redis did not give one in time.
    pub async fn check(&self, key: &str) -> Option<Decision> {
        let now = millis_since_epoch();
        if now < self.paused_until.load(Ordering::Relaxed) {
            return None;
        }
        let mut connection = self.connection()?;
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(format!("{}rate:{key}", self.key_prefix))
            .arg(self.interval_micros)
            .arg(self.burst);
        let call = invocation.invoke_async::<(u8, u32, u64)>(&mut connection);
        match tokio::time::timeout(REDIS_WAIT, call).await {
            Ok(Ok((admitted, remaining, wait_micros))) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again: rate limits are shared across instances");
                }
                record_decision("redis", admitted == 1);
                Some(Decision {
                    admitted: admitted == 1,
                    remaining,
                    retry_after: Duration::from_micros(wait_micros),
                })
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

    fn connection(&self) -> Option<ConnectionManager> {
        self.connection
            .get_or_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_secs(1)))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_secs(1));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .inspect_err(|e| {
                        tracing::error!(error = %e, "cannot set up the Redis connection: rate limits stay per instance");
                    })
                    .ok()
            })
            .clone()
    }

    /// Counts a failed call, pauses Redis for a while and says so when an outage begins.
    fn failed(&self, kind: &'static str, error: &dyn std::fmt::Display) {
        metrics::counter!("rate_limit_redis_errors_total", "kind" => kind).increment(1);
        let until = millis_since_epoch() + PAUSE_AFTER_FAILURE.as_millis() as u64;
        self.paused_until.store(until, Ordering::Relaxed);
        if !self.failing.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %error,
                "Redis does not answer: rate limits are per instance until it does"
            );
        }
    }
}

fn millis_since_epoch() -> u64 {
    u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX)
}
