//! GraphQL without parsing every request: a bounded cache of parsed documents, keyed by the
//! query's text, and of the validation each passed; and Automatic Persisted Queries (Apollo's
//! `extensions.persistedQuery` protocol), whose hashes name texts kept in the same cache.
//!
//! What is skipped, and what never is:
//! - **Parsing**: a known text is not parsed again; the request gets a copy of the document.
//! - **Validation**: a document that passed the full rules once is not checked against them
//!   again when the request has no variables — the outcome can only be the same (the same
//!   document, the same schema, the same limits). With variables the full rules run every time,
//!   because they coerce the variables' values, and the depth and complexity limits depend on
//!   them (`users(ids: $ids)` costs more with more ids).
//! - Execution, and everything per request (viewer, headers, limits on aliases): never.

use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ValidationResult};
use metrics::Counter;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

/// Documents kept (each a few kilobytes at most: bodies are bounded).
const DOCUMENTS: u64 = 2_000;

/// A parsed document and the validations it passed, by operation name.
pub struct Parsed {
    /// The document (shared: a subscription keeps a [`Parsed`] of its own, for its own
    /// validation, around the one document of its text).
    pub document: Arc<ExecutableDocument>,
    validated: Mutex<Vec<(Option<String>, ValidationResult)>>,
    /// A variant of the document made once for all its users (see [`Parsed::variant`]).
    variant: OnceLock<Arc<ExecutableDocument>>,
}

impl Parsed {
    /// A document not validated yet.
    pub fn new(document: ExecutableDocument) -> Self {
        Self::sharing(Arc::new(document))
    }

    /// A document, shared with others, not validated yet.
    pub fn sharing(document: Arc<ExecutableDocument>) -> Self {
        Self {
            document,
            validated: Mutex::new(Vec::new()),
            variant: OnceLock::new(),
        }
    }

    /// The document as `make` rewrites it, made on the first call and shared by every later
    /// one: each WebSocket subscription runs its document's variant on its own root
    /// ([`super::ws`]), and ten thousand subscriptions with one text then hold one copy of it,
    /// not ten thousand. `make` must be the same on every call.
    pub fn variant(
        &self,
        make: impl FnOnce(&ExecutableDocument) -> ExecutableDocument,
    ) -> Arc<ExecutableDocument> {
        self.variant
            .get_or_init(|| Arc::new(make(&self.document)))
            .clone()
    }

    fn validated(&self, operation: Option<&str>) -> Option<ValidationResult> {
        lock(&self.validated)
            .iter()
            .find(|(name, _)| name.as_deref() == operation)
            .map(|(_, result)| *result)
    }
}

/// What a persisted query's hash resolved to.
#[derive(Debug, PartialEq, Eq)]
pub enum Persisted {
    /// The request names no persisted query.
    No,
    /// The hash names this text (sent now, or remembered from an earlier request).
    Text(String),
    /// The hash is unknown: the client must send the text once (`PersistedQueryNotFound`).
    NotFound,
    /// The request is not a valid persisted query (another version, a malformed hash, or a text
    /// whose hash is not the one given).
    Invalid(&'static str),
}

/// The cache of one server.
pub struct DocumentCache {
    documents: Cache<Arc<str>, Arc<Parsed>>,
    /// Persisted query texts by their SHA-256 (hex).
    persisted: Cache<String, Arc<str>>,
    hits: Counter,
    misses: Counter,
}

impl std::fmt::Debug for DocumentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCache")
            .field("documents", &self.documents.entry_count())
            .finish_non_exhaustive()
    }
}

impl Default for DocumentCache {
    fn default() -> Self {
        crate::metrics::handle();
        Self {
            documents: Cache::new(DOCUMENTS),
            persisted: Cache::new(DOCUMENTS),
            hits: metrics::counter!("graphql_document_cache_total", "result" => "hit"),
            misses: metrics::counter!("graphql_document_cache_total", "result" => "miss"),
        }
    }
}

impl DocumentCache {
    /// The parsed document of `query`: from the cache, or parsed now (and kept). A text that
    /// does not parse is not kept: the request then fails as it would have.
    pub fn parsed(&self, query: &str) -> Option<Arc<Parsed>> {
        if let Some(parsed) = self.documents.get(query) {
            self.hits.increment(1);
            return Some(parsed);
        }
        self.misses.increment(1);
        let document = async_graphql::parser::parse_query(query).ok()?;
        let parsed = Arc::new(Parsed::new(document));
        self.documents.insert(Arc::from(query), parsed.clone());
        Some(parsed)
    }

