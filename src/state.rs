//! What every request handler shares: the database, the token keys and the settings.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::identity::TokenKeys;
use crate::profiles::live::Live;
use crate::rate_limit::RateLimiter;

/// Shared, immutable application state.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    keys: TokenKeys,
    config: Config,
    rate_limiter: Option<RateLimiter>,
    live: Live,
}

impl AppState {
    /// Bundles the parts built at start-up.
    pub fn new(db: Db, keys: TokenKeys, config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                rate_limiter: RateLimiter::new(
                    config.http.rate_limit_per_second,
                    config.http.rate_limit_burst,
                    &config.redis,
                ),
                live: Live::new(db.clone()),
                db,
                keys,
                config,
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The token keys.
    pub fn keys(&self) -> &TokenKeys {
        &self.inner.keys
    }

    /// The rate limiter, when rate limiting is on.
    pub fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.inner.rate_limiter.as_ref()
    }

    /// The live-profile hub (subscriptions).
    pub fn live(&self) -> &Live {
        &self.inner.live
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}
