//! Serialise-then-parse is the identity on generated reports.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;
use wharf_trivy_report::{
    ArtifactType, CauseMetadata, Code, CodeLine, Cvss, License, MisconfStatus, MisconfSummary,
    Misconfiguration, OrderedMap, Package, PkgIdentifier, Report, ResultClass, ScanResult, Secret,
    Severity, Status, Text, TextList, Timestamp, TrivyInfo, Vulnerability,
};

fn text() -> impl Strategy<Value = Text> {
    // Includes characters Go escapes (`&`, `<`) and ones JSON must escape; long enough to
    // cover both inline (up to 24 bytes) and allocated texts.
    "[a-zA-Z0-9 &<>\"\\\\/.:_\n-]{0,40}".prop_map(Text::from)
}

fn text_list() -> impl Strategy<Value = TextList> {
    vec(text(), 0..3).prop_map(|texts| texts.into_iter().collect())
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0_i64..4_000_000_000, 0_u32..1_000_000_000).prop_map(|(seconds, nanos)| {
        let instant = OffsetDateTime::from_unix_timestamp(seconds).unwrap()
            + time::Duration::nanoseconds(i64::from(nanos));
        Timestamp::from_instant(instant)
    })
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        prop::sample::select(Status::KNOWN.to_vec()),
        "[a-z]{3,8}_new".prop_map(Status::Other),
    ]
}

fn score() -> impl Strategy<Value = Number> {
    prop_oneof![
        (0_u64..11).prop_map(Number::from),
        (0_u32..101).prop_map(|tenths| Number::from_f64(f64::from(tenths) / 10.0).unwrap()),
    ]
}

fn cvss() -> impl Strategy<Value = Cvss> {
    (
        option::of(text()),
        option::of(score()),
        option::of(text()),
        option::of(score()),
    )
        .prop_map(|(v3_vector, v3_score, v40_vector, v40_score)| Cvss {
            v3_vector,
            v3_score,
            v40_vector,
            v40_score,
            ..Cvss::default()
        })
}

/// Unknown fields: names no model uses, scalar or nested values.
fn extra() -> impl Strategy<Value = Map<String, Value>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(|text| Value::String(text.into())),
    ];
    let value = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            vec(("[a-z]{1,4}", inner), 0..3)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    });
    vec(("X[a-z]{1,6}", value), 0..2).prop_map(|entries| entries.into_iter().collect())
}

fn vulnerability() -> impl Strategy<Value = Vulnerability> {
    (
        (
            text(),
            option::of(text()),
            option::of(text()),
            option::of(text()),
        ),
        (
            option::of(status()),
            option::of(severity()),
            option::of(text_list()),
        ),
        (
            option::of(vec(("[a-z]{2,6}", 0_u8..5), 0..3)),
            option::of(vec(("[a-z]{2,6}", cvss()), 0..2)),
        ),
        (option::of(timestamp()), option::of(text()), extra()),
    )
        .prop_map(
            |(
                (id, pkg_name, installed_version, fixed_version),
                (status, severity, references),
                (vendor_severity, cvss),
                (published_date, purl, extra),
            )| Vulnerability {
                vulnerability_id: Some(id),
                pkg_name,
                installed_version,
                fixed_version,
                status,
                severity,
                references,
                vendor_severity: vendor_severity
                    .map(|entries| entries.into_iter().collect::<OrderedMap<u8>>()),
                cvss: cvss.map(|entries| entries.into_iter().collect::<OrderedMap<Cvss>>()),
                published_date,
                pkg_identifier: purl.map(|purl| PkgIdentifier {
                    purl: Some(purl),
                    ..PkgIdentifier::default()
                }),
                extra: extra.into(),
                ..Vulnerability::default()
            },
        )
}

fn package() -> impl Strategy<Value = Package> {
    (
        (text(), option::of(text()), option::of(any::<bool>())),
        (option::of(text_list()), option::of(text_list()), extra()),
    )
        .prop_map(
            |((name, version, dev), (licenses, depends_on, extra))| Package {
                name: Some(name),
                version,
                dev,
                licenses,
                depends_on,
                extra: extra.into(),
                ..Package::default()
            },
        )
}

fn code_line() -> impl Strategy<Value = CodeLine> {
    (any::<i32>(), option::of(text()), option::of(any::<bool>())).prop_map(
        |(number, content, is_cause)| CodeLine {
            number: Some(i64::from(number)),
            content,
            is_cause,
            ..CodeLine::default()
        },
    )
}

fn misconf_status() -> impl Strategy<Value = MisconfStatus> {
    prop_oneof![
        Just(MisconfStatus::Failure),
        Just(MisconfStatus::Passed),
        Just(MisconfStatus::Exception),
        "[A-Z]{3,8}_NEW".prop_map(MisconfStatus::Other),
    ]
}

