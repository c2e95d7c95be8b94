//! Browser pages compiled into the binary: the REST API reference (`/api/docs`) and GraphiQL
//! (`/graphql`), each an HTML page, a start-up script of ours and the vendored bundles it loads
//! (`assets/README.md` says where they come from). Nothing is loaded from anywhere else, so both
//! pages work offline and under the strict Content-Security-Policy they are sent with.
//!
//! A page refers to its assets by their plain paths; when it is served, each reference gets a
//! `?v=<hash of the content>` suffix, so that the assets can be cached for good and a new build
//! is never hidden by an old cached copy. The bundles are large (GraphiQL's is 3.5 MB), so they
//! are sent gzip-compressed to clients that accept it.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use http::{HeaderValue, header};
use tower_http::compression::CompressionLayer;

/// The `Content-Type` of JavaScript.
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// The `Content-Type` of CSS.
pub const CSS: &str = "text/css; charset=utf-8";

/// The policy the pages are sent with: scripts only from this server (no inline script, no
/// `eval`), requests only to this server. Styles may be inline because the bundles set them from
/// JavaScript; images and fonts may be `data:` URLs because the bundled stylesheets embed theirs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Gzip for clients that accept it: the layer for the large documents the pages load.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new().gzip(true)
}

/// A file served at a fixed path.
#[derive(Debug)]
pub struct Asset {
    /// Where it is served.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its content.
    pub bytes: &'static [u8],
}

/// An [`Asset`] from a file under `assets/`.
macro_rules! asset {
    ($path:literal, $file:literal, $content_type:expr) => {
        $crate::assets::Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $file)),
        }
    };
}
pub(crate) use asset;

impl Asset {
    /// A short hash of the content, for the URL.
    fn version(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(&Sha256::digest(self.bytes)[..8])
    }

    fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.bytes));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        // The pages ask for each asset with its content hash in the URL.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// An HTML page and the assets it loads.
#[derive(Debug)]
pub struct Page {
    html: &'static str,
    assets: &'static [Asset],
    rendered: OnceLock<String>,
}

impl Page {
    /// A page whose `html` refers to `assets` by their paths, in double quotes.
    pub const fn new(html: &'static str, assets: &'static [Asset]) -> Self {
        Self {
            html,
            assets,
            rendered: OnceLock::new(),
        }
    }

    /// The HTML as served: every asset reference carries the asset's version.
    pub fn html(&self) -> &str {
        self.rendered.get_or_init(|| {
            self.assets
                .iter()
                .fold(self.html.to_owned(), |html, asset| {
                    html.replace(
                        &format!("\"{}\"", asset.path),
                        &format!("\"{}?v={}\"", asset.path, asset.version()),
                    )
                })
        })
    }

    /// The page, with its Content-Security-Policy.
    pub fn response(&'static self) -> Response {
        let mut response = Response::new(Body::from(self.html()));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        response
    }

    /// `router` with a GET route for each of the page's assets.
    pub fn asset_routes<S>(&'static self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.assets.iter().fold(router, |router, asset| {
            router.route(
                asset.path,
                get(move || async move { asset.response() }).layer(compression()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PAGE: Page = Page::new(
        r#"<script src="/a.js"></script><script src="/a.js.map"></script>"#,
        &[Asset {
            path: "/a.js",
            content_type: JAVASCRIPT,
            bytes: b"1",
        }],
    );

    #[test]
    fn references_carry_the_content_hash() {
        assert_eq!(
            PAGE.html(),
            r#"<script src="/a.js?v=6b86b273ff34fce1"></script><script src="/a.js.map"></script>"#
        );
    }
}
