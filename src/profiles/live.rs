//! Live profiles (SPEC §8): subscribers watch up to 100 profiles each and are told of every
//! change that alters what they may see.
//!
//! One hub per instance follows the database's change stream — the same stream the profile
//! cache follows, so a change made on any instance, by `import` or in `psql` reaches every
//! subscriber — and fans each batch of changes out to the watches that name a changed profile.
//! Whether a watcher may see a profile is decided **per event**, by the one read path
//! ([`service::read_profiles`]) as that watcher, after the change: a profile that went private,
//! blocked the watcher or was deactivated is no longer delivered, and the watcher is told once
//! that it lost it (telling it again on every later change would say that the hidden profile
//! changes). A batch reads each changed profile once per distinct viewer; reads go through the
//! coherent cache, so most cost no database round trip.
//!
//! Every watch keeps at most one undelivered update per id — the latest — so a subscriber that
//! reads slowly gets coalesced latest states, and what a watch holds is bounded by its ids
//! whatever the rate of changes. The fan-out never waits for a subscriber.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use tokio::sync::{Notify, broadcast};

use super::model::AvailabilityStatus;
use super::rules::IDS_PER_READ_MAX;
use super::service;
use super::{ObjectId, ProfileKeys, VisibleProfile};
use crate::db::Db;
use crate::db::changes::{Change, StreamEvent};
use crate::error::{AppError, AppResult};
use crate::i18n::MessageId;
use crate::identity::Viewer;

/// How many viewers' reads a batch runs at once: enough to overlap the few that miss the cache,
/// few enough to leave the pool to requests.
const READ_CONCURRENCY: usize = 8;

/// What a watch is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// Every change of what the watcher sees of the profile (counts and relations included).
    Profile,
    /// Changes of the availability status only.
    Availability,
}

/// What a watcher is told about one of its ids.
#[derive(Debug, Clone)]
pub enum Update {
    /// The profile as the watcher may see it now (a [`WatchKind::Profile`] watch).
    Profile(VisibleProfile),
    /// The user's availability, now visible to the watcher, changed (a
    /// [`WatchKind::Availability`] watch).
    Availability {
        /// Whose.
        user: ObjectId,
        /// The new status.
        status: AvailabilityStatus,
        /// When the change was made (the database's clock).
        at: DateTime<Utc>,
    },
    /// The watcher may not see `user` (any more): why, as a read would say.
    Hidden {
        /// Whom.
        user: ObjectId,
        /// Not found (missing or deactivated), blocked, or private.
        error: AppError,
    },
    /// The watcher's own account was deactivated: its token is no longer valid, and the watch
    /// ends after this update.
    Revoked(AppError),
}

/// The live-profile hub of one instance (cheap to clone).
#[derive(Clone)]
pub struct Live {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("watches", &lock(&self.hub.registry).watches.len())
            .finish()
    }
}

struct Hub {
    db: Db,
    registry: Mutex<Registry>,
    /// Set once the fan-out task runs (it starts with the first watch).
    started: OnceLock<()>,
}

#[derive(Default)]
struct Registry {
    next_key: u64,
    watches: HashMap<u64, Arc<Watched>>,
    /// The watches naming each user.
    by_user: HashMap<ObjectId, Vec<u64>>,
    /// The watches of each signed-in viewer.
    by_viewer: HashMap<ObjectId, Vec<u64>>,
}

struct Watched {
    viewer: Viewer,
    ids: Vec<ObjectId>,
    kind: WatchKind,
    state: Mutex<WatchState>,
    notify: Notify,
}

/// What a watch holds between updates. Ten thousand watches of ten ids each are a common load,
/// so it is kept small: what the watcher knows is one slot per id, in the order of
/// [`Watched::ids`] (no map, no second copy of the ids), and the undelivered updates are freed
/// as soon as they are all delivered.
#[derive(Default)]
struct WatchState {
    /// The latest undelivered update per id, oldest first (at most one per id).
    pending: Vec<(ObjectId, Update)>,
    /// What the watcher last learnt (or, before any update, could see), by the id's position
    /// in [`Watched::ids`]; `None` before anything was learnt.
    known: Vec<Option<Known>>,
    /// The watch was revoked: nothing more is said.
    revoked: bool,
}

