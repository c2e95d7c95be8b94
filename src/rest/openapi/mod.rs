//! The OpenAPI 3.1 document of the REST routes, served at `GET /api/openapi.json` and rendered
//! at `/api/docs`.
//!
//! It is generated from the code: the `#[utoipa::path]` annotations on the handlers in
//! [`super::profiles`], the `ToSchema` derives on the wire types, and the reusable parts below
//! (request headers, responses, envelope schemas). The error examples are rendered from the same
//! Fluent messages the server sends (`locales/en.ftl`), so they cannot drift from the wire.

use std::sync::LazyLock;

use serde_json::{Value, json};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required};
use utoipa::{IntoParams, Modify, OpenApi, ToResponse, ToSchema};

use crate::context::Platform;
use crate::error::{AppError, FieldError};
use crate::i18n::{Lang, MessageId};
use crate::profiles::{AvailabilityStatus, MediaType};
use serde::Serialize;

/// The tag of the profile operations.
pub const PROFILES_TAG: &str = "profiles";

/// The timestamp shown in examples (the seed's).
const EXAMPLE_TIMESTAMP: &str = "2026-05-22T16:11:26.806Z";

/// An entity tag as the server writes them, for examples.
const EXAMPLE_ETAG: &str = "\"3f0a4d6e8b1c2a5f7e9d0c1b2a3f4e5d\"";

const DESCRIPTION: &str = "\
The legacy REST routes of profile-api: user profiles of a social / live-streaming app.

**The envelope.** Every response under `/api/` (success, every error, an unknown route, a wrong \
method, a malformed or too large body, a database outage) has `Content-Type: application/json` \
and this body, keys in this order:

```json
{\"isSuccess\": true, \"statusCode\": 200, \"data\": {}, \"errors\": [], \"timestamp\": \"2026-05-22T16:11:26.806Z\"}
```

`statusCode` equals the HTTP status. On failure `data` is `null` and `errors` lists the general \
message of the status first, then one specific message per problem. The only exceptions are \
`304 Not Modified` (no body) and the API's own documents, `/api/openapi.json` and `/api/docs`.

**Request context.** `Accept-Language` (`en`, `tr`) picks the language of every message and is \
echoed in `Content-Language`; `X-Timezone` picks the offset of `timestamp` (RFC 3339, three \
fractional digits, `Z` for UTC) and the \"today\" of `age`, and is echoed; `X-Request-Id` is \
echoed, or generated when absent. A bad `X-Timezone`, `X-Platform`, `X-App-Version` or \
`X-Device-Id` is a 400 naming the header.

**Identity.** `Authorization: Bearer <JWT>` (HS256, claims `sub` and `exp`, optional \
`role: \"admin\"`). Reads work anonymously for public profiles; a token that is presented but \
not valid is always a 401.

The same data is served by GraphQL at `/graphql` (GraphiQL in a browser).";

/// The assembled document; see [`openapi`].
#[derive(OpenApi)]
#[openapi(
    info(title = "profile-api REST API", description = DESCRIPTION, license(name = "MIT")),
    servers((url = "/", description = "This server")),
    paths(super::profiles::by_id, super::profiles::by_username, super::update::patch_profile),
    components(
        schemas(
            ProfileEnvelope,
            ErrorEnvelope,
            LegacyProfile,
            LegacyPhoto,
            ProfilePatch
        ),
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
    modifiers(&BearerScheme, &TimeZoneSchema),
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

/// Adds the schema of `X-Timezone` the headers refer to (once: it lists every zone name).
struct TimeZoneSchema;

impl Modify for TimeZoneSchema {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert(TIME_ZONE_SCHEMA.to_owned(), timezone_schema().into());
    }
}

// ---------------------------------------------------------------------------------------------
// Schemas

/// `availabilityStatus`: one of the domain's values.
pub fn availability_status_schema() -> ObjectBuilder {
    string_enum(AvailabilityStatus::ALL.iter().map(|s| s.as_str()))
        .description(Some("Whether the user can take a live-stream call now."))
        .examples(["available"])
}

