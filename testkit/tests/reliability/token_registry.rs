//! A private token-auth setup for one test: an in-process token service with a chosen token
//! lifetime, and `docker-registry` processes (the Debian distribution package) that trust it.
//!
//! Each test gets its own storage, ports and token count, so nothing else on the machine can
//! ask for tokens and the count is the test's own.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tokio::task::JoinHandle;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::credentials::{Credential, StaticCredentials};
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::pki::CertificateAuthority;
use wharf_testkit::token::{self, DISTRIBUTION_LEEWAY, TokenIssuer, TokenService, UserTable};

use super::corpus;

/// The distribution binary of the Debian `docker-registry` package.
const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";
/// `auth.token.service` of the registries, the tokens' audience.
const AUDIENCE: &str = "wharf-reliability-registry";
/// `auth.token.issuer` of the registries, the tokens' `iss`.
const ISSUER: &str = "wharf-reliability-tokens";
/// The one user of the token service.
pub const USER: &str = "mover";
/// How long a registry may take to answer after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A token service on a loopback port; registries started from it trust its tokens.
///
/// distribution accepts a token up to [`DISTRIBUTION_LEEWAY`] past its `exp`; the issuer
/// compensates for that, so the registries really refuse a token once its lifetime is over.
pub struct TokenSetup {
    dir: TempDir,
    ca_file: std::path::PathBuf,
    realm: String,
    service: TokenService,
    password: String,
    server: JoinHandle<()>,
}

impl TokenSetup {
    /// Starts a token service whose tokens live `ttl`, with one user ([`USER`]) granted every
    /// action asked for.
    pub async fn start(ttl: Duration) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let pki = dir.path().join("pki");
        let ca = CertificateAuthority::create(&pki, "ca").expect("test CA");
        let signer = ca.issue_signer(&pki, "signer").expect("token signer");
        let issuer = TokenIssuer::from_pem(
            ISSUER,
            &signer.cert_pem().expect("signer certificate"),
            &signer.key_pem().expect("signer key"),
        )
        .expect("token issuer")
        .with_ttl(ttl)
        .with_verifier_leeway(DISTRIBUTION_LEEWAY);
        let password = uuid::Uuid::new_v4().simple().to_string();
        let service = TokenService::new(issuer, UserTable::new().with_user(USER, &password));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("token service port");
        let realm = format!(
            "http://{}/token",
            listener.local_addr().expect("token address")
        );
        let app = token::router(service.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("token service");
        });
        Self {
            dir,
            ca_file: ca.pair.cert_file,
            realm,
            service,
            password,
            server,
        }
    }

    /// Tokens the service has issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.service.tokens_issued()
    }

    /// A token for `scope` (`type:name:actions`), fetched as [`USER`] the way a client would.
    pub async fn fetch_token(&self, scope: &str) -> String {
        let answer: serde_json::Value = reqwest::Client::new()
            .get(&self.realm)
            .query(&[("service", AUDIENCE), ("scope", scope)])
            .basic_auth(USER, Some(&self.password))
            .send()
            .await
            .expect("token request")
            .error_for_status()
            .expect("token granted")
            .json()
            .await
            .expect("token answer");
        answer["token"].as_str().expect("token field").to_owned()
    }

    /// Tokens issued so far by requested scope set (see
    /// [`TokenService::tokens_issued_per_scope`]).
    pub fn tokens_issued_per_scope(&self) -> std::collections::BTreeMap<String, u64> {
        self.service.tokens_issued_per_scope()
    }

    /// Starts a registry named `name` (its storage under this setup's folder) that sends
    /// clients to this token service, and waits until it answers.
    pub async fn registry(&self, name: &str) -> RegistryProcess {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("registry folder");
        let host = format!("127.0.0.1:{}", free_port());
        let config = dir.join("config.yml");
        std::fs::write(&config, self.registry_config(&host, &dir)).expect("registry config");
        let log = std::fs::File::create(dir.join("registry.log")).expect("registry log");
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("registry log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry (Debian package `docker-registry`)");
        let mut registry = RegistryProcess { child, host };
        registry.wait_ready().await;
        registry
    }

    fn registry_config(&self, host: &str, dir: &Path) -> String {
        format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n\
             auth:\n  token:\n    realm: {realm}\n    service: {AUDIENCE}\n    \
             issuer: {ISSUER}\n    rootcertbundle: {root}\n",
            storage = dir.join("storage").display(),
            realm = self.realm,
            root = self.ca_file.display(),
        )
    }

    /// A client for the registries at `hosts` (registries of this setup, or proxies in front
    /// of them) over plain HTTP, logging in as [`USER`] on each.
    pub fn client(&self, hosts: &[&str]) -> RegistryClient {
        let transport = TransportConfig::builder()
            .plain_http_hosts(hosts.iter().copied())
            .build()
            .expect("transport config");
        let credentials = hosts
            .iter()
            .fold(StaticCredentials::new(), |credentials, host| {
                credentials.with(*host, Credential::basic(USER, &*self.password))
            });
        RegistryClient::builder()
            .transport(transport)
            .credentials(Arc::new(credentials))
            .retry_policy(corpus::quick_retries())
            .build()
            .expect("registry client")
    }
}

impl Drop for TokenSetup {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A running `docker-registry` child; killed on drop.
pub struct RegistryProcess {
    child: Child,
    host: String,
}

impl RegistryProcess {
    /// `host:port` of the registry.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Waits until `GET /v2/` answers with the token challenge.
    async fn wait_ready(&mut self) {
        let url = format!("http://{}/v2/", self.host);
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status() == reqwest::StatusCode::UNAUTHORIZED
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry at {} exited: {status}", self.host);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "docker-registry at {} did not answer",
                self.host
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        // The child may already be gone; nothing useful to do with an error here.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("port").port()
}
