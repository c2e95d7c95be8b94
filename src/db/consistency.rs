//! Read-your-writes across instances and replicas (SPEC §8): after a user's write commits, the
//! primary's WAL position is recorded as that user's *write position*; the user's reads are
//! then served only from what has replayed it — a replica whose replay position is past it, a
//! cache that has applied the change stream past it, or the primary.
//!
//! Positions live in this instance's memory and, with `REDIS_URL`, in Redis (a short-lived key
//! per user), where every instance sees them — the approach of GitLab's database load
//! balancer. Redis failing must not break the promise: a read whose floor cannot be learnt goes
//! to the primary, which has every write.

use std::time::Duration;

use moka::sync::Cache;
use redis::Script;

use super::replicas::Lsn;
use crate::config::RedisConfig;
use crate::profiles::ObjectId;
use crate::shared_state::SharedState;

/// How long a write position is kept. Far longer than any instance may lag behind and still be
/// used (a replica past `REPLICA_MAX_LAG_MS`, a cache whose listener is silent for 100 ms stop
/// being used), so it never expires while it still matters.
const KEEP: Duration = Duration::from_secs(60);

/// Keeps the highest position (two writes of a user on two instances may record out of order).
/// KEYS[1]: the user's key; ARGV[1]: the position; ARGV[2]: milliseconds to keep it.
const RECORD: &str = r"
local known = tonumber(redis.call('GET', KEYS[1]) or '0')
local position = tonumber(ARGV[1])
if known > position then position = known end
redis.call('SET', KEYS[1], string.format('%d', position), 'PX', ARGV[2])
return 1
";

/// What a read must reflect: a user's last write, the last invalidation of what it will
/// cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// Nothing in particular.
    Anything,
    /// Everything committed before this position.
    AtLeast(Lsn),
    /// Cannot be known (Redis does not answer, an invalidation's position is not known yet):
    /// only the primary will do.
    Primary,
}

impl Floor {
    /// What satisfies both.
    #[must_use]
    pub fn and(self, other: Floor) -> Floor {
        match (self, other) {
            (Floor::Primary, _) | (_, Floor::Primary) => Floor::Primary,
            (Floor::AtLeast(a), Floor::AtLeast(b)) => Floor::AtLeast(a.max(b)),
            (Floor::AtLeast(a), Floor::Anything) | (Floor::Anything, Floor::AtLeast(a)) => {
                Floor::AtLeast(a)
            }
            (Floor::Anything, Floor::Anything) => Floor::Anything,
        }
    }

    /// The floor of a position that may be unknown (`None`: only the primary).
    pub fn from_known(position: Option<Lsn>) -> Floor {
        position.map_or(Floor::Primary, Floor::AtLeast)
    }

    /// Whether something that has applied everything before `applied` satisfies it.
    pub fn met_by(self, applied: Lsn) -> bool {
        match self {
            Floor::Anything => true,
            Floor::AtLeast(position) => applied >= position,
            Floor::Primary => false,
        }
    }
}

/// Write positions, here and in Redis.
pub struct WritePositions {
    local: Cache<ObjectId, Lsn>,
    shared: Option<std::sync::Arc<SharedState>>,
    script: Script,
}

impl std::fmt::Debug for WritePositions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePositions")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl WritePositions {
    /// Positions kept here, and in Redis when `redis` names one.
    pub fn new(redis: &RedisConfig) -> Self {
        Self {
            local: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(KEEP)
                .build(),
            shared: SharedState::new(
                redis,
                "write_positions",
                "a user's reads go to the primary until it does",
            )
            .map(std::sync::Arc::new)
            .inspect(SharedState::connect_early),
            script: Script::new(RECORD),
        }
    }

    /// Whether other instances learn of this one's writes.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn key(shared: &SharedState, user: &ObjectId) -> String {
        shared.key(&format!("written:{user}"))
    }

    /// Records that `user` wrote, committed before `position`.
    pub async fn record(&self, user: &ObjectId, position: Lsn) {
        let known = self.local.get(user).unwrap_or_default();
        self.local.insert(user.clone(), known.max(position));
        let Some(shared) = &self.shared else { return };
        let Some(mut connection) = shared.connection() else {
            return;
        };
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(Self::key(shared, user))
            .arg(position.0)
            .arg(u64::try_from(KEEP.as_millis()).unwrap_or(u64::MAX));
        // A failure is counted and logged by `bounded`; readers then ask the primary.
        let _: Option<i64> = shared
            .bounded(invocation.invoke_async(&mut connection))
            .await;
    }

    /// What `user`'s reads must reflect.
    pub async fn floor(&self, user: &ObjectId) -> Floor {
        let local = self.local.get(user);
        let Some(shared) = &self.shared else {
            return local.map_or(Floor::Anything, Floor::AtLeast);
        };
        let Some(mut connection) = shared.connection() else {
            return Floor::Primary;
        };
        let mut get = redis::cmd("GET");
        get.arg(Self::key(shared, user));
        match shared
            .bounded(get.query_async::<Option<u64>>(&mut connection))
            .await
        {
            None => Floor::Primary,
            Some(remote) => match local.max(remote.map(Lsn)) {
                Some(position) => Floor::AtLeast(position),
                None => Floor::Anything,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_combine_and_compare() {
        let (any, primary) = (Floor::Anything, Floor::Primary);
        let at = |n| Floor::AtLeast(Lsn(n));
        assert_eq!(any.and(any), any);
        assert_eq!(any.and(at(5)), at(5));
        assert_eq!(at(7).and(at(5)), at(7));
        assert_eq!(at(7).and(primary), primary);
        assert!(any.met_by(Lsn(0)));
        assert!(at(5).met_by(Lsn(5)));
        assert!(!at(6).met_by(Lsn(5)));
        assert!(!primary.met_by(Lsn(u64::MAX)));
        assert_eq!(Floor::from_known(None), primary);
    }
}
