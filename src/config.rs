//! Configuration: every setting is a command-line flag and an environment variable (also read
//! from `.env`), validated at start-up so that a bad value stops the process with a message
//! naming it.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `DATABASE_URL` | unset | PostgreSQL to use; unset starts the embedded cluster under `DATA_DIR` |
//! | `BIND_ADDR` | `127.0.0.1:8080` | address `serve` listens on |
//! | `JWT_SECRET` | generated under `DATA_DIR` | HS256 secret for bearer tokens |
//! | `JWT_PUBLIC_KEY_FILE` | unset | PEM RSA public key; also accepts RS256 tokens |
//! | `DATA_DIR` | `.data` | embedded cluster, generated development secret |
//! | `LOG_FORMAT` | `pretty` | `pretty` or `json` |
//! | `RUST_LOG` | `info` | log filter |
//! | `DB_POOL_SIZE` .. `DB_STATEMENT_TIMEOUT_MS` | see [`DatabaseConfig`] | pool limits |
//! | `DATABASE_REPLICA_URLS`, `REPLICA_MAX_LAG_MS` | unset, 1000 | read replicas, see [`DatabaseConfig`] |
//! | `CACHE`, `CACHE_MAX_BYTES` | `on`, 64 MiB | the profile cache, see [`CacheConfig`] |
//! | `GRAPHQL_*` | see [`GraphqlLimits`] | query and body limits |
//! | `GRAPHQL_WS_*` | see [`GraphqlLimits`] | subscriptions over WebSocket: connections, subscriptions, timeouts |
//! | `CORS_ORIGINS`, `REQUEST_TIMEOUT_MS`, `RATE_LIMIT_*`, `SHUTDOWN_TIMEOUT_MS` | see [`HttpConfig`] | HTTP |
//! | `REDIS_URL`, `REDIS_KEY_PREFIX` | see [`RedisConfig`] | state shared by all instances |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

/// The `profile-api` command line.
#[derive(Debug, Parser)]
#[command(name = "profile-api", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands of SPEC §7.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST and GraphQL API (the default).
    Serve {
        /// Apply pending migrations before serving (external databases only; the embedded
        /// cluster is always migrated).
        #[arg(long)]
        migrate: bool,
    },
    /// Apply pending migrations, under an advisory lock so replicas cannot race.
    Migrate,
    /// Load the demo data set (idempotent).
    Seed {
        /// The demo data set: the seed's example user and a few dozen others.
        #[arg(long, required = true)]
        demo: bool,
    },
    /// Mint a bearer token for local use.
    Token {
        /// The user id the token is for (`sub`).
        #[arg(long)]
        user: String,
        /// `admin` adds the admin role.
        #[arg(long)]
        role: Option<TokenRole>,
        /// Lifetime, such as `30m`, `1h` or `7d`.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        ttl: Duration,
    },
    /// Import mongoexport JSON-lines files (media, users, follows, blocks) from a directory.
    Import {
        /// Directory holding `media.jsonl`, `users.jsonl`, `follows.jsonl`, `blocks.jsonl`.
        dir: PathBuf,
        /// Treat any skipped document as an error (non-zero exit status).
        #[arg(long)]
        strict: bool,
        /// Documents written per transaction.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
        batch_size: u32,
        /// Continue an interrupted import (Ctrl-C, a crash, a lost connection) after the last
        /// batch it wrote, instead of starting anew.
        #[arg(long)]
        resume: bool,
    },
    /// Verify the follower/following counters against the follow table and repair drift.
    Recount,
    /// Print the GraphQL schema (SDL) that the server serves.
    ExportSchema,
}

/// The role a minted token carries.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TokenRole {
    /// An administrator: may read private profiles.
    Admin,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable, coloured on a terminal.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// PostgreSQL connection URL; unset starts an embedded cluster under DATA_DIR.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// Address to listen on.
    #[arg(
        long,
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind_addr: SocketAddr,
    /// Secret for HS256 bearer tokens; unset uses a development secret kept in DATA_DIR.
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// PEM file with an RSA public key: RS256 tokens signed with its private key are accepted too.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Directory for the embedded PostgreSQL cluster and the development secret.
    #[arg(long, env = "DATA_DIR", default_value = ".data", global = true)]
    pub data_dir: PathBuf,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty", global = true)]
    pub log_format: LogFormat,
    /// Log filter (tracing's EnvFilter syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info", global = true)]
    pub rust_log: String,
    /// Database pool settings.
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// The profile cache.
    #[command(flatten)]
    pub cache: CacheConfig,
    /// GraphQL query limits.
    #[command(flatten)]
    pub graphql: GraphqlLimits,
    /// HTTP settings.
    #[command(flatten)]
    pub http: HttpConfig,
    /// Redis, for state shared by all instances.
    #[command(flatten)]
    pub redis: RedisConfig,
}

