//! Docker's `config.json`: `auths`, `credHelpers` and `credsStore`, parsed without I/O.
//!
//! Running `docker-credential-<name> get` for `credHelpers` and `credsStore` is done by
//! the `docker_credentials` module, which reads the file and asks this module which helper or
//! stored credential applies.
//!
//! Keys are matched by exact spelling first, then by normalised host: the scheme and any path
//! are dropped and every Docker Hub spelling (`https://index.docker.io/v1/`, `index.docker.io`,
//! `registry-1.docker.io`) means `docker.io`, as the Docker CLI does.
//!
//! ```
//! use wharf_oci_core::credentials::Credential;
//! use wharf_oci_core::docker_config::DockerConfig;
//!
//! let json = br#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"}},
//!                 "credHelpers":{"123.dkr.ecr.eu-west-1.amazonaws.com":"ecr-login"}}"#;
//! let config = DockerConfig::parse(json).unwrap();
//! let Some(Credential::Basic { username, .. }) = config.credential("docker.io") else {
//!     panic!("no credential");
//! };
//! assert_eq!(username, "user");
//! assert_eq!(config.cred_helper("123.dkr.ecr.eu-west-1.amazonaws.com"), Some("ecr-login"));
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use crate::credentials::Credential;
use crate::reference::{DOCKER_HUB_API_HOST, DOCKER_HUB_LEGACY_REGISTRY, DOCKER_HUB_REGISTRY};
use crate::secret::Secret;

/// Why a `config.json` could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerConfigError {
    /// The file is not JSON of the expected shape.
    #[error("docker config is not valid json")]
    InvalidJson {
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// An `auth` value is not base64 of `username:password`.
    #[error("invalid `auth` value for `{key}` in docker config")]
    InvalidAuth {
        /// The `auths` key whose entry is broken.
        key: String,
    },
}

/// One `auths` entry, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthEntry {
    /// The user name, from `username` or the `auth` pair.
    pub username: Option<String>,
    /// The password, from `password` or the `auth` pair.
    pub password: Option<Secret>,
    /// An OAuth2 refresh token for the registry's token service (`identitytoken`).
    pub identity_token: Option<Secret>,
    /// A bearer token to present to the registry as is (`registrytoken`).
    pub registry_token: Option<Secret>,
}

impl AuthEntry {
    /// The credential to send: a registry token as Bearer, else an identity token (exchanged
    /// at the token service, as Docker does, before user and password), else user and
    /// password as Basic.
    pub fn credential(&self) -> Option<Credential> {
        if let Some(token) = self.registry_token.as_ref().filter(|t| !t.is_empty()) {
            return Some(Credential::Bearer(token.clone()));
        }
        if let Some(token) = self.identity_token.as_ref().filter(|t| !t.is_empty()) {
            return Some(Credential::IdentityToken(token.clone()));
        }
        match (&self.username, &self.password) {
            (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
                Some(Credential::basic(username.clone(), password.clone()))
            }
            _ => None,
        }
    }
}

/// A parsed Docker `config.json` (only the parts about credentials).
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    auths: BTreeMap<String, AuthEntry>,
    cred_helpers: BTreeMap<String, String>,
    creds_store: Option<String>,
}

/// The file as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawAuth>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize)]
struct RawAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

impl DockerConfig {
    /// Parses the bytes of a `config.json`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DockerConfigError> {
        let raw: RawConfig = serde_json::from_slice(bytes)
            .map_err(|source| DockerConfigError::InvalidJson { source })?;

        let mut auths = BTreeMap::new();
        for (key, entry) in raw.auths {
            let decoded = decode_entry(&key, entry)?;
            auths.insert(key, decoded);
        }

        Ok(Self {
            auths,
            cred_helpers: raw.cred_helpers,
            creds_store: raw.creds_store.filter(|store| !store.is_empty()),
        })
    }

    /// The `auths` entry for `registry` (a host such as `docker.io` or `localhost:5000`, or a
    /// key as Docker writes it).
    pub fn auth_entry(&self, registry: &str) -> Option<&AuthEntry> {
        lookup(&self.auths, registry)
    }

    /// The stored credential for `registry`, from `auths`.
    pub fn credential(&self, registry: &str) -> Option<Credential> {
        self.auth_entry(registry).and_then(AuthEntry::credential)
    }

    /// The helper name (the part after `docker-credential-`) configured for `registry` in
    /// `credHelpers`.
    pub fn cred_helper(&self, registry: &str) -> Option<&str> {
        lookup(&self.cred_helpers, registry).map(String::as_str)
    }

    /// The default helper for every registry (`credsStore`).
    pub fn creds_store(&self) -> Option<&str> {
        self.creds_store.as_deref()
    }

    /// The `auths` keys, as written.
    pub fn registries(&self) -> impl Iterator<Item = &str> {
        self.auths.keys().map(String::as_str)
    }
}

