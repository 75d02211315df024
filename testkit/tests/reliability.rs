//! Reliability tests: copies through a fault-injecting proxy, hostile registries, secrets.
//!
//! Needs the local service stack (`cargo xtask services up`), `skopeo` on `PATH`.

mod reliability {
    pub mod copy_under_faults;
    pub mod corpus;
    pub mod fault_proxy;
    pub mod hostile;
    pub mod secrets;
}
