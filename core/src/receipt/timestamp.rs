//! The one timestamp profile of the format: `YYYY-MM-DDTHH:MM:SS.sssZ`, exactly 24 bytes, UTC, milliseconds.
//!
//! A single fixed shape means every verifier compares the same instants; accepting offsets, other precisions or
//! leap seconds would let one verifier place a receipt inside a key window and another outside it. Instants are
//! integer milliseconds since the Unix epoch, so comparisons are exact and cheap.

use std::fmt;

use time::OffsetDateTime;

use super::json::quote;
use crate::error::{VerificationError, VerificationErrorKind};

/// The shape every timestamp must have, quoted in error messages.
pub const PROFILE: &str = "YYYY-MM-DDTHH:MM:SS.sssZ";

pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// Why a timestamp string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    /// Not the exact 24-byte profile (offsets, lowercase `z`, missing or extra digits...).
    Shape,
    /// The right shape, but not a real instant (February 30, hour 24, second 60, year 0000).
    Calendar,
}

impl TimestampError {
    /// A message naming `field` and the offending text; the wording is relied on by the conformance vectors.
    pub fn describe(self, field: &str, text: &str) -> String {
        match self {
            TimestampError::Shape => format!(
                "{field} must be an RFC 3339 UTC timestamp with millisecond precision ({PROFILE}), got {}",
                quote(text)
            ),
            TimestampError::Calendar => format!("{field} is not a real calendar instant: {}", quote(text)),
        }
    }

    pub fn into_error(self, kind: VerificationErrorKind, field: &str, text: &str) -> VerificationError {
        VerificationError::new(kind, self.describe(field, text))
    }
}

/// A parsed profile timestamp that keeps its original text (key documents echo it back verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    millis: i64,
    text: String,
}

impl Timestamp {
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        Ok(Self { millis: parse_millis(text)?, text: text.to_owned() })
    }

    pub fn from_datetime(dt: OffsetDateTime) -> Self {
        let text = format_millis(dt);
        Self { millis: to_unix_millis(dt), text }
    }

    /// Milliseconds since 1970-01-01T00:00:00.000Z.
    #[inline]
    pub fn unix_millis(&self) -> i64 {
        self.millis
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.millis.cmp(&other.millis).then_with(|| self.text.cmp(&other.text))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[inline]
fn digits<const N: usize>(b: &[u8], at: usize) -> Option<u32> {
    let mut v = 0u32;
    for &d in &b[at..at + N] {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as u32;
    }
    Some(v)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses the profile into Unix milliseconds.
pub fn parse_millis(text: &str) -> Result<i64, TimestampError> {
    let b = text.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return Err(TimestampError::Shape);
    }
    let field = |v: Option<u32>| v.ok_or(TimestampError::Shape);
    let year = field(digits::<4>(b, 0))? as i64;
    let month = field(digits::<2>(b, 5))?;
    let day = field(digits::<2>(b, 8))?;
    let hour = field(digits::<2>(b, 11))?;
    let minute = field(digits::<2>(b, 14))?;
    let second = field(digits::<2>(b, 17))?;
    let milli = field(digits::<3>(b, 20))?;
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(TimestampError::Calendar);
    }
    let days = days_from_civil(year, month, day);
    Ok(days * MILLIS_PER_DAY + ((hour * 3600 + minute * 60 + second) as i64) * 1000 + milli as i64)
}

/// Unix milliseconds of any instant, truncating sub-millisecond precision toward negative infinity.
pub fn to_unix_millis(dt: OffsetDateTime) -> i64 {
    dt.unix_timestamp_nanos().div_euclid(1_000_000) as i64
}

/// Formats an instant in the profile, truncating to milliseconds. Years outside 0001..=9999 have no profile
/// spelling; they are formatted anyway but will not parse back.
pub fn format_millis(dt: OffsetDateTime) -> String {
    let dt = dt.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_profile() {
        assert_eq!(parse_millis("1970-01-01T00:00:00.000Z"), Ok(0));
        assert_eq!(parse_millis("1969-12-31T23:59:59.999Z"), Ok(-1));
        assert_eq!(
            parse_millis("2026-04-21T14:32:17.482Z"),
            Ok(to_unix_millis(datetime!(2026-04-21 14:32:17.482 UTC)))
        );
        assert_eq!(parse_millis("0001-01-01T00:00:00.000Z"), Ok(to_unix_millis(datetime!(0001-01-01 0:00 UTC))));
        assert_eq!(parse_millis("2024-02-29T00:00:00.000Z").map(|m| m % MILLIS_PER_DAY), Ok(0));
    }

    #[test]
    fn shape_errors() {
        for bad in [
            "2026-04-21T14:32:17.482",
            "2026-04-21T14:32:17Z",
            "2026-04-21T14:32:17.482z",
            "2026-04-21t14:32:17.482Z",
            "2026-04-21T16:32:17.482+02:00",
            "2026-04-21T14:32:17.4823Z",
            "2026-04-21 14:32:17.482Z",
            "+026-04-21T14:32:17.482Z",
            "2026-4-21T14:32:17.482ZZ",
            "",
        ] {
            assert_eq!(parse_millis(bad), Err(TimestampError::Shape), "{bad}");
        }
        assert!(TimestampError::Shape.describe("issued_at", "x").contains("millisecond precision"));
    }

    #[test]
    fn calendar_errors() {
        for bad in [
            "2026-02-30T12:00:00.000Z",
            "2025-02-29T12:00:00.000Z",
            "2100-02-29T12:00:00.000Z",
            "2026-04-21T24:00:00.000Z",
            "2026-04-21T23:60:00.000Z",
            "2026-04-21T23:59:60.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-00-01T00:00:00.000Z",
            "2026-04-00T00:00:00.000Z",
            "0000-01-01T00:00:00.000Z",
        ] {
            assert_eq!(parse_millis(bad), Err(TimestampError::Calendar), "{bad}");
        }
        assert!(TimestampError::Calendar.describe("issued_at", "x").contains("calendar"));
    }

    #[test]
    fn format_round_trips() {
        let dt = datetime!(2026-11-23 01:02:03.456789 UTC);
        assert_eq!(format_millis(dt), "2026-11-23T01:02:03.456Z");
        assert_eq!(format_millis(datetime!(2026-11-23 01:02:03 +02:00)), "2026-11-22T23:02:03.000Z");
        let t = Timestamp::from_datetime(dt);
        assert_eq!(Timestamp::parse(t.as_str()).unwrap(), t);
        assert_eq!(format_millis(datetime!(0001-01-01 0:00 UTC)), "0001-01-01T00:00:00.000Z");
    }
}
