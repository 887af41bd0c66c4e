//! The record layout (`SPEC.md` section 2): what an organisation publishes for its validator
//! host, and the strict decoder of what a peer published.
//!
//! For host `validator1.ogr1.com` (first label `L` = `validator1`, rest `R` = `ogr1.com`):
//!
//! | owner | type | content |
//! |---|---|---|
//! | `L.R` | A / AAAA | the validator's public address (at most one per family) |
//! | `key_L.R` | TXT | 128 hex digits, the enode id (uncompressed secp256k1 key without `04`) |
//! | `port_L.R` | TXT | the p2p port, decimal 1-65535 |
//! | `autonity_L.R` | TXT | the attestation: `v=1; c=<ceremony id>; ck=0x<96 hex>; oa=0x<40 hex>; tr=0x<40 hex>; cp=<port>; pop=0x<452 hex>; sig=0x<130 hex>` |
//! | `genesis_L.R` | TXT | `g=<64 hex genesis hash>; c=<ceremony id>; sig=0x<130 hex>` |
//!
//! Attestation fields, in this order, separated by `"; "`: `v` format version (`1`); `c`
//! ceremony id (64 hex); `ck` BLS consensus key (v1); `oa` oracle address (v1); `tr` treasury
//! address (v1); `cp` consensus (ACN) port (v1); `pop` ownership proof, 226 bytes (v1);
//! `sig` the node key's signature (last, always). Fields a profile does not use are omitted,
//! never empty; under profile v1 `ck`, `oa`, `tr`, `cp` and `pop` are all required.
//!
//! `pop` is what the Autonity client's `genOwnershipProof` prints for the same keys and
//! treasury ([`identity::Identity::ownership_proof`]): it proves that whoever published the
//! enode key, oracle address and BLS consensus key holds all three secret keys, so no
//! organisation can publish another's BLS key (a rogue-key attack on aggregated signatures)
//! or oracle address as its own.
//!
//! The attestation signature is a recoverable secp256k1 signature (`r ‖ s ‖ v`, `v` in {0,1})
//! by the node key over keccak-256 of the message built by [`attestation_message`]: the line
//! `dnsceremony attestation v1`, then one `name=value` line each for `host`, `ipv4`, `ipv6`,
//! `port`, `enode`, `c`, `ck`, `oa`, `tr`, `cp`, `pop` (absent values written `-`). Every value
//! is hex, decimal, an address or a host name, none contains a newline, so the message is
//! unambiguous. The genesis record is signed likewise over `dnsceremony genesis v1`, `host`,
//! `g`, `c` lines.
//!
//! The reader also accepts the later upstream layout: one TXT at the host itself,
//! `p=30303; k=<128 hex>`, when neither `key_` nor `port_` exists. TXT values longer than 255
//! bytes are split into several character-strings in one record (RFC 1035 section 3.3.14)
//! and joined when read.
//!
//! # Limitations
//! - Decoding checks form and signatures only; whether the data was DNSSEC-validated is the
//!   caller's business (`dns::validate`).

use crate::dns::dotless;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use serde::{Serialize, Serializer};

use crate::dns::RRset;
use crate::hexfmt;
use crate::identity::{self, keccak256, Address, ConsensusKey, EnodeKey, Identity};
use crate::manifest::{CeremonyId, Profile};

/// The owner names of one validator host's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordNames {
    /// The host itself (A, AAAA, upstream TXT).
    pub host: Name,
    /// `key_<label>.<rest>` (TXT, enode id).
    pub key: Name,
    /// `port_<label>.<rest>` (TXT, p2p port).
    pub port: Name,
    /// `autonity_<label>.<rest>` (TXT, attestation).
    pub autonity: Name,
    /// `genesis_<label>.<rest>` (TXT, genesis hash).
    pub genesis: Name,
}

impl RecordNames {
    /// Derive the owner names for `host` (fully qualified, lowercase, at least two labels).
    pub fn for_host(host: &Name) -> RecordNames {
        let mut host = host.to_lowercase();
        host.set_fqdn(true);
        let first = host
            .iter()
            .next()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default();
        let rest = host.base_name();
        let make = |prefix: &str| -> Name {
            hickory_proto::rr::domain::Label::from_ascii(&format!("{prefix}{first}"))
                .and_then(|l| rest.prepend_label(l))
                .expect(
                    "manifest hosts leave room for the prefix (checked by manifest::parse_host)",
                )
        };
        RecordNames {
            key: make("key_"),
            port: make("port_"),
            autonity: make("autonity_"),
            genesis: make("genesis_"),
            host,
        }
    }
}

/// A name as people write it in messages: no trailing dot.
/// Why published records are unusable. Each names the record and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A record that must exist does not (the verify room treats this as `pending`).
    #[error("record missing ({record}: does not exist)")]
    Missing {
        /// e.g. `key_validator1.ogr1.com TXT`.
        record: String,
    },
    /// Several records where exactly one is allowed.
    #[error("invalid record ({record}: {count} records where exactly one is allowed)")]
    Multiple {
        /// e.g. `validator1.ogr1.com A`.
        record: String,
        /// How many were found.
        count: usize,
    },
    /// A record whose content is malformed or does not verify.
    #[error("invalid record ({record}: {field}: {why})")]
    Field {
        /// e.g. `port_validator1.ogr1.com TXT`.
        record: String,
        /// The field, e.g. `port`, `sig`, `ck`.
        field: &'static str,
        /// What is wrong, e.g. `70000 is out of range 1-65535`.
        why: String,
    },
}

impl RecordError {
    /// True when the error only says that a record does not exist yet.
    pub fn is_missing(&self) -> bool {
        matches!(self, RecordError::Missing { .. })
    }
}

fn rec(name: &Name, t: RecordType) -> String {
    format!("{} {t}", dotless(name))
}

fn ser_hex_opt<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&format!("0x{}", hex::encode(b))),
        None => s.serialize_none(),
    }
}

