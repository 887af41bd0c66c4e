//! The ceremony manifest (Phase 1): parse and check the operator's TOML file, compute its
//! canonical form and ceremony id, and sign or verify it with the operator's key.
//!
//! Layout (`SPEC.md` section 1; the README has a complete commented example):
//! `[ceremony] name, profile`, `[genesis] chain_id, ...` with `[genesis.alloc]`,
//! `[[orgs]] name, host`, `[dns] anchor, roots, resolver`, `[timing] poll_interval, deadline`,
//! `[signature] signer, value`. Unknown keys are errors naming the key.
//!
//! **Canonical form**: compact JSON with sorted keys of the semantic content (every key of
//! the file except `[signature]`; host names fully qualified and lowercase; durations in
//! seconds; wei amounts as decimal strings; the anchor path as written; the genesis template
//! as `template_sha256`, the SHA-256 of its contents, instead of its path). Comments, whitespace, key
//! order and equivalent spellings do not change it. **Ceremony id** = SHA-256 of it.
//!
//! **Operator signature**: secp256k1, `r ‖ s ‖ v` (`v` in {0,1}) over
//! keccak-256(`"dnsceremony manifest v1\n"` ‖ canonical), stored as `[signature] signer`,
//! `value`; a present signature must verify, and [`Manifest::require_operator`] demands one.
//!
//! Host names follow RFC 1035 section 2.3.1 / RFC 1123 section 2.1 (the first label gets
//! `key_`, `port_`, `autonity_`, `genesis_` prefixes, so it is at most 54 octets).
//!
//! # Limitations
//! - Only TOML 1.0 as read by the `toml` crate 0.8.
//! - Internationalised host names must be written in their A-label (`xn--`) form.
//! - The ceremony id covers the genesis template's contents (SHA-256, read when the manifest is
//!   loaded) but the anchor file's path as written, not its contents (the anchor decides what
//!   is trusted, and each organisation may hold its own copy of the root keys).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::Name;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use toml::Value;

use crate::hexfmt;
use crate::identity::{self, keccak256, Address, KeyError};

/// The genesis format and key layout of the target Autonity version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Autonity >= 0.14 / 1.x: BLS consensus keys, `autonitykeys`.
    V1,
    /// Autonity 0.7.x (legacy): `nodekey`, `autonityContract.users`.
    V07,
}

impl Profile {
    /// The manifest spelling: `"v1"` or `"v0.7"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::V1 => "v1",
            Profile::V07 => "v0.7",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown profile name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {} (expected \"v1\" or \"v0.7\")", crate::localfile::quote(.0))]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, UnknownProfile> {
        match s {
            "v1" => Ok(Profile::V1),
            "v0.7" => Ok(Profile::V07),
            _ => Err(UnknownProfile(s.to_string())),
        }
    }
}

impl Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The identifier of one ceremony: SHA-256 of the manifest's canonical form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CeremonyId(pub [u8; 32]);

impl fmt::Display for CeremonyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CeremonyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CeremonyId({self})")
    }
}

impl FromStr for CeremonyId {
    type Err = hexfmt::HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        hexfmt::parse_fixed::<32>(s, false).map(CeremonyId)
    }
}

impl Serialize for CeremonyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One organisation of the ceremony and its validator's host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// The organisation's name, unique in the manifest.
    pub name: String,
    /// The validator's host name: fully qualified, lowercase, at least two labels.
    pub host: Name,
}

/// The genesis options the operator fixes; `None` means the genesis room's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenesisOptions {
    /// Chain id (required, non-zero).
    pub chain_id: u64,
    /// Network id (p2p); the genesis room defaults it to the chain id.
    pub network_id: Option<u64>,
    /// A genesis template with `fqdn://HOST` placeholders, resolved against the manifest's directory.
    pub template: Option<PathBuf>,
    /// The template file's bytes, read when the manifest was loaded: the ceremony id covers
    /// their SHA-256 (not the path) and the genesis is built from exactly these bytes.
    pub template_bytes: Option<Vec<u8>>,
    /// v1 `minBaseFee` (wei, below 2^64: the client reads a uint64).
    pub min_base_fee: Option<u128>,
    /// v1 `epochPeriod` (blocks, non-zero).
    pub epoch_period: Option<u64>,
    /// v1 `unbondingPeriod` (blocks).
    pub unbonding_period: Option<u64>,
    /// Block period in seconds (non-zero).
    pub block_period: Option<u64>,
    /// v1 `maxCommitteeSize` (non-zero).
    pub max_committee_size: Option<u64>,
    /// The Autonity contract operator account.
    pub operator: Option<Address>,
    /// v1 protocol treasury account.
    pub treasury: Option<Address>,
    /// v1 `treasuryFee` (fraction scaled by 10^18, at most 10^18).
    pub treasury_fee: Option<u128>,
    /// v1 `delegationRate` (basis points, at most 10000).
    pub delegation_rate: Option<u64>,
    /// v1 per-validator `bondedStake` (non-zero).
    pub bonded_stake: Option<u128>,
    /// v1 oracle `votePeriod` (blocks, non-zero).
    pub vote_period: Option<u64>,
    /// v1 `initialInflationReserve` (wei).
    pub initial_inflation_reserve: Option<u128>,
    /// Block gas limit (non-zero).
    pub gas_limit: Option<u64>,
    /// v1 genesis block base fee, `baseFeePerGas` (wei).
    pub base_fee: Option<u128>,
    /// v0.7 `minGasPrice` (wei, below 2^64: the client reads a uint64).
    pub min_gas_price: Option<u128>,
    /// v0.7 per-validator `stake` (non-zero, below 2^64: the client reads a uint64).
    pub stake: Option<u128>,
    /// Genesis timestamp (seconds since 1970).
    pub timestamp: Option<u64>,
    /// Pre-funded accounts: address -> balance in wei (decimal, no leading zeros, below 2^128).
    pub alloc: BTreeMap<Address, String>,
}

/// Where DNS data comes from and what anchors trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsOptions {
    /// Trust anchor file (DNSKEY or DS lines), resolved against the manifest's directory.
    pub anchor: Option<PathBuf>,
    /// Root server addresses for iterative resolution (default port 53).
    pub roots: Vec<SocketAddr>,
    /// A resolver to fetch through (asked with DO+CD; the tool validates itself).
    pub resolver: Option<SocketAddr>,
}

/// How often to poll and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Time between polls (default 10 s, at least 1 s).
    pub poll_interval: Duration,
    /// Give up after this long (default: never).
    pub deadline: Option<Duration>,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll_interval: Duration::from_secs(10),
            deadline: None,
        }
    }
}

/// A checked manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The ceremony's name.
    pub name: String,
    /// Genesis format / key layout.
    pub profile: Profile,
    /// Genesis options.
    pub genesis: GenesisOptions,
    /// The organisations, in file order.
    pub orgs: Vec<Org>,
    /// DNS options.
    pub dns: DnsOptions,
    /// Timing options.
    pub timing: Timing,
    /// The verified signer's address when the manifest carries an operator signature.
    pub operator: Option<Address>,
    /// The file it was read from.
    pub source: PathBuf,
}

