//! `dnsceremony check`: Phase 4, on chain: blocks advance, the committee is as agreed and,
//! with a manifest, every organisation's node reports the same block 0 as this one.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use dnsceremony::manifest::CeremonyId;
use dnsceremony::records::Peer;
use dnsceremony::rpc::{self, CheckReport, Client, Expectation, Published};
use dnsceremony::verify::{Session, VerifyOptions};
use dnsceremony::{exit, genesis, Error};
use serde::Serialize;

/// Flags of `dnsceremony check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The node's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
    #[arg(long)]
    rpc: String,
    /// This node's key directory (autonitykeys or nodekey); default: ask admin_nodeInfo.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// A genesis file: every validator in it must be in the committee.
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// The ceremony manifest: every organisation's (DNSSEC-verified) key must be in the committee.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Demand a manifest signed by this operator address (exit 3 when unsigned or signed by another).
    #[arg(long, value_name = "ADDR", requires = "manifest")]
    operator: Option<dnsceremony::identity::Address>,
    #[command(flatten)]
    dns: crate::cli::dnsargs::DnsArgs,
    /// How long blocks may take to advance, e.g. 30s, 2m, 500ms.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    window: Duration,
    /// Keep checking: a line on every change of state (green, red, unreachable), an alarm on
    /// every change to red or unreachable, a reminder while the state lasts.
    #[arg(long)]
    watch: bool,
    /// Time between checks with --watch.
    #[arg(long, default_value = "10s", value_parser = parse_interval)]
    interval: Duration,
    /// With --watch: repeat the state (`watch: still red since ...`) when it lasted this long
    /// since the last line about it.
    #[arg(long, default_value = "5m", value_parser = parse_interval)]
    remind: Duration,
    /// Run this command (via sh -c) on an alarm; details in DNSCEREMONY_ALARM, DNSCEREMONY_MISSING.
    #[arg(long)]
    alarm_cmd: Option<String>,
    /// POST the alarm (JSON, schema dnsceremony.alarm/v1) to this http:// URL.
    #[arg(long)]
    alarm_webhook: Option<String>,
    /// Print one JSON document per check (schema dnsceremony.check/v1), and one for a failure.
    #[arg(long)]
    json: bool,
}

/// A duration flag: `30s`, `2m`, `500ms`, `1h30m` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    dnsceremony::manifest::parse_duration(s)
        .ok_or_else(|| format!("{s:?} is not a duration (e.g. 30s, 500ms, 2m, 1h30m)"))
}

/// A time between polls: a duration of at least 100ms (less would only hammer the servers).
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(100) {
        return Err(format!(
            "{s:?} is too short: polls must be at least 100ms apart"
        ));
    }
    Ok(d)
}

/// Where the organisations' genesis records are read (with `--manifest`).
struct Records {
    options: VerifyOptions,
    session: Session,
    peers: Vec<(String, Peer)>,
    ceremony: CeremonyId,
}

impl Records {
    /// Every organisation's published block 0, read now. A record that does not verify is
    /// read once more through a fresh session first: a zone may have rolled its keys since
    /// the session validated them.
    async fn block0(&mut self) -> Vec<(String, Published)> {
        let read =
            dnsceremony::ceremony::published_block0(&self.session, &self.peers, &self.ceremony)
                .await;
        if !read.iter().any(|(_, p)| matches!(p, Published::Invalid(_))) {
            return read;
        }
        self.session = Session::new(self.options.clone());
        dnsceremony::ceremony::published_block0(&self.session, &self.peers, &self.ceremony).await
    }
}

