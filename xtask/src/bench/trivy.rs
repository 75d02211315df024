//! `cargo xtask bench trivy [--size-mb N] [--runs N] [--regenerate] [--no-write]`: typed
//! parsing of a large Trivy report against Python's `json.load` and serde's `IgnoredAny`.
//!
//! Steps: build a report of at least `--size-mb` (default 100) MB under `target/bench/` by
//! replicating the results of every fixture in `../shared/fixtures/trivy`; build the
//! measurement helper (`trivy-report/examples/parse-bench.rs`) in release mode; run each
//! contender `--runs` times (default 5) in its own process, interleaved, each run after a read
//! of the file that puts it in the page cache; report median times, ratios, same-round ratios
//! and peak resident memory (`VmHWM`); and replace the `## trivy` section of `BENCHMARKS.md`
//! with the results (other sections are kept).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

const PYTHON_LOAD: &str = "import json, sys, time\n\
t = time.perf_counter()\n\
json.load(open(sys.argv[1]))\n\
e = time.perf_counter() - t\n\
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n\
print(f'{e:.6f} {hwm}')";

/// Targets from the issue.
const SPEEDUP_OVER_PYTHON: f64 = 4.0;
const MAX_RATIO_TO_FLOOR: f64 = 2.0;
const MAX_MEMORY_RATIO: f64 = 1.5;

struct Options {
    size_mb: u64,
    runs: usize,
    regenerate: bool,
    write: bool,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        size_mb: 100,
        runs: 5,
        regenerate: false,
        write: true,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size-mb" => options.size_mb = next_number(&mut args, arg)?,
            "--runs" => options.runs = usize::try_from(next_number(&mut args, arg)?)?,
            "--regenerate" => options.regenerate = true,
            "--no-write" => options.write = false,
            other => bail!(
                "unknown argument {other}; usage: cargo xtask bench trivy [--size-mb N] [--runs N] [--regenerate] [--no-write]"
            ),
        }
    }
    if options.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(options)
}

