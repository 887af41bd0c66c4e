//! The Autonity client's own genesis rules, applied to a genesis JSON document.
//!
//! Shared by [`super::build`] (checked before anything is written) and by the
//! `autonity-standin` binary (checked before it starts), so both refuse the same files.
//!
//! The rules follow the client's Go types and checks (autonity 0.14.x: `params/config.go`,
//! `params/protocol_contracts.go`, `core/genesis.go`, `core/gen_genesis.go`,
//! `autonity/calls.go`; v0.7.1: `params/autonity_contract.go`, `core/genesis.go`):
//!
//! - **JSON forms** ([`Form`]): a Go `uint64` field is a bare JSON integer up to 2^64 - 1
//!   (`minBaseFee`, `epochPeriod`, `unbondingPeriod`, `blockPeriod`, `maxCommitteeSize`,
//!   `treasuryFee`, `delegationRate`, `oracle.votePeriod`; v0.7 `minGasPrice`, `stake`,
//!   `tendermint.block-period`); a `*big.Int` is a bare JSON integer, never a string
//!   (`chainId`, `bondedStake`); a `math.HexOrDecimal256` is a string, never a bare number
//!   (`initialInflationReserve`, `baseFeePerGas`, `difficulty`, `alloc` balances); a
//!   `math.HexOrDecimal64` is a string below 2^64 (`gasLimit`, `timestamp`, `nonce`, `number`,
//!   `gasUsed`). The client refuses any other form when it reads the file.
//! - **Required**: `gasLimit`, `difficulty`, `alloc` (and each account's `balance`);
//!   v1 `config.autonity.initialInflationReserve` (without it the client panics while deploying
//!   the Autonity contract).
//! - **Values**: validators non-empty; `bondedStake` non-zero; `oracleAddress` non-zero;
//!   `consensusKey` a valid 48-byte BLS12-381 (min_pk) public key; `nodeAddress`, when given,
//!   the enode key's address; `commissionRate` absent or zero; `maxCommitteeSize` non-zero;
//!   `delegationRate` at most 10000 (the contract's commission precision); `difficulty` 0 (v1)
//!   or 1 (v0.7); v0.7 `participant` users without stake; chain id non-zero.
//! - A v1 genesis with `baseFee` is refused: the client reads the base fee from `baseFeePerGas`
//!   and would silently ignore it.
//!
//! The tool adds its own: `epochPeriod` non-zero, `blockPeriod` non-zero when present, the
//! operator non-zero, chain id below 2^64, enodes with an IP address (not a host name), and no
//! enode key, consensus key or oracle address used twice. 0.14.x has no epoch rule at genesis
//! (the `omissionAccountability` section and its `epochPeriod > delta + lookbackWindow - 1`
//! rule exist only on a pre-release branch; 0.14.x ignores unknown sections).
//!
//! # Limitations
//! Contract-level rules the client only checks while deploying the contracts (e.g. vesting
//! schedules, oracle symbols) are not replicated; fields this tool does not write are passed
//! through unchecked. A bare number of 2^64 or more is held by `serde_json` as a float, so an
//! exponent form (`1e30`), which Go's big integers refuse, cannot be told from the digits.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use super::{Format, GenesisError};

/// How the client's Go type reads a JSON value, and so which forms it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Go `uint64`: a bare JSON integer from 0 to 2^64 - 1.
    Uint64,
    /// Go `*big.Int`: a bare JSON integer (not a string, no fraction or exponent).
    BigInt,
    /// `math.HexOrDecimal256`: a string, `0x` hex or decimal, below 2^256 (not a bare number).
    HexOrDecimal256,
    /// `math.HexOrDecimal64`: a string, `0x` hex or decimal, below 2^64 (not a bare number).
    HexOrDecimal64,
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Form::Uint64 => {
                "must be a bare JSON integer from 0 to 18446744073709551615 (the client reads a uint64)"
            }
            Form::BigInt => {
                "must be a bare non-negative JSON integer, not a string (the client reads a big integer)"
            }
            Form::HexOrDecimal256 => {
                "must be a string holding a 0x-hex or decimal integer below 2^256 (the client refuses a bare number)"
            }
            Form::HexOrDecimal64 => {
                "must be a string holding a 0x-hex or decimal integer below 2^64 (the client refuses a bare number)"
            }
        })
    }
}