/// The expected committee (and, with a manifest, where the genesis records are);
/// `Err(Ok(code))` when the manifest's organisations are not all secure.
fn expectation(
    args: &CheckArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<Result<(Expectation, Option<Records>), u8>, Error> {
    let mut expect = Expectation::default();
    let mut records = None;
    if let Some(path) = &args.manifest {
        let manifest = crate::cli::manifest::load(path, args.operator.as_ref())?;
        let options = args.dns.options(&manifest)?;
        let session = Session::new(options.clone());
        let report = rt.block_on(session.verify(&manifest));
        if !report.complete() {
            let who: Vec<String> = report
                .orgs
                .iter()
                .filter(|o| o.status != dnsceremony::verify::Status::Secure)
                .map(|o| format!("{} {}", o.name, o.status.as_str()))
                .collect();
            let line = format!(
                "cannot check the committee: not every organisation is secure ({}: {})",
                path.display(),
                who.join(", ")
            );
            if args.json {
                print_doc(failure_doc(
                    &args.rpc,
                    State::Error,
                    &line,
                    report.exit_code(),
                ));
            }
            crate::cli::report_line(&line);
            return Ok(Err(report.exit_code()));
        }
        let mut peers = Vec::new();
        for (org, peer) in report.secure_peers() {
            expect
                .validators
                .push((org.name.clone(), peer.enode_key.to_string()));
            peers.push((org.name.clone(), peer.clone()));
        }
        expect.format = Some(manifest.profile.into());
        records = Some(Records {
            options,
            session,
            peers,
            ceremony: manifest.ceremony_id(),
        });
    }
    if let Some(dir) = &args.keys {
        expect.own_key = Some(hex::encode(crate::cli::own_node_key(dir)?));
    }
    if let Some(path) = &args.genesis {
        let bytes = dnsceremony::localfile::read(path, dnsceremony::localfile::Kind::Genesis)
            .map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
        let g = genesis::Genesis::from_bytes(bytes)?;
        expect.format = Some(g.committee().format);
        for m in &g.committee().members {
            let key = m.parsed.key_hex();
            expect
                .validators
                .push((format!("validator {}", &key[..16]), key));
        }
    }
    Ok(Ok((expect, records)))
}

/// The alarm's details, as the hook sees them.
#[derive(Debug, Serialize)]
struct Alarm<'a> {
    schema: &'static str,
    rpc: &'a str,
    problem: String,
    missing: &'a [String],
    advancing: bool,
    /// Organisations whose node reports another block 0.
    block0_mismatch: Vec<&'a str>,
}

async fn raise(args: &CheckArgs, rpc: &str, problem: String, report: Option<&CheckReport>) {
    crate::cli::report_line(&format!("alarm ({rpc}: {problem})"));
    let missing: &[String] = report.map_or(&[], |r| &r.missing);
    let advancing = report.is_some_and(|r| r.advancing);
    let details = serde_json::to_string(&Alarm {
        schema: "dnsceremony.alarm/v1",
        rpc,
        problem: problem.clone(),
        missing,
        advancing,
        block0_mismatch: report.map_or(Vec::new(), |r| {
            r.block0_mismatch.iter().map(|m| m.org.as_str()).collect()
        }),
    })
    .unwrap_or_default();
    if let Some(url) = &args.alarm_webhook {
        let sent = match Client::new(url, Duration::from_secs(10)) {
            Ok(c) => c.webhook(&details).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            crate::cli::report_line(&format!("alarm webhook failed ({e})"));
        }
    }
    if let Some(cmd) = &args.alarm_cmd {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("DNSCEREMONY_ALARM", details)
            .env("DNSCEREMONY_PROBLEM", &problem)
            .env("DNSCEREMONY_MISSING", missing.join(","))
            .env("DNSCEREMONY_ADVANCING", advancing.to_string())
            .status();
        match status {
            Ok(s) if s.success() => {}
            // The command itself is not echoed: it may carry a token.
            Ok(s) => crate::cli::report_line(&format!("alarm command (--alarm-cmd) failed: {s}")),
            Err(e) => crate::cli::report_line(&format!("alarm command (--alarm-cmd) failed: {e}")),
        }
    }
}