/// `type` of a media item: one of the domain's values.
pub fn media_type_schema() -> ObjectBuilder {
    string_enum(MediaType::ALL.iter().map(|t| t.as_str()))
        .description(Some("The kind of media."))
        .examples(["image"])
}

fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

fn constant(value: bool) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([value]))
        .description(Some(format!("Always `{value}` here.")))
}

fn success_flag() -> ObjectBuilder {
    constant(true)
}

fn failure_flag() -> ObjectBuilder {
    constant(false)
}

fn null_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Null)
        .description(Some("Always `null` here."))
}

fn timestamp_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "When the response was written: RFC 3339 with three fractional digits, in the \
             request's `X-Timezone` (`Z` for UTC).",
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .pattern(Some(
            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$",
        ))
        .examples([EXAMPLE_TIMESTAMP, "2026-05-22T19:11:26.806+03:00"])
}

/// The envelope of a successful profile response.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileEnvelope {
    /// Always `true` here.
    #[schema(schema_with = success_flag)]
    pub is_success: bool,
    /// The HTTP status.
    #[schema(example = 200)]
    pub status_code: u16,
    /// The profile.
    pub data: LegacyProfile,
    /// Always empty here.
    #[schema(max_items = 0)]
    pub errors: Vec<String>,
    /// When the response was written: RFC 3339 with three fractional digits, in the request's
    /// `X-Timezone` (`Z` for UTC).
    #[schema(schema_with = timestamp_schema)]
    pub timestamp: String,
}

/// The envelope of every error response under `/api/`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    /// Always `false` here.
    #[schema(schema_with = failure_flag)]
    pub is_success: bool,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599, example = 404)]
    pub status_code: u16,
    /// Always `null` here.
    #[schema(schema_with = null_schema)]
    pub data: (),
    /// The general message of the status first, then one message per problem (each naming the
    /// field or header at fault), in the language of `Accept-Language`.
    #[schema(min_items = 1, example = json!(["Resource not found"]))]
    pub errors: Vec<String>,
    /// When the response was written: RFC 3339 with three fractional digits, in the request's
    /// `X-Timezone` (`Z` for UTC).
    #[schema(schema_with = timestamp_schema)]
    pub timestamp: String,
}

/// A JSON Merge Patch (RFC 7396) of the caller's own profile. An absent field is left as it is;
/// `null` clears a nullable field and is a 400 for a required one; strings are trimmed and an
/// empty string clears a nullable field. Read-only fields (`_id`, `age`, `followersCount`,
/// `followingCount`, `profilePhoto`, `createdAt`, `updatedAt`) and unknown fields are 400s that
/// name them; every problem of the body is reported at once. Lengths count Unicode characters
/// after trimming and NFC normalisation, which a schema cannot count: they are stated in the
/// descriptions, and a value over them is a 400 like every rule a schema cannot state (the age
/// window of `birthDate`, duplicate `interests`, the handle rules).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePatch {
    /// First name, 1 to 50 characters.
    #[schema(nullable = false, min_length = 1, example = "John")]
    pub name: Option<String>,
    /// Last name, 1 to 50 characters.
    #[schema(nullable = false, min_length = 1, example = "Doe")]
    pub surname: Option<String>,
    /// A new username (described by `username_patch_schema`).
    #[schema(schema_with = username_patch_schema)]
    pub username: Option<String>,
    /// Whether the user can take a live-stream call now (described by
    /// `availability_status_patch_schema`).
    #[schema(schema_with = availability_status_patch_schema)]
    pub availability_status: Option<String>,
    /// The new list of interests (described by `interests_patch_schema`).
    #[schema(schema_with = interests_patch_schema)]
    pub interests: Option<Vec<String>>,
    /// At most 100 characters; `null` or `""` clears it.
    #[schema(example = "designer")]
    pub expertise: Option<String>,
    /// At most 500 characters; `null` or `""` clears it.
    #[schema(example = "Passionate about technology and travel")]
    pub bio: Option<String>,
    /// Price of one live-stream minute in credits, 0 to 100000.
    #[schema(nullable = false, minimum = 0, maximum = 100000, example = 1)]
    pub minute_price_in_live_stream: Option<i32>,
    /// Instagram username (1 to 30 letters, digits, dots or underscores, not starting or ending
    /// with a dot) or an instagram.com profile link; stored without a leading `@`.
    #[schema(example = "myinstagram")]
    pub instagram: Option<String>,
    /// Snapchat username (3 to 15 letters, digits, dots, hyphens or underscores, starting with a
    /// letter) or a snapchat.com profile link.
    #[schema(example = "mysnapchat")]
    pub snapchat: Option<String>,
    /// X username (1 to 15 letters, digits or underscores) or an x.com profile link.
    #[schema(example = "mytwitterx")]
    pub x: Option<String>,
    /// TikTok username (2 to 24 letters, digits, dots or underscores, not ending with a dot) or a
    /// tiktok.com profile link.
    #[schema(example = "mytiktok")]
    pub tiktok: Option<String>,
    /// Facebook username (5 to 50 letters, digits or dots) or a facebook.com profile link.
    #[schema(example = "myfacebook")]
    pub facebook: Option<String>,
    /// The birth date (described by `birth_date_patch_schema`).
    #[schema(schema_with = birth_date_patch_schema)]
    pub birth_date: Option<String>,
    /// Whether only accepted followers (and admins) may see the profile.
    #[schema(nullable = false, example = false)]
    pub is_private: Option<bool>,
    /// The new profile photo (described by `profile_photo_id_patch_schema`).
    #[schema(schema_with = profile_photo_id_patch_schema)]
    pub profile_photo_id: Option<String>,
}

