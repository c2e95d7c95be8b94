//! The document's own consistency: every error example carries its status, every property of
//! the schemas derived from the view is described, exactly once, and the patch's examples are
//! values the server accepts.

use serde_json::Value;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::openapi;
use super::schemas::view_docs;
use crate::profiles::update::parse_patch;
use crate::profiles::view::{PhotoView, ProfileView};

/// The response a path's response stands for, following a `$ref` into the components.
fn resolve<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            &doc["components"]["responses"][name]
        }
        None => response,
    }
}

#[test]
fn every_error_example_carries_its_status() {
    let doc = serde_json::to_value(openapi()).unwrap_or_default();
    let mut seen = 0;
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for operation in item.as_object().into_iter().flat_map(|m| m.values()) {
            let responses = operation["responses"].as_object().into_iter().flatten();
            for (status, response) in responses {
                let content = &resolve(&doc, response)["content"]["application/json"];
                let examples: Vec<&Value> = match content["examples"].as_object() {
                    Some(named) => named.values().map(|e| &e["value"]).collect(),
                    None => content.get("example").into_iter().collect(),
                };
                assert!(
                    status == "304" || !examples.is_empty(),
                    "{status} has no example"
                );
                for example in examples {
                    assert_eq!(&example["statusCode"].to_string(), status);
                    seen += 1;
                }
            }
        }
    }
    assert!(seen > 20, "only {seen} examples");
}

/// A field added to the view without documentation, documentation left for a field that is
/// gone, or a bound on a property that cannot carry it fails here.
#[test]
fn every_property_of_the_view_is_described() {
    let derived = [
        (ProfileView::name(), ProfileView::schema()),
        (PhotoView::name(), PhotoView::schema()),
    ];
    let docs = view_docs();
    assert_eq!(docs.len(), derived.len());
    for (doc, (name, schema)) in docs.iter().zip(derived) {
        assert_eq!(doc.name, name);
        let RefOr::T(Schema::Object(mut derived)) = schema else {
            panic!("{name} is not derived as an object");
        };
        let derived_names: Vec<String> = derived.properties.keys().cloned().collect();
        let described: Vec<&str> = doc.properties.iter().map(|(name, _)| *name).collect();
        assert_eq!(derived_names, described, "{name}");
        for (property, described) in &doc.properties {
            let result = derived
                .properties
                .get_mut(*property)
                .map(|schema| described.apply(schema));
            assert_eq!(result, Some(Ok(())), "{name}.{property}");
        }
    }
}

/// The patch's examples are values the server accepts, one field at a time and all together:
/// so every documented property is one the server knows, and its example is within the rules.
#[test]
fn every_patch_example_is_accepted_by_the_server() {
    let doc = serde_json::to_value(openapi()).unwrap_or_default();
    let properties = doc["components"]["schemas"]["ProfilePatch"]["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(properties.len() > 10, "{properties:?}");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 5, 22).unwrap_or_default();
    let mut patch = serde_json::Map::new();
    for (name, schema) in properties {
        let example = schema
            .get("example")
            .or_else(|| schema["examples"].get(0))
            .cloned()
            .unwrap_or_default();
        assert!(!example.is_null(), "{name} has no example");
        let one = serde_json::Map::from_iter([(name.clone(), example.clone())]);
        let result = parse_patch(&one, today).map(|_| ());
        assert_eq!(result, Ok(()), "{name}: {example}");
        patch.insert(name, example);
    }
    assert_eq!(parse_patch(&patch, today).map(|_| ()), Ok(()));
}