/// What one check found, as `--watch` reports its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The check passed.
    Green,
    /// The node answered and something is wrong (an alarm).
    Red,
    /// The node did not answer.
    Unreachable,
    /// Nothing was checked: the inputs or the records are not usable (JSON documents only).
    Error,
    /// Stopped by a signal (JSON documents only).
    Interrupted,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Green => "green",
            State::Red => "red",
            State::Unreachable => "unreachable",
            State::Error => "error",
            State::Interrupted => "interrupted",
        }
    }
}

fn print_doc(doc: serde_json::Value) {
    let mut text = serde_json::to_string(&doc).unwrap_or_default();
    text.push('\n');
    crate::cli::print(&text);
}

/// The document of a check that produced no report: schema, endpoint, state, the one-line
/// error and the exit status it ends (or, watching, would end) with.
fn failure_doc(rpc: &str, state: State, error: &str, exit: u8) -> serde_json::Value {
    serde_json::json!({
        "schema": rpc::CHECK_SCHEMA,
        "rpc": rpc,
        "state": state.as_str(),
        "ok": false,
        "error": error,
        "exit": exit,
    })
}

fn show(args: &CheckArgs, report: &CheckReport) {
    if args.json {
        let mut doc = serde_json::to_value(report).unwrap_or_default();
        if let Some(map) = doc.as_object_mut() {
            let state = if report.ok { State::Green } else { State::Red };
            map.insert("state".into(), state.as_str().into());
        }
        print_doc(doc);
    } else if report.ok {
        let block0 = match (&report.block0, args.manifest.is_some()) {
            (Some(b), true) if report.block0_not_reported.is_empty() => {
                format!("; every organisation's node reports block 0 {b}")
            }
            (Some(b), true) => format!(
                "; block 0 {b} (not yet reported by {})",
                report.block0_not_reported.join(", ")
            ),
            _ => String::new(),
        };
        crate::cli::print(&format!(
            "ok: block {} -> {}, committee of {} holds this node{}{block0}\n",
            report.block_start,
            report.block_end,
            report.committee_addresses.len(),
            if args.genesis.is_some() || args.manifest.is_some() {
                " and every expected validator"
            } else {
                ""
            }
        ));
    }
}

/// `--watch`'s memory: the state, since when, how many checks found it, when it was last
/// reported.
struct Watch {
    state: Option<State>,
    since: time::OffsetDateTime,
    /// Checks that found the present state.
    checks: u64,
    /// Checks made.
    total: u64,
    told: tokio::time::Instant,
}

impl Watch {
    /// When the present state began (RFC 3339, UTC).
    fn since_text(&self) -> String {
        self.since
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    /// A line about the state, on stdout (stderr with `--json`, whose stdout is documents).
    fn tell(args: &CheckArgs, text: &str) {
        if args.json {
            crate::cli::report_line(text);
        } else {
            crate::cli::print(&format!("{text}\n"));
        }
    }

    /// Record one check's state; say when it changed, or when it lasted `--remind` since it
    /// was last said. Returns whether it changed.
    fn saw(&mut self, args: &CheckArgs, state: State, detail: &str) -> bool {
        let now = tokio::time::Instant::now();
        if self.state == Some(state) {
            self.checks += 1;
            if args.watch && now.duration_since(self.told) >= args.remind {
                let since = self.since_text();
                let detail = if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {detail}")
                };
                Self::tell(
                    args,
                    &format!(
                        "watch: still {} since {since} ({} checks){detail}",
                        state.as_str(),
                        self.checks
                    ),
                );
                self.told = now;
            }
            return false;
        }
        if args.watch {
            let line = match (self.state, detail.is_empty()) {
                (Some(old), true) => format!("watch: {} -> {}", old.as_str(), state.as_str()),
                (Some(old), false) => {
                    format!("watch: {} -> {}: {detail}", old.as_str(), state.as_str())
                }
                // The first check: green says `ok: ...` already.
                (None, _) if state == State::Green => String::new(),
                (None, _) => format!("watch: {}: {detail}", state.as_str()),
            };
            if !line.is_empty() {
                Self::tell(args, &line);
            }
        }
        self.state = Some(state);
        self.since = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(self.since);
        self.checks = 1;
        self.told = now;
        true
    }
}

