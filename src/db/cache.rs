//! The profile cache: what profile reads need — users with their counts, the viewer's relations
//! to them, usernames — kept in memory within a byte budget, and kept coherent by the database's
//! own change stream ([`super::changes`]).
//!
//! Correctness rests on four rules:
//! - **Invalidation**: every announced change drops the entries it names, on every instance
//!   (each follows the stream); a flush drops everything.
//! - **No stale refill**: a read that misses takes a ticket (the invalidation sequence number)
//!   before it queries; when it stores what it read, an entry whose stripe was invalidated after
//!   the ticket is dropped again. Changes are counted, not timed, so a refill racing an
//!   invalidation always loses.
//! - **Vouching**: the cache answers only while its listener is connected and its last
//!   heartbeat came back less than [`STALE_AFTER`] ago; otherwise reads go to the database and
//!   nothing is stored. Reconnecting flushes everything (changes made meanwhile were not seen).
//! - **Read-your-writes**: a write sends a marker inside its transaction and, once committed,
//!   waits until the marker comes back through the stream, which means its own changes were
//!   applied here first ([`ProfileCache::await_marker`]).
//! - **Replicas**: every marker carries the primary's WAL insert position when its statement
//!   ran. Every transaction whose commit record precedes that position queued its notifications
//!   before the marker did, so they arrive before it: the cache knows how far it has applied the
//!   primary's history ([`ProfileCache::applied`]). The other way round, a change already
//!   received when a heartbeat is sent committed before that heartbeat's position, which so
//!   bounds the position a refill of the entry must come from ([`ProfileCache::fill_floor`]): a
//!   refill never comes from a replica that has not replayed the change that emptied the entry.
//!   (A marker's position does not bound the changes that arrive just before it: they may have
//!   committed after its statement ran.)

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use metrics::{Counter, Histogram};
use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Weighter};
use tokio::sync::oneshot;

use super::changes::{Change, ChangeSink, StreamEvent};
use super::replicas::Lsn;
use crate::profiles::privacy::FoundProfile;
use crate::profiles::view::RenderedView;
use crate::profiles::{FollowCounts, ObjectId, Relation, User, UsernameKey};

/// How old the last confirmed heartbeat may be before the cache stops vouching for itself: the
/// consistency bound of SPEC §8 (a committed change is visible everywhere within 100 ms), which
/// a stalled or silently dead listener must not stretch either.
pub const STALE_AFTER: Duration = Duration::from_millis(100);

/// How long a writer waits for its marker before it gives up and flushes instead.
const MARKER_WAIT: Duration = Duration::from_secs(2);

/// A position not known yet: only the primary has surely replayed it.
const UNKNOWN: u64 = u64::MAX;

/// Stripes of the invalidation record: more stripes, fewer refills discarded by an unrelated
/// invalidation that happens to share one.
const STRIPES: usize = 4096;

/// What the cache holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A user and its counts.
    Profile(ObjectId),
    /// The viewer's relations with a user: (viewer, user).
    Relation(ObjectId, ObjectId),
    /// The id of the user with this folded username.
    Username(UsernameKey),
}

