//! Registry authentication: the challenge a registry answers with, the token flow, and a token
//! cache keyed by registry and scope set.
//!
//! The flow, per registry:
//!
//! 1. The first request goes out without credentials. A `401` carries a `WWW-Authenticate`
//!    challenge, which is remembered for the registry.
//! 2. For a `Bearer` challenge the realm is asked for a token with `service` and every scope the
//!    operation needs (Basic credentials attached when the [`CredentialSource`] has them; an
//!    identity token is exchanged with the OAuth2 form, `POST` `grant_type=refresh_token`);
//!    `token` or `access_token`, `expires_in` (default 60 s) and `issued_at` are honoured, and
//!    tokens are refreshed a little before they expire. For a `Basic` challenge the credential
//!    itself is sent.
//! 3. A `401` with `error="insufficient_scope"` widens the scope set with the challenge's scopes
//!    and asks again; ECR's `403` "Your authorization token has expired" invalidates the
//!    credential source once and tries again.
//!
//! Tokens are sent only to the registry whose challenge produced them; the client decides which
//! requests get an `Authorization` header at all (never one to another host).

mod token;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use http::{HeaderMap, StatusCode, header::WWW_AUTHENTICATE};
use tracing::{Instrument as _, debug};

pub use token::{DEFAULT_TOKEN_LIFETIME, Token};
use token::{TokenCache, TokenKey};

use crate::challenge::Challenge;
use crate::credentials::{Credential, CredentialSource};
use crate::error::{Error, RegistryResponse, parse_error_body, redact_url};
use crate::reference::Scope;
use crate::secret::Secret;

/// The body text ECR sends with a 403 when the (Basic) authorization token expired.
const ECR_EXPIRED_TOKEN: &str = "authorization token has expired";

/// The largest token service answer read.
const MAX_TOKEN_BODY: usize = 1024 * 1024;

/// The `client_id` sent with OAuth2 token requests (the spec requires one; Docker sends
/// `docker`).
const OAUTH_CLIENT_ID: &str = "wharf";

/// How a registry wants to be authenticated, as learned from its challenge.
#[derive(Clone)]
enum Scheme {
    Basic,
    Bearer {
        realm: url::Url,
        service: Option<String>,
    },
}

/// What a `401` asks for.
pub(crate) struct Demand {
    scheme: Scheme,
    scopes: Vec<Scope>,
    insufficient_scope: bool,
}

/// Reads the first usable challenge of a `401` (Bearer preferred over Basic).
pub(crate) fn read_demand(headers: &HeaderMap) -> Option<Demand> {
    let challenges: Vec<Challenge> = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Challenge::parse_all)
        .collect();
    let bearer = challenges.iter().find_map(|c| {
        let realm = url::Url::parse(c.realm()?).ok()?;
        c.is_bearer().then(|| Demand {
            scheme: Scheme::Bearer {
                realm,
                service: c.service().map(str::to_owned),
            },
            scopes: c
                .scopes()
                .iter()
                .filter_map(|s| Scope::parse(s).ok())
                .collect(),
            insufficient_scope: c.error() == Some("insufficient_scope"),
        })
    });
    bearer.or_else(|| {
        challenges.iter().any(Challenge::is_basic).then(|| Demand {
            scheme: Scheme::Basic,
            scopes: Vec::new(),
            insufficient_scope: false,
        })
    })
}

/// True for ECR's `403` that means "refresh your credential and try again".
pub(crate) fn is_expired_credential(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::FORBIDDEN
        && String::from_utf8_lossy(body)
            .to_ascii_lowercase()
            .contains(ECR_EXPIRED_TOKEN)
}

/// Holds what the client knows about each registry's auth, and its tokens.
pub(crate) struct Authenticator {
    http: reqwest::Client,
    credentials: Arc<dyn CredentialSource>,
    schemes: Mutex<HashMap<String, Scheme>>,
    tokens: Mutex<TokenCache>,
    fetch_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub(crate) fn new(http: reqwest::Client, credentials: Arc<dyn CredentialSource>) -> Self {
        Self {
            http,
            credentials,
            schemes: Mutex::default(),
            tokens: Mutex::default(),
            fetch_locks: Mutex::default(),
        }
    }

    /// The `Authorization` value for a request to `registry` needing `scopes`, or `None` while
    /// the registry has not asked for any.
    pub(crate) async fn authorization(
        &self,
        registry: &str,
        scopes: &[Scope],
    ) -> Result<Option<Secret>, Error> {
        let scheme = self
            .schemes
            .lock()
            .expect("scheme lock")
            .get(registry)
            .cloned();
        match scheme {
            None => Ok(None),
            Some(Scheme::Basic) => self.credential_header(registry).await,
            Some(Scheme::Bearer { realm, service }) => self
                .bearer(registry, &realm, service.as_deref(), scopes, false)
                .await
                .map(Some),
        }
    }

