//! System-wide handlers: registries, replication, scanners, scan-all, retention, GC, audit
//! logs, system, labels, quotas and users.

use std::collections::BTreeMap;

use super::{Backoff, List, ProjectRef, created_id};
use crate::client::{HarborClient, WaitOptions};
use crate::error::HarborError;
use crate::generated::models::{
    GcHistory, GeneralInfo, IsDefault, Label, OverallHealthStatus, Quota, QuotaUpdateReq, Registry,
    RegistryProviderInfo, ReplicationExecution, ReplicationPolicy, RetentionPolicy,
    ScannerRegistration, ScannerRegistrationReq, Schedule, StartReplicationExecution, Statistic,
    Stats, TriggerRetentionExecutionBody, UserCreationReq, UserResp,
};
use crate::generated::operations as op;

macro_rules! handler {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            client: HarborClient,
        }

        impl $name {
            pub(crate) fn new(client: &HarborClient) -> Self {
                Self { client: client.clone() }
            }
        }
    };
}

handler!(
    /// Registry endpoints: the targets and sources of replication.
    Registries
);

impl Registries {
    /// Lists the endpoints.
    pub fn list(&self) -> List<op::ListRegistries> {
        List::new(&self.client, op::ListRegistries::default())
    }

    /// One endpoint.
    pub async fn get(&self, id: i64) -> Result<Registry, HarborError> {
        self.client
            .call(&op::GetRegistry {
                id,
                ..Default::default()
            })
            .await
    }

    /// Adds an endpoint and returns its id.
    pub async fn create(&self, registry: Registry) -> Result<i64, HarborError> {
        created_id(
            &self
                .client
                .call(&op::CreateRegistry {
                    body: registry,
                    ..Default::default()
                })
                .await?,
            "a registry",
        )
    }

    /// Deletes an endpoint.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        self.client
            .call(&op::DeleteRegistry {
                id,
                ..Default::default()
            })
            .await
    }

    /// The adapters Harbor can replicate with, by type, with their endpoint and credential
    /// patterns. Harbor sends `null` for the patterns (and lists) adapters do not have; they
    /// read as `None` and empty here.
    pub async fn adapter_infos(
        &self,
    ) -> Result<BTreeMap<String, RegistryProviderInfo>, HarborError> {
        self.client
            .call(&op::ListRegistryProviderInfos::default())
            .await
    }
}

handler!(
    /// Replication policies and executions.
    Replication
);

impl Replication {
    /// Lists the policies.
    pub fn policies(&self) -> List<op::ListReplicationPolicies> {
        List::new(&self.client, op::ListReplicationPolicies::default())
    }

    /// One policy.
    pub async fn get_policy(&self, id: i64) -> Result<ReplicationPolicy, HarborError> {
        self.client
            .call(&op::GetReplicationPolicy {
                id,
                ..Default::default()
            })
            .await
    }

    /// Adds a policy and returns its id.
    pub async fn create_policy(&self, policy: ReplicationPolicy) -> Result<i64, HarborError> {
        created_id(
            &self
                .client
                .call(&op::CreateReplicationPolicy {
                    body: policy,
                    ..Default::default()
                })
                .await?,
            "a replication policy",
        )
    }

    /// Deletes a policy.
    pub async fn delete_policy(&self, id: i64) -> Result<(), HarborError> {
        self.client
            .call(&op::DeleteReplicationPolicy {
                id,
                ..Default::default()
            })
            .await
    }

    /// Starts a policy by hand and returns the execution id.
    pub async fn start(&self, policy_id: i64) -> Result<i64, HarborError> {
        let body = StartReplicationExecution {
            policy_id: Some(policy_id),
            ..Default::default()
        };
        created_id(
            &self
                .client
                .call(&op::StartReplication {
                    body,
                    ..Default::default()
                })
                .await?,
            "a replication execution",
        )
    }

    /// One execution.
    pub async fn execution(&self, id: i64) -> Result<ReplicationExecution, HarborError> {
        self.client
            .call(&op::GetReplicationExecution {
                id,
                ..Default::default()
            })
            .await
    }

