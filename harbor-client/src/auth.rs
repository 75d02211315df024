//! How the client authenticates to Harbor's API.

use std::sync::Mutex;

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
    ///
    /// Harbor's CSRF check (gorilla/csrf) accepts a token only together with the
    /// `_gorilla_csrf` cookie it was made for. The client learns both from Harbor's answers
    /// (`Set-Cookie` and the `X-Harbor-CSRF-Token` header) and, before its first change, asks
    /// `GET /systeminfo` for them; `csrf_token` is sent only until Harbor has handed out one.
    Session {
        /// The value of the `sid` cookie.
        session_id: Secret,
        /// The value for `X-Harbor-CSRF-Token` until Harbor hands out its own.
        csrf_token: Secret,
    },
}

impl Auth {
    /// Whether this is a session, whose changes need the CSRF cookie and token.
    pub(crate) fn is_session(&self) -> bool {
        matches!(self, Self::Session { .. })
    }

    /// Adds the authentication headers for a request with `method`; a session sends what
    /// `csrf` learnt from Harbor.
    pub(crate) fn apply(&self, method: &Method, headers: &mut HeaderMap, csrf: &CsrfState) {
        match self {
            Self::Anonymous => {}
            Self::Credential(credential) => {
                if let Some(header) = credential.authorization_header() {
                    insert_sensitive(headers, http::header::AUTHORIZATION, header.expose());
                }
            }
            Self::Session {
                session_id,
                csrf_token,
            } => {
                let learnt = csrf.learnt();
                let cookie = match &learnt.cookie {
                    Some(csrf_cookie) => format!(
                        "sid={}; {CSRF_COOKIE}={}",
                        session_id.expose(),
                        csrf_cookie.expose()
                    ),
                    None => format!("sid={}", session_id.expose()),
                };
                insert_sensitive(headers, http::header::COOKIE, &cookie);
                if !method.is_safe() {
                    let token = learnt.token.as_ref().unwrap_or(csrf_token);
                    insert_sensitive(headers, CSRF_HEADER, token.expose());
                    // gorilla/csrf refuses a change over HTTPS whose referer is missing or of
                    // another origin.
                    headers.insert(http::header::REFERER, csrf.referer.clone());
                }
            }
        }
    }
}

/// The cookie gorilla/csrf keeps its secret in.
const CSRF_COOKIE: &str = "_gorilla_csrf";

/// The header Harbor reads and writes CSRF tokens in.
const CSRF_HEADER: &str = "x-harbor-csrf-token";

/// The CSRF cookie and latest token Harbor handed out to this client's session, and the
/// same-origin `Referer` sent with them.
#[derive(Debug)]
pub(crate) struct CsrfState {
    learnt: Mutex<CsrfPair>,
    referer: HeaderValue,
}

/// What Harbor handed out, each kept until it sends a newer one.
#[derive(Debug, Default, Clone)]
pub(crate) struct CsrfPair {
    pub(crate) cookie: Option<Secret>,
    pub(crate) token: Option<Secret>,
}

impl CsrfState {
    /// Nothing learnt yet, for the Harbor at `base` (`Referer: <scheme>://<host>[:port]/`).
    pub(crate) fn for_origin(base: &url::Url) -> Self {
        let origin = base.origin().ascii_serialization();
        Self {
            learnt: Mutex::default(),
            referer: HeaderValue::from_str(&format!("{origin}/"))
                .unwrap_or(HeaderValue::from_static("/")),
        }
    }

    /// A copy of what was learnt so far.
    pub(crate) fn learnt(&self) -> CsrfPair {
        self.pair().clone()
    }

    /// Whether Harbor's CSRF cookie is known (without it, a change would be refused).
    pub(crate) fn has_cookie(&self) -> bool {
        self.pair().cookie.is_some()
    }

    fn pair(&self) -> std::sync::MutexGuard<'_, CsrfPair> {
        // Each field is replaced whole, so a panic elsewhere cannot leave the pair torn.
        self.learnt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the `_gorilla_csrf` cookie and the `X-Harbor-CSRF-Token` of an answer.
    pub(crate) fn learn(&self, headers: &HeaderMap) {
        let cookie = headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(csrf_cookie_value);
        let token = headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|token| !token.is_empty());
        if cookie.is_none() && token.is_none() {
            return;
        }
        let mut pair = self.pair();
        if let Some(cookie) = cookie {
            pair.cookie = Some(Secret::new(cookie));
        }
        if let Some(token) = token {
            pair.token = Some(Secret::new(token));
        }
    }
}

/// The value of a `Set-Cookie: _gorilla_csrf=VALUE; ...` header.
fn csrf_cookie_value(set_cookie: &str) -> Option<&str> {
    let (name, value) = set_cookie.split(';').next()?.split_once('=')?;
    (name.trim() == CSRF_COOKIE && !value.trim().is_empty()).then(|| value.trim())
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

    fn harbor_csrf() -> CsrfState {
        CsrfState::for_origin(&url::Url::parse("https://harbor.example.com/api/v2.0").unwrap())
    }

    #[test]
    fn csrf_token_only_on_unsafe_methods() {
        let auth = Auth::Session {
            session_id: Secret::new("s"),
            csrf_token: Secret::new("c"),
        };
        let csrf = harbor_csrf();
        let mut get = HeaderMap::new();
        auth.apply(&Method::GET, &mut get, &csrf);
        assert_eq!(get["cookie"], "sid=s");
        assert!(get.get("x-harbor-csrf-token").is_none());
        let mut post = HeaderMap::new();
        auth.apply(&Method::POST, &mut post, &csrf);
        assert_eq!(post["x-harbor-csrf-token"], "c");
    }

    #[test]
    fn the_learnt_cookie_and_latest_token_replace_the_given_token() {
        let auth = Auth::Session {
            session_id: Secret::new("s"),
            csrf_token: Secret::new("given"),
        };
        let csrf = harbor_csrf();
        let mut answer = HeaderMap::new();
        answer.append(
            http::header::SET_COOKIE,
            HeaderValue::from_static("sid=s; Path=/; HttpOnly"),
        );
        answer.append(
            http::header::SET_COOKIE,
            HeaderValue::from_static("_gorilla_csrf=real; Path=/; Secure; SameSite=Strict"),
        );
        answer.insert(CSRF_HEADER, HeaderValue::from_static("masked-1"));
        csrf.learn(&answer);
        let mut later = HeaderMap::new();
        later.insert(CSRF_HEADER, HeaderValue::from_static("masked-2"));
        csrf.learn(&later);

        let mut post = HeaderMap::new();
        auth.apply(&Method::POST, &mut post, &csrf);
        assert_eq!(post["cookie"], "sid=s; _gorilla_csrf=real");
        assert_eq!(post["referer"], "https://harbor.example.com/");
        assert_eq!(post["x-harbor-csrf-token"], "masked-2");
        assert!(post["cookie"].is_sensitive() && post["x-harbor-csrf-token"].is_sensitive());
        assert!(!format!("{csrf:?}").contains("real"));
    }

    #[test]
    fn basic_credentials_become_an_authorization_header() {
        let auth = Auth::Credential(Credential::basic("robot$ci", "s3cret"));
        let mut headers = HeaderMap::new();
        auth.apply(&Method::GET, &mut headers, &harbor_csrf());
        assert!(
            headers["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        assert!(headers["authorization"].is_sensitive());
    }
}
