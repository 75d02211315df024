//! Harbor's conventions and quirks on the wire, with wiremock.

use futures::TryStreamExt as _;
use serde_json::json;
use wharf_harbor_client::generated::operations::GetProject;
use wharf_harbor_client::handlers::NewProject;
use wharf_harbor_client::{ErrorCode, HarborError};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::common;

#[tokio::test]
async fn repository_names_are_encoded_twice_in_paths() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/projects/dev/repositories/team%252Fapp"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 7, "name": "dev/team/app"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let repository = common::client(&server.uri())
        .repositories("dev")
        .get("team/app")
        .await
        .unwrap();
    assert_eq!(repository.name.as_deref(), Some("dev/team/app"));
}

#[tokio::test]
async fn pagination_follows_link_with_the_query_re_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/projects"))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"project_id": 1}, {"project_id": 2}]))
                .insert_header("X-Total-Count", "3")
                .insert_header(
                    "Link",
                    r#"</api/v2.0/projects?page=2&page_size=2&q=name=~a b>; rel="next""#,
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/projects"))
        .and(query_param("page", "2"))
        .and(query_param("q", "name=~a b"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"project_id": 3}]))
                .insert_header("X-Total-Count", "3"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let harbor = common::client(&server.uri());

    let ids: Vec<_> = harbor
        .projects()
        .list()
        .page_size(2)
        .stream()
        .map_ok(|p| p.project_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, [Some(1), Some(2), Some(3)]);

    let first = harbor.projects().list().page_size(2).page(1).await.unwrap();
    assert_eq!(first.total_count, Some(3));
    assert_eq!(
        first.next.as_deref(),
        Some("/api/v2.0/projects?page=2&page_size=2&q=name%3D~a%20b")
    );
}

#[tokio::test]
async fn page_size_above_100_is_refused_before_sending() {
    let server = MockServer::start().await;
    let error = common::client(&server.uri())
        .projects()
        .list()
        .page_size(101)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            HarborError::InvalidArgument {
                name: "page_size",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn errors_carry_status_codes_and_the_request_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/projects/ghost"))
        .and(header("X-Request-Id", "req-123"))
        .and(header("X-Is-Resource-Name", "true"))
        .respond_with(ResponseTemplate::new(404).insert_header("X-Request-Id", "req-123").set_body_json(json!({
            "errors": [{"code": "NOT_FOUND", "message": "project ghost not found"}, {"code": "BRAND_NEW_CODE", "message": "?"}]
        })))
        .mount(&server)
        .await;
    let request = GetProject {
        project_name_or_id: "ghost".into(),
        is_resource_name: Some(true),
        request_id: Some("req-123".into()),
    };
    let error = common::client(&server.uri())
        .raw()
        .send(request)
        .await
        .unwrap_err();
    assert!(error.is_not_found());
    assert_eq!(error.request_id(), Some("req-123"));
    assert_eq!(
        error.codes(),
        [
            &ErrorCode::NotFound,
            &ErrorCode::Other("BRAND_NEW_CODE".into())
        ]
    );
    assert!(error.to_string().contains("req-123"), "{error}");
}

#[tokio::test]
async fn every_request_gets_a_fresh_request_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let harbor = common::client(&server.uri());
    harbor.system().statistics().await.unwrap();
    harbor.system().statistics().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let ids: Vec<_> = requests
        .iter()
        .map(|r| {
            r.headers
                .get("x-request-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert!(uuid::Uuid::parse_str(&ids[0]).is_ok());
}

#[tokio::test]
async fn creates_read_the_id_from_location() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2.0/projects"))
        .respond_with(ResponseTemplate::new(201).insert_header("Location", "/api/v2.0/projects/42"))
        .expect(1)
        .mount(&server)
        .await;
    let id = common::client(&server.uri())
        .projects()
        .create(NewProject::new("staging").public(true))
        .await
        .unwrap();
    assert_eq!(id, 42);
    let body: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        body,
        json!({"project_name": "staging", "metadata": {"public": "true"}})
    );
}

#[tokio::test]
async fn only_idempotent_requests_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/statistics"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/statistics"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_project_count": 5})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2.0/projects"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let harbor = common::client(&server.uri());

    let statistics = harbor.system().statistics().await.unwrap();
    assert_eq!(statistics.total_project_count, Some(5));

    let error = harbor
        .projects()
        .create(NewProject::new("p"))
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
}

