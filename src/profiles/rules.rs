//! The rules of every profile field (SPEC §1, §4), shared by updates and the import, and every
//! limit the API has: the validation, the OpenAPI document and the GraphQL descriptions all take
//! their numbers from here.
//!
//! Each rule takes what a client or a legacy document sent, normalises it (NFC, trimmed, a
//! leading `@` or a profile link reduced to the handle) and either returns the value to store or
//! a [`FieldError`] naming the field. Lengths are counted in Unicode code points after NFC.

use std::ops::RangeInclusive;

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use super::ids::is_valid_username;
use super::model::{AvailabilityStatus, age_on};
use crate::error::FieldError;
use crate::i18n::MessageId;

/// Every limit as a literal: the one place the numbers are written. The constants below are made
/// from it, and so is text the compiler must see as a literal (GraphQL descriptions are
/// attributes, which take `concat!(…, profile_limit!(BIO_MAX), …)` but not a constant).
#[macro_export]
macro_rules! profile_limit {
    (NAME_MAX) => {
        50
    };
    (USERNAME_MIN) => {
        3
    };
    (USERNAME_MAX) => {
        30
    };
    (EXPERTISE_MAX) => {
        100
    };
    (BIO_MAX) => {
        500
    };
    (INTERESTS_MAX) => {
        20
    };
    (INTEREST_MAX) => {
        32
    };
    (PRICE_MAX) => {
        100000
    };
    (AGE_MIN) => {
        18
    };
    (AGE_MAX) => {
        120
    };
    (PAGE_MAX) => {
        100
    };
    (IDS_PER_READ_MAX) => {
        100
    };
    (INSTAGRAM_HANDLE_MIN) => {
        1
    };
    (INSTAGRAM_HANDLE_MAX) => {
        30
    };
    (SNAPCHAT_HANDLE_MIN) => {
        3
    };
    (SNAPCHAT_HANDLE_MAX) => {
        15
    };
    (X_HANDLE_MIN) => {
        1
    };
    (X_HANDLE_MAX) => {
        15
    };
    (TIKTOK_HANDLE_MIN) => {
        2
    };
    (TIKTOK_HANDLE_MAX) => {
        24
    };
    (FACEBOOK_HANDLE_MIN) => {
        5
    };
    (FACEBOOK_HANDLE_MAX) => {
        50
    };
}

/// Longest name or surname.
pub const NAME_MAX: usize = profile_limit!(NAME_MAX);
/// Shortest username.
pub const USERNAME_MIN: usize = profile_limit!(USERNAME_MIN);
/// Longest username.
pub const USERNAME_MAX: usize = profile_limit!(USERNAME_MAX);
/// Longest expertise.
pub const EXPERTISE_MAX: usize = profile_limit!(EXPERTISE_MAX);
/// Longest bio.
pub const BIO_MAX: usize = profile_limit!(BIO_MAX);
/// Most interests.
pub const INTERESTS_MAX: usize = profile_limit!(INTERESTS_MAX);
/// Longest interest.
pub const INTEREST_MAX: usize = profile_limit!(INTEREST_MAX);
/// Highest price per live-stream minute.
pub const PRICE_MAX: i64 = profile_limit!(PRICE_MAX);
/// Youngest age a birth date may give.
pub const AGE_MIN: i32 = profile_limit!(AGE_MIN);
/// Oldest age a birth date may give.
pub const AGE_MAX: i32 = profile_limit!(AGE_MAX);
/// Most entries in one page of a follower, following or request list.
pub const PAGE_MAX: usize = profile_limit!(PAGE_MAX);
/// Most users one read may name (GraphQL `users(ids:)`).
pub const IDS_PER_READ_MAX: usize = profile_limit!(IDS_PER_READ_MAX);
/// Shortest Instagram handle.
pub const INSTAGRAM_HANDLE_MIN: usize = profile_limit!(INSTAGRAM_HANDLE_MIN);
/// Longest Instagram handle.
pub const INSTAGRAM_HANDLE_MAX: usize = profile_limit!(INSTAGRAM_HANDLE_MAX);
/// Shortest Snapchat handle.
pub const SNAPCHAT_HANDLE_MIN: usize = profile_limit!(SNAPCHAT_HANDLE_MIN);
/// Longest Snapchat handle.
pub const SNAPCHAT_HANDLE_MAX: usize = profile_limit!(SNAPCHAT_HANDLE_MAX);
/// Shortest X handle.
pub const X_HANDLE_MIN: usize = profile_limit!(X_HANDLE_MIN);
/// Longest X handle.
pub const X_HANDLE_MAX: usize = profile_limit!(X_HANDLE_MAX);
/// Shortest TikTok handle.
pub const TIKTOK_HANDLE_MIN: usize = profile_limit!(TIKTOK_HANDLE_MIN);
/// Longest TikTok handle.
pub const TIKTOK_HANDLE_MAX: usize = profile_limit!(TIKTOK_HANDLE_MAX);
/// Shortest Facebook handle.
pub const FACEBOOK_HANDLE_MIN: usize = profile_limit!(FACEBOOK_HANDLE_MIN);
/// Longest Facebook handle.
pub const FACEBOOK_HANDLE_MAX: usize = profile_limit!(FACEBOOK_HANDLE_MAX);

