//! The small vocabularies of a report: severities, statuses and the open sets (`Class`,
//! `ArtifactType`, misconfiguration status) that keep values this crate does not know.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Trivy's severity scale, ordered `Unknown < Low < Medium < High < Critical`.
///
/// Any string Trivy does not define (including the empty string) reads as [`Severity::Unknown`],
/// as Trivy itself treats it.
// FIXME: such a non-standard label is written back as `UNKNOWN`, the one place where a
// round trip is not byte-exact; keeping the text would need a label field beside the enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// `UNKNOWN`: no rating, or a rating Trivy did not recognise.
    #[default]
    Unknown,
    /// `LOW`.
    Low,
    /// `MEDIUM`.
    Medium,
    /// `HIGH`.
    High,
    /// `CRITICAL`.
    Critical,
}

impl Severity {
    /// All severities from lowest to highest.
    pub const ALL: [Severity; 5] = [
        Severity::Unknown,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Trivy's spelling: `UNKNOWN`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Harbor's spelling (title case): `Unknown`, `Low`, `Medium`, `High`, `Critical`.
    pub fn title_case(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// Reads Trivy's spelling leniently: case-insensitive, anything else is `Unknown`.
    pub fn from_label(label: &str) -> Severity {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(label.trim()))
            .unwrap_or(Severity::Unknown)
    }

    /// The severity of a `VendorSeverity` integer (0 unknown .. 4 critical).
    pub fn from_level(level: u8) -> Severity {
        Severity::ALL
            .get(usize::from(level))
            .copied()
            .unwrap_or(Severity::Unknown)
    }

    /// The `VendorSeverity` integer of this severity.
    pub fn level(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

crate::wire::nothing_to_tighten!(Severity);

/// The error of parsing a severity name strictly (for command lines and policies).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?} (expected UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL)")]
pub struct ParseSeverityError(pub String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| ParseSeverityError(text.to_owned()))
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(LabelVisitor(Severity::from_label))
    }
}

/// Reads a string without allocating and maps it to a vocabulary value.
struct LabelVisitor<T>(fn(&str) -> T);

impl<T> serde::de::Visitor<'_> for LabelVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        Ok((self.0)(text))
    }
}

/// Declares a string vocabulary with known values and an `Other` fallback that keeps the text.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
            /// A value this crate does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The value as written in the report.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Other(text) => text,
                }
            }

            /// Reads a value; unknown text becomes `Other`.
            pub fn from_text(text: &str) -> Self {
                match text {
                    $( $text => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        crate::wire::nothing_to_tighten!($name);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(LabelVisitor($name::from_text))
            }
        }
    };
}

open_enum! {
    /// The status of a vulnerability in the advisory (`Status`).
    pub enum Status {
        /// `unknown`.
        Unknown = "unknown",
        /// `not_affected`.
        NotAffected = "not_affected",
        /// `affected`: no fix released.
        Affected = "affected",
        /// `fixed`: a fixed version exists.
        Fixed = "fixed",
        /// `under_investigation`.
        UnderInvestigation = "under_investigation",
        /// `will_not_fix`.
        WillNotFix = "will_not_fix",
        /// `fix_deferred`.
        FixDeferred = "fix_deferred",
        /// `end_of_life`.
        EndOfLife = "end_of_life",
    }
}

impl Status {
    /// Every status Trivy defines, in Trivy's order.
    pub const KNOWN: [Status; 8] = [
        Status::Unknown,
        Status::NotAffected,
        Status::Affected,
        Status::Fixed,
        Status::UnderInvestigation,
        Status::WillNotFix,
        Status::FixDeferred,
        Status::EndOfLife,
    ];

    /// The statuses `--ignore-unfixed` drops: every status except `fixed`, as Trivy's flag
    /// handling expands it.
    pub fn unfixed() -> Vec<Status> {
        Status::KNOWN
            .into_iter()
            .filter(|status| *status != Status::Fixed)
            .collect()
    }
}

open_enum! {
    /// The kind of a result (`Class`).
    pub enum ResultClass {
        /// `os-pkgs`: packages of the operating system.
        OsPkgs = "os-pkgs",
        /// `lang-pkgs`: language packages.
        LangPkgs = "lang-pkgs",
        /// `config`: misconfigurations.
        Config = "config",
        /// `secret`.
        Secret = "secret",
        /// `license`.
        License = "license",
        /// `license-file`.
        LicenseFile = "license-file",
        /// `custom`.
        Custom = "custom",
    }
}

open_enum! {
    /// What was scanned (`ArtifactType`).
    pub enum ArtifactType {
        /// `container_image`.
        ContainerImage = "container_image",
        /// `filesystem`.
        Filesystem = "filesystem",
        /// `repository`.
        Repository = "repository",
        /// `vm`.
        Vm = "vm",
        /// `cyclonedx`.
        CycloneDx = "cyclonedx",
        /// `spdx`.
        Spdx = "spdx",
        /// `aws_account`.
        AwsAccount = "aws_account",
        /// `kubernetes`.
        Kubernetes = "kubernetes",
    }
}

open_enum! {
    /// The outcome of a misconfiguration check (`Status` of a misconfiguration).
    pub enum MisconfStatus {
        /// `FAIL`.
        Failure = "FAIL",
        /// `PASS`.
        Passed = "PASS",
        /// `EXCEPTION`.
        Exception = "EXCEPTION",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_unknown_labels() {
        assert!(Severity::Unknown < Severity::Low);
        assert!(Severity::High < Severity::Critical);
        assert_eq!(Severity::from_label("moderate"), Severity::Unknown);
        assert_eq!(Severity::from_label(""), Severity::Unknown);
        assert_eq!(Severity::from_label("high"), Severity::High);
        assert!("moderate".parse::<Severity>().is_err());
        assert_eq!(Severity::from_level(4), Severity::Critical);
        assert_eq!(Severity::from_level(9), Severity::Unknown);
    }

    #[test]
    fn open_sets_keep_unknown_values() {
        let status: Status = serde_json::from_str("\"exploited\"").unwrap();
        assert_eq!(status, Status::Other("exploited".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"exploited\"");
        assert!(!Status::unfixed().contains(&Status::Fixed));
        assert_eq!(Status::unfixed().len(), 7);
    }
}
