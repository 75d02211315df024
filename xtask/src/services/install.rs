//! Installing what the stack needs, only when it is missing: Debian packages with apt, Python
//! tools in a venv under `target/services/venv`, npm tools under `target/services/node`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// Commands the stack and the tests need, with the Debian package that provides each.
const SYSTEM_TOOLS: &[(&str, &str)] = &[
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("htpasswd", "apache2-utils"),
    ("openssl", "openssl"),
    ("curl", "curl"),
    ("python3", "python3"),
    ("node", "nodejs"),
    ("npm", "npm"),
];

/// Python packages of the venv (moto for ECR, pypiserver and twine for PyPI tests).
const PYTHON_PACKAGES: &[&str] = &["moto[server]>=5,<6", "pypiserver>=2,<3", "passlib", "twine"];
/// Executables the venv must contain.
const PYTHON_EXECUTABLES: &[&str] = &["moto_server", "pypi-server", "twine", "pip"];

/// npm packages of the node prefix.
const NPM_PACKAGES: &[&str] = &["@stoplight/prism-cli@5", "verdaccio@6"];
/// Executables the node prefix must contain.
const NPM_EXECUTABLES: &[&str] = &["prism", "verdaccio"];

/// Paths of the installed tools.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `bin` folder of the Python venv.
    pub python_bin: PathBuf,
    /// `node_modules/.bin` of the npm prefix.
    pub node_bin: PathBuf,
}

impl Tools {
    /// Where the tools live under `services_dir` (installed or not).
    pub fn locate(services_dir: &Path) -> Self {
        Self {
            python_bin: services_dir.join("venv/bin"),
            node_bin: services_dir.join("node/node_modules/.bin"),
        }
    }

    /// The `prism` executable.
    pub fn prism(&self) -> PathBuf {
        self.node_bin.join("prism")
    }

    /// The `verdaccio` executable.
    pub fn verdaccio(&self) -> PathBuf {
        self.node_bin.join("verdaccio")
    }
}

/// Installs whatever is missing and returns where the tools are.
pub fn ensure_installed(services_dir: &Path) -> Result<Tools> {
    ensure_system_packages()?;
    let tools = Tools::locate(services_dir);
    ensure_python_tools(services_dir, &tools)?;
    ensure_npm_tools(services_dir, &tools)?;
    Ok(tools)
}

fn ensure_system_packages() -> Result<()> {
    let missing: Vec<&str> = SYSTEM_TOOLS
        .iter()
        .filter(|(tool, _)| find_on_path(tool).is_none())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

fn apt_install(packages: &[&str]) -> Result<()> {
    println!("installing Debian packages: {}", packages.join(" "));
    if !is_root() {
        bail!(
            "not root: install them with `sudo apt-get install {}`",
            packages.join(" ")
        );
    }
    if !apt_lists_present() {
        println!("  apt-get update (no package lists yet)");
        run(
            Command::new("apt-get").args(["update", "-qq"]),
            "apt-get update",
        )?;
    }
    run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages),
        "apt-get install",
    )
}

fn apt_lists_present() -> bool {
    std::fs::read_dir("/var/lib/apt/lists").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().ends_with("_Packages"))
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn ensure_python_tools(services_dir: &Path, tools: &Tools) -> Result<()> {
    if all_present(&tools.python_bin, PYTHON_EXECUTABLES) {
        return Ok(());
    }
    let venv = services_dir.join("venv");
    println!(
        "installing Python tools into {}: {}",
        venv.display(),
        PYTHON_PACKAGES.join(" ")
    );
    if !tools.python_bin.join("python").exists() {
        create_venv(&venv)?;
    }
    run(
        Command::new(tools.python_bin.join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PYTHON_PACKAGES),
        "pip install",
    )
}

fn create_venv(venv: &Path) -> Result<()> {
    let create = || {
        Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status()
    };
    if create().is_ok_and(|status| status.success()) {
        return Ok(());
    }
    // Debian's python3 needs python3-venv for `-m venv` (ensurepip).
    apt_install(&["python3-venv"])?;
    run(
        Command::new("python3").args(["-m", "venv"]).arg(venv),
        "python3 -m venv",
    )
}

fn ensure_npm_tools(services_dir: &Path, tools: &Tools) -> Result<()> {
    if all_present(&tools.node_bin, NPM_EXECUTABLES) {
        return Ok(());
    }
    let prefix = services_dir.join("node");
    println!(
        "installing npm tools into {}: {}",
        prefix.display(),
        NPM_PACKAGES.join(" ")
    );
    std::fs::create_dir_all(&prefix)?;
    run(
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", "--loglevel=error"])
            .args(NPM_PACKAGES),
        "npm install",
    )
}

fn all_present(dir: &Path, executables: &[&str]) -> bool {
    executables.iter().all(|name| dir.join(name).is_file())
}

/// The full path of `tool` on `PATH`.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {what}"))?;
    if !status.success() {
        bail!("{what} failed with {status}");
    }
    Ok(())
}
