//! `cargo xtask`: services, test, demo, bench, codegen and fuzz tasks for Wharf.
//!
//! Each task is a module; `main` only dispatches on the first argument.

mod bench;
mod codegen;
mod demo;
mod fuzz;
mod paths;
mod services;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  services up|down|status|env   run the local service stack (target/services/)
  test                          services up, then fmt, clippy, doc, codegen check, tests
  demo                          bring the stack up and show that Wharf works against it
  bench <name> [args]           run a benchmark (xtask/src/bench/<name>.rs)
  codegen <name> [args]         regenerate code (e.g. `codegen harbor --check`)
  fuzz [args]                   run the fuzz targets";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let result = match task.as_str() {
        "services" => services::run(rest),
        "test" => test::run(rest),
        "demo" => demo::run(rest),
        "bench" => bench::run(rest),
        "codegen" => codegen::run(rest),
        "fuzz" => fuzz::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("unknown task `{other}`\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
