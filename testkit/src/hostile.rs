//! A hostile registry: an axum server whose repositories each misbehave in one way, plus a
//! second "elsewhere" server that records what it receives (to prove credentials did not
//! follow a redirect to another host).
//!
//! Every request needs `Authorization: Basic` for [`HostileRegistry::USER`] /
//! [`HostileRegistry::PASSWORD`] (the `/v2/` ping answers 401 with a Basic challenge), so a
//! client configured with those credentials sends them, and a leak is visible. The
//! repositories are the [`Scenario`]s by [`Scenario::repository`]; each serves
//! `manifests/latest` and the blobs its manifest names, and misbehaves where its docs say.
//!
//! ```no_run
//! use wharf_testkit::hostile::{HostileRegistry, Scenario};
//!
//! # async fn run() -> std::io::Result<()> {
//! let hostile = HostileRegistry::start().await?;
//! println!("{}/{}:latest", hostile.host(), Scenario::BadDigest.repository());
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wharf_oci_core::digest::Digest;

use crate::image::{Flavor, Image, ImageBuilder};

/// One way the registry misbehaves; each is served under its own repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The manifest is fine; its layer's bytes do not match the layer digest.
    BadDigest,
    /// The manifest is 5 MiB of valid-looking JSON (over the client's 4 MiB cap).
    HugeManifest,
    /// The manifest body never ends.
    EndlessManifest,
    /// Blob `GET`s redirect (307) to the elsewhere server, which serves the right bytes.
    RedirectElsewhere,
    /// Upload starts answer 202 with a `Location` on the elsewhere server.
    UploadLocationElsewhere,
    /// The manifest answers 401 with a malformed `WWW-Authenticate`.
    MalformedChallenge,
    /// The manifest answer carries a 1 MiB header.
    OversizedHeaders,
    /// The manifest answers 200 with an HTML page.
    HtmlPage,
    /// The manifest answers 500 with a plain-text body.
    TextError,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Self; 9] = [
        Self::BadDigest,
        Self::HugeManifest,
        Self::EndlessManifest,
        Self::RedirectElsewhere,
        Self::UploadLocationElsewhere,
        Self::MalformedChallenge,
        Self::OversizedHeaders,
        Self::HtmlPage,
        Self::TextError,
    ];

    /// The repository serving this scenario.
    pub fn repository(self) -> &'static str {
        match self {
            Self::BadDigest => "hostile/bad-digest",
            Self::HugeManifest => "hostile/huge-manifest",
            Self::EndlessManifest => "hostile/endless-manifest",
            Self::RedirectElsewhere => "hostile/redirect-elsewhere",
            Self::UploadLocationElsewhere => "hostile/upload-location-elsewhere",
            Self::MalformedChallenge => "hostile/malformed-challenge",
            Self::OversizedHeaders => "hostile/oversized-headers",
            Self::HtmlPage => "hostile/html-page",
            Self::TextError => "hostile/text-error",
        }
    }

    fn from_repository(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.repository() == name)
    }
}

/// What the elsewhere server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Method and path.
    pub request: String,
    /// The `Authorization` header, if one came.
    pub authorization: Option<String>,
}

struct Shared {
    image: Image,
    layer: Bytes,
    elsewhere: String,
    received: Mutex<Vec<Received>>,
}

/// The running hostile registry and its elsewhere server; both stop when dropped.
pub struct HostileRegistry {
    address: SocketAddr,
    elsewhere: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for HostileRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileRegistry")
            .field("address", &self.address)
            .field("elsewhere", &self.elsewhere)
            .finish_non_exhaustive()
    }
}

impl HostileRegistry {
    /// The user the registry accepts.
    pub const USER: &'static str = "hostile";
    /// The password the registry accepts.
    pub const PASSWORD: &'static str = "hostile-secret-pw";

    /// Starts both servers on free ports of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let image = ImageBuilder::new(Flavor::Oci)
            .seed(42)
            .layer(64 * 1024)
            .build()?;
        let layer = image.layers[0].blob.read_all()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let elsewhere_listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let elsewhere = elsewhere_listener.local_addr()?;
        let shared = Arc::new(Shared {
            image,
            layer,
            elsewhere: elsewhere.to_string(),
            received: Mutex::new(Vec::new()),
        });
        let registry = Router::new()
            .fallback(registry)
            .with_state(Arc::clone(&shared));
        let recorder = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&shared));
        let tasks = vec![
            tokio::spawn(async move {
                let _ = axum::serve(listener, registry).await;
            }),
            tokio::spawn(async move {
                let _ = axum::serve(elsewhere_listener, recorder).await;
            }),
        ];
        Ok(Self {
            address,
            elsewhere,
            shared,
            tasks,
        })
    }

    /// `host:port` of the hostile registry (plain HTTP).
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// `host:port` of the elsewhere server.
    pub fn elsewhere_host(&self) -> String {
        self.elsewhere.to_string()
    }

    /// The image every scenario's `latest` manifest describes.
    pub fn image(&self) -> &Image {
        &self.shared.image
    }

    /// What the elsewhere server received so far.
    pub fn received_elsewhere(&self) -> Vec<Received> {
        self.shared.received.lock().expect("received lock").clone()
    }
}

impl Drop for HostileRegistry {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            HostileRegistry::USER,
            HostileRegistry::PASSWORD
        ))
    );
    headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == expected.as_bytes())
}

