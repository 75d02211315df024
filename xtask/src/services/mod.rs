//! `cargo xtask services up | down | status | env`: the local service stack.
//!
//! Everything lives under `target/services/`: `state.json` (ports, credentials), one
//! `<service>.pid` and `<service>.log` per service, configs and data in `<service>/`, the
//! certificates in `pki/`, the Python venv in `venv/` and the npm prefix in `node/`.

mod catalog;
pub(crate) mod configs;
mod environment;
mod health;
mod install;
mod process;
pub(crate) mod state;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::paths;
use catalog::{Context, Service};
use process::ServiceFiles;
use state::State;

use environment::environment;

/// How long `up` waits for a started service to become healthy.
const START_TIMEOUT: Duration = Duration::from_mins(2);

/// Runs `cargo xtask services <command>`.
pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("up") => up().map(|_| ()),
        Some("down") => {
            down();
            Ok(())
        }
        Some("status") => status(),
        Some("env") => print_env(),
        _ => bail!("usage: cargo xtask services up|down|status|env"),
    }
}

/// What `up` did to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was already running and healthy.
    Reused,
    /// It was started (or restarted) and became healthy.
    Started,
}

/// The stack after `up`: every service healthy.
#[derive(Debug)]
pub struct Stack {
    context: Context,
    /// Per service: what happened and how long it took.
    pub outcomes: Vec<(&'static str, String, Outcome, Duration)>,
}

impl Stack {
    /// The `WHARF_*` variables of the running stack.
    pub fn environment(&self) -> Vec<(String, String)> {
        environment(&self.context)
    }
}

/// Installs what is missing, starts every service that is not healthy and waits for it.
pub fn up() -> Result<Stack> {
    let dir = paths::services_dir();
    std::fs::create_dir_all(&dir)?;
    let tools = install::ensure_installed(&dir)?;
    let testkit_bin = build_testkit()?;
    ensure_pki(&testkit_bin, &dir.join("pki"))?;

    let state = State::load(&dir)?;
    let mut context = Context {
        dir,
        tools,
        testkit_bin,
        state,
    };
    let mut pending = Vec::new();
    let mut outcomes = Vec::new();
    for service in Service::ALL {
        let started_at = Instant::now();
        if let Some(port) = healthy_port(&context, service) {
            outcomes.push((
                service.name(),
                service.endpoint(port),
                Outcome::Reused,
                Duration::ZERO,
            ));
        } else {
            let started = start(&mut context, service);
            // Record the port even when the start failed, so `down` and the next `up` agree.
            context.state.save(&context.dir)?;
            started?;
            pending.push((service, started_at));
        }
    }
    context.state.save(&context.dir)?;

    outcomes.extend(wait_until_healthy(&context, &pending)?);
    ensure_npm_user(
        &mut context,
        pending.iter().any(|(s, _)| *s == Service::Npm),
    )?;
    context.state.save(&context.dir)?;

    let order = |name: &str| Service::ALL.iter().position(|s| s.name() == name);
    outcomes.sort_by_key(|(name, ..)| order(name));
    for (name, endpoint, outcome, took) in &outcomes {
        match outcome {
            Outcome::Reused => println!("  {name:<18} {endpoint:<28} healthy (already running)"),
            Outcome::Started => println!(
                "  {name:<18} {endpoint:<28} healthy (started in {:.1}s)",
                took.as_secs_f64()
            ),
        }
    }
    Ok(Stack { context, outcomes })
}

/// The port of `service` if it runs (from our PID file) and answers its health check.
fn healthy_port(context: &Context, service: Service) -> Option<u16> {
    let files = ServiceFiles::new(&context.dir, service.name());
    process::running_pid(&files)?;
    let port = *context.state.ports.get(service.name())?;
    service.probe(context, port).check().ok()?;
    Some(port)
}

fn start(context: &mut Context, service: Service) -> Result<()> {
    let files = ServiceFiles::new(&context.dir, service.name());
    if process::stop(&files) {
        println!("  {}: running but unhealthy, restarting", service.name());
    }
    let mut port = context.state.port(service.name())?;
    if !state::port_is_free(port) {
        port = context.state.repick_port(service.name())?;
    }
    let launch = service.prepare(context, port)?;
    process::spawn(&launch, &files, &context.dir)
        .with_context(|| format!("cannot start {}", service.name()))?;
    Ok(())
}

fn wait_until_healthy(
    context: &Context,
    pending: &[(Service, Instant)],
) -> Result<Vec<(&'static str, String, Outcome, Duration)>> {
    let mut waiting: Vec<(Service, Instant)> = pending.to_vec();
    let mut healthy = Vec::new();
    let mut failures = Vec::new();
    let deadline = Instant::now() + START_TIMEOUT;
    while !waiting.is_empty() {
        waiting.retain(|(service, started_at)| {
            let port = context.state.ports[service.name()];
            let files = ServiceFiles::new(&context.dir, service.name());
            match service.probe(context, port).check() {
                Ok(()) => {
                    let endpoint = service.endpoint(port);
                    healthy.push((
                        service.name(),
                        endpoint,
                        Outcome::Started,
                        started_at.elapsed(),
                    ));
                    false
                }
                Err(_) if process::running_pid(&files).is_none() => {
                    failures.push(failure(*service, &files, "exited during start-up"));
                    false
                }
                Err(reason) if Instant::now() > deadline => {
                    failures.push(failure(*service, &files, &format!("not healthy: {reason}")));
                    false
                }
                Err(_) => true,
            }
        });
        if !waiting.is_empty() {
            sleep(Duration::from_millis(250));
        }
    }
    if failures.is_empty() {
        Ok(healthy)
    } else {
        bail!("services failed to start:\n{}", failures.join("\n"))
    }
}

fn failure(service: Service, files: &ServiceFiles, reason: &str) -> String {
    format!(
        "{} {reason}; last lines of {}:\n{}",
        service.name(),
        files.log_file.display(),
        process::log_tail(&files.log_file, 15)
    )
}

/// Logs the verdaccio user (already in the htpasswd file) in and records its token.
fn ensure_npm_user(context: &mut Context, restarted: bool) -> Result<()> {
    if context.state.npm_token.is_some() && !restarted {
        return Ok(());
    }
    let port = context.state.ports[Service::Npm.name()];
    let url = format!(
        "http://127.0.0.1:{port}/-/user/org.couchdb.user:{}",
        state::USER
    );
    let body = serde_json::json!({ "name": state::USER, "password": context.state.password });
    // The user already exists in the htpasswd file written before start. Verdaccio treats
    // the PUT as a login only when the request itself is authenticated as that user; without
    // basic auth it tries to register and answers "username is already registered".
    let basic = format!("{}:{}", state::USER, context.state.password);
    let output = Command::new("curl")
        .args([
            "-s",
            "-X",
            "PUT",
            "-H",
            "content-type: application/json",
            "-u",
        ])
        .arg(basic)
        .arg("-d")
        .arg(body.to_string())
        .arg(&url)
        .output()
        .context("cannot run curl")?;
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "verdaccio user creation answered {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    let token = answer["token"]
        .as_str()
        .with_context(|| format!("verdaccio user creation returned no token: {answer}"))?;
    context.state.npm_token = Some(token.to_owned());
    Ok(())
}

/// Builds the `wharf-testkit` binary (token service, PKI) and returns its path.
fn build_testkit() -> Result<PathBuf> {
    let status = Command::new(paths::cargo())
        .args([
            "build",
            "--quiet",
            "-p",
            "wharf-testkit",
            "--bin",
            "wharf-testkit",
        ])
        .current_dir(paths::workspace_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building wharf-testkit failed ({status})");
    }
    Ok(paths::cargo_target_dir().join("debug/wharf-testkit"))
}

fn ensure_pki(testkit_bin: &Path, pki_dir: &Path) -> Result<()> {
    let status = Command::new(testkit_bin)
        .args(["pki", "--dir"])
        .arg(pki_dir)
        .status()
        .context("cannot run wharf-testkit pki")?;
    if !status.success() {
        bail!("creating the test certificates failed ({status})");
    }
    Ok(())
}

/// Stops every service that xtask started (and nothing else).
pub fn down() {
    let dir = paths::services_dir();
    for service in Service::ALL.iter().rev() {
        let files = ServiceFiles::new(&dir, service.name());
        if process::stop(&files) {
            println!("  stopped {}", service.name());
        }
    }
    println!("service stack is down");
}

/// Prints each service's endpoint and health; fails when any is not healthy.
pub fn status() -> Result<()> {
    let dir = paths::services_dir();
    let context = Context {
        tools: install::Tools::locate(&dir),
        testkit_bin: PathBuf::new(),
        state: State::load(&dir)?,
        dir,
    };
    let mut unhealthy = 0;
    for service in Service::ALL {
        let line = service_status(&context, service);
        if !line.starts_with("healthy") {
            unhealthy += 1;
        }
        let endpoint = context
            .state
            .ports
            .get(service.name())
            .map_or_else(|| "-".to_owned(), |port| service.endpoint(*port));
        println!("  {:<18} {endpoint:<28} {line}", service.name());
    }
    if unhealthy > 0 {
        bail!("{unhealthy} service(s) not healthy: run `cargo xtask services up`");
    }
    Ok(())
}

fn service_status(context: &Context, service: Service) -> String {
    let files = ServiceFiles::new(&context.dir, service.name());
    let Some(pid) = process::running_pid(&files) else {
        return "stopped".to_owned();
    };
    let Some(port) = context.state.ports.get(service.name()) else {
        return format!("running (pid {pid}) but no port recorded");
    };
    match service.probe(context, *port).check() {
        Ok(()) => format!("healthy (pid {pid})"),
        Err(reason) => format!("unhealthy (pid {pid}): {reason}"),
    }
}

fn print_env() -> Result<()> {
    let dir = paths::services_dir();
    if !dir.join("state.json").exists() {
        bail!("no service stack recorded: run `cargo xtask services up` first");
    }
    let context = Context {
        tools: install::Tools::locate(&dir),
        testkit_bin: PathBuf::new(),
        state: State::load(&dir)?,
        dir,
    };
    for (name, value) in environment(&context) {
        println!("export {name}='{}'", value.replace('\'', "'\\''"));
    }
    Ok(())
}
