//! `pull-secret`: Kubernetes image pull secrets for Harbor (a project-scoped pull-only robot)
//! and, during the migration, for ECR.
//!
//! - `create` creates the robot (or reuses it) and emits one `kubernetes.io/dockerconfigjson`
//!   Secret per namespace;
//! - `rotate` starts a rotation with overlap (a second robot; both work) and emits the new
//!   Secrets; `rotate --finish` deletes the old robot once every cluster uses the new one;
//! - `check` proves a Secret works by fetching a manifest through the registry with it;
//! - `ecr` renders the legacy ECR pull secret, refreshed long before ECR's 12-hour expiry.
//!
//! The Secrets go to stdout (one YAML stream for `kubectl apply -f -`), to files written mode
//! 0600 (`--out-dir`), or, in a build with the cargo feature `kube`, straight to the cluster
//! (`--apply`): kube-rs server-side apply with field manager `wharf-pull-secret`, using the
//! kubeconfig (`--kubeconfig`, `--context`, else `KUBECONFIG` or `~/.kube/config`) or the
//! in-cluster service account. `--apply` reports each namespace as applied or failed and
//! exits 1 when any failed. Without the feature, `--apply` is a usage error that says so.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
#[cfg(not(feature = "kube"))]
use clap::CommandFactory as _;
use clap::{Args as ClapArgs, Parser, Subcommand};
use futures::TryStreamExt as _;
use serde::Serialize;
use wharf_ecr_compat::EcrClient;
use wharf_ecr_compat::auth::EcrCredentialProvider;
use wharf_ecr_compat::error::BoxError;
use wharf_ecr_compat::pull_secret::PullSecretRefresher;
use wharf_examples::cli::{CommonArgs, OutputFormat, finish};
use wharf_examples::harbor::HarborArgs;
#[cfg(feature = "kube")]
use wharf_examples::kubernetes::cluster;
use wharf_examples::kubernetes::{SecretSink, credentials_from_file};
use wharf_examples::output::{Table, print_report};
use wharf_examples::registry::RegistryArgs;
use wharf_examples::secrets::read_secret;
use wharf_harbor_client::HarborClient;
use wharf_harbor_client::generated::models::Robot;
use wharf_harbor_client::handlers::{CreatedRobot, DockerConfigJson, RobotSpec};
use wharf_oci_core::credentials::{Credential, StaticCredentials};
use wharf_oci_core::reference::Reference;
use wharf_oci_core::secret::Secret;

const EXAMPLES: &str = "\
Examples:
  export HARBOR_URL=https://harbor.example.com HARBOR_PASSWORD=...
  # a pull-only robot for project `production`, Secrets for two namespaces on stdout
  pull-secret create --project production --name k8s-pull --namespace shop,payments | kubectl apply -f -

  # the same Secrets as files, mode 0600
  pull-secret create --project production --name k8s-pull --namespace shop --out-dir secrets/ \\
                     --robot-secret-file robot.secret

  # rotation with overlap: new robot and Secrets now, old robot deleted later
  pull-secret rotate --project production --name k8s-pull --namespace shop,payments | kubectl apply -f -
  pull-secret rotate --project production --name k8s-pull --finish

  # prove that a Secret works: fetch a manifest with its credentials
  pull-secret check --secret-file secrets/shop-harbor-pull.yaml harbor.example.com/production/api:1.4

  # the legacy ECR Secret, refreshed every few hours (or once, for a CronJob)
  pull-secret ecr --registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com --region eu-west-1 \\
                  --namespace shop --once | kubectl apply -f -

  # server-side apply straight to the cluster (a build with the `kube` feature)
  pull-secret create --project production --name k8s-pull --namespace shop,payments --apply \\
                     --context prod-eu

An existing robot's secret cannot be read back from Harbor: pass it with PULL_SECRET_ROBOT_SECRET
or --robot-secret-file to reuse the robot, or --refresh to have Harbor issue a new one (the old
one stops working at once). Exit code 0: done; 1: failed; 2: usage.";

