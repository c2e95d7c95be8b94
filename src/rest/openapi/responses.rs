//! The reusable responses of the operations, with their headers and examples. The error
//! examples are the envelopes the server writes, rendered from the same Fluent messages
//! (`locales/en.ftl`); the success examples show the seed's John Doe.

use serde_json::{Value, json};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{ToResponse, ToSchema};

use super::EXAMPLE_TIMESTAMP;
use super::schemas::{ErrorEnvelope, ProfileEnvelope, string};
use crate::error::{AppError, FieldError};
use crate::i18n::{Lang, MessageId};
use crate::profiles::rules::BIO_MAX;
use crate::rest::update::MAX_BODY_BYTES;

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
        .header(
            "RateLimit-Policy",
            header(
                "The client's quota when rate limiting is on (draft-ietf-httpapi-ratelimit-headers): \
                 `\"default\";q=<burst>;w=<seconds to refill it>`.",
            ),
        )
        .header(
            "RateLimit",
            header(
                "What is left of the quota when rate limiting is on: \
                 `\"default\";r=<remaining>;t=<seconds until it is full again>`.",
            ),
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
    let content = envelope_content(&ProfileEnvelope::name()).example(Some(example));
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
    let mut content = envelope_content(&ErrorEnvelope::name());
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

/// The body limit of the update, as the document states it.
fn body_limit() -> String {
    if MAX_BODY_BYTES.is_multiple_of(1024) {
        format!("{} KiB", MAX_BODY_BYTES / 1024)
    } else {
        format!("{MAX_BODY_BYTES} bytes")
    }
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
                    FieldError::new("bio", MessageId::FieldTooLong).arg("max", BIO_MAX),
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
    /// 413: body over [`MAX_BODY_BYTES`].
    PayloadTooLarge => failure_response(
        &format!("The body is over {}.", body_limit()),
        &[("tooLarge", &format!("A body over {}", body_limit()), AppError::PayloadTooLarge)],
        no_headers,
    );
    /// 415: body of another media type.
    UnsupportedMediaType => failure_response(
        "The body is not `application/json` or `application/merge-patch+json`.",
        &[("mediaType", "A form body", AppError::UnsupportedMediaType)],
        no_headers,
    );
}