fn ser_sig<S: Serializer>(v: &[u8; 65], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{}", hex::encode(v)))
}

fn ser_name<S: Serializer>(v: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&dotless(v))
}

/// The signed attestation at `autonity_<label>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attestation {
    /// BLS consensus public key (v1).
    pub consensus_key: Option<ConsensusKey>,
    /// Oracle account address (v1).
    pub oracle_address: Option<Address>,
    /// The validator's treasury account (v1).
    pub treasury: Option<Address>,
    /// Consensus (ACN) port (v1).
    pub consensus_port: Option<u16>,
    /// Ownership proof, 226 bytes (node sig ‖ oracle sig ‖ BLS sig, as the client's
    /// `genOwnershipProof` makes it; required by v1).
    #[serde(serialize_with = "ser_hex_opt")]
    pub ownership_proof: Option<Vec<u8>>,
    /// The ceremony this attestation is for.
    pub ceremony_id: CeremonyId,
    /// Node-key signature over [`attestation_message`].
    #[serde(serialize_with = "ser_sig")]
    pub signature: [u8; 65],
}

/// The published facts an attestation signature covers besides its own fields.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The validator host.
    pub host: &'a Name,
    /// Its IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Its IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Its p2p port.
    pub port: u16,
    /// Its enode key.
    pub enode_key: &'a EnodeKey,
}

fn dash<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), ToString::to_string)
}

/// The exact bytes the attestation signature is made over (before keccak-256).
pub fn attestation_message(b: &Binding<'_>, a: &Attestation) -> Vec<u8> {
    let pop = a
        .ownership_proof
        .as_ref()
        .map(|p| format!("0x{}", hex::encode(p)));
    format!(
        "dnsceremony attestation v1\nhost={}\nipv4={}\nipv6={}\nport={}\nenode={}\nc={}\nck={}\noa={}\ntr={}\ncp={}\npop={}\n",
        b.host.to_lowercase().to_ascii(),
        dash(&b.ipv4),
        dash(&b.ipv6),
        b.port,
        b.enode_key,
        a.ceremony_id,
        dash(&a.consensus_key),
        dash(&a.oracle_address),
        dash(&a.treasury),
        dash(&a.consensus_port),
        dash(&pop),
    )
    .into_bytes()
}

impl Attestation {
    /// The TXT text (before splitting into 255-byte strings).
    pub fn to_txt(&self) -> String {
        let mut parts = vec!["v=1".to_string(), format!("c={}", self.ceremony_id)];
        if let Some(ck) = &self.consensus_key {
            parts.push(format!("ck={ck}"));
        }
        if let Some(oa) = &self.oracle_address {
            parts.push(format!("oa={oa}"));
        }
        if let Some(tr) = &self.treasury {
            parts.push(format!("tr={tr}"));
        }
        if let Some(cp) = self.consensus_port {
            parts.push(format!("cp={cp}"));
        }
        if let Some(pop) = &self.ownership_proof {
            parts.push(format!("pop=0x{}", hex::encode(pop)));
        }
        parts.push(format!("sig=0x{}", hex::encode(self.signature)));
        parts.join("; ")
    }

    /// Parse the TXT text strictly (known keys, this order, no repeats, `sig` last).
    /// Signature and ceremony are checked by [`decode`], not here.
    pub fn parse_txt(text: &str, record: &str) -> Result<Attestation, RecordError> {
        let err = |field: &'static str, why: String| RecordError::Field {
            record: record.to_string(),
            field,
            why,
        };
        const ORDER: [&str; 8] = ["v", "c", "ck", "oa", "tr", "cp", "pop", "sig"];
        let mut last: Option<usize> = None;
        let mut fields: [Option<&str>; 8] = [None; 8];
        for part in text.split("; ") {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| err("format", format!("{:?} is not key=value", clip(part))))?;
            let idx = ORDER
                .iter()
                .position(|o| *o == k)
                .ok_or_else(|| err("format", format!("unknown field {:?}", clip(k))))?;
            if last.is_some_and(|l| idx <= l) {
                return Err(err(
                    "format",
                    format!("field {k:?} repeated or out of order (order: v, c, ck, oa, tr, cp, pop, sig)"),
                ));
            }
            last = Some(idx);
            fields[idx] = Some(v);
        }
        match fields[0] {
            Some("1") => {}
            Some(v) => return Err(err("v", format!("unsupported version {:?}", clip(v)))),
            None => return Err(err("v", "missing".into())),
        }
        let c = fields[1].ok_or_else(|| err("c", "missing".into()))?;
        let ceremony_id = c
            .parse::<CeremonyId>()
            .map_err(|e| err("c", format!("ceremony id: {e}")))?;
        let consensus_key = fields[2]
            .map(|s| {
                if !s.starts_with("0x") {
                    return Err(err("ck", "must start with 0x".into()));
                }
                ConsensusKey::from_hex(s).map_err(|e| err("ck", e.to_string()))
            })
            .transpose()?;
        let addr = |field: &'static str, s: &str| -> Result<Address, RecordError> {
            s.parse::<Address>().map_err(|e| err(field, e.to_string()))
        };
        let oracle_address = fields[3].map(|s| addr("oa", s)).transpose()?;
        let treasury = fields[4].map(|s| addr("tr", s)).transpose()?;
        let consensus_port = fields[5]
            .map(|s| parse_port(s).map_err(|why| err("cp", why)))
            .transpose()?;
        let ownership_proof = fields[6]
            .map(|s| {
                hexfmt::parse_fixed::<226>(s, true)
                    .map(|b| b.to_vec())
                    .map_err(|e| err("pop", e.to_string()))
                    .and_then(|b| {
                        if s.starts_with("0x") {
                            Ok(b)
                        } else {
                            Err(err("pop", "must start with 0x".into()))
                        }
                    })
            })
            .transpose()?;
        let sig = fields[7].ok_or_else(|| err("sig", "missing".into()))?;
        if !sig.starts_with("0x") {
            return Err(err("sig", "must start with 0x".into()));
        }
        let signature =
            hexfmt::parse_fixed::<65>(sig, true).map_err(|e| err("sig", e.to_string()))?;
        Ok(Attestation {
            consensus_key,
            oracle_address,
            treasury,
            consensus_port,
            ownership_proof,
            ceremony_id,
            signature,
        })
    }
}

