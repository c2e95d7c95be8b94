//! Legacy documents → records, by the same field rules as profile updates (SPEC §7).
//!
//! A document missing a required value, or with one that cannot be repaired, is skipped with a
//! reason. An optional value that breaks its rule (a malformed handle, an over-long bio) is
//! dropped with a warning, so one sloppy field does not cost a user their account.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::ejson::{self, field};
use crate::db::bulk::{BlockRecord, FollowRecord, MediaRecord, UserRecord};
use crate::error::FieldError;
use crate::i18n::Lang;
use crate::profiles::rules::{self, Network};
use crate::profiles::{FollowStatus, MediaType, ObjectId};

/// Why a document was skipped.
pub type SkipReason = String;

/// A converted user, its profile photo (set in a second pass) and warnings.
#[derive(Debug)]
pub struct UserDocument {
    /// The row to write.
    pub record: UserRecord,
    /// The profile photo's media id.
    pub photo: Option<String>,
    /// Values dropped, with why.
    pub warnings: Vec<String>,
}

fn describe(error: &FieldError) -> String {
    error.message.translate(Lang::En)
}

fn required<'a>(doc: &'a Map<String, Value>, key: &str) -> Result<&'a Value, SkipReason> {
    field(doc, key).ok_or_else(|| format!("{key} is missing"))
}

fn typed<T>(key: &str, parsed: Result<T, ejson::Expected>) -> Result<T, SkipReason> {
    parsed.map_err(|expected| format!("{key} must be {expected}"))
}

/// Created-at: the document's, or the time inside its ObjectId.
fn created_at(
    doc: &Map<String, Value>,
    id: Option<&ObjectId>,
) -> Result<DateTime<Utc>, SkipReason> {
    match field(doc, "createdAt") {
        Some(value) => typed("createdAt", ejson::date_time(value)),
        None => Ok(id.map_or_else(Utc::now, ObjectId::timestamp)),
    }
}