impl WatchState {
    /// Owes the watcher `update` about `id`, replacing an undelivered one about it (which keeps
    /// its place in the order).
    fn owe(&mut self, id: &ObjectId, update: Update) {
        match self.pending.iter_mut().find(|(owed, _)| owed == id) {
            Some((_, owed)) => *owed = update,
            None => self.pending.push((id.clone(), update)),
        }
    }

    /// The oldest undelivered update.
    fn take_oldest(&mut self) -> Option<Update> {
        if self.pending.is_empty() {
            return None;
        }
        let (_, update) = self.pending.remove(0);
        if self.pending.is_empty() {
            // Most watches wait with nothing owed: they keep no buffer for it.
            self.pending = Vec::new();
        }
        Some(update)
    }
}

enum Known {
    Visible(VisibleProfile),
    Hidden,
}

/// Locks a mutex whose data stays consistent even if a holder panicked (each update is one
/// assignment), so a poisoned lock is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Live {
    /// A hub reading through `db`; it follows the change stream from the first watch on.
    pub fn new(db: Db) -> Self {
        Self {
            hub: Arc::new(Hub {
                db,
                registry: Mutex::default(),
                started: OnceLock::new(),
            }),
        }
    }

    /// Starts watching `ids` (at most [`IDS_PER_READ_MAX`], duplicates ignored) as `viewer`. The
    /// ids the viewer may not see now are reported at once as [`Update::Hidden`]; after that,
    /// updates come as the profiles change. Must be called inside the Tokio runtime.
    pub async fn watch(
        &self,
        viewer: Viewer,
        ids: &[ObjectId],
        kind: WatchKind,
    ) -> AppResult<Watch> {
        let mut distinct: Vec<ObjectId> = Vec::with_capacity(ids.len());
        for id in ids {
            if !distinct.contains(id) {
                distinct.push(id.clone());
            }
        }
        self.start();
        distinct.shrink_to_fit();
        let known = std::iter::repeat_with(|| None)
            .take(distinct.len())
            .collect();
        let watched = Arc::new(Watched {
            viewer,
            ids: distinct,
            kind,
            state: Mutex::new(WatchState {
                known,
                ..WatchState::default()
            }),
            notify: Notify::new(),
        });
        // Registered before the first read: a change committed meanwhile is seen by the fan-out.
        let key = {
            let mut registry = lock(&self.hub.registry);
            let key = registry.next_key;
            registry.next_key += 1;
            for id in &watched.ids {
                registry.by_user.entry(id.clone()).or_default().push(key);
            }
            if let Some(viewer) = watched.viewer.user_id() {
                registry
                    .by_viewer
                    .entry(viewer.clone())
                    .or_default()
                    .push(key);
            }
            registry.watches.insert(key, watched.clone());
            metrics::gauge!("live_watches").set(registry.watches.len() as f64);
            key
        };
        let watch = Watch {
            hub: self.hub.clone(),
            key,
            watched,
        };
        let found = service::read_profiles(
            &self.hub.db,
            &watch.watched.viewer,
            ProfileKeys::Ids(&watch.watched.ids),
        )
        .await?;
        for (index, found) in found.into_iter().enumerate() {
            watch.watched.baseline(index, found);
        }
        Ok(watch)
    }

    fn start(&self) {
        self.hub.started.get_or_init(|| {
            let changes = self.hub.db.subscribe_changes();
            tokio::spawn(fan_out(Arc::downgrade(&self.hub), changes));
        });
    }
}

/// A watch: its updates, until it is dropped.
pub struct Watch {
    hub: Arc<Hub>,
    key: u64,
    watched: Arc<Watched>,
}

impl Watch {
    /// The next update (the oldest id's latest state), waiting for one if need be.
    pub async fn next(&self) -> Update {
        loop {
            if let Some(update) = lock(&self.watched.state).take_oldest() {
                return update;
            }
            // A notification sent since the check is kept as a permit: none is lost.
            self.watched.notify.notified().await;
        }
    }

