//! `dnsceremony manifest check|init|sign`: Phase 1, the operator's file.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use dnsceremony::identity::Address;
use dnsceremony::manifest::{self, Manifest};
use dnsceremony::{exit, Error};
use serde::Serialize;

/// Flags of `dnsceremony manifest`.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    #[command(subcommand)]
    command: ManifestCommand,
}

#[derive(Debug, Subcommand)]
enum ManifestCommand {
    /// Check a manifest against its profile's genesis rules; print its name, profile, ceremony
    /// id and organisations.
    Check {
        /// The manifest file (`-`: standard input).
        file: PathBuf,
        /// Print JSON (schema dnsceremony.manifest/v1).
        #[arg(long)]
        json: bool,
        /// Demand a valid signature by this operator address.
        #[arg(long, value_name = "ADDR")]
        operator: Option<Address>,
    },
    /// Print a commented example manifest (the four seed organisations), or write it to a new
    /// file. It passes `manifest check`; review every value before anyone publishes.
    Init {
        /// The Autonity contract's operator account (genesis.operator; it is part of the
        /// ceremony id, so it is set now, not after publishing).
        #[arg(long, value_name = "ADDR")]
        operator: Address,
        /// The genesis profile: v1 (Autonity >= 0.14 / 1.x) or v0.7 (legacy).
        #[arg(long, value_name = "PROFILE", default_value = "v1", value_parser = ["v1", "v0.7"])]
        profile: String,
        /// Write to this new file instead of stdout (never overwrites).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Sign a manifest in place with the operator's secp256k1 key (64 hex digits in FILE).
    Sign {
        /// The operator's key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The manifest to sign (its body is kept; a previous [signature] is replaced).
        manifest: PathBuf,
    },
}

/// JSON output of `manifest check`.
#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    schema: &'static str,
    file: String,
    name: &'a str,
    profile: &'static str,
    ceremony_id: String,
    operator: Option<Address>,
    orgs: Vec<OrgJson<'a>>,
}

#[derive(Debug, Serialize)]
struct OrgJson<'a> {
    name: &'a str,
    host: String,
}

/// Load a manifest and, when `operator` is given, demand its signature.
pub fn load(file: &Path, operator: Option<&Address>) -> Result<Manifest, Error> {
    let m = Manifest::load(file)?;
    if let Some(op) = operator {
        m.require_operator(op)?;
    }
    Ok(m)
}

fn text(m: &Manifest) -> String {
    let width = m.orgs.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    out.push_str(&format!("manifest  {}\n", m.source.display()));
    out.push_str(&format!("name      {}\n", m.name));
    out.push_str(&format!("profile   {}\n", m.profile));
    out.push_str(&format!("ceremony  {}\n", m.ceremony_id()));
    match m.operator {
        Some(op) => out.push_str(&format!("operator  {op} (signature verified)\n")),
        None => out.push_str("operator  unsigned\n"),
    }
    out.push_str(&format!("orgs      {}\n", m.orgs.len()));
    for o in &m.orgs {
        out.push_str(&format!(
            "  {:width$}  {}\n",
            o.name,
            dnsceremony::dns::dotless(&o.host)
        ));
    }
    out
}

/// Run `dnsceremony manifest ...`.
pub fn run(args: ManifestArgs) -> Result<u8, Error> {
    match args.command {
        ManifestCommand::Check {
            file,
            json,
            operator,
        } => {
            let m = load(&file, operator.as_ref())?;
            dnsceremony::genesis::preflight::check(&m)?;
            if json {
                let doc = CheckJson {
                    schema: "dnsceremony.manifest/v1",
                    file: m.source.display().to_string(),
                    name: &m.name,
                    profile: m.profile.as_str(),
                    ceremony_id: m.ceremony_id().to_string(),
                    operator: m.operator,
                    orgs: m
                        .orgs
                        .iter()
                        .map(|o| OrgJson {
                            name: &o.name,
                            host: dnsceremony::dns::dotless(&o.host),
                        })
                        .collect(),
                };
                let mut s = serde_json::to_string_pretty(&doc).expect("serialisable");
                s.push('\n');
                super::print(&s);
            } else {
                super::print(&text(&m));
            }
            Ok(exit::OK)
        }
        ManifestCommand::Init {
            operator,
            profile,
            out,
        } => {
            let text = manifest::example(&profile, &operator);
            match out {
                None => super::print(&text),
                Some(path) => {
                    write_new_file(&path, text.as_bytes())?;
                    super::print(&format!(
                        "wrote {} (profile {profile}, operator {operator}): review every value, \
                         then run `dnsceremony manifest check {}` before anyone publishes\n",
                        path.display(),
                        path.display()
                    ));
                }
            }
            Ok(exit::OK)
        }
        ManifestCommand::Sign { key, manifest } => {
            let m = manifest::sign_file(&manifest, &key)?;
            super::print(&format!(
                "signed {} as operator {}\nceremony  {}\n",
                manifest.display(),
                m.operator.map(|a| a.to_string()).unwrap_or_default(),
                m.ceremony_id()
            ));
            Ok(exit::OK)
        }
    }
}

/// Write a new file (temporary file, then hard link into place): never overwrites, never
/// leaves a partial file.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    dnsceremony::atomic::write_new(path, bytes, 0o644).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: if e.kind() == std::io::ErrorKind::AlreadyExists {
            std::io::Error::new(e.kind(), "file exists; refusing to overwrite")
        } else {
            e
        },
    })
}
