//! The public profile of SPEC §1 — what `GET /api/v1/users/profile/{id}` returns in `data`,
//! field for field and in that order — and its version tag.
//!
//! Both adapters derive what they show from this one view: REST serializes it, GraphQL reads
//! the same values and the same entity tag ([`render`]), so `If-Match` tags are interchangeable.
//! The OpenAPI document derives its schema from it too (bounds, examples and prose are added by
//! `rest::openapi`), so the documented keys are the serialized ones.

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::value::RawValue;

use super::VisibleProfile;

/// The public profile, serialized exactly as legacy clients expect.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = LegacyProfile)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView<'a> {
    /// The user's id.
    #[serde(rename = "_id")]
    pub id: &'a str,
    /// Given name.
    pub name: &'a str,
    /// Family name.
    pub surname: &'a str,
    /// Username as stored.
    pub username: &'a str,
    /// `available`, `busy`, `away` or `offline`.
    pub availability_status: &'static str,
    /// The profile photo.
    pub profile_photo: Option<PhotoView<'a>>,
    /// Interests, in order.
    pub interests: &'a [String],
    /// Expertise.
    pub expertise: Option<&'a str>,
    /// Age on the request's today.
    pub age: Option<i32>,
    /// Credits per live-stream minute.
    pub minute_price_in_live_stream: i32,
    /// Accepted followers.
    pub followers_count: i32,
    /// Accepted followings.
    pub following_count: i32,
    /// Bio.
    pub bio: Option<&'a str>,
    /// Instagram handle.
    pub instagram: Option<&'a str>,
    /// Snapchat handle.
    pub snapchat: Option<&'a str>,
    /// X handle.
    pub x: Option<&'a str>,
    /// TikTok handle.
    pub tiktok: Option<&'a str>,
    /// Facebook handle.
    pub facebook: Option<&'a str>,
}

/// The profile photo, as the legacy clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = LegacyPhoto)]
pub struct PhotoView<'a> {
    /// The media id.
    #[serde(rename = "_id")]
    pub id: &'a str,
    /// Where it is served from.
    pub url: &'a str,
    /// `image` or `video`.
    #[serde(rename = "type")]
    pub media_type: &'static str,
}

impl<'a> ProfileView<'a> {
    /// The view of a visible profile, `age` counted on `today`.
    pub fn new(profile: &'a VisibleProfile, today: NaiveDate) -> Self {
        let user = profile.user();
        let counts = profile.counts();
        Self {
            id: user.id.as_str(),
            name: &user.name,
            surname: &user.surname,
            username: &user.username,
            availability_status: user.availability_status.as_str(),
            profile_photo: user.profile_photo.as_ref().map(|photo| PhotoView {
                id: photo.id.as_str(),
                url: &photo.url,
                media_type: photo.media_type.as_str(),
            }),
            interests: &user.interests,
            expertise: user.expertise.as_deref(),
            age: user.age_on(today),
            minute_price_in_live_stream: user.minute_price_in_live_stream,
            followers_count: counts.followers,
            following_count: counts.following,
            bio: user.bio.as_deref(),
            instagram: user.instagram.as_deref(),
            snapchat: user.snapchat.as_deref(),
            x: user.x.as_deref(),
            tiktok: user.tiktok.as_deref(),
            facebook: user.facebook.as_deref(),
        }
    }

    /// The view as JSON, ready to embed in a response without being parsed again.
    pub fn to_json(&self) -> Box<RawValue> {
        // A struct of strings, numbers and options always serializes.
        serde_json::value::to_raw_value(self).unwrap_or_else(|_| RawValue::NULL.to_owned())
    }
}

/// A profile's public view as JSON with its entity tag, rendered for one day (`age` is the only
/// part that depends on the day; the view is the same for every viewer who may see it).
#[derive(Debug)]
pub struct Rendered {
    /// The day `age` was counted on.
    pub today: NaiveDate,
    /// The view as JSON.
    pub json: Box<RawValue>,
    /// Its strong entity tag.
    pub etag: String,
}

