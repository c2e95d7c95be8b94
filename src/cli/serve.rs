//! `profile-api serve`: the HTTP server, with graceful shutdown.

use std::time::Duration;

use tokio::net::TcpListener;

use super::database::Database;
use super::token_keys;
use crate::config::Config;
use crate::db::{Db, migrations};
use crate::state::AppState;

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish (within the configured
/// bound), closes the pool and stops the embedded database.
pub async fn run(config: Config, migrate: bool) -> anyhow::Result<()> {
    let keys = token_keys(&config)?;
    let database = Database::open(&config).await?;
    if !database.is_embedded() {
        if migrate {
            let applied = migrations::run(&database.url).await?;
            tracing::info!(?applied, "migrations applied");
        } else {
            let pending = migrations::pending(&database.url).await?;
            anyhow::ensure!(
                pending.is_empty(),
                "the database schema is not current ({} migration(s) pending: {}). Run \
                 `profile-api migrate` (or start with `profile-api serve --migrate`).",
                pending.len(),
                pending.join(", ")
            );
        }
    }
    let mut db = Db::new(database.url.clone(), &config.database)?.with_redis(&config.redis);
    if config.cache.enabled {
        db = db.with_cache(config.cache.max_bytes);
    }
    let state = AppState::new(db.clone(), keys, config.clone());
    if let Some(limiter) = state.rate_limiter().cloned() {
        tokio::spawn(async move {
            let mut every_minute = tokio::time::interval(Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                limiter.forget_idle_clients();
            }
        });
    }
    let app = crate::router(state, crate::graphql::schema(&config.graphql))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();

    let listener = match TcpListener::bind(config.bind_addr).await {
        Ok(listener) => listener,
        Err(e) => {
            database.stop();
            anyhow::bail!("cannot listen on {} (BIND_ADDR): {e}", config.bind_addr);
        }
    };
    let address = listener.local_addr()?;
    print_welcome(&address.to_string());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            })
            .await
    });
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(config.http.shutdown_timeout, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::error!(error = %e, "server error"),
        Ok(Err(e)) => tracing::error!(error = %e, "server task failed"),
        Err(_) => tracing::warn!(
            timeout = ?config.http.shutdown_timeout,
            "in-flight requests did not finish in time; closing anyway"
        ),
    }
    db.close();
    database.stop();
    // Leave the log a moment to flush before the process exits.
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

fn print_welcome(address: &str) {
    let base = format!("http://{address}");
    let id = crate::demo::EXAMPLE_USER_ID;
    println!(
        "\nprofile-api is listening on {base}\n\
         \n  GraphiQL           {base}/graphql\
         \n  REST reference     {base}/api/docs\
         \n  Health             {base}/healthz  {base}/readyz  {base}/metrics\
         \n\n  Try it:\
         \n    curl {base}/api/v1/users/profile/{id}\
         \n    curl -H 'X-Timezone: UTC+03:00' -H 'Accept-Language: tr' {base}/api/v1/users/profile/username/@JohnDoe123\
         \n    TOKEN=$(profile-api token --user {id})   # or: cargo run --release -- token --user {id}\
         \n    curl -X PATCH -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\
         \n         -d '{{\"bio\": \"Hello\"}}' {base}/api/v1/users/profile\n"
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
