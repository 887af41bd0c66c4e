//! Genesis: the validators' secure records plus the manifest's options become one
//! `genesis.json`, byte for byte the same at every organisation.
//!
//! Two formats ([`Format`]): `v1` (Autonity v0.14 / 1.x, `config.autonity.validators[]` with
//! BLS consensus keys) and `v0.7` (legacy, `config.autonityContract.users[]`), plus template
//! mode: the operator's own genesis JSON whose `"fqdn://HOST"` strings are replaced by the
//! resolved enode URLs.
//!
//! Determinism: validators are sorted by their enode key (128 lowercase hex digits), so the
//! order in which peers arrive does not matter; objects are written in a fixed key order,
//! pretty-printed with two-space indentation and a trailing newline. Each field has the JSON
//! form the client's Go type reads ([`rules::Form`]): `uint64` fields and `bondedStake` /
//! `stake` are bare JSON numbers; `initialInflationReserve` (`0x` hex), `baseFeePerGas`
//! (decimal), `timestamp`, `gasLimit` and `alloc` balances (`0x` hex) are strings. The genesis
//! hash ([`Genesis::hash`]) is SHA-256 of those bytes (a file hash for agreement between
//! organisations, not the block hash the client computes).
//!
//! v1 enodes carry `?acn=IP:PORT`, the validator's published consensus port: the client dials
//! committee members for consensus there, else at port 20203 of the enode's IP (with every
//! validator on one address, that makes the consensus mesh a star around one of them).
//!
//! Before a genesis is returned it passes the client's own rules ([`rules::check`]).
//!
//! # Limitations
//! Only the fields listed in the README's defaults table are written; anything else the
//! operator needs goes through template mode. The `pop` ownership proof is not written (the
//! v1.0 client's `Validator` genesis type has no such field).

pub mod preflight;
pub mod rules;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub use rules::{check, Committee, CommitteeMember, Enode, Form, Rule};

/// Which genesis layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Autonity v0.14 / 1.x: `config.autonity.validators[]`.
    V1,
    /// Autonity v0.7 (legacy): `config.autonityContract.users[]`.
    V07,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::V1 => "v1",
            Format::V07 => "v0.7",
        })
    }
}

