//! A typed async client for Harbor's v2.0 REST API.
//!
//! Three layers:
//!
//! - [`generated`]: every model and every one of the spec's 203 operations, generated from
//!   `harbor-v2.0-swagger.yaml` by `cargo xtask codegen harbor` and checked in. The models
//!   read real answers where the spec is wrong: `null` lists are empty, Harbor's zero time
//!   `0001-01-01T00:00:00Z` is `None`, project metadata booleans travel as `"true"` strings
//!   ([`quirks::StringBool`]), the replication filter value is a union
//!   ([`quirks::FilterValue`]), and fields the spec does not declare are kept in `extra`.
//! - The pipeline ([`HarborClient`]): Basic (user, robot, OIDC CLI secret), bearer or session
//!   cookie with CSRF auth; an `X-Request-Id` per request (generated or given) carried into
//!   errors and `tracing` spans; typed errors from Harbor's `{"errors":[...]}`; retries for
//!   idempotent requests only; any 2xx accepted, declared or not; `/systeminfo` version gates.
//! - Resource handlers with verbs named after the API (`harbor.projects().create(...)`),
//!   pagination as a `Stream`, and the helpers flows need: [`handlers::Artifacts::promote`],
//!   [`handlers::Artifacts::scan_and_wait`], robot rotation, pull secrets,
//!   [`handlers::Replication::start_and_wait`]. [`HarborClient::raw`] sends any generated
//!   operation when a handler does not cover it.
//!
//! ```no_run
//! use futures::TryStreamExt as _;
//! use wharf_harbor_client::{HarborClient, HarborError};
//! use wharf_harbor_client::handlers::{NewProject, RobotSpec};
//!
//! # async fn demo() -> Result<(), HarborError> {
//! let harbor = HarborClient::builder("https://harbor.example.com")
//!     .basic("admin", "Harbor12345")
//!     .build()?;
//!
//! let id = harbor.projects().create(NewProject::new("staging").public(false)).await?;
//! let robot = harbor
//!     .robots()
//!     .create(RobotSpec::project_pull("staging", "puller"))
//!     .await?;
//! let secret_json = robot.dockerconfigjson(&harbor.registry_host());
//!
//! let repositories: Vec<_> = harbor.repositories("staging").list().stream().try_collect().await?;
//! println!("project {id:?}: {} repositories, pull secret {} bytes", repositories.len(), secret_json.len());
//! # Ok(()) }
//! ```

pub mod auth;
mod client;
pub mod error;
pub mod generated;
pub mod handlers;
pub mod operation;
pub mod pagination;
pub mod quirks;
pub mod raw;
pub mod serde_helpers;
mod version;

pub use client::{API_PREFIX, ApiResponse, HarborClient, HarborClientBuilder, WaitOptions};
pub use error::{ApiErrorItem, ErrorCode, HarborError};
pub use operation::Created;
