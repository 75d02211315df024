//! The client: configuration, the request pipeline (request ids, auth, retries, errors,
//! tracing) and the resource handlers' entry points.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use tokio::sync::OnceCell;
use tracing::Instrument as _;
use url::Url;
use wharf_oci_core::credentials::Credential;
use wharf_oci_core::retry::{RetryPolicy, retry_after};
use wharf_oci_core::secret::Secret;
use wharf_oci_core::transport::TransportConfig;

use crate::auth::{Auth, CsrfState};
use crate::error::{HarborError, parse_error_items};
use crate::operation::{Operation, Params, ResponseParts};

/// The API prefix Harbor serves v2.0 under.
pub const API_PREFIX: &str = "/api/v2.0";

const REQUEST_ID: &str = "x-request-id";

/// A Harbor API client. Cheap to clone: clones share the connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), wharf_harbor_client::HarborError> {
/// use wharf_harbor_client::HarborClient;
///
/// let harbor = HarborClient::builder("https://harbor.example.com")
///     .robot("robot$ci", "robot-secret")
///     .build()?;
/// let project = harbor.projects().get("library").await?;
/// println!("{:?}", project.project_id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HarborClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    csrf: CsrfState,
    retry: RetryPolicy,
    version: OnceCell<String>,
}

/// A successful answer: the decoded value plus what the headers said.
#[derive(Debug, Clone)]
pub struct ApiResponse<T> {
    /// The decoded body.
    pub value: T,
    /// The status (any 2xx, declared in the spec or not).
    pub status: StatusCode,
    /// The `X-Request-Id` of the exchange.
    pub request_id: String,
    /// The response headers.
    pub headers: HeaderMap,
}

