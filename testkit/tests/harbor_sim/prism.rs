//! `prism proxy --errors` in front of the simulator: every answer the flows use must validate
//! against Harbor's swagger, apart from [`KNOWN_DIFFERENCES`] (where real Harbor and its spec
//! disagree and the simulator follows Harbor).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use wharf_testkit::harbor_sim::HarborSimConfig;

use super::support::Harbor;

/// A response violation prism reports that real Harbor also produces.
struct KnownDifference {
    /// Part of the request (`METHOD path`) the difference is limited to; `""` for any.
    operation: &'static str,
    /// Dotted location in prism's `sl-violations`; `*` matches one segment.
    location: &'static str,
    /// Why the simulator answers differently from the spec.
    reason: &'static str,
}

/// The spec-versus-server differences the simulator reproduces on purpose. Each one must
/// show up in the run below, so a stale entry fails the test.
const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.*.extra_attrs.*",
        reason: "ExtraAttrs declares object values; Harbor's image processor stores strings and \
                 null (architecture, os, author, created)",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.extra_attrs.*",
        reason: "the same for a single artifact",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.*.annotations",
        reason: "Harbor sends null when a manifest has no annotations",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.annotations",
        reason: "the same for a single artifact",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.*.references",
        reason: "Harbor sends null for an artifact that is not an index",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.references",
        reason: "the same for a single artifact",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.*.labels",
        reason: "Harbor sends null for an artifact without labels (or without with_label)",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.*.accessories",
        reason: "Harbor sends null for an artifact without accessories",
    },
    KnownDifference {
        operation: "/artifacts",
        location: "response.body.accessories",
        reason: "the same for a single artifact",
    },
    KnownDifference {
        operation: "/additions/vulnerabilities",
        location: "response.body",
        reason: "the vulnerabilities addition is declared as a string; Harbor sends an object \
                 keyed by report MIME type (goharbor/go-client#11)",
    },
];

/// A running `prism proxy`; killed on drop.
struct Prism {
    child: Child,
    url: String,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    async fn start(spec: &Path, upstream: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(wharf_testkit::services::prism_bin())
            .args([
                "proxy",
                "--errors",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg(spec)
            .arg(upstream)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prism starts");
        let prism = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        prism.wait_ready().await;
        prism
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..600 {
            let ping = client
                .get(format!("{}/api/v2.0/ping", self.url))
                .send()
                .await;
            if ping.is_ok_and(|response| response.status() == StatusCode::OK) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prism proxy did not start at {}", self.url);
    }
}

/// Writes Harbor's spec with every path prefixed by `/api/v2.0` (prism ignores `basePath`).
fn prefixed_spec(dir: &Path) -> PathBuf {
    let source = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/specs/harbor-v2.0-swagger.yaml"
    );
    let text = std::fs::read_to_string(source).expect("the Harbor spec is readable");
    let mut in_paths = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if !line.starts_with(' ') && !line.is_empty() {
                in_paths = line.starts_with("paths:");
            }
            // Path keys are written bare (`  /ping:`) or quoted (`  '/quotas':`).
            let quoted = ["  /", "  '/", "  \"/"]
                .iter()
                .find_map(|opening| Some((*opening, line.strip_prefix(opening)?)));
            match quoted {
                Some((opening, rest)) if in_paths => format!("{opening}api/v2.0/{rest}"),
                _ => line.to_owned(),
            }
        })
        .collect();
    let path = dir.join("harbor-v2.0-prefixed.yaml");
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

/// Violations prism reported, with the request that caused them.
#[derive(Default)]
struct Report {
    violations: Vec<(String, String, String)>,
}

impl Report {
    fn record(&mut self, operation: &str, response: &Response) {
        let Some(header) = response.headers().get("sl-violations") else {
            return;
        };
        let violations: Vec<Value> =
            serde_json::from_slice(header.as_bytes()).expect("violations are JSON");
        self.record_violations(operation, &violations);
    }

