//! Integration tests of the Trivy report crate against Trivy's own golden reports.

mod trivy_report {
    pub mod fixtures;
    mod gate;
    mod goldens;
    mod harbor;
    mod property;
    mod render;
    mod roundtrip;
}
