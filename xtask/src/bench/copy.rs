//! `cargo xtask bench copy`: Wharf's `copy` against `skopeo sync` and a `curl` floor.
//!
//! The corpus is written as an OCI layout and pushed once to a source registry. Every timed
//! run copies into a destination registry started empty just before it (the restart is not
//! timed). Runs alternate between the tools so that drift on the machine hits all of them.
//! Results go to stdout and to the `copy` section of `BENCHMARKS.md`.
//!
//! Options: `--runs N` (default 5), `--scale F` (layer sizes times F, default 1.0),
//! `--big-mb N` (size of the one-layer image, default 1000), `--no-write` (skip BENCHMARKS.md).

mod corpus;
mod runner;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::paths;
use corpus::{Corpus, write_services_corpus, write_single_layer_corpus};
use runner::{Measurement, Registry, measure, median};

const REPOSITORIES: usize = 13;

/// Benchmark settings from the command line.
struct Settings {
    runs: usize,
    scale: f64,
    big_mb: u64,
    write_report: bool,
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let settings = parse_args(args)?;
    let work = paths::workspace_root().join("target/bench/copy");
    std::fs::create_dir_all(&work)?;
    let copy_bin = build_copy_binary()?;
    println!("writing the corpus (scale {})", settings.scale);
    let corpus = write_services_corpus(&work.join("corpus"), settings.scale, REPOSITORIES)?;
    let source = Registry::start(&work)?;
    push_corpus(&corpus, &source.host)?;
    let tools = Tools {
        copy_bin,
        work: work.clone(),
        source: source.host.clone(),
    };
    let fresh = fresh_runs(&tools, &corpus, settings.runs)?;
    let noop = noop_runs(&tools, &corpus, settings.runs)?;
    drop(source);
    let big = big_layer_runs(&tools, settings.big_mb, settings.runs.min(3))?;
    let report = render(&settings, &corpus, &fresh, &noop, &big);
    println!("{report}");
    if settings.write_report {
        write_section(&report)?;
    }
    Ok(())
}

fn parse_args(args: &[String]) -> Result<Settings> {
    let mut settings = Settings {
        runs: 5,
        scale: 1.0,
        big_mb: 1000,
        write_report: true,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value").cloned();
        match arg.as_str() {
            "--runs" => settings.runs = value()?.parse()?,
            "--scale" => settings.scale = value()?.parse()?,
            "--big-mb" => settings.big_mb = value()?.parse()?,
            "--no-write" => settings.write_report = false,
            other => bail!("unknown option {other}; see xtask/src/bench/copy.rs"),
        }
    }
    Ok(settings)
}

fn build_copy_binary() -> Result<PathBuf> {
    println!("building the copy binary (release)");
    let status = Command::new(paths::cargo())
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "wharf-examples",
            "--bin",
            "copy",
        ])
        .current_dir(paths::workspace_root())
        .status()?;
    if !status.success() {
        bail!("cargo build of the copy binary failed");
    }
    Ok(paths::cargo_target_dir().join("release/copy"))
}

/// Pushes every image of the layout with skopeo (shared layers go up once).
fn push_corpus(corpus: &Corpus, registry: &str) -> Result<()> {
    println!(
        "pushing {} images ({} MB unique) to {registry}",
        corpus.images.len(),
        corpus.unique_bytes() / 1_000_000
    );
    for image in &corpus.images {
        let status = Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!(
                "oci:{}:{}",
                corpus.layout.display(),
                image.layout_name
            ))
            .arg(format!(
                "docker://{registry}/{}:{}",
                image.repository, image.tag
            ))
            .status()
            .context("cannot run skopeo (apt-get install skopeo)")?;
        if !status.success() {
            bail!("skopeo could not push {}", image.layout_name);
        }
    }
    Ok(())
}

struct Tools {
    copy_bin: PathBuf,
    work: PathBuf,
    source: String,
}

impl Tools {
    fn repositories(corpus: &Corpus) -> Vec<String> {
        let mut repos: Vec<String> = corpus.images.iter().map(|i| i.repository.clone()).collect();
        repos.dedup();
        repos
    }

