//! Maven: deploy an artifact with its pom, checksum files and `maven-metadata.xml`, as
//! `mvn deploy` does.

use std::sync::LazyLock;

use bytes::Bytes;
use http::Method;
use md5::Md5;
use regex::Regex;
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha512};
use url::Url;

use crate::error::{Error, Result};
use crate::http::{Http, Request, read_bytes};
use crate::path::join;

/// The name of the index file Maven keeps per artifact.
pub const METADATA_FILE: &str = "maven-metadata.xml";

/// `groupId:artifactId:version`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Coordinates {
    /// Dotted group, e.g. `org.example`.
    pub group_id: String,
    /// The artifact id.
    pub artifact_id: String,
    /// The version.
    pub version: String,
}

impl Coordinates {
    /// Coordinates from their three parts.
    pub fn new(
        group_id: impl Into<String>,
        artifact_id: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self {
            group_id: group_id.into(),
            artifact_id: artifact_id.into(),
            version: version.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        let parts = [&self.group_id, &self.artifact_id, &self.version];
        if parts
            .iter()
            .any(|part| part.is_empty() || part.contains(['/', '\\', ':']))
        {
            return Err(Error::invalid_package(
                self.to_string(),
                "empty part or one containing / \\ :",
            ));
        }
        Ok(())
    }

    /// `<artifact>-<version>[-classifier].<extension>`.
    pub fn file_name(&self, classifier: Option<&str>, extension: &str) -> String {
        match classifier {
            Some(classifier) => format!(
                "{}-{}-{classifier}.{extension}",
                self.artifact_id, self.version
            ),
            None => format!("{}-{}.{extension}", self.artifact_id, self.version),
        }
    }
}

impl std::fmt::Display for Coordinates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.group_id, self.artifact_id, self.version)
    }
}

/// The main artifact of a deployment.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Artifact {
    /// File extension (`jar`, `war`, `zip` ...).
    pub extension: String,
    /// Optional classifier (`sources`, `javadoc` ...).
    pub classifier: Option<String>,
    /// The file's bytes.
    pub bytes: Bytes,
}

impl Artifact {
    /// An artifact with an extension and no classifier.
    pub fn new(extension: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self {
            extension: extension.into(),
            classifier: None,
            bytes: bytes.into(),
        }
    }

    /// Sets the classifier.
    #[must_use]
    pub fn classifier(mut self, classifier: impl Into<String>) -> Self {
        self.classifier = Some(classifier.into());
        self
    }
}

/// The Maven registry of one owner (`/api/packages/{owner}/maven/`).
#[derive(Debug, Clone)]
pub struct MavenRegistry {
    http: Http,
    base: Url,
}

impl MavenRegistry {
    pub(crate) fn new(http: Http, base: Url) -> Self {
        Self { http, base }
    }

    /// Deploys `artifact` and `pom` with `.md5`, `.sha1`, `.sha256` and `.sha512` files for
    /// each, then writes `maven-metadata.xml` listing the version. A file already deployed is
    /// [`Error::AlreadyExists`].
    pub async fn deploy(
        &self,
        coordinates: &Coordinates,
        artifact: &Artifact,
        pom: impl Into<Bytes>,
    ) -> Result<()> {
        coordinates.validate()?;
        let artifact_name =
            coordinates.file_name(artifact.classifier.as_deref(), &artifact.extension);
        self.put_with_checksums(coordinates, &artifact_name, artifact.bytes.clone())
            .await?;
        let pom_name = coordinates.file_name(None, "pom");
        self.put_with_checksums(coordinates, &pom_name, pom.into())
            .await?;
        self.update_metadata(coordinates).await
    }

    /// Reads a file of a version.
    pub async fn download(&self, coordinates: &Coordinates, file_name: &str) -> Result<Bytes> {
        read_bytes(
            self.http
                .download(self.version_url(coordinates, file_name)?)
                .await?,
        )
        .await
    }

    async fn put_with_checksums(
        &self,
        coordinates: &Coordinates,
        file_name: &str,
        bytes: Bytes,
    ) -> Result<()> {
        let url = self.version_url(coordinates, file_name)?;
        self.put(url, format!("{coordinates} {file_name}"), bytes.clone())
            .await?;
        for (extension, checksum) in checksums(&bytes) {
            let url = self.version_url(coordinates, &format!("{file_name}.{extension}"))?;
            self.put(
                url,
                format!("{coordinates} {file_name}.{extension}"),
                Bytes::from(checksum),
            )
            .await?;
        }
        Ok(())
    }

