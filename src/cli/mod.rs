//! Command-line definitions and dispatch. No ceremony logic lives here: each subcommand
//! turns its flags into library calls and prints the results.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dnsceremony::exit;
use dnsceremony::identity::{Identity, KeyPermissions};

mod audit;
pub mod check;
pub mod dnsargs;
mod docs;
mod genesis;
mod keys;
mod manifest;
pub mod progress;
mod publish;
mod run;
mod verify;

/// Start a private Autonity network between organisations that share nothing but DNSSEC-signed DNS.
#[derive(Debug, Parser)]
#[command(name = "dnsceremony", version, about, long_about = None)]
pub struct Cli {
    /// Read key files that group or others may access (refused otherwise, as ssh refuses
    /// such a private key); each is named in a warning on stderr.
    #[arg(long, global = true)]
    allow_open_key_permissions: bool,
    #[command(subcommand)]
    command: Command,
}

/// `--allow-open-key-permissions`, set once from the command line.
static KEY_PERMISSIONS: std::sync::OnceLock<KeyPermissions> = std::sync::OnceLock::new();

/// How this run treats key files that group or others may access.
pub fn key_permissions() -> KeyPermissions {
    KEY_PERMISSIONS.get().copied().unwrap_or_default()
}

/// The warning line for a key file read under `--allow-open-key-permissions`.
pub fn open_key_warning(path: &std::path::Path, mode: u32) -> String {
    format!(
        "warning: permissions {mode:04o} for '{}' are too open; read anyway (--allow-open-key-permissions)",
        path.display()
    )
}

/// Load the keys in `dir` under this run's [`key_permissions`], warning (stderr) for each key
/// file that group or others may access.
pub fn load_keys(dir: &std::path::Path) -> Result<Identity, dnsceremony::Error> {
    let loaded = Identity::load_with(dir, key_permissions())?;
    for f in &loaded.open_files {
        report_line(&open_key_warning(&f.path, f.mode));
    }
    Ok(loaded.identity)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Phase 4: blocks advance and the committee holds this node and every validator.
    Check(check::CheckArgs),
    /// Build genesis.json from the manifest and every organisation's secure records.
    Genesis(genesis::GenesisArgs),
    /// One organisation's whole ceremony: keys, publish, wait, genesis, agree, start, check.
    Run(Box<run::RunArgs>),
    /// Phase 1: check, create or sign the ceremony manifest.
    Manifest(manifest::ManifestArgs),
    /// Phase 2: make a validator's keys (never overwrites, never prints private keys).
    Keygen(keys::KeygenArgs),
    /// Existing keys: public identity, ownership proof; check a proof in validator data.
    Keys(keys::KeysArgs),
    /// Phase 3: read and validate every organisation's records once (exit 0 secure, 1 pending, 2 refused).
    Verify(verify::VerifyArgs),
    /// Phase 3: poll until every organisation is secure, or a deadline.
    Wait(verify::WaitArgs),
    /// Phase 2: publish this validator's records (one TSIG-signed RFC 2136 update) and read them back.
    Publish(publish::PublishArgs),
    /// DNSSEC audit of every organisation's zone: findings with codes; exit 12 warning, 13 error.
    Audit(audit::AuditArgs),
    /// Shell completions (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(docs::CompletionsArgs),
    /// Manual pages (roff) from the command-line definition: on stdout, or one per subcommand.
    Man(docs::ManArgs),
}

/// What a subcommand returns when it did not fail: the exit status to end with.
pub type Outcome = Result<u8, dnsceremony::Error>;

/// Parse the command line, run the subcommand, print a failure as one line, return the status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::BAD_INPUT,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let _ = init_logging();
    if cli.allow_open_key_permissions {
        let _ = KEY_PERMISSIONS.set(KeyPermissions::AllowOpen);
    }
    let outcome: Outcome = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Genesis(args) => genesis::run(args),
        Command::Run(args) => run::run(*args),
        Command::Manifest(args) => manifest::run(args),
        Command::Keygen(args) => keys::keygen(args),
        Command::Keys(args) => keys::keys(args),
        Command::Verify(args) => verify::run(args),
        Command::Wait(args) => verify::wait(args),
        Command::Publish(args) => publish::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Print one failure as one line: `dnsceremony: <what>: <cause>: <cause>`.
pub fn report(e: &dyn std::error::Error) {
    let line = format!("dnsceremony: {}", one_line(e));
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// An error and its causes on one line (`<what>: <cause>: <cause>`), each cause once.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line.replace('\n', " ")
}

/// Diagnostics go to stderr, filtered by `DNSCEREMONY_LOG` (e.g. `DNSCEREMONY_LOG=debug`).
fn init_logging() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DNSCEREMONY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init()
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(i32::from(exit::OK));
        }
    }
}

/// Print one line on stderr: `dnsceremony: <text>`.
pub fn report_line(text: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "dnsceremony: {}",
        text.replace('\n', " ")
    );
}

/// A runtime for the subcommands that speak to the network.
pub fn runtime() -> Result<tokio::runtime::Runtime, dnsceremony::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| dnsceremony::Error::Write {
            path: "tokio runtime".into(),
            source,
        })
}

/// This node's enode key from its key directory (the key files `keygen` writes).
pub fn own_node_key(dir: &std::path::Path) -> Result<[u8; 64], dnsceremony::Error> {
    Ok(load_keys(dir)?.public().enode_key.0)
}
