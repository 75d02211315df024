//! The legacy pull secret: payload shape and the refresher loop on a manual clock.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use wharf_ecr_compat::auth::EcrCredentialProvider;
use wharf_ecr_compat::clock::ManualClock;
use wharf_ecr_compat::error::BoxError;
use wharf_ecr_compat::pull_secret::{
    PullSecret, PullSecretRefresher, SECRET_TYPE, docker_config_json,
};
use wharf_oci_core::credentials::Credential;

use super::support::{ScriptedFetcher, quick_retries, t0};

const REGISTRY: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const HOUR: Duration = Duration::from_hours(1);

fn password_in(secret: &PullSecret) -> String {
    let config: serde_json::Value = serde_json::from_str(secret.dockerconfigjson.expose()).unwrap();
    config["auths"][REGISTRY]["password"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn dockerconfigjson_has_username_password_and_auth() {
    let payload =
        docker_config_json(REGISTRY, &Credential::basic("AWS", "pw:with:colons")).unwrap();
    let config: serde_json::Value = serde_json::from_str(payload.expose()).unwrap();
    let entry = &config["auths"][REGISTRY];
    assert_eq!(entry["username"], "AWS");
    assert_eq!(entry["password"], "pw:with:colons");
    let auth = base64::engine::general_purpose::STANDARD
        .decode(entry["auth"].as_str().unwrap())
        .unwrap();
    assert_eq!(auth, b"AWS:pw:with:colons");
    assert!(docker_config_json(REGISTRY, &Credential::bearer("t")).is_none());
    assert_eq!(format!("{payload:?}"), "<redacted>");
}

#[tokio::test]
async fn refresh_once_builds_a_kubernetes_secret() {
    let fetcher = Arc::new(ScriptedFetcher::default().then_token("pw", t0() + HOUR * 12));
    let clock = ManualClock::at(t0());
    let provider = EcrCredentialProvider::builder(REGISTRY, fetcher)
        .clock(Arc::new(clock.clone()))
        .build();
    let refresher = PullSecretRefresher::new(Arc::new(provider)).clock(Arc::new(clock));

    let secret = refresher.refresh_once().await.unwrap();
    assert_eq!(secret.expires_at, t0() + HOUR * 12);
    assert_eq!(secret.refresh_at, t0() + HOUR * 6);
    let object = secret.to_kubernetes_secret("ecr-pull", "payments");
    assert_eq!(object["type"], SECRET_TYPE);
    assert_eq!(object["metadata"]["namespace"], "payments");
    let data = object["data"][".dockerconfigjson"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(decoded, secret.dockerconfigjson.expose().as_bytes());
}

#[tokio::test]
async fn the_loop_refreshes_early_and_keeps_trying_after_failures() {
    let fetcher = Arc::new(
        ScriptedFetcher::default()
            .then_token("first", t0() + HOUR * 12)
            .then_failure("ecr unavailable")
            .then_token("second", t0() + HOUR * 21),
    );
    let clock = ManualClock::at(t0());
    let provider = EcrCredentialProvider::builder(REGISTRY, fetcher.clone())
        .clock(Arc::new(clock.clone()))
        .retry_policy(quick_retries(1))
        .build();
    let refresher = PullSecretRefresher::new(Arc::new(provider)).clock(Arc::new(clock.clone()));

    let written = Arc::new(Mutex::new(Vec::new()));
    let sink_log = written.clone();
    refresher
        .run(move |secret: PullSecret| {
            let written = sink_log.clone();
            async move {
                let mut written = written.lock().unwrap();
                written.push((password_in(&secret), secret.expires_at));
                let flow = if written.len() == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                };
                Ok::<_, BoxError>(flow)
            }
        })
        .await;

    let written = written.lock().unwrap().clone();
    assert_eq!(
        written,
        [
            ("first".to_owned(), t0() + HOUR * 12),
            // The refresh at 6 h failed: the still valid token is written again and the next
            // round comes sooner (half of the remaining 6 h).
            ("first".to_owned(), t0() + HOUR * 12),
            ("second".to_owned(), t0() + HOUR * 21),
        ]
    );
    assert_eq!(clock.sleeps(), [HOUR * 6, HOUR * 3]);
    assert_eq!(fetcher.calls(), 3);
}

#[tokio::test]
async fn a_failing_sink_is_retried_soon_not_at_the_next_schedule() {
    let fetcher = Arc::new(ScriptedFetcher::default().then_token("pw", t0() + HOUR * 12));
    let clock = ManualClock::at(t0());
    let provider = EcrCredentialProvider::builder(REGISTRY, fetcher)
        .clock(Arc::new(clock.clone()))
        .build();
    let refresher = PullSecretRefresher::new(Arc::new(provider))
        .clock(Arc::new(clock.clone()))
        .retry_policy(quick_retries(10));

    let attempts = Arc::new(Mutex::new(0));
    let counter = attempts.clone();
    refresher
        .run(move |_secret| {
            let counter = counter.clone();
            async move {
                let mut attempts = counter.lock().unwrap();
                *attempts += 1;
                if *attempts < 3 {
                    Err::<ControlFlow<()>, BoxError>("kubernetes API unavailable".into())
                } else {
                    Ok(ControlFlow::Break(()))
                }
            }
        })
        .await;

    assert_eq!(*attempts.lock().unwrap(), 3);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps.iter().all(|wait| *wait <= Duration::from_millis(4)),
        "{sleeps:?}"
    );
}