    async fn update_metadata(&self, coordinates: &Coordinates) -> Result<()> {
        let url = self.artifact_url(coordinates, METADATA_FILE)?;
        let mut versions = match self.http.download(url.clone()).await {
            Ok(response) => {
                metadata_versions(&String::from_utf8_lossy(&read_bytes(response).await?))
            }
            Err(Error::NotFound { .. }) => Vec::new(),
            Err(error) => return Err(error),
        };
        if !versions.contains(&coordinates.version) {
            versions.push(coordinates.version.clone());
        }
        let xml = metadata_xml(coordinates, &versions, &timestamp());
        let bytes = Bytes::from(xml);
        self.put(url, format!("{coordinates} {METADATA_FILE}"), bytes.clone())
            .await?;
        for (extension, checksum) in checksums(&bytes) {
            let url = self.artifact_url(coordinates, &format!("{METADATA_FILE}.{extension}"))?;
            self.put(
                url,
                format!("{METADATA_FILE}.{extension}"),
                Bytes::from(checksum),
            )
            .await?;
        }
        Ok(())
    }

    async fn put(&self, url: Url, what: String, bytes: Bytes) -> Result<()> {
        tracing::debug!(url = %url, "deploying");
        let request = Request::new(Method::PUT, url)
            .publish(what)
            .with(move |builder| builder.body(bytes));
        self.http.execute(request).await?;
        Ok(())
    }

    fn artifact_url(&self, coordinates: &Coordinates, file_name: &str) -> Result<Url> {
        let mut segments: Vec<&str> = coordinates.group_id.split('.').collect();
        segments.push(&coordinates.artifact_id);
        segments.push(file_name);
        join(&self.base, &segments)
    }

    fn version_url(&self, coordinates: &Coordinates, file_name: &str) -> Result<Url> {
        let mut segments: Vec<&str> = coordinates.group_id.split('.').collect();
        segments.extend([
            coordinates.artifact_id.as_str(),
            coordinates.version.as_str(),
            file_name,
        ]);
        join(&self.base, &segments)
    }
}

/// The four checksum files Maven writes, as `(extension, lowercase hex)`.
pub fn checksums(bytes: &[u8]) -> [(&'static str, String); 4] {
    [
        ("md5", hex::encode(Md5::digest(bytes))),
        ("sha1", hex::encode(Sha1::digest(bytes))),
        ("sha256", hex::encode(Sha256::digest(bytes))),
        ("sha512", hex::encode(Sha512::digest(bytes))),
    ]
}

static VERSION_ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<version>\s*([^<\s]+)\s*</version>").expect("version pattern is valid")
});

fn metadata_versions(xml: &str) -> Vec<String> {
    let Some(start) = xml.find("<versions>") else {
        return Vec::new();
    };
    let end = xml[start..]
        .find("</versions>")
        .map_or(xml.len(), |end| start + end);
    VERSION_ELEMENT
        .captures_iter(&xml[start..end])
        .map(|found| found[1].to_owned())
        .collect()
}

fn metadata_xml(coordinates: &Coordinates, versions: &[String], last_updated: &str) -> String {
    let latest = escape(&coordinates.version);
    let listed = versions.iter().fold(String::new(), |mut listed, version| {
        listed.push_str("      <version>");
        listed.push_str(&escape(version));
        listed.push_str("</version>\n");
        listed
    });
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>{}</groupId>\n  \
         <artifactId>{}</artifactId>\n  <versioning>\n    <latest>{latest}</latest>\n    \
         <release>{latest}</release>\n    <versions>\n{listed}    </versions>\n    \
         <lastUpdated>{last_updated}</lastUpdated>\n  </versioning>\n</metadata>\n",
        escape(&coordinates.group_id),
        escape(&coordinates.artifact_id),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `yyyyMMddHHmmss` in UTC, as Maven writes `lastUpdated`.
fn timestamp() -> String {
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_lowercase_hex_of_each_algorithm() {
        let sums = checksums(b"abc");
        assert_eq!(
            sums[0],
            ("md5", "900150983cd24fb0d6963f7d28e17f72".to_owned())
        );
        assert_eq!(sums[1].1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(sums[2].1.len(), 64);
        assert_eq!(sums[3].1.len(), 128);
    }

    #[test]
    fn metadata_lists_old_and_new_versions() {
        let coordinates = Coordinates::new("org.example", "demo", "1.1.0");
        let xml = metadata_xml(
            &coordinates,
            &["1.0.0".into(), "1.1.0".into()],
            "20260101000000",
        );
        assert_eq!(metadata_versions(&xml), ["1.0.0", "1.1.0"]);
        assert!(xml.contains("<release>1.1.0</release>"));
        assert!(xml.contains("<groupId>org.example</groupId>"));
        assert_eq!(
            coordinates.file_name(Some("sources"), "jar"),
            "demo-1.1.0-sources.jar"
        );
        assert!(Coordinates::new("a/b", "c", "1").validate().is_err());
    }
}
