//! Harbor access shared by the binaries that talk to Harbor's API: flags and client.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use wharf_harbor_client::HarborClient;
use wharf_oci_core::transport::TransportConfig;

use crate::registry::RegistryArgs;
use crate::secrets::read_secret;

/// Environment variable holding the Harbor password, robot secret or OIDC CLI secret.
pub const PASSWORD_VAR: &str = "HARBOR_PASSWORD";

/// How to reach and log in to Harbor.
#[derive(Debug, Clone, Args)]
pub struct HarborArgs {
    /// Harbor's URL, e.g. `https://harbor.example.com`. An `http://` URL is reached over
    /// plain HTTP without further flags.
    #[arg(long = "harbor", env = "HARBOR_URL", value_name = "URL")]
    pub url: String,

    /// User (or robot `robot$project+name`) to log in as.
    #[arg(long = "harbor-user", env = "HARBOR_USER", default_value = "admin")]
    pub user: String,

    /// File holding the password or secret (default: the `HARBOR_PASSWORD` variable).
    #[arg(long = "harbor-password-file", value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Plain-HTTP hosts and extra CAs.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl HarborArgs {
    /// The transport: the registry flags, plus plain HTTP for an `http://` Harbor URL.
    pub fn transport(&self) -> anyhow::Result<TransportConfig> {
        let mut registry = self.registry.clone();
        if let Some(host) = self.plain_http_host()? {
            registry.plain_http.push(host);
        }
        registry.transport()
    }

    /// A client logged in when a password is given, anonymous otherwise.
    pub fn client(&self) -> anyhow::Result<HarborClient> {
        let mut builder = HarborClient::builder(&self.url).transport(self.transport()?);
        if let Some(password) = read_secret(PASSWORD_VAR, self.password_file.as_deref())? {
            builder = builder.basic(&self.user, password);
        }
        builder.build().context("cannot build the Harbor client")
    }

    /// A client that must be logged in: a missing password is an error naming both places.
    pub fn logged_in_client(&self) -> anyhow::Result<HarborClient> {
        crate::secrets::require_secret(PASSWORD_VAR, self.password_file.as_deref())?;
        self.client()
    }

    fn plain_http_host(&self) -> anyhow::Result<Option<String>> {
        let url = scheme_and_host(&self.url)?;
        Ok((url.0 == "http").then_some(url.1))
    }
}

/// Scheme and `host[:port]` of a URL, as typed on the command line.
fn scheme_and_host(text: &str) -> anyhow::Result<(String, String)> {
    let (scheme, rest) = text
        .split_once("://")
        .with_context(|| format!("`{text}` is not a URL with a scheme"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    anyhow::ensure!(!authority.is_empty(), "`{text}` has no host");
    Ok((scheme.to_ascii_lowercase(), authority.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_and_authority() {
        assert_eq!(
            scheme_and_host("http://127.0.0.1:8080/api/v2.0").unwrap(),
            ("http".to_owned(), "127.0.0.1:8080".to_owned())
        );
        assert_eq!(
            scheme_and_host("HTTPS://harbor.example.com").unwrap().0,
            "https"
        );
        assert!(scheme_and_host("harbor.example.com").is_err());
    }
}