/// Why a genesis could not be built or was refused.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// A field breaks one of the client's rules.
    #[error("genesis field {path}: {rule}")]
    Violation {
        /// JSON path of the field, e.g. `config.autonity.validators[2].bondedStake`.
        path: String,
        /// The rule it breaks.
        rule: Rule,
    },
    /// An option the format needs has no default and the manifest does not set it.
    #[error("manifest genesis.{option} is required for profile {format}")]
    MissingOption {
        /// The manifest option.
        option: &'static str,
        /// The format that needs it.
        format: Format,
    },
    /// An option is out of range.
    #[error("manifest genesis.{option}: {why}")]
    BadOption {
        /// The manifest option.
        option: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// A validator lacks a value the format needs (it comes from its attestation record).
    #[error("organisation {org}: no {field} published (profile v1 needs the attestation)")]
    MissingAttestation {
        /// The organisation.
        org: String,
        /// The missing value.
        field: &'static str,
    },
    /// Two validators share a value that must be unique.
    #[error("organisations {first} and {second} publish the same {field}")]
    DuplicateValidator {
        /// The first organisation.
        first: String,
        /// The second organisation.
        second: String,
        /// Which value.
        field: &'static str,
    },
    /// The template names a host that no organisation of the manifest has.
    #[error("template {path}: fqdn://{host} is not the host of any organisation")]
    UnknownHost {
        /// JSON path of the string.
        path: String,
        /// The host.
        host: String,
    },
    /// An organisation's host does not appear in the template.
    #[error("template: organisation {org} ({host}) is not used by any fqdn:// field")]
    UnusedHost {
        /// The organisation.
        org: String,
        /// Its host.
        host: String,
    },
    /// The template is not JSON.
    #[error("template {}: {source}", path.display())]
    Template {
        /// The template file.
        path: std::path::PathBuf,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// No validators were given.
    #[error("no validators: the manifest lists no organisation")]
    NoValidators,
    /// A record set was given for an organisation the manifest does not list.
    #[error("organisation {org} is not in the manifest")]
    UnknownOrg {
        /// The organisation.
        org: String,
    },
    /// The manifest lists an organisation whose records were not given (or given twice).
    #[error("organisation {org}: {count} record sets given, exactly one needed")]
    OrgCount {
        /// The organisation.
        org: String,
        /// How many were given.
        count: usize,
    },
    /// A validator published no IP address.
    #[error("organisation {org}: no IP address published")]
    NoAddress {
        /// The organisation.
        org: String,
    },
}

impl GenesisError {
    /// The exit status: peers' data unusable for a genesis is a security failure
    /// (`SECURITY`), anything else is bad input (`BAD_INPUT`).
    pub fn exit_code(&self) -> u8 {
        match self {
            GenesisError::MissingAttestation { .. }
            | GenesisError::DuplicateValidator { .. }
            | GenesisError::NoAddress { .. } => crate::exit::SECURITY,
            _ => crate::exit::BAD_INPUT,
        }
    }
}

/// The genesis options, every one resolved (the manifest's value or the documented default).
///
/// Defaults are those of [`Params::defaults`]; the README's table lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// `config.chainId`; required (no default).
    pub chain_id: u64,
    /// v1 `minBaseFee` (default 500000000).
    pub min_base_fee: u64,
    /// v1 `epochPeriod` in blocks (default 1800).
    pub epoch_period: u64,
    /// v1 `unbondingPeriod` in blocks (default 21600).
    pub unbonding_period: u64,
    /// Block period in seconds: v1 `blockPeriod`, v0.7 `tendermint.block-period` (default 1).
    pub block_period: u64,
    /// v1 `maxCommitteeSize` (default 100).
    pub max_committee_size: u64,
    /// Governance operator address; required (no default).
    pub operator: Option<[u8; 20]>,
    /// v1 protocol treasury (default: the operator).
    pub treasury: Option<[u8; 20]>,
    /// v1 `treasuryFee` (default 10000000000000000).
    pub treasury_fee: u64,
    /// v1 `delegationRate` (default 1000).
    pub delegation_rate: u64,
    /// v1 per-validator `bondedStake` (default 10000).
    pub bonded_stake: u128,
    /// v1 `oracle.votePeriod` (default 30).
    pub vote_period: u64,
    /// v1 `initialInflationReserve` in wei (default 40,000,000 NTN, the client's value for its
    /// own networks: [`DEFAULT_INITIAL_INFLATION_RESERVE`]).
    pub initial_inflation_reserve: u128,
    /// Block gas limit (default v1 0xffffffffffff, v0.7 0x5f5e100).
    pub gas_limit: Option<u64>,
    /// v1 genesis block base fee, `baseFeePerGas` (default 15000000000).
    pub base_fee: u128,
    /// v0.7 `minGasPrice` (default 10000000000000).
    pub min_gas_price: u64,
    /// v0.7 per-validator `stake` (default 50000).
    pub stake: u64,
    /// Genesis `timestamp` in seconds (default 0).
    pub timestamp: u64,
    /// Initial balances (default none).
    pub alloc: BTreeMap<[u8; 20], u128>,
}

/// 40,000,000 NTN (10^18 wei each): the `initialInflationReserve` the client gives its own
/// networks (Piccadilly and its test configuration, `params/config.go`).
pub const DEFAULT_INITIAL_INFLATION_RESERVE: u128 = 40_000_000 * 1_000_000_000_000_000_000;

impl Params {
    /// The documented defaults, for a chain id.
    pub fn defaults(chain_id: u64) -> Params {
        Params {
            chain_id,
            min_base_fee: 500_000_000,
            epoch_period: 1800,
            unbonding_period: 21_600,
            block_period: 1,
            max_committee_size: 100,
            operator: None,
            treasury: None,
            treasury_fee: 10_000_000_000_000_000,
            delegation_rate: 1000,
            bonded_stake: 10_000,
            vote_period: 30,
            initial_inflation_reserve: DEFAULT_INITIAL_INFLATION_RESERVE,
            gas_limit: None,
            base_fee: 15_000_000_000,
            min_gas_price: 10_000_000_000_000,
            stake: 50_000,
            timestamp: 0,
            alloc: BTreeMap::new(),
        }
    }
}

