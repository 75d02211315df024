//! The Harbor simulator against real clients: skopeo through its registry, its REST API, and
//! `prism proxy` checking its answers against Harbor's swagger.

mod artifacts;
mod prism;
mod projects;
mod registry;
mod robots;
mod support;