    /// Starts a policy and polls the execution until it leaves `InProgress`, or the deadline
    /// passes. Returns the finished execution (check its `status`: `Succeed`, `Failed`,
    /// `Stopped`).
    pub async fn start_and_wait(
        &self,
        policy_id: i64,
        wait: WaitOptions,
    ) -> Result<ReplicationExecution, HarborError> {
        let id = self.start(policy_id).await?;
        let mut backoff = Backoff::new(wait);
        loop {
            let execution = self.execution(id).await?;
            let status = execution.status.as_deref().unwrap_or("InProgress");
            // Harbor 2.x executions report the job service's statuses (`Pending`, `Scheduled`,
            // `Running`, then `Success`, `Error` or `Stopped`); older ones `InProgress` and
            // `Succeed`/`Failed`.
            if !matches!(
                status,
                "InProgress" | "Pending" | "Scheduled" | "Running" | ""
            ) {
                tracing::info!(execution = id, status, "replication finished");
                return Ok(execution);
            }
            backoff
                .wait(|| format!("replication execution {id}"))
                .await?;
        }
    }
}

handler!(
    /// Scanner registrations.
    Scanners
);

impl Scanners {
    /// Lists the scanners.
    pub fn list(&self) -> List<op::ListScanners> {
        List::new(&self.client, op::ListScanners::default())
    }

    /// One scanner by registration id.
    pub async fn get(&self, registration_id: &str) -> Result<ScannerRegistration, HarborError> {
        self.client
            .call(&op::GetScanner {
                registration_id: registration_id.to_owned(),
                ..Default::default()
            })
            .await
    }

    /// Registers a scanner and returns the registration id (the last segment of `Location`).
    pub async fn create(&self, scanner: ScannerRegistrationReq) -> Result<String, HarborError> {
        let created = self
            .client
            .call(&op::CreateScanner {
                body: scanner,
                ..Default::default()
            })
            .await?;
        created
            .last_segment()
            .ok_or_else(|| HarborError::Unexpected {
                what: "scanner registration answered without Location".to_owned(),
            })
    }

    /// Removes a scanner.
    pub async fn delete(&self, registration_id: &str) -> Result<(), HarborError> {
        self.client
            .call(&op::DeleteScanner {
                registration_id: registration_id.to_owned(),
                ..Default::default()
            })
            .await
            .map(drop)
    }

    /// Makes a scanner the default.
    pub async fn set_default(&self, registration_id: &str) -> Result<(), HarborError> {
        let body = IsDefault {
            is_default: Some(true),
            ..Default::default()
        };
        self.client
            .call(&op::SetScannerAsDefault {
                registration_id: registration_id.to_owned(),
                body,
                ..Default::default()
            })
            .await
    }
}

handler!(
    /// Scanning every artifact.
    ScanAll
);

impl ScanAll {
    /// The schedule.
    pub async fn schedule(&self) -> Result<Schedule, HarborError> {
        self.client.call(&op::GetScanAllSchedule::default()).await
    }

    /// Starts a scan of every artifact now (a `Manual` schedule).
    pub async fn trigger(&self) -> Result<(), HarborError> {
        let body: Schedule = serde_json::from_value(
            serde_json::json!({"schedule": {"type": "Manual"}}),
        )
        .map_err(|source| HarborError::Encode {
            operation: "createScanAllSchedule",
            source,
        })?;
        self.client
            .call(&op::CreateScanAllSchedule {
                body,
                ..Default::default()
            })
            .await
            .map(drop)
    }

    /// Stops a running scan-all.
    pub async fn stop(&self) -> Result<(), HarborError> {
        self.client.call(&op::StopScanAll::default()).await
    }

    /// Progress of the latest scan-all.
    pub async fn metrics(&self) -> Result<Stats, HarborError> {
        self.client
            .call(&op::GetLatestScanAllMetrics::default())
            .await
    }
}

handler!(
    /// Tag retention policies.
    Retention
);

impl Retention {
    /// One policy.
    pub async fn get(&self, id: i64) -> Result<RetentionPolicy, HarborError> {
        self.client
            .call(&op::GetRetention {
                id,
                ..Default::default()
            })
            .await
    }

