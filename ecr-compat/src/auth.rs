//! ECR authorization tokens as oci-core credentials: fetched, cached, refreshed early,
//! retried, and never handed out once expired.
//!
//! `GetAuthorizationToken` returns base64 `AWS:<password>` valid for 12 hours. The
//! [`EcrCredentialProvider`] caches it, refreshes it once a configurable share of its
//! lifetime has passed (or little time remains), retries failed refreshes with exponential
//! backoff and jitter, keeps serving the cached token while it is still valid, and answers
//! [`CredentialError::Expired`] rather than a token past its expiry.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use tokio::sync::Mutex;
use wharf_oci_core::credentials::{
    BoxFuture, Credential, CredentialError, CredentialSource, ExpiringCredential,
};
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::secret::Secret;

use crate::client::EcrClient;
use crate::clock::{Clock, SystemClock};
use crate::error::EcrError;

/// A decoded ECR authorization token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationToken {
    /// The user name, always `AWS` in practice.
    pub username: String,
    /// The password part of the token.
    pub password: Secret,
    /// When ECR stops accepting the token.
    pub expires_at: SystemTime,
    /// `https://<account>.dkr.ecr.<region>.amazonaws.com`, as ECR reports it.
    pub proxy_endpoint: Option<String>,
}

impl AuthorizationToken {
    /// Decodes the base64 `user:password` form ECR returns.
    pub fn decode(
        token: &str,
        expires_at: SystemTime,
        proxy_endpoint: Option<String>,
    ) -> Result<Self, EcrError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| EcrError::MalformedToken)?;
        let text = String::from_utf8(bytes).map_err(|_| EcrError::MalformedToken)?;
        let (username, password) = text.split_once(':').ok_or(EcrError::MalformedToken)?;
        if username.is_empty() || password.is_empty() {
            return Err(EcrError::MalformedToken);
        }
        Ok(Self {
            username: username.to_owned(),
            password: Secret::new(password),
            expires_at,
            proxy_endpoint,
        })
    }

    /// The token as a Basic credential for the registry.
    pub fn credential(&self) -> Credential {
        Credential::basic(self.username.clone(), self.password.clone())
    }

    /// The registry host of [`AuthorizationToken::proxy_endpoint`], without scheme.
    pub fn registry_host(&self) -> Option<&str> {
        let endpoint = self.proxy_endpoint.as_deref()?;
        let host = endpoint
            .split_once("://")
            .map_or(endpoint, |(_, rest)| rest);
        Some(host.trim_end_matches('/'))
    }
}

/// Where the provider gets tokens from; the SDK-backed [`EcrClient`] is the real one, tests
/// inject failures with their own.
pub trait TokenFetcher: Send + Sync + fmt::Debug {
    /// Asks ECR for a new token.
    fn fetch(&self) -> BoxFuture<'_, Result<AuthorizationToken, EcrError>>;
}

impl TokenFetcher for EcrClient {
    fn fetch(&self) -> BoxFuture<'_, Result<AuthorizationToken, EcrError>> {
        Box::pin(self.authorization_token())
    }
}

/// When a cached token is refreshed and when it counts as expired.
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use]
pub struct RefreshPolicy {
    lifetime_fraction: f64,
    min_remaining: Duration,
    expiry_margin: Duration,
    failure_cooldown: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            lifetime_fraction: 0.5,
            min_remaining: Duration::from_hours(1),
            expiry_margin: Duration::from_mins(1),
            failure_cooldown: Duration::from_secs(30),
        }
    }
}

impl RefreshPolicy {
    /// Refresh once this share of the token's lifetime has passed. Default 0.5 (6 hours of
    /// ECR's 12); clamped to `0.0..=1.0`.
    pub fn lifetime_fraction(mut self, fraction: f64) -> Self {
        self.lifetime_fraction = fraction.clamp(0.0, 1.0);
        self
    }

    /// Refresh at the latest when this much validity remains. Default 1 hour.
    pub fn min_remaining(mut self, remaining: Duration) -> Self {
        self.min_remaining = remaining;
        self
    }

    /// A token with less than this left counts as expired and is never handed out, so that
    /// a pull started with it does not fail halfway. Default 1 minute.
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// After a failed refresh, a still valid token is served without a new attempt for this
    /// long. Default 30 seconds.
    pub fn failure_cooldown(mut self, cooldown: Duration) -> Self {
        self.failure_cooldown = cooldown;
        self
    }

    /// When a token issued at `issued_at` and expiring at `expires_at` should be refreshed:
    /// the earlier of "fraction of the lifetime passed" and "`min_remaining` left", never
    /// before `issued_at`.
    pub fn refresh_at(&self, issued_at: SystemTime, expires_at: SystemTime) -> SystemTime {
        let lifetime = expires_at.duration_since(issued_at).unwrap_or_default();
        let by_fraction = issued_at + lifetime.mul_f64(self.lifetime_fraction);
        let by_remaining = expires_at
            .checked_sub(self.min_remaining)
            .map_or(issued_at, |at| at.max(issued_at));
        by_fraction.min(by_remaining)
    }

