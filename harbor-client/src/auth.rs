//! How the client authenticates to Harbor's API.

use http::{HeaderMap, HeaderValue, Method};
use wharf_oci_core::credentials::Credential;
use wharf_oci_core::secret::Secret;

/// The way requests are authenticated.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials: only public data, `/ping`, `/health` and `/systeminfo` work.
    #[default]
    Anonymous,
    /// A user with a password, a robot with its secret, or a user with an OIDC CLI secret
    /// (Basic), or an OIDC ID token (Bearer).
    Credential(Credential),
    /// A browser session: the `sid` cookie plus the CSRF token Harbor requires on every
    /// request that changes state.
    Session {
        /// The value of the `sid` cookie.
        session_id: Secret,
        /// The value for `X-Harbor-CSRF-Token`.
        csrf_token: Secret,
    },
}

impl Auth {
    /// Adds the authentication headers for a request with `method`.
    pub(crate) fn apply(&self, method: &Method, headers: &mut HeaderMap) {
        match self {
            Self::Anonymous => {}
            Self::Credential(credential) => {
                insert_sensitive(
                    headers,
                    http::header::AUTHORIZATION,
                    credential.authorization_header().expose(),
                );
            }
            Self::Session {
                session_id,
                csrf_token,
            } => {
                insert_sensitive(
                    headers,
                    http::header::COOKIE,
                    &format!("sid={}", session_id.expose()),
                );
                if !method.is_safe() {
                    insert_sensitive(headers, "x-harbor-csrf-token", csrf_token.expose());
                }
            }
        }
    }
}

fn insert_sensitive(headers: &mut HeaderMap, name: impl http::header::IntoHeaderName, value: &str) {
    if let Ok(mut value) = HeaderValue::from_str(value) {
        value.set_sensitive(true);
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_token_only_on_unsafe_methods() {
        let auth = Auth::Session {
            session_id: Secret::new("s"),
            csrf_token: Secret::new("c"),
        };
        let mut get = HeaderMap::new();
        auth.apply(&Method::GET, &mut get);
        assert_eq!(get["cookie"], "sid=s");
        assert!(get.get("x-harbor-csrf-token").is_none());
        let mut post = HeaderMap::new();
        auth.apply(&Method::POST, &mut post);
        assert_eq!(post["x-harbor-csrf-token"], "c");
    }

    #[test]
    fn basic_credentials_become_an_authorization_header() {
        let auth = Auth::Credential(Credential::basic("robot$ci", "s3cret"));
        let mut headers = HeaderMap::new();
        auth.apply(&Method::GET, &mut headers);
        assert!(
            headers["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        assert!(headers["authorization"].is_sensitive());
    }
}