/// Converts a user document; `today` bounds the birth date's age.
pub fn user(doc: &Map<String, Value>, today: NaiveDate) -> Result<UserDocument, SkipReason> {
    let id = typed("_id", ejson::object_id(required(doc, "_id")?))?;
    let text =
        |key: &str| -> Result<&str, SkipReason> { typed(key, ejson::string(required(doc, key)?)) };
    let name = rules::required_name("name", text("name")?).map_err(|e| describe(&e))?;
    let surname = rules::required_name("surname", text("surname")?).map_err(|e| describe(&e))?;
    let username = rules::username("username", text("username")?).map_err(|e| describe(&e))?;

    let mut warnings = Vec::new();
    let mut optional = |key: &str, convert: &dyn Fn(&Value) -> Result<Option<String>, String>| {
        field(doc, key).and_then(|value| match convert(value) {
            Ok(v) => v,
            Err(reason) => {
                warnings.push(format!("{reason}; imported without {key}"));
                None
            }
        })
    };
    let text_rule = |key: &'static str, max: usize| {
        move |value: &Value| -> Result<Option<String>, String> {
            let text = ejson::string(value).map_err(|e| format!("{key} must be {e}"))?;
            rules::optional_text(key, text, max).map_err(|e| describe(&e))
        }
    };
    let expertise = optional("expertise", &text_rule("expertise", rules::EXPERTISE_MAX));
    let bio = optional("bio", &text_rule("bio", rules::BIO_MAX));
    let handles: Vec<Option<String>> = Network::ALL
        .iter()
        .map(|network| {
            optional(network.field(), &|value: &Value| {
                let text =
                    ejson::string(value).map_err(|e| format!("{} must be {e}", network.field()))?;
                rules::handle(*network, text).map_err(|e| describe(&e))
            })
        })
        .collect();
    let availability = optional("availabilityStatus", &|value: &Value| {
        let text = ejson::string(value).map_err(|e| format!("availabilityStatus must be {e}"))?;
        rules::availability("availabilityStatus", text)
            .map(|s| Some(s.as_str().to_owned()))
            .map_err(|e| describe(&e))
    });
    let price = optional("minutePriceInLiveStream", &|value: &Value| {
        let number =
            ejson::integer(value).map_err(|e| format!("minutePriceInLiveStream must be {e}"))?;
        rules::price("minutePriceInLiveStream", number)
            .map(|p| Some(p.to_string()))
            .map_err(|e| describe(&e))
    });
    let birth_date = optional("birthDate", &|value: &Value| {
        let date = ejson::date(value).map_err(|e| format!("birthDate must be {e}"))?;
        rules::birth_date("birthDate", &date.format("%Y-%m-%d").to_string(), today)
            .map(|d| Some(d.to_string()))
            .map_err(|e| describe(&e))
    });
    let interests = match field(doc, "interests") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let texts: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            if texts.len() != items.len() {
                warnings.push("interests must be strings; dropped the others".to_owned());
            }
            match rules::interests("interests", &texts) {
                Ok(values) => values,
                Err(problems) => {
                    for problem in &problems {
                        warnings.push(format!("{}; dropped", describe(problem)));
                    }
                    keep_valid_interests(&texts)
                }
            }
        }
        Some(_) => {
            warnings
                .push("interests must be a list of strings; imported without interests".to_owned());
            Vec::new()
        }
    };
    let photo = match field(doc, "profilePhoto") {
        None => None,
        Some(value) => match ejson::object_id(value) {
            Ok(id) => Some(id.to_string()),
            Err(_) => {
                warnings.push(
                    "profilePhoto must be a media ObjectId; imported without a photo".to_owned(),
                );
                None
            }
        },
    };
    let is_private = match field(doc, "isPrivate") {
        None => false,
        Some(value) => typed("isPrivate", ejson::boolean(value))?,
    };
    let deactivated_at = field(doc, "deactivatedAt")
        .map(|v| typed("deactivatedAt", ejson::date_time(v)))
        .transpose()?;
    let created = created_at(doc, Some(&id))?;
    let updated = match field(doc, "updatedAt") {
        Some(value) => typed("updatedAt", ejson::date_time(value))?,
        None => created,
    };
    let mut handles = handles.into_iter();
    let mut next_handle = || handles.next().flatten();
    Ok(UserDocument {
        record: UserRecord {
            id: id.to_string(),
            name,
            surname,
            username,
            availability_status: availability.unwrap_or_else(|| "offline".to_owned()),
            interests,
            expertise,
            birth_date: birth_date.and_then(|d| d.parse().ok()),
            minute_price_in_live_stream: price.and_then(|p| p.parse().ok()).unwrap_or(0),
            bio,
            instagram: next_handle(),
            snapchat: next_handle(),
            x: next_handle(),
            tiktok: next_handle(),
            facebook: next_handle(),
            is_private,
            deactivated_at,
            created_at: created,
            updated_at: updated,
        },
        photo,
        warnings,
    })
}

/// The interests that pass the rules, in order: trimmed, 1–32 characters, first of each
/// case-insensitive duplicate, at most 20.
fn keep_valid_interests(items: &[String]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for item in items {
        if kept.len() == rules::INTERESTS_MAX {
            break;
        }
        let candidate: Vec<String> = kept.iter().cloned().chain([item.clone()]).collect();
        if let Ok(values) = rules::interests("interests", &candidate) {
            kept = values;
        }
    }
    kept
}

/// Converts a media document.
pub fn media(doc: &Map<String, Value>) -> Result<MediaRecord, SkipReason> {
    let id = typed("_id", ejson::object_id(required(doc, "_id")?))?;
    let owner = typed("owner", ejson::object_id(required(doc, "owner")?))?;
    let url = typed("url", ejson::string(required(doc, "url")?))?.trim();
    if url.is_empty() || url.chars().count() > 2048 {
        return Err("url must be 1 to 2048 characters".to_owned());
    }
    let kind = typed("type", ejson::string(required(doc, "type")?))?;
    let media_type = MediaType::parse(kind).ok_or("type must be image or video")?;
    Ok(MediaRecord {
        created_at: created_at(doc, Some(&id))?,
        id: id.to_string(),
        owner_id: owner.to_string(),
        url: url.to_owned(),
        media_type: media_type.as_str().to_owned(),
    })
}

