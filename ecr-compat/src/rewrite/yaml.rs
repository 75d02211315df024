//! Finds ECR references in YAML text: `image:` values and Helm-style split fields.

use std::sync::LazyLock;

use regex::Regex;

use super::scalar::{Line, lines, yaml_scalar};
use super::{Occurrence, Slots, Span, locate};
use crate::uri::{EcrImage, EcrRegistry};

/// `<indent>[- ]<key>:` followed by a space or the end of the line.
static KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\s*)(-\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*:(?:\s|$)")
        .expect("the YAML key pattern compiles")
});

/// What the scanner knows about one line.
#[derive(Debug, Clone, Copy)]
struct KeyLine<'a> {
    line: Line<'a>,
    /// Column of the first non-blank character (the dash of a list item).
    indent: usize,
    /// Column where the key starts.
    key_column: usize,
    /// Whether the line starts a list item.
    dash: bool,
    key: Option<&'a str>,
    /// End of the `key:` part, where the value starts.
    value_from: usize,
    /// A blank line or a comment: no structure.
    blank: bool,
    /// A document marker (`---` or `...`).
    boundary: bool,
}

fn classify(line: Line<'_>) -> KeyLine<'_> {
    let trimmed = line.text.trim_start();
    let indent = line.text.len() - trimmed.len();
    let mut info = KeyLine {
        line,
        indent,
        key_column: indent,
        dash: trimmed.starts_with("- ") || trimmed == "-",
        key: None,
        value_from: 0,
        blank: trimmed.is_empty() || trimmed.starts_with('#'),
        boundary: trimmed.starts_with("---") || trimmed.starts_with("..."),
    };
    if let Some(parts) = KEY.captures(line.text) {
        let key = parts.get(3).expect("the key group always matches");
        info.key = Some(key.as_str());
        info.key_column = key.start();
        info.value_from = parts.get(0).expect("whole match").end();
        info.value_from = line.text[..info.value_from].trim_end().len();
    }
    info
}

/// Every ECR reference in `text`.
pub(crate) fn scan(text: &str) -> Vec<Occurrence> {
    let lines: Vec<KeyLine<'_>> = lines(text).into_iter().map(classify).collect();
    let mut found = Vec::new();
    for (index, info) in lines.iter().enumerate() {
        let occurrence = match info.key {
            Some("image") => whole(text, info),
            Some("repository") => repository_with_host(text, &lines, index),
            Some("registry") => registry_and_repository(text, &lines, index),
            _ => None,
        };
        found.extend(occurrence);
    }
    found
}

fn value<'t>(text: &'t str, info: &KeyLine<'_>) -> Option<(&'t str, Span)> {
    let span = yaml_scalar(&info.line, info.value_from)?;
    Some((&text[span.start..span.end], span))
}

/// `image: <ECR URI>`.
fn whole(text: &str, info: &KeyLine<'_>) -> Option<Occurrence> {
    let (_, span) = value(text, info)?;
    let (image, span, pinnable) = locate(text, span)?;
    Some(Occurrence {
        line: info.line.number,
        image,
        slots: Slots::Whole(span),
        pinnable,
    })
}

