//! What npm computes from a package tarball before publishing it.

use std::io::Read;

use base64::Engine as _;
use flate2::read::GzDecoder;
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::{Digest as _, Sha512};

use crate::error::{Error, Result};

/// A package tarball (`npm pack` output) with the manifest read from it.
#[derive(Debug, Clone)]
pub struct PackageTarball {
    manifest: Map<String, Value>,
    name: String,
    version: String,
    bytes: Vec<u8>,
}

impl PackageTarball {
    /// Reads `package/package.json` (or the `package.json` of the tarball's single top folder).
    pub fn from_bytes(file_label: &str, bytes: Vec<u8>) -> Result<Self> {
        let manifest = read_manifest(file_label, &bytes)?;
        let text_field = |key: &str| {
            manifest
                .get(key)
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::invalid_package(file_label, format!("package.json has no {key}"))
                })
        };
        let name = text_field("name")?;
        let version = text_field("version")?;
        validate_name(file_label, &name)?;
        Ok(Self {
            manifest,
            name,
            version,
            bytes,
        })
    }

    /// The package name (`@scope/name` or `name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The manifest read from the tarball.
    pub fn manifest(&self) -> &Map<String, Value> {
        &self.manifest
    }

    /// Subresource integrity: `sha512-` and the base64 SHA-512 of the tarball.
    pub fn integrity(&self) -> String {
        let digest = Sha512::digest(&self.bytes);
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    }

    /// The hex SHA-1 of the tarball (`dist.shasum`).
    pub fn shasum(&self) -> String {
        hex::encode(Sha1::digest(&self.bytes))
    }

    /// The file name npm gives the tarball: `<name>-<version>.tgz` (with the scope).
    pub fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }

    /// The publish document: the manifest plus `dist`, `dist-tags` and the base64 tarball in
    /// `_attachments`, as `npm publish` sends it.
    pub(crate) fn publish_document(&self, tarball_url: &str, tag: &str) -> Value {
        let mut version = self.manifest.clone();
        version.insert(
            "_id".into(),
            json!(format!("{}@{}", self.name, self.version)),
        );
        version.insert(
            "dist".into(),
            json!({ "integrity": self.integrity(), "shasum": self.shasum(), "tarball": tarball_url }),
        );
        let description = self
            .manifest
            .get("description")
            .cloned()
            .unwrap_or(Value::Null);
        let readme = self.manifest.get("readme").cloned().unwrap_or(json!(""));
        json!({
            "_id": self.name,
            "name": self.name,
            "description": description,
            "readme": readme,
            "dist-tags": { tag: self.version },
            "versions": { self.version.clone(): Value::Object(version) },
            "access": Value::Null,
            "_attachments": {
                self.file_name(): {
                    "content_type": "application/octet-stream",
                    "data": base64::engine::general_purpose::STANDARD.encode(&self.bytes),
                    "length": self.bytes.len(),
                }
            }
        })
    }
}

fn read_manifest(file_label: &str, bytes: &[u8]) -> Result<Map<String, Value>> {
    let invalid = |reason: String| Error::invalid_package(file_label, reason);
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|error| invalid(format!("not a .tgz: {error}")))?;
    let mut fallback = None;
    for entry in entries {
        let mut entry = entry.map_err(|error| invalid(format!("unreadable tar entry: {error}")))?;
        let path = entry
            .path()
            .map_err(|error| invalid(error.to_string()))?
            .into_owned();
        let parts: Vec<_> = path.iter().collect();
        if parts.len() != 2 || parts[1] != "package.json" {
            continue;
        }
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|error| invalid(format!("cannot read package.json: {error}")))?;
        let manifest = serde_json::from_str::<Map<String, Value>>(&text)
            .map_err(|error| invalid(format!("package.json is not a JSON object: {error}")))?;
        if parts[0] == "package" {
            return Ok(manifest);
        }
        fallback.get_or_insert(manifest);
    }
    fallback.ok_or_else(|| invalid("no package/package.json in the tarball".into()))
}

fn validate_name(file_label: &str, name: &str) -> Result<()> {
    let plain = |part: &str| {
        !part.is_empty() && !part.starts_with(['.', '_']) && !part.contains(['/', '%', ' ', '\\'])
    };
    let valid = match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, rest)| plain(scope) && plain(rest)),
        None => plain(name),
    };
    if valid && name.len() <= 214 {
        Ok(())
    } else {
        Err(Error::invalid_package(
            file_label,
            format!("{name:?} is not a valid npm package name"),
        ))
    }
}

/// The package name as one URL path segment: `@scope%2fname` for scoped names, as npm sends
/// it, with the rest percent-encoded.
pub(crate) fn escaped_name(name: &str) -> String {
    match name
        .strip_prefix('@')
        .and_then(|scoped| scoped.split_once('/'))
    {
        Some((scope, rest)) => format!(
            "@{}%2f{}",
            crate::path::encode_segment(scope),
            crate::path::encode_segment(rest)
        ),
        None => crate::path::encode_segment(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, text) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn manifest_digests_and_document() {
        let bytes = tgz(&[(
            "package/package.json",
            r#"{"name":"@wharf/demo","version":"1.2.3","main":"index.js"}"#,
        )]);
        let tarball = PackageTarball::from_bytes("demo.tgz", bytes.clone()).unwrap();
        assert_eq!(tarball.name(), "@wharf/demo");
        assert_eq!(tarball.shasum(), hex::encode(Sha1::digest(&bytes)));
        assert!(tarball.integrity().starts_with("sha512-"));
        let document =
            tarball.publish_document("http://r/@wharf%2fdemo/-/@wharf/demo-1.2.3.tgz", "latest");
        assert_eq!(document["dist-tags"]["latest"], "1.2.3");
        assert_eq!(document["versions"]["1.2.3"]["_id"], "@wharf/demo@1.2.3");
        assert_eq!(document["versions"]["1.2.3"]["main"], "index.js");
        assert_eq!(
            document["_attachments"]["@wharf/demo-1.2.3.tgz"]["length"],
            bytes.len()
        );
    }

    #[test]
    fn bad_tarballs_are_invalid_packages() {
        let no_version = tgz(&[("package/package.json", r#"{"name":"x"}"#)]);
        assert!(matches!(
            PackageTarball::from_bytes("x", no_version),
            Err(Error::InvalidPackage { .. })
        ));
        let bad_name = tgz(&[(
            "package/package.json",
            r#"{"name":"@a/b/c","version":"1.0.0"}"#,
        )]);
        assert!(matches!(
            PackageTarball::from_bytes("x", bad_name),
            Err(Error::InvalidPackage { .. })
        ));
        assert!(PackageTarball::from_bytes("x", b"junk".to_vec()).is_err());
    }

    #[test]
    fn scoped_names_keep_the_at_and_encode_the_slash() {
        assert_eq!(escaped_name("@wharf/demo"), "@wharf%2fdemo");
        assert_eq!(escaped_name("left-pad"), "left-pad");
    }
}
