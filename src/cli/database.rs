//! Which PostgreSQL a command uses: `DATABASE_URL`, or the embedded cluster under `DATA_DIR`.

use secrecy::SecretString;

use crate::config::Config;
use crate::db::embedded::{self, EmbeddedPostgres};
use crate::db::{Db, migrations};

/// The database a command works on.
pub struct Database {
    /// Its connection URL.
    pub url: SecretString,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Opens the configured database. The embedded cluster is started, migrated, and — when
    /// this start created it — filled with the demo data; an external database is only
    /// connected to (migrating it is a release step, see `profile-api migrate`).
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        if let Some(url) = &config.database_url {
            return Ok(Self {
                url: url.clone(),
                embedded: None,
            });
        }
        let data_dir = config.data_dir.clone();
        let cluster =
            tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&data_dir)).await??;
        cluster.ensure_database(embedded::DATABASE_NAME).await?;
        let url = cluster.url(embedded::DATABASE_NAME);
        let database = Self {
            url,
            embedded: Some(cluster),
        };
        let applied = migrations::run(&database.url).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrated the embedded database");
        }
        if database
            .embedded
            .as_ref()
            .is_some_and(EmbeddedPostgres::was_created)
        {
            let pool = Db::new(database.url.clone(), &config.database)?;
            let summary = crate::demo::seed(&pool).await?;
            pool.close();
            tracing::info!(
                inserted = summary.inserted,
                "seeded the demo data into the new embedded database"
            );
        }
        Ok(database)
    }

    /// Whether this is the embedded cluster.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Stops the embedded cluster, if that is what we run on.
    pub fn stop(self) {
        if let Some(cluster) = self.embedded {
            match cluster.stop() {
                Ok(()) => tracing::info!("stopped the embedded database"),
                Err(e) => tracing::warn!(error = %e, "could not stop the embedded database"),
            }
        }
    }
}
