//! Hand-written types for the places where Harbor's spec and its real answers disagree.
//!
//! The generated models use these where the spec's type is wrong: project metadata booleans
//! that travel as strings, and the replication filter value that is a string, a list or an
//! object depending on the filter. The vulnerabilities addition, which the spec declares as a
//! string but Harbor sends as an object keyed by report MIME type, is parsed by
//! [`VulnerabilityReports::from_addition`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A boolean that Harbor writes as the string `"true"` or `"false"` (project metadata).
///
/// Reads strings (any case) and real booleans; writes the string form Harbor expects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StringBool(pub bool);

impl From<bool> for StringBool {
    fn from(value: bool) -> Self {
        Self(value)
    }
}

impl From<StringBool> for bool {
    fn from(value: StringBool) -> Self {
        value.0
    }
}

impl Serialize for StringBool {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0 { "true" } else { "false" })
    }
}

impl<'de> Deserialize<'de> for StringBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Bool(value) => Ok(Self(value)),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Self(true)),
            Value::String(text) if text.eq_ignore_ascii_case("false") || text.is_empty() => {
                Ok(Self(false))
            }
            other => Err(serde::de::Error::custom(format!(
                "expected \"true\" or \"false\", got {other}"
            ))),
        }
    }
}

/// The value of a replication filter: a pattern for name, tag and resource filters, a list
/// of labels for label filters, or any other JSON a newer server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// A pattern such as `library/**` or `v*`.
    Pattern(String),
    /// Label names.
    Labels(Vec<String>),
    /// Anything else, kept as sent.
    Other(Value),
}

/// The state of a scan as Harbor reports it in `scan_overview`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScanStatus {
    /// Waiting for a scanner.
    Pending,
    /// The scanner is working.
    Running,
    /// The report is ready.
    Success,
    /// The scan failed.
    Error,
    /// Someone stopped the scan.
    Stopped,
    /// A status this client does not know, kept as sent.
    Other(String),
}

impl ScanStatus {
    /// Parses Harbor's status text (`Pending`, `Running`, `Success`, `Error`, `Stopped`, ...).
    pub fn parse(text: &str) -> Self {
        match text {
            "Pending" | "Queued" | "Scheduled" => Self::Pending,
            "Running" => Self::Running,
            "Success" => Self::Success,
            "Error" => Self::Error,
            "Stopped" => Self::Stopped,
            other => Self::Other(other.to_owned()),
        }
    }

    /// True for the states a scan does not leave: success, error and stopped.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Success | Self::Error | Self::Stopped)
    }
}

impl fmt::Display for ScanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Success => "Success",
            Self::Error => "Error",
            Self::Stopped => "Stopped",
            Self::Other(other) => other,
        };
        f.write_str(text)
    }
}

/// The default of `X-Accept-Vulnerabilities`: Harbor's two report MIME types.
pub const DEFAULT_ACCEPT_VULNERABILITIES: &str = "application/vnd.security.vulnerability.report; version=1.1, application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";

/// The vulnerabilities addition: reports keyed by MIME type, as Harbor really sends them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VulnerabilityReports(pub BTreeMap<String, Value>);

impl VulnerabilityReports {
    /// Parses the addition body: an object keyed by MIME type (what Harbor sends). A JSON
    /// string holding such an object (what the spec promises) is unwrapped first.
    pub fn from_addition(body: &str) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_str(body)?;
        let value = match value {
            Value::String(inner) => serde_json::from_str(&inner)?,
            other => other,
        };
        let map: Option<BTreeMap<String, Value>> = serde_json::from_value(value)?;
        Ok(Self(map.unwrap_or_default()))
    }

    /// The first report that has data, with its MIME type.
    pub fn first(&self) -> Option<(&str, &Value)> {
        self.0
            .iter()
            .find(|(_, report)| !report.is_null())
            .map(|(mime, report)| (mime.as_str(), report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_booleans_read_strings_and_booleans() {
        let parsed: Vec<StringBool> =
            serde_json::from_str(r#"["true","false",true,"TRUE",""]"#).unwrap();
        assert_eq!(
            parsed.iter().map(|b| b.0).collect::<Vec<_>>(),
            [true, false, true, true, false]
        );
        assert_eq!(
            serde_json::to_string(&StringBool(true)).unwrap(),
            r#""true""#
        );
        assert!(serde_json::from_str::<StringBool>(r#""yes""#).is_err());
    }

    #[test]
    fn filter_values_cover_the_union() {
        let values: Vec<FilterValue> =
            serde_json::from_str(r#"["library/**",["a","b"],{"x":1}]"#).unwrap();
        assert_eq!(values[0], FilterValue::Pattern("library/**".to_owned()));
        assert_eq!(
            values[1],
            FilterValue::Labels(vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(matches!(values[2], FilterValue::Other(_)));
    }

    #[test]
    fn vulnerability_addition_is_an_object_keyed_by_mime_type() {
        let body = r#"{"application/vnd.security.vulnerability.report; version=1.1":{"severity":"High","vulnerabilities":[]}}"#;
        let reports = VulnerabilityReports::from_addition(body).unwrap();
        let (mime, report) = reports.first().unwrap();
        assert!(mime.starts_with("application/vnd.security"));
        assert_eq!(report["severity"], "High");
        let quoted = serde_json::to_string(body).unwrap();
        assert_eq!(
            VulnerabilityReports::from_addition(&quoted).unwrap(),
            reports
        );
    }
}
