//! The Autonity client's own genesis rules, applied to a genesis JSON document.
//!
//! Shared by [`super::build`] (checked before anything is written) and by the
//! `autonity-standin` binary (checked before it starts), so both refuse the same files.
//! The rules follow the client (`params/config.go`, `core/genesis.go` of autonity v0.14 / v1.0):
//! validators non-empty, `bondedStake` non-zero, `oracleAddress` non-zero, `consensusKey` a
//! valid 48-byte BLS12-381 (min_pk) public key, `maxCommitteeSize` non-zero,
//! `epochPeriod > delta + lookbackWindow - 1` of `omissionAccountability`, chain id non-zero,
//! and no enode key, consensus key or oracle address used twice.
//!
//! # Limitations
//! Contract-level rules the client only checks while deploying the contracts (e.g. vesting
//! schedules, oracle symbols) are not replicated; fields this tool does not write are passed
//! through unchecked.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use super::{Format, GenesisError};

/// Default `omissionAccountability.delta` of the client.
pub const DEFAULT_OMISSION_DELTA: u64 = 5;
/// Default `omissionAccountability.LookbackWindow` of the client.
pub const DEFAULT_OMISSION_LOOKBACK: u64 = 40;

/// Which rule a genesis field breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The field is absent.
    Missing,
    /// The field is not a non-negative integer (JSON number, decimal or `0x` hex string).
    NotAnInteger,
    /// The field must not be zero.
    Zero,
    /// The field is not a 20-byte `0x` address.
    BadAddress,
    /// The address must not be the zero address.
    ZeroAddress,
    /// The consensus key is not a valid 48-byte compressed BLS12-381 G1 point.
    BadConsensusKey,
    /// The enode URL is malformed.
    BadEnode(EnodeProblem),
    /// The list must not be empty.
    Empty,
    /// The same value already appears at another path.
    Duplicate {
        /// Where it appeared first.
        first: String,
    },
    /// `epochPeriod` must exceed `delta + lookbackWindow - 1`.
    EpochTooShort {
        /// The epoch period.
        epoch: u64,
        /// `omissionAccountability.delta` in force.
        delta: u64,
        /// `omissionAccountability.LookbackWindow` in force.
        lookback: u64,
    },
    /// The user type is not `validator`, `participant` or `stakeholder`.
    UnknownUserType,
    /// The field has the wrong JSON type (object, array, string expected).
    WrongType(&'static str),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Missing => write!(f, "missing"),
            Rule::NotAnInteger => write!(f, "not a non-negative integer"),
            Rule::Zero => write!(f, "must not be zero"),
            Rule::BadAddress => write!(f, "not a 0x-prefixed 20-byte address"),
            Rule::ZeroAddress => write!(f, "must not be the zero address"),
            Rule::BadConsensusKey => {
                write!(f, "not a valid 48-byte BLS12-381 public key (0x + 96 hex)")
            }
            Rule::BadEnode(p) => write!(f, "bad enode URL: {p}"),
            Rule::Empty => write!(f, "must not be empty"),
            Rule::Duplicate { first } => write!(f, "same value as {first}"),
            Rule::EpochTooShort {
                epoch,
                delta,
                lookback,
            } => write!(
                f,
                "epochPeriod {epoch} must exceed delta + lookbackWindow - 1 = {} (set omissionAccountability)",
                delta + lookback - 1
            ),
            Rule::UnknownUserType => write!(f, "type must be validator, participant or stakeholder"),
            Rule::WrongType(t) => write!(f, "must be {t}"),
        }
    }
}

/// What is wrong with an enode URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnodeProblem {
    /// It does not start with `enode://`.
    Scheme,
    /// The node id is not 128 hex digits.
    Key,
    /// The node id is not a point on secp256k1.
    NotOnCurve,
    /// The host is not an IP address (enodes carry addresses, not names).
    Host,
    /// The port is missing, zero or not a number.
    Port,
    /// The `acn` query parameter is not `IP:PORT`.
    Acn,
}

