//! The credential provider: caching, early refresh, retries, and no expired token ever.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wharf_ecr_compat::auth::{EcrCredentialProvider, RefreshPolicy};
use wharf_ecr_compat::clock::{Clock, ManualClock};
use wharf_oci_core::credentials::{
    Credential, CredentialError, CredentialSource, ExpiringCredential,
};
use wharf_oci_core::retry::RetryPolicy;
use wiremock::MockServer;

use super::support::{
    ScriptedFetcher, authorization_body, client, ecr_error, ecr_ok, ecr_operation, quick_retries,
    t0,
};

const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const HOUR: Duration = Duration::from_hours(1);

fn password(credential: &Credential) -> String {
    match credential {
        Credential::Basic { username, password } => {
            assert_eq!(username, "AWS");
            password.expose().to_owned()
        }
        other => panic!("expected Basic, got {other:?}"),
    }
}

fn provider(fetcher: Arc<ScriptedFetcher>, clock: &ManualClock) -> EcrCredentialProvider {
    EcrCredentialProvider::builder(REGISTRY, fetcher)
        .clock(Arc::new(clock.clone()))
        .retry_policy(quick_retries(3))
        .build()
}

#[tokio::test]
async fn a_real_expiry_is_cached_and_refreshed_at_half_life() {
    let server = MockServer::start().await;
    ecr_operation("GetAuthorizationToken")
        .respond_with(ecr_ok(&authorization_body("first", t0() + HOUR * 12)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    ecr_operation("GetAuthorizationToken")
        .respond_with(ecr_ok(&authorization_body("second", t0() + HOUR * 18)))
        .mount(&server)
        .await;
    let clock = ManualClock::at(t0());
    let client = client(&server.uri(), quick_retries(1)).await;
    let provider = EcrCredentialProvider::builder(REGISTRY, Arc::new(client))
        .clock(Arc::new(clock.clone()))
        .build();

    let first = provider.current().await.unwrap();
    assert_eq!(first.expires_at, Some(t0() + HOUR * 12));
    assert_eq!(password(&first.credential), "first");

    clock.advance(HOUR * 5);
    let cached = provider.credential(REGISTRY).await.unwrap().unwrap();
    assert_eq!(password(&cached), "first");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    clock.advance(HOUR + Duration::from_secs(1));
    let refreshed = provider.credential(REGISTRY).await.unwrap().unwrap();
    assert_eq!(password(&refreshed), "second");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(
        provider.credential("other.example.com").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_refresh_that_fails_twice_then_succeeds() {
    let server = MockServer::start().await;
    ecr_operation("GetAuthorizationToken")
        .respond_with(ecr_error(500, "ServerException", "internal failure"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    ecr_operation("GetAuthorizationToken")
        .respond_with(ecr_ok(&authorization_body("third-time", t0() + HOUR * 12)))
        .mount(&server)
        .await;
    let clock = ManualClock::at(t0());
    let client = client(&server.uri(), RetryPolicy::never()).await;
    let retry = RetryPolicy::default()
        .max_attempts(4)
        .base_delay(Duration::from_secs(2))
        .max_delay(Duration::from_mins(1));
    let provider = EcrCredentialProvider::builder(REGISTRY, Arc::new(client))
        .clock(Arc::new(clock.clone()))
        .retry_policy(retry.clone())
        .build();

    let credential = provider.credential(REGISTRY).await.unwrap().unwrap();
    assert_eq!(password(&credential), "third-time");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2, "one backoff before each retry");
    assert!(
        sleeps[0] <= retry.backoff_step(1) && sleeps[1] <= retry.backoff_step(2),
        "{sleeps:?}"
    );
}

/// Asserts that `credential` has not expired at `now`.
fn assert_unexpired(credential: &ExpiringCredential, now: SystemTime) {
    let expires_at = credential.expires_at.expect("ECR credentials expire");
    assert!(
        expires_at > now,
        "handed out a credential that expired at {expires_at:?} (now {now:?})"
    );
}

#[tokio::test]
async fn a_refresh_failing_twice_after_expiry_hands_out_the_new_token_not_the_old() {
    let fetcher = Arc::new(
        ScriptedFetcher::default()
            .then_token("old", t0() + HOUR * 12)
            .then_failure("refresh 1")
            .then_failure("refresh 2")
            .then_token("new", t0() + HOUR * 24),
    );
    let clock = ManualClock::at(t0());
    let provider = provider(fetcher.clone(), &clock);
    assert_eq!(
        password(&provider.current().await.unwrap().credential),
        "old"
    );

    // The cached token has expired; the refresh fails twice, then its third attempt works.
    clock.set(t0() + HOUR * 12 + Duration::from_secs(1));
    let refreshed = provider.current().await.unwrap();
    assert_eq!(password(&refreshed.credential), "new");
    assert_unexpired(&refreshed, clock.now());
    assert_eq!(fetcher.calls(), 1 + 3);
    assert_eq!(clock.sleeps().len(), 2, "one backoff before each retry");
    let through_the_trait = provider.credential(REGISTRY).await.unwrap().unwrap();
    assert_eq!(password(&through_the_trait), "new");
    assert_eq!(fetcher.calls(), 4, "the new token is cached");
}

#[tokio::test]
async fn refreshes_failing_twice_across_the_expiry_never_hand_out_the_expired_token() {
    let fetcher = Arc::new(
        ScriptedFetcher::default()
            .then_token("old", t0() + HOUR * 12)
            .then_failure("refresh 1")
            .then_failure("refresh 2")
            .then_token("new", t0() + HOUR * 24),
    );
    let clock = ManualClock::at(t0());
    // One attempt per refresh, so each failure is a separate refresh.
    let provider = EcrCredentialProvider::builder(REGISTRY, fetcher.clone())
        .clock(Arc::new(clock.clone()))
        .retry_policy(quick_retries(1))
        .build();
    provider.current().await.unwrap();

    // Refresh due, 90 s left (more than the 60 s margin): the failure serves the old token,
    // which is still valid.
    clock.set(t0() + HOUR * 12 - Duration::from_secs(90));
    let served = provider.current().await.unwrap();
    assert_eq!(password(&served.credential), "old");
    assert_unexpired(&served, clock.now());
    assert_eq!(fetcher.calls(), 2);

    // After the cooldown, 59 s left: inside the margin the old token counts as expired, and
    // the second failure is an error, not the old token.
    clock.set(t0() + HOUR * 12 - Duration::from_secs(59));
    let error = provider.credential(REGISTRY).await.unwrap_err();
    assert!(
        matches!(&error, CredentialError::Expired { registry, source: Some(_) } if registry == REGISTRY),
        "{error:?}"
    );
    assert_eq!(fetcher.calls(), 3);

    // Past the expiry the third refresh works: the new token, never the old one.
    clock.set(t0() + HOUR * 12 + Duration::from_secs(1));
    let refreshed = provider.current().await.unwrap();
    assert_eq!(password(&refreshed.credential), "new");
    assert_unexpired(&refreshed, clock.now());
    assert_eq!(fetcher.calls(), 4);
}

#[tokio::test]
async fn an_expired_token_is_never_handed_out() {
    let fetcher = Arc::new(
        ScriptedFetcher::default()
            .then_token("only", t0() + HOUR * 12)
            .then_failure("refresh 1")
            .then_failure("refresh 2")
            .then_failure("refresh 3")
            .then_failure("refresh 4")
            .then_failure("refresh 5")
            .then_failure("refresh 6"),
    );
    let clock = ManualClock::at(t0());
    let provider = provider(fetcher.clone(), &clock);
    assert_eq!(
        password(&provider.current().await.unwrap().credential),
        "only"
    );

    // Refresh due, refresh fails: the still valid token is served, and for the cooldown
    // no new attempt is made.
    clock.set(t0() + HOUR * 7);
    assert_eq!(
        password(&provider.current().await.unwrap().credential),
        "only"
    );
    assert_eq!(fetcher.calls(), 1 + 3);
    assert!(provider.current().await.is_ok());
    assert_eq!(fetcher.calls(), 4);

    // Within the expiry margin the token counts as expired: an error, not the token.
    clock.set(t0() + HOUR * 12 - Duration::from_secs(30));
    let error = provider.credential(REGISTRY).await.unwrap_err();
    assert!(
        matches!(&error, CredentialError::Expired { registry, source: Some(_) } if registry == REGISTRY),
        "{error:?}"
    );
    assert_eq!(fetcher.calls(), 7);

    clock.advance(HOUR);
    let error = provider.current().await.unwrap_err();
    assert!(
        matches!(error, CredentialError::Expired { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_token_that_arrives_expired_is_refused() {
    let fetcher = Arc::new(
        ScriptedFetcher::default()
            .then_token("stale", t0() - HOUR)
            .then_token("stale", t0() + Duration::from_secs(10))
            .then_token("stale", t0() - HOUR),
    );
    let clock = ManualClock::at(t0());
    let provider = provider(fetcher.clone(), &clock);

    let error = provider.credential(REGISTRY).await.unwrap_err();
    assert!(
        matches!(error, CredentialError::Unavailable { .. }),
        "{error:?}"
    );
    assert_eq!(fetcher.calls(), 3);
}

#[tokio::test]
async fn invalidate_forces_a_refresh_and_callers_share_one_fetch() {
    let fetcher = Arc::new(
        ScriptedFetcher::default()
            .then_token("one", t0() + HOUR * 12)
            .then_token("two", t0() + HOUR * 12),
    );
    let clock = ManualClock::at(t0());
    let provider = Arc::new(provider(fetcher.clone(), &clock));

    let callers = (0..8).map(|_| {
        let provider = provider.clone();
        tokio::spawn(async move { provider.credential(REGISTRY).await })
    });
    for caller in futures::future::join_all(callers).await {
        assert_eq!(password(&caller.unwrap().unwrap().unwrap()), "one");
    }
    assert_eq!(fetcher.calls(), 1);

    provider.invalidate("other.example.com").await;
    assert_eq!(
        password(&provider.credential(REGISTRY).await.unwrap().unwrap()),
        "one"
    );
    provider.invalidate(&REGISTRY.to_uppercase()).await;
    assert_eq!(
        password(&provider.credential(REGISTRY).await.unwrap().unwrap()),
        "two"
    );
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test]
async fn refresh_timing_follows_the_policy() {
    let fetcher = Arc::new(
        ScriptedFetcher::default()
            .then_token("one", t0() + HOUR * 12)
            .then_token("two", t0() + HOUR * 24),
    );
    let clock = ManualClock::at(t0());
    let provider = EcrCredentialProvider::builder(REGISTRY, fetcher.clone())
        .clock(Arc::new(clock.clone()))
        .refresh_policy(
            RefreshPolicy::default()
                .lifetime_fraction(0.75)
                .min_remaining(HOUR * 2),
        )
        .build();

    provider.current().await.unwrap();
    clock.set(t0() + HOUR * 9 - Duration::from_secs(1));
    assert_eq!(
        password(&provider.current().await.unwrap().credential),
        "one"
    );
    clock.set(t0() + HOUR * 9);
    assert_eq!(
        password(&provider.current().await.unwrap().credential),
        "two"
    );
    assert!(clock.now() > t0());
}
