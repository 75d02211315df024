//! Finding values inside one line of text.

use super::Span;

/// A line of the text with its byte offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// Byte offset of the line in the whole text.
    pub offset: usize,
    /// The line without its line break.
    pub text: &'a str,
}

/// Splits `text` into lines that remember where they start.
pub(crate) fn lines(text: &str) -> Vec<Line<'_>> {
    let mut offset = 0;
    text.split_inclusive('\n')
        .enumerate()
        .map(|(index, raw)| {
            let line = Line {
                number: index + 1,
                offset,
                text: raw.trim_end_matches(['\n', '\r']),
            };
            offset += raw.len();
            line
        })
        .collect()
}

/// The span of the YAML scalar starting at or after byte `from` of `line` (inside quotes
/// for quoted scalars), or `None` for an empty value, a flow collection, a block scalar,
/// an anchor, an alias or a tag.
pub(crate) fn yaml_scalar(line: &Line<'_>, from: usize) -> Option<Span> {
    let rest = &line.text[from..];
    let start = from + (rest.len() - rest.trim_start().len());
    let value = &line.text[start..];
    let first = value.chars().next()?;
    let (inner_start, inner_end) = match first {
        '"' | '\'' => {
            let close = value[1..].find(first)?;
            (start + 1, start + 1 + close)
        }
        '{' | '[' | '|' | '>' | '&' | '*' | '!' | '#' => return None,
        _ => {
            let end = value.find(" #").unwrap_or(value.len());
            (start, start + value[..end].trim_end().len())
        }
    };
    (inner_end > inner_start).then_some(Span {
        start: line.offset + inner_start,
        end: line.offset + inner_end,
    })
}

/// The whitespace-separated tokens of `line` with their absolute spans.
pub(crate) fn tokens<'a>(line: &Line<'a>) -> Vec<(&'a str, Span)> {
    let mut found = Vec::new();
    let mut start = None;
    for (index, character) in line.text.char_indices().chain([(line.text.len(), ' ')]) {
        match (character.is_whitespace(), start) {
            (false, None) => start = Some(index),
            (true, Some(begin)) => {
                let span = Span {
                    start: line.offset + begin,
                    end: line.offset + index,
                };
                found.push((&line.text[begin..index], span));
                start = None;
            }
            _ => {}
        }
    }
    found
}

/// `span` without one pair of surrounding quotes, if the text there is quoted.
pub(crate) fn unquote(text: &str, span: Span) -> Span {
    let value = &text[span.start..span.end];
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')));
    if quoted {
        Span {
            start: span.start + 1,
            end: span.end - 1,
        }
    } else {
        span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str, from: usize) -> Option<&str> {
        let line = Line {
            number: 1,
            offset: 0,
            text,
        };
        yaml_scalar(&line, from).map(|span| &text[span.start..span.end])
    }

    #[test]
    fn reads_plain_and_quoted_scalars() {
        assert_eq!(scalar("image: a/b:1  # pinned later", 6), Some("a/b:1"));
        assert_eq!(scalar("image: \"a/b:1\" # c", 6), Some("a/b:1"));
        assert_eq!(scalar("image: 'a/b:1'", 6), Some("a/b:1"));
        assert_eq!(scalar("image:", 6), None);
        assert_eq!(scalar("image: {x: 1}", 6), None);
        assert_eq!(scalar("image: # nothing", 6), None);
    }

    #[test]
    fn tokens_know_their_offsets() {
        let line = Line {
            number: 3,
            offset: 100,
            text: "FROM  x AS y",
        };
        let found: Vec<_> = tokens(&line)
            .into_iter()
            .map(|(t, s)| (t, s.start))
            .collect();
        assert_eq!(found, [("FROM", 100), ("x", 106), ("AS", 108), ("y", 111)]);
    }

    #[test]
    fn lines_track_offsets_across_crlf() {
        let found = lines("a\r\nbb\nc");
        let texts: Vec<_> = found.iter().map(|l| (l.text, l.offset, l.number)).collect();
        assert_eq!(texts, [("a", 0, 1), ("bb", 3, 2), ("c", 6, 3)]);
    }
}
