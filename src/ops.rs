//! Operational endpoints: `/healthz` (the process is up) and `/readyz` (the database answers).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /healthz`: 200 while the process serves requests.
pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: 200 when a pooled connection answers within a second, else 503.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, state.db().ping()).await {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "1")],
            Json(json!({ "status": "unavailable", "reason": "the database does not answer" })),
        )
            .into_response(),
    }
}
