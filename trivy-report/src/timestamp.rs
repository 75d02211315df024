//! RFC 3339 timestamps that keep nanoseconds and their exact input text.

use std::fmt;
use std::fmt::Write as _;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::text::Text;

/// A point in time as Trivy writes it (`CreatedAt`, `PublishedDate`, ...).
///
/// The parsed instant keeps nanoseconds; the original text is kept too, so a report
/// re-serialises byte for byte (`2021-08-25T12:20:30.000000005Z` stays exactly that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    instant: OffsetDateTime,
    text: Text,
}

impl Timestamp {
    /// Parses RFC 3339 text (with any number of fractional digits).
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        let instant = OffsetDateTime::parse(text, &Rfc3339)?;
        Ok(Self {
            instant,
            text: text.into(),
        })
    }

    /// The instant, written the way Go's `time.RFC3339Nano` writes it (trailing zeros of the
    /// fraction dropped, `Z` for UTC).
    pub fn from_instant(instant: OffsetDateTime) -> Self {
        Self {
            instant,
            text: go_rfc3339_nano(instant).into(),
        }
    }

    /// The parsed instant.
    pub fn instant(&self) -> OffsetDateTime {
        self.instant
    }

    /// The text as read (or as generated).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

crate::wire::nothing_to_tighten!(Timestamp);

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl serde::de::Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an RFC 3339 timestamp")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// Formats like Go's `time.RFC3339Nano`.
fn go_rfc3339_nano(instant: OffsetDateTime) -> String {
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        instant.year(),
        u8::from(instant.month()),
        instant.day(),
        instant.hour(),
        instant.minute(),
        instant.second()
    );

    let nanos = instant.nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }

    let offset = instant.offset();
    if offset.is_utc() {
        text.push('Z');
    } else {
        let (hours, minutes, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        let _ = write!(
            text,
            "{sign}{:02}:{:02}",
            hours.unsigned_abs(),
            minutes.unsigned_abs()
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_nanoseconds_and_text() {
        let stamp = Timestamp::parse("2021-08-25T12:20:30.000000005Z").unwrap();
        assert_eq!(stamp.instant().nanosecond(), 5);
        assert_eq!(stamp.as_str(), "2021-08-25T12:20:30.000000005Z");
    }

    #[test]
    fn generated_text_matches_go() {
        let stamp = Timestamp::parse("2019-10-07T17:15:00.1+09:00").unwrap();
        assert_eq!(
            Timestamp::from_instant(stamp.instant()).as_str(),
            "2019-10-07T17:15:00.1+09:00"
        );
        let whole = Timestamp::parse("2019-10-07T17:15:00Z").unwrap();
        assert_eq!(
            Timestamp::from_instant(whole.instant()).as_str(),
            "2019-10-07T17:15:00Z"
        );
    }
}
