//! The Autonity client stand-in: the client's command-line subset and the JSON-RPC methods
//! the ceremony uses, with a committee taken from the genesis. Used where the real client is
//! not available (tests, the no-Docker demo); named as a stand-in everywhere it speaks.
//!
//! Blocks: `eth_blockNumber` advances by one every block period from the moment the node
//! started. Misbehaviour switches for alarm tests: `--standin.stall-after N` (no blocks after
//! N) and `--standin.drop-validator KEY` (leave that validator out of the committee), also as
//! `AUTONITY_STANDIN_STALL_AFTER` / `AUTONITY_STANDIN_DROP_VALIDATOR`.
//!
//! # Limitations
//! No p2p, no consensus, no state: it never talks to peers and `eth_call` answers only
//! `getCommitteeEnodes()` and `getValidators()` of the Autonity contract. JSON-RPC over
//! HTTP/1.1, one request per connection, no batches.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};
use sha3::{Digest, Keccak256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::genesis::{self, Committee, GenesisError};
use crate::rpc;

/// The version string: says what this is.
pub const VERSION: &str = concat!(
    "autonity-standin ",
    env!("CARGO_PKG_VERSION"),
    " (a stand-in for the Autonity client, not the client)"
);

/// Why the stand-in refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    /// A flag the client does not know.
    #[error("flag provided but not defined: {flag}")]
    UnknownFlag {
        /// The flag.
        flag: String,
    },
    /// A flag without its value, or a value of the wrong form.
    #[error("invalid value for {flag}: {why}")]
    BadValue {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// A required flag is absent.
    #[error("missing {flag}")]
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
    /// The key file is malformed.
    #[error("key file {}: {why}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: &'static str,
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
}

/// The command line, as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `--datadir`.
    pub datadir: PathBuf,
    /// `--genesis`.
    pub genesis: PathBuf,
    /// `--autonitykeys` (v1) or `--nodekey` (v0.7).
    pub keyfile: PathBuf,
    /// `--port` (default 30303).
    pub port: u16,
    /// `--consensus.port` (default 20203).
    pub consensus_port: u16,
    /// `--networkid`.
    pub network_id: u64,
    /// `--nat extip:IP`.
    pub ext_ip: Option<IpAddr>,
    /// `--http`.
    pub http: bool,
    /// `--http.addr` (default 127.0.0.1).
    pub http_addr: IpAddr,
    /// `--http.port` (default 8545).
    pub http_port: u16,
    /// `--http.api` (default eth,net,web3).
    pub http_api: Vec<String>,
    /// `--standin.stall-after N`.
    pub stall_after: Option<u64>,
    /// `--standin.drop-validator KEY` (lowercase 128 hex).
    pub drop_validator: Vec<String>,
}

const BOOL_FLAGS: &[&str] = &["http", "mine", "nodiscover", "ws"];
const IGNORED_VALUE_FLAGS: &[&str] = &[
    "syncmode",
    "config",
    "consensus.nat",
    "verbosity",
    "http.corsdomain",
    "http.vhosts",
    "bootnodes",
    "gcmode",
    "miner.etherbase",
    "maxpeers",
];

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