/// Environment variable holding an existing robot's secret, for `create` to reuse it.
const ROBOT_SECRET_VAR: &str = "PULL_SECRET_ROBOT_SECRET";

/// Kubernetes pull secrets for Harbor and ECR.
#[derive(Debug, Parser)]
#[command(name = "pull-secret", version, after_help = EXAMPLES)]
struct Args {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create (or reuse) a project-scoped pull-only robot and emit its Secrets.
    Create(CreateArgs),
    /// Rotate the robot with overlap, or finish a rotation with `--finish`.
    Rotate(RotateArgs),
    /// Fetch a manifest with the credentials of a Secret (or dockerconfigjson) file.
    Check(CheckArgs),
    /// Emit the ECR pull secret, refreshed well before it expires.
    Ecr(EcrArgs),
}

/// Where the Secrets go.
#[derive(Debug, Clone, ClapArgs)]
struct EmitArgs {
    /// Namespaces to emit a Secret for (repeatable or comma-separated).
    #[arg(long = "namespace", short = 'n', value_delimiter = ',')]
    namespaces: Vec<String>,

    /// The Secrets' name.
    #[arg(long, default_value = "harbor-pull")]
    secret_name: String,

    /// Write `<namespace>-<secret-name>.yaml` files (mode 0600) here instead of stdout.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,

    #[command(flatten)]
    cluster: ClusterArgs,
}

impl EmitArgs {
    /// Whether the Secret YAML goes to stdout (the report then goes to stderr).
    fn to_stdout(&self) -> bool {
        self.out_dir.is_none() && !self.cluster.apply
    }
}

/// Applying the Secrets to a cluster.
#[derive(Debug, Clone, ClapArgs)]
struct ClusterArgs {
    /// Server-side apply the Secrets to the cluster (field manager `wharf-pull-secret`)
    /// instead of printing them; exit 1 if any namespace failed. Needs a build with the
    /// cargo feature `kube`.
    #[arg(long, conflicts_with = "out_dir")]
    apply: bool,

    /// The kubeconfig for --apply (default: KUBECONFIG, ~/.kube/config, else the in-cluster
    /// service account).
    #[cfg(feature = "kube")]
    #[arg(long, value_name = "FILE", requires = "apply")]
    kubeconfig: Option<PathBuf>,

    /// The kubeconfig context for --apply (default: the current context).
    #[cfg(feature = "kube")]
    #[arg(long, value_name = "NAME", requires = "apply")]
    context: Option<String>,
}

/// The robot to work on.
#[derive(Debug, Clone, ClapArgs)]
struct RobotArgs {
    /// The Harbor project the robot may pull from.
    #[arg(long)]
    project: String,

    /// The robot's short name (Harbor names it `robot$<project>+<name>`).
    #[arg(long, default_value = "k8s-pull")]
    name: String,

    /// The registry host written into the Secrets (default: Harbor's `registry_url`).
    #[arg(long, value_name = "HOST")]
    registry: Option<String>,

    #[command(flatten)]
    harbor: HarborArgs,
}

#[derive(Debug, ClapArgs)]
struct CreateArgs {
    #[command(flatten)]
    robot: RobotArgs,

    #[command(flatten)]
    emit: EmitArgs,

    /// Days until a new robot expires (-1: never).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    duration_days: i64,

    /// File with the existing robot's secret (default: the PULL_SECRET_ROBOT_SECRET variable).
    #[arg(long, value_name = "FILE")]
    robot_secret_file: Option<PathBuf>,

    /// When the robot exists and no secret is given: have Harbor issue a new secret. The old
    /// secret stops working at once; prefer `rotate` for running clusters.
    #[arg(long)]
    refresh: bool,
}

#[derive(Debug, ClapArgs)]
struct RotateArgs {
    #[command(flatten)]
    robot: RobotArgs,

    #[command(flatten)]
    emit: EmitArgs,

    /// Delete the older robot(s) of a rotation, keeping the newest. Emits no Secrets, so
    /// `--apply` and `--out-dir` do not combine with it.
    #[arg(long, conflicts_with_all = ["apply", "out_dir"])]
    finish: bool,
}

