//! Read replicas (SPEC §8): a pool per streaming replica, how far each has replayed the
//! primary's WAL, and which database a read may use.
//!
//! A monitor samples, every [`SAMPLE_EVERY`], the primary's flush position (what a replica can
//! have received) and each replica's replay position (`pg_last_wal_replay_lsn()`). A replica's
//! lag is the age of the newest primary sample it has replayed: it holds everything committed
//! before that moment. A read then names the position it needs (a user's own last write, the
//! last invalidation of what it will cache) and gets a replica that has replayed it, within
//! `REPLICA_MAX_LAG_MS`, or else the primary. A replica that fails, stops answering or falls
//! behind is skipped until the monitor sees it well again; none of this is ever a client error.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::Text;

use super::pool::DbPool;

/// How often positions are sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// How long a position query may take before the replica counts as unusable.
const SAMPLE_TIMEOUT: Duration = Duration::from_millis(500);

/// Primary samples kept: enough to measure lags a little beyond any sensible bound.
const SAMPLES: usize = 200;

/// A position in the WAL (PostgreSQL's `pg_lsn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parses PostgreSQL's text form, `16/B374D848`.
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.trim().split_once('/')?;
        let high = u64::from_str_radix(high, 16).ok()?;
        let low = u64::from_str_radix(low, 16).ok()?;
        (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX))
            .then_some(Lsn((high << 32) | low))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// One replica: its pool and what the monitor last saw of it.
pub struct Replica {
    /// The replica's pool (the same session settings as the primary's).
    pub pool: DbPool,
    /// Where it is known to have replayed up to (0: unknown).
    replayed: AtomicU64,
    /// Whether its last sample succeeded and it was within the lag bound.
    usable: AtomicBool,
    /// Its lag at the last sample, in microseconds (for metrics and status).
    lag_micros: AtomicU64,
    /// Its position in `DATABASE_REPLICA_URLS`, for logs and metrics.
    index: usize,
}

impl fmt::Debug for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replica")
            .field("index", &self.index)
            .field("replayed", &Lsn(self.replayed.load(Ordering::Relaxed)))
            .field("usable", &self.usable.load(Ordering::Relaxed))
            .finish()
    }
}

/// The replicas and the primary's recent positions.
pub struct Replicas {
    replicas: Vec<Replica>,
    max_lag: Duration,
    /// (when, the primary's flush position then), oldest first.
    primary: Mutex<VecDeque<(Instant, Lsn)>>,
    /// Round-robin among the usable replicas.
    next: AtomicUsize,
}

impl fmt::Debug for Replicas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.replicas).finish()
    }
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    lsn: Option<String>,
}

async fn position(conn: &mut diesel_async::AsyncPgConnection, sql: &'static str) -> Option<Lsn> {
    use diesel_async::RunQueryDsl as _;
    let row: Position = diesel::sql_query(sql).get_result(conn).await.ok()?;
    row.lsn.as_deref().and_then(Lsn::parse)
}

/// The primary's WAL flush position now: what a replica can have received.
pub async fn flush_position(conn: &mut diesel_async::AsyncPgConnection) -> Option<Lsn> {
    position(conn, "SELECT pg_current_wal_flush_lsn()::text AS lsn").await
}

/// The primary's WAL insert position now: past every record written so far (after a commit,
/// past its commit record).
pub async fn insert_position(conn: &mut diesel_async::AsyncPgConnection) -> Option<Lsn> {
    position(conn, "SELECT pg_current_wal_insert_lsn()::text AS lsn").await
}

impl Replicas {
    /// Replicas over `pools`, none usable until the monitor has sampled them.
    pub fn new(pools: Vec<DbPool>, max_lag: Duration) -> Self {
        Self {
            replicas: pools
                .into_iter()
                .enumerate()
                .map(|(index, pool)| Replica {
                    pool,
                    replayed: AtomicU64::new(0),
                    usable: AtomicBool::new(false),
                    lag_micros: AtomicU64::new(u64::MAX),
                    index,
                })
                .collect(),
            max_lag,
            primary: Mutex::new(VecDeque::with_capacity(SAMPLES)),
            next: AtomicUsize::new(0),
        }
    }

    /// A usable replica that has replayed `at_least` (any usable one for `None`), taking turns;
    /// `None` when no replica will do (the read then goes to the primary).
    pub fn choose(&self, at_least: Option<Lsn>) -> Option<&Replica> {
        let count = self.replicas.len();
        if count == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|offset| &self.replicas[(start + offset) % count])
            .find(|replica| {
                replica.usable.load(Ordering::Relaxed)
                    && at_least.is_none_or(|lsn| replica.replayed.load(Ordering::Relaxed) >= lsn.0)
            })
    }

    /// Stops using `replica` until the monitor sees it well again (a read on it failed).
    pub fn set_aside(&self, replica: &Replica) {
        if replica.usable.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                replica = replica.index,
                "a read on a replica failed: it is skipped until it answers again"
            );
        }
    }

    /// Starts sampling the primary (through `primary`) and every replica, for as long as the
    /// returned handle's owner keeps `self` alive.
    pub fn spawn_monitor(self: &Arc<Self>, primary: DbPool) {
        let replicas = Arc::downgrade(self);
        tokio::spawn(async move { monitor(replicas, primary).await });
    }

    fn record_primary(&self, lsn: Lsn) {
        let mut samples = self
            .primary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if samples.len() == SAMPLES {
            samples.pop_front();
        }
        samples.push_back((Instant::now(), lsn));
    }

    /// How far behind a replica that has replayed `replayed` is: the age of the newest primary
    /// sample it covers (`None`: it covers none of the samples kept).
    fn lag_of(&self, replayed: Lsn) -> Option<Duration> {
        let samples = self
            .primary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        samples
            .iter()
            .rev()
            .find(|(_, lsn)| *lsn <= replayed)
            .map(|(at, _)| at.elapsed())
    }

    fn record_replica(&self, replica: &Replica, replayed: Option<Lsn>) {
        let lag = replayed.and_then(|lsn| self.lag_of(lsn));
        let usable = lag.is_some_and(|lag| lag <= self.max_lag);
        // Stored, not maxed: a replica rebuilt from an older backup goes back, and must not be
        // credited with what it no longer has.
        replica
            .replayed
            .store(replayed.map_or(0, |lsn| lsn.0), Ordering::Relaxed);
        replica.lag_micros.store(
            lag.map_or(u64::MAX, |l| {
                u64::try_from(l.as_micros()).unwrap_or(u64::MAX)
            }),
            Ordering::Relaxed,
        );
        let label = replica.index.to_string();
        metrics::gauge!("db_replica_lag_seconds", "replica" => label.clone())
            .set(lag.map_or(f64::INFINITY, |l| l.as_secs_f64()));
        metrics::gauge!("db_replica_usable", "replica" => label).set(if usable {
            1.0
        } else {
            0.0
        });
        let was = replica.usable.swap(usable, Ordering::Relaxed);
        if was != usable {
            if usable {
                tracing::info!(replica = replica.index, ?lag, "replica in use");
            } else {
                tracing::warn!(replica = replica.index, ?lag, max_lag = ?self.max_lag, "replica skipped: unreachable or too far behind");
            }
        }
    }
}

