//! Per-client rate limiting (SPEC §3's 429): a token bucket per client — the user of a validly
//! signed token, otherwise the peer address — so one busy client cannot starve the others.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::context::RequestContext;
use crate::identity::Credentials;

/// The limiter shared by all requests.
#[derive(Clone)]
pub struct RateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter of `per_second` requests with bursts of `burst`; `None` when `per_second` is 0.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Some(Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            )),
        })
    }

    /// Admits a request, or says how long the client should wait.
    pub fn check(&self, ctx: &RequestContext, peer: Option<SocketAddr>) -> Result<(), Duration> {
        let key = match &ctx.credentials {
            Credentials::Token(token) => format!("user:{}", token.user_id),
            _ => peer.map_or_else(|| "peer:unknown".to_owned(), |p| format!("peer:{}", p.ip())),
        };
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets clients whose buckets are full again, so memory does not grow with every address
    /// ever seen; call it now and then.
    pub fn forget_idle_clients(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
