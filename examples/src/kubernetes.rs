//! Kubernetes pull secrets as YAML: rendering them, and reading the credentials back.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde_json::{Value, json};
use wharf_oci_core::secret::Secret;

use crate::secrets::write_secret_file;

/// The `type` of a pull secret.
pub const DOCKERCONFIGJSON_TYPE: &str = "kubernetes.io/dockerconfigjson";
/// The data key of a pull secret.
pub const DOCKERCONFIGJSON_KEY: &str = ".dockerconfigjson";
/// The label every Secret written by these tools carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "wharf");

/// A `kubernetes.io/dockerconfigjson` Secret for one namespace, as a YAML document.
///
/// `annotations` are added to the metadata (for example the robot the credential belongs to).
pub fn pull_secret_yaml(
    name: &str,
    namespace: &str,
    dockerconfigjson: &Secret,
    annotations: &[(&str, &str)],
) -> anyhow::Result<String> {
    let manifest = pull_secret_manifest(name, namespace, dockerconfigjson, annotations);
    Ok(serde_yaml::to_string(&manifest)?)
}

/// A `kubernetes.io/dockerconfigjson` Secret for one namespace, as the object sent to the API
/// server (and rendered as YAML). It holds the credential: never log it.
pub fn pull_secret_manifest(
    name: &str,
    namespace: &str,
    dockerconfigjson: &Secret,
    annotations: &[(&str, &str)],
) -> Value {
    let encoded = base64::engine::general_purpose::STANDARD.encode(dockerconfigjson.expose());
    let annotations: serde_json::Map<String, Value> = annotations
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::from(*value)))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": { MANAGED_BY.0: MANAGED_BY.1 },
            "annotations": annotations,
        },
        "type": DOCKERCONFIGJSON_TYPE,
        "data": { DOCKERCONFIGJSON_KEY: encoded },
    })
}

/// Where the Secrets went: stdout as one multi-document stream, or one file per namespace.
#[derive(Debug, Clone)]
pub enum SecretSink {
    /// All documents on stdout, separated by `---`.
    Stdout,
    /// `<dir>/<namespace>-<name>.yaml`, each written mode 0600.
    Directory(PathBuf),
}

impl SecretSink {
    /// `--out-dir` given or not.
    pub fn from_out_dir(out_dir: Option<&Path>) -> Self {
        out_dir.map_or(Self::Stdout, |dir| Self::Directory(dir.to_owned()))
    }

    /// Writes one Secret per namespace; returns the files written (empty for stdout).
    pub fn emit(
        &self,
        name: &str,
        namespaces: &[String],
        dockerconfigjson: &Secret,
        annotations: &[(&str, &str)],
    ) -> anyhow::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for namespace in namespaces {
            let yaml = pull_secret_yaml(name, namespace, dockerconfigjson, annotations)?;
            match self {
                Self::Stdout => print!("---\n{yaml}"),
                Self::Directory(dir) => {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    let path = dir.join(format!("{namespace}-{name}.yaml"));
                    write_secret_file(&path, yaml.as_bytes())?;
                    written.push(path);
                }
            }
        }
        Ok(written)
    }
}

/// The username and password for `registry` in a Secret YAML file or a bare
/// `.dockerconfigjson` / Docker `config.json` document.
pub fn credentials_from_file(path: &Path, registry: &str) -> anyhow::Result<(String, Secret)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config = docker_config_from_text(&text).with_context(|| {
        format!(
            "{} is neither a pull Secret nor a dockerconfigjson",
            path.display()
        )
    })?;
    credentials_for(&config, registry)
}

/// The docker config inside the first Secret document, or the text itself when it is one.
fn docker_config_from_text(text: &str) -> anyhow::Result<Value> {
    for document in serde_yaml::Deserializer::from_str(text) {
        let value: Value = match serde::Deserialize::deserialize(document) {
            Ok(value) => value,
            Err(_) => continue,
        };
        if value.get("auths").is_some() {
            return Ok(value);
        }
        if let Some(encoded) = value
            .pointer("/data")
            .and_then(|data| data.get(DOCKERCONFIGJSON_KEY))
            .and_then(Value::as_str)
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .context("the .dockerconfigjson value is not base64")?;
            return Ok(serde_json::from_slice(&decoded)?);
        }
    }
    bail!("no `auths` and no `data.{DOCKERCONFIGJSON_KEY}` found")
}

