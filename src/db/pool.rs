//! The connection pool (SPEC §7): diesel-async connections in a deadpool pool with every wait
//! bounded, session settings applied to each new connection, and recycled connections verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool::Runtime;
use deadpool::managed::{self, Metrics, Pool, PoolError, RecycleError, RecycleResult};
use diesel::ConnectionError;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use secrecy::{ExposeSecret, SecretString};

use tokio::sync::broadcast;

use super::cache::{MarkerWait, ProfileCache};
use super::changes::{ChangeListener, StreamEvent};
use super::consistency::{Floor, WritePositions};
use super::replicas::{Lsn, Replica, Replicas};
use crate::config::{DatabaseConfig, RedisConfig};
use crate::error::AppError;
use crate::profiles::ObjectId;

/// The `application_name` of our sessions, visible in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "profile-api";

/// Opens and checks connections for the pool.
pub struct ConnectionManager {
    url: SecretString,
    statement_timeout: Duration,
    verify_idle_after: Duration,
    statements: Arc<AtomicU64>,
}

/// Counts the statements our connections send, for metrics and for the tests that prove how
/// many round trips an operation costs.
struct StatementCounter(Arc<AtomicU64>);

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl managed::Manager for ConnectionManager {
    type Type = AsyncPgConnection;
    type Error = diesel::result::Error;

    async fn create(&self) -> Result<AsyncPgConnection, Self::Error> {
        let mut conn = AsyncPgConnection::establish(self.url.expose_secret())
            .await
            .map_err(|e| match e {
                ConnectionError::CouldntSetupConfiguration(inner) => inner,
                other => diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UnableToSendCommand,
                    Box::new(other.to_string()),
                ),
            })?;
        // Generic plans: every statement we prepare is a lookup by key whose best plan does not
        // depend on the values, and re-planning a prepared statement on each execution (what
        // PostgreSQL's `auto` mode chooses for `= ANY($1)`) cost more than running it.
        conn.batch_execute(&format!(
            "SET application_name = '{APPLICATION_NAME}'; SET statement_timeout = {}; \
             SET idle_in_transaction_session_timeout = {}; SET plan_cache_mode = force_generic_plan;",
            self.statement_timeout.as_millis(),
            self.statement_timeout.as_millis().saturating_mul(2),
        ))
        .await?;
        conn.set_instrumentation(StatementCounter(self.statements.clone()));
        Ok(conn)
    }

    async fn recycle(
        &self,
        conn: &mut AsyncPgConnection,
        metrics: &Metrics,
    ) -> RecycleResult<Self::Error> {
        // A closed socket or an aborted transaction is noticed without a round trip. A ping is
        // only worth its round trip for connections that sat idle: one used a moment ago was
        // working a moment ago, and pinging on every checkout would double the cost of reads.
        if conn.is_broken() {
            return Err(RecycleError::message("broken connection"));
        }
        if metrics.last_used() > self.verify_idle_after {
            diesel::sql_query("SELECT 1").execute(conn).await?;
        }
        Ok(())
    }
}

/// How many change-stream events a slow follower may fall behind before it misses some (it is
/// then told it lagged).
const CHANGE_BUFFER: usize = 4096;

/// A write's marker on the change stream (see [`Db::mark_write`]).
#[derive(Debug)]
pub struct WriteMarker(Option<(Arc<ProfileCache>, String, Option<MarkerWait>)>);

impl WriteMarker {
    fn token(&self) -> &str {
        self.0.as_ref().map_or("", |(_, token, _)| token)
    }

    /// Once the write committed: waits until this instance's cache has applied its changes.
    pub async fn applied(mut self) {
        if let Some((cache, token, wait)) = &mut self.0
            && let Some(wait) = wait.take()
        {
            cache.await_marker(token, wait).await;
        }
    }
}

