//! Integration tests of wharf-ecr-compat: moto for the ECR API with a distribution registry
//! for the bytes, wiremock for what moto cannot do (pagination, throttling, real expiry,
//! failing refreshes), and file rewriting against expected outputs.

mod ecr {
    mod api_mock;
    mod moto;
    mod provider;
    mod pull_secret;
    mod rewrite;
    mod support;
}
