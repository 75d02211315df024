//! End-to-end tests: each binary run for real (`CARGO_BIN_EXE_*`) against the local stack
//! (the Harbor simulator started per test, pypiserver and verdaccio from `cargo xtask services`).
//!
//! One test binary; each binary's tests live in a submodule of `e2e/`. Add yours below.

mod e2e {
    pub mod sim;

    pub mod copying;

    pub mod health;
    pub mod help;
    pub mod mirror;
    pub mod promote;
    pub mod publish;
    pub mod pull_secret;
    pub mod pull_secret_ecr;
    pub mod scan_gate;
}
