//! Rewriting real-world shaped files, each compared with an expected output file.

use std::path::PathBuf;
use std::sync::Arc;

use wharf_ecr_compat::EcrError;
use wharf_ecr_compat::mapping::{Mapping, Unmapped};
use wharf_ecr_compat::rewrite::{DigestResolver, FileKind, Rewrite, Rewriter};
use wharf_ecr_compat::uri::EcrImage;
use wharf_oci_core::credentials::BoxFuture;
use wharf_oci_core::digest::Digest;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn rewriter() -> Rewriter {
    Rewriter::new(
        Mapping::from_toml(&fixture("mapping.toml")).expect("the fixture mapping is valid"),
    )
}

async fn rewrite_fixture(rewriter: &Rewriter, input: &str, expected: &str) -> Rewrite {
    let kind = FileKind::detect(input.as_ref()).expect("fixture names have a known kind");
    let rewrite = rewriter.rewrite(&fixture(input), kind).await;
    let expected_text = fixture(expected);
    assert!(
        rewrite.text == expected_text,
        "{input} differs from {expected}:\n{}",
        wharf_ecr_compat::rewrite::unified_diff(&expected_text, &rewrite.text, input)
    );
    rewrite
}

fn unmapped(rewrite: &Rewrite) -> Vec<(usize, &str)> {
    rewrite
        .unmapped
        .iter()
        .map(|u| (u.line, u.reference.as_str()))
        .collect()
}

/// Pins every tag to the SHA-256 of the reference text, so the expected file can say which.
struct HashResolver;

impl DigestResolver for HashResolver {
    fn resolve<'a>(&'a self, image: &'a EcrImage) -> BoxFuture<'a, Result<Digest, EcrError>> {
        Box::pin(async move {
            if image.repository().contains("exporter") {
                return Err(EcrError::Resolve {
                    reference: image.to_string(),
                    source: "no such tag".into(),
                });
            }
            Ok(Digest::sha256_of(image.to_string().as_bytes()))
        })
    }
}

#[tokio::test]
async fn deployment_with_init_containers_and_several_documents() {
    let rewrite = rewrite_fixture(&rewriter(), "deployment.yaml", "deployment.expected.yaml").await;
    assert_eq!(rewrite.changes.len(), 4);
    assert_eq!(rewrite.changes[0].line, 27);
    assert_eq!(
        unmapped(&rewrite),
        [(
            41,
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com/audit/sidecar:7"
        )]
    );
    assert!(matches!(
        rewrite.unmapped[0].reason,
        Unmapped::NoRegistryRule { .. }
    ));

    let diff = rewrite.diff("deploy/payments.yaml");
    assert!(
        diff.starts_with("--- a/deploy/payments.yaml\n+++ b/deploy/payments.yaml\n"),
        "{diff}"
    );
    let removed = diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .count();
    let added = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count();
    assert_eq!((removed, added), (4, 4), "{diff}");
    assert!(diff.contains(
        "+          image: harbor.example.com/payments/migrations:2.4.1   # run before the API\n"
    ));
}

#[tokio::test]
async fn cronjob() {
    let rewrite = rewrite_fixture(&rewriter(), "cronjob.yaml", "cronjob.expected.yaml").await;
    assert_eq!(rewrite.changes.len(), 2);
    assert_eq!(
        unmapped(&rewrite),
        [(
            24,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/uploader:3"
        )]
    );
    assert!(
        matches!(&rewrite.unmapped[0].reason, Unmapped::NoProjectRule { repository } if repository == "tools/uploader")
    );
}

#[tokio::test]
async fn multi_stage_dockerfile() {
    let rewrite = rewrite_fixture(&rewriter(), "Dockerfile", "Dockerfile.expected").await;
    let lines: Vec<_> = rewrite.changes.iter().map(|c| c.line).collect();
    assert_eq!(lines, [2, 6, 10, 18, 20]);
    assert_eq!(
        unmapped(&rewrite),
        [(
            21,
            "999999999999.dkr.ecr.eu-west-1.amazonaws.com/vendor/agent:5"
        )]
    );
}

#[tokio::test]
async fn helm_values_with_split_fields() {
    let rewrite = rewrite_fixture(&rewriter(), "values.yaml", "values.expected.yaml").await;
    let changes: Vec<_> = rewrite
        .changes
        .iter()
        .map(|c| (c.line, c.to.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (7, "harbor.example.com/payments/api:2.4.1"),
            (15, "harbor.example.com/payments/worker:2.4.1"),
            (21, "harbor.example.com/payments/migrations:2.4.1"),
            (26, "harbor.example.com/base-images/statsd-exporter"),
        ]
    );
    assert_eq!(
        unmapped(&rewrite),
        [(
            34,
            "555555555555.dkr.ecr.eu-central-1.amazonaws.com/proxy:0.9"
        )]
    );
    assert!(rewrite.unpinned.is_empty());
}

#[tokio::test]
async fn helm_values_pinned_to_digests() {
    let pinning = rewriter().pin_digests(Arc::new(HashResolver));
    let rewrite = rewrite_fixture(&pinning, "values.yaml", "values.pinned.yaml").await;
    let unpinned: Vec<_> = rewrite
        .unpinned
        .iter()
        .map(|u| (u.line, u.reason.as_str()))
        .collect();
    assert_eq!(unpinned, [(26, "the reference has no tag to resolve")]);
}

#[tokio::test]
async fn compose_file() {
    let rewrite = rewrite_fixture(&rewriter(), "compose.yaml", "compose.expected.yaml").await;
    assert_eq!(rewrite.changes.len(), 3);
    assert!(rewrite.unmapped.is_empty());
}

#[tokio::test]
async fn pinning_whole_references_and_reporting_failures() {
    let text = "image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:1\n\
                sidecar:\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/legacy-exporter:2\n\
                templated:\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:${TAG}\n";
    let rewrite = rewriter()
        .pin_digests(Arc::new(HashResolver))
        .rewrite(text, FileKind::Yaml)
        .await;
    let digest = Digest::sha256_of(b"123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:1");
    let expected = format!(
        "image: harbor.example.com/payments/api:1@{digest}\n\
         sidecar:\n  image: harbor.example.com/legacy/legacy-exporter:2\n\
         templated:\n  image: harbor.example.com/legacy/x:${{TAG}}\n"
    );
    assert_eq!(rewrite.text, expected);
    let unpinned: Vec<_> = rewrite.unpinned.iter().map(|u| u.line).collect();
    assert_eq!(unpinned, [3, 5]);
    assert!(
        rewrite.unpinned[0].reason.contains("no such tag"),
        "{:?}",
        rewrite.unpinned
    );
}

#[tokio::test]
async fn files_without_ecr_references_are_untouched() {
    let text = "# nothing here\nimage: nginx:1.27\n";
    let rewrite = rewriter().rewrite(text, FileKind::Yaml).await;
    assert!(!rewrite.is_changed());
    assert_eq!(rewrite.diff("x.yaml"), "");
}
