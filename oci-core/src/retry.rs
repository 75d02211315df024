//! When and how long to wait before trying a request again.
//!
//! The policy is pure data and arithmetic so every client in the workspace (registry, Harbor,
//! Gitea) retries the same way: exponential backoff with full jitter, a server's `Retry-After`
//! honoured up to a cap, and retries only for answers that mean "try again later".

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header::RETRY_AFTER};
use rand::Rng;

/// How a client retries failed idempotent requests.
///
/// Build one with [`RetryPolicy::default`] and adjust it with the setters; each documents its
/// default.
///
/// ```
/// use std::time::Duration;
/// use wharf_oci_core::retry::RetryPolicy;
///
/// let policy = RetryPolicy::default().max_attempts(5).base_delay(Duration::from_millis(50));
/// assert!(policy.should_retry_status(http::StatusCode::SERVICE_UNAVAILABLE));
/// assert!(!policy.should_retry_status(http::StatusCode::NOT_FOUND));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            retry_after_cap: Duration::from_mins(1),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (one attempt).
    pub fn never() -> Self {
        Self::default().max_attempts(1)
    }

    /// The longest wait a server can ask for (`Retry-After`, rate-limit reset) and still be
    /// waited out; see [`RetryPolicy::retry_after_cap`].
    pub fn longest_wait(&self) -> Duration {
        self.retry_after_cap
    }

    /// Total attempts including the first one. Default 4; values below 1 count as 1.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff step; each later step doubles it. Default 200 ms.
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest backoff step before jitter. Default 10 s.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the client is willing to wait. Default 60 s, as skopeo does.
    #[must_use]
    pub fn retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// Total attempts including the first one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// True when another attempt is allowed after `attempt` attempts (counted from 1).
    pub fn has_attempts_left(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// True for the statuses that mean "try again later": 408, 429, 502, 503 and 504.
    pub fn should_retry_status(&self, status: StatusCode) -> bool {
        matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        )
    }

    /// The wait before attempt `attempt + 1`, given the server's `Retry-After` if it sent one.
    ///
    /// A `Retry-After` wins over backoff but is capped by [`RetryPolicy::retry_after_cap`];
    /// without one the wait is a random duration between zero and the exponential step
    /// ("full jitter"), so many clients that failed together do not retry together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.retry_after_cap);
        }
        let step = self.backoff_step(attempt);
        let millis = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }

    /// The exponential step before jitter for attempt `attempt` (counted from 1).
    pub fn backoff_step(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }
}

/// A registry's pull quota as its `RateLimit-*` headers state it. Docker Hub sends
/// `RateLimit-Limit: 100;w=21600` and `RateLimit-Remaining: 0;w=21600` (pulls per window of
/// seconds); the IETF draft form adds `RateLimit-Reset` (seconds until the window resets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// The window's length (`w=` parameter).
    pub window: Option<Duration>,
    /// Time until the quota resets.
    pub reset: Option<Duration>,
}

impl RateLimit {
    /// Reads the `RateLimit-*` headers; `None` when there are none.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let (limit, limit_window) = quota_header(headers, "ratelimit-limit");
        let (remaining, remaining_window) = quota_header(headers, "ratelimit-remaining");
        let reset = quota_header(headers, "ratelimit-reset")
            .0
            .map(Duration::from_secs);
        let found = Self {
            limit,
            remaining,
            window: remaining_window.or(limit_window),
            reset,
        };
        (found != Self::default()).then_some(found)
    }

    /// True when the server says nothing is left until the window ends.
    pub fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }

    /// How long until requests are allowed again, when the headers say: the reset time, or
    /// else the window for an exhausted quota (the longest the wait can be).
    pub fn wait(&self) -> Option<Duration> {
        self.reset
            .or_else(|| self.window.filter(|_| self.exhausted()))
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.remaining, self.limit) {
            (Some(remaining), Some(limit)) => write!(f, "{remaining} of {limit} requests left")?,
            (Some(remaining), None) => write!(f, "{remaining} requests left")?,
            (None, Some(limit)) => write!(f, "a limit of {limit} requests")?,
            (None, None) => f.write_str("a rate limit")?,
        }
        if let Some(window) = self.window {
            write!(f, " per {} s", window.as_secs())?;
        }
        if let Some(reset) = self.reset {
            write!(f, ", resetting in {} s", reset.as_secs())?;
        }
        Ok(())
    }
}

/// `N` or `N;w=SECONDS` from a quota header.
fn quota_header(headers: &HeaderMap, name: &str) -> (Option<u64>, Option<Duration>) {
    let Some(value) = headers.get(name).and_then(|value| value.to_str().ok()) else {
        return (None, None);
    };
    let mut parts = value.split(';').map(str::trim);
    let number = parts.next().and_then(|n| n.parse().ok());
    let window = parts
        .filter_map(|part| part.strip_prefix("w="))
        .find_map(|seconds| seconds.parse().ok())
        .map(Duration::from_secs);
    (number, window)
}

/// Reads a `Retry-After` header: delta seconds or an HTTP date, relative to `now`.
///
/// Returns `None` when the header is absent or unreadable; a date in the past means zero.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn docker_hub_and_draft_rate_limit_headers_read() {
        let hub = RateLimit::from_headers(&headers(&[
            ("ratelimit-limit", "100;w=21600"),
            ("ratelimit-remaining", "0;w=21600"),
        ]))
        .unwrap();
        assert_eq!((hub.limit, hub.remaining), (Some(100), Some(0)));
        assert!(hub.exhausted());
        assert_eq!(hub.wait(), Some(Duration::from_hours(6)));
        assert_eq!(hub.to_string(), "0 of 100 requests left per 21600 s");

        let draft = RateLimit::from_headers(&headers(&[
            ("RateLimit-Remaining", "0"),
            ("RateLimit-Reset", "7"),
        ]))
        .unwrap();
        assert_eq!(draft.wait(), Some(Duration::from_secs(7)));

        let plenty =
            RateLimit::from_headers(&headers(&[("ratelimit-remaining", "76;w=21600")])).unwrap();
        assert!(!plenty.exhausted());
        assert_eq!(plenty.wait(), None);
        assert_eq!(RateLimit::from_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500));
        let steps: Vec<_> = (1..=5)
            .map(|a| policy.backoff_step(a).as_millis())
            .collect();
        assert_eq!(steps, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn jitter_stays_within_the_step() {
        let policy = RetryPolicy::default().base_delay(Duration::from_millis(100));
        for _ in 0..200 {
            assert!(policy.delay(3, None) <= Duration::from_millis(400));
        }
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let policy = RetryPolicy::default().retry_after_cap(Duration::from_secs(5));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));

        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn attempts_are_counted_from_one() {
        let policy = RetryPolicy::default().max_attempts(2);
        assert!(policy.has_attempts_left(1));
        assert!(!policy.has_attempts_left(2));
        assert_eq!(RetryPolicy::never().attempts(), 1);
    }
}