/// One validator as the genesis needs it (from its organisation's secure records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The organisation's name in the manifest.
    pub org: String,
    /// Its host in the manifest (lowercase, no trailing dot), for template mode.
    pub host: String,
    /// The node key: uncompressed secp256k1 public key X||Y.
    pub enode_key: [u8; 64],
    /// The published IP address.
    pub ip: IpAddr,
    /// The p2p port.
    pub port: u16,
    /// The consensus (ACN) port (v1), written as the enode's `acn` parameter.
    pub consensus_port: Option<u16>,
    /// BLS consensus public key (v1).
    pub consensus_key: Option<[u8; 48]>,
    /// Oracle address (v1).
    pub oracle_address: Option<[u8; 20]>,
    /// Validator treasury address (v1).
    pub treasury: Option<[u8; 20]>,
}

impl Member {
    /// The member's enode URL in `format`: v1 `enode://KEY@IP:PORT?acn=IP:CP` (CP its consensus
    /// port, required), v0.7 `enode://KEY@IP:PORT`.
    pub fn enode(&self, format: Format) -> Result<String, GenesisError> {
        let acn = match format {
            Format::V07 => None,
            Format::V1 => {
                let cp = self
                    .consensus_port
                    .ok_or_else(|| GenesisError::MissingAttestation {
                        org: self.org.clone(),
                        field: "consensus port",
                    })?;
                Some(std::net::SocketAddr::new(self.ip, cp))
            }
        };
        Ok(Enode {
            key: self.enode_key,
            ip: self.ip,
            port: self.port,
            acn,
        }
        .to_string())
    }
}

/// A built genesis: its canonical bytes and the committee it defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    bytes: Vec<u8>,
    committee: Committee,
}

impl Genesis {
    /// Parse and check a genesis file's bytes (e.g. one written earlier) by the client's rules.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Genesis, GenesisError> {
        let doc: Value =
            serde_json::from_slice(&bytes).map_err(|source| GenesisError::Template {
                path: "genesis".into(),
                source,
            })?;
        let committee = check(&doc)?;
        Ok(Genesis { bytes, committee })
    }

    /// The canonical bytes of `genesis.json` (ends with a newline).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of [`Genesis::bytes`].
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }

    /// [`Genesis::hash`] as 64 lowercase hex digits.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash())
    }

    /// The committee the genesis defines (as the client reads it).
    pub fn committee(&self) -> &Committee {
        &self.committee
    }
}

fn addr_hex(a: &[u8; 20]) -> String {
    format!("0x{}", hex::encode(a))
}

fn sorted_members(members: &[Member]) -> Result<Vec<&Member>, GenesisError> {
    if members.is_empty() {
        return Err(GenesisError::NoValidators);
    }
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by(|a, b| a.enode_key.cmp(&b.enode_key).then(a.org.cmp(&b.org)));
    for w in sorted.windows(2) {
        if w[0].enode_key == w[1].enode_key {
            return Err(GenesisError::DuplicateValidator {
                first: w[0].org.clone(),
                second: w[1].org.clone(),
                field: "enode key",
            });
        }
    }
    Ok(sorted)
}

fn alloc_json(alloc: &BTreeMap<[u8; 20], u128>) -> Value {
    let mut m = Map::new();
    for (addr, bal) in alloc {
        m.insert(addr_hex(addr), json!({ "balance": format!("{bal:#x}") }));
    }
    Value::Object(m)
}

const ZERO_HASH: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";
const ZERO_ADDR: &str = "0x0000000000000000000000000000000000000000";
/// The BFT mix hash every Autonity genesis carries ("ctical byzantine fault tolerance").
const MIX_HASH: &str = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365";

