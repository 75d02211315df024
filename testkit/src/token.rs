//! A Docker registry token service: RS256 JWTs that distribution accepts.
//!
//! [`TokenIssuer`] signs tokens for a subject and a list of [`Access`] grants, with the issuer
//! certificate in the JWT `x5c` header (distribution verifies that chain against its
//! `auth.token.rootcertbundle`). [`router`] serves the token protocol over HTTP: `GET /token`
//! with `service`, repeated `scope` parameters and optional Basic credentials, answering
//! `token`, `access_token`, `expires_in` and `issued_at`; and its OAuth2 form, `POST /token`
//! with `grant_type=password` (`access_type=offline` also hands out a refresh token, as
//! `docker login` asks for an identity token) or `grant_type=refresh_token`. Who gets what is
//! decided by a [`UserTable`]; other simulators can reuse the issuer with their own
//! permission logic.
//!
//! ```no_run
//! use std::time::Duration;
//! use wharf_testkit::pki::CertificateAuthority;
//! use wharf_testkit::token::{router, Access, TokenIssuer, TokenService, UserTable};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::path::Path::new("target/token-example");
//! let ca = CertificateAuthority::create(dir, "ca")?;
//! let signer = ca.issue_signer(dir, "token-signer")?;
//! let issuer = TokenIssuer::from_pem("wharf-token-service", &signer.cert_pem()?, &signer.key_pem()?)?
//!     .with_ttl(Duration::from_secs(2));
//!
//! let token = issuer.issue("alice", "wharf-registry", &[Access::repository("team/app", &["pull"])])?;
//! assert_eq!(token.expires_in, 2);
//!
//! let users = UserTable::new().with_user("alice", "secret");
//! let app = router(TokenService::new(issuer, users));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Default lifetime of an issued token (distribution's clients assume 60 s when absent).
pub const DEFAULT_TTL: Duration = Duration::from_mins(5);

/// How far past a token's `exp` distribution still accepts it (its `token.Leeway`, meant for
/// clock skew). See [`TokenIssuer::with_verifier_leeway`].
pub const DISTRIBUTION_LEEWAY: Duration = Duration::from_mins(1);

/// Failure to build an issuer or to sign a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The PEM certificate has no `CERTIFICATE` block.
    #[error("no certificate in the issuer PEM")]
    MissingCertificate,
    /// The private key could not be read or the token not signed.
    #[error("cannot {action} with the issuer key")]
    Jwt {
        /// `read the key` or `sign the token`.
        action: &'static str,
        /// The cause.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}

/// One grant in a token: a resource type, a name and the actions allowed on it.
///
/// Serialises as distribution expects: `{"type": "repository", "name": "a/b", "actions": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Resource type, usually `repository` (or `registry` for `catalog`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Resource name, e.g. `team/app` or `catalog`.
    pub name: String,
    /// Granted actions, e.g. `pull`, `push`, `delete`, `*`.
    pub actions: Vec<String>,
}

impl Access {
    /// A `repository` grant.
    pub fn repository(name: &str, actions: &[&str]) -> Self {
        Self {
            kind: "repository".to_owned(),
            name: name.to_owned(),
            actions: actions.iter().map(|action| (*action).to_owned()).collect(),
        }
    }

    /// Parses a scope `type:name:action,action` (the name may contain `:`, e.g. a port).
    /// Returns `None` for a malformed scope.
    pub fn parse_scope(scope: &str) -> Option<Self> {
        let (kind, rest) = scope.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions = actions
            .split(',')
            .filter(|action| !action.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Self {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }
}

/// The JWT claims distribution reads.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    access: &'a [Access],
}

/// A signed token and its lifetime, as the token protocol reports them.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Issue time, RFC 3339.
    pub issued_at: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// Signs RS256 registry tokens with a key whose certificate goes into the `x5c` header.
#[derive(Clone)]
pub struct TokenIssuer {
    issuer: String,
    key: EncodingKey,
    certificate_chain: Vec<String>,
    ttl: Duration,
    verifier_leeway: Duration,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("ttl", &self.ttl)
            .field("verifier_leeway", &self.verifier_leeway)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer named `issuer` (the `iss` claim; distribution's `auth.token.issuer`) signing
    /// with the RSA `key_pem`, whose certificate(s) `cert_pem` (leaf first) go into `x5c`.
    /// Tokens live [`DEFAULT_TTL`] unless [`TokenIssuer::with_ttl`] says otherwise.
    pub fn from_pem(issuer: &str, cert_pem: &str, key_pem: &str) -> Result<Self, TokenError> {
        let key =
            EncodingKey::from_rsa_pem(key_pem.as_bytes()).map_err(|source| TokenError::Jwt {
                action: "read the key",
                source,
            })?;
        let certificate_chain = pem_certificates_base64(cert_pem);
        if certificate_chain.is_empty() {
            return Err(TokenError::MissingCertificate);
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            key,
            certificate_chain,
            ttl: DEFAULT_TTL,
            verifier_leeway: Duration::ZERO,
        })
    }