    /// The updates as a stream, which ends after [`Update::Revoked`].
    pub fn into_stream(self) -> impl Stream<Item = Update> + Send + 'static {
        futures_util::stream::unfold(Some(self), |watch| async move {
            let watch = watch?;
            let update = watch.next().await;
            let next = (!matches!(update, Update::Revoked(_))).then_some(watch);
            Some((update, next))
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut registry = lock(&self.hub.registry);
        registry.watches.remove(&self.key);
        let key = self.key;
        let forget = |index: &mut HashMap<ObjectId, Vec<u64>>, id: &ObjectId| {
            if let Some(keys) = index.get_mut(id) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    index.remove(id);
                }
            }
        };
        for id in &self.watched.ids {
            forget(&mut registry.by_user, id);
        }
        if let Some(viewer) = self.watched.viewer.user_id() {
            forget(&mut registry.by_viewer, viewer);
        }
        metrics::gauge!("live_watches").set(registry.watches.len() as f64);
    }
}

impl Watched {
    /// What the first read found: remembered, and reported only if the viewer may not see it
    /// (unless the fan-out already learnt something newer).
    fn baseline(&self, index: usize, found: AppResult<VisibleProfile>) {
        let Some(id) = self.ids.get(index) else {
            return;
        };
        let mut state = lock(&self.state);
        let Some(slot @ None) = state.known.get_mut(index) else {
            return;
        };
        match found {
            Ok(profile) => *slot = Some(Known::Visible(profile)),
            Err(error) => {
                *slot = Some(Known::Hidden);
                state.owe(
                    id,
                    Update::Hidden {
                        user: id.clone(),
                        error,
                    },
                );
                drop(state);
                self.notify.notify_one();
            }
        }
    }

    /// What a read after a change found: the update the watcher is owed, if any, replaces any
    /// undelivered one for the same id.
    fn changed(&self, id: &ObjectId, found: AppResult<VisibleProfile>, at: Option<SystemTime>) {
        let Some(index) = self.ids.iter().position(|watched| watched == id) else {
            return;
        };
        let mut state = lock(&self.state);
        if state.revoked {
            return;
        }
        let Some(known) = state.known.get_mut(index) else {
            return;
        };
        let update = match found {
            Ok(profile) => {
                let before = match &*known {
                    Some(Known::Visible(before)) => Some(before),
                    _ => None,
                };
                let update = match self.kind {
                    WatchKind::Profile => (!before.is_some_and(|b| same(b, &profile)))
                        .then(|| Update::Profile(profile.clone())),
                    WatchKind::Availability => {
                        let status = profile.user().availability_status;
                        let unchanged =
                            before.is_some_and(|b| b.user().availability_status == status);
                        (!unchanged).then(|| Update::Availability {
                            user: id.clone(),
                            status,
                            at: at.map_or(profile.user().updated_at, DateTime::<Utc>::from),
                        })
                    }
                };
                *known = Some(Known::Visible(profile));
                update
            }
            Err(error) => {
                let told = matches!(known, Some(Known::Hidden));
                *known = Some(Known::Hidden);
                (!told).then(|| Update::Hidden {
                    user: id.clone(),
                    error,
                })
            }
        };
        if let Some(update) = update {
            state.owe(id, update);
            drop(state);
            self.notify.notify_one();
        }
    }
}

impl Watched {
    /// Ends the watch: what was not delivered is dropped, and the watcher is told why.
    fn revoke(&self, error: AppError) {
        let mut state = lock(&self.state);
        if state.revoked {
            return;
        }
        state.revoked = true;
        state.pending.clear();
        let key = self
            .viewer
            .user_id()
            .cloned()
            .or_else(|| self.ids.first().cloned());
        if let Some(key) = key {
            state.pending.push((key, Update::Revoked(error)));
        }
        drop(state);
        self.notify.notify_one();
    }
}

/// Whether the watcher would see nothing new.
fn same(a: &VisibleProfile, b: &VisibleProfile) -> bool {
    a.user() == b.user() && a.counts() == b.counts() && a.relation() == b.relation()
}