fn misconfiguration() -> impl Strategy<Value = Misconfiguration> {
    (
        (text(), option::of(text()), option::of(severity())),
        (
            option::of(misconf_status()),
            option::of(text_list()),
            option::of(vec(code_line(), 0..3)),
        ),
        extra(),
    )
        .prop_map(
            |((id, title, severity), (status, references, lines), extra)| Misconfiguration {
                id: Some(id),
                title,
                severity,
                status,
                references,
                cause_metadata: lines.map(|lines| CauseMetadata {
                    code: Some(Code {
                        lines: Some(lines),
                        ..Code::default()
                    }),
                    ..CauseMetadata::default()
                }),
                extra: extra.into(),
                ..Misconfiguration::default()
            },
        )
}

fn secret() -> impl Strategy<Value = Secret> {
    (text(), option::of(severity()), option::of(text()), extra()).prop_map(
        |(rule_id, severity, matched, extra)| Secret {
            rule_id: Some(rule_id),
            severity,
            matched,
            extra: extra.into(),
            ..Secret::default()
        },
    )
}

fn license() -> impl Strategy<Value = License> {
    (text(), option::of(severity()), option::of(score())).prop_map(
        |(name, severity, confidence)| License {
            name: Some(name),
            severity,
            confidence,
            ..License::default()
        },
    )
}

fn summary() -> impl Strategy<Value = MisconfSummary> {
    (0_u64..100, 0_u64..100, option::of(0_u64..5)).prop_map(|(successes, failures, exceptions)| {
        MisconfSummary {
            successes: Some(successes),
            failures: Some(failures),
            exceptions,
            ..MisconfSummary::default()
        }
    })
}

fn class() -> impl Strategy<Value = ResultClass> {
    prop_oneof![
        Just(ResultClass::OsPkgs),
        Just(ResultClass::LangPkgs),
        Just(ResultClass::Config),
        "[a-z]{3,8}-new".prop_map(ResultClass::Other),
    ]
}

fn result() -> impl Strategy<Value = ScanResult> {
    (
        (
            text(),
            option::of(class()),
            option::of(text()),
            option::of(vec(vulnerability(), 0..4)),
        ),
        (
            option::of(vec(package(), 0..3)),
            option::of(summary()),
            option::of(vec(misconfiguration(), 0..3)),
        ),
        (
            option::of(vec(secret(), 0..2)),
            option::of(vec(license(), 0..2)),
            extra(),
        ),
    )
        .prop_map(
            |(
                (target, class, target_type, vulnerabilities),
                (packages, misconf_summary, misconfigurations),
                (secrets, licenses, extra),
            )| ScanResult {
                target: Some(target),
                class,
                target_type,
                vulnerabilities,
                packages,
                misconf_summary,
                misconfigurations,
                secrets,
                licenses,
                extra: extra.into(),
                ..ScanResult::default()
            },
        )
}

fn report() -> impl Strategy<Value = Report> {
    (
        option::of(text()),
        option::of(timestamp()),
        option::of(text()),
        option::of(prop_oneof![
            Just(ArtifactType::ContainerImage),
            "[a-z]{3,8}_new".prop_map(ArtifactType::Other)
        ]),
        option::of(vec(result(), 0..3)),
        extra(),
    )
        .prop_map(
            |(version, created_at, artifact_name, artifact_type, results, extra)| Report {
                schema_version: Some(2),
                trivy: version.map(|version| TrivyInfo {
                    version: Some(version),
                    ..TrivyInfo::default()
                }),
                created_at,
                artifact_name,
                artifact_type,
                results,
                extra: extra.into(),
                ..Report::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn serialise_then_parse_is_the_identity(report in report()) {
        let compact = serde_json::to_vec(&report).unwrap();
        prop_assert_eq!(&Report::from_slice(&compact).unwrap(), &report);

        prop_assert_eq!(&Report::from_vec(compact).unwrap(), &report);

        let pretty = report.to_json_pretty();
        prop_assert_eq!(&Report::from_str(&pretty).unwrap(), &report);
        prop_assert_eq!(&Report::from_reader(pretty.as_bytes()).unwrap(), &report);
        prop_assert_eq!(&Report::from_string(pretty.clone()).unwrap(), &report);

        // `from_path` reads the file without its indentation, then shares the text.
        let file = std::env::temp_dir().join(format!("wharf-property-{}.json", std::process::id()));
        std::fs::write(&file, &pretty).unwrap();
        let from_file = Report::from_path(&file);
        std::fs::remove_file(&file).unwrap();
        prop_assert_eq!(&from_file.unwrap(), &report);
    }
}
