//! The HTTP core shared by every handle: authentication, retries, tracing and error mapping.

use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use http::header::{AUTHORIZATION, LOCATION};
use http::{HeaderValue, Method, StatusCode};
use reqwest::{RequestBuilder, Response};
use tracing::Instrument;
use url::Url;
use wharf_oci_core::retry::{RetryPolicy, retry_after};
use wharf_oci_core::transport::TransportConfig;

use crate::auth::Auth;
use crate::error::{Call, Error, Result, classify};

/// How many redirects a download follows.
const MAX_REDIRECTS: usize = 5;

/// A byte stream of a download.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// One HTTP client with its credentials; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    auth: Auth,
    retry: RetryPolicy,
}

/// A request to send: method, URL, and how to add headers and a body.
pub(crate) struct Request {
    method: Method,
    url: Url,
    call: Call,
    what: String,
    customise: Option<Box<dyn FnOnce(RequestBuilder) -> RequestBuilder + Send>>,
}

impl Request {
    /// A request without a body.
    pub(crate) fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            call: Call::Plain,
            what: String::new(),
            customise: None,
        }
    }

    /// Marks the request as a publish of `what`: 409 (and 400 saying "exists") then means
    /// [`Error::AlreadyExists`].
    pub(crate) fn publish(mut self, what: impl Into<String>) -> Self {
        self.call = Call::Publish;
        self.what = what.into();
        self
    }

    /// Adds headers or a body to the request.
    pub(crate) fn with(
        mut self,
        customise: impl FnOnce(RequestBuilder) -> RequestBuilder + Send + 'static,
    ) -> Self {
        self.customise = Some(Box::new(customise));
        self
    }
}

impl Http {
    pub(crate) fn new(transport: &TransportConfig, auth: Auth, retry: RetryPolicy) -> Result<Self> {
        Ok(Self {
            client: transport.http_client()?,
            auth,
            retry,
        })
    }

    /// Sends a request and returns the successful answer; a failure status becomes an
    /// [`Error`]. Requests whose body can be cloned and whose method is idempotent are retried
    /// on 408, 429 and 5xx gateway answers.
    pub(crate) async fn send(&self, request: Request) -> Result<Response> {
        let Request {
            method,
            url,
            call,
            what,
            customise,
        } = request;
        let mut builder = self.authorised(self.client.request(method.clone(), url.clone()));
        if let Some(customise) = customise {
            builder = customise(builder);
        }
        let retryable = matches!(method, Method::GET | Method::HEAD | Method::DELETE);

        let mut attempt = 1;
        loop {
            let next = if retryable { builder.try_clone() } else { None };
            let response = self.attempt(builder, &method, &url, attempt).await?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            match next {
                Some(again) if self.should_retry(status, attempt) => {
                    let wait = self
                        .retry
                        .delay(attempt, retry_after(response.headers(), SystemTime::now()));
                    tracing::warn!(%status, attempt, ?wait, url = %url, "retrying");
                    tokio::time::sleep(wait).await;
                    builder = again;
                    attempt += 1;
                }
                _ => return Err(failure(call, &what, &url, response).await),
            }
        }
    }

    /// Sends a GET for a download and follows redirects; credentials go only to the origin
    /// of the first URL (Gitea may redirect to object storage with a signed URL).
    pub(crate) async fn download(&self, url: Url) -> Result<Response> {
        let origin = url.origin();
        let mut current = url;
        for _ in 0..MAX_REDIRECTS {
            let mut builder = self.client.get(current.clone());
            if current.origin() == origin {
                builder = self.authorised(builder);
            }
            let response = self.attempt(builder, &Method::GET, &current, 1).await?;
            let status = response.status();
            if status.is_redirection() {
                current = redirect_target(&current, &response)?;
                continue;
            }
            if status.is_success() {
                return Ok(response);
            }
            return Err(failure(Call::Plain, "", &current, response).await);
        }
        Err(Error::InvalidResponse {
            url: current.to_string(),
            reason: "too many redirects".into(),
        })
    }

    /// Reads a JSON answer.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(&self, request: Request) -> Result<T> {
        let response = self.send(request).await?;
        read_json(response).await
    }

    /// Sends a request and discards the answer's body.
    pub(crate) async fn execute(&self, request: Request) -> Result<StatusCode> {
        let response = self.send(request).await?;
        let status = response.status();
        let url = response.url().to_string();
        response
            .bytes()
            .await
            .map_err(|source| Error::Http { url, source })?;
        Ok(status)
    }

    fn authorised(&self, builder: RequestBuilder) -> RequestBuilder {
        let Some(secret) = self.auth.header() else {
            return builder;
        };
        if let Ok(mut value) = HeaderValue::from_str(secret.expose()) {
            value.set_sensitive(true);
            builder.header(AUTHORIZATION, value)
        } else {
            tracing::warn!("credential contains characters not allowed in a header; sent none");
            builder
        }
    }

    fn should_retry(&self, status: StatusCode, attempt: u32) -> bool {
        self.retry.has_attempts_left(attempt) && self.retry.should_retry_status(status)
    }

    async fn attempt(
        &self,
        builder: RequestBuilder,
        method: &Method,
        url: &Url,
        attempt: u32,
    ) -> Result<Response> {
        let span = tracing::debug_span!(
            "http",
            %method,
            host = url.host_str().unwrap_or_default(),
            path = url.path(),
            attempt,
            status = tracing::field::Empty,
        );
        async {
            let response = builder.send().await.map_err(|source| Error::Http {
                url: url.to_string(),
                source,
            })?;
            tracing::Span::current().record("status", response.status().as_u16());
            tracing::debug!("answered");
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

/// Reads a JSON body into `T`.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(response: Response) -> Result<T> {
    let url = response.url().to_string();
    let body = response.bytes().await.map_err(|source| Error::Http {
        url: url.clone(),
        source,
    })?;
    serde_json::from_slice(&body).map_err(|error| Error::InvalidResponse {
        url,
        reason: error.to_string(),
    })
}

/// Reads a whole body.
pub(crate) async fn read_bytes(response: Response) -> Result<Bytes> {
    let url = response.url().to_string();
    response
        .bytes()
        .await
        .map_err(|source| Error::Http { url, source })
}

/// Turns an answer into a stream of its body.
pub(crate) fn body_stream(response: Response) -> ByteStream {
    let url = response.url().to_string();
    response
        .bytes_stream()
        .map_err(move |source| Error::Http {
            url: url.clone(),
            source,
        })
        .boxed()
}

async fn failure(call: Call, what: &str, url: &Url, response: Response) -> Error {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let error = classify(call, what, url.as_str(), status, &body);
    tracing::debug!(%status, error = %error, "request failed");
    error
}

fn redirect_target(current: &Url, response: &Response) -> Result<Url> {
    let invalid = |reason: &str| Error::InvalidResponse {
        url: current.to_string(),
        reason: reason.to_owned(),
    };
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| invalid("redirect without a Location"))?;
    current
        .join(location)
        .map_err(|_| invalid("redirect to an invalid Location"))
}

/// A file as a streamed request body (never held in memory), with its length.
pub(crate) async fn file_body(path: &std::path::Path) -> Result<(reqwest::Body, u64)> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|source| Error::io(path, source))?;
    let length = file
        .metadata()
        .await
        .map_err(|source| Error::io(path, source))?
        .len();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
    Ok((body, length))
}
