//! The Autonity client stand-in: where the real client is not available (CI, the no-Docker
//! demo), it behaves like the client wherever the ceremony depends on it. It names itself a
//! stand-in everywhere it speaks (`web3_clientVersion`, `admin_nodeInfo.name`, `--version`).
//!
//! The profile comes from the genesis ([`crate::genesis::Committee::format`]): v1 imitates
//! Autonity 0.14.0, v0.7 imitates v0.7.1. What is imitated, and checked against the real
//! client's recordings (`shared/vectors/autonity/`) by `tests/standin.rs`:
//! - the command line: each profile's flags (`--autonitykeys`, `--consensus.port`,
//!   `--consensus.nat` are v1's, `--nodekey` v0.7's; others are refused as the client refuses
//!   an undefined flag, exit status 1), `--syncmode`, `--nat extip:IP`;
//! - key files read as the client reads them ([`keyfile`]: a `0x` prefix is refused);
//! - the genesis rules ([`crate::genesis::rules::check`]); a refusal is one line naming the
//!   file and the field, exit status 1, or 2 where the client panics (no
//!   `initialInflationReserve`);
//! - HTTP as Go's server writes it ([`http`]): keep-alive, `Content-Length` up to 2,048 bytes
//!   and chunked beyond, `Content-Type` and `Date` headers;
//! - the JSON-RPC answers of each profile ([`answers`]), `admin_nodeInfo` at the real size;
//! - block 0's hash from the genesis bytes and the contracts version (`--standin.contracts`);
//! - sync mode: without `--syncmode full` the chain stops at block 1 and non-proposers log
//!   "Fast syncing, discarded propagated block", as the client's nodes do on a new network;
//! - v1's consensus mesh ([`mesh`]): blocks only while more than 2/3 of the voting power is
//!   reachable over live links, dialled at each enode's `acn` endpoint, else IP:20203.
//!
//! Misbehaviour switches for alarm tests: `--standin.stall-after N` (never above block N) and
//! `--standin.drop-validator KEY` (leave that validator out of the committee in every answer),
//! also as `AUTONITY_STANDIN_STALL_AFTER` / `AUTONITY_STANDIN_DROP_VALIDATOR`;
//! `--standin.acn-default-port P` changes the port dialled for enodes without `acn` (the
//! client's is fixed at 20203), so tests need not own port 20203.
//!
//! # Limitations
//! No p2p (execution) network, no state, no transactions; v0.7 has no mesh: its blocks follow
//! the clock (every node alone). Heartbeats are not authenticated. Later blocks' seals, roots
//! and `quorumCertificate` are fillers of the real lengths.

pub mod answers;
pub mod chain;
pub mod http;
pub mod keyfile;
pub mod mesh;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::genesis::{self, Format, GenesisError, Rule};
use chain::{hex0x, keccak, Member, Spec};
use keyfile::{KeyProblem, NodeKey};
use mesh::Mesh;

/// The version string: says what this is.
pub const VERSION: &str = concat!(
    "autonity-standin ",
    env!("CARGO_PKG_VERSION"),
    " (a stand-in for the Autonity client, not the client)"
);

/// Why the stand-in refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    /// A flag neither client knows (the client's words).
    #[error("flag provided but not defined: -{flag}")]
    UnknownFlag {
        /// The flag, without dashes.
        flag: String,
    },
    /// A flag the client of this genesis's profile does not have.
    #[error("flag provided but not defined: -{flag} (not a flag of the {client} client)")]
    ProfileFlag {
        /// The flag, without dashes.
        flag: String,
        /// The client imitated.
        client: &'static str,
    },
    /// A flag without its value, or a value of the wrong form.
    #[error("invalid value for flag -{flag}: {why}")]
    BadValue {
        /// The flag, without dashes.
        flag: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// `--syncmode` names no mode of this client.
    #[error(
        "invalid value {value:?} for flag -syncmode: unknown sync mode {value:?}, want {want}"
    )]
    SyncMode {
        /// The value given.
        value: String,
        /// The modes this client has.
        want: &'static str,
    },
    /// `--syncmode light`.
    #[error("light client currently unsupported")]
    LightSync,
    /// A required flag is absent.
    #[error("missing -{flag}")]
    Missing {
        /// The flag.
        flag: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The key file is refused, as the client refuses it.
    #[error("key file {} (-{option}): {problem}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// The flag that named it.
        option: &'static str,
        /// The client's complaint.
        problem: KeyProblem,
    },
    /// The `--config` file is not TOML.
    #[error("config file {}: {}", path.display(), source.message().replace('\n', "; "))]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        source: toml::de::Error,
    },
    /// The genesis breaks the client's rules.
    #[error("genesis {}: {source}", path.display())]
    Genesis {
        /// The file.
        path: PathBuf,
        /// The rule it breaks.
        source: GenesisError,
    },
    /// The HTTP endpoint could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The consensus port could not be opened (the client stops with this).
    #[error("Error starting protocol stack: listen tcp :{port}: {source}")]
    ConsensusListen {
        /// The port.
        port: u16,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl StandinError {
    /// The exit status the client ends with: 2 where it panics (a v1 genesis without
    /// `initialInflationReserve`, while deploying the Autonity contract), otherwise 1 (its
    /// `Fatalf`, and an undefined flag).
    pub fn exit_code(&self) -> u8 {
        match self {
            StandinError::Genesis {
                source: GenesisError::Violation { path, rule },
                ..
            } if path == "config.autonity.initialInflationReserve" && *rule == Rule::Missing => 2,
            _ => 1,
        }
    }
}

/// Which key flag named the key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFlag {
    /// `--autonitykeys` (v1): node key ‖ BLS key.
    AutonityKeys,
    /// `--nodekey` (v0.7): node key.
    NodeKey,
}

