//! OCI building blocks for Wharf: references, digests, manifests, registry auth, the distribution
//! client and the copy engine.

pub mod auth;
pub mod challenge;
pub mod client;
pub mod copy;
pub mod credentials;
pub mod digest;
pub mod docker_config;
pub mod docker_credentials;
pub mod error;
pub mod link;
pub mod manifest;
pub mod media_type;
pub mod platform;
pub mod reference;
pub mod retry;
pub mod secret;
pub mod transport;