/// At most 40 characters of untrusted text, for error messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{:?} is not a decimal port number", clip(s)));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!("{:?} has a leading zero", clip(s)));
    }
    match s.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(format!("port {} is out of range 1-65535", clip(s))),
    }
}

/// A peer's validated identity as read from DNS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// The validator host.
    #[serde(serialize_with = "ser_name")]
    pub host: Name,
    /// Its IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Its IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Its enode key.
    pub enode_key: EnodeKey,
    /// Its p2p port.
    pub port: u16,
    /// Its verified attestation (always under v1).
    pub attestation: Option<Attestation>,
}

impl Peer {
    /// `enode://<key>@<ipv4 or [ipv6]>:<port>` (IPv4 preferred).
    pub fn enode_url(&self) -> String {
        let ip = match (self.ipv4, self.ipv6) {
            (Some(v4), _) => v4.to_string(),
            (None, Some(v6)) => format!("[{v6}]"),
            (None, None) => "0.0.0.0".to_string(),
        };
        format!("enode://{}@{}:{}", self.enode_key, ip, self.port)
    }
}

/// What one organisation publishes, besides its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishParams {
    /// Public IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Public IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// p2p port.
    pub port: u16,
    /// Consensus (ACN) port (v1; Autonity's default is 20203).
    pub consensus_port: u16,
    /// Treasury account. Under v1 the node's own address when `None` (as `run` does), so
    /// that a v1 attestation always carries `tr` and the ownership proof over it.
    pub treasury: Option<Address>,
    /// TTL of the records.
    pub ttl: u32,
}

/// Split text into TXT character-strings of at most 255 bytes (text here is ASCII).
fn txt(text: &str) -> RData {
    let chunks: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    RData::TXT(TXT::new(chunks))
}

fn rrset(name: Name, rtype: RecordType, ttl: u32, mut rdata: Vec<RData>) -> RRset {
    rdata.sort_by_cached_key(|r| r.to_bytes().unwrap_or_default());
    rdata.dedup();
    RRset {
        name,
        rtype,
        ttl,
        rdata,
    }
}

/// Build the attestation `identity` makes for `host` in `ceremony` with `params`. Under v1 it
/// always carries the treasury (the node address when `params.treasury` is `None`) and the
/// ownership proof over it.
pub fn attest(
    host: &Name,
    identity: &Identity,
    ceremony: &CeremonyId,
    params: &PublishParams,
) -> Attestation {
    let p = identity.public();
    let v1 = identity.profile() == Profile::V1;
    let treasury = match v1 {
        true => Some(params.treasury.unwrap_or(p.node_address)),
        false => params.treasury,
    };
    let mut a = Attestation {
        consensus_key: p.consensus_key,
        oracle_address: p.oracle_address,
        treasury,
        consensus_port: v1.then_some(params.consensus_port),
        ownership_proof: treasury.as_ref().and_then(|t| identity.ownership_proof(t)),
        ceremony_id: *ceremony,
        signature: [0; 65],
    };
    let binding = Binding {
        host,
        ipv4: params.ipv4,
        ipv6: params.ipv6,
        port: params.port,
        enode_key: &p.enode_key,
    };
    a.signature = identity.sign_prehash(&keccak256(&attestation_message(&binding, &a)));
    a
}

/// The RRsets an organisation publishes for `host`: A/AAAA at the host, TXT at `key_`,
/// `port_`, and the signed attestation at `autonity_` (both profiles).
pub fn encode(
    host: &Name,
    identity: &Identity,
    ceremony: &CeremonyId,
    params: &PublishParams,
) -> Vec<RRset> {
    let names = RecordNames::for_host(host);
    let p = identity.public();
    let mut out = Vec::new();
    if let Some(v4) = params.ipv4 {
        out.push(rrset(
            names.host.clone(),
            RecordType::A,
            params.ttl,
            vec![RData::A(A(v4))],
        ));
    }
    if let Some(v6) = params.ipv6 {
        out.push(rrset(
            names.host.clone(),
            RecordType::AAAA,
            params.ttl,
            vec![RData::AAAA(AAAA(v6))],
        ));
    }
    out.push(rrset(
        names.key.clone(),
        RecordType::TXT,
        params.ttl,
        vec![txt(&p.enode_key.to_string())],
    ));
    out.push(rrset(
        names.port.clone(),
        RecordType::TXT,
        params.ttl,
        vec![txt(&params.port.to_string())],
    ));
    let a = attest(&names.host, identity, ceremony, params);
    out.push(rrset(
        names.autonity,
        RecordType::TXT,
        params.ttl,
        vec![txt(&a.to_txt())],
    ));
    out
}

/// The records read for one host. Each TXT record is its list of character-strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchedRecords {
    /// A records at the host.
    pub a: Vec<Ipv4Addr>,
    /// AAAA records at the host.
    pub aaaa: Vec<Ipv6Addr>,
    /// TXT records at `key_`.
    pub key_txt: Vec<Vec<Vec<u8>>>,
    /// TXT records at `port_`.
    pub port_txt: Vec<Vec<Vec<u8>>>,
    /// TXT records at `autonity_`.
    pub autonity_txt: Vec<Vec<Vec<u8>>>,
    /// TXT records at the host itself (upstream `p=PORT; k=KEY` layout; others are ignored).
    pub host_txt: Vec<Vec<Vec<u8>>>,
}