/// Trims and NFC-normalises a string.
pub fn normalize(text: &str) -> String {
    text.trim().nfc().collect()
}

fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// A required name (`name`, `surname`): 1–50 characters after trimming, any script.
pub fn required_name(field: &str, text: &str) -> Result<String, FieldError> {
    let value = normalize(text);
    if value.is_empty() {
        return Err(FieldError::new(field, MessageId::FieldRequired));
    }
    if char_count(&value) > NAME_MAX {
        return Err(FieldError::new(field, MessageId::FieldLength)
            .arg("min", 1)
            .arg("max", NAME_MAX));
    }
    Ok(value)
}

/// An optional free text (`expertise`, `bio`): empty clears it, at most `max` characters.
pub fn optional_text(field: &str, text: &str, max: usize) -> Result<Option<String>, FieldError> {
    let value = normalize(text);
    if value.is_empty() {
        return Ok(None);
    }
    if char_count(&value) > max {
        return Err(FieldError::new(field, MessageId::FieldTooLong).arg("max", max));
    }
    Ok(Some(value))
}

/// A username: 3–30 of `[A-Za-z0-9_.]`, kept in the case given.
pub fn username(field: &str, text: &str) -> Result<String, FieldError> {
    let value = text.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, MessageId::FieldRequired));
    }
    if !is_valid_username(value) {
        return Err(FieldError::new(field, MessageId::FieldUsername));
    }
    Ok(value.to_owned())
}

/// One of `available`, `busy`, `away`, `offline`.
pub fn availability(field: &str, text: &str) -> Result<AvailabilityStatus, FieldError> {
    AvailabilityStatus::parse(text.trim())
        .ok_or_else(|| FieldError::new(field, MessageId::FieldAvailability))
}

/// A price per live-stream minute: a whole number from 0 to 100000.
pub fn price(field: &str, value: i64) -> Result<i32, FieldError> {
    if (0..=PRICE_MAX).contains(&value) {
        i32::try_from(value).map_err(|_| FieldError::new(field, MessageId::FieldPrice))
    } else {
        Err(FieldError::new(field, MessageId::FieldPrice))
    }
}

/// Interests: at most 20, each 1–32 characters after trimming, no duplicates ignoring case
/// (compared case-folded without locale), in the order given. Every problem is reported.
pub fn interests(field: &str, items: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut problems = Vec::new();
    if items.len() > INTERESTS_MAX {
        problems
            .push(FieldError::new(field, MessageId::FieldInterestsCount).arg("max", INTERESTS_MAX));
    }
    let mut seen = std::collections::HashSet::new();
    let mut values = Vec::with_capacity(items.len());
    let mut length_reported = false;
    for item in items {
        let value = normalize(item);
        let length = char_count(&value);
        if length == 0 || length > INTEREST_MAX {
            if !length_reported {
                problems.push(
                    FieldError::new(field, MessageId::FieldInterestLength).arg("max", INTEREST_MAX),
                );
                length_reported = true;
            }
            continue;
        }
        let folded: String = value.chars().flat_map(char::to_lowercase).collect();
        if !seen.insert(folded) {
            problems.push(
                FieldError::new(field, MessageId::FieldInterestDuplicate).arg("value", &value),
            );
            continue;
        }
        values.push(value);
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// A birth date `YYYY-MM-DD` giving an age of 18–120 on `today`.
pub fn birth_date(field: &str, text: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let text = text.trim();
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let date = well_formed
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| FieldError::new(field, MessageId::FieldBirthDateFormat))?;
    let age = age_on(date, today);
    if !(AGE_MIN..=AGE_MAX).contains(&age) {
        return Err(FieldError::new(field, MessageId::FieldBirthDateAge)
            .arg("min", AGE_MIN)
            .arg("max", AGE_MAX));
    }
    Ok(date)
}

/// A social network whose handle a profile stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// instagram.com
    Instagram,
    /// snapchat.com
    Snapchat,
    /// x.com (formerly twitter.com)
    X,
    /// tiktok.com
    Tiktok,
    /// facebook.com
    Facebook,
}