/// Why a manifest was refused. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest ({}: {source})", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// TOML syntax error.
    #[error("manifest is not valid TOML ({}:{line}:{column}: {message})", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A required key is absent.
    #[error("manifest lacks a required key ({}: {key} is missing)", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// Dotted key path, e.g. `genesis.chain_id`.
        key: String,
    },
    /// A key the format does not know (typo?).
    #[error("manifest has an unknown key ({}: {key} is not a known key)", path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// Dotted key path.
        key: String,
    },
    /// A value of the wrong TOML type.
    #[error("manifest value has the wrong type ({}: {key} must be {expected}, found {found})", path.display())]
    Type {
        /// The file.
        path: PathBuf,
        /// Dotted key path.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// The TOML type found.
        found: &'static str,
    },
    /// A value of the right type that is not acceptable.
    #[error("manifest value is invalid ({}: {key}: {why})", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key path.
        key: String,
        /// What is wrong with it.
        why: String,
    },
    /// A value the genesis would not use: the client would never see it.
    #[error("manifest sets a value the genesis does not use ({}: {key}: {why})", path.display())]
    Unused {
        /// The file.
        path: PathBuf,
        /// Dotted key path.
        key: String,
        /// Why it is not used.
        why: &'static str,
    },
    /// Two organisations share a name or a host.
    #[error("manifest repeats a value ({}: {key} = {value:?} already used by {first})", path.display())]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// Dotted key path of the repetition.
        key: String,
        /// The repeated value.
        value: String,
        /// Key path of the first use.
        first: String,
    },
    /// The operator signature does not verify.
    #[error("manifest signature does not verify ({}: signature: recovered signer {recovered} but the file names {signer})", path.display())]
    BadSignature {
        /// The file.
        path: PathBuf,
        /// `signature.signer`.
        signer: Address,
        /// Who actually signed (or `none`).
        recovered: String,
    },
    /// An operator signature was demanded but the manifest is unsigned.
    #[error("manifest is not signed ({}: --operator {expected} demands a [signature] table)", path.display())]
    Unsigned {
        /// The file.
        path: PathBuf,
        /// The operator demanded.
        expected: Address,
    },
    /// The manifest is signed by someone other than the demanded operator.
    #[error("manifest signed by another operator ({}: signature.signer is {found}, expected {expected})", path.display())]
    WrongOperator {
        /// The file.
        path: PathBuf,
        /// The operator demanded.
        expected: Address,
        /// The verified signer.
        found: Address,
    },
    /// The signing key file is unusable.
    #[error("operator key file is unusable ({}: {why})", path.display())]
    SigningKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// `[signature]` is not the last table, so it cannot be replaced without touching the body.
    #[error("cannot re-sign manifest ({}: the [signature] table must be the last part of the file)", path.display())]
    SignatureNotLast {
        /// The file.
        path: PathBuf,
    },
    /// The signed manifest could not be written.
    #[error("cannot write manifest ({}: {source})", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl ManifestError {
    /// True when the error is about writing a local file rather than bad content.
    pub fn is_local_write(&self) -> bool {
        matches!(self, ManifestError::Write { .. })
    }
}

/// The domain-separation prefix of the operator signature's message.
pub const SIGNATURE_DOMAIN: &str = "dnsceremony manifest v1\n";

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// A helper carrying the file name so every error names it.
struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn invalid(&self, key: &str, why: impl Into<String>) -> ManifestError {
        ManifestError::Invalid {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            why: why.into(),
        }
    }

    fn wrong(&self, key: &str, expected: &'static str, v: &Value) -> ManifestError {
        ManifestError::Type {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            expected,
            found: type_name(v),
        }
    }

    fn missing(&self, key: &str) -> ManifestError {
        ManifestError::Missing {
            path: self.path.to_path_buf(),
            key: key.to_string(),
        }
    }

    fn unknown_keys(
        &self,
        prefix: &str,
        t: &toml::Table,
        known: &[&str],
    ) -> Result<(), ManifestError> {
        for k in t.keys() {
            if !known.contains(&k.as_str()) {
                return Err(ManifestError::UnknownKey {
                    path: self.path.to_path_buf(),
                    key: join(prefix, &shown_key(k)),
                });
            }
        }
        Ok(())
    }

    /// Refuse a string shown to people (a ceremony or organisation name) that holds a
    /// control, format or bidirectional character (U+202E and the like make a terminal or a
    /// page show another text than the bytes say).
    fn displayed(&self, key: &str, s: &str) -> Result<(), ManifestError> {
        match s
            .chars()
            .enumerate()
            .find(|(_, c)| crate::localfile::is_unsafe_char(*c))
        {
            Some((pos, c)) => Err(self.invalid(
                key,
                format!(
                    "{}: character {} is U+{:04X}, a control, format or bidirectional character (names are shown to people and must read as written)",
                    crate::localfile::quote(s),
                    pos + 1,
                    u32::from(c)
                ),
            )),
            None => Ok(()),
        }
    }

    fn table<'v>(&self, key: &str, v: &'v Value) -> Result<&'v toml::Table, ManifestError> {
        v.as_table().ok_or_else(|| self.wrong(key, "a table", v))
    }

    fn string<'v>(&self, key: &str, v: &'v Value) -> Result<&'v str, ManifestError> {
        v.as_str().ok_or_else(|| self.wrong(key, "a string", v))
    }

    fn u64(&self, key: &str, v: &Value) -> Result<u64, ManifestError> {
        match v {
            Value::Integer(i) => {
                u64::try_from(*i).map_err(|_| self.invalid(key, format!("{i} is negative")))
            }
            Value::String(s) => parse_decimal(s)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| {
                    self.invalid(
                        key,
                        format!(
                            "{} is not a decimal integer between 0 and {}",
                            crate::localfile::quote(s),
                            u64::MAX
                        ),
                    )
                }),
            _ => Err(self.wrong(key, "an integer", v)),
        }
    }

    fn u128(&self, key: &str, v: &Value) -> Result<u128, ManifestError> {
        match v {
            Value::Integer(i) => {
                u128::try_from(*i).map_err(|_| self.invalid(key, format!("{i} is negative")))
            }
            Value::String(s) => parse_decimal(s).ok_or_else(|| {
                self.invalid(
                    key,
                    format!(
                        "{} is not a decimal integer between 0 and {}",
                        crate::localfile::quote(s),
                        u128::MAX
                    ),
                )
            }),
            _ => Err(self.wrong(key, "an integer or a decimal string", v)),
        }
    }

    /// An optional number: `None` when `v` is absent, else `v` read by `read`, which must be
    /// non-zero (if `nonzero`) and at most `max` (if any).
    fn opt_bounded<N>(
        &self,
        key: &str,
        v: Option<&Value>,
        read: fn(&Self, &str, &Value) -> Result<N, ManifestError>,
        nonzero: bool,
        max: Option<N>,
    ) -> Result<Option<N>, ManifestError>
    where
        N: Copy + Default + PartialOrd + std::fmt::Display,
    {
        let Some(v) = v else { return Ok(None) };
        let n = read(self, key, v)?;
        if nonzero && n == N::default() {
            return Err(self.invalid(key, "must be non-zero"));
        }
        match max {
            Some(m) if n > m => Err(self.invalid(key, format!("{n} is more than {m}"))),
            _ => Ok(Some(n)),
        }
    }

    fn address(&self, key: &str, v: &Value) -> Result<Address, ManifestError> {
        let s = self.string(key, v)?;
        s.parse::<Address>().map_err(|e| {
            self.invalid(
                key,
                format!("{} is not an address: {e}", crate::localfile::quote(s)),
            )
        })
    }

    fn duration(&self, key: &str, v: &Value) -> Result<Duration, ManifestError> {
        let s = self.string(key, v)?;
        let d = parse_duration(s).ok_or_else(|| {
            self.invalid(
                key,
                format!(
                    "{} is not a duration (e.g. \"30s\", \"10m\", \"2h\", \"1h30m\")",
                    crate::localfile::quote(s)
                ),
            )
        })?;
        // The canonical form (and so the ceremony id) holds whole seconds.
        if d.subsec_nanos() != 0 {
            return Err(self.invalid(
                key,
                format!(
                    "{} is not a whole number of seconds",
                    crate::localfile::quote(s)
                ),
            ));
        }
        Ok(d)
    }

    fn socket(&self, key: &str, v: &Value) -> Result<SocketAddr, ManifestError> {
        let s = self.string(key, v)?;
        parse_socket(s).ok_or_else(|| {
            self.invalid(key, format!("{} is not an IP address or IP:port (e.g. \"192.0.2.1\", \"192.0.2.1:53\", \"[2001:db8::1]:53\")", crate::localfile::quote(s)))
        })
    }
}

