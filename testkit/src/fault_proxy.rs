//! A fault-injecting HTTP/1.1 reverse proxy to put between a client and a registry.
//!
//! Every request draws from a seeded schedule: with probability `rate` it gets one of the
//! enabled [`FaultKind`]s, otherwise it is forwarded untouched. Bodies are streamed chunk by
//! chunk in both directions (nothing is buffered whole), so the proxy sits in front of
//! multi-gigabyte blobs as easily as in front of manifests. Upload `Location` headers that
//! point at the upstream are rewritten to the proxy so later requests of an upload come back
//! through it. A repository can be made to fail permanently with
//! [`FaultProxy::fail_repository`]; [`FaultConfig::bandwidth`] caps the byte rate of all
//! response bodies together, so that a transfer takes a known minimum time, and
//! [`FaultConfig::max_request_body`] refuses large request bodies with 413 as an ingress with
//! nginx's default `client_max_body_size` of 1 MiB does in front of a Harbor.
//!
//! ```no_run
//! use wharf_testkit::fault_proxy::{FaultConfig, FaultProxy};
//!
//! # async fn run() -> std::io::Result<()> {
//! let registry = wharf_testkit::services::registry_plain();
//! let proxy = FaultProxy::start(&registry.host, FaultConfig::new(7).rate(0.1)).await?;
//! println!("faulty registry at {}", proxy.host());
//! // … run a client against `proxy.host()` …
//! println!("{:?}", proxy.counts());
//! # Ok(()) }
//! ```

mod body;
mod pace;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures::TryStreamExt as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use body::{BodyFault, faulty_body};
use pace::{Pacer, paced};

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `503 Service Unavailable` before the request reaches the registry.
    ServiceUnavailable,
    /// `429 Too Many Requests` with `Retry-After`, before the request reaches the registry.
    TooManyRequests,
    /// The connection is cut half-way through a response body (`Content-Length` intact).
    ResetMidBody,
    /// The body ends cleanly half-way, sent chunked without `Content-Length`: only a size or
    /// digest check can notice.
    TruncatedBody,
    /// The response stops half-way through its body for longer than the client's timeout.
    Stall,
    /// `Content-Length` announces more bytes than the body has; the connection closes after
    /// the real body.
    WrongContentLength,
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 6] = [
        Self::ServiceUnavailable,
        Self::TooManyRequests,
        Self::ResetMidBody,
        Self::TruncatedBody,
        Self::Stall,
        Self::WrongContentLength,
    ];

    /// True for the kinds that need a response body to act on (only `GET`s get them).
    fn needs_body(self) -> bool {
        !matches!(self, Self::ServiceUnavailable | Self::TooManyRequests)
    }
}

/// The schedule of a [`FaultProxy`]. Setters document their defaults.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    seed: u64,
    rate: f64,
    kinds: Vec<FaultKind>,
    stall: Duration,
    retry_after_secs: u64,
    permanent_status: StatusCode,
    bytes_per_second: Option<u64>,
    max_request_body: Option<u64>,
}

