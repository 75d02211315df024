//! A tiny wheel and npm package, built on the fly for the publish step.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, ensure};

/// Builds `wharf_demo-<version>-py3-none-any.whl` in `dir` with python's `zipfile`.
pub fn wheel(dir: &Path, version: &str) -> Result<PathBuf> {
    let path = dir.join(format!("wharf_demo-{version}-py3-none-any.whl"));
    let script = r#"
import sys, zipfile
path, version = sys.argv[1], sys.argv[2]
info = f"wharf_demo-{version}.dist-info"
files = {
    "wharf_demo/__init__.py": "GREETING = 'hello from the Wharf demo'\n",
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: wharf-demo\nVersion: {version}\nSummary: Wharf demo package\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: wharf-xtask\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
with zipfile.ZipFile(path, "w") as wheel:
    for name, text in files.items():
        wheel.writestr(name, text)
    wheel.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n")
"#;
    run(Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .arg(version))?;
    Ok(path)
}

/// Builds `wharf-demo-<version>.tgz` in `dir` with `npm pack`.
pub fn npm_package(dir: &Path, version: &str) -> Result<PathBuf> {
    let source = dir.join("npm-source");
    std::fs::create_dir_all(&source)?;
    std::fs::write(
        source.join("package.json"),
        format!(
            r#"{{"name": "wharf-demo", "version": "{version}", "description": "Wharf demo package", "main": "index.js", "license": "MIT"}}"#
        ),
    )?;
    std::fs::write(
        source.join("index.js"),
        "module.exports = 'hello from the Wharf demo';\n",
    )?;
    run(Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(dir)
        .current_dir(&source))?;
    Ok(dir.join(format!("wharf-demo-{version}.tgz")))
}

fn run(command: &mut Command) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}
