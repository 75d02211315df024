//! The few HTML entities that package indexes put into attributes and link texts.

/// Replaces `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;` / `&#x27;` and other numeric references.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let Some(end) = rest.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        match entity(&rest[1..end]) {
            Some(character) => out.push(character),
            None => out.push_str(&rest[..=end]),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn named_and_numeric_entities() {
        assert_eq!(
            unescape("&gt;=3.8, &lt;4 &amp; &#39;x&#x27; &quot;"),
            ">=3.8, <4 & 'x' \""
        );
        assert_eq!(unescape("a & b &unknown; &"), "a & b &unknown; &");
    }
}
