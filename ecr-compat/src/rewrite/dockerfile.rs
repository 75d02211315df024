//! Finds ECR references in a Dockerfile: `FROM`, `COPY --from`, `RUN --mount=...,from=` and
//! `ARG` defaults.

use super::scalar::{Line, lines, tokens, unquote};
use super::{Occurrence, Slots, Span, locate};

/// Every ECR reference in `text`.
pub(crate) fn scan(text: &str) -> Vec<Occurrence> {
    let mut stages: Vec<String> = Vec::new();
    let mut found = Vec::new();
    let mut instruction = String::new();
    let mut continued = false;

    for line in lines(text) {
        let trimmed = line.text.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let mut words = tokens(&line);
        if !continued && !words.is_empty() {
            instruction = words.remove(0).0.to_ascii_uppercase();
        }
        let candidates = match instruction.as_str() {
            "FROM" if !continued => from_image(&words, &mut stages),
            "COPY" | "ADD" => flag_values(&words, "--from="),
            "RUN" => mount_sources(&words),
            "ARG" => arg_defaults(text, &words),
            _ => Vec::new(),
        };
        found.extend(
            candidates
                .into_iter()
                .filter(|span| !is_stage(&stages, &text[span.start..span.end]))
                .filter_map(|span| occurrence(text, &line, span)),
        );
        continued = trimmed.ends_with('\\');
    }
    found
}

fn occurrence(text: &str, line: &Line<'_>, span: Span) -> Option<Occurrence> {
    let (image, span, pinnable) = locate(text, span)?;
    Some(Occurrence {
        line: line.number,
        image,
        slots: Slots::Whole(span),
        pinnable,
    })
}

fn is_stage(stages: &[String], name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_digit())
        || stages.iter().any(|stage| stage.eq_ignore_ascii_case(name))
}

/// The image of `FROM [--flag=...]... <image> [AS <stage>]`; records the stage name.
fn from_image(words: &[(&str, Span)], stages: &mut Vec<String>) -> Vec<Span> {
    let mut rest = words.iter().skip_while(|(word, _)| word.starts_with("--"));
    let Some((image, span)) = rest.next() else {
        return Vec::new();
    };
    let stage_name = match (rest.next(), rest.next()) {
        (Some((keyword, _)), Some((name, _))) if keyword.eq_ignore_ascii_case("as") => Some(*name),
        _ => None,
    };
    let refers_to_stage = is_stage(stages, image);
    if let Some(name) = stage_name {
        stages.push(name.to_ascii_lowercase());
    }
    if refers_to_stage {
        Vec::new()
    } else {
        vec![*span]
    }
}

/// The values of `--flag=value` words.
fn flag_values(words: &[(&str, Span)], flag: &str) -> Vec<Span> {
    words
        .iter()
        .filter(|(word, _)| {
            word.len() > flag.len() && word[..flag.len()].eq_ignore_ascii_case(flag)
        })
        .map(|(_, span)| Span {
            start: span.start + flag.len(),
            end: span.end,
        })
        .collect()
}

/// The `from=` fields of `--mount=` words.
fn mount_sources(words: &[(&str, Span)]) -> Vec<Span> {
    let mut found = Vec::new();
    for mount in flag_values(words, "--mount=") {
        let mut position = mount.start;
        for (index, field) in words_text(words, mount).split(',').enumerate() {
            if index > 0 {
                position += 1;
            }
            if let Some(value) = field.strip_prefix("from=") {
                let start = position + "from=".len();
                found.push(Span {
                    start,
                    end: start + value.len(),
                });
            }
            position += field.len();
        }
    }
    found
}

/// The text of `span`, which lies inside one of `words`.
fn words_text<'a>(words: &[(&'a str, Span)], span: Span) -> &'a str {
    words
        .iter()
        .find(|(_, word)| word.start <= span.start && span.end <= word.end)
        .map_or("", |(word, whole)| {
            &word[span.start - whole.start..span.end - whole.start]
        })
}

/// The default values of `ARG NAME=value` (quotes excluded).
fn arg_defaults(text: &str, words: &[(&str, Span)]) -> Vec<Span> {
    words
        .iter()
        .filter_map(|(word, span)| {
            let equals = word.find('=')?;
            let value = Span {
                start: span.start + equals + 1,
                end: span.end,
            };
            (value.end > value.start).then(|| unquote(text, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    fn found(text: &str) -> Vec<(usize, String)> {
        scan(text)
            .into_iter()
            .map(|o| match o.slots {
                Slots::Whole(span) => (o.line, text[span.start..span.end].to_owned()),
                Slots::Split { .. } => unreachable!("Dockerfiles have no split fields"),
            })
            .collect()
    }

    #[test]
    fn reads_from_lines_with_flags_and_stages() {
        let text = format!(
            "# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM {HOST}/go:1.22 AS build\nfrom build as test\nFROM {HOST}/base@sha256:{}\n",
            "c".repeat(64)
        );
        let found = found(&text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], (2, format!("{HOST}/go:1.22")));
        assert_eq!(found[1].0, 4);
    }

    #[test]
    fn reads_copy_from_mounts_and_args() {
        let text = format!(
            "ARG BASE=\"{HOST}/base:1\" OTHER=x\nFROM alpine AS tools\nCOPY --from=tools /a /b\nCOPY --from={HOST}/assets:2 /c /d\nRUN --mount=type=cache,target=/x \\\n    --mount=type=bind,from={HOST}/src:3,target=/src make\nCOPY --from=0 /e /f\n"
        );
        let found = found(&text);
        assert_eq!(
            found,
            [
                (1, format!("{HOST}/base:1")),
                (4, format!("{HOST}/assets:2")),
                (6, format!("{HOST}/src:3")),
            ]
        );
    }
}