/// The changes of one batch of stream events.
#[derive(Default)]
struct Batch {
    /// Anything may have changed (a bulk statement, a TRUNCATE, a reconnected stream, a
    /// follower that lagged).
    everything: bool,
    /// Users whose profile or counts changed, for every watcher.
    users: HashSet<ObjectId>,
    /// Users whose availability changed, and when.
    availability: HashMap<ObjectId, SystemTime>,
    /// (viewer, user) whose relations changed: only that viewer's view of that user.
    relations: HashSet<(ObjectId, ObjectId)>,
}

impl Batch {
    fn add(&mut self, event: &StreamEvent) {
        let announced = match event {
            // Changes made while the stream was down were not seen.
            StreamEvent::Connected => {
                self.everything = true;
                return;
            }
            StreamEvent::Lost => return,
            StreamEvent::Change(announced) => announced,
        };
        match &announced.change {
            Change::Users(ids) | Change::Counts(ids) => self.users.extend(ids.iter().cloned()),
            Change::Availability(ids) => {
                let at = announced.at.unwrap_or_else(SystemTime::now);
                for id in ids {
                    self.users.insert(id.clone());
                    self.availability.insert(id.clone(), at);
                }
            }
            Change::Follows(pairs) | Change::Blocks(pairs) => {
                for (a, b) in pairs {
                    self.relations.insert((a.clone(), b.clone()));
                    self.relations.insert((b.clone(), a.clone()));
                }
            }
            Change::Everything => self.everything = true,
            Change::Marker { .. } => {}
        }
    }

    fn is_empty(&self) -> bool {
        !self.everything && self.users.is_empty() && self.relations.is_empty()
    }
}

