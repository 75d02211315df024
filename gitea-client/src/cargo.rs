//! Cargo: publish `.crate` files in cargo's framing, read the sparse index, yank and unyank.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use bytes::{BufMut, Bytes, BytesMut};
use flate2::read::GzDecoder;
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::error::{Error, Result};
use crate::http::{Http, Request, read_bytes};
use crate::path::join;

/// The Cargo registry of one owner (`/api/packages/{owner}/cargo/`).
#[derive(Debug, Clone)]
pub struct CargoRegistry {
    http: Http,
    base: Url,
}

/// A `.crate` file with the publish metadata read from its `Cargo.toml`.
#[derive(Debug, Clone)]
pub struct CrateFile {
    name: String,
    version: String,
    metadata: Value,
    bytes: Bytes,
}

/// One line of the sparse index: one published version.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct IndexEntry {
    /// The crate name.
    pub name: String,
    /// The version.
    pub vers: String,
    /// SHA-256 of the `.crate` file.
    pub cksum: String,
    /// Whether the version is yanked.
    #[serde(default)]
    pub yanked: bool,
    /// Dependencies as the index lists them.
    #[serde(default)]
    pub deps: Vec<Value>,
    /// Features.
    #[serde(default)]
    pub features: BTreeMap<String, Vec<String>>,
}

/// The registry's `config.json`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct RegistryConfig {
    /// Download URL template.
    pub dl: String,
    /// Web API base URL.
    pub api: Option<String>,
    /// Whether every request needs a token.
    #[serde(rename = "auth-required", default)]
    pub auth_required: bool,
}

impl CrateFile {
    /// Reads `<name>-<version>/Cargo.toml` out of a `.crate` (tar.gz).
    pub fn from_bytes(file_label: &str, bytes: impl Into<Bytes>) -> Result<Self> {
        let bytes = bytes.into();
        let manifest = read_manifest(file_label, &bytes)?;
        let metadata = publish_metadata(file_label, &manifest)?;
        let text = |key: &str| metadata[key].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            name: text("name"),
            version: text("vers"),
            metadata,
            bytes,
        })
    }

    /// The crate name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The publish metadata (the JSON part of the framing).
    pub fn metadata(&self) -> &Value {
        &self.metadata
    }

    /// The request body of `cargo publish`: u32 LE length of the JSON, the JSON, u32 LE length
    /// of the crate, the crate.
    pub fn publish_body(&self) -> Result<Bytes> {
        let json = serde_json::to_vec(&self.metadata)
            .map_err(|error| Error::invalid_package(&self.name, error.to_string()))?;
        let too_large = || Error::invalid_package(&self.name, "larger than 4 GiB");
        let json_len = u32::try_from(json.len()).map_err(|_| too_large())?;
        let crate_len = u32::try_from(self.bytes.len()).map_err(|_| too_large())?;
        let mut body = BytesMut::with_capacity(8 + json.len() + self.bytes.len());
        body.put_u32_le(json_len);
        body.put_slice(&json);
        body.put_u32_le(crate_len);
        body.put_slice(&self.bytes);
        Ok(body.freeze())
    }
}

impl CargoRegistry {
    pub(crate) fn new(http: Http, base: Url) -> Self {
        Self { http, base }
    }

