//! How the client authenticates: a Gitea token header, Basic, a bearer token, or nothing.

use std::fmt;

use wharf_oci_core::credentials::Credential;
use wharf_oci_core::secret::Secret;

/// The password Gitea's Basic authentication accepts next to a token given as the user name.
const TOKEN_AS_USER_PASSWORD: &str = "x-oauth-basic";

/// Credentials sent with every request. `Debug` never shows a token or password.
///
/// ```
/// use wharf_gitea_client::Auth;
///
/// let auth = Auth::token("0123456789abcdef");
/// assert_eq!(format!("{auth:?}"), "Token(<redacted>)");
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials: only public packages can be read.
    #[default]
    Anonymous,
    /// A Gitea personal access token, sent as `Authorization: token <PAT>`.
    Token(Secret),
    /// A credential from oci-core: Basic (user with password or token) or a bearer token
    /// (verdaccio's npm tokens, for example).
    Credential(Credential),
}

impl Auth {
    /// A Gitea personal access token (`Authorization: token <PAT>`).
    pub fn token(token: impl Into<Secret>) -> Self {
        Self::Token(token.into())
    }

    /// HTTP Basic with a user and a password or token.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Credential(Credential::basic(username, password))
    }

    /// A bearer token (`Authorization: Bearer <token>`), as npm registries such as verdaccio
    /// hand out.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Credential(Credential::bearer(token))
    }

    /// The `Authorization` header value, if any.
    pub(crate) fn header(&self) -> Option<Secret> {
        match self {
            Self::Anonymous => None,
            Self::Token(token) => Some(Secret::new(format!("token {}", token.expose()))),
            Self::Credential(credential) => credential.authorization_header(),
        }
    }

    /// The credential to present to Gitea's container registry (`/v2/`), which needs Basic:
    /// a token alone is sent as the user name with the password `x-oauth-basic`, which
    /// Gitea's Basic authentication reads as a token.
    pub fn registry_credential(&self) -> Option<Credential> {
        match self {
            Self::Anonymous => None,
            Self::Token(token) => Some(Credential::basic(token.expose(), TOKEN_AS_USER_PASSWORD)),
            Self::Credential(credential) => Some(credential.clone()),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
            Self::Credential(credential) => f.debug_tuple("Credential").field(credential).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_gitea_and_basic_forms() {
        assert_eq!(Auth::token("abc").header().unwrap().expose(), "token abc");
        assert_eq!(
            Auth::basic("u", "p").header().unwrap().expose(),
            "Basic dTpw"
        );
        assert_eq!(Auth::bearer("t").header().unwrap().expose(), "Bearer t");
        assert!(Auth::Anonymous.header().is_none());
    }

    #[test]
    fn debug_hides_every_secret() {
        for auth in [
            Auth::token("s3cret"),
            Auth::basic("user", "s3cret"),
            Auth::bearer("s3cret"),
        ] {
            let text = format!("{auth:?}");
            assert!(!text.contains("s3cret"), "{text}");
        }
    }

    #[test]
    fn token_becomes_basic_for_the_container_registry() {
        let Some(Credential::Basic { username, password }) =
            Auth::token("pat").registry_credential()
        else {
            panic!("expected Basic");
        };
        assert_eq!(
            (username.as_str(), password.expose()),
            ("pat", "x-oauth-basic")
        );
    }
}
