//! `schema.graphql` is the schema the server serves.

#[test]
fn schema_graphql_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let served = profile_api::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &served).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql is out of date: run `cargo run -- export-schema > schema.graphql` \
         (or UPDATE_SCHEMA=1 cargo test schema_graphql)"
    );
}
