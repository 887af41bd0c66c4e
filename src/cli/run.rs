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
        let mut progress = |e: Event| match e {
            Event::OpenKeyFile { .. } => crate::cli::report_line(&say(&e)),
            _ => crate::cli::print(&format!("{}\n", say(&e))),
        };
        let running = tokio::select! {
            r = ceremony::run(&cfg, &mut progress) => r?,
            _ = stop_signal() => {
                crate::cli::print("stopped by a signal before the client started\n");
                return Ok(exit::OK);
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
        running.supervise().await?;
        Ok(exit::OK)
    })
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
