//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong reading reports, ignore files and policies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is a bare JSON array: the results-only format Trivy wrote before v0.20.
    #[error(
        "report is in the pre-0.20 Trivy format (a bare array of results, no SchemaVersion); \
         re-run Trivy 0.20 or later with --format json"
    )]
    LegacyFormat,
    /// The report declares a schema version this crate does not read.
    #[error("report has SchemaVersion {found}, only SchemaVersion 2 is supported")]
    UnsupportedSchema {
        /// The `SchemaVersion` found.
        found: u32,
    },
    /// The report is not valid JSON or does not fit the model.
    #[error("invalid Trivy JSON report")]
    Json(#[source] serde_json::Error),
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A `.trivyignore.yaml` file is not valid YAML for Trivy's ignore schema.
    #[error("invalid ignore file {path}")]
    IgnoreYaml {
        /// The file as named by the caller.
        path: String,
        /// The cause.
        #[source]
        source: serde_yaml::Error,
    },
    /// An entry of an ignore file is invalid.
    #[error("invalid ignore entry {id:?} in {path}: {reason}")]
    IgnoreEntry {
        /// The file as named by the caller.
        path: String,
        /// The entry's id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A TOML policy could not be read.
    #[error("invalid TOML policy")]
    PolicyToml(#[source] toml::de::Error),
    /// A YAML policy could not be read.
    #[error("invalid YAML policy")]
    PolicyYaml(#[source] serde_yaml::Error),
    /// A policy file's extension names neither TOML nor YAML.
    #[error("policy file {} must end in .toml, .yaml or .yml", path.display())]
    PolicyFormat {
        /// The file.
        path: PathBuf,
    },
    /// A policy's contents are inconsistent.
    #[error("invalid policy: {reason}")]
    PolicyInvalid {
        /// What is wrong.
        reason: String,
    },
}