#[derive(Debug, ClapArgs)]
struct CheckArgs {
    /// An image reference with a tag or digest, e.g. `harbor.example.com/production/api:1.4`.
    image: String,

    /// A Secret YAML (as emitted by `create`) or a dockerconfigjson / Docker config.json.
    #[arg(long, value_name = "FILE")]
    secret_file: PathBuf,

    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, ClapArgs)]
struct EcrArgs {
    /// The ECR registry host, `<account>.dkr.ecr.<region>.amazonaws.com`.
    #[arg(long, value_name = "HOST")]
    registry: String,

    /// The AWS region (default: the SDK's chain, e.g. AWS_REGION).
    #[arg(long)]
    region: Option<String>,

    /// Send ECR API calls here (a VPC endpoint, or moto in tests).
    #[arg(long, env = "AWS_ENDPOINT_URL_ECR", value_name = "URL")]
    endpoint_url: Option<String>,

    #[command(flatten)]
    emit: EmitArgs,

    /// Emit once and exit (for a CronJob); without it, keep refreshing until stopped.
    #[arg(long)]
    once: bool,
}

/// What was done, for the final report.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    action: String,
    robot: Option<String>,
    registry: Option<String>,
    namespaces: Vec<String>,
    files: Vec<PathBuf>,
    /// Robots deleted (rotation finished).
    deleted: Vec<String>,
    /// Robot still valid and to delete later with `rotate --finish`.
    previous: Option<String>,
    /// What `check` fetched.
    manifest_digest: Option<String>,
    manifest_media_type: Option<String>,
    /// Where `--apply` put the Secrets.
    #[serde(flatten)]
    apply: ApplyReport,
}

/// The namespaces `--apply` reached and those it did not.
#[derive(Debug, Default, Serialize)]
struct ApplyReport {
    /// Namespaces whose Secret the API server accepted.
    applied: Vec<String>,
    /// Namespaces whose Secret was refused or not delivered.
    failed: Vec<FailedNamespace>,
}

/// A namespace where `--apply` failed, and why.
#[derive(Debug, Serialize)]
struct FailedNamespace {
    namespace: String,
    error: String,
}

/// What delivering the Secrets did.
#[derive(Debug, Default)]
struct Delivery {
    /// Files written (mode 0600).
    files: Vec<PathBuf>,
    apply: ApplyReport,
}

/// Where the Secrets go, set up before anything is changed in Harbor.
enum Destination {
    /// Stdout or files.
    Yaml(SecretSink),
    /// Server-side apply to a cluster.
    #[cfg(feature = "kube")]
    Cluster(kube::Client),
}

impl Destination {
    async fn from_args(emit: &EmitArgs) -> anyhow::Result<Self> {
        if emit.cluster.apply {
            Self::cluster(&emit.cluster).await
        } else {
            Ok(Self::Yaml(SecretSink::from_out_dir(
                emit.out_dir.as_deref(),
            )))
        }
    }

    /// A client for the cluster, from the kubeconfig or the in-cluster service account.
    #[cfg(feature = "kube")]
    async fn cluster(args: &ClusterArgs) -> anyhow::Result<Self> {
        let client = cluster::client(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        Ok(Self::Cluster(client))
    }

    #[cfg(not(feature = "kube"))]
    #[allow(
        clippy::unused_async,
        reason = "the same signature as in a build with `kube`"
    )]
    async fn cluster(_: &ClusterArgs) -> anyhow::Result<Self> {
        bail!("{WITHOUT_KUBE}")
    }

    /// Writes, prints or applies one Secret per namespace.
    #[cfg_attr(
        not(feature = "kube"),
        allow(clippy::unused_async, reason = "only applying awaits (feature `kube`)")
    )]
    async fn deliver(
        &self,
        emit: &EmitArgs,
        dockerconfigjson: &Secret,
        annotations: &[(&str, &str)],
    ) -> anyhow::Result<Delivery> {
        match self {
            Self::Yaml(sink) => Ok(Delivery {
                files: sink.emit(
                    &emit.secret_name,
                    &emit.namespaces,
                    dockerconfigjson,
                    annotations,
                )?,
                apply: ApplyReport::default(),
            }),
            #[cfg(feature = "kube")]
            Self::Cluster(client) => {
                let outcomes = cluster::apply_pull_secrets(
                    client,
                    &emit.secret_name,
                    &emit.namespaces,
                    dockerconfigjson,
                    annotations,
                )
                .await;
                Ok(Delivery {
                    files: Vec::new(),
                    apply: ApplyReport::from_outcomes(outcomes),
                })
            }
        }
    }
}

