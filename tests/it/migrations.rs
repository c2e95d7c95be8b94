//! The migrations: down and up again to the same schema, `schema.rs` in step with them, and how
//! `serve` and `migrate` treat a database that lacks some.

use diesel::RunQueryDsl as _;
use diesel::sql_types::Text;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection as _};
use diesel_migrations::MigrationHarness;
use profile_api::db::migrations::{self, MIGRATION_LOCK_KEY, MIGRATIONS};
use secrecy::{ExposeSecret, SecretString};

use crate::harness::{
    TestDatabase, connect, eventually, http_get, profile_api, scalar, spawn_server_on,
};

#[derive(diesel::QueryableByName, PartialEq, Eq, Debug)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Tables, columns, constraints, indexes and triggers of the public schema, as text.
fn describe(conn: &mut SyncConnection) -> Vec<Line> {
    diesel::sql_query(
        "SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, coalesce(column_default, '')) AS line \
           FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
         UNION ALL SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint \
           WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE '__diesel%' \
         UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public' \
           AND tablename <> '__diesel_schema_migrations' \
         UNION ALL SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal \
         ORDER BY 1",
    )
    .load(conn)
    .expect("describe the schema")
}

type SyncConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// Runs `work` on a connection of its own to `url`, on a blocking thread (diesel's migration
/// harness is synchronous).
async fn on_sync_connection<T: Send + 'static>(
    url: &SecretString,
    work: impl FnOnce(&mut SyncConnection) -> T + Send + 'static,
) -> T {
    let url = url.expose_secret().to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn = SyncConnection::establish(&url).expect("connect");
        work(&mut conn)
    })
    .await
    .expect("database task")
}

#[tokio::test]
async fn migrations_run_down_and_up_to_the_same_schema() {
    let database = TestDatabase::new().await;
    on_sync_connection(&database.url(), |conn| {
        let before = describe(conn);
        assert!(before.iter().any(|l| {
            l.line
                .starts_with("trigger CREATE TRIGGER follows_counters_insert")
        }));
        conn.revert_all_migrations(MIGRATIONS).expect("down");
        let empty = describe(conn);
        assert!(empty.is_empty(), "left behind: {empty:?}");
        conn.run_pending_migrations(MIGRATIONS).expect("up again");
        assert_eq!(describe(conn), before);
    })
    .await;
}

/// `src/db/schema.rs` is what `diesel print-schema` makes of the migrated database: the same
/// tables, primary keys, columns in the same order, diesel types and nullability. (diesel_cli
/// is not needed to check it; regenerate with `diesel print-schema` when this fails.)
#[tokio::test]
async fn schema_rs_matches_the_migrated_database() {
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        primary_key: String,
        #[diesel(sql_type = Text)]
        column_name: String,
        #[diesel(sql_type = Text)]
        udt_name: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        nullable: bool,
    }
    let database = TestDatabase::new().await;
    let url = database.url().expose_secret().to_owned();
    let columns: Vec<Column> = tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn =
            AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).expect("connect");
        diesel::sql_query(
            "SELECT c.table_name::text, c.column_name::text, c.udt_name::text, \
                    c.is_nullable = 'YES' AS nullable, \
                    (SELECT string_agg(a.attname, ', ' ORDER BY k.ord) \
                       FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord), pg_attribute a \
                      WHERE i.indrelid = format('public.%I', c.table_name)::regclass AND i.indisprimary \
                        AND a.attrelid = i.indrelid AND a.attnum = k.attnum \
                        AND k.ord <= i.indnkeyatts) AS primary_key \
               FROM information_schema.columns c \
              WHERE c.table_schema = 'public' AND c.table_name <> '__diesel_schema_migrations' \
              ORDER BY c.table_name COLLATE \"C\", c.ordinal_position",
        )
        .load(&mut conn)
        .expect("read the catalog")
    })
    .await
    .expect("catalog task");

    let mut from_database = Vec::new();
    let mut previous_table = "";
    for column in &columns {
        if column.table_name != previous_table {
            previous_table = &column.table_name;
            from_database.push(format!(
                "table {} ({})",
                column.table_name, column.primary_key
            ));
        }
        let diesel_type = match column.udt_name.as_str() {
            "text" => "Text",
            "int4" => "Int4",
            "int8" => "Int8",
            "bool" => "Bool",
            "date" => "Date",
            "timestamptz" => "Timestamptz",
            "_text" => "Array<Nullable<Text>>",
            other => panic!("no diesel type known here for {other}"),
        };
        let diesel_type = if column.nullable {
            format!("Nullable<{diesel_type}>")
        } else {
            diesel_type.to_owned()
        };
        from_database.push(format!(
            "{}.{} {diesel_type}",
            column.table_name, column.column_name
        ));
    }

    let schema_rs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs"))
            .expect("read src/db/schema.rs");
    let mut from_schema_rs = Vec::new();
    let mut table = String::new();
    let mut sql_name = None;
    for line in schema_rs.lines().map(str::trim) {
        if let Some((name, key)) = line.strip_suffix(") {").and_then(|l| l.split_once(" (")) {
            table = name.to_owned();
            from_schema_rs.push(format!("table {name} ({key})"));
        } else if let Some(name) = line
            .strip_prefix("#[sql_name = \"")
            .and_then(|l| l.strip_suffix("\"]"))
        {
            sql_name = Some(name.to_owned());
        } else if let Some((name, diesel_type)) =
            line.strip_suffix(',').and_then(|l| l.split_once(" -> "))
        {
            let name = sql_name.take().unwrap_or_else(|| name.to_owned());
            from_schema_rs.push(format!("{table}.{name} {diesel_type}"));
        }
    }
    assert_eq!(from_schema_rs, from_database);
}