/// A [`Key`] made of borrowed ids, so that a lookup — three on a signed-in read — allocates
/// nothing. Its variants are `Key`'s in the same order, so the derived hashes agree (a test
/// checks it).
#[derive(Debug, Clone, Copy, Hash)]
enum KeyRef<'a> {
    Profile(&'a ObjectId),
    Relation(&'a ObjectId, &'a ObjectId),
    Username(&'a UsernameKey),
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        match (*self, key) {
            (KeyRef::Profile(a), Key::Profile(b)) => a == b,
            (KeyRef::Relation(a, b), Key::Relation(c, d)) => a == c && b == d,
            (KeyRef::Username(a), Key::Username(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
enum Entry {
    /// The user, its counts, and its rendered view once a read rendered it.
    Profile(Arc<User>, FollowCounts, Arc<RenderedView>),
    Relation(Relation),
    Username(ObjectId),
}

/// What an entry costs beyond its key and value: the cache's own bookkeeping (its table's slot
/// and the entry's node, with its hash and reference bit), the rendered view's memo and the
/// allocator's rounding of the strings.
const ENTRY_OVERHEAD: usize = 160;

/// About what an entry weighs, to size the cache's tables for its byte budget up front.
const TYPICAL_ENTRY_BYTES: u64 = 1024;

/// What a rendered view costs beyond the strings it repeats: its keys and punctuation (about
/// 330 bytes of JSON), the entity tag and the memo's allocations.
const RENDERED_OVERHEAD: usize = 480;

/// Approximate bytes an entry holds, for the byte budget.
fn weight(key: &Key, entry: &Entry) -> u32 {
    let key_bytes = match key {
        Key::Profile(_) | Key::Username(_) => 48,
        Key::Relation(..) => 96,
    };
    let entry_bytes = match entry {
        Entry::Profile(user, ..) => {
            let strings = [
                user.name.len(),
                user.surname.len(),
                user.username.len(),
                user.expertise.as_ref().map_or(0, String::len),
                user.bio.as_ref().map_or(0, String::len),
                user.instagram.as_ref().map_or(0, String::len),
                user.snapchat.as_ref().map_or(0, String::len),
                user.x.as_ref().map_or(0, String::len),
                user.tiktok.as_ref().map_or(0, String::len),
                user.facebook.as_ref().map_or(0, String::len),
                user.profile_photo.as_ref().map_or(0, |p| p.url.len() + 48),
            ];
            let strings: usize = strings.iter().sum();
            let interests: usize = user.interests.iter().map(|i| i.len() + 24).sum();
            // Counted whether rendered yet or not: the budget must hold once it is.
            let rendered = strings + interests + RENDERED_OVERHEAD;
            std::mem::size_of::<User>() + strings + interests + 64 + rendered
        }
        Entry::Relation(_) => 16,
        Entry::Username(_) => 48,
    };
    u32::try_from(key_bytes + entry_bytes + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// The byte budget's weigher: [`weight`].
#[derive(Debug, Clone, Copy)]
struct ByBytes;

impl Weighter<Key, Entry> for ByBytes {
    fn weight(&self, key: &Key, entry: &Entry) -> u64 {
        u64::from(weight(key, entry))
    }
}

/// Taken before a read that may fill the cache: the invalidation sequence at that moment.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// The cache's counters, registered once.
struct CacheMetrics {
    hits: Counter,
    misses: Counter,
    bypassed: Counter,
    invalidations: Counter,
    discarded_fills: Counter,
    flushes: Counter,
    lag: Histogram,
}

impl CacheMetrics {
    fn new() -> Self {
        crate::metrics::handle();
        Self {
            hits: metrics::counter!("profile_cache_hits_total"),
            misses: metrics::counter!("profile_cache_misses_total"),
            bypassed: metrics::counter!("profile_cache_bypassed_total"),
            invalidations: metrics::counter!("profile_cache_invalidations_total"),
            discarded_fills: metrics::counter!("profile_cache_discarded_fills_total"),
            flushes: metrics::counter!("profile_cache_flushes_total"),
            lag: metrics::histogram!("profile_cache_invalidation_lag_seconds"),
        }
    }
}

/// The heartbeat in flight: its sequence number, when it was sent, the invalidation sequence
/// number then, and the stripes invalidated before it was sent (whose changes, already received,
/// committed before its position).
#[derive(Debug, Default)]
struct Heartbeat {
    sent: Option<(u64, Instant)>,
    invalidations_before: u64,
    stripes: Vec<usize>,
}

/// The in-process profile cache of one instance.
pub struct ProfileCache {
    entries: Cache<Key, Entry, ByBytes>,
    hasher: std::collections::hash_map::RandomState,
    /// The invalidation sequence number, bumped by every invalidation and flush.
    sequence: AtomicU64,
    /// Per stripe, the sequence number of the last invalidation of a key in it.
    stripes: Box<[AtomicU64]>,
    /// The sequence number of the last flush.
    flushed_at: AtomicU64,
    /// Per stripe, a WAL position its last invalidation's commit precedes ([`UNKNOWN`] until
    /// the next heartbeat tells).
    positions: Box<[AtomicU64]>,
    /// The same for the last flush.
    flush_position: AtomicU64,
    /// The same for the last invalidation of any key.
    latest_position: AtomicU64,
    /// The sequence number of the last invalidation of any key.
    latest_invalidation: AtomicU64,
    /// Stripes invalidated since the last heartbeat was sent, whose position the next one gives.
    pending: Mutex<Vec<usize>>,
    /// The highest position of a marker that came back: every change committed before it has
    /// been applied.
    applied: AtomicU64,
    connected: AtomicBool,
    heartbeat: Mutex<Heartbeat>,
    /// When the last confirmed heartbeat was sent, in microseconds after `started` (0: never).
    /// Atomic, not in the mutex: every read looks at it.
    confirmed_at: AtomicU64,
    started: Instant,
    /// Marker tokens are `<instance>:<n>`.
    instance: String,
    next_marker: AtomicU64,
    waiters: Mutex<HashMap<String, oneshot::Sender<()>>>,
    metrics: CacheMetrics,
}

impl std::fmt::Debug for ProfileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileCache")
            .field("entries", &self.entries.len())
            .field("bytes", &self.entries.weight())
            .field("usable", &self.usable())
            .finish()
    }
}

impl ProfileCache {
    /// An empty cache of at most `max_bytes`; it vouches for nothing until its listener has
    /// connected and confirmed a heartbeat.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            entries: Cache::with_weighter(
                usize::try_from(max_bytes / TYPICAL_ENTRY_BYTES).unwrap_or(usize::MAX),
                max_bytes,
                ByBytes,
            ),
            hasher: std::collections::hash_map::RandomState::new(),
            sequence: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            flushed_at: AtomicU64::new(0),
            positions: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            flush_position: AtomicU64::new(UNKNOWN),
            latest_position: AtomicU64::new(UNKNOWN),
            latest_invalidation: AtomicU64::new(0),
            pending: Mutex::new(Vec::new()),
            applied: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            heartbeat: Mutex::new(Heartbeat::default()),
            confirmed_at: AtomicU64::new(0),
            started: Instant::now(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            next_marker: AtomicU64::new(0),
            waiters: Mutex::new(HashMap::new()),
            metrics: CacheMetrics::new(),
        }
    }

    /// Whether the cache may answer: its listener is connected and was live a moment ago.
    pub fn usable(&self) -> bool {
        let confirmed = self.confirmed_at.load(Ordering::SeqCst);
        confirmed > 0
            && self.connected.load(Ordering::SeqCst)
            && self.micros_since_start().saturating_sub(confirmed) < STALE_AFTER.as_micros() as u64
    }

    fn micros_since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The entries and bytes held (for tests and metrics).
    pub fn size(&self) -> (u64, u64) {
        (self.entries.len() as u64, self.entries.weight())
    }

    fn stripe_index(&self, key: &Key) -> usize {
        (self.hasher.hash_one(key) as usize) % STRIPES
    }

    fn stripe(&self, key: &Key) -> &AtomicU64 {
        &self.stripes[self.stripe_index(key)]
    }

    /// How far this cache has applied the primary's history: every change committed before
    /// this WAL position has been applied (0 until a marker came back).
    pub fn applied(&self) -> Lsn {
        Lsn(self.applied.load(Ordering::SeqCst))
    }

    /// The WAL position a database must have replayed for a read of `ids` (as `viewer`) to
    /// fill the cache: the position of the last invalidation of each entry it would store.
    /// `None` when only the primary will do (an invalidation whose position is not known yet).
    pub fn fill_floor(&self, ids: &[ObjectId], viewer: Option<&ObjectId>) -> Option<Lsn> {
        let mut floor = self.flush_position.load(Ordering::SeqCst);
        for id in ids {
            floor = floor.max(
                self.positions[self.stripe_index(&Key::Profile(id.clone()))].load(Ordering::SeqCst),
            );
            if let Some(viewer) = viewer.filter(|v| *v != id) {
                let relation = Key::Relation(viewer.clone(), id.clone());
                floor =
                    floor.max(self.positions[self.stripe_index(&relation)].load(Ordering::SeqCst));
            }
        }
        (floor != UNKNOWN).then_some(Lsn(floor))
    }

    /// The same for a read whose keys are not known before it runs (by username): the
    /// position of the last invalidation of anything.
    pub fn fill_floor_for_any(&self) -> Option<Lsn> {
        let floor = self
            .latest_position
            .load(Ordering::SeqCst)
            .max(self.flush_position.load(Ordering::SeqCst));
        (floor != UNKNOWN).then_some(Lsn(floor))
    }

    /// A ticket for a read that may fill the cache; `None` when the cache cannot vouch for
    /// itself (the read then goes to the database and stores nothing).
    pub fn ticket(&self) -> Option<Ticket> {
        if self.usable() {
            Some(Ticket(self.sequence.load(Ordering::SeqCst)))
        } else {
            self.metrics.bypassed.increment(1);
            None
        }
    }

    /// What the cache knows of `key` for `viewer`: the user, its counts and (for a signed-in
    /// viewer other than the user) the viewer's relations with it. `None` on a miss.
    pub fn profile(&self, id: &ObjectId, viewer: Option<&ObjectId>) -> Option<FoundProfile> {
        let found = self.lookup(id, viewer);
        if found.is_some() {
            self.metrics.hits.increment(1);
        } else {
            self.metrics.misses.increment(1);
        }
        found
    }

    fn lookup(&self, id: &ObjectId, viewer: Option<&ObjectId>) -> Option<FoundProfile> {
        let Some(Entry::Profile(user, counts, rendered)) = self.entries.get(&KeyRef::Profile(id))
        else {
            return None;
        };
        let relation = match viewer {
            Some(viewer) if viewer != id => {
                match self.entries.get(&KeyRef::Relation(viewer, id))? {
                    Entry::Relation(relation) => relation,
                    _ => return None,
                }
            }
            _ => Relation::default(),
        };
        Some(FoundProfile {
            user,
            counts,
            relation,
            rendered: Some(rendered),
        })
    }

    /// The id the cache knows for a folded username, if any. The mapping is checked against the
    /// user's own entry when used: a username that moved to someone else reads as a miss.
    pub fn profile_by_username(
        &self,
        key: &UsernameKey,
        viewer: Option<&ObjectId>,
    ) -> Option<FoundProfile> {
        let found = match self.entries.get(&KeyRef::Username(key)) {
            Some(Entry::Username(id)) => self
                .lookup(&id, viewer)
                .filter(|f| f.user.username.eq_ignore_ascii_case(key.as_str())),
            _ => None,
        };
        if found.is_some() {
            self.metrics.hits.increment(1);
        } else {
            self.metrics.misses.increment(1);
        }
        found
    }

    /// Stores what a read found for `viewer` (and, for a lookup by username, the mapping),
    /// unless an invalidation since `ticket` touched it.
    pub fn fill(&self, ticket: Ticket, viewer: Option<&ObjectId>, found: &FoundProfile) {
        let id = &found.user.id;
        self.store(
            ticket,
            Key::Profile(id.clone()),
            // A memo of its own: a view rendered from an older entry must not carry over.
            Entry::Profile(
                found.user.clone(),
                found.counts,
                Arc::new(RenderedView::default()),
            ),
        );
        if let Some(viewer) = viewer.filter(|v| *v != id) {
            self.store(
                ticket,
                Key::Relation(viewer.clone(), id.clone()),
                Entry::Relation(found.relation),
            );
        }
        if let Some(key) = UsernameKey::parse_lookup(&found.user.username) {
            self.store(ticket, Key::Username(key), Entry::Username(id.clone()));
        }
    }

    fn store(&self, ticket: Ticket, key: Key, entry: Entry) {
        let stale = |cache: &Self, key: &Key| {
            cache.stripe(key).load(Ordering::SeqCst) > ticket.0
                || cache.flushed_at.load(Ordering::SeqCst) > ticket.0
        };
        if stale(self, &key) {
            self.metrics.discarded_fills.increment(1);
            return;
        }
        self.entries.insert(key.clone(), entry);
        // An invalidation may have come between the check and the insert: it bumped the
        // stripe before removing the key, so looking again after the insert catches it.
        if stale(self, &key) || !self.usable() {
            self.entries.remove(&key);
            self.metrics.discarded_fills.increment(1);
        }
    }

    fn invalidate(&self, keys: impl IntoIterator<Item = Key>) {
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let mut pending = lock(&self.pending);
        self.latest_position.store(UNKNOWN, Ordering::SeqCst);
        self.latest_invalidation.store(sequence, Ordering::SeqCst);
        for key in keys {
            let stripe = self.stripe_index(&key);
            self.stripes[stripe].fetch_max(sequence, Ordering::SeqCst);
            self.positions[stripe].store(UNKNOWN, Ordering::SeqCst);
            pending.push(stripe);
            self.entries.remove(&key);
            self.metrics.invalidations.increment(1);
        }
    }

    /// This instance's heartbeat came back with `position`: what was invalidated before it was
    /// sent (and not again since) was of changes committed before that position.
    fn positions_known(&self, heartbeat: &mut Heartbeat, position: Lsn) {
        let before = heartbeat.invalidations_before;
        // A position is set only where it is still unknown and was not invalidated again
        // after the heartbeat was sent.
        let learn = |known: &AtomicU64, invalidated_at: &AtomicU64| {
            if invalidated_at.load(Ordering::SeqCst) <= before {
                let _ =
                    known.compare_exchange(UNKNOWN, position.0, Ordering::SeqCst, Ordering::SeqCst);
            }
        };
        for stripe in heartbeat.stripes.drain(..) {
            learn(&self.positions[stripe], &self.stripes[stripe]);
        }
        learn(&self.latest_position, &self.latest_invalidation);
        learn(&self.flush_position, &self.flushed_at);
    }

    /// Drops everything.
    pub fn flush(&self) {
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        self.flush_position.store(UNKNOWN, Ordering::SeqCst);
        self.flushed_at.store(sequence, Ordering::SeqCst);
        self.entries.clear();
        self.metrics.flushes.increment(1);
    }

    /// A fresh marker token for a writer to send inside its transaction.
    pub fn marker(&self) -> (String, MarkerWait) {
        let token = format!(
            "{}:w{}",
            self.instance,
            self.next_marker.fetch_add(1, Ordering::Relaxed)
        );
        let (sender, receiver) = oneshot::channel();
        lock(&self.waiters).insert(token.clone(), sender);
        (token, MarkerWait(receiver))
    }

    /// Waits (a bounded time) until a committed writer's marker has come back, so that its own
    /// changes are applied here; flushes instead if it does not come back in time.
    pub async fn await_marker(&self, token: &str, wait: MarkerWait) {
        if !self.usable() {
            // Nothing is served from the cache now; a reconnect will flush.
            lock(&self.waiters).remove(token);
            return;
        }
        if tokio::time::timeout(MARKER_WAIT, wait.0).await.is_err() {
            tracing::warn!(
                "a write's marker did not come back through the change stream; flushing the cache"
            );
            lock(&self.waiters).remove(token);
            self.flush();
        }
    }

    /// Forgets a marker whose transaction did not commit.
    pub fn forget_marker(&self, token: &str) {
        lock(&self.waiters).remove(token);
    }

    fn apply(&self, change: &Change) {
        match change {
            Change::Users(ids) | Change::Counts(ids) => {
                self.invalidate(ids.iter().cloned().map(Key::Profile));
            }
            Change::Availability(_) => {}
            Change::Follows(pairs) | Change::Blocks(pairs) => {
                self.invalidate(pairs.iter().flat_map(|(a, b)| {
                    [
                        Key::Relation(a.clone(), b.clone()),
                        Key::Relation(b.clone(), a.clone()),
                    ]
                }));
            }
            Change::Everything => self.flush(),
            Change::Marker { token, position } => {
                self.applied.fetch_max(position.0, Ordering::SeqCst);
                if let Some(waiter) = lock(&self.waiters).remove(token) {
                    let _ = waiter.send(());
                }
                let mut heartbeat = lock(&self.heartbeat);
                if let Some((sequence, sent)) = heartbeat.sent
                    && **token == format!("{}:h{sequence}", self.instance)
                {
                    self.positions_known(&mut heartbeat, *position);
                    let at = sent.saturating_duration_since(self.started).as_micros();
                    // 0 means "never": a heartbeat sent in the first microsecond counts as 1.
                    let at = u64::try_from(at).unwrap_or(u64::MAX).max(1);
                    self.confirmed_at.fetch_max(at, Ordering::SeqCst);
                    heartbeat.sent = None;
                }
            }
        }
    }
}

/// What a writer awaits: its marker's return.
#[derive(Debug)]
pub struct MarkerWait(oneshot::Receiver<()>);

impl ChangeSink for ProfileCache {
    fn handle(&self, event: &StreamEvent) {
        match event {
            StreamEvent::Connected => {
                self.flush();
                self.connected.store(true, Ordering::SeqCst);
            }
            StreamEvent::Lost => {
                self.connected.store(false, Ordering::SeqCst);
                self.confirmed_at.store(0, Ordering::SeqCst);
                self.flush();
            }
            StreamEvent::Change(announced) => {
                self.apply(&announced.change);
                if let Some(at) = announced.at {
                    let lag = SystemTime::now().duration_since(at).unwrap_or_default();
                    self.metrics.lag.record(lag.as_secs_f64());
                }
            }
        }
    }

    fn heartbeat_marker(&self) -> String {
        let sequence = self.next_marker.fetch_add(1, Ordering::Relaxed);
        let mut heartbeat = lock(&self.heartbeat);
        heartbeat.sent = Some((sequence, Instant::now()));
        // Everything received so far committed before this heartbeat's position.
        heartbeat.invalidations_before = self.sequence.load(Ordering::SeqCst);
        heartbeat.stripes.append(&mut lock(&self.pending));
        format!("{}:h{sequence}", self.instance)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::changes::Announced;
    use crate::profiles::FollowStatus;

    fn id(n: u8) -> ObjectId {
        ObjectId::parse(&format!("{n:024x}")).expect("id")
    }

    fn found(n: u8, username: &str, followers: i32) -> FoundProfile {
        FoundProfile {
            user: Arc::new(User::example(n, username)),
            counts: FollowCounts {
                followers,
                following: 0,
            },
            relation: Relation {
                viewer_follow: Some(FollowStatus::Accepted),
                ..Relation::default()
            },
            rendered: None,
        }
    }

    fn change(change: Change) -> StreamEvent {
        StreamEvent::Change(Announced { change, at: None })
    }

    fn marker(token: String, position: u64) -> StreamEvent {
        change(Change::Marker {
            token,
            position: Lsn(position),
        })
    }

    /// A cache whose listener is connected and whose heartbeat came back.
    fn live_cache() -> ProfileCache {
        let cache = ProfileCache::new(1 << 20);
        cache.handle(&StreamEvent::Connected);
        assert!(!cache.usable(), "no heartbeat has come back yet");
        let token = cache.heartbeat_marker();
        cache.handle(&marker(token, 100));
        assert!(cache.usable());
        cache
    }

    #[test]
    fn borrowed_keys_hash_and_compare_like_owned_ones() {
        let hasher = std::collections::hash_map::RandomState::new();
        let username = UsernameKey::parse_lookup("Ab_C").expect("username");
        let pairs = [
            (Key::Profile(id(1)), KeyRef::Profile(&id(1))),
            (
                Key::Relation(id(1), id(2)),
                KeyRef::Relation(&id(1), &id(2)),
            ),
            (Key::Username(username.clone()), KeyRef::Username(&username)),
        ];
        for (owned, borrowed) in &pairs {
            assert_eq!(hasher.hash_one(owned), hasher.hash_one(borrowed));
            assert!(borrowed.equivalent(owned));
        }
        assert!(!KeyRef::Relation(&id(2), &id(1)).equivalent(&pairs[1].0));
        assert!(!KeyRef::Profile(&id(1)).equivalent(&Key::Relation(id(1), id(1))));
    }

    #[test]
    fn a_fill_is_served_until_its_key_is_invalidated() {
        let cache = live_cache();
        let ticket = cache.ticket().expect("usable");
        cache.fill(ticket, None, &found(1, "one", 5));
        assert_eq!(
            cache.profile(&id(1), None).map(|f| f.counts.followers),
            Some(5)
        );
        cache.handle(&change(Change::Counts(vec![id(1)])));
        assert!(cache.profile(&id(1), None).is_none());
    }

    #[test]
    fn a_refill_that_raced_an_invalidation_is_not_kept() {
        let cache = live_cache();
        // The read takes its ticket, then queries; meanwhile the row changes and the
        // invalidation arrives before the read stores what it (now stale) found.
        let ticket = cache.ticket().expect("usable");
        cache.handle(&change(Change::Users(vec![id(1)])));
        cache.fill(ticket, None, &found(1, "one", 5));
        assert!(
            cache.profile(&id(1), None).is_none(),
            "a stale refill was kept"
        );
        // An unrelated key with the same ticket is kept (unless it shares the stripe).
        cache.fill(ticket, None, &found(2, "two", 1));
        let other_stripe = cache.stripe(&Key::Profile(id(2))).load(Ordering::SeqCst) <= ticket.0;
        assert_eq!(cache.profile(&id(2), None).is_some(), other_stripe);
        // A read that starts after the invalidation fills normally.
        let later = cache.ticket().expect("usable");
        cache.fill(later, None, &found(1, "one", 6));
        assert_eq!(
            cache.profile(&id(1), None).map(|f| f.counts.followers),
            Some(6)
        );
    }

    #[test]
    fn a_flush_beats_every_read_in_flight() {
        let cache = live_cache();
        let ticket = cache.ticket().expect("usable");
        cache.fill(ticket, None, &found(1, "one", 5));
        cache.handle(&change(Change::Everything));
        assert!(cache.profile(&id(1), None).is_none());
        cache.fill(ticket, None, &found(2, "two", 5));
        assert!(cache.profile(&id(2), None).is_none());
    }

    #[test]
    fn relations_go_with_changes_in_either_direction() {
        let cache = live_cache();
        let viewer = id(9);
        let ticket = cache.ticket().expect("usable");
        cache.fill(ticket, Some(&viewer), &found(1, "one", 5));
        assert!(cache.profile(&id(1), Some(&viewer)).is_some());
        assert!(
            cache.profile(&id(1), Some(&id(8))).is_none(),
            "another viewer's relations are not known"
        );
        cache.handle(&change(Change::Blocks(vec![(id(1), viewer.clone())])));
        assert!(cache.profile(&id(1), Some(&viewer)).is_none());
        assert!(
            cache.profile(&id(1), None).is_some(),
            "the profile itself stays"
        );
        let ticket = cache.ticket().expect("usable");
        cache.fill(ticket, Some(&viewer), &found(1, "one", 5));
        cache.handle(&change(Change::Follows(vec![(viewer.clone(), id(1))])));
        assert!(cache.profile(&id(1), Some(&viewer)).is_none());
    }

    #[test]
    fn a_username_that_moved_reads_as_a_miss() {
        let cache = live_cache();
        let bob = UsernameKey::parse_lookup("bob").expect("key");
        let ticket = cache.ticket().expect("usable");
        cache.fill(ticket, None, &found(1, "Bob", 1));
        assert_eq!(
            cache
                .profile_by_username(&bob, None)
                .map(|f| f.user.id.clone()),
            Some(id(1))
        );
        // User 1 becomes "robert": its entry is refilled, the old mapping no longer matches.
        cache.handle(&change(Change::Users(vec![id(1)])));
        let ticket = cache.ticket().expect("usable");
        cache.fill(ticket, None, &found(1, "robert", 1));
        assert!(cache.profile_by_username(&bob, None).is_none());
    }

    #[test]
    fn without_a_live_listener_nothing_is_served_or_stored() {
        let cache = live_cache();
        let ticket = cache.ticket().expect("usable");
        cache.fill(ticket, None, &found(1, "one", 5));
        cache.handle(&StreamEvent::Lost);
        assert!(!cache.usable());
        assert!(cache.ticket().is_none());
        assert!(
            cache.profile(&id(1), None).is_none(),
            "lost: everything was dropped"
        );
        cache.fill(ticket, None, &found(1, "one", 5));
        assert!(cache.profile(&id(1), None).is_none());
        // Reconnected, it vouches again only once a heartbeat has come back.
        cache.handle(&StreamEvent::Connected);
        assert!(!cache.usable());
    }

    #[test]
    fn the_byte_budget_holds() {
        let cache = ProfileCache::new(64 * 1024);
        cache.handle(&StreamEvent::Connected);
        let token = cache.heartbeat_marker();
        cache.handle(&marker(token, 100));
        for n in 0..=255u8 {
            let ticket = cache.ticket().expect("usable");
            cache.fill(ticket, Some(&id(0)), &found(n, &format!("user{n}"), 1));
        }
        let (_, bytes) = cache.size();
        assert!(bytes <= 64 * 1024, "{bytes} bytes");
    }

    /// Sends a heartbeat and has it come back with `position`.
    fn heartbeat(cache: &ProfileCache, position: u64) {
        let token = cache.heartbeat_marker();
        cache.handle(&marker(token, position));
    }

    #[test]
    fn refills_read_where_the_last_invalidation_has_been_replayed() {
        let cache = live_cache();
        let viewer = id(9);
        assert_eq!(cache.applied(), Lsn(100));
        assert_eq!(
            cache.fill_floor(&[id(1)], Some(&viewer)),
            Some(Lsn(100)),
            "the connect flush"
        );
        // An invalidation: until a heartbeat sent after it comes back, only the primary.
        cache.handle(&change(Change::Users(vec![id(1)])));
        assert_eq!(cache.fill_floor(&[id(1)], None), None);
        assert_eq!(cache.fill_floor_for_any(), None);
        assert_eq!(
            cache.fill_floor(&[id(2)], None),
            Some(Lsn(100)),
            "another stripe"
        );
        // A marker that arrives now (another writer's) says how far the stream is applied, but
        // not when the change just received committed: it may have committed after the marker's
        // statement ran.
        cache.handle(&marker("elsewhere:w1".to_owned(), 200));
        assert_eq!(cache.applied(), Lsn(200));
        assert_eq!(cache.fill_floor(&[id(1)], None), None);
        heartbeat(&cache, 300);
        assert_eq!(cache.fill_floor(&[id(1)], None), Some(Lsn(300)));
        assert_eq!(cache.fill_floor(&[id(2)], None), Some(Lsn(100)));
        assert_eq!(cache.fill_floor_for_any(), Some(Lsn(300)));
        // An invalidation after a heartbeat was sent waits for the next one.
        let token = cache.heartbeat_marker();
        cache.handle(&change(Change::Follows(vec![(viewer.clone(), id(2))])));
        cache.handle(&marker(token, 400));
        assert_eq!(cache.fill_floor(&[id(2)], None), Some(Lsn(100)));
        assert_eq!(cache.fill_floor(&[id(2)], Some(&viewer)), None);
        heartbeat(&cache, 500);
        assert_eq!(cache.fill_floor(&[id(2)], Some(&viewer)), Some(Lsn(500)));
        // A flush: everything waits for the next heartbeat.
        cache.handle(&change(Change::Everything));
        assert_eq!(cache.fill_floor(&[id(3)], None), None);
        heartbeat(&cache, 600);
        assert_eq!(cache.fill_floor(&[id(3)], None), Some(Lsn(600)));
    }

    #[tokio::test]
    async fn a_writer_waits_for_its_marker() {
        let cache = Arc::new(live_cache());
        let (token, wait) = cache.marker();
        let applied = {
            let cache = cache.clone();
            let token = token.clone();
            tokio::spawn(async move { cache.await_marker(&token, wait).await })
        };
        tokio::task::yield_now().await;
        assert!(!applied.is_finished());
        cache.handle(&marker(token, 200));
        tokio::time::timeout(Duration::from_secs(1), applied)
            .await
            .expect("released")
            .expect("task");
    }
}
