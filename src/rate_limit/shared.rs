//! Buckets kept in Redis, so every instance draws on the same budget: one atomic script call per
//! request (GCRA, the algorithm governor uses locally), run by its SHA (`EVALSHA`, loaded again
//! by the crate when Redis answers `NOSCRIPT`). Every call is bounded and a failing Redis is left
//! alone for a while ([`SharedState`]); the local buckets decide meanwhile.

use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::{Decision, record_decision};
use crate::config::RedisConfig;
use crate::shared_state::SharedState;

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

/// Rate limiting shared by all instances through Redis.
#[derive(Debug)]
pub struct SharedLimiter {
    redis: std::sync::Arc<SharedState>,
    interval_micros: u64,
    burst: u32,
}

impl SharedLimiter {
    /// A limiter on the Redis `config` names; `None` without one.
    pub fn new(config: &RedisConfig, per_second: NonZeroU32, burst: NonZeroU32) -> Option<Self> {
        let limiter = Some(Self {
            redis: std::sync::Arc::new(SharedState::new(
                config,
                "rate_limit",
                "rate limits are per instance until it does",
            )?),
            interval_micros: (1_000_000 / u64::from(per_second.get())).max(1),
            burst: burst.get(),
        });
        if let Some(limiter) = &limiter {
            limiter.redis.connect_early();
        }
        limiter
    }

    /// The decision for the client `key`, or `None` when Redis did not give one in time.
    pub async fn check(&self, key: &str) -> Option<Decision> {
        let mut connection = self.redis.connection()?;
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(self.redis.key(&format!("rate:{key}")))
            .arg(self.interval_micros)
            .arg(self.burst);
        let (admitted, remaining, wait_micros) = self
            .redis
            .bounded(invocation.invoke_async::<(u8, u32, u64)>(&mut connection))
            .await?;
        record_decision("redis", admitted == 1);
        Some(Decision {
            admitted: admitted == 1,
            remaining,
            retry_after: Duration::from_micros(wait_micros),
        })
    }
}