impl Network {
    /// Every network, in the profile's field order.
    pub const ALL: [Network; 5] = [
        Network::Instagram,
        Network::Snapchat,
        Network::X,
        Network::Tiktok,
        Network::Facebook,
    ];

    /// The profile field holding the handle.
    pub fn field(self) -> &'static str {
        match self {
            Network::Instagram => "instagram",
            Network::Snapchat => "snapchat",
            Network::X => "x",
            Network::Tiktok => "tiktok",
            Network::Facebook => "facebook",
        }
    }

    fn message(self) -> MessageId {
        match self {
            Network::Instagram => MessageId::FieldHandleInstagram,
            Network::Snapchat => MessageId::FieldHandleSnapchat,
            Network::X => MessageId::FieldHandleX,
            Network::Tiktok => MessageId::FieldHandleTiktok,
            Network::Facebook => MessageId::FieldHandleFacebook,
        }
    }

    fn hosts(self) -> &'static [&'static str] {
        match self {
            Network::Instagram => &["instagram.com", "instagr.am"],
            Network::Snapchat => &["snapchat.com"],
            Network::X => &["x.com", "twitter.com"],
            Network::Tiktok => &["tiktok.com"],
            Network::Facebook => &["facebook.com", "fb.com"],
        }
    }

    /// How many characters a handle of this network has.
    pub fn handle_length(self) -> RangeInclusive<usize> {
        match self {
            Network::Instagram => INSTAGRAM_HANDLE_MIN..=INSTAGRAM_HANDLE_MAX,
            Network::Snapchat => SNAPCHAT_HANDLE_MIN..=SNAPCHAT_HANDLE_MAX,
            Network::X => X_HANDLE_MIN..=X_HANDLE_MAX,
            Network::Tiktok => TIKTOK_HANDLE_MIN..=TIKTOK_HANDLE_MAX,
            Network::Facebook => FACEBOOK_HANDLE_MIN..=FACEBOOK_HANDLE_MAX,
        }
    }

    /// Whether `handle` (without `@`) follows the network's username rules.
    fn accepts(self, handle: &str) -> bool {
        // Counted in bytes: a handle is ASCII, and anything else fails the byte rules below.
        if !self.handle_length().contains(&handle.len()) {
            return false;
        }
        let all = |ok: fn(u8) -> bool| handle.bytes().all(ok);
        match self {
            Network::Instagram => {
                all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
                    && !handle.starts_with('.')
                    && !handle.ends_with('.')
            }
            Network::Snapchat => {
                handle
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic())
                    && all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            Network::X => all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            Network::Tiktok => {
                all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
                    && !handle.ends_with('.')
            }
            Network::Facebook => all(|b| b.is_ascii_alphanumeric() || b == b'.'),
        }
    }

    /// Reduces a profile link of this network to the handle it names; `None` when `text` is not
    /// a link of this network.
    fn handle_from_link(self, text: &str) -> Option<String> {
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .unwrap_or(text);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.to_ascii_lowercase();
        let host = ["www.", "m.", "mobile."]
            .iter()
            .find_map(|p| host.strip_prefix(p))
            .unwrap_or(&host);
        if !self.hosts().contains(&host) {
            return None;
        }
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let first = segments.next()?;
        let handle = match (self, first) {
            (Network::Snapchat, "add") => segments.next()?,
            (Network::Tiktok, first) => first.strip_prefix('@')?,
            (_, first) => first,
        };
        Some(handle.to_owned())
    }
}