impl FaultConfig {
    /// A schedule seeded with `seed`: rate 0 (no faults), every kind enabled, 3 s stalls,
    /// `Retry-After: 1`, permanent failures answered with 503.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rate: 0.0,
            kinds: FaultKind::ALL.to_vec(),
            stall: Duration::from_secs(3),
            retry_after_secs: 1,
            permanent_status: StatusCode::SERVICE_UNAVAILABLE,
            bytes_per_second: None,
            max_request_body: None,
        }
    }

    /// The probability (0 to 1) that a request gets a fault. Default 0.
    #[must_use]
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = rate.clamp(0.0, 1.0);
        self
    }

    /// The kinds drawn from (uniformly). Default [`FaultKind::ALL`]; an empty list means none.
    #[must_use]
    pub fn kinds(mut self, kinds: impl IntoIterator<Item = FaultKind>) -> Self {
        self.kinds = kinds.into_iter().collect();
        self
    }

    /// How long a [`FaultKind::Stall`] holds the body. Default 3 s: set the client's read
    /// timeout below it.
    #[must_use]
    pub fn stall(mut self, stall: Duration) -> Self {
        self.stall = stall;
        self
    }

    /// The `Retry-After` seconds sent with 429. Default 1.
    #[must_use]
    pub fn retry_after_secs(mut self, seconds: u64) -> Self {
        self.retry_after_secs = seconds;
        self
    }

    /// Limits the response bodies of the whole proxy, all together, to `bytes_per_second`,
    /// so that a transfer of known size takes a known minimum time. Default: unlimited.
    #[must_use]
    pub fn bandwidth(mut self, bytes_per_second: u64) -> Self {
        self.bytes_per_second = Some(bytes_per_second);
        self
    }

    /// Answers `413 Request Entity Too Large` (nginx's page) to a request whose
    /// `Content-Length` exceeds `bytes`, after discarding its body, as nginx's
    /// `client_max_body_size` does. Default: no limit.
    #[must_use]
    pub fn max_request_body(mut self, bytes: u64) -> Self {
        self.max_request_body = Some(bytes);
        self
    }

    /// The status answered for a repository failing permanently. Default 503.
    #[must_use]
    pub fn permanent_status(mut self, status: StatusCode) -> Self {
        self.permanent_status = status;
        self
    }
}

/// How many requests the proxy saw and what it did to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Requests received.
    pub requests: u64,
    /// Requests forwarded without any fault.
    pub clean: u64,
    /// 503s injected.
    pub service_unavailable: u64,
    /// 429s injected.
    pub too_many_requests: u64,
    /// Bodies cut by a connection reset.
    pub reset_mid_body: u64,
    /// Bodies truncated cleanly.
    pub truncated_body: u64,
    /// Bodies stalled.
    pub stall: u64,
    /// Responses with a wrong `Content-Length`.
    pub wrong_content_length: u64,
    /// Requests refused because their repository fails permanently.
    pub permanent: u64,
    /// Requests refused with 413 for a body over [`FaultConfig::max_request_body`].
    pub too_large: u64,
}

impl FaultCounts {
    /// Faults injected by the random schedule (permanent failures not included).
    pub fn injected(&self) -> u64 {
        self.service_unavailable
            + self.too_many_requests
            + self.reset_mid_body
            + self.truncated_body
            + self.stall
            + self.wrong_content_length
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    clean: AtomicU64,
    service_unavailable: AtomicU64,
    too_many_requests: AtomicU64,
    reset_mid_body: AtomicU64,
    truncated_body: AtomicU64,
    stall: AtomicU64,
    wrong_content_length: AtomicU64,
    permanent: AtomicU64,
    too_large: AtomicU64,
}

impl Counters {
    fn count(&self, kind: FaultKind) {
        let counter = match kind {
            FaultKind::ServiceUnavailable => &self.service_unavailable,
            FaultKind::TooManyRequests => &self.too_many_requests,
            FaultKind::ResetMidBody => &self.reset_mid_body,
            FaultKind::TruncatedBody => &self.truncated_body,
            FaultKind::Stall => &self.stall,
            FaultKind::WrongContentLength => &self.wrong_content_length,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> FaultCounts {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FaultCounts {
            requests: read(&self.requests),
            clean: read(&self.clean),
            service_unavailable: read(&self.service_unavailable),
            too_many_requests: read(&self.too_many_requests),
            reset_mid_body: read(&self.reset_mid_body),
            truncated_body: read(&self.truncated_body),
            stall: read(&self.stall),
            wrong_content_length: read(&self.wrong_content_length),
            permanent: read(&self.permanent),
            too_large: read(&self.too_large),
        }
    }
}

struct Shared {
    upstream: String,
    own_host: String,
    http: reqwest::Client,
    config: FaultConfig,
    rate: Mutex<f64>,
    schedule: Mutex<StdRng>,
    failing: Mutex<HashSet<String>>,
    counters: Counters,
    pacer: Option<Arc<Pacer>>,
}

impl Shared {
    /// Draws the next fault from the schedule, or `None` for a clean request.
    fn draw(&self) -> Option<FaultKind> {
        let rate = *self.rate.lock().expect("rate lock");
        let mut rng = self.schedule.lock().expect("schedule lock");
        if self.config.kinds.is_empty() || !rng.gen_bool(rate) {
            return None;
        }
        Some(self.config.kinds[rng.gen_range(0..self.config.kinds.len())])
    }

    fn fails_permanently(&self, path: &str) -> bool {
        let failing = self.failing.lock().expect("failing lock");
        failing
            .iter()
            .any(|name| repository_path_matches(path, name))
    }
}

/// True when `path` is a distribution API path of repository `name` (not of a longer name).
fn repository_path_matches(path: &str, name: &str) -> bool {
    let Some(rest) = path
        .strip_prefix("/v2/")
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix('/'))
    else {
        return false;
    };
    ["manifests/", "blobs/", "tags/", "referrers/"]
        .iter()
        .any(|endpoint| rest.starts_with(endpoint))
}

/// A running fault-injecting proxy; stops when dropped.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("address", &self.address)
            .field("upstream", &self.shared.upstream)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 in front of `upstream` (`host:port`, plain
    /// HTTP).
    pub async fn start(upstream: &str, config: FaultConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            own_host: address.to_string(),
            http,
            rate: Mutex::new(config.rate),
            schedule: Mutex::new(StdRng::seed_from_u64(config.seed)),
            pacer: config
                .bytes_per_second
                .map(|rate| Arc::new(Pacer::new(rate))),
            config,
            failing: Mutex::new(HashSet::new()),
            counters: Counters::default(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            // The server only stops when the task is aborted on drop.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            shared,
            task,
        })
    }