impl ApplyReport {
    #[cfg(feature = "kube")]
    fn from_outcomes(outcomes: Vec<cluster::NamespaceApply>) -> Self {
        let mut report = Self::default();
        for outcome in outcomes {
            match outcome.result {
                Ok(()) => report.applied.push(outcome.namespace),
                Err(error) => report.failed.push(FailedNamespace {
                    namespace: outcome.namespace,
                    error: cluster::failure_reason(&error),
                }),
            }
        }
        report
    }

    fn all_succeeded(&self) -> bool {
        self.failed.is_empty()
    }
}

/// The usage error for `--apply` in a build without the `kube` feature.
#[cfg(not(feature = "kube"))]
const WITHOUT_KUBE: &str = "--apply needs the cargo feature `kube`, and this pull-secret was \
    built without it: rebuild with `cargo build -p wharf-examples --features kube`, or pipe \
    the YAML to `kubectl apply --server-side -f -`";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    refuse_apply_without_kube(&args);
    args.common.init_logging();
    finish(run(args).await)
}

/// Exits with a usage error (2) when `--apply` is asked of a build without `kube`, before
/// anything is changed in Harbor.
#[cfg(not(feature = "kube"))]
fn refuse_apply_without_kube(args: &Args) {
    let apply = match &args.command {
        Command::Create(create) => create.emit.cluster.apply,
        Command::Rotate(rotate) => rotate.emit.cluster.apply,
        Command::Ecr(ecr) => ecr.emit.cluster.apply,
        Command::Check(_) => false,
    };
    if apply {
        Args::command()
            .error(clap::error::ErrorKind::ArgumentConflict, WITHOUT_KUBE)
            .exit();
    }
}

/// A build with `kube` applies.
#[cfg(feature = "kube")]
fn refuse_apply_without_kube(_: &Args) {}

async fn run(args: Args) -> anyhow::Result<bool> {
    let (outcome, emitted_to_stdout) = match args.command {
        Command::Create(create) => {
            let stdout = create.emit.to_stdout();
            (create_secrets(create).await?, stdout)
        }
        Command::Rotate(rotate) => {
            let stdout = rotate.emit.to_stdout() && !rotate.finish;
            (rotate_robot(rotate).await?, stdout)
        }
        Command::Check(check) => (check_secret(check).await?, false),
        Command::Ecr(ecr) => {
            let stdout = ecr.emit.to_stdout();
            (ecr_secrets(ecr).await?, stdout)
        }
    };
    report(args.common.output, &outcome, emitted_to_stdout)?;
    Ok(outcome.apply.all_succeeded())
}

/// Prints the report: on stderr when stdout carries the Secret YAML.
fn report(format: OutputFormat, outcome: &Outcome, to_stderr: bool) -> anyhow::Result<()> {
    if to_stderr {
        let text = match format {
            OutputFormat::Json => serde_json::to_string_pretty(outcome)?,
            OutputFormat::Table => outcome_table(outcome).render(),
        };
        eprintln!("{}", text.trim_end());
        return Ok(());
    }
    print_report(format, outcome, outcome_table)
}

