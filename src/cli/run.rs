//! `dnsceremony run`: one organisation's whole ceremony, then supervision of its client.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use dnsceremony::ceremony::{self, Config, Event, Outcome, Until};
use dnsceremony::dns::tsig::TsigKey;
use dnsceremony::dns::update::Timeouts;
use dnsceremony::identity::Address;
use dnsceremony::{exit, Error};

use crate::cli::check::parse_duration;

fn socket(s: &str, flag: &'static str) -> Result<SocketAddr, Error> {
    crate::cli::dnsargs::parse_addr(s).map_err(|why| Error::Usage { flag, why })
}

/// Flags of `dnsceremony run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The ceremony manifest.
    #[arg(long)]
    manifest: PathBuf,
    /// Demand a manifest signed by this operator address (exit 3 when unsigned or signed by another).
    #[arg(long, value_name = "ADDR")]
    operator: Option<dnsceremony::identity::Address>,
    /// Our organisation's name in the manifest.
    #[arg(long)]
    org: String,
    /// Key directory; keys are made there once if it holds none (never regenerated).
    #[arg(long)]
    keys: PathBuf,
    /// Our validator's public IP address.
    #[arg(long)]
    ip: IpAddr,
    /// Primary server of our zone (updates go there), IP or IP:PORT.
    #[arg(long)]
    server: String,
    /// TSIG key file (as `tsig-keygen` writes it).
    #[arg(long)]
    tsig: PathBuf,
    #[command(flatten)]
    dns: crate::cli::dnsargs::DnsArgs,
    /// The Autonity client (default: `autonity` on PATH; `autonity-standin` is the stand-in).
    #[arg(long)]
    autonity: Option<PathBuf>,
    /// Data directory: state, genesis, client data and log.
    #[arg(long, default_value = "dnsceremony-data")]
    datadir: PathBuf,
    /// p2p port.
    #[arg(long, default_value_t = 30303)]
    port: u16,
    /// Consensus (ACN) port (v1).
    #[arg(long, default_value_t = 20203)]
    consensus_port: u16,
    /// Treasury address (v1, 0x + 40 hex, EIP-55 checked when mixed-case); default: the
    /// node's own address.
    #[arg(long)]
    treasury: Option<Address>,
    /// The client's JSON-RPC address (`--http.addr`; 0.0.0.0 to serve other hosts).
    #[arg(long, default_value = "127.0.0.1")]
    rpc_addr: IpAddr,
    /// The client's JSON-RPC port.
    #[arg(long, default_value_t = 8545)]
    rpc_port: u16,
    /// TTL of our records.
    #[arg(long, default_value_t = 300)]
    ttl: u32,
    /// Time between polls (default: the manifest's poll_interval).
    #[arg(long, value_parser = crate::cli::check::parse_interval)]
    interval: Option<Duration>,
    /// Give up waiting after this long (default: the manifest's deadline, else never).
    #[arg(long, value_parser = parse_duration)]
    deadline: Option<Duration>,
    /// Stop after this phase: `published` (our records are served), `genesis` (every
    /// organisation published the same genesis hash; no client is looked for or started),
    /// `confirmed` (the whole ceremony, then supervise the client).
    #[arg(long, value_enum, default_value = "confirmed")]
    until: UntilArg,
    /// Window for blocks to advance in one on-chain check.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    check_window: Duration,
}

/// Values of `--until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum UntilArg {
    /// Our records are published and served by every authoritative server.
    Published,
    /// Every organisation published the same genesis hash.
    Genesis,
    /// The client runs and the on-chain check is green.
    Confirmed,
}

impl From<UntilArg> for Until {
    fn from(u: UntilArg) -> Until {
        match u {
            UntilArg::Published => Until::Published,
            UntilArg::Genesis => Until::Genesis,
            UntilArg::Confirmed => Until::Confirmed,
        }
    }
}

