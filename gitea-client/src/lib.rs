//! An async client for Gitea's package registries and package management API.
