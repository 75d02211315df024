//! The `WHARF_*` environment variables that tell tests where the stack is.

use super::catalog::{Context, Service};
use super::state::USER;

/// Every variable of the service environment contract, from the recorded state.
pub fn environment(context: &Context) -> Vec<(String, String)> {
    let endpoint = |service: Service| {
        let port = context
            .state
            .ports
            .get(service.name())
            .copied()
            .unwrap_or(0);
        service.endpoint(port)
    };
    let password = context.state.password.clone();
    let path = |path: std::path::PathBuf| path.display().to_string();
    let pairs = [
        ("WHARF_REGISTRY_PLAIN", endpoint(Service::RegistryPlain)),
        (
            "WHARF_REGISTRY_HTPASSWD",
            endpoint(Service::RegistryHtpasswd),
        ),
        ("WHARF_REGISTRY_HTPASSWD_USER", USER.to_owned()),
        ("WHARF_REGISTRY_HTPASSWD_PASSWORD", password.clone()),
        ("WHARF_REGISTRY_TOKEN", endpoint(Service::RegistryToken)),
        ("WHARF_TOKEN_SERVICE_URL", endpoint(Service::TokenRealm)),
        ("WHARF_REGISTRY_TOKEN_USER", USER.to_owned()),
        ("WHARF_REGISTRY_TOKEN_PASSWORD", password.clone()),
        ("WHARF_REGISTRY_TLS", endpoint(Service::RegistryTls)),
        ("WHARF_TLS_CA_FILE", path(context.ca_file())),
        ("WHARF_MOTO_URL", endpoint(Service::Moto)),
        ("WHARF_PRISM_HARBOR_URL", endpoint(Service::PrismHarbor)),
        ("WHARF_PRISM_GITEA_URL", endpoint(Service::PrismGitea)),
        ("WHARF_PYPI_URL", endpoint(Service::Pypi)),
        ("WHARF_PYPI_USER", USER.to_owned()),
        ("WHARF_PYPI_PASSWORD", password.clone()),
        ("WHARF_NPM_URL", endpoint(Service::Npm)),
        ("WHARF_NPM_USER", USER.to_owned()),
        ("WHARF_NPM_PASSWORD", password),
        (
            "WHARF_NPM_TOKEN",
            context.state.npm_token.clone().unwrap_or_default(),
        ),
        (
            "WHARF_PYTHON_TOOLS_BIN",
            path(context.tools.python_bin.clone()),
        ),
        ("WHARF_PRISM_BIN", path(context.tools.prism())),
        ("WHARF_SERVICES_DIR", path(context.dir.clone())),
    ];
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}
