//! Shared test helpers.

use std::time::Duration;

use wharf_harbor_client::{HarborClient, HarborClientBuilder};
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;

/// A builder for a plain-HTTP server on loopback, with fast retries.
pub fn builder(url: &str) -> HarborClientBuilder {
    let host = url::Url::parse(url).expect("server url");
    let host = format!(
        "{}:{}",
        host.host_str().expect("host"),
        host.port_or_known_default().expect("port")
    );
    let transport = TransportConfig::builder()
        .plain_http_host(host)
        .build()
        .expect("transport");
    let retry = RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(1));
    HarborClient::builder(url).transport(transport).retry(retry)
}

/// An authenticated client for a plain-HTTP server.
pub fn client(url: &str) -> HarborClient {
    builder(url)
        .basic("admin", "Harbor12345")
        .build()
        .expect("client")
}
