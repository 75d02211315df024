//! The Trivy JSON report (SchemaVersion 2) as typed, lossless Rust values.