/// A key as written when it is a plain TOML bare key, else quoted and escaped
/// ([`crate::localfile::quote`]): an error line never carries a key's raw control or
/// bidirectional characters, nor more than a short excerpt of it.
fn shown_key(k: &str) -> String {
    let bare = k.len() <= 64
        && !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        k.to_string()
    } else {
        crate::localfile::quote(k)
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Decimal digits only (no sign, no separators) that fit in a u128.
fn parse_decimal(s: &str) -> Option<u128> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parse `"10s"`, `"5m"`, `"2h"`, `"1h30m"`, `"500ms"`, `"90"` (seconds): units h, m, s, ms
/// in that order, each at most once, at least one. `None` for anything else or an overflow.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().ok().map(Duration::from_secs);
    }
    let mut total_ms: u64 = 0;
    let mut last_rank = 5u8;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let letters = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .map_or(rest.len(), |i| digits + i);
        let (num, unit) = (&rest[..digits], &rest[digits..letters]);
        let (mult, rank) = match unit {
            "h" => (3_600_000u64, 4u8),
            "m" => (60_000, 3),
            "s" => (1_000, 2),
            "ms" => (1, 1),
            _ => return None,
        };
        if num.is_empty() || rank >= last_rank {
            return None;
        }
        last_rank = rank;
        total_ms = total_ms.checked_add(num.parse::<u64>().ok()?.checked_mul(mult)?)?;
        rest = &rest[letters..];
    }
    Some(Duration::from_millis(total_ms))
}

/// Render a duration the way [`parse_duration`] reads it (`"1h30m"`, `"10s"`, `"0s"`).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, n) in [('h', 3600), ('m', 60), ('s', 1)] {
        if secs >= n {
            out.push_str(&format!("{}{unit}", secs / n));
            secs %= n;
        }
    }
    out
}

fn parse_socket(s: &str) -> Option<SocketAddr> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return (sa.port() != 0).then_some(sa);
    }
    s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
}

fn valid_hostname_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("empty label".into());
    }
    if label.len() > 54 {
        return Err(format!(
            "first label {} is {} octets; at most 54 so that \"autonity_{label}\" fits in 63",
            crate::localfile::quote(label),
            label.len()
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "first label {} contains {c:?}: only letters, digits and '-' are allowed",
            crate::localfile::quote(label)
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "first label {} starts or ends with '-'",
            crate::localfile::quote(label)
        ));
    }
    Ok(())
}

/// Parse and check a validator host name: at least two labels, a hostname-style first label,
/// fully qualified, lowercase; room left for the longest record prefix.
pub fn parse_host(s: &str) -> Result<Name, String> {
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    if trimmed.is_empty() {
        return Err("empty host name".into());
    }
    let mut labels = trimmed.split('.');
    let first = labels.next().unwrap_or_default();
    valid_hostname_label(first)?;
    for l in trimmed.split('.').skip(1) {
        if l.is_empty() {
            return Err(format!("{} has an empty label", crate::localfile::quote(s)));
        }
        if l.len() > 63 {
            return Err(format!(
                "label {} is longer than 63 octets",
                crate::localfile::quote(l)
            ));
        }
        if let Some(c) = l
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "label {} contains {c:?}",
                crate::localfile::quote(l)
            ));
        }
    }
    let mut name =
        Name::from_ascii(trimmed).map_err(|e| format!("{}: {e}", crate::localfile::quote(s)))?;
    name.set_fqdn(true);
    let name = name.to_lowercase();
    if name.num_labels() < 2 {
        return Err(format!("{} has a single label; a validator host needs at least two (e.g. validator1.example.com)", crate::localfile::quote(s)));
    }
    // Longest derived owner: "autonity_" + host, plus the root's length octet.
    if trimmed.len() + 9 + 2 > 255 {
        return Err(format!(
            "{} is too long once prefixed with autonity_",
            crate::localfile::quote(s)
        ));
    }
    Ok(name)
}

const GENESIS_KEYS: &[&str] = &[
    "chain_id",
    "network_id",
    "template",
    "min_base_fee",
    "epoch_period",
    "unbonding_period",
    "block_period",
    "max_committee_size",
    "operator",
    "treasury",
    "treasury_fee",
    "delegation_rate",
    "bonded_stake",
    "vote_period",
    "initial_inflation_reserve",
    "gas_limit",
    "base_fee",
    "min_gas_price",
    "stake",
    "timestamp",
    "alloc",
];

impl Manifest {
    /// Read and check a manifest file (`-`: standard input; a template path is then relative
    /// to the working directory).
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text =
            crate::localfile::read_to_string_or_stdin(path, crate::localfile::Kind::Manifest)
                .map_err(|source| ManifestError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
        Manifest::parse(&text, path)
    }