/// The connection pool (SPEC §7): every wait is bounded, so an outage answers 503 quickly.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Connections in the pool; about twice the database's cores is best (more connections
    /// than cores only fight over them). Default: twice this machine's cores, at least 4.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = default_pool_size(), global = true,
          value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub pool_size: u32,
    /// How long a request waits for a free connection before it gets a 503.
    #[arg(long, env = "DB_POOL_WAIT_TIMEOUT_MS", default_value = "2000", value_parser = parse_millis, global = true)]
    pub wait_timeout: Duration,
    /// How long opening a new connection may take.
    #[arg(long, env = "DB_CONNECT_TIMEOUT_MS", default_value = "3000", value_parser = parse_millis, global = true)]
    pub create_timeout: Duration,
    /// How long checking a recycled connection may take.
    #[arg(long, env = "DB_RECYCLE_TIMEOUT_MS", default_value = "1000", value_parser = parse_millis, global = true)]
    pub recycle_timeout: Duration,
    /// A connection idle for longer than this is pinged before reuse.
    #[arg(long, env = "DB_VERIFY_IDLE_AFTER_MS", default_value = "1000", value_parser = parse_millis, global = true)]
    pub verify_idle_after: Duration,
    /// `statement_timeout` set on every connection.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_MS", default_value = "5000", value_parser = parse_millis, global = true)]
    pub statement_timeout: Duration,
    /// Streaming replicas of `DATABASE_URL`, comma-separated: reads go there (within the lag
    /// bound, and past a user's own writes), writes to the primary. Unset: everything on the
    /// primary.
    #[arg(long = "database-replica-urls", env = "DATABASE_REPLICA_URLS", global = true, hide_env_values = true,
          value_parser = parse_urls)]
    pub replica_urls: Option<ReplicaUrls>,
    /// A replica further behind the primary than this (or unreachable) is skipped until it
    /// catches up.
    #[arg(long = "replica-max-lag-ms", env = "REPLICA_MAX_LAG_MS", default_value = "1000", value_parser = parse_millis, global = true)]
    pub replica_max_lag: Duration,
}

/// The URLs of `DATABASE_REPLICA_URLS`.
#[derive(Debug, Clone)]
pub struct ReplicaUrls(pub Vec<SecretString>);

fn parse_urls(value: &str) -> Result<ReplicaUrls, String> {
    let urls: Vec<SecretString> = value
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(SecretString::from(url.to_owned()))
            } else {
                Err("each replica must be a postgres:// URL".to_owned())
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(ReplicaUrls(urls))
}

/// The profile cache (SPEC §8): reads served from memory, kept coherent by the database's
/// change stream.
#[derive(Debug, Clone, Args)]
pub struct CacheConfig {
    /// `on` serves hot profiles from memory; `off` reads every profile from the database.
    #[arg(long = "cache", env = "CACHE", default_value = "on", global = true,
          value_parser = parse_switch)]
    pub enabled: bool,
    /// Byte budget of the profile cache.
    #[arg(long, env = "CACHE_MAX_BYTES", default_value_t = 64 * 1024 * 1024, global = true,
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Limits on GraphQL operations.
#[derive(Debug, Clone, Args)]
pub struct GraphqlLimits {
    /// Deepest selection nesting allowed.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 15, global = true)]
    pub max_depth: usize,
    /// Highest query complexity allowed.
    #[arg(
        long,
        env = "GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 5000,
        global = true
    )]
    pub max_complexity: usize,
    /// Most aliases in one operation.
    #[arg(
        long,
        env = "GRAPHQL_MAX_ALIASES",
        default_value_t = 100,
        global = true
    )]
    pub max_aliases: usize,
    /// Serve introspection (and so GraphiQL's documentation).
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value_t = true, global = true,
          action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Largest `/graphql` request body in bytes (413 beyond it); also bounds a GET's query
    /// string (414).
    #[arg(long, env = "GRAPHQL_MAX_BODY_BYTES", default_value_t = DEFAULT_GRAPHQL_MAX_BODY_BYTES,
          value_parser = parse_bytes, global = true)]
    pub max_body_bytes: usize,
    /// Most WebSocket connections (subscriptions) one instance holds; more are refused with 503.
    #[arg(long, env = "GRAPHQL_WS_MAX_CONNECTIONS", default_value_t = DEFAULT_WS_MAX_CONNECTIONS,
          global = true)]
    pub ws_max_connections: usize,
    /// Most operations running at once on one WebSocket connection.
    #[arg(long, env = "GRAPHQL_WS_MAX_SUBSCRIPTIONS", default_value_t = DEFAULT_WS_MAX_SUBSCRIPTIONS,
          global = true)]
    pub ws_max_subscriptions: usize,
    /// How long a new WebSocket connection may take to send `connection_init` (then 4408).
    #[arg(long, env = "GRAPHQL_WS_INIT_TIMEOUT_MS", default_value = "5000",
          value_parser = parse_millis, global = true)]
    pub ws_init_timeout: Duration,
    /// How often the server pings an idle WebSocket client; one that has not answered by the next
    /// ping is closed (3008).
    #[arg(long, env = "GRAPHQL_WS_PING_INTERVAL_MS", default_value = "15000",
          value_parser = parse_millis, global = true)]
    pub ws_ping_interval: Duration,
    /// How long one message may wait for a client that does not read before the connection is
    /// closed (1008); until then its subscriptions coalesce to the latest state per id.
    #[arg(long, env = "GRAPHQL_WS_SEND_TIMEOUT_MS", default_value = "10000",
          value_parser = parse_millis, global = true)]
    pub ws_send_timeout: Duration,
}

