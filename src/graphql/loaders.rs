//! Per-request DataLoaders: every user a GraphQL operation asks for, by id or by username, is
//! read through the one read path ([`service::read_profiles`]) in one batch per kind, however
//! many fields and aliases ask. They are built per request (they read as the request's viewer,
//! and their cache must not outlive it).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use crate::error::{AppError, AppResult};
use crate::identity::Viewer;
use crate::profiles::service;
use crate::profiles::{ObjectId, ProfileKeys, UsernameKey, VisibleProfile};
use crate::state::AppState;

/// A user as one key resolves: the profile the viewer may see, or why not. Shared by every
/// field waiting on the key, hence `Clone` (a profile is reference-counted inside).
pub type Loaded = AppResult<VisibleProfile>;

/// The loaders of one request.
pub struct Loaders {
    /// Users by id, as the viewer sees them.
    pub users: DataLoader<ProfileLoader, HashMapCache>,
    /// Users by folded username, as the viewer sees them.
    pub usernames: DataLoader<ProfileLoader, HashMapCache>,
}

impl Loaders {
    /// Loaders reading as `viewer`.
    pub fn new(state: &AppState, viewer: &Viewer) -> Self {
        let loader = || ProfileLoader {
            state: state.clone(),
            viewer: viewer.clone(),
        };
        // No delay: the keys of sibling fields are queued in the same poll of the request's task,
        // before the batch task that the first key spawned gets to run, so waiting buys nothing.
        let build = |inner| {
            DataLoader::with_cache(inner, tokio::spawn, HashMapCache::default())
                .delay(Duration::ZERO)
        };
        Self {
            users: build(loader()),
            usernames: build(loader()),
        }
    }

    /// The user `id` names, as the viewer may see it.
    pub async fn user(&self, id: ObjectId) -> Loaded {
        self.users
            .load_one(id)
            .await?
            .unwrap_or(Err(AppError::NotFound))
    }

    /// The user `key` names, as the viewer may see it.
    pub async fn user_by_username(&self, key: UsernameKey) -> Loaded {
        self.usernames
            .load_one(key)
            .await?
            .unwrap_or(Err(AppError::NotFound))
    }

    /// The users `ids` name, in their order.
    pub async fn users(&self, ids: &[ObjectId]) -> AppResult<Vec<Loaded>> {
        let loaded = self.users.load_many(ids.iter().cloned()).await?;
        Ok(ids
            .iter()
            .map(|id| loaded.get(id).cloned().unwrap_or(Err(AppError::NotFound)))
            .collect())
    }
}

/// Reads batches of users through the one read path, as the request's viewer.
pub struct ProfileLoader {
    state: AppState,
    viewer: Viewer,
}

impl ProfileLoader {
    /// Reads `as_keys` (the same `keys`) and answers each key.
    async fn load_keys<K: Clone + Eq + Hash>(
        &self,
        name: &'static str,
        keys: &[K],
        as_keys: ProfileKeys<'_>,
    ) -> AppResult<HashMap<K, Loaded>> {
        crate::metrics::record_batch(name, keys.len());
        let read = service::read_profiles(self.state.db(), &self.viewer, as_keys).await?;
        Ok(keys.iter().cloned().zip(read).collect())
    }
}

impl Loader<ObjectId> for ProfileLoader {
    type Value = Loaded;
    type Error = AppError;

    async fn load(&self, keys: &[ObjectId]) -> AppResult<HashMap<ObjectId, Loaded>> {
        self.load_keys("users", keys, ProfileKeys::Ids(keys)).await
    }
}

impl Loader<UsernameKey> for ProfileLoader {
    type Value = Loaded;
    type Error = AppError;

    async fn load(&self, keys: &[UsernameKey]) -> AppResult<HashMap<UsernameKey, Loaded>> {
        self.load_keys("usernames", keys, ProfileKeys::Usernames(keys))
            .await
    }
}
