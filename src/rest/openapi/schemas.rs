//! The schemas of the document: the envelopes, the patch of the update, what the profile's
//! derived schema says beyond its Rust types ([`ProfileDocs`]), and the builders they share.
//!
//! The profile's schema is derived from [`ProfileView`] and [`PhotoView`], the types the server
//! serializes, so its keys, their order and which may be `null` are the wire's. Bounds, prose
//! and examples are written here, keyed by property name, with every number taken from
//! [`crate::profiles::rules`]; a test checks that every property of the view is described.

use serde_json::{Value, json};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, ToSchema};

use super::EXAMPLE_TIMESTAMP;
use crate::profiles::rules::{
    AGE_MAX, AGE_MIN, BIO_MAX, EXPERTISE_MAX, INTEREST_MAX, INTERESTS_MAX, NAME_MAX, Network,
    PRICE_MAX, USERNAME_MAX, USERNAME_MIN,
};
use crate::profiles::view::{PhotoView, ProfileView};
use crate::profiles::{AvailabilityStatus, MediaType};

// ---------------------------------------------------------------------------------------------
// Shared builders

/// A string.
pub(super) fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A string or `null`.
fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// A 32-bit integer, as the derive writes an `i32`.
fn int32() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
}

/// One of `values`.
pub(super) fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    string().enum_values(Some(values))
}

/// `builder` with an `example` (the builder only offers `examples`, which OpenAPI 3.1 prefers;
/// the derived schemas write `example`, and the document keeps one style per schema).
fn with_example(builder: ObjectBuilder, example: Value) -> Object {
    let mut object = builder.build();
    object.example = Some(example);
    object
}

/// How many hexadecimal digits an id has (a MongoDB ObjectId, as `profiles::ids::ObjectId`
/// parses it).
pub(super) const ID_DIGITS: usize = 24;

/// A regex of a username: `USERNAME_MIN` to `USERNAME_MAX` of `[A-Za-z0-9_.]`.
pub(super) fn username_regex() -> String {
    format!("[A-Za-z0-9_.]{{{USERNAME_MIN},{USERNAME_MAX}}}")
}

/// `availabilityStatus`: one of the domain's values.
fn availability_status_values() -> impl Iterator<Item = &'static str> {
    AvailabilityStatus::ALL.iter().map(|s| s.as_str())
}

// ---------------------------------------------------------------------------------------------
// The envelopes

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
    string()
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
    pub data: ProfileView<'static>,
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

// ---------------------------------------------------------------------------------------------
// The profile, as the server serializes it

/// What the document says of one property of a derived schema beyond its Rust type.
#[derive(Default)]
pub(super) struct PropertyDoc {
    description: String,
    example: Option<Value>,
    examples: Vec<Value>,
    values: Option<Vec<Value>>,
    format: Option<SchemaFormat>,
    pattern: Option<String>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    max_items: Option<usize>,
}

/// A property described by `description`.
fn about(description: impl Into<String>) -> PropertyDoc {
    PropertyDoc {
        description: description.into(),
        ..PropertyDoc::default()
    }
}

impl PropertyDoc {
    fn example(mut self, example: Value) -> Self {
        self.example = Some(example);
        self
    }

