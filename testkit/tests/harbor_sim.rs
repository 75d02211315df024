//! The Harbor simulator against real clients: skopeo through its registry, its REST API, and
//! `prism proxy` checking its answers against Harbor's swagger.

#[path = "harbor_sim/artifacts.rs"]
mod artifacts;
#[path = "harbor_sim/prism.rs"]
mod prism;
#[path = "harbor_sim/projects.rs"]
mod projects;
#[path = "harbor_sim/registry.rs"]
mod registry;
#[path = "harbor_sim/robots.rs"]
mod robots;
#[path = "harbor_sim/support.rs"]
mod support;
