use super::*;
use proptest::prelude::*;

/// What a vector should produce.
enum Expect {
    /// Parses, and prints as this canonical string.
    Canonical(&'static str),
    /// Parses, and prints as this canonical string (for vectors built at run time).
    CanonicalOwned(String),
    /// Fails with an error of this kind.
    Fails(fn(&ReferenceError) -> bool),
}

fn hex64() -> String {
    Digest::sha256_of(b"vector").hex().to_owned()
}

fn hex128() -> String {
    Digest::sha512_of(b"vector").hex().to_owned()
}

fn is_empty(e: &ReferenceError) -> bool {
    matches!(e, ReferenceError::Empty)
}
fn is_format(e: &ReferenceError) -> bool {
    matches!(e, ReferenceError::InvalidFormat { .. })
}
fn is_uppercase(e: &ReferenceError) -> bool {
    matches!(e, ReferenceError::Uppercase { .. })
}
fn is_too_long(e: &ReferenceError) -> bool {
    matches!(e, ReferenceError::NameTooLong { .. })
}
fn is_missing_name(e: &ReferenceError) -> bool {
    matches!(e, ReferenceError::MissingName { .. })
}
fn is_bad_registry(e: &ReferenceError) -> bool {
    matches!(e, ReferenceError::InvalidRegistry { .. })
}
fn is_bad_digest(e: &ReferenceError) -> bool {
    matches!(e, ReferenceError::InvalidDigest { .. })
}

fn vectors() -> Vec<(String, Expect)> {
    use Expect::{Canonical, CanonicalOwned, Fails};

    let h64 = hex64();
    let h128 = hex128();
    let tag128 = format!("t{}", "x".repeat(127));
    let path255 = "p".repeat(255);

    let fixed: Vec<(&str, Expect)> = vec![
        // Docker Hub defaulting and the library/ namespace.
        ("nginx", Canonical("docker.io/library/nginx")),
        ("nginx:alpine", Canonical("docker.io/library/nginx:alpine")),
        (
            "nginx:1.25.3-alpine3.18",
            Canonical("docker.io/library/nginx:1.25.3-alpine3.18"),
        ),
        ("library/nginx", Canonical("docker.io/library/nginx")),
        (
            "bitnami/redis:7.2",
            Canonical("docker.io/bitnami/redis:7.2"),
        ),
        ("docker.io/nginx", Canonical("docker.io/library/nginx")),
        (
            "docker.io/bitnami/redis",
            Canonical("docker.io/bitnami/redis"),
        ),
        (
            "docker.io/library/nginx:alpine",
            Canonical("docker.io/library/nginx:alpine"),
        ),
        (
            "index.docker.io/nginx",
            Canonical("docker.io/library/nginx"),
        ),
        (
            "index.docker.io/team/app:v1",
            Canonical("docker.io/team/app:v1"),
        ),
        ("a/b/c/d/e", Canonical("docker.io/a/b/c/d/e")),
        ("foo/bar:tag", Canonical("docker.io/foo/bar:tag")),
        // Separators inside path components.
        ("my-app", Canonical("docker.io/library/my-app")),
        ("my---app", Canonical("docker.io/library/my---app")),
        ("my__app", Canonical("docker.io/library/my__app")),
        ("my_app", Canonical("docker.io/library/my_app")),
        ("my.app", Canonical("docker.io/library/my.app")),
        ("team/my.app_x-y", Canonical("docker.io/team/my.app_x-y")),
        // localhost and ports.
        ("localhost/app", Canonical("localhost/app")),
        (
            "localhost:5000/app:dev",
            Canonical("localhost:5000/app:dev"),
        ),
        ("localhost/library/app", Canonical("localhost/library/app")),
        ("localhost", Canonical("docker.io/library/localhost")),
        (
            "localhost:5000",
            Canonical("docker.io/library/localhost:5000"),
        ),
        // Other registries: no library/ prefix.
        ("example.com/app", Canonical("example.com/app")),
        (
            "registry.example.com/team/app",
            Canonical("registry.example.com/team/app"),
        ),
        (
            "registry.example.com:443/team/app:1.0",
            Canonical("registry.example.com:443/team/app:1.0"),
        ),
        ("127.0.0.1:5000/app", Canonical("127.0.0.1:5000/app")),
        (
            "reg-1.example.com:5000/a.b/c_d/e-f",
            Canonical("reg-1.example.com:5000/a.b/c_d/e-f"),
        ),
        (
            "xn--bcher-kva.example/app",
            Canonical("xn--bcher-kva.example/app"),
        ),
        ("[::1]:5000/app:latest", Canonical("[::1]:5000/app:latest")),
        ("[2001:db8::1]/ns/app", Canonical("[2001:db8::1]/ns/app")),
        (
            "Registry.Example.com/app",
            Canonical("Registry.Example.com/app"),
        ),
        ("Myhost/app", Canonical("Myhost/app")),
        // Tags.
        ("nginx:Latest", Canonical("docker.io/library/nginx:Latest")),
        ("nginx:_under", Canonical("docker.io/library/nginx:_under")),
        (
            "example.com/app:v1.0-rc.1_b",
            Canonical("example.com/app:v1.0-rc.1_b"),
        ),
        // Invalid: empty and malformed.
        ("", Fails(is_empty)),
        (":tag", Fails(is_format)),
        ("nginx:", Fails(is_format)),
        ("nginx@", Fails(is_format)),
        ("nginx:-tag", Fails(is_format)),
        ("nginx:.tag", Fails(is_format)),
        ("nginx:tag:extra", Fails(is_format)),
        ("nginx tag", Fails(is_format)),
        ("nginx:ünicode", Fails(is_format)),
        ("ünicode", Fails(is_format)),
        ("a..b", Fails(is_format)),
        ("a___b", Fails(is_format)),
        ("-app", Fails(is_format)),
        ("app-", Fails(is_format)),
        ("app/", Fails(is_format)),
        ("/app", Fails(is_format)),
        ("a//b", Fails(is_format)),
        ("app:tag@", Fails(is_format)),
        ("nginx@sha256:abc", Fails(is_format)),
        // Invalid: hosts.
        ("example.com:port/app", Fails(is_format)),
        ("example.com:/app", Fails(is_format)),
        ("[::1/app", Fails(is_format)),
        ("[fe80::1%eth0]:5000/app", Fails(is_format)),
        ("-example.com/app", Fails(is_format)),
        ("ex ample.com/app", Fails(is_format)),
        ("my_host.com/app", Fails(is_bad_registry)),
        // Invalid: uppercase repositories.
        ("Nginx", Fails(is_uppercase)),
        ("library/Nginx", Fails(is_uppercase)),
        ("example.com/App", Fails(is_uppercase)),
        ("localhost:5000/App", Fails(is_uppercase)),
        ("docker.io/Library/nginx", Fails(is_uppercase)),
    ];

    let built: Vec<(String, Expect)> = vec![
        // Digests.
        (
            format!("nginx@sha256:{h64}"),
            CanonicalOwned(format!("docker.io/library/nginx@sha256:{h64}")),
        ),
        (
            format!("nginx:alpine@sha256:{h64}"),
            CanonicalOwned(format!("docker.io/library/nginx:alpine@sha256:{h64}")),
        ),
        (
            format!("ghcr.io/org/app@sha512:{h128}"),
            CanonicalOwned(format!("ghcr.io/org/app@sha512:{h128}")),
        ),
        (format!("nginx@sha256:{}", &h64[1..]), Fails(is_bad_digest)),
        (
            format!("nginx@sha256:{}", h64.to_uppercase()),
            Fails(is_bad_digest),
        ),
        (
            format!("nginx@sha384:{h64}{}", &h64[..32]),
            Fails(is_bad_digest),
        ),
        (format!("nginx@md5:{}", &h64[..32]), Fails(is_bad_digest)),
        (format!("nginx@sha256:{h64}:tag"), Fails(is_format)),
        // No name at all.
        (h64.clone(), Fails(is_missing_name)),
        (format!("sha256:{h64}"), Fails(is_missing_name)),
        // Length limits.
        (
            format!("nginx:{tag128}"),
            CanonicalOwned(format!("docker.io/library/nginx:{tag128}")),
        ),
        (format!("nginx:{tag128}x"), Fails(is_format)),
        (
            format!("example.com/{path255}"),
            CanonicalOwned(format!("example.com/{path255}")),
        ),
        (format!("example.com/{path255}p"), Fails(is_too_long)),
        ("a".repeat(250), Fails(is_too_long)),
    ];

    fixed
        .into_iter()
        .map(|(input, expect)| (input.to_owned(), expect))
        .chain(built)
        .collect()
}

#[test]
fn vector_table() {
    let vectors = vectors();
    assert!(vectors.len() >= 60, "only {} vectors", vectors.len());

    for (input, expect) in vectors {
        let result = Reference::parse(&input);
        match (expect, result) {
            (Expect::Canonical(canonical), Ok(reference)) => {
                check_canonical(&input, &reference, canonical);
            }
            (Expect::CanonicalOwned(canonical), Ok(reference)) => {
                check_canonical(&input, &reference, &canonical);
            }
            (Expect::Fails(kind), Err(error)) => {
                assert!(kind(&error), "{input:?}: unexpected error kind {error:?}");
            }
            (Expect::Fails(_), Ok(reference)) => {
                panic!("{input:?}: parsed as {reference} but should fail");
            }
            (_, Err(error)) => panic!("{input:?}: failed with {error:?}"),
        }
    }
}

fn check_canonical(input: &str, reference: &Reference, canonical: &str) {
    assert_eq!(reference.to_string(), canonical, "{input:?}");
    let reparsed = Reference::parse(canonical).unwrap();
    assert_eq!(
        &reparsed, reference,
        "{input:?}: canonical form does not round-trip"
    );
    let from_familiar = Reference::parse(&reference.familiar()).unwrap();
    assert_eq!(
        &from_familiar, reference,
        "{input:?}: familiar form does not round-trip"
    );
}

#[test]
fn accessors_of_a_docker_hub_reference() {
    let reference = Reference::parse("nginx:alpine").unwrap();
    assert_eq!(reference.registry(), "docker.io");
    assert_eq!(reference.api_host(), "registry-1.docker.io");
    assert_eq!(reference.repository(), "library/nginx");
    assert_eq!(reference.tag(), Some("alpine"));
    assert_eq!(reference.digest(), None);
    assert_eq!(reference.familiar(), "nginx:alpine");
    assert_eq!(reference.manifest_reference(), "alpine");
    assert_eq!(reference.name(), "docker.io/library/nginx");
}

#[test]
fn accessors_of_a_private_reference() {
    let digest = Digest::sha256_of(b"x");
    let input = format!("[::1]:5000/team/app:v2@{digest}");
    let reference = Reference::parse(&input).unwrap();
    assert_eq!(reference.registry(), "[::1]:5000");
    assert_eq!(reference.api_host(), "[::1]:5000");
    assert_eq!(reference.repository(), "team/app");
    assert_eq!(reference.digest(), Some(&digest));
    assert_eq!(reference.manifest_reference(), digest.as_str());
    assert_eq!(reference.familiar(), input);
}

#[test]
fn familiar_form_of_docker_hub_namespaces() {
    let cases = [
        ("docker.io/library/nginx", "nginx"),
        ("docker.io/bitnami/redis:7", "bitnami/redis:7"),
        ("docker.io/library/a/b", "library/a/b"),
        ("localhost/library/app", "localhost/library/app"),
        ("docker.io/my.org/app", "docker.io/my.org/app"),
        ("docker.io/localhost/app", "docker.io/localhost/app"),
    ];
    for (input, familiar) in cases {
        let reference = Reference::parse(input).unwrap();
        assert_eq!(reference.familiar(), familiar);
        assert_eq!(Reference::parse(familiar).unwrap(), reference);
    }
}

#[test]
fn with_tag_with_digest_and_repository_reference() {
    let base = Reference::parse("example.com/app:v1").unwrap();
    let digest = Digest::sha256_of(b"content");

    let retagged = base.with_tag("v2").unwrap();
    assert_eq!(retagged.to_string(), "example.com/app:v2");
    assert!(matches!(
        base.with_tag("-bad"),
        Err(ReferenceError::InvalidTag { .. })
    ));
    assert!(base.with_tag(&"x".repeat(129)).is_err());

    let pinned = retagged.with_digest(digest.clone());
    assert_eq!(pinned.to_string(), format!("example.com/app:v2@{digest}"));
    assert_eq!(pinned.repository_reference().to_string(), "example.com/app");
    assert_eq!(base.repository_reference().manifest_reference(), "latest");
}

#[test]
fn from_parts_rejects_registries_that_would_not_round_trip() {
    let name = RepositoryName::parse("team/app").unwrap();
    let reference = Reference::from_parts("localhost:5000", name.clone()).unwrap();
    assert_eq!(reference.to_string(), "localhost:5000/team/app");
    let hub = Reference::from_parts("index.docker.io", name.clone()).unwrap();
    assert_eq!(hub.registry(), "docker.io");

    for registry in ["team", "bad_host.com", "", "a/b"] {
        assert!(
            Reference::from_parts(registry, name.clone()).is_err(),
            "{registry:?}"
        );
    }
}

#[test]
fn repository_name_validation() {
    assert_eq!(RepositoryName::parse("a/b-c").unwrap().as_str(), "a/b-c");
    assert!(matches!(
        RepositoryName::parse("A/b"),
        Err(ReferenceError::Uppercase { .. })
    ));
    assert!(matches!(
        RepositoryName::parse("a:b"),
        Err(ReferenceError::InvalidFormat { .. })
    ));
    assert!(matches!(
        RepositoryName::parse(&"a".repeat(256)),
        Err(ReferenceError::NameTooLong { length: 256 })
    ));
    assert!(matches!(
        RepositoryName::parse(""),
        Err(ReferenceError::Empty)
    ));
}

#[test]
fn serde_uses_the_canonical_string() {
    let reference = Reference::parse("nginx").unwrap();
    let json = serde_json::to_string(&reference).unwrap();
    assert_eq!(json, "\"docker.io/library/nginx\"");
    assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), reference);
    assert!(serde_json::from_str::<Reference>("\"UPPER\"").is_err());
}

