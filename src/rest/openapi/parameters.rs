//! The parameters of the operations: the request-context headers every route reads, the path
//! parameters of the reads, `If-None-Match` of the conditional GETs, and `If-Match` and `dryRun`
//! of the update.

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::AnyOfBuilder;
use utoipa::openapi::{Ref, RefOr, Required, Schema};
use utoipa::{IntoParams, Modify};

use super::EXAMPLE_ETAG;
use super::schemas::{ID_DIGITS, string, string_enum, username_regex};
use crate::context::{APP_VERSION_MAX, DEVICE_ID_MAX, Platform};

/// An optional header parameter.
fn header_param(
    name: &str,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
}

/// A path parameter (always required).
fn path_param(name: &str, description: &str, pattern: String, example: &str) -> Vec<Parameter> {
    vec![
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(string().pattern(Some(pattern))))
            .example(Some(json!(example)))
            .build(),
    ]
}

/// `{id}` of `GET /api/v1/users/profile/{id}`.
pub struct IdPath;

impl IntoParams for IdPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        path_param(
            "id",
            &format!("The user's id: {ID_DIGITS} hexadecimal characters, any case."),
            format!("^[0-9a-fA-F]{{{ID_DIGITS}}}$"),
            "507f1f77bcf86cd799439011",
        )
    }
}

/// `{username}` of `GET /api/v1/users/profile/username/{username}`.
pub struct UsernamePath;

impl IntoParams for UsernamePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        path_param(
            "username",
            "The username, any case, with at most one leading `@`.",
            format!("^@?{}$", username_regex()),
            "@JohnDoe123",
        )
    }
}

/// The request-context headers of SPEC §2, read on every route. (`Authorization` is the
/// `bearer` security scheme: OpenAPI ignores a header parameter of that name.)
pub struct RequestHeaders;

impl IntoParams for RequestHeaders {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let platforms = Platform::ALL.iter().map(|p| p.as_str());
        vec![
            header_param(
                "Accept-Language",
                "Language of the messages: `en` or `tr`, negotiated with q-values \
                 (`tr-TR,tr;q=0.9,en;q=0.8` gives `tr`); anything else gives `en`. Echoed in \
                 `Content-Language`.",
                string()
                    .default(Some(json!("en")))
                    .examples(["tr", "tr-TR,tr;q=0.9,en;q=0.8"]),
            )
            .build(),
            header_param(
                "X-Timezone",
                "Offset of every timestamp and the \"today\" of `age`: `UTC`, a fixed offset \
                 `UTC±HH:MM` from `UTC-12:00` to `UTC+14:00` with minutes 00, 30 or 45, or an IANA \
                 zone name (`Europe/Istanbul`, daylight saving applied). Echoed in the response. \
                 Anything else is a 400.",
                Ref::from_schema_name(TIME_ZONE_SCHEMA),
            )
            .build(),
            header_param(
                "X-Platform",
                "The client platform, for logs and metrics; it never changes a response and \
                 `admin` grants nothing. Anything else is a 400.",
                string_enum(platforms).default(Some(json!("web"))),
            )
            .build(),
            header_param(
                "X-App-Version",
                &format!(
                    "The client's version, for logs: 1 to {APP_VERSION_MAX} of \
                     `[0-9A-Za-z.+-]`. Anything else is a 400."
                ),
                string()
                    .pattern(Some(format!(r"^[0-9A-Za-z.+\-]{{1,{APP_VERSION_MAX}}}$")))
                    .examples(["3.14.0"]),
            )
            .build(),
            header_param(
                "X-Device-Id",
                &format!(
                    "The device, logged as a hash only: 1 to {DEVICE_ID_MAX} visible ASCII \
                     characters. Anything else is a 400."
                ),
                string()
                    .min_length(Some(1))
                    .max_length(Some(DEVICE_ID_MAX))
                    .pattern(Some(format!(r"^[\x21-\x7E]{{1,{DEVICE_ID_MAX}}}$"))),
            )
            .build(),
            header_param(
                "X-Request-Id",
                "Correlates the request in the logs; echoed in the response, generated when \
                 absent.",
                string(),
            )
            .build(),
        ]
    }
}

/// The name of the schema of `X-Timezone`.
const TIME_ZONE_SCHEMA: &str = "TimeZone";

/// `X-Timezone`: `UTC`, a fixed offset within SPEC §2's bounds, or the name of an IANA zone
/// (`Area/Location`) as the server's zone database knows it.
fn timezone_schema() -> AnyOfBuilder {
    let offsets = string().pattern(Some(
        r"^UTC(?:[+-](?:0[0-9]|1[01]):(?:00|30|45)|\+1[23]:(?:00|30|45)|\+14:00|-12:00)?$",
    ));
    let zones = string_enum(
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|name| name.contains('/')),
    );
    AnyOfBuilder::new()
        .description(Some(
            "`UTC`, a fixed offset `UTC±HH:MM` from `UTC-12:00` to `UTC+14:00` with minutes 00, \
             30 or 45, or an IANA zone name.",
        ))
        .item(offsets)
        .item(zones)
        .default(Some(json!("UTC")))
        .examples([
            json!("UTC+03:00"),
            json!("Europe/Istanbul"),
            json!("UTC-08:00"),
        ])
}

/// Adds the schema of `X-Timezone` the headers refer to (once: it lists every zone name).
pub(super) struct TimeZoneSchema;

impl Modify for TimeZoneSchema {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert(TIME_ZONE_SCHEMA.to_owned(), timezone_schema().into());
    }
}

/// One entity tag of `If-Match` as the server accepts it: `*`, a quoted tag, or a weak one, of
/// visible ASCII without commas.
const IF_MATCH_TAG: &str = r#"(?:\*|"[\t\x20-\x2B\x2D-\x7E]*"|W/"[\t\x20-\x2B\x2D-\x7E]*)"#;

/// `If-None-Match` of the conditional GETs.
pub struct IfNoneMatch;

impl IntoParams for IfNoneMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            header_param(
                "If-None-Match",
                "Entity tags of representations the client has (or `*`); when one matches the \
                 current `ETag` (weak comparison) the answer is a bodiless 304.",
                string().examples([EXAMPLE_ETAG]),
            )
            .build(),
        ]
    }
}

/// `If-Match` and `dryRun` of the profile update.
pub struct PatchParams;

impl IntoParams for PatchParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            header_param(
                "If-Match",
                "Makes the update conditional: the `ETag` of the profile as the client last \
                 read it (a list of them, or `*`). When none matches the current one the answer \
                 is 412 and nothing is written.",
                string()
                    .pattern(Some(format!(
                        "^[ \\t]*{IF_MATCH_TAG}[ \\t]*(?:,[ \\t]*{IF_MATCH_TAG}[ \\t]*)*$"
                    )))
                    .examples([EXAMPLE_ETAG]),
            )
            .build(),
            ParameterBuilder::new()
                .name("dryRun")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "`true`: validate the patch and answer with the profile as it would become, \
                     without writing anything.",
                ))
                // What the server reads, exactly: a bare `dryRun` is `true`.
                .schema(Some(
                    string_enum(["true", "false", "1", "0", ""]).default(Some(json!("false"))),
                ))
                .build(),
        ]
    }
}