// The patch's strings are trimmed (Rust's `str::trim`: Unicode White_Space) before they are
// checked, so a pattern that states a rule exactly allows that whitespace around the value.
// The class is spelled out because `\s` differs between the regex engines that read the
// document (ECMAScript, Python, Rust).

/// What `str::trim` removes, as a regex character class.
const TRIMMED: &str =
    r"[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// A pattern matching `value` (a regex) with any trimmed whitespace around it.
fn trimmed(value: &str) -> String {
    format!("^{TRIMMED}*(?:{value}){TRIMMED}*$")
}

/// A string or `null`.
fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
}

fn username_patch_schema() -> ObjectBuilder {
    string()
        .description(Some(
            "A new username, 3 to 30 letters, digits, underscores or dots (surrounding whitespace \
             is trimmed); 409 when another user has it (compared case-insensitively).",
        ))
        .pattern(Some(trimmed("[A-Za-z0-9_.]{3,30}")))
        .examples(["johndoe123"])
}

fn availability_status_patch_schema() -> ObjectBuilder {
    let values: Vec<&str> = AvailabilityStatus::ALL.iter().map(|s| s.as_str()).collect();
    string()
        .description(Some(format!(
            "Whether the user can take a live-stream call now: one of `{}` (surrounding \
             whitespace is trimmed).",
            values.join("`, `")
        )))
        .pattern(Some(trimmed(&values.join("|"))))
        .examples(["available"])
}

fn interests_patch_schema() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new()
        .description(Some(
            "Replaces the whole list: up to 20 items of 1 to 32 characters, no case-insensitive \
             duplicates, order kept.",
        ))
        .items(string().min_length(Some(1)))
        .max_items(Some(20))
        .examples([json!(["music", "sports"])])
}

fn birth_date_patch_schema() -> ObjectBuilder {
    nullable_string()
        .description(Some(
            "Birth date, `YYYY-MM-DD`, giving an age from 18 to 120 in the request's timezone; \
             only the owner and admins ever see it. `null` or `\"\"` clears it.",
        ))
        .pattern(Some(trimmed("([0-9]{4}-[0-9]{2}-[0-9]{2})?")))
        .examples(["1998-04-23"])
}

fn profile_photo_id_patch_schema() -> ObjectBuilder {
    nullable_string()
        .description(Some(
            "The id of a media item the user owns, to become the profile photo; `null` or `\"\"` \
             removes it.",
        ))
        .pattern(Some(trimmed("([0-9a-fA-F]{24})?")))
        .examples(["507f1f77bcf86cd799439012"])
}

