//! Integration tests of the distribution client: the real registries of the local service
//! stack (plain, htpasswd, token, TLS), cross-checked with skopeo, and wiremock for the wire
//! shapes and faults real servers do not produce.

mod registry {
    pub mod copy;
    pub mod docker_credentials;
    pub mod mock;
    pub mod mtls;
    pub mod real;
    pub mod resume;
    pub mod support;
}
