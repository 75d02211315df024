//! `WWW-Authenticate` challenges (RFC 9110 section 11.6.1): Basic and Bearer, several in one
//! header or across headers, quoted values with commas and escaped quotes.
//!
//! Parsing is lenient: a malformed tail ends the list, and the challenges before it are kept,
//! so one odd challenge does not hide a usable one. The functions never panic on any input.
//!
//! ```
//! use wharf_oci_core::challenge::Challenge;
//!
//! let header = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push""#;
//! let challenges = Challenge::parse_all(header);
//! let bearer = &challenges[0];
//! assert!(bearer.is_bearer());
//! assert_eq!(bearer.realm(), Some("https://auth.example/token"));
//! assert_eq!(bearer.service(), Some("registry.example"));
//! assert_eq!(bearer.scopes(), ["repository:team/app:pull,push"]);
//! ```

/// One authentication challenge: a scheme and its parameters (or a token68).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
    token68: Option<String>,
}

impl Challenge {
    /// Every challenge in one header value, in order.
    pub fn parse_all(header_value: &str) -> Vec<Self> {
        let mut cursor = Cursor::new(header_value);
        let mut challenges = Vec::new();

        loop {
            cursor.skip_separators();
            let Some(scheme) = cursor.token() else {
                break;
            };
            let mut challenge = Self {
                scheme: scheme.to_owned(),
                params: Vec::new(),
                token68: None,
            };

            cursor.skip_spaces();
            challenge.token68 = cursor.token68();
            let complete = challenge.token68.is_some() || challenge.read_params(&mut cursor);
            challenges.push(challenge);
            if !complete {
                break;
            }
        }
        challenges
    }

    /// Every challenge in several header values (one per `WWW-Authenticate` header), in order.
    pub fn parse_headers<'a>(header_values: impl IntoIterator<Item = &'a str>) -> Vec<Self> {
        header_values
            .into_iter()
            .flat_map(Self::parse_all)
            .collect()
    }

    /// Reads `name=value` pairs until the next challenge's scheme or the end. Returns false
    /// when the input is malformed and parsing must stop.
    fn read_params(&mut self, cursor: &mut Cursor<'_>) -> bool {
        loop {
            cursor.skip_separators();
            if cursor.at_end() {
                return true;
            }

            let name_start = cursor.position();
            let Some(name) = cursor.token() else {
                return false;
            };
            cursor.skip_spaces();
            if !cursor.eat(b'=') {
                cursor.rewind(name_start);
                return true;
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
            self.params.push((name.to_ascii_lowercase(), value));
        }
    }

    /// The scheme as written (`Bearer`, `Basic`, …).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the scheme is `Bearer` (in any case).
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// Whether the scheme is `Basic` (in any case).
    pub fn is_basic(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("basic")
    }

    /// The first parameter named `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// All parameters, names lowercased, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The token68 form of the credentials, if the challenge uses it instead of parameters.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The `realm`: the token endpoint for Bearer, a label for Basic.
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    /// The `service` to name in a token request.
    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    /// The scopes asked for: every `scope` parameter, split at spaces.
    pub fn scopes(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(key, _)| key == "scope")
            .flat_map(|(_, value)| value.split(' '))
            .filter(|scope| !scope.is_empty())
            .collect()
    }

    /// The `error` parameter, e.g. `insufficient_scope` or `invalid_token`.
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }

    /// Whether the registry said the token lacks a scope (ask again with a wider one).
    pub fn is_insufficient_scope(&self) -> bool {
        self.error() == Some("insufficient_scope")
    }
}