// ---------------------------------------------------------------------------------------------
// Request parameters

fn header_param(
    name: &str,
    description: &str,
    schema: impl Into<RefOr<utoipa::openapi::Schema>>,
) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
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
                "The client's version, for logs: 1 to 32 of `[0-9A-Za-z.+-]`. Anything else is \
                 a 400.",
                string()
                    .pattern(Some(r"^[0-9A-Za-z.+\-]{1,32}$"))
                    .examples(["3.14.0"]),
            )
            .build(),
            header_param(
                "X-Device-Id",
                "The device, logged as a hash only: 1 to 128 visible ASCII characters. Anything \
                 else is a 400.",
                string()
                    .min_length(Some(1))
                    .max_length(Some(128))
                    .pattern(Some(r"^[\x21-\x7E]{1,128}$")),
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
fn timezone_schema() -> utoipa::openapi::schema::AnyOfBuilder {
    let offsets = string().pattern(Some(
        r"^UTC(?:[+-](?:0[0-9]|1[01]):(?:00|30|45)|\+1[23]:(?:00|30|45)|\+14:00|-12:00)?$",
    ));
    let zones = string_enum(
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|name| name.contains('/')),
    );
    utoipa::openapi::schema::AnyOfBuilder::new()
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

// ---------------------------------------------------------------------------------------------
// Responses

/// Adds the headers every response carries.
fn context_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
        .header(
            "Content-Language",
            header("The language of the messages: `en` or `tr`."),
        )
        .header(
            "X-Timezone",
            header("The zone the timestamps are written in (`UTC` by default)."),
        )
        .header(
            "X-Request-Id",
            header("The request's id: the client's `X-Request-Id`, or a generated one."),
        )
}

fn header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(string())
        .description(Some(description))
        .build()
}

const ETAG: &str = "Strong entity tag of `data`, for `If-None-Match` and `If-Match`.";

/// Adds the caching headers of a readable profile (200 and 304).
fn caching_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
        .header("ETag", header(ETAG))
        .header(
            "Cache-Control",
            header("`private, no-cache`: the profile depends on the viewer and the headers."),
        )
        .header(
            "Vary",
            header("`Accept-Language, Authorization, X-Timezone`."),
        )
}

fn envelope_content(schema: &str) -> ContentBuilder {
    ContentBuilder::new().schema(Some(Ref::from_schema_name(schema)))
}

/// The seed's example user, as a profile response shows him.
fn john() -> Value {
    json!({
        "_id": "507f1f77bcf86cd799439011",
        "name": "John",
        "surname": "Doe",
        "username": "johndoe123",
        "availabilityStatus": "available",
        "profilePhoto": {
            "_id": "507f1f77bcf86cd799439012",
            "url": "https://example.com/profile.jpg",
            "type": "image"
        },
        "interests": ["music", "sports"],
        "expertise": "designer",
        "age": 28,
        "minutePriceInLiveStream": 1,
        "followersCount": 128,
        "followingCount": 256,
        "bio": "Passionate about technology and travel",
        "instagram": "myinstagram",
        "snapchat": "mysnapchat",
        "x": "mytwitterx",
        "tiktok": "mytiktok",
        "facebook": "myfacebook"
    })
}

/// A 200 with the profile; `tune` adds the headers beyond the context's.
fn profile_response(
    description: &str,
    tune: impl FnOnce(ResponseBuilder) -> ResponseBuilder,
) -> Response {
    let example = json!({
        "isSuccess": true,
        "statusCode": 200,
        "data": john(),
        "errors": [],
        "timestamp": EXAMPLE_TIMESTAMP,
    });
    let content = envelope_content("ProfileEnvelope").example(Some(example));
    tune(context_headers(ResponseBuilder::new()))
        .description(description)
        .content("application/json", content.build())
        .build()
}