    /// Adds a policy and returns its id.
    pub async fn create(&self, policy: RetentionPolicy) -> Result<i64, HarborError> {
        created_id(
            &self
                .client
                .call(&op::CreateRetention {
                    body: policy,
                    ..Default::default()
                })
                .await?,
            "a retention policy",
        )
    }

    /// Replaces a policy.
    pub async fn update(&self, id: i64, policy: RetentionPolicy) -> Result<(), HarborError> {
        self.client
            .call(&op::UpdateRetention {
                id,
                body: policy,
                ..Default::default()
            })
            .await
    }

    /// Deletes a policy.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        self.client
            .call(&op::DeleteRetention {
                id,
                ..Default::default()
            })
            .await
    }

    /// Runs a policy now (`dry_run` only reports) and returns the execution id.
    pub async fn trigger(&self, id: i64, dry_run: bool) -> Result<i64, HarborError> {
        let body = TriggerRetentionExecutionBody {
            dry_run: Some(dry_run),
            ..Default::default()
        };
        created_id(
            &self
                .client
                .call(&op::TriggerRetentionExecution {
                    id,
                    body,
                    ..Default::default()
                })
                .await?,
            "a retention execution",
        )
    }
}

handler!(
    /// Garbage collection.
    Gc
);

impl Gc {
    /// Past and running GC jobs.
    pub fn history(&self) -> List<op::GetGcHistory> {
        List::new(&self.client, op::GetGcHistory::default())
    }

    /// One GC job.
    pub async fn get(&self, id: i64) -> Result<GcHistory, HarborError> {
        self.client
            .call(&op::GetGc {
                gc_id: id,
                ..Default::default()
            })
            .await
    }

    /// Starts a GC now; `delete_untagged` also removes untagged artifacts.
    pub async fn trigger(&self, delete_untagged: bool) -> Result<(), HarborError> {
        let body: Schedule = serde_json::from_value(serde_json::json!({
            "schedule": {"type": "Manual"},
            "parameters": {"delete_untagged": delete_untagged},
        }))
        .map_err(|source| HarborError::Encode {
            operation: "createGCSchedule",
            source,
        })?;
        self.client
            .call(&op::CreateGcSchedule {
                body,
                ..Default::default()
            })
            .await
            .map(drop)
    }
}

handler!(
    /// Audit logs.
    AuditLogs
);

impl AuditLogs {
    /// Lists the audit log entries; filter with `q` (`operation=create,resource_type=project`).
    pub fn list(&self) -> List<op::ListAuditLogs> {
        List::new(&self.client, op::ListAuditLogs::default())
    }
}

handler!(
    /// System information, health, ping and statistics.
    System
);

impl System {
    /// `/systeminfo`: version, auth mode, registry URL.
    pub async fn info(&self) -> Result<GeneralInfo, HarborError> {
        self.client.call(&op::GetSystemInfo::default()).await
    }

    /// The Harbor version, read once per client.
    pub async fn version(&self) -> Result<String, HarborError> {
        self.client.server_version().await
    }

    /// Health of Harbor's components (no auth needed).
    pub async fn health(&self) -> Result<OverallHealthStatus, HarborError> {
        self.client.call(&op::GetHealth::default()).await
    }

    /// True when every component reports `healthy`.
    pub async fn is_healthy(&self) -> Result<bool, HarborError> {
        Ok(self.health().await?.status.as_deref() == Some("healthy"))
    }

    /// `/ping` (no auth needed); Harbor answers `Pong`.
    pub async fn ping(&self) -> Result<String, HarborError> {
        self.client.call(&op::GetPing::default()).await
    }

    /// Project, repository and storage counts.
    pub async fn statistics(&self) -> Result<Statistic, HarborError> {
        self.client.call(&op::GetStatistic::default()).await
    }
}

handler!(
    /// Labels (global ones, or a project's with `scope=p`).
    Labels
);

impl Labels {
    /// Lists global labels; set `scope` to `p` and `project_id` for a project's.
    pub fn list(&self) -> List<op::ListLabels> {
        List::new(
            &self.client,
            op::ListLabels {
                scope: Some("g".to_owned()),
                ..Default::default()
            },
        )
    }

