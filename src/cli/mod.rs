//! The subcommands of SPEC §7.

mod database;
mod serve;

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::process::ExitCode;

use base64::Engine as _;
use secrecy::SecretString;

use crate::config::{Cli, Command, Config, TokenRole};
use crate::db::{Db, migrations};
use crate::identity::TokenKeys;
use crate::profiles::ObjectId;
pub use database::Database;

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve { migrate: false }) {
        Command::Serve { migrate } => serve::run(config, migrate).await?,
        Command::ExportSchema => print!("{}", crate::graphql::sdl()),
        Command::Token { user, role, ttl } => {
            let id = ObjectId::parse(&user).ok_or_else(|| {
                anyhow::anyhow!("--user must be a 24-character hexadecimal user id")
            })?;
            let token =
                token_keys(&config)?.mint(&id, matches!(role, Some(TokenRole::Admin)), ttl)?;
            println!("{token}");
        }
        Command::Migrate => {
            let database = Database::open(&config).await?;
            let applied = migrations::run(&database.url).await;
            database.stop();
            let applied = applied?;
            if applied.is_empty() {
                println!(
                    "The database schema is current ({} migrations).",
                    migrations::count()
                );
            } else {
                println!(
                    "Applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
            }
        }
        Command::Seed { .. } => {
            let (database, db) = open_current(&config).await?;
            let summary = crate::demo::seed(&db).await;
            db.close();
            database.stop();
            let summary = summary?;
            println!(
                "Demo data: {} rows inserted, {} updated. Try user {}.",
                summary.inserted,
                summary.updated,
                crate::demo::EXAMPLE_USER_ID
            );
        }
        Command::Import {
            dir,
            strict,
            batch_size,
            resume,
        } => {
            let (database, db) = open_current(&config).await?;
            let mut options = crate::import::Options::new(batch_size as usize);
            options.resume = resume;
            stop_on_ctrl_c(options.stop.clone());
            let report = crate::import::run_with(&db, &dir, &options).await;
            db.close();
            database.stop();
            let report = report?;
            report.print(&mut std::io::stdout())?;
            if report.interrupted {
                println!(
                    "\nStopped on request; every batch written so far is kept. To continue:\n  \
                     profile-api import {} --resume",
                    dir.display()
                );
                return Ok(ExitCode::from(130));
            }
            if strict && report.skipped() > 0 {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Recount => {
            let (database, db) = open_current(&config).await?;
            let fixed = crate::profiles::follows::recount(&db).await;
            db.close();
            database.stop();
            let fixed = fixed.map_err(|e| anyhow::anyhow!("{e}"))?;
            if fixed.is_empty() {
                println!("All follower and following counters match the follow table.");
            } else {
                println!("Repaired {} counter row(s):", fixed.len());
                for drift in &fixed {
                    println!("  {drift}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The first Ctrl-C asks a long command to stop after its current step (`stop` is set); a
/// second one ends the process at once.
fn stop_on_ctrl_c(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        eprintln!("\nStopping after the current batch (Ctrl-C again to quit at once)…");
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// Opens the database for a command that needs the schema current.
async fn open_current(config: &Config) -> anyhow::Result<(Database, Db)> {
    let database = Database::open(config).await?;
    let pending = migrations::pending(&database.url).await?;
    if !pending.is_empty() {
        database.stop();
        anyhow::bail!("the database schema is not current: run `profile-api migrate` first");
    }
    let db = Db::new(database.url.clone(), &config.database)?;
    Ok((database, db))
}

/// The token keys: `JWT_SECRET`, or else a development secret generated once and kept in
/// `DATA_DIR/jwt-secret`, so that `serve` and `token` agree without configuration.
pub fn token_keys(config: &Config) -> anyhow::Result<TokenKeys> {
    let public_key = TokenKeys::read_public_key(config.jwt_public_key_file.as_deref())?;
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => development_secret(&config.data_dir)?,
    };
    TokenKeys::new(&secret, public_key.as_deref())
}

fn development_secret(data_dir: &std::path::Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("jwt-secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(secret.trim().to_owned()));
    }
    std::fs::create_dir_all(data_dir)?;
    let bytes: Vec<u8> = (0..3)
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .collect();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(secret.as_bytes())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    tracing::warn!(path = %path.display(), "JWT_SECRET is not set: using a generated development secret");
    Ok(SecretString::from(secret))
}