/// Parse the client's command line (`--flag value` or `--flag=value`); unknown flags refused.
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
        port: 30303,
        consensus_port: 20203,
        network_id: 0,
        ext_ip: None,
        http: false,
        http_addr: IpAddr::from([127, 0, 0, 1]),
        http_port: 8545,
        http_api: vec!["eth".into(), "net".into(), "web3".into()],
        stall_after: None,
        drop_validator: Vec::new(),
    };
    let mut network_id = None;
    if let Some(n) = env("AUTONITY_STANDIN_STALL_AFTER") {
        c.stall_after = Some(value(Some(n), "--standin.stall-after", "not a number")?);
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
        if BOOL_FLAGS.contains(&name.as_str()) {
            let on = match inline.as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    return Err(StandinError::BadValue {
                        flag: "--http",
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
            "datadir" => datadir = Some(PathBuf::from(value::<String>(next(), "--datadir", "")?)),
            "genesis" => genesis = Some(PathBuf::from(value::<String>(next(), "--genesis", "")?)),
            "autonitykeys" | "nodekey" => {
                keyfile = Some(PathBuf::from(value::<String>(
                    next(),
                    "--autonitykeys",
                    "",
                )?))
            }
            "port" => c.port = value(next(), "--port", "not a port")?,
            "consensus.port" => c.consensus_port = value(next(), "--consensus.port", "not a port")?,
            "networkid" => network_id = Some(value(next(), "--networkid", "not a number")?),
            "nat" => {
                let v: String = value(next(), "--nat", "")?;
                let ip = v.strip_prefix("extip:").ok_or(StandinError::BadValue {
                    flag: "--nat",
                    why: "only extip:IP is supported",
                })?;
                c.ext_ip = Some(value(Some(ip.to_string()), "--nat", "not an IP address")?);
            }
            "http.addr" => c.http_addr = value(next(), "--http.addr", "not an IP address")?,
            "http.port" => c.http_port = value(next(), "--http.port", "not a port")?,
            "http.api" => {
                let v: String = value(next(), "--http.api", "")?;
                c.http_api = v.split(',').map(|s| s.trim().to_string()).collect();
            }
            "standin.stall-after" => {
                c.stall_after = Some(value(next(), "--standin.stall-after", "not a number")?)
            }
            "standin.drop-validator" => {
                let k: String = value(next(), "--standin.drop-validator", "")?;
                if rpc::enode_key(&format!("enode://{k}@0.0.0.0:1")).is_none() {
                    return Err(StandinError::BadValue {
                        flag: "--standin.drop-validator",
                        why: "must be a 128-hex enode key",
                    });
                }
                c.drop_validator.push(k.to_ascii_lowercase());
            }
            n if IGNORED_VALUE_FLAGS.contains(&n) => {
                next();
            }
            _ => return Err(StandinError::UnknownFlag { flag: arg }),
        }
    }
    c.datadir = datadir.ok_or(StandinError::Missing { flag: "--datadir" })?;
    c.genesis = genesis.ok_or(StandinError::Missing { flag: "--genesis" })?;
    c.keyfile = keyfile.ok_or(StandinError::Missing {
        flag: "--autonitykeys or --nodekey",
    })?;
    c.network_id = network_id.ok_or(StandinError::Missing {
        flag: "--networkid",
    })?;
    Ok(c)
}

/// Read a node key file: `autonitykeys` (128 hex: node key ‖ BLS key) or `nodekey` (64 hex);
/// the node's public key X||Y.
pub fn read_node_key(path: &std::path::Path) -> Result<[u8; 64], StandinError> {
    let text = std::fs::read_to_string(path).map_err(|source| StandinError::Read {
        path: path.into(),
        source,
    })?;
    let t = text.trim();
    let bad = |why| StandinError::Key {
        path: path.into(),
        why,
    };
    let hex_sk = match t.len() {
        64 | 128 => &t[..64],
        _ => return Err(bad("expected 64 or 128 hex digits")),
    };
    let sk = crate::hexfmt::parse_fixed::<32>(hex_sk, false).map_err(|_| bad("not hex"))?;
    let sk = k256::SecretKey::from_slice(&sk).map_err(|_| bad("not a secp256k1 private key"))?;
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let point = sk.public_key().to_encoded_point(false);
    let mut out = [0u8; 64];
    out.copy_from_slice(&point.as_bytes()[1..]);
    Ok(out)
}

/// A started stand-in node: its identity, committee and clock.
#[derive(Debug)]
pub struct Node {
    config: Config,
    key: [u8; 64],
    committee: Committee,
    started: Instant,
}

/// The address of an enode key: the last 20 bytes of keccak256(X||Y).
pub fn address_of(key: &[u8; 64]) -> [u8; 20] {
    let h = Keccak256::digest(key);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

impl Node {
    /// Read the key and the genesis, apply the client's genesis rules.
    pub fn new(config: Config) -> Result<Node, StandinError> {
        let key = read_node_key(&config.keyfile)?;
        let bytes = std::fs::read(&config.genesis).map_err(|source| StandinError::Read {
            path: config.genesis.clone(),
            source,
        })?;
        let genesis =
            genesis::Genesis::from_bytes(bytes).map_err(|source| StandinError::Genesis {
                path: config.genesis.clone(),
                source,
            })?;
        Ok(Node {
            committee: genesis.committee().clone(),
            config,
            key,
            started: Instant::now(),
        })
    }

    /// Whether this node's key is in the genesis committee (the real client would otherwise
    /// run as a non-validator).
    pub fn is_validator(&self) -> bool {
        self.committee
            .members
            .iter()
            .any(|m| m.parsed.key == self.key)
    }

    /// This node's enode URL.
    pub fn enode(&self) -> String {
        let ip = self.config.ext_ip.unwrap_or(IpAddr::from([127, 0, 0, 1]));
        genesis::Enode {
            key: self.key,
            ip,
            port: self.config.port,
            acn: None,
        }
        .to_string()
    }

    /// The current block number.
    pub fn block_number(&self) -> u64 {
        let n = self.started.elapsed().as_secs() / self.committee.block_period.max(1);
        match self.config.stall_after {
            Some(s) => n.min(s),
            None => n,
        }
    }

    fn committee_enodes(&self) -> Vec<String> {
        self.committee
            .members
            .iter()
            .filter(|m| !self.config.drop_validator.contains(&m.parsed.key_hex()))
            .map(|m| m.enode.clone())
            .collect()
    }

    fn committee_keys(&self) -> Vec<[u8; 64]> {
        self.committee
            .members
            .iter()
            .filter(|m| !self.config.drop_validator.contains(&m.parsed.key_hex()))
            .map(|m| m.parsed.key)
            .collect()
    }

    fn api_enabled(&self, method: &str) -> bool {
        let ns = method.split('_').next().unwrap_or("");
        self.config.http_api.iter().any(|a| a == ns)
    }

    /// Answer one JSON-RPC method: `Ok(result)` or `Err((code, message))`.
    pub fn handle(&self, method: &str, params: &Value) -> Result<Value, (i64, String)> {
        let not_found = || {
            (
                -32601,
                format!("the method {method} does not exist/is not available"),
            )
        };
        if !self.api_enabled(method) {
            return Err(not_found());
        }
        let hexq = |n: u64| Value::String(format!("{n:#x}"));
        match method {
            "eth_blockNumber" => Ok(hexq(self.block_number())),
            "eth_chainId" => Ok(hexq(self.committee.chain_id)),
            "net_version" => Ok(Value::String(self.config.network_id.to_string())),
            "web3_clientVersion" => Ok(Value::String(VERSION.into())),
            "admin_nodeInfo" => Ok(json!({
                "enode": self.enode(),
                "id": hex::encode(Keccak256::digest(self.key)),
                "name": VERSION,
                "ip": self.config.ext_ip.map(|i| i.to_string()).unwrap_or_else(|| "127.0.0.1".into()),
                "ports": {"discovery": self.config.port, "listener": self.config.port},
                "protocols": {},
            })),
            "aut_getCommitteeEnodes" | "tendermint_getCommitteeEnodes" => {
                Ok(json!(self.committee_enodes()))
            }
            "aut_getValidators" => Ok(json!(self
                .committee_keys()
                .iter()
                .map(|k| format!("0x{}", hex::encode(address_of(k))))
                .collect::<Vec<_>>())),
            "tendermint_getCommittee" => Ok(json!(self
                .committee_keys()
                .iter()
                .map(|k| json!({
                    "address": format!("0x{}", hex::encode(address_of(k))),
                    "votingPower": "0x1",
                    "enode": genesis::Enode { key: *k, ip: IpAddr::from([0, 0, 0, 0]), port: 1, acn: None }.to_string(),
                }))
                .collect::<Vec<_>>())),
            "eth_call" => self.eth_call(params),
            _ => Err(not_found()),
        }
    }

    fn eth_call(&self, params: &Value) -> Result<Value, (i64, String)> {
        let call = params
            .get(0)
            .ok_or((-32602, "missing value for required argument 0".into()))?;
        let to = call.get("to").and_then(Value::as_str).unwrap_or("");
        let data = call
            .get("data")
            .or_else(|| call.get("input"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if !to.eq_ignore_ascii_case(rpc::AUTONITY_CONTRACT) {
            return Ok(Value::String("0x".into()));
        }
        let data = data.strip_prefix("0x").unwrap_or(data).to_ascii_lowercase();
        let out = if data == hex::encode(rpc::SEL_GET_COMMITTEE_ENODES) {
            rpc::encode_string_array(&self.committee_enodes())
        } else if data == hex::encode(rpc::SEL_GET_VALIDATORS) {
            let addrs: Vec<[u8; 20]> = self.committee_keys().iter().map(address_of).collect();
            rpc::encode_address_array(&addrs)
        } else {
            return Err((-32000, "execution reverted".into()));
        };
        Ok(Value::String(format!("0x{}", hex::encode(out))))
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bind the HTTP endpoint (when `--http` is set).
    pub async fn listen(&self) -> Result<Option<TcpListener>, StandinError> {
        if !self.config.http {
            return Ok(None);
        }
        let addr = SocketAddr::new(self.config.http_addr, self.config.http_port);
        TcpListener::bind(addr)
            .await
            .map(Some)
            .map_err(|source| StandinError::Listen { addr, source })
    }

    /// Serve JSON-RPC on `listener` until the task is dropped.
    pub async fn serve(self: std::sync::Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let node = self.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    node.connection(stream),
                )
                .await;
            });
        }
    }

    async fn connection(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head_end, length) = loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (i + 4, len);
            }
            if buf.len() > 1 << 20 {
                return Ok(());
            }
        };
        while buf.len() < head_end + length.min(1 << 20) {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = &buf[head_end..buf.len().min(head_end + length)];
        let answer = match serde_json::from_slice::<Value>(body) {
            Ok(req) => {
                let id = req.get("id").cloned().unwrap_or(Value::Null);
                let method = req.get("method").and_then(Value::as_str).unwrap_or("");
                let params = req.get("params").cloned().unwrap_or(json!([]));
                match self.handle(method, &params) {
                    Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                    Err((code, message)) => {
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                    }
                }
            }
            Err(_) => json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}}),
        }
        .to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            answer.len(),
            answer
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    }
}
