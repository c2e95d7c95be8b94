//! The migrations run down and up again to the same schema.

use diesel::RunQueryDsl as _;
use diesel::sql_types::Text;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;
use profile_api::db::migrations::MIGRATIONS;
use secrecy::ExposeSecret;

use crate::harness::TestDatabase;

#[derive(diesel::QueryableByName, PartialEq, Eq, Debug)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Tables, columns, constraints, indexes and triggers of the public schema, as text.
fn describe(conn: &mut AsyncConnectionWrapper<AsyncPgConnection>) -> Vec<Line> {
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

#[tokio::test]
async fn migrations_run_down_and_up_to_the_same_schema() {
    let database = TestDatabase::new().await;
    let url = database.url().expose_secret().to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn =
            AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).expect("connect");
        let before = describe(&mut conn);
        assert!(before.iter().any(|l| {
            l.line
                .starts_with("trigger CREATE TRIGGER follows_counters_insert")
        }));
        conn.revert_all_migrations(MIGRATIONS).expect("down");
        let empty = describe(&mut conn);
        assert!(empty.is_empty(), "left behind: {empty:?}");
        conn.run_pending_migrations(MIGRATIONS).expect("up again");
        assert_eq!(describe(&mut conn), before);
    })
    .await
    .expect("migration task");
}
