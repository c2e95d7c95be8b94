//! Per-request DataLoaders: every user, username and counter a GraphQL operation asks for is
//! read in one statement per kind, however many fields and aliases ask. They are built per
//! request (they read as the request's viewer, and their cache must not outlive it).

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use crate::db::Db;
use crate::db::profiles::{self as queries, Keys, UserForViewer};
use crate::error::AppError;
use crate::identity::Viewer;
use crate::profiles::{FollowCounts, ObjectId, UsernameKey};

/// Errors are shared by every field waiting on a batch, hence `Clone`.
pub type LoadError = AppError;

/// The loaders of one request.
pub struct Loaders {
    /// Users by id, as the viewer sees them.
    pub users: DataLoader<UserLoader, HashMapCache>,
    /// Users by folded username, as the viewer sees them.
    pub usernames: DataLoader<UsernameLoader, HashMapCache>,
    /// Follower and following counts by user id.
    pub counts: DataLoader<CountsLoader, HashMapCache>,
}

impl Loaders {
    /// Loaders reading as `viewer`.
    pub fn new(db: &Db, viewer: &Viewer) -> Self {
        let viewer = viewer.user_id().cloned();
        Self {
            users: loader(UserLoader {
                db: db.clone(),
                viewer: viewer.clone(),
            }),
            usernames: loader(UsernameLoader {
                db: db.clone(),
                viewer,
            }),
            counts: loader(CountsLoader { db: db.clone() }),
        }
    }
}

fn loader<T: Loader<K>, K: Send + Sync + std::hash::Hash + Eq + Clone + 'static>(
    inner: T,
) -> DataLoader<T, HashMapCache> {
    // No delay: the keys of sibling fields are queued in the same poll of the request's task,
    // before the batch task that the first key spawned gets to run, so waiting buys nothing.
    DataLoader::with_cache(inner, tokio::spawn, HashMapCache::default()).delay(Duration::ZERO)
}

/// Loads users by id.
pub struct UserLoader {
    db: Db,
    viewer: Option<ObjectId>,
}

impl Loader<ObjectId> for UserLoader {
    type Value = (UserForViewer, FollowCounts);
    type Error = LoadError;

    async fn load(&self, keys: &[ObjectId]) -> Result<HashMap<ObjectId, Self::Value>, LoadError> {
        crate::metrics::record_batch("users", keys.len());
        let mut conn = self.db.conn().await?;
        let users = queries::find_many(&mut conn, Keys::Ids(keys), self.viewer.as_ref()).await?;
        Ok(users
            .into_iter()
            .map(|u| (u.0.user.id.clone(), u))
            .collect())
    }
}

/// Loads users by folded username.
pub struct UsernameLoader {
    db: Db,
    viewer: Option<ObjectId>,
}

impl Loader<UsernameKey> for UsernameLoader {
    type Value = (UserForViewer, FollowCounts);
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[UsernameKey],
    ) -> Result<HashMap<UsernameKey, Self::Value>, LoadError> {
        crate::metrics::record_batch("usernames", keys.len());
        let mut conn = self.db.conn().await?;
        let users =
            queries::find_many(&mut conn, Keys::Usernames(keys), self.viewer.as_ref()).await?;
        Ok(users
            .into_iter()
            .filter_map(|u| Some((UsernameKey::parse_lookup(&u.0.user.username)?, u)))
            .collect())
    }
}

/// Loads follower and following counts.
pub struct CountsLoader {
    db: Db,
}

impl Loader<ObjectId> for CountsLoader {
    type Value = FollowCounts;
    type Error = LoadError;

    async fn load(&self, keys: &[ObjectId]) -> Result<HashMap<ObjectId, FollowCounts>, LoadError> {
        crate::metrics::record_batch("counts", keys.len());
        let mut conn = self.db.conn().await?;
        let counts = queries::follow_counts(&mut conn, keys).await?;
        Ok(counts.into_iter().collect())
    }
}
