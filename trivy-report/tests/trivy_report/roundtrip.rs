//! Every fixture parses and serialises back to the same JSON.

use serde_json::Value;
use wharf_trivy_report::{Report, Severity};

use super::fixtures;

#[test]
fn every_fixture_round_trips_losslessly() {
    let files = fixtures::all();
    assert!(
        files.len() >= 60,
        "expected the full fixture set, found {}",
        files.len()
    );

    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let report =
            Report::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let original: Value = serde_json::from_str(&text).unwrap();
        let written: Value = serde_json::to_value(&report).unwrap();
        assert_eq!(written, original, "{} does not round-trip", path.display());

        let reparsed = Report::from_slice(report.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(reparsed, report, "{}", path.display());

        // Every way in gives the same model: the sharing parse of a file read without its
        // indentation, a handed-over buffer, and the streaming reader.
        assert_eq!(
            Report::from_path(&path).unwrap(),
            report,
            "{}",
            path.display()
        );
        assert_eq!(Report::from_vec(text.clone().into_bytes()).unwrap(), report);
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(
            Report::from_reader(file).unwrap(),
            report,
            "{}",
            path.display()
        );
    }
}

#[test]
fn a_syntax_error_read_from_a_file_names_its_line_and_column_in_the_file() {
    let path = std::env::temp_dir().join(format!("wharf-broken-{}.json", std::process::id()));
    let broken = "{\n    \"SchemaVersion\": 2,\n        \"ArtifactName\": \"alpine\" oops\n}\n";
    std::fs::write(&path, broken).unwrap();
    let error = Report::from_path(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    let wharf_trivy_report::Error::Json(error) = error else {
        panic!("expected a JSON error, got {error:?}");
    };
    // Column 34 is the `o` counted with the line's eight spaces of indentation.
    assert_eq!((error.line(), error.column()), (3, 34), "{error}");
}

/// A report of at least `bytes` as Trivy writes it, made by doubling the results of a
/// fixture until it is large enough.
fn large_report_text(bytes: usize) -> String {
    let mut report = fixtures::report("alpine-39");
    loop {
        let text = report.to_json_pretty();
        if text.len() >= bytes {
            return text;
        }
        let results = report.results.get_or_insert_with(Vec::new);
        results.extend_from_within(..);
    }
}

#[test]
fn a_large_report_file_is_read_into_memory_of_its_own_and_parses_like_its_text() {
    // Large enough for `from_path` to map memory for the file (from 4 MiB).
    let text = large_report_text(6 << 20);
    let path = std::env::temp_dir().join(format!("wharf-large-{}.json", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let from_file = Report::from_path(&path);
    std::fs::write(
        &path,
        text.replacen("\"Severity\": \"", "\"Severity\": ", 1),
    )
    .unwrap();
    let broken = Report::from_path(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();

    let from_file = from_file.unwrap();
    assert_eq!(from_file, Report::from_str(&text).unwrap());
    assert_eq!(from_file.to_json_pretty(), text);
    let a_description_is_shared = from_file.results()[0]
        .vulnerabilities()
        .iter()
        .filter_map(|vulnerability| vulnerability.description.as_ref())
        .any(wharf_trivy_report::Text::is_shared);
    assert!(
        a_description_is_shared,
        "long strings point into the file's memory"
    );
    // The error names the position in the file as it is, indentation included.
    let wharf_trivy_report::Error::Json(broken) = broken else {
        panic!("expected a JSON error, got {broken:?}");
    };
    let line = text
        .lines()
        .position(|line| line.contains("\"Severity\": \""))
        .unwrap()
        + 1;
    assert_eq!(broken.line(), line, "{broken}");
}

#[test]
fn fixtures_re_serialise_to_the_same_text() {
    // Trivy's writer and this crate both indent by two spaces and escape as Go does, and the
    // model writes known fields in Trivy's order, so the text comes back byte for byte.
    // Exceptions: the golden normaliser moved `ReportID` after `ArtifactType` in a few files
    // (the JSON values are still equal, see above).
    let mut exact = 0;
    let mut differing = Vec::new();
    for path in fixtures::all() {
        let text = std::fs::read_to_string(&path).unwrap();
        let written = Report::from_str(&text).unwrap().to_json_pretty();
        if written.trim_end() == text.trim_end() {
            exact += 1;
            continue;
        }
        let moved_report_id = text.find("\"ReportID\"") > text.find("\"ArtifactType\"");
        if !moved_report_id {
            differing.push(path.display().to_string());
        }
    }
    assert_eq!(
        differing,
        Vec::<String>::new(),
        "fixtures that differ in text"
    );
    assert!(
        exact >= 55,
        "only {exact} fixtures re-serialise byte for byte"
    );
}

#[test]
fn timestamps_keep_nanoseconds() {
    let report = fixtures::report("alpine-39");
    let created = report.created_at.as_ref().unwrap();
    assert_eq!(created.instant().nanosecond(), 5);
    assert_eq!(created.as_str(), "2021-08-25T12:20:30.000000005Z");
}

#[test]
fn typed_fields_are_read() {
    let report = fixtures::report("alpine-39");
    let counts = report.vulnerability_counts();
    assert_eq!(counts.get(Severity::Critical), 2);
    assert_eq!(counts.get(Severity::Medium), 4);
    assert_eq!(counts.total(), 6);
    assert_eq!(report.unique_vulnerabilities().len(), 6);
    assert_eq!(report.fixable_vulnerabilities().count(), 6);

    let first = report.vulnerabilities().next().unwrap();
    assert_eq!(
        first.target,
        "testdata/fixtures/images/alpine-39.tar.gz (alpine 3.9.4)"
    );
    let nvd = first.finding.cvss.as_ref().unwrap().get("nvd").unwrap();
    assert!(nvd.v3_score.is_some());
    assert!(
        first
            .finding
            .vendor_severity
            .as_ref()
            .unwrap()
            .get("nvd")
            .is_some()
    );
}

#[test]
fn misconfiguration_and_secret_queries() {
    let secrets = fixtures::report("secrets");
    assert_eq!(secrets.secret_counts().total(), 2);
    assert_eq!(secrets.highest_severity(), Some(Severity::Critical));

    let dockerfile = fixtures::report("dockerfile");
    assert_eq!(
        dockerfile.misconfiguration_counts().total(),
        dockerfile.unique_misconfigurations().len()
    );
    assert!(dockerfile.misconfiguration_counts().total() > 0);
}
