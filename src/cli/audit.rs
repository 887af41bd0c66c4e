//! `dnsceremony audit`: the DNSSEC health of every organisation's zone (or of given zones) as
//! a report in text, JSON, Markdown or HTML; the exit status is the worst finding's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use dnsceremony::audit::anchor::Anchor;
use dnsceremony::audit::render::{self, OutputFormat};
use dnsceremony::audit::{self, AuditConfig, AuditError};
use dnsceremony::Error;
use hickory_proto::rr::Name;

/// Flags of `dnsceremony audit`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["manifest", "zone"])))]
pub struct AuditArgs {
    /// The ceremony manifest: audit every organisation's zone and ceremony records.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Demand a manifest signed by this operator address (exit 3 when unsigned or signed by another).
    #[arg(long, value_name = "ADDR", requires = "manifest")]
    operator: Option<dnsceremony::identity::Address>,
    /// A zone to audit (repeatable), e.g. --zone ogr1.com.
    #[arg(long)]
    zone: Vec<String>,
    /// Trust anchor file (DS or DNSKEY lines, zone-file or BIND trust-anchors form); default:
    /// the manifest's [dns] anchor, else the IANA root anchor.
    #[arg(long)]
    anchor: Option<PathBuf>,
    /// Root server address (repeatable), e.g. 127.0.0.2 or 127.0.0.2:53; default: the
    /// manifest's [dns] roots, else the IANA root servers.
    #[arg(long = "root")]
    roots: Vec<String>,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "markdown", "md", "html"])]
    format: String,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
    /// Write the report to this file (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Signatures valid but expiring within this many days are warnings.
    #[arg(long, default_value_t = 7)]
    warn_days: u32,
    /// Seconds to wait for one answer from one server.
    #[arg(long, default_value_t = 3)]
    timeout: u64,
    /// Queries in flight at most.
    #[arg(long, default_value_t = 256)]
    in_flight: usize,
}

/// The IANA root servers' IPv4 addresses (a to m).
const IANA_ROOTS: [&str; 13] = [
    "198.41.0.4",
    "170.247.170.2",
    "192.33.4.12",
    "199.7.91.13",
    "192.203.230.10",
    "192.5.5.241",
    "192.112.36.4",
    "198.97.190.53",
    "192.36.148.17",
    "192.58.128.30",
    "193.0.14.129",
    "199.7.83.42",
    "202.12.27.33",
];

fn parse_addr(s: &str) -> Result<SocketAddr, Error> {
    s.parse::<SocketAddr>()
        .or_else(|_| {
            s.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, 53))
        })
        .map_err(|_| Error::Usage {
            flag: "--root",
            why: format!("{s}: not an IP address or address:port"),
        })
}

fn parse_zone(s: &str) -> Result<Name, Error> {
    let mut n = Name::from_ascii(s).map_err(|e| {
        Error::from(AuditError::ZoneName {
            input: s.to_string(),
            why: e.to_string(),
        })
    })?;
    n.set_fqdn(true);
    Ok(n.to_lowercase())
}

/// Write `text` to `path` through a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, text: &str) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let werr = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, text).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        werr(e)
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        werr(e)
    })
}

/// Run `dnsceremony audit`.
pub fn run(args: AuditArgs) -> super::Outcome {
    let format = if args.json {
        OutputFormat::Json
    } else {
        OutputFormat::parse(&args.format).unwrap_or_default()
    };
    let manifest = match &args.manifest {
        Some(p) => Some(super::manifest::load(p, args.operator.as_ref())?),
        None => None,
    };
    let anchor = match (
        &args.anchor,
        manifest.as_ref().and_then(|m| m.dns.anchor.clone()),
    ) {
        (Some(p), _) => Anchor::from_file(p)?,
        (None, Some(p)) => Anchor::from_file(&p)?,
        (None, None) => Anchor::iana_root(),
    };
    let mut roots = args
        .roots
        .iter()
        .map(|s| parse_addr(s))
        .collect::<Result<Vec<_>, _>>()?;
    if roots.is_empty() {
        roots = manifest
            .as_ref()
            .map(|m| m.dns.roots.clone())
            .unwrap_or_default();
    }
    if roots.is_empty() {
        roots = IANA_ROOTS
            .iter()
            .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
    }
    let zones = args
        .zone
        .iter()
        .map(|z| parse_zone(z))
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = AuditConfig {
        anchor,
        roots,
        zones,
        manifest,
        warn_days: args.warn_days,
        timeout: Duration::from_secs(args.timeout.max(1)),
        in_flight: args.in_flight.max(1),
    };
    let rt = super::runtime()?;
    let report = rt.block_on(audit::run(&cfg))?;
    let text = render::render(&report, format);
    match &args.out {
        Some(p) => write_atomic(p, &text)?,
        None => super::print(&text),
    }
    Ok(report.exit_code())
}