    /// Sets the lifetime of issued tokens (default [`DEFAULT_TTL`]).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Compensates a verifier that accepts tokens `leeway` past their `exp` (distribution
    /// does, by [`DISTRIBUTION_LEEWAY`]): the `exp` and `nbf` claims are moved back by
    /// `leeway`, so the verifier refuses a token once its lifetime is over, as a strict one
    /// would. `expires_in` and `issued_at` in the answer are unchanged. Default: none.
    #[must_use]
    pub fn with_verifier_leeway(mut self, leeway: Duration) -> Self {
        self.verifier_leeway = leeway;
        self
    }

    /// The `iss` claim of issued tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a token for `subject` with audience `service` granting `access`.
    pub fn issue(
        &self,
        subject: &str,
        service: &str,
        access: &[Access],
    ) -> Result<IssuedToken, TokenError> {
        let now = OffsetDateTime::now_utc();
        let issued_at = now.unix_timestamp();
        let expires_in = self.ttl.as_secs();
        let leeway = self.verifier_leeway.as_secs().cast_signed();
        let claims = Claims {
            iss: &self.issuer,
            sub: subject,
            aud: service,
            exp: issued_at + expires_in.cast_signed() - leeway,
            nbf: issued_at - leeway,
            iat: issued_at,
            jti: uuid::Uuid::new_v4().to_string(),
            access,
        };

        let mut header = Header::new(Algorithm::RS256);
        header.x5c = Some(self.certificate_chain.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|source| {
            TokenError::Jwt {
                action: "sign the token",
                source,
            }
        })?;

        Ok(IssuedToken {
            token,
            expires_in,
            issued_at: now.format(&Rfc3339).expect("now is a valid RFC 3339 time"),
        })
    }
}

/// The base64 DER of every `CERTIFICATE` block in `pem` (PEM bodies are already base64).
fn pem_certificates_base64(pem: &str) -> Vec<String> {
    let mut certificates = Vec::new();
    let mut current: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match line {
            "-----BEGIN CERTIFICATE-----" => current = Some(String::new()),
            "-----END CERTIFICATE-----" => certificates.extend(current.take()),
            body => {
                if let Some(block) = current.as_mut() {
                    block.push_str(body);
                }
            }
        }
    }
    certificates
}

/// A user of the token service: a password and the actions the user may be granted.
#[derive(Clone, PartialEq, Eq)]
struct User {
    password: String,
    allowed_actions: Option<BTreeSet<String>>,
}

/// Static users of the token service. A known user with the right password is granted the
/// requested actions (all of them, or only those in the user's allowed set); anonymous
/// requests get a token with no access; a wrong password is a 401.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserTable {
    users: HashMap<String, User>,
}

impl fmt::Debug for UserTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.users.keys()).finish()
    }
}

impl UserTable {
    /// An empty table (only anonymous, access-less tokens).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user who is granted every requested action.
    #[must_use]
    pub fn with_user(mut self, name: &str, password: &str) -> Self {
        self.users.insert(
            name.to_owned(),
            User {
                password: password.to_owned(),
                allowed_actions: None,
            },
        );
        self
    }

    /// Adds a user who is granted only the requested actions that are in `actions`
    /// (e.g. `["pull"]` for a read-only user).
    #[must_use]
    pub fn with_limited_user(mut self, name: &str, password: &str, actions: &[&str]) -> Self {
        let allowed = actions.iter().map(|action| (*action).to_owned()).collect();
        self.users.insert(
            name.to_owned(),
            User {
                password: password.to_owned(),
                allowed_actions: Some(allowed),
            },
        );
        self
    }

