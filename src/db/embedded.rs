//! The embedded PostgreSQL cluster (SPEC §7): with no `DATABASE_URL`, a private cluster under
//! `DATA_DIR`, run from the PostgreSQL server binaries installed on the machine and reached over
//! a Unix socket in `DATA_DIR/run`.
//!
//! `pg_ctl` starts the server detached from our terminal, so Ctrl-C reaches only us and we stop
//! it in order; if we die without stopping it, the next start finds it running and reuses it.
//! PostgreSQL refuses to run as root, so a root process runs it as the `postgres` user (or
//! `nobody`) and hands that user the cluster's directories.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};
use secrecy::SecretString;

/// The database our data lives in, inside the cluster.
pub const DATABASE_NAME: &str = "profile_api";

/// Help printed when no server binaries can be found.
const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found \
in `pg_config --bindir`, on PATH, or under /usr/lib/postgresql/*/bin. Install them — Debian/Ubuntu: \
`sudo apt install postgresql`; Fedora: `sudo dnf install postgresql-server`; macOS: \
`brew install postgresql@16` — or set DATABASE_URL to use an existing PostgreSQL server.";

/// A running embedded cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<nix::unistd::User>,
    created: bool,
}

impl EmbeddedPostgres {
    /// Starts (creating it first if needed) the cluster under `data_dir`, or reuses one that is
    /// already running there.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir().context(INSTALL_HINT)?;
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create DATA_DIR {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve DATA_DIR {}", data_dir.display()))?;
        let cluster_dir = data_dir.join("postgres");
        let socket_dir = data_dir.join("run");
        let run_as = unprivileged_user()?;

        for dir in [&cluster_dir, &socket_dir] {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
            if let Some(user) = &run_as {
                std::os::unix::fs::chown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                    .with_context(|| {
                        format!("cannot hand {} to user {}", dir.display(), user.name)
                    })?;
            }
        }

        let mut cluster = Self {
            bin_dir,
            cluster_dir,
            socket_dir,
            run_as,
            created: false,
        };
        cluster.check_access()?;
        if !cluster.cluster_dir.join("PG_VERSION").exists() {
            cluster.init()?;
            cluster.created = true;
        }
        if !cluster.is_running() {
            cluster.run_server()?;
        }
        Ok(cluster)
    }

    /// Whether the cluster was created by this start (it then gets the demo data).
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// The URL of `database` in the cluster, over the Unix socket.
    pub fn url(&self, database: &str) -> SecretString {
        let socket = self.socket_dir.to_string_lossy();
        let host = percent_encode_path(&socket);
        SecretString::from(format!("postgres://postgres@{host}/{database}"))
    }

    /// Creates `database` if it does not exist.
    pub async fn ensure_database(&self, database: &str) -> anyhow::Result<()> {
        use diesel::sql_types::{Bool, Text};
        use diesel_async::{
            AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
        };
        use secrecy::ExposeSecret;

        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = Bool)]
            exists: bool,
        }
        let mut conn = AsyncPgConnection::establish(self.url("postgres").expose_secret()).await?;
        let found: Exists = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
        )
        .bind::<Text, _>(database)
        .get_result(&mut conn)
        .await?;
        if !found.exists {
            conn.batch_execute(&format!("CREATE DATABASE \"{database}\""))
                .await?;
        }
        Ok(())
    }

    /// Stops the server (fast shutdown: open sessions are closed, data is safe).
    pub fn stop(&self) -> anyhow::Result<()> {
        let output = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "30"])?;
        if !output.status.success() && self.is_running() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    fn init(&self) -> anyhow::Result<()> {
        tracing::info!(dir = %self.cluster_dir.display(), "creating the embedded PostgreSQL cluster");
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .output()
            .context("cannot run initdb")?;
        ensure_success("initdb", &output)
    }

    fn run_server(&self) -> anyhow::Result<()> {
        let log = self.cluster_dir.join("server.log");
        let options = format!(
            "-k {} -c listen_addresses='' -c max_connections=200 -c unix_socket_permissions=0777",
            self.socket_dir.display()
        );
        let log = log.to_string_lossy().into_owned();
        let output = self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log, "-o", &options])?;
        ensure_success("pg_ctl start", &output).with_context(|| format!("see {log}"))
    }

    fn is_running(&self) -> bool {
        self.pg_ctl(&["status"]).is_ok_and(|o| o.status.success())
    }

    fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(args)
            .output()
            .context("cannot run pg_ctl")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        command.env_remove("PGDATA").env("LC_ALL", "C");
        if let Some(user) = &self.run_as {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        command
    }

    /// A root process hands the cluster to an unprivileged user, who must be able to reach it.
    fn check_access(&self) -> anyhow::Result<()> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        let reachable = self
            .command("pg_ctl")
            .arg("--version")
            .current_dir(&self.cluster_dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !reachable {
            bail!(
                "the embedded PostgreSQL runs as user `{}` (it refuses to run as root), but that user \
                 cannot reach {}: a parent directory is closed to other users. Set DATA_DIR to a \
                 directory it can reach (such as /var/tmp/profile-api) or set DATABASE_URL.",
                user.name,
                self.cluster_dir.display()
            );
        }
        Ok(())
    }
}

fn ensure_success(what: &str, output: &Output) -> anyhow::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    )
}

/// The user to run PostgreSQL as when we are root: `postgres` if it exists, else `nobody`.
fn unprivileged_user() -> anyhow::Result<Option<nix::unistd::User>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(user) = nix::unistd::User::from_name(name)? {
            return Ok(Some(user));
        }
    }
    bail!(
        "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as"
    )
}

/// Where `initdb` and `pg_ctl` live: `pg_config --bindir`, then `PATH`, then the newest
/// `/usr/lib/postgresql/*/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let from_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or_default()
    });
    from_pg_config
        .into_iter()
        .chain(from_path)
        .chain(debian.into_iter().rev())
        .find(|dir| has_tools(dir))
}

/// Percent-encodes a socket directory for the host part of a connection URL.
fn percent_encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths_are_encoded_for_the_url_host() {
        assert_eq!(percent_encode_path("/tmp/a b/run"), "%2Ftmp%2Fa%20b%2Frun");
    }
}