impl Drop for WriteMarker {
    fn drop(&mut self) {
        // A write that did not commit: nobody will wait for its marker.
        if let Some((cache, token, Some(_))) = &self.0 {
            cache.forget_marker(token);
        }
    }
}

/// The pool type.
pub type DbPool = Pool<ConnectionManager>;
/// A connection checked out of the pool.
pub type Conn = managed::Object<ConnectionManager>;

/// The database handle the service passes around.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    statements: Arc<AtomicU64>,
    url: SecretString,
    /// The profile cache, when reads are cached (`serve` with `CACHE=on`).
    pub(super) cache: Option<Arc<ProfileCache>>,
    /// Read replicas, when `DATABASE_REPLICA_URLS` names some.
    pub(super) replicas: Option<Arc<Replicas>>,
    /// Users' write positions, when reads may be served from something behind the primary
    /// (replicas, or a cache on one of several instances).
    pub(super) positions: Option<Arc<WritePositions>>,
    /// Every event of the change stream, for whoever follows it besides the cache.
    changes: broadcast::Sender<Arc<StreamEvent>>,
    /// The listener's sink when there is no cache, started by the first follower of the stream.
    stream_without_cache: Arc<std::sync::OnceLock<Arc<NoCache>>>,
}

/// What the listener reports to when no cache follows the stream: nobody, but the broadcast.
struct NoCache;

impl super::changes::ChangeSink for NoCache {
    fn handle(&self, _event: &StreamEvent) {}

    fn heartbeat_marker(&self) -> String {
        // Nobody checks this instance's heartbeats; any token proves the stream is live.
        format!("nocache:{}", uuid::Uuid::new_v4().simple())
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("status", &self.pool.status())
            .field("cache", &self.cache)
            .finish()
    }
}

