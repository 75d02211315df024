//! An async client for Gitea's package registries and its package management API.
//!
//! One [`GiteaClient`] per server and owner hands out a handle per format:
//!
//! | handle | format | upload answer | duplicate |
//! |---|---|---|---|
//! | [`GiteaClient::pypi`] | PyPI (twine's upload form, PEP 503 simple index) | 201 | 400 |
//! | [`GiteaClient::npm`] | npm (publish document, packument, dist-tags) | 201 | 400 |
//! | [`GiteaClient::generic`] | generic files, streamed | 201 | 409 |
//! | [`GiteaClient::maven`] | Maven (artifact, pom, checksums, `maven-metadata.xml`) | 201 | 409 |
//! | [`GiteaClient::go`] | Go module zips | 201 | 409 |
//! | [`GiteaClient::cargo`] | Cargo (publish framing, sparse index, yank) | 200 | 409 |
//! | [`GiteaClient::helm`] | Helm charts, `index.yaml` | 201 | 409 |
//! | [`GiteaClient::container`] | OCI images, through oci-core's registry client | | |
//! | [`GiteaClient::packages`] | management: list, get, files, delete, link | | |
//!
//! Whatever the format and server, a duplicate is [`Error::AlreadyExists`], a full quota
//! [`Error::QuotaExceeded`], a missing token scope [`Error::Unauthorized`]; the server's
//! message is kept. The PyPI and npm protocol code also works against any compatible index
//! ([`pypi::PypiRegistry::new`], [`npm::NpmRegistry::new`]), for example pypiserver and
//! verdaccio.
//!
//! Every path segment is percent-encoded (npm scopes are sent as `@scope%2fname`), tokens are
//! sent only in the `Authorization` header and never appear in `Debug` output or logs, and
//! every request runs in a `tracing` span with method, host, path, attempt and status.
//!
//! ```no_run
//! # async fn demo() -> wharf_gitea_client::Result<()> {
//! use futures::TryStreamExt;
//! use wharf_gitea_client::packages::{ListFilter, PackageType};
//! use wharf_gitea_client::{Auth, Error, GiteaClient};
//!
//! let gitea = GiteaClient::builder("https://gitea.example.com", "k3s-homelab")
//!     .auth(Auth::basic("ci", "token-with-write-package-scope"))
//!     .build()?;
//!
//! match gitea.pypi().upload_file("dist/demo-0.1.0-py3-none-any.whl").await {
//!     Ok(uploaded) => println!("published {} {}", uploaded.name, uploaded.version),
//!     Err(Error::AlreadyExists { what, .. }) => println!("{what} was already published"),
//!     Err(other) => return Err(other),
//! }
//!
//! let mut old = gitea.packages().list(&ListFilter::new().package_type(PackageType::Pypi).query("demo"));
//! while let Some(package) = old.try_next().await? {
//!     println!("{} {} {}", package.package_type, package.name, package.version);
//! }
//! # Ok(()) }
//! ```

mod auth;
pub mod cargo;
mod client;
pub mod container;
mod error;
pub mod generic;
pub mod go;
pub mod helm;
mod html;
mod http;
pub mod maven;
pub mod npm;
pub mod packages;
pub mod path;
pub mod pypi;

pub use auth::Auth;
pub use client::{GiteaClient, GiteaClientBuilder};
pub use error::{Error, Result};
pub use http::ByteStream;