    /// The proxy's `host:port`, to use as a registry name (plain HTTP).
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// What the proxy did so far.
    pub fn counts(&self) -> FaultCounts {
        self.shared.counters.snapshot()
    }

    /// Changes the fault rate from now on (0 to 1).
    pub fn set_rate(&self, rate: f64) {
        *self.shared.rate.lock().expect("rate lock") = rate.clamp(0.0, 1.0);
    }

    /// Makes every request for repository `name` fail with the permanent status.
    pub fn fail_repository(&self, name: &str) {
        let mut failing = self.shared.failing.lock().expect("failing lock");
        failing.insert(name.to_owned());
    }

    /// Ends the permanent failure of repository `name`.
    pub fn heal_repository(&self, name: &str) {
        let mut failing = self.shared.failing.lock().expect("failing lock");
        failing.remove(name);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    if shared.fails_permanently(request.uri().path()) {
        shared.counters.permanent.fetch_add(1, Ordering::Relaxed);
        return status_response(shared.config.permanent_status, None);
    }
    if let Some(limit) = shared.config.max_request_body
        && declared_length(request.headers()).is_some_and(|length| length > limit)
    {
        shared.counters.too_large.fetch_add(1, Ordering::Relaxed);
        // nginx reads and discards the body before it answers (lingering close), so the
        // client sees the 413 instead of a connection reset half-way through its upload.
        let _ = request
            .into_body()
            .into_data_stream()
            .try_for_each(|_| async { Ok(()) })
            .await;
        return too_large_response();
    }
    let fault = shared.draw().map(|kind| {
        if kind.needs_body() && request.method() != Method::GET {
            FaultKind::ServiceUnavailable
        } else {
            kind
        }
    });
    match fault {
        Some(FaultKind::ServiceUnavailable) => {
            shared.counters.count(FaultKind::ServiceUnavailable);
            status_response(StatusCode::SERVICE_UNAVAILABLE, None)
        }
        Some(FaultKind::TooManyRequests) => {
            shared.counters.count(FaultKind::TooManyRequests);
            let retry_after = shared.config.retry_after_secs;
            status_response(StatusCode::TOO_MANY_REQUESTS, Some(retry_after))
        }
        body_fault => forward(&shared, request, body_fault).await,
    }
}

/// An empty error response with a distribution-style JSON body.
fn status_response(status: StatusCode, retry_after: Option<u64>) -> Response {
    let code = if status == StatusCode::TOO_MANY_REQUESTS {
        "TOOMANYREQUESTS"
    } else {
        "UNAVAILABLE"
    };
    let body = format!(r#"{{"errors":[{{"code":"{code}","message":"injected fault"}}]}}"#);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The `Content-Length` a request declares.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// nginx's answer to a body over `client_max_body_size`: an HTML page, not registry JSON.
fn too_large_response() -> Response {
    let body = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n\
                <center><h1>413 Request Entity Too Large</h1></center>\r\n\
                <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// A response body on its way from the upstream to the client.
type BodyStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;

/// Sends the request upstream (body streamed) and streams the answer back, applying
/// `fault` to its body when it has one.
async fn forward(shared: &Shared, request: Request, fault: Option<FaultKind>) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let url = format!("http://{}{path_and_query}", shared.upstream);
    let upstream = shared
        .http
        .request(parts.method.clone(), url)
        .headers(forwarded_headers(&parts.headers))
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    let Ok(upstream) = upstream else {
        return status_response(StatusCode::BAD_GATEWAY, None);
    };
    let status = upstream.status();
    let mut headers = forwarded_headers(upstream.headers());
    rewrite_location(&mut headers, &shared.upstream, &shared.own_host);
    let length = upstream.content_length().filter(|length| *length > 1);
    let stream = upstream.bytes_stream().map_err(std::io::Error::other);
    let stream: BodyStream = match &shared.pacer {
        Some(pacer) => Box::pin(paced(stream, Arc::clone(pacer))),
        None => Box::pin(stream),
    };
    let body_fault = fault
        .filter(|_| parts.method == Method::GET && status.is_success())
        .zip(length)
        .map(|(kind, length)| BodyFault::new(kind, length, shared.config.stall));
    let body = if let Some(body_fault) = body_fault {
        shared.counters.count(body_fault.kind);
        body_fault.adjust_headers(&mut headers);
        faulty_body(stream, body_fault)
    } else {
        shared.counters.clean.fetch_add(1, Ordering::Relaxed);
        Body::from_stream(stream)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The end-to-end headers of a message (hop-by-hop ones and `Host` dropped).
fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let mut forwarded = headers.clone();
    for name in [
        header::HOST,
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        forwarded.remove(name);
    }
    forwarded.remove("keep-alive");
    forwarded
}

/// Points an absolute `Location` on the upstream back at the proxy.
fn rewrite_location(headers: &mut HeaderMap, upstream: &str, own_host: &str) {
    let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let upstream_base = format!("http://{upstream}/");
    if let Some(rest) = location.strip_prefix(&upstream_base) {
        let rewritten = format!("http://{own_host}/{rest}");
        if let Ok(value) = HeaderValue::from_str(&rewritten) {
            headers.insert(header::LOCATION, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_paths_match_whole_names_only() {
        assert!(repository_path_matches("/v2/a/b/manifests/latest", "a/b"));
        assert!(repository_path_matches("/v2/a/blobs/uploads/", "a"));
        assert!(!repository_path_matches("/v2/a/b/manifests/latest", "a"));
        assert!(!repository_path_matches("/v2/ab/manifests/latest", "a"));
    }

    #[test]
    fn the_schedule_is_reproducible() {
        let draws = |seed| {
            let config = FaultConfig::new(seed).rate(0.5);
            let shared = Shared {
                upstream: String::new(),
                own_host: String::new(),
                http: reqwest::Client::new(),
                rate: Mutex::new(config.rate),
                schedule: Mutex::new(StdRng::seed_from_u64(seed)),
                config,
                failing: Mutex::new(HashSet::new()),
                counters: Counters::default(),
                pacer: None,
            };
            (0..64).map(|_| shared.draw()).collect::<Vec<_>>()
        };
        assert_eq!(draws(3), draws(3));
        assert_ne!(draws(3), draws(4));
        assert!(draws(3).iter().any(Option::is_none));
        assert!(draws(3).iter().any(Option::is_some));
    }

    #[test]
    fn upstream_locations_point_back_at_the_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=s"),
        );
        rewrite_location(&mut headers, "127.0.0.1:5000", "127.0.0.1:6000");
        assert_eq!(
            headers[header::LOCATION],
            "http://127.0.0.1:6000/v2/a/blobs/uploads/x?_state=s"
        );
    }
}