    /// Publishes a `.crate` file. A version already present is [`Error::AlreadyExists`].
    pub async fn publish_file(&self, path: impl AsRef<Path>) -> Result<CrateFile> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| Error::io(path, source))?;
        let crate_file = CrateFile::from_bytes(&path.display().to_string(), bytes)?;
        self.publish(&crate_file).await?;
        Ok(crate_file)
    }

    /// Publishes a crate.
    pub async fn publish(&self, crate_file: &CrateFile) -> Result<()> {
        let body = crate_file.publish_body()?;
        let url = join(&self.base, &["api", "v1", "crates", "new"])?;
        tracing::info!(
            name = crate_file.name(),
            version = crate_file.version(),
            "publishing"
        );
        let request = Request::new(Method::PUT, url)
            .publish(format!("{} {}", crate_file.name(), crate_file.version()))
            .with(move |builder| builder.body(body));
        let answer: Value = self.http.json(request).await?;
        if answer.get("ok").and_then(Value::as_bool) == Some(false) {
            return Err(Error::InvalidResponse {
                url: "cargo publish".into(),
                reason: answer.to_string(),
            });
        }
        Ok(())
    }

    /// The registry's `config.json`.
    pub async fn config(&self) -> Result<RegistryConfig> {
        self.http
            .json(Request::new(
                Method::GET,
                join(&self.base, &["config.json"])?,
            ))
            .await
    }

    /// Every version of a crate from the sparse index.
    pub async fn index(&self, name: &str) -> Result<Vec<IndexEntry>> {
        let segments = index_path(name);
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let url = join(&self.base, &segments)?;
        let body = read_bytes(
            self.http
                .send(Request::new(Method::GET, url.clone()))
                .await?,
        )
        .await?;
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|error| Error::InvalidResponse {
                    url: url.to_string(),
                    reason: error.to_string(),
                })
            })
            .collect()
    }

    /// Yanks a version.
    pub async fn yank(&self, name: &str, version: &str) -> Result<()> {
        let url = join(&self.base, &["api", "v1", "crates", name, version, "yank"])?;
        self.http.execute(Request::new(Method::DELETE, url)).await?;
        Ok(())
    }

    /// Unyanks a version.
    pub async fn unyank(&self, name: &str, version: &str) -> Result<()> {
        let url = join(
            &self.base,
            &["api", "v1", "crates", name, version, "unyank"],
        )?;
        self.http.execute(Request::new(Method::PUT, url)).await?;
        Ok(())
    }
}

/// The sparse-index path of a crate: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…` (lowercase).
pub fn index_path(name: &str) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => vec!["1".into(), name],
        2 => vec!["2".into(), name],
        3 => vec!["3".into(), name[..1].to_owned(), name],
        _ => vec![name[..2].to_owned(), name[2..4].to_owned(), name],
    }
}

fn read_manifest(file_label: &str, bytes: &[u8]) -> Result<toml::Table> {
    let invalid = |reason: String| Error::invalid_package(file_label, reason);
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|error| invalid(format!("not a .crate: {error}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|error| invalid(format!("unreadable tar entry: {error}")))?;
        let path = entry
            .path()
            .map_err(|error| invalid(error.to_string()))?
            .into_owned();
        let parts: Vec<_> = path.iter().collect();
        if parts.len() == 2 && parts[1] == "Cargo.toml" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|error| invalid(format!("cannot read Cargo.toml: {error}")))?;
            return text
                .parse::<toml::Table>()
                .map_err(|error| invalid(format!("invalid Cargo.toml: {error}")));
        }
    }
    Err(invalid(
        "no <name>-<version>/Cargo.toml in the crate".into(),
    ))
}

/// The JSON metadata cargo sends with a publish, built from the manifest.
fn publish_metadata(file_label: &str, manifest: &toml::Table) -> Result<Value> {
    let package = manifest
        .get("package")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| Error::invalid_package(file_label, "Cargo.toml has no [package]"))?;
    let text = |key: &str| {
        package
            .get(key)
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
    };
    let list = |key: &str| -> Vec<String> {
        package
            .get(key)
            .and_then(toml::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let name = text("name").filter(|name| !name.is_empty());
    let version = text("version").filter(|version| !version.is_empty());
    let (Some(name), Some(version)) = (name, version) else {
        return Err(Error::invalid_package(
            file_label,
            "[package] has no literal name or version",
        ));
    };
    let readme = package
        .get("readme")
        .and_then(toml::Value::as_str)
        .map(str::to_owned);
    Ok(json!({
        "name": name,
        "vers": version,
        "deps": dependencies(manifest),
        "features": toml_to_json(manifest.get("features")).unwrap_or_else(|| json!({})),
        "authors": list("authors"),
        "description": text("description"),
        "documentation": text("documentation"),
        "homepage": text("homepage"),
        "readme": Value::Null,
        "readme_file": readme,
        "keywords": list("keywords"),
        "categories": list("categories"),
        "license": text("license"),
        "license_file": text("license-file"),
        "repository": text("repository"),
        "badges": {},
        "links": text("links"),
        "rust_version": text("rust-version"),
    }))
}

fn dependencies(manifest: &toml::Table) -> Vec<Value> {
    let mut deps = Vec::new();
    for (table, kind) in [
        ("dependencies", "normal"),
        ("dev-dependencies", "dev"),
        ("build-dependencies", "build"),
    ] {
        collect_deps(manifest.get(table), kind, None, &mut deps);
    }
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for (target, tables) in targets {
            for (table, kind) in [
                ("dependencies", "normal"),
                ("dev-dependencies", "dev"),
                ("build-dependencies", "build"),
            ] {
                collect_deps(tables.get(table), kind, Some(target), &mut deps);
            }
        }
    }
    deps
}

