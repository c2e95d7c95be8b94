//! The API's own documents: `GET /api/openapi.json` (the OpenAPI document) and `GET /api/docs`
//! (Swagger UI rendering it, with its assets under `/api/docs/assets/`). They are the only
//! responses under `/api/` that are not the envelope; their errors (a wrong method, say) still
//! are.

use axum::Router;
use axum::body::Body;
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use http::{HeaderValue, header};

use super::{envelope, openapi};
use crate::assets::{self, Page, asset};
use crate::state::AppState;

/// The reference page and what it loads.
static PAGE: Page = Page::new(
    include_str!("../../assets/api-docs/index.html"),
    &[
        asset!(
            "/api/docs/assets/swagger-ui.css",
            "api-docs/swagger-ui-dist/swagger-ui.css",
            assets::CSS
        ),
        asset!(
            "/api/docs/assets/swagger-ui-bundle.js",
            "api-docs/swagger-ui-dist/swagger-ui-bundle.js",
            assets::JAVASCRIPT
        ),
        asset!(
            "/api/docs/assets/init.js",
            "api-docs/init.js",
            assets::JAVASCRIPT
        ),
    ],
);

/// `/api/openapi.json`, `/api/docs` and the page's assets. Merged at the top level, outside the
/// envelope of the other `/api/` routes: successes are served as they are and request headers
/// are not judged, while errors still leave as the envelope.
pub fn routes() -> Router<AppState> {
    let router = Router::new()
        .route(
            "/api/openapi.json",
            get(openapi_json).layer(assets::compression()),
        )
        .route("/api/docs", get(|| async { PAGE.response() }));
    PAGE.asset_routes(router)
        .layer(middleware::from_fn(envelope::error_envelope_layer))
}

async fn openapi_json() -> Response {
    let mut response = Response::new(Body::from(openapi::openapi_json()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