    /// Learns from a `401`. Returns the scopes to ask for next, or `None` when another try
    /// cannot help (no challenge, or a Basic challenge without credentials).
    pub(crate) async fn on_unauthorized(
        &self,
        registry: &str,
        scopes: &[Scope],
        headers: &HeaderMap,
    ) -> Result<Option<Vec<Scope>>, Error> {
        let Some(demand) = read_demand(headers) else {
            return Ok(None);
        };
        let wanted = widen(scopes, &demand.scopes);
        self.schemes
            .lock()
            .expect("scheme lock")
            .insert(registry.to_owned(), demand.scheme.clone());
        match demand.scheme {
            Scheme::Basic => {
                let has_credential = self.credential_header(registry).await?.is_some();
                Ok(has_credential.then_some(wanted))
            }
            Scheme::Bearer { realm, service } => {
                debug!(
                    registry,
                    insufficient_scope = demand.insufficient_scope,
                    "bearer challenge"
                );
                self.forget_token(registry, scopes);
                self.bearer(registry, &realm, service.as_deref(), &wanted, true)
                    .await?;
                Ok(Some(wanted))
            }
        }
    }

    /// Handles a rejected credential (ECR's expired-token 403): the source is told, and every
    /// token of the registry is dropped.
    pub(crate) async fn on_expired_credential(&self, registry: &str) {
        debug!(
            registry,
            "credential rejected as expired; invalidating the credential source"
        );
        self.credentials.invalidate(registry).await;
        self.tokens
            .lock()
            .expect("token lock")
            .forget_registry(registry);
    }

    fn forget_token(&self, registry: &str, scopes: &[Scope]) {
        self.tokens
            .lock()
            .expect("token lock")
            .forget(&TokenKey::new(registry, scopes));
    }

    async fn credential_header(&self, registry: &str) -> Result<Option<Secret>, Error> {
        let credential = self.credentials.credential(registry).await?;
        Ok(credential.and_then(|c| c.authorization_header()))
    }

    async fn bearer(
        &self,
        registry: &str,
        realm: &url::Url,
        service: Option<&str>,
        scopes: &[Scope],
        force: bool,
    ) -> Result<Secret, Error> {
        let key = TokenKey::new(registry, scopes);
        if !force && let Some(token) = self.cached(&key) {
            return Ok(token);
        }

        let lock = self.fetch_lock(registry);
        let _single_flight = lock.lock().await;
        if !force && let Some(token) = self.cached(&key) {
            return Ok(token);
        }

        let credential = self.credentials.credential(registry).await?;
        let token = match &credential {
            // A bearer credential is presented as is; there is nothing to exchange.
            Some(Credential::Bearer(token)) => {
                return Ok(Secret::new(format!("Bearer {}", token.expose())));
            }
            Some(Credential::IdentityToken(refresh_token)) => {
                self.exchange_refresh_token(realm, service, scopes, refresh_token)
                    .await?
            }
            basic_or_none => {
                self.fetch_token(realm, service, scopes, basic_or_none.as_ref())
                    .await?
            }
        };
        let remaining = token.remaining(SystemTime::now());
        let header = Secret::new(format!("Bearer {}", token.value.expose()));
        self.tokens.lock().expect("token lock").insert(
            key,
            header.clone(),
            remaining,
            Instant::now(),
        );
        Ok(header)
    }

    fn cached(&self, key: &TokenKey) -> Option<Secret> {
        self.tokens
            .lock()
            .expect("token lock")
            .get(key, Instant::now())
    }

    fn fetch_lock(&self, registry: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.fetch_locks.lock().expect("fetch lock");
        locks.entry(registry.to_owned()).or_default().clone()
    }

    async fn fetch_token(
        &self,
        realm: &url::Url,
        service: Option<&str>,
        scopes: &[Scope],
        credential: Option<&Credential>,
    ) -> Result<Token, Error> {
        let url = token_url(realm, service, scopes);
        let span = tracing::debug_span!("token", realm = %redact_url(realm), scopes = scopes.len());
        let mut request = self.http.get(url.clone());
        if let Some(header) = credential.and_then(Credential::authorization_header) {
            request = request.header(http::header::AUTHORIZATION, header.expose());
        }
        self.read_token(request, http::Method::GET, realm, &url)
            .instrument(span)
            .await
    }

