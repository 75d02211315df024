//! Trivy's ignore files: `.trivyignore` (one id a line, `#` comments, `exp:YYYY-MM-DD`) and
//! `.trivyignore.yaml` (per-scanner entries with `id`, `paths`, `purls`, `expired_at`,
//! `statement`). Expired entries are dropped when the file is loaded, against a [`Clock`].

use std::path::Path;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::glob;
use super::purl::PackageUrl;
use crate::error::Error;

/// The source of "now" for expiry checks. Tests use [`Clock::fixed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    fixed: Option<OffsetDateTime>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that always reads `now`.
    pub fn fixed(now: OffsetDateTime) -> Self {
        Self { fixed: Some(now) }
    }

    /// The current instant.
    pub fn now(&self) -> OffsetDateTime {
        self.fixed.unwrap_or_else(OffsetDateTime::now_utc)
    }
}

/// One entry of an ignore file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IgnoreEntry {
    /// The finding id (`CVE-...`, `AVD-...`, a secret rule id, a license name).
    pub id: String,
    /// Glob patterns of file paths the entry is limited to; empty means everywhere.
    pub paths: Vec<String>,
    /// Package URLs the entry is limited to (vulnerabilities only); empty means all packages.
    pub purls: Vec<String>,
    /// When the entry stops applying.
    pub expired_at: Option<OffsetDateTime>,
    /// The reason given.
    pub statement: String,
    parsed_purls: Vec<PackageUrl>,
}

impl IgnoreEntry {
    /// An entry for `id` that applies everywhere and never expires.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expired_at.is_some_and(|expiry| expiry < now)
    }

    fn matches(&self, id: &str, path: &str, purl: Option<&PackageUrl>) -> bool {
        let path_ok = self.paths.is_empty()
            || self
                .paths
                .iter()
                .any(|pattern| glob::matches(pattern, path));
        let purl_ok = match purl {
            Some(target) if !self.parsed_purls.is_empty() => self
                .parsed_purls
                .iter()
                .any(|constraint| constraint.matches(target)),
            _ => true,
        };
        self.id == id && path_ok && purl_ok
    }
}

/// The parsed contents of an ignore file, already pruned of expired entries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IgnoreConfig {
    /// The file name recorded as `Source` of suppressed findings.
    pub file_path: String,
    /// Entries for vulnerabilities.
    pub vulnerabilities: Vec<IgnoreEntry>,
    /// Entries for misconfigurations.
    pub misconfigurations: Vec<IgnoreEntry>,
    /// Entries for secrets.
    pub secrets: Vec<IgnoreEntry>,
    /// Entries for licenses.
    pub licenses: Vec<IgnoreEntry>,
}

#[derive(Deserialize)]
struct YamlFile {
    #[serde(default)]
    vulnerabilities: Vec<YamlEntry>,
    #[serde(default)]
    misconfigurations: Vec<YamlEntry>,
    #[serde(default)]
    secrets: Vec<YamlEntry>,
    #[serde(default)]
    licenses: Vec<YamlEntry>,
}

#[derive(Deserialize)]
struct YamlEntry {
    #[serde(default)]
    id: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    purls: Vec<String>,
    #[serde(default)]
    expired_at: Option<String>,
    #[serde(default)]
    statement: String,
}

