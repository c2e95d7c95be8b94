//! The binary's commands beyond `serve`, `migrate` and `import` (which have their own modules),
//! and what the pool sets on every session.

use diesel_async::SimpleAsyncConnection as _;
use profile_api::db::pool::APPLICATION_NAME;

use crate::harness::{TestApp, TestDatabase, connect, profile_api, scalar};

/// A digest of every row of every table, to tell whether anything changed.
async fn digest(database: &TestDatabase) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        digest: String,
    }
    let mut conn = connect(&database.url()).await;
    let tables = ["users", "media", "follows", "blocks", "follow_counters"];
    let mut digests = Vec::new();
    for table in tables {
        let sql = format!(
            "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) \
             AS digest FROM {table} t"
        );
        let row: Row = diesel_async::RunQueryDsl::get_result(diesel::sql_query(sql), &mut conn)
            .await
            .expect("digest");
        digests.push(format!("{table} {}", row.digest));
    }
    digests.join(", ")
}

#[tokio::test]
async fn seed_demo_twice_changes_nothing() {
    let database = TestDatabase::new().await;
    let seed = async || {
        let output = profile_api(&database.url())
            .args(["seed", "--demo"])
            .output()
            .await
            .expect("run seed --demo");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let first = seed().await;
    assert!(!first.starts_with("Demo data: 0 rows inserted"), "{first}");
    let after_first = digest(&database).await;
    let second = seed().await;
    assert!(
        second.starts_with("Demo data: 0 rows inserted, "),
        "{second}"
    );
    assert_eq!(digest(&database).await, after_first);
}

/// Every session of the pool, not only the first, carries the settings the pool sets when it
/// opens a connection: PostgreSQL itself says so.
#[tokio::test]
async fn every_pooled_session_has_its_settings() {
    let app = TestApp::new().await;
    // Hold the whole pool (test_config: 8 connections), so that each is a session of its own.
    let mut sessions = Vec::new();
    for _ in 0..8 {
        sessions.push(app.db.conn().await.expect("a pooled connection"));
    }
    let mut pids = Vec::new();
    for session in &mut sessions {
        #[derive(diesel::QueryableByName)]
        struct Settings {
            #[diesel(sql_type = diesel::sql_types::Text)]
            statement_timeout: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            application_name: String,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            pid: i32,
        }
        let settings: Settings = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT current_setting('statement_timeout') AS statement_timeout, \
                        current_setting('application_name') AS application_name, \
                        pg_backend_pid() AS pid",
            ),
            &mut **session,
        )
        .await
        .expect("settings");
        // test_config keeps the default DB_STATEMENT_TIMEOUT_MS, 5000.
        assert_eq!(settings.statement_timeout, "5s");
        assert_eq!(settings.application_name, APPLICATION_NAME);
        pids.push(settings.pid);
    }
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 8, "eight sessions");
    // Seen from outside: eight sessions of ours on this database.
    let mut observer = connect(&app.database_url()).await;
    observer.batch_execute("SELECT 1").await.expect("connect");
    let ours = scalar(
        &mut observer,
        &format!(
            "SELECT count(*) AS value FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = '{APPLICATION_NAME}'"
        ),
    )
    .await;
    assert_eq!(ours, 8);
}
