//! Health checks: one HTTP request per service, made with the system `curl`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What a healthy service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this HTTP status.
    Status(u16),
    /// Any HTTP answer at all (Prism answers per the spec, including errors).
    AnyStatus,
}

/// One health check.
#[derive(Debug, Clone)]
pub struct Probe {
    /// URL to GET.
    pub url: String,
    /// The healthy answer.
    pub expect: Expect,
    /// CA to trust for HTTPS.
    pub ca_file: Option<PathBuf>,
}

impl Probe {
    /// A probe expecting `status` from `url`.
    pub fn status(url: String, status: u16) -> Self {
        Self {
            url,
            expect: Expect::Status(status),
            ca_file: None,
        }
    }

    /// Runs the check: `Ok` when healthy, otherwise what was seen.
    pub fn check(&self) -> Result<(), String> {
        let status = http_status(&self.url, self.ca_file.as_ref())?;
        match self.expect {
            Expect::Status(wanted) if wanted != status => {
                Err(format!("{} answered {status}, expected {wanted}", self.url))
            }
            _ => Ok(()),
        }
    }
}

/// GETs `url` and returns the HTTP status.
pub fn http_status(url: &str, ca_file: Option<&PathBuf>) -> Result<u16, String> {
    let mut command = Command::new("curl");
    command.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "3",
    ]);
    if let Some(ca) = ca_file {
        command.arg("--cacert").arg(ca);
    }
    let output = command
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run curl: {error}"))?;
    let code = String::from_utf8_lossy(&output.stdout);
    match code.trim().parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{url} does not answer")),
        Ok(status) => Ok(status),
    }
}