    /// One label.
    pub async fn get(&self, id: i64) -> Result<Label, HarborError> {
        self.client
            .call(&op::GetLabelById {
                label_id: id,
                ..Default::default()
            })
            .await
    }

    /// Adds a label and returns its id.
    pub async fn create(&self, label: Label) -> Result<i64, HarborError> {
        created_id(
            &self
                .client
                .call(&op::CreateLabel {
                    body: label,
                    ..Default::default()
                })
                .await?,
            "a label",
        )
    }

    /// Replaces a label.
    pub async fn update(&self, id: i64, label: Label) -> Result<(), HarborError> {
        self.client
            .call(&op::UpdateLabel {
                label_id: id,
                body: label,
                ..Default::default()
            })
            .await
    }

    /// Deletes a label.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        self.client
            .call(&op::DeleteLabel {
                label_id: id,
                ..Default::default()
            })
            .await
    }
}

/// A project's storage quota and use, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageUsage {
    /// Bytes used.
    pub used: i64,
    /// The limit; `None` when unlimited (Harbor's -1).
    pub limit: Option<i64>,
}

impl StorageUsage {
    /// The share of the limit in use, 0.0 to 1.0 (or more when over); `None` when unlimited.
    pub fn fraction(&self) -> Option<f64> {
        self.limit
            .filter(|l| *l > 0)
            .map(|limit| self.used as f64 / limit as f64)
    }
}

handler!(
    /// Quotas and storage usage.
    Quotas
);

impl Quotas {
    /// Lists quotas.
    pub fn list(&self) -> List<op::ListQuotas> {
        List::new(&self.client, op::ListQuotas::default())
    }

    /// One quota.
    pub async fn get(&self, id: i64) -> Result<Quota, HarborError> {
        self.client
            .call(&op::GetQuota {
                id,
                ..Default::default()
            })
            .await
    }

    /// Sets a quota's storage limit in bytes (-1 for unlimited).
    pub async fn set_storage_limit(&self, id: i64, bytes: i64) -> Result<(), HarborError> {
        let body = QuotaUpdateReq {
            hard: Some(BTreeMap::from([("storage".to_owned(), bytes)])),
            ..Default::default()
        };
        self.client
            .call(&op::UpdateQuota {
                id,
                body,
                ..Default::default()
            })
            .await
    }

    /// The storage quota and use of a project, from its summary.
    pub async fn project_usage(
        &self,
        project: impl Into<ProjectRef>,
    ) -> Result<StorageUsage, HarborError> {
        let summary = self.client.projects().summary(project).await?;
        let quota = summary.quota.unwrap_or_default();
        let used = quota
            .used
            .as_ref()
            .and_then(|u| u.get("storage"))
            .copied()
            .unwrap_or(0);
        let limit = quota
            .hard
            .as_ref()
            .and_then(|h| h.get("storage"))
            .copied()
            .filter(|l| *l >= 0);
        Ok(StorageUsage { used, limit })
    }
}

handler!(
    /// Users (for databases with local users).
    Users
);

impl Users {
    /// Lists users.
    pub fn list(&self) -> List<op::ListUsers> {
        List::new(&self.client, op::ListUsers::default())
    }

    /// One user.
    pub async fn get(&self, id: i64) -> Result<UserResp, HarborError> {
        self.client
            .call(&op::GetUser {
                user_id: id,
                ..Default::default()
            })
            .await
    }

    /// The user the client authenticates as.
    pub async fn current(&self) -> Result<UserResp, HarborError> {
        self.client.call(&op::GetCurrentUserInfo::default()).await
    }

    /// Creates a local user and returns its id.
    pub async fn create(&self, user: UserCreationReq) -> Result<i64, HarborError> {
        created_id(
            &self
                .client
                .call(&op::CreateUser {
                    body: user,
                    ..Default::default()
                })
                .await?,
            "a user",
        )
    }

    /// Deletes a user.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        self.client
            .call(&op::DeleteUser {
                user_id: id,
                ..Default::default()
            })
            .await
    }
}
