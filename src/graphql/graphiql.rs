//! GraphiQL, served at `GET /graphql` to browsers (`Accept: text/html`) with its assets under
//! `/graphql/assets/`: GraphiQL 3's UMD bundle on React 18, all from the binary.

use axum::Router;
use axum::response::Response;

use crate::assets::{self, Page, asset};

/// The GraphiQL page and what it loads, in load order.
static PAGE: Page = Page::new(
    include_str!("../../assets/graphiql/index.html"),
    &[
        asset!(
            "/graphql/assets/graphiql.min.css",
            "graphiql/graphiql/graphiql.min.css",
            assets::CSS
        ),
        asset!("/graphql/assets/page.css", "graphiql/page.css", assets::CSS),
        asset!(
            "/graphql/assets/react.production.min.js",
            "graphiql/react/react.production.min.js",
            assets::JAVASCRIPT
        ),
        asset!(
            "/graphql/assets/react-dom.production.min.js",
            "graphiql/react-dom/react-dom.production.min.js",
            assets::JAVASCRIPT
        ),
        asset!(
            "/graphql/assets/graphiql.min.js",
            "graphiql/graphiql/graphiql.min.js",
            assets::JAVASCRIPT
        ),
        asset!(
            "/graphql/assets/init.js",
            "graphiql/init.js",
            assets::JAVASCRIPT
        ),
    ],
);

/// The GraphiQL page, pointed at `/graphql`.
pub fn page() -> Response {
    PAGE.response()
}

/// `router` with the routes of GraphiQL's assets.
pub fn asset_routes<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    PAGE.asset_routes(router)
}