#[tokio::test]
async fn real_answers_with_null_lists_zero_times_and_string_booleans_decode() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/projects/library"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "project_id": 1,
            "name": "library",
            "current_user_role_ids": null,
            "creation_time": "2024-03-01T10:00:00.5Z",
            "update_time": "0001-01-01T00:00:00Z",
            "metadata": {"public": "true", "auto_scan": "false", "severity": "high"},
            "a_field_from_a_newer_harbor": {"x": 1}
        })))
        .mount(&server)
        .await;
    let project = common::client(&server.uri())
        .projects()
        .get("library")
        .await
        .unwrap();
    assert!(project.current_user_role_ids.is_empty());
    assert!(project.creation_time.is_some());
    assert_eq!(project.update_time, None);
    let metadata = project.metadata.unwrap();
    assert_eq!(metadata.public.map(bool::from), Some(true));
    assert_eq!(metadata.auto_scan.map(bool::from), Some(false));
    assert_eq!(
        project.extra["a_field_from_a_newer_harbor"],
        json!({"x": 1})
    );
}

#[tokio::test]
async fn vulnerabilities_addition_is_read_as_reports_keyed_by_mime_type() {
    let server = MockServer::start().await;
    let mime = "application/vnd.security.vulnerability.report; version=1.1";
    Mock::given(method("GET"))
        .and(path("/api/v2.0/projects/dev/repositories/app/artifacts/v1/additions/vulnerabilities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            mime: {
                "generated_at": "2024-03-01T10:00:00Z",
                "artifact": {"repository": "dev/app", "digest": "sha256:aa", "mime_type": "application/vnd.oci.image.manifest.v1+json"},
                "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.50.0"},
                "severity": "High",
                "vulnerabilities": [{"id": "CVE-2024-1", "package": "openssl", "version": "3.0.1", "fix_version": "3.0.2", "severity": "High", "links": []}]
            }
        })))
        .mount(&server)
        .await;
    let artifacts = common::client(&server.uri()).artifacts("dev", "app");
    let reports = artifacts.vulnerabilities("v1").await.unwrap();
    assert_eq!(reports.first().unwrap().0, mime);
    let report = artifacts
        .vulnerability_report("v1")
        .await
        .unwrap()
        .expect("a report");
    assert_eq!(report.vulnerabilities.len(), 1);
    assert_eq!(report.severity.to_string(), "High");
}