fn credentials_for(config: &Value, registry: &str) -> anyhow::Result<(String, Secret)> {
    let entry = config
        .pointer("/auths")
        .and_then(|auths| auths.get(registry))
        .with_context(|| format!("no credentials for {registry}"))?;
    if let (Some(user), Some(password)) = (
        entry.get("username").and_then(Value::as_str),
        entry.get("password").and_then(Value::as_str),
    ) {
        return Ok((user.to_owned(), Secret::new(password)));
    }
    let auth = entry
        .get("auth")
        .and_then(Value::as_str)
        .with_context(|| format!("the entry for {registry} has no username/password or auth"))?;
    let pair = base64::engine::general_purpose::STANDARD.decode(auth)?;
    let pair = String::from_utf8(pair).context("the auth value is not UTF-8")?;
    let (user, password) = pair
        .split_once(':')
        .context("the auth value is not user:password")?;
    Ok((user.to_owned(), Secret::new(password)))
}

/// Server-side apply of pull secrets to a cluster with kube-rs (feature `kube`).
#[cfg(feature = "kube")]
pub mod cluster {
    use std::path::Path;

    use anyhow::Context as _;
    use k8s_openapi::api::core::v1::Secret as KubeSecret;
    use kube::Client;
    use kube::api::{Api, Patch, PatchParams};
    use kube::config::{Config, KubeConfigOptions, Kubeconfig};
    use wharf_oci_core::secret::Secret;

    use super::pull_secret_manifest;

    /// The field manager that owns the fields `pull-secret --apply` sets.
    pub const FIELD_MANAGER: &str = "wharf-pull-secret";

    /// How applying the Secret went in one namespace.
    #[derive(Debug)]
    pub struct NamespaceApply {
        /// The namespace.
        pub namespace: String,
        /// `Ok` when the API server accepted the apply.
        pub result: Result<(), kube::Error>,
    }

    /// A client the way kubectl users expect: `kubeconfig` (else `KUBECONFIG`, else
    /// `~/.kube/config`, else the in-cluster service account) and `context` (else the
    /// kubeconfig's current context).
    pub async fn client(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> anyhow::Result<Client> {
        let options = KubeConfigOptions {
            context: context.map(str::to_owned),
            ..KubeConfigOptions::default()
        };
        let config = match (kubeconfig, context) {
            (Some(path), _) => {
                let file = Kubeconfig::read_from(path)
                    .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
                Config::from_custom_kubeconfig(file, &options)
                    .await
                    .with_context(|| format!("cannot use the kubeconfig {}", path.display()))?
            }
            (None, Some(name)) => Config::from_kubeconfig(&options)
                .await
                .with_context(|| format!("cannot use the kubeconfig context {name}"))?,
            (None, None) => Config::infer().await.context(
                "no Kubernetes configuration: no kubeconfig (KUBECONFIG, ~/.kube/config) \
                 and no in-cluster service account",
            )?,
        };
        Client::try_from(config).context("cannot set up the Kubernetes client")
    }

    /// Server-side applies the pull secret `name` (see [`pull_secret_manifest`]) to every
    /// namespace with field manager [`FIELD_MANAGER`], forcing ownership of conflicting
    /// fields. One result per namespace, in order: a failure in one does not stop the others.
    pub async fn apply_pull_secrets(
        client: &Client,
        name: &str,
        namespaces: &[String],
        dockerconfigjson: &Secret,
        annotations: &[(&str, &str)],
    ) -> Vec<NamespaceApply> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut outcomes = Vec::with_capacity(namespaces.len());
        for namespace in namespaces {
            let manifest = pull_secret_manifest(name, namespace, dockerconfigjson, annotations);
            let secrets: Api<KubeSecret> = Api::namespaced(client.clone(), namespace);
            let result = secrets
                .patch(name, &params, &Patch::Apply(&manifest))
                .await
                .map(drop);
            outcomes.push(NamespaceApply {
                namespace: namespace.clone(),
                result,
            });
        }
        outcomes
    }

    /// A one-line reason for a failed apply: the API server's code, reason and message.
    pub fn failure_reason(error: &kube::Error) -> String {
        match error {
            kube::Error::Api(status) => {
                format!("{} {}: {}", status.code, status.reason, status.message)
            }
            other => other.to_string(),
        }
    }

    #[cfg(test)]
    mod tests {
        use std::collections::BTreeSet;

        use base64::Engine as _;
        use serde_json::{Value, json};
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, Request, ResponseTemplate};

        use super::*;

        const CONFIG: &str = r#"{"auths":{"harbor.example:5000":{"auth":"cjpwdw=="}}}"#;

