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

use crate::config::DatabaseConfig;
use crate::error::AppError;

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

/// The pool type.
pub type DbPool = Pool<ConnectionManager>;
/// A connection checked out of the pool.
pub type Conn = managed::Object<ConnectionManager>;

/// The database handle the service passes around.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    statements: Arc<AtomicU64>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("status", &self.pool.status())
            .finish()
    }
}

impl Db {
    /// Builds the pool; no connection is opened until one is needed.
    pub fn new(url: SecretString, config: &DatabaseConfig) -> anyhow::Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let manager = ConnectionManager {
            url,
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
        Ok(Self { pool, statements })
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
/// (`AppError::Contention`).
///
/// `transaction!(db, |conn| { ... })` or `transaction!(db, commit_if = cond, |conn| { ... })`,
/// with `conn: &mut AsyncPgConnection` and a block of type `AppResult<T>`. (A macro rather than
/// a function taking an async closure: such a closure borrowing its surroundings cannot be
/// passed on as a `Send` future, and diesel-async's own `transaction` cannot be wrapped
/// generically because its `Send` bound names a private trait.)
macro_rules! transaction {
    ($db:expr, |$conn:ident| $body:block) => {
        $crate::db::pool::transaction!($db, commit_if = true, |$conn| $body)
    };
    ($db:expr, commit_if = $commit:expr, |$conn:ident| $body:block) => {{
        use diesel_async::TransactionManager as _;
        type Transactions = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::TransactionManager;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome: $crate::error::AppResult<_> = async {
                let mut pooled = $db.conn().await?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
                Transactions::begin_transaction($conn).await?;
                let result: $crate::error::AppResult<_> = async { $body }.await;
                match result {
                    Ok(value) if $commit => {
                        Transactions::commit_transaction($conn).await?;
                        Ok(value)
                    }
                    Ok(value) => {
                        Transactions::rollback_transaction($conn).await?;
                        Ok(value)
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
                other => break other,
            }
        }
    }};
}
pub(crate) use transaction;

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
