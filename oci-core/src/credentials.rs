//! Where registry credentials come from.
//!
//! A [`CredentialSource`] answers "which credential do I present to this registry?". Static
//! sources hold one credential; providers for expiring credentials (ECR's 12-hour tokens, for
//! example) implement the same trait and refresh behind it, so the distribution client never
//! needs to know where a credential came from.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use crate::secret::Secret;

/// A credential presented to a registry or its token service.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// HTTP Basic: a user (or robot account) and its password or token.
    Basic {
        /// The user name, e.g. `robot$staging+ci`.
        username: String,
        /// The password, token or robot secret.
        password: Secret,
    },
    /// A bearer token presented as is (e.g. an OIDC ID token or a registry token).
    Bearer(Secret),
    /// An OAuth2 refresh token for the registry's token service: Docker's `identitytoken`
    /// (what `docker login` stores for registries that hand one out, and what a credential
    /// helper returns with the user name `<token>`). It is exchanged for registry tokens with
    /// `POST <realm>` `grant_type=refresh_token` and never sent to the registry itself.
    IdentityToken(Secret),
}

impl Credential {
    /// A Basic credential.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// A bearer token credential.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Bearer(token.into())
    }

    /// An identity token (an OAuth2 refresh token for the registry's token service).
    pub fn identity_token(token: impl Into<Secret>) -> Self {
        Self::IdentityToken(token.into())
    }

    /// The value of an `Authorization` header carrying this credential; `None` for an
    /// identity token, which only the token service's OAuth2 endpoint may see.
    pub fn authorization_header(&self) -> Option<Secret> {
        use base64::Engine as _;
        match self {
            Self::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                Some(Secret::new(format!("Basic {encoded}")))
            }
            Self::Bearer(token) => Some(Secret::new(format!("Bearer {}", token.expose()))),
            Self::IdentityToken(_) => None,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// A credential together with the moment it stops working, if it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringCredential {
    /// The credential itself.
    pub credential: Credential,
    /// When the credential stops being accepted; `None` for credentials that do not expire.
    pub expires_at: Option<SystemTime>,
}

/// A boxed future, so that [`CredentialSource`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Answers which credential to present to a registry.
///
/// `registry` is the normalised registry host with its port, as
/// `Reference::registry()` returns it (`docker.io`, `harbor.example.com`, `127.0.0.1:5000`).
/// `Ok(None)` means "no credential: go anonymous". An error means the source should have had a
/// credential but could not produce a valid one (a failed refresh, an expired token): the
/// client reports it instead of sending a stale credential.
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// The credential for `registry`, refreshed if the source needs to.
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>>;

    /// Tells the source that `registry` rejected the credential it handed out (for example ECR's
    /// 403 for an expired token), so the next call fetches a fresh one. Default: nothing.
    fn invalidate<'a>(&'a self, registry: &'a str) -> BoxFuture<'a, ()> {
        let _ = registry;
        Box::pin(async {})
    }
}

impl<T: CredentialSource + ?Sized> CredentialSource for Arc<T> {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>> {
        (**self).credential(registry)
    }

    fn invalidate<'a>(&'a self, registry: &'a str) -> BoxFuture<'a, ()> {
        (**self).invalidate(registry)
    }
}

/// No credentials at all: every registry is accessed anonymously.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

impl CredentialSource for Anonymous {
    fn credential<'a>(
        &'a self,
        _registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Fixed credentials per registry host, with an optional fallback for every other host.
///
/// ```
/// use wharf_oci_core::credentials::{Credential, StaticCredentials};
///
/// let creds = StaticCredentials::new()
///     .with("harbor.example.com", Credential::basic("robot$ci", "secret"));
/// # let _ = creds;
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticCredentials {
    by_registry: BTreeMap<String, Credential>,
    fallback: Option<Credential>,
}

impl StaticCredentials {
    /// An empty set: every registry is anonymous until entries are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// One credential used for every registry.
    pub fn everywhere(credential: Credential) -> Self {
        Self {
            by_registry: BTreeMap::new(),
            fallback: Some(credential),
        }
    }