/// Which rule a genesis field breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The field is absent (or `null`).
    Missing,
    /// The value is not in the JSON form the client reads.
    Form(Form),
    /// The field must not be zero.
    Zero,
    /// The value must be exactly this.
    MustBe(u64),
    /// The value is more than the client (or its contract) accepts.
    Above {
        /// The largest value accepted.
        max: u128,
    },
    /// The field is not a 20-byte `0x` address.
    BadAddress,
    /// The address must not be the zero address.
    ZeroAddress,
    /// `nodeAddress` is not the address of the enode's key.
    NodeAddressMismatch,
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
    /// The user type is not `validator`, `participant` or `stakeholder`.
    UnknownUserType,
    /// The field has the wrong JSON type (object, array, string expected).
    WrongType(&'static str),
    /// The client does not read this field; it reads the named one instead.
    Unread {
        /// The field the client reads.
        instead: &'static str,
    },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Missing => write!(f, "missing"),
            Rule::Form(form) => write!(f, "{form}"),
            Rule::Zero => write!(f, "must not be zero"),
            Rule::MustBe(n) => write!(f, "must be {n}"),
            Rule::Above { max } => write!(f, "must be at most {max}"),
            Rule::BadAddress => write!(f, "not a 0x-prefixed 20-byte address"),
            Rule::ZeroAddress => write!(f, "must not be the zero address"),
            Rule::NodeAddressMismatch => {
                write!(f, "is not the address of the enode's node key")
            }
            Rule::BadConsensusKey => {
                write!(f, "not a valid 48-byte BLS12-381 public key (0x + 96 hex)")
            }
            Rule::BadEnode(p) => write!(f, "bad enode URL: {p}"),
            Rule::Empty => write!(f, "must not be empty"),
            Rule::Duplicate { first } => write!(f, "same value as {first}"),
            Rule::UnknownUserType => {
                write!(f, "type must be validator, participant or stakeholder")
            }
            Rule::WrongType(t) => write!(f, "must be {t}"),
            Rule::Unread { instead } => {
                write!(
                    f,
                    "the client does not read this field (it reads {instead})"
                )
            }
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

/// The largest value of each text form, in decimal.
const MAX_U64_DEC: &str = "18446744073709551615";
const MAX_U256_DEC: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/// Read `v` the way the client's Go type of `form` does: the value (saturated at `u128::MAX`),
/// or `None` when the client refuses that JSON value. Bare numbers of 2^64 or more are held as
/// floats by `serde_json` and read approximately.
pub fn read(v: &Value, form: Form) -> Option<u128> {
    match form {
        Form::Uint64 => v.as_u64().map(u128::from),
        Form::BigInt => match v {
            Value::Number(n) => n.as_u64().map(u128::from).or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= u64::MAX as f64 && f.fract() == 0.0)
                    .map(|f| f as u128)
            }),
            Value::String(s) => s.strip_prefix(BIG_MARK).and_then(|d| d.parse().ok()),
            _ => None,
        },
        Form::HexOrDecimal256 => v.as_str().and_then(|s| text_uint(s, MAX_U256_DEC, 64)),
        Form::HexOrDecimal64 => v.as_str().and_then(|s| text_uint(s, MAX_U64_DEC, 16)),
    }
}

/// Go's `math.ParseUint64` / `math.ParseBig256` (without signs or digit separators): empty is
/// zero, `0x` hex of at most `max_hex` significant digits, or decimal digits at most `max_dec`.
fn text_uint(s: &str, max_dec: &str, max_hex: usize) -> Option<u128> {
    if s.is_empty() {
        return Some(0);
    }
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let sig = digits.trim_start_matches('0');
    let fits = match radix {
        16 => sig.len() <= max_hex,
        _ => sig.len() < max_dec.len() || (sig.len() == max_dec.len() && sig <= max_dec),
    };
    if !fits {
        return None;
    }
    if sig.is_empty() {
        return Some(0);
    }
    Some(u128::from_str_radix(sig, radix).unwrap_or(u128::MAX))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `obj[key]`; `None` when absent or `null` (Go leaves the field unset).
fn field<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn get<'a>(obj: &'a Value, key: &str, path: &str) -> Result<&'a Value, GenesisError> {
    field(obj, key).ok_or_else(|| violation(join(path, key), Rule::Missing))
}

/// An optional number in the client's `form`.
fn num(obj: &Value, key: &str, path: &str, form: Form) -> Result<Option<u128>, GenesisError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => read(v, form)
            .map(Some)
            .ok_or_else(|| violation(join(path, key), Rule::Form(form))),
    }
}

fn required(obj: &Value, key: &str, path: &str, form: Form) -> Result<u128, GenesisError> {
    num(obj, key, path, form)?.ok_or_else(|| violation(join(path, key), Rule::Missing))
}

fn nonzero(obj: &Value, key: &str, path: &str, form: Form) -> Result<u128, GenesisError> {
    let n = required(obj, key, path, form)?;
    if n == 0 {
        return Err(violation(join(path, key), Rule::Zero));
    }
    Ok(n)
}