/// The envelope of `error` as an English example.
fn failure_example(error: &AppError) -> Value {
    let status = error.kind().status();
    json!({
        "isSuccess": false,
        "statusCode": status.as_u16(),
        "data": null,
        "errors": error.messages(Lang::En),
        "timestamp": EXAMPLE_TIMESTAMP,
    })
}

/// An error response: one example per `(name, summary, error)`; `tune` adds headers.
fn failure_response(
    description: &str,
    examples: &[(&str, &str, AppError)],
    tune: impl FnOnce(ResponseBuilder) -> ResponseBuilder,
) -> Response {
    let mut content = envelope_content("ErrorEnvelope");
    if let [(_, _, error)] = examples {
        content = content.example(Some(failure_example(error)));
    } else {
        content = content.examples_from_iter(examples.iter().map(|(name, summary, error)| {
            let example = ExampleBuilder::new()
                .summary(*summary)
                .value(Some(failure_example(error)));
            (*name, example)
        }));
    }
    let response = context_headers(ResponseBuilder::new())
        .description(description)
        .content("application/json", content.build());
    tune(response).build()
}

fn retry_after(response: ResponseBuilder) -> ResponseBuilder {
    response.header(
        "Retry-After",
        header("Seconds to wait before trying again."),
    )
}

fn www_authenticate(response: ResponseBuilder) -> ResponseBuilder {
    response.header("WWW-Authenticate", header("`Bearer`."))
}

fn no_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
}

fn invalid(field: &str, id: MessageId) -> AppError {
    AppError::invalid(field, id)
}

fn bad_header_example() -> (&'static str, &'static str, AppError) {
    (
        "header",
        "A bad request header",
        invalid("X-Timezone", MessageId::InvalidTimezone),
    )
}

/// Declares reusable responses: each a unit struct whose [`ToResponse`] is the given expression.
macro_rules! responses {
    ($($(#[$meta:meta])* $name:ident => $response:expr;)*) => {$(
        $(#[$meta])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T($response))
            }
        }
    )*};
}