        /// An API server: `shop` accepts the apply (and echoes the object), `payments`
        /// refuses it with a Kubernetes 403 Status.
        async fn api_server() -> MockServer {
            let server = MockServer::start().await;
            Mock::given(method("PATCH"))
                .and(path("/api/v1/namespaces/shop/secrets/harbor-pull"))
                .respond_with(|request: &Request| {
                    ResponseTemplate::new(200)
                        .set_body_raw(request.body.clone(), "application/json")
                })
                .mount(&server)
                .await;
            let forbidden = json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "secrets \"harbor-pull\" is forbidden: User \"ci\" cannot patch \
                            resource \"secrets\" in the namespace \"payments\"",
                "reason": "Forbidden", "code": 403,
            });
            Mock::given(method("PATCH"))
                .and(path("/api/v1/namespaces/payments/secrets/harbor-pull"))
                .respond_with(ResponseTemplate::new(403).set_body_json(forbidden))
                .mount(&server)
                .await;
            server
        }

        fn client_for(server: &MockServer) -> Client {
            let url = server.uri().parse().expect("a URL");
            Client::try_from(Config::new(url)).expect("a client")
        }

        #[tokio::test]
        async fn each_namespace_is_applied_on_its_own() {
            let server = api_server().await;
            let namespaces = ["shop".to_owned(), "payments".to_owned()];
            let outcomes = apply_pull_secrets(
                &client_for(&server),
                "harbor-pull",
                &namespaces,
                &Secret::new(CONFIG),
                &[("wharf.dev/robot", "robot$production+k8s")],
            )
            .await;

            assert_eq!(outcomes.len(), 2);
            assert_eq!(outcomes[0].namespace, "shop");
            assert!(outcomes[0].result.is_ok(), "{:?}", outcomes[0].result);
            assert_eq!(outcomes[1].namespace, "payments");
            let error = outcomes[1].result.as_ref().expect_err("payments refused");
            let reason = failure_reason(error);
            assert!(
                reason.starts_with("403 Forbidden: secrets \"harbor-pull\" is forbidden"),
                "{reason}"
            );
            assert!(!reason.contains("cjpwdw"), "no credential in the reason");
        }

        #[tokio::test]
        async fn the_wire_request_is_a_forced_server_side_apply() {
            let server = api_server().await;
            let outcomes = apply_pull_secrets(
                &client_for(&server),
                "harbor-pull",
                &["shop".to_owned()],
                &Secret::new(CONFIG),
                &[("wharf.dev/robot", "robot$production+k8s")],
            )
            .await;
            assert!(outcomes[0].result.is_ok(), "{:?}", outcomes[0].result);

            let requests = server.received_requests().await.expect("recording is on");
            assert_eq!(requests.len(), 1, "one request per namespace, no retries");
            let request = &requests[0];
            assert_eq!(request.method.as_str(), "PATCH");
            assert_eq!(
                request.url.path(),
                "/api/v1/namespaces/shop/secrets/harbor-pull"
            );
            let query: BTreeSet<(String, String)> =
                request.url.query_pairs().into_owned().collect();
            let expected: BTreeSet<(String, String)> = [
                ("fieldManager".to_owned(), "wharf-pull-secret".to_owned()),
                ("force".to_owned(), "true".to_owned()),
            ]
            .into();
            assert_eq!(query, expected);
            let content_type = request
                .headers
                .get("content-type")
                .and_then(|value| value.to_str().ok());
            assert_eq!(content_type, Some("application/apply-patch+yaml"));

            let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
            assert_eq!(body["apiVersion"], "v1");
            assert_eq!(body["kind"], "Secret");
            assert_eq!(body["type"], "kubernetes.io/dockerconfigjson");
            assert_eq!(body["metadata"]["name"], "harbor-pull");
            assert_eq!(body["metadata"]["namespace"], "shop");
            assert_eq!(
                body["metadata"]["labels"]["app.kubernetes.io/managed-by"],
                "wharf"
            );
            assert_eq!(
                body["metadata"]["annotations"]["wharf.dev/robot"],
                "robot$production+k8s"
            );
            let encoded = body["data"][".dockerconfigjson"]
                .as_str()
                .expect("base64 data");
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .expect("valid base64");
            assert_eq!(decoded, CONFIG.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_secrets_read_back() {
        let config = Secret::new(
            r#"{"auths":{"h:5000":{"username":"robot$p+r","password":"pw","auth":"x"}}}"#,
        );
        let yaml =
            pull_secret_yaml("pull", "apps", &config, &[("wharf/robot", "robot$p+r")]).unwrap();
        assert!(yaml.contains("type: kubernetes.io/dockerconfigjson"));
        assert!(yaml.contains("namespace: apps"));
        let value = docker_config_from_text(&format!("---\n{yaml}")).unwrap();
        let (user, password) = credentials_for(&value, "h:5000").unwrap();
        assert_eq!((user.as_str(), password.expose()), ("robot$p+r", "pw"));
        assert!(credentials_for(&value, "other:1").is_err());
    }

    #[test]
    fn auth_field_alone_is_enough() {
        let auth = base64::engine::general_purpose::STANDARD.encode("u:p:w");
        let value = json!({"auths": {"r": {"auth": auth}}});
        let (user, password) = credentials_for(&value, "r").unwrap();
        assert_eq!((user.as_str(), password.expose()), ("u", "p:w"));
    }
}
