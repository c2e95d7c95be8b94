//! What the handler reads from an operation's document: which operation runs, how many aliases
//! it uses, and the order its response must follow.
//!
//! The GraphQL spec orders a response's fields as the selection set lists them. async-graphql
//! resolves sibling fields concurrently and records each as it completes, so a field that waited
//! for a DataLoader lands after its siblings. Rather than resolve fields one by one (and lose
//! batching), the response is reordered after execution, following the operation's selection
//! sets, fragments included.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Name, Value};
use indexmap::IndexMap;

/// The operation `operation_name` selects in `document` (the only one when unnamed), with its
/// name.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'a str>, &'a OperationDefinition)> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some((None, &op.node)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(n, op)| (Some(n.as_str()), &op.node)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .iter()
            .next()
            .map(|(n, op)| (Some(n.as_str()), &op.node)),
        _ => None,
    }
}

/// `query`, `mutation` or `subscription`.
pub fn kind(operation: &OperationDefinition) -> &'static str {
    match operation.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// How many aliased fields the document holds, fragments counted once each.
pub fn alias_count(document: &ExecutableDocument) -> usize {
    fn count(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + count(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => count(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| count(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|f| count(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

/// Reorders `data` as `operation` of `document` selects it.
pub fn reorder(data: &mut Value, document: &ExecutableDocument, operation: &OperationDefinition) {
    reorder_value(data, &[&operation.selection_set.node], document);
}

fn reorder_value(value: &mut Value, selections: &[&SelectionSet], document: &ExecutableDocument) {
    match value {
        Value::Object(map) => {
            let mut order: IndexMap<&Name, Vec<&SelectionSet>> = IndexMap::new();
            for set in selections {
                collect(set, document, &mut order);
            }
            let mut ordered = IndexMap::with_capacity(map.len());
            for (key, sub_selections) in order {
                if let Some((key, mut child)) = map.shift_remove_entry(key) {
                    reorder_value(&mut child, &sub_selections, document);
                    ordered.insert(key, child);
                }
            }
            ordered.extend(map.drain(..));
            *map = ordered;
        }
        Value::List(items) => {
            for item in items {
                reorder_value(item, selections, document);
            }
        }
        _ => {}
    }
}

fn collect<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    order: &mut IndexMap<&'a Name, Vec<&'a SelectionSet>>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => order
                .entry(&field.node.response_key().node)
                .or_default()
                .push(&field.node.selection_set.node),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, document, order);
                }
            }
            Selection::InlineFragment(fragment) => {
                collect(&fragment.node.selection_set.node, document, order)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use serde_json::json;

    use super::*;

    #[test]
    fn follows_the_selection_sets_and_fragments() {
        let document = parse_query(
            "query Q { b: user { z ...F y } a: users { y z } } fragment F on User { x { q p } }",
        )
        .expect("valid query");
        let mut data = Value::from_json(json!({
            "a": [{"z": 1, "y": 2}, {"z": 3, "y": 4}],
            "b": {"x": {"p": 1, "q": 2}, "y": 3, "z": 4}
        }))
        .expect("value");
        let (name, operation) = operation(&document, None).expect("operation");
        assert_eq!(name, Some("Q"));
        reorder(&mut data, &document, operation);
        assert_eq!(alias_count(&document), 2);
        assert_eq!(
            serde_json::to_string(&data).expect("json"),
            r#"{"b":{"z":4,"x":{"q":2,"p":1},"y":3},"a":[{"y":2,"z":1},{"y":4,"z":3}]}"#
        );
    }
}
