//! Percent-encoding of URL path segments and joining them onto a base URL.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::error::{Error, Result};

/// Everything except RFC 3986 unreserved characters is encoded, `/` included, so a name such
/// as `team/app` stays one segment (`team%2Fapp`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes one path segment.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// Appends already-encoded path text to a base URL that ends with `/`.
pub(crate) fn join_encoded(base: &Url, encoded_path: &str) -> Result<Url> {
    let climbs = encoded_path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        matches!(decoded.as_str(), "." | "..")
    });
    if climbs {
        return Err(Error::invalid_package(
            encoded_path,
            "`.` and `..` cannot be used as names in a URL path",
        ));
    }
    base.join(encoded_path).map_err(|error| Error::Config {
        reason: format!("cannot append {encoded_path} to {base}: {error}"),
    })
}

/// Appends segments, each percent-encoded, to a base URL that ends with `/`.
///
/// `.` and `..` are refused: URL parsers read them (and their encodings `%2E`, `%2E%2E`) as
/// "this folder" and "parent folder", so they cannot be sent as names.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Result<Url> {
    let encoded: Vec<String> = segments
        .iter()
        .map(|segment| encode_segment(segment))
        .collect();
    join_encoded(base, &encoded.join("/"))
}

/// Parses a base URL and makes sure its path ends with `/`, so that joining appends.
pub(crate) fn base_url(text: &str) -> Result<Url> {
    let mut url = Url::parse(text).map_err(|error| Error::Config {
        reason: format!("invalid URL {text}: {error}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config {
            reason: format!("{text} is not an http(s) URL"),
        });
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes_and_reserved_characters_are_encoded() {
        assert_eq!(encode_segment("team/app"), "team%2Fapp");
        assert_eq!(encode_segment("a b?#%"), "a%20b%3F%23%25");
        assert_eq!(encode_segment("1.0.0-rc.1_x~y"), "1.0.0-rc.1_x~y");
    }

    #[test]
    fn join_appends_below_the_base_path() {
        let base = base_url("http://h/api/packages/k3s-homelab").unwrap();
        assert_eq!(base.as_str(), "http://h/api/packages/k3s-homelab/");
        let url = join(&base, &["generic", "my pkg", "1.0", "a/b"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/api/packages/k3s-homelab/generic/my%20pkg/1.0/a%2Fb"
        );
        assert!(matches!(
            join(&base, &["generic", ".."]),
            Err(Error::InvalidPackage { .. })
        ));
        assert!(matches!(
            join_encoded(&base, "npm/%2e%2E/x"),
            Err(Error::InvalidPackage { .. })
        ));
        assert!(base_url("ftp://h").is_err());
    }
}
