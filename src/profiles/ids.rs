//! Identifiers: MongoDB ObjectIds kept for the legacy clients, and usernames folded for lookup.

use std::fmt;

use chrono::{DateTime, Utc};

/// A 24-character lowercase hexadecimal id (a MongoDB ObjectId).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(String);

impl ObjectId {
    /// Parses an id, matching letter case insensitively (`507F1F77…` is `507f1f77…`).
    pub fn parse(input: &str) -> Option<Self> {
        (input.len() == 24 && input.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| ObjectId(input.to_ascii_lowercase()))
    }

    /// A new id for the current second, unique within this process (for demo data and tests).
    pub fn generate() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seconds = u32::try_from(Utc::now().timestamp()).unwrap_or(u32::MAX);
        let random = uuid::Uuid::new_v4().as_u128() as u32;
        let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xff_ffff_ffff;
        ObjectId(format!("{seconds:08x}{random:08x}{count:08x}"))
    }

    /// The id as stored and sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The creation time an ObjectId carries in its first four bytes.
    pub fn timestamp(&self) -> DateTime<Utc> {
        let seconds = u32::from_str_radix(&self.0[..8], 16).unwrap_or_default();
        DateTime::from_timestamp(i64::from(seconds), 0).unwrap_or_default()
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `username` is 3–30 of `[A-Za-z0-9_.]` (the bounds of [`rules`](super::rules)), the
/// shape of every stored username.
pub fn is_valid_username(username: &str) -> bool {
    (super::rules::USERNAME_MIN..=super::rules::USERNAME_MAX).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// A username folded for case-insensitive lookup. Folding is ASCII-only, so no locale (a
/// Turkish `I`, say) can change what a lookup finds; the database folds the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsernameKey(String);

impl UsernameKey {
    /// Parses a username as clients send it in a lookup: one leading `@` is allowed.
    pub fn parse_lookup(input: &str) -> Option<Self> {
        let username = input.strip_prefix('@').unwrap_or(input);
        is_valid_username(username).then(|| UsernameKey(username.to_ascii_lowercase()))
    }

    /// The folded form, as in the `username_key` column.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which users a read asks for: by id, or by folded username.
#[derive(Debug, Clone, Copy)]
pub enum ProfileKeys<'a> {
    /// By id.
    Ids(&'a [ObjectId]),
    /// By folded username.
    Usernames(&'a [UsernameKey]),
}

impl ProfileKeys<'_> {
    /// How many keys are asked for.
    pub fn len(&self) -> usize {
        match self {
            ProfileKeys::Ids(ids) => ids.len(),
            ProfileKeys::Usernames(keys) => keys.len(),
        }
    }

    /// Whether no key is asked for.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids() {
        assert_eq!(
            ObjectId::parse("507F1F77BCF86CD799439011").map(|id| id.0),
            Some("507f1f77bcf86cd799439011".to_owned())
        );
        assert!(ObjectId::parse("xyz").is_none());
        assert!(ObjectId::parse("507f1f77bcf86cd79943901g").is_none());
        assert!(ObjectId::parse("507f1f77bcf86cd7994390111").is_none());
        assert!(ObjectId::parse("٥07f1f77bcf86cd79943901").is_none());
        let id = ObjectId::parse("507f1f77bcf86cd799439011").expect("valid");
        assert_eq!(id.timestamp().to_rfc3339(), "2012-10-17T21:13:27+00:00");
        let generated = ObjectId::generate();
        assert!(ObjectId::parse(generated.as_str()).is_some());
        assert_ne!(generated, ObjectId::generate());
    }

    #[test]
    fn username_lookups_fold_without_locale() {
        let key = |s: &str| UsernameKey::parse_lookup(s).map(|k| k.0);
        assert_eq!(key("@JohnDoe123"), Some("johndoe123".to_owned()));
        assert_eq!(key("JOHNDOE123"), Some("johndoe123".to_owned()));
        assert_eq!(key("@@johndoe"), None);
        assert_eq!(key("İsmail"), None);
        assert_eq!(key("ab"), None);
        assert_eq!(key("a".repeat(31).as_str()), None);
        assert_eq!(key("john doe"), None);
        assert_eq!(key("john.doe_1"), Some("john.doe_1".to_owned()));
    }
}
