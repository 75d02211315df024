//! Path patterns of `.trivyignore.yaml` (`paths:`), with the doublestar rules Trivy uses:
//! `*` and `?` stay within one path segment, a `**` segment spans any number of segments,
//! `[abc]`/`[a-z]`/`[!a]` classes and `{a,b}` alternatives.

/// Whether `pattern` is well formed (balanced brackets and braces).
pub(crate) fn is_valid(pattern: &str) -> bool {
    let mut brackets = false;
    let mut braces = 0_i32;
    let mut chars = pattern.chars();
    while let Some(character) = chars.next() {
        match character {
            '\\' if chars.next().is_none() => return false,
            '[' if !brackets => brackets = true,
            ']' if brackets => brackets = false,
            '{' if !brackets => braces += 1,
            '}' if !brackets => {
                braces -= 1;
                if braces < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    !brackets && braces == 0
}

/// Whether `path` matches `pattern`.
pub(crate) fn matches(pattern: &str, path: &str) -> bool {
    expand_braces(pattern).iter().any(|alternative| {
        let pattern_segments: Vec<&str> = alternative.split('/').collect();
        let path_segments: Vec<&str> = path.split('/').collect();
        match_segments(&pattern_segments, &path_segments)
    })
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                match_segment(
                    &first.chars().collect::<Vec<_>>(),
                    &segment.chars().collect::<Vec<_>>(),
                ) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

fn match_segment(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| match_segment(rest, &text[skip..])),
        Some(('?', rest)) => !text.is_empty() && match_segment(rest, &text[1..]),
        Some(('[', rest)) => match_class(rest, text),
        Some(('\\', rest)) if !rest.is_empty() => {
            text.first() == Some(&rest[0]) && match_segment(&rest[1..], &text[1..])
        }
        Some((literal, rest)) => text.first() == Some(literal) && match_segment(rest, &text[1..]),
    }
}

fn match_class(pattern: &[char], text: &[char]) -> bool {
    let Some(close) = pattern.iter().position(|character| *character == ']') else {
        return false;
    };
    let Some(&candidate) = text.first() else {
        return false;
    };

    let (negated, class) = match pattern[..close].split_first() {
        Some(('!' | '^', class)) => (true, class),
        _ => (false, &pattern[..close]),
    };
    let mut found = false;
    let mut index = 0;
    while index < class.len() {
        if index + 2 < class.len() && class[index + 1] == '-' {
            found |= class[index] <= candidate && candidate <= class[index + 2];
            index += 3;
        } else {
            found |= class[index] == candidate;
            index += 1;
        }
    }
    found != negated && match_segment(&pattern[close + 1..], &text[1..])
}

/// Expands `{a,b}` alternatives (nested ones included) into plain patterns.
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_owned()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut splits = Vec::new();
    for (index, character) in pattern[open..].char_indices() {
        match character {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + index);
                    break;
                }
            }
            ',' if depth == 1 => splits.push(open + index),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_owned()];
    };

    let mut bounds = vec![open];
    bounds.extend(splits);
    bounds.push(close);
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    bounds
        .windows(2)
        .flat_map(|window| {
            let alternative = &pattern[window[0] + 1..window[1]];
            expand_braces(&format!("{prefix}{alternative}{suffix}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doublestar_semantics() {
        assert!(matches("foo/**/bar.txt", "foo/bar.txt"));
        assert!(matches("foo/**/bar.txt", "foo/a/b/bar.txt"));
        assert!(matches("**/package-lock.json", "app/package-lock.json"));
        assert!(matches("**", "any/path/at/all"));
        assert!(matches("*.lock", "Cargo.lock"));
        assert!(!matches("*.lock", "sub/Cargo.lock"));
        assert!(matches("file?.txt", "file1.txt"));
        assert!(matches("[a-c].go", "b.go"));
        assert!(!matches("[!a-c].go", "b.go"));
        assert!(matches("{foo,bar}/x", "bar/x"));
        assert!(!matches("foo", "foo/bar"));
    }

    #[test]
    fn validation() {
        assert!(is_valid("foo/**/{a,b}[x-z]"));
        assert!(!is_valid("foo[abc"));
        assert!(!is_valid("foo{a,b"));
    }
}
