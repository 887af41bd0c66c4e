//! `dnsceremony genesis`: verify every organisation, build the genesis, write it atomically.

use std::path::PathBuf;

use clap::Args;
use dnsceremony::localfile::{self, Kind};
use dnsceremony::verify::Session;
use dnsceremony::{exit, genesis, node, Error};
use serde::Serialize;

/// Flags of `dnsceremony genesis`.
#[derive(Debug, Args)]
pub struct GenesisArgs {
    /// The ceremony manifest.
    #[arg(long)]
    manifest: PathBuf,
    /// Demand a manifest signed by this operator address (exit 3 when unsigned or signed by another).
    #[arg(long, value_name = "ADDR")]
    operator: Option<dnsceremony::identity::Address>,
    #[command(flatten)]
    dns: crate::cli::dnsargs::DnsArgs,
    /// Where to write genesis.json.
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing, different file.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON (schema dnsceremony.genesis/v1).
    #[arg(long)]
    json: bool,
}

/// One validator in the JSON output.
#[derive(Debug, Serialize)]
struct ValidatorOut {
    org: String,
    enode: String,
}

/// The JSON output of `genesis`.
#[derive(Debug, Serialize)]
struct GenesisOut {
    schema: &'static str,
    path: String,
    sha256: String,
    format: String,
    chain_id: u64,
    written: bool,
    validators: Vec<ValidatorOut>,
}

/// Run `dnsceremony genesis`.
pub fn run(args: GenesisArgs) -> crate::cli::Outcome {
    // An output that is not a regular file (a FIFO) is refused before any DNS work.
    localfile::check_output(&args.out).map_err(|source| Error::Write {
        path: args.out.clone(),
        source,
    })?;
    let manifest = crate::cli::manifest::load(&args.manifest, args.operator.as_ref())?;
    // Phase 1's genesis rules, named by file and key, before any network work.
    dnsceremony::genesis::preflight::check(&manifest)?;
    let options = args.dns.options(&manifest)?;
    let rt = crate::cli::runtime()?;
    let report = rt.block_on(Session::new(options).verify(&manifest));
    if !report.complete() {
        let who: Vec<String> = report
            .orgs
            .iter()
            .filter(|o| o.status != dnsceremony::verify::Status::Secure)
            .map(|o| {
                format!(
                    "{} {}: {}",
                    o.name,
                    o.status.as_str(),
                    o.reason.clone().unwrap_or_default()
                )
            })
            .collect();
        crate::cli::report_line(&format!(
            "genesis not built: not every organisation is secure ({}: {})",
            args.manifest.display(),
            who.join("; ")
        ));
        return Ok(report.exit_code());
    }
    let peers: Vec<(String, dnsceremony::records::Peer)> = report
        .orgs
        .iter()
        .filter_map(|o| o.peer.clone().map(|p| (o.name.clone(), p)))
        .collect();
    let g = genesis::build(&manifest, &peers)?;
    let written = match localfile::read(&args.out, Kind::Genesis) {
        Ok(existing) if existing == g.bytes() => false,
        Ok(_) if !args.force => {
            crate::cli::report_line(&format!(
                "refusing to overwrite a different genesis ({}: exists; --force replaces it)",
                args.out.display()
            ));
            return Ok(exit::LOCAL);
        }
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(source) => {
            return Err(Error::Read {
                path: args.out.clone(),
                source,
            })
        }
    };
    if written {
        node::write_atomic(&args.out, g.bytes())?;
    }
    let names: std::collections::BTreeMap<[u8; 64], String> = peers
        .iter()
        .map(|(n, p)| (p.enode_key.0, n.clone()))
        .collect();
    let out = GenesisOut {
        schema: "dnsceremony.genesis/v1",
        path: args.out.display().to_string(),
        sha256: g.hash_hex(),
        format: g.committee().format.to_string(),
        chain_id: g.committee().chain_id,
        written,
        validators: g
            .committee()
            .members
            .iter()
            .map(|m| ValidatorOut {
                org: names.get(&m.parsed.key).cloned().unwrap_or_default(),
                enode: m.enode.clone(),
            })
            .collect(),
    };
    if args.json {
        crate::cli::print(&format!(
            "{}\n",
            serde_json::to_string(&out).unwrap_or_default()
        ));
    } else {
        crate::cli::print(&format!(
            "{}  {} ({} validators{})\n",
            out.sha256,
            out.path,
            out.validators.len(),
            if written { "" } else { ", unchanged" }
        ));
    }
    Ok(exit::OK)
}
