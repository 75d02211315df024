//! The recorded state of the stack: ports and credentials, in `target/services/state.json`.
//!
//! Ports and credentials are chosen once and kept, so a second `up` brings services back on
//! the same endpoints and the exported environment stays valid.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// User name of every service's account (registry, token service, PyPI, npm).
pub const USER: &str = "wharf";

/// Everything `up` must remember between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Port of each service, by service name.
    pub ports: BTreeMap<String, u16>,
    /// Password of [`USER`] on every service.
    pub password: String,
    /// verdaccio auth token of [`USER`], once created.
    pub npm_token: Option<String>,
}

impl State {
    /// Loads the state file, or a fresh state with a new random password.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = state_file(dir);
        if path.is_file() {
            let text = fs::read_to_string(&path)?;
            let state = serde_json::from_str(&text)
                .with_context(|| format!("corrupt state file {}", path.display()))?;
            return Ok(state);
        }
        Ok(Self {
            password: random_hex(12)?,
            ..Self::default()
        })
    }

    /// Writes the state file.
    pub fn save(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir)?;
        let path = state_file(dir);
        fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The port of `service`: the recorded one, or a newly picked free one.
    pub fn port(&mut self, service: &str) -> Result<u16> {
        if let Some(port) = self.ports.get(service) {
            return Ok(*port);
        }
        let port = free_port()?;
        self.ports.insert(service.to_owned(), port);
        Ok(port)
    }

    /// Forgets the port of `service` (it was taken by someone else) and picks a new one.
    pub fn repick_port(&mut self, service: &str) -> Result<u16> {
        self.ports.remove(service);
        self.port(service)
    }
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

/// A port on 127.0.0.1 that is free right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether nothing listens on `127.0.0.1:port`.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0_u8; bytes];
    fs::File::open("/dev/urandom")?.read_exact(&mut buffer)?;
    Ok(buffer.iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_keeps_ports() {
        let dir = std::env::temp_dir().join(format!("xtask-state-{}", std::process::id()));
        let mut state = State::load(&dir).unwrap();
        assert_eq!(state.password.len(), 24);
        let port = state.port("moto").unwrap();
        assert_eq!(state.port("moto").unwrap(), port);
        state.save(&dir).unwrap();

        let loaded = State::load(&dir).unwrap();
        assert_eq!(loaded.ports["moto"], port);
        assert_eq!(loaded.password, state.password);
        fs::remove_dir_all(dir).unwrap();
    }
}
