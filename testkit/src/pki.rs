//! Test certificates made with the system `openssl` command: a CA, and keys and certificates
//! it signs (TLS servers for `localhost` and `127.0.0.1`, token issuers).
//!
//! All keys are 2048-bit RSA in PEM (PKCS#8), unencrypted; these are throw-away test
//! credentials written under a folder the caller chooses.
//!
//! ```no_run
//! use wharf_testkit::pki::CertificateAuthority;
//!
//! let dir = std::path::Path::new("target/pki-example");
//! let ca = CertificateAuthority::create(dir, "wharf-test-ca")?;
//! let server = ca.issue_server(dir, "registry", &["localhost", "127.0.0.1"])?;
//! println!("serve {} with {}", server.cert_file.display(), server.key_file.display());
//! # Ok::<(), wharf_testkit::pki::PkiError>(())
//! ```

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Validity of the CA certificate, in days.
const CA_DAYS: &str = "3650";
/// Validity of leaf certificates, in days (under the 825-day limit some clients enforce).
const LEAF_DAYS: &str = "800";

/// Failure to create a key or certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The `openssl` command could not be started.
    #[error("cannot run openssl")]
    Spawn(#[source] io::Error),
    /// `openssl` ran and failed.
    #[error("openssl {step} failed with {status}: {stderr}")]
    Openssl {
        /// What was being made, e.g. `CA certificate`.
        step: &'static str,
        /// Exit status of openssl.
        status: std::process::ExitStatus,
        /// What openssl printed on stderr.
        stderr: String,
    },
    /// A file could not be written or read.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A PEM certificate and its private key on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// PEM certificate file.
    pub cert_file: PathBuf,
    /// PEM private key file (PKCS#8, unencrypted).
    pub key_file: PathBuf,
}

impl KeyPair {
    /// The certificate as PEM text.
    pub fn cert_pem(&self) -> Result<String, PkiError> {
        read(&self.cert_file)
    }

    /// The private key as PEM text.
    pub fn key_pem(&self) -> Result<String, PkiError> {
        read(&self.key_file)
    }
}

/// A self-signed certificate authority that signs leaf certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateAuthority {
    /// The CA's certificate and key.
    pub pair: KeyPair,
}

impl CertificateAuthority {
    /// Creates `<name>.pem` and `<name>.key` in `dir` (created if missing): a self-signed CA.
    pub fn create(dir: &Path, name: &str) -> Result<Self, PkiError> {
        create_dir(dir)?;
        let pair = pair_paths(dir, name);
        let subject = format!("/CN={name}");
        run_openssl(
            "CA certificate",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-days",
                CA_DAYS,
                "-subj",
                &subject,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                path_str(&pair.key_file),
                "-out",
                path_str(&pair.cert_file),
            ],
        )?;
        Ok(Self { pair })
    }

    /// Opens a CA created earlier by [`CertificateAuthority::create`] with the same arguments.
    /// Returns `None` when its files are missing.
    pub fn open(dir: &Path, name: &str) -> Option<Self> {
        let pair = pair_paths(dir, name);
        (pair.cert_file.is_file() && pair.key_file.is_file()).then_some(Self { pair })
    }

    /// Issues a TLS server certificate `<name>.pem`/`<name>.key` in `dir` whose subject
    /// alternative names are `hosts` (IP addresses become IP SANs, the rest DNS SANs).
    pub fn issue_server(
        &self,
        dir: &Path,
        name: &str,
        hosts: &[&str],
    ) -> Result<KeyPair, PkiError> {
        let extensions = format!(
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName={}\n",
            subject_alt_names(hosts)
        );
        let common_name = hosts.first().copied().unwrap_or(name);
        self.issue(dir, name, common_name, &extensions)
    }

    /// Issues a TLS client certificate `<name>.pem`/`<name>.key` in `dir` with the common name
    /// `name`, for servers that require one (distribution's `http.tls.clientcas`).
    pub fn issue_client(&self, dir: &Path, name: &str) -> Result<KeyPair, PkiError> {
        let extensions = "basicConstraints=critical,CA:FALSE\n\
                          keyUsage=critical,digitalSignature,keyEncipherment\n\
                          extendedKeyUsage=clientAuth\n";
        self.issue(dir, name, name, extensions)
    }

    /// Issues a signing certificate `<name>.pem`/`<name>.key` in `dir` for a token issuer
    /// (distribution checks the `x5c` chain of a token against its `rootcertbundle`).
    pub fn issue_signer(&self, dir: &Path, name: &str) -> Result<KeyPair, PkiError> {
        let extensions = "basicConstraints=critical,CA:FALSE\n\
                          keyUsage=critical,digitalSignature\n";
        self.issue(dir, name, name, extensions)
    }

    fn issue(
        &self,
        dir: &Path,
        name: &str,
        common_name: &str,
        extensions: &str,
    ) -> Result<KeyPair, PkiError> {
        create_dir(dir)?;
        let pair = pair_paths(dir, name);
        let request = dir.join(format!("{name}.csr"));
        let extensions_file = dir.join(format!("{name}.ext"));
        write(&extensions_file, extensions)?;

        let subject = format!("/CN={common_name}");
        run_openssl(
            "certificate request",
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &subject,
                "-keyout",
                path_str(&pair.key_file),
                "-out",
                path_str(&request),
            ],
        )?;
        run_openssl(
            "certificate signing",
            &[
                "x509",
                "-req",
                "-sha256",
                "-days",
                LEAF_DAYS,
                "-set_serial",
                &random_serial(),
                "-in",
                path_str(&request),
                "-CA",
                path_str(&self.pair.cert_file),
                "-CAkey",
                path_str(&self.pair.key_file),
                "-extfile",
                path_str(&extensions_file),
                "-out",
                path_str(&pair.cert_file),
            ],
        )?;

        // The request and extension files are only inputs; a failed removal leaves litter.
        let _ = fs::remove_file(&request);
        let _ = fs::remove_file(&extensions_file);
        Ok(pair)
    }
}