fn outcome_table(outcome: &Outcome) -> Table {
    let mut table = Table::new(["WHAT", "VALUE"]);
    table.row(["action", outcome.action.as_str()]);
    let optional = [
        ("robot", &outcome.robot),
        ("registry", &outcome.registry),
        ("previous robot (still valid)", &outcome.previous),
        ("manifest digest", &outcome.manifest_digest),
        ("manifest media type", &outcome.manifest_media_type),
    ];
    for (label, value) in optional {
        if let Some(value) = value {
            table.row([label, value.as_str()]);
        }
    }
    if !outcome.namespaces.is_empty() {
        table.row(["namespaces".to_owned(), outcome.namespaces.join(",")]);
    }
    for file in &outcome.files {
        table.row(["file (0600)".to_owned(), file.display().to_string()]);
    }
    for deleted in &outcome.deleted {
        table.row(["deleted robot", deleted.as_str()]);
    }
    for namespace in &outcome.apply.applied {
        table.row(["applied (server-side)", namespace.as_str()]);
    }
    for failed in &outcome.apply.failed {
        table.row([
            format!("apply FAILED: {}", failed.namespace),
            failed.error.clone(),
        ]);
    }
    table
}

async fn create_secrets(args: CreateArgs) -> anyhow::Result<Outcome> {
    require_namespaces(&args.emit)?;
    let destination = Destination::from_args(&args.emit).await?;
    let harbor = args.robot.harbor.logged_in_client()?;
    let registry = registry_host(&harbor, args.robot.registry.as_deref()).await?;
    let existing = robot_generations(&harbor, &args.robot.project, &args.robot.name).await?;
    let given = read_secret(ROBOT_SECRET_VAR, args.robot_secret_file.as_deref())?;
    let (robot, secret, action) = match (existing.last(), given) {
        (None, _) => {
            let spec = RobotSpec::project_pull(&args.robot.project, &args.robot.name)
                .duration_days(args.duration_days)
                .description("Kubernetes image pulls (wharf pull-secret)");
            let created = harbor
                .robots()
                .create(spec)
                .await
                .context("cannot create the robot")?;
            (created.name, created.secret, "created robot")
        }
        (Some((_, robot)), Some(secret)) => (robot_name(robot)?, secret, "reused robot"),
        (Some((_, robot)), None) if args.refresh => {
            let id = robot.id.context("Harbor listed the robot without an id")?;
            let secret = harbor.robots().refresh_secret(id).await?;
            (robot_name(robot)?, secret, "reused robot with a new secret")
        }
        (Some((_, robot)), None) => bail!(
            "robot {} exists and Harbor shows its secret only at creation: set {ROBOT_SECRET_VAR} \
             or --robot-secret-file to reuse it, --refresh to replace its secret, or use `rotate`",
            robot_name(robot)?
        ),
    };
    let delivery =
        deliver_robot_secret(&destination, &args.emit, &registry, &robot, &secret).await?;
    Ok(Outcome {
        action: action.to_owned(),
        robot: Some(robot),
        registry: Some(registry),
        namespaces: args.emit.namespaces,
        files: delivery.files,
        apply: delivery.apply,
        ..Outcome::default()
    })
}

async fn rotate_robot(args: RotateArgs) -> anyhow::Result<Outcome> {
    let harbor = args.robot.harbor.logged_in_client()?;
    let mut generations = robot_generations(&harbor, &args.robot.project, &args.robot.name).await?;
    let Some((_, newest)) = generations.pop() else {
        bail!(
            "no robot {} in project {} to rotate",
            args.robot.name,
            args.robot.project
        );
    };
    if args.finish {
        return finish_rotation(&harbor, &newest, generations).await;
    }
    require_namespaces(&args.emit)?;
    let destination = Destination::from_args(&args.emit).await?;
    if let Some((_, older)) = generations.last() {
        bail!(
            "a rotation is already under way ({} and {} both exist): finish it with --finish first",
            robot_name(older)?,
            robot_name(&newest)?
        );
    }
    let registry = registry_host(&harbor, args.robot.registry.as_deref()).await?;
    let id = newest.id.context("Harbor listed the robot without an id")?;
    let rotation = harbor
        .robots()
        .rotate(id)
        .await
        .context("cannot start the rotation")?;
    let CreatedRobot { name, secret, .. } = rotation.new;
    let delivery =
        deliver_robot_secret(&destination, &args.emit, &registry, &name, &secret).await?;
    Ok(Outcome {
        action: "rotation started: both robots work until `rotate --finish`".to_owned(),
        robot: Some(name),
        registry: Some(registry),
        namespaces: args.emit.namespaces,
        files: delivery.files,
        apply: delivery.apply,
        previous: Some(rotation.old_name),
        ..Outcome::default()
    })
}