responses! {
    /// 200 with the profile.
    ProfileOk => profile_response(
        "The profile, in the envelope, with its `ETag`.",
        caching_headers,
    );
    /// 304: `If-None-Match` named the current `ETag`.
    NotModified => caching_headers(context_headers(ResponseBuilder::new()))
        .description("`If-None-Match` named the current `ETag`: no body.")
        .build();
    /// 400 for a malformed id.
    BadProfileId => failure_response(
        "The id or a request header is malformed.",
        &[
            ("id", "A malformed id", invalid("id", MessageId::InvalidUserId)),
            bad_header_example(),
        ],
        no_headers,
    );
    /// 400 for a malformed username.
    BadUsername => failure_response(
        "The username or a request header is malformed.",
        &[
            ("username", "A malformed username", invalid("username", MessageId::InvalidUsername)),
            bad_header_example(),
        ],
        no_headers,
    );
    /// 401: a token was presented and is not valid.
    Unauthorized => failure_response(
        "A bearer token was presented and is not valid (malformed, wrong algorithm, bad \
         signature, expired, or its user does not exist or is deactivated). Reads need no \
         token, but a bad one is never ignored.",
        &[("expired", "An expired token", AppError::Unauthenticated(MessageId::TokenExpired))],
        www_authenticate,
    );
    /// 403: the viewer may not see the profile.
    ProfileForbidden => failure_response(
        "The viewer may not see the profile.",
        &[
            ("blocked", "The profile's owner has blocked the viewer", AppError::Blocked),
            (
                "private",
                "The profile is private and the viewer is not its owner, an accepted follower \
                 or an admin",
                AppError::Private,
            ),
        ],
        no_headers,
    );
    /// 404: no such user.
    NotFound => failure_response(
        "No such user, or a deactivated one.",
        &[("notFound", "No such user", AppError::NotFound)],
        no_headers,
    );
    /// 405: wrong method on a known route.
    MethodNotAllowed => failure_response(
        "The route exists but not with this method.",
        &[("method", "A wrong method", AppError::MethodNotAllowed)],
        |response| response.header("Allow", header("The methods the route accepts.")),
    );
    /// 500: a bug; nothing internal is sent.
    InternalError => failure_response(
        "An unexpected failure; nothing internal is sent (the request id finds it in the logs).",
        &[("internal", "An internal error", AppError::internal(anyhow::anyhow!("example")))],
        no_headers,
    );
    /// 429: the client is over its rate limit.
    TooManyRequests => failure_response(
        "The client (a token's user, else the address) sent more than the server's rate limit \
         allows (`RATE_LIMIT_PER_SECOND`, off by default).",
        &[("rate", "Over the rate limit", AppError::TooManyRequests)],
        retry_after,
    );
    /// 503: the database is unreachable or busy.
    Unavailable => failure_response(
        "The database is unreachable, the connection pool timed out, or the request took too \
         long.",
        &[("unavailable", "The database is down", AppError::Unavailable(String::new()))],
        retry_after,
    );
    /// 200 with the updated profile.
    ProfilePatched => profile_response(
        "The updated profile (or, with `dryRun=true`, the profile as it would become), in the \
         envelope, with its new `ETag`.",
        |response| {
            response
                .header("ETag", header(ETAG))
                .header("Cache-Control", header("`no-store`."))
        },
    );
    /// 400 for a bad patch.
    BadPatch => failure_response(
        "The body, a field or a request header is invalid; every problem is listed.",
        &[
            (
                "fields",
                "Several invalid fields",
                AppError::Validation(vec![
                    FieldError::new("name", MessageId::FieldRequired),
                    FieldError::new("bio", MessageId::FieldTooLong).arg("max", 500),
                    FieldError::new("followersCount", MessageId::FieldReadOnly),
                    FieldError::new("nickname", MessageId::FieldUnknown),
                ]),
            ),
            (
                "json",
                "A body that is not JSON",
                AppError::Validation(vec![
                    FieldError::new("body", MessageId::BodyMalformedJson)
                        .arg("line", 1)
                        .arg("column", 9),
                ]),
            ),
            bad_header_example(),
        ],
        no_headers,
    );
    /// 401: no valid token.
    PatchUnauthorized => failure_response(
        "No bearer token, or one that is not valid.",
        &[
            ("missing", "No token", AppError::Unauthenticated(MessageId::TokenMissing)),
            ("expired", "An expired token", AppError::Unauthenticated(MessageId::TokenExpired)),
        ],
        www_authenticate,
    );
    /// 409: the username is taken.
    UsernameTaken => failure_response(
        "Another user has the new username (compared case-insensitively).",
        &[("taken", "A taken username", AppError::Conflict(MessageId::UsernameTaken))],
        no_headers,
    );
    /// 412: `If-Match` did not match.
    PreconditionFailed => failure_response(
        "`If-Match` names none of the current `ETag`s: the profile changed since it was read. \
         Nothing was written.",
        &[("stale", "A stale ETag", AppError::PreconditionFailed)],
        no_headers,
    );
    /// 413: body over 64 KiB.
    PayloadTooLarge => failure_response(
        "The body is over 64 KiB.",
        &[("tooLarge", "A body over 64 KiB", AppError::PayloadTooLarge)],
        no_headers,
    );
    /// 415: body of another media type.
    UnsupportedMediaType => failure_response(
        "The body is not `application/json` or `application/merge-patch+json`.",
        &[("mediaType", "A form body", AppError::UnsupportedMediaType)],
        no_headers,
    );
}

// ---------------------------------------------------------------------------------------------
// PATCH /api/v1/users/profile

#[cfg(test)]
mod tests {
    use super::*;

