//! The profile as the domain sees it, independent of storage and of the wire formats.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::ids::ObjectId;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            /// Every value, in the documented order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// Parses the stored or sent form (exact, lowercase).
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

string_enum! {
    /// Whether a user can take a live-stream call now.
    AvailabilityStatus {
        /// Ready to take calls.
        Available => "available",
        /// In a call or otherwise occupied.
        Busy => "busy",
        /// Temporarily away.
        Away => "away",
        /// Not reachable.
        Offline => "offline",
    }
}

string_enum! {
    /// The kind of a media item.
    MediaType {
        /// A still image.
        Image => "image",
        /// A video.
        Video => "video",
    }
}

string_enum! {
    /// The state of a follow relation.
    FollowStatus {
        /// Waiting for a private user's approval; does not count.
        Pending => "pending",
        /// In effect; counts.
        Accepted => "accepted",
    }
}

/// A user's profile photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePhoto {
    /// The media item's id.
    pub id: ObjectId,
    /// Where the media is served from.
    pub url: String,
    /// Image or video.
    pub media_type: MediaType,
}

/// A stored user with everything the profile shows or the privacy rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub id: ObjectId,
    /// Given name.
    pub name: String,
    /// Family name.
    pub surname: String,
    /// Username as stored (its case is kept for display).
    pub username: String,
    /// Current availability.
    pub availability_status: AvailabilityStatus,
    /// The profile photo, when set.
    pub profile_photo: Option<ProfilePhoto>,
    /// Interests in the user's order.
    pub interests: Vec<String>,
    /// Area of expertise.
    pub expertise: Option<String>,
    /// Birth date; only the owner and admins see it, everyone sees the age.
    pub birth_date: Option<NaiveDate>,
    /// Credits per live-stream minute.
    pub minute_price_in_live_stream: i32,
    /// Free text about the user.
    pub bio: Option<String>,
    /// Instagram handle without `@`.
    pub instagram: Option<String>,
    /// Snapchat handle without `@`.
    pub snapchat: Option<String>,
    /// X handle without `@`.
    pub x: Option<String>,
    /// TikTok handle without `@`.
    pub tiktok: Option<String>,
    /// Facebook handle.
    pub facebook: Option<String>,
    /// Whether only approved followers may see the profile.
    pub is_private: bool,
    /// When the account was deactivated; a deactivated user looks absent.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of the profile.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A plain public user with id `n` (as 24 hexadecimal digits) and `username`, for unit
    /// tests.
    #[cfg(test)]
    pub fn example(n: u8, username: &str) -> Self {
        let now = Utc::now();
        Self {
            id: ObjectId::parse(&format!("{n:024x}")).unwrap_or_else(ObjectId::generate),
            name: "A".into(),
            surname: "B".into(),
            username: username.into(),
            availability_status: AvailabilityStatus::Offline,
            profile_photo: None,
            interests: vec![],
            expertise: None,
            birth_date: None,
            minute_price_in_live_stream: 0,
            bio: None,
            instagram: None,
            snapchat: None,
            x: None,
            tiktok: None,
            facebook: None,
            is_private: false,
            deactivated_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Age in whole years on `today` (the request's today), `None` without a birth date.
    pub fn age_on(&self, today: NaiveDate) -> Option<i32> {
        self.birth_date.map(|birth| age_on(birth, today))
    }

    /// Whether the account is deactivated.
    pub fn is_deactivated(&self) -> bool {
        self.deactivated_at.is_some()
    }
}

/// Whole years from `birth` to `today`; someone born on 29 February has a birthday on 1 March
/// in common years.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// Follower and following counts of a user (accepted relations only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowCounts {
    /// Users following this one.
    pub followers: i32,
    /// Users this one follows.
    pub following: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(date(1998, 5, 22), date(2026, 5, 21)), 27);
        assert_eq!(age_on(date(1998, 5, 22), date(2026, 5, 22)), 28);
        assert_eq!(age_on(date(2000, 2, 29), date(2026, 2, 28)), 25);
        assert_eq!(age_on(date(2000, 2, 29), date(2026, 3, 1)), 26);
        assert_eq!(age_on(date(2000, 2, 29), date(2028, 2, 29)), 28);
    }

    #[test]
    fn enums_round_trip() {
        for status in AvailabilityStatus::ALL {
            assert_eq!(AvailabilityStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(AvailabilityStatus::parse("Available"), None);
    }
}