impl Db {
    /// Builds the pool; no connection is opened until one is needed.
    pub fn new(url: SecretString, config: &DatabaseConfig) -> anyhow::Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let manager = ConnectionManager {
            url: url.clone(),
            statement_timeout: config.statement_timeout,
            verify_idle_after: config.verify_idle_after,
            statements: statements.clone(),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size as usize)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(config.create_timeout))
            .recycle_timeout(Some(config.recycle_timeout))
            .runtime(Runtime::Tokio1)
            .build()?;
        let replicas = match &config.replica_urls {
            Some(urls) if !urls.0.is_empty() => {
                Some(Self::replicas(&urls.0, config, &statements, pool.clone())?)
            }
            _ => None,
        };
        Ok(Self {
            pool,
            statements,
            url,
            cache: None,
            positions: replicas
                .as_ref()
                .map(|_| Arc::new(WritePositions::new(&RedisConfig::default()))),
            replicas,
            changes: broadcast::channel(CHANGE_BUFFER).0,
            stream_without_cache: Arc::default(),
        })
    }

    /// Pools for the replicas, with the primary's session settings but short waits (a replica
    /// that does not answer at once is worth less than the primary that does), and their
    /// monitor, when there is a runtime to run it (there always is in `serve`).
    fn replicas(
        urls: &[SecretString],
        config: &DatabaseConfig,
        statements: &Arc<AtomicU64>,
        primary: DbPool,
    ) -> anyhow::Result<Arc<Replicas>> {
        let short = Duration::from_millis(500);
        let pools = urls
            .iter()
            .map(|url| {
                let manager = ConnectionManager {
                    url: url.clone(),
                    statement_timeout: config.statement_timeout,
                    verify_idle_after: config.verify_idle_after,
                    statements: statements.clone(),
                };
                Pool::builder(manager)
                    .max_size(config.pool_size as usize)
                    .wait_timeout(Some(config.wait_timeout.min(short)))
                    .create_timeout(Some(config.create_timeout.min(short)))
                    .recycle_timeout(Some(config.recycle_timeout.min(short)))
                    .runtime(Runtime::Tokio1)
                    .build()
                    .map_err(anyhow::Error::from)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let replicas = Arc::new(Replicas::new(pools, config.replica_max_lag));
        if tokio::runtime::Handle::try_current().is_ok() {
            replicas.spawn_monitor(primary);
        }
        Ok(replicas)
    }

    /// Shares users' write positions with the other instances through the Redis `redis`
    /// names (nothing changes without `REDIS_URL`), so that each user reads their own writes on
    /// every instance.
    #[must_use]
    pub fn with_redis(mut self, redis: &RedisConfig) -> Self {
        if redis.url.is_some() {
            self.positions = Some(Arc::new(WritePositions::new(redis)));
        }
        self
    }

    /// Serves profile reads from a cache of at most `max_bytes`, kept coherent by following the
    /// database's change stream on a connection of its own (for as long as this `Db` or a clone
    /// of it lives). Must be called inside the Tokio runtime.
    #[must_use]
    pub fn with_cache(mut self, max_bytes: u64) -> Self {
        let cache = Arc::new(ProfileCache::new(max_bytes));
        ChangeListener::spawn(self.url.clone(), &cache, self.changes.clone());
        self.cache = Some(cache);
        self
    }

    /// What `viewer`'s reads must reflect: their own last write, when reads may come from
    /// something behind the primary.
    pub async fn floor(&self, viewer: Option<&ObjectId>) -> Floor {
        match (viewer, &self.positions) {
            // Boxed: only signed-in reads with shared positions wait on Redis here.
            (Some(viewer), Some(positions)) => Box::pin(positions.floor(viewer)).await,
            _ => Floor::Anything,
        }
    }

    /// A connection to read from: a replica that satisfies `floor` within the lag bound, else
    /// the primary; and the replica, when it is one (see [`read!`](crate::db::pool::read)).
    pub async fn reader(&self, floor: Floor) -> Result<(Conn, Option<&Replica>), AppError> {
        let at_least = match floor {
            Floor::Anything => Some(None),
            Floor::AtLeast(position) => Some(Some(position)),
            Floor::Primary => None,
        };
        if let (Some(replicas), Some(at_least)) = (&self.replicas, at_least)
            && let Some(replica) = replicas.choose(at_least)
        {
            match replica.pool.get().await {
                Ok(conn) => {
                    metrics::counter!("db_reads_total", "on" => "replica").increment(1);
                    return Ok((conn, Some(replica)));
                }
                Err(e) => self.read_failed(replica, &e),
            }
        }
        if self.replicas.is_some() {
            metrics::counter!("db_reads_total", "on" => "primary").increment(1);
        }
        Ok((self.conn().await?, None))
    }

    /// A read on `replica` failed: it is set aside until the monitor sees it well again, and
    /// the read goes to the primary.
    pub fn read_failed(&self, replica: &Replica, error: &dyn std::fmt::Display) {
        tracing::debug!(%error, "a read on a replica failed; the primary answers it");
        if let Some(replicas) = &self.replicas {
            replicas.set_aside(replica);
        }
    }

    /// Records, once `viewer`'s write has committed on `conn`, where the primary's WAL stands,
    /// so that their next reads wait for it everywhere (nothing to do when every read is served
    /// by the primary or this instance's own cache, which waits for the write itself).
    pub async fn write_position(&self, conn: &mut AsyncPgConnection) -> Option<Lsn> {
        self.positions.as_ref()?;
        super::replicas::insert_position(conn).await
    }

    /// Remembers that `writer` wrote, committed before `position` (see [`Db::write_position`]).
    pub async fn remember_write(&self, writer: &ObjectId, position: Lsn) {
        if let Some(positions) = &self.positions {
            positions.record(writer, position).await;
        }
    }

    /// The profile cache, if reads are cached.
    pub fn cache(&self) -> Option<&ProfileCache> {
        self.cache.as_deref()
    }

    /// Follows the change stream's events, each delivered after the cache (if any) applied it.
    /// Without a cache, the first call starts the listener (and it runs for as long as this
    /// `Db` or a clone of it lives). Must be called inside the Tokio runtime.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Arc<StreamEvent>> {
        let receiver = self.changes.subscribe();
        if self.cache.is_none() {
            self.stream_without_cache.get_or_init(|| {
                let sink = Arc::new(NoCache);
                ChangeListener::spawn(self.url.clone(), &sink, self.changes.clone());
                sink
            });
        }
        receiver
    }

    /// Waits until this instance's cache has applied every change committed before the call,
    /// whoever made it (a marker sent now comes back after all of them). For a writer outside
    /// the service's own write path, such as a test's SQL. Nothing to do without a cache.
    pub async fn catch_up(&self) -> Result<(), AppError> {
        if self.cache.is_none() {
            return Ok(());
        }
        let marker = {
            let mut conn = self.conn().await?;
            self.mark_write(&mut conn).await?
        };
        marker.applied().await;
        Ok(())
    }

    /// Marks a write about to commit on `conn`, so that it can wait, once committed, until this
    /// instance's cache has applied its changes ([`WriteMarker::applied`]). Nothing to do
    /// without a cache.
    pub async fn mark_write(&self, conn: &mut AsyncPgConnection) -> Result<WriteMarker, AppError> {
        let Some(cache) = &self.cache else {
            return Ok(WriteMarker(None));
        };
        let (token, wait) = cache.marker();
        let marker = WriteMarker(Some((cache.clone(), token, Some(wait))));
        super::changes::send_marker(conn, marker.token()).await?;
        Ok(marker)
    }

    /// Checks out a connection; an exhausted pool or an unreachable database is a 503.
    pub async fn conn(&self) -> Result<Conn, AppError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(kind) => {
                AppError::Unavailable(format!("database pool timeout ({kind:?})"))
            }
            PoolError::Backend(e) => AppError::Unavailable(format!("database unreachable: {e}")),
            other => AppError::Unavailable(format!("database pool: {other}")),
        })
    }

    /// The primary's URL, for the bulk writer's own connection (see `db::bulk`).
    pub(super) fn url(&self) -> &SecretString {
        &self.url
    }

    /// The primary's pool.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Whether a pooled connection answers a trivial query (readiness).
    pub async fn ping(&self) -> Result<(), AppError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok(())
    }

    /// Pool statistics for metrics: (size, idle, waiting).
    pub fn status(&self) -> (usize, usize, usize) {
        let status = self.pool.status();
        (status.size, status.available, status.waiting)
    }

    /// Statements sent by this pool's connections since it was built.
    pub fn statements_executed(&self) -> u64 {
        AtomicU64::load(&self.statements, Ordering::Relaxed)
    }

    /// Closes the pool: no new checkouts, idle connections dropped.
    pub fn close(&self) {
        self.pool.close();
    }
}