fn next_number<'a>(args: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<u64> {
    let value = args
        .next()
        .with_context(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .with_context(|| format!("{flag} {value} is not a number"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    let root = workspace_root();

    let report = root.join(format!(
        "target/bench/trivy-report-{}mb.json",
        options.size_mb
    ));
    if options.regenerate || !report.exists() {
        generate_report(
            &root.join("../shared/fixtures/trivy"),
            &report,
            options.size_mb,
        )?;
    }
    let file_bytes = std::fs::metadata(&report)?.len();
    println!("report: {} ({:.1} MB)", report.display(), mb(file_bytes));

    let helper = build_helper(&root)?;
    let results = measure(&helper, &report, options.runs)?;
    let section = render_section(&results, file_bytes, options.runs, options.size_mb)?;
    println!("\n{section}");

    if options.write {
        let path = root.join("BENCHMARKS.md");
        write_section(&path, &section)?;
        println!("updated {}", path.display());
    }
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Writes a pretty-printed report whose `Results` repeat the fixtures' results (with
/// numbered targets) until the file reaches `size_mb` MB. Written as a stream: the report is
/// never held in memory.
fn generate_report(fixtures: &Path, output: &Path, size_mb: u64) -> Result<()> {
    let mut header: Option<serde_json::Map<String, Value>> = None;
    let mut results = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .with_context(|| format!("reading {}", fixtures.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for path in names
        .iter()
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
    {
        let value: Value = serde_json::from_slice(&std::fs::read(path)?)?;
        let Value::Object(mut object) = value else {
            continue;
        };
        if let Some(Value::Array(found)) = object.remove("Results") {
            results.extend(found);
        }
        if header.is_none() && object.contains_key("Metadata") {
            header = Some(object);
        }
    }
    let header = header.context("no fixture has Metadata")?;
    if results.is_empty() {
        bail!("the fixtures have no results to replicate");
    }

    std::fs::create_dir_all(output.parent().expect("the output is in a folder"))?;
    let mut out = BufWriter::new(File::create(output)?);
    let head = serde_json::to_string_pretty(&Value::Object(header))?;
    let head = head
        .trim_end()
        .strip_suffix('}')
        .context("header is an object")?;
    write!(out, "{},\n  \"Results\": [\n", head.trim_end())?;

    let limit = size_mb * 1_000_000;
    let mut written = head.len() as u64;
    let mut copy = 0_usize;
    while written < limit {
        let mut result = results[copy % results.len()].clone();
        if let Some(Value::String(target)) = result.get_mut("Target") {
            let _ = write!(target, " #{copy}");
        }
        let text = serde_json::to_string_pretty(&result)?;
        let indented: Vec<String> = text.lines().map(|line| format!("    {line}")).collect();
        let block = indented.join("\n");
        if copy > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(block.as_bytes())?;
        written += block.len() as u64 + 2;
        copy += 1;
    }
    out.write_all(b"\n  ]\n}\n")?;
    out.flush()?;
    println!("generated {} with {copy} results", output.display());
    Ok(())
}

fn build_helper(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "wharf-trivy-report",
            "--example",
            "parse-bench",
        ])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building the parse-bench helper failed");
    }
    Ok(target_dir(root).join("release/examples/parse-bench"))
}

/// The contenders, in the order they run within each round.
const CONTENDERS: [&str; 5] = ["python", "typed", "typed-slice", "typed-reader", "ignored"];

struct Samples {
    seconds: Vec<f64>,
    peak_kib: Vec<u64>,
}

fn measure(helper: &Path, report: &Path, runs: usize) -> Result<Vec<(&'static str, Samples)>> {
    let mut samples: Vec<(&'static str, Samples)> = CONTENDERS
        .iter()
        .map(|name| {
            (
                *name,
                Samples {
                    seconds: Vec::new(),
                    peak_kib: Vec::new(),
                },
            )
        })
        .collect();

    for round in 1..=runs {
        for (name, collected) in &mut samples {
            warm_page_cache(report)?;
            let mut command = if *name == "python" {
                let mut command = Command::new("python3");
                command.args(["-c", PYTHON_LOAD]).arg(report);
                command
            } else {
                let mut command = Command::new(helper);
                command.arg(*name).arg(report);
                command
            };
            let output = command
                .output()
                .with_context(|| format!("running {name}"))?;
            if !output.status.success() {
                bail!("{name} failed: {}", String::from_utf8_lossy(&output.stderr));
            }
            let text = String::from_utf8(output.stdout)?;
            let mut fields = text.split_whitespace();
            let seconds: f64 = fields.next().context("no time")?.parse()?;
            let peak: u64 = fields.next().context("no peak memory")?.parse()?;
            println!(
                "round {round}: {name:<13} {seconds:>8.3} s  {:>8.1} MB peak",
                peak as f64 / 1000.0
            );
            collected.seconds.push(seconds);
            collected.peak_kib.push(peak);
        }
    }
    Ok(samples)
}

/// Reads `report` once so that the run after it starts with the file in the page cache, as
/// every contender's does: this machine's kernel drops cached files within a minute, and a
/// run that read from disk would measure the disk.
fn warm_page_cache(report: &Path) -> Result<()> {
    let mut file = File::open(report).context("opening the report")?;
    std::io::copy(&mut file, &mut std::io::sink()).context("reading the report")?;
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        f64::midpoint(sorted[middle - 1], sorted[middle])
    } else {
        sorted[middle]
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map_or_else(
            || "unknown".to_owned(),
            |rest| rest.trim_start_matches([' ', '\t', ':']).to_owned(),
        );
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_default();
    format!(
        "`nproc` = {}, CPU: {model}, memory: {memory}, {}, {}",
        command_output("nproc", &[]),
        command_output("rustc", &["-V"]),
        command_output("python3", &["--version"]),
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn render_section(
    samples: &[(&'static str, Samples)],
    file_bytes: u64,
    runs: usize,
    size_mb: u64,
) -> Result<String> {
    let time_of = |name: &str| -> Result<f64> { Ok(median(&samples_of(samples, name)?.seconds)) };
    let peak_of = |name: &str| -> f64 {
        samples_of(samples, name).map_or(0.0, |collected| {
            collected.peak_kib.iter().copied().max().unwrap_or(0) as f64 * 1024.0
        })
    };
    let (python, typed, slice, reader, floor) = (
        time_of("python")?,
        time_of("typed")?,
        time_of("typed-slice")?,
        time_of("typed-reader")?,
        time_of("ignored")?,
    );
    let file = file_bytes as f64;

    let mut out = String::from("## trivy\n\n");
    let _ = writeln!(
        out,
        "Typed parsing of a {:.1} MB Trivy report (the results of every fixture in \
         `shared/fixtures/trivy`, replicated; pretty-printed like Trivy's output). Each figure is \
         the median of {runs} runs, each run a fresh process that reads the file and parses it \
         (deallocation not timed), started right after the file was read once into the page \
         cache. Peak memory is the process's `VmHWM`, the highest of the runs.\n",
        mb(file_bytes)
    );
    let _ = writeln!(
        out,
        "Command: `cargo xtask bench trivy --size-mb {size_mb} --runs {runs}`\n"
    );
    let _ = writeln!(out, "Machine: {}\n", machine());
    out.push_str("| contender | median time | MB/s | peak memory | memory / file size |\n");
    out.push_str("|:--|--:|--:|--:|--:|\n");
    for (name, label) in [
        (
            "typed",
            "`Report::from_path` (typed; the file read into memory, which the model shares)",
        ),
        (
            "typed-slice",
            "`Report::from_slice` (typed; the file read into memory, every string copied)",
        ),
        (
            "typed-reader",
            "`Report::from_reader` (typed, streamed from the file)",
        ),
        (
            "ignored",
            "`serde::de::IgnoredAny` (lexing floor, file in memory)",
        ),
        ("python", "`python3 -c 'import json; json.load(...)'`"),
    ] {
        let seconds = time_of(name)?;
        let peak = peak_of(name);
        let _ = writeln!(
            out,
            "| {label} | {seconds:.3} s | {:.0} | {:.1} MB | {:.2}x |",
            mb(file_bytes) / seconds,
            peak / 1e6,
            peak / file
        );
    }

    let speedup = python / typed;
    let same_round = same_round_speedups(samples)?;
    let floor_ratio = typed / floor;
    let memory_typed = peak_of("typed") / file;
    out.push_str("\n| target | result | status |\n|:--|--:|:--|\n");
    let _ = writeln!(
        out,
        "| typed at least {SPEEDUP_OVER_PYTHON}x faster than Python | {speedup:.1}x | {} |",
        verdict(speedup >= SPEEDUP_OVER_PYTHON)
    );
    let _ = writeln!(
        out,
        "| typed within {MAX_RATIO_TO_FLOOR}x of the `IgnoredAny` floor | {floor_ratio:.2}x | {} |",
        verdict(floor_ratio <= MAX_RATIO_TO_FLOOR)
    );
    let _ = writeln!(
        out,
        "| typed peak memory at most {MAX_MEMORY_RATIO}x the file | {memory_typed:.2}x | {} |",
        verdict(memory_typed <= MAX_MEMORY_RATIO)
    );
    let _ = writeln!(
        out,
        "\nPython's time divided by typed's within the same round (so that a slow moment of \
         the machine counts against both): median {:.1}x, lowest {:.1}x, highest {:.1}x.",
        median(&same_round),
        same_round.iter().copied().fold(f64::INFINITY, f64::min),
        same_round.iter().copied().fold(0.0, f64::max),
    );
    let _ = writeln!(
        out,
        "\n\"Typed\" is `Report::from_path`. The other ways, against the floor and Python: \
         `from_slice` {:.2}x and {:.1}x, `from_reader` {:.2}x and {:.1}x.",
        slice / floor,
        python / slice,
        reader / floor,
        python / reader
    );
    Ok(out)
}

/// The samples of the contender called `name`.
fn samples_of<'a>(samples: &'a [(&'static str, Samples)], name: &str) -> Result<&'a Samples> {
    samples
        .iter()
        .find(|(contender, _)| *contender == name)
        .map(|(_, collected)| collected)
        .with_context(|| format!("no samples for {name}"))
}

/// Python's time divided by typed's, round by round.
fn same_round_speedups(samples: &[(&'static str, Samples)]) -> Result<Vec<f64>> {
    let python = &samples_of(samples, "python")?.seconds;
    let typed = &samples_of(samples, "typed")?.seconds;
    Ok(python
        .iter()
        .zip(typed)
        .map(|(python, typed)| python / typed)
        .collect())
}

/// Replaces the `## trivy` section of `BENCHMARKS.md` (up to the next `## ` heading), or
/// appends it; creates the file when missing.
fn write_section(path: &Path, section: &str) -> Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    let start = existing
        .find("\n## trivy\n")
        .map(|index| index + 1)
        .or_else(|| existing.starts_with("## trivy\n").then_some(0));

    let updated = match start {
        Some(start) => {
            let rest = &existing[start + 1..];
            let end = rest
                .find("\n## ")
                .map_or(existing.len(), |index| start + 1 + index + 1);
            format!(
                "{}{}\n\n{}",
                &existing[..start],
                section.trim_end(),
                &existing[end..]
            )
            .trim_end()
            .to_owned()
                + "\n"
        }
        None => format!("{}\n\n{}", existing.trim_end(), section.trim_end()) + "\n",
    };
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}
