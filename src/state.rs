//! What every request handler shares: the database, the token keys and the settings.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::identity::TokenKeys;

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
}

impl AppState {
    /// Bundles the parts built at start-up.
    pub fn new(db: Db, keys: TokenKeys, config: Config) -> Self {
        Self {
            inner: Arc::new(Inner { db, keys, config }),
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

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}
