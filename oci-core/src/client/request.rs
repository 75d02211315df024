//! Sending one registry request: credentials, retries, redirects, the per-host limit and a
//! tracing span per attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{Instrument, debug, warn};
use url::Url;

use super::{RegistryClient, read_capped, request_id};
use crate::auth::is_expired_credential;
use crate::error::{Error, RegistryResponse, parse_error_body, redact_url};
use crate::reference::Scope;
use crate::retry::RateLimit;

/// The most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// How often one request re-authenticates (challenge, then wider scopes).
const MAX_REAUTHENTICATIONS: u32 = 3;

/// The largest error body read to find the registry's error code.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// One semaphore per `host:port`.
#[derive(Debug)]
pub(crate) struct HostLimits {
    limit: usize,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            semaphores: Mutex::default(),
        }
    }

    pub(crate) async fn acquire(&self, url: &Url) -> OwnedSemaphorePermit {
        let key = host_key(url);
        let semaphore = {
            let mut map = self.semaphores.lock().expect("host limit lock");
            map.entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.limit)))
                .clone()
        };
        semaphore
            .acquire_owned()
            .await
            .expect("host semaphores are never closed")
    }
}

fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// True when `a` and `b` share scheme, host and port: only then may credentials follow.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// What to send; rebuilt for every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// The registry key for credentials and tokens (`Reference::registry()`).
    pub(crate) registry: String,
    /// The registry's own origin: credentials go only there.
    pub(crate) origin: Url,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    /// Whether the request may be sent again after a failure (idempotent or restartable).
    pub(crate) retryable: bool,
    /// Whether 3xx answers are followed (blob downloads).
    pub(crate) follow_redirects: bool,
}

impl Call {
    pub(crate) fn header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    pub(crate) fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    pub(crate) fn not_retryable(mut self) -> Self {
        self.retryable = false;
        self
    }

    pub(crate) fn following_redirects(mut self) -> Self {
        self.follow_redirects = true;
        self
    }
}

/// A successful answer and the URL that gave it (after redirects).
pub(crate) struct Answer {
    pub(crate) response: reqwest::Response,
    pub(crate) url: Url,
}

/// What to do after one attempt.
enum Next {
    Done(Answer),
    Again {
        url: Url,
        wait: Option<std::time::Duration>,
    },
}

