//! testkit's integration tests, in one binary to keep link time down: the service stack,
//! the Harbor simulator against real clients, and the reliability harness (faults, hostile
//! registries, expiring tokens, secrets).
//!
//! Needs the local service stack (`cargo xtask services up`, then
//! `eval "$(cargo xtask services env)"`) and `skopeo` on `PATH`; `cargo xtask test` does both.

mod harbor_sim;
mod reliability;
mod services;