    /// A prism problem answer: its `validation` entries, or the problem itself (a path the
    /// spec does not have, a refused request) as one violation.
    fn record_problem(&mut self, operation: &str, problem: &Value) {
        match problem["validation"].as_array() {
            Some(violations) if !violations.is_empty() => {
                self.record_violations(operation, violations);
            }
            _ => self.violations.push((
                operation.to_owned(),
                "prism".to_owned(),
                format!(
                    "{}: {}",
                    problem["title"].as_str().unwrap_or("prism problem"),
                    problem["detail"].as_str().unwrap_or_default()
                ),
            )),
        }
    }

    fn record_violations(&mut self, operation: &str, violations: &[Value]) {
        for violation in violations {
            let location: Vec<String> = violation["location"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|segment| {
                    segment
                        .as_str()
                        .map_or_else(|| segment.to_string(), str::to_owned)
                })
                .collect();
            let message = violation["message"].as_str().unwrap_or_default().to_owned();
            self.violations
                .push((operation.to_owned(), location.join("."), message));
        }
    }
}

impl KnownDifference {
    fn explains(&self, (operation, location, _): &(String, String, String)) -> bool {
        operation.contains(self.operation) && matches(self.location, location)
    }
}

fn matches(pattern: &str, location: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let location: Vec<&str> = location.split('.').collect();
    pattern.len() == location.len()
        && pattern
            .iter()
            .zip(&location)
            .all(|(want, got)| *want == "*" || want == got)
}

/// Calls the API through prism and records what prism says about the answer.
async fn checked(
    harbor: &Harbor,
    report: &mut Report,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let operation = format!("{method} {path}");
    let response = harbor.admin(method, path, body).await;
    report.record(&operation, &response);
    if !is_prism_problem(&response) {
        return response;
    }
    // With `--errors` prism answers for the simulator when the request or the simulator's
    // answer breaks the spec (or no path of the spec matches): those findings are in the
    // problem's body, not in `sl-violations`.
    let status = response.status();
    let problem: Value = response.json().await.expect("prism problems are JSON");
    report.record_problem(&operation, &problem);
    reqwest::Response::from(
        axum::http::Response::builder()
            .status(status)
            .body(problem.to_string())
            .expect("a response"),
    )
}

fn is_prism_problem(response: &Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/problem+json"))
}

#[tokio::test]
async fn simulator_answers_validate_against_the_spec() {
    let work = tempfile::tempdir().unwrap();
    let spec = prefixed_spec(work.path());
    let config = HarborSimConfig::default()
        .scan_delay(Duration::from_millis(200))
        .scan_fixture("team/app", "alpine-310");
    let mut harbor = Harbor::start_with(config).await;
    let prism = Prism::start(&spec, harbor.sim.url()).await;
    harbor.base.clone_from(&prism.url);
    let mut report = Report::default();
    let r = &mut report;

    for path in ["/ping", "/health", "/systeminfo"] {
        assert_eq!(
            checked(&harbor, r, Method::GET, path, None).await.status(),
            StatusCode::OK
        );
    }
    let project = json!({"project_name": "team", "metadata": {"public": "false", "auto_scan": "true"}, "storage_limit": -1});
    assert_eq!(
        checked(&harbor, r, Method::POST, "/projects", Some(project))
            .await
            .status(),
        StatusCode::CREATED
    );
    checked(
        &harbor,
        r,
        Method::POST,
        "/projects",
        Some(json!({"project_name": "prod"})),
    )
    .await;
    checked(
        &harbor,
        r,
        Method::HEAD,
        "/projects?project_name=team",
        None,
    )
    .await;
    checked(&harbor, r, Method::GET, "/projects/team", None).await;
    checked(
        &harbor,
        r,
        Method::GET,
        "/projects?page=1&page_size=1",
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::PUT,
        "/projects/team",
        Some(json!({"metadata": {"auto_scan": "false"}})),
    )
    .await;
    checked(&harbor, r, Method::GET, "/projects/team/summary", None).await;
    checked(
        &harbor,
        r,
        Method::GET,
        "/quotas?reference=project&reference_id=1",
        None,
    )
    .await;
    assert_eq!(
        checked(&harbor, r, Method::GET, "/projects/missing", None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let robot = json!({"name": "ci", "level": "project", "duration": -1, "permissions": [{"kind": "project",
        "namespace": "team", "access": [{"resource": "repository", "action": "push"}, {"resource": "repository", "action": "pull"}]}]});
    let created: Value = checked(&harbor, r, Method::POST, "/robots", Some(robot))
        .await
        .json()
        .await
        .unwrap();
    let robot_id = created["id"]
        .as_i64()
        .expect("the robot answer validates and has an id");
    checked(
        &harbor,
        r,
        Method::GET,
        "/robots?q=Level=project,ProjectID=1",
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::GET,
        &format!("/robots/{robot_id}"),
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::PATCH,
        &format!("/robots/{robot_id}"),
        Some(json!({"secret": ""})),
    )
    .await;

    harbor
        .push_image("team/app", "v1", b"prism checked image")
        .await;
    harbor
        .push_image("team/tools/cli", "1", b"nested repository")
        .await;
    let repositories = checked(&harbor, r, Method::GET, "/projects/team/repositories", None).await;
    assert_eq!(repositories.status(), StatusCode::OK);
    let nested = checked(
        &harbor,
        r,
        Method::GET,
        "/projects/team/repositories/tools%252Fcli",
        None,
    )
    .await;
    let nested: Value = nested.json().await.unwrap();
    assert_eq!(
        nested["name"], "team/tools/cli",
        "the double-encoded name survives prism"
    );
    checked(
        &harbor,
        r,
        Method::GET,
        "/projects/team/repositories/tools%252Fcli/artifacts",
        None,
    )
    .await;
    let artifacts = "/projects/team/repositories/app/artifacts";
    checked(
        &harbor,
        r,
        Method::GET,
        &format!("{artifacts}?with_tag=true&with_label=true&with_scan_overview=true"),
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::POST,
        &format!("{artifacts}/v1/tags"),
        Some(json!({"name": "rc"})),
    )
    .await;
    checked(
        &harbor,
        r,
        Method::GET,
        &format!("{artifacts}/v1/tags"),
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::DELETE,
        &format!("{artifacts}/v1/tags/rc"),
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::POST,
        "/labels",
        Some(json!({"name": "ok", "scope": "g", "color": "#00ff00"})),
    )
    .await;
    checked(&harbor, r, Method::GET, "/labels?scope=g", None).await;
    checked(
        &harbor,
        r,
        Method::POST,
        &format!("{artifacts}/v1/labels"),
        Some(json!({"id": 1})),
    )
    .await;
    let copied = checked(
        &harbor,
        r,
        Method::POST,
        "/projects/prod/repositories/app/artifacts?from=team/app:v1",
        None,
    )
    .await;
    assert_eq!(copied.status(), StatusCode::CREATED);

    assert_eq!(
        checked(
            &harbor,
            r,
            Method::POST,
            &format!("{artifacts}/v1/scan"),
            None
        )
        .await
        .status(),
        StatusCode::ACCEPTED
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    checked(
        &harbor,
        r,
        Method::GET,
        &format!("{artifacts}/v1?with_scan_overview=true&with_label=true"),
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::GET,
        &format!("{artifacts}/v1/additions/vulnerabilities"),
        None,
    )
    .await;
    checked(&harbor, r, Method::GET, "/statistics", None).await;

    checked(
        &harbor,
        r,
        Method::DELETE,
        "/projects/prod/repositories/app/artifacts/v1",
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::DELETE,
        "/projects/prod/repositories/app",
        None,
    )
    .await;
    checked(
        &harbor,
        r,
        Method::DELETE,
        &format!("/robots/{robot_id}"),
        None,
    )
    .await;

    let unexplained: Vec<_> = report
        .violations
        .iter()
        .filter(|violation| {
            !KNOWN_DIFFERENCES
                .iter()
                .any(|known| known.explains(violation))
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "violations outside the known list: {unexplained:#?}"
    );
    for known in KNOWN_DIFFERENCES {
        assert!(
            report
                .violations
                .iter()
                .any(|violation| known.explains(violation)),
            "known difference {} never showed up ({}); remove it",
            known.location,
            known.reason
        );
    }
}