fn decode_entry(key: &str, raw: RawAuth) -> Result<AuthEntry, DockerConfigError> {
    let mut entry = AuthEntry {
        username: raw.username.filter(|u| !u.is_empty()),
        password: raw.password.filter(|p| !p.is_empty()).map(Secret::new),
        identity_token: raw.identitytoken.filter(|t| !t.is_empty()).map(Secret::new),
        registry_token: raw.registrytoken.filter(|t| !t.is_empty()).map(Secret::new),
    };

    if let Some(auth) = raw.auth.filter(|a| !a.is_empty()) {
        let invalid = || DockerConfigError::InvalidAuth {
            key: key.to_owned(),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| invalid())?;
        let pair = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (username, password) = pair.split_once(':').ok_or_else(invalid)?;
        entry.username = Some(username.to_owned());
        entry.password = Some(Secret::new(password));
    }
    Ok(entry)
}

/// Finds `registry` in `map` by exact key, then by normalised host.
fn lookup<'a, V>(map: &'a BTreeMap<String, V>, registry: &str) -> Option<&'a V> {
    if let Some(value) = map.get(registry) {
        return Some(value);
    }
    let wanted = normalise_host(registry);
    map.iter()
        .find(|(key, _)| normalise_host(key) == wanted)
        .map(|(_, value)| value)
}

/// The host (with port) a config key or registry name stands for, Docker Hub spellings
/// folded into `docker.io`.
pub fn normalise_host(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();

    if [DOCKER_HUB_LEGACY_REGISTRY, DOCKER_HUB_API_HOST].contains(&host.as_str()) {
        return DOCKER_HUB_REGISTRY.to_owned();
    }
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credential: Option<Credential>) -> Option<(String, String)> {
        match credential? {
            Credential::Basic { username, password } => {
                Some((username, password.expose().to_owned()))
            }
            Credential::Bearer(_) | Credential::IdentityToken(_) => None,
        }
    }

    const CONFIG: &[u8] = br#"{
        "auths": {
            "https://index.docker.io/v1/": { "auth": "aHViOnNlY3JldDp3aXRoOmNvbG9ucw==" },
            "localhost:5000": { "username": "alice", "password": "pw" },
            "https://harbor.example.com": { "auth": "cm9ib3QkY2krYnVpbGQ6dG9rZW4=" },
            "tokens.example": { "registrytoken": "abc" },
            "oauth.example": { "identitytoken": "refresh" },
            "empty.example": {}
        },
        "credHelpers": { "123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login" },
        "credsStore": "desktop",
        "HttpHeaders": { "User-Agent": "x" }
    }"#;

    #[test]
    fn lookup_by_normalised_host() {
        let config = DockerConfig::parse(CONFIG).unwrap();
        let hub = Some(("hub".to_owned(), "secret:with:colons".to_owned()));
        for spelling in [
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
        ] {
            assert_eq!(basic(config.credential(spelling)), hub, "{spelling}");
        }
        assert_eq!(
            basic(config.credential("harbor.example.com")),
            Some(("robot$ci+build".to_owned(), "token".to_owned()))
        );
        assert_eq!(
            basic(config.credential("localhost:5000")),
            Some(("alice".to_owned(), "pw".to_owned()))
        );
        assert!(config.credential("localhost:5001").is_none());
    }

    #[test]
    fn tokens_helpers_and_store() {
        let config = DockerConfig::parse(CONFIG).unwrap();
        let Some(Credential::Bearer(token)) = config.credential("tokens.example") else {
            panic!("registry token not used as bearer");
        };
        assert_eq!(token.expose(), "abc");

        let oauth = config.auth_entry("oauth.example").unwrap();
        assert_eq!(
            oauth.identity_token.as_ref().map(Secret::expose),
            Some("refresh")
        );
        let Some(Credential::IdentityToken(refresh)) = oauth.credential() else {
            panic!("identity token not used for the token exchange");
        };
        assert_eq!(refresh.expose(), "refresh");
        assert!(config.credential("empty.example").is_none());

        assert_eq!(
            config.cred_helper("https://123.dkr.ecr.us-east-1.amazonaws.com"),
            Some("ecr-login")
        );
        assert_eq!(config.cred_helper("docker.io"), None);
        assert_eq!(config.creds_store(), Some("desktop"));
        assert_eq!(config.registries().count(), 6);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = DockerConfig::parse(CONFIG).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret:with"), "{debug}");
        assert!(!debug.contains("\"pw\""), "{debug}");
        assert!(debug.contains("alice"));
    }

    #[test]
    fn rejects_broken_files() {
        assert!(matches!(
            DockerConfig::parse(b"{\"auths\": 3}"),
            Err(DockerConfigError::InvalidJson { .. })
        ));
        assert!(matches!(
            DockerConfig::parse(br#"{"auths":{"r.example":{"auth":"!!"}}}"#),
            Err(DockerConfigError::InvalidAuth { key }) if key == "r.example"
        ));
        assert!(matches!(
            DockerConfig::parse(br#"{"auths":{"r.example":{"auth":"bm9jb2xvbg=="}}}"#),
            Err(DockerConfigError::InvalidAuth { .. })
        ));
        let empty = DockerConfig::parse(b"{}").unwrap();
        assert!(empty.creds_store().is_none());
    }
}