    /// Check manifest text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
        let cx = Ctx { path };
        let root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let (line, column) = e.span().map(|r| line_col(text, r.start)).unwrap_or((1, 1));
            ManifestError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().replace('\n', " "),
            }
        })?;
        cx.unknown_keys(
            "",
            &root,
            &["ceremony", "genesis", "orgs", "dns", "timing", "signature"],
        )?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();

        // [ceremony]
        let cer = cx.table(
            "ceremony",
            root.get("ceremony").ok_or_else(|| cx.missing("ceremony"))?,
        )?;
        cx.unknown_keys("ceremony", cer, &["name", "profile"])?;
        let name = cx
            .string(
                "ceremony.name",
                cer.get("name").ok_or_else(|| cx.missing("ceremony.name"))?,
            )?
            .to_string();
        cx.displayed("ceremony.name", &name)?;
        if name.trim().is_empty() || name.len() > 200 {
            return Err(cx.invalid(
                "ceremony.name",
                "must be 1-200 characters without control characters",
            ));
        }
        let profile_s = cx.string(
            "ceremony.profile",
            cer.get("profile")
                .ok_or_else(|| cx.missing("ceremony.profile"))?,
        )?;
        let profile: Profile = profile_s
            .parse()
            .map_err(|e: UnknownProfile| cx.invalid("ceremony.profile", e.to_string()))?;

        // [genesis]
        let gen = cx.table(
            "genesis",
            root.get("genesis").ok_or_else(|| cx.missing("genesis"))?,
        )?;
        cx.unknown_keys("genesis", gen, GENESIS_KEYS)?;
        let genesis = parse_genesis(&cx, gen, &base, profile)?;

        // [[orgs]]
        let orgs_v = root.get("orgs").ok_or_else(|| cx.missing("orgs"))?;
        let orgs_a = orgs_v
            .as_array()
            .ok_or_else(|| cx.wrong("orgs", "an array of tables ([[orgs]])", orgs_v))?;
        if orgs_a.is_empty() {
            return Err(cx.invalid("orgs", "at least one organisation is needed"));
        }
        let mut orgs = Vec::with_capacity(orgs_a.len());
        let mut seen_names: BTreeMap<String, usize> = BTreeMap::new();
        let mut seen_hosts: BTreeMap<Name, usize> = BTreeMap::new();
        for (i, ov) in orgs_a.iter().enumerate() {
            let key = format!("orgs[{i}]");
            let t = cx.table(&key, ov)?;
            cx.unknown_keys(&key, t, &["name", "host"])?;
            let nk = format!("{key}.name");
            let oname = cx
                .string(&nk, t.get("name").ok_or_else(|| cx.missing(&nk))?)?
                .to_string();
            cx.displayed(&nk, &oname)?;
            if oname.is_empty()
                || oname.len() > 64
                || oname.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                return Err(cx.invalid(
                    &nk,
                    format!(
                        "{}: an organisation name is 1-64 characters without spaces",
                        crate::localfile::quote(&oname)
                    ),
                ));
            }
            let hk = format!("{key}.host");
            let hs = cx.string(&hk, t.get("host").ok_or_else(|| cx.missing(&hk))?)?;
            let host = parse_host(hs).map_err(|why| cx.invalid(&hk, why))?;
            if let Some(j) = seen_names.insert(oname.clone(), i) {
                return Err(ManifestError::Duplicate {
                    path: path.to_path_buf(),
                    key: nk,
                    value: oname,
                    first: format!("orgs[{j}].name"),
                });
            }
            if let Some(j) = seen_hosts.insert(host.clone(), i) {
                return Err(ManifestError::Duplicate {
                    path: path.to_path_buf(),
                    key: hk,
                    value: host.to_string(),
                    first: format!("orgs[{j}].host"),
                });
            }
            orgs.push(Org { name: oname, host });
        }

        // [dns]
        let mut dns = DnsOptions::default();
        if let Some(v) = root.get("dns") {
            let t = cx.table("dns", v)?;
            cx.unknown_keys("dns", t, &["anchor", "roots", "resolver"])?;
            if let Some(v) = t.get("anchor") {
                let s = cx.string("dns.anchor", v)?;
                if s.is_empty() {
                    return Err(cx.invalid("dns.anchor", "empty path"));
                }
                dns.anchor = Some(base.join(s));
            }
            if let Some(v) = t.get("roots") {
                let a = v
                    .as_array()
                    .ok_or_else(|| cx.wrong("dns.roots", "an array of strings", v))?;
                for (i, r) in a.iter().enumerate() {
                    dns.roots.push(cx.socket(&format!("dns.roots[{i}]"), r)?);
                }
            }
            if let Some(v) = t.get("resolver") {
                dns.resolver = Some(cx.socket("dns.resolver", v)?);
            }
        }

        // [timing]
        let mut timing = Timing::default();
        if let Some(v) = root.get("timing") {
            let t = cx.table("timing", v)?;
            cx.unknown_keys("timing", t, &["poll_interval", "deadline"])?;
            if let Some(v) = t.get("poll_interval") {
                timing.poll_interval = cx.duration("timing.poll_interval", v)?;
                if timing.poll_interval < Duration::from_secs(1) {
                    return Err(cx.invalid("timing.poll_interval", "must be at least 1s"));
                }
            }
            if let Some(v) = t.get("deadline") {
                let d = cx.duration("timing.deadline", v)?;
                if d.is_zero() {
                    return Err(cx.invalid("timing.deadline", "must be more than 0s"));
                }
                timing.deadline = Some(d);
            }
        }

        let mut manifest = Manifest {
            name,
            profile,
            genesis,
            orgs,
            dns,
            timing,
            operator: None,
            source: path.to_path_buf(),
        };

        // [signature]
        if let Some(v) = root.get("signature") {
            let t = cx.table("signature", v)?;
            cx.unknown_keys("signature", t, &["signer", "value"])?;
            let signer = cx.address(
                "signature.signer",
                t.get("signer")
                    .ok_or_else(|| cx.missing("signature.signer"))?,
            )?;
            let vs = cx.string(
                "signature.value",
                t.get("value")
                    .ok_or_else(|| cx.missing("signature.value"))?,
            )?;
            if !vs.starts_with("0x") {
                return Err(cx.invalid("signature.value", "must start with 0x"));
            }
            let sig = hexfmt::parse_fixed::<65>(vs, true)
                .map_err(|e| cx.invalid("signature.value", e.to_string()))?;
            let recovered =
                identity::recover_signer(&manifest.signing_hash(), &sig).map(|k| k.address());
            match recovered {
                Ok(a) if a == signer => manifest.operator = Some(a),
                Ok(a) => {
                    return Err(ManifestError::BadSignature {
                        path: path.to_path_buf(),
                        signer,
                        recovered: a.to_string(),
                    })
                }
                Err(_) => {
                    return Err(ManifestError::BadSignature {
                        path: path.to_path_buf(),
                        signer,
                        recovered: "none (malformed signature)".into(),
                    })
                }
            }
        }
        Ok(manifest)
    }

    /// The canonical form: sorted-key compact JSON of the semantic content, no signature.
    pub fn canonical(&self) -> String {
        let base = self.source.parent().unwrap_or(Path::new(""));
        let rel = |p: &Path| -> String {
            p.strip_prefix(base)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        let mut cer = BTreeMap::new();
        cer.insert("name", Json::from(self.name.clone()));
        cer.insert("profile", Json::from(self.profile.as_str()));

        let g = &self.genesis;
        let mut gen: BTreeMap<&str, Json> = BTreeMap::new();
        gen.insert("chain_id", Json::from(g.chain_id));
        let u64s = [
            ("network_id", g.network_id),
            ("epoch_period", g.epoch_period),
            ("unbonding_period", g.unbonding_period),
            ("block_period", g.block_period),
            ("max_committee_size", g.max_committee_size),
            ("delegation_rate", g.delegation_rate),
            ("vote_period", g.vote_period),
            ("gas_limit", g.gas_limit),
            ("timestamp", g.timestamp),
        ];
        for (k, v) in u64s {
            if let Some(v) = v {
                gen.insert(k, Json::from(v));
            }
        }
        let u128s = [
            ("min_base_fee", g.min_base_fee),
            ("treasury_fee", g.treasury_fee),
            ("bonded_stake", g.bonded_stake),
            ("base_fee", g.base_fee),
            ("min_gas_price", g.min_gas_price),
            ("stake", g.stake),
            ("initial_inflation_reserve", g.initial_inflation_reserve),
        ];
        for (k, v) in u128s {
            if let Some(v) = v {
                gen.insert(k, Json::from(v.to_string()));
            }
        }
        for (k, v) in [("operator", g.operator), ("treasury", g.treasury)] {
            if let Some(v) = v {
                gen.insert(k, Json::from(v.to_string()));
            }
        }
        // The template's contents, not its path: organisations with different templates get
        // different ids, moving the file changes nothing.
        if let Some(bytes) = &g.template_bytes {
            gen.insert(
                "template_sha256",
                Json::from(hex::encode(Sha256::digest(bytes))),
            );
        }
        if !g.alloc.is_empty() {
            let alloc: serde_json::Map<String, Json> = g
                .alloc
                .iter()
                .map(|(a, w)| (a.to_string(), Json::from(w.clone())))
                .collect();
            gen.insert("alloc", Json::Object(alloc));
        }

        let orgs: Vec<Json> = self
            .orgs
            .iter()
            .map(|o| {
                // Keys inserted in sorted order (the map keeps insertion order).
                let mut m = serde_json::Map::new();
                m.insert("host".into(), Json::from(o.host.to_ascii()));
                m.insert("name".into(), Json::from(o.name.clone()));
                Json::Object(m)
            })
            .collect();

        let mut dns: BTreeMap<&str, Json> = BTreeMap::new();
        if let Some(a) = &self.dns.anchor {
            dns.insert("anchor", Json::from(rel(a)));
        }
        if let Some(r) = &self.dns.resolver {
            dns.insert("resolver", Json::from(r.to_string()));
        }
        if !self.dns.roots.is_empty() {
            dns.insert(
                "roots",
                Json::Array(
                    self.dns
                        .roots
                        .iter()
                        .map(|r| Json::from(r.to_string()))
                        .collect(),
                ),
            );
        }

        let mut timing: BTreeMap<&str, Json> = BTreeMap::new();
        if let Some(d) = self.timing.deadline {
            timing.insert("deadline", Json::from(d.as_secs()));
        }
        timing.insert(
            "poll_interval",
            Json::from(self.timing.poll_interval.as_secs()),
        );

        let mut top: BTreeMap<&str, Json> = BTreeMap::new();
        top.insert("ceremony", to_obj(cer));
        top.insert("dns", to_obj(dns));
        top.insert("genesis", to_obj(gen));
        top.insert("orgs", Json::Array(orgs));
        top.insert("timing", to_obj(timing));
        to_obj(top).to_string()
    }

    /// SHA-256 of [`Manifest::canonical`].
    pub fn ceremony_id(&self) -> CeremonyId {
        CeremonyId(Sha256::digest(self.canonical().as_bytes()).into())
    }

    /// The organisation called `name`.
    pub fn org(&self, name: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.name == name)
    }

    /// The prehash the operator signs: keccak-256(`SIGNATURE_DOMAIN` ‖ canonical).
    pub fn signing_hash(&self) -> [u8; 32] {
        let mut msg = SIGNATURE_DOMAIN.as_bytes().to_vec();
        msg.extend_from_slice(self.canonical().as_bytes());
        keccak256(&msg)
    }

    /// Demand a verified signature by `operator`.
    pub fn require_operator(&self, operator: &Address) -> Result<(), ManifestError> {
        match self.operator {
            None => Err(ManifestError::Unsigned {
                path: self.source.clone(),
                expected: *operator,
            }),
            Some(found) if found != *operator => Err(ManifestError::WrongOperator {
                path: self.source.clone(),
                expected: *operator,
                found,
            }),
            Some(_) => Ok(()),
        }
    }
}

fn to_obj(m: BTreeMap<&str, Json>) -> Json {
    // BTreeMap iterates in sorted order, so the (insertion-ordered) JSON map is sorted too.
    Json::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, col)
}

