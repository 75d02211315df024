//! Core metadata read out of a wheel (`*.dist-info/METADATA`) or an sdist (`PKG-INFO`).

use std::io::{Read, Seek};

use flate2::read::GzDecoder;

use crate::error::{Error, Result};

/// The kind of distribution file, as the upload form's `filetype` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DistributionKind {
    /// A built wheel (`.whl`), `filetype=bdist_wheel`.
    Wheel,
    /// A source distribution (`.tar.gz`), `filetype=sdist`.
    Sdist,
}

impl DistributionKind {
    /// Tells the kind from a file name.
    pub fn from_file_name(file_name: &str) -> Option<Self> {
        let path = std::path::Path::new(file_name);
        let extension = |path: &std::path::Path, wanted: &str| {
            path.extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case(wanted))
        };
        if extension(path, "whl") {
            Some(Self::Wheel)
        } else if extension(path, "gz") && extension(&path.with_extension(""), "tar") {
            Some(Self::Sdist)
        } else {
            None
        }
    }

    /// The `filetype` form value.
    pub fn filetype(self) -> &'static str {
        match self {
            Self::Wheel => "bdist_wheel",
            Self::Sdist => "sdist",
        }
    }
}

/// Core metadata of a distribution (the header fields of `METADATA` / `PKG-INFO`).
///
/// Keys keep their order and case as written; multi-valued fields (`Classifier`,
/// `Requires-Dist`, `Project-URL` ...) appear once per value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoreMetadata {
    fields: Vec<(String, String)>,
    description: Option<String>,
}

impl CoreMetadata {
    /// Parses the RFC 822-style text of a `METADATA` or `PKG-INFO` file.
    pub fn parse(text: &str) -> Self {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut lines = text.lines();
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                fields.push((key.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let body: Vec<&str> = lines.collect();
        let description = (!body.is_empty()).then(|| body.join("\n"));
        Self {
            fields,
            description,
        }
    }

    /// The first value of a field, compared case-insensitively.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a field, compared case-insensitively.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    /// `Name`.
    pub fn name(&self) -> Option<&str> {
        self.get("Name")
    }

    /// `Version`.
    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    /// `Summary`.
    pub fn summary(&self) -> Option<&str> {
        self.get("Summary")
    }

    /// `Requires-Python`.
    pub fn requires_python(&self) -> Option<&str> {
        self.get("Requires-Python")
    }

    /// `Metadata-Version`.
    pub fn metadata_version(&self) -> Option<&str> {
        self.get("Metadata-Version")
    }

    /// The long description: the `Description` field or the body after the headers.
    pub fn description(&self) -> Option<&str> {
        self.get("Description").or(self.description.as_deref())
    }
}

/// Reads the core metadata out of a distribution file. A wheel's zip directory is read from
/// its end and only the `METADATA` entry is inflated; an sdist is decompressed only up to its
/// `PKG-INFO`, so neither is read whole.
pub(crate) fn read(
    kind: DistributionKind,
    file_name: &str,
    file: impl Read + Seek,
) -> Result<CoreMetadata> {
    let text = match kind {
        DistributionKind::Wheel => wheel_metadata(file_name, file)?,
        DistributionKind::Sdist => sdist_pkg_info(file_name, file)?,
    };
    let metadata = CoreMetadata::parse(&text);
    if metadata.name().is_none_or(str::is_empty) || metadata.version().is_none_or(str::is_empty) {
        return Err(Error::invalid_package(
            file_name,
            "metadata has no Name or Version",
        ));
    }
    Ok(metadata)
}

fn wheel_metadata(file_name: &str, file: impl Read + Seek) -> Result<String> {
    let invalid = |reason: String| Error::invalid_package(file_name, reason);
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|error| invalid(format!("not a zip archive: {error}")))?;
    let entry = archive
        .file_names()
        .find(|name| is_top_level_dist_info_metadata(name))
        .map(str::to_owned)
        .ok_or_else(|| invalid("no *.dist-info/METADATA in the wheel".into()))?;
    let mut file = archive
        .by_name(&entry)
        .map_err(|error| invalid(format!("cannot open {entry}: {error}")))?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|error| invalid(format!("cannot read {entry}: {error}")))?;
    Ok(text)
}

fn is_top_level_dist_info_metadata(name: &str) -> bool {
    name.split_once('/')
        .is_some_and(|(folder, file)| folder.ends_with(".dist-info") && file == "METADATA")
}

fn sdist_pkg_info(file_name: &str, file: impl Read) -> Result<String> {
    let invalid = |reason: String| Error::invalid_package(file_name, reason);
    let mut archive = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(file)));
    let entries = archive
        .entries()
        .map_err(|error| invalid(format!("not a tar.gz: {error}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|error| invalid(format!("unreadable tar entry: {error}")))?;
        let path = entry
            .path()
            .map_err(|error| invalid(error.to_string()))?
            .into_owned();
        let components: Vec<_> = path.components().collect();
        if components.len() == 2 && path.ends_with("PKG-INFO") {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|error| invalid(format!("cannot read PKG-INFO: {error}")))?;
            return Ok(text);
        }
    }
    Err(invalid("no <name>-<version>/PKG-INFO in the sdist".into()))
}

/// The Python tag of a wheel file name (`name-1.0-py3-none-any.whl` gives `py3`).
pub(crate) fn wheel_python_tag(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    (parts.len() >= 5).then(|| parts[parts.len() - 3])
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut previous_separator = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !previous_separator {
                out.push('-');
            }
            previous_separator = true;
        } else {
            out.push(character.to_ascii_lowercase());
            previous_separator = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn parses_headers_continuations_and_body() {
        let text = "Metadata-Version: 2.1\nName: wharf-demo\nVersion: 0.1.0\nClassifier: A\n\
                    Classifier: B\nLicense: MIT\n  more\n\nLong text\nline two\n";
        let metadata = CoreMetadata::parse(text);
        assert_eq!(metadata.name(), Some("wharf-demo"));
        assert_eq!(
            metadata.get_all("classifier").collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(metadata.get("License"), Some("MIT\nmore"));
        assert_eq!(metadata.description(), Some("Long text\nline two"));
    }

    #[test]
    fn wheel_tags_and_names() {
        assert_eq!(wheel_python_tag("a_b-1.0-py3-none-any.whl"), Some("py3"));
        assert_eq!(
            wheel_python_tag("a_b-1.0-1-cp312-cp312-linux.whl"),
            Some("cp312")
        );
        assert_eq!(wheel_python_tag("bad.whl"), None);
        assert_eq!(normalize_name("Wharf__Demo.pkg"), "wharf-demo-pkg");
        assert_eq!(DistributionKind::from_file_name("x.zip"), None);
        assert_eq!(
            DistributionKind::from_file_name("x-1.0.TAR.GZ"),
            Some(DistributionKind::Sdist)
        );
        assert_eq!(DistributionKind::from_file_name("x-1.0.gz"), None);
    }

    #[test]
    fn unreadable_files_are_invalid_packages() {
        let error = read(DistributionKind::Wheel, "x.whl", Cursor::new(b"not a zip")).unwrap_err();
        assert!(matches!(error, Error::InvalidPackage { .. }), "{error}");
        let error = read(DistributionKind::Sdist, "x.tar.gz", Cursor::new(b"nope")).unwrap_err();
        assert!(matches!(error, Error::InvalidPackage { .. }), "{error}");
    }
}
