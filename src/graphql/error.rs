//! Our errors as GraphQL errors: the same translated texts as REST, with the `extensions.code`
//! values of SPEC §6.
//!
//! async-graphql turns anything `Display` into an error, so a `?` on a database error would
//! send its text to the client; resolvers therefore return [`GqlResult`] and convert through
//! [`gql_error`] only.

use async_graphql::{ErrorExtensions, Value};

use crate::context::RequestContext;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;

/// The result type of resolvers.
pub type GqlResult<T> = Result<T, async_graphql::Error>;

/// The `extensions.code` of an error kind.
pub fn code_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::BadRequest | ErrorKind::PayloadTooLarge | ErrorKind::UnsupportedMediaType => {
            "BAD_USER_INPUT"
        }
        ErrorKind::Unauthenticated => "UNAUTHENTICATED",
        ErrorKind::Forbidden => "FORBIDDEN",
        ErrorKind::NotFound | ErrorKind::MethodNotAllowed => "NOT_FOUND",
        ErrorKind::Conflict => "CONFLICT",
        ErrorKind::PreconditionFailed => "PRECONDITION_FAILED",
        ErrorKind::TooManyRequests => "TOO_MANY_REQUESTS",
        ErrorKind::Unavailable => "SERVICE_UNAVAILABLE",
        ErrorKind::Internal => "INTERNAL_SERVER_ERROR",
    }
}

/// Converts an error into GraphQL errors in `lang`. The message is the most specific text; the
/// `messages` extension holds the same list the REST envelope shows. A validation error with
/// several problems gives one GraphQL error per problem, each naming its `field`.
pub fn gql_errors(error: &AppError, lang: Lang) -> Vec<async_graphql::Error> {
    error.log();
    let code = code_of(error.kind());
    if let AppError::Validation(problems) = error
        && !problems.is_empty()
    {
        {
            let general = crate::i18n::Message::new(error.kind().general_message()).translate(lang);
            return problems
                .iter()
                .map(|problem| {
                    let text = problem.message.translate(lang);
                    async_graphql::Error::new(text.clone()).extend_with(|_, e| {
                        e.set("code", code);
                        e.set("field", problem.field.clone());
                        e.set(
                            "messages",
                            Value::List(vec![Value::from(general.clone()), Value::from(text)]),
                        );
                    })
                })
                .collect();
        }
    }
    let messages = error.messages(lang);
    let message = messages.last().cloned().unwrap_or_default();
    vec![async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("code", code);
        e.set(
            "messages",
            Value::List(messages.into_iter().map(Value::from).collect()),
        );
    })]
}

/// The first GraphQL error of `error` (resolvers that report one error per field).
pub fn gql_error(error: &AppError, lang: Lang) -> async_graphql::Error {
    gql_errors(error, lang)
        .into_iter()
        .next()
        .unwrap_or_else(|| async_graphql::Error::new("error"))
}

/// Reports `error` from a resolver: every GraphQL error but the first is added to the response
/// at the resolver's path, and the first is returned, so a validation error with several
/// problems shows all of them.
pub fn raise(ctx: &async_graphql::Context<'_>, error: &AppError) -> async_graphql::Error {
    let lang = request_context(ctx).map(|c| c.lang).unwrap_or_default();
    let mut errors = gql_errors(error, lang).into_iter();
    let first = errors
        .next()
        .unwrap_or_else(|| async_graphql::Error::new("error"));
    for extra in errors {
        ctx.add_error(ctx.set_error_path(extra.into_server_error(ctx.item.pos)));
    }
    first
}

/// The request context of a resolver.
pub fn request_context<'a>(ctx: &async_graphql::Context<'a>) -> GqlResult<&'a RequestContext> {
    ctx.data::<std::sync::Arc<RequestContext>>()
        .map(AsRef::as_ref)
        .map_err(|_| async_graphql::Error::new("request context missing"))
}

/// Converts an `AppError` into a resolver error in the request's language.
pub trait IntoGql<T> {
    /// Maps the error with the resolver's context.
    fn gql(self, ctx: &async_graphql::Context<'_>) -> GqlResult<T>;
}

impl<T> IntoGql<T> for Result<T, AppError> {
    fn gql(self, ctx: &async_graphql::Context<'_>) -> GqlResult<T> {
        self.map_err(|error| {
            let lang = request_context(ctx).map(|c| c.lang).unwrap_or_default();
            gql_error(&error, lang)
        })
    }
}
