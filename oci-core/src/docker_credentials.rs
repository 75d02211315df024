//! A [`CredentialSource`] over Docker's `config.json`: `auths`, `credHelpers` and
//! `credsStore`, the last two through the `docker-credential-<helper> get` protocol.
//!
//! The file is found at `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, and read
//! once when the source is created. Helper answers are cached per registry until
//! [`CredentialSource::invalidate`] drops them, so a helper that serves expiring tokens (ECR's)
//! is asked again after the registry rejected its last answer.
//!
//! Lookup order for a registry: its `credHelpers` entry, then `credsStore`, then `auths`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use wharf_oci_core::client::RegistryClient;
//! use wharf_oci_core::docker_credentials::DockerCredentials;
//!
//! let credentials = DockerCredentials::from_default_location()?;
//! let client = RegistryClient::builder().credentials(Arc::new(credentials)).build()?;
//! # let _ = client;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tracing::debug;

use crate::credentials::{BoxFuture, Credential, CredentialError, CredentialSource};
use crate::docker_config::DockerConfig;
use crate::reference::{DOCKER_HUB_API_HOST, DOCKER_HUB_LEGACY_REGISTRY, DOCKER_HUB_REGISTRY};

/// The key Docker uses for Docker Hub in `auths` and helper calls.
const DOCKER_HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// What a credential helper prints for `get`.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Credentials from a Docker `config.json` and its credential helpers.
#[derive(Debug)]
pub struct DockerCredentials {
    path: Option<PathBuf>,
    config: DockerConfig,
    helper_dir: Option<PathBuf>,
    cache: Mutex<HashMap<String, Option<Credential>>>,
}

impl DockerCredentials {
    /// Reads `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. A missing file means
    /// no credentials (every registry anonymous), as with the Docker CLI.
    pub fn from_default_location() -> Result<Self, CredentialError> {
        let path = default_path();
        match path {
            Some(path) if path.exists() => Self::from_file(&path),
            _ => Ok(Self::from_config(DockerConfig::default(), None)),
        }
    }

    /// Reads one `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, CredentialError> {
        let store = || path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| CredentialError::Store {
            store: store(),
            source: Box::new(e),
        })?;
        let config = DockerConfig::parse(&bytes).map_err(|e| CredentialError::Store {
            store: store(),
            source: Box::new(e),
        })?;
        Ok(Self::from_config(config, Some(path.to_path_buf())))
    }

    /// Wraps an already parsed configuration.
    pub fn from_config(config: DockerConfig, path: Option<PathBuf>) -> Self {
        Self {
            path,
            config,
            helper_dir: None,
            cache: Mutex::default(),
        }
    }

    /// Looks for `docker-credential-*` programs in `dir` instead of on `PATH` (tests, or
    /// hosts where helpers live outside `PATH`).
    #[must_use]
    pub fn helper_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.helper_dir = Some(dir.into());
        self
    }

    /// The file the configuration was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    async fn lookup(&self, registry: &str) -> Result<Option<Credential>, CredentialError> {
        if let Some(cached) = self.cache.lock().expect("cache lock").get(registry) {
            return Ok(cached.clone());
        }
        let found = self.resolve(registry).await?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(registry.to_owned(), found.clone());
        Ok(found)
    }

    async fn resolve(&self, registry: &str) -> Result<Option<Credential>, CredentialError> {
        if let Some(helper) = self.config.cred_helper(registry) {
            return self.run_helper(helper, &server_url(registry)).await;
        }
        if let Some(store) = self.config.creds_store()
            && let Some(found) = self.run_helper(store, &server_url(registry)).await?
        {
            return Ok(Some(found));
        }
        Ok(self.config.credential(registry))
    }

    /// Runs `docker-credential-<helper> get` with the server URL on stdin.
    async fn run_helper(
        &self,
        helper: &str,
        server: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        let program = format!("docker-credential-{helper}");
        let path = self
            .helper_dir
            .as_ref()
            .map_or_else(|| PathBuf::from(&program), |dir| dir.join(&program));
        let store_error =
            |source: Box<dyn std::error::Error + Send + Sync>| CredentialError::Store {
                store: program.clone(),
                source,
            };
        debug!(helper = %program, server, "asking credential helper");
        let mut child = tokio::process::Command::new(&path)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| store_error(Box::new(e)))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(server.as_bytes())
            .await
            .map_err(|e| store_error(Box::new(e)))?;
        drop(stdin);
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| store_error(Box::new(e)))?;
        if !output.status.success() {
            let message = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if message
                .to_ascii_lowercase()
                .contains("credentials not found")
            {
                return Ok(None);
            }
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            let reason = format!("helper exited with {}: {message} {stderr}", output.status);
            return Err(store_error(reason.into()));
        }
        let answer: HelperAnswer =
            serde_json::from_slice(&output.stdout).map_err(|e| store_error(Box::new(e)))?;
        Ok(credential_from_helper(answer, &program))
    }
}

fn credential_from_helper(answer: HelperAnswer, program: &str) -> Option<Credential> {
    if answer.secret.is_empty() {
        return None;
    }
    if answer.username == "<token>" {
        // The helper protocol's spelling of an identity token.
        debug!(
            helper = program,
            "credential helper returned an identity token"
        );
        return Some(Credential::IdentityToken(answer.secret.into()));
    }
    Some(Credential::basic(answer.username, answer.secret))
}

impl CredentialSource for DockerCredentials {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>> {
        Box::pin(self.lookup(registry))
    }

    fn invalidate<'a>(&'a self, registry: &'a str) -> BoxFuture<'a, ()> {
        self.cache.lock().expect("cache lock").remove(registry);
        Box::pin(async {})
    }
}

fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// What Docker passes to a helper for `registry`.
fn server_url(registry: &str) -> String {
    if is_docker_hub(registry) {
        DOCKER_HUB_CONFIG_KEY.to_owned()
    } else {
        registry.to_owned()
    }
}

fn is_docker_hub(registry: &str) -> bool {
    [
        DOCKER_HUB_REGISTRY,
        DOCKER_HUB_LEGACY_REGISTRY,
        DOCKER_HUB_API_HOST,
    ]
    .contains(&registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_spellings_share_the_v1_key() {
        assert_eq!(server_url("docker.io"), DOCKER_HUB_CONFIG_KEY);
        assert_eq!(server_url("harbor.local:8443"), "harbor.local:8443");
    }

    #[test]
    fn identity_tokens_are_not_used_as_passwords() {
        let token = HelperAnswer {
            username: "<token>".into(),
            secret: "refresh".into(),
        };
        let Some(Credential::IdentityToken(refresh)) =
            credential_from_helper(token, "docker-credential-x")
        else {
            panic!("a helper's <token> answer is an identity token");
        };
        assert_eq!(refresh.expose(), "refresh");
        let basic = HelperAnswer {
            username: "AWS".into(),
            secret: "pw".into(),
        };
        assert!(credential_from_helper(basic, "docker-credential-x").is_some());
    }
}
