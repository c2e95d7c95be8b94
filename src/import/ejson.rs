//! Reading MongoDB Extended JSON v2 values, relaxed and canonical (`mongoexport`'s output):
//! `{"$oid": …}`, `{"$date": "…"}`, `{"$date": {"$numberLong": "…"}}`, `{"$numberInt": "…"}`.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::profiles::ObjectId;

/// What a value should have been, for the skip report.
pub type Expected = &'static str;

/// The value under `key`, treating an explicit `null` as absent.
pub fn field<'a>(doc: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    doc.get(key).filter(|v| !v.is_null())
}

/// An ObjectId: `{"$oid": "…"}` or a plain 24-hex string.
pub fn object_id(value: &Value) -> Result<ObjectId, Expected> {
    let text = match value {
        Value::Object(map) => map.get("$oid").and_then(Value::as_str),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    };
    text.and_then(ObjectId::parse).ok_or("an ObjectId")
}

/// A date: `{"$date": "<ISO-8601>"}`, `{"$date": {"$numberLong": "<ms>"}}`, `{"$date": <ms>}`,
/// or a plain ISO-8601 string.
pub fn date_time(value: &Value) -> Result<DateTime<Utc>, Expected> {
    const EXPECTED: Expected = "a date";
    let inner = match value {
        Value::Object(map) => map.get("$date").ok_or(EXPECTED)?,
        other => other,
    };
    match inner {
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                // mongoexport (relaxed) may omit the seconds' fraction or write "+0000".
                DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
                    .map(|d| d.with_timezone(&Utc))
            })
            .map_err(|_| EXPECTED),
        other => integer(other)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or(EXPECTED),
    }
}

/// A calendar date: the UTC date of a date value, or a plain `YYYY-MM-DD` string.
pub fn date(value: &Value) -> Result<NaiveDate, Expected> {
    if let Value::String(text) = value
        && let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
    {
        return Ok(date);
    }
    date_time(value).map(|d| d.date_naive())
}

/// An integer: a JSON number with no fraction, or `{"$numberInt"|"$numberLong"|"$numberDouble": "…"}`.
pub fn integer(value: &Value) -> Result<i64, Expected> {
    const EXPECTED: Expected = "a whole number";
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or(EXPECTED),
        Value::Object(map) => {
            if let Some(text) = ["$numberInt", "$numberLong"]
                .iter()
                .find_map(|k| map.get(*k)?.as_str())
            {
                return text.parse().map_err(|_| EXPECTED);
            }
            let double: f64 = map
                .get("$numberDouble")
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok())
                .ok_or(EXPECTED)?;
            (double.fract() == 0.0 && double.abs() < 9.0e15)
                .then_some(double as i64)
                .ok_or(EXPECTED)
        }
        _ => Err(EXPECTED),
    }
}

/// A string.
pub fn string(value: &Value) -> Result<&str, Expected> {
    value.as_str().ok_or("a string")
}

/// A boolean.
pub fn boolean(value: &Value) -> Result<bool, Expected> {
    value.as_bool().ok_or("true or false")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn relaxed_and_canonical_forms() {
        assert_eq!(
            object_id(&json!({"$oid": "507F1F77BCF86CD799439011"})).map(|o| o.to_string()),
            Ok("507f1f77bcf86cd799439011".to_owned())
        );
        assert!(object_id(&json!({"$oid": "nope"})).is_err());
        let expected = "2024-01-02T03:04:05.678Z";
        for value in [
            json!({"$date": "2024-01-02T03:04:05.678Z"}),
            json!({"$date": "2024-01-02T06:04:05.678+03:00"}),
            json!({"$date": "2024-01-02T03:04:05.678+0000"}),
            json!({"$date": {"$numberLong": "1704164645678"}}),
            json!({"$date": 1704164645678_i64}),
        ] {
            assert_eq!(
                date_time(&value).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                Ok(expected.to_owned()),
                "{value}"
            );
        }
        assert_eq!(integer(&json!({"$numberInt": "42"})), Ok(42));
        assert_eq!(integer(&json!({"$numberLong": "42"})), Ok(42));
        assert_eq!(integer(&json!({"$numberDouble": "42.0"})), Ok(42));
        assert!(integer(&json!({"$numberDouble": "42.5"})).is_err());
        assert_eq!(integer(&json!(7)), Ok(7));
        assert!(integer(&json!("7")).is_err());
        assert_eq!(
            date(&json!({"$date": "1998-05-22T00:00:00Z"})).map(|d| d.to_string()),
            Ok("1998-05-22".to_owned())
        );
    }
}