#[test]
fn scope_parse_print_and_merge() {
    let scope = Scope::parse("repository:localhost:5000/app:push,pull,pull").unwrap();
    assert_eq!(scope.resource_type(), "repository");
    assert_eq!(scope.name(), "localhost:5000/app");
    assert_eq!(scope.to_string(), "repository:localhost:5000/app:pull,push");

    let name = RepositoryName::parse("team/app").unwrap();
    let mut pull = Scope::repository(&name, [Action::Pull]);
    let push = Scope::repository(&name, [Action::Push]);
    assert!(!pull.covers(&push));
    assert!(pull.merge(&push));
    assert!(pull.covers(&push));
    assert_eq!(pull.to_string(), "repository:team/app:pull,push");
    assert!(!pull.merge(&Scope::catalog()));
    assert_eq!(Scope::catalog().to_string(), "registry:catalog:*");
    assert!(Scope::catalog().covers(&Scope::parse("registry:catalog:search").unwrap()));

    for invalid in [
        "",
        "repository",
        "repository:app",
        ":app:pull",
        "repository::pull",
    ] {
        assert!(Scope::parse(invalid).is_err(), "{invalid:?}");
    }
}

fn registry_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("docker.io".to_owned()),
        Just("localhost".to_owned()),
        Just("[::1]:5000".to_owned()),
        (
            "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?",
            "[a-z]{2,4}",
            proptest::option::of(1u16..)
        )
            .prop_map(|(label, tld, port)| match port {
                Some(port) => format!("{label}.{tld}:{port}"),
                None => format!("{label}.{tld}"),
            }),
    ]
}