/// `serve` on an external database with a migration pending refuses to start and names the way
/// out; `serve --migrate` applies it and serves.
#[tokio::test]
async fn serve_refuses_pending_migrations_and_serve_migrate_applies_them() {
    let database = TestDatabase::new().await;
    let url = database.url();
    let reverted = on_sync_connection(&url, |conn| {
        conn.revert_last_migration(MIGRATIONS)
            .expect("revert")
            .to_string()
    })
    .await;
    let refused = profile_api(&url)
        .arg("serve")
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .await
        .expect("run serve");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("1 migration(s) pending: {reverted}"))
            && stderr.contains("`profile-api migrate`")
            && stderr.contains("`profile-api serve --migrate`"),
        "{stderr}"
    );

    let server = spawn_server_on(database, &["serve", "--migrate"], &[]).await;
    assert!(
        migrations::pending(&url)
            .await
            .expect("read the migration state")
            .is_empty()
    );
    let ready = http_get(server.port, "/readyz", "").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
}

/// Two `migrate` runs at once on an empty database: the second waits for the first's advisory
/// lock instead of racing it, both succeed, and the schema is the one the migrations make.
#[tokio::test]
async fn two_migrate_runs_at_once_take_turns() {
    let database = TestDatabase::new().await;
    let url = database.url();
    let expected = on_sync_connection(&url, |conn| {
        let expected = describe(conn);
        conn.revert_all_migrations(MIGRATIONS).expect("down");
        expected
    })
    .await;
    // Hold the lock, so that both runs are seen waiting for it before either may start.
    let mut holder = connect(&url).await;
    let lock = format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})");
    holder.batch_execute(&lock).await.expect("lock");
    let runs: Vec<_> = (0..2)
        .map(|_| {
            profile_api(&url)
                .arg("migrate")
                .spawn()
                .expect("spawn migrate")
        })
        .collect();
    let mut watcher = connect(&url).await;
    eventually("both migrate runs to wait for the lock", async || {
        let waiting = scalar(
            &mut watcher,
            "SELECT count(*) AS value FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted",
        )
        .await;
        waiting == 2
    })
    .await;
    let unlock = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})");
    holder.batch_execute(&unlock).await.expect("unlock");

    let mut outputs = Vec::new();
    for run in runs {
        let output = run.wait_with_output().await.expect("migrate output");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        outputs.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    // One applied every migration, the other found the schema current.
    outputs.sort();
    let count = migrations::count();
    assert!(
        outputs[0].starts_with(&format!("Applied {count} migration(s): ")),
        "{outputs:?}"
    );
    assert_eq!(
        outputs[1],
        format!("The database schema is current ({count} migrations).")
    );
    assert_eq!(on_sync_connection(&url, describe).await, expected);
}