impl Rendered {
    fn of(profile: &VisibleProfile, today: NaiveDate) -> Self {
        let json = ProfileView::new(profile, today).to_json();
        let etag = etag_of(json.get().as_bytes());
        Self { today, json, etag }
    }
}

/// Where a cached profile keeps its rendered view, so that the thousands of reads of a hot
/// profile between two changes serialize and hash it once (per day) instead of once each. It
/// lives in the cache entry of the user and its counts, so whatever drops or replaces that
/// entry — every invalidation — drops it with it: it can never outlive the data it shows.
#[derive(Debug, Default)]
pub struct RenderedView(Mutex<Option<Arc<Rendered>>>);

impl RenderedView {
    fn get_or_render(&self, profile: &VisibleProfile, today: NaiveDate) -> Arc<Rendered> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &*slot {
            Some(rendered) if rendered.today == today => rendered.clone(),
            // Another day (a zone past midnight, or a new day): render for it and keep that.
            _ => {
                let rendered = Arc::new(Rendered::of(profile, today));
                *slot = Some(rendered.clone());
                rendered
            }
        }
    }
}

/// `profile`'s public view on `today`, from the memo of its cache entry when it has one.
pub fn render(profile: &VisibleProfile, today: NaiveDate) -> Arc<Rendered> {
    match profile.rendered_view() {
        Some(memo) => memo.get_or_render(profile, today),
        None => Arc::new(Rendered::of(profile, today)),
    }
}

/// The strong entity tag of a serialized view: a quoted, truncated SHA-256 of its JSON.
pub fn etag_of(json: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(json)[..16]))
}

/// Whether an `If-Match` / `ifMatch` value matches `etag` (strong comparison, RFC 9110 §13.1.1:
/// `*` matches any current representation; weak tags never match).
pub fn if_match_accepts(if_match: &str, etag: &str) -> bool {
    if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == etag)
}

/// Whether an `If-None-Match` value names `etag` (weak comparison, RFC 9110 §13.1.2).
pub fn if_none_match_hits(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_view_is_rendered_once_per_day() {
        use std::sync::Arc;

        use crate::identity::Viewer;
        use crate::profiles::model::{FollowCounts, User};
        use crate::profiles::privacy::{self, FoundProfile, Relation};

        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        let user = User {
            birth_date: NaiveDate::from_ymd_opt(2000, 12, 8),
            ..User::example(1, "ab_c")
        };
        let found = |rendered| FoundProfile {
            user: Arc::new(user.clone()),
            counts: FollowCounts::default(),
            relation: Relation::default(),
            rendered,
        };
        let memo = Arc::new(RenderedView::default());
        let cached = privacy::check(&Viewer::Anonymous, found(Some(memo))).expect("visible");

        let first = render(&cached, day(7));
        assert!(
            Arc::ptr_eq(&first, &render(&cached, day(7))),
            "rendered once"
        );
        // The next day (a birthday, here) is rendered anew, with its own age and tag.
        let next = render(&cached, day(8));
        assert!(first.json.get().contains(r#""age":25"#));
        assert!(next.json.get().contains(r#""age":26"#));
        assert_ne!(first.etag, next.etag);
        // What a read from the database renders is the same view.
        let uncached = privacy::check(&Viewer::Anonymous, found(None)).expect("visible");
        assert_eq!(render(&uncached, day(8)).json.get(), next.json.get());
        assert_eq!(render(&uncached, day(8)).etag, next.etag);
    }

    #[test]
    fn comparisons() {
        let etag = "\"abc\"";
        assert!(if_match_accepts("\"abc\"", etag));
        assert!(if_match_accepts("\"x\", \"abc\"", etag));
        assert!(if_match_accepts("*", etag));
        assert!(!if_match_accepts("W/\"abc\"", etag));
        assert!(!if_match_accepts("\"abd\"", etag));
        assert!(if_none_match_hits("W/\"abc\"", etag));
        assert!(!if_none_match_hits("\"abd\"", etag));
    }
}