/// Run `dnsceremony check`. With `--json`, a failure is a document on stdout too.
pub fn run(args: CheckArgs) -> crate::cli::Outcome {
    let result = run_checks(&args);
    if let (true, Err(e)) = (args.json, &result) {
        print_doc(failure_doc(
            &args.rpc,
            match e {
                Error::Rpc(_) => State::Unreachable,
                _ => State::Error,
            },
            &crate::cli::one_line(e),
            e.exit_code(),
        ));
    }
    result
}

fn run_checks(args: &CheckArgs) -> crate::cli::Outcome {
    let client = Client::new(&args.rpc, rpc::CALL_TIMEOUT).map_err(|e| Error::Usage {
        flag: "--rpc",
        why: e.to_string(),
    })?;
    // A bad webhook is refused now, not at the first alarm.
    if let Some(url) = &args.alarm_webhook {
        Client::new(url, Duration::from_secs(10)).map_err(|e| Error::Usage {
            flag: "--alarm-webhook",
            why: e.to_string(),
        })?;
    }
    let rt = crate::cli::runtime()?;
    let (expect, records) = match expectation(args, &rt)? {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    rt.block_on(async {
        // SIGINT/SIGTERM end the check with a line (and a document with --json).
        let stops = crate::cli::run::stop_signals();
        let watch = std::cell::RefCell::new(Watch {
            state: None,
            since: time::OffsetDateTime::now_utc(),
            checks: 0,
            total: 0,
            told: tokio::time::Instant::now(),
        });
        tokio::select! {
            r = check_loop(args, &client, expect, records, &watch) => r,
            stop = crate::cli::run::stopped(stops) => {
                let watch = watch.borrow();
                let state = watch.state.map_or(String::new(), |s| {
                    format!("; {} since {}", s.as_str(), watch.since_text())
                });
                let line = format!(
                    "check: {} after {} checks{state}",
                    stop.describe(),
                    watch.total
                );
                if args.json {
                    print_doc(failure_doc(&args.rpc, State::Interrupted, &line, stop.exit_code()));
                }
                crate::cli::report_line(&line);
                Ok(stop.exit_code())
            }
        }
    })
}

/// Check once, or with `--watch` for ever.
async fn check_loop(
    args: &CheckArgs,
    client: &Client,
    mut expect: Expectation,
    mut records: Option<Records>,
    watch: &std::cell::RefCell<Watch>,
) -> crate::cli::Outcome {
    loop {
        if let Some(records) = &mut records {
            expect.block0 = records.block0().await;
        }
        let checked = rpc::check(client, &expect, args.window).await;
        watch.borrow_mut().total += 1;
        let report = match checked {
            Ok(r) => r,
            // Watching, a node that does not answer is an alarm, not the end.
            Err(e) if args.watch => {
                let error = crate::cli::one_line(&e);
                let problem = format!("node unreachable: {error}");
                if args.json {
                    print_doc(failure_doc(
                        client.url(),
                        State::Unreachable,
                        &problem,
                        Error::from(e).exit_code(),
                    ));
                }
                let changed = watch.borrow_mut().saw(args, State::Unreachable, &error);
                if changed {
                    raise(args, client.url(), problem, None).await;
                }
                tokio::time::sleep(args.interval).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        show(args, &report);
        let (state, problem) = if report.ok {
            (State::Green, String::new())
        } else {
            (State::Red, report.problem())
        };
        let changed = watch.borrow_mut().saw(args, state, &problem);
        if changed && state == State::Red {
            raise(args, &report.rpc, problem, Some(&report)).await;
        }
        if !args.watch {
            return Ok(if report.ok { exit::OK } else { exit::ALARM });
        }
        tokio::time::sleep(args.interval).await;
    }
}
