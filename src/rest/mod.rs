//! The legacy REST routes (SPEC §3): thin handlers over the profile domain, all inside the
//! envelope; and the API's own documents ([`docs`]: the OpenAPI document of [`openapi`] and the
//! reference page).

pub mod docs;
pub mod envelope;
pub mod openapi;
pub mod profiles;
pub mod update;

use axum::Router;
use axum::routing::{get, patch};

use crate::state::AppState;

/// The API's routes (full paths, all under `/api/`), each answering in the envelope.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/profile/{id}", get(profiles::by_id))
        .route(
            "/api/v1/users/profile/username/{username}",
            get(profiles::by_username),
        )
        .route("/api/v1/users/profile", patch(update::patch_profile))
}
