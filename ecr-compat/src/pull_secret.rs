//! Pull secrets for the migration period: a `kubernetes.io/dockerconfigjson` payload for the
//! ECR registry, refreshed with retries long before ECR's 12-hour expiry.
//!
//! [`PullSecretRefresher::run`] is the loop a long-running binary (or a frequent CronJob
//! with [`PullSecretRefresher::refresh_once`]) drives: take the provider's current token,
//! hand the payload to a sink (which writes the Secret into every namespace), wait until the
//! next refresh time, and on failure retry with backoff instead of waiting for the next
//! scheduled run.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde::Serialize;
use wharf_oci_core::credentials::{Credential, CredentialError};
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::secret::Secret;

use crate::auth::{EcrCredentialProvider, RefreshPolicy};
use crate::clock::{Clock, SystemClock};
use crate::error::BoxError;

/// The `type` of a Kubernetes pull secret.
pub const SECRET_TYPE: &str = "kubernetes.io/dockerconfigjson";

/// The data key of a Kubernetes pull secret.
pub const SECRET_DATA_KEY: &str = ".dockerconfigjson";

/// A refreshed pull secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PullSecret {
    /// The registry host it is for.
    pub registry: String,
    /// The `.dockerconfigjson` document (it contains the password).
    pub dockerconfigjson: Secret,
    /// When the credential inside stops working.
    pub expires_at: SystemTime,
    /// When it should be refreshed.
    pub refresh_at: SystemTime,
}

impl PullSecret {
    /// A Kubernetes `Secret` object holding the payload, ready to apply to `namespace`.
    pub fn to_kubernetes_secret(&self, name: &str, namespace: &str) -> serde_json::Value {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(self.dockerconfigjson.expose());
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": { "name": name, "namespace": namespace },
            "type": SECRET_TYPE,
            "data": { SECRET_DATA_KEY: encoded },
        })
    }
}

#[derive(Serialize)]
struct DockerConfig<'a> {
    auths: BTreeMap<&'a str, DockerAuth<'a>>,
}

#[derive(Serialize)]
struct DockerAuth<'a> {
    username: &'a str,
    password: &'a str,
    auth: String,
}

/// The `.dockerconfigjson` document for `registry` with a Basic credential; `None` for
/// other credential kinds (a dockerconfigjson cannot carry a bearer token for a registry).
pub fn docker_config_json(registry: &str, credential: &Credential) -> Option<Secret> {
    let Credential::Basic { username, password } = credential else {
        return None;
    };
    let pair = format!("{username}:{}", password.expose());
    let auth = DockerAuth {
        username,
        password: password.expose(),
        auth: base64::engine::general_purpose::STANDARD.encode(pair),
    };
    let config = DockerConfig {
        auths: BTreeMap::from([(registry, auth)]),
    };
    Some(Secret::new(
        serde_json::to_string(&config).expect("a docker config serialises"),
    ))
}

/// When a secret issued at `issued_at` whose credential expires at `expires_at` must be
/// refreshed under `policy` (by default: half of the lifetime, and at least an hour early).
pub fn next_refresh(
    policy: &RefreshPolicy,
    issued_at: SystemTime,
    expires_at: SystemTime,
) -> SystemTime {
    policy.refresh_at(issued_at, expires_at)
}

/// Keeps a pull secret fresh. See the module documentation.
#[derive(Debug, Clone)]
pub struct PullSecretRefresher {
    provider: Arc<EcrCredentialProvider>,
    clock: Arc<dyn Clock>,
    schedule: RefreshPolicy,
    retry: RetryPolicy,
    min_interval: Duration,
}

impl PullSecretRefresher {
    /// A refresher for the provider's registry. The schedule defaults to
    /// [`RefreshPolicy::default`], failed rounds are retried after 1 s doubling to 5 min.
    pub fn new(provider: Arc<EcrCredentialProvider>) -> Self {
        Self {
            provider,
            clock: Arc::new(SystemClock),
            schedule: RefreshPolicy::default(),
            retry: RetryPolicy::default()
                .max_attempts(u32::MAX)
                .base_delay(Duration::from_secs(1))
                .max_delay(Duration::from_mins(5)),
            min_interval: Duration::from_secs(30),
        }
    }

    /// The shortest wait between two successful rounds, so that a token the provider could
    /// not refresh (and serves until it expires) is not rewritten in a tight loop.
    /// Default 30 seconds.
    #[must_use]
    pub fn min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// The clock used for scheduling. Default [`SystemClock`].
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// When a written secret is refreshed. Default [`RefreshPolicy::default`].
    #[must_use]
    pub fn schedule(mut self, schedule: RefreshPolicy) -> Self {
        self.schedule = schedule;
        self
    }

    /// The backoff between failed rounds (its attempt count is ignored: the loop keeps
    /// trying). Default 1 s doubling to 5 min, with full jitter.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the current payload, refreshing the token first when it is due.
    pub async fn refresh_once(&self) -> Result<PullSecret, CredentialError> {
        let current = self.provider.current().await?;
        let registry = self.provider.registry().to_owned();
        let dockerconfigjson =
            docker_config_json(&registry, &current.credential).ok_or_else(|| {
                CredentialError::Unavailable {
                    registry: registry.clone(),
                    source: "the provider returned a non-Basic credential".into(),
                }
            })?;
        let expires_at = current.expires_at.unwrap_or(SystemTime::UNIX_EPOCH);
        let refresh_at = next_refresh(&self.schedule, self.clock.now(), expires_at);
        Ok(PullSecret {
            registry,
            dockerconfigjson,
            expires_at,
            refresh_at,
        })
    }

    /// Refreshes and hands each payload to `sink` until the sink answers
    /// `ControlFlow::Break`. A failed round (no valid token, or the sink failed) is retried
    /// with backoff rather than at the next scheduled refresh.
    pub async fn run<S, F>(&self, mut sink: S)
    where
        S: FnMut(PullSecret) -> F,
        F: Future<Output = Result<ControlFlow<()>, BoxError>>,
    {
        let mut failures = 0;
        loop {
            let wake_at = match self.round(&mut sink).await {
                Ok(ControlFlow::Break(())) => return,
                Ok(ControlFlow::Continue(refresh_at)) => {
                    failures = 0;
                    tracing::info!(
                        registry = self.provider.registry(),
                        ?refresh_at,
                        "pull secret refreshed"
                    );
                    refresh_at.max(self.clock.now() + self.min_interval)
                }
                Err(error) => {
                    failures += 1;
                    let retry_at = self.clock.now() + self.retry.delay(failures, None);
                    tracing::warn!(registry = self.provider.registry(), failures, error = %error, ?retry_at, "pull secret refresh failed; retrying");
                    retry_at
                }
            };
            let wait = wake_at.duration_since(self.clock.now()).unwrap_or_default();
            self.clock.sleep(wait).await;
        }
    }

    /// One refresh: the payload to the sink; continues with the next refresh time.
    async fn round<S, F>(&self, sink: &mut S) -> Result<ControlFlow<(), SystemTime>, BoxError>
    where
        S: FnMut(PullSecret) -> F,
        F: Future<Output = Result<ControlFlow<()>, BoxError>>,
    {
        let secret = self.refresh_once().await?;
        let refresh_at = secret.refresh_at;
        Ok(match sink(secret).await? {
            ControlFlow::Break(()) => ControlFlow::Break(()),
            ControlFlow::Continue(()) => ControlFlow::Continue(refresh_at),
        })
    }
}
