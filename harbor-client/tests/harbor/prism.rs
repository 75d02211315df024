//! Every generated operation, called with valid sample arguments, against `prism mock`.

use wharf_harbor_client::HarborError;
use wharf_harbor_client::generated::OPERATIONS;
use wharf_harbor_client::generated::operations::ListProjects;

use super::common;
use super::generated_calls;

#[tokio::test]
async fn every_operation_sends_a_request_prism_accepts() {
    let harbor = common::client(&wharf_testkit::services::prism_harbor_url());
    let raw = harbor.raw();
    let mut violations = Vec::new();
    let mut undecodable = Vec::new();
    let mut unmockable = Vec::new();
    for operation in OPERATIONS {
        match generated_calls::call(&raw, operation.id).await {
            None => violations.push(format!("{}: no sample call generated", operation.id)),
            Some(Ok(())) => {}
            // Prism accepted the request (2xx) but its invented example breaks a rule only the
            // spec's prose states (e.g. "string" for a "true"/"false" field).
            Some(Err(HarborError::Decode { .. })) => undecodable.push(operation.id),
            // Prism validated the request but cannot mock the answer (`type: file` bodies): a
            // 500 with one of Prism's own problem types, never a request violation (400/422).
            Some(Err(HarborError::Api {
                status,
                body_excerpt,
                ..
            })) if status.as_u16() == 500
                && body_excerpt.contains("stoplight.io/prism/errors#") =>
            {
                unmockable.push(operation.id);
            }
            Some(Err(error)) => violations.push(format!(
                "{} {} ({}): {error}: {error:?}",
                operation.method, operation.path, operation.id
            )),
        }
    }
    eprintln!(
        "{} operations called; answers prism invented that do not decode: {undecodable:?}",
        OPERATIONS.len()
    );
    assert_eq!(OPERATIONS.len(), 203);
    assert!(
        violations.is_empty(),
        "prism rejected {} requests:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[tokio::test]
async fn prism_rejects_an_invalid_request_so_the_check_can_fail() {
    let harbor = common::client(&wharf_testkit::services::prism_harbor_url());
    let invalid = ListProjects {
        page_size: Some(500),
        ..Default::default()
    };
    let error = harbor
        .raw()
        .send(invalid)
        .await
        .expect_err("page_size 500 breaks the spec");
    assert!(
        matches!(error.status().map(|s| s.as_u16()), Some(400 | 422)),
        "{error:?}"
    );
}
