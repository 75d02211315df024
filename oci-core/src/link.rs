//! `Link` headers (RFC 8288), as used by `/v2/_catalog` and `/v2/<name>/tags/list` to point at
//! the next page.
//!
//! Targets are returned as written: a relative target (distribution sends
//! `</v2/_catalog?last=x&n=100>`) must be resolved by the caller against the request URL.
//! Parsing never panics; a malformed link ends the list.
//!
//! ```
//! use wharf_oci_core::link::next_link;
//!
//! let header = r#"</v2/app/tags/list?last=v9&n=10>; rel="next""#;
//! assert_eq!(next_link(header).as_deref(), Some("/v2/app/tags/list?last=v9&n=10"));
//! ```

use crate::challenge::Cursor;

/// One link: its target and relation types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target URI reference as written between `<` and `>`.
    pub target: String,
    /// The relation types of every `rel` parameter, lowercased.
    pub relations: Vec<String>,
}

impl Link {
    /// Whether one of the relation types is `relation` (case-insensitive).
    pub fn has_relation(&self, relation: &str) -> bool {
        self.relations
            .iter()
            .any(|own| own.eq_ignore_ascii_case(relation))
    }
}

/// Every link in one `Link` header value, in order.
pub fn parse_links(header_value: &str) -> Vec<Link> {
    let mut cursor = Cursor::new(header_value);
    let mut links = Vec::new();

    loop {
        cursor.skip_separators();
        if !cursor.eat(b'<') {
            break;
        }
        let Some(target) = cursor.until(b'>') else {
            break;
        };
        cursor.eat(b'>');

        let mut link = Link {
            target: target.trim().to_owned(),
            relations: Vec::new(),
        };
        let complete = read_params(&mut cursor, &mut link);
        links.push(link);
        if !complete {
            break;
        }
    }
    links
}

/// Reads `; name[=value]` parameters; returns false when the input is malformed.
fn read_params(cursor: &mut Cursor<'_>, link: &mut Link) -> bool {
    loop {
        cursor.skip_spaces();
        if !cursor.eat(b';') {
            return cursor.at_end() || cursor.peek() == Some(b',');
        }
        cursor.skip_spaces();
        let Some(name) = cursor.token() else {
            return false;
        };
        cursor.skip_spaces();
        if !cursor.eat(b'=') {
            continue;
        }
        cursor.skip_spaces();
        let value = if cursor.peek() == Some(b'"') {
            match cursor.quoted_string() {
                Some(value) => value,
                None => return false,
            }
        } else {
            cursor.token().unwrap_or_default().to_owned()
        };

        if name.eq_ignore_ascii_case("rel") {
            let relations = value.split_ascii_whitespace().map(str::to_ascii_lowercase);
            link.relations.extend(relations);
        }
    }
}

/// The target of the first link with relation `next`, if any.
pub fn next_link(header_value: &str) -> Option<String> {
    parse_links(header_value)
        .into_iter()
        .find(|link| link.has_relation("next"))
        .map(|link| link.target)
}

/// The `next` target across several `Link` header values.
pub fn next_link_in<'a>(header_values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    header_values.into_iter().find_map(next_link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn next_link_table() {
        let cases = [
            (
                r#"</v2/_catalog?last=b&n=2>; rel="next""#,
                Some("/v2/_catalog?last=b&n=2"),
            ),
            ("</next>;rel=next", Some("/next")),
            (
                r#"<https://r/x?a=1,2>; rel="next""#,
                Some("https://r/x?a=1,2"),
            ),
            (r#"</first>; rel="first", </n>; rel="next""#, Some("/n")),
            (r#"</p>; title="a, b; c"; rel="prev next""#, Some("/p")),
            (r#"</p>; REL="Next""#, Some("/p")),
            (r#"</last>; rel="last""#, None),
            (r#"</x>; rel="nextpage""#, None),
            ("", None),
            ("garbage", None),
            ("</unterminated; rel=next", None),
            (r#"</a>; rel="prev", junk, </b>; rel="next""#, None),
        ];
        for (header, expected) in cases {
            assert_eq!(next_link(header).as_deref(), expected, "{header:?}");
        }
    }

    #[test]
    fn parses_every_link_with_relations() {
        let links = parse_links(r##"< /a >; rel="prev first"; anchor="#x", </b>; hreflang=en"##);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].target, "/a");
        assert_eq!(links[0].relations, ["prev", "first"]);
        assert!(links[1].relations.is_empty());
    }

    #[test]
    fn across_headers() {
        let values = [r#"</a>; rel="prev""#, r#"</b>; rel="next""#];
        assert_eq!(next_link_in(values).as_deref(), Some("/b"));
    }

    proptest! {
        #[test]
        fn never_panics(input in "\\PC{0,120}") {
            let _ = parse_links(&input);
        }
    }
}
