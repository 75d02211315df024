//! Measurement helper for `cargo xtask bench trivy`: parses one report file in one mode and
//! prints `<seconds> <peak resident KiB>` (peak from `VmHWM` in `/proc/self/status`).
//!
//! Modes: `typed` (`Report::from_path`: the file read into memory, which the model shares),
//! `typed-slice` (read the file, then `Report::from_slice`, which copies every string),
//! `typed-reader` (stream with `Report::from_reader`, the whole file never in memory),
//! `ignored` (read the file, then `serde::de::IgnoredAny`: the lexing floor).

use std::fs::File;
use std::hint::black_box;
use std::time::Instant;

use serde::de::IgnoredAny;
use wharf_trivy_report::Report;

fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The number of vulnerabilities of a parsed report (so the parse cannot be optimised away).
fn findings(parsed: Result<Report, wharf_trivy_report::Error>) -> usize {
    let report = parsed.expect("the report parses");
    let count = report.vulnerabilities().count();
    // Deallocation is left out of the timing, as for Python (the process exits).
    std::mem::forget(report);
    count
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: parse-bench typed|typed-slice|typed-reader|ignored FILE");
        std::process::exit(2);
    };

    let started = Instant::now();
    let findings = match mode.as_str() {
        "typed" => findings(Report::from_path(&path)),
        "typed-slice" => {
            let bytes = std::fs::read(&path).expect("the report is readable");
            findings(Report::from_slice(&bytes))
        }
        "typed-reader" => {
            let file = File::open(&path).expect("the report is readable");
            findings(Report::from_reader(file))
        }
        "ignored" => {
            let bytes = std::fs::read(&path).expect("the report is readable");
            black_box(serde_json::from_slice::<IgnoredAny>(&bytes).expect("the report is JSON"));
            0
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    };
    let seconds = started.elapsed().as_secs_f64();

    black_box(findings);
    println!("{seconds:.6} {}", peak_resident_kib());
}
