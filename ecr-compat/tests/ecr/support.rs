//! Shared helpers: clients with fake AWS credentials, a wiremock ECR, fake token fetchers.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use wharf_ecr_compat::EcrClient;
use wharf_ecr_compat::EcrError;
use wharf_ecr_compat::auth::{AuthorizationToken, TokenFetcher};
use wharf_oci_core::credentials::BoxFuture;
use wharf_oci_core::retry::RetryPolicy;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockBuilder, ResponseTemplate};

/// The region every test client uses.
pub const REGION: &str = "us-east-1";

/// moto's default account.
pub const MOTO_ACCOUNT: &str = "123456789012";

/// A fixed "now" for tests with a manual clock: 2026-01-01T00:00:00Z.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_hours(490_896)
}

/// A client for `endpoint` with static fake credentials (moto routes by their scope).
pub async fn client(endpoint: &str, retry: RetryPolicy) -> EcrClient {
    EcrClient::builder()
        .region(REGION)
        .endpoint_url(endpoint)
        .static_credentials("AKIDWHARFTEST", "wharf-test-secret")
        .retry_policy(retry)
        .build()
        .await
        .expect("client builds")
}

/// Quick retries for tests: `attempts` in all, 1 ms doubling to 4 ms.
pub fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(4))
}

/// A mock of one ECR JSON 1.1 operation.
pub fn ecr_operation(operation: &str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("AmazonEC2ContainerRegistry_V20150921.{operation}").as_str(),
        ))
        .and(header("content-type", "application/x-amz-json-1.1"))
}

/// A JSON 1.1 success answer.
pub fn ecr_ok(body: &serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

/// A JSON 1.1 error answer.
pub fn ecr_error(status: u16, error_type: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(
            serde_json::json!({ "__type": error_type, "message": message }).to_string(),
        )
}

/// The body of a `GetAuthorizationToken` answer.
pub fn authorization_body(password: &str, expires_at: SystemTime) -> serde_json::Value {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    let seconds = expires_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    serde_json::json!({
        "authorizationData": [{
            "authorizationToken": token,
            "expiresAt": seconds,
            "proxyEndpoint": format!("https://{MOTO_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"),
        }]
    })
}

/// A token fetcher that plays a script of answers and counts calls.
#[derive(Debug, Default)]
pub struct ScriptedFetcher {
    script: Mutex<VecDeque<Result<(String, SystemTime), &'static str>>>,
    calls: AtomicUsize,
}

impl ScriptedFetcher {
    /// Adds a successful answer.
    pub fn then_token(self, password: &str, expires_at: SystemTime) -> Self {
        self.script
            .lock()
            .unwrap()
            .push_back(Ok((password.to_owned(), expires_at)));
        self
    }

    /// Adds a failure.
    pub fn then_failure(self, reason: &'static str) -> Self {
        self.script.lock().unwrap().push_back(Err(reason));
        self
    }

    /// How many times `fetch` was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl TokenFetcher for ScriptedFetcher {
    fn fetch(&self) -> BoxFuture<'_, Result<AuthorizationToken, EcrError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let next = self.script.lock().unwrap().pop_front();
        Box::pin(async move {
            match next {
                Some(Ok((password, expires_at))) => {
                    let encoded =
                        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
                    AuthorizationToken::decode(&encoded, expires_at, None)
                }
                Some(Err(reason)) => Err(EcrError::MissingField {
                    operation: "scripted",
                    field: reason,
                }),
                None => Err(EcrError::MissingField {
                    operation: "scripted",
                    field: "script exhausted",
                }),
            }
        })
    }
}
