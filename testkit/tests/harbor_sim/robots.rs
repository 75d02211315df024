//! Robot accounts: secret refresh, listing, permissions on the API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::{Harbor, expect_json, skopeo_copy};

#[tokio::test]
async fn refreshing_a_secret_invalidates_the_old_one_at_once() {
    let harbor = Harbor::start().await;
    harbor.create_project("team", json!({})).await;
    harbor.push_image("team/app", "v1", b"rotate").await;
    let robot = harbor
        .create_robot(
            "team",
            "deploy",
            &[("repository", "pull"), ("artifact", "list")],
        )
        .await;

    let as_robot = |secret: String| {
        let name = robot.name.clone();
        let harbor = &harbor;
        async move {
            harbor
                .call(
                    Method::GET,
                    "/projects/team/repositories/app/artifacts",
                    None,
                    Some((&name, &secret)),
                )
                .await
                .status()
        }
    };
    assert_eq!(as_robot(robot.secret.clone()).await, StatusCode::OK);

    let refreshed = expect_json(
        harbor
            .admin(
                Method::PATCH,
                &format!("/robots/{}", robot.id),
                Some(json!({"secret": ""})),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let new_secret = refreshed["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, robot.secret);
    assert_eq!(
        as_robot(robot.secret.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(as_robot(new_secret.clone()).await, StatusCode::OK);

    let target = tempfile::tempdir().unwrap();
    let old = skopeo_copy(
        &harbor.image("team/app", "v1"),
        &format!("oci:{}:v1", target.path().display()),
        Some((&robot.name, &robot.secret)),
    )
    .await;
    assert!(!old.status.success(), "the old secret must not pull");
    let new = skopeo_copy(
        &harbor.image("team/app", "v1"),
        &format!("oci:{}:v1", target.path().display()),
        Some((&robot.name, &new_secret)),
    )
    .await;
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );

    let chosen = harbor
        .admin(
            Method::PATCH,
            &format!("/robots/{}", robot.id),
            Some(json!({"secret": "weak"})),
        )
        .await;
    assert_eq!(chosen.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn robots_list_by_project_and_hide_their_secret() {
    let harbor = Harbor::start().await;
    harbor.create_project("team", json!({})).await;
    let robot = harbor
        .create_robot("team", "reader", &[("repository", "pull")])
        .await;
    let project: Value = harbor
        .admin(Method::GET, "/projects/team", None)
        .await
        .json()
        .await
        .unwrap();
    let project_id = project["project_id"].as_i64().unwrap();

    let listed = harbor
        .admin(
            Method::GET,
            &format!("/robots?q=Level=project,ProjectID={project_id}"),
            None,
        )
        .await;
    assert_eq!(listed.headers()["x-total-count"], "1");
    let robots = expect_json(listed, StatusCode::OK).await;
    assert_eq!(robots[0]["name"], robot.name.as_str());
    assert!(robots[0].get("secret").is_none());
    assert_eq!(
        robots[0]["permissions"][0]["access"][0]["resource"],
        "repository"
    );
    assert_eq!(robots[0]["expires_at"], -1);

    let zero = harbor
        .admin(
            Method::POST,
            "/robots",
            Some(json!({"name": "x", "level": "project", "duration": 0,
                "permissions": [{"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "pull"}]}]})),
        )
        .await;
    assert_eq!(zero.status(), StatusCode::BAD_REQUEST);

    let forbidden = harbor
        .call(
            Method::DELETE,
            &format!("/robots/{}", robot.id),
            None,
            Some((&robot.name, &robot.secret)),
        )
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let deleted = harbor
        .admin(Method::DELETE, &format!("/robots/{}", robot.id), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = harbor
        .admin(Method::GET, &format!("/robots/{}", robot.id), None)
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}
