//! `DockerCredentials` over a real `config.json` and a real `docker-credential-*` program.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use wharf_oci_core::credentials::{Credential, CredentialSource};
use wharf_oci_core::docker_credentials::DockerCredentials;

/// Writes a helper that logs the server URL it was asked for and answers with a user name
/// that counts its calls; it knows only `reg.example:5000` and Docker Hub.
fn write_helper(dir: &Path) {
    let script = r#"#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> "$(dirname "$0")/asked.log"
calls=$(wc -l < "$(dirname "$0")/asked.log" | tr -d ' ')
case "$server" in
  reg.example:5000|https://index.docker.io/v1/)
    printf '{"ServerURL":"%s","Username":"user-%s","Secret":"secret"}' "$server" "$calls" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"#;
    let path = dir.join("docker-credential-wharftest");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn username(credential: Option<Credential>) -> Option<String> {
    match credential? {
        Credential::Basic { username, .. } => Some(username),
        other => panic!("expected Basic, got {other:?}"),
    }
}

#[tokio::test]
async fn cred_helpers_are_run_cached_and_invalidated() {
    let dir = tempfile::tempdir().unwrap();
    write_helper(dir.path());
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"credHelpers":{"reg.example:5000":"wharftest"},"auths":{"https://other.example":{"auth":"YWxpY2U6cHc="}}}"#,
    )
    .unwrap();
    let source = DockerCredentials::from_file(&config)
        .unwrap()
        .helper_dir(dir.path());

    assert_eq!(
        username(source.credential("reg.example:5000").await.unwrap()).as_deref(),
        Some("user-1")
    );
    assert_eq!(
        username(source.credential("reg.example:5000").await.unwrap()).as_deref(),
        Some("user-1")
    );
    source.invalidate("reg.example:5000").await;
    assert_eq!(
        username(source.credential("reg.example:5000").await.unwrap()).as_deref(),
        Some("user-2")
    );

    assert_eq!(
        username(source.credential("other.example").await.unwrap()).as_deref(),
        Some("alice")
    );
    assert_eq!(source.credential("unknown.example").await.unwrap(), None);

    let asked = std::fs::read_to_string(dir.path().join("asked.log")).unwrap();
    assert_eq!(asked, "reg.example:5000\nreg.example:5000\n");
}

#[tokio::test]
async fn creds_store_gets_docker_hubs_server_url_and_falls_back_to_auths() {
    let dir = tempfile::tempdir().unwrap();
    write_helper(dir.path());
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"credsStore":"wharftest","auths":{"other.example":{"auth":"Ym9iOnB3"}}}"#,
    )
    .unwrap();
    let source = DockerCredentials::from_file(&config)
        .unwrap()
        .helper_dir(dir.path());

    assert_eq!(
        username(source.credential("docker.io").await.unwrap()).as_deref(),
        Some("user-1")
    );
    assert_eq!(
        username(source.credential("other.example").await.unwrap()).as_deref(),
        Some("bob")
    );
    let asked = std::fs::read_to_string(dir.path().join("asked.log")).unwrap();
    assert_eq!(asked, "https://index.docker.io/v1/\nother.example\n");
}

#[tokio::test]
async fn a_missing_helper_is_a_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"credHelpers":{"reg.example":"absent"}}"#).unwrap();
    let source = DockerCredentials::from_file(&config)
        .unwrap()
        .helper_dir(dir.path());
    let error = source.credential("reg.example").await.unwrap_err();
    assert!(
        error.to_string().contains("docker-credential-absent"),
        "{error}"
    );
}

/// Asks the token service for an identity token as `docker login` does: the OAuth2 password
/// grant with `access_type=offline`, which answers with a refresh token.
async fn identity_token_for(endpoint: &wharf_testkit::services::RegistryEndpoint) -> String {
    let (user, password) = endpoint.credentials().unwrap();
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/token",
            endpoint.token_service_url.as_ref().unwrap()
        ))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("access_type", "offline"),
            ("client_id", "docker"),
            ("service", "wharf-registry"),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["refresh_token"].as_str().unwrap().to_owned()
}

/// A client for the plain-HTTP `host` that reads its credentials from the `config.json` at
/// `config`.
fn client_reading(config: &Path, host: &str) -> wharf_oci_core::client::RegistryClient {
    let transport = wharf_oci_core::transport::TransportConfig::builder()
        .plain_http_host(host)
        .build()
        .unwrap();
    wharf_oci_core::client::RegistryClient::builder()
        .transport(transport)
        .credentials(std::sync::Arc::new(
            DockerCredentials::from_file(config).unwrap(),
        ))
        .build()
        .unwrap()
}

fn write_identity_token(config: &Path, host: &str, token: &str) {
    let entry = serde_json::json!({"auths": {host: {"identitytoken": token}}});
    std::fs::write(config, entry.to_string()).unwrap();
}

#[tokio::test]
async fn an_identity_token_from_config_json_is_exchanged_at_the_token_service() {
    use wharf_testkit::image::{Flavor, ImageBuilder};

    let endpoint = wharf_testkit::services::registry_token();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    write_identity_token(
        &config,
        &endpoint.host,
        &identity_token_for(&endpoint).await,
    );
    let credentials = DockerCredentials::from_file(&config).unwrap();
    assert!(matches!(
        credentials.credential(&endpoint.host).await.unwrap(),
        Some(Credential::IdentityToken(_))
    ));

    // Anonymous tokens carry no push access here, so the push proves the exchange.
    let client = client_reading(&config, &endpoint.host);
    let image = ImageBuilder::new(Flavor::Oci).layer(2_000).build().unwrap();
    let reference = super::support::unique_reference(&endpoint, "identity-token", "v1");
    image.push(&client, &reference).await.unwrap();
    let pulled = client.get_manifest_raw(&reference).await.unwrap();
    assert_eq!(pulled.bytes, image.manifest);

    // A refresh token the service never handed out is refused, with the service's answer.
    write_identity_token(&config, &endpoint.host, "forged");
    let forged = client_reading(&config, &endpoint.host);
    let error = forged.get_manifest_raw(&reference).await.unwrap_err();
    let refused_at_the_token_service = matches!(
        &error,
        wharf_oci_core::error::Error::Token { response: Some(answer), .. }
            if answer.method == http::Method::POST && answer.status == 401
    );
    assert!(refused_at_the_token_service, "{error:?}");
}
