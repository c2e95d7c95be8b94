//! The request context (SPEC §2), built once per request from its headers, for REST and GraphQL
//! alike: language, timezone, platform, app version, device id, request id and credentials.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, SecondsFormat, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::error::FieldError;
use crate::i18n::{Lang, MessageId};
use crate::identity::{Credentials, TokenKeys};
use crate::profiles::view::if_none_match_hits;

// Header names as `HeaderName`s: looking one up by `&str` parses the name on every request.

/// The header that carries the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The header that carries the timezone.
pub const TIMEZONE: HeaderName = HeaderName::from_static("x-timezone");
/// The header that carries the client platform.
pub const PLATFORM: HeaderName = HeaderName::from_static("x-platform");
/// The header that carries the client's version.
pub const APP_VERSION: HeaderName = HeaderName::from_static("x-app-version");
/// The header that carries the device id.
pub const DEVICE_ID: HeaderName = HeaderName::from_static("x-device-id");

/// Longest `X-App-Version`.
pub const APP_VERSION_MAX: usize = 32;
/// Longest `X-Device-Id`.
pub const DEVICE_ID_MAX: usize = 128;

/// The request's context, as a handler's argument: built once per request by the router's
/// middleware (`app::router`) and read by both adapters.
#[derive(Debug, Clone)]
pub struct Ctx(pub Arc<RequestContext>);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<RequestContext>>()
            .cloned()
            .map(Ctx)
            .ok_or_else(|| http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// Everything a request's headers say about how to answer it.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Language of every message.
    pub lang: Lang,
    /// Zone of every timestamp and of "today" for ages.
    pub timezone: RequestTimeZone,
    /// The client platform (logs and metrics only).
    pub platform: Platform,
    /// The client's version (logs only).
    pub app_version: Option<String>,
    /// The device id (logged as a hash only).
    pub device_id: Option<String>,
    /// The request id, echoed in `X-Request-Id`.
    pub request_id: String,
    /// The bearer token, verified but not yet looked up.
    pub credentials: Credentials,
    /// Header values that are not valid, each naming its header; the request is answered with
    /// 400 when there is any.
    pub header_problems: Vec<FieldError>,
}

impl RequestContext {
    /// Reads the context from `headers`. Invalid values fall back to their defaults so that the
    /// error response itself can still be written in the right language and zone; they are
    /// listed in [`header_problems`](Self::header_problems).
    pub fn from_headers(headers: &HeaderMap, keys: &TokenKeys) -> Self {
        let mut problems = Vec::new();
        let lang = Lang::negotiate(header_text(headers, &header::ACCEPT_LANGUAGE));

        let mut read = |name: HeaderName, display: &'static str, invalid: MessageId| {
            let value = headers.get(&name)?;
            match value.to_str() {
                Ok(text) => Some((text, display, invalid)),
                Err(_) => {
                    problems.push(
                        FieldError::new(display, MessageId::InvalidHeaderEncoding)
                            .arg("header", display),
                    );
                    None
                }
            }
        };

        let timezone = read(TIMEZONE, "X-Timezone", MessageId::InvalidTimezone);
        let platform = read(PLATFORM, "X-Platform", MessageId::InvalidPlatform);
        let app_version = read(APP_VERSION, "X-App-Version", MessageId::InvalidAppVersion);
        let device_id = read(DEVICE_ID, "X-Device-Id", MessageId::InvalidDeviceId);

        let timezone =
            validated(&mut problems, timezone, RequestTimeZone::parse).unwrap_or_default();
        let platform = validated(&mut problems, platform, Platform::parse).unwrap_or_default();
        let app_version = validated(&mut problems, app_version, |v| {
            is_valid_app_version(v).then(|| v.to_owned())
        });
        let device_id = validated(&mut problems, device_id, |v| {
            is_valid_device_id(v).then(|| v.to_owned())
        });

        let request_id = header_text(headers, &REQUEST_ID)
            .filter(|id| is_valid_request_id(id))
            .map_or_else(new_request_id, str::to_owned);
        let credentials =
            keys.check_header(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()));

        Self {
            lang,
            timezone,
            platform,
            app_version,
            device_id,
            request_id,
            credentials,
            header_problems: problems,
        }
    }

    /// "Now" written as every timestamp of this request is.
    pub fn now(&self) -> String {
        self.timezone.format(Utc::now())
    }

    /// A short, stable hash of the device id for logs, which must never hold the raw id.
    pub fn device_hash(&self) -> Option<String> {
        use sha2::{Digest, Sha256};
        self.device_id
            .as_ref()
            .map(|id| hex::encode(&Sha256::digest(id.as_bytes())[..8]))
    }
}

/// A request's `If-None-Match` values (usually none): all that a conditional read needs of its
/// headers, taken without copying the rest. REST reads take it as an extractor, GraphQL's GET
/// from the request's headers.
#[derive(Debug, Default)]
pub struct IfNoneMatch(Vec<HeaderValue>);

