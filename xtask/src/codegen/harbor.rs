//! `cargo xtask codegen harbor [--check]`: generates `harbor-client/src/generated/` and the
//! Prism call table from `shared/specs/harbor-v2.0-swagger.yaml`.
//!
//! The generated code is checked in. `--check` regenerates in memory, compares with the files
//! on disk and fails when they differ (or when a generated file is missing or left over), then
//! prints how many spec operations the client covers. The harbor-client crate itself never
//! reads the spec: its build and tests keep passing when the spec changes, and only this
//! explicit check (run by `cargo xtask test`) reports that the generated code is stale.
//!
//! Output is formatted with `rustfmt --edition 2024`, so it is deterministic and rustfmt-clean.

mod models;
mod operations;
mod rust;
mod samples;
mod spec;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use self::models::ModelWriter;
use self::spec::Spec;

/// Runs the task with the arguments after `codegen harbor`.
pub fn run(args: &[String]) -> Result<()> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?;
    run_in(workspace, args)
}

/// Runs the task for the workspace at `workspace`.
pub fn run_in(workspace: &Path, args: &[String]) -> Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        other => bail!("usage: cargo xtask codegen harbor [--check] (got {other:?})"),
    };
    let spec_path = workspace.join("../shared/specs/harbor-v2.0-swagger.yaml");
    let spec = Spec::load(&spec_path)?;
    let operations = spec.operations()?;
    let files = generate(&spec, &operations)?;
    let covered = count_covered(&files);
    if check {
        check_files(workspace, &files)?;
        println!(
            "harbor codegen: up to date; {covered} of {} operations covered",
            operations.len()
        );
    } else {
        write_files(workspace, &files)?;
        println!(
            "harbor codegen: wrote {} files; {covered} of {} operations covered",
            files.len(),
            operations.len()
        );
    }
    if covered != operations.len() {
        bail!(
            "only {covered} of {} operations have a request type",
            operations.len()
        );
    }
    Ok(())
}

/// Folders the generator owns entirely: files in them that it does not write are stale.
const OWNED_DIRS: &[&str] = &[
    "harbor-client/src/generated",
    "harbor-client/src/generated/operations",
];

/// Every generated file, by path relative to the workspace, formatted.
fn generate(spec: &Spec, operations: &[spec::Operation]) -> Result<BTreeMap<PathBuf, String>> {
    let mut files = BTreeMap::new();
    let generated = PathBuf::from("harbor-client/src/generated");
    files.insert(generated.join("mod.rs"), catalog(operations));
    let bodies = operations::inline_bodies(operations);
    files.insert(
        generated.join("models.rs"),
        ModelWriter::definitions(spec, &bodies),
    );
    for (name, text) in operations::files(operations)? {
        files.insert(generated.join("operations").join(name), text);
    }
    files.insert(
        PathBuf::from("harbor-client/tests/harbor/generated_calls.rs"),
        samples::call_table(spec, operations),
    );
    files
        .into_iter()
        .map(|(path, text)| {
            let formatted =
                rustfmt(&text).with_context(|| format!("formatting {}", path.display()))?;
            Ok((path, formatted))
        })
        .collect()
}

/// `generated/mod.rs`: the module tree and the catalogue of operations.
fn catalog(operations: &[spec::Operation]) -> String {
    let mut entries = String::new();
    for operation in operations {
        let _ = writeln!(
            entries,
            "    OperationInfo {{ id: \"{}\", method: \"{}\", path: \"{}\", tag: \"{}\", request_type: \"{}\" }},",
            operation.id,
            operation.method,
            operation.path,
            operation.tag,
            operations::request_type(operation),
        );
    }
    format!(
        "//! Code generated from Harbor's v2.0 spec by `cargo xtask codegen harbor`; do not edit.\n//!\n//! [`models`] holds a type per definition, [`operations`] a request type per operation, and\n//! [`OPERATIONS`] lists them all.\n\n// Reason: names, shapes and docs mirror the spec, not the workspace's pedantic lints.\n#[allow(clippy::pedantic)]\npub mod models;\n// Reason: as above.\n#[allow(clippy::pedantic)]\npub mod operations;\n\nuse crate::operation::OperationInfo;\n\n/// Every operation of the spec, sorted by path and method.\npub const OPERATIONS: &[OperationInfo] = &[\n{entries}];\n"
    )
}

/// Operations listed in the catalogue that also have a request type (one `impl Operation`).
fn count_covered(files: &BTreeMap<PathBuf, String>) -> usize {
    files
        .iter()
        .filter(|(path, _)| path.starts_with("harbor-client/src/generated/operations"))
        .map(|(_, text)| text.matches("impl Operation for ").count())
        .sum()
}

fn rustfmt(source: &str) -> Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
    child
        .stdin
        .take()
        .context("rustfmt stdin")?
        .write_all(source.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("rustfmt printed invalid UTF-8")
}

fn write_files(workspace: &Path, files: &BTreeMap<PathBuf, String>) -> Result<()> {
    for stale in stale_files(workspace, files)? {
        std::fs::remove_file(workspace.join(&stale))
            .with_context(|| format!("removing {}", stale.display()))?;
    }
    for (path, text) in files {
        let full = workspace.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(&full).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&full, text).with_context(|| format!("writing {}", full.display()))?;
        }
    }
    Ok(())
}

fn check_files(workspace: &Path, files: &BTreeMap<PathBuf, String>) -> Result<()> {
    let mut problems = Vec::new();
    for (path, text) in files {
        match std::fs::read_to_string(workspace.join(path)) {
            Ok(current) if &current == text => {}
            Ok(_) => problems.push(format!("{} differs", path.display())),
            Err(_) => problems.push(format!("{} is missing", path.display())),
        }
    }
    for stale in stale_files(workspace, files)? {
        problems.push(format!("{} is not generated any more", stale.display()));
    }
    if !problems.is_empty() {
        bail!(
            "the generated Harbor client is stale; run `cargo xtask codegen harbor`:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// Rust files in the generator's folders that it would not write.
fn stale_files(workspace: &Path, files: &BTreeMap<PathBuf, String>) -> Result<Vec<PathBuf>> {
    let mut stale = Vec::new();
    for dir in OWNED_DIRS {
        let Ok(entries) = std::fs::read_dir(workspace.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = Path::new(dir).join(entry?.file_name());
            let is_rust = path.extension().is_some_and(|e| e == "rs");
            if is_rust && !files.contains_key(&path) {
                stale.push(path);
            }
        }
    }
    stale.sort();
    Ok(stale)
}