    /// Allowed values, with the first as the example.
    fn one_of<'a>(mut self, values: impl IntoIterator<Item = &'a str>) -> Self {
        let values: Vec<Value> = values.into_iter().map(|v| json!(v)).collect();
        self.examples = values.first().cloned().into_iter().collect();
        self.values = Some(values);
        self
    }

    fn format(mut self, format: &str) -> Self {
        self.format = Some(SchemaFormat::Custom(format.to_owned()));
        self
    }

    fn pattern(mut self, pattern: String) -> Self {
        self.pattern = Some(pattern);
        self
    }

    fn length(mut self, min: Option<usize>, max: usize) -> Self {
        self.min_length = min;
        self.max_length = Some(max);
        self
    }

    fn minimum(mut self, minimum: i64) -> Self {
        self.minimum = Some(minimum);
        self
    }

    fn maximum(mut self, maximum: i64) -> Self {
        self.maximum = Some(maximum);
        self
    }

    fn max_items(mut self, max: usize) -> Self {
        self.max_items = Some(max);
        self
    }

    /// Writes this into a derived property. `Err` names what the property's kind of schema
    /// cannot carry (a length on an array, say), which is then left out.
    pub(super) fn apply(&self, schema: &mut RefOr<Schema>) -> Result<(), String> {
        let for_scalars = [
            ("values", self.values.is_some()),
            ("format", self.format.is_some()),
            ("pattern", self.pattern.is_some()),
            ("minLength", self.min_length.is_some()),
            ("maxLength", self.max_length.is_some()),
            ("minimum", self.minimum.is_some()),
            ("maximum", self.maximum.is_some()),
        ];
        let for_values = [
            ("example", self.example.is_some()),
            ("examples", !self.examples.is_empty()),
        ];
        let for_arrays = [("maxItems", self.max_items.is_some())];
        let refuse = |facets: &[&[(&str, bool)]]| -> Result<(), String> {
            let refused: Vec<&str> = facets
                .iter()
                .flat_map(|group| group.iter())
                .filter(|(_, set)| *set)
                .map(|(name, _)| *name)
                .collect();
            match refused.as_slice() {
                [] => Ok(()),
                names => Err(format!("cannot carry {}", names.join(", "))),
            }
        };
        let description = Some(self.description.clone());
        match schema {
            RefOr::T(Schema::Object(object)) => {
                object.description = description;
                object.example = self.example.clone().or(object.example.take());
                object.examples.extend(self.examples.iter().cloned());
                if let Some(values) = &self.values {
                    object.enum_values = Some(values.clone());
                }
                object.format = self.format.clone().or(object.format.take());
                object.pattern = self.pattern.clone().or(object.pattern.take());
                object.min_length = self.min_length.or(object.min_length);
                object.max_length = self.max_length.or(object.max_length);
                object.minimum = self.minimum.map(Into::into).or(object.minimum.take());
                object.maximum = self.maximum.map(Into::into).or(object.maximum.take());
                refuse(&[&for_arrays])
            }
            RefOr::T(Schema::Array(array)) => {
                array.description = description;
                array.example = self.example.clone().or(array.example.take());
                array.examples.extend(self.examples.iter().cloned());
                array.max_items = self.max_items.or(array.max_items);
                refuse(&[&for_scalars])
            }
            // An optional reference (`Option<PhotoView>`): `null` or the referenced schema, whose
            // reference carries the description.
            RefOr::T(Schema::OneOf(one_of)) => {
                let reference = one_of.items.iter_mut().find_map(|item| match item {
                    RefOr::Ref(reference) => Some(reference),
                    RefOr::T(_) => None,
                });
                match reference {
                    Some(reference) => reference.description = self.description.clone(),
                    None => return Err("is a oneOf without a reference".to_owned()),
                }
                refuse(&[&for_scalars, &for_values, &for_arrays])
            }
            RefOr::Ref(reference) => {
                reference.description = self.description.clone();
                refuse(&[&for_scalars, &for_values, &for_arrays])
            }
            RefOr::T(_) => Err("is a kind of schema no property of a view has".to_owned()),
        }
    }
}