async fn monitor(replicas: Weak<Replicas>, primary: DbPool) {
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(live) = replicas.upgrade() else {
            return;
        };
        // The primary first: a replica is then compared with a sample at least as new as the
        // moment it is asked.
        let sampled = tokio::time::timeout(SAMPLE_TIMEOUT, async {
            let mut conn = primary.get().await.ok()?;
            flush_position(&mut conn).await
        })
        .await;
        if let Ok(Some(lsn)) = sampled {
            live.record_primary(lsn);
        }
        for replica in &live.replicas {
            let replayed = tokio::time::timeout(SAMPLE_TIMEOUT, async {
                let mut conn = replica.pool.get().await.ok()?;
                position(&mut conn, "SELECT pg_last_wal_replay_lsn()::text AS lsn").await
            })
            .await
            .ok()
            .flatten();
            live.record_replica(replica, replayed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseConfig;

    fn replicas(count: usize, max_lag: Duration) -> Replicas {
        // Pools open no connection until asked: these never are.
        let pools = (0..count)
            .map(|_| {
                let url = secrecy::SecretString::from("postgres://nobody@127.0.0.1:9/none");
                crate::db::Db::new(url, &DatabaseConfig::default())
                    .expect("pool")
                    .pool()
                    .clone()
            })
            .collect();
        Replicas::new(pools, max_lag)
    }

    #[test]
    fn a_replica_is_used_within_the_lag_bound_and_past_the_position_asked() {
        let set = replicas(2, Duration::from_secs(1));
        assert!(set.choose(None).is_none(), "nothing sampled yet");
        set.record_primary(Lsn(100));
        set.record_primary(Lsn(200));
        set.record_replica(&set.replicas[0], Some(Lsn(200)));
        set.record_replica(&set.replicas[1], Some(Lsn(150)));
        // Both have replayed a recent sample: both usable, in turns.
        let first = set.choose(None).map(|r| r.index);
        let second = set.choose(None).map(|r| r.index);
        assert_ne!(first, second);
        // A read that needs position 200 only goes to the replica that has it.
        for _ in 0..4 {
            assert_eq!(set.choose(Some(Lsn(200))).map(|r| r.index), Some(0));
        }
        assert!(
            set.choose(Some(Lsn(201))).is_none(),
            "none has replayed it: the primary"
        );
        // Unreachable (no position): skipped.
        set.record_replica(&set.replicas[0], None);
        assert!(set.choose(Some(Lsn(200))).is_none());
        assert_eq!(set.choose(None).map(|r| r.index), Some(1));
        // Set aside after a failed read, until sampled well again.
        set.set_aside(&set.replicas[1]);
        assert!(set.choose(None).is_none());
        set.record_replica(&set.replicas[1], Some(Lsn(200)));
        assert_eq!(set.choose(None).map(|r| r.index), Some(1));
    }

    #[test]
    fn a_replica_behind_the_bound_is_skipped() {
        let set = replicas(1, Duration::from_millis(20));
        set.record_primary(Lsn(100));
        std::thread::sleep(Duration::from_millis(40));
        set.record_primary(Lsn(200));
        // It has replayed only the older sample, now 40 ms old: too far behind.
        set.record_replica(&set.replicas[0], Some(Lsn(150)));
        assert!(set.choose(None).is_none());
        // Replaying the newest sample brings it back.
        set.record_replica(&set.replicas[0], Some(Lsn(200)));
        assert!(set.choose(None).is_some());
        // One that has not even replayed the oldest sample kept is behind every bound.
        set.record_replica(&set.replicas[0], Some(Lsn(50)));
        assert!(set.choose(None).is_none());
    }

    #[test]
    fn lsns_read_and_write_postgresql_text() {
        assert_eq!(Lsn::parse("0/16B3A28"), Some(Lsn(0x16B_3A28)));
        assert_eq!(
            Lsn::parse("16/B374D848"),
            Some(Lsn((0x16 << 32) | 0xB374_D848))
        );
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert!(Lsn::parse("0/16B3A28") < Lsn::parse("1/0"));
        for bad in ["", "16", "x/1", "1/1/1", "100000000/0"] {
            assert_eq!(Lsn::parse(bad), None, "{bad}");
        }
    }
}
