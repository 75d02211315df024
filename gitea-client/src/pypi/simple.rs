//! PEP 503 project pages: the `<a>` links with their hashes and attributes.

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use crate::html::unescape;

/// One file listed on a project's simple-index page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DistributionFile {
    /// The file name (the link text).
    pub file_name: String,
    /// The download URL, resolved against the page and without the hash fragment.
    pub url: Url,
    /// The hash from the URL fragment, as `(algorithm, hex)`, e.g. `("sha256", "ab12…")`.
    pub hash: Option<(String, String)>,
    /// `data-requires-python`, unescaped.
    pub requires_python: Option<String>,
    /// `data-yanked`: `Some("")` when yanked without a reason.
    pub yanked: Option<String>,
}

static ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<a\s([^>]*)>(.*?)</a\s*>").expect("anchor pattern is valid")
});

static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"#)
        .expect("attribute pattern is valid")
});

/// Parses a project page. Links without `href` or that do not resolve are skipped.
pub(crate) fn parse_project_page(page_url: &Url, html: &str) -> Vec<DistributionFile> {
    ANCHOR
        .captures_iter(html)
        .filter_map(|anchor| {
            let attributes = attributes(&anchor[1]);
            let text = unescape(anchor[2].trim());
            file_from_link(page_url, &attributes, text)
        })
        .collect()
}

fn attributes(text: &str) -> Vec<(String, Option<String>)> {
    ATTRIBUTE
        .captures_iter(text)
        .map(|found| {
            let value = found
                .get(2)
                .or(found.get(3))
                .or(found.get(4))
                .map(|m| unescape(m.as_str()));
            (found[1].to_ascii_lowercase(), value)
        })
        .collect()
}

fn file_from_link(
    page_url: &Url,
    attributes: &[(String, Option<String>)],
    text: String,
) -> Option<DistributionFile> {
    let attribute = |name: &str| {
        attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone().unwrap_or_default())
    };
    let mut url = page_url.join(&attribute("href")?).ok()?;
    let hash = url.fragment().and_then(|fragment| {
        let (algorithm, hex) = fragment.split_once('=')?;
        Some((algorithm.to_ascii_lowercase(), hex.to_ascii_lowercase()))
    });
    url.set_fragment(None);
    let file_name = if text.is_empty() {
        url.path_segments()?.next_back()?.to_owned()
    } else {
        text
    };
    Some(DistributionFile {
        file_name,
        url,
        hash,
        requires_python: attribute("data-requires-python"),
        yanked: attribute("data-yanked"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_hashes_and_attributes_are_read() {
        let page = Url::parse("http://h/simple/demo/").unwrap();
        let html = r#"<html><body><h1>Links for demo</h1>
            <a href="../../packages/demo-0.1-py3-none-any.whl#sha256=ABCD" data-requires-python="&gt;=3.8">demo-0.1-py3-none-any.whl</a><br/>
            <a data-yanked="" href='https://files/x/demo-0.1.tar.gz'>demo-0.1.tar.gz</a>
            <a name="no-href">x</a></body></html>"#;
        let files = parse_project_page(&page, html);
        assert_eq!(files.len(), 2);
        assert_eq!(
            files[0].url.as_str(),
            "http://h/packages/demo-0.1-py3-none-any.whl"
        );
        assert_eq!(files[0].hash, Some(("sha256".into(), "abcd".into())));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(files[1].file_name, "demo-0.1.tar.gz");
        assert_eq!(files[1].yanked.as_deref(), Some(""));
        assert_eq!(files[1].hash, None);
    }
}