    /// True when a token expiring at `expires_at` may still be handed out at `now`.
    pub fn is_usable(&self, expires_at: SystemTime, now: SystemTime) -> bool {
        expires_at
            .duration_since(now)
            .is_ok_and(|left| left > self.expiry_margin)
    }
}

/// A [`CredentialSource`] for an ECR registry host, backed by `GetAuthorizationToken`.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use wharf_ecr_compat::{EcrClient, auth::EcrCredentialProvider};
/// use wharf_oci_core::credentials::CredentialSource;
///
/// let client = EcrClient::builder().region("eu-west-1").build().await?;
/// let registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
/// let provider = EcrCredentialProvider::builder(registry, Arc::new(client)).build();
/// let credential = provider.credential(registry).await?;
/// assert!(credential.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EcrCredentialProvider {
    registries: Vec<String>,
    fetcher: Arc<dyn TokenFetcher>,
    clock: Arc<dyn Clock>,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    cached: Option<CachedToken>,
    retry_not_before: Option<SystemTime>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: AuthorizationToken,
    refresh_at: SystemTime,
}

/// Builds an [`EcrCredentialProvider`].
#[derive(Debug)]
#[must_use]
pub struct EcrCredentialProviderBuilder {
    registries: Vec<String>,
    fetcher: Arc<dyn TokenFetcher>,
    clock: Arc<dyn Clock>,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
}

impl EcrCredentialProviderBuilder {
    /// Also answers for another host name of the same registry (its dual-stack or FIPS name).
    pub fn also_for(mut self, registry: impl AsRef<str>) -> Self {
        self.registries.push(registry.as_ref().to_ascii_lowercase());
        self
    }

    /// The clock. Default [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// When to refresh. Default [`RefreshPolicy::default`].
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    /// How failed refreshes are retried. Default: 5 attempts, 500 ms doubling to 30 s, with
    /// full jitter.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The provider, with an empty cache.
    pub fn build(self) -> EcrCredentialProvider {
        EcrCredentialProvider {
            registries: self.registries,
            fetcher: self.fetcher,
            clock: self.clock,
            refresh: self.refresh,
            retry: self.retry,
            state: Mutex::default(),
        }
    }
}

impl EcrCredentialProvider {
    /// A builder for the provider of `registry` (`<account>.dkr.ecr.<region>.amazonaws.com`
    /// or any host standing in for it) whose tokens come from `fetcher`.
    pub fn builder(
        registry: impl AsRef<str>,
        fetcher: Arc<dyn TokenFetcher>,
    ) -> EcrCredentialProviderBuilder {
        EcrCredentialProviderBuilder {
            registries: vec![registry.as_ref().to_ascii_lowercase()],
            fetcher,
            clock: Arc::new(SystemClock),
            refresh: RefreshPolicy::default(),
            retry: RetryPolicy::default()
                .max_attempts(5)
                .base_delay(Duration::from_millis(500))
                .max_delay(Duration::from_secs(30)),
        }
    }

    /// The registry host the provider answers for.
    pub fn registry(&self) -> &str {
        &self.registries[0]
    }

    /// True when the provider holds credentials for `registry`.
    pub fn serves(&self, registry: &str) -> bool {
        self.registries
            .iter()
            .any(|own| own.eq_ignore_ascii_case(registry))
    }

    /// The current credential with its expiry, refreshing first when it is due.
    pub async fn current(&self) -> Result<ExpiringCredential, CredentialError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if let Some(cached) = self.servable_without_refresh(&state, now) {
            return Ok(expiring(&cached.token));
        }