impl<T> ApiResponse<T> {
    /// `X-Total-Count`, sent by paginated list endpoints.
    pub fn total_count(&self) -> Option<u64> {
        self.headers
            .get("x-total-count")?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The target of the `Link` header's `rel="next"`, as Harbor wrote it.
    pub fn next_link(&self) -> Option<String> {
        crate::pagination::next_link(&self.headers)
    }
}

impl HarborClient {
    /// Starts a builder for the Harbor at `url` (`https://harbor.example.com`; the
    /// `/api/v2.0` prefix is added).
    pub fn builder(url: impl Into<String>) -> HarborClientBuilder {
        HarborClientBuilder {
            url: url.into(),
            auth: Auth::Anonymous,
            transport: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The base URL of the API (ends with `/api/v2.0`).
    pub fn api_url(&self) -> &Url {
        &self.inner.base
    }

    /// The host (and port) of the Harbor, which is also its registry host.
    pub fn registry_host(&self) -> String {
        let host = self.inner.base.host_str().unwrap_or_default();
        match self.inner.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The escape hatch: send any generated operation as is.
    pub fn raw(&self) -> crate::raw::RawClient {
        crate::raw::RawClient::new(self.clone())
    }

    /// Sends an operation and returns the decoded answer with its headers.
    pub(crate) async fn execute<O: Operation>(
        &self,
        operation: &O,
    ) -> Result<ApiResponse<O::Output>, HarborError> {
        let mut query = Params::default();
        operation.query(&mut query);
        let mut headers = Params::default();
        operation.headers(&mut headers);
        let body = operation.body().map_err(|source| HarborError::Encode {
            operation: O::ID,
            source,
        })?;
        let request = Prepared {
            operation: O::ID,
            method: O::METHOD,
            url: self.url_for(&operation.path(), query.pairs()),
            accept: O::ACCEPT,
            headers,
            body,
            request_id: operation
                .request_id()
                .map_or_else(new_request_id, str::to_owned),
        };
        let parts = self.send_prepared(&request).await?;
        let value = O::decode(&parts).map_err(|source| HarborError::Decode {
            operation: O::ID,
            request_id: Some(request.request_id.clone()),
            source,
        })?;
        Ok(ApiResponse {
            value,
            status: parts.status,
            request_id: request.request_id,
            headers: parts.headers,
        })
    }

    /// Sends an operation and returns only the decoded value.
    pub(crate) async fn call<O: Operation>(&self, operation: &O) -> Result<O::Output, HarborError> {
        Ok(self.execute(operation).await?.value)
    }

    /// GETs a path-and-query Harbor wrote into a `Link` header (already re-encoded).
    pub(crate) async fn get_link(
        &self,
        operation: &'static str,
        link: &str,
    ) -> Result<ResponseParts, HarborError> {
        let mut url = self.inner.base.clone();
        let (path, query) = link.split_once('?').unwrap_or((link, ""));
        url.set_path(path);
        url.set_query(Some(query).filter(|q| !q.is_empty()));
        let request = Prepared {
            operation,
            method: Method::GET,
            url,
            accept: "application/json",
            headers: Params::default(),
            body: None,
            request_id: new_request_id(),
        };
        self.send_prepared(&request).await
    }

    /// The server's Harbor version (`harbor_version` of `/systeminfo`), read once.
    pub async fn server_version(&self) -> Result<String, HarborError> {
        let version = self
            .inner
            .version
            .get_or_try_init(|| async {
                let info = self
                    .call(&crate::generated::operations::GetSystemInfo::default())
                    .await?;
                info.harbor_version.ok_or_else(|| HarborError::Unexpected {
                    what: "systeminfo has no harbor_version".to_owned(),
                })
            })
            .await?;
        Ok(version.clone())
    }

    /// Fails with [`HarborError::Unsupported`] unless the server runs at least `required`
    /// (`"2.10"`, compared numerically part by part).
    pub async fn require_version(
        &self,
        feature: &'static str,
        required: &str,
    ) -> Result<(), HarborError> {
        let actual = self.server_version().await?;
        if crate::version::at_least(&actual, required) {
            return Ok(());
        }
        Err(HarborError::Unsupported {
            feature,
            required: required.to_owned(),
            actual,
        })
    }

    fn url_for(&self, path: &str, query: &[(&'static str, String)]) -> Url {
        let mut url = self.inner.base.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base_path}{path}"));
        if !query.is_empty() {
            let text: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::operation::encode::query_component(v)))
                .collect();
            url.set_query(Some(&text.join("&")));
        }
        url
    }

    async fn send_prepared(&self, request: &Prepared) -> Result<ResponseParts, HarborError> {
        if self.inner.auth.is_session() && !request.method.is_safe() {
            self.learn_csrf_cookie().await;
        }
        let retries = is_idempotent(&request.method);
        let mut attempt = 1;
        loop {
            let span = tracing::info_span!(
                "harbor.request",
                operation = request.operation,
                method = %request.method,
                host = request.url.host_str().unwrap_or_default(),
                path = request.url.path(),
                request_id = %request.request_id,
                attempt,
                status = tracing::field::Empty,
            );
            let outcome = self.attempt(request).instrument(span.clone()).await;
            let retry_wait = match &outcome {
                Ok(parts) => {
                    span.record("status", parts.status.as_u16());
                    let wait = retry_after(&parts.headers, SystemTime::now());
                    self.inner
                        .retry
                        .should_retry_status(parts.status)
                        .then_some(wait)
                }
                Err(error) => (error.is_connect() || error.is_timeout()).then_some(None),
            };
            if let Some(wait) =
                retry_wait.filter(|_| retries && self.inner.retry.has_attempts_left(attempt))
            {
                let delay = self.inner.retry.delay(attempt, wait);
                tracing::warn!(parent: &span, ?delay, "harbor request failed, retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
                continue;
            }
            return finish(request, outcome);
        }
    }

    async fn attempt(&self, request: &Prepared) -> Result<ResponseParts, reqwest::Error> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static(request.accept),
        );
        if let Ok(id) = HeaderValue::from_str(&request.request_id) {
            headers.insert(REQUEST_ID, id);
        }
        for (name, value) in request.headers.pairs() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        self.inner
            .auth
            .apply(&request.method, &mut headers, &self.inner.csrf);
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .headers(headers);
        if let Some(body) = &request.body {
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        self.inner.csrf.learn(&headers);
        let body = response.bytes().await?;
        tracing::debug!(
            status = status.as_u16(),
            bytes = body.len(),
            "harbor answered"
        );
        Ok(ResponseParts {
            status,
            headers,
            body,
        })
    }
}

impl HarborClient {
    /// Asks Harbor for its CSRF cookie and a token when none is known yet: any answer to the
    /// session carries them and [`attempt`](Self::attempt) keeps them, so a `GET /systeminfo`
    /// through the pipeline is enough. A failure is only logged: the change that needed them
    /// then fails with Harbor's own 403.
    async fn learn_csrf_cookie(&self) {
        if self.inner.csrf.has_cookie() {
            return;
        }
        // Boxed: the call goes through the pipeline that is calling this.
        let operation = crate::generated::operations::GetSystemInfo::default();
        if let Err(error) = Box::pin(self.call(&operation)).await {
            tracing::warn!(%error, "cannot fetch Harbor's CSRF cookie");
        }
    }
}

fn finish(
    request: &Prepared,
    outcome: Result<ResponseParts, reqwest::Error>,
) -> Result<ResponseParts, HarborError> {
    let path = request.url.path().to_owned();
    let parts = outcome.map_err(|source| HarborError::Transport {
        method: request.method.clone(),
        path: path.clone(),
        request_id: Some(request.request_id.clone()),
        source,
    })?;
    if parts.status.is_success() {
        return Ok(parts);
    }
    let request_id = parts
        .headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request.request_id.clone(), str::to_owned);
    let errors = parse_error_items(&parts.body);
    let body_excerpt = if errors.is_empty() {
        excerpt(&parts.body)
    } else {
        String::new()
    };
    Err(HarborError::Api {
        status: parts.status,
        method: request.method.clone(),
        path,
        request_id: Some(request_id),
        errors,
        body_excerpt,
    })
}

/// A request ready to send (and to send again on retry).
struct Prepared {
    operation: &'static str,
    method: Method,
    url: Url,
    accept: &'static str,
    headers: Params,
    body: Option<Vec<u8>>,
    request_id: String,
}

/// Only requests that can be repeated safely are retried: POST and PATCH never are.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

/// Builder for [`HarborClient`]: infallible setters, one fallible [`build`](Self::build).
#[derive(Debug)]
pub struct HarborClientBuilder {
    url: String,
    auth: Auth,
    transport: Option<TransportConfig>,
    retry: RetryPolicy,
}

impl HarborClientBuilder {
    /// HTTP Basic with a user and password. Default: anonymous.
    #[must_use]
    pub fn basic(mut self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.auth = Auth::Credential(Credential::basic(username, password));
        self
    }