/// The command line, as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `--datadir`.
    pub datadir: PathBuf,
    /// `--genesis`.
    pub genesis: PathBuf,
    /// `--autonitykeys` or `--nodekey`.
    pub keyfile: PathBuf,
    /// Which of the two.
    pub key_flag: KeyFlag,
    /// `--port` (default 30303).
    pub port: u16,
    /// `--consensus.port` (default 20203).
    pub consensus_port: u16,
    /// `--networkid`.
    pub network_id: u64,
    /// `--nat extip:IP`.
    pub ext_ip: Option<IpAddr>,
    /// `--consensus.nat extip:IP`.
    pub consensus_ext_ip: Option<IpAddr>,
    /// `--http`.
    pub http: bool,
    /// `--http.addr` (default 127.0.0.1).
    pub http_addr: IpAddr,
    /// `--http.port` (default 8545).
    pub http_port: u16,
    /// `--http.api` (default the client's: net,web3,aut,tendermint).
    pub http_api: Vec<String>,
    /// `--http.vhosts` (default localhost; `*` any).
    pub http_vhosts: Vec<String>,
    /// `--syncmode` as given (default: the client's, snap or fast).
    pub syncmode: Option<String>,
    /// `--config FILE` (TOML; read and checked, its settings not applied).
    pub config_file: Option<PathBuf>,
    /// `--standin.stall-after N`.
    pub stall_after: Option<u64>,
    /// `--standin.drop-validator KEY` (lowercase 128 hex).
    pub drop_validator: Vec<String>,
    /// `--standin.contracts VERSION` (default the version the profile imitates).
    pub contracts: Option<String>,
    /// `--standin.acn-default-port P` (default 20203, the client's).
    pub acn_default_port: u16,
    /// The flags given, without dashes (checked against the profile's client).
    pub given: Vec<String>,
}

const BOOL_FLAGS: &[&str] = &["http", "mine", "nodiscover", "ws", "ipcdisable"];
const IGNORED_VALUE_FLAGS: &[&str] = &[
    "verbosity",
    "http.corsdomain",
    "bootnodes",
    "gcmode",
    "miner.etherbase",
    "maxpeers",
    "identity",
];
/// Flags only the v1 (0.14) client has.
const V1_ONLY: &[&str] = &["autonitykeys", "consensus.port", "consensus.nat"];
/// Flags only the v0.7.1 client has.
const V07_ONLY: &[&str] = &["nodekey", "miner.etherbase"];

fn value<T: std::str::FromStr>(
    v: Option<String>,
    flag: &'static str,
    why: &'static str,
) -> Result<T, StandinError> {
    v.ok_or(StandinError::BadValue {
        flag,
        why: "needs a value",
    })?
    .parse()
    .map_err(|_| StandinError::BadValue { flag, why })
}

/// `--nat` / `--consensus.nat`: the client's mechanisms; the address of `extip:IP`.
fn nat(v: Option<String>, flag: &'static str) -> Result<Option<IpAddr>, StandinError> {
    let v: String = value(v, flag, "")?;
    match v.split_once(':') {
        Some(("extip", ip)) => Ok(Some(value(
            Some(ip.to_string()),
            flag,
            "extip needs an IP address",
        )?)),
        None if matches!(v.as_str(), "any" | "none" | "upnp" | "pmp" | "") => Ok(None),
        _ => Err(StandinError::BadValue {
            flag,
            why: "unknown mechanism (any, none, upnp, pmp, extip:IP)",
        }),
    }
}

