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
    let encoded = base64::engine::general_purpose::STANDARD.encode(dockerconfigjson.expose());
    let annotations: serde_json::Map<String, Value> = annotations
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::from(*value)))
        .collect();
    let secret = json!({
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
    });
    Ok(serde_yaml::to_string(&secret)?)
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
