//! `wharf-testkit`: servers from the test kit, run as processes for the local service stack.
//!
//! Each server is a subcommand; add a variant to [`Command`] and a match arm in `main` to add
//! one.
//!
//! ```text
//! wharf-testkit pki --dir target/services/pki
//! wharf-testkit token-service --listen 127.0.0.1:5001 --issuer wharf-token-service \
//!     --cert signer.pem --key signer.key --user alice:secret --ttl-secs 300
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use wharf_testkit::pki::CertificateAuthority;
use wharf_testkit::token::{self, TokenIssuer, TokenService, UserTable};

/// Servers of the Wharf test kit.
#[derive(Debug, Parser)]
#[command(name = "wharf-testkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The servers this binary runs.
#[derive(Debug, Subcommand)]
enum Command {
    /// Docker registry token service (the realm of a token-auth distribution).
    TokenService(TokenServiceArgs),
    /// Creates the stack's test certificates in a folder, keeping the ones that exist.
    Pki(PkiArgs),
    /// Harbor simulator with its registry, in the foreground (options: see `harbor_sim::run_cli`).
    Harbor(HarborArgs),
}

/// Options of `harbor`, passed on to `wharf_testkit::harbor_sim::run_cli`.
#[derive(Debug, Args)]
struct HarborArgs {
    /// `--scan-delay-ms N`, `--admin-password P`, `--fixture REPO=NAME`, `--work-dir DIR`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Options of `pki`.
#[derive(Debug, Args)]
struct PkiArgs {
    /// Folder for `wharf-test-ca.{pem,key}`, `registry-tls.{pem,key}` (localhost, 127.0.0.1)
    /// and `token-signer.{pem,key}`.
    #[arg(long)]
    dir: PathBuf,
}

/// Options of `token-service`.
#[derive(Debug, Args)]
struct TokenServiceArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// `iss` claim; must equal distribution's `auth.token.issuer`.
    #[arg(long, default_value = "wharf-token-service")]
    issuer: String,
    /// PEM certificate of the signing key (put into the `x5c` header).
    #[arg(long)]
    cert: PathBuf,
    /// PEM RSA private key that signs tokens.
    #[arg(long)]
    key: PathBuf,
    /// A user granted every requested action, as NAME:PASSWORD (repeatable).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// A user granted only `pull`, as NAME:PASSWORD (repeatable).
    #[arg(long = "reader", value_name = "NAME:PASSWORD")]
    readers: Vec<String>,
    /// Token lifetime in seconds.
    #[arg(long, default_value_t = token::DEFAULT_TTL.as_secs())]
    ttl_secs: u64,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::TokenService(args) => runtime()?.block_on(run_token_service(args)),
        Command::Pki(args) => create_pki(&args.dir),
        Command::Harbor(args) => {
            runtime()?.block_on(wharf_testkit::harbor_sim::run_cli(&args.args))
        }
    }
}

async fn run_token_service(args: TokenServiceArgs) -> Result<()> {
    let cert = read(&args.cert)?;
    let key = read(&args.key)?;
    let issuer = TokenIssuer::from_pem(&args.issuer, &cert, &key)?
        .with_ttl(Duration::from_secs(args.ttl_secs));
    let users = user_table(&args.users, &args.readers)?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!("token service listening on http://{address}/token");

    let app = token::router(TokenService::new(issuer, users));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("token service failed")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the tokio runtime")
}

fn create_pki(dir: &Path) -> Result<()> {
    let ca = match CertificateAuthority::open(dir, "wharf-test-ca") {
        Some(ca) => ca,
        None => CertificateAuthority::create(dir, "wharf-test-ca")?,
    };
    if !dir.join("registry-tls.pem").is_file() {
        ca.issue_server(dir, "registry-tls", &["localhost", "127.0.0.1"])?;
    }
    if !dir.join("token-signer.pem").is_file() {
        ca.issue_signer(dir, "token-signer")?;
    }
    Ok(())
}

fn user_table(users: &[String], readers: &[String]) -> Result<UserTable> {
    let mut table = UserTable::new();
    for entry in users {
        let (name, password) = split_user(entry)?;
        table = table.with_user(name, password);
    }
    for entry in readers {
        let (name, password) = split_user(entry)?;
        table = table.with_limited_user(name, password, &["pull"]);
    }
    Ok(table)
}

fn split_user(entry: &str) -> Result<(&str, &str)> {
    entry
        .split_once(':')
        .context("a user must be given as NAME:PASSWORD")
}

fn read(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
