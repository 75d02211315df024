//! The Harbor simulator (`wharf-testkit harbor`) as a background process for the demo.
//!
//! Its PID goes to `target/services/harbor-demo.pid` and its output to `harbor-demo.log`; a new
//! demo stops the simulator the previous demo left running (only that PID).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::paths;

/// The repository whose scans report a vulnerable Trivy fixture.
pub const VULNERABLE_REPOSITORY: &str = "staging/shop/legacy";
const VULNERABLE_FIXTURE: &str = "alpine-39-high-critical";

/// A running simulator, as it announced itself.
pub struct Harbor {
    /// PID of the simulator process.
    pub pid: u32,
    /// `http://127.0.0.1:port`, the API and token service.
    pub url: String,
    /// `127.0.0.1:port` of its registry.
    pub registry: String,
    /// The admin user.
    pub user: String,
    /// The admin password.
    pub password: String,
}

/// The PID file of the demo's simulator.
pub fn pid_file() -> PathBuf {
    paths::services_dir().join("harbor-demo.pid")
}

/// The simulator's log (its announcement and errors).
pub fn log_file() -> PathBuf {
    paths::services_dir().join("harbor-demo.log")
}

/// Stops the simulator an earlier demo left running, if its PID file is there.
pub fn stop_previous() {
    let Ok(pid) = std::fs::read_to_string(pid_file()) else {
        return;
    };
    let pid = pid.trim();
    if !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()) {
        let _ = Command::new("kill").arg(pid).status();
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = std::fs::remove_file(pid_file());
}

/// Starts `wharf-testkit harbor` in the background and waits for its announcement.
pub fn start(testkit: &Path) -> Result<Harbor> {
    stop_previous();
    let work_dir = paths::services_dir().join("harbor-demo");
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir)?;
    }
    std::fs::create_dir_all(&work_dir)?;
    let log = File::create(log_file())?;
    let child = Command::new(testkit)
        .args(["harbor", "--scan-delay-ms", "300", "--work-dir"])
        .arg(&work_dir)
        .arg("--fixture")
        .arg(format!("{VULNERABLE_REPOSITORY}={VULNERABLE_FIXTURE}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", testkit.display()))?;
    let pid = child.id();
    std::fs::write(pid_file(), format!("{pid}\n"))?;
    wait_for_announcement(pid)
}

fn wait_for_announcement(pid: u32) -> Result<Harbor> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(log_file()).unwrap_or_default();
        if let Some(harbor) = parse_announcement(pid, &text) {
            return Ok(harbor);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "the Harbor simulator did not announce itself within 30 s; see {}",
        log_file().display()
    )
}

fn parse_announcement(pid: u32, text: &str) -> Option<Harbor> {
    let value = |label: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(label))
            .map(|rest| rest.trim().to_owned())
    };
    let api = value("harbor API")?;
    let registry = value("registry")?;
    let admin = value("admin")?;
    let (user, password) = admin.split_once(" / ")?;
    Some(Harbor {
        pid,
        url: api.trim_end_matches("/api/v2.0").to_owned(),
        registry,
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_gives_urls_and_credentials() {
        let text = "harbor API     http://127.0.0.1:4000/api/v2.0\n\
                    token service  http://127.0.0.1:4000/service/token\n\
                    registry       127.0.0.1:4001\n\
                    admin          admin / Harbor12345\n";
        let harbor = parse_announcement(7, text).unwrap();
        assert_eq!(harbor.url, "http://127.0.0.1:4000");
        assert_eq!(harbor.registry, "127.0.0.1:4001");
        assert_eq!(
            (harbor.user.as_str(), harbor.password.as_str()),
            ("admin", "Harbor12345")
        );
        assert!(parse_announcement(7, "harbor API     http://x/api/v2.0\n").is_none());
    }
}