    fn wharf(&self, corpus: &Corpus, destination: &str) -> Result<Measurement> {
        let mut args = vec![
            "--plain-http".to_owned(),
            self.source.clone(),
            "--plain-http".to_owned(),
            destination.to_owned(),
            "--to".to_owned(),
            format!("{destination}/mirror"),
        ];
        args.extend(
            Self::repositories(corpus)
                .iter()
                .map(|r| format!("{}/{r}", self.source)),
        );
        measure("wharf copy", &self.copy_bin.to_string_lossy(), &args)
    }

    fn skopeo_sync(&self, corpus: &Corpus, destination: &str) -> Result<Measurement> {
        let yaml = self.work.join("sync.yaml");
        let mut text = format!("{}:\n  tls-verify: false\n  images:\n", self.source);
        for repo in Self::repositories(corpus) {
            let _ = writeln!(text, "    {repo}: []");
        }
        std::fs::write(&yaml, text)?;
        let args = [
            "sync".to_owned(),
            "--src".to_owned(),
            "yaml".to_owned(),
            "--dest".to_owned(),
            "docker".to_owned(),
            "--dest-tls-verify=false".to_owned(),
            yaml.to_string_lossy().into_owned(),
            format!("{destination}/mirror"),
        ];
        measure("skopeo sync", "skopeo", &args)
    }

    /// Uploads every distinct blob from disk with curl, four at a time: POST then one PUT.
    fn curl_floor(&self, corpus: &Corpus, destination: &str) -> Result<Measurement> {
        let list = self.work.join("blobs.txt");
        let lines: Vec<String> = corpus
            .blobs
            .iter()
            .map(|b| format!("{} {}", b.digest, b.path.display()))
            .collect();
        std::fs::write(&list, lines.join("\n") + "\n")?;
        let script = format!(
            r#"upload() {{ loc=$(curl -sf -X POST -D - -o /dev/null "http://{destination}/v2/floor/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p'); case "$loc" in http*) ;; *) loc="http://{destination}$loc";; esac; sep='?'; case "$loc" in *'?'*) sep='&';; esac; curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$loc${{sep}}digest=$1" -o /dev/null; }}; export -f upload; xargs -P 4 -L 1 bash -c 'upload "$0" "$1"' < {}"#,
            list.display()
        );
        measure("curl floor", "bash", &["-c".to_owned(), script])
    }

    fn skopeo_copy(source: &str, destination: &str) -> Result<Measurement> {
        let args = [
            "copy".to_owned(),
            "--src-tls-verify=false".to_owned(),
            "--dest-tls-verify=false".to_owned(),
            format!("docker://{source}"),
            format!("docker://{destination}"),
        ];
        measure("skopeo copy", "skopeo", &args)
    }
}

/// Timings of one tool over several runs.
#[derive(Default)]
struct Series {
    walls: Vec<Duration>,
    peak_rss_kib: u64,
}

impl Series {
    fn add(&mut self, measurement: Measurement) {
        self.walls.push(measurement.wall);
        self.peak_rss_kib = self.peak_rss_kib.max(measurement.peak_rss_kib);
    }

    fn median(&self) -> Duration {
        median(&mut self.walls.clone())
    }
}

struct Fresh {
    wharf: Series,
    skopeo: Series,
    floor: Series,
}

fn fresh_runs(tools: &Tools, corpus: &Corpus, runs: usize) -> Result<Fresh> {
    let mut fresh = Fresh {
        wharf: Series::default(),
        skopeo: Series::default(),
        floor: Series::default(),
    };
    for run in 1..=runs {
        let destination = Registry::start(&tools.work)?;
        fresh.wharf.add(tools.wharf(corpus, &destination.host)?);
        drop(destination);
        let destination = Registry::start(&tools.work)?;
        fresh
            .skopeo
            .add(tools.skopeo_sync(corpus, &destination.host)?);
        drop(destination);
        let destination = Registry::start(&tools.work)?;
        fresh
            .floor
            .add(tools.curl_floor(corpus, &destination.host)?);
        drop(destination);
        println!(
            "fresh run {run}/{runs}: wharf {:.2} s, skopeo {:.2} s, floor {:.2} s",
            secs(*fresh.wharf.walls.last().expect("measured")),
            secs(*fresh.skopeo.walls.last().expect("measured")),
            secs(*fresh.floor.walls.last().expect("measured")),
        );
    }
    Ok(fresh)
}

struct Noop {
    wharf: Series,
    skopeo: Series,
}