    /// Adds the credential for one registry host (`host[:port]`, case-insensitive).
    #[must_use]
    pub fn with(mut self, registry: impl AsRef<str>, credential: Credential) -> Self {
        self.by_registry
            .insert(registry.as_ref().to_ascii_lowercase(), credential);
        self
    }

    fn lookup(&self, registry: &str) -> Option<Credential> {
        self.by_registry
            .get(&registry.to_ascii_lowercase())
            .or(self.fallback.as_ref())
            .cloned()
    }
}

impl CredentialSource for StaticCredentials {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>> {
        let found = self.lookup(registry);
        Box::pin(async move { Ok(found) })
    }
}

/// Asks several sources in order and uses the first credential found.
///
/// Useful to let explicit credentials (from environment variables) win over a Docker
/// `config.json`. An error from a source stops the search: a source that should have had a
/// credential and failed is reported rather than skipped.
#[derive(Debug, Default)]
pub struct CredentialChain {
    sources: Vec<Arc<dyn CredentialSource>>,
}

impl CredentialChain {
    /// An empty chain (anonymous everywhere).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a source, asked after the ones before it.
    #[must_use]
    pub fn then(mut self, source: Arc<dyn CredentialSource>) -> Self {
        self.sources.push(source);
        self
    }
}

impl CredentialSource for CredentialChain {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>> {
        Box::pin(async move {
            for source in &self.sources {
                if let Some(credential) = source.credential(registry).await? {
                    return Ok(Some(credential));
                }
            }
            Ok(None)
        })
    }

    fn invalidate<'a>(&'a self, registry: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            for source in &self.sources {
                source.invalidate(registry).await;
            }
        })
    }
}

/// Why a credential source could not produce a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The credential expired and could not be refreshed; it is not handed out.
    #[error("credential for {registry} expired and could not be refreshed")]
    Expired {
        /// The registry host.
        registry: String,
        /// Why the refresh failed, when one was attempted.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Fetching or refreshing the credential failed.
    #[error("cannot obtain a credential for {registry}")]
    Unavailable {
        /// The registry host.
        registry: String,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A credential store (a Docker config file or a credential helper) could not be read.
    #[error("cannot read credentials from {store}")]
    Store {
        /// The file or helper name.
        store: String,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        let header = Credential::basic("aladdin", "opensesame")
            .authorization_header()
            .unwrap();
        assert_eq!(header.expose(), "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
        assert!(
            Credential::identity_token("refresh")
                .authorization_header()
                .is_none()
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let basic = Credential::basic("robot$ci", "top-secret");
        let bearer = Credential::bearer("top-secret-token");
        let identity = Credential::identity_token("top-secret-refresh");
        for text in [
            format!("{basic:?}"),
            format!("{bearer:?}"),
            format!("{identity:?}"),
        ] {
            assert!(!text.contains("top-secret"), "{text}");
        }
        assert!(format!("{basic:?}").contains("robot$ci"));
    }

    #[tokio::test]
    async fn a_chain_uses_the_first_source_that_has_a_credential() {
        let first = StaticCredentials::new().with("a.example", Credential::bearer("from-first"));
        let second = StaticCredentials::everywhere(Credential::bearer("from-second"));
        let chain = CredentialChain::new()
            .then(Arc::new(first))
            .then(Arc::new(second));
        let header = |c: Option<Credential>| {
            c.unwrap()
                .authorization_header()
                .unwrap()
                .expose()
                .to_owned()
        };
        assert_eq!(
            header(chain.credential("a.example").await.unwrap()),
            "Bearer from-first"
        );
        assert_eq!(
            header(chain.credential("b.example").await.unwrap()),
            "Bearer from-second"
        );
        assert!(
            CredentialChain::new()
                .credential("a.example")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn static_credentials_match_host_case_insensitively() {
        let creds = StaticCredentials::new().with("Harbor.Local:443", Credential::bearer("t"));
        assert!(
            creds
                .credential("harbor.local:443")
                .await
                .unwrap()
                .is_some()
        );
        assert!(creds.credential("other.local").await.unwrap().is_none());
        let everywhere = StaticCredentials::everywhere(Credential::bearer("t"));
        assert!(everywhere.credential("any.host").await.unwrap().is_some());
    }
}
