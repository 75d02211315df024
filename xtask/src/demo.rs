//! `cargo xtask demo`: the ECR-to-Harbor story, run for real against the local stack.
//!
//! Builds the example binaries, brings the service stack up, starts the Harbor simulator in
//! the background, seeds moto (as ECR) and a plain registry (as the ECR registry host) with a
//! multi-arch image and a vulnerable one, then runs `migrate`, `promote`, `pull-secret`,
//! `publish` and `health`, timing each step. A step whose binary did not build is reported as
//! skipped, never as done; any step that ran and failed makes the demo exit non-zero. The
//! stack and the simulator keep running afterwards.

mod harbor;
mod images;
mod packages;
mod steps;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail, ensure};

use crate::paths;
use crate::services;
use harbor::Harbor;
use images::{Layout, Moto};
use steps::{Binaries, Steps};

/// The fake AWS account and region of the ECR stand-in (moto's default account).
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";

/// Runs the demo.
pub fn run(_args: &[String]) -> Result<()> {
    let started = Instant::now();
    let mut steps = Steps::default();
    println!("Wharf demo: migrating a team from ECR to Harbor, on this machine.\n");
    let binaries = steps.build()?;
    let env = steps.must("start the service stack", || {
        let stack = services::up()?;
        let env = stack.environment();
        Ok((format!("{} services healthy", stack.outcomes.len()), env))
    })?;
    let var = |name: &str| lookup(&env, name);
    let harbor = steps.must("start the Harbor simulator", || {
        let harbor = harbor::start(&binaries.path("wharf-testkit"))?;
        let summary = format!(
            "{} (registry {}), pid {}",
            harbor.url, harbor.registry, harbor.pid
        );
        Ok((summary, harbor))
    })?;
    let work = paths::services_dir().join("demo");
    std::fs::create_dir_all(&work)?;
    let ecr_host = var("WHARF_REGISTRY_PLAIN")?;
    let moto_url = var("WHARF_MOTO_URL")?;
    steps.must("seed ECR (moto + stand-in registry)", || {
        seed_ecr(&work, &ecr_host, &moto_url).map(|summary| (summary, ()))
    })?;
    let demo = Demo {
        binaries: &binaries,
        harbor: &harbor,
        work: &work,
    };
    steps.binary(
        &binaries,
        "migrate",
        "migrate ECR -> Harbor staging",
        || demo.migrate(&ecr_host, &moto_url),
    );
    steps.binary(&binaries, "promote", "promote through the gate", || {
        demo.promote()
    });
    steps.binary(
        &binaries,
        "pull-secret",
        "pull secret for production",
        || demo.pull_secret(),
    );
    steps.binary(
        &binaries,
        "publish",
        "publish a wheel and an npm package",
        || {
            demo.publish(
                &var("WHARF_PYPI_URL")?,
                &var("WHARF_PYPI_USER")?,
                &var("WHARF_PYPI_PASSWORD")?,
                &var("WHARF_NPM_URL")?,
                &var("WHARF_NPM_TOKEN")?,
            )
        },
    );
    steps.binary(&binaries, "health", "Harbor health", || demo.health());
    steps.summary(started.elapsed());
    explore(&harbor, &work);
    if steps.failed() {
        bail!("a demo step failed (see above)");
    }
    Ok(())
}

fn lookup(env: &[(String, String)], name: &str) -> Result<String> {
    env.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .with_context(|| format!("the stack does not set {name}"))
}

/// Writes the two sample images, pushes them to the stand-in registry and registers the same
/// manifests with moto.
fn seed_ecr(work: &Path, ecr_host: &str, moto_url: &str) -> Result<String> {
    let mut layout = Layout::create(&work.join("layout"))?;
    let amd64 = layout.image("amd64", "shop api 1.0 for amd64\n")?;
    let arm64 = layout.image("arm64", "shop api 1.0 for arm64\n")?;
    let api = layout.index(&[("amd64", &amd64), ("arm64", &arm64)])?;
    let legacy = layout.image("amd64", "legacy shop 2.3, alpine 3.9 inside\n")?;
    layout.tag("api", &api)?;
    layout.tag("legacy", &legacy)?;
    let moto = Moto {
        url: moto_url,
        region: REGION,
    };
    for (repository, tag, written, name) in [
        ("shop/api", "1.0", &api, "api"),
        ("shop/legacy", "2.3", &legacy, "legacy"),
    ] {
        layout.push(name, &format!("{ecr_host}/{repository}:{tag}"))?;
        moto.create_repository(repository)?;
        moto.put_image(repository, tag, written)?;
    }
    Ok(format!(
        "shop/api:1.0 (index, amd64 + arm64) and shop/legacy:2.3 in account {ACCOUNT} \
         {REGION}, bytes in {ecr_host}"
    ))
}