async fn finish_rotation(
    harbor: &HarborClient,
    newest: &Robot,
    older: Vec<(u64, Robot)>,
) -> anyhow::Result<Outcome> {
    if older.is_empty() {
        bail!(
            "no rotation to finish: {} is the only robot",
            robot_name(newest)?
        );
    }
    let mut deleted = Vec::new();
    for (_, robot) in older {
        let id = robot.id.context("Harbor listed a robot without an id")?;
        harbor.robots().delete(id).await?;
        deleted.push(robot_name(&robot)?);
    }
    Ok(Outcome {
        action: "rotation finished".to_owned(),
        robot: Some(robot_name(newest)?),
        deleted,
        ..Outcome::default()
    })
}

async fn check_secret(args: CheckArgs) -> anyhow::Result<Outcome> {
    let reference =
        Reference::parse(&args.image).with_context(|| format!("invalid image `{}`", args.image))?;
    let registry = reference.registry().to_owned();
    let (user, password) = credentials_from_file(&args.secret_file, &registry)?;
    let credentials =
        StaticCredentials::new().with(&registry, Credential::basic(user.clone(), password));
    let client = args.registry.client(Arc::new(credentials))?;
    let manifest = client
        .get_manifest_raw(&reference)
        .await
        .with_context(|| format!("cannot fetch {reference} as {user}"))?;
    Ok(Outcome {
        action: format!("fetched {reference}"),
        robot: Some(user),
        registry: Some(registry),
        manifest_digest: Some(manifest.digest.to_string()),
        manifest_media_type: Some(manifest.media_type),
        ..Outcome::default()
    })
}

async fn ecr_secrets(args: EcrArgs) -> anyhow::Result<Outcome> {
    require_namespaces(&args.emit)?;
    let destination = Destination::from_args(&args.emit).await?;
    let mut builder = EcrClient::builder();
    if let Some(region) = &args.region {
        builder = builder.region(region);
    }
    if let Some(url) = &args.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    let client = builder
        .build()
        .await
        .context("cannot set up the ECR client")?;
    let provider = EcrCredentialProvider::builder(&args.registry, Arc::new(client)).build();
    let refresher = PullSecretRefresher::new(Arc::new(provider));
    let mut outcome = Outcome {
        action: "ecr pull secret".to_owned(),
        registry: Some(args.registry.clone()),
        namespaces: args.emit.namespaces.clone(),
        ..Outcome::default()
    };
    if args.once {
        let secret = refresher
            .refresh_once()
            .await
            .context("cannot get an ECR token")?;
        let delivery = destination
            .deliver(&args.emit, &secret.dockerconfigjson, &[])
            .await?;
        outcome.files = delivery.files;
        outcome.apply = delivery.apply;
        return Ok(outcome);
    }
    // The loop retries failed rounds itself (with backoff) and never ends on its own; a round
    // in which some namespace was not applied counts as failed, so it is retried soon.
    let (destination, emit) = (&destination, &args.emit);
    refresher
        .run(|secret| async move {
            let delivery = destination
                .deliver(emit, &secret.dockerconfigjson, &[])
                .await
                .map_err(BoxError::from)?;
            if let Some(failure) = delivery.apply.failed.first() {
                let failed = delivery.apply.failed.len();
                return Err(BoxError::from(format!(
                    "{failed} namespace(s) not applied, first {}: {}",
                    failure.namespace, failure.error
                )));
            }
            tracing::info!(
                files = delivery.files.len(),
                applied = delivery.apply.applied.len(),
                "ECR pull secrets delivered"
            );
            Ok::<_, BoxError>(ControlFlow::Continue(()))
        })
        .await;
    Ok(outcome)
}

fn require_namespaces(emit: &EmitArgs) -> anyhow::Result<()> {
    if emit.namespaces.is_empty() {
        bail!("name at least one namespace with --namespace");
    }
    Ok(())
}