fn pair(
    doc: &Map<String, Value>,
    from: &str,
    to: &str,
) -> Result<(ObjectId, ObjectId), SkipReason> {
    let a = typed(from, ejson::object_id(required(doc, from)?))?;
    let b = typed(to, ejson::object_id(required(doc, to)?))?;
    if a == b {
        return Err(format!("{from} and {to} are the same user"));
    }
    Ok((a, b))
}

fn own_id(doc: &Map<String, Value>) -> Option<ObjectId> {
    field(doc, "_id").and_then(|v| ejson::object_id(v).ok())
}

/// Converts a follow document.
pub fn follow(doc: &Map<String, Value>) -> Result<FollowRecord, SkipReason> {
    let (follower, followee) = pair(doc, "follower", "followee")?;
    let status = typed("status", ejson::string(required(doc, "status")?))?;
    let status = FollowStatus::parse(status).ok_or("status must be accepted or pending")?;
    Ok(FollowRecord {
        follower_id: follower.to_string(),
        followee_id: followee.to_string(),
        status: status.as_str().to_owned(),
        created_at: created_at(doc, own_id(doc).as_ref())?,
    })
}

/// Converts a block document.
pub fn block(doc: &Map<String, Value>) -> Result<BlockRecord, SkipReason> {
    let (blocker, blocked) = pair(doc, "blocker", "blocked")?;
    Ok(BlockRecord {
        blocker_id: blocker.to_string(),
        blocked_id: blocked.to_string(),
        created_at: created_at(doc, own_id(doc).as_ref())?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).expect("date")
    }

    #[test]
    fn minimal_user_gets_the_defaults() {
        let converted = user(
            &doc(json!({"_id": {"$oid": "507f1f77bcf86cd799439011"}, "name": "John", "surname": "Doe", "username": "johndoe123"})),
            today(),
        )
        .expect("valid");
        let record = converted.record;
        assert_eq!(record.availability_status, "offline");
        assert_eq!(record.minute_price_in_live_stream, 0);
        assert!(record.interests.is_empty() && !record.is_private);
        assert_eq!(record.created_at.to_rfc3339(), "2012-10-17T21:13:27+00:00");
        assert_eq!(record.updated_at, record.created_at);
        assert!(converted.warnings.is_empty());
    }

    #[test]
    fn bad_optional_values_become_warnings() {
        let converted = user(
            &doc(json!({
                "_id": "507f1f77bcf86cd799439011", "name": " John ", "surname": "Doe", "username": "johndoe123",
                "instagram": "@ok.handle", "x": "not a handle!", "bio": "b".repeat(501),
                "interests": ["a", "A", "b"], "minutePriceInLiveStream": {"$numberInt": "-5"}
            })),
            today(),
        )
        .expect("valid");
        assert_eq!(converted.record.name, "John");
        assert_eq!(converted.record.instagram.as_deref(), Some("ok.handle"));
        assert_eq!(converted.record.x, None);
        assert_eq!(converted.record.bio, None);
        assert_eq!(converted.record.interests, ["a", "b"]);
        assert_eq!(converted.warnings.len(), 4, "{:?}", converted.warnings);
    }

    #[test]
    fn required_problems_skip() {
        assert_eq!(
            user(
                &doc(json!({"_id": "507f1f77bcf86cd799439011", "name": "J", "surname": "D"})),
                today()
            )
            .unwrap_err(),
            "username is missing"
        );
        assert!(
            user(
                &doc(json!({"_id": "x", "name": "J", "surname": "D", "username": "abc"})),
                today()
            )
            .is_err()
        );
        assert_eq!(
            follow(&doc(json!({"follower": "507f1f77bcf86cd799439011", "followee": "507f1f77bcf86cd799439011", "status": "accepted"})))
                .unwrap_err(),
            "follower and followee are the same user"
        );
        assert!(follow(&doc(json!({"follower": "507f1f77bcf86cd799439011", "followee": "507f1f77bcf86cd799439012", "status": "maybe"}))).is_err());
        assert!(media(&doc(json!({"_id": "507f1f77bcf86cd799439012", "owner": "507f1f77bcf86cd799439011", "url": "u", "type": "gif"}))).is_err());
    }
}