fn subject_alt_names(hosts: &[&str]) -> String {
    hosts
        .iter()
        .map(|host| {
            if host.parse::<IpAddr>().is_ok() {
                format!("IP:{host}")
            } else {
                format!("DNS:{host}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn random_serial() -> String {
    format!("0x{:032x}", rand::random::<u128>() >> 1)
}

fn pair_paths(dir: &Path, name: &str) -> KeyPair {
    KeyPair {
        cert_file: dir.join(format!("{name}.pem")),
        key_file: dir.join(format!("{name}.key")),
    }
}

fn run_openssl(step: &'static str, args: &[&str]) -> Result<(), PkiError> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .map_err(PkiError::Spawn)?;
    if output.status.success() {
        return Ok(());
    }
    Err(PkiError::Openssl {
        step,
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test PKI paths are UTF-8")
}

fn create_dir(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_owned(),
        source,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), PkiError> {
    fs::write(path, contents).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssl_text(cert: &Path) -> String {
        let output = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in", path_str(cert)])
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn sans_split_ip_and_dns() {
        assert_eq!(
            subject_alt_names(&["localhost", "127.0.0.1", "::1"]),
            "DNS:localhost,IP:127.0.0.1,IP:::1"
        );
    }

    #[test]
    fn server_certificate_verifies_against_ca_and_carries_sans() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::create(dir.path(), "ca").unwrap();
        let server = ca
            .issue_server(dir.path(), "server", &["localhost", "127.0.0.1"])
            .unwrap();

        let verify = Command::new("openssl")
            .args(["verify", "-CAfile", path_str(&ca.pair.cert_file)])
            .arg(&server.cert_file)
            .output()
            .unwrap();
        assert!(verify.status.success(), "{verify:?}");

        let text = openssl_text(&server.cert_file);
        assert!(text.contains("DNS:localhost"), "{text}");
        assert!(text.contains("IP Address:127.0.0.1"), "{text}");
        assert!(server.key_pem().unwrap().contains("PRIVATE KEY"));
        assert_eq!(CertificateAuthority::open(dir.path(), "ca"), Some(ca));
    }

    #[test]
    fn missing_ca_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(CertificateAuthority::open(dir.path(), "nope"), None);
    }
}
