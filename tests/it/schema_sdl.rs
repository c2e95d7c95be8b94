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

/// GraphiQL explains every type, field, argument and enum value of our schema.
#[tokio::test]
async fn every_type_field_and_argument_is_described() {
    let schema = profile_api::graphql::schema(&profile_api::config::GraphqlLimits::default());
    let query = "{ __schema { types { name kind description
        fields { name description args { name description } }
        inputFields { name description }
        enumValues { name description } } } }";
    let response = schema.execute(query).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("json");
    let mut missing = Vec::new();
    let described =
        |value: &serde_json::Value| value.as_str().is_some_and(|d| !d.trim().is_empty());
    for ty in data["__schema"]["types"].as_array().into_iter().flatten() {
        let name = ty["name"].as_str().unwrap_or_default();
        let builtin =
            name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name);
        if builtin {
            continue;
        }
        if !described(&ty["description"]) {
            missing.push(name.to_owned());
        }
        for field in ty["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(ty["inputFields"].as_array().into_iter().flatten())
        {
            let field_name = format!("{name}.{}", field["name"].as_str().unwrap_or_default());
            if !described(&field["description"]) {
                missing.push(field_name.clone());
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(&arg["description"]) {
                    missing.push(format!(
                        "{field_name}({})",
                        arg["name"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            if !described(&value["description"]) {
                missing.push(format!(
                    "{name}.{}",
                    value["name"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// The limits the descriptions state are the ones the validation applies: both come from
/// `profiles::rules`, so changing a limit there changes the schema's text too.
#[test]
fn descriptions_state_the_limits_of_the_rules() {
    use profile_api::profiles::rules;
    let sdl = profile_api::graphql::sdl();
    for expected in [
        format!(
            "Free text about the user (at most {} characters).",
            rules::BIO_MAX
        ),
        format!("Given name, 1–{} characters.", rules::NAME_MAX),
        format!(
            "Area of expertise (at most {} characters).",
            rules::EXPERTISE_MAX
        ),
        format!(
            "Up to {} users by id, in the order asked",
            rules::IDS_PER_READ_MAX
        ),
        format!("newest first, 1–{} per page", rules::PAGE_MAX),
        format!(
            "an age of {}–{} in the request's timezone",
            rules::AGE_MIN,
            rules::AGE_MAX
        ),
    ] {
        assert!(
            sdl.contains(&expected),
            "the schema does not say: {expected}"
        );
    }
}