    /// The grants for `requested` scopes, or `None` when the credentials are wrong.
    /// `credentials` is `None` for an anonymous request.
    pub fn authorize(
        &self,
        credentials: Option<(&str, &str)>,
        requested: &[Access],
    ) -> Option<Vec<Access>> {
        let Some((name, password)) = credentials else {
            return Some(Vec::new());
        };
        self.users
            .get(name)
            .filter(|user| user.password == password)?;
        self.grants_for(name, requested)
    }

    /// The grants for `requested` scopes of a user already authenticated another way (a
    /// refresh token), or `None` when there is no such user.
    pub fn grants_for(&self, name: &str, requested: &[Access]) -> Option<Vec<Access>> {
        let user = self.users.get(name)?;
        let grants = requested
            .iter()
            .map(|access| Access {
                actions: access
                    .actions
                    .iter()
                    .filter(|action| {
                        user.allowed_actions
                            .as_ref()
                            .is_none_or(|allowed| allowed.contains(*action))
                    })
                    .cloned()
                    .collect(),
                ..access.clone()
            })
            .collect();
        Some(grants)
    }
}

/// The issuer and users behind [`router`], and a count of the tokens it has issued.
///
/// Clones share the count: keep a clone, hand the service to [`router`], and read
/// [`TokenService::tokens_issued`] or [`TokenService::tokens_issued_per_scope`] to see how
/// often clients came back for a token.
#[derive(Debug, Clone)]
pub struct TokenService {
    issuer: TokenIssuer,
    users: UserTable,
    issued: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Refresh tokens handed out, and the user each stands for.
    refresh_tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl TokenService {
    /// A service that signs with `issuer` and authorises with `users`.
    pub fn new(issuer: TokenIssuer, users: UserTable) -> Self {
        Self {
            issuer,
            users,
            issued: Arc::default(),
            refresh_tokens: Arc::default(),
        }
    }

    fn new_refresh_token(&self, user: &str) -> String {
        let token: String = rand::thread_rng()
            .sample_iter(rand::distributions::Alphanumeric)
            .take(40)
            .map(char::from)
            .collect();
        self.refresh_tokens
            .lock()
            .expect("refresh token lock")
            .insert(token.clone(), user.to_owned());
        token
    }

    fn user_of_refresh_token(&self, token: &str) -> Option<String> {
        self.refresh_tokens
            .lock()
            .expect("refresh token lock")
            .get(token)
            .cloned()
    }

    /// How many tokens this service (or any clone of it) has signed and answered with;
    /// refused requests are not counted.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued_per_scope().values().sum()
    }

    /// Tokens issued so far by requested scope set: the key is the request's scopes as
    /// `type:name:actions`, sorted and space-separated (empty for a request without scope).
    /// A count above one means a client came back for the same access, e.g. because its
    /// token expired.
    pub fn tokens_issued_per_scope(&self) -> BTreeMap<String, u64> {
        self.issued.lock().expect("token count lock").clone()
    }

    fn count_issued(&self, requested: &[Access]) {
        let mut scopes: Vec<String> = requested
            .iter()
            .map(|access| {
                format!(
                    "{}:{}:{}",
                    access.kind,
                    access.name,
                    access.actions.join(",")
                )
            })
            .collect();
        scopes.sort();
        *self
            .issued
            .lock()
            .expect("token count lock")
            .entry(scopes.join(" "))
            .or_default() += 1;
    }
}

/// The answer body of the token endpoint.
#[derive(Debug, Serialize)]
struct TokenResponse {
    token: String,
    access_token: String,
    expires_in: u64,
    issued_at: String,
}

/// An axum router serving `GET /token` and `POST /token` (the realm) for `service`.
pub fn router(service: TokenService) -> Router {
    Router::new()
        .route("/token", get(issue_token).post(issue_oauth_token))
        .with_state(Arc::new(service))
}