/// The one way the service runs a transaction: a block on a pooled connection, committed when
/// it returns `Ok` (and `commit_if` holds: a dry run rolls back what it did), rolled back on an
/// error, and run again (up to three times in all) when it lost a race the database detected
/// (`AppError::Contention`). A committed write returns once this instance's profile cache has
/// applied it (read-your-writes, see [`Db::mark_write`]).
///
/// `transaction!(db, |conn| { ... })`, `transaction!(db, writer = Some(&id), |conn| { ... })` or
/// `transaction!(db, writer = ..., commit_if = cond, |conn| { ... })`, with `conn: &mut
/// AsyncPgConnection` and a block of type `AppResult<T>`. The writer's next reads, on any
/// instance, reflect the write (read-your-writes, see [`Db::write_position`]). (A macro rather than
/// a function taking an async closure: such a closure borrowing its surroundings cannot be
/// passed on as a `Send` future, and diesel-async's own `transaction` cannot be wrapped
/// generically because its `Send` bound names a private trait.) The one other transaction is
/// the bulk writer's (`db::bulk`): COPY needs a tokio-postgres connection, which this macro's
/// diesel connection type cannot be; it retries a lost race the same way.
macro_rules! transaction {
    ($db:expr, |$conn:ident| $body:block) => {
        $crate::db::pool::transaction!($db, writer = None, commit_if = true, |$conn| $body)
    };
    ($db:expr, writer = $writer:expr, |$conn:ident| $body:block) => {
        $crate::db::pool::transaction!($db, writer = $writer, commit_if = true, |$conn| $body)
    };
    ($db:expr, writer = $writer:expr, commit_if = $commit:expr, |$conn:ident| $body:block) => {{
        use diesel_async::TransactionManager as _;
        type Transactions = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::TransactionManager;
        let db: &$crate::db::Db = &$db;
        let writer: Option<&$crate::profiles::ObjectId> = $writer;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome: $crate::error::AppResult<_> = async {
                let mut pooled = db.conn().await?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
                Transactions::begin_transaction($conn).await?;
                let result: $crate::error::AppResult<_> = async { $body }.await;
                match result {
                    Ok(value) if $commit => {
                        let marker = match db.mark_write($conn).await {
                            Ok(marker) => marker,
                            Err(error) => {
                                Transactions::rollback_transaction($conn).await?;
                                return Err(error);
                            }
                        };
                        Transactions::commit_transaction($conn).await?;
                        let position = match writer {
                            Some(_) => db.write_position($conn).await,
                            None => None,
                        };
                        Ok((value, Some(marker), position))
                    }
                    Ok(value) => {
                        Transactions::rollback_transaction($conn).await?;
                        Ok((value, None, None))
                    }
                    Err(error) => {
                        Transactions::rollback_transaction($conn).await?;
                        Err(error)
                    }
                }
            }
            .await;
            match outcome {
                Err($crate::error::AppError::Contention(reason)) if attempt < 3 => {
                    tracing::debug!(%reason, attempt, "transaction lost a race; running it again");
                }
                // The connection is back in the pool: now make the write visible to the writer
                // wherever it reads next.
                Ok((value, marker, position)) => {
                    if let (Some(writer), Some(position)) = (writer, position) {
                        db.remember_write(writer, position).await;
                    }
                    if let Some(marker) = marker {
                        marker.applied().await;
                    }
                    break Ok(value);
                }
                Err(error) => break Err(error),
            }
        }
    }};
}
pub(crate) use transaction;

