//! Rust spelling: identifiers, types and doc comments derived from spec names and schemas.

use std::fmt::Write as _;

use serde_json::Value;

use super::spec::ref_name;

/// Rust keywords that cannot be field names without `r#`.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "typeof", "unsafe", "unsized",
    "use", "virtual", "where", "while", "yield", "macro", "do", "try",
];

/// Property names whose string values are credentials: `Option<Secret>` in the models.
const SECRET_FIELDS: &[&str] = &[
    "secret",
    "password",
    "old_password",
    "new_password",
    "access_secret",
    "access_credential",
    "ldap_search_password",
    "uaa_client_secret",
    "oidc_client_secret",
    "auth_header",
];

/// Splits a name into lowercase words at `_`, `-`, `.`, spaces and case changes.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev_lower =
            i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
        let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
        let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
        if c.is_ascii_uppercase()
            && !current.is_empty()
            && (prev_lower || (prev_upper && next_lower))
        {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `snake_case`, with `r#` for keywords.
pub fn field_name(name: &str) -> String {
    let snake = words(name).join("_");
    if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

/// `PascalCase`.
pub fn type_name(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|f| f.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The JSON name serde sees for a Rust field name (without `r#`).
pub fn serde_name(field: &str) -> &str {
    field.strip_prefix("r#").unwrap_or(field)
}

/// True when a string property holds a credential.
pub fn is_secret(property: &str, schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("string")
        && SECRET_FIELDS.contains(&property)
}

/// The Rust type of a schema, as written in generated code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    String,
    Secret,
    Int,
    Float,
    Bool,
    Time,
    Json,
    Bytes,
    Named(String),
    List(Box<Ty>),
    Map(Box<Ty>),
    /// A hand-written type from the crate, as a path.
    Custom(String),
}

impl Ty {
    /// Maps a schema; `inline_name` names the struct generated for inline object schemas.
    pub fn of(schema: &Value, inline_name: &str) -> Self {
        if let Some(name) = ref_name(schema) {
            return Self::Named(type_name(name));
        }
        let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        match kind {
            "string" if format == "date-time" => Self::Time,
            "string" => Self::String,
            "integer" => Self::Int,
            "number" => Self::Float,
            "boolean" => Self::Bool,
            "file" => Self::Bytes,
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(Value::Null);
                Self::List(Box::new(Self::of(&items, &format!("{inline_name}Item"))))
            }
            "object" if schema.get("properties").is_some() => Self::Named(inline_name.to_owned()),
            "object" => match schema.get("additionalProperties") {
                Some(inner) if inner.get("type").is_some() || ref_name(inner).is_some() => {
                    Self::Map(Box::new(Self::of(inner, &format!("{inline_name}Value"))))
                }
                _ => Self::Json,
            },
            _ => Self::Json,
        }
    }

    /// The type as Rust source.
    pub fn render(&self) -> String {
        match self {
            Self::String => "String".to_owned(),
            Self::Secret => "Secret".to_owned(),
            Self::Int => "i64".to_owned(),
            Self::Float => "f64".to_owned(),
            Self::Bool => "bool".to_owned(),
            Self::Time => "OffsetDateTime".to_owned(),
            Self::Json => "Value".to_owned(),
            Self::Bytes => "Bytes".to_owned(),
            Self::Named(name) | Self::Custom(name) => name.clone(),
            Self::List(inner) => format!("Vec<{}>", inner.render()),
            Self::Map(inner) => format!("BTreeMap<String, {}>", inner.render()),
        }
    }

    /// The type as Rust source outside `models.rs`: models, maps and JSON values qualified.
    pub fn render_qualified(&self) -> String {
        match self {
            Self::Json => "serde_json::Value".to_owned(),
            Self::Bytes => "bytes::Bytes".to_owned(),
            Self::Named(name) => format!("models::{name}"),
            Self::List(inner) => format!("Vec<{}>", inner.render_qualified()),
            Self::Map(inner) => format!(
                "std::collections::BTreeMap<String, {}>",
                inner.render_qualified()
            ),
            _ => self.render(),
        }
    }
}

/// Doc comment lines (`///`) from spec prose, safe for rustdoc: no code blocks from
/// indentation, no accidental links or HTML tags, URLs in angle brackets.
pub fn doc_lines(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut previous_blank = true;
    for line in text.trim().lines() {
        let line = escape_markdown(line.trim());
        if line.is_empty() && previous_blank {
            continue;
        }
        previous_blank = line.is_empty();
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
    out
}

fn escape_markdown(line: &str) -> String {
    let mut out = String::new();
    for token in line.split(' ') {
        if !out.is_empty() {
            out.push(' ');
        }
        if token.starts_with("http://") || token.starts_with("https://") {
            let url = token.trim_end_matches(['.', ',', ')']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            out.push_str(&token[url.len()..]);
            continue;
        }
        for c in token.chars() {
            match c {
                '[' | ']' | '<' | '>' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rust_conventions() {
        assert_eq!(field_name("skip_certVerify"), "skip_cert_verify");
        assert_eq!(field_name("os.version"), "os_version");
        assert_eq!(field_name("X-Is-Resource-Name"), "x_is_resource_name");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(type_name("CVEAllowlist"), "CveAllowlist");
        assert_eq!(type_name("getHealth"), "GetHealth");
        assert_eq!(
            type_name("listRegistryProviderInfos"),
            "ListRegistryProviderInfos"
        );
    }

    #[test]
    fn docs_escape_markdown_and_wrap_urls() {
        let doc = doc_lines("range(k=[min~max]) see https://x.io/a.", "");
        assert_eq!(doc, "/// range(k=\\[min~max\\]) see <https://x.io/a>.\n");
    }
}