    /// The OAuth2 form of the token protocol for an identity token: `POST <realm>` with
    /// `grant_type=refresh_token`, `service`, the scopes space-separated and a `client_id`.
    async fn exchange_refresh_token(
        &self,
        realm: &url::Url,
        service: Option<&str>,
        scopes: &[Scope],
        refresh_token: &Secret,
    ) -> Result<Token, Error> {
        let span = tracing::debug_span!(
            "token",
            realm = %redact_url(realm),
            scopes = scopes.len(),
            grant = "refresh_token"
        );
        let request = self
            .http
            .post(realm.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(refresh_token_form(service, scopes, refresh_token));
        self.read_token(request, http::Method::POST, realm, realm)
            .instrument(span)
            .await
    }

    /// Sends a token request and reads the token out of a successful answer.
    async fn read_token(
        &self,
        request: reqwest::RequestBuilder,
        method: http::Method,
        realm: &url::Url,
        url: &url::Url,
    ) -> Result<Token, Error> {
        let realm_text = redact_url(realm);
        let response = request.send().await.map_err(|source| Error::Http {
            method: method.clone(),
            url: realm_text.clone(),
            source,
        })?;
        let status = response.status();
        let request_id = crate::client::request_id(response.headers());
        let body =
            crate::client::read_capped(response, MAX_TOKEN_BODY, "token answer", url).await?;
        if !status.is_success() {
            return Err(Error::Token {
                realm: realm_text.clone(),
                reason: format!("token service answered {status}"),
                response: Some(Box::new(RegistryResponse {
                    method,
                    url: realm_text,
                    status,
                    errors: parse_error_body(&body),
                    request_id,
                })),
            });
        }
        Token::from_json(&body).map_err(|reason| Error::Token {
            realm: realm_text,
            reason,
            response: None,
        })
    }
}

/// The form body of an OAuth2 `grant_type=refresh_token` token request.
fn refresh_token_form(service: Option<&str>, scopes: &[Scope], refresh_token: &Secret) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "refresh_token")
        .append_pair("client_id", OAUTH_CLIENT_ID)
        .append_pair("refresh_token", refresh_token.expose());
    if let Some(service) = service {
        form.append_pair("service", service);
    }
    if !scopes.is_empty() {
        let scope: Vec<String> = scopes.iter().map(ToString::to_string).collect();
        form.append_pair("scope", &scope.join(" "));
    }
    form.finish()
}

/// The realm URL with `service` and one `scope` parameter per scope.
fn token_url(realm: &url::Url, service: Option<&str>, scopes: &[Scope]) -> url::Url {
    let mut url = realm.clone();
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = service {
            query.append_pair("service", service);
        }
        for scope in scopes {
            query.append_pair("scope", &scope.to_string());
        }
    }
    url
}

/// The scopes asked for plus those a challenge names, merged per resource.
fn widen(asked: &[Scope], demanded: &[Scope]) -> Vec<Scope> {
    let mut merged: Vec<Scope> = asked.to_vec();
    for extra in demanded {
        if !merged.iter_mut().any(|scope| scope.merge(extra)) {
            merged.push(extra.clone());
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_challenge_with_scope_and_error() {
        let demand = read_demand(&headers(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error="insufficient_scope""#,
        ))
        .unwrap();
        assert!(demand.insufficient_scope);
        assert_eq!(demand.scopes[0].to_string(), "repository:a/b:pull,push");
        assert!(
            matches!(demand.scheme, Scheme::Bearer { ref service, .. } if service.as_deref() == Some("registry.example"))
        );
    }

    #[test]
    fn basic_challenge() {
        let demand = read_demand(&headers(r#"Basic realm="Registry Realm""#)).unwrap();
        assert!(matches!(demand.scheme, Scheme::Basic));
    }

    #[test]
    fn token_url_carries_service_and_every_scope() {
        let realm = url::Url::parse("https://auth.example/token?x=1").unwrap();
        let scopes = [
            Scope::parse("repository:a:pull,push").unwrap(),
            Scope::parse("repository:b:pull").unwrap(),
        ];
        let url = token_url(&realm, Some("reg"), &scopes);
        assert_eq!(
            url.as_str(),
            "https://auth.example/token?x=1&service=reg&scope=repository%3Aa%3Apull%2Cpush&scope=repository%3Ab%3Apull"
        );
    }

    #[test]
    fn widening_merges_actions_per_resource() {
        let asked = [Scope::parse("repository:a:pull").unwrap()];
        let demanded = [
            Scope::parse("repository:a:push").unwrap(),
            Scope::parse("repository:b:pull").unwrap(),
        ];
        let wide: Vec<String> = widen(&asked, &demanded)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(wide, ["repository:a:pull,push", "repository:b:pull"]);
    }

    #[test]
    fn ecr_expired_token_is_recognised() {
        assert!(is_expired_credential(
            StatusCode::FORBIDDEN,
            b"Your authorization token has expired. Reauthenticate and try again."
        ));
        assert!(!is_expired_credential(StatusCode::FORBIDDEN, b"denied"));
        assert!(!is_expired_credential(
            StatusCode::UNAUTHORIZED,
            b"Your authorization token has expired"
        ));
    }
}
