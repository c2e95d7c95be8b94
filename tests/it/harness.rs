//! The test harness: a real PostgreSQL for every test, isolated.
//!
//! The server is `TEST_DATABASE_URL` (a URL of any database on it, used to create others) or,
//! when unset, the embedded launcher's cluster under `target/test-postgres`. A template database,
//! named after a hash of the migrations, is created and migrated once per server (an advisory
//! lock makes concurrent test processes wait for the first one); each test then gets its own
//! database cloned from it, dropped when the test ends. Databases left by crashed runs are swept
//! when a template is made.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use profile_api::config::{
    CacheConfig, Config, DatabaseConfig, GraphqlLimits, HttpConfig, LogFormat, RedisConfig,
};
use profile_api::db::bulk::{self, BlockRecord, FollowRecord, MediaRecord, UserRecord};
use profile_api::db::embedded::EmbeddedPostgres;
use profile_api::db::{Db, migrations};
use profile_api::identity::TokenKeys;
use profile_api::profiles::ObjectId;
use profile_api::state::AppState;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::OnceCell;
use tower::ServiceExt as _;

const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";
const PREFIX: &str = "profile_api_test_";

/// The URL of a maintenance database on the test server, and the server's base URL.
struct Server {
    admin_url: String,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

async fn server() -> &'static Server {
    SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
                return Server { admin_url: url };
            }
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-postgres");
            let cluster = tokio::task::spawn_blocking(move || {
                // Test processes start the shared cluster one at a time.
                std::fs::create_dir_all(&dir).expect("create test cluster dir");
                let lock = std::fs::File::create(dir.join("start.lock")).expect("lock file");
                lock.lock().expect("lock the test cluster");
                let cluster = EmbeddedPostgres::start(&dir.join("data"))
                    .expect("start the embedded PostgreSQL for tests (or set TEST_DATABASE_URL)");
                drop(lock);
                cluster
            })
            .await
            .expect("embedded start task");
            // The cluster outlives this process so the next test run reuses it.
            let admin_url = cluster.url("postgres").expose_secret().to_owned();
            std::mem::forget(cluster);
            Server { admin_url }
        })
        .await
}

fn url_for(admin_url: &str, database: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

fn migrations_hash() -> String {
    use sha2::{Digest, Sha256};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = walk(&root);
    entries.sort();
    let mut hasher = Sha256::new();
    for path in entries {
        // Relative paths: the same migrations in another checkout share the template.
        let relative = path.strip_prefix(&root).unwrap_or(&path);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&path).expect("read migration"));
    }
    hex::encode(&hasher.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read migrations").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

async fn admin() -> AsyncPgConnection {
    AsyncPgConnection::establish(&server().await.admin_url)
        .await
        .expect("connect to the test server")
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Bool)]
        exists: bool,
    }
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(name)
        .get_result::<Exists>(conn)
        .await
        .expect("query pg_database")
        .exists
}

/// The template database, created and migrated once per server and migration set.
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("{PREFIX}template_{}", migrations_hash());
            ensure_template(&name).await;
            name
        })
        .await
}

/// Creates and migrates the template `name` unless it exists; concurrent test processes wait
/// for the first one on an advisory lock.
///
/// The template is built under a temporary name and renamed when its migrations are done, so
/// a run killed half-way never leaves a template that looks ready but lacks migrations (its
/// clones would then fail in ways that point nowhere near the cause).
async fn ensure_template(name: &str) {
    let mut conn = admin().await;
    conn.batch_execute("SELECT pg_advisory_lock(4242424242)")
        .await
        .expect("lock");
    if database_exists(&mut conn, name).await && !template_is_current(name).await {
        conn.batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
            .await
            .expect("drop an outdated template");
    }
    if !database_exists(&mut conn, name).await {
        sweep(&mut conn).await;
        let building = format!("{name}_building");
        conn.batch_execute(&format!("CREATE DATABASE \"{building}\""))
            .await
            .expect("create template");
        let url = SecretString::from(url_for(&server().await.admin_url, &building));
        migrations::run(&url).await.expect("migrate the template");
        rename_when_idle(&mut conn, &building, name).await;
    }
    conn.batch_execute("SELECT pg_advisory_unlock(4242424242)")
        .await
        .expect("unlock");
}

