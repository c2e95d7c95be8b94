//! The update rules of SPEC §4, shared by `PATCH /api/v1/users/profile` and `updateProfile`.
//!
//! A patch is a JSON object with JSON Merge Patch semantics (RFC 7396): an absent field is left
//! alone, `null` clears a nullable field and is an error for a required one, strings are trimmed,
//! an empty string clears a nullable field, `interests` replaces the whole list. Every problem of
//! a body is collected, so the client learns all of them at once.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::ObjectId;
use super::model::AvailabilityStatus;
use super::rules::{self, Network};
use crate::error::FieldError;
use crate::i18n::MessageId;

/// The changes a valid patch asks for. `None` leaves a column alone; for nullable columns
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// New given name.
    pub name: Option<String>,
    /// New family name.
    pub surname: Option<String>,
    /// New username.
    pub username: Option<String>,
    /// New availability.
    pub availability_status: Option<AvailabilityStatus>,
    /// New interests (the whole list).
    pub interests: Option<Vec<String>>,
    /// New expertise or none.
    pub expertise: Option<Option<String>>,
    /// New bio or none.
    pub bio: Option<Option<String>>,
    /// New price per minute.
    pub minute_price_in_live_stream: Option<i32>,
    /// New handles or none, in [`Network::ALL`] order.
    pub handles: [Option<Option<String>>; 5],
    /// New birth date or none.
    pub birth_date: Option<Option<NaiveDate>>,
    /// New privacy.
    pub is_private: Option<bool>,
    /// New profile photo (a media id, checked for ownership by the caller) or none.
    pub profile_photo_id: Option<Option<ObjectId>>,
}

impl ProfileChanges {
    /// Whether the patch changes nothing (an empty object).
    pub fn is_empty(&self) -> bool {
        *self == ProfileChanges::default()
    }

    /// The new value of a network's handle, if the patch sets it.
    pub fn handle(&self, network: Network) -> Option<&Option<String>> {
        let index = Network::ALL.iter().position(|n| *n == network)?;
        self.handles[index].as_ref()
    }
}

/// Fields the profile shows but nobody may set.
const READ_ONLY: &[&str] = &[
    "_id",
    "id",
    "age",
    "followersCount",
    "followingCount",
    "profilePhoto",
    "createdAt",
    "updatedAt",
];

/// Checks a patch object; `today` (in the request's zone) bounds the birth date's age.
pub fn parse_patch(
    patch: &Map<String, Value>,
    today: NaiveDate,
) -> Result<ProfileChanges, Vec<FieldError>> {
    let mut changes = ProfileChanges::default();
    let mut problems = Vec::new();
    for (field, value) in patch {
        if let Err(mut errors) = apply(&mut changes, field, value, today) {
            problems.append(&mut errors);
        }
    }
    if problems.is_empty() {
        Ok(changes)
    } else {
        Err(problems)
    }
}

fn one<T>(result: Result<T, FieldError>) -> Result<T, Vec<FieldError>> {
    result.map_err(|e| vec![e])
}

/// A string value; `null` gives `None`. No string may hold U+0000: PostgreSQL's text cannot.
fn text<'a>(field: &str, value: &'a Value) -> Result<Option<&'a str>, Vec<FieldError>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.contains('\0') => {
            Err(vec![FieldError::new(field, MessageId::FieldNulCharacter)])
        }
        Value::String(s) => Ok(Some(s)),
        _ => Err(vec![FieldError::new(
            field,
            MessageId::FieldWrongTypeString,
        )]),
    }
}

/// A required string: `null` is an error naming the field.
fn required_text<'a>(field: &str, value: &'a Value) -> Result<&'a str, Vec<FieldError>> {
    text(field, value)?.ok_or_else(|| vec![FieldError::new(field, MessageId::FieldRequired)])
}