fn address(obj: &Value, key: &str, path: &str) -> Result<[u8; 20], GenesisError> {
    let p = join(path, key);
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

/// The contract's commission precision: `delegationRate` (basis points) may not exceed it.
pub const MAX_DELEGATION_RATE: u64 = 10_000;

/// Check a genesis document against the client's rules; the committee it defines on success.
///
/// The format is recognised by `config.autonity` (v1) or `config.autonityContract` (v0.7).
pub fn check(doc: &Value) -> Result<Committee, GenesisError> {
    let config = get(doc, "config", "genesis")?;
    if !config.is_object() {
        return Err(violation("config", Rule::WrongType("an object")));
    }
    let chain_id = nonzero(config, "chainId", "config", Form::BigInt)?;
    let chain_id = u64::try_from(chain_id).map_err(|_| {
        violation(
            "config.chainId",
            Rule::Above {
                max: u64::MAX.into(),
            },
        )
    })?;
    let committee = if let Some(aut) = field(config, "autonity") {
        check_v1(config, aut, chain_id)?
    } else if let Some(aut) = field(config, "autonityContract") {
        check_v07(config, aut, chain_id)?
    } else {
        return Err(violation("config.autonity", Rule::Missing));
    };
    check_header(doc, committee.format)?;
    Ok(committee)
}

/// The genesis block's own fields (`core/gen_genesis.go`).
fn check_header(doc: &Value, format: Format) -> Result<(), GenesisError> {
    for key in ["nonce", "timestamp", "number", "gasUsed"] {
        num(doc, key, "", Form::HexOrDecimal64)?;
    }
    required(doc, "gasLimit", "", Form::HexOrDecimal64)?;
    let difficulty = required(doc, "difficulty", "", Form::HexOrDecimal256)?;
    let want = match format {
        Format::V1 => 0,
        Format::V07 => 1,
    };
    if difficulty != u128::from(want) {
        return Err(violation("difficulty", Rule::MustBe(want)));
    }
    if format == Format::V1 {
        num(doc, "baseFeePerGas", "", Form::HexOrDecimal256)?;
        if doc.get("baseFee").is_some() {
            return Err(violation(
                "baseFee",
                Rule::Unread {
                    instead: "baseFeePerGas",
                },
            ));
        }
    }
    let alloc = get(doc, "alloc", "")?
        .as_object()
        .ok_or_else(|| violation("alloc", Rule::WrongType("an object")))?;
    for (addr, account) in alloc {
        let p = format!("alloc.{addr}");
        crate::hexfmt::parse_fixed::<20>(addr, true)
            .map_err(|_| violation(&p, Rule::BadAddress))?;
        required(account, "balance", &p, Form::HexOrDecimal256)?;
    }
    Ok(())
}

fn check_v1(config: &Value, aut: &Value, chain_id: u64) -> Result<Committee, GenesisError> {
    let base = "config.autonity";
    if !aut.is_object() {
        return Err(violation(base, Rule::WrongType("an object")));
    }
    nonzero(aut, "maxCommitteeSize", base, Form::Uint64)?;
    nonzero(aut, "epochPeriod", base, Form::Uint64)?;
    let block_period = match num(aut, "blockPeriod", base, Form::Uint64)? {
        Some(0) => return Err(violation(format!("{base}.blockPeriod"), Rule::Zero)),
        Some(n) => n as u64,
        None => 1,
    };
    for key in ["minBaseFee", "unbondingPeriod", "treasuryFee"] {
        num(aut, key, base, Form::Uint64)?;
    }
    if let Some(rate) = num(aut, "delegationRate", base, Form::Uint64)? {
        if rate > u128::from(MAX_DELEGATION_RATE) {
            return Err(violation(
                format!("{base}.delegationRate"),
                Rule::Above {
                    max: MAX_DELEGATION_RATE.into(),
                },
            ));
        }
    }
    let operator = address(aut, "operator", base)?;
    if operator == [0u8; 20] {
        return Err(violation(format!("{base}.operator"), Rule::ZeroAddress));
    }
    if field(aut, "treasury").is_some() {
        address(aut, "treasury", base)?;
    }
    // Without it the client panics packing the Autonity contract's constructor arguments.
    required(aut, "initialInflationReserve", base, Form::HexOrDecimal256)?;
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
        if field(v, "nodeAddress").is_some() {
            let given = address(v, "nodeAddress", &p)?;
            let hash = crate::identity::keccak256(&m.parsed.key);
            if given[..] != hash[12..] {
                return Err(violation(
                    format!("{p}.nodeAddress"),
                    Rule::NodeAddressMismatch,
                ));
            }
        }
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
        nonzero(v, "bondedStake", &p, Form::BigInt)?;
        if let Some(rate) = num(v, "commissionRate", &p, Form::BigInt)? {
            if rate != 0 {
                return Err(violation(format!("{p}.commissionRate"), Rule::MustBe(0)));
            }
        }
        members.push(m);
    }
    if let Some(oracle) = field(config, "oracle") {
        if !oracle.is_object() {
            return Err(violation("config.oracle", Rule::WrongType("an object")));
        }
        num(oracle, "votePeriod", "config.oracle", Form::Uint64)?;
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
    num(aut, "minGasPrice", base, Form::Uint64)?;
    let mut block_period = 1;
    if let Some(t) = field(config, "tendermint") {
        let tp = "config.tendermint";
        if !t.is_object() {
            return Err(violation(tp, Rule::WrongType("an object")));
        }
        num(t, "policy", tp, Form::Uint64)?;
        match num(t, "block-period", tp, Form::Uint64)? {
            Some(0) => return Err(violation(format!("{tp}.block-period"), Rule::Zero)),
            Some(n) => block_period = n as u64,
            None => {}
        }
    }
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
        let stake = num(u, "stake", &p, Form::Uint64)?.unwrap_or(0);
        if kind == "participant" && stake > 0 {
            return Err(violation(format!("{p}.stake"), Rule::MustBe(0)));
        }
        if kind == "stakeholder" && field(u, "enode").is_none() {
            continue;
        }
        let m = enode(u, &p)?;
        no_duplicate(&mut keys, m.parsed.key_hex(), format!("{p}.enode"))?;
        if kind == "validator" {
            nonzero(u, "stake", &p, Form::Uint64)?;
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

    #[test]
    fn numbers_are_read_as_the_client_reads_them() {
        use serde_json::json;
        let r = |v: Value, f| read(&v, f);
        // uint64: bare integers only, up to 2^64 - 1.
        assert_eq!(
            r(json!(18446744073709551615u64), Form::Uint64),
            Some(u64::MAX.into())
        );
        assert_eq!(r(json!(18446744073709551616.0), Form::Uint64), None);
        assert_eq!(r(json!("5"), Form::Uint64), None);
        assert_eq!(r(json!(5.0), Form::Uint64), None);
        assert_eq!(r(json!(-5), Form::Uint64), None);
        // big.Int: bare integers of any size (read approximately beyond 2^64), never strings.
        assert_eq!(r(json!(10000), Form::BigInt), Some(10_000));
        assert_eq!(
            r(json!(1e23), Form::BigInt),
            Some(100_000_000_000_000_000_000_000 - 8_388_608)
        );
        assert_eq!(r(json!("10000"), Form::BigInt), None);
        assert_eq!(r(json!(1.5), Form::BigInt), None);
        // HexOrDecimal: strings (empty is zero, leading zeros allowed), never bare numbers.
        for (text, want) in [
            ("", 0u128),
            ("0x0", 0),
            ("0X1f", 31),
            ("00012", 12),
            ("0x0000000000000000000000001", 1),
        ] {
            assert_eq!(r(json!(text), Form::HexOrDecimal64), Some(want), "{text:?}");
            assert_eq!(
                r(json!(text), Form::HexOrDecimal256),
                Some(want),
                "{text:?}"
            );
        }
        for bad in ["0x", "1_000", "-1", "+1", " 1", "1e3", "0xg"] {
            assert_eq!(r(json!(bad), Form::HexOrDecimal64), None, "{bad:?}");
            assert_eq!(r(json!(bad), Form::HexOrDecimal256), None, "{bad:?}");
        }
        assert_eq!(r(json!(15), Form::HexOrDecimal256), None);
        assert_eq!(
            r(json!("18446744073709551615"), Form::HexOrDecimal64),
            Some(u64::MAX.into())
        );
        assert_eq!(r(json!("18446744073709551616"), Form::HexOrDecimal64), None);
        assert_eq!(
            r(json!("0xffffffffffffffff"), Form::HexOrDecimal64),
            Some(u64::MAX.into())
        );
        assert_eq!(r(json!("0x10000000000000000"), Form::HexOrDecimal64), None);
        assert_eq!(
            r(json!("18446744073709551616"), Form::HexOrDecimal256),
            Some(1 << 64)
        );
        // Valid beyond u128: saturated, still accepted.
        assert_eq!(
            r(
                json!(format!("0x{}", "f".repeat(64))),
                Form::HexOrDecimal256
            ),
            Some(u128::MAX)
        );
        assert_eq!(
            r(
                json!(format!("0x1{}", "0".repeat(64))),
                Form::HexOrDecimal256
            ),
            None
        );
    }

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
