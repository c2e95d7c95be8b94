//! The OpenAPI 3.1 document of the REST routes, served at `GET /api/openapi.json` and rendered
//! at `/api/docs`.
//!
//! It is generated from the code: the `#[utoipa::path]` annotations on the handlers in
//! [`super::profiles`] and [`super::update`], the `ToSchema` derive on the profile view the
//! server serializes, and the parts in this directory, one kind a file:
//!
//! - `description.md`: the introduction (the prose of `info.description`);
//! - `schemas.rs`: the envelopes, the patch, and what the profile's schema says beyond its Rust
//!   types (bounds, prose, examples);
//! - `parameters.rs`: the request headers, the path parameters and those of the update;
//! - `responses.rs`: the reusable responses, whose error examples are rendered from the Fluent
//!   messages the server sends (`locales/en.ftl`), so they cannot drift from the wire.
//!
//! Every limit the document states (lengths, counts, bounds, in patterns and in prose) is
//! formatted when the document is built from the constant the server checks: those of
//! [`crate::profiles::rules`] for the fields, of [`crate::context`] for the headers.

mod parameters;
mod responses;
mod schemas;
#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use parameters::{IdPath, IfNoneMatch, PatchParams, RequestHeaders, UsernamePath};
pub use responses::{
    BadPatch, BadProfileId, BadUsername, InternalError, MethodNotAllowed, NotFound, NotModified,
    PatchUnauthorized, PayloadTooLarge, PreconditionFailed, ProfileForbidden, ProfileOk,
    ProfilePatched, TooManyRequests, Unauthorized, Unavailable, UnsupportedMediaType,
    UsernameTaken,
};
pub use schemas::{ErrorEnvelope, ProfileEnvelope, ProfilePatch};

use parameters::TimeZoneSchema;
use schemas::ProfileDocs;

use crate::profiles::view::{PhotoView, ProfileView};

/// The tag of the profile operations.
pub const PROFILES_TAG: &str = "profiles";

/// The timestamp shown in examples (the seed's).
const EXAMPLE_TIMESTAMP: &str = "2026-05-22T16:11:26.806Z";

/// An entity tag as the server writes them, for examples.
const EXAMPLE_ETAG: &str = "\"3f0a4d6e8b1c2a5f7e9d0c1b2a3f4e5d\"";

/// The assembled document; see [`openapi`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "profile-api REST API",
        description = include_str!("description.md"),
        license(name = "MIT")
    ),
    servers((url = "/", description = "This server")),
    paths(super::profiles::by_id, super::profiles::by_username, super::update::patch_profile),
    components(
        schemas(ProfileEnvelope, ErrorEnvelope, ProfileView<'_>, PhotoView<'_>, ProfilePatch),
        responses(
            ProfileOk,
            NotModified,
            Unauthorized,
            ProfileForbidden,
            NotFound,
            MethodNotAllowed,
            TooManyRequests,
            InternalError,
            Unavailable
        )
    ),
    modifiers(&BearerScheme, &TimeZoneSchema, &ProfileDocs),
    tags((name = PROFILES_TAG, description = "Reading and updating user profiles"))
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of the REST routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as served, built once.
pub fn openapi_json() -> &'static [u8] {
    static JSON: LazyLock<Vec<u8>> =
        LazyLock::new(|| serde_json::to_vec_pretty(&openapi()).unwrap_or_default());
    &JSON
}

/// Adds the `bearer` security scheme the operations refer to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Authorization: Bearer <JWT>`: HS256 with the server's secret (RS256 \
                         when a public key is configured); claims `sub` (the user id) and `exp`, \
                         optionally `role: \"admin\"`. `profile-api token --user ID` mints one \
                         for local use.",
                    ))
                    .build(),
            ),
        );
    }
}