impl fmt::Display for EnodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnodeProblem::Scheme => "must start with enode://",
            EnodeProblem::Key => "node id must be 128 hex digits",
            EnodeProblem::NotOnCurve => "node id is not a secp256k1 public key",
            EnodeProblem::Host => "host must be an IP address",
            EnodeProblem::Port => "port must be 1-65535",
            EnodeProblem::Acn => "acn must be IP:PORT (the consensus endpoint)",
        })
    }
}

/// The consensus (ACN) port a committee member is dialled at when its enode has no `acn`
/// query parameter (the client's `p2p/enode/urlv4.go`, `DefaultACNPortInt`).
pub const DEFAULT_ACN_PORT: u16 = 20203;

/// A parsed `enode://KEY@IP:PORT[?discport=N][&acn=IP:PORT]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enode {
    /// The node id: uncompressed secp256k1 public key X||Y.
    pub key: [u8; 64],
    /// The IP address.
    pub ip: IpAddr,
    /// The TCP port.
    pub port: u16,
    /// The consensus (ACN) endpoint from the `acn` query parameter, when there is one.
    pub acn: Option<SocketAddr>,
}

impl Enode {
    /// Parse an enode URL; the node id must be a point on secp256k1.
    pub fn parse(url: &str) -> Result<Enode, EnodeProblem> {
        let rest = url.strip_prefix("enode://").ok_or(EnodeProblem::Scheme)?;
        let (key_hex, rest) = rest.split_once('@').ok_or(EnodeProblem::Key)?;
        let key =
            crate::hexfmt::parse_fixed::<64>(key_hex, false).map_err(|_| EnodeProblem::Key)?;
        if !key_on_curve(&key) {
            return Err(EnodeProblem::NotOnCurve);
        }
        let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (ip, port) = ip_port(hostport)?;
        let mut acn = None;
        for pair in query.split(['&', '?']) {
            if let Some(v) = pair.strip_prefix("acn=") {
                let v = v.replace("%3A", ":").replace("%3a", ":");
                let (aip, aport) = ip_port(&v).map_err(|_| EnodeProblem::Acn)?;
                acn = Some(SocketAddr::new(aip, aport));
            }
        }
        Ok(Enode { key, ip, port, acn })
    }

    /// Where committee members dial this node for consensus: the `acn` endpoint, else the
    /// enode's IP on port [`DEFAULT_ACN_PORT`], as the client does.
    pub fn consensus_addr(&self) -> SocketAddr {
        self.acn
            .unwrap_or(SocketAddr::new(self.ip, DEFAULT_ACN_PORT))
    }

    /// The node id as 128 lowercase hex digits.
    pub fn key_hex(&self) -> String {
        hex::encode(self.key)
    }
}

/// `IP:PORT` or `[IPv6]:PORT`, the port non-zero.
fn ip_port(text: &str) -> Result<(IpAddr, u16), EnodeProblem> {
    let (host, port) = text.rsplit_once(':').ok_or(EnodeProblem::Port)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().map_err(|_| EnodeProblem::Host)?;
    let port: u16 = port.parse().map_err(|_| EnodeProblem::Port)?;
    if port == 0 {
        return Err(EnodeProblem::Port);
    }
    Ok((ip, port))
}

impl fmt::Display for Enode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SocketAddr writes IPv6 in brackets.
        write!(
            f,
            "enode://{}@{}",
            self.key_hex(),
            SocketAddr::new(self.ip, self.port)
        )?;
        match self.acn {
            Some(acn) => write!(f, "?acn={acn}"),
            None => Ok(()),
        }
    }
}

/// Whether 64 bytes X||Y are an uncompressed secp256k1 public key.
pub fn key_on_curve(key: &[u8; 64]) -> bool {
    let mut sec1 = [0u8; 65];
    sec1[0] = 4;
    sec1[1..].copy_from_slice(key);
    k256::PublicKey::from_sec1_bytes(&sec1).is_ok()
}

