//! Shared helpers: clients for the stack's registries, unique repositories, skopeo.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::credentials::{Anonymous, Credential, CredentialSource, StaticCredentials};
use wharf_oci_core::reference::Reference;
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::services::RegistryEndpoint;

/// A client for one registry of the stack, with its credentials and CA.
pub fn client_for(endpoint: &RegistryEndpoint) -> RegistryClient {
    client_with(endpoint, true)
}

/// A client for `endpoint`; `trust_ca` false leaves out the stack's CA.
pub fn client_with(endpoint: &RegistryEndpoint, trust_ca: bool) -> RegistryClient {
    let mut transport = TransportConfig::builder();
    if !endpoint.tls {
        transport = transport.plain_http_host(&endpoint.host);
    }
    if trust_ca && let Some(ca) = &endpoint.ca_file {
        transport = transport.ca_file(ca);
    }
    let credentials: Arc<dyn CredentialSource> = match endpoint.credentials() {
        Some((user, password)) => Arc::new(
            StaticCredentials::new().with(&endpoint.host, Credential::basic(user, password)),
        ),
        None => Arc::new(Anonymous),
    };
    RegistryClient::builder()
        .transport(transport.build().expect("transport"))
        .credentials(credentials)
        .build()
        .expect("client")
}

/// A fresh repository reference (with tag `tag`) so tests never see each other's data.
pub fn unique_reference(endpoint: &RegistryEndpoint, name: &str, tag: &str) -> Reference {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let text = format!("{}/wharf-it/{name}-{}:{tag}", endpoint.host, &suffix[..12]);
    Reference::parse(&text).expect("valid reference")
}

/// Runs `skopeo inspect [--raw] docker://<reference>` with the flags the endpoint needs.
pub fn skopeo_inspect(endpoint: &RegistryEndpoint, reference: &Reference, raw: bool) -> Vec<u8> {
    let mut command = Command::new("skopeo");
    command.arg("inspect");
    if raw {
        command.arg("--raw");
    }
    if endpoint.tls {
        command.arg("--cert-dir").arg(cert_dir(endpoint));
    } else {
        command.arg("--tls-verify=false");
    }
    if let Some((user, password)) = endpoint.credentials() {
        command.arg("--creds").arg(format!("{user}:{password}"));
    }
    command.arg(format!("docker://{reference}"));
    let output = command.output().expect("skopeo runs");
    assert!(
        output.status.success(),
        "skopeo inspect {reference} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// `skopeo inspect` parsed.
pub fn skopeo_inspect_json(
    endpoint: &RegistryEndpoint,
    reference: &Reference,
) -> serde_json::Value {
    serde_json::from_slice(&skopeo_inspect(endpoint, reference, false)).expect("skopeo prints JSON")
}

/// A directory with the stack's CA as `ca.crt`, as skopeo's `--cert-dir` wants it.
fn cert_dir(endpoint: &RegistryEndpoint) -> PathBuf {
    let ca = endpoint
        .ca_file
        .as_ref()
        .expect("TLS endpoint has a CA file");
    let dir = std::env::temp_dir().join(format!("wharf-skopeo-certs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cert dir");
    std::fs::copy(ca, dir.join("ca.crt")).expect("copy CA");
    dir
}
