//! No secret in trace-level logs or in the `Debug`/`Display` of credentials, tokens, client,
//! transport configuration and errors, during a push and a copy into the htpasswd registry and
//! into the token registry; TLS to a registry whose CA is unknown is refused and works with the
//! CA configured; plain HTTP is refused unless the host is listed.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tracing_subscriber::fmt::MakeWriter;
use wharf_oci_core::auth::Token;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{BatchReport, CopyEngine, CopyOptions, CopyRequest};
use wharf_oci_core::credentials::{Credential, StaticCredentials};
use wharf_oci_core::error::Error;
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::image::{Flavor, ImageBuilder};
use wharf_testkit::services::{self, RegistryEndpoint};

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

/// Collects the trace-level `tracing` output of the current thread until dropped.
struct LogCapture {
    captured: Captured,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    fn start() -> Self {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(captured.clone())
            .with_ansi(false)
            .finish();
        Self {
            captured,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        String::from_utf8(self.captured.0.lock().expect("log lock").clone()).expect("UTF-8")
    }
}

/// Every error in `error`'s source chain, outermost first, joined with `: `.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A one-layer image with random content.
fn small_image() -> wharf_testkit::image::Image {
    ImageBuilder::new(Flavor::Oci)
        .layer(32 * 1024)
        .build()
        .expect("image")
}

fn fresh_repository() -> String {
    format!("reliability-secrets/{}", uuid::Uuid::new_v4().simple())
}

/// What a push, a copy and a failing fetch against an authenticated registry leave behind.
struct Flow {
    credential: Credential,
    transport: TransportConfig,
    client: RegistryClient,
    engine: CopyEngine,
    report: BatchReport,
    error: wharf_oci_core::error::Error,
}

/// Pushes an image to the plain registry, copies it into `registry` with its credentials and
/// fetches a tag that does not exist there.
async fn authenticated_flow(registry: &RegistryEndpoint) -> Flow {
    let plain = services::registry_plain().host;
    let (user, password) = registry.credentials().expect("registry credentials");
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

    let repository = fresh_repository();
    let source = corpus::reference(&plain, &repository, "v1");
    small_image()
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
    Flow {
        credential,
        transport,
        client,
        engine,
        report,
        error,
    }
}

impl Flow {
    fn assert_clean(&self, secrets: &[String]) {
        assert_clean(
            "credential Debug",
            &format!("{:?}", self.credential),
            secrets,
        );
        let header = self
            .credential
            .authorization_header()
            .expect("the credentials under test go into headers");
        assert_clean("header Debug", &format!("{header:?}"), secrets);
        assert_clean("header Display", &header.to_string(), secrets);
        assert_clean("client Debug", &format!("{:?}", self.client), secrets);
        assert_clean("transport Debug", &format!("{:?}", self.transport), secrets);
        assert_clean("engine Debug", &format!("{:?}", self.engine), secrets);
        assert_clean("error Debug", &format!("{:?}", self.error), secrets);
        assert_clean("error Display", &chain(&self.error), secrets);
        assert_clean("report Debug", &format!("{:?}", self.report), secrets);
    }
}

fn basic_secrets(registry: &RegistryEndpoint) -> Vec<String> {
    let (user, password) = registry.credentials().expect("registry credentials");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    vec![password.to_owned(), basic]
}

#[tokio::test]
async fn no_secret_reaches_logs_debug_or_display() {
    let registry = services::registry_htpasswd();
    let secrets = basic_secrets(&registry);
    let capture = LogCapture::start();

    let flow = authenticated_flow(&registry).await;

    let logs = capture.text();
    assert!(
        logs.contains(&registry.host),
        "the capture saw no request: {logs}"
    );
    assert_clean("trace log", &logs, &secrets);
    flow.assert_clean(&secrets);
    assert_clean("endpoint Debug", &format!("{registry:?}"), &secrets);
}

/// A token from the stack's token service, as its JSON answer.
async fn fetch_token_answer(registry: &RegistryEndpoint, repository: &str) -> bytes::Bytes {
    let (user, password) = registry.credentials().expect("token credentials");
    let realm = format!(
        "{}/token",
        registry
            .token_service_url
            .as_deref()
            .expect("token service")
    );
    reqwest::Client::new()
        .get(realm)
        .query(&[("scope", format!("repository:{repository}:pull"))])
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("token request")
        .error_for_status()
        .expect("token granted")
        .bytes()
        .await
        .expect("token answer")
}

/// The JWT header segment every token of the stack's token service starts with (the header
/// holds only the algorithm and the signer's certificate chain). A log or `Debug` output
/// holding any of its tokens, the client's included, holds this segment.
async fn token_header_segment(registry: &RegistryEndpoint) -> (String, Token) {
    let first = fetch_token_answer(registry, "a/b").await;
    let second = fetch_token_answer(registry, "c/d").await;
    let first = Token::from_json(&first).expect("token answer");
    let second = Token::from_json(&second).expect("token answer");
    let header = |token: &Token| {
        let value = token.value.expose();
        value.split('.').next().expect("JWT header").to_owned()
    };
    assert_eq!(header(&first), header(&second), "tokens share their header");
    assert!(
        header(&first).len() > 100,
        "the header carries the x5c chain"
    );
    (header(&first), first)
}

#[tokio::test]
async fn no_token_or_password_reaches_logs_debug_or_display_with_token_auth() {
    let registry = services::registry_token();
    let (token_header, sample_token) = token_header_segment(&registry).await;
    let mut secrets = basic_secrets(&registry);
    secrets.push(token_header);
    secrets.push(sample_token.value.expose().to_owned());
    let capture = LogCapture::start();

    let flow = authenticated_flow(&registry).await;
    let wrong_password = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    let refused = RegistryClient::builder()
        .transport(flow.transport.clone())
        .credentials(Arc::new(StaticCredentials::new().with(
            &registry.host,
            Credential::basic(
                registry.username.as_deref().expect("user"),
                &*wrong_password,
            ),
        )))
        .build()
        .expect("client")
        .get_manifest(&corpus::reference(
            &registry.host,
            &fresh_repository(),
            "v1",
        ))
        .await
        .expect_err("a wrong password gets no token");
    secrets.push(wrong_password);

    let logs = capture.text();
    assert!(
        logs.contains(&registry.host) && logs.contains("bearer challenge"),
        "the capture saw no token flow: {logs}"
    );
    assert_clean("trace log", &logs, &secrets);
    flow.assert_clean(&secrets);
    assert_clean("refusal Debug", &format!("{refused:?}"), &secrets);
    assert_clean("refusal Display", &chain(&refused), &secrets);
    assert_clean("token Debug", &format!("{sample_token:?}"), &secrets);
    assert_clean("endpoint Debug", &format!("{registry:?}"), &secrets);
}

#[tokio::test]
async fn a_tls_registry_is_refused_without_its_ca_and_trusted_with_it() {
    let registry = services::registry_tls();
    let ca_file = registry.ca_file.clone().expect("TLS registry CA");
    let reference = corpus::reference(&registry.host, &fresh_repository(), "v1");

    let untrusting = RegistryClient::builder().build().expect("client");
    let error = small_image()
        .push(&untrusting, &reference)
        .await
        .expect_err("an unknown CA is refused");
    let cause = error
        .downcast_ref::<Error>()
        .unwrap_or_else(|| panic!("not a registry error: {error:?}"));
    assert!(matches!(cause, Error::Http { .. }), "{cause:?}");
    let message = chain(cause);
    assert!(
        message.to_ascii_lowercase().contains("certificate") && message.contains("UnknownIssuer"),
        "the error does not say the certificate was not trusted: {message}"
    );

    let transport = TransportConfig::builder()
        .ca_file(&ca_file)
        .build()
        .expect("transport with the CA");
    let trusting = RegistryClient::builder()
        .transport(transport)
        .build()
        .expect("client");
    let image = small_image();
    image
        .push(&trusting, &reference)
        .await
        .expect("push with the CA configured");
    let fetched = trusting
        .get_manifest_raw(&reference)
        .await
        .expect("manifest");
    assert_eq!(fetched.bytes, image.manifest);
    println!("TLS without the CA: {message}");
}

#[tokio::test]
async fn plain_http_is_refused_unless_the_host_is_listed() {
    let plain = services::registry_plain().host;
    let reference = corpus::reference(&plain, &fresh_repository(), "v1");
    let image = small_image();

    let unlisted = RegistryClient::builder().build().expect("client");
    let error = image
        .push(&unlisted, &reference)
        .await
        .expect_err("plain HTTP to an unlisted host is refused");
    let cause = error
        .downcast_ref::<Error>()
        .unwrap_or_else(|| panic!("not a registry error: {error:?}"));
    assert!(
        matches!(cause, Error::Http { url, .. } if url.starts_with("https://")),
        "the client did not insist on HTTPS: {cause:?}"
    );
    let message = chain(cause);

    let listed_transport = TransportConfig::builder()
        .plain_http_host(&plain)
        .build()
        .expect("transport");
    let listed = RegistryClient::builder()
        .transport(listed_transport)
        .build()
        .expect("client");
    let nothing = listed
        .get_manifest_raw(&reference)
        .await
        .expect_err("the refused push left nothing behind");
    assert!(nothing.is_not_found(), "{nothing:?}");
    image
        .push(&listed, &reference)
        .await
        .expect("push with the host listed");
    assert_eq!(
        listed
            .get_manifest_raw(&reference)
            .await
            .expect("manifest")
            .bytes,
        image.manifest
    );
    println!("plain HTTP, host not listed: {message}");
}
