//! OCI building blocks for Wharf: references, digests, manifests, registry auth, the distribution
//! client and the copy engine.