/// What the document says of a derived schema: its description and one [`PropertyDoc`] per
/// property, in the order of the type's fields.
pub(super) struct SchemaDoc {
    /// The component's name.
    pub(super) name: String,
    description: &'static str,
    /// One entry per property.
    pub(super) properties: Vec<(&'static str, PropertyDoc)>,
}

/// The schemas derived from the view, with what the document says of them.
pub(super) fn view_docs() -> [SchemaDoc; 2] {
    [
        SchemaDoc {
            name: ProfileView::name().into_owned(),
            description: "The profile in the legacy wire format: the seed's keys, in the seed's \
                          order. Every key is always present; unset nullable values are `null`.",
            properties: profile_properties(),
        },
        SchemaDoc {
            name: PhotoView::name().into_owned(),
            description: "The profile photo in the legacy wire format.",
            properties: photo_properties(),
        },
    ]
}

/// A pattern of a stored id: lowercase hexadecimal.
fn stored_id() -> String {
    format!("^[0-9a-f]{{{ID_DIGITS}}}$")
}

fn profile_properties() -> Vec<(&'static str, PropertyDoc)> {
    let handle = |network: &str, example: &str| {
        about(format!("{network} handle, without a leading `@`.")).example(json!(example))
    };
    vec![
        (
            "_id",
            about(format!(
                "The user's id: {ID_DIGITS} lowercase hexadecimal characters (a MongoDB ObjectId)."
            ))
            .pattern(stored_id())
            .example(json!("507f1f77bcf86cd799439011")),
        ),
        (
            "name",
            about(format!(
                "First name: 1 to {NAME_MAX} characters, any script."
            ))
            .length(Some(1), NAME_MAX)
            .example(json!("John")),
        ),
        (
            "surname",
            about(format!(
                "Last name: 1 to {NAME_MAX} characters, any script."
            ))
            .length(Some(1), NAME_MAX)
            .example(json!("Doe")),
        ),
        (
            "username",
            about("Username as stored (unique case-insensitively).")
                .pattern(format!("^{}$", username_regex()))
                .example(json!("johndoe123")),
        ),
        (
            "availabilityStatus",
            about("Whether the user can take a live-stream call now.")
                .one_of(availability_status_values()),
        ),
        (
            "profilePhoto",
            about("The profile photo, or `null` when there is none."),
        ),
        (
            "interests",
            about(format!(
                "Up to {INTERESTS_MAX} interests of 1 to {INTEREST_MAX} characters, in the user's \
                 order, no case-insensitive duplicates."
            ))
            .max_items(INTERESTS_MAX)
            .example(json!(["music", "sports"])),
        ),
        (
            "expertise",
            about(format!("Expertise, at most {EXPERTISE_MAX} characters."))
                .length(None, EXPERTISE_MAX)
                .example(json!("designer")),
        ),
        (
            "age",
            about(
                "Age in whole years, counted on today's date in the request's timezone \
                 (`X-Timezone`); `null` when the user has not given a birth date.",
            )
            .minimum(0)
            .example(json!(28)),
        ),
        (
            "minutePriceInLiveStream",
            about("Price of one live-stream minute, in credits.")
                .minimum(0)
                .maximum(PRICE_MAX)
                .example(json!(1)),
        ),
        (
            "followersCount",
            about("Accepted followers.").minimum(0).example(json!(128)),
        ),
        (
            "followingCount",
            about("Accepted followings.").minimum(0).example(json!(256)),
        ),
        (
            "bio",
            about(format!("Biography, at most {BIO_MAX} characters."))
                .length(None, BIO_MAX)
                .example(json!("Passionate about technology and travel")),
        ),
        ("instagram", handle("Instagram", "myinstagram")),
        ("snapchat", handle("Snapchat", "mysnapchat")),
        ("x", handle("X", "mytwitterx")),
        ("tiktok", handle("TikTok", "mytiktok")),
        ("facebook", handle("Facebook", "myfacebook")),
    ]
}

fn photo_properties() -> Vec<(&'static str, PropertyDoc)> {
    vec![
        (
            "_id",
            about("The media item's id (a MongoDB ObjectId).")
                .pattern(stored_id())
                .example(json!("507f1f77bcf86cd799439012")),
        ),
        (
            "url",
            about("Where the media is served.")
                .format("uri")
                .example(json!("https://example.com/profile.jpg")),
        ),
        (
            "type",
            about("The kind of media.").one_of(MediaType::ALL.iter().map(|t| t.as_str())),
        ),
    ]
}

/// Writes what [`view_docs`] says into the schemas derived from the view.
pub(super) struct ProfileDocs;

impl Modify for ProfileDocs {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for doc in view_docs() {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&doc.name)
            else {
                continue;
            };
            object.description = Some(doc.description.to_owned());
            for (name, property) in &doc.properties {
                if let Some(schema) = object.properties.get_mut(*name) {
                    // What a property cannot carry is left out; a test sees that none is.
                    let _ = property.apply(schema);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The patch of `PATCH /api/v1/users/profile`

/// A JSON Merge Patch (RFC 7396) of the caller's own profile. An absent field is left as it is;
/// `null` clears a nullable field and is a 400 for a required one; strings are trimmed and an
/// empty string clears a nullable field. Read-only fields (`_id`, `age`, `followersCount`,
/// `followingCount`, `profilePhoto`, `createdAt`, `updatedAt`) and unknown fields are 400s that
/// name them; every problem of the body is reported at once. Lengths count Unicode characters
/// after trimming and NFC normalisation, which a schema cannot count: they are stated in the
/// descriptions, and a value over them is a 400 like every rule a schema cannot state (the age
/// window of `birthDate`, duplicate `interests`, the handle rules). No string may contain
/// U+0000, which PostgreSQL's text cannot hold (the patterns say so).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePatch {
    /// First name (described by `name_patch_schema`).
    #[schema(schema_with = name_patch_schema)]
    pub name: Option<String>,
    /// Last name (described by `surname_patch_schema`).
    #[schema(schema_with = surname_patch_schema)]
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
    /// Expertise (described by `expertise_patch_schema`).
    #[schema(schema_with = expertise_patch_schema)]
    pub expertise: Option<String>,
    /// Biography (described by `bio_patch_schema`).
    #[schema(schema_with = bio_patch_schema)]
    pub bio: Option<String>,
    /// Price of one live-stream minute (described by `price_patch_schema`).
    #[schema(schema_with = price_patch_schema)]
    pub minute_price_in_live_stream: Option<i32>,
    /// Instagram handle or link (described by `instagram_patch_schema`).
    #[schema(schema_with = instagram_patch_schema)]
    pub instagram: Option<String>,
    /// Snapchat handle or link (described by `snapchat_patch_schema`).
    #[schema(schema_with = snapchat_patch_schema)]
    pub snapchat: Option<String>,
    /// X handle or link (described by `x_patch_schema`).
    #[schema(schema_with = x_patch_schema)]
    pub x: Option<String>,
    /// TikTok handle or link (described by `tiktok_patch_schema`).
    #[schema(schema_with = tiktok_patch_schema)]
    pub tiktok: Option<String>,
    /// Facebook handle or link (described by `facebook_patch_schema`).
    #[schema(schema_with = facebook_patch_schema)]
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
// document (ECMAScript, Python, Rust). Lengths get no `maxLength`: the server counts them after
// trimming and NFC normalisation, and the document must never refuse what the server accepts.

/// What `str::trim` removes, as a regex character class.
const TRIMMED: &str =
    r"[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// A pattern of a free text: anything but U+0000.
const NO_NUL: &str = r"^[^\u0000]*$";

/// A pattern matching `value` (a regex) with any trimmed whitespace around it.
fn trimmed(value: &str) -> String {
    format!("^{TRIMMED}*(?:{value}){TRIMMED}*$")
}

/// A required name (`name`, `surname`): `null` is a 400, so the schema is not nullable.
fn required_name_patch(what: &str, example: &str) -> Object {
    let description = format!("{what}, 1 to {NAME_MAX} characters.");
    with_example(
        string()
            .description(Some(description))
            .min_length(Some(1))
            .pattern(Some(NO_NUL)),
        json!(example),
    )
}

fn name_patch_schema() -> Object {
    required_name_patch("First name", "John")
}

fn surname_patch_schema() -> Object {
    required_name_patch("Last name", "Doe")
}

fn username_patch_schema() -> ObjectBuilder {
    string()
        .description(Some(format!(
            "A new username, {USERNAME_MIN} to {USERNAME_MAX} letters, digits, underscores or \
             dots (surrounding whitespace is trimmed); 409 when another user has it (compared \
             case-insensitively).",
        )))
        .pattern(Some(trimmed(&username_regex())))
        .examples(["johndoe123"])
}

fn availability_status_patch_schema() -> ObjectBuilder {
    let values: Vec<&str> = availability_status_values().collect();
    string()
        .description(Some(format!(
            "Whether the user can take a live-stream call now: one of `{}` (surrounding \
             whitespace is trimmed).",
            values.join("`, `")
        )))
        .pattern(Some(trimmed(&values.join("|"))))
        .examples(["available"])
}

fn interests_patch_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .description(Some(format!(
            "Replaces the whole list: up to {INTERESTS_MAX} items of 1 to {INTEREST_MAX} \
             characters, no case-insensitive duplicates, order kept.",
        )))
        .items(string().min_length(Some(1)).pattern(Some(NO_NUL)))
        .max_items(Some(INTERESTS_MAX))
        .examples([json!(["music", "sports"])])
}

/// An optional text (`expertise`, `bio`) of at most `max` characters.
fn optional_text_patch(max: usize, example: &str) -> Object {
    let description = format!("At most {max} characters; `null` or `\"\"` clears it.");
    with_example(
        nullable_string()
            .description(Some(description))
            .pattern(Some(NO_NUL)),
        json!(example),
    )
}

fn expertise_patch_schema() -> Object {
    optional_text_patch(EXPERTISE_MAX, "designer")
}

fn bio_patch_schema() -> Object {
    optional_text_patch(BIO_MAX, "Passionate about technology and travel")
}

/// `minutePriceInLiveStream`: `null` is a 400, so the schema is not nullable.
fn price_patch_schema() -> Object {
    with_example(
        int32()
            .description(Some(format!(
                "Price of one live-stream minute in credits, 0 to {PRICE_MAX}."
            )))
            .minimum(Some(0))
            .maximum(Some(PRICE_MAX)),
        json!(1),
    )
}

/// A handle's lengths, as the descriptions state them.
fn lengths(network: Network) -> String {
    let lengths = network.handle_length();
    format!("{} to {}", lengths.start(), lengths.end())
}

/// A handle: a nullable string described by `description`.
fn handle_patch(description: String, example: &str) -> Object {
    with_example(
        nullable_string()
            .description(Some(description))
            .pattern(Some(NO_NUL)),
        json!(example),
    )
}

fn instagram_patch_schema() -> Object {
    handle_patch(
        format!(
            "Instagram username ({} letters, digits, dots or underscores, not starting or ending \
             with a dot) or an instagram.com profile link; stored without a leading `@`.",
            lengths(Network::Instagram)
        ),
        "myinstagram",
    )
}

fn snapchat_patch_schema() -> Object {
    handle_patch(
        format!(
            "Snapchat username ({} letters, digits, dots, hyphens or underscores, starting with \
             a letter) or a snapchat.com profile link.",
            lengths(Network::Snapchat)
        ),
        "mysnapchat",
    )
}

fn x_patch_schema() -> Object {
    handle_patch(
        format!(
            "X username ({} letters, digits or underscores) or an x.com profile link.",
            lengths(Network::X)
        ),
        "mytwitterx",
    )
}

fn tiktok_patch_schema() -> Object {
    handle_patch(
        format!(
            "TikTok username ({} letters, digits, dots or underscores, not ending with a dot) or \
             a tiktok.com profile link.",
            lengths(Network::Tiktok)
        ),
        "mytiktok",
    )
}

fn facebook_patch_schema() -> Object {
    handle_patch(
        format!(
            "Facebook username ({} letters, digits or dots) or a facebook.com profile link.",
            lengths(Network::Facebook)
        ),
        "myfacebook",
    )
}

fn birth_date_patch_schema() -> ObjectBuilder {
    nullable_string()
        .description(Some(format!(
            "Birth date, `YYYY-MM-DD`, giving an age from {AGE_MIN} to {AGE_MAX} in the \
             request's timezone; only the owner and admins ever see it. `null` or `\"\"` clears \
             it.",
        )))
        .pattern(Some(trimmed("([0-9]{4}-[0-9]{2}-[0-9]{2})?")))
        .examples(["1998-04-23"])
}

fn profile_photo_id_patch_schema() -> ObjectBuilder {
    nullable_string()
        .description(Some(
            "The id of a media item the user owns, to become the profile photo; `null` or `\"\"` \
             removes it.",
        ))
        .pattern(Some(trimmed(&format!("([0-9a-fA-F]{{{ID_DIGITS}}})?"))))
        .examples(["507f1f77bcf86cd799439012"])
}
