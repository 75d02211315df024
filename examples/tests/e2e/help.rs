//! What every binary shares: `--help` with examples, `--version`, and exit code 2 for a
//! command line it cannot use.

use std::process::Command;

/// Every binary of the crate, with its name.
const BINARIES: [(&str, &str); 9] = [
    ("copy", env!("CARGO_BIN_EXE_copy")),
    ("health", env!("CARGO_BIN_EXE_health")),
    ("migrate", env!("CARGO_BIN_EXE_migrate")),
    ("mirror", env!("CARGO_BIN_EXE_mirror")),
    ("promote", env!("CARGO_BIN_EXE_promote")),
    ("publish", env!("CARGO_BIN_EXE_publish")),
    ("pull-secret", env!("CARGO_BIN_EXE_pull-secret")),
    ("push", env!("CARGO_BIN_EXE_push")),
    ("scan-gate", env!("CARGO_BIN_EXE_scan-gate")),
];

#[test]
fn every_binary_shows_examples_a_version_and_refuses_unknown_flags_with_2() {
    for (name, binary) in BINARIES {
        let help = Command::new(binary).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert_eq!(help.status.code(), Some(0), "{name} --help");
        assert!(
            text.contains("Examples:"),
            "{name} --help has no examples:\n{text}"
        );
        assert!(
            text.contains(&format!("  {name} ")),
            "{name} --help shows no invocation of {name}:\n{text}"
        );

        let version = Command::new(binary).arg("--version").output().unwrap();
        assert_eq!(version.status.code(), Some(0), "{name} --version");
        assert!(
            String::from_utf8_lossy(&version.stdout).starts_with(&format!("{name} ")),
            "{name} --version"
        );

        let wrong = Command::new(binary).arg("--no-such-flag").output().unwrap();
        assert_eq!(wrong.status.code(), Some(2), "{name} --no-such-flag");
        assert!(
            String::from_utf8_lossy(&wrong.stderr).contains("--no-such-flag"),
            "{name} names the flag it refused"
        );
    }
}