impl IfNoneMatch {
    /// The values `headers` carry.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self(
            headers
                .get_all(header::IF_NONE_MATCH)
                .iter()
                .cloned()
                .collect(),
        )
    }

    /// Whether one of the values names `etag` (see [`if_none_match_hits`]).
    pub fn hits(&self, etag: &str) -> bool {
        self.0
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| if_none_match_hits(v, etag))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// A fresh request id: a random UUID, written without going through `fmt` (this runs for
/// every request).
fn new_request_id() -> String {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

/// Parses a header value, recording a problem naming the header when it is not valid.
fn validated<T>(
    problems: &mut Vec<FieldError>,
    value: Option<(&str, &'static str, MessageId)>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let (text, header, invalid) = value?;
    let parsed = parse(text);
    if parsed.is_none() {
        problems.push(FieldError::new(header, invalid));
    }
    parsed
}

fn header_text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_valid_app_version(value: &str) -> bool {
    (1..=APP_VERSION_MAX).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
}

fn is_valid_device_id(value: &str) -> bool {
    (1..=DEVICE_ID_MAX).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

fn is_valid_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The client platform of `X-Platform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Platform {
    /// A browser (the default).
    #[default]
    Web,
    /// The iOS app.
    MobileIos,
    /// The Android app.
    MobileAndroid,
    /// The admin console (grants nothing: roles come from tokens).
    Admin,
    /// A server-to-server caller.
    Api,
    /// Not known.
    Unknown,
    /// Every platform.
    All,
}

impl Platform {
    /// Every platform, in the documented order.
    pub const ALL: [Platform; 7] = [
        Platform::Web,
        Platform::MobileIos,
        Platform::MobileAndroid,
        Platform::Admin,
        Platform::Api,
        Platform::Unknown,
        Platform::All,
    ];

    /// The header value, also the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::MobileIos => "mobile_ios",
            Platform::MobileAndroid => "mobile_android",
            Platform::Admin => "admin",
            Platform::Api => "api",
            Platform::Unknown => "unknown",
            Platform::All => "all",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

/// The zone of `X-Timezone`: UTC, a fixed offset, or an IANA zone with daylight saving.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RequestTimeZone {
    /// `UTC`, the default.
    #[default]
    Utc,
    /// `UTC±HH:MM`, from `UTC-12:00` to `UTC+14:00` with minutes 00, 30 or 45.
    Fixed(FixedOffset),
    /// An IANA zone such as `Europe/Istanbul`.
    Named(chrono_tz::Tz),
}

impl RequestTimeZone {
    /// Parses an `X-Timezone` value.
    pub fn parse(value: &str) -> Option<Self> {
        if value == "UTC" {
            return Some(RequestTimeZone::Utc);
        }
        if let Some(offset) = value.strip_prefix("UTC") {
            return parse_fixed_offset(offset).map(RequestTimeZone::Fixed);
        }
        // IANA names only (`Area/Location`), not the legacy abbreviations chrono-tz also knows.
        if !value.contains('/') {
            return None;
        }
        value
            .parse::<chrono_tz::Tz>()
            .ok()
            .map(RequestTimeZone::Named)
    }

    /// The offset from UTC at instant `at`.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        match self {
            RequestTimeZone::Utc => Utc.fix(),
            RequestTimeZone::Fixed(offset) => *offset,
            RequestTimeZone::Named(tz) => at.with_timezone(tz).offset().fix(),
        }
    }

    /// RFC 3339 with exactly three fractional digits, `Z` when the offset is zero.
    pub fn format(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.offset_at(at))
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The calendar date at instant `at` in this zone.
    pub fn date_at(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset_at(at)).date_naive()
    }

    /// The label echoed in the `X-Timezone` response header.
    pub fn label(&self) -> Cow<'static, str> {
        match self {
            RequestTimeZone::Utc => Cow::Borrowed("UTC"),
            RequestTimeZone::Fixed(offset) => {
                let seconds = offset.local_minus_utc();
                let sign = if seconds < 0 { '-' } else { '+' };
                let minutes = seconds.unsigned_abs() / 60;
                Cow::Owned(format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60))
            }
            RequestTimeZone::Named(tz) => Cow::Borrowed(tz.name()),
        }
    }
}

impl fmt::Display for RequestTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// `±HH:MM` within the bounds of SPEC §2.
fn parse_fixed_offset(text: &str) -> Option<FixedOffset> {
    let bytes = text.as_bytes();
    if bytes.len() != 6 || bytes[3] != b':' {
        return None;
    }
    let sign = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |range: std::ops::Range<usize>| -> Option<i32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let hours = digits(1..3)?;
    let minutes = digits(4..6)?;
    if !matches!(minutes, 0 | 30 | 45) {
        return None;
    }
    let total = sign * (hours * 60 + minutes);
    if !(-12 * 60..=14 * 60).contains(&total) {
        return None;
    }
    FixedOffset::east_opt(total * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_ZONES: [&str; 37] = [
        "UTC-12:00",
        "UTC-11:00",
        "UTC-10:00",
        "UTC-09:30",
        "UTC-09:00",
        "UTC-07:00",
        "UTC-06:00",
        "UTC-05:00",
        "UTC-04:00",
        "UTC-03:30",
        "UTC-03:00",
        "UTC-02:00",
        "UTC-01:00",
        "UTC+00:00",
        "UTC+01:00",
        "UTC+02:00",
        "UTC+03:00",
        "UTC+03:30",
        "UTC+04:00",
        "UTC+04:30",
        "UTC+05:00",
        "UTC+05:30",
        "UTC+05:45",
        "UTC+06:00",
        "UTC+06:30",
        "UTC+07:00",
        "UTC+08:00",
        "UTC+08:45",
        "UTC+09:00",
        "UTC+09:30",
        "UTC+10:00",
        "UTC+10:30",
        "UTC+11:00",
        "UTC+12:00",
        "UTC+12:45",
        "UTC+13:00",
        "UTC+14:00",
    ];

    #[test]
    fn every_seed_zone_and_the_skipped_ones_parse_and_echo() {
        for zone in SEED_ZONES
            .iter()
            .chain(&["UTC-08:00", "UTC-02:30", "UTC+13:45"])
        {
            let parsed = RequestTimeZone::parse(zone).unwrap_or_else(|| panic!("{zone}"));
            assert_eq!(parsed.label(), *zone);
        }
    }

    #[test]
    fn out_of_bounds_and_malformed_zones_are_refused() {
        for zone in [
            "UTC-12:30",
            "UTC+14:30",
            "UTC+14:45",
            "UTC+03:15",
            "UTC+3:00",
            "UTC+03:0",
            "UTC 03:00",
            "utc",
            "GMT",
            "EST",
            "Mars/Olympus",
            "UTC+0a:00",
            "+03:00",
            "",
            "UTC+03:00 ",
            "UTC++3:00",
        ] {
            assert_eq!(RequestTimeZone::parse(zone), None, "{zone}");
        }
    }

    #[test]
    fn timestamps_in_the_request_offset() {
        let at = DateTime::parse_from_rfc3339("2026-05-22T16:11:26.806Z")
            .expect("valid")
            .with_timezone(&Utc);
        let format = |zone: &str| RequestTimeZone::parse(zone).expect("valid").format(at);
        assert_eq!(format("UTC"), "2026-05-22T16:11:26.806Z");
        assert_eq!(format("UTC+00:00"), "2026-05-22T16:11:26.806Z");
        assert_eq!(format("UTC+03:00"), "2026-05-22T19:11:26.806+03:00");
        assert_eq!(format("UTC-09:30"), "2026-05-22T06:41:26.806-09:30");
        assert_eq!(format("Europe/Istanbul"), "2026-05-22T19:11:26.806+03:00");
        let whole = DateTime::parse_from_rfc3339("2026-01-15T10:30:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(
            RequestTimeZone::Utc.format(whole),
            "2026-01-15T10:30:00.000Z"
        );
    }

    #[test]
    fn daylight_saving_applies_to_iana_zones() {
        let zone = RequestTimeZone::parse("Europe/Berlin").expect("valid");
        let winter = DateTime::parse_from_rfc3339("2026-03-29T00:59:59Z")
            .expect("valid")
            .with_timezone(&Utc);
        let summer = DateTime::parse_from_rfc3339("2026-03-29T01:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(zone.format(winter), "2026-03-29T01:59:59.000+01:00");
        assert_eq!(zone.format(summer), "2026-03-29T03:00:00.000+02:00");
    }

    #[test]
    fn dates_differ_across_the_date_line() {
        let at = DateTime::parse_from_rfc3339("2026-05-22T11:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let date = |zone: &str| {
            RequestTimeZone::parse(zone)
                .expect("valid")
                .date_at(at)
                .to_string()
        };
        assert_eq!(date("UTC-12:00"), "2026-05-21");
        assert_eq!(date("UTC+14:00"), "2026-05-23");
    }

    #[test]
    fn header_values_are_checked() {
        assert!(is_valid_app_version("1.2.3-beta+45"));
        assert!(!is_valid_app_version("1.2 3"));
        assert!(!is_valid_app_version(&"1".repeat(33)));
        assert!(is_valid_device_id("ABC-123_x:y"));
        assert!(!is_valid_device_id("has space"));
        assert!(!is_valid_device_id(&"d".repeat(129)));
        assert_eq!(Platform::parse("mobile_ios"), Some(Platform::MobileIos));
        assert_eq!(Platform::parse("iOS"), None);
    }
}
