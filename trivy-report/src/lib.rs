//! The Trivy JSON report (SchemaVersion 2) as typed, lossless Rust values.
//!
//! - [`Report`] and its parts model every field Trivy writes; fields the model does not
//!   name are kept in `extra`, so parsing and serialising gives the same JSON back.
//! - Queries ([`Report::vulnerabilities`], [`Report::vulnerability_counts`], ...) answer
//!   what a CI gate needs to know.
//! - [`FilterOptions`] filters a report with Trivy's own semantics and order.
//! - [`policy::Policy`] decides pass or fail, from TOML or YAML.
//! - [`harbor`] holds Harbor's scanner-adapter report models and the conversion
//!   harbor-scanner-trivy performs.
//! - [`render`] writes a terminal table, Markdown or JSON.
//!
//! No network, no async: a pure library.
//!
//! # Reading a report
//!
//! | call | input | strings | speed and memory on a 100 MB report (`BENCHMARKS.md`) |
//! |:--|:--|:--|:--|
//! | [`Report::from_path`] | a file, read without its indentation | shared with the text read | fastest; about 1.35x the file |
//! | [`Report::from_vec`], [`Report::from_string`] | a buffer you hand over | shared with the buffer | as fast; the buffer plus about 0.6x |
//! | [`Report::from_slice`], [`Report::from_str`] | a buffer you keep | copied | a fifth to a third slower; the buffer plus about 1.1x |
//! | [`Report::from_reader`] | any reader, streamed | copied | about 3x slower; about 1.1x the file |
//!
//! A model that shares its text keeps the whole text alive until its last string is dropped,
//! as a `bytes::Bytes` slice keeps its buffer.
//!
//! # Example
//!
//! ```
//! use wharf_trivy_report::{FilterOptions, Report, Severity};
//!
//! let json = r#"{
//!   "SchemaVersion": 2,
//!   "ArtifactName": "alpine:3.9",
//!   "ArtifactType": "container_image",
//!   "Results": [{
//!     "Target": "alpine:3.9 (alpine 3.9.4)",
//!     "Class": "os-pkgs",
//!     "Type": "alpine",
//!     "Vulnerabilities": [{
//!       "VulnerabilityID": "CVE-2019-14697",
//!       "PkgName": "musl",
//!       "InstalledVersion": "1.1.20-r4",
//!       "FixedVersion": "1.1.20-r5",
//!       "Status": "fixed",
//!       "Severity": "CRITICAL"
//!     }]
//!   }]
//! }"#;
//!
//! let report = Report::from_str(json)?;
//! assert_eq!(report.highest_severity(), Some(Severity::Critical));
//!
//! let high_and_up = report.filtered(
//!     &FilterOptions::new().severities([Severity::High, Severity::Critical]).ignore_unfixed(true),
//! );
//! assert_eq!(high_and_up.vulnerability_counts().get(Severity::Critical), 1);
//! # Ok::<(), wharf_trivy_report::Error>(())
//! ```

mod buffer;
mod error;
mod filter;
pub mod harbor;
mod kinds;
mod model;
mod parse;
pub mod policy;
mod query;
pub mod render;
mod text;
mod text_list;
mod timestamp;
mod wire;

pub use error::Error;
pub use filter::{Clock, FilterOptions, IgnoreConfig, IgnoreEntry};
pub use kinds::{ArtifactType, MisconfStatus, ParseSeverityError, ResultClass, Severity, Status};
pub use model::{
    CauseMetadata, Code, CodeLine, Cvss, DataSource, Layer, LayerMetadata, License, Location,
    Metadata, MisconfSummary, Misconfiguration, ModifiedFinding, Os, Package, PkgIdentifier,
    Report, ScanResult, Secret, TrivyInfo, Vulnerability,
};
pub use parse::SCHEMA_VERSION;
pub use query::{Finding, Located, SeverityCounts};
pub use text::Text;
pub use text_list::{TextList, Texts};
pub use timestamp::Timestamp;
pub use wire::{Extra, OrderedMap};
