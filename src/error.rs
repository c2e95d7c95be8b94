//! The one error type of the service.
//!
//! Domain code, the database layer and both adapters return [`AppError`]. [`AppError::kind`]
//! says what went wrong; [`ErrorKind::status`] is its HTTP status, the one both adapters answer
//! with (the REST envelope's `statusCode`, a GraphQL request-level error's status), and
//! `graphql::error` maps a kind to its `extensions.code`. [`AppError::messages`] gives the
//! client-facing texts: the general message of the kind first, then the specific ones. Internal
//! details are logged, never shown.

use crate::i18n::{Lang, Message, MessageId};

/// What went wrong, independent of the protocol that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Malformed or invalid input (400, `BAD_USER_INPUT`).
    BadRequest,
    /// A missing or invalid credential (401, `UNAUTHENTICATED`).
    Unauthenticated,
    /// The viewer may not see or do this (403, `FORBIDDEN`).
    Forbidden,
    /// No such resource, or one that must look absent (404, `NOT_FOUND`).
    NotFound,
    /// A known route with the wrong method (405).
    MethodNotAllowed,
    /// The change collides with existing data (409, `CONFLICT`).
    Conflict,
    /// A conditional write whose condition failed (412, `PRECONDITION_FAILED`).
    PreconditionFailed,
    /// A body over the size limit (413).
    PayloadTooLarge,
    /// A body of the wrong media type (415).
    UnsupportedMediaType,
    /// Too many requests (429).
    TooManyRequests,
    /// A bug (500, `INTERNAL_SERVER_ERROR`).
    Internal,
    /// The database is unreachable or overloaded (503).
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status of this kind of error.
    pub fn status(self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The general message that heads every error list of this kind.
    pub fn general_message(self) -> MessageId {
        match self {
            ErrorKind::BadRequest => MessageId::ValidationFailed,
            ErrorKind::Unauthenticated => MessageId::AuthenticationRequired,
            ErrorKind::Forbidden => MessageId::ProfileCannotBeViewed,
            ErrorKind::NotFound => MessageId::ResourceNotFound,
            ErrorKind::MethodNotAllowed => MessageId::MethodNotAllowed,
            ErrorKind::Conflict => MessageId::Conflict,
            ErrorKind::PreconditionFailed => MessageId::PreconditionFailed,
            ErrorKind::PayloadTooLarge => MessageId::PayloadTooLarge,
            ErrorKind::UnsupportedMediaType => MessageId::UnsupportedMediaType,
            ErrorKind::TooManyRequests => MessageId::TooManyRequests,
            ErrorKind::Internal => MessageId::InternalError,
            ErrorKind::Unavailable => MessageId::ServiceUnavailable,
        }
    }
}

/// One problem with the input: the field, argument or header it concerns, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, argument or header at fault, as the client wrote it (`bio`, `X-Timezone`).
    pub field: String,
    /// What is wrong with it.
    pub message: Message,
}

impl FieldError {
    /// A problem with `field`; the message receives the field's name as `{ $field }`.
    pub fn new(field: impl Into<String>, id: MessageId) -> Self {
        let field = field.into();
        Self {
            message: Message::new(id).arg("field", &field),
            field,
        }
    }

    /// Adds an argument to the message.
    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.message = self.message.arg(name, value);
        self
    }
}

