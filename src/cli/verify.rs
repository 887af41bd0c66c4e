//! `dnsceremony verify` (one check of every organisation) and `dnsceremony wait` (poll until
//! all are secure, a security failure with `--fail-fast`, or a deadline).

use dnsceremony::dns::dotless;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use dnsceremony::exit;
use dnsceremony::manifest::Manifest;
use dnsceremony::verify::{OrgReport, Session, Status, VerifyReport};
use dnsceremony::Error;
use serde::Serialize;

use super::dnsargs::DnsArgs;
use super::progress::{fmt_secs, Progress};

/// Flags of `dnsceremony verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The ceremony manifest.
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// Demand a manifest signed by this operator address (exit 3 when unsigned or signed by another).
    #[arg(long, value_name = "ADDR")]
    operator: Option<dnsceremony::identity::Address>,
    #[command(flatten)]
    dns: DnsArgs,
    /// Print one JSON document (schema dnsceremony.verify/v1) instead of the table.
    #[arg(long)]
    json: bool,
    /// Also print the number of DNS queries sent.
    #[arg(long)]
    stats: bool,
}

/// Flags of `dnsceremony wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The ceremony manifest.
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// Demand a manifest signed by this operator address (exit 3 when unsigned or signed by another).
    #[arg(long, value_name = "ADDR")]
    operator: Option<dnsceremony::identity::Address>,
    #[command(flatten)]
    dns: DnsArgs,
    /// Time between polls (default: manifest [timing] poll_interval, else 10s).
    #[arg(long, value_name = "DURATION", value_parser = super::check::parse_interval)]
    interval: Option<Duration>,
    /// Give up after this long (default: manifest [timing] deadline, else 2h).
    #[arg(long, value_name = "DURATION", value_parser = super::check::parse_duration)]
    timeout: Option<Duration>,
    /// End the wait (exit 2) at the first insecure, bogus or invalid organisation.
    #[arg(long)]
    fail_fast: bool,
    /// Print the final report as JSON (schema dnsceremony.verify/v1) on stdout.
    #[arg(long)]
    json: bool,
    /// Also print the number of DNS queries sent.
    #[arg(long)]
    stats: bool,
}

/// The `verify` JSON document, version 1.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    ceremony_id: String,
    complete: bool,
    orgs: Vec<JsonOrg<'a>>,
    stats: JsonStats,
}

#[derive(Debug, Serialize)]
struct JsonOrg<'a> {
    name: &'a str,
    host: String,
    zone: Option<String>,
    serial: Option<u32>,
    status: Status,
    reason: Option<&'a str>,
    records: Option<JsonRecords>,
}

#[derive(Debug, Serialize)]
struct JsonRecords {
    ipv4: Option<String>,
    ipv6: Option<String>,
    enode_key: String,
    port: u16,
    consensus_key: Option<String>,
    oracle_address: Option<String>,
    treasury: Option<String>,
    consensus_port: Option<u16>,
}

#[derive(Debug, Serialize)]
struct JsonStats {
    queries: u64,
}