/// `repository: <ECR URI without tag>` with an optional sibling `tag:`.
fn repository_with_host(text: &str, lines: &[KeyLine<'_>], index: usize) -> Option<Occurrence> {
    let info = &lines[index];
    let (repository, span) = value(text, info)?;
    let bare = EcrImage::parse(repository).ok()?;
    if bare.tag().is_some() || bare.digest().is_some() {
        return whole(text, info);
    }
    let tag = sibling_value(text, lines, index, "tag");
    let image = with_tag(repository, tag.map(|(tag, _)| tag)).unwrap_or(bare);
    Some(Occurrence {
        line: info.line.number,
        image,
        slots: Slots::Split {
            registry: None,
            repository: span,
            tag: tag.map(|(_, span)| span),
        },
        pinnable: true,
    })
}

/// `registry: <ECR host>` with a sibling `repository: <path>` and optional `tag:`.
fn registry_and_repository(text: &str, lines: &[KeyLine<'_>], index: usize) -> Option<Occurrence> {
    let info = &lines[index];
    let (host, registry_span) = value(text, info)?;
    EcrRegistry::from_host(host)?;
    let (path, repository_span) = sibling_value(text, lines, index, "repository")?;
    let name = format!("{host}/{path}");
    let bare = EcrImage::parse(&name).ok()?;
    let tag = sibling_value(text, lines, index, "tag");
    let image = with_tag(&name, tag.map(|(tag, _)| tag)).unwrap_or(bare);
    Some(Occurrence {
        line: info.line.number,
        image,
        slots: Slots::Split {
            registry: Some(registry_span),
            repository: repository_span,
            tag: tag.map(|(_, span)| span),
        },
        pinnable: true,
    })
}

/// `name:tag` as an image; a tag value may itself carry `@digest`.
fn with_tag(name: &str, tag: Option<&str>) -> Option<EcrImage> {
    EcrImage::parse(&format!("{name}:{}", tag?)).ok()
}

/// The value of key `key` in the same mapping as line `index`.
fn sibling_value<'t>(
    text: &'t str,
    lines: &[KeyLine<'_>],
    index: usize,
    key: &str,
) -> Option<(&'t str, Span)> {
    let sibling = siblings(lines, index).find(|other| other.key == Some(key))?;
    value(text, sibling)
}

/// The other lines of the mapping line `index` belongs to (same key column, no outer line
/// or list item in between).
fn siblings<'l, 'a>(
    lines: &'l [KeyLine<'a>],
    index: usize,
) -> impl Iterator<Item = &'l KeyLine<'a>> {
    let column = lines[index].key_column;
    let starts_item = lines[index].dash;

    let mut above = Vec::new();
    if !starts_item {
        for other in lines[..index].iter().rev() {
            if other.blank || other.indent > column {
                continue;
            }
            if other.boundary || other.key_column != column {
                break;
            }
            above.push(other);
            if other.dash {
                break;
            }
        }
    }

    let mut below = Vec::new();
    for other in &lines[index + 1..] {
        if other.blank || (other.indent > column && !other.dash) {
            continue;
        }
        if other.boundary || other.dash && other.indent <= column || other.indent < column {
            break;
        }
        if other.indent == column && other.key_column == column {
            below.push(other);
        }
    }
    above.into_iter().chain(below)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    fn found(text: &str) -> Vec<(usize, String, Slots)> {
        scan(text)
            .into_iter()
            .map(|o| (o.line, o.image.to_string(), o.slots))
            .collect()
    }

    #[test]
    fn finds_image_values_in_lists_and_mappings() {
        let text = format!(
            "containers:\n  - name: a\n    image: {HOST}/a:1\n  - image: \"{HOST}/b:2\" # quoted\n# image: {HOST}/commented:1\n"
        );
        let found = found(&text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].1, format!("{HOST}/a:1"));
        assert_eq!(found[1].0, 4);
    }

    #[test]
    fn pairs_repository_with_its_own_tag_only() {
        let text = format!(
            "api:\n  image:\n    repository: {HOST}/api\n    pullPolicy: IfNotPresent\n    tag: \"1.2\"\nworker:\n  image:\n    repository: {HOST}/worker\n  tag: not-mine\n"
        );
        let found = found(&text);
        assert_eq!(found[0].1, format!("{HOST}/api:1.2"));
        assert!(matches!(
            found[0].2,
            Slots::Split {
                tag: Some(_),
                registry: None,
                ..
            }
        ));
        assert_eq!(found[1].1, format!("{HOST}/worker"));
        assert!(matches!(found[1].2, Slots::Split { tag: None, .. }));
    }

    #[test]
    fn pairs_registry_with_repository_in_list_items() {
        let text = format!(
            "images:\n  - registry: {HOST}\n    repository: team/api\n    tag: v3\n  - registry: docker.io\n    repository: x\n"
        );
        let found = found(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, format!("{HOST}/team/api:v3"));
    }
}