    /// Resolves the `persistedQuery` extension of a request whose text is `query` (empty when
    /// the client sent only the hash).
    pub fn persisted(
        &self,
        extensions: &std::collections::HashMap<String, async_graphql::Value>,
        query: &str,
    ) -> Persisted {
        let Some(extension) = extensions.get("persistedQuery") else {
            return Persisted::No;
        };
        let async_graphql::Value::Object(fields) = extension else {
            return Persisted::Invalid("persistedQuery must be an object");
        };
        let version = fields.get("version");
        if version != Some(&async_graphql::Value::from(1)) {
            return Persisted::Invalid("PersistedQueryNotSupported");
        }
        let Some(async_graphql::Value::String(hash)) = fields.get("sha256Hash") else {
            return Persisted::Invalid("persistedQuery.sha256Hash must be a string");
        };
        let hash = hash.to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Persisted::Invalid("persistedQuery.sha256Hash must be 64 hexadecimal digits");
        }
        if query.is_empty() {
            return match self.persisted.get(&hash) {
                Some(text) => Persisted::Text(text.to_string()),
                None => Persisted::NotFound,
            };
        }
        if hex::encode(Sha256::digest(query.as_bytes())) != hash {
            return Persisted::Invalid("provided sha does not match query");
        }
        self.persisted.insert(hash, Arc::from(query));
        Persisted::Text(query.to_owned())
    }
}

/// Put into a request's data when its document may use (or record) an earlier validation:
/// the document and the operation the request runs.
pub struct Revalidation {
    /// The cached document.
    pub parsed: Arc<Parsed>,
    /// The operation the request names.
    pub operation: Option<String>,
}

/// The extension that skips the rules for a document that passed them before (see the module
/// documentation for when that is sound), and records the outcome for the next request.
pub struct ValidationCache;

impl ExtensionFactory for ValidationCache {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationCache)
    }
}

#[async_trait::async_trait]
impl Extension for ValidationCache {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let Some(revalidation) = ctx.data_opt::<Revalidation>() else {
            return next.run(ctx).await;
        };
        let operation = revalidation.operation.as_deref();
        if let Some(result) = revalidation.parsed.validated(operation) {
            return Ok(result);
        }
        let result = next.run(ctx).await;
        if let Ok(validated) = &result {
            let mut known = lock(&revalidation.parsed.validated);
            if known.len() < 16 && !known.iter().any(|(name, _)| name.as_deref() == operation) {
                known.push((operation.map(str::to_owned), *validated));
            }
        }
        result
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extension(hash: &str) -> std::collections::HashMap<String, async_graphql::Value> {
        let value = async_graphql::Value::from_json(serde_json::json!({
            "version": 1, "sha256Hash": hash
        }))
        .expect("value");
        [("persistedQuery".to_owned(), value)].into_iter().collect()
    }

    #[test]
    fn persisted_queries_follow_apollos_protocol() {
        let cache = DocumentCache::default();
        let query = "{ viewer { id } }";
        let hash = hex::encode(Sha256::digest(query.as_bytes()));
        assert_eq!(cache.persisted(&Default::default(), query), Persisted::No);
        assert_eq!(cache.persisted(&extension(&hash), ""), Persisted::NotFound);
        assert_eq!(
            cache.persisted(&extension(&hash), query),
            Persisted::Text(query.to_owned())
        );
        assert_eq!(
            cache.persisted(&extension(&hash.to_uppercase()), ""),
            Persisted::Text(query.to_owned())
        );
        assert!(matches!(
            cache.persisted(&extension(&"0".repeat(64)), query),
            Persisted::Invalid(_)
        ));
        assert!(matches!(
            cache.persisted(&extension("abc"), ""),
            Persisted::Invalid(_)
        ));
    }

    #[test]
    fn documents_are_parsed_once() {
        let cache = DocumentCache::default();
        let first = cache.parsed("{ viewer { id } }").expect("parses");
        let again = cache.parsed("{ viewer { id } }").expect("parses");
        assert!(Arc::ptr_eq(&first, &again));
        assert!(cache.parsed("{ viewer { id }").is_none());
    }

    #[test]
    fn a_variant_is_made_once_and_shared() {
        let cache = DocumentCache::default();
        let parsed = cache.parsed("subscription { a }").expect("parses");
        let mut made = 0;
        let first = parsed.variant(|document| {
            made += 1;
            document.clone()
        });
        let again = parsed.variant(|document| {
            made += 1;
            document.clone()
        });
        assert_eq!(made, 1);
        assert!(Arc::ptr_eq(&first, &again));
        let own = Parsed::sharing(first.clone());
        assert!(Arc::ptr_eq(&own.document, &first));
    }
}