impl IgnoreConfig {
    /// Loads an ignore file; `.yaml`/`.yml` files use the YAML schema, anything else the
    /// line format. A missing file is an empty configuration, as in Trivy.
    pub fn load(path: impl AsRef<Path>, clock: Clock) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };

        let name = path.to_string_lossy().replace('\\', "/");
        match path.extension().and_then(|extension| extension.to_str()) {
            Some("yaml" | "yml") => Self::parse_yaml(&text, &name, clock),
            _ => Ok(Self::parse_trivyignore(&text, &name, clock)),
        }
    }

    /// Parses the line format of `.trivyignore`. Its ids apply to every kind of finding.
    /// A line whose `exp:` date does not parse is skipped, as Trivy does.
    pub fn parse_trivyignore(text: &str, file_path: &str, clock: Clock) -> Self {
        let entries: Vec<IgnoreEntry> = text.lines().filter_map(parse_line).collect();
        let mut config = IgnoreConfig {
            file_path: file_path.to_owned(),
            vulnerabilities: entries.clone(),
            misconfigurations: entries.clone(),
            secrets: entries.clone(),
            licenses: entries,
        };
        config.prune(clock.now());
        config
    }

    /// Parses the YAML format of `.trivyignore.yaml`.
    pub fn parse_yaml(text: &str, file_path: &str, clock: Clock) -> Result<Self, Error> {
        let file: YamlFile = serde_yaml::from_str(text).map_err(|source| Error::IgnoreYaml {
            path: file_path.to_owned(),
            source,
        })?;
        let convert = |entries: Vec<YamlEntry>| -> Result<Vec<IgnoreEntry>, Error> {
            entries
                .into_iter()
                .map(|entry| yaml_entry(entry, file_path))
                .collect()
        };

        let mut config = IgnoreConfig {
            file_path: file_path.to_owned(),
            vulnerabilities: convert(file.vulnerabilities)?,
            misconfigurations: convert(file.misconfigurations)?,
            secrets: convert(file.secrets)?,
            licenses: convert(file.licenses)?,
        };
        config.prune(clock.now());
        Ok(config)
    }

    /// An ignore configuration that suppresses `ids` for every kind of finding.
    pub fn from_ids<I: Into<String>>(ids: impl IntoIterator<Item = I>) -> Self {
        let entries: Vec<IgnoreEntry> = ids.into_iter().map(IgnoreEntry::new).collect();
        IgnoreConfig {
            file_path: String::new(),
            vulnerabilities: entries.clone(),
            misconfigurations: entries.clone(),
            secrets: entries.clone(),
            licenses: entries,
        }
    }

    fn prune(&mut self, now: OffsetDateTime) {
        for entries in [
            &mut self.vulnerabilities,
            &mut self.misconfigurations,
            &mut self.secrets,
            &mut self.licenses,
        ] {
            entries.retain(|entry| !entry.is_expired(now));
        }
    }

    /// The entry that suppresses a vulnerability: the target path is tried, then the package
    /// path, as Trivy does.
    pub fn match_vulnerability(
        &self,
        id: &str,
        target: &str,
        pkg_path: &str,
        purl: Option<&str>,
    ) -> Option<&IgnoreEntry> {
        let purl = purl.and_then(PackageUrl::parse);
        [target, pkg_path].into_iter().find_map(|path| {
            self.vulnerabilities
                .iter()
                .find(|entry| entry.matches(id, path, purl.as_ref()))
        })
    }

    /// The entry that suppresses a misconfiguration, by `ID` then `AVDID`.
    pub fn match_misconfiguration(
        &self,
        id: &str,
        avd_id: &str,
        target: &str,
    ) -> Option<&IgnoreEntry> {
        [id, avd_id].into_iter().find_map(|candidate| {
            self.misconfigurations
                .iter()
                .find(|entry| entry.matches(candidate, target, None))
        })
    }

    /// The entry that suppresses a secret.
    pub fn match_secret(&self, rule_id: &str, target: &str) -> Option<&IgnoreEntry> {
        self.secrets
            .iter()
            .find(|entry| entry.matches(rule_id, target, None))
    }

    /// The entry that suppresses a license finding.
    pub fn match_license(&self, name: &str, file_path: &str) -> Option<&IgnoreEntry> {
        self.licenses
            .iter()
            .find(|entry| entry.matches(name, file_path, None))
    }
}

fn parse_line(line: &str) -> Option<IgnoreEntry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }

    let fields: Vec<&str> = line.split_whitespace().collect();
    let expiry = fields
        .iter()
        .skip(1)
        .find_map(|field| field.strip_prefix("exp:"));
    let expired_at = match expiry {
        // FIXME: Trivy logs a warning for an unparsable date; this crate has no logger, so
        // the line is skipped silently.
        Some(date) => Some(parse_date(date)?),
        None => None,
    };

    Some(IgnoreEntry {
        expired_at,
        ..IgnoreEntry::new(fields[0])
    })
}

fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
    Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
}

fn yaml_entry(entry: YamlEntry, file_path: &str) -> Result<IgnoreEntry, Error> {
    let invalid = |reason: String| Error::IgnoreEntry {
        path: file_path.to_owned(),
        id: entry.id.clone(),
        reason,
    };

    if let Some(pattern) = entry.paths.iter().find(|pattern| !glob::is_valid(pattern)) {
        return Err(invalid(format!("invalid path pattern {pattern:?}")));
    }
    let parsed_purls = entry
        .purls
        .iter()
        .map(|purl| {
            PackageUrl::parse(purl).ok_or_else(|| invalid(format!("invalid purl {purl:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let expired_at = match &entry.expired_at {
        Some(text) => Some(
            parse_date(text)
                .or_else(|| OffsetDateTime::parse(text, &Rfc3339).ok())
                .ok_or_else(|| invalid(format!("invalid expired_at {text:?}")))?,
        ),
        None => None,
    };

    Ok(IgnoreEntry {
        id: entry.id,
        paths: entry.paths,
        purls: entry.purls,
        expired_at,
        statement: entry.statement,
        parsed_purls,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const CLOCK: Clock = Clock {
        fixed: Some(datetime!(2024-06-01 00:00 UTC)),
    };

    #[test]
    fn line_format() {
        let text =
            "# comment\n\nCVE-1\n  CVE-2 exp:2024-06-02 \nCVE-3 exp:2024-05-31\nCVE-4 exp:bad\n";
        let config = IgnoreConfig::parse_trivyignore(text, ".trivyignore", CLOCK);
        let ids: Vec<&str> = config
            .vulnerabilities
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids, ["CVE-1", "CVE-2"]);
        assert_eq!(config.secrets.len(), 2);
    }

    #[test]
    fn expiry_is_exclusive_of_the_instant() {
        let config = IgnoreConfig::parse_trivyignore("CVE-1 exp:2024-06-01", "f", CLOCK);
        assert_eq!(
            config.vulnerabilities.len(),
            1,
            "an entry expiring now still applies"
        );
    }

    #[test]
    fn yaml_format() {
        let text = r"
vulnerabilities:
  - id: CVE-1
    paths: ['usr/lib/**']
    purls: ['pkg:apk/alpine/musl']
    statement: accepted
  - id: CVE-2
    expired_at: 2024-01-01
misconfigurations:
  - id: AVD-DS-0002
";
        let config = IgnoreConfig::parse_yaml(text, ".trivyignore.yaml", CLOCK).unwrap();
        assert_eq!(config.vulnerabilities.len(), 1);
        let purl = Some("pkg:apk/alpine/musl@1.2?arch=x86_64");
        assert!(
            config
                .match_vulnerability("CVE-1", "usr/lib/x", "", purl)
                .is_some()
        );
        assert!(
            config
                .match_vulnerability("CVE-1", "etc/x", "", purl)
                .is_none()
        );
        assert!(
            config
                .match_vulnerability("CVE-1", "etc/x", "usr/lib/a/b", purl)
                .is_some()
        );
        assert!(
            config
                .match_vulnerability("CVE-1", "usr/lib/x", "", Some("pkg:apk/alpine/zlib"))
                .is_none()
        );
        assert!(
            config
                .match_misconfiguration("DS002", "AVD-DS-0002", "Dockerfile")
                .is_some()
        );
    }

    #[test]
    fn yaml_errors_name_the_entry() {
        let error = IgnoreConfig::parse_yaml(
            "vulnerabilities:\n  - id: X\n    paths: ['a[']\n",
            "f",
            CLOCK,
        )
        .unwrap_err();
        assert!(error.to_string().contains("\"X\""), "{error}");
        assert!(IgnoreConfig::parse_yaml("vulnerabilities: 3", "f", CLOCK).is_err());
    }
}
