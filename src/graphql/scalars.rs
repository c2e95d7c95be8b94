//! The `DateTime` and `Date` scalars of SPEC §6.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// An instant in RFC 3339 with exactly three fractional digits, written in the offset of the
/// request's `X-Timezone` (`Z` for UTC), e.g. `2026-05-22T19:11:26.806+03:00`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTime(pub String);

/// An instant in RFC 3339 with exactly three fractional digits, written in the offset of the
/// request's `X-Timezone` (`Z` for UTC), e.g. `2026-05-22T19:11:26.806+03:00`.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(&s).is_ok() => Ok(DateTime(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// A calendar date, `YYYY-MM-DD`. As input it is checked by the profile rules, so that a bad date
/// is reported with every other problem of the input, in the request's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Date(pub String);

/// A calendar date, `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(Date(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}