fn respond(status: StatusCode, headers: &[(&str, String)], body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                value,
            );
        }
    }
    response
}

/// Splits `/v2/<repository>/<endpoint>/<rest>` for the known endpoints.
fn split_path(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/v2/")?;
    ["/manifests/", "/blobs/uploads/", "/blobs/"]
        .iter()
        .find_map(|endpoint| {
            let at = rest.find(endpoint)?;
            Some((
                &rest[..at],
                &endpoint[1..endpoint.len() - 1],
                &rest[at + endpoint.len()..],
            ))
        })
}

async fn registry(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if !authorized(request.headers()) {
        let challenge = ("WWW-Authenticate", r#"Basic realm="hostile""#.to_owned());
        return respond(StatusCode::UNAUTHORIZED, &[challenge], "");
    }
    let path = request.uri().path().to_owned();
    if path == "/v2/" {
        return respond(StatusCode::OK, &[], "{}");
    }
    let Some((repository, endpoint, rest)) = split_path(&path) else {
        return respond(StatusCode::NOT_FOUND, &[], "");
    };
    let Some(scenario) = Scenario::from_repository(repository) else {
        return respond(StatusCode::NOT_FOUND, &[], "");
    };
    match endpoint {
        "manifests" => manifest(&shared, scenario, request.method()),
        "blobs" => blob(&shared, scenario, repository, rest),
        _ => upload(&shared, scenario, repository),
    }
}

fn manifest(shared: &Shared, scenario: Scenario, method: &Method) -> Response {
    let manifest_type = ("Content-Type", Flavor::Oci.manifest_type().to_owned());
    match scenario {
        Scenario::HugeManifest => {
            let mut huge = b"{\"schemaVersion\":2,\"annotations\":{\"pad\":\"".to_vec();
            huge.resize(5 * 1024 * 1024, b'a');
            huge.extend_from_slice(b"\"}}");
            respond(StatusCode::OK, &[manifest_type], huge)
        }
        Scenario::EndlessManifest => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let endless =
                futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            respond(StatusCode::OK, &[manifest_type], Body::from_stream(endless))
        }
        Scenario::MalformedChallenge => {
            let challenge = (
                "WWW-Authenticate",
                r#"Bearer realm="http://[::1"#.to_owned(),
            );
            respond(StatusCode::UNAUTHORIZED, &[challenge], "")
        }
        Scenario::OversizedHeaders => {
            let big = ("X-Padding", "a".repeat(1024 * 1024));
            respond(
                StatusCode::OK,
                &[manifest_type, big],
                shared.image.manifest.clone(),
            )
        }
        Scenario::HtmlPage => {
            let html = ("Content-Type", "text/html".to_owned());
            respond(
                StatusCode::OK,
                &[html],
                "<html><body>Welcome to nginx!</body></html>",
            )
        }
        Scenario::TextError => {
            let text = ("Content-Type", "text/plain".to_owned());
            respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                &[text],
                "upstream exploded",
            )
        }
        _ => {
            let digest = ("Docker-Content-Digest", shared.image.digest.to_string());
            let body = if method == Method::HEAD {
                Bytes::new()
            } else {
                shared.image.manifest.clone()
            };
            let length = ("Content-Length", shared.image.manifest.len().to_string());
            respond(StatusCode::OK, &[manifest_type, digest, length], body)
        }
    }
}

fn blob(shared: &Shared, scenario: Scenario, repository: &str, digest: &str) -> Response {
    let Ok(digest) = Digest::parse(digest) else {
        return respond(StatusCode::BAD_REQUEST, &[], "");
    };
    let bytes = if digest == shared.image.config.digest {
        shared.image.config.read_all().unwrap_or_default()
    } else if digest == shared.image.layers[0].blob.digest {
        shared.layer.clone()
    } else {
        return respond(StatusCode::NOT_FOUND, &[], "");
    };
    match scenario {
        Scenario::BadDigest if digest != shared.image.config.digest => {
            let mut wrong = bytes.to_vec();
            wrong[100] ^= 0xff;
            respond(StatusCode::OK, &[], wrong)
        }
        Scenario::RedirectElsewhere => {
            let location = format!("http://{}/storage/{repository}/{digest}", shared.elsewhere);
            respond(
                StatusCode::TEMPORARY_REDIRECT,
                &[("Location", location)],
                "",
            )
        }
        _ => respond(StatusCode::OK, &[], bytes),
    }
}

fn upload(shared: &Shared, scenario: Scenario, repository: &str) -> Response {
    if scenario != Scenario::UploadLocationElsewhere {
        return respond(StatusCode::NOT_FOUND, &[], "");
    }
    let location = format!(
        "http://{}/v2/{repository}/blobs/uploads/stolen",
        shared.elsewhere
    );
    respond(StatusCode::ACCEPTED, &[("Location", location)], "")
}

/// The elsewhere server: records the request, then serves the layer for storage paths.
async fn record(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let received = Received {
        request: format!("{} {}", request.method(), request.uri().path()),
        authorization: request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
    };
    shared
        .received
        .lock()
        .expect("received lock")
        .push(received);
    if request.uri().path().starts_with("/storage/") {
        return respond(StatusCode::OK, &[], shared.layer.clone());
    }
    respond(StatusCode::ACCEPTED, &[], "")
}
