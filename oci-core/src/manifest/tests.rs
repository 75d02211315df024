use super::*;
use crate::platform::Platform;

fn digest_of(text: &str) -> Digest {
    Digest::sha256_of(text.as_bytes())
}

/// A Docker schema 2 manifest written by hand with unusual spacing, an unknown field and
/// annotations out of alphabetical order.
fn docker_manifest_json() -> String {
    format!(
        r#"{{
   "schemaVersion": 2,
   "mediaType": "{}",
   "config": {{ "mediaType": "{}", "size": 7, "digest": "{}" }},
   "layers": [
      {{ "mediaType": "{}", "size": 5, "digest": "{}",
         "annotations": {{ "z.last": "1", "a.first": "2" }} }}
   ],
   "x-vendor": {{ "kept": true }}
}}"#,
        media_type::DOCKER_MANIFEST,
        media_type::DOCKER_CONFIG,
        digest_of("config"),
        media_type::DOCKER_LAYER_GZIP,
        digest_of("layer"),
    )
}

fn index_json(media_type: Option<&str>) -> String {
    let media_type = media_type.map_or(String::new(), |t| format!(r#""mediaType":"{t}","#));
    format!(
        r#"{{"schemaVersion":2,{media_type}"manifests":[
{{"mediaType":"{m}","digest":"{a}","size":10,"platform":{{"architecture":"amd64","os":"linux"}}}},
{{"mediaType":"{m}","digest":"{b}","size":11,"platform":{{"architecture":"arm64","os":"linux"}}}},
{{"mediaType":"{m}","digest":"{c}","size":12,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
{{"mediaType":"{m}","digest":"{d}","size":13,"platform":{{"architecture":"arm","os":"linux","variant":"v7"}}}}
]}}"#,
        m = media_type::OCI_MANIFEST,
        a = digest_of("amd64"),
        b = digest_of("arm64"),
        c = digest_of("arm64v8"),
        d = digest_of("armv7"),
    )
}

#[test]
fn keeps_the_original_bytes_and_digest() {
    let json = docker_manifest_json();
    let manifest = Manifest::from_bytes(None, Bytes::from(json.clone())).unwrap();

    assert_eq!(manifest.raw().as_ref(), json.as_bytes());
    assert_eq!(manifest.digest(), &Digest::sha256_of(json.as_bytes()));
    assert_eq!(manifest.media_type(), media_type::DOCKER_MANIFEST);
    manifest
        .verify(&Digest::sha512_of(json.as_bytes()))
        .unwrap();
    assert!(manifest.verify(&digest_of("other")).is_err());

    let ManifestKind::Image(image) = manifest.kind() else {
        panic!("not an image manifest");
    };
    assert_eq!(
        image.layers[0].annotations.keys().collect::<Vec<_>>(),
        ["z.last", "a.first"]
    );
    assert_eq!(image.extra["x-vendor"]["kept"], true);

    let blobs: Vec<_> = manifest.referenced_blobs().iter().map(|d| d.size).collect();
    assert_eq!(blobs, [7, 5]);
    assert!(manifest.children().is_empty());
    assert_eq!(manifest.artifact_type(), None);
}

#[test]
fn reserialising_the_model_keeps_unknown_fields_and_order() {
    let json = docker_manifest_json();
    let manifest = Manifest::from_bytes(None, Bytes::from(json)).unwrap();
    let ManifestKind::Image(image) = manifest.kind() else {
        panic!("not an image manifest");
    };
    let again = serde_json::to_string(image).unwrap();
    assert!(
        again.contains(r#""annotations":{"z.last":"1","a.first":"2"}"#),
        "{again}"
    );
    assert!(again.contains(r#""x-vendor":{"kept":true}"#), "{again}");
}

#[test]
fn kind_comes_from_body_then_header_then_fields() {
    let with_type = index_json(Some(media_type::DOCKER_MANIFEST_LIST));
    let manifest = Manifest::from_bytes(Some(media_type::OCI_INDEX), with_type.into()).unwrap();
    assert_eq!(manifest.media_type(), media_type::DOCKER_MANIFEST_LIST);

    let bare = index_json(None);
    let from_header = Manifest::from_bytes(
        Some("application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8"),
        bare.clone().into(),
    )
    .unwrap();
    assert_eq!(from_header.media_type(), media_type::DOCKER_MANIFEST_LIST);

    let from_fields = Manifest::from_bytes(Some("application/json"), bare.into()).unwrap();
    assert_eq!(from_fields.media_type(), media_type::OCI_INDEX);
    assert_eq!(from_fields.children().len(), 4);
    assert!(from_fields.referenced_blobs().is_empty());
}

#[test]
fn index_platform_selection() {
    let manifest = Manifest::from_bytes(None, index_json(None).into()).unwrap();
    let ManifestKind::Index(index) = manifest.kind() else {
        panic!("not an index");
    };
    let pick = |wanted: &str| {
        index
            .find_platform(&wanted.parse::<Platform>().unwrap())
            .map(|d| d.size)
    };
    assert_eq!(pick("linux/amd64"), Some(10));
    assert_eq!(pick("linux/arm64"), Some(11));
    assert_eq!(pick("linux/arm64/v8"), Some(11));
    assert_eq!(pick("linux/arm/v7"), Some(13));
    assert_eq!(pick("linux/arm/v6"), None);
    assert_eq!(pick("windows/amd64"), None);
}

type RejectionCase<'a> = (Option<&'a str>, Bytes, fn(&ManifestError) -> bool);

#[test]
fn rejections() {
    let schema1 = r#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[],"history":[]}"#;
    let signed_header = Some(media_type::DOCKER_SCHEMA1_SIGNED_MANIFEST);
    let artifact = r#"{"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]}"#;
    let cases: Vec<RejectionCase> = vec![
        (None, Bytes::from(schema1), |e| {
            matches!(e, ManifestError::DockerSchema1)
        }),
        (signed_header, Bytes::from(r#"{"signatures":[]}"#), |e| {
            matches!(e, ManifestError::DockerSchema1)
        }),
        (None, Bytes::from(artifact), |e| {
            matches!(e, ManifestError::UnsupportedMediaType { .. })
        }),
        (None, Bytes::from(r#"{"schemaVersion":2}"#), |e| {
            matches!(e, ManifestError::UnknownKind)
        }),
        (None, Bytes::from("not json"), |e| {
            matches!(e, ManifestError::InvalidJson { .. })
        }),
        (
            None,
            Bytes::from(r#"{"config":{"digest":"sha256:zz"}}"#),
            |e| matches!(e, ManifestError::InvalidJson { .. }),
        ),
        (None, Bytes::from(vec![b' '; MAX_MANIFEST_BYTES + 1]), |e| {
            matches!(e, ManifestError::TooLarge { .. })
        }),
    ];

    for (header, bytes, expected) in cases {
        let error = Manifest::from_bytes(header, bytes).unwrap_err();
        assert!(expected(&error), "unexpected {error:?}");
    }
    assert!(
        ManifestError::DockerSchema1
            .to_string()
            .starts_with("docker schema 1")
    );
}

#[test]
fn builds_an_artifact_with_a_subject() {
    let config = Descriptor::for_content(media_type::OCI_CONFIG, b"{}");
    let image = ImageManifest::new(config, Vec::new())
        .to_manifest()
        .unwrap();

    let sbom = Descriptor::for_content("application/spdx+json", b"{\"spdx\":1}");
    let artifact = ImageManifest::artifact("application/vnd.example.sbom", vec![sbom])
        .with_subject(image.descriptor())
        .with_annotation("org.opencontainers.image.created", "2026-01-01T00:00:00Z")
        .to_manifest()
        .unwrap();

    assert_eq!(artifact.subject(), Some(&image.descriptor()));
    assert_eq!(
        artifact.artifact_type(),
        Some("application/vnd.example.sbom")
    );
    let config = artifact.referenced_blobs()[0];
    assert_eq!(config.media_type, media_type::OCI_EMPTY);
    assert_eq!(config.size, 2);
    config.digest.verify(Descriptor::empty_content()).unwrap();

    let text = std::str::from_utf8(artifact.raw()).unwrap();
    assert!(text.contains(r#""data":"e30=""#), "{text}");
    assert!(!text.contains("urls"), "{text}");
}

#[test]
fn builds_indexes_of_both_flavours() {
    let child = ImageManifest::docker(
        Descriptor::for_content(media_type::DOCKER_CONFIG, b"{}"),
        vec![Descriptor::for_content(media_type::DOCKER_LAYER_GZIP, b"l")],
    )
    .to_manifest()
    .unwrap();
    assert_eq!(child.media_type(), media_type::DOCKER_MANIFEST);

    let entry = child
        .descriptor()
        .with_platform(Platform::new("linux", "amd64"));
    let list = ImageIndex::docker(vec![entry.clone()])
        .to_manifest()
        .unwrap();
    assert_eq!(list.media_type(), media_type::DOCKER_MANIFEST_LIST);
    assert_eq!(list.children(), std::slice::from_ref(&entry));

    let oci = ImageIndex::new(vec![entry]).to_manifest().unwrap();
    assert_eq!(oci.media_type(), media_type::OCI_INDEX);
    assert_ne!(oci.digest(), list.digest());
}

#[test]
fn index_json_artifact_type_is_reported() {
    let json = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","artifactType":"application/x.t","manifests":[]}}"#,
        media_type::OCI_INDEX
    );
    let manifest = Manifest::from_bytes(None, json.into()).unwrap();
    assert_eq!(manifest.artifact_type(), Some("application/x.t"));
}

mod fuzz_smoke {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Manifest::from_slice(Some(media_type::OCI_INDEX), &bytes);
            let _ = Manifest::from_bytes(None, Bytes::from(bytes));
        }
    }
}