/// Parse the client's command line (`--flag value`, `--flag=value`, one dash or two);
/// undefined flags refused.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, StandinError> {
    let mut args = args.into_iter();
    let (mut datadir, mut genesis, mut keyfile) = (None, None, None);
    let mut c = Config {
        datadir: PathBuf::new(),
        genesis: PathBuf::new(),
        keyfile: PathBuf::new(),
        key_flag: KeyFlag::AutonityKeys,
        port: 30303,
        consensus_port: genesis::rules::DEFAULT_ACN_PORT,
        network_id: 0,
        ext_ip: None,
        consensus_ext_ip: None,
        http: false,
        http_addr: IpAddr::from([127, 0, 0, 1]),
        http_port: 8545,
        http_api: ["net", "web3", "aut", "tendermint"]
            .map(String::from)
            .to_vec(),
        http_vhosts: vec!["localhost".into()],
        syncmode: None,
        config_file: None,
        stall_after: None,
        drop_validator: Vec::new(),
        contracts: None,
        acn_default_port: genesis::rules::DEFAULT_ACN_PORT,
        given: Vec::new(),
    };
    let mut network_id = None;
    if let Some(n) = env("AUTONITY_STANDIN_STALL_AFTER") {
        c.stall_after = Some(value(Some(n), "standin.stall-after", "not a number")?);
    }
    if let Some(k) = env("AUTONITY_STANDIN_DROP_VALIDATOR") {
        c.drop_validator.push(k.to_ascii_lowercase());
    }
    while let Some(arg) = args.next() {
        let name = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .ok_or_else(|| StandinError::UnknownFlag { flag: arg.clone() })?;
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (name.to_string(), None),
        };
        c.given.push(name.clone());
        if let Some(&flag) = BOOL_FLAGS.iter().find(|f| **f == name) {
            let on = match inline.as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    return Err(StandinError::BadValue {
                        flag,
                        why: "must be true or false",
                    })
                }
            };
            if name == "http" {
                c.http = on;
            }
            continue;
        }
        let mut next = || inline.clone().or_else(|| args.next());
        match name.as_str() {
            "datadir" => datadir = Some(PathBuf::from(value::<String>(next(), "datadir", "")?)),
            "genesis" => genesis = Some(PathBuf::from(value::<String>(next(), "genesis", "")?)),
            "autonitykeys" => {
                keyfile = Some(PathBuf::from(value::<String>(next(), "autonitykeys", "")?));
                c.key_flag = KeyFlag::AutonityKeys;
            }
            "nodekey" => {
                keyfile = Some(PathBuf::from(value::<String>(next(), "nodekey", "")?));
                c.key_flag = KeyFlag::NodeKey;
            }
            "port" => c.port = value(next(), "port", "not a port")?,
            "consensus.port" => c.consensus_port = value(next(), "consensus.port", "not a port")?,
            "networkid" => network_id = Some(value(next(), "networkid", "not a number")?),
            "nat" => c.ext_ip = nat(next(), "nat")?,
            "consensus.nat" => c.consensus_ext_ip = nat(next(), "consensus.nat")?,
            "http.addr" => c.http_addr = value(next(), "http.addr", "not an IP address")?,
            "http.port" => c.http_port = value(next(), "http.port", "not a port")?,
            "http.api" => {
                let v: String = value(next(), "http.api", "")?;
                c.http_api = v.split(',').map(|s| s.trim().to_string()).collect();
            }
            "http.vhosts" => {
                let v: String = value(next(), "http.vhosts", "")?;
                c.http_vhosts = v
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect();
            }
            "syncmode" => c.syncmode = Some(value(next(), "syncmode", "")?),
            "config" => c.config_file = Some(PathBuf::from(value::<String>(next(), "config", "")?)),
            "standin.stall-after" => {
                c.stall_after = Some(value(next(), "standin.stall-after", "not a number")?)
            }
            "standin.drop-validator" => {
                let k: String = value(next(), "standin.drop-validator", "")?;
                if crate::hexfmt::parse_fixed::<64>(&k, false).is_err() {
                    return Err(StandinError::BadValue {
                        flag: "standin.drop-validator",
                        why: "must be a 128-hex enode key",
                    });
                }
                c.drop_validator.push(k.to_ascii_lowercase());
            }
            "standin.contracts" => {
                let v: String = value(next(), "standin.contracts", "")?;
                if v.is_empty() {
                    return Err(StandinError::BadValue {
                        flag: "standin.contracts",
                        why: "must name a version",
                    });
                }
                c.contracts = Some(v);
            }
            "standin.acn-default-port" => {
                c.acn_default_port = value(next(), "standin.acn-default-port", "not a port")?
            }
            n if IGNORED_VALUE_FLAGS.contains(&n) => {
                next();
            }
            _ => return Err(StandinError::UnknownFlag { flag: name }),
        }
    }
    c.datadir = datadir.ok_or(StandinError::Missing { flag: "datadir" })?;
    c.genesis = genesis.ok_or(StandinError::Missing { flag: "genesis" })?;
    c.keyfile = keyfile.ok_or(StandinError::Missing {
        flag: "autonitykeys (v1) or -nodekey (v0.7)",
    })?;
    c.network_id = network_id.ok_or(StandinError::Missing { flag: "networkid" })?;
    Ok(c)
}

