//! Media types of OCI and Docker manifests, indexes, configs and layers.
//!
//! ```
//! use wharf_oci_core::media_type;
//!
//! let accept = media_type::manifest_accept_header();
//! assert!(accept.contains(media_type::OCI_INDEX));
//! assert!(accept.contains(media_type::DOCKER_MANIFEST_LIST));
//! assert!(media_type::is_index(media_type::OCI_INDEX));
//! ```

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image configuration.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The empty descriptor's media type (`{}`), used as config of artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// OCI layer, uncompressed tar.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip-compressed tar.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd-compressed tar.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable layer, uncompressed tar (deprecated by the image spec).
pub const OCI_LAYER_NONDISTRIBUTABLE_TAR: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable layer, gzip-compressed tar (deprecated by the image spec).
pub const OCI_LAYER_NONDISTRIBUTABLE_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable layer, zstd-compressed tar (deprecated by the image spec).
pub const OCI_LAYER_NONDISTRIBUTABLE_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (the Docker counterpart of an OCI index).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker container configuration.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, gzip-compressed tar.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker foreign (non-distributable) layer, gzip-compressed tar.
pub const DOCKER_LAYER_FOREIGN_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker plugin configuration.
pub const DOCKER_PLUGIN_CONFIG: &str = "application/vnd.docker.plugin.v1+json";

/// Docker schema 1 manifest (unsigned). Rejected by this crate.
pub const DOCKER_SCHEMA1_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1 signed manifest. Rejected by this crate.
pub const DOCKER_SCHEMA1_SIGNED_MANIFEST: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The manifest and index types this crate reads, most preferred first.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// The `Accept` header value for manifest requests: every type in [`MANIFEST_TYPES`].
///
/// Registries answer 404 for a manifest whose type the `Accept` does not list, so both the
/// OCI and the Docker index types must be present.
pub fn manifest_accept_header() -> String {
    MANIFEST_TYPES.join(", ")
}

/// Whether `media_type` is an image manifest (OCI or Docker schema 2).
pub fn is_image_manifest(media_type: &str) -> bool {
    matches!(essence(media_type), OCI_MANIFEST | DOCKER_MANIFEST)
}

/// Whether `media_type` is an index (OCI index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    matches!(essence(media_type), OCI_INDEX | DOCKER_MANIFEST_LIST)
}

/// Whether `media_type` is a Docker schema 1 manifest, which this crate does not support.
pub fn is_docker_schema1(media_type: &str) -> bool {
    matches!(
        essence(media_type),
        DOCKER_SCHEMA1_MANIFEST | DOCKER_SCHEMA1_SIGNED_MANIFEST
    )
}

/// Whether `media_type` marks a layer that registries may refuse to store (non-distributable
/// or foreign); such layers are often fetched from their `urls` instead.
pub fn is_non_distributable_layer(media_type: &str) -> bool {
    matches!(
        essence(media_type),
        OCI_LAYER_NONDISTRIBUTABLE_TAR
            | OCI_LAYER_NONDISTRIBUTABLE_GZIP
            | OCI_LAYER_NONDISTRIBUTABLE_ZSTD
            | DOCKER_LAYER_FOREIGN_GZIP
    )
}

/// The media type without parameters and surrounding spaces (`a/b; charset=utf-8` → `a/b`).
pub fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_lists_oci_and_docker_types() {
        let accept = manifest_accept_header();
        for media_type in MANIFEST_TYPES {
            assert!(accept.contains(media_type), "{media_type}");
        }
        assert!(!accept.contains(DOCKER_SCHEMA1_MANIFEST));
        assert_eq!(accept.split(", ").count(), 4);
    }

    #[test]
    fn classification_ignores_parameters() {
        assert!(is_image_manifest(&format!("{OCI_MANIFEST}; charset=utf-8")));
        assert!(is_index(DOCKER_MANIFEST_LIST));
        assert!(!is_index(OCI_MANIFEST));
        assert!(is_docker_schema1(DOCKER_SCHEMA1_SIGNED_MANIFEST));
        assert!(!is_docker_schema1(DOCKER_MANIFEST));
        assert!(is_non_distributable_layer(DOCKER_LAYER_FOREIGN_GZIP));
        assert!(!is_non_distributable_layer(OCI_LAYER_ZSTD));
        assert_eq!(essence(" a/b ;q=1"), "a/b");
    }
}