/// A byte cursor over a header value with the RFC 9110 token and quoted-string rules; shared
/// with the `Link` parser.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            text,
            position: 0,
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn rewind(&mut self, position: usize) {
        self.position = position;
    }

    pub(crate) fn at_end(&self) -> bool {
        self.position >= self.bytes.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.position += 1;
        }
        found
    }

    pub(crate) fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.position += 1;
        }
    }

    pub(crate) fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.position += 1;
        }
    }

    /// Consumes bytes while `accept` holds and returns them; `None` when there are none.
    /// `accept` only admits ASCII, so the slice ends on a character boundary.
    fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> Option<&'a str> {
        let start = self.position;
        while self.peek().is_some_and(&accept) {
            self.position += 1;
        }
        (self.position > start).then(|| &self.text[start..self.position])
    }

    pub(crate) fn token(&mut self) -> Option<&'a str> {
        self.take_while(is_tchar)
    }

    /// A token68 that is the whole rest of the challenge (followed by the end or a comma).
    fn token68(&mut self) -> Option<String> {
        let start = self.position;
        let body = self.take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        while self.eat(b'=') {}
        let end = self.position;
        self.skip_spaces();
        if body.is_some() && (self.at_end() || self.peek() == Some(b',')) {
            return Some(self.text[start..end].to_owned());
        }
        self.rewind(start);
        None
    }

    /// A quoted string with `\` escapes removed; `None` when the closing quote is missing.
    pub(crate) fn quoted_string(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut value = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.position += 1;
                    return Some(String::from_utf8_lossy(&value).into_owned());
                }
                b'\\' => {
                    self.position += 1;
                    value.push(self.peek()?);
                }
                byte => value.push(byte),
            }
            self.position += 1;
        }
    }

    /// Consumes up to (not including) `stop` and returns what it passed; `None` when `stop`
    /// never comes.
    pub(crate) fn until(&mut self, stop: u8) -> Option<&'a str> {
        let start = self.position;
        let offset = self.bytes[start..].iter().position(|&b| b == stop)?;
        self.position = start + offset;
        Some(&self.text[start..self.position])
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bearer_with_all_registry_parameters() {
        let header = r#"Bearer realm="http://127.0.0.1:5001/token",service="reg",scope="repository:a/b:pull,push",error="insufficient_scope""#;
        let challenges = Challenge::parse_all(header);
        assert_eq!(challenges.len(), 1);
        let bearer = &challenges[0];
        assert_eq!(bearer.scheme(), "Bearer");
        assert_eq!(bearer.realm(), Some("http://127.0.0.1:5001/token"));
        assert_eq!(bearer.service(), Some("reg"));
        assert_eq!(bearer.scopes(), ["repository:a/b:pull,push"]);
        assert_eq!(bearer.error(), Some("insufficient_scope"));
        assert!(bearer.is_insufficient_scope());
    }

    #[test]
    fn several_challenges_in_one_header() {
        let header = r#"Basic realm="Harbor, with a comma", Bearer realm="https://a/t",service=harbor-registry , Negotiate"#;
        let challenges = Challenge::parse_all(header);
        let schemes: Vec<_> = challenges.iter().map(Challenge::scheme).collect();
        assert_eq!(schemes, ["Basic", "Bearer", "Negotiate"]);
        assert!(challenges[0].is_basic());
        assert_eq!(challenges[0].realm(), Some("Harbor, with a comma"));
        assert_eq!(challenges[1].service(), Some("harbor-registry"));
        assert!(challenges[2].params().is_empty());
    }

    #[test]
    fn challenges_across_headers() {
        let challenges = Challenge::parse_headers([r#"basic realm="x""#, r#"BEARER realm="y""#]);
        assert!(challenges[0].is_basic());
        assert!(challenges[1].is_bearer());
        assert_eq!(challenges[1].realm(), Some("y"));
    }

    #[test]
    fn escaped_quotes_spaces_and_case() {
        let header =
            r#"Bearer  Realm = "say \"hi\", \\ ok" , SCOPE="repository:a:pull repository:b:pull""#;
        let bearer = &Challenge::parse_all(header)[0];
        assert_eq!(bearer.realm(), Some(r#"say "hi", \ ok"#));
        assert_eq!(bearer.scopes(), ["repository:a:pull", "repository:b:pull"]);
    }

    #[test]
    fn token68_and_bare_schemes() {
        let challenges = Challenge::parse_all("Custom abc+/def==, Bearer");
        assert_eq!(challenges[0].token68(), Some("abc+/def=="));
        assert!(challenges[1].is_bearer());
        assert_eq!(challenges[1].realm(), None);
    }

    #[test]
    fn malformed_tails_keep_earlier_challenges() {
        let challenges = Challenge::parse_all(r#"Basic realm="a", Bearer realm="unterminated"#);
        assert_eq!(challenges.len(), 2);
        assert_eq!(challenges[0].realm(), Some("a"));
        assert_eq!(challenges[1].realm(), None);

        assert!(Challenge::parse_all("").is_empty());
        assert!(Challenge::parse_all(" , ,").is_empty());
        assert!(Challenge::parse_all("\"quoted\"").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(input in "\\PC{0,120}") {
            let _ = Challenge::parse_all(&input);
        }

        #[test]
        fn quoted_realms_round_trip(realm in "[ -~]{0,40}") {
            let escaped = realm.replace('\\', "\\\\").replace('"', "\\\"");
            let header = format!(r#"Bearer realm="{escaped}",service="s""#);
            let challenges = Challenge::parse_all(&header);
            prop_assert_eq!(challenges[0].realm(), Some(realm.as_str()));
            prop_assert_eq!(challenges[0].service(), Some("s"));
        }
    }
}