/// One line for the log, in the client's terms (level, message, key=value context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `INFO`, `WARN`.
    pub level: &'static str,
    /// The client's message.
    pub message: &'static str,
    /// Context.
    pub context: Vec<(&'static str, String)>,
}

/// Where log lines go (the binary writes them to stderr).
pub type LogSink = Arc<dyn Fn(LogLine) + Send + Sync>;

#[derive(Debug)]
struct ChainState {
    height: u64,
    since: Instant,
    /// Unix time each height was reached (index = height).
    times: Vec<u64>,
    /// When "discarded propagated block" was last logged.
    discarded_at: Option<Instant>,
}

/// A started stand-in node: its identity, chain and consensus links.
pub struct Node {
    config: Config,
    key: NodeKey,
    spec: Spec,
    committee: Vec<Member>,
    validators: Vec<Member>,
    state: Mutex<ChainState>,
    mesh: Mesh,
    info_config: Value,
    log: LogSink,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("config", &self.config)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Node {
    /// Check the command line against the profile's client, read the key file and the
    /// genesis, apply the client's genesis rules; in the client's order (flags, keys, genesis).
    pub fn new(config: Config) -> Result<Node, StandinError> {
        let bytes = std::fs::read(&config.genesis).map_err(|source| StandinError::Read {
            path: config.genesis.clone(),
            source,
        })?;
        let doc: Option<Value> = serde_json::from_slice(&bytes).ok();
        let format = doc.as_ref().map(|d| {
            match d["config"].get("autonityContract").is_some()
                && d["config"].get("autonity").is_none()
            {
                true => Format::V07,
                false => Format::V1,
            }
        });
        if let Some(format) = format {
            check_profile_flags(&config, format)?;
        }
        // The client loads its TOML configuration before its keys.
        if let Some(path) = &config.config_file {
            let text = std::fs::read_to_string(path).map_err(|source| StandinError::Read {
                path: path.clone(),
                source,
            })?;
            toml::from_str::<toml::Value>(&text).map_err(|source| StandinError::ConfigFile {
                path: path.clone(),
                source,
            })?;
        }
        let option = match config.key_flag {
            KeyFlag::AutonityKeys => "autonitykeys",
            KeyFlag::NodeKey => "nodekey",
        };
        let content = std::fs::read(&config.keyfile).map_err(|source| StandinError::Read {
            path: config.keyfile.clone(),
            source,
        })?;
        let key = keyfile::parse(&content, config.key_flag == KeyFlag::AutonityKeys).map_err(
            |problem| StandinError::Key {
                path: config.keyfile.clone(),
                option,
                problem,
            },
        )?;
        let genesis_err = |source| StandinError::Genesis {
            path: config.genesis.clone(),
            source,
        };
        let parsed = genesis::Genesis::from_bytes(bytes.clone()).map_err(genesis_err)?;
        let committee = parsed.committee();
        let contracts = config
            .contracts
            .clone()
            .unwrap_or_else(|| chain::default_contracts(committee.format).to_string());
        let spec = Spec::new(&bytes, doc.unwrap_or(Value::Null), committee, &contracts);
        let kept = |m: &&Member| !config.drop_validator.contains(&m.parsed.key_hex());
        let committee: Vec<Member> = spec.committee.iter().filter(kept).cloned().collect();
        let validators: Vec<Member> = spec.validators.iter().filter(kept).cloned().collect();
        let mesh = Mesh::new(key.public, spec.block0, &spec.committee);
        let genesis_time = spec
            .doc
            .get("timestamp")
            .and_then(chain::int)
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(0);
        let mut node = Node {
            config,
            key,
            committee,
            validators,
            state: Mutex::new(ChainState {
                height: 0,
                since: Instant::now(),
                times: vec![genesis_time],
                discarded_at: None,
            }),
            mesh,
            info_config: Value::Null,
            log: Arc::new(|_| {}),
            spec,
        };
        node.info_config = node.build_info_config();
        Ok(node)
    }

    /// Send log lines to `sink`.
    pub fn with_log(mut self, sink: LogSink) -> Node {
        self.log = sink;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChainState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The chain as the genesis defines it.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The committee as the node reports it (`--standin.drop-validator` applied).
    pub fn committee(&self) -> &[Member] {
        &self.committee
    }

    /// The validators as the node reports them (`--standin.drop-validator` applied).
    pub fn validators(&self) -> &[Member] {
        &self.validators
    }

    /// This node's public key (the enode id).
    pub fn public_key(&self) -> [u8; 64] {
        self.key.public
    }

    /// Whether this node's key is in the genesis committee (otherwise it follows the chain
    /// without making blocks, as the client's non-validators do).
    pub fn is_validator(&self) -> bool {
        self.spec
            .committee
            .iter()
            .any(|m| m.parsed.key == self.key.public)
    }

    /// Whether `--syncmode full` was given.
    pub fn full_sync(&self) -> bool {
        self.config.syncmode.as_deref() == Some("full")
    }

    /// The highest block this node makes or takes: 1 outside full sync mode (the client's
    /// snap/fast sync discards propagated blocks on a new network), and `--standin.stall-after`.
    pub fn cap(&self) -> u64 {
        let sync = if self.full_sync() { u64::MAX } else { 1 };
        sync.min(self.config.stall_after.unwrap_or(u64::MAX))
    }

    /// The current block number.
    pub fn height(&self) -> u64 {
        self.lock().height
    }

    /// Unix time of block `n` (when this node reached it; 0 for unknown).
    pub fn block_time(&self, n: u64) -> u64 {
        self.lock().times.get(n as usize).copied().unwrap_or(0)
    }

    /// The address `ip` of the node's own records.
    fn own_ip(&self) -> IpAddr {
        self.config.ext_ip.unwrap_or(IpAddr::from([127, 0, 0, 1]))
    }

    /// This node's enode URL (the execution endpoint, as `admin_nodeInfo` gives it).
    pub fn enode(&self) -> String {
        let url = genesis::Enode {
            key: self.key.public,
            ip: self.own_ip(),
            port: self.config.port,
            acn: None,
        }
        .to_string();
        match self.spec.format {
            Format::V1 => url,
            Format::V07 => format!("{url}?discport=0"),
        }
    }

    /// The client name it reports: a stand-in's, with the version it imitates.
    pub fn client_name(&self) -> String {
        format!(
            "autonity-standin/{}/{}-{}/dnsceremony-{}",
            self.spec.contracts,
            std::env::consts::OS,
            std::env::consts::ARCH,
            env!("CARGO_PKG_VERSION")
        )
    }

    /// The operator address of the genesis.
    pub fn operator(&self) -> [u8; 20] {
        let aut = match self.spec.format {
            Format::V1 => &self.spec.doc["config"]["autonity"],
            Format::V07 => &self.spec.doc["config"]["autonityContract"],
        };
        aut.get("operator")
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|h| crate::hexfmt::parse_fixed::<20>(h, false).ok())
            .unwrap_or([0; 20])
    }

    /// Where this node dials the other committee members for consensus (v1): each enode's
    /// `acn` endpoint, else its IP on the default port.
    pub fn consensus_dials(&self) -> Vec<SocketAddr> {
        self.spec
            .committee
            .iter()
            .filter(|m| m.parsed.key != self.key.public)
            .map(|m| {
                m.parsed
                    .acn
                    .unwrap_or(SocketAddr::new(m.parsed.ip, self.config.acn_default_port))
            })
            .collect()
    }

    /// Live consensus links.
    pub fn peer_count(&self) -> usize {
        self.mesh.live_links().len()
    }

    fn build_info_config(&self) -> Value {
        let config = &self.spec.doc["config"];
        let mut out = serde_json::Map::new();
        out.insert("chainId".into(), json!(self.spec.chain_id));
        let forks = [
            "homesteadBlock",
            "eip150Block",
            "eip150Hash",
            "eip155Block",
            "eip158Block",
            "byzantiumBlock",
            "constantinopleBlock",
            "petersburgBlock",
            "istanbulBlock",
        ];
        let v1_forks = [
            "muirGlacierBlock",
            "berlinBlock",
            "londonBlock",
            "arrowGlacierBlock",
        ];
        let extra: &[&str] = match self.spec.format {
            Format::V1 => &v1_forks,
            Format::V07 => &[],
        };
        for k in forks.iter().chain(extra) {
            let v = match *k {
                "eip150Hash" => json!(hex0x(&[0u8; 32])),
                _ => json!(0),
            };
            out.insert((*k).into(), config.get(*k).cloned().unwrap_or(v));
        }
        // The contract's bytecode and ABI, as the client embeds them: a deterministic filler
        // making the answer as large as the real one (~194 KB in v1, ~97 KB in v0.7).
        let seed = format!("autonity-standin bytecode {}", self.spec.contracts);
        match self.spec.format {
            Format::V1 => {
                let mut aut = config["autonity"].clone();
                if let Some(a) = aut.as_object_mut() {
                    a.insert(
                        "bytecode".into(),
                        json!(hex0x(&chain::filler(seed.as_bytes(), 93_000))),
                    );
                    a.insert("abi".into(), json!([]));
                }
                out.insert("autonity".into(), aut);
                for (k, v) in config.as_object().into_iter().flatten() {
                    if !out.contains_key(k) {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Format::V07 => {
                if let Some(t) = config.get("tendermint") {
                    out.insert("tendermint".into(), t.clone());
                }
                let src = &config["autonityContract"];
                let users: Vec<Value> = src["users"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|u| {
                        let mut o = serde_json::Map::new();
                        if let Some(k) = u
                            .get("enode")
                            .and_then(Value::as_str)
                            .and_then(|e| genesis::Enode::parse(e).ok())
                        {
                            o.insert("address".into(), json!(hex0x(&chain::address_of(&k.key))));
                        }
                        for f in ["enode", "type", "stake"] {
                            if let Some(v) = u.get(f) {
                                o.insert(f.into(), v.clone());
                            }
                        }
                        Value::Object(o)
                    })
                    .collect();
                let bytecode = hex::encode(chain::filler(seed.as_bytes(), 37_500));
                out.insert(
                    "autonityContract".into(),
                    json!({
                        "bytecode": bytecode,
                        "abi": answers::v07_abi_text().repeat(8),
                        "minGasPrice": src.get("minGasPrice").cloned().unwrap_or(json!(0)),
                        "operator": src.get("operator").cloned().unwrap_or(Value::Null),
                        "users": users,
                    }),
                );
            }
        }
        Value::Object(out)
    }

    /// `admin_nodeInfo`.
    pub fn node_info(&self) -> Value {
        let height = self.height();
        let ip = self.own_ip();
        let (discovery, proto) = match self.spec.format {
            Format::V1 => (self.config.port, "aut"),
            Format::V07 => (0, "tendermint"),
        };
        let mut protocols = serde_json::Map::new();
        protocols.insert(
            proto.into(),
            json!({
                "network": self.config.network_id,
                "difficulty": self.spec.total_difficulty(height),
                "genesis": hex0x(&self.spec.block0),
                "config": self.info_config,
                "head": hex0x(&self.spec.block_hash(height)),
            }),
        );
        if self.spec.format == Format::V1 {
            protocols.insert("aut_snap".into(), json!({}));
        }
        json!({
            "id": hex::encode(keccak(&[&self.key.public])),
            "name": self.client_name(),
            "enode": self.enode(),
            "enr": chain::enr(self.key.secret(), ip, self.config.port, discovery),
            "ip": ip.to_string(),
            "ports": {"discovery": discovery, "listener": self.config.port},
            "listenAddr": format!("[::]:{}", self.config.port),
            "protocols": protocols,
        })
    }

    /// `admin_peers`: the live consensus links (v1), shaped like the client's peer list.
    pub fn peers(&self) -> Value {
        let list: Vec<Value> = self
            .mesh
            .live_links()
            .into_iter()
            .map(|(key, l)| {
                let m = self.spec.committee.iter().find(|m| m.parsed.key == key);
                let port = m.map(|m| m.parsed.port).unwrap_or(l.remote.port());
                let url = genesis::Enode {
                    key,
                    ip: l.remote.ip(),
                    port: if l.inbound { l.remote.port() } else { port },
                    acn: None,
                };
                json!({
                    "enode": url.to_string(),
                    "id": hex::encode(keccak(&[&key])),
                    "name": format!("autonity-standin/{}", self.spec.contracts),
                    "caps": ["aut/66", "aut_snap/1"],
                    "network": {
                        "localAddress": l.local.to_string(),
                        "remoteAddress": l.remote.to_string(),
                        "inbound": l.inbound,
                        "trusted": false,
                        "static": !l.inbound,
                    },
                    "protocols": {
                        "aut": {"version": 66, "difficulty": l.height, "head": hex0x(&self.spec.block_hash(l.height))},
                        "aut_snap": {"version": 1},
                    },
                })
            })
            .collect();
        Value::Array(list)
    }

    fn log_discard(&self, st: &mut ChainState, number: u64) {
        let period = Duration::from_secs(self.spec.block_period);
        if st.discarded_at.is_some_and(|t| t.elapsed() < period) {
            return;
        }
        if !self.is_validator() || self.spec.proposer(number).parsed.key == self.key.public {
            return;
        }
        st.discarded_at = Some(Instant::now());
        (self.log)(LogLine {
            level: "WARN",
            message: "Fast syncing, discarded propagated block",
            context: vec![
                ("number", number.to_string()),
                ("hash", hex0x(&self.spec.block_hash(number))),
            ],
        });
    }

    fn set_height(&self, st: &mut ChainState, h: u64) {
        let now = unix_now();
        while st.times.len() <= h as usize {
            st.times.push(now);
        }
        st.height = h;
        st.since = Instant::now();
    }

    /// One step of the block clock: make the next block when the period has passed and the
    /// profile's rule allows it (v1: a quorum reached; v0.7: always); log the discarded
    /// block where the sync mode stops the chain.
    fn tick(&self) {
        let period = Duration::from_secs(self.spec.block_period);
        let cap = self.cap();
        let mut st = self.lock();
        if st.since.elapsed() < period {
            return;
        }
        let next = st.height + 1;
        let allowed = match self.spec.format {
            Format::V07 => true,
            Format::V1 => self.is_validator() && self.mesh.quorum(next, cap, false),
        };
        if allowed && next <= cap {
            self.set_height(&mut st, next);
            drop(st);
            self.mesh.wake.notify_waiters();
            return;
        }
        if !self.full_sync() && st.height >= 1 {
            let alive = match self.spec.format {
                Format::V07 => true,
                Format::V1 => self.mesh.quorum(next, cap, true),
            };
            if alive {
                self.log_discard(&mut st, next);
            }
        }
    }

    /// Bind the HTTP endpoint (when `--http` is set).
    pub async fn listen_http(&self) -> Result<Option<TcpListener>, StandinError> {
        if !self.config.http {
            return Ok(None);
        }
        let addr = SocketAddr::new(self.config.http_addr, self.config.http_port);
        TcpListener::bind(addr)
            .await
            .map(Some)
            .map_err(|source| StandinError::Listen { addr, source })
    }

    /// Bind the consensus port on all addresses, as the client does (v1; none in v0.7).
    pub async fn listen_consensus(&self) -> Result<Option<TcpListener>, StandinError> {
        if self.spec.format != Format::V1 {
            return Ok(None);
        }
        let port = self.config.consensus_port;
        let any6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        match TcpListener::bind(any6).await {
            Ok(l) => Ok(Some(l)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                Err(StandinError::ConsensusListen { port, source: e })
            }
            // No IPv6 on this host: all IPv4 addresses.
            Err(_) => TcpListener::bind(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port))
                .await
                .map(Some)
                .map_err(|source| StandinError::ConsensusListen { port, source }),
        }
    }

    /// Start serving: HTTP JSON-RPC, the consensus mesh and the block clock, as tasks on the
    /// current tokio runtime (they end with it).
    pub fn start(self: &Arc<Self>, http: Option<TcpListener>, consensus: Option<TcpListener>) {
        if let Some(l) = http {
            tokio::spawn(http::serve(self.clone(), l));
        }
        if let Some(l) = consensus {
            tokio::spawn(mesh::run(self.clone(), l, self.consensus_dials()));
        }
        let node = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                node.tick();
            }
        });
    }
}

