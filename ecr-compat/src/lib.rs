//! AWS ECR as a migration source: enumeration, a credential provider that never lets a token
//! lapse, pull-secret refresh, and rewriting ECR references to Harbor.
//!
//! - [`EcrClient`] wraps the official AWS SDK (credential chain, SigV4, throttling retries):
//!   repositories, images and image ids as paginated [`Stream`](futures::Stream)s, manifests
//!   with `BatchGetImage` in batches of 100, and the authorization token.
//! - [`auth::EcrCredentialProvider`] turns `GetAuthorizationToken` into oci-core Basic
//!   credentials: cached, refreshed early, retried with backoff, never handed out expired.
//! - [`uri`] parses ECR image URIs (standard, China, FIPS and dual-stack hosts);
//!   [`mapping::Mapping`] maps them to Harbor references; [`rewrite::Rewriter`] rewrites
//!   Kubernetes manifests, Helm values, Compose files and Dockerfiles in place, optionally
//!   pinning digests, and produces a unified diff.
//! - [`pull_secret::PullSecretRefresher`] keeps a `kubernetes.io/dockerconfigjson` payload
//!   fresh for the migration period.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::TryStreamExt;
//! use wharf_ecr_compat::{EcrClient, model::{RepositoryFilter, TagStatus}};
//!
//! let client = EcrClient::builder().region("eu-west-1").build().await?;
//! let repositories: Vec<_> =
//!     client.repositories(RepositoryFilter::prefix("team-a/")).try_collect().await?;
//! for repository in &repositories {
//!     let images: Vec<_> = client.images(&repository.name).try_collect().await?;
//!     let ids: Vec<_> = client.image_ids(&repository.name, TagStatus::Tagged).try_collect().await?;
//!     let manifests: Vec<_> = client.manifests(&repository.name, &ids, &[]).try_collect().await?;
//!     println!("{}: {} images, {} tagged manifests", repository.name, images.len(), manifests.len());
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod client;
pub mod clock;
pub mod error;
pub mod mapping;
pub mod model;
pub mod pull_secret;
pub mod rewrite;
pub mod uri;

pub use client::EcrClient;
pub use error::EcrError;