#[tokio::test]
async fn undeclared_success_and_error_statuses_are_handled() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v2.0/projects/old"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/projects/teapot"))
        .respond_with(ResponseTemplate::new(418).set_body_string("<html>short and stout</html>"))
        .mount(&server)
        .await;
    let harbor = common::client(&server.uri());
    harbor.projects().delete("old").await.unwrap();
    match harbor.projects().get("teapot").await.unwrap_err() {
        HarborError::Api {
            status,
            errors,
            body_excerpt,
            ..
        } => {
            assert_eq!(status.as_u16(), 418);
            assert!(errors.is_empty());
            assert!(body_excerpt.contains("short and stout"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn session_auth_sends_the_csrf_token_on_changes_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(header("X-Harbor-CSRF-Token", "csrf-1"))
        .and(header("Cookie", "sid=session-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let harbor = common::builder(&server.uri())
        .session("session-1", "csrf-1")
        .build()
        .unwrap();
    harbor.system().statistics().await.unwrap();
    harbor.projects().delete(7).await.unwrap();
    let get = &server.received_requests().await.unwrap()[0];
    assert!(get.headers.get("x-harbor-csrf-token").is_none());
    assert!(get.headers.get("authorization").is_none());
}

/// Plays gorilla/csrf as Harbor runs it: every answer to a session carries a fresh masked
/// token, the first one also the `_gorilla_csrf` cookie, and a change is accepted only with
/// that cookie, a token and a same-origin referer.
#[tokio::test]
async fn session_changes_replay_harbors_csrf_cookie_and_latest_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/systeminfo"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"harbor_version": "v2.11.0"}))
                .append_header(
                    "Set-Cookie",
                    "_gorilla_csrf=real-secret; Path=/; Secure; SameSite=Strict",
                )
                .append_header("X-Harbor-CSRF-Token", "masked-1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/statistics"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .append_header("X-Harbor-CSRF-Token", "masked-2"),
        )
        .mount(&server)
        .await;
    let referer = format!("{}/", server.uri());
    for token in ["masked-1", "masked-2"] {
        Mock::given(method("DELETE"))
            .and(header("Cookie", "sid=session-1; _gorilla_csrf=real-secret"))
            .and(header("X-Harbor-CSRF-Token", token))
            .and(header("Referer", referer.as_str()))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
    }
    let harbor = common::builder(&server.uri())
        .session("session-1", "copied-from-the-browser")
        .build()
        .unwrap();

    // The first change asks for the cookie first; a later answer's token replaces the first.
    harbor.projects().delete(7).await.unwrap();
    harbor.system().statistics().await.unwrap();
    harbor.projects().delete(8).await.unwrap();
    assert!(!format!("{harbor:?}").contains("real-secret"));
}

#[tokio::test]
async fn version_gates_read_systeminfo_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/systeminfo"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"harbor_version": "v2.8.4-abc"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let harbor = common::client(&server.uri());
    harbor.require_version("copy", "2.0").await.unwrap();
    let error = harbor
        .require_version("permissions listing", "2.10")
        .await
        .unwrap_err();
    assert!(
        matches!(error, HarborError::Unsupported { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "permissions listing needs Harbor 2.10 or newer, the server runs v2.8.4-abc"
    );
}

#[tokio::test]
async fn replication_start_and_wait_polls_until_the_execution_ends() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2.0/replication/executions"))
        .and(wiremock::matchers::body_json(json!({"policy_id": 3})))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("Location", "/api/v2.0/replication/executions/41"),
        )
        .expect(1)
        .mount(&server)
        .await;
    for status in ["Pending", "Scheduled", "Running"] {
        Mock::given(method("GET"))
            .and(path("/api/v2.0/replication/executions/41"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": 41, "status": status})),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/v2.0/replication/executions/41"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 41, "status": "Success", "total": 2, "succeed": 2, "failed": 0}),
        ))
        .mount(&server)
        .await;

    let wait = wharf_harbor_client::WaitOptions {
        interval: std::time::Duration::from_millis(10),
        max_interval: std::time::Duration::from_millis(20),
        deadline: std::time::Duration::from_secs(5),
    };
    let execution = common::client(&server.uri())
        .replication()
        .start_and_wait(3, wait)
        .await
        .unwrap();
    assert_eq!(execution.id, Some(41));
    assert_eq!(execution.status.as_deref(), Some("Success"));
    let polls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.method.as_str() == "GET")
        .count();
    assert_eq!(polls, 4, "three running answers, then the finished one");
}

#[tokio::test]
async fn adapter_infos_read_as_a_map_with_nulls_as_empty() {
    // Harbor's answer: a map keyed by adapter type (the spec declares an array), with null
    // where an adapter has no endpoint list or credential pattern.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2.0/replication/adapterinfos"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "docker-hub": {
                "endpoint_pattern": {"endpoint_type": "EndpointPatternTypeFix",
                    "endpoints": [{"key": "hub.docker.com", "value": "https://hub.docker.com"}]},
                "credential_pattern": null
            },
            "harbor": {"endpoint_pattern": {"endpoint_type": "EndpointPatternTypeStandard", "endpoints": null}}
        })))
        .mount(&server)
        .await;
    let infos = common::client(&server.uri())
        .registries()
        .adapter_infos()
        .await
        .unwrap();
    let keys: Vec<&str> = infos.keys().map(String::as_str).collect();
    assert_eq!(keys, ["docker-hub", "harbor"]);
    let hub = infos["docker-hub"].endpoint_pattern.as_ref().unwrap();
    assert_eq!(hub.endpoints.len(), 1);
    assert!(infos["docker-hub"].credential_pattern.is_none());
    assert!(
        infos["harbor"]
            .endpoint_pattern
            .as_ref()
            .unwrap()
            .endpoints
            .is_empty()
    );
}

#[tokio::test]
async fn bearer_and_oidc_cli_secret_logins_reach_the_wire() {
    let server = MockServer::start().await;
    // base64("alice:cli-secret-123")
    for authorization in ["Bearer id-token-abc", "Basic YWxpY2U6Y2xpLXNlY3JldC0xMjM="] {
        Mock::given(method("GET"))
            .and(path("/api/v2.0/users/current"))
            .and(header("authorization", authorization))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"user_id": 3, "username": "alice"})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    for client in [
        common::builder(&server.uri()).bearer("id-token-abc"),
        common::builder(&server.uri()).oidc_cli_secret("alice", "cli-secret-123"),
    ] {
        let client = client.build().unwrap();
        assert!(
            !format!("{client:?}").contains("id-token-abc")
                && !format!("{client:?}").contains("cli-secret-123"),
            "no secret in Debug"
        );
        let user = client.users().current().await.unwrap();
        assert_eq!(user.username.as_deref(), Some("alice"));
    }
}