fn apply(
    changes: &mut ProfileChanges,
    field: &str,
    value: &Value,
    today: NaiveDate,
) -> Result<(), Vec<FieldError>> {
    match field {
        "name" => {
            changes.name = Some(one(rules::required_name(
                field,
                required_text(field, value)?,
            ))?)
        }
        "surname" => {
            changes.surname = Some(one(rules::required_name(
                field,
                required_text(field, value)?,
            ))?)
        }
        "username" => {
            changes.username = Some(one(rules::username(field, required_text(field, value)?))?)
        }
        "availabilityStatus" => {
            changes.availability_status = Some(one(rules::availability(
                field,
                required_text(field, value)?,
            ))?);
        }
        "expertise" => {
            changes.expertise = Some(match text(field, value)? {
                Some(t) => one(rules::optional_text(field, t, rules::EXPERTISE_MAX))?,
                None => None,
            });
        }
        "bio" => {
            changes.bio = Some(match text(field, value)? {
                Some(t) => one(rules::optional_text(field, t, rules::BIO_MAX))?,
                None => None,
            });
        }
        "minutePriceInLiveStream" => {
            let price = match value {
                Value::Null => return Err(vec![FieldError::new(field, MessageId::FieldRequired)]),
                Value::Number(n) => n.as_i64().ok_or_else(|| {
                    vec![FieldError::new(field, MessageId::FieldWrongTypeInteger)]
                })?,
                _ => {
                    return Err(vec![FieldError::new(
                        field,
                        MessageId::FieldWrongTypeInteger,
                    )]);
                }
            };
            changes.minute_price_in_live_stream = Some(one(rules::price(field, price))?);
        }
        "isPrivate" => {
            changes.is_private = Some(match value {
                Value::Bool(b) => *b,
                Value::Null => return Err(vec![FieldError::new(field, MessageId::FieldRequired)]),
                _ => {
                    return Err(vec![FieldError::new(
                        field,
                        MessageId::FieldWrongTypeBoolean,
                    )]);
                }
            });
        }
        "interests" => {
            let items = match value {
                Value::Null => return Err(vec![FieldError::new(field, MessageId::FieldRequired)]),
                Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| {
                        vec![FieldError::new(field, MessageId::FieldWrongTypeStringList)]
                    })?,
                _ => {
                    return Err(vec![FieldError::new(
                        field,
                        MessageId::FieldWrongTypeStringList,
                    )]);
                }
            };
            if items.iter().any(|item| item.contains('\0')) {
                return Err(vec![FieldError::new(field, MessageId::FieldNulCharacter)]);
            }
            changes.interests = Some(rules::interests(field, &items)?);
        }
        "birthDate" => {
            changes.birth_date = Some(match text(field, value)? {
                Some(t) if !t.trim().is_empty() => Some(one(rules::birth_date(field, t, today))?),
                _ => None,
            });
        }
        "profilePhotoId" => {
            changes.profile_photo_id = Some(match text(field, value)? {
                Some(t) if !t.trim().is_empty() => {
                    Some(ObjectId::parse(t.trim()).ok_or_else(|| {
                        vec![FieldError::new(field, MessageId::FieldProfilePhoto)]
                    })?)
                }
                _ => None,
            });
        }
        other => {
            if let Some(index) = Network::ALL.iter().position(|n| n.field() == other) {
                let network = Network::ALL[index];
                changes.handles[index] = Some(match text(field, value)? {
                    Some(t) => one(rules::handle(network, t))?,
                    None => None,
                });
            } else if READ_ONLY.contains(&other) {
                return Err(vec![FieldError::new(field, MessageId::FieldReadOnly)]);
            } else {
                return Err(vec![FieldError::new(field, MessageId::FieldUnknown)]);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 22).expect("date")
    }

    fn parse(value: Value) -> Result<ProfileChanges, Vec<String>> {
        let Value::Object(map) = value else {
            panic!("object")
        };
        parse_patch(&map, today()).map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn tri_state() {
        let changes = parse(json!({"bio": null, "name": "  Ayşe ", "expertise": "", "x": "@jack"}))
            .expect("valid");
        assert_eq!(changes.bio, Some(None));
        assert_eq!(changes.name.as_deref(), Some("Ayşe"));
        assert_eq!(changes.expertise, Some(None));
        assert_eq!(changes.handle(Network::X), Some(&Some("jack".to_owned())));
        assert_eq!(changes.surname, None);
        assert!(parse(json!({})).expect("valid").is_empty());
    }

    #[test]
    fn every_problem_at_once() {
        let errors = parse(json!({
            "name": null, "username": "no spaces", "minutePriceInLiveStream": 100001,
            "interests": ["a", "A"], "followersCount": 3, "favouriteColour": "blue",
            "isPrivate": "yes", "birthDate": "2020-01-01"
        }))
        .unwrap_err();
        let mut fields = errors.clone();
        fields.sort();
        assert_eq!(
            fields,
            [
                "birthDate",
                "favouriteColour",
                "followersCount",
                "interests",
                "isPrivate",
                "minutePriceInLiveStream",
                "name",
                "username"
            ]
        );
    }

    #[test]
    fn no_string_may_hold_a_nul() {
        let errors = parse(json!({
            "name": "A\u{0}", "bio": "\u{0}", "x": "jack\u{0}", "birthDate": "\u{0}",
            "profilePhotoId": "\u{0}", "interests": ["music", "a\u{0}b"]
        }))
        .unwrap_err();
        let mut fields = errors.clone();
        fields.sort();
        assert_eq!(
            fields,
            [
                "bio",
                "birthDate",
                "interests",
                "name",
                "profilePhotoId",
                "x"
            ]
        );
    }

    #[test]
    fn wrong_json_types_name_the_field() {
        assert_eq!(parse(json!({"bio": 5})).unwrap_err(), ["bio"]);
        assert_eq!(
            parse(json!({"minutePriceInLiveStream": 1.5})).unwrap_err(),
            ["minutePriceInLiveStream"]
        );
        assert_eq!(
            parse(json!({"interests": "music"})).unwrap_err(),
            ["interests"]
        );
        assert_eq!(parse(json!({"interests": [1]})).unwrap_err(), ["interests"]);
        assert_eq!(
            parse(json!({"profilePhotoId": "nope"})).unwrap_err(),
            ["profilePhotoId"]
        );
    }
}
