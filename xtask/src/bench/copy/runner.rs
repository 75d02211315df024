//! Throwaway registries and measured commands for the copy benchmark.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::services::configs::{RegistryAuth, write_registry_config};
use crate::services::state::free_port;

/// A distribution instance on 127.0.0.1 with its own storage, stopped and wiped on drop.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:port`.
    pub host: String,
    storage: PathBuf,
}

impl Registry {
    /// Starts an empty registry under `dir` and waits until `/v2/` answers.
    pub fn start(dir: &Path) -> Result<Self> {
        let port = free_port()?;
        let storage = dir.join(format!("storage-{port}"));
        std::fs::create_dir_all(&storage)?;
        let config = dir.join(format!("registry-{port}.yml"));
        write_registry_config(&config, port, &storage, &RegistryAuth::None, None)?;
        let log = std::fs::File::create(dir.join(format!("registry-{port}.log")))?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start docker-registry (apt-get install docker-registry)")?;
        let registry = Self {
            child,
            host: format!("127.0.0.1:{port}"),
            storage,
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let status = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
                .arg(format!("http://{}/v2/", self.host))
                .output()?;
            if status.stdout == b"200" {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("registry on {} did not start", self.host)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}

/// Wall time and peak resident memory of one command.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// Wall time.
    pub wall: Duration,
    /// Peak RSS in KiB, from `/usr/bin/time -v` (the largest process of the run).
    pub peak_rss_kib: u64,
}

/// Runs `command` under `/usr/bin/time -v`, failing when it fails.
pub fn measure(label: &str, program: &str, args: &[String]) -> Result<Measurement> {
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| {
            format!("cannot run {program} under /usr/bin/time (apt-get install time)")
        })?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        bail!(
            "{label} failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let peak_rss_kib = stderr
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    Ok(Measurement { wall, peak_rss_kib })
}

/// The median of some durations.
pub fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}