/// A social handle: empty clears it; a leading `@` or a profile link of the network is reduced
/// to the handle, which must follow the network's rules.
pub fn handle(network: Network, text: &str) -> Result<Option<String>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let looks_like_link = text.contains('/')
        || network
            .hosts()
            .iter()
            .any(|h| text.to_ascii_lowercase().contains(h));
    let candidate = if looks_like_link {
        network.handle_from_link(text)
    } else {
        Some(text.strip_prefix('@').unwrap_or(text).to_owned())
    };
    match candidate {
        Some(handle) if network.accepts(&handle) => Ok(Some(handle)),
        _ => Err(FieldError::new(network.field(), network.message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_counted_in_characters() {
        assert_eq!(required_name("name", "  Ayşe "), Ok("Ayşe".to_owned()));
        assert_eq!(
            required_name("name", &"ğ".repeat(50)).map(|n| n.chars().count()),
            Ok(50)
        );
        assert!(required_name("name", &"ğ".repeat(51)).is_err());
        assert!(required_name("name", "   ").is_err());
        // "e" + combining acute is one character after NFC.
        assert_eq!(
            required_name("name", &"e\u{301}".repeat(50)).map(|n| n.chars().count()),
            Ok(50)
        );
    }

    #[test]
    fn handles_accept_at_signs_and_links() {
        let ok = |n, t: &str| handle(n, t).ok().flatten();
        assert_eq!(
            ok(Network::Instagram, "@my.insta_"),
            Some("my.insta_".into())
        );
        assert_eq!(
            ok(
                Network::Instagram,
                "https://www.instagram.com/my.insta/?hl=en"
            ),
            Some("my.insta".into())
        );
        assert_eq!(ok(Network::X, "twitter.com/jack"), Some("jack".into()));
        assert_eq!(ok(Network::X, "https://x.com/jack"), Some("jack".into()));
        assert_eq!(
            ok(Network::Tiktok, "https://www.tiktok.com/@some.one"),
            Some("some.one".into())
        );
        assert_eq!(
            ok(Network::Snapchat, "https://snapchat.com/add/snap_me"),
            Some("snap_me".into())
        );
        assert_eq!(
            ok(Network::Facebook, "https://m.facebook.com/john.doe.5"),
            Some("john.doe.5".into())
        );
        assert_eq!(handle(Network::X, ""), Ok(None));
        for (network, bad) in [
            (Network::Instagram, ".dot"),
            (Network::Instagram, "https://x.com/jack"),
            (Network::X, "way_too_long_handle_1"),
            (Network::X, "bad-dash"),
            (Network::Snapchat, "1abc"),
            (Network::Tiktok, "ends."),
            (Network::Facebook, "abcd"),
            (Network::Tiktok, "https://tiktok.com/nohandle"),
            (Network::Instagram, "@@double"),
        ] {
            assert!(handle(network, bad).is_err(), "{network:?} {bad}");
        }
    }

    #[test]
    fn interests_report_every_problem() {
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            interests("interests", &list(&[" music", "Sports "])),
            Ok(list(&["music", "Sports"]))
        );
        let errors =
            interests("interests", &list(&["Music", "music", "", &"x".repeat(33)])).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(interests("interests", &vec!["a".to_owned(); 21]).is_err());
        // Locale-independent folding: "I" and "i" are duplicates, "İ" and "i" are not the same letter.
        assert!(interests("interests", &list(&["Ice", "ice"])).is_err());
    }

    #[test]
    fn birth_dates_are_strict() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 22).expect("date");
        assert_eq!(
            birth_date("birthDate", "1998-05-22", today).map(|d| d.to_string()),
            Ok("1998-05-22".into())
        );
        assert!(
            birth_date("birthDate", "2008-05-23", today).is_err(),
            "17 years old"
        );
        assert!(
            birth_date("birthDate", "2008-05-22", today).is_ok(),
            "18 today"
        );
        assert!(birth_date("birthDate", "1905-05-21", today).is_err(), "121");
        assert!(birth_date("birthDate", "1906-05-22", today).is_ok(), "120");
        assert!(birth_date("birthDate", "1998-5-22", today).is_err());
        assert!(birth_date("birthDate", "1998-02-30", today).is_err());
        assert!(birth_date("birthDate", "22.05.1998", today).is_err());
    }

    #[test]
    fn prices() {
        assert_eq!(price("p", 0), Ok(0));
        assert_eq!(price("p", 100_000), Ok(100_000));
        assert!(price("p", -1).is_err());
        assert!(price("p", 100_001).is_err());
    }
}