fn say(e: &Event) -> String {
    match e {
        Event::Resumed(p) => format!("resumed: the ceremony had reached {}", p.as_str()),
        Event::Keys {
            generated: true,
            enode_key,
        } => format!("keys: made new keys, enode key {enode_key}"),
        Event::Keys { enode_key, .. } => format!("keys: found, enode key {enode_key}"),
        Event::OpenKeyFile { path, mode } => crate::cli::open_key_warning(path, *mode),
        Event::Reached(p) => format!("phase: {}", p.as_str()),
        Event::Waiting { what, orgs } => format!(
            "waiting for {what}: {}",
            orgs.iter()
                .map(|(o, w)| format!("{o} ({w})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Event::Genesis { hash, path } => format!("genesis: {} sha256 {hash}", path.display()),
        Event::NodeStarted { rpc, command } => format!("client started: {command} (RPC {rpc})"),
        Event::CheckNotYet(why) => format!("on-chain check not green yet: {why}"),
        Event::Block0 { hash } => {
            format!("block 0: the client reports 0x{hash}; the genesis record now carries it")
        }
        Event::LeftoverStopped { pid, forced } => format!(
            "stopped the client left running by an earlier run (pid {pid}, {})",
            if *forced {
                "SIGKILL after SIGTERM was ignored"
            } else {
                "SIGTERM"
            }
        ),
    }
}

/// Run `dnsceremony run`.
pub fn run(args: RunArgs) -> crate::cli::Outcome {
    let manifest = crate::cli::manifest::load(&args.manifest, args.operator.as_ref())?;
    // Phase 1's genesis rules, named by file and key, before any network work.
    dnsceremony::genesis::preflight::check(&manifest)?;
    let verify = args.dns.options(&manifest)?;
    let tsig = TsigKey::load(&args.tsig)?;
    let server = socket(&args.server, "--server")?;
    let cfg = Config {
        poll: args.interval.unwrap_or(manifest.timing.poll_interval),
        deadline: args.deadline.or(manifest.timing.deadline),
        manifest,
        org: args.org,
        keys: args.keys,
        ip: args.ip,
        port: args.port,
        consensus_port: args.consensus_port,
        treasury: args.treasury,
        ttl: args.ttl,
        server,
        tsig,
        verify,
        datadir: args.datadir,
        client: args.autonity,
        until: args.until.into(),
        http_addr: args.rpc_addr,
        http_port: args.rpc_port,
        check_window: args.check_window,
        timeouts: Timeouts::default(),
        key_permissions: crate::cli::key_permissions(),
    };
    let rt = crate::cli::runtime()?;
    rt.block_on(async {
        // From here on SIGINT and SIGTERM end the run with a line saying where it stopped.
        let stops = stop_signals();
        let at = std::cell::RefCell::new(Position::default());
        let mut progress = |e: Event| {
            at.borrow_mut().see(&e);
            match e {
                Event::OpenKeyFile { .. } => crate::cli::report_line(&say(&e)),
                _ => crate::cli::print(&format!("{}\n", say(&e))),
            }
        };
        // A heartbeat line every 30 s until the client is confirmed, so a quiet wait is
        // never mistaken for a hang (each step's own lines come as they happen).
        let started = std::time::Instant::now();
        let heartbeat = async {
            loop {
                tokio::time::sleep(crate::cli::progress::HEARTBEAT).await;
                crate::cli::print(&format!("{}\n", at.borrow().heartbeat(started.elapsed())));
            }
        };
        let running = tokio::select! {
            r = ceremony::run(&cfg, &mut progress) => r?,
            () = heartbeat => unreachable!("the heartbeat never ends"),
            stop = stopped(stops.clone()) => {
                crate::cli::report_line(&at.borrow().interrupted(stop));
                return Ok(stop.exit_code());
            }
        };
        let running = match running {
            Outcome::Running(r) => r,
            Outcome::Stopped { phase, already } => {
                let how = if already {
                    "already reached before; nothing to do"
                } else {
                    "done"
                };
                crate::cli::print(&format!(
                    "stopped at {} as asked (--until): {how}\n",
                    phase.as_str()
                ));
                return Ok(exit::OK);
            }
        };
        crate::cli::print("confirmed: the network is up; supervising the client\n");
        let pid = running.id();
        let mut supervised = std::pin::pin!(running.supervise());
        // Its first poll starts its own signal listeners, which forward to the client; a
        // signal that came before them is forwarded here.
        let first = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(supervised.as_mut(), cx))
        })
        .await;
        let supervised = match first {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => {
                let early = *stops.borrow();
                if let (Some(stop), Some(pid)) = (early, pid) {
                    forward(stop, pid);
                }
                supervised.await
            }
        };
        // The signal was forwarded to the client; it has exited.
        let stop = *stops.borrow();
        if let Some(stop) = stop {
            let client = match &supervised {
                Ok(status) => format!("the client exited ({status})"),
                Err(e) => format!("the client failed ({e})"),
            };
            crate::cli::report_line(&format!(
                "run: {} while supervising the client (phase confirmed): {client}; \
                 run again to start it again",
                stop.describe()
            ));
            return Ok(stop.exit_code());
        }
        supervised?;
        Ok(exit::OK)
    })
}

/// Where the ceremony is, as its progress events tell: the phase last reached and, since
/// then, who it waits for.
#[derive(Debug, Default)]
struct Position {
    phase: Option<ceremony::Phase>,
    waiting: Option<(&'static str, Vec<String>)>,
}

impl Position {
    fn see(&mut self, e: &Event) {
        match e {
            Event::Resumed(p) | Event::Reached(p) => {
                self.phase = Some(*p);
                self.waiting = None;
            }
            Event::Waiting { what, orgs } => {
                self.waiting = Some((what, orgs.iter().map(|(o, _)| o.clone()).collect()));
            }
            _ => {}
        }
    }

