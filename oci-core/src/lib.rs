//! OCI building blocks for Wharf: references, digests, manifests, registry auth, the distribution
//! client and the copy engine.
//!
//! The pure layer ([`reference`](mod@reference), [`digest`], [`media_type`], [`manifest`],
//! [`challenge`], [`link`], [`docker_config`]) parses and validates without I/O. On top of it,
//! [`client::RegistryClient`] speaks the distribution API with [`auth`]'s token flow,
//! credentials from any [`credentials::CredentialSource`] (static, Docker's `config.json` via
//! [`docker_credentials`], or an expiring provider), retries from [`retry`] and TLS settings
//! from [`transport`]. Every failure is an [`error::Error`].
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use futures::TryStreamExt;
//! use wharf_oci_core::client::RegistryClient;
//! use wharf_oci_core::credentials::{Credential, StaticCredentials};
//! use wharf_oci_core::reference::Reference;
//! use wharf_oci_core::transport::TransportConfig;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = RegistryClient::builder()
//!     .transport(TransportConfig::builder().ca_file("/etc/wharf/ca.pem").build()?)
//!     .credentials(Arc::new(StaticCredentials::new().with(
//!         "harbor.example.com",
//!         Credential::basic("robot$ci", "secret"),
//!     )))
//!     .build()?;
//!
//! let source: Reference = "harbor.example.com/team/app:1.0".parse()?;
//! let manifest = client.get_manifest(&source).await?;
//! for layer in manifest.referenced_blobs() {
//!     let size = client.blob_exists(&source, &layer.digest).await?;
//!     println!("{} is {size:?} bytes", layer.digest);
//! }
//! let tags: Vec<String> = client.list_tags(&source, Some(100)).try_collect().await?;
//! println!("{} tags", tags.len());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod challenge;
pub mod client;
pub mod copy;
pub mod credentials;
pub mod digest;
pub mod docker_config;
pub mod docker_credentials;
pub mod error;
pub mod link;
pub mod manifest;
pub mod media_type;
pub mod platform;
pub mod reference;
pub mod retry;
pub mod secret;
pub mod transport;
