//! Pushes and pulls through the simulator's real registry with robot credentials.

use reqwest::Method;
use serde_json::json;

use super::support::{Harbor, skopeo_copy, write_layout};

#[tokio::test]
async fn push_robot_pushes_and_pull_robot_is_refused() {
    let harbor = Harbor::start().await;
    harbor
        .create_project("team", json!({"public": "false"}))
        .await;
    let pusher = harbor
        .create_robot(
            "team",
            "ci",
            &[("repository", "pull"), ("repository", "push")],
        )
        .await;
    let puller = harbor
        .create_robot("team", "reader", &[("repository", "pull")])
        .await;
    assert_eq!(pusher.name, "robot$team+ci");

    let layout = tempfile::tempdir().unwrap();
    write_layout(layout.path(), "v1", b"robot push payload");
    let source = format!("oci:{}:v1", layout.path().display());

    let denied = skopeo_copy(
        &source,
        &harbor.image("team/app", "v1"),
        Some((&puller.name, &puller.secret)),
    )
    .await;
    assert!(!denied.status.success(), "a pull-only robot must not push");

    let push_result = skopeo_copy(
        &source,
        &harbor.image("team/app", "v1"),
        Some((&pusher.name, &pusher.secret)),
    )
    .await;
    assert!(
        push_result.status.success(),
        "{}",
        String::from_utf8_lossy(&push_result.stderr)
    );

    let target = tempfile::tempdir().unwrap();
    let pull_result = skopeo_copy(
        &harbor.image("team/app", "v1"),
        &format!("oci:{}:v1", target.path().display()),
        Some((&puller.name, &puller.secret)),
    )
    .await;
    assert!(
        pull_result.status.success(),
        "{}",
        String::from_utf8_lossy(&pull_result.stderr)
    );

    let anonymous = skopeo_copy(
        &harbor.image("team/app", "v1"),
        &format!("oci:{}:anon", target.path().display()),
        None,
    )
    .await;
    assert!(
        !anonymous.status.success(),
        "anonymous pull of a private project"
    );
}

#[tokio::test]
async fn robots_are_confined_to_their_project_and_public_projects_are_pullable() {
    let harbor = Harbor::start().await;
    harbor.create_project("team", json!({})).await;
    harbor
        .create_project("open", json!({"public": "true"}))
        .await;
    harbor.create_project("other", json!({})).await;
    let pusher = harbor
        .create_robot(
            "team",
            "ci",
            &[("repository", "pull"), ("repository", "push")],
        )
        .await;
    harbor.push_image("open/base", "1", b"public image").await;

    let layout = tempfile::tempdir().unwrap();
    write_layout(layout.path(), "v1", b"elsewhere");
    let source = format!("oci:{}:v1", layout.path().display());
    let elsewhere = skopeo_copy(
        &source,
        &harbor.image("other/app", "v1"),
        Some((&pusher.name, &pusher.secret)),
    )
    .await;
    assert!(
        !elsewhere.status.success(),
        "a project robot must not push into another project"
    );

    let target = tempfile::tempdir().unwrap();
    let public = skopeo_copy(
        &harbor.image("open/base", "1"),
        &format!("oci:{}:1", target.path().display()),
        None,
    )
    .await;
    assert!(
        public.status.success(),
        "{}",
        String::from_utf8_lossy(&public.stderr)
    );

    let listed = harbor
        .admin(Method::GET, "/projects/open/repositories", None)
        .await;
    let repositories: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(repositories[0]["name"], "open/base");
    assert_eq!(repositories[0]["artifact_count"], 1);
}

#[tokio::test]
async fn token_service_grants_what_harbor_grants() {
    let harbor = Harbor::start().await;
    harbor.create_project("team", json!({})).await;
    let puller = harbor
        .create_robot("team", "reader", &[("repository", "pull")])
        .await;
    let token_url = format!(
        "{}/service/token?service=harbor-registry&scope=repository:team/app:pull,push",
        harbor.sim.url()
    );
    let token = |user: &str, password: &str| {
        harbor
            .http
            .get(&token_url)
            .basic_auth(user, Some(password))
            .send()
    };

    let granted = token(&puller.name, &puller.secret).await.unwrap();
    let body: serde_json::Value = granted.json().await.unwrap();
    let claims = decode_claims(body["token"].as_str().unwrap());
    assert_eq!(claims["access"][0]["actions"], json!(["pull"]));
    assert_eq!(claims["sub"], puller.name.as_str());

    let (user, password) = harbor.sim.admin();
    let admin: serde_json::Value = token(user, password).await.unwrap().json().await.unwrap();
    let actions = decode_claims(admin["token"].as_str().unwrap())["access"][0]["actions"].clone();
    assert_eq!(actions, json!(["pull", "push", "delete", "*"]));

    let stranger: serde_json::Value = token("robot$team+nobody", "Wrong1234")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = decode_claims(stranger["token"].as_str().unwrap())["access"].clone();
    assert_eq!(access[0]["actions"], json!([]));

    let login = harbor
        .http
        .get(format!(
            "{}/service/token?service=harbor-registry",
            harbor.sim.url()
        ))
        .basic_auth("robot$team+nobody", Some("Wrong1234"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::UNAUTHORIZED);
}

fn decode_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
