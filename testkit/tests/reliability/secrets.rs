//! No secret in trace-level logs or in the `Debug`/`Display` of credentials, client, transport
//! configuration and errors, during a push and a copy into the htpasswd registry.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tracing_subscriber::fmt::MakeWriter;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{CopyEngine, CopyOptions, CopyRequest};
use wharf_oci_core::credentials::{Credential, StaticCredentials};
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::image::{Flavor, ImageBuilder};
use wharf_testkit::services;

use super::corpus;

/// A log sink shared between the subscriber and the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} shows a secret: {text}"
        );
    }
}

#[tokio::test]
async fn no_secret_reaches_logs_debug_or_display() {
    let registry = services::registry_htpasswd();
    let plain = services::registry_plain().host;
    let (user, password) = registry.credentials().expect("htpasswd credentials");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let secrets = vec![password.to_owned(), basic];

    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let credential = Credential::basic(user, password);
    let transport = TransportConfig::builder()
        .plain_http_hosts([registry.host.as_str(), plain.as_str()])
        .build()
        .expect("transport");
    let client = RegistryClient::builder()
        .transport(transport.clone())
        .credentials(Arc::new(
            StaticCredentials::new().with(&registry.host, credential.clone()),
        ))
        .build()
        .expect("client");

    let repository = format!("reliability-secrets/{}", uuid::Uuid::new_v4().simple());
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(32 * 1024)
        .build()
        .expect("image");
    let source = corpus::reference(&plain, &repository, "v1");
    image
        .push(&client, &source)
        .await
        .expect("push to the plain registry");
    let destination = corpus::reference(&registry.host, &repository, "v1");
    let engine = CopyEngine::new(client.clone(), CopyOptions::default());
    let report = engine
        .copy(&[CopyRequest::new(source, [destination])])
        .await;
    assert!(report.succeeded(), "{report:?}");
    let missing = corpus::reference(&registry.host, &repository, "missing");
    let error = client
        .get_manifest(&missing)
        .await
        .expect_err("no such tag");

    let logs = String::from_utf8(captured.0.lock().expect("log lock").clone()).expect("UTF-8");
    assert!(
        logs.contains(&registry.host),
        "the capture saw no request: {logs}"
    );
    assert_clean("trace log", &logs, &secrets);
    assert_clean("credential Debug", &format!("{credential:?}"), &secrets);
    let header = credential.authorization_header();
    assert_clean("header Debug", &format!("{header:?}"), &secrets);
    assert_clean("client Debug", &format!("{client:?}"), &secrets);
    assert_clean("transport Debug", &format!("{transport:?}"), &secrets);
    assert_clean("engine Debug", &format!("{engine:?}"), &secrets);
    assert_clean("error Debug", &format!("{error:?}"), &secrets);
    assert_clean("error Display", &error.to_string(), &secrets);
    assert_clean("report Debug", &format!("{report:?}"), &secrets);
    assert_clean("endpoint Debug", &format!("{registry:?}"), &secrets);
}
