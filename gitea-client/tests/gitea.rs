//! Integration tests of the Gitea client: real pypiserver and verdaccio for the PyPI and npm
//! protocols, Prism with Gitea's spec for management calls, wiremock for Gitea's exact
//! per-format answers.

mod gitea {
    mod build;
    mod prism;
    mod pypiserver;
    mod verdaccio;
    mod wire;
    mod wire_management;
}