fn path_strategy() -> impl Strategy<Value = String> {
    let component = "[a-z0-9]{1,6}((\\.|_|__|-{1,3})[a-z0-9]{1,6}){0,2}";
    proptest::collection::vec(component, 1..4).prop_map(|parts| parts.join("/"))
}

proptest! {
    #[test]
    fn display_round_trips(
        registry in registry_strategy(),
        path in path_strategy(),
        tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest_seed in proptest::option::of(any::<Vec<u8>>()),
    ) {
        let mut text = format!("{registry}/{path}");
        if let Some(tag) = &tag {
            text = format!("{text}:{tag}");
        }
        if let Some(seed) = &digest_seed {
            text = format!("{text}@{}", Digest::sha256_of(seed));
        }

        let reference = Reference::parse(&text).unwrap();
        prop_assert_eq!(reference.tag(), tag.as_deref());
        prop_assert_eq!(Reference::parse(&reference.to_string()).unwrap(), reference.clone());
        prop_assert_eq!(Reference::parse(&reference.familiar()).unwrap(), reference);
    }

    #[test]
    fn parse_never_panics(input in "\\PC{0,80}") {
        let _ = Reference::parse(&input);
        let _ = Scope::parse(&input);
    }

    #[test]
    fn parsed_references_always_round_trip(input in "[a-zA-Z0-9._:/@\\[\\]-]{1,40}") {
        if let Ok(reference) = Reference::parse(&input) {
            prop_assert_eq!(Reference::parse(&reference.to_string()).unwrap(), reference);
        }
    }
}