/// Whether the template holds every migration of this build (a template named after the
/// migration files but made by a binary built before one of them was added would not).
async fn template_is_current(name: &str) -> bool {
    let url = SecretString::from(url_for(&server().await.admin_url, name));
    migrations::pending(&url)
        .await
        .is_ok_and(|pending| pending.is_empty())
}

/// Renames a database once the server has let go of its last session (a closed connection's
/// backend may linger for a moment after the client is gone).
async fn rename_when_idle(conn: &mut AsyncPgConnection, from: &str, to: &str) {
    let rename = format!("ALTER DATABASE \"{from}\" RENAME TO \"{to}\"");
    for _ in 0..100 {
        if conn.batch_execute(&rename).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    conn.batch_execute(&rename)
        .await
        .expect("rename the migrated template");
}

/// Drops test databases older than an hour (left by crashed runs) and outdated templates.
async fn sweep(conn: &mut AsyncPgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind::<Text, _>(format!("{PREFIX}%"))
            .load(conn)
            .await
            .unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    for Name { datname } in names {
        let stale = datname.contains("template_")
            || datname
                .rsplit('_')
                .nth(1)
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|created| now - created > 3600);
        if stale {
            let _ = conn
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)"
                ))
                .await;
        }
    }
}

/// Waits (a bounded time) until the cache follows the change stream, so that tests exercise it
/// from their first request. A database that cannot be reached (outage tests) never gets there.
pub async fn wait_until_cache_usable(db: &Db) {
    for _ in 0..200 {
        if db.cache().is_some_and(|c| c.usable()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A database of one test, dropped when it goes out of scope.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh, migrated database.
    pub async fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let template = template().await;
        let name = format!(
            "{PREFIX}{}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = admin().await;
        let clone = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        let mut cloned = false;
        for _ in 0..100 {
            if conn.batch_execute(&clone).await.is_ok() {
                cloned = true;
                break;
            }
            if database_exists(&mut conn, template).await {
                // A session on the template (the check that it is current, or another
                // process cloning it) is still closing: PostgreSQL refuses to copy it until then.
                tokio::time::sleep(Duration::from_millis(50)).await;
            } else {
                // Another checkout's test run swept the template: make it again.
                ensure_template(template).await;
            }
        }
        if !cloned {
            conn.batch_execute(&clone)
                .await
                .expect("clone the template");
        }
        let url = url_for(&server().await.admin_url, &name);
        Self { name, url }
    }

    /// The database's URL.
    pub fn url(&self) -> SecretString {
        SecretString::from(self.url.clone())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let Some(server) = SERVER.get() else { return };
        let admin_url = server.admin_url.clone();
        // Dropping needs async I/O, which Drop cannot await: do it on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&admin_url).await {
                    let _ = conn
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// The configuration tests run with.
pub fn test_config() -> Config {
    Config {
        database_url: None,
        bind_addr: "127.0.0.1:0".parse().expect("address"),
        jwt_secret: Some(SecretString::from(TEST_SECRET)),
        jwt_public_key_file: None,
        data_dir: std::env::temp_dir(),
        log_format: LogFormat::Pretty,
        rust_log: "warn".to_owned(),
        database: DatabaseConfig {
            pool_size: 8,
            wait_timeout: Duration::from_secs(5),
            // Pings of idle connections would be counted as statements by the round-trip tests.
            verify_idle_after: Duration::from_secs(3600),
            ..DatabaseConfig::default()
        },
        // `CACHE=off cargo test` runs every test without the profile cache.
        cache: CacheConfig {
            enabled: std::env::var("CACHE").map_or(true, |v| v != "off"),
            ..CacheConfig::default()
        },
        graphql: GraphqlLimits::default(),
        http: HttpConfig::default(),
        redis: RedisConfig::default(),
    }
}

/// The application on its own test database, driven in-process.
pub struct TestApp {
    /// The router `serve` would serve.
    pub router: Router,
    /// The application's pool.
    pub db: Db,
    /// Keys matching the application's.
    pub keys: TokenKeys,
    database: std::sync::Arc<TestDatabase>,
}

impl TestApp {
    /// A new application with an empty database.
    pub async fn new() -> Self {
        Self::with_config(test_config()).await
    }

    /// A new application with `config` and an empty database.
    pub async fn with_config(config: Config) -> Self {
        Self::build(config, None, |api| api).await
    }

    /// A new application whose `/api` routes are `extend`ed (with a failing route, say).
    pub async fn with_api(extend: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        Self::build(test_config(), None, extend).await
    }

    /// A new application with `config` whose `/api` routes are `extend`ed.
    pub async fn build_with(
        config: Config,
        extend: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> Self {
        Self::build(config, None, extend).await
    }

    /// A new application whose database is at `url` (an unreachable one, say).
    pub async fn with_database_url(config: Config, url: &str) -> Self {
        let database = std::sync::Arc::new(TestDatabase::new().await);
        let url = Some(SecretString::from(url.to_owned()));
        Self::build_on(database, url, config, |api| api).await
    }

    /// A new application that reaches its own test database through `proxy`.
    pub async fn through_proxy(config: Config, proxy: &DbProxy) -> Self {
        let database = std::sync::Arc::new(TestDatabase::new().await);
        let url = url_through(proxy.port(), database.name());
        Self::build_on(database, Some(SecretString::from(url)), config, |api| api).await
    }

    /// Another instance of the service on this one's database, as a second server behind a
    /// load balancer would be: its own pool, cache and change listener.
    pub async fn another_instance(&self, config: Config) -> Self {
        Self::build_on(self.database.clone(), None, config, |api| api).await
    }

    async fn build(
        config: Config,
        url: Option<SecretString>,
        extend: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> Self {
        let database = std::sync::Arc::new(TestDatabase::new().await);
        Self::build_on(database, url, config, extend).await
    }

    async fn build_on(
        database: std::sync::Arc<TestDatabase>,
        url: Option<SecretString>,
        config: Config,
        extend: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> Self {
        let mut db = Db::new(url.unwrap_or_else(|| database.url()), &config.database)
            .expect("pool")
            .with_redis(&config.redis);
        if config.cache.enabled {
            db = db.with_cache(config.cache.max_bytes);
            wait_until_cache_usable(&db).await;
        }
        let public_key =
            TokenKeys::read_public_key(config.jwt_public_key_file.as_deref()).expect("key file");
        let keys = TokenKeys::new(
            config.jwt_secret.as_ref().expect("secret"),
            public_key.as_deref(),
        )
        .expect("keys");
        let state = AppState::new(db.clone(), keys.clone(), config.clone());
        let router = profile_api::router_with_api(
            state,
            profile_api::graphql::schema(&config.graphql),
            extend(profile_api::rest::routes()),
        );
        Self {
            router,
            db,
            keys,
            database,
        }
    }

    /// A request to send to the application.
    pub fn request(&self, method: Method, uri: &str) -> TestRequest<'_> {
        TestRequest {
            app: self,
            builder: Request::builder().method(method).uri(uri),
            body: Body::empty(),
        }
    }

    /// A GET request.
    pub fn get(&self, uri: &str) -> TestRequest<'_> {
        self.request(Method::GET, uri)
    }

    /// A GraphQL POST of `query` with `variables`.
    pub fn graphql(&self, query: &str, variables: Value) -> TestRequest<'_> {
        self.request(Method::POST, "/graphql")
            .header("content-type", "application/json")
            .json(&serde_json::json!({ "query": query, "variables": variables }))
    }

    /// A token for `user` (HS256, one hour).
    pub fn token(&self, user: &str) -> String {
        let id = ObjectId::parse(user).expect("user id");
        self.keys
            .mint(&id, false, Duration::from_secs(3600))
            .expect("mint")
    }

    /// An admin token for `user`.
    pub fn admin_token(&self, user: &str) -> String {
        let id = ObjectId::parse(user).expect("user id");
        self.keys
            .mint(&id, true, Duration::from_secs(3600))
            .expect("mint")
    }

    /// Writes fixtures, through the one bulk writer.
    pub async fn insert(&self, fixtures: Fixtures) {
        let mut writer = bulk::BulkWriter::connect(&self.db)
            .await
            .expect("bulk writer");
        let written = writer.write_all(&fixtures.0).await.expect("write fixtures");
        assert!(written.skipped.is_empty(), "fixtures skipped: {written:?}");
        drop(writer);
        self.db
            .catch_up()
            .await
            .expect("catch up with the change stream");
    }

    /// The URL of the application's own test database.
    pub fn database_url(&self) -> SecretString {
        self.database.url()
    }

    /// Runs SQL on the application's database, as a write through this instance would: once it
    /// returns, this instance's cache shows the change (other instances follow within the
    /// bound).
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.db.conn().await.expect("connection");
        conn.batch_execute(sql).await.expect("execute");
        drop(conn);
        self.db
            .catch_up()
            .await
            .expect("catch up with the change stream");
    }
}

/// Rows to insert before a test (written by the one bulk writer, in its order).
#[derive(Default)]
pub struct Fixtures(bulk::Dataset);

impl Fixtures {
    /// Adds a user built by [`user`].
    pub fn user(mut self, record: UserRecord) -> Self {
        self.0.users.push(record);
        self
    }

    /// Adds a profile photo for `owner`.
    pub fn photo(mut self, owner: &str, media_id: &str, url: &str) -> Self {
        self.0.media.push(MediaRecord {
            id: media_id.to_owned(),
            owner_id: owner.to_owned(),
            url: url.to_owned(),
            media_type: "image".to_owned(),
            created_at: chrono::Utc::now(),
        });
        self.0
            .photos
            .push((owner.to_owned(), Some(media_id.to_owned())));
        self
    }

    /// Adds a follow made now.
    pub fn follow(self, follower: &str, followee: &str, accepted: bool) -> Self {
        self.follow_at(follower, followee, accepted, chrono::Utc::now())
    }

    /// Adds a follow made at `at`.
    pub fn follow_at(
        mut self,
        follower: &str,
        followee: &str,
        accepted: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        self.0.follows.push(FollowRecord {
            follower_id: follower.to_owned(),
            followee_id: followee.to_owned(),
            status: if accepted { "accepted" } else { "pending" }.to_owned(),
            created_at: at,
        });
        self
    }

    /// Adds a block.
    pub fn block(mut self, blocker: &str, blocked: &str) -> Self {
        self.0.blocks.push(BlockRecord {
            blocker_id: blocker.to_owned(),
            blocked_id: blocked.to_owned(),
            created_at: chrono::Utc::now(),
        });
        self
    }
}

/// The id of fixture user number `n`.
pub fn uid(n: u32) -> String {
    format!("{n:024x}")
}

/// A plain user `n` with username `user{n}` and fixed timestamps.
pub fn user(n: u32) -> UserRecord {
    let at = chrono::DateTime::parse_from_rfc3339("2026-05-22T16:11:26.806Z")
        .expect("timestamp")
        .with_timezone(&chrono::Utc);
    UserRecord {
        id: uid(n),
        name: format!("Name{n}"),
        surname: format!("Surname{n}"),
        username: format!("user{n}"),
        availability_status: "available".to_owned(),
        interests: vec![],
        expertise: None,
        birth_date: None,
        minute_price_in_live_stream: 0,
        bio: None,
        instagram: None,
        snapchat: None,
        x: None,
        tiktok: None,
        facebook: None,
        is_private: false,
        deactivated_at: None,
        created_at: at,
        updated_at: at,
    }
}

/// The date `years` years before today (UTC), so that the age is exactly `years` today.
pub fn years_ago(years: i32) -> chrono::NaiveDate {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    today
        .with_year(today.year() - years)
        .or_else(|| chrono::NaiveDate::from_ymd_opt(today.year() - years, 3, 1))
        .expect("a date")
}

/// A request under construction.
pub struct TestRequest<'a> {
    app: &'a TestApp,
    builder: http::request::Builder,
    body: Body,
}

impl TestRequest<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Sets a JSON body.
    pub fn json(mut self, value: &Value) -> Self {
        self.body = Body::from(serde_json::to_vec(value).expect("json"));
        self
    }

    /// Sets a raw body.
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request through the router.
    #[track_caller]
    pub fn send(self) -> impl std::future::Future<Output = TestResponse> {
        let request = self.builder.body(self.body).expect("request");
        let router = self.app.router.clone();
        async move {
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            TestResponse {
                status,
                headers,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                bytes: bytes.to_vec(),
            }
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub text: String,
    /// Body as sent.
    pub bytes: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// A header's value.
    #[track_caller]
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(HeaderName::from_bytes(name.as_bytes()).expect("name"))
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The JSON body with its timestamp replaced, for snapshots.
    pub fn stable_json(&self) -> Value {
        let mut value = self.json();
        if let Some(obj) = value.as_object_mut()
            && obj.contains_key("timestamp")
        {
            obj.insert("timestamp".into(), Value::String("[timestamp]".into()));
        }
        value
    }
}

/// Where the test PostgreSQL listens, for tests that put something in between.
pub enum PgAddress {
    /// A TCP address.
    Tcp(String),
    /// A Unix socket file.
    Unix(std::path::PathBuf),
}

/// The test server's address, read from its URL.
pub async fn pg_address() -> PgAddress {
    let url = &server().await.admin_url;
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    if let Some(encoded) = host_port.strip_prefix("%2F") {
        let dir = format!("/{}", encoded.replace("%2F", "/"));
        return PgAddress::Unix(std::path::Path::new(&dir).join(".s.PGSQL.5432"));
    }
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    PgAddress::Tcp(with_port)
}

/// The URL of the test server's database `name` reached through `127.0.0.1:port`.
pub fn url_through(port: u16, name: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{name}")
}

impl TestDatabase {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A TCP proxy in front of the test PostgreSQL that can be cut and restored, to see the
/// service through a database outage.
pub struct DbProxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
    connections: Arc<std::sync::Mutex<tokio::task::JoinSet<()>>>,
}

impl DbProxy {
    /// A proxy on a free port, forwarding.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let mut proxy = Self {
            port,
            task: None,
            connections: Arc::default(),
        };
        proxy.task = Some(tokio::spawn(Self::serve(
            listener,
            proxy.connections.clone(),
        )));
        proxy
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Refuses new connections and cuts every open one; returns once the port is closed and
    /// every socket of the proxy is.
    pub async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let mut connections = std::mem::take(
            &mut *self
                .connections
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        connections.shutdown().await;
    }

    /// Forwards again, on the same port.
    pub async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind");
        self.task = Some(tokio::spawn(Self::serve(
            listener,
            self.connections.clone(),
        )));
    }

    async fn serve(
        listener: tokio::net::TcpListener,
        connections: Arc<std::sync::Mutex<tokio::task::JoinSet<()>>>,
    ) {
        while let Ok((mut client, _)) = listener.accept().await {
            let forward = async move {
                match pg_address().await {
                    PgAddress::Tcp(address) => {
                        if let Ok(mut upstream) = tokio::net::TcpStream::connect(address).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        }
                    }
                    PgAddress::Unix(path) => {
                        if let Ok(mut upstream) = tokio::net::UnixStream::connect(path).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        }
                    }
                }
            };
            connections
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .spawn(forward);
        }
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .abort_all();
    }
}