/// `[genesis]` options only a v1 genesis has.
const V1_ONLY: &[&str] = &[
    "min_base_fee",
    "epoch_period",
    "unbonding_period",
    "max_committee_size",
    "treasury",
    "treasury_fee",
    "delegation_rate",
    "bonded_stake",
    "vote_period",
    "base_fee",
    "initial_inflation_reserve",
];
/// `[genesis]` options only a v0.7 genesis has.
const V07_ONLY: &[&str] = &["min_gas_price", "stake"];
/// `[genesis]` options that still matter in template mode (the template is the genesis).
const TEMPLATE_KEYS: &[&str] = &["chain_id", "network_id", "template"];

/// The largest value a Go `uint64` holds.
const U64_MAX: u128 = u64::MAX as u128;

fn parse_genesis(
    cx: &Ctx<'_>,
    t: &toml::Table,
    base: &Path,
    profile: Profile,
) -> Result<GenesisOptions, ManifestError> {
    // An option the genesis would not carry is an operator's mistake, not a default.
    let unused = |key: &str, why| ManifestError::Unused {
        path: cx.path.to_path_buf(),
        key: format!("genesis.{key}"),
        why,
    };
    for key in t.keys() {
        let key = key.as_str();
        if t.contains_key("template") && !TEMPLATE_KEYS.contains(&key) {
            return Err(unused(
                key,
                "with a template the template is the genesis; set the field there",
            ));
        }
        match profile {
            Profile::V07 if V1_ONLY.contains(&key) => {
                return Err(unused(key, "a v1 genesis field; profile v0.7 has none"))
            }
            Profile::V1 if V07_ONLY.contains(&key) => {
                return Err(unused(key, "a v0.7 genesis field; profile v1 has none"))
            }
            _ => {}
        }
    }
    let k = |n: &str| format!("genesis.{n}");
    let chain_id = cx.u64(
        "genesis.chain_id",
        t.get("chain_id")
            .ok_or_else(|| cx.missing("genesis.chain_id"))?,
    )?;
    if chain_id == 0 {
        return Err(cx.invalid("genesis.chain_id", "must be non-zero"));
    }
    let mut g = GenesisOptions {
        chain_id,
        ..GenesisOptions::default()
    };
    let opt_u64 =
        |name: &str, nonzero, max| cx.opt_bounded(&k(name), t.get(name), Ctx::u64, nonzero, max);
    let opt_u128 =
        |name: &str, nonzero, max| cx.opt_bounded(&k(name), t.get(name), Ctx::u128, nonzero, max);
    g.network_id = opt_u64("network_id", true, None)?;
    g.epoch_period = opt_u64("epoch_period", true, None)?;
    g.unbonding_period = opt_u64("unbonding_period", false, None)?;
    g.block_period = opt_u64("block_period", true, None)?;
    g.max_committee_size = opt_u64("max_committee_size", true, None)?;
    g.delegation_rate = opt_u64("delegation_rate", false, Some(10_000))?;
    g.vote_period = opt_u64("vote_period", true, None)?;
    g.gas_limit = opt_u64("gas_limit", true, None)?;
    g.timestamp = opt_u64("timestamp", false, None)?;
    // The client reads minBaseFee, treasuryFee, minGasPrice and stake as uint64.
    g.min_base_fee = opt_u128("min_base_fee", false, Some(U64_MAX))?;
    g.treasury_fee = opt_u128("treasury_fee", false, Some(1_000_000_000_000_000_000))?;
    g.bonded_stake = opt_u128("bonded_stake", true, None)?;
    g.base_fee = opt_u128("base_fee", false, None)?;
    g.min_gas_price = opt_u128("min_gas_price", false, Some(U64_MAX))?;
    g.stake = opt_u128("stake", true, Some(U64_MAX))?;
    g.initial_inflation_reserve = opt_u128("initial_inflation_reserve", false, None)?;
    if let Some(v) = t.get("operator") {
        g.operator = Some(cx.address("genesis.operator", v)?);
    }
    if let Some(v) = t.get("treasury") {
        g.treasury = Some(cx.address("genesis.treasury", v)?);
    }
    if let Some(v) = t.get("template") {
        let s = cx.string("genesis.template", v)?;
        if s.is_empty() {
            return Err(cx.invalid("genesis.template", "empty path"));
        }
        let path = base.join(s);
        let bytes =
            crate::localfile::read(&path, crate::localfile::Kind::Template).map_err(|e| {
                cx.invalid(
                    "genesis.template",
                    format!(
                        "cannot read the template {}: {e}",
                        crate::localfile::escape(&path.display().to_string())
                    ),
                )
            })?;
        g.template = Some(path);
        g.template_bytes = Some(bytes);
    }
    if let Some(v) = t.get("alloc") {
        let a = cx.table("genesis.alloc", v)?;
        let mut seen = BTreeSet::new();
        for (addr_s, bal) in a {
            let key = format!("genesis.alloc.{}", crate::localfile::quote(addr_s));
            let addr: Address = addr_s.parse().map_err(|e: KeyError| {
                cx.invalid(
                    &key,
                    format!("{} is not an address: {e}", crate::localfile::quote(addr_s)),
                )
            })?;
            if !seen.insert(addr) {
                return Err(ManifestError::Duplicate {
                    path: cx.path.to_path_buf(),
                    key,
                    value: addr.to_string(),
                    first: "another spelling of the same address".into(),
                });
            }
            let wei = match bal {
                Value::Integer(i) if *i >= 0 => i.to_string(),
                Value::String(s) if parse_decimal(s).is_some() => {
                    let t = s.trim_start_matches('0');
                    if t.is_empty() {
                        "0".to_string()
                    } else {
                        t.to_string()
                    }
                }
                Value::Integer(_) | Value::String(_) => {
                    return Err(cx.invalid(
                        &key,
                        format!(
                            "balance must be a non-negative decimal number of wei below 2^128 ({})",
                            u128::MAX
                        ),
                    ))
                }
                other => return Err(cx.wrong(&key, "a decimal string of wei", other)),
            };
            g.alloc.insert(addr, wei);
        }
    }
    Ok(g)
}

/// Sign the manifest file at `path` with the secp256k1 key in `key_file` (64 hex), replacing
/// any trailing `[signature]` table; the body is kept byte for byte. Written atomically
/// (temporary file + rename). Returns the signed manifest.
pub fn sign_file(path: &Path, key_file: &Path) -> Result<Manifest, ManifestError> {
    let key_text = crate::localfile::read_to_string(key_file, crate::localfile::Kind::KeyFile)
        .map_err(|e| ManifestError::SigningKey {
            path: key_file.to_path_buf(),
            why: e.to_string(),
        })?;
    let secret = hexfmt::parse_fixed::<32>(key_text.trim_end(), true).map_err(|e| {
        ManifestError::SigningKey {
            path: key_file.to_path_buf(),
            why: format!("expected a secp256k1 private key as 64 hex digits: {e}"),
        }
    })?;
    let id =
        identity::Identity::from_secrets(&secret, None).map_err(|e| ManifestError::SigningKey {
            path: key_file.to_path_buf(),
            why: e.to_string(),
        })?;
    let text = crate::localfile::read_to_string(path, crate::localfile::Kind::Manifest).map_err(
        |source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        },
    )?;
    let existing = Manifest::parse(&text, path);
    let body = strip_signature(&text, path)?;
    let unsigned = Manifest::parse(&body, path)?;
    if let Err(e) = existing {
        // Only a bad old signature may be replaced; any other defect is reported.
        if !matches!(e, ManifestError::BadSignature { .. }) {
            return Err(e);
        }
    }
    let sig = id.sign_prehash(&unsigned.signing_hash());
    let signer = id.public().node_address;
    let mut out = body;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(&format!(
        "[signature]\n# operator signature over the ceremony id's canonical form (see `dnsceremony manifest check`)\nsigner = \"{signer}\"\nvalue = \"0x{}\"\n",
        hex::encode(sig)
    ));
    let signed = Manifest::parse(&out, path)?;
    debug_assert_eq!(signed.operator, Some(signer));
    write_replace(path, out.as_bytes())?;
    Ok(signed)
}

/// Remove a trailing `[signature]` table (and the blank lines before it).
fn strip_signature(text: &str, path: &Path) -> Result<String, ManifestError> {
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == "[signature]" {
            start = Some(offset);
        } else if start.is_some() && line.trim_start().starts_with('[') {
            return Err(ManifestError::SignatureNotLast {
                path: path.to_path_buf(),
            });
        }
        offset += line.len();
    }
    Ok(match start {
        None => text.to_string(),
        Some(s) => {
            let body = text[..s].trim_end_matches(['\n', ' ', '\t', '\r']);
            format!("{body}\n")
        }
    })
}