/// Follows the stream for as long as the hub lives, one batch at a time: what arrives while a
/// batch is read is the next batch.
async fn fan_out(hub: Weak<Hub>, mut changes: broadcast::Receiver<Arc<StreamEvent>>) {
    use broadcast::error::{RecvError, TryRecvError};
    loop {
        let mut batch = Batch::default();
        match changes.recv().await {
            Ok(event) => batch.add(&event),
            Err(RecvError::Lagged(_)) => batch.everything = true,
            Err(RecvError::Closed) => return,
        }
        loop {
            match changes.try_recv() {
                Ok(event) => batch.add(&event),
                Err(TryRecvError::Lagged(_)) => batch.everything = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let Some(hub) = hub.upgrade() else { return };
        if !batch.is_empty() {
            hub.deliver(&batch).await;
        }
    }
}

/// The re-reads one viewer's watches need.
struct ViewerReads {
    viewer: Viewer,
    ids: Vec<ObjectId>,
    watches: Vec<(Arc<Watched>, Vec<ObjectId>)>,
    /// Every watch of the viewer, when its own account changed: it may have been deactivated.
    recheck_viewer: Vec<Arc<Watched>>,
}

impl Hub {
    async fn deliver(&self, batch: &Batch) {
        let groups = self.plan(batch);
        futures_util::stream::iter(groups)
            .for_each_concurrent(READ_CONCURRENCY, |group| self.reread(group, batch))
            .await;
    }

    /// Which watches must re-read which ids, grouped by viewer.
    fn plan(&self, batch: &Batch) -> Vec<ViewerReads> {
        let registry = lock(&self.registry);
        let mut dirty: HashMap<u64, Vec<ObjectId>> = HashMap::new();
        if batch.everything {
            for (key, watched) in &registry.watches {
                dirty.insert(*key, watched.ids.clone());
            }
        } else {
            for id in &batch.users {
                for key in registry.by_user.get(id).into_iter().flatten() {
                    dirty.entry(*key).or_default().push(id.clone());
                }
            }
            for (viewer, user) in &batch.relations {
                for key in registry.by_user.get(user).into_iter().flatten() {
                    let Some(watched) = registry.watches.get(key) else {
                        continue;
                    };
                    if watched.viewer.user_id() == Some(viewer) {
                        dirty.entry(*key).or_default().push(user.clone());
                    }
                }
            }
        }
        let mut groups: Vec<ViewerReads> = Vec::new();
        let mut by_viewer: HashMap<Option<(ObjectId, bool)>, usize> = HashMap::new();
        let mut group_of = |watched: &Watched, groups: &mut Vec<ViewerReads>| {
            let viewer_key = match &watched.viewer {
                Viewer::Anonymous => None,
                Viewer::User { id, admin } => Some((id.clone(), *admin)),
            };
            *by_viewer.entry(viewer_key).or_insert_with(|| {
                groups.push(ViewerReads {
                    viewer: watched.viewer.clone(),
                    ids: Vec::new(),
                    watches: Vec::new(),
                    recheck_viewer: Vec::new(),
                });
                groups.len() - 1
            })
        };
        for (key, mut ids) in dirty {
            let Some(watched) = registry.watches.get(&key) else {
                continue;
            };
            ids.sort_unstable();
            ids.dedup();
            let index = group_of(watched, &mut groups);
            let group = &mut groups[index];
            group.ids.extend(ids.iter().cloned());
            group.watches.push((watched.clone(), ids));
        }
        let changed_viewers: Vec<&ObjectId> = if batch.everything {
            registry.by_viewer.keys().collect()
        } else {
            batch
                .users
                .iter()
                .filter(|id| registry.by_viewer.contains_key(*id))
                .collect()
        };
        for viewer in changed_viewers {
            for key in registry.by_viewer.get(viewer).into_iter().flatten() {
                if let Some(watched) = registry.watches.get(key) {
                    let index = group_of(watched, &mut groups);
                    groups[index].recheck_viewer.push(watched.clone());
                }
            }
        }
        for group in &mut groups {
            group.ids.sort_unstable();
            group.ids.dedup();
        }
        groups
    }

    /// Reads what one viewer may now see of the changed ids, and tells each of its watches.
    async fn reread(&self, group: ViewerReads, batch: &Batch) {
        if let (Some(viewer), false) = (group.viewer.user_id(), group.recheck_viewer.is_empty()) {
            match self.db.is_active_user(viewer).await {
                Ok(true) => {}
                Ok(false) => {
                    for watched in &group.recheck_viewer {
                        watched.revoke(AppError::Unauthenticated(MessageId::TokenUnknownUser));
                    }
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "live profiles: cannot check a watcher's account");
                }
            }
        }
        let mut found: HashMap<&ObjectId, AppResult<VisibleProfile>> = HashMap::new();
        for chunk in group.ids.chunks(IDS_PER_READ_MAX) {
            match service::read_profiles(&self.db, &group.viewer, ProfileKeys::Ids(chunk)).await {
                Ok(results) => found.extend(chunk.iter().zip(results)),
                // Nothing can be said of these ids without knowing what the viewer may see:
                // they are left as they were, and the next change of each re-reads it.
                Err(error) => {
                    tracing::warn!(%error, "live profiles: a re-read failed; its updates are skipped");
                    metrics::counter!("live_reread_failures_total").increment(1);
                }
            }
        }
        for (watched, ids) in &group.watches {
            for id in ids {
                if let Some(result) = found.get(id) {
                    watched.changed(id, result.clone(), batch.availability.get(id).copied());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::parse(&format!("{n:024x}")).expect("an id")
    }

    fn hidden(n: u8) -> Update {
        Update::Hidden {
            user: id(n),
            error: AppError::NotFound,
        }
    }

    fn user_of(update: &Update) -> Option<&ObjectId> {
        match update {
            Update::Hidden { user, .. } => Some(user),
            _ => None,
        }
    }

    #[test]
    fn an_id_owes_one_update_in_its_first_place_and_delivered_updates_free_their_buffer() {
        let mut state = WatchState::default();
        state.owe(&id(1), hidden(1));
        state.owe(&id(2), hidden(2));
        state.owe(&id(1), Update::Revoked(AppError::NotFound));
        assert_eq!(state.pending.len(), 2);
        let first = state.take_oldest().expect("the first id's latest update");
        assert!(matches!(first, Update::Revoked(_)));
        let second = state.take_oldest().expect("the second id's update");
        assert_eq!(user_of(&second), Some(&id(2)));
        assert!(state.take_oldest().is_none());
        assert_eq!(state.pending.capacity(), 0);
    }
}
