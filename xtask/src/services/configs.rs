//! Configuration files of the services: distribution YAML, htpasswd files, verdaccio YAML and
//! the Prism copies of the API specs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

/// How a distribution instance authenticates.
#[derive(Debug, Clone)]
pub enum RegistryAuth {
    /// No authentication.
    None,
    /// Basic auth against a bcrypt htpasswd file.
    Htpasswd(PathBuf),
    /// Bearer tokens from a token service.
    Token {
        /// URL of the token endpoint.
        realm: String,
        /// `service` (token audience).
        service: String,
        /// `iss` the tokens carry.
        issuer: String,
        /// PEM bundle the token's `x5c` chain must lead to.
        root_cert_bundle: PathBuf,
    },
}

/// TLS certificate and key of a distribution instance.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Writes a distribution config binding `127.0.0.1:port`, storing under `storage` with
/// deletes enabled.
pub fn write_registry_config(
    path: &Path,
    port: u16,
    storage: &Path,
    auth: &RegistryAuth,
    tls: Option<&TlsFiles>,
) -> Result<()> {
    let mut http = json!({ "addr": format!("127.0.0.1:{port}"), "secret": "wharf-test-secret" });
    if let Some(tls) = tls {
        http["tls"] = json!({ "certificate": tls.cert, "key": tls.key });
    }
    let mut config = json!({
        "version": 0.1,
        "log": { "level": "info", "accesslog": { "disabled": false } },
        "storage": {
            "filesystem": { "rootdirectory": storage },
            "delete": { "enabled": true },
            "maintenance": { "uploadpurging": { "enabled": false } },
        },
        "http": http,
    });
    if let Some(auth) = auth_section(auth) {
        config["auth"] = auth;
    }
    write_yaml(path, &config)
}

fn auth_section(auth: &RegistryAuth) -> Option<Value> {
    match auth {
        RegistryAuth::None => None,
        RegistryAuth::Htpasswd(file) => Some(json!({
            "htpasswd": { "realm": "wharf-registry", "path": file }
        })),
        RegistryAuth::Token {
            realm,
            service,
            issuer,
            root_cert_bundle,
        } => Some(json!({
            "token": {
                "realm": realm,
                "service": service,
                "issuer": issuer,
                "rootcertbundle": root_cert_bundle,
            }
        })),
    }
}

/// Which password hash an htpasswd file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// bcrypt (`htpasswd -B`), the only kind distribution accepts.
    Bcrypt,
    /// Apache MD5 (`htpasswd -m`), which passlib verifies without extra packages.
    ApacheMd5,
}

/// Writes an htpasswd file with one user.
pub fn write_htpasswd(path: &Path, user: &str, password: &str, kind: HashKind) -> Result<()> {
    let flag = match kind {
        HashKind::Bcrypt => "-Bbn",
        HashKind::ApacheMd5 => "-mbn",
    };
    let output = Command::new("htpasswd")
        .args([flag, user, password])
        .output()
        .context("cannot run htpasswd")?;
    if !output.status.success() {
        bail!(
            "htpasswd failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    fs::write(path, &output.stdout).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a verdaccio config: local htpasswd auth, no uplinks, publish for logged-in users.
pub fn write_verdaccio_config(
    path: &Path,
    port: u16,
    storage: &Path,
    htpasswd: &Path,
) -> Result<()> {
    let rules = json!({
        "access": "$all",
        "publish": "$authenticated",
        "unpublish": "$authenticated",
    });
    let config = json!({
        "storage": storage,
        "auth": { "htpasswd": { "file": htpasswd, "max_users": 100 } },
        "uplinks": {},
        "packages": { "@*/*": rules.clone(), "**": rules },
        "listen": format!("127.0.0.1:{port}"),
        "log": { "type": "stdout", "format": "pretty", "level": "http" },
    });
    write_yaml(path, &config)
}

/// Copies a Swagger 2 spec (YAML or JSON) to `target`, prefixing every path with the spec's
/// `basePath` and dropping `basePath`, because Prism ignores it.
pub fn write_prism_spec(source: &Path, target: &Path) -> Result<()> {
    let text = fs::read_to_string(source)
        .with_context(|| format!("cannot read the spec {}", source.display()))?;
    let mut spec: Value = serde_yaml::from_str(&text)
        .with_context(|| format!("cannot parse the spec {}", source.display()))?;
    prefix_paths_with_base_path(&mut spec);
    let json = serde_json::to_string(&spec)?;
    fs::write(target, json).with_context(|| format!("cannot write {}", target.display()))
}

fn prefix_paths_with_base_path(spec: &mut Value) {
    let base = spec
        .as_object_mut()
        .and_then(|root| root.remove("basePath"))
        .and_then(|base| base.as_str().map(|s| s.trim_end_matches('/').to_owned()))
        .unwrap_or_default();
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        let prefixed = std::mem::take(paths)
            .into_iter()
            .map(|(path, item)| (format!("{base}{path}"), item))
            .collect();
        *paths = prefixed;
    }
}

fn write_yaml(path: &Path, value: &Value) -> Result<()> {
    let text = serde_yaml::to_string(value)?;
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_the_base_path() {
        let mut spec = json!({
            "basePath": "/api/v2.0",
            "paths": { "/ping": {}, "/projects/{name}": {} }
        });
        prefix_paths_with_base_path(&mut spec);
        let paths: Vec<_> = spec["paths"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(paths, ["/api/v2.0/ping", "/api/v2.0/projects/{name}"]);
        assert!(spec.get("basePath").is_none());
    }

    #[test]
    fn registry_config_binds_loopback_and_enables_delete() {
        let path = std::env::temp_dir().join(format!("xtask-reg-{}.yml", std::process::id()));
        let auth = RegistryAuth::Htpasswd("/h".into());
        write_registry_config(&path, 5123, Path::new("/data"), &auth, None).unwrap();
        let config: Value = serde_yaml::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(config["http"]["addr"], "127.0.0.1:5123");
        assert_eq!(config["storage"]["delete"]["enabled"], true);
        assert_eq!(config["auth"]["htpasswd"]["path"], "/h");
        fs::remove_file(path).unwrap();
    }
}