/// Replace `path` atomically: write a temporary file beside it, fsync, rename over it.
fn write_replace(path: &Path, bytes: &[u8]) -> Result<(), ManifestError> {
    crate::atomic::replace(path, bytes).map_err(|source| ManifestError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// [`EXAMPLE`] for `profile` (`"v1"` or `"v0.7"`) with `operator` as `genesis.operator`.
pub fn example(profile: &str, operator: &Address) -> String {
    EXAMPLE
        .replace(
            "profile = \"v1\"        ",
            &format!("profile = {:<12}", format!("\"{profile}\"")),
        )
        .replace(
            "operator = \"0x0000000000000000000000000000000000000000\"",
            &format!("operator = \"{operator}\""),
        )
}

/// A commented example manifest with the four organisations of the seed table; its
/// `genesis.operator` is the zero address, which [`example`] replaces.
pub const EXAMPLE: &str = r#"# dnsceremony manifest: written by the network operator, sent unchanged to every organisation.
# Any change to a value changes the ceremony id (`dnsceremony manifest check` prints it).

[ceremony]
name = "acme-private-net"
profile = "v1"                  # "v1" (Autonity >= 0.14 / 1.x) or "v0.7" (legacy)

[genesis]
chain_id = 65110000             # required
network_id = 65110000           # default: chain_id
# Unset options get the genesis defaults documented in the README. Amounts in wei may be
# written as integers or, when larger than 2^63, as decimal strings.
# min_base_fee = 500000000
# epoch_period = 1800
# unbonding_period = 21600
# block_period = 1
# max_committee_size = 100
operator = "0x0000000000000000000000000000000000000000"   # the Autonity contract operator (required)
# treasury = "0x..."
# treasury_fee = "10000000000000000"
# delegation_rate = 1000        # basis points
# bonded_stake = 10000
# vote_period = 30
# initial_inflation_reserve = "40000000000000000000000000"   # 40,000,000 NTN
# gas_limit = 281474976710655
# base_fee = "15000000000"      # the genesis block's baseFeePerGas
# timestamp = 0
# Profile v0.7 only (a v1 option under v0.7, or the reverse, is an error):
# min_gas_price = 10000000000000
# stake = 50000
# template = "genesis.template.json"   # fields "fqdn://HOST" are replaced by resolved enodes;
#                                      # then only chain_id and network_id may be set here

# [genesis.alloc]
# "0x0000000000000000000000000000000000000001" = "1000000000000000000000"

[[orgs]]
name = "org1"
host = "validator1.ogr1.com"

[[orgs]]
name = "org2"
host = "val2.ogr2.net"

[[orgs]]
name = "org3"
host = "validator3.ogr3.io"

[[orgs]]
name = "org4"
host = "othername4.ogr4.co.uk"

# [dns]
# anchor = "root.anchor"        # DNSKEY or DS lines; default: the IANA root keys
# roots = ["198.41.0.4"]        # iterate from these root servers (port 53 unless given)
# resolver = "192.0.2.53:53"    # or fetch through this resolver (the tool validates itself)

[timing]
poll_interval = "10s"
# deadline = "2h"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[ceremony]
name = "acme"
profile = "v1"
[genesis]
chain_id = 65110000
[[orgs]]
name = "org1"
host = "Validator1.OGR1.com"
[[orgs]]
name = "org2"
host = "val2.ogr2.net."
"#;

    fn p(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("/etc/cer/m.toml"))
    }

    #[test]
    fn parses_minimal_and_normalises_hosts() {
        let m = p(MIN).unwrap();
        assert_eq!(m.name, "acme");
        assert_eq!(m.profile, Profile::V1);
        assert_eq!(m.orgs[0].host.to_string(), "validator1.ogr1.com.");
        assert!(m.orgs[1].host.is_fqdn());
        assert_eq!(m.timing.poll_interval, Duration::from_secs(10));
        assert_eq!(m.org("org2").unwrap().host.to_ascii(), "val2.ogr2.net.");
        assert!(m.org("org9").is_none());
        assert_eq!(m.operator, None);
    }

    #[test]
    fn example_parses() {
        let m = p(EXAMPLE).unwrap();
        assert_eq!(m.orgs.len(), 4);
        assert_eq!(m.orgs[3].host.to_ascii(), "othername4.ogr4.co.uk.");
        assert_eq!(m.genesis.network_id, Some(65110000));
    }

    #[test]
    fn canonical_ignores_order_comments_and_spelling() {
        let other = r#"
# a comment
[[orgs]]
host = "validator1.ogr1.com"   # lower-case already
name = "org1"
[[orgs]]
host = "val2.ogr2.net"
name = "org2"
[genesis]
chain_id = "65110000"
[ceremony]
profile = "v1"
name = "acme"
"#;
        let a = p(MIN).unwrap();
        let b = p(other).unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.ceremony_id(), b.ceremony_id());
        let c = p(&MIN.replace("65110000", "65110001")).unwrap();
        assert_ne!(a.ceremony_id(), c.ceremony_id());
        // Org order is semantic (it is the committee order in genesis).
        assert!(a
            .canonical()
            .starts_with("{\"ceremony\":{\"name\":\"acme\",\"profile\":\"v1\"}"));
    }

    #[test]
    fn ceremony_id_binds_the_template_contents_not_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let with =
            |tpl: &str| MIN.replace("[genesis]\n", &format!("[genesis]\ntemplate = \"{tpl}\"\n"));
        assert!(
            with("t.json").contains("template = \"t.json\""),
            "{}",
            with("t.json")
        );
        let load = |text: &str| Manifest::parse(text, &dir.path().join("m.toml"));
        std::fs::write(dir.path().join("a.json"), b"{\"x\": 1}\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.json"), b"{\"x\": 1}\n").unwrap();
        std::fs::write(dir.path().join("c.json"), b"{\"x\": 2}\n").unwrap();
        let a = load(&with("a.json")).unwrap();
        // Same bytes elsewhere: same id. Different bytes: another id. No template: another id.
        assert_eq!(
            a.ceremony_id(),
            load(&with("sub/b.json")).unwrap().ceremony_id()
        );
        assert_ne!(
            a.ceremony_id(),
            load(&with("c.json")).unwrap().ceremony_id()
        );
        assert_ne!(a.ceremony_id(), load(MIN).unwrap().ceremony_id());
        assert!(a.canonical().contains(&format!(
            "\"template_sha256\":\"{}\"",
            hex::encode(Sha256::digest(b"{\"x\": 1}\n"))
        )));
        assert!(!a.canonical().contains("a.json"));
        assert_eq!(
            a.genesis.template_bytes.as_deref(),
            Some(&b"{\"x\": 1}\n"[..])
        );
        // A missing template is refused at load, naming the file and the key.
        let e = load(&with("missing.json")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("genesis.template") && text.contains("missing.json"),
            "{text}"
        );
        assert!(
            text.contains(&dir.path().join("m.toml").display().to_string()),
            "{text}"
        );
        assert_eq!(crate::Error::from(e).exit_code(), crate::exit::BAD_INPUT);
    }

    #[test]
    fn ceremony_id_is_sha256_of_canonical() {
        let m = p(MIN).unwrap();
        let id = m.ceremony_id();
        assert_eq!(
            id.0,
            <[u8; 32]>::from(Sha256::digest(m.canonical().as_bytes()))
        );
        assert_eq!(id.to_string().len(), 64);
        assert_eq!(id.to_string().parse::<CeremonyId>().unwrap(), id);
    }

    fn err_key(text: &str) -> (String, String) {
        let e = p(text).unwrap_err();
        let key = match &e {
            ManifestError::Missing { key, .. }
            | ManifestError::UnknownKey { key, .. }
            | ManifestError::Type { key, .. }
            | ManifestError::Invalid { key, .. }
            | ManifestError::Unused { key, .. }
            | ManifestError::Duplicate { key, .. } => key.clone(),
            ManifestError::Syntax { line, column, .. } => format!("{line}:{column}"),
            other => format!("{other:?}"),
        };
        (key, e.to_string())
    }

    #[test]
    fn defects_name_the_key() {
        let cases: Vec<(String, &str)> = vec![
            (
                MIN.replace("chain_id = 65110000", "chain_id = 0"),
                "genesis.chain_id",
            ),
            (
                MIN.replace("chain_id = 65110000", "chain_id = -1"),
                "genesis.chain_id",
            ),
            (
                MIN.replace("chain_id = 65110000", "chian_id = 1"),
                "genesis.chian_id",
            ),
            (MIN.replace("chain_id = 65110000", ""), "genesis.chain_id"),
            (
                MIN.replace("profile = \"v1\"", "profile = \"v2\""),
                "ceremony.profile",
            ),
            (MIN.replace("val2.ogr2.net.", "val2"), "orgs[1].host"),
            (
                MIN.replace("val2.ogr2.net.", "val_2.ogr2.net"),
                "orgs[1].host",
            ),
            (
                MIN.replace("val2.ogr2.net.", "validator1.ogr1.com"),
                "orgs[1].host",
            ),
            (MIN.replace("\"org2\"", "\"org1\""), "orgs[1].name"),
            (
                format!("{MIN}[timing]\npoll_interval = \"10 parsecs\"\n"),
                "timing.poll_interval",
            ),
            (
                format!("{MIN}[dns]\nroots = [\"not-an-ip\"]\n"),
                "dns.roots[0]",
            ),
            (
                format!("{MIN}[dns]\nresolvr = \"1.1.1.1\"\n"),
                "dns.resolvr",
            ),
            (
                MIN.replace(
                    "chain_id = 65110000",
                    "chain_id = 1\ndelegation_rate = 10001",
                ),
                "genesis.delegation_rate",
            ),
            (
                MIN.replace("chain_id = 65110000", "chain_id = 1\noperator = \"0x12\""),
                "genesis.operator",
            ),
            (
                MIN.replace(
                    "chain_id = 65110000",
                    "chain_id = 1\nmin_base_fee = \"1e9\"",
                ),
                "genesis.min_base_fee",
            ),
            (
                MIN.replace(
                    "chain_id = 65110000",
                    "chain_id = 1\nblock_period = \"fast\"",
                ),
                "genesis.block_period",
            ),
            (format!("{MIN}[extra]\n"), "extra"),
        ];
        for (text, key) in cases {
            let (k, msg) = err_key(&text);
            assert_eq!(k, key, "{msg}");
            assert!(msg.contains("/etc/cer/m.toml"), "{msg}");
            assert!(msg.contains(key), "{msg}");
        }
    }

    #[test]
    fn genesis_numbers_keep_their_bounds() {
        let with =
            |line: &str| MIN.replace("chain_id = 65110000", &format!("chain_id = 1\n{line}"));
        for (line, key, why) in [
            (
                "delegation_rate = 10001",
                "genesis.delegation_rate",
                "10001 is more than 10000",
            ),
            (
                "epoch_period = 0",
                "genesis.epoch_period",
                "must be non-zero",
            ),
            (
                "bonded_stake = \"0\"",
                "genesis.bonded_stake",
                "must be non-zero",
            ),
            (
                "treasury_fee = \"1000000000000000001\"",
                "genesis.treasury_fee",
                "1000000000000000001 is more than 1000000000000000000",
            ),
        ] {
            let (k, msg) = err_key(&with(line));
            assert_eq!(k, key, "{msg}");
            assert!(msg.contains(why), "{line}: {msg}");
        }
        // The bounds themselves and zero where zero is allowed are accepted.
        let g = p(&with(
            "delegation_rate = 10000\nunbonding_period = 0\ntreasury_fee = \"1000000000000000000\"",
        ))
        .unwrap()
        .genesis;
        assert_eq!(g.delegation_rate, Some(10_000));
        assert_eq!(g.unbonding_period, Some(0));
        assert_eq!(g.treasury_fee, Some(1_000_000_000_000_000_000));
        assert_eq!(g.stake, None);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let text = "[ceremony]\nname = \"x\"\nprofile = v1\n";
        let (lc, msg) = err_key(text);
        assert!(lc.starts_with("3:"), "{msg}");
    }

    #[test]
    fn big_numbers_and_alloc() {
        let with = |balance: &str| {
            MIN.replace(
                "chain_id = 65110000",
                &format!("chain_id = 1\ntreasury_fee = \"10000000000000000\"\nbonded_stake = \"340282366920938463463374607431768211455\"\n[genesis.alloc]\n\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\" = \"{balance}\""),
            )
        };
        let m = p(&with("000340282366920938463463374607431768211455")).unwrap();
        assert_eq!(m.genesis.bonded_stake, Some(u128::MAX));
        assert_eq!(m.genesis.treasury_fee, Some(10_000_000_000_000_000));
        let (a, w) = m.genesis.alloc.iter().next().unwrap();
        assert_eq!(a.to_string(), "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
        assert_eq!(w, "340282366920938463463374607431768211455");
        // The genesis writes balances below 2^128: a larger one is refused here, not later.
        let (k, msg) = err_key(&with("340282366920938463463374607431768211456"));
        assert!(k.starts_with("genesis.alloc."), "{msg}");
        assert!(msg.contains("below 2^128"), "{msg}");
    }

    #[test]
    fn values_the_client_cannot_read_are_refused() {
        let v07 = |line: &str| {
            MIN.replace("profile = \"v1\"", "profile = \"v0.7\"")
                .replace("chain_id = 65110000", &format!("chain_id = 1\n{line}"))
        };
        let v1 = |line: &str| MIN.replace("chain_id = 65110000", &format!("chain_id = 1\n{line}"));
        // v0.7.1 reads stake and minGasPrice as uint64 (it refused 2^64: vectors v0.7/probes);
        // 0.14 reads minBaseFee and the 64-bit periods as uint64.
        for (text, key, why) in [
            (
                v07("stake = \"18446744073709551616\""),
                "genesis.stake",
                "more than 18446744073709551615",
            ),
            (
                v07("min_gas_price = \"18446744073709551616\""),
                "genesis.min_gas_price",
                "more than 18446744073709551615",
            ),
            (
                v1("min_base_fee = \"18446744073709551616\""),
                "genesis.min_base_fee",
                "more than 18446744073709551615",
            ),
            (
                v1("epoch_period = \"18446744073709551616\""),
                "genesis.epoch_period",
                "between 0 and 18446744073709551615",
            ),
            (
                v1("vote_period = \"18446744073709551616\""),
                "genesis.vote_period",
                "between 0 and 18446744073709551615",
            ),
            // Zero where the client needs a value (or would put its own default instead).
            (v07("stake = 0"), "genesis.stake", "must be non-zero"),
            (
                v1("max_committee_size = 0"),
                "genesis.max_committee_size",
                "must be non-zero",
            ),
            (
                v1("vote_period = 0"),
                "genesis.vote_period",
                "must be non-zero",
            ),
            (v1("gas_limit = 0"), "genesis.gas_limit", "must be non-zero"),
        ] {
            let (k, msg) = err_key(&text);
            assert_eq!(k, key, "{msg}");
            assert!(msg.contains(why), "{key}: {msg}");
        }
        // The largest values the client reads are accepted.
        let g = p(&v07(
            "stake = \"18446744073709551615\"\nmin_gas_price = \"18446744073709551615\"",
        ))
        .unwrap()
        .genesis;
        assert_eq!(g.stake, Some(u64::MAX.into()));
        assert_eq!(g.min_gas_price, Some(u64::MAX.into()));
        assert_eq!(
            p(&v1("min_base_fee = \"18446744073709551615\""))
                .unwrap()
                .genesis
                .min_base_fee,
            Some(u64::MAX.into())
        );
    }

    #[test]
    fn options_the_genesis_does_not_use_are_refused() {
        let v07 = |line: &str| {
            MIN.replace("profile = \"v1\"", "profile = \"v0.7\"")
                .replace("chain_id = 65110000", &format!("chain_id = 1\n{line}"))
        };
        let v1 = |line: &str| MIN.replace("chain_id = 65110000", &format!("chain_id = 1\n{line}"));
        for key in [
            "min_base_fee",
            "epoch_period",
            "unbonding_period",
            "max_committee_size",
            "treasury_fee",
            "delegation_rate",
            "bonded_stake",
            "vote_period",
            "base_fee",
            "initial_inflation_reserve",
        ] {
            let (k, msg) = err_key(&v07(&format!("{key} = 1")));
            assert_eq!(k, format!("genesis.{key}"), "{msg}");
            assert!(msg.contains("profile v0.7 has none"), "{msg}");
            p(&v1(&format!("{key} = 1"))).unwrap();
        }
        let (k, msg) = err_key(&v07(
            "treasury = \"0x00000000000000000000000000000000000000a1\"",
        ));
        assert_eq!(k, "genesis.treasury", "{msg}");
        for key in ["stake", "min_gas_price"] {
            let (k, msg) = err_key(&v1(&format!("{key} = 1")));
            assert_eq!(k, format!("genesis.{key}"), "{msg}");
            assert!(msg.contains("profile v1 has none"), "{msg}");
            p(&v07(&format!("{key} = 1"))).unwrap();
        }
        // Options both profiles write.
        for line in [
            "block_period = 2",
            "gas_limit = 1000",
            "timestamp = 5",
            "network_id = 7",
        ] {
            p(&v1(line)).unwrap();
            p(&v07(line)).unwrap();
        }
        // With a template, the template is the genesis: only chain_id and network_id apply.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.json"), b"{}").unwrap();
        let load = |text: String| Manifest::parse(&text, &dir.path().join("m.toml"));
        load(v1("template = \"t.json\"\nnetwork_id = 7")).unwrap();
        for line in [
            "epoch_period = 30",
            "operator = \"0x00000000000000000000000000000000000000a1\"",
            "block_period = 1",
        ] {
            let e = load(v1(&format!("template = \"t.json\"\n{line}"))).unwrap_err();
            let key = format!("genesis.{}", line.split(' ').next().unwrap());
            assert!(
                matches!(&e, ManifestError::Unused { key: k, .. } if *k == key),
                "{e}"
            );
            assert!(e.to_string().contains("set the field there"), "{e}");
        }
        let e = load(format!(
            "{}\n[genesis.alloc]\n\"0x00000000000000000000000000000000000000a1\" = \"1\"\n",
            v1("template = \"t.json\"")
        ))
        .unwrap_err();
        assert!(
            matches!(&e, ManifestError::Unused { key, .. } if key == "genesis.alloc"),
            "{e}"
        );
    }

    #[test]
    fn initial_inflation_reserve_is_an_option_in_the_ceremony_id() {
        let with = |line: &str| {
            MIN.replace(
                "chain_id = 65110000",
                &format!("chain_id = 65110000\n{line}"),
            )
        };
        let base = p(MIN).unwrap();
        assert_eq!(base.genesis.initial_inflation_reserve, None);
        let a = p(&with(
            "initial_inflation_reserve = \"40000000000000000000000000\"",
        ))
        .unwrap();
        assert_eq!(
            a.genesis.initial_inflation_reserve,
            Some(40_000_000 * 1_000_000_000_000_000_000)
        );
        assert!(a
            .canonical()
            .contains("\"initial_inflation_reserve\":\"40000000000000000000000000\""));
        assert_ne!(a.ceremony_id(), base.ceremony_id());
        // Zero is a value the client accepts (no inflation rewards); an integer is the same value.
        let zero = p(&with("initial_inflation_reserve = 0")).unwrap();
        assert_eq!(zero.genesis.initial_inflation_reserve, Some(0));
        assert_eq!(
            zero.ceremony_id(),
            p(&with("initial_inflation_reserve = \"000\""))
                .unwrap()
                .ceremony_id()
        );
        let (k, msg) = err_key(&with("initial_inflation_reserve = \"0x10\""));
        assert_eq!(k, "genesis.initial_inflation_reserve", "{msg}");
        let (k, msg) = err_key(&with("initial_inflation_reserve = -1"));
        assert_eq!(k, "genesis.initial_inflation_reserve", "{msg}");
    }

    #[test]
    fn dns_and_timing() {
        let text = format!(
            "{MIN}[dns]\nanchor = \"root.anchor\"\nroots = [\"127.0.0.1\", \"10.0.0.1:5353\", \"[::1]:53\"]\nresolver = \"::1\"\n[timing]\npoll_interval = \"1m30s\"\ndeadline = \"2h\"\n"
        );
        let m = p(&text).unwrap();
        assert_eq!(
            m.dns.anchor.as_deref(),
            Some(Path::new("/etc/cer/root.anchor"))
        );
        assert_eq!(m.dns.roots[0].to_string(), "127.0.0.1:53");
        assert_eq!(m.dns.roots[1].port(), 5353);
        assert_eq!(m.dns.resolver.unwrap().to_string(), "[::1]:53");
        assert_eq!(m.timing.poll_interval, Duration::from_secs(90));
        assert_eq!(m.timing.deadline, Some(Duration::from_secs(7200)));
        assert!(m.canonical().contains("\"anchor\":\"root.anchor\""));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("30m1h"), None);
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5s5s"), None);
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_duration("1m30s250ms"),
            Some(Duration::from_millis(90_250))
        );
        assert_eq!(parse_duration("500ms1s"), None);
        assert_eq!(parse_duration("1sm"), None);
        assert_eq!(parse_duration("99999999999999999h"), None);
        let (k, msg) = err_key(&format!("{MIN}[timing]\npoll_interval = \"1500ms\"\n"));
        assert_eq!(k, "timing.poll_interval", "{msg}");
        assert!(msg.contains("not a whole number of seconds"), "{msg}");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
            let _ = p(&text);
        }

        #[test]
        fn parse_never_panics_on_damaged_manifests(
            drop in proptest::collection::vec(proptest::prelude::any::<bool>(), 60),
            pos in 0usize..2000,
            junk in "[\\[\\]=\"#a-z0-9._ \n-]{0,12}",
        ) {
            // Delete some lines of the example and splice junk somewhere: must not panic,
            // and whatever parses still has a stable ceremony id.
            let kept: String = EXAMPLE
                .lines()
                .zip(drop.iter().cycle())
                .filter(|(_, d)| !**d)
                .map(|(l, _)| format!("{l}\n"))
                .collect();
            let at = kept.char_indices().map(|(i, _)| i).nth(pos % kept.len().max(1)).unwrap_or(0);
            let text = format!("{}{}{}", &kept[..at], junk, &kept[at..]);
            if let Ok(m) = p(&text) {
                proptest::prop_assert_eq!(m.ceremony_id(), p(&text).unwrap().ceremony_id());
            }
        }
    }

    #[test]
    fn signature_round_trip_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let mpath = dir.path().join("m.toml");
        let kpath = dir.path().join("op.key");
        std::fs::write(&mpath, MIN).unwrap();
        let mut one = [0u8; 32];
        one[31] = 1;
        std::fs::write(&kpath, hex::encode(one)).unwrap();
        let signed = sign_file(&mpath, &kpath).unwrap();
        let op: Address = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
            .parse()
            .unwrap();
        assert_eq!(signed.operator, Some(op));
        let text = std::fs::read_to_string(&mpath).unwrap();
        assert!(text.starts_with(MIN.trim_end()));
        let loaded = Manifest::load(&mpath).unwrap();
        loaded.require_operator(&op).unwrap();
        assert_eq!(loaded.ceremony_id(), p(MIN).unwrap().ceremony_id());
        assert!(matches!(
            loaded.require_operator(&Address([1; 20])),
            Err(ManifestError::WrongOperator { .. })
        ));
        assert!(matches!(
            p(MIN).unwrap().require_operator(&op),
            Err(ManifestError::Unsigned { .. })
        ));
        // Tampering with any value breaks the signature.
        let tampered = text.replace("65110000", "65110001");
        assert!(matches!(
            Manifest::parse(&tampered, &mpath),
            Err(ManifestError::BadSignature { .. })
        ));
        // Re-signing replaces the signature and keeps the body.
        std::fs::write(&kpath, hex::encode([7u8; 32])).unwrap();
        let again = sign_file(&mpath, &kpath).unwrap();
        assert_ne!(again.operator, Some(op));
        let text2 = std::fs::read_to_string(&mpath).unwrap();
        assert_eq!(text2.matches("[signature]").count(), 1);
        assert!(text2.starts_with(MIN.trim_end()));
    }
}