/// Join a TXT record's character-strings; it must be printable ASCII.
fn joined(strings: &[Vec<u8>], record: &str) -> Result<String, RecordError> {
    let bytes: Vec<u8> = strings.concat();
    if let Some(pos) = bytes.iter().position(|b| !(0x20..0x7f).contains(b)) {
        return Err(RecordError::Field {
            record: record.to_string(),
            field: "text",
            why: format!(
                "byte 0x{:02x} at offset {pos} is not printable ASCII",
                bytes[pos]
            ),
        });
    }
    Ok(String::from_utf8(bytes).expect("printable ASCII is UTF-8"))
}

/// Exactly one TXT record (joined), `None` when there is none.
fn one_txt(records: &[Vec<Vec<u8>>], record: &str) -> Result<Option<String>, RecordError> {
    match records {
        [] => Ok(None),
        [one] => joined(one, record).map(Some),
        many => Err(RecordError::Multiple {
            record: record.to_string(),
            count: many.len(),
        }),
    }
}

fn parse_enode(s: &str, record: &str, field: &'static str) -> Result<EnodeKey, RecordError> {
    EnodeKey::from_hex(s).map_err(|e| RecordError::Field {
        record: record.to_string(),
        field,
        why: match e {
            identity::KeyError::Hex(h) => {
                format!("{h} (an enode key is 128 hex digits without 0x)")
            }
            other => other.to_string(),
        },
    })
}

/// Upstream `p=PORT; k=KEY` at the host: parse one record, `None` if it is not of that form.
fn parse_upstream(text: &str, record: &str) -> Option<Result<(u16, EnodeKey), RecordError>> {
    let mut port = None;
    let mut key = None;
    for part in text.split(';').map(str::trim) {
        let (k, v) = part.split_once('=')?;
        match k.trim() {
            "p" if port.is_none() => port = Some(v.trim()),
            "k" if key.is_none() => key = Some(v.trim()),
            _ => return None,
        }
    }
    let (p, k) = (port?, key?);
    Some((|| {
        let port = parse_port(p).map_err(|why| RecordError::Field {
            record: record.to_string(),
            field: "p",
            why,
        })?;
        let key = parse_enode(k, record, "k")?;
        Ok((port, key))
    })())
}

/// Check a peer's records strictly and return its identity (see the module docs).
pub fn decode(
    host: &Name,
    fetched: &FetchedRecords,
    profile: Profile,
    ceremony: &CeremonyId,
) -> Result<Peer, RecordError> {
    let (peer, pending) = decode_deferred(host, fetched, profile, ceremony)?;
    match pending {
        Some(p) => p.check().map(|()| peer),
        None => Ok(peer),
    }
}

/// The ownership proof's BLS pairing check, the one check [`decode_deferred`] leaves for
/// later so that many organisations' can be checked together ([`PendingPop::check_all`]).
#[derive(Debug, Clone)]
pub struct PendingPop {
    pairing: identity::PopPairing,
    record: String,
    treasury: Address,
}

impl PendingPop {
    /// Check it alone; the error is the one [`decode`] gives.
    pub fn check(&self) -> Result<(), RecordError> {
        match self.pairing.verify() {
            true => Ok(()),
            false => Err(pop_error(
                &self.record,
                &self.treasury,
                identity::KeyError::Proof(identity::ProofFlaw::BlsSignature),
            )),
        }
    }

    /// Check all at once (one batch); on failure check each to name the culprits. Returns the
    /// index and error of each that fails.
    pub fn check_all(pending: &[PendingPop]) -> Vec<(usize, RecordError)> {
        let pairings: Vec<identity::PopPairing> = pending.iter().map(|p| p.pairing).collect();
        if identity::PopPairing::verify_batch(&pairings) {
            return Vec::new();
        }
        pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.check().err().map(|e| (i, e)))
            .collect()
    }
}

fn pop_error(record: &str, treasury: &Address, e: identity::KeyError) -> RecordError {
    RecordError::Field {
        record: record.to_string(),
        field: "pop",
        why: format!("does not prove ownership of the keys for treasury {treasury}: {e}"),
    }
}

/// [`decode`] with every check done except the ownership proof's BLS pairing, which is
/// returned (always under v1, where the proof is required; under v0.7 only when a proof was
/// published) and must be checked before the peer is trusted.
pub fn decode_deferred(
    host: &Name,
    fetched: &FetchedRecords,
    profile: Profile,
    ceremony: &CeremonyId,
) -> Result<(Peer, Option<PendingPop>), RecordError> {
    let names = RecordNames::for_host(host);
    let a_rec = rec(&names.host, RecordType::A);
    let aaaa_rec = rec(&names.host, RecordType::AAAA);
    if fetched.a.len() > 1 {
        return Err(RecordError::Multiple {
            record: a_rec,
            count: fetched.a.len(),
        });
    }
    if fetched.aaaa.len() > 1 {
        return Err(RecordError::Multiple {
            record: aaaa_rec,
            count: fetched.aaaa.len(),
        });
    }
    let ipv4 = fetched.a.first().copied();
    let ipv6 = fetched.aaaa.first().copied();

    let key_rec = rec(&names.key, RecordType::TXT);
    let port_rec = rec(&names.port, RecordType::TXT);
    let key_txt = one_txt(&fetched.key_txt, &key_rec)?;
    let port_txt = one_txt(&fetched.port_txt, &port_rec)?;
    let (enode_key, port) = match (key_txt, port_txt) {
        (Some(k), Some(p)) => {
            let enode_key = parse_enode(&k, &key_rec, "key")?;
            let port = parse_port(&p).map_err(|why| RecordError::Field {
                record: port_rec.clone(),
                field: "port",
                why,
            })?;
            (enode_key, port)
        }
        (Some(_), None) => return Err(RecordError::Missing { record: port_rec }),
        (None, Some(_)) => return Err(RecordError::Missing { record: key_rec }),
        (None, None) => {
            let host_rec = rec(&names.host, RecordType::TXT);
            let mut found = Vec::new();
            for r in &fetched.host_txt {
                // Unrelated TXT at the host (SPF, site verification, binary) is skipped.
                let Ok(text) = joined(r, &host_rec) else {
                    continue;
                };
                if let Some(res) = parse_upstream(&text, &host_rec) {
                    found.push(res);
                }
            }
            match found.len() {
                0 => return Err(RecordError::Missing { record: key_rec }),
                1 => {
                    let (port, key) = found.pop().expect("one")?;
                    (key, port)
                }
                n => {
                    return Err(RecordError::Multiple {
                        record: format!("{host_rec} (p=; k=)"),
                        count: n,
                    })
                }
            }
        }
    };
    if ipv4.is_none() && ipv6.is_none() {
        return Err(RecordError::Missing { record: a_rec });
    }

    let att_rec = rec(&names.autonity, RecordType::TXT);
    let mut pending = None;
    let attestation = match one_txt(&fetched.autonity_txt, &att_rec)? {
        None if profile == Profile::V1 => return Err(RecordError::Missing { record: att_rec }),
        None => None,
        Some(text) => {
            let a = Attestation::parse_txt(&text, &att_rec)?;
            pending = check_attestation(
                &a,
                &names.host,
                ipv4,
                ipv6,
                port,
                &enode_key,
                profile,
                ceremony,
                &att_rec,
            )?;
            Some(a)
        }
    };
    let peer = Peer {
        host: names.host,
        ipv4,
        ipv6,
        enode_key,
        port,
        attestation,
    };
    Ok((peer, pending))
}