fn json(report: &VerifyReport, queries: u64) -> String {
    let doc = JsonReport {
        schema: "dnsceremony.verify/v1",
        ceremony_id: report.ceremony_id.to_string(),
        complete: report.complete(),
        orgs: report
            .orgs
            .iter()
            .map(|o| JsonOrg {
                name: &o.name,
                host: dotless(&o.host),
                zone: o.zone.as_ref().map(dotless),
                serial: o.serial,
                status: o.status,
                reason: o.reason.as_deref(),
                records: o
                    .peer
                    .as_ref()
                    .filter(|_| o.status == Status::Secure)
                    .map(|p| {
                        let a = p.attestation.as_ref();
                        JsonRecords {
                            ipv4: p.ipv4.map(|v| v.to_string()),
                            ipv6: p.ipv6.map(|v| v.to_string()),
                            enode_key: p.enode_key.to_string(),
                            port: p.port,
                            consensus_key: a
                                .and_then(|a| a.consensus_key.as_ref())
                                .map(|k| k.to_string()),
                            oracle_address: a
                                .and_then(|a| a.oracle_address.as_ref())
                                .map(|k| k.to_string()),
                            treasury: a.and_then(|a| a.treasury.as_ref()).map(|k| k.to_string()),
                            consensus_port: a.and_then(|a| a.consensus_port),
                        }
                    }),
            })
            .collect(),
        stats: JsonStats { queries },
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The table: one row per organisation.
fn table(report: &VerifyReport) -> String {
    let rows: Vec<[String; 4]> = report
        .orgs
        .iter()
        .map(|o| {
            [
                o.name.clone(),
                dotless(&o.host),
                o.status.as_str().to_string(),
                o.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let head = ["ORG", "HOST", "STATUS", "REASON"];
    let w0 = rows
        .iter()
        .map(|r| r[0].len())
        .chain([3])
        .max()
        .unwrap_or(3);
    let w1 = rows
        .iter()
        .map(|r| r[1].len())
        .chain([4])
        .max()
        .unwrap_or(4);
    let w2 = 8;
    let mut out = format!(
        "{:w0$}  {:w1$}  {:w2$}  {}\n",
        head[0], head[1], head[2], head[3]
    );
    for r in rows {
        out.push_str(format!("{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3]).trim_end());
        out.push('\n');
    }
    out
}

/// `2 secure, 1 pending, 1 bogus`.
pub fn status_counts(report: &VerifyReport) -> String {
    let mut parts = Vec::new();
    for s in [
        Status::Secure,
        Status::Pending,
        Status::Insecure,
        Status::Bogus,
        Status::Invalid,
    ] {
        let n = report.orgs.iter().filter(|o| o.status == s).count();
        if n > 0 {
            parts.push(format!("{n} {}", s.as_str()));
        }
    }
    parts.join(", ")
}

/// `N organisations: 2 secure, 1 pending, 1 bogus (ceremony ID)`.
fn summary(report: &VerifyReport) -> String {
    format!(
        "{} organisations: {} (ceremony {})\n",
        report.orgs.len(),
        status_counts(report),
        report.ceremony_id
    )
}

fn load(
    path: &std::path::Path,
    operator: Option<&dnsceremony::identity::Address>,
) -> Result<Manifest, Error> {
    super::manifest::load(path, operator)
}

/// Run `dnsceremony verify`.
pub fn run(args: VerifyArgs) -> super::Outcome {
    let manifest = load(&args.manifest, args.operator.as_ref())?;
    let options = args.dns.options(&manifest)?;
    let rt = super::runtime()?;
    let session = Session::new(options);
    let report = rt.block_on(session.verify(&manifest));
    let queries = session.queries_sent();
    if args.json {
        super::print(&json(&report, queries));
    } else {
        let mut out = table(&report);
        out.push_str(&summary(&report));
        if args.stats {
            out.push_str(&format!("queries: {queries}\n"));
        }
        super::print(&out);
    }
    Ok(report.exit_code())
}

/// Run `dnsceremony wait`.
pub fn wait(args: WaitArgs) -> super::Outcome {
    let manifest = load(&args.manifest, args.operator.as_ref())?;
    let options = args.dns.options(&manifest)?;
    let interval = args.interval.unwrap_or(manifest.timing.poll_interval);
    let timeout = args
        .timeout
        .or(manifest.timing.deadline)
        .unwrap_or(Duration::from_secs(2 * 3600));
    let tty = std::io::stdout().is_terminal() && !args.json;
    let rt = super::runtime()?;
    let session = Session::new(options);
    let start = Instant::now();
    let mut progress = Progress::new(tty, start, timeout);
    let mut previous: Option<VerifyReport> = None;
    rt.block_on(async {
        loop {
            // The clock ticks every second while a poll is under way.
            let report = {
                // A poll in progress ends at the deadline (organisations not checked by
                // then are pending).
                let deadline = tokio::time::Instant::from_std(start + timeout);
                let poll = session.poll_until(&manifest, previous.as_ref(), deadline);
                tokio::pin!(poll);
                loop {
                    tokio::select! {
                        r = &mut poll => break r,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {
                            if !args.json {
                                progress.tick(previous.as_ref(), None);
                            }
                        }
                    }
                }
            };
            let elapsed = start.elapsed();
            progress.observe(&report);
            let mut security = Vec::new();
            for o in report.orgs.iter().filter(|o| o.status.is_failure()) {
                let was = previous
                    .as_ref()
                    .and_then(|p| p.orgs.iter().find(|q| q.name == o.name))
                    .map(|q| q.status);
                if was != Some(o.status) {
                    security.push(format!(
                        "SECURITY: {} ({}) is {}: {}",
                        o.name,
                        dotless(&o.host),
                        o.status.as_str(),
                        o.reason.as_deref().unwrap_or("")
                    ));
                }
            }
            if !tty && !args.json {
                super::print(&changes(previous.as_ref(), &report, elapsed));
            }
            progress.keep(&security);
            let failed = report.orgs.iter().any(|o| o.status.is_failure());
            let done =
                report.complete() || (args.fail_fast && failed) || elapsed + interval > timeout;
            if done {
                let secs = fmt_secs(Duration::from_secs(elapsed.as_secs()));
                let (code, line) = if report.complete() {
                    (
                        exit::OK,
                        format!(
                            "done: all {} organisations secure after {secs} (ceremony {})",
                            report.orgs.len(),
                            report.ceremony_id
                        ),
                    )
                } else if args.fail_fast && failed {
                    (
                        exit::SECURITY,
                        format!(
                            "stopped after {secs} by a security failure (--fail-fast): {}",
                            status_counts(&report)
                        ),
                    )
                } else {
                    (
                        exit::PENDING,
                        format!(
                            "deadline reached after {secs}: {}; chase: {}",
                            status_counts(&report),
                            progress.chase(&report)
                        ),
                    )
                };
                if args.json {
                    super::print(&json(&report, session.queries_sent()));
                } else {
                    progress.finish(&report, &line);
                    if args.stats {
                        super::print(&format!("queries: {}\n", session.queries_sent()));
                    }
                }
                if code == exit::PENDING {
                    let waiting: Vec<String> = report
                        .orgs
                        .iter()
                        .filter(|o| o.status != Status::Secure)
                        .map(|o| format!("{} is {}", o.name, o.status.as_str()))
                        .collect();
                    super::report_line(&format!(
                        "deadline reached after {} ({}: not secure)",
                        fmt_secs(elapsed),
                        waiting.join(", ")
                    ));
                }
                return Ok(code);
            }
            previous = Some(report);
            let next = Instant::now() + interval;
            if !args.json {
                progress.tick(previous.as_ref(), Some(next));
            }
            loop {
                let left = next.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                tokio::time::sleep(left.min(Duration::from_secs(1))).await;
                if !args.json && Instant::now() < next {
                    progress.tick(previous.as_ref(), Some(next));
                }
            }
        }
    })
}

/// One line per organisation whose verdict changed (all of them on the first poll).
fn changes(previous: Option<&VerifyReport>, report: &VerifyReport, elapsed: Duration) -> String {
    let mut out = String::new();
    for o in &report.orgs {
        let before: Option<&OrgReport> =
            previous.and_then(|p| p.orgs.iter().find(|q| q.name == o.name));
        if before.is_some_and(|b| b.status == o.status && b.reason == o.reason) {
            continue;
        }
        let from = before
            .map(|b| format!("{} -> ", b.status.as_str()))
            .unwrap_or_default();
        out.push_str(&format!(
            "[{}] {} {}: {from}{}{}\n",
            fmt_secs(elapsed),
            o.name,
            dotless(&o.host),
            o.status.as_str(),
            o.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    out
}
