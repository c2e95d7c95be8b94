//! The migrations in `migrations/`, embedded in the binary (SPEC §7).
//!
//! Migrating is a release step: `profile-api migrate` (or `serve --migrate`, or the embedded
//! cluster at start-up) applies them under a PostgreSQL advisory lock so that replicas starting
//! together cannot race; `serve` against an external database only checks they are applied.

use diesel::RunQueryDsl as _;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use secrecy::{ExposeSecret, SecretString};

/// Every migration of the repository.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Key of the advisory lock held while migrating ("profile-api" in ASCII, truncated).
pub const MIGRATION_LOCK_KEY: i64 = 0x7072_6f66_696c_6561;

type SyncConnection = AsyncConnectionWrapper<AsyncPgConnection>;

fn connect(url: &SecretString) -> anyhow::Result<SyncConnection> {
    use diesel::Connection as _;
    SyncConnection::establish(url.expose_secret())
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))
}

/// Applies every pending migration under the advisory lock; returns the versions applied.
pub async fn run(url: &SecretString) -> anyhow::Result<Vec<String>> {
    let url = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = connect(&url)?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)?;
        applied
    })
    .await?
}

/// The versions of migrations not yet applied.
pub async fn pending(url: &SecretString) -> anyhow::Result<Vec<String>> {
    let url = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = connect(&url)?;
        let pending = conn
            .pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("cannot read the migration state: {e}"))?;
        Ok(pending
            .iter()
            .map(|m| m.name().version().to_string())
            .collect())
    })
    .await?
}

/// Number of migrations in the binary.
pub fn count() -> usize {
    MigrationSource::<Pg>::migrations(&MIGRATIONS).map_or(0, |m| m.len())
}
