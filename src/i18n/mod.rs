//! Messages in English and Turkish, from the Fluent resources in `locales/`.
//!
//! The resources are compiled into the binary and parsed once. Code never builds message text
//! itself: it names a [`MessageId`] with its arguments, and the adapters translate it into the
//! language the request negotiated, so REST and GraphQL always show the same texts.

mod negotiate;

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::{LanguageIdentifier, langid};

/// A language the API answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// English, the default.
    #[default]
    En,
    /// Turkish.
    Tr,
}

impl Lang {
    /// Every supported language, default first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Tr];

    /// Picks the language for an `Accept-Language` header value, honouring q-values; anything
    /// unsupported or absent gives English.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        accept_language
            .and_then(negotiate::best_match)
            .unwrap_or_default()
    }

    /// The language tag sent in `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Tr => "tr",
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Tr => 1,
        }
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::Tr => langid!("tr"),
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::Tr => include_str!("../../locales/tr.ftl"),
        }
    }
}

macro_rules! message_ids {
    ($($variant:ident => $id:literal,)*) => {
        /// The id of a message in the Fluent resources.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)] // each variant is documented by its text in `locales/en.ftl`
        pub enum MessageId { $($variant,)* }

        impl MessageId {
            /// Every message id, for the test that keeps code and resources in step.
            pub const ALL: &'static [MessageId] = &[$(MessageId::$variant,)*];

            /// The id as written in the `.ftl` files.
            pub fn as_str(self) -> &'static str {
                match self { $(MessageId::$variant => $id,)* }
            }
        }
    };
}

message_ids! {
    ValidationFailed => "validation-failed",
    AuthenticationRequired => "authentication-required",
    ProfileCannotBeViewed => "profile-cannot-be-viewed",
    ProfileIsPrivate => "profile-is-private",
    ResourceNotFound => "resource-not-found",
    MethodNotAllowed => "method-not-allowed",
    Conflict => "conflict",
    UsernameTaken => "username-taken",
    PreconditionFailed => "precondition-failed",
    PayloadTooLarge => "payload-too-large",
    UnsupportedMediaType => "unsupported-media-type",
    TooManyRequests => "too-many-requests",
    InternalError => "internal-error",
    ServiceUnavailable => "service-unavailable",
    InvalidUserId => "invalid-user-id",
    InvalidUsername => "invalid-username",
    TooManyIds => "too-many-ids",
    TooManyAliases => "too-many-aliases",
    TooManySubscriptions => "too-many-subscriptions",
    PageSizeOutOfRange => "page-size-out-of-range",
    InvalidCursor => "invalid-cursor",
    InvalidTimezone => "invalid-timezone",
    InvalidPlatform => "invalid-platform",
    InvalidAppVersion => "invalid-app-version",
    InvalidDeviceId => "invalid-device-id",
    InvalidHeaderEncoding => "invalid-header-encoding",
    InvalidIfMatch => "invalid-if-match",
    TokenMissing => "token-missing",
    TokenMalformed => "token-malformed",
    TokenAlgorithm => "token-algorithm",
    TokenSignature => "token-signature",
    TokenExpired => "token-expired",
    TokenClaims => "token-claims",
    TokenUnknownUser => "token-unknown-user",
    BodyMalformedJson => "body-malformed-json",
    BodyNotObject => "body-not-object",
    BodyEmpty => "body-empty",
    GraphqlRequestMalformed => "graphql-request-malformed",
    GraphqlGetMalformed => "graphql-get-malformed",
    GraphqlQueryStringTooLong => "graphql-query-string-too-long",
    PersistedQueryNotFound => "persisted-query-not-found",
    PersistedQueryInvalid => "persisted-query-invalid",
    FieldWrongTypeString => "field-wrong-type-string",
    FieldWrongTypeInteger => "field-wrong-type-integer",
    FieldWrongTypeBoolean => "field-wrong-type-boolean",
    FieldWrongTypeStringList => "field-wrong-type-string-list",
    FieldNulCharacter => "field-nul-character",
    FieldRequired => "field-required",
    FieldReadOnly => "field-read-only",
    FieldUnknown => "field-unknown",
    FieldLength => "field-length",
    FieldTooLong => "field-too-long",
    FieldUsername => "field-username",
    FieldAvailability => "field-availability",
    FieldPrice => "field-price",
    FieldInterestsCount => "field-interests-count",
    FieldInterestLength => "field-interest-length",
    FieldInterestDuplicate => "field-interest-duplicate",
    FieldBirthDateFormat => "field-birth-date-format",
    FieldBirthDateAge => "field-birth-date-age",
    FieldProfilePhoto => "field-profile-photo",
    FieldHandleInstagram => "field-handle-instagram",
    FieldHandleSnapchat => "field-handle-snapchat",
    FieldHandleX => "field-handle-x",
    FieldHandleTiktok => "field-handle-tiktok",
    FieldHandleFacebook => "field-handle-facebook",
    CannotFollowSelf => "cannot-follow-self",
    CannotBlockSelf => "cannot-block-self",
    FollowBlocked => "follow-blocked",
    NoFollowRequest => "no-follow-request",
}

