//! Secrets from the environment or files, and secret files written mode 0600.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use wharf_oci_core::secret::Secret;

/// Reads a secret from `file` when given, else from the environment variable `var`.
///
/// A trailing newline in a file is dropped, as `kubectl create secret --from-file` users expect.
pub fn read_secret(var: &str, file: Option<&Path>) -> anyhow::Result<Option<Secret>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read secret file {}", path.display()))?;
        return Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))));
    }
    Ok(std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new))
}

/// Like [`read_secret`], but a missing secret is an error that names both places.
pub fn require_secret(var: &str, file: Option<&Path>) -> anyhow::Result<Secret> {
    match read_secret(var, file)? {
        Some(secret) => Ok(secret),
        None => bail!("no secret given: set {var} or pass a file"),
    }
}

/// Writes `contents` to `path`, creating it with mode 0600 (owner read/write only).
///
/// An existing file is truncated and its mode reset to 0600 before anything is written.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_private_even_when_they_existed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.yaml");
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_secret_file(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn file_wins_and_trailing_newline_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        let secret = read_secret("WHARF_TEST_UNSET_VARIABLE", Some(&path))
            .unwrap()
            .unwrap();
        assert_eq!(secret.expose(), "abc");
        assert!(
            read_secret("WHARF_TEST_UNSET_VARIABLE", None)
                .unwrap()
                .is_none()
        );
    }
}