/// Build the genesis of `format` from resolved options and the validators (any order).
pub fn build_from(format: Format, p: &Params, members: &[Member]) -> Result<Genesis, GenesisError> {
    let sorted = sorted_members(members)?;
    let operator = p.operator.ok_or(GenesisError::MissingOption {
        option: "operator",
        format,
    })?;
    let doc = match format {
        Format::V1 => {
            let mut vals = Vec::new();
            for m in &sorted {
                let need = |field: &'static str| GenesisError::MissingAttestation {
                    org: m.org.clone(),
                    field,
                };
                let ck = m.consensus_key.ok_or_else(|| need("consensus key"))?;
                let oracle = m.oracle_address.ok_or_else(|| need("oracle address"))?;
                let treasury = m.treasury.ok_or_else(|| need("treasury address"))?;
                vals.push(json!({
                    "enode": m.enode(format)?,
                    "treasury": addr_hex(&treasury),
                    "consensusKey": format!("0x{}", hex::encode(ck)),
                    "oracleAddress": addr_hex(&oracle),
                    "bondedStake": big(p.bonded_stake),
                }));
            }
            let mut config = Map::new();
            config.insert("chainId".into(), json!(p.chain_id));
            config.insert(
                "autonity".into(),
                json!({
                    "minBaseFee": p.min_base_fee,
                    "epochPeriod": p.epoch_period,
                    "unbondingPeriod": p.unbonding_period,
                    "blockPeriod": p.block_period,
                    "maxCommitteeSize": p.max_committee_size,
                    "operator": addr_hex(&operator),
                    "treasury": addr_hex(&p.treasury.unwrap_or(operator)),
                    "treasuryFee": p.treasury_fee,
                    "delegationRate": p.delegation_rate,
                    "validators": vals,
                    "initialInflationReserve": format!("{:#x}", p.initial_inflation_reserve),
                }),
            );
            config.insert("oracle".into(), json!({ "votePeriod": p.vote_period }));
            json!({
                "config": config,
                "nonce": "0x0",
                "timestamp": format!("{:#x}", p.timestamp),
                "gasLimit": format!("{:#x}", p.gas_limit.unwrap_or(0xffff_ffff_ffff)),
                "difficulty": "0x0",
                "coinbase": ZERO_ADDR,
                "number": "0x0",
                "gasUsed": "0x0",
                "parentHash": ZERO_HASH,
                "mixHash": MIX_HASH,
                "alloc": alloc_json(&p.alloc),
                "baseFeePerGas": p.base_fee.to_string(),
            })
        }
        Format::V07 => {
            let mut users: Vec<Value> = Vec::with_capacity(sorted.len());
            for m in &sorted {
                users.push(
                    json!({ "enode": m.enode(format)?, "type": "validator", "stake": p.stake }),
                );
            }
            json!({
                "config": {
                    "chainId": p.chain_id,
                    "homesteadBlock": 0,
                    "eip150Block": 0,
                    "eip150Hash": ZERO_HASH,
                    "eip155Block": 0,
                    "eip158Block": 0,
                    "byzantiumBlock": 0,
                    "constantinopleBlock": 0,
                    "petersburgBlock": 0,
                    "istanbulBlock": 0,
                    "tendermint": { "policy": 1, "block-period": p.block_period },
                    "autonityContract": {
                        "minGasPrice": p.min_gas_price,
                        "operator": addr_hex(&operator),
                        "users": users,
                    },
                },
                "nonce": "0x0",
                "timestamp": format!("{:#x}", p.timestamp),
                "gasLimit": format!("{:#x}", p.gas_limit.unwrap_or(0x5f5_e100)),
                "difficulty": "0x1",
                "coinbase": ZERO_ADDR,
                "number": "0x0",
                "gasUsed": "0x0",
                "parentHash": ZERO_HASH,
                "mixHash": MIX_HASH,
                "alloc": alloc_json(&p.alloc),
            })
        }
    };
    finish(doc)
}

/// A JSON integer of any size up to `u128`. `serde_json` (without `arbitrary_precision`) holds
/// numbers up to `u64` only, so larger ones travel as a marked string that [`finish`] turns
/// back into a bare JSON number (the client reads these fields as `*big.Int`: numbers, not strings).
fn big(n: u128) -> Value {
    match u64::try_from(n) {
        Ok(small) => Value::from(small),
        Err(_) => Value::String(format!("{}{n}", rules::BIG_MARK)),
    }
}

