//! `dnsceremony audit`: the DNSSEC health of every organisation's zone (or of given zones) as
//! a report in text, JSON, Markdown or HTML; the exit status is the worst finding's.

use std::path::{Path, PathBuf};

use clap::Args;
use dnsceremony::audit::anchor::Anchor;
use dnsceremony::audit::render::{self, OutputFormat};
use dnsceremony::audit::{self, AuditConfig, AuditError};
use dnsceremony::dns::resolve::root_hints;
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
    /// How to reach DNS and what to trust (--anchor, --root, --query-timeout, --concurrency;
    /// --resolver is refused: the audit asks every authoritative server directly).
    #[command(flatten)]
    dns: super::dnsargs::DnsArgs,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "markdown", "md", "html"])]
    format: String,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
    /// Write the report to this file (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Signatures valid but expiring within this many days are warnings, when they also have
    /// less than --warn-share of their validity period left.
    #[arg(long, default_value_t = 7)]
    warn_days: u32,
    /// Percent of a signature's validity period (inception to expiration): less left is a
    /// warning, when also within --warn-days. The default 20 keeps the zones of BIND's and
    /// Knot's default signers clean (they re-sign at a quarter, or 7 of 14 days, left).
    #[arg(long, default_value_t = dnsceremony::audit::analyse::DEFAULT_WARN_SHARE,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    warn_share: u32,
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
    dnsceremony::atomic::replace(path, text.as_bytes()).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
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
    if let Some(r) = args.dns.resolver {
        return Err(Error::Usage {
            flag: "--resolver",
            why: format!(
                "{r}: the audit asks every authoritative server directly (a resolver hides which server serves what); give --root to start from other root servers"
            ),
        });
    }
    let anchor = match (
        &args.dns.anchor,
        manifest.as_ref().and_then(|m| m.dns.anchor.clone()),
    ) {
        (Some(p), _) => Anchor::from_file(p)?,
        (None, Some(p)) => Anchor::from_file(&p)?,
        (None, None) => Anchor::iana_root(),
    };
    // --root, else the manifest's [dns] roots, else the IANA root servers; a manifest's
    // [dns] resolver is not used (see above).
    let mut roots = args.dns.roots.clone();
    if roots.is_empty() {
        roots = manifest
            .as_ref()
            .map(|m| m.dns.roots.clone())
            .unwrap_or_default();
    }
    if roots.is_empty() {
        roots = root_hints();
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
        warn_share: args.warn_share,
        timeout: args.dns.query_timeout,
        in_flight: usize::from(args.dns.concurrency),
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
