//! Platforms (`linux/arm64/v8`) of index entries, and matching a wanted platform against them.
//!
//! Matching normalises the common spellings (`aarch64` is `arm64`, `x86_64` is `amd64`) and the
//! default variants (`arm64` means `v8`, `arm` means `v7`), so `linux/arm64` matches an entry
//! written `linux/arm64/v8` and one without a variant.
//!
//! ```
//! use wharf_oci_core::platform::Platform;
//!
//! let wanted: Platform = "linux/arm64".parse().unwrap();
//! assert!(wanted.matches(&"linux/arm64/v8".parse().unwrap()));
//! assert!(!wanted.matches(&"linux/arm/v7".parse().unwrap()));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::manifest::ManifestError;

/// The platform an image runs on, as written in an index entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, …).
    pub architecture: String,
    /// Operating system (`linux`, `windows`, …).
    pub os: String,
    /// Operating system version, used by Windows images.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required operating system features.
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant (`v7`, `v8`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Fields this crate does not model, kept as they were.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Platform {
    /// A platform without variant.
    pub fn new(os: &str, architecture: &str) -> Self {
        Self {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            ..Self::default()
        }
    }

    /// Parses `os/architecture[/variant]`.
    pub fn parse(input: &str) -> Result<Self, ManifestError> {
        let invalid = || ManifestError::InvalidPlatform {
            input: input.to_owned(),
        };
        let mut parts = input.split('/');
        let os = parts
            .next()
            .filter(|part| is_word(part))
            .ok_or_else(invalid)?;
        let architecture = parts
            .next()
            .filter(|part| is_word(part))
            .ok_or_else(invalid)?;
        let variant = parts.next();
        if variant.is_some_and(|part| !is_word(part)) || parts.next().is_some() {
            return Err(invalid());
        }

        Ok(Self {
            variant: variant.map(str::to_owned),
            ..Self::new(os, architecture)
        })
    }

    /// Whether `candidate` (an index entry's platform) satisfies this wanted platform.
    ///
    /// OS and architecture must be equal after normalisation. The variant must be equal when
    /// this platform names one (after defaulting); without one any variant matches. An
    /// `os.version` is compared only when this platform names one.
    pub fn matches(&self, candidate: &Platform) -> bool {
        let wanted = Normalised::of(self);
        let offered = Normalised::of(candidate);

        let version_ok = self.os_version.is_none() || self.os_version == candidate.os_version;
        let variant_ok = wanted.variant.is_none() || wanted.variant == offered.variant;
        wanted.os == offered.os
            && wanted.architecture == offered.architecture
            && variant_ok
            && version_ok
    }

    /// Whether `candidate` matches and names the same (normalised) variant, which makes it a
    /// better choice than an entry matched only because no variant was asked for.
    pub fn matches_exactly(&self, candidate: &Platform) -> bool {
        self.matches(candidate) && Normalised::of(self).variant == Normalised::of(candidate).variant
    }
}

/// OS, architecture and variant in their canonical spelling.
struct Normalised<'a> {
    os: &'a str,
    architecture: &'a str,
    variant: Option<&'a str>,
}

impl<'a> Normalised<'a> {
    fn of(platform: &'a Platform) -> Self {
        let architecture = match platform.architecture.as_str() {
            "aarch64" => "arm64",
            "x86_64" | "x86-64" => "amd64",
            "armhf" | "armel" => "arm",
            other => other,
        };
        let variant = platform.variant.as_deref().filter(|v| !v.is_empty());
        let variant = match (architecture, variant) {
            ("arm64", None | Some("8")) => Some("v8"),
            ("arm", None | Some("7")) => Some("v7"),
            ("arm", Some("6")) => Some("v6"),
            ("arm", Some("5")) => Some("v5"),
            ("amd64", Some("v1")) => None,
            (_, variant) => variant,
        };
        Self {
            os: platform.os.as_str(),
            architecture,
            variant,
        }
    }
}

fn is_word(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = ManifestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(text: &str) -> Platform {
        text.parse().unwrap()
    }

    #[test]
    fn parse_and_display() {
        let parsed = platform("linux/arm64/v8");
        assert_eq!(parsed.os, "linux");
        assert_eq!(parsed.architecture, "arm64");
        assert_eq!(parsed.variant.as_deref(), Some("v8"));
        assert_eq!(parsed.to_string(), "linux/arm64/v8");
        assert_eq!(platform("windows/amd64").to_string(), "windows/amd64");

        for invalid in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "linux/arm/v7/x",
            "linux/a b",
        ] {
            assert!(Platform::parse(invalid).is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn matching_table() {
        let cases = [
            ("linux/arm64", "linux/arm64/v8", true),
            ("linux/arm64", "linux/arm64", true),
            ("linux/arm64/v8", "linux/arm64", true),
            ("linux/aarch64", "linux/arm64/v8", true),
            ("linux/arm64", "linux/arm/v7", false),
            ("linux/arm/v7", "linux/arm/v7", true),
            ("linux/arm/v7", "linux/arm", true),
            ("linux/arm/v7", "linux/arm/v6", false),
            ("linux/arm/v6", "linux/arm/6", true),
            ("linux/arm", "linux/arm/v7", true),
            ("linux/amd64", "linux/amd64/v3", true),
            ("linux/amd64/v3", "linux/amd64", false),
            ("linux/x86_64", "linux/amd64", true),
            ("linux/amd64", "windows/amd64", false),
            ("linux/amd64", "linux/386", false),
        ];
        for (wanted, offered, expected) in cases {
            assert_eq!(
                platform(wanted).matches(&platform(offered)),
                expected,
                "{wanted} vs {offered}"
            );
        }
    }

    #[test]
    fn exact_match_prefers_the_named_variant() {
        let wanted = platform("linux/amd64");
        assert!(wanted.matches_exactly(&platform("linux/amd64")));
        assert!(!wanted.matches_exactly(&platform("linux/amd64/v3")));
    }

    #[test]
    fn os_version_is_compared_only_when_wanted() {
        let mut offered = platform("windows/amd64");
        offered.os_version = Some("10.0.20348.1".to_owned());
        assert!(platform("windows/amd64").matches(&offered));

        let mut wanted = platform("windows/amd64");
        wanted.os_version = Some("10.0.17763.1".to_owned());
        assert!(!wanted.matches(&offered));
    }

    #[test]
    fn json_keeps_unknown_fields_and_dotted_names() {
        let json = r#"{"architecture":"amd64","os":"windows","os.version":"10.0","os.features":["win32k"],"x-extra":1}"#;
        let parsed: Platform = serde_json::from_str(json).unwrap();
        assert_eq!(parsed.os_version.as_deref(), Some("10.0"));
        assert_eq!(parsed.os_features, ["win32k"]);
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
    }
}