/// No-op re-runs against destinations filled by one untimed run of the same tool.
fn noop_runs(tools: &Tools, corpus: &Corpus, runs: usize) -> Result<Noop> {
    let mut noop = Noop {
        wharf: Series::default(),
        skopeo: Series::default(),
    };
    let wharf_destination = Registry::start(&tools.work)?;
    tools.wharf(corpus, &wharf_destination.host)?;
    let skopeo_destination = Registry::start(&tools.work)?;
    tools.skopeo_sync(corpus, &skopeo_destination.host)?;
    for run in 1..=runs {
        noop.wharf
            .add(tools.wharf(corpus, &wharf_destination.host)?);
        noop.skopeo
            .add(tools.skopeo_sync(corpus, &skopeo_destination.host)?);
        println!(
            "no-op run {run}/{runs}: wharf {:.3} s, skopeo {:.3} s",
            secs(*noop.wharf.walls.last().expect("measured")),
            secs(*noop.skopeo.walls.last().expect("measured")),
        );
    }
    Ok(noop)
}

struct Big {
    megabytes: u64,
    wharf: Series,
    skopeo: Series,
}

fn big_layer_runs(tools: &Tools, megabytes: u64, runs: usize) -> Result<Big> {
    println!("writing a {megabytes} MB one-layer image");
    let corpus = write_single_layer_corpus(&tools.work.join("big"), megabytes * 1_000_000)?;
    let source = Registry::start(&tools.work)?;
    push_corpus(&corpus, &source.host)?;
    let big_tools = Tools {
        copy_bin: tools.copy_bin.clone(),
        work: tools.work.clone(),
        source: source.host.clone(),
    };
    let image = &corpus.images[0];
    let mut big = Big {
        megabytes,
        wharf: Series::default(),
        skopeo: Series::default(),
    };
    for run in 1..=runs {
        let destination = Registry::start(&tools.work)?;
        big.wharf.add(big_tools.wharf(&corpus, &destination.host)?);
        drop(destination);
        let destination = Registry::start(&tools.work)?;
        let from = format!("{}/{}:{}", source.host, image.repository, image.tag);
        let to = format!(
            "{}/mirror/{}:{}",
            destination.host, image.repository, image.tag
        );
        big.skopeo.add(Tools::skopeo_copy(&from, &to)?);
        drop(destination);
        println!(
            "1 GB run {run}/{runs}: wharf {:.2} s, skopeo {:.2} s",
            secs(*big.wharf.walls.last().expect("measured")),
            secs(*big.skopeo.walls.last().expect("measured")),
        );
    }
    Ok(big)
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn render(settings: &Settings, corpus: &Corpus, fresh: &Fresh, noop: &Noop, big: &Big) -> String {
    let mut text = String::new();
    let cpu = cpu_model();
    let _ = writeln!(text, "## copy\n");
    let _ = writeln!(
        text,
        "Command: `cargo xtask bench copy --runs {} --scale {} --big-mb {}`. Machine: {} cores, {cpu}. \
         Corpus: {} images in {REPOSITORIES} repositories, {:.0} MB of distinct blobs; every destination \
         registry (distribution 2.8 on 127.0.0.1, filesystem storage) started empty before each fresh run.\n",
        settings.runs,
        settings.scale,
        settings.big_mb,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        corpus.images.len(),
        corpus.unique_bytes() as f64 / 1e6,
    );
    let _ = writeln!(
        text,
        "| run | Wharf copy | skopeo | floor (curl, 4 parallel) | skopeo / Wharf | Wharf / floor |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|");
    let (w, s, f) = (
        fresh.wharf.median(),
        fresh.skopeo.median(),
        fresh.floor.median(),
    );
    let _ = writeln!(
        text,
        "| fresh copy, median of {} | {:.2} s | {:.2} s (sync) | {:.2} s | {:.2}x | {:.2}x |",
        fresh.wharf.walls.len(),
        secs(w),
        secs(s),
        secs(f),
        secs(s) / secs(w),
        secs(w) / secs(f)
    );
    let (wn, sn) = (noop.wharf.median(), noop.skopeo.median());
    let _ = writeln!(
        text,
        "| no-op re-run, median of {} | {:.3} s | {:.3} s (sync) | | {:.2}x | |",
        noop.wharf.walls.len(),
        secs(wn),
        secs(sn),
        secs(sn) / secs(wn)
    );
    let (wb, sb) = (big.wharf.median(), big.skopeo.median());
    let _ = writeln!(
        text,
        "| {} MB one-layer image, median of {} | {:.2} s | {:.2} s (copy) | | {:.2}x | |\n",
        big.megabytes,
        big.wharf.walls.len(),
        secs(wb),
        secs(sb),
        secs(sb) / secs(wb)
    );
    let _ = writeln!(
        text,
        "Peak RSS (largest over the runs, `/usr/bin/time -v`):\n"
    );
    let _ = writeln!(text, "| | Wharf copy | skopeo |");
    let _ = writeln!(text, "|---|---|---|");
    let mib = |kib: u64| kib as f64 / 1024.0;
    let _ = writeln!(
        text,
        "| corpus | {:.1} MiB | {:.1} MiB |",
        mib(fresh.wharf.peak_rss_kib),
        mib(fresh.skopeo.peak_rss_kib)
    );
    let _ = writeln!(
        text,
        "| one large layer | {:.1} MiB | {:.1} MiB |",
        mib(big.wharf.peak_rss_kib),
        mib(big.skopeo.peak_rss_kib)
    );
    write_targets(&mut text, fresh, noop, big);
    write_runs(&mut text, fresh, noop, big);
    text
}

/// The targets of the copy issue against this run's figures.
fn write_targets(text: &mut String, fresh: &Fresh, noop: &Noop, big: &Big) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let fresh_ratio = secs(fresh.skopeo.median()) / secs(fresh.wharf.median());
    let noop_ratio = secs(noop.skopeo.median()) / secs(noop.wharf.median());
    let floor_ratio = secs(fresh.wharf.median()) / secs(fresh.floor.median());
    let (corpus_rss, big_rss) = (mib(fresh.wharf.peak_rss_kib), mib(big.wharf.peak_rss_kib));
    let status = |met: bool| if met { "met" } else { "MISSED" };
    let _ = writeln!(text, "\n| target | result | status |\n|:--|--:|:--|");
    let rows = [
        (
            "fresh copy at least 1.4x faster than `skopeo sync`",
            format!("{fresh_ratio:.2}x"),
            fresh_ratio >= 1.4,
        ),
        (
            "no-op re-run at least 2x faster than skopeo's",
            format!("{noop_ratio:.2}x"),
            noop_ratio >= 2.0,
        ),
        (
            "peak RSS at most 32 MiB, corpus",
            format!("{corpus_rss:.1} MiB"),
            corpus_rss <= 32.0,
        ),
        (
            "peak RSS at most 32 MiB, large layer",
            format!("{big_rss:.1} MiB"),
            big_rss <= 32.0,
        ),
        (
            "fresh copy within 1.3x of the floor",
            format!("{floor_ratio:.2}x"),
            floor_ratio <= 1.3,
        ),
    ];
    for (target, result, met) in rows {
        let _ = writeln!(text, "| {target} | {result} | {} |", status(met));
    }
}

