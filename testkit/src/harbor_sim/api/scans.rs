//! Scans: trigger, the overview attached to artifacts, and the vulnerabilities addition.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::artifacts::find_artifact;
use super::{caller, find_project, repository_name, require};
use crate::harbor_sim::Sim;
use crate::harbor_sim::http::{ApiError, ApiResult, ZERO_TIME, harbor_time};
use crate::harbor_sim::report::{
    REPORT_MIME_TYPE, accepted_mime_types, harbor_report, load_fixture, scanner, summary,
};
use crate::harbor_sim::state::{Artifact, Scan, State as Records};
use crate::harbor_sim::sync::sync_repository;

/// Where a scan is, derived from the time since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Running,
    Success,
}

impl Phase {
    fn of(scan: &Scan, delay: std::time::Duration) -> Self {
        let elapsed = scan.started.elapsed();
        if elapsed >= delay {
            Self::Success
        } else if elapsed >= delay / 2 {
            Self::Running
        } else {
            Self::Pending
        }
    }

    fn status(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Success => "Success",
        }
    }
}

/// `POST .../artifacts/{reference}/scan`: 202; the report comes from the repository's fixture.
pub(crate) async fn start(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference)): Path<(String, String, String)>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(&sim.records(), &principal, &project_name, true)?;
    require(&principal, &project, "scan", "create")?;
    let full_name = format!("{}/{}", project.name, repository_name(&repository));
    sync_repository(&sim, &full_name).await?;

    let mut records = sim.records();
    let index = find_artifact(&records, &full_name, &reference)?;
    begin_scan(&sim, &mut records, index)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Starts a scan of the artifact at `index`: 409 while one is still running. The report is
/// the repository's fixture (see [`crate::harbor_sim::HarborSimConfig::scan_fixture`]).
pub(crate) fn begin_scan(sim: &Sim, records: &mut Records, index: usize) -> Result<(), ApiError> {
    let artifact = &records.artifacts[index];
    let (repository, digest) = (artifact.repository_name.clone(), artifact.digest.clone());
    if records
        .scans
        .get(&digest)
        .is_some_and(|scan| Phase::of(scan, sim.scan_delay) != Phase::Success)
    {
        return Err(ApiError::conflict(format!(
            "a previous scan process of {repository}@{digest} is running"
        )));
    }
    let fixture = records.scan_fixtures.get(&repository).cloned();
    let trivy = load_fixture(&sim.fixtures_dir, fixture.as_deref())
        .map_err(|error| ApiError::internal(&error))?;
    let now = OffsetDateTime::now_utc();
    let scan = Scan {
        report_id: uuid::Uuid::new_v4().to_string(),
        started: Instant::now(),
        start_time: now,
        report: harbor_report(&trivy, &repository, &digest, now),
    };
    records.scans.insert(digest, scan);
    Ok(())
}

/// The `scan_overview` of an artifact (keyed by report MIME type), `None` if never scanned
/// or when the caller accepts no MIME type the report has.
pub(crate) fn scan_overview(
    sim: &Sim,
    records: &Records,
    artifact: &Artifact,
    mime_types: &[String],
) -> Option<Value> {
    let scan = records.scans.get(&artifact.digest)?;
    if !mime_types.iter().any(|mime| mime == REPORT_MIME_TYPE) {
        return None;
    }
    let phase = Phase::of(scan, sim.scan_delay);
    let mut overview = json!({
        "report_id": scan.report_id,
        "scan_status": phase.status(),
        "start_time": harbor_time(scan.start_time),
        "end_time": ZERO_TIME,
        "duration": 0,
        "complete_percent": match phase { Phase::Pending => 0, Phase::Running => 50, Phase::Success => 100 },
        "scanner": serde_json::to_value(scanner()).unwrap_or(Value::Null),
    });
    if phase == Phase::Success {
        let end = scan.start_time + sim.scan_delay;
        overview["end_time"] = json!(harbor_time(end));
        overview["duration"] = json!(sim.scan_delay.as_secs());
        overview["severity"] = scan.report["severity"].clone();
        overview["summary"] = summary(&scan.report);
    }
    let mut keyed = Map::new();
    keyed.insert(REPORT_MIME_TYPE.to_owned(), overview);
    Some(Value::Object(keyed))
}

/// `GET .../artifacts/{reference}/additions/vulnerabilities`: an object keyed by the first
/// accepted MIME type that has a finished report, `{}` when there is none (the spec says a
/// string; Harbor sends the object).
pub(crate) async fn vulnerabilities(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference)): Path<(String, String, String)>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(&sim.records(), &principal, &project_name, true)?;
    require(&principal, &project, "artifact-addition", "read")?;
    let full_name = format!("{}/{}", project.name, repository_name(&repository));
    sync_repository(&sim, &full_name).await?;

    let accept = headers
        .get("x-accept-vulnerabilities")
        .and_then(|value| value.to_str().ok());
    let records = sim.records();
    let artifact = &records.artifacts[find_artifact(&records, &full_name, &reference)?];
    let mut body = Map::new();
    if let Some(scan) = records.scans.get(&artifact.digest)
        && Phase::of(scan, sim.scan_delay) == Phase::Success
        && accepted_mime_types(accept)
            .iter()
            .any(|mime| mime == REPORT_MIME_TYPE)
    {
        body.insert(REPORT_MIME_TYPE.to_owned(), scan.report.clone());
    }
    Ok(Json(Value::Object(body)).into_response())
}