fn finish(doc: Value) -> Result<Genesis, GenesisError> {
    let committee = check(&doc)?;
    // Serialising a `Value` cannot fail (string keys only).
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    // The marker's control character is escaped as \u0001 by the serialiser.
    let quoted = "\"\\u0001uint:";
    let mut out = String::with_capacity(text.len() + 1);
    let mut rest = text.as_str();
    while let Some(i) = rest.find(quoted) {
        out.push_str(&rest[..i]);
        let after = &rest[i + quoted.len()..];
        let end = after.find('"').unwrap_or(after.len());
        out.push_str(&after[..end]);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out.push('\n');
    Ok(Genesis {
        bytes: out.into_bytes(),
        committee,
    })
}

/// Normalise a host for comparison: lowercase, no trailing dot.
pub fn normalise_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Template mode: replace every `"fqdn://HOST"` string of `template` by that host's enode URL
/// (with `?acn=IP:CP` when the template is a v1 genesis, i.e. has `config.autonity`).
///
/// In a v1 validator object whose `enode` was such a placeholder, missing or empty
/// `consensusKey`, `oracleAddress` and `treasury` are filled from the member's attestation.
/// Every host must be known and every member's host used. The result keeps the template's key
/// order and passes the client's rules.
pub fn build_template(template: &Value, members: &[Member]) -> Result<Genesis, GenesisError> {
    sorted_members(members)?;
    let by_host: BTreeMap<String, &Member> = members
        .iter()
        .map(|m| (normalise_host(&m.host), m))
        .collect();
    let format = match template.pointer("/config/autonity") {
        Some(_) => Format::V1,
        None => Format::V07,
    };
    let mut used = std::collections::BTreeSet::new();
    let mut doc = template.clone();
    let mut cx = Substitution {
        format,
        by_host: &by_host,
        used: &mut used,
    };
    substitute(&mut doc, "", &mut cx)?;
    for m in members {
        if !used.contains(&normalise_host(&m.host)) {
            return Err(GenesisError::UnusedHost {
                org: m.org.clone(),
                host: m.host.clone(),
            });
        }
    }
    finish(doc)
}

/// What template substitution works with.
struct Substitution<'a> {
    /// The template's format (decides the enode form).
    format: Format,
    by_host: &'a BTreeMap<String, &'a Member>,
    /// Hosts substituted so far.
    used: &'a mut std::collections::BTreeSet<String>,
}