    /// A robot account (`robot$name` or `robot$project+name`) and its secret (Basic).
    #[must_use]
    pub fn robot(self, name: impl Into<String>, secret: impl Into<Secret>) -> Self {
        self.basic(name, secret)
    }

    /// A user of an OIDC Harbor with their CLI secret (Basic).
    #[must_use]
    pub fn oidc_cli_secret(
        self,
        username: impl Into<String>,
        cli_secret: impl Into<Secret>,
    ) -> Self {
        self.basic(username, cli_secret)
    }

    /// A bearer token (an OIDC ID token).
    #[must_use]
    pub fn bearer(mut self, token: impl Into<Secret>) -> Self {
        self.auth = Auth::Credential(Credential::bearer(token));
        self
    }

    /// A browser session: the `sid` cookie, and for changes the `_gorilla_csrf` cookie and a
    /// CSRF token, learnt from Harbor's answers (see [`Auth::Session`]).
    // FIXME: tested against a wiremock that plays gorilla/csrf (cookie plus masked tokens),
    // not against a real Harbor, which cannot run here.
    #[must_use]
    pub fn session(mut self, session_id: impl Into<Secret>, csrf_token: impl Into<Secret>) -> Self {
        self.auth = Auth::Session {
            session_id: session_id.into(),
            csrf_token: csrf_token.into(),
        };
        self
    }

    /// Any [`Auth`].
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// The transport (TLS roots, timeouts, plain-HTTP hosts). Default:
    /// [`TransportConfig::default`], which allows HTTPS only.
    #[must_use]
    pub fn transport(mut self, transport: TransportConfig) -> Self {
        self.transport = Some(transport);
        self
    }

    /// How idempotent requests (GET, HEAD, PUT, DELETE) are retried on 408, 429, 502, 503,
    /// 504 and connection failures. Default: [`RetryPolicy::default`] (4 attempts).
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks the URL against the transport and builds the client. A `http://` URL needs its
    /// host on the transport's plain-HTTP list.
    pub fn build(self) -> Result<HarborClient, HarborError> {
        let transport = self.transport.unwrap_or_default();
        let base = parse_base(&self.url)?;
        let host = match base.port() {
            Some(port) => format!("{}:{port}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_owned(),
        };
        if base.scheme() == "http" && !transport.allows_plain_http(&host) {
            return Err(HarborError::Config {
                reason: format!(
                    "{host} is not on the transport's plain-HTTP list; use https or allow it"
                ),
            });
        }
        let http = transport.http_client()?;
        let csrf = CsrfState::for_origin(&base);
        Ok(HarborClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth: self.auth,
                csrf,
                retry: self.retry,
                version: OnceCell::new(),
            }),
        })
    }
}

fn parse_base(url: &str) -> Result<Url, HarborError> {
    let invalid = |reason: String| HarborError::Config { reason };
    let mut base =
        Url::parse(url).map_err(|e| invalid(format!("invalid Harbor URL {url:?}: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
        return Err(invalid(format!(
            "{url:?} is not an http(s) URL with a host"
        )));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(invalid(
            "put credentials in the builder, not in the URL".to_owned(),
        ));
    }
    let path = base.path().trim_end_matches('/');
    let path = path.strip_suffix(API_PREFIX).unwrap_or(path).to_owned();
    base.set_path(&format!("{path}{API_PREFIX}"));
    base.set_query(None);
    Ok(base)
}

/// How long helpers wait, and how often they look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// The first pause between two looks; it doubles up to `max_interval`. Default 500 ms.
    pub interval: Duration,
    /// The longest pause. Default 5 s.
    pub max_interval: Duration,
    /// When to give up. Default 10 minutes.
    pub deadline: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(5),
            deadline: Duration::from_mins(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_the_api_prefix_once() {
        assert_eq!(
            parse_base("https://h.example").unwrap().as_str(),
            "https://h.example/api/v2.0"
        );
        assert_eq!(
            parse_base("https://h.example/api/v2.0/").unwrap().as_str(),
            "https://h.example/api/v2.0"
        );
        assert!(parse_base("ftp://h").is_err());
        assert!(parse_base("https://u:p@h.example").is_err());
    }

    #[test]
    fn plain_http_needs_the_transports_consent() {
        assert!(HarborClient::builder("http://127.0.0.1:9").build().is_err());
        let transport = TransportConfig::builder()
            .plain_http_host("127.0.0.1:9")
            .build()
            .unwrap();
        assert!(
            HarborClient::builder("http://127.0.0.1:9")
                .transport(transport)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn only_idempotent_methods_retry() {
        assert!(is_idempotent(&Method::GET));
        assert!(is_idempotent(&Method::DELETE));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }
}
