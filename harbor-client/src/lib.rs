//! A typed async client for Harbor's v2.0 REST API.