/// The default of `GRAPHQL_WS_MAX_CONNECTIONS`.
pub const DEFAULT_WS_MAX_CONNECTIONS: usize = 20_000;
/// The default of `GRAPHQL_WS_MAX_SUBSCRIPTIONS`.
pub const DEFAULT_WS_MAX_SUBSCRIPTIONS: usize = 20;

/// The default of `GRAPHQL_MAX_BODY_BYTES`: 256 KiB (SPEC §8), a hundred times a large
/// hand-written operation, well short of what would hurt a server.
pub const DEFAULT_GRAPHQL_MAX_BODY_BYTES: usize = 256 * 1024;

/// HTTP server settings.
#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Origins allowed by CORS, comma-separated; empty allows none, `*` allows any.
    #[arg(long, env = "CORS_ORIGINS", default_value = "", global = true)]
    pub cors_origins: String,
    /// Longest time a request may take before it is answered with 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value = "15000", value_parser = parse_millis, global = true)]
    pub request_timeout: Duration,
    /// Requests per second allowed to one client (a token's user, else the address); 0 turns
    /// rate limiting off.
    #[arg(
        long,
        env = "RATE_LIMIT_PER_SECOND",
        default_value_t = 0,
        global = true
    )]
    pub rate_limit_per_second: u32,
    /// Requests a client may send at once above the steady rate.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 50, global = true)]
    pub rate_limit_burst: u32,
    /// How long shutdown waits for in-flight requests.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_MS", default_value = "10000", value_parser = parse_millis, global = true)]
    pub shutdown_timeout: Duration,
}

/// Redis (SPEC §8): unset, each instance keeps its own rate-limit buckets.
#[derive(Debug, Clone, Args)]
pub struct RedisConfig {
    /// Redis holding state shared by all instances (the rate limits), such as
    /// `redis://127.0.0.1:6379/0`; unset keeps it per instance.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true,
          value_parser = parse_redis_url)]
    pub url: Option<SecretString>,
    /// Prefix of every Redis key written, so that deployments can share one Redis.
    #[arg(
        long,
        env = "REDIS_KEY_PREFIX",
        default_value = "profile-api:",
        global = true
    )]
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "profile-api:".to_owned(),
        }
    }
}

/// Twice the machine's cores, at least 4.
pub fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    u32::try_from(cores.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .max(4)
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            pool_size: default_pool_size(),
            wait_timeout: Duration::from_secs(2),
            create_timeout: Duration::from_secs(3),
            recycle_timeout: Duration::from_secs(1),
            verify_idle_after: Duration::from_secs(1),
            statement_timeout: Duration::from_secs(5),
            replica_urls: None,
            replica_max_lag: Duration::from_secs(1),
        }
    }
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 5000,
            max_aliases: 100,
            introspection: true,
            max_body_bytes: DEFAULT_GRAPHQL_MAX_BODY_BYTES,
            ws_max_connections: DEFAULT_WS_MAX_CONNECTIONS,
            ws_max_subscriptions: DEFAULT_WS_MAX_SUBSCRIPTIONS,
            ws_init_timeout: Duration::from_secs(5),
            ws_ping_interval: Duration::from_secs(15),
            ws_send_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            cors_origins: String::new(),
            request_timeout: Duration::from_secs(15),
            rate_limit_per_second: 0,
            rate_limit_burst: 50,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// `on`/`off` (also `true`/`false`, `1`/`0`).
fn parse_switch(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(format!("`{value}` is not `on` or `off`")),
    }
}

fn parse_millis(value: &str) -> Result<Duration, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{value}` is not a positive number of milliseconds"))
}

fn parse_bytes(value: &str) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|bytes| *bytes > 0)
        .ok_or_else(|| format!("`{value}` is not a positive number of bytes"))
}

/// Accepts what the Redis client can connect to (`redis://`, `unix://`), so a typo stops the
/// start rather than every request's limit.
fn parse_redis_url(value: &str) -> Result<SecretString, String> {
    redis::Client::open(value)
        .map(|_| SecretString::from(value.to_owned()))
        .map_err(|e| format!("not a Redis URL such as redis://127.0.0.1:6379/0: {e}"))
}

/// Parses `90s`, `30m`, `1h`, `7d` (a number and a unit).
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let error = || format!("`{value}` is not a duration such as 90s, 30m, 1h or 7d");
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(error)?;
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().map_err(|_| error())?;
    let seconds = match unit {
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        "d" => number.saturating_mul(86_400),
        _ => return Err(error()),
    };
    if seconds == 0 {
        return Err(error());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn redis_urls() {
        assert!(parse_redis_url("redis://127.0.0.1:6379/0").is_ok());
        assert!(parse_redis_url("redis://:secret@cache.internal").is_ok());
        let error = parse_redis_url("http://127.0.0.1:6379")
            .err()
            .unwrap_or_default();
        assert!(error.starts_with("not a Redis URL"), "{error}");
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