/// What the binary steps share.
struct Demo<'a> {
    binaries: &'a Binaries,
    harbor: &'a Harbor,
    work: &'a Path,
}

impl Demo<'_> {
    fn harbor_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HARBOR_URL", self.harbor.url.clone()),
            ("HARBOR_USER", self.harbor.user.clone()),
            ("HARBOR_PASSWORD", self.harbor.password.clone()),
        ]
    }

    fn migrate(&self, ecr_host: &str, moto_url: &str) -> Result<String> {
        let mapping = self.work.join("mapping.toml");
        std::fs::write(
            &mapping,
            format!(
                "[[registries]]\naccount = \"{ACCOUNT}\"\nregion = \"{REGION}\"\n\
                 harbor = \"{}\"\ndefault_project = \"staging\"\n",
                self.harbor.registry
            ),
        )?;
        let config = self.work.join("migrate.toml");
        std::fs::write(&config, self.migrate_config(ecr_host, moto_url, &mapping))?;
        let report = self.work.join("migrate-report.json");
        let mut env = self.harbor_env();
        env.extend([
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
        ]);
        let config_arg = config.display().to_string();
        let report_arg = report.display().to_string();
        let plan_arg = self.work.join("migrate-plan.json").display().to_string();
        let plan = self.binaries.run(
            "migrate",
            &[
                "run",
                "--config",
                &config_arg,
                "--dry-run",
                "--report",
                &plan_arg,
            ],
            &env,
        )?;
        ensure!(plan.success(), "migrate --dry-run failed:\n{}", plan.text);
        println!("    dry run (nothing created):\n{}", indent(&plan.text, 12));
        let run = self.binaries.run(
            "migrate",
            &["run", "--config", &config_arg, "--report", &report_arg],
            &env,
        )?;
        ensure!(run.success(), "migrate run failed:\n{}", run.text);
        println!("{}", indent(&run.text, 12));
        let rerun = self.binaries.run(
            "migrate",
            &["run", "--config", &config_arg, "--report", &report_arg],
            &env,
        )?;
        ensure!(
            rerun.success(),
            "the second migrate run failed:\n{}",
            rerun.text
        );
        Ok(format!(
            "copied into {}/staging; a second run found everything up to date; report {}",
            self.harbor.registry,
            report.display()
        ))
    }

    fn migrate_config(&self, ecr_host: &str, moto_url: &str, mapping: &Path) -> String {
        let harbor_host = self.harbor.url.trim_start_matches("http://");
        format!(
            r#"plain_http = ["{ecr_host}", "{registry}", "{harbor_host}"]

[target]
url = "{url}"
registry = "{registry}"
username = "{user}"

[target.project_defaults]
auto_scan = true

[[sources]]
kind = "ecr"
account = "{ACCOUNT}"
region = "{REGION}"
prefix = "shop/"
endpoint_url = "{moto_url}"
registry_host = "{ecr_host}"
mapping = "{mapping}"
"#,
            registry = self.harbor.registry,
            url = self.harbor.url,
            user = self.harbor.user,
            mapping = mapping.display(),
        )
    }

    fn promote(&self) -> Result<String> {
        self.create_project("production")?;
        let env = self.harbor_env();
        let passed = self.binaries.run(
            "promote",
            &[
                "--from",
                "staging/shop/api:1.0",
                "--to",
                "production",
                "--tag",
                "stable",
                "--timeout",
                "120",
            ],
            &env,
        )?;
        ensure!(
            passed.success(),
            "promoting shop/api failed:\n{}",
            passed.text
        );
        println!(
            "    shop/api:1.0 (clean scan):\n{}",
            indent(&passed.text, 12)
        );
        let refused = self.binaries.run(
            "promote",
            &[
                "--from",
                "staging/shop/legacy:2.3",
                "--to",
                "production",
                "--tag",
                "stable",
            ],
            &env,
        )?;
        ensure!(
            refused.code == Some(1),
            "the gate should refuse shop/legacy (exit 1), got {:?}:\n{}",
            refused.code,
            refused.text
        );
        println!(
            "    shop/legacy:2.3 (scanned with a vulnerable Trivy report), refused:\n{}",
            indent(&refused.text, 12)
        );
        Ok(
            "shop/api:1.0 promoted as production/shop/api:stable; shop/legacy:2.3 refused (exit 1)"
                .to_owned(),
        )
    }

    fn create_project(&self, name: &str) -> Result<()> {
        let output = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-H", "Content-Type: application/json", "-u"])
            .arg(format!("{}:{}", self.harbor.user, self.harbor.password))
            .arg("--data")
            .arg(format!(
                r#"{{"project_name":"{name}","metadata":{{"public":"false"}}}}"#
            ))
            .arg(format!("{}/api/v2.0/projects", self.harbor.url))
            .output()
            .context("cannot run curl")?;
        let status = String::from_utf8_lossy(&output.stdout);
        ensure!(
            status == "201" || status == "409",
            "creating project {name} answered {status}"
        );
        Ok(())
    }

    fn pull_secret(&self) -> Result<String> {
        let out_dir = self.work.join("secrets");
        if out_dir.exists() {
            std::fs::remove_dir_all(&out_dir)?;
        }
        let out_arg = out_dir.display().to_string();
        let env = self.harbor_env();
        let create = self.binaries.run(
            "pull-secret",
            &[
                "create",
                "--project",
                "production",
                "--name",
                "k8s-pull",
                "--namespace",
                "shop,payments",
                "--out-dir",
                &out_arg,
            ],
            &env,
        )?;
        ensure!(
            create.success(),
            "pull-secret create failed:\n{}",
            create.text
        );
        println!("{}", indent(&create.text, 12));
        let secret = first_yaml(&out_dir)?;
        let image = format!("{}/production/shop/api:stable", self.harbor.registry);
        let secret_arg = secret.display().to_string();
        let check = self.binaries.run(
            "pull-secret",
            &[
                "check",
                "--secret-file",
                &secret_arg,
                "--plain-http",
                &self.harbor.registry,
                &image,
            ],
            &env,
        )?;
        ensure!(check.success(), "pull-secret check failed:\n{}", check.text);
        println!("{}", indent(&check.text, 12));
        Ok(format!(
            "robot for production, Secrets in {}; `check` pulled {image} with one",
            out_dir.display()
        ))
    }

    fn publish(
        &self,
        pypi_url: &str,
        pypi_user: &str,
        pypi_password: &str,
        npm_url: &str,
        npm_token: &str,
    ) -> Result<String> {
        let dir = self.work.join("packages");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let version = format!("0.1.{seconds}");
        let wheel = packages::wheel(&dir, &version)?.display().to_string();
        let tarball = packages::npm_package(&dir, &version)?.display().to_string();
        let python = self.binaries.run(
            "publish",
            &["--pypi-url", pypi_url, "--user", pypi_user, &wheel],
            &[("GITEA_TOKEN", pypi_password.to_owned())],
        )?;
        ensure!(
            python.success(),
            "publishing the wheel failed:\n{}",
            python.text
        );
        println!("{}", indent(&python.text, 12));
        let npm = self.binaries.run(
            "publish",
            &["--npm-registry", npm_url, "--bearer", &tarball],
            &[("GITEA_TOKEN", npm_token.to_owned())],
        )?;
        ensure!(
            npm.success(),
            "publishing the npm package failed:\n{}",
            npm.text
        );
        println!("{}", indent(&npm.text, 12));
        Ok(format!(
            "wharf-demo {version}: wheel to pypiserver, tarball to verdaccio"
        ))
    }

    fn health(&self) -> Result<String> {
        let report = self.binaries.run("health", &[], &self.harbor_env())?;
        ensure!(
            report.success(),
            "health reports a problem:\n{}",
            report.text
        );
        println!("{}", indent(&report.text, 12));
        Ok("every component healthy, quotas under 80 %".to_owned())
    }
}

fn first_yaml(dir: &Path) -> Result<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("pull-secret wrote nothing to {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .next()
        .with_context(|| format!("no Secret file in {}", dir.display()))
}

fn indent(text: &str, width: usize) -> String {
    let pad = " ".repeat(width);
    let lines: Vec<String> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .take(25)
        .map(|line| format!("{pad}{line}"))
        .collect();
    lines.join("\n")
}

fn explore(harbor: &Harbor, work: &Path) {
    let pid_file = harbor::pid_file();
    println!(
        "\nThe stack keeps running. Explore it:\n  \
         eval \"$(cargo xtask services env)\"\n  \
         curl -u {user}:{password} {url}/api/v2.0/projects\n  \
         skopeo inspect --tls-verify=false --creds {user}:{password} \
         docker://{registry}/production/shop/api:stable\n  \
         ls {work}   # configs, report, Secrets, packages\n\
         Stop it:\n  \
         kill $(cat {pid_file})   # the Harbor simulator (log: {log})\n  \
         cargo xtask services down",
        user = harbor.user,
        password = harbor.password,
        url = harbor.url,
        registry = harbor.registry,
        work = work.display(),
        pid_file = pid_file.display(),
        log = harbor::log_file().display(),
    );
}