#[allow(clippy::too_many_arguments)]
fn check_attestation(
    a: &Attestation,
    host: &Name,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
    port: u16,
    enode_key: &EnodeKey,
    profile: Profile,
    ceremony: &CeremonyId,
    record: &str,
) -> Result<Option<PendingPop>, RecordError> {
    let err = |field: &'static str, why: String| RecordError::Field {
        record: record.to_string(),
        field,
        why,
    };
    if a.ceremony_id != *ceremony {
        return Err(err(
            "c",
            format!(
                "made for ceremony {} but this ceremony is {ceremony}",
                a.ceremony_id
            ),
        ));
    }
    if profile == Profile::V1 {
        if a.consensus_key.is_none() {
            return Err(err("ck", "missing (required by profile v1)".into()));
        }
        if a.oracle_address.is_none() {
            return Err(err("oa", "missing (required by profile v1)".into()));
        }
        if a.treasury.is_none() {
            return Err(err("tr", "missing (required by profile v1)".into()));
        }
        if a.consensus_port.is_none() {
            return Err(err("cp", "missing (required by profile v1)".into()));
        }
        if a.ownership_proof.is_none() {
            return Err(err("pop", "missing (required by profile v1)".into()));
        }
    }
    if a.oracle_address.is_some_and(|o| o.is_zero()) {
        return Err(err("oa", "the zero address is not an oracle".into()));
    }
    let binding = Binding {
        host,
        ipv4,
        ipv6,
        port,
        enode_key,
    };
    let h = keccak256(&attestation_message(&binding, a));
    // One verification against the published key; recovery only to word a failure.
    let signed = identity::signed_by(&h, &a.signature, enode_key);
    match signed.and_then(|ok| match ok {
        true => Ok(*enode_key),
        false => identity::recover_signer(&h, &a.signature),
    }) {
        Ok(k) if k == *enode_key => {}
        Ok(k) => {
            return Err(err(
                "sig",
                format!(
                    "signed by key {}…, not by the published enode key {}… (or over other values: address, port, fields)",
                    &k.to_string()[..16],
                    &enode_key.to_string()[..16]
                ),
            ))
        }
        Err(e) => return Err(err("sig", e.to_string())),
    }
    let Some(pop) = &a.ownership_proof else {
        return Ok(None);
    };
    match (a.treasury, a.oracle_address, a.consensus_key) {
        (Some(tr), Some(oa), Some(ck)) => {
            let pairing =
                identity::check_ownership_proof_except_pairing(pop, &tr, enode_key, &oa, &ck)
                    .map_err(|e| pop_error(record, &tr, e))?;
            Ok(Some(PendingPop {
                pairing,
                record: record.to_string(),
                treasury: tr,
            }))
        }
        _ => Err(err("pop", "present without tr, oa and ck".into())),
    }
}

fn genesis_message(host: &Name, hash: &[u8; 32], ceremony: &CeremonyId) -> [u8; 32] {
    keccak256(
        format!(
            "dnsceremony genesis v1\nhost={}\ng={}\nc={ceremony}\n",
            host.to_lowercase().to_ascii(),
            hex::encode(hash)
        )
        .as_bytes(),
    )
}

/// The signed genesis-hash record at `genesis_<label>`: `g=<hash>; c=<ceremony>; sig=0x..`.
pub fn encode_genesis_hash(
    host: &Name,
    identity: &Identity,
    ceremony: &CeremonyId,
    hash: &[u8; 32],
) -> RRset {
    let names = RecordNames::for_host(host);
    let sig = identity.sign_prehash(&genesis_message(&names.host, hash, ceremony));
    let text = format!(
        "g={}; c={ceremony}; sig=0x{}",
        hex::encode(hash),
        hex::encode(sig)
    );
    rrset(names.genesis, RecordType::TXT, 300, vec![txt(&text)])
}

