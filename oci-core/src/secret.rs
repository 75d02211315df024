//! A string that must never be printed: passwords, tokens, robot secrets.

use std::fmt;

/// A secret value such as a password or a bearer token.
///
/// `Debug` and `Display` print `<redacted>`, so a secret that ends up in a log line, an error
/// message or a `{:?}` of a config struct reveals nothing. Read the value with
/// [`Secret::expose`] at the single place that needs it (an `Authorization` header, a file
/// written with mode 0600).
///
/// ```
/// use wharf_oci_core::secret::Secret;
///
/// let password = Secret::new("hunter2");
/// assert_eq!(format!("{password:?}"), "<redacted>");
/// assert_eq!(password.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret itself. Call this only where the value leaves the process on purpose.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        assert!(!format!("{secret}").contains("s3cr3t"));
        assert!(!format!("{:?}", Some(&secret)).contains("s3cr3t"));
    }
}