    /// The heartbeat line: what is going on and since when the run started.
    fn heartbeat(&self, elapsed: std::time::Duration) -> String {
        let phase = self.phase.unwrap_or(ceremony::Phase::Started);
        let pending = match &self.waiting {
            Some((what, orgs)) if !orgs.is_empty() => {
                format!("; no {what} yet from {}", orgs.join(", "))
            }
            _ => String::new(),
        };
        format!(
            "[{}] still {} (phase {}{pending})",
            crate::cli::progress::fmt_secs(std::time::Duration::from_secs(elapsed.as_secs())),
            phase.next_step(),
            phase.as_str()
        )
    }

    /// The line an interrupt leaves: what was going on, the phase reached, how to resume.
    fn interrupted(&self, stop: Stop) -> String {
        let phase = self.phase.unwrap_or(ceremony::Phase::Started);
        let pending = match &self.waiting {
            Some((what, orgs)) if !orgs.is_empty() => {
                format!("; no {what} yet from {}", orgs.join(", "))
            }
            // The client belongs to the ceremony's future, which ends with it.
            _ if phase == ceremony::Phase::NodeStarted => {
                "; the client it started was killed".into()
            }
            _ => String::new(),
        };
        format!(
            "run: {} while {} (phase {}{pending}); run again to resume",
            stop.describe(),
            phase.next_step(),
            phase.as_str()
        )
    }
}

/// A signal that stops a command: SIGINT (Ctrl-C) or SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    /// `interrupted (SIGINT)` or `terminated (SIGTERM)`.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Stop::Interrupt => "interrupted (SIGINT)",
            Stop::Terminate => "terminated (SIGTERM)",
        }
    }

    /// 130 for SIGINT, 143 for SIGTERM (128 + the signal's number, as shells report it).
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => exit::INTERRUPTED,
            Stop::Terminate => exit::TERMINATED,
        }
    }
}

/// Send `stop` on to the process `pid` (the client).
fn forward(stop: Stop, pid: u32) {
    let sig = match stop {
        Stop::Interrupt => "-INT",
        Stop::Terminate => "-TERM",
    };
    let _ = std::process::Command::new("kill")
        .arg(sig)
        .arg(pid.to_string())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Catch SIGINT and SIGTERM from now on (they no longer end the process by themselves);
/// the receiver holds the first that arrived. Call inside the runtime.
pub(crate) fn stop_signals() -> tokio::sync::watch::Receiver<Option<Stop>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = tokio::sync::watch::channel(None);
    if let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        tokio::spawn(async move {
            loop {
                let stop = tokio::select! {
                    Some(()) = int.recv() => Stop::Interrupt,
                    Some(()) = term.recv() => Stop::Terminate,
                    else => return,
                };
                tx.send_if_modified(|first| {
                    let new = first.is_none();
                    first.get_or_insert(stop);
                    new
                });
            }
        });
    }
    rx
}

/// The first stop signal (never, when none can be caught).
pub(crate) async fn stopped(mut stops: tokio::sync::watch::Receiver<Option<Stop>>) -> Stop {
    loop {
        if let Some(stop) = *stops.borrow_and_update() {
            return stop;
        }
        if stops.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ceremony::Phase;

    fn line_after(events: &[Event], stop: Stop) -> String {
        let mut at = Position::default();
        for e in events {
            at.see(e);
        }
        at.interrupted(stop)
    }

    #[test]
    fn the_heartbeat_says_what_is_awaited_and_from_whom() {
        let mut at = Position::default();
        at.see(&Event::Reached(Phase::Published));
        at.see(&Event::Waiting {
            what: "records",
            orgs: vec![("org2".into(), "pending".into())],
        });
        assert_eq!(
            at.heartbeat(std::time::Duration::from_millis(90_500)),
            "[90s] still waiting for every organisation's records to be secure \
             (phase published; no records yet from org2)"
        );
    }

    #[test]
    fn the_interrupt_line_says_what_was_going_on() {
        assert_eq!(
            line_after(&[], Stop::Interrupt),
            "run: interrupted (SIGINT) while loading or making the keys (phase started); run again to resume"
        );
        let waiting = Event::Waiting {
            what: "genesis hashes",
            orgs: vec![
                ("org2".into(), "pending".into()),
                ("org4".into(), "x".into()),
            ],
        };
        assert_eq!(
            line_after(
                &[
                    Event::Resumed(Phase::Published),
                    Event::Reached(Phase::HashPublished),
                    waiting.clone()
                ],
                Stop::Terminate
            ),
            "run: terminated (SIGTERM) while waiting for every organisation's genesis hash \
             (phase hash_published; no genesis hashes yet from org2, org4); run again to resume"
        );
        // Who was awaited is forgotten once the next phase is reached.
        assert_eq!(
            line_after(&[waiting, Event::Reached(Phase::Agreed)], Stop::Interrupt),
            "run: interrupted (SIGINT) while starting the client (phase agreed); run again to resume"
        );
        assert!(
            line_after(&[Event::Reached(Phase::NodeStarted)], Stop::Interrupt)
                .contains("(phase node_started; the client it started was killed)")
        );
        assert_eq!(Stop::Interrupt.exit_code(), 130);
        assert_eq!(Stop::Terminate.exit_code(), 143);
    }
}
