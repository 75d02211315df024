//! Starting services as detached process groups, and stopping only the ones we started.
//!
//! Each service runs in its own process group (its PID is the group id), with its output in
//! `<dir>/<name>.log` and its PID in `<dir>/<name>.pid`. Stopping signals the whole group, so
//! node or Python children go too.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

/// How to start one service.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// Files of one service under the stack's folder.
#[derive(Debug, Clone)]
pub struct ServiceFiles {
    /// `<name>.pid`
    pub pid_file: PathBuf,
    /// `<name>.log`
    pub log_file: PathBuf,
}

impl ServiceFiles {
    /// The files of `name` in `dir`.
    pub fn new(dir: &Path, name: &str) -> Self {
        Self {
            pid_file: dir.join(format!("{name}.pid")),
            log_file: dir.join(format!("{name}.log")),
        }
    }
}

/// Starts `launch` detached in a new process group; returns its PID, also written to the PID
/// file.
pub fn spawn(launch: &Launch, files: &ServiceFiles, cwd: &Path) -> Result<u32> {
    let log = fs::File::create(&files.log_file)
        .with_context(|| format!("cannot create {}", files.log_file.display()))?;
    let child = Command::new(&launch.program)
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", launch.program.display()))?;
    let pid = child.id();
    fs::write(&files.pid_file, pid.to_string())?;
    // The child outlives xtask on purpose; init reaps it once xtask has exited.
    drop(child);
    Ok(pid)
}

/// The PID recorded for a service, if its process is still running.
pub fn running_pid(files: &ServiceFiles) -> Option<u32> {
    let pid: u32 = fs::read_to_string(&files.pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // A live process that does not lead its own group is a reused PID, not our service.
    (is_alive(pid) && process_group_of(pid) == Some(pid)).then_some(pid)
}

/// Whether `pid` is a live (not zombie) process.
pub fn is_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name: `pid (comm) S ...`.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// Stops the process group of a recorded service and removes its PID file. Returns whether a
/// running process was stopped.
pub fn stop(files: &ServiceFiles) -> bool {
    let Some(pid) = running_pid(files) else {
        let _ = fs::remove_file(&files.pid_file);
        return false;
    };
    signal_group(pid, "TERM");
    if !wait_for_exit(pid, Duration::from_secs(10)) {
        signal_group(pid, "KILL");
        wait_for_exit(pid, Duration::from_secs(3));
    }
    fs::remove_file(&files.pid_file).ok();
    true
}

fn signal_group(pid: u32, signal: &str) {
    // `kill` exits non-zero when the group is already gone; that is the goal anyway.
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".to_owned(), format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !is_alive(pid) && !group_has_members(pid) {
            return true;
        }
        sleep(Duration::from_millis(100));
    }
    false
}

/// Whether any live process still belongs to process group `pgid`.
fn group_has_members(pgid: u32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
            .is_some_and(|pid| is_alive(pid) && process_group_of(pid) == Some(pgid))
    })
}

/// The process group of `pid`, from `/proc/<pid>/stat`.
fn process_group_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // After the command name: state, ppid, pgrp.
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// The last `lines` lines of a log file, for failure reports.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_group_is_stopped() {
        let dir = std::env::temp_dir().join(format!("xtask-proc-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let files = ServiceFiles::new(&dir, "sleeper");
        let launch = Launch {
            program: "sh".into(),
            args: vec!["-c".into(), "sleep 30 & echo started; wait".into()],
            env: vec![],
        };
        let pid = spawn(&launch, &files, &dir).unwrap();
        assert_eq!(running_pid(&files), Some(pid));

        // Our own child becomes a zombie until reaped; `stop` must not wait on that.
        assert!(stop(&files));
        assert!(!group_has_members(pid));
        assert!(!files.pid_file.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn tail_keeps_last_lines() {
        let dir = std::env::temp_dir().join(format!("xtask-tail-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("x.log");
        fs::write(&log, "a\nb\nc\nd\n").unwrap();
        assert_eq!(log_tail(&log, 2), "c\nd");
        fs::remove_dir_all(dir).unwrap();
    }
}
