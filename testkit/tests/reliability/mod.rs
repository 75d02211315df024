//! Reliability tests: copies through a fault-injecting proxy, hostile registries, expiring
//! tokens, secrets.
//!
//! Needs the local service stack (`cargo xtask services up`), `skopeo` on `PATH`.

mod copy_under_faults;
mod corpus;
mod expiring_tokens;
mod fault_proxy;
mod hostile;
mod secrets;
mod token_registry;