/// Whether 48 bytes are a valid compressed BLS12-381 G1 public key (min_pk), as the client checks.
pub fn consensus_key_valid(key: &[u8]) -> bool {
    match blst::min_pk::PublicKey::uncompress(key) {
        Ok(pk) => pk.validate().is_ok(),
        Err(_) => false,
    }
}

/// One member of the genesis committee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitteeMember {
    /// The enode URL exactly as written in the genesis.
    pub enode: String,
    /// Its parsed form.
    pub parsed: Enode,
}

/// What the client takes from a genesis that passed its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    /// Which format the genesis is in.
    pub format: Format,
    /// `config.chainId`.
    pub chain_id: u64,
    /// Seconds between blocks (`blockPeriod`, or `tendermint.block-period` in v0.7; 1 if unset).
    pub block_period: u64,
    /// The validators, in the order of the genesis.
    pub members: Vec<CommitteeMember>,
}

fn violation(path: impl Into<String>, rule: Rule) -> GenesisError {
    GenesisError::Violation {
        path: path.into(),
        rule,
    }
}

/// Marks a string that stands for a JSON number beyond `u64` while a genesis is being built.
pub(crate) const BIG_MARK: &str = "\u{1}uint:";

/// Read a non-negative integer the way Go's `math.HexOrDecimal` / JSON numbers allow
/// (numbers beyond `u64`, which `serde_json` holds as floats, are read approximately).
pub fn integer(v: &Value) -> Option<u128> {
    match v {
        Value::Number(n) => n.as_u64().map(u128::from).or_else(|| {
            n.as_f64()
                .filter(|f| *f >= u64::MAX as f64 && f.fract() == 0.0)
                .map(|f| f as u128)
        }),
        Value::String(s) if s.starts_with(BIG_MARK) => s[BIG_MARK.len()..].parse().ok(),
        Value::String(s) => {
            if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                u128::from_str_radix(h, 16).ok()
            } else {
                s.parse().ok()
            }
        }
        _ => None,
    }
}

fn get<'a>(obj: &'a Value, key: &str, path: &str) -> Result<&'a Value, GenesisError> {
    obj.get(key)
        .ok_or_else(|| violation(format!("{path}.{key}"), Rule::Missing))
}

fn int_field(obj: &Value, key: &str, path: &str) -> Result<u128, GenesisError> {
    let v = get(obj, key, path)?;
    integer(v).ok_or_else(|| violation(format!("{path}.{key}"), Rule::NotAnInteger))
}

fn nonzero(obj: &Value, key: &str, path: &str) -> Result<u128, GenesisError> {
    let n = int_field(obj, key, path)?;
    if n == 0 {
        return Err(violation(format!("{path}.{key}"), Rule::Zero));
    }
    Ok(n)
}

fn address(obj: &Value, key: &str, path: &str) -> Result<[u8; 20], GenesisError> {
    let p = format!("{path}.{key}");
    let s = get(obj, key, path)?
        .as_str()
        .ok_or_else(|| violation(&p, Rule::BadAddress))?;
    let body = s
        .strip_prefix("0x")
        .ok_or_else(|| violation(&p, Rule::BadAddress))?;
    crate::hexfmt::parse_fixed::<20>(body, false).map_err(|_| violation(&p, Rule::BadAddress))
}

fn enode(obj: &Value, path: &str) -> Result<CommitteeMember, GenesisError> {
    let p = format!("{path}.enode");
    let s = get(obj, "enode", path)?
        .as_str()
        .ok_or_else(|| violation(&p, Rule::WrongType("a string")))?;
    let parsed = Enode::parse(s).map_err(|e| violation(&p, Rule::BadEnode(e)))?;
    Ok(CommitteeMember {
        enode: s.to_string(),
        parsed,
    })
}