impl mesh::Peer for Node {
    fn mesh(&self) -> &Mesh {
        &self.mesh
    }

    fn own(&self) -> (u64, u64) {
        (self.height(), self.cap())
    }

    fn heard(&self, height: u64) {
        let cap = self.cap();
        let mut st = self.lock();
        if height <= st.height {
            return;
        }
        let take = height.min(cap);
        if take > st.height {
            self.set_height(&mut st, take);
            drop(st);
            self.mesh.wake.notify_waiters();
        } else if !self.full_sync() && st.height >= 1 {
            let next = st.height + 1;
            self.log_discard(&mut st, next);
        }
    }
}

/// Refuse flags the profile's client does not have, and sync modes it does not know.
fn check_profile_flags(config: &Config, format: Format) -> Result<(), StandinError> {
    let (foreign, client, modes, want) = match format {
        Format::V1 => (
            V07_ONLY,
            "v0.14",
            ["full", "snap"],
            r#""full", "snap" or "light""#,
        ),
        Format::V07 => (
            V1_ONLY,
            "v0.7.1",
            ["full", "fast"],
            r#""full", "fast" or "light""#,
        ),
    };
    if let Some(flag) = config.given.iter().find(|g| foreign.contains(&g.as_str())) {
        return Err(StandinError::ProfileFlag {
            flag: flag.clone(),
            client,
        });
    }
    match config.syncmode.as_deref() {
        None => Ok(()),
        Some("light") => Err(StandinError::LightSync),
        Some(m) if modes.contains(&m) => Ok(()),
        Some(m) => Err(StandinError::SyncMode {
            value: m.to_string(),
            want,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    const BASE: &str = "--datadir d --genesis g --autonitykeys k --networkid 1";

    #[test]
    fn flags_as_the_client_reads_them() {
        let c = parse_args(
            args(&format!(
                "{BASE} -syncmode=full --nat extip:10.0.0.1 --consensus.nat extip:10.0.0.2 \
                 --http --http.api eth,aut --http.vhosts Localhost,node1"
            )),
            |_| None,
        )
        .unwrap();
        assert_eq!(c.syncmode.as_deref(), Some("full"));
        assert_eq!(c.ext_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(c.consensus_ext_ip, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(c.http_vhosts, ["localhost", "node1"]);
        assert_eq!(c.key_flag, KeyFlag::AutonityKeys);
        let e = parse_args(args(&format!("{BASE} --bogus-flag 1")), |_| None).unwrap_err();
        assert_eq!(e.to_string(), "flag provided but not defined: -bogus-flag");
        assert_eq!(e.exit_code(), 1);
        assert!(parse_args(args(&format!("{BASE} --nat stun")), |_| None).is_err());
        let c = parse_args(args(&format!("{BASE} --config node/config.toml")), |_| None).unwrap();
        assert_eq!(c.config_file, Some(PathBuf::from("node/config.toml")));
        let c = parse_args(args(&format!("{BASE} --nat any")), |_| None).unwrap();
        assert_eq!(c.ext_ip, None);
        let c = parse_args(args(BASE), |k| {
            (k == "AUTONITY_STANDIN_STALL_AFTER").then(|| "7".to_string())
        })
        .unwrap();
        assert_eq!(c.stall_after, Some(7));
    }

    #[test]
    fn each_profile_refuses_the_others_flags_and_sync_modes() {
        let c = parse_args(args(&format!("{BASE} --syncmode fast")), |_| None).unwrap();
        assert_eq!(
            check_profile_flags(&c, Format::V1).unwrap_err().to_string(),
            r#"invalid value "fast" for flag -syncmode: unknown sync mode "fast", want "full", "snap" or "light""#
        );
        let v07 = "--datadir d --genesis g --nodekey k --networkid 1";
        let c = parse_args(args(&format!("{v07} --syncmode fast")), |_| None).unwrap();
        assert!(check_profile_flags(&c, Format::V07).is_ok());
        let c = parse_args(args(&format!("{BASE} --syncmode light")), |_| None).unwrap();
        assert!(matches!(
            check_profile_flags(&c, Format::V1),
            Err(StandinError::LightSync)
        ));
        // --autonitykeys and --consensus.port are v1's.
        let c = parse_args(args(&format!("{BASE} --consensus.port 1")), |_| None).unwrap();
        let e = check_profile_flags(&c, Format::V07).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("flag provided but not defined: -autonitykeys"));
        let c = parse_args(
            args("--datadir d --genesis g --nodekey k --networkid 1"),
            |_| None,
        )
        .unwrap();
        assert_eq!(c.key_flag, KeyFlag::NodeKey);
        assert!(check_profile_flags(&c, Format::V07).is_ok());
        assert!(check_profile_flags(&c, Format::V1).is_err());
    }

    #[test]
    fn a_missing_inflation_reserve_exits_like_the_clients_panic() {
        let e = |path: &str, rule| StandinError::Genesis {
            path: "g.json".into(),
            source: GenesisError::Violation {
                path: path.into(),
                rule,
            },
        };
        assert_eq!(
            e("config.autonity.initialInflationReserve", Rule::Missing).exit_code(),
            2
        );
        assert_eq!(
            e("config.autonity.validators[2].bondedStake", Rule::Zero).exit_code(),
            1
        );
        let line = e("config.autonity.initialInflationReserve", Rule::Missing).to_string();
        assert_eq!(
            line,
            "genesis g.json: genesis field config.autonity.initialInflationReserve: missing"
        );
    }
}