        match self.fetch_with_retries().await {
            Ok(token) => {
                let refresh_at = self.refresh.refresh_at(self.clock.now(), token.expires_at);
                tracing::info!(
                    registry = self.registry(),
                    ?refresh_at,
                    "ECR token refreshed"
                );
                let credential = expiring(&token);
                *state = CacheState {
                    cached: Some(CachedToken { token, refresh_at }),
                    retry_not_before: None,
                };
                Ok(credential)
            }
            Err(error) => self.after_failed_refresh(&mut state, error),
        }
    }

    /// Forgets the cached token so that the next call fetches a new one.
    pub async fn clear(&self) {
        *self.state.lock().await = CacheState::default();
    }

    fn servable_without_refresh(&self, state: &CacheState, now: SystemTime) -> Option<CachedToken> {
        let cached = state.cached.as_ref()?;
        if !self.refresh.is_usable(cached.token.expires_at, now) {
            return None;
        }
        let due = now >= cached.refresh_at;
        let cooling_down = state.retry_not_before.is_some_and(|at| now < at);
        (!due || cooling_down).then(|| cached.clone())
    }

    fn after_failed_refresh(
        &self,
        state: &mut CacheState,
        error: EcrError,
    ) -> Result<ExpiringCredential, CredentialError> {
        let now = self.clock.now();
        let registry = self.registry().to_owned();
        match &state.cached {
            Some(cached) if self.refresh.is_usable(cached.token.expires_at, now) => {
                tracing::warn!(%registry, error = %error, "ECR token refresh failed; serving the cached token until it expires");
                let credential = expiring(&cached.token);
                state.retry_not_before = Some(now + self.refresh.failure_cooldown);
                Ok(credential)
            }
            Some(_) => {
                tracing::error!(%registry, error = %error, "ECR token expired and the refresh failed");
                Err(CredentialError::Expired {
                    registry,
                    source: Some(Box::new(error)),
                })
            }
            None => Err(CredentialError::Unavailable {
                registry,
                source: Box::new(error),
            }),
        }
    }

    async fn fetch_with_retries(&self) -> Result<AuthorizationToken, EcrError> {
        let mut attempt = 1;
        loop {
            let outcome = self
                .fetcher
                .fetch()
                .await
                .and_then(|token| self.check_fresh(token));
            match outcome {
                Ok(token) => return Ok(token),
                Err(error) if self.retry.has_attempts_left(attempt) => {
                    let delay = self.retry.delay(attempt, None);
                    tracing::warn!(registry = self.registry(), attempt, ?delay, error = %error, "ECR token fetch failed; retrying");
                    self.clock.sleep(delay).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn check_fresh(&self, token: AuthorizationToken) -> Result<AuthorizationToken, EcrError> {
        if self.refresh.is_usable(token.expires_at, self.clock.now()) {
            Ok(token)
        } else {
            Err(EcrError::StaleToken {
                expires_at: token.expires_at,
            })
        }
    }
}

fn expiring(token: &AuthorizationToken) -> ExpiringCredential {
    ExpiringCredential {
        credential: token.credential(),
        expires_at: Some(token.expires_at),
    }
}

impl CredentialSource for EcrCredentialProvider {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>> {
        Box::pin(async move {
            if !self.serves(registry) {
                return Ok(None);
            }
            self.current().await.map(|current| Some(current.credential))
        })
    }

    fn invalidate<'a>(&'a self, registry: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if self.serves(registry) {
                tracing::info!(
                    registry,
                    "ECR token rejected by the registry; refreshing on next use"
                );
                self.clear().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_hours(1);

    #[test]
    fn decodes_user_and_password() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("AWS:pa:ss");
        let token = AuthorizationToken::decode(&encoded, SystemTime::UNIX_EPOCH, None).unwrap();
        assert_eq!(token.username, "AWS");
        assert_eq!(token.password.expose(), "pa:ss");
        assert!(matches!(
            AuthorizationToken::decode("not base64!", SystemTime::UNIX_EPOCH, None),
            Err(EcrError::MalformedToken)
        ));
        let no_colon = base64::engine::general_purpose::STANDARD.encode("AWS");
        assert!(AuthorizationToken::decode(&no_colon, SystemTime::UNIX_EPOCH, None).is_err());
    }

    #[test]
    fn registry_host_drops_the_scheme() {
        let token = AuthorizationToken {
            username: "AWS".into(),
            password: Secret::new("x"),
            expires_at: SystemTime::UNIX_EPOCH,
            proxy_endpoint: Some("https://1.dkr.ecr.eu-west-1.amazonaws.com".into()),
        };
        assert_eq!(
            token.registry_host(),
            Some("1.dkr.ecr.eu-west-1.amazonaws.com")
        );
    }

    #[test]
    fn refresh_at_takes_the_earlier_rule() {
        let issued = SystemTime::UNIX_EPOCH + HOUR * 1000;
        let policy = RefreshPolicy::default();
        assert_eq!(
            policy.refresh_at(issued, issued + HOUR * 12),
            issued + HOUR * 6
        );
        // A 90-minute token: half is 45 minutes, "1 h left" is 30 minutes in.
        assert_eq!(
            policy.refresh_at(issued, issued + Duration::from_mins(90)),
            issued + Duration::from_mins(30)
        );
        // Already shorter than the minimum: refresh at once.
        assert_eq!(
            policy.refresh_at(issued, issued + Duration::from_mins(20)),
            issued
        );
        // Expiry in the past: never before issue.
        assert_eq!(policy.refresh_at(issued, issued - HOUR), issued);
        let late = RefreshPolicy::default()
            .lifetime_fraction(0.9)
            .min_remaining(Duration::ZERO);
        assert_eq!(
            late.refresh_at(issued, issued + HOUR * 10),
            issued + HOUR * 9
        );
    }

    #[test]
    fn usable_needs_more_than_the_margin() {
        let now = SystemTime::UNIX_EPOCH + HOUR * 1000;
        let policy = RefreshPolicy::default().expiry_margin(Duration::from_mins(1));
        assert!(policy.is_usable(now + Duration::from_mins(2), now));
        assert!(!policy.is_usable(now + Duration::from_mins(1), now));
        assert!(!policy.is_usable(now - HOUR, now));
    }
}