fn substitute(v: &mut Value, path: &str, cx: &mut Substitution<'_>) -> Result<(), GenesisError> {
    let by_host = cx.by_host;
    match v {
        Value::String(s) => {
            if let Some(host) = s.strip_prefix("fqdn://") {
                let key = normalise_host(host);
                let m = by_host.get(&key).ok_or_else(|| GenesisError::UnknownHost {
                    path: path.to_string(),
                    host: host.to_string(),
                })?;
                *s = m.enode(cx.format)?;
                cx.used.insert(key);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                substitute(x, &format!("{path}[{i}]"), cx)?;
            }
        }
        Value::Object(o) => {
            let placeholder = o
                .get("enode")
                .and_then(Value::as_str)
                .and_then(|s| s.strip_prefix("fqdn://"))
                .map(normalise_host);
            for (k, x) in o.iter_mut() {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                substitute(x, &sub, cx)?;
            }
            let in_v1 = path.starts_with("config.autonity.validators[");
            if let (Some(host), true) = (placeholder, in_v1) {
                if let Some(m) = by_host.get(&host) {
                    fill(
                        o,
                        "consensusKey",
                        m.consensus_key.map(|k| format!("0x{}", hex::encode(k))),
                    );
                    fill(o, "oracleAddress", m.oracle_address.as_ref().map(addr_hex));
                    fill(o, "treasury", m.treasury.as_ref().map(addr_hex));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn fill(o: &mut Map<String, Value>, key: &str, value: Option<String>) {
    let empty = match o.get(key) {
        None => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if let (true, Some(v)) = (empty, value) {
        o.insert(key.to_string(), Value::String(v));
    }
}

impl From<crate::manifest::Profile> for Format {
    fn from(p: crate::manifest::Profile) -> Format {
        match p {
            crate::manifest::Profile::V1 => Format::V1,
            crate::manifest::Profile::V07 => Format::V07,
        }
    }
}

/// Resolve the manifest's `[genesis]` options: its value where set, the documented default
/// otherwise. The operator defaults to the manifest's verified signer when it is signed.
pub fn params(manifest: &crate::manifest::Manifest) -> Result<Params, GenesisError> {
    let g = &manifest.genesis;
    let d = Params::defaults(g.chain_id);
    let mut alloc = BTreeMap::new();
    for (addr, balance) in &g.alloc {
        let n: u128 = balance.parse().map_err(|_| GenesisError::BadOption {
            option: "alloc",
            why: "a balance is not a decimal integer below 2^128",
        })?;
        alloc.insert(addr.0, n);
    }
    // The client reads these as uint64; the manifest's bounds already keep them there.
    let uint64 = |option: &'static str, v: Option<u128>, default: u64| match v {
        None => Ok(default),
        Some(n) => u64::try_from(n).map_err(|_| GenesisError::BadOption {
            option,
            why: "more than 2^64 - 1 (the client reads a 64-bit number)",
        }),
    };
    Ok(Params {
        chain_id: g.chain_id,
        min_base_fee: uint64("min_base_fee", g.min_base_fee, d.min_base_fee)?,
        epoch_period: g.epoch_period.unwrap_or(d.epoch_period),
        unbonding_period: g.unbonding_period.unwrap_or(d.unbonding_period),
        block_period: g.block_period.unwrap_or(d.block_period),
        max_committee_size: g.max_committee_size.unwrap_or(d.max_committee_size),
        operator: g.operator.or(manifest.operator).map(|a| a.0),
        treasury: g.treasury.map(|a| a.0),
        treasury_fee: uint64("treasury_fee", g.treasury_fee, d.treasury_fee)?,
        delegation_rate: g.delegation_rate.unwrap_or(d.delegation_rate),
        bonded_stake: g.bonded_stake.unwrap_or(d.bonded_stake),
        vote_period: g.vote_period.unwrap_or(d.vote_period),
        initial_inflation_reserve: g
            .initial_inflation_reserve
            .unwrap_or(d.initial_inflation_reserve),
        gas_limit: g.gas_limit,
        base_fee: g.base_fee.unwrap_or(d.base_fee),
        min_gas_price: uint64("min_gas_price", g.min_gas_price, d.min_gas_price)?,
        stake: uint64("stake", g.stake, d.stake)?,
        timestamp: g.timestamp.unwrap_or(d.timestamp),
        alloc,
    })
}

/// The genesis member for one organisation's secure records.
pub fn member(org: &str, peer: &crate::records::Peer) -> Result<Member, GenesisError> {
    let ip: IpAddr = match (peer.ipv4, peer.ipv6) {
        (Some(v4), _) => v4.into(),
        (None, Some(v6)) => v6.into(),
        (None, None) => {
            return Err(GenesisError::NoAddress {
                org: org.to_string(),
            })
        }
    };
    let att = peer.attestation.as_ref();
    Ok(Member {
        org: org.to_string(),
        host: normalise_host(&peer.host.to_ascii()),
        enode_key: peer.enode_key.0,
        ip,
        port: peer.port,
        consensus_port: att.and_then(|a| a.consensus_port),
        consensus_key: att.and_then(|a| a.consensus_key.as_ref()).map(|k| k.0),
        oracle_address: att.and_then(|a| a.oracle_address).map(|a| a.0),
        treasury: att.and_then(|a| a.treasury).map(|a| a.0),
    })
}

/// Build the genesis for `manifest` from every organisation's secure records
/// (`(org name, peer)`, any order; exactly one per organisation of the manifest).
///
/// With `genesis.template` set, the template (the bytes read when the manifest was loaded) is
/// filled (template mode);
/// otherwise the manifest's profile decides the format.
pub fn build(
    manifest: &crate::manifest::Manifest,
    peers: &[(String, crate::records::Peer)],
) -> Result<Genesis, GenesisError> {
    for (name, _) in peers {
        if manifest.org(name).is_none() {
            return Err(GenesisError::UnknownOrg { org: name.clone() });
        }
    }
    let mut members = Vec::with_capacity(peers.len());
    for org in &manifest.orgs {
        let given: Vec<_> = peers.iter().filter(|(n, _)| *n == org.name).collect();
        if given.len() != 1 {
            return Err(GenesisError::OrgCount {
                org: org.name.clone(),
                count: given.len(),
            });
        }
        let mut m = member(&org.name, &given[0].1)?;
        m.host = normalise_host(&org.host.to_ascii());
        members.push(m);
    }
    build_with_members(manifest, members)
}

/// Build the genesis for `manifest` from its validators (one per organisation, any order).
pub(crate) fn build_with_members(
    manifest: &crate::manifest::Manifest,
    members: Vec<Member>,
) -> Result<Genesis, GenesisError> {
    match &manifest.genesis.template {
        Some(path) => {
            // The bytes the ceremony id covers (read at load); the file only when absent.
            let text =
                match &manifest.genesis.template_bytes {
                    Some(b) => b.clone(),
                    None => crate::localfile::read(path, crate::localfile::Kind::Template)
                        .map_err(|e| GenesisError::Template {
                            path: path.clone(),
                            source: serde_json::Error::io(e),
                        })?,
                };
            let template: Value =
                serde_json::from_slice(&text).map_err(|source| GenesisError::Template {
                    path: path.clone(),
                    source,
                })?;
            build_template(&template, &members)
        }
        None => build_from(manifest.profile.into(), &params(manifest)?, &members),
    }
}