/// Every run's wall time, in the order run, so drift on the machine shows.
fn write_runs(text: &mut String, fresh: &Fresh, noop: &Noop, big: &Big) {
    let list = |walls: &[Duration]| {
        walls
            .iter()
            .map(|wall| format!("{:.2}", secs(*wall)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        text,
        "\nEvery run in seconds, in the order run (the tools alternate within a round): fresh \
         Wharf {}; skopeo {}; floor {}. No-op Wharf {}; skopeo {}. Large layer Wharf {}; \
         skopeo {}.",
        list(&fresh.wharf.walls),
        list(&fresh.skopeo.walls),
        list(&fresh.floor.walls),
        list(&noop.wharf.walls),
        list(&noop.skopeo.walls),
        list(&big.wharf.walls),
        list(&big.skopeo.walls),
    );
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// Replaces the `## copy` section of BENCHMARKS.md in place (or appends it), keeping the
/// others, such as hand-written notes under their own `## ` heading.
fn write_section(section: &str) -> Result<()> {
    let path: &Path = &paths::workspace_root().join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\n".to_owned());
    let mut out = String::new();
    let mut skipping = false;
    let mut written = false;
    for line in existing.lines() {
        if line.starts_with("## ") {
            skipping = line.trim() == "## copy";
            if skipping {
                out.push_str(section.trim_end());
                out.push_str("\n\n");
                written = true;
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !written {
        out = out.trim_end().to_owned() + "\n\n" + section;
    }
    std::fs::write(path, out)?;
    println!("wrote the copy section of {}", path.display());
    Ok(())
}