/// Delivers the Secrets for a robot.
async fn deliver_robot_secret(
    destination: &Destination,
    emit: &EmitArgs,
    registry: &str,
    robot: &str,
    secret: &Secret,
) -> anyhow::Result<Delivery> {
    let config = Secret::new(
        DockerConfigJson::new()
            .registry(registry, robot, secret)
            .to_json(),
    );
    destination
        .deliver(emit, &config, &[("wharf.dev/robot", robot)])
        .await
}

/// The registry host for the Secrets: the flag, else Harbor's `registry_url`, else the API host.
async fn registry_host(harbor: &HarborClient, flag: Option<&str>) -> anyhow::Result<String> {
    if let Some(host) = flag {
        return Ok(host.to_owned());
    }
    let info = harbor
        .system()
        .info()
        .await
        .context("cannot read Harbor's systeminfo")?;
    let from_info = info
        .registry_url
        .as_deref()
        .map(|url| url.split_once("://").map_or(url, |(_, rest)| rest))
        .map(|host| host.trim_end_matches('/').to_owned())
        .filter(|host| !host.is_empty());
    Ok(from_info.unwrap_or_else(|| harbor.registry_host()))
}

/// The project's robots named `name` or `name-r<stamp>` (earlier rotations), oldest first.
async fn robot_generations(
    harbor: &HarborClient,
    project: &str,
    name: &str,
) -> anyhow::Result<Vec<(u64, Robot)>> {
    let project_id = harbor
        .projects()
        .get(project)
        .await
        .with_context(|| format!("cannot read project {project}"))?
        .project_id
        .context("Harbor answered the project without an id")?;
    // Without a query Harbor lists only system robots.
    let query = format!("Level=project,ProjectID={project_id}");
    let robots: Vec<Robot> = harbor
        .robots()
        .list()
        .with(|request| request.q = Some(query))
        .stream()
        .try_collect()
        .await
        .context("cannot list robots")?;
    let prefix = format!("robot${project}+");
    let mut generations: Vec<(u64, Robot)> = robots
        .into_iter()
        .filter_map(|robot| {
            let short = robot.name.as_deref()?.strip_prefix(&prefix)?;
            generation(short, name).map(|stamp| (stamp, robot))
        })
        .collect();
    generations.sort_by_key(|(stamp, robot)| (*stamp, robot.id));
    Ok(generations)
}

/// 0 for `name` itself, the stamp for `name-r<stamp>`, `None` for other robots.
fn generation(short: &str, name: &str) -> Option<u64> {
    if short == name {
        return Some(0);
    }
    short.strip_prefix(name)?.strip_prefix("-r")?.parse().ok()
}

fn robot_name(robot: &Robot) -> anyhow::Result<String> {
    robot
        .name
        .clone()
        .context("Harbor listed a robot without a name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        <Args as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn finishing_a_rotation_refuses_options_that_emit_secrets() {
        let rotate = [
            "pull-secret",
            "rotate",
            "--harbor",
            "https://harbor.example",
            "--project",
            "production",
            "--name",
            "k8s-pull",
        ];
        for extra in [&["--apply"][..], &["--out-dir", "secrets"][..]] {
            let line = rotate.iter().chain(["--finish"].iter()).chain(extra);
            let error = <Args as clap::Parser>::try_parse_from(line).unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{extra:?}"
            );
        }
        let plain = rotate.iter().chain(["--finish"].iter());
        if let Err(error) = <Args as clap::Parser>::try_parse_from(plain) {
            panic!("rotate --finish alone must parse: {error}");
        }
    }

    #[test]
    fn generations_follow_rotation_names() {
        assert_eq!(generation("k8s-pull", "k8s-pull"), Some(0));
        assert_eq!(
            generation("k8s-pull-r1700000000", "k8s-pull"),
            Some(1_700_000_000)
        );
        assert_eq!(generation("k8s-pull-other", "k8s-pull"), None);
        assert_eq!(generation("ci", "k8s-pull"), None);
    }
}
