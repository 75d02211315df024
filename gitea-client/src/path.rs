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

/// Encodes one path segment. `.` and `..` are encoded too, so they cannot climb the path.
pub fn encode_segment(segment: &str) -> String {
    match segment {
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => utf8_percent_encode(segment, SEGMENT).to_string(),
    }
}

/// Appends already-encoded path text to a base URL that ends with `/`.
pub(crate) fn join_encoded(base: &Url, encoded_path: &str) -> Result<Url> {
    base.join(encoded_path).map_err(|error| Error::Config {
        reason: format!("cannot append {encoded_path} to {base}: {error}"),
    })
}

/// Appends segments, each percent-encoded, to a base URL that ends with `/`.
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
        assert_eq!(encode_segment(".."), "%2E%2E");
    }

    #[test]
    fn join_appends_below_the_base_path() {
        let base = base_url("http://h/api/packages/k3s-homelab").unwrap();
        assert_eq!(base.as_str(), "http://h/api/packages/k3s-homelab/");
        let url = join(&base, &["generic", "my pkg", "..", "a/b"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/api/packages/k3s-homelab/generic/my%20pkg/%2E%2E/a%2Fb"
        );
        assert!(base_url("ftp://h").is_err());
    }
}
