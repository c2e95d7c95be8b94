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