/// The `bigint` column `value` of the one row `sql` returns.
pub async fn scalar(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        value: i64,
    }
    diesel::sql_query(sql)
        .get_result::<Row>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .value
}

/// A connection of its own to the database at `url`.
pub async fn connect(url: &SecretString) -> AsyncPgConnection {
    AsyncPgConnection::establish(url.expose_secret())
        .await
        .expect("connect to the test database")
}

/// Waits until `check` holds, polling every 20 ms for at most 30 s; panics naming `what` if it
/// never does. For conditions that another process or task makes true.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..1500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("waited 30 s for {what}");
}

/// `profile-api` (the binary this test run built) on the database at `url`, with the test
/// secret; stdout and stderr are piped.
pub fn profile_api(url: &SecretString) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_profile-api"));
    command
        .env("DATABASE_URL", url.expose_secret())
        .env("JWT_SECRET", TEST_SECRET)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

/// A running `profile-api serve` on a test database.
pub struct ServeProcess {
    /// The process.
    pub child: tokio::process::Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its database.
    pub database: TestDatabase,
}

/// `profile-api serve` on a new test database, listening.
pub async fn spawn_server(extra_env: &[(&str, &str)]) -> ServeProcess {
    spawn_server_on(TestDatabase::new().await, &["serve"], extra_env).await
}

/// `profile-api ARGS` (a `serve`) on `database` with `extra_env`, once it listens; panics with
/// its log if it exits first.
pub async fn spawn_server_on(
    database: TestDatabase,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> ServeProcess {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let mut command = profile_api(&database.url());
    command
        .args(args)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null());
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn profile-api");
    // A loaded CI machine may take a while to start a debug binary: wait up to 30 s, and say
    // why when the server exits instead of listening.
    let mut listening = false;
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            listening = true;
            break;
        }
        if child.try_wait().ok().flatten().is_some() {
            let output = child.wait_with_output().await.expect("output");
            panic!(
                "profile-api serve exited before listening:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        listening,
        "profile-api serve did not listen on port {port} within 30 s"
    );
    ServeProcess {
        child,
        port,
        database,
    }
}

/// A GET over a connection of its own; the whole response as text.
pub async fn http_get(port: u16, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

/// A small deterministic generator, so a failure can be replayed.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number below `below`.
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}
