//! Prometheus metrics at `/metrics`: requests by route, status and platform with their
//! latency; the connection pool; statements sent; DataLoader batch sizes; GraphQL operations.
//!
//! The recorder is process-wide (the `metrics` macros report to it), installed once.
//!
//! The recorder keeps every histogram sample in a queue until something drains it into the
//! buckets: a scrape, or an "upkeep". `install_recorder` leaves the upkeep to its caller, so a
//! server nobody scraped kept every request's latency (some 16 bytes each) for ever — memory that
//! grew with the request count. [`handle`] therefore starts a thread that runs the upkeep every
//! [`UPKEEP_INTERVAL`], for as long as the process lives.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex, OnceLock, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Latency buckets in seconds, from a cached read to a slow write.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Batch-size buckets of the DataLoaders.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0];
/// Most distinct GraphQL operation names kept as labels; the rest count as `other`, so clients
/// cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

/// How often queued histogram samples are drained into their buckets: the exporter's own
/// default. Between two upkeeps the queue holds at most this long's samples.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process), starts its upkeep, and returns its
/// handle; `None` if another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("batch_size".into()), BATCH_BUCKETS));
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => {
                    start_upkeep(handle.clone());
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are off: cannot install the Prometheus recorder");
                    None
                }
            }
        })
        .as_ref()
}

/// Runs the recorder's upkeep every [`UPKEEP_INTERVAL`] on a thread of its own: the recorder
/// lives as long as the process, beyond any one tokio runtime (the tests start many).
fn start_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "cannot start the metrics upkeep: only scrapes will drain histograms");
    }
}

/// The label values of a request's metrics beside its route (which keys the outer map, so a
/// lookup borrows it instead of allocating).
type RequestLabels = (&'static str, u16, &'static str);

/// The request metrics' handles per label set. Building four label strings and looking them up
/// in the recorder's registry twice was some 5 % of a cached read; with the handles kept here, a
/// request costs a map lookup and two atomic updates. Every label is bounded (route patterns,
/// [`method_label`], status codes, platforms), so the map is too.
static REQUEST_HANDLES: LazyLock<RwLock<HashMap<String, HashMap<RequestLabels, RequestHandles>>>> =
    LazyLock::new(RwLock::default);

#[derive(Clone)]
struct RequestHandles {
    requests: Counter,
    duration: Histogram,
}

/// A request method as a label: the standard ones by name, anything else `other`, so that
/// clients inventing methods cannot grow the metrics.
fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Records one answered request.
pub fn record_request(
    route: &str,
    method: &http::Method,
    status: u16,
    platform: &'static str,
    latency: Duration,
) {
    let labels = (method_label(method), status, platform);
    let known = REQUEST_HANDLES
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(route)
        .and_then(|by_labels| by_labels.get(&labels))
        .cloned();
    let handles = known.unwrap_or_else(|| {
        let (method, status, platform) = labels;
        let names = [
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status.to_string()),
            ("platform", platform.to_owned()),
        ];
        let handles = RequestHandles {
            requests: metrics::counter!("http_requests_total", &names),
            duration: metrics::histogram!("http_request_duration_seconds", &names),
        };
        REQUEST_HANDLES
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(route.to_owned())
            .or_default()
            .insert(labels, handles.clone());
        handles
    });
    handles.requests.increment(1);
    handles.duration.record(latency.as_secs_f64());
}

/// Records the size of one DataLoader batch.
pub fn record_batch(loader: &'static str, size: usize) {
    metrics::histogram!("graphql_dataloader_batch_size", "loader" => loader).record(size as f64);
}

/// Records one GraphQL operation by name and type.
pub fn record_operation(name: Option<&str>, kind: &'static str) {
    static SEEN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));
    let name = match name {
        None => "anonymous".to_owned(),
        Some(name) => {
            let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES {
                seen.insert(name.to_owned());
                name.to_owned()
            } else {
                "other".to_owned()
            }
        }
    };
    metrics::counter!("graphql_operations_total", "operation" => name, "type" => kind).increment(1);
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (axum::http::StatusCode::NOT_FOUND, "metrics are off").into_response();
    };
    let (size, idle, waiting) = state.db().status();
    metrics::gauge!("db_pool_connections", "state" => "open").set(size as f64);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("db_pool_waiting_requests").set(waiting as f64);
    metrics::gauge!("db_pool_max_connections").set(f64::from(state.config().database.pool_size));
    metrics::counter!("db_statements_total").absolute(state.db().statements_executed());
    if let Some(cache) = state.db().cache() {
        let (entries, bytes) = cache.size();
        metrics::gauge!("profile_cache_entries").set(entries as f64);
        metrics::gauge!("profile_cache_bytes").set(bytes as f64);
    }
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