/// The answer to `POST /token` (distribution's OAuth2 token spec).
#[derive(Debug, Serialize)]
struct OAuthTokenResponse {
    access_token: String,
    expires_in: u64,
    issued_at: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// `POST /token` with a form: `grant_type=password` (`username`, `password`, and
/// `access_type=offline` for a refresh token) or `grant_type=refresh_token`
/// (`refresh_token`), plus `service`, `scope` (space-separated) and `client_id`.
async fn issue_oauth_token(State(service): State<Arc<TokenService>>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| form.get(name).map_or("", String::as_str);
    // `service` and `scope` are spelt as in the GET form's query.
    let request = TokenRequest::parse(&body);
    if field("client_id").is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "missing client_id",
        );
    }
    let user = match field("grant_type") {
        "password" => service
            .users
            .authorize(Some((field("username"), field("password"))), &[])
            .map(|_| field("username").to_owned()),
        "refresh_token" => service.user_of_refresh_token(field("refresh_token")),
        _ => {
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "");
        }
    };
    let Some(user) = user else {
        tracing::info!("rejected an OAuth2 token request");
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "unknown credentials",
        );
    };
    let Some(grants) = service.users.grants_for(&user, &request.scopes) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_grant", "unknown user");
    };
    let refresh_token = (field("grant_type") == "password" && field("access_type") == "offline")
        .then(|| service.new_refresh_token(&user));
    match service.issuer.issue(&user, &request.service, &grants) {
        Ok(issued) => {
            service.count_issued(&request.scopes);
            Json(OAuthTokenResponse {
                access_token: issued.token,
                expires_in: issued.expires_in,
                issued_at: issued.issued_at,
                scope: field("scope").to_owned(),
                refresh_token,
            })
            .into_response()
        }
        Err(error) => {
            tracing::error!(%error, "cannot sign token");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    (status, Json(body)).into_response()
}

async fn issue_token(
    State(service): State<Arc<TokenService>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request = TokenRequest::parse(query.as_deref().unwrap_or(""));
    let credentials = basic_credentials(&headers);
    let span = tracing::info_span!(
        "token",
        user = credentials.as_ref().map(|(u, _)| u.as_str())
    );
    let _entered = span.enter();

    let credentials = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let Some(grants) = service.users.authorize(credentials, &request.scopes) else {
        tracing::info!("rejected credentials");
        return unauthorized();
    };
    let subject = credentials.map_or("", |(user, _)| user);
    match service.issuer.issue(subject, &request.service, &grants) {
        Ok(issued) => {
            service.count_issued(&request.scopes);
            Json(TokenResponse {
                access_token: issued.token.clone(),
                token: issued.token,
                expires_in: issued.expires_in,
                issued_at: issued.issued_at,
            })
            .into_response()
        }
        Err(error) => {
            tracing::error!(%error, "cannot sign token");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn unauthorized() -> Response {
    let body = serde_json::json!({
        "errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]
    });
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"wharf-token-service\"",
        )],
        Json(body),
    )
        .into_response()
}

/// The query of a token request: `service` and every valid `scope`.
#[derive(Debug, Default, PartialEq, Eq)]
struct TokenRequest {
    service: String,
    scopes: Vec<Access>,
}

impl TokenRequest {
    fn parse(query: &str) -> Self {
        let mut request = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "service" => request.service = value.into_owned(),
                // One parameter may carry several space-separated scopes.
                "scope" => request
                    .scopes
                    .extend(value.split(' ').filter_map(Access::parse_scope)),
                _ => {}
            }
        }
        request
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::CertificateAuthority;
    use jsonwebtoken::{DecodingKey, Validation};
    use tower::ServiceExt as _;

    fn issuer(dir: &std::path::Path) -> (TokenIssuer, String) {
        let ca = CertificateAuthority::create(dir, "ca").unwrap();
        let signer = ca.issue_signer(dir, "signer").unwrap();
        let public_key = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&signer.key_file)
            .output()
            .unwrap()
            .stdout;
        let issuer = TokenIssuer::from_pem(
            "test-issuer",
            &signer.cert_pem().unwrap(),
            &signer.key_pem().unwrap(),
        )
        .unwrap();
        (issuer, String::from_utf8(public_key).unwrap())
    }

    #[test]
    fn scope_parsing_keeps_colons_in_names() {
        let access = Access::parse_scope("repository:localhost:5000/a/b:pull,push").unwrap();
        assert_eq!(access.kind, "repository");
        assert_eq!(access.name, "localhost:5000/a/b");
        assert_eq!(access.actions, ["pull", "push"]);
        assert_eq!(Access::parse_scope("nonsense"), None);
        assert_eq!(Access::parse_scope(":x:pull"), None);
    }

    #[test]
    fn request_collects_repeated_and_space_separated_scopes() {
        let request = TokenRequest::parse(
            "service=reg&scope=repository%3Aa%3Apull&scope=repository:b:push+repository:c:*",
        );
        assert_eq!(request.service, "reg");
        let names: Vec<_> = request.scopes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn users_are_checked_and_limited() {
        let users =
            UserTable::new()
                .with_user("alice", "pw")
                .with_limited_user("reader", "pw", &["pull"]);
        let wanted = [Access::repository("a", &["pull", "push"])];

        assert_eq!(users.authorize(Some(("alice", "bad")), &wanted), None);
        assert_eq!(users.authorize(Some(("nobody", "pw")), &wanted), None);
        assert_eq!(users.authorize(None, &wanted), Some(vec![]));
        assert_eq!(
            users.authorize(Some(("alice", "pw")), &wanted).unwrap()[0].actions,
            ["pull", "push"]
        );
        assert_eq!(
            users.authorize(Some(("reader", "pw")), &wanted).unwrap()[0].actions,
            ["pull"]
        );
    }

    #[test]
    fn token_is_rs256_with_x5c_and_claims() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, public_key) = issuer(dir.path());
        let issuer = issuer.with_ttl(Duration::from_secs(2));
        let minted = issuer
            .issue("alice", "registry", &[Access::repository("a/b", &["pull"])])
            .unwrap();
        assert_eq!(minted.expires_in, 2);

        let header = jsonwebtoken::decode_header(&minted.token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.x5c.unwrap().len(), 1);

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["registry"]);
        validation.set_issuer(&["test-issuer"]);
        let key = DecodingKey::from_rsa_pem(public_key.as_bytes()).unwrap();
        let claims = jsonwebtoken::decode::<serde_json::Value>(&minted.token, &key, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "alice");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            2
        );
        assert_eq!(claims["access"][0]["type"], "repository");
        assert_eq!(claims["access"][0]["actions"][0], "pull");
        assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    }

    #[test]
    fn verifier_leeway_moves_exp_and_nbf_back() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, _) = issuer(dir.path());
        let issuer = issuer
            .with_ttl(Duration::from_secs(2))
            .with_verifier_leeway(DISTRIBUTION_LEEWAY);
        let minted = issuer.issue("alice", "registry", &[]).unwrap();
        assert_eq!(minted.expires_in, 2, "the answer still says 2 s");

        let payload = minted.token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        let iat = claims["iat"].as_i64().unwrap();
        assert_eq!(claims["exp"].as_i64().unwrap(), iat + 2 - 60);
        assert_eq!(claims["nbf"].as_i64().unwrap(), iat - 60);
    }

    #[tokio::test]
    async fn endpoint_answers_token_and_rejects_bad_password() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, _) = issuer(dir.path());
        let service = TokenService::new(issuer, UserTable::new().with_user("u", "p"));
        let get = |auth: &str| {
            axum::http::Request::get("/token?service=reg&scope=repository:x:pull")
                .header(
                    header::AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(auth)),
                )
                .body(axum::body::Body::empty())
                .unwrap()
        };

        let counted = service.clone();
        let app = router(service);
        let rejected = app.clone().oneshot(get("u:wrong")).await.unwrap();
        assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);

        let accepted = app.oneshot(get("u:p")).await.unwrap();
        assert_eq!(accepted.status(), StatusCode::OK);
        let body = axum::body::to_bytes(accepted.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["token"], body["access_token"]);
        assert_eq!(body["expires_in"], DEFAULT_TTL.as_secs());
        assert!(body["issued_at"].as_str().is_some());
        assert_eq!(
            counted.tokens_issued(),
            1,
            "only the accepted request counts"
        );
        assert_eq!(
            counted.tokens_issued_per_scope(),
            BTreeMap::from([("repository:x:pull".to_owned(), 1)])
        );
    }
}