impl RegistryClient {
    /// Sends `call` until it succeeds, fails for good, or runs out of attempts. Non-2xx answers
    /// become [`Error::Registry`]; credentials never leave the registry's origin.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Answer, Error> {
        let mut call = call.clone();
        let mut url = call.url.clone();
        let mut attempt = 0u32;
        let mut reauthentications = 0u32;
        let mut credential_refreshed = false;
        let mut redirects = 0usize;
        loop {
            attempt += 1;
            let span = tracing::info_span!(
                "registry_request",
                method = %call.method,
                host = url.host_str().unwrap_or_default(),
                path = url.path(),
                attempt,
                status = tracing::field::Empty,
                request_id = tracing::field::Empty,
            );
            let outcome = self
                .attempt(
                    &mut call,
                    &url,
                    attempt,
                    &mut reauthentications,
                    &mut credential_refreshed,
                )
                .instrument(span)
                .await?;
            match outcome {
                Next::Done(answer) => {
                    if call.follow_redirects && answer.response.status().is_redirection() {
                        redirects += 1;
                        url = Self::redirect_target(&answer, redirects)?;
                        attempt -= 1;
                        continue;
                    }
                    return Ok(answer);
                }
                Next::Again { url: again, wait } => {
                    if let Some(wait) = wait {
                        tokio::time::sleep(wait).await;
                    } else {
                        attempt -= 1;
                    }
                    url = again;
                }
            }
        }
    }

    async fn attempt(
        &self,
        call: &mut Call,
        url: &Url,
        attempt: u32,
        reauthentications: &mut u32,
        credential_refreshed: &mut bool,
    ) -> Result<Next, Error> {
        let authorized = same_origin(url, &call.origin);
        let authorization = if authorized {
            self.inner
                .auth
                .authorization(&call.registry, &call.scopes)
                .await?
        } else {
            None
        };
        let response = match self.send_once(call, url, authorization).await {
            Ok(response) => response,
            Err(source) => return self.after_send_error(call, url, attempt, source),
        };
        let status = response.status();
        let span = tracing::Span::current();
        span.record("status", status.as_u16());
        if let Some(id) = request_id(response.headers()) {
            span.record("request_id", id.as_str());
        }

        if status.is_success() || (status.is_redirection() && call.follow_redirects) {
            return Ok(Next::Done(Answer {
                response,
                url: url.clone(),
            }));
        }
        if status == StatusCode::UNAUTHORIZED
            && authorized
            && *reauthentications < MAX_REAUTHENTICATIONS
        {
            let wanted = self
                .inner
                .auth
                .on_unauthorized(&call.registry, &call.scopes, response.headers())
                .await?;
            // A second 401 only helps when it asks for more than we asked (insufficient_scope).
            if let Some(wanted) = wanted
                && (*reauthentications == 0 || wanted != call.scopes)
            {
                *reauthentications += 1;
                call.scopes = wanted;
                return Ok(Next::Again {
                    url: url.clone(),
                    wait: None,
                });
            }
        }
        let retry_after = crate::retry::retry_after(response.headers(), SystemTime::now());
        let rate_limit = RateLimit::from_headers(response.headers());
        let refusal = refusal(response, &call.method, url).await;
        if authorized && refusal.expired_credential && !*credential_refreshed {
            *credential_refreshed = true;
            *reauthentications = 0;
            self.inner.auth.on_expired_credential(&call.registry).await;
            return Ok(Next::Again {
                url: url.clone(),
                wait: None,
            });
        }
        let quota_wait = rate_limit.as_ref().and_then(RateLimit::wait);
        if let (Some(limit), Some(wait)) = (&rate_limit, quota_wait)
            && status == StatusCode::TOO_MANY_REQUESTS
            && retry_after.is_none()
            && wait > self.inner.retry.longest_wait()
        {
            // Waiting out a quota window of hours inside one request helps nobody.
            warn!(
                registry = %call.registry,
                %status,
                rate_limit = %limit,
                "registry rate limit exhausted; not retrying (log in to raise the limit, or run later)"
            );
            return Err(refusal.error);
        }
        if call.retryable
            && self.inner.retry.should_retry_status(status)
            && self.inner.retry.has_attempts_left(attempt)
        {
            let wait = self.inner.retry.delay(attempt, retry_after.or(quota_wait));
            warn!(
                registry = %call.registry,
                method = %call.method,
                %status,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "registry asked to retry later"
            );
            return Ok(Next::Again {
                url: url.clone(),
                wait: Some(wait),
            });
        }
        Err(refusal.error)
    }

    async fn send_once(
        &self,
        call: &Call,
        url: &Url,
        authorization: Option<crate::secret::Secret>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url.clone())
            .headers(call.headers.clone());
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization.expose());
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        } else if matches!(call.method, Method::PUT | Method::POST | Method::PATCH) {
            request = request.header(header::CONTENT_LENGTH, "0");
        }
        let _permit = self.inner.limits.acquire(url).await;
        request.send().await
    }

    /// Sends `call` once with a streamed body that cannot be replayed: no retry, no
    /// re-authentication (the session's `POST` already authenticated the same scopes).
    pub(crate) async fn execute_streaming(
        &self,
        call: &Call,
        body: reqwest::Body,
    ) -> Result<Answer, Error> {
        let url = call.url.clone();
        let span = tracing::info_span!(
            "registry_request",
            method = %call.method,
            host = url.host_str().unwrap_or_default(),
            path = url.path(),
            attempt = 1u32,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        async {
            let authorization = if same_origin(&url, &call.origin) {
                self.inner
                    .auth
                    .authorization(&call.registry, &call.scopes)
                    .await?
            } else {
                None
            };
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), url.clone())
                .headers(call.headers.clone());
            if let Some(authorization) = authorization {
                request = request.header(header::AUTHORIZATION, authorization.expose());
            }
            let permit = self.inner.limits.acquire(&url).await;
            let response = request.body(body).send().await;
            drop(permit);
            let response = response.map_err(|source| Error::Http {
                method: call.method.clone(),
                url: redact_url(&url),
                source,
            })?;
            tracing::Span::current().record("status", response.status().as_u16());
            if response.status().is_success() {
                return Ok(Answer { response, url });
            }
            Err(refusal(response, &call.method, &url).await.error)
        }
        .instrument(span)
        .await
    }

    fn after_send_error(
        &self,
        call: &Call,
        url: &Url,
        attempt: u32,
        source: reqwest::Error,
    ) -> Result<Next, Error> {
        let transient =
            source.is_timeout() || source.is_connect() || source.is_request() || source.is_body();
        if call.retryable && transient && self.inner.retry.has_attempts_left(attempt) {
            let wait = self.inner.retry.delay(attempt, None);
            warn!(
                registry = %call.registry,
                method = %call.method,
                error = %source,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "request failed; retrying"
            );
            return Ok(Next::Again {
                url: url.clone(),
                wait: Some(wait),
            });
        }
        Err(Error::Http {
            method: call.method.clone(),
            url: redact_url(url),
            source,
        })
    }

    fn redirect_target(answer: &Answer, redirects: usize) -> Result<Url, Error> {
        let from = redact_url(&answer.url);
        if redirects > MAX_REDIRECTS {
            return Err(Error::Redirect {
                url: from,
                reason: format!("more than {MAX_REDIRECTS} redirects"),
            });
        }
        let location = answer
            .response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Redirect {
                url: from.clone(),
                reason: "no Location header".to_owned(),
            })?;
        let target = answer.url.join(location).map_err(|e| Error::Redirect {
            url: from.clone(),
            reason: format!("invalid Location: {e}"),
        })?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err(Error::Redirect {
                url: from,
                reason: format!("unsupported scheme {}", target.scheme()),
            });
        }
        debug!(to = %redact_url(&target), "following redirect");
        Ok(target)
    }
}

/// A refused answer, read.
struct Refusal {
    error: Error,
    /// ECR's expired-token 403.
    expired_credential: bool,
}

/// Reads a refused answer into an error.
async fn refusal(response: reqwest::Response, method: &Method, url: &Url) -> Refusal {
    let status = response.status();
    let request_id = request_id(response.headers());
    let body = read_capped(response, MAX_ERROR_BODY, "error body", url)
        .await
        .unwrap_or_default();
    let expired_credential = is_expired_credential(status, &body);
    let error = Error::registry(RegistryResponse {
        method: method.clone(),
        url: redact_url(url),
        status,
        errors: parse_error_body(&body),
        request_id,
    });
    Refusal {
        error,
        expired_credential,
    }
}

/// Resolves a `Location` header (absolute or relative) against the URL that sent it.
pub(crate) fn location(response: &reqwest::Response, base: &Url) -> Result<Url, Error> {
    let value = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::protocol(base, "answer has no Location header"))?;
    base.join(value)
        .map_err(|e| Error::protocol(base, format!("invalid Location header: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let base = Url::parse("https://reg.example/v2/").unwrap();
        assert!(same_origin(
            &base,
            &Url::parse("https://REG.example:443/x").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("http://reg.example/x").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("https://reg.example:8443/x").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("https://s3.example/x").unwrap()
        ));
    }
}