fn no_duplicate(
    seen: &mut Vec<(String, String)>,
    value: String,
    path: String,
) -> Result<(), GenesisError> {
    if let Some((_, first)) = seen.iter().find(|(v, _)| *v == value) {
        return Err(violation(
            path,
            Rule::Duplicate {
                first: first.clone(),
            },
        ));
    }
    seen.push((value, path));
    Ok(())
}

/// Check a genesis document against the client's rules; the committee it defines on success.
///
/// The format is recognised by `config.autonity` (v1) or `config.autonityContract` (v0.7).
pub fn check(doc: &Value) -> Result<Committee, GenesisError> {
    let config = get(doc, "config", "genesis")?;
    if !config.is_object() {
        return Err(violation("config", Rule::WrongType("an object")));
    }
    let chain_id = nonzero(config, "chainId", "config")?;
    let chain_id =
        u64::try_from(chain_id).map_err(|_| violation("config.chainId", Rule::NotAnInteger))?;
    if let Some(aut) = config.get("autonity") {
        check_v1(config, aut, chain_id)
    } else if let Some(aut) = config.get("autonityContract") {
        check_v07(config, aut, chain_id)
    } else {
        Err(violation("config.autonity", Rule::Missing))
    }
}

fn check_v1(config: &Value, aut: &Value, chain_id: u64) -> Result<Committee, GenesisError> {
    let base = "config.autonity";
    if !aut.is_object() {
        return Err(violation(base, Rule::WrongType("an object")));
    }
    nonzero(aut, "maxCommitteeSize", base)?;
    let epoch = nonzero(aut, "epochPeriod", base)? as u64;
    let block_period = match aut.get("blockPeriod") {
        Some(_) => nonzero(aut, "blockPeriod", base)? as u64,
        None => 1,
    };
    let operator = address(aut, "operator", base)?;
    if operator == [0u8; 20] {
        return Err(violation(format!("{base}.operator"), Rule::ZeroAddress));
    }
    if aut.get("treasury").is_some() {
        address(aut, "treasury", base)?;
    }
    let (delta, lookback) = match config.get("omissionAccountability") {
        Some(o) => {
            let p = "config.omissionAccountability";
            let delta = int_field(o, "delta", p)? as u64;
            let lookback = int_field(o, "LookbackWindow", p)? as u64;
            (delta, lookback)
        }
        None => (DEFAULT_OMISSION_DELTA, DEFAULT_OMISSION_LOOKBACK),
    };
    if epoch <= (delta + lookback).saturating_sub(1) {
        return Err(violation(
            format!("{base}.epochPeriod"),
            Rule::EpochTooShort {
                epoch,
                delta,
                lookback,
            },
        ));
    }
    let vals = get(aut, "validators", base)?
        .as_array()
        .ok_or_else(|| violation(format!("{base}.validators"), Rule::WrongType("an array")))?;
    if vals.is_empty() {
        return Err(violation(format!("{base}.validators"), Rule::Empty));
    }
    let mut members = Vec::new();
    let (mut keys, mut cks, mut oracles) = (Vec::new(), Vec::new(), Vec::new());
    for (i, v) in vals.iter().enumerate() {
        let p = format!("{base}.validators[{i}]");
        let m = enode(v, &p)?;
        no_duplicate(&mut keys, m.parsed.key_hex(), format!("{p}.enode"))?;
        address(v, "treasury", &p)?;
        let oracle = address(v, "oracleAddress", &p)?;
        if oracle == [0u8; 20] {
            return Err(violation(format!("{p}.oracleAddress"), Rule::ZeroAddress));
        }
        no_duplicate(
            &mut oracles,
            hex::encode(oracle),
            format!("{p}.oracleAddress"),
        )?;
        let ckp = format!("{p}.consensusKey");
        let ck = get(v, "consensusKey", &p)?
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|s| crate::hexfmt::parse_fixed::<48>(s, false).ok())
            .ok_or_else(|| violation(&ckp, Rule::BadConsensusKey))?;
        if !consensus_key_valid(&ck) {
            return Err(violation(&ckp, Rule::BadConsensusKey));
        }
        no_duplicate(&mut cks, hex::encode(ck), ckp)?;
        nonzero(v, "bondedStake", &p)?;
        members.push(m);
    }
    Ok(Committee {
        format: Format::V1,
        chain_id,
        block_period,
        members,
    })
}