/// Runs a read where `floor` allows: `read!(db, floor, |conn| expr)` with `conn: &mut
/// AsyncPgConnection` and `expr: AppResult<T>`. A read that fails on a replica runs again on the
/// primary (and the replica is set aside): a replica's trouble is never the client's.
macro_rules! read {
    ($db:expr, $floor:expr, |$conn:ident| $body:expr) => {{
        let db: &$crate::db::Db = &$db;
        let (mut pooled, replica) = db.reader($floor).await?;
        let result = {
            let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
            $body
        };
        match (result, replica) {
            (Err(error), Some(replica)) => {
                db.read_failed(replica, &error);
                drop(pooled);
                let mut pooled = db.conn().await?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
                $body
            }
            (result, _) => result,
        }
    }};
}
pub(crate) use read;

/// Whether a database error means the database is out of reach or overloaded rather than a bug.
pub fn is_unavailable(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("statement timeout")
                || message.contains("terminating connection")
                || message.contains("the database system is")
        }
        _ => false,
    }
}

/// Whether a transaction failed only because it lost a race the database detected (deadlock or
/// serialization failure) and is worth running again.
pub fn is_retryable(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        if is_unavailable(&error) {
            AppError::Unavailable(error.to_string())
        } else if is_retryable(&error) {
            AppError::Contention(error.to_string())
        } else {
            AppError::internal(error)
        }
    }
}
