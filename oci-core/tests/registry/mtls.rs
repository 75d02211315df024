//! Client certificates against a real distribution that requires them (`http.tls.clientcas`),
//! started by the test on a free port with a throw-away PKI.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::reference::Reference;
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::image::{Flavor, ImageBuilder};
use wharf_testkit::pki::{CertificateAuthority, KeyPair};

/// A `docker-registry` process, killed when dropped.
struct MutualTlsRegistry {
    child: Child,
    host: String,
}

impl Drop for MutualTlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MutualTlsRegistry {
    /// Starts distribution over TLS with `server`'s certificate, accepting only clients with a
    /// certificate from `client_ca`.
    fn start(dir: &Path, server: &KeyPair, client_ca: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\n\
                 log:\n  level: warn\n\
                 storage:\n  filesystem:\n    rootdirectory: {data}\n\
                 http:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {cert}\n    key: {key}\n    clientcas:\n      - {ca}\n",
                data = dir.join("data").display(),
                cert = server.cert_file.display(),
                key = server.key_file.display(),
                ca = client_ca.display(),
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is installed by `cargo xtask services up`");
        let registry = Self {
            child,
            host: format!("localhost:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

fn identity_pem(pair: &KeyPair) -> Vec<u8> {
    format!("{}{}", pair.cert_pem().unwrap(), pair.key_pem().unwrap()).into_bytes()
}

fn client(ca: &Path, identity: Option<&KeyPair>) -> RegistryClient {
    let mut transport = TransportConfig::builder().ca_file(ca);
    if let Some(identity) = identity {
        transport = transport.client_identity_pem(identity_pem(identity));
    }
    RegistryClient::builder()
        .transport(transport.build().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_registry_requiring_client_certificates_accepts_only_the_configured_identity() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CertificateAuthority::create(dir.path(), "ca").unwrap();
    let server = ca
        .issue_server(dir.path(), "registry", &["localhost", "127.0.0.1"])
        .unwrap();
    let ci_runner = ca.issue_client(dir.path(), "ci-runner").unwrap();
    let elsewhere = CertificateAuthority::create(&dir.path().join("other"), "other-ca").unwrap();
    let stranger = elsewhere
        .issue_client(&dir.path().join("other"), "stranger")
        .unwrap();
    let ca_file = dir.path().join("ca.pem");
    let registry = MutualTlsRegistry::start(dir.path(), &server, &ca_file);

    let trusted = client(&ca_file, Some(&ci_runner));
    let image = ImageBuilder::new(Flavor::Oci).layer(4_000).build().unwrap();
    let reference = Reference::parse(&format!("{}/team/app:v1", registry.host)).unwrap();
    image.push(&trusted, &reference).await.unwrap();
    let pulled = trusted.get_manifest_raw(&reference).await.unwrap();
    assert_eq!(pulled.bytes, image.manifest);

    for (who, refused) in [
        ("no certificate", client(&ca_file, None)),
        (
            "a certificate of another CA",
            client(&ca_file, Some(&stranger)),
        ),
    ] {
        let error = refused.ping(&registry.host).await.unwrap_err();
        assert!(error.is_connection(), "{who}: {error}");
    }
}