/// A message to show to a client: its id and the values of its placeables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Which message.
    pub id: MessageId,
    /// Values for the message's `{ $name }` placeables.
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    /// A message without arguments.
    pub fn new(id: MessageId) -> Self {
        Self {
            id,
            args: Vec::new(),
        }
    }

    /// Adds the value of a `{ $name }` placeable.
    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The message in `lang`.
    pub fn translate(&self, lang: Lang) -> String {
        translate(lang, self.id, &self.args)
    }
}

impl From<MessageId> for Message {
    fn from(id: MessageId) -> Self {
        Message::new(id)
    }
}

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> =
    LazyLock::new(|| Lang::ALL.map(build_bundle));

fn build_bundle(lang: Lang) -> FluentBundle<FluentResource> {
    // The resources are part of the binary and checked by tests, so a parse error here is a
    // build defect; the parser still returns every message it could read.
    let resource = FluentResource::try_new(lang.source().to_owned()).unwrap_or_else(|(r, _)| r);
    let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
    // Unicode isolation marks around arguments would end up in JSON bodies byte for byte.
    bundle.set_use_isolating(false);
    bundle.add_resource_overriding(resource);
    bundle
}

/// Translates message `id` with `args` into `lang`; falls back to English, then to the id, so a
/// missing translation shows something readable instead of failing the request.
pub fn translate(lang: Lang, id: MessageId, args: &[(&'static str, String)]) -> String {
    format_in(&BUNDLES[lang.index()], id, args)
        .or_else(|| format_in(&BUNDLES[Lang::En.index()], id, args))
        .unwrap_or_else(|| id.as_str().to_owned())
}

fn format_in(
    bundle: &FluentBundle<FluentResource>,
    id: MessageId,
    args: &[(&'static str, String)],
) -> Option<String> {
    let pattern = bundle.get_message(id.as_str())?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.as_str());
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// Whether `lang`'s resource holds message `id` (used by tests and start-up checks).
pub fn has_message(lang: Lang, id: MessageId) -> bool {
    BUNDLES[lang.index()].has_message(id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_exists_in_every_language() {
        for lang in Lang::ALL {
            for id in MessageId::ALL {
                assert!(has_message(lang, *id), "{lang:?} lacks {}", id.as_str());
            }
        }
    }

    #[test]
    fn resources_parse_without_errors_and_hold_no_unknown_ids() {
        for lang in Lang::ALL {
            let resource = FluentResource::try_new(lang.source().to_owned());
            assert!(resource.is_ok(), "{lang:?} resource has syntax errors");
            let ids: Vec<&str> = MessageId::ALL.iter().map(|id| id.as_str()).collect();
            for line in lang.source().lines() {
                if let Some((key, _)) = line.split_once(" = ")
                    && !key.starts_with(' ')
                    && !key.starts_with('#')
                {
                    {
                        assert!(ids.contains(&key), "{lang:?} has unused message {key}");
                    }
                }
            }
        }
    }

    #[test]
    fn arguments_are_placed_without_isolation_marks() {
        let message = Message::new(MessageId::FieldLength)
            .arg("field", "name")
            .arg("min", 1)
            .arg("max", 50);
        assert_eq!(
            message.translate(Lang::En),
            "name must be between 1 and 50 characters"
        );
        assert_eq!(
            message.translate(Lang::Tr),
            "name 1 ile 50 karakter arasında olmalıdır"
        );
    }
}
