//! Access to the shared Trivy fixtures (Trivy's golden outputs).

use std::path::PathBuf;

use serde_json::Value;
use wharf_trivy_report::Report;

/// The fixture folder.
pub fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/trivy"
    ))
}

/// Every fixture file, sorted.
pub fn all() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("the shared Trivy fixtures exist")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    files
}

/// The raw text of fixture `name` (without `.json`).
pub fn text(name: &str) -> String {
    std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap()
}

/// Fixture `name` as a typed report.
pub fn report(name: &str) -> Report {
    Report::from_str(&text(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// Fixture `name` as untyped JSON.
pub fn value(name: &str) -> Value {
    serde_json::from_str(&text(name)).unwrap()
}
