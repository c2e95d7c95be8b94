//! The legacy REST routes (SPEC §3): thin handlers over the profile domain, all inside the
//! envelope.

pub mod envelope;
pub mod profiles;
pub mod update;

use axum::Router;
use axum::routing::{get, patch};

use crate::state::AppState;

/// The routes under `/api`, each answering in the envelope.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/users/profile/{id}", get(profiles::by_id))
        .route(
            "/v1/users/profile/username/{username}",
            get(profiles::by_username),
        )
        .route("/v1/users/profile", patch(update::patch_profile))
}