fn collect_deps(
    table: Option<&toml::Value>,
    kind: &str,
    target: Option<&str>,
    deps: &mut Vec<Value>,
) {
    let Some(table) = table.and_then(toml::Value::as_table) else {
        return;
    };
    for (key, spec) in table {
        let field = |name: &str| spec.get(name);
        let version_req = spec
            .as_str()
            .or_else(|| field("version").and_then(toml::Value::as_str))
            .unwrap_or("*");
        let renamed = field("package").and_then(toml::Value::as_str);
        let features: Vec<&str> = field("features")
            .and_then(toml::Value::as_array)
            .map(|items| items.iter().filter_map(toml::Value::as_str).collect())
            .unwrap_or_default();
        deps.push(json!({
            "name": renamed.unwrap_or(key),
            "version_req": version_req,
            "features": features,
            "optional": field("optional").and_then(toml::Value::as_bool).unwrap_or(false),
            "default_features": field("default-features").and_then(toml::Value::as_bool).unwrap_or(true),
            "target": target,
            "kind": kind,
            "registry": field("registry-index").and_then(toml::Value::as_str),
            "explicit_name_in_toml": renamed.map(|_| key.as_str()),
        }));
    }
}

fn toml_to_json(value: Option<&toml::Value>) -> Option<Value> {
    serde_json::to_value(value?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn crate_bytes(manifest: &str) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "demo-0.1.0/Cargo.toml", manifest.as_bytes())
            .unwrap();
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn framing_is_length_prefixed_json_then_crate() {
        let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\ndescription = \"d\"\n\
                        [dependencies]\nserde = \"1\"\nrenamed = { package = \"real\", version = \"2\", optional = true }\n\
                        [target.'cfg(unix)'.dev-dependencies]\nlibc = \"0.2\"\n";
        let bytes = crate_bytes(manifest);
        let crate_file = CrateFile::from_bytes("demo.crate", bytes.clone()).unwrap();
        let body = crate_file.publish_body().unwrap();
        let json_len = u32::from_le_bytes(body[..4].try_into().unwrap()) as usize;
        let json: Value = serde_json::from_slice(&body[4..4 + json_len]).unwrap();
        assert_eq!(json["name"], "demo");
        assert_eq!(json["vers"], "0.1.0");
        let deps = json["deps"].as_array().unwrap();
        assert!(deps.iter().any(|dep| dep["name"] == "real"
            && dep["explicit_name_in_toml"] == "renamed"
            && dep["optional"] == true));
        assert!(deps.iter().any(|dep| dep["name"] == "libc"
            && dep["kind"] == "dev"
            && dep["target"] == "cfg(unix)"));
        let crate_len =
            u32::from_le_bytes(body[4 + json_len..8 + json_len].try_into().unwrap()) as usize;
        assert_eq!(&body[8 + json_len..], &bytes[..]);
        assert_eq!(crate_len, bytes.len());
    }

    #[test]
    fn index_paths_follow_the_name_length_rule() {
        assert_eq!(index_path("a"), ["1", "a"]);
        assert_eq!(index_path("ab"), ["2", "ab"]);
        assert_eq!(index_path("abc"), ["3", "a", "abc"]);
        assert_eq!(index_path("Serde"), ["se", "rd", "serde"]);
    }

    #[test]
    fn manifests_without_literal_versions_are_invalid() {
        let bytes = crate_bytes("[package]\nname = \"demo\"\nversion.workspace = true\n");
        assert!(matches!(
            CrateFile::from_bytes("x", bytes),
            Err(Error::InvalidPackage { .. })
        ));
    }
}
