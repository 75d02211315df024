//! Projects, metadata, quotas, pagination, errors and the request id.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::{Harbor, expect_json};

#[tokio::test]
async fn project_create_keeps_string_metadata_and_quota() {
    let harbor = Harbor::start().await;
    let (user, password) = harbor.sim.admin();
    let response = harbor
        .http
        .post(harbor.api("/projects"))
        .basic_auth(user, Some(password))
        .json(&json!({
            "project_name": "team",
            "metadata": {"public": "true", "auto_scan": "true", "severity": "high"},
            "storage_limit": 1_073_741_824_i64,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/api/v2.0/projects/"), "{location}");
    let id = location.rsplit('/').next().unwrap().to_owned();

    let project = expect_json(
        harbor
            .admin(Method::GET, &format!("/projects/{id}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(project["name"], "team");
    assert_eq!(project["metadata"]["public"], "true");
    assert_eq!(project["metadata"]["auto_scan"], "true");
    assert_eq!(project["repo_count"], 0);

    let payload = vec![7_u8; 4096];
    harbor.push_image("team/app", "v1", &payload).await;
    let quotas = harbor
        .admin(
            Method::GET,
            &format!("/quotas?reference=project&reference_id={id}"),
            None,
        )
        .await;
    assert_eq!(quotas.headers()["x-total-count"], "1");
    let quotas: Value = quotas.json().await.unwrap();
    assert_eq!(quotas[0]["hard"]["storage"], 1_073_741_824_i64);
    let used_bytes = quotas[0]["used"]["storage"].as_u64().unwrap();
    assert!(used_bytes > 4096, "used {used_bytes}");

    let duplicate = harbor
        .admin(
            Method::POST,
            "/projects",
            Some(json!({"project_name": "team"})),
        )
        .await;
    let error = expect_json(duplicate, StatusCode::CONFLICT).await;
    assert_eq!(error["errors"][0]["code"], "CONFLICT");

    let bad = harbor
        .admin(
            Method::POST,
            "/projects",
            Some(json!({"project_name": "x", "metadata": {"public": "yes"}})),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let anonymous = harbor
        .call(
            Method::POST,
            "/projects",
            Some(json!({"project_name": "y"})),
            None,
        )
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn numeric_project_names_need_the_resource_name_header() {
    let harbor = Harbor::start().await;
    harbor.create_project("first", json!({})).await;
    harbor.create_project("1", json!({})).await;
    let (user, password) = harbor.sim.admin();
    let get = |as_name: bool| {
        let request = harbor
            .http
            .get(harbor.api("/projects/1"))
            .basic_auth(user, Some(password));
        let request = if as_name {
            request.header("X-Is-Resource-Name", "true")
        } else {
            request
        };
        request.send()
    };
    let by_id: Value = get(false).await.unwrap().json().await.unwrap();
    assert_eq!(by_id["name"], "first");
    let by_name: Value = get(true).await.unwrap().json().await.unwrap();
    assert_eq!(by_name["name"], "1");

    let head = harbor
        .http
        .head(harbor.api("/projects?project_name=first"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let missing = harbor
        .http
        .head(harbor.api("/projects?project_name=none"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pagination_headers_follow_harbor() {
    let harbor = Harbor::start().await;
    for index in 0..5 {
        harbor.create_project(&format!("p{index}"), json!({})).await;
    }
    let page = harbor
        .admin(Method::GET, "/projects?page_size=2&q=name%3D~p", None)
        .await;
    assert_eq!(page.headers()["x-total-count"], "5");
    assert_eq!(
        page.headers()["link"],
        "</api/v2.0/projects?page=2&page_size=2&q=name=~p>; rel=\"next\""
    );
    let items: Value = page.json().await.unwrap();
    assert_eq!(items.as_array().unwrap().len(), 2);

    let middle = harbor
        .admin(Method::GET, "/projects?page=2&page_size=2", None)
        .await;
    let link = middle.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(
        link,
        "</api/v2.0/projects?page=1&page_size=2>; rel=\"prev\" , </api/v2.0/projects?page=3&page_size=2>; rel=\"next\""
    );
    let last = harbor
        .admin(Method::GET, "/projects?page=3&page_size=2", None)
        .await;
    assert!(!last.headers()["link"].to_str().unwrap().contains("next"));
    let last: Value = last.json().await.unwrap();
    assert_eq!(last.as_array().unwrap().len(), 1);

    let default = harbor.admin(Method::GET, "/projects", None).await;
    assert!(default.headers().get("link").is_none());

    let too_big = harbor
        .admin(Method::GET, "/projects?page_size=101", None)
        .await;
    let error = expect_json(too_big, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error["errors"][0]["code"], "UNPROCESSABLE_ENTITY");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_errors_have_harbors_shape() {
    let harbor = Harbor::start().await;
    let echoed = harbor
        .http
        .get(harbor.api("/projects/nope"))
        .basic_auth(harbor.sim.admin().0, Some(harbor.sim.admin().1))
        .header("X-Request-Id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-42");
    let error = expect_json(echoed, StatusCode::NOT_FOUND).await;
    assert_eq!(error["errors"][0]["code"], "NOT_FOUND");
    assert!(
        error["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );

    let ping = harbor.http.get(harbor.api("/ping")).send().await.unwrap();
    assert!(!ping.headers()["x-request-id"].is_empty());
    assert_eq!(ping.text().await.unwrap(), "Pong");

    let health = expect_json(
        harbor.http.get(harbor.api("/health")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(health["status"], "healthy");

    let anonymous = expect_json(
        harbor.call(Method::GET, "/systeminfo", None, None).await,
        StatusCode::OK,
    )
    .await;
    assert!(anonymous.get("harbor_version").is_none());
    let info = expect_json(
        harbor.admin(Method::GET, "/systeminfo", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        info["harbor_version"],
        wharf_testkit::harbor_sim::DEFAULT_HARBOR_VERSION
    );
    assert_eq!(info["registry_url"], harbor.sim.registry_host());

    harbor
        .create_project("open", json!({"public": "true"}))
        .await;
    harbor.create_project("closed", json!({})).await;
    let statistics = expect_json(
        harbor.admin(Method::GET, "/statistics", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(statistics["public_project_count"], 1);
    assert_eq!(statistics["private_project_count"], 1);
    assert_eq!(statistics["total_project_count"], 2);
}
