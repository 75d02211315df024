//! Go modules: upload a module zip, list a module's versions.

use std::path::Path;

use bytes::Bytes;
use http::Method;
use http::header::CONTENT_LENGTH;
use url::Url;

use crate::error::Result;
use crate::http::{Http, Request, file_body, read_bytes};
use crate::path::{encode_segment, join, join_encoded};

/// The Go module proxy of one owner (`/api/packages/{owner}/go/`).
#[derive(Debug, Clone)]
pub struct GoRegistry {
    http: Http,
    base: Url,
}

impl GoRegistry {
    pub(crate) fn new(http: Http, base: Url) -> Self {
        Self { http, base }
    }

    /// Uploads a module zip (as `go mod download` lays it out: `<module>@<version>/...`).
    /// A version already present is [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    pub async fn upload(&self, module_zip: impl Into<Bytes>) -> Result<()> {
        let bytes = module_zip.into();
        let length = bytes.len() as u64;
        self.upload_body(reqwest::Body::from(bytes), length).await
    }

    /// Uploads a module zip file, streaming it (never held in memory; Go allows module zips
    /// of up to 500 MiB).
    pub async fn upload_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let (body, length) = file_body(path.as_ref()).await?;
        self.upload_body(body, length).await
    }

    async fn upload_body(&self, body: reqwest::Body, length: u64) -> Result<()> {
        let request = Request::new(Method::PUT, join(&self.base, &["upload"])?)
            .publish("go module")
            .with(move |builder| builder.body(body).header(CONTENT_LENGTH, length));
        self.http.execute(request).await?;
        Ok(())
    }

    /// The versions of a module (`<module>/@v/list`).
    pub async fn versions(&self, module: &str) -> Result<Vec<String>> {
        let url = join_encoded(
            &self.base,
            &format!("{}/@v/list", escape_module_path(module)),
        )?;
        let body = read_bytes(self.http.send(Request::new(Method::GET, url)).await?).await?;
        Ok(String::from_utf8_lossy(&body)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// The module path as the GOPROXY protocol spells it: each element percent-encoded, capitals
/// written as `!` and the lowercase letter.
pub fn escape_module_path(module: &str) -> String {
    module
        .split('/')
        .map(|element| {
            let mut escaped = String::with_capacity(element.len());
            for character in element.chars() {
                if character.is_ascii_uppercase() {
                    escaped.push('!');
                    escaped.push(character.to_ascii_lowercase());
                } else {
                    escaped.push(character);
                }
            }
            // `!` is the protocol's own escape character and goes out literally, as `go` sends it.
            encode_segment(&escaped).replace("%21", "!")
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::escape_module_path;

    #[test]
    fn capitals_become_bang_lowercase() {
        assert_eq!(
            escape_module_path("example.com/Team/mod"),
            "example.com/!team/mod"
        );
    }
}