fn check_v07(config: &Value, aut: &Value, chain_id: u64) -> Result<Committee, GenesisError> {
    let base = "config.autonityContract";
    if !aut.is_object() {
        return Err(violation(base, Rule::WrongType("an object")));
    }
    let operator = address(aut, "operator", base)?;
    if operator == [0u8; 20] {
        return Err(violation(format!("{base}.operator"), Rule::ZeroAddress));
    }
    let block_period = match config.get("tendermint").and_then(|t| t.get("block-period")) {
        Some(_) => nonzero(&config["tendermint"], "block-period", "config.tendermint")? as u64,
        None => 1,
    };
    let users = get(aut, "users", base)?
        .as_array()
        .ok_or_else(|| violation(format!("{base}.users"), Rule::WrongType("an array")))?;
    let mut members = Vec::new();
    let mut keys = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let p = format!("{base}.users[{i}]");
        let kind = get(u, "type", &p)?.as_str().unwrap_or("");
        if !matches!(kind, "validator" | "participant" | "stakeholder") {
            return Err(violation(format!("{p}.type"), Rule::UnknownUserType));
        }
        if kind == "stakeholder" && u.get("enode").is_none() {
            continue;
        }
        let m = enode(u, &p)?;
        no_duplicate(&mut keys, m.parsed.key_hex(), format!("{p}.enode"))?;
        if kind == "validator" {
            nonzero(u, "stake", &p)?;
            members.push(m);
        }
    }
    if members.is_empty() {
        return Err(violation(format!("{base}.users"), Rule::Empty));
    }
    Ok(Committee {
        format: Format::V07,
        chain_id,
        block_period,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "04c2646f8cb377704061804d5c944b26ddb95d5a6e3fe69eed0bbcb2ac4084f6d660e17df67de81a85a09e941648cac8ab52bfed849f5f0bcb192b9acf6f5ffa";

    #[test]
    fn acn_is_parsed_written_and_defaulted() {
        // The form the client's genesis generator writes and the real client dialled.
        let url = format!("enode://{KEY}@127.0.0.1:30303?acn=127.0.0.1:20204");
        let e = Enode::parse(&url).unwrap();
        assert_eq!(e.acn, Some("127.0.0.1:20204".parse().unwrap()));
        assert_eq!(e.consensus_addr(), "127.0.0.1:20204".parse().unwrap());
        assert_eq!(e.to_string(), url);
        // Go's url.Values encoding, after a discport.
        let e = Enode::parse(&format!(
            "enode://{KEY}@10.0.0.1:30303?discport=0&acn=10.0.0.2%3A21000"
        ))
        .unwrap();
        assert_eq!(e.consensus_addr(), "10.0.0.2:21000".parse().unwrap());
        // Without acn the client dials the enode's IP on port 20203.
        let e = Enode::parse(&format!("enode://{KEY}@[2001:db8::1]:30303")).unwrap();
        assert_eq!(e.acn, None);
        assert_eq!(e.consensus_addr(), "[2001:db8::1]:20203".parse().unwrap());
        assert_eq!(e.to_string(), format!("enode://{KEY}@[2001:db8::1]:30303"));
        assert_eq!(
            Enode::parse(&format!("enode://{KEY}@127.0.0.1:30303?acn=somewhere")),
            Err(EnodeProblem::Acn)
        );
    }
}