/// Check a peer's genesis-hash record: exactly one TXT, this ceremony, signed by `enode_key`.
pub fn decode_genesis_hash(
    host: &Name,
    txts: &[Vec<Vec<u8>>],
    ceremony: &CeremonyId,
    enode_key: &EnodeKey,
) -> Result<[u8; 32], RecordError> {
    let names = RecordNames::for_host(host);
    let record = rec(&names.genesis, RecordType::TXT);
    let text = one_txt(txts, &record)?.ok_or_else(|| RecordError::Missing {
        record: record.clone(),
    })?;
    let err = |field: &'static str, why: String| RecordError::Field {
        record: record.clone(),
        field,
        why,
    };
    let parts: Vec<&str> = text.split("; ").collect();
    let [g, c, s] = parts.as_slice() else {
        return Err(err(
            "format",
            "expected g=<hash>; c=<ceremony>; sig=0x<signature>".into(),
        ));
    };
    let g = g
        .strip_prefix("g=")
        .ok_or_else(|| err("g", "missing".into()))?;
    let c = c
        .strip_prefix("c=")
        .ok_or_else(|| err("c", "missing".into()))?;
    let s = s
        .strip_prefix("sig=0x")
        .ok_or_else(|| err("sig", "missing or without 0x".into()))?;
    let hash = hexfmt::parse_fixed::<32>(g, false).map_err(|e| err("g", e.to_string()))?;
    let c: CeremonyId = c
        .parse()
        .map_err(|e: hexfmt::HexError| err("c", e.to_string()))?;
    if c != *ceremony {
        return Err(err(
            "c",
            format!("made for ceremony {c} but this ceremony is {ceremony}"),
        ));
    }
    let sig = hexfmt::parse_fixed::<65>(s, false).map_err(|e| err("sig", e.to_string()))?;
    match identity::signed_by(
        &genesis_message(&names.host, &hash, ceremony),
        &sig,
        enode_key,
    ) {
        Ok(true) => Ok(hash),
        Ok(false) => Err(err(
            "sig",
            "not signed by the organisation's enode key".into(),
        )),
        Err(e) => Err(err("sig", e.to_string())),
    }
}