    /// The response a path's response stands for, following a `$ref` into the components.
    fn resolve<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
        match response["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or_default();
                &doc["components"]["responses"][name]
            }
            None => response,
        }
    }

    #[test]
    fn every_error_example_carries_its_status() {
        let doc = serde_json::to_value(openapi()).unwrap_or_default();
        let mut seen = 0;
        for item in doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for operation in item.as_object().into_iter().flat_map(|m| m.values()) {
                let responses = operation["responses"].as_object().into_iter().flatten();
                for (status, response) in responses {
                    let content = &resolve(&doc, response)["content"]["application/json"];
                    let examples: Vec<&Value> = match content["examples"].as_object() {
                        Some(named) => named.values().map(|e| &e["value"]).collect(),
                        None => content.get("example").into_iter().collect(),
                    };
                    assert!(
                        status == "304" || !examples.is_empty(),
                        "{status} has no example"
                    );
                    for example in examples {
                        assert_eq!(&example["statusCode"].to_string(), status);
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 20, "only {seen} examples");
    }
}

/// The profile in the legacy wire format: the seed's keys, in the seed's order. Every key is
/// always present; unset nullable values are `null`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: the wire format is `profiles::view::ProfileView`
#[serde(rename_all = "camelCase")]
pub struct LegacyProfile {
    /// The user's id: 24 lowercase hexadecimal characters (a MongoDB ObjectId).
    #[serde(rename = "_id")]
    #[schema(pattern = "^[0-9a-f]{24}$", example = "507f1f77bcf86cd799439011")]
    id: String,
    /// First name: 1 to 50 characters, any script.
    #[schema(min_length = 1, max_length = 50, example = "John")]
    name: String,
    /// Last name: 1 to 50 characters, any script.
    #[schema(min_length = 1, max_length = 50, example = "Doe")]
    surname: String,
    /// Username as stored (unique case-insensitively).
    #[schema(pattern = "^[A-Za-z0-9_.]{3,30}$", example = "johndoe123")]
    username: String,
    /// Whether the user can take a live-stream call now.
    #[schema(schema_with = availability_status_schema)]
    availability_status: String,
    /// The profile photo, or `null` when there is none.
    profile_photo: Option<LegacyPhoto>,
    /// Up to 20 interests of 1 to 32 characters, in the user's order, no case-insensitive
    /// duplicates.
    #[schema(max_items = 20, example = json!(["music", "sports"]))]
    interests: Vec<String>,
    /// Expertise, at most 100 characters.
    #[schema(max_length = 100, example = "designer")]
    expertise: Option<String>,
    /// Age in whole years, counted on today's date in the request's timezone (`X-Timezone`);
    /// `null` when the user has not given a birth date.
    #[schema(minimum = 0, example = 28)]
    age: Option<i32>,
    /// Price of one live-stream minute, in credits.
    #[schema(minimum = 0, maximum = 100000, example = 1)]
    minute_price_in_live_stream: i32,
    /// Accepted followers.
    #[schema(minimum = 0, example = 128)]
    followers_count: i32,
    /// Accepted followings.
    #[schema(minimum = 0, example = 256)]
    following_count: i32,
    /// Biography, at most 500 characters.
    #[schema(max_length = 500, example = "Passionate about technology and travel")]
    bio: Option<String>,
    /// Instagram handle, without a leading `@`.
    #[schema(example = "myinstagram")]
    instagram: Option<String>,
    /// Snapchat handle, without a leading `@`.
    #[schema(example = "mysnapchat")]
    snapchat: Option<String>,
    /// X handle, without a leading `@`.
    #[schema(example = "mytwitterx")]
    x: Option<String>,
    /// TikTok handle, without a leading `@`.
    #[schema(example = "mytiktok")]
    tiktok: Option<String>,
    /// Facebook handle, without a leading `@`.
    #[schema(example = "myfacebook")]
    facebook: Option<String>,
}

/// The profile photo in the legacy wire format.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: the wire format is `profiles::view::ProfileView`
pub struct LegacyPhoto {
    /// The media item's id (a MongoDB ObjectId).
    #[serde(rename = "_id")]
    #[schema(pattern = "^[0-9a-f]{24}$", example = "507f1f77bcf86cd799439012")]
    id: String,
    /// Where the media is served.
    #[schema(format = "uri", example = "https://example.com/profile.jpg")]
    url: String,
    /// The kind of media.
    #[serde(rename = "type")]
    #[schema(schema_with = media_type_schema)]
    media_type: String,
}
