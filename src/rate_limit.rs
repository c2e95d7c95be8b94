//! Per-client rate limiting (SPEC §3's 429): a token bucket per client — the user of a validly
//! signed token, otherwise the peer address — so one busy client cannot starve the others.
//!
//! With `REDIS_URL` the buckets live in Redis (see [`shared`]), so that all instances together
//! admit what one limit admits; without it, or while Redis does not answer, each process keeps
//! its own buckets (governor's GCRA), which is what a single instance needs.
//!
//! Clients see their budget in the IETF fields of draft-ietf-httpapi-ratelimit-headers-11
//! (May 2026): `RateLimit-Policy: "default";q=<burst>;w=<seconds to refill>` and
//! `RateLimit: "default";r=<remaining>;t=<seconds until the bucket is full>`.

mod shared;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::config::RedisConfig;
use crate::context::RequestContext;
use crate::identity::Credentials;

pub use shared::SharedLimiter;

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-11 §3).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11 §4).
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// The name of our one quota policy in both fields.
const POLICY_NAME: &str = "default";

type LocalLimiter =
    Governor<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The limiter shared by all requests.
#[derive(Clone)]
pub struct RateLimiter {
    per_second: NonZeroU32,
    burst: NonZeroU32,
    local: Arc<LocalLimiter>,
    shared: Option<Arc<SharedLimiter>>,
    /// `RateLimit-Policy`, the same on every response.
    policy: HeaderValue,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub admitted: bool,
    /// Whole requests the client may still send at once.
    pub remaining: u32,
    /// When refused: how long until one request would be admitted.
    pub retry_after: Duration,
}

impl RateLimiter {
    /// A limiter of `per_second` requests with bursts of `burst` (the rate when 0), shared through
    /// Redis when `redis` has a URL; `None` when `per_second` is 0.
    pub fn new(per_second: u32, burst: u32, redis: &RedisConfig) -> Option<Self> {
        let per_second = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(per_second);
        let local = Governor::keyed(Quota::per_second(per_second).allow_burst(burst))
            .with_middleware::<StateInformationMiddleware>();
        let shared = SharedLimiter::new(redis, per_second, burst).map(Arc::new);
        // The window is the time an empty bucket takes to fill: q/w is the steady rate.
        let window = burst.get().div_ceil(per_second.get());
        let policy = HeaderValue::from_str(&format!("\"{POLICY_NAME}\";q={burst};w={window}"))
            .unwrap_or_else(|_| HeaderValue::from_static("\"default\""));
        Some(Self {
            per_second,
            burst,
            local: Arc::new(local),
            shared,
            policy,
        })
    }

    /// Decides on a request: in Redis when it is configured and answers in time, else here.
    ///
    /// Every request also draws on this instance's own bucket, even when Redis decides: when
    /// Redis stops answering, the local buckets already hold what this instance has seen, so a
    /// client hammering the service stays refused rather than being handed a fresh burst by
    /// every instance, while a client within its limit (a third of its requests on each of
    /// three instances, say) is not refused by them.
    pub async fn check(&self, ctx: &RequestContext, peer: Option<SocketAddr>) -> Decision {
        let key = match &ctx.credentials {
            Credentials::Token(token) => format!("user:{}", token.user_id),
            _ => peer.map_or_else(|| "peer:unknown".to_owned(), |p| format!("peer:{}", p.ip())),
        };
        let local = self.check_locally(&key);
        if let Some(shared) = &self.shared
            && let Some(decision) = shared.check(&key).await
        {
            return decision;
        }
        record_decision("local", local.admitted);
        local
    }

    fn check_locally(&self, key: &String) -> Decision {
        match self.local.check_key(key) {
            Ok(state) => Decision {
                admitted: true,
                remaining: state.remaining_burst_capacity(),
                retry_after: Duration::ZERO,
            },
            Err(not_until) => Decision {
                admitted: false,
                remaining: 0,
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            },
        }
    }

    /// Adds `RateLimit-Policy` and `RateLimit` for `decision` to a response's headers.
    pub fn add_headers(&self, decision: &Decision, headers: &mut HeaderMap) {
        // Seconds until the whole burst is back: the missing requests at the steady rate,
        // rounded up (delay-seconds have no fractions).
        let missing = self.burst.get().saturating_sub(decision.remaining);
        let reset = missing.div_ceil(self.per_second.get());
        headers.insert(RATELIMIT_POLICY, self.policy.clone());
        if let Ok(value) = HeaderValue::from_str(&format!(
            "\"{POLICY_NAME}\";r={};t={reset}",
            decision.remaining
        )) {
            headers.insert(RATELIMIT, value);
        }
    }

    /// Forgets clients whose buckets are full again, so memory does not grow with every address
    /// ever seen; call it now and then. (Redis expires full buckets by itself.)
    pub fn forget_idle_clients(&self) {
        self.local.retain_recent();
        self.local.shrink_to_fit();
    }
}

/// Counts a decision by where it was taken and what it was.
fn record_decision(store: &'static str, admitted: bool) {
    let outcome = if admitted { "admitted" } else { "limited" };
    metrics::counter!("rate_limit_decisions_total", "store" => store, "outcome" => outcome)
        .increment(1);
}

/// `Retry-After` for a refused request: whole seconds, at least one.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