/// Every way a request can fail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Input problems, all of them at once.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// A credential was needed and is missing, or the one presented is invalid.
    #[error("unauthenticated: {0:?}")]
    Unauthenticated(MessageId),
    /// No such user, a deactivated one, or an unknown route.
    #[error("not found")]
    NotFound,
    /// Something named is missing, with a reason (no pending request to approve, say).
    #[error("missing: {0:?}")]
    Missing(MessageId),
    /// The profile's owner has blocked the viewer.
    #[error("blocked by the profile's owner")]
    Blocked,
    /// The profile is private and the viewer may not see it.
    #[error("private profile")]
    Private,
    /// Another refusal, with its reason.
    #[error("forbidden: {0:?}")]
    Forbidden(MessageId),
    /// Wrong method on a known route.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The change collides with existing data.
    #[error("conflict: {0:?}")]
    Conflict(MessageId),
    /// `If-Match` / `ifMatch` does not match the current version.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The body is over the size limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body's media type is not accepted.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The client sends too fast.
    #[error("too many requests")]
    TooManyRequests,
    /// The database cannot be reached or the pool is exhausted.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A transaction lost a race the database detected (a deadlock or serialization failure);
    /// worth running again, and a 503 if it keeps losing.
    #[error("contention: {0}")]
    Contention(String),
    /// A bug or an unexpected failure; the detail is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(std::sync::Arc<anyhow::Error>),
}

impl AppError {
    /// A validation error with a single problem.
    pub fn invalid(field: impl Into<String>, id: MessageId) -> Self {
        AppError::Validation(vec![FieldError::new(field, id)])
    }

    /// An internal error from anything printable.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(std::sync::Arc::new(error.into()))
    }

    /// The protocol-neutral kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::Validation(_) => ErrorKind::BadRequest,
            AppError::Unauthenticated(_) => ErrorKind::Unauthenticated,
            AppError::NotFound | AppError::Missing(_) => ErrorKind::NotFound,
            AppError::Blocked | AppError::Private | AppError::Forbidden(_) => ErrorKind::Forbidden,
            AppError::MethodNotAllowed => ErrorKind::MethodNotAllowed,
            AppError::Conflict(_) => ErrorKind::Conflict,
            AppError::PreconditionFailed => ErrorKind::PreconditionFailed,
            AppError::PayloadTooLarge => ErrorKind::PayloadTooLarge,
            AppError::UnsupportedMediaType => ErrorKind::UnsupportedMediaType,
            AppError::TooManyRequests => ErrorKind::TooManyRequests,
            AppError::Unavailable(_) | AppError::Contention(_) => ErrorKind::Unavailable,
            AppError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The specific messages that follow the general one.
    pub fn details(&self) -> Vec<Message> {
        match self {
            AppError::Validation(problems) => problems.iter().map(|p| p.message.clone()).collect(),
            AppError::Unauthenticated(id) | AppError::Conflict(id) => vec![Message::new(*id)],
            AppError::Private => vec![Message::new(MessageId::ProfileIsPrivate)],
            AppError::Forbidden(id) | AppError::Missing(id) => vec![Message::new(*id)],
            _ => Vec::new(),
        }
    }

    /// The client-facing messages in `lang`: the general one first, then the specific ones.
    pub fn messages(&self, lang: Lang) -> Vec<String> {
        let general = Message::new(self.kind().general_message()).translate(lang);
        let mut messages = vec![general];
        messages.extend(self.details().iter().map(|m| m.translate(lang)));
        messages
    }

    /// Logs errors that hide a fault of ours or of the infrastructure; client errors are not
    /// worth a log line of their own (the request span records the status).
    pub fn log(&self) {
        match self {
            AppError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error")
            }
            AppError::Unavailable(reason) | AppError::Contention(reason) => {
                tracing::warn!(%reason, "service unavailable");
            }
            _ => {}
        }
    }
}

/// The result type of fallible service code.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_lists_both_messages_in_both_languages() {
        assert_eq!(
            AppError::Private.messages(Lang::En),
            ["This profile cannot be viewed", "This profile is private"]
        );
        assert_eq!(
            AppError::Private.messages(Lang::Tr),
            ["Bu profil görüntülenemez", "Bu profil gizli"]
        );
    }

    #[test]
    fn internal_details_never_reach_the_messages() {
        let error = AppError::internal(anyhow::anyhow!("relation users does not exist"));
        assert_eq!(error.messages(Lang::En), ["Internal server error"]);
    }
}