/// Turn encoded RRsets back into [`FetchedRecords`] (what a server would serve). For tests,
/// dry runs and read-back comparison.
pub fn fetched_from(host: &Name, sets: &[RRset]) -> FetchedRecords {
    let names = RecordNames::for_host(host);
    let mut f = FetchedRecords::default();
    for s in sets {
        for r in &s.rdata {
            match r {
                RData::A(a) if s.name == names.host => f.a.push(a.0),
                RData::AAAA(a) if s.name == names.host => f.aaaa.push(a.0),
                RData::TXT(t) => {
                    let strings: Vec<Vec<u8>> = t.txt_data.iter().map(|b| b.to_vec()).collect();
                    if s.name == names.key {
                        f.key_txt.push(strings);
                    } else if s.name == names.port {
                        f.port_txt.push(strings);
                    } else if s.name == names.autonity {
                        f.autonity_txt.push(strings);
                    } else if s.name == names.host {
                        f.host_txt.push(strings);
                    }
                }
                _ => {}
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host() -> Name {
        Name::from_ascii("validator1.ogr1.com.").unwrap()
    }

    fn params() -> PublishParams {
        PublishParams {
            ipv4: Some(Ipv4Addr::new(203, 0, 113, 1)),
            ipv6: None,
            port: 30303,
            consensus_port: 20203,
            treasury: Some(Address([0x11; 20])),
            ttl: 3600,
        }
    }

    const CER: CeremonyId = CeremonyId([7; 32]);

    #[test]
    fn names() {
        let n = RecordNames::for_host(&Name::from_ascii("othername4.ogr4.co.uk").unwrap());
        assert_eq!(n.key.to_ascii(), "key_othername4.ogr4.co.uk.");
        assert_eq!(n.port.to_ascii(), "port_othername4.ogr4.co.uk.");
        assert_eq!(n.autonity.to_ascii(), "autonity_othername4.ogr4.co.uk.");
        assert_eq!(n.genesis.to_ascii(), "genesis_othername4.ogr4.co.uk.");
        assert_eq!(n.host.to_ascii(), "othername4.ogr4.co.uk.");
    }

    #[test]
    fn round_trip_v1_and_v07() {
        for profile in [Profile::V1, Profile::V07] {
            let id = Identity::generate(profile);
            let sets = encode(&host(), &id, &CER, &params());
            assert_eq!(sets.len(), 4);
            let f = fetched_from(&host(), &sets);
            let peer = decode(&host(), &f, profile, &CER).unwrap();
            assert_eq!(peer.enode_key, id.public().enode_key);
            assert_eq!(peer.port, 30303);
            assert_eq!(
                peer.enode_url(),
                format!("enode://{}@203.0.113.1:30303", id.public().enode_key)
            );
            let a = peer.attestation.unwrap();
            assert_eq!(a.consensus_key, id.public().consensus_key);
            assert_eq!(a.ownership_proof.is_some(), profile == Profile::V1);
        }
    }

    #[test]
    fn long_attestation_is_split_into_255_byte_strings() {
        let id = Identity::generate(Profile::V1);
        let sets = encode(&host(), &id, &CER, &params());
        let att = sets
            .iter()
            .find(|s| s.name.to_ascii().starts_with("autonity_"))
            .unwrap();
        let RData::TXT(t) = &att.rdata[0] else {
            panic!("TXT")
        };
        assert!(t.txt_data.len() >= 3);
        assert!(t.txt_data.iter().all(|s| s.len() <= 255));
        assert_eq!(t.txt_data[0].len(), 255);
    }

    #[test]
    fn wrong_ceremony_key_or_values_are_invalid() {
        let id = Identity::generate(Profile::V1);
        let f = fetched_from(&host(), &encode(&host(), &id, &CER, &params()));
        let e = decode(&host(), &f, Profile::V1, &CeremonyId([8; 32])).unwrap_err();
        assert!(matches!(e, RecordError::Field { field: "c", .. }), "{e}");
        assert!(
            e.to_string().contains("autonity_validator1.ogr1.com TXT"),
            "{e}"
        );

        // Another key's records for the attestation: signature from another key.
        let other = Identity::generate(Profile::V1);
        let mut g = f.clone();
        g.key_txt = vec![vec![other.public().enode_key.to_string().into_bytes()]];
        let e = decode(&host(), &g, Profile::V1, &CER).unwrap_err();
        assert!(matches!(e, RecordError::Field { field: "sig", .. }), "{e}");

        // Address changed after signing.
        let mut g = f.clone();
        g.a = vec![Ipv4Addr::new(198, 51, 100, 9)];
        assert!(matches!(
            decode(&host(), &g, Profile::V1, &CER),
            Err(RecordError::Field { field: "sig", .. })
        ));

        // Several A records.
        let mut g = f.clone();
        g.a.push(Ipv4Addr::new(198, 51, 100, 9));
        let e = decode(&host(), &g, Profile::V1, &CER).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid record (validator1.ogr1.com A: 2 records where exactly one is allowed)"
        );

        // Port out of range.
        let mut g = f.clone();
        g.port_txt = vec![vec![b"70000".to_vec()]];
        let e = decode(&host(), &g, Profile::V1, &CER).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid record (port_validator1.ogr1.com TXT: port: port 70000 is out of range 1-65535)"
        );

        // Key not on the curve.
        let mut g = f.clone();
        let mut k = id.public().enode_key.0;
        k[63] ^= 1;
        g.key_txt = vec![vec![hex::encode(k).into_bytes()]];
        let e = decode(&host(), &g, Profile::V1, &CER).unwrap_err();
        assert!(
            e.to_string()
                .contains("key_validator1.ogr1.com TXT: key: not a point"),
            "{e}"
        );

        // Two key records.
        let mut g = f.clone();
        g.key_txt.push(g.key_txt[0].clone());
        assert!(matches!(
            decode(&host(), &g, Profile::V1, &CER),
            Err(RecordError::Multiple { count: 2, .. })
        ));

        // Attestation missing: pending under v1, fine under v0.7.
        let mut g = f.clone();
        g.autonity_txt.clear();
        assert!(decode(&host(), &g, Profile::V1, &CER)
            .unwrap_err()
            .is_missing());
        assert!(decode(&host(), &g, Profile::V07, &CER)
            .unwrap()
            .attestation
            .is_none());
    }

    /// The `autonity_` TXT of `id` with `edit` applied to its attestation, signed again so that
    /// only the edited field can be the cause of a refusal.
    fn resigned(id: &Identity, p: &PublishParams, edit: impl FnOnce(&mut Attestation)) -> String {
        let mut a = attest(&host(), id, &CER, p);
        edit(&mut a);
        let key = id.public().enode_key;
        let binding = Binding {
            host: &host(),
            ipv4: p.ipv4,
            ipv6: p.ipv6,
            port: p.port,
            enode_key: &key,
        };
        a.signature = id.sign_prehash(&keccak256(&attestation_message(&binding, &a)));
        a.to_txt()
    }

    #[test]
    fn v1_requires_the_ownership_proof() {
        let id = Identity::generate(Profile::V1);
        let mut f = fetched_from(&host(), &encode(&host(), &id, &CER, &params()));
        decode(&host(), &f, Profile::V1, &CER).unwrap();
        // Signed over "pop=-": a well-formed attestation that lacks only the proof.
        let text = resigned(&id, &params(), |a| a.ownership_proof = None);
        assert!(!text.contains("pop="));
        f.autonity_txt = vec![vec![text.into_bytes()]];
        let e = decode(&host(), &f, Profile::V1, &CER).unwrap_err();
        assert!(!e.is_missing());
        assert_eq!(
            e.to_string(),
            "invalid record (autonity_validator1.ogr1.com TXT: pop: missing (required by profile v1))"
        );
        assert!(decode_deferred(&host(), &f, Profile::V1, &CER).is_err());
        // A proof over another treasury than the one published: refused by its parts.
        let text = resigned(&id, &params(), |a| {
            a.ownership_proof = id.ownership_proof(&Address([0x12; 20]));
        });
        f.autonity_txt = vec![vec![text.into_bytes()]];
        let e = decode(&host(), &f, Profile::V1, &CER).unwrap_err();
        assert!(
            e.to_string().contains("pop: does not prove ownership")
                && e.to_string().contains("node signature"),
            "{e}"
        );
        // v0.7 has no proof and needs none.
        let old = Identity::generate(Profile::V07);
        let sets = encode(&host(), &old, &CER, &params());
        let g = fetched_from(&host(), &sets);
        let (peer, pending) = decode_deferred(&host(), &g, Profile::V07, &CER).unwrap();
        assert!(pending.is_none());
        assert!(peer.attestation.unwrap().ownership_proof.is_none());
    }

    #[test]
    fn v1_without_a_treasury_attests_the_node_address() {
        let id = Identity::generate(Profile::V1);
        let p = PublishParams {
            treasury: None,
            ..params()
        };
        let f = fetched_from(&host(), &encode(&host(), &id, &CER, &p));
        let (peer, pending) = decode_deferred(&host(), &f, Profile::V1, &CER).unwrap();
        pending.expect("v1 carries a proof").check().unwrap();
        let a = peer.attestation.unwrap();
        assert_eq!(a.treasury, Some(id.public().node_address));
        assert_eq!(
            a.ownership_proof,
            id.ownership_proof(&id.public().node_address)
        );
    }

    #[test]
    fn deferred_pop_checks_name_the_bad_proof() {
        // Five organisations; the fourth publishes a proof whose BLS part another key made
        // (and signs its attestation over it, so only the pairing can catch it).
        let mut pending = Vec::new();
        for i in 0..5 {
            let id = Identity::generate(Profile::V1);
            let mut f = fetched_from(&host(), &encode(&host(), &id, &CER, &params()));
            if i == 3 {
                let mut a = attest(&host(), &id, &CER, &params());
                let stranger = Identity::generate(Profile::V1)
                    .ownership_proof(&params().treasury.unwrap())
                    .unwrap();
                a.ownership_proof.as_mut().unwrap()[130..].copy_from_slice(&stranger[130..]);
                let key = id.public().enode_key;
                let binding = Binding {
                    host: &host(),
                    ipv4: params().ipv4,
                    ipv6: None,
                    port: params().port,
                    enode_key: &key,
                };
                a.signature = id.sign_prehash(&keccak256(&attestation_message(&binding, &a)));
                f.autonity_txt = vec![vec![a.to_txt().into_bytes()]];
                let e = decode(&host(), &f, Profile::V1, &CER).unwrap_err();
                assert!(matches!(e, RecordError::Field { field: "pop", .. }), "{e}");
            }
            let (_, p) = decode_deferred(&host(), &f, Profile::V1, &CER).unwrap();
            pending.push(p.expect("v1 records carry a proof"));
        }
        let failed = PendingPop::check_all(&pending);
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, 3);
        assert_eq!(failed[0].1, pending[3].check().unwrap_err());
        assert!(failed[0].1.to_string().starts_with(
            "invalid record (autonity_validator1.ogr1.com TXT: pop: does not prove ownership"
        ));
        pending.remove(3);
        assert!(PendingPop::check_all(&pending).is_empty());
    }

    #[test]
    fn upstream_layout_is_accepted() {
        let id = Identity::generate(Profile::V07);
        let key = id.public().enode_key;
        let f = FetchedRecords {
            a: vec![Ipv4Addr::new(203, 0, 113, 1)],
            host_txt: vec![
                vec![b"v=spf1 -all".to_vec()],
                vec![format!("p=30303; k={key}").into_bytes()],
            ],
            ..FetchedRecords::default()
        };
        let peer = decode(&host(), &f, Profile::V07, &CER).unwrap();
        assert_eq!(peer.enode_key, key);
        assert_eq!(peer.port, 30303);
        // Under v1 the attestation is still required.
        assert!(decode(&host(), &f, Profile::V1, &CER)
            .unwrap_err()
            .is_missing());
        let empty = FetchedRecords::default();
        assert!(decode(&host(), &empty, Profile::V07, &CER)
            .unwrap_err()
            .is_missing());
    }

    #[test]
    fn genesis_hash_round_trip() {
        let id = Identity::generate(Profile::V1);
        let set = encode_genesis_hash(&host(), &id, &CER, &[0xab; 32]);
        assert_eq!(set.name.to_ascii(), "genesis_validator1.ogr1.com.");
        let RData::TXT(t) = &set.rdata[0] else {
            panic!("TXT")
        };
        let txts = vec![t.txt_data.iter().map(|b| b.to_vec()).collect::<Vec<_>>()];
        let key = id.public().enode_key;
        assert_eq!(
            decode_genesis_hash(&host(), &txts, &CER, &key).unwrap(),
            [0xab; 32]
        );
        assert!(decode_genesis_hash(&host(), &txts, &CeremonyId([1; 32]), &key).is_err());
        let other = Identity::generate(Profile::V1).public().enode_key;
        assert!(matches!(
            decode_genesis_hash(&host(), &txts, &CER, &other),
            Err(RecordError::Field { field: "sig", .. })
        ));
        assert!(decode_genesis_hash(&host(), &[], &CER, &key)
            .unwrap_err()
            .is_missing());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn encode_decode_round_trip(
            v4 in proptest::option::of(any::<u32>()),
            v6 in proptest::option::of(any::<u128>()),
            port in 1u16..,
            cport in 1u16..,
            tr in proptest::option::of(any::<[u8; 20]>()),
            v1 in any::<bool>(),
            cer in any::<[u8; 32]>(),
        ) {
            prop_assume!(v4.is_some() || v6.is_some());
            let profile = if v1 { Profile::V1 } else { Profile::V07 };
            let id = Identity::generate(profile);
            let params = PublishParams {
                ipv4: v4.map(Ipv4Addr::from),
                ipv6: v6.map(Ipv6Addr::from),
                port,
                consensus_port: cport,
                treasury: tr.map(Address),
                ttl: 60,
            };
            let cer = CeremonyId(cer);
            let f = fetched_from(&host(), &encode(&host(), &id, &cer, &params));
            let peer = decode(&host(), &f, profile, &cer).unwrap();
            prop_assert_eq!(peer.enode_key, id.public().enode_key);
            prop_assert_eq!(peer.port, port);
            prop_assert_eq!(peer.ipv4, params.ipv4);
            prop_assert_eq!(peer.ipv6, params.ipv6);
            let a = peer.attestation.unwrap();
            let treasury = match v1 {
                true => Some(tr.map_or(id.public().node_address, Address)),
                false => params.treasury,
            };
            prop_assert_eq!(a.treasury, treasury);
            prop_assert_eq!(a.consensus_port, v1.then_some(cport));
            prop_assert_eq!(a.ownership_proof.is_some(), v1);
        }

        #[test]
        fn decode_never_panics(
            a in proptest::collection::vec(any::<u32>(), 0..3),
            key in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..3), 0..3),
            port in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..3), 0..3),
            att in proptest::collection::vec(proptest::collection::vec("[ -~]{0,300}", 0..3), 0..3),
            host_txt in proptest::collection::vec(proptest::collection::vec("[pk=; 0-9a-f]{0,200}", 0..3), 0..3),
            v1 in any::<bool>(),
        ) {
            let f = FetchedRecords {
                a: a.into_iter().map(Ipv4Addr::from).collect(),
                aaaa: vec![],
                key_txt: key,
                port_txt: port,
                autonity_txt: att.into_iter().map(|r| r.into_iter().map(String::into_bytes).collect()).collect(),
                host_txt: host_txt.into_iter().map(|r| r.into_iter().map(String::into_bytes).collect()).collect(),
            };
            let profile = if v1 { Profile::V1 } else { Profile::V07 };
            let _ = decode(&host(), &f, profile, &CER);
            let _ = Attestation::parse_txt(&String::from_utf8_lossy(&f.key_txt.concat().concat()), "x");
        }
    }
}
