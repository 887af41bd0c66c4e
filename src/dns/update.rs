//! Publishing: zone discovery by SOA, a plan per RRset, one atomic TSIG-signed RFC 2136
//! UPDATE, and a read-back from every authoritative server of the zone.
//!
//! RFCs: 2136 (dynamic update: prerequisites 2.4, updates 2.5), 8945 (TSIG), 1034/2308
//! (SOA in the authority section of negative answers marks the zone).
//!
//! Flow: [`prepare`] discovers the zone, reads what the primary serves now for every owned
//! RRset, plans `add` / `replace` / `keep` ([`prepare_owned`] also `delete` for owned RRsets
//! no longer wanted), and finds the zone's authoritative servers; [`check_zone_secure`]
//! validates the zone as peers will;
//! [`apply`] sends one UPDATE (nothing if nothing changes); [`read_back`] polls every
//! authoritative server until all serve the new values.
//!
//! Transport: all queries go over TCP with hickory-net's [`Client`] (answers are complete, a
//! server that is down fails at connect time instead of after UDP retries). The UPDATE
//! itself is signed with hickory's [`TSigner`](hickory_proto::rr::TSigner) and exchanged over a plain TCP stream,
//! because hickory's client turns a TSIG rejection (NOTAUTH with an unsigned TSIG record,
//! hickory issue #1981) into an opaque error; reading the response ourselves lets us report
//! BADSIG, BADKEY and BADTIME apart, and still verify the MAC of every signed answer.
//!
//! # Limitations
//! - Only class IN. Owned RRsets must all lie in one zone (one UPDATE is one zone).
//! - The "replace" prerequisite compares record data (RFC 2136 2.4.2), not TTLs: a concurrent
//!   change of the TTL alone is not detected.
//! - Read-back checks record data, not RRSIGs; DNSSEC validation is the job of `verify`.
//! - NS targets are polled on port 53, except an address equal to `--server`'s, which keeps
//!   that port (so a primary on a non-standard port is read back where it listens).
//! - Nothing is sent when nothing changes, so an unchanged re-publish does not exercise the
//!   TSIG key; [`probe_key`] (a TSIG-signed SOA query, what `publish --dry-run` sends) proves
//!   it without changing anything, except at a server that checks TSIG on updates only and
//!   answers a signed query unsigned ([`KeyProbe::Unchecked`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::tsig::TsigError as WireTsigError;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use serde::Serialize;

use super::tsig::TsigKey;
use super::RRset;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// A server did not answer, or the connection failed.
    #[error("no answer from {server} ({op}: {why})")]
    Network {
        /// The server's address.
        server: SocketAddr,
        /// What we asked, e.g. `SOA validator1.ogr1.com.`.
        op: String,
        /// What went wrong.
        why: String,
    },
    /// The server is not authoritative for any zone holding the name.
    #[error("no zone for {name} at {server} ({name}: {why})")]
    UnknownZone {
        /// The server asked.
        server: SocketAddr,
        /// The name whose zone was looked for.
        name: Name,
        /// What the server answered.
        why: String,
    },
    /// The owned names do not all lie in one zone.
    #[error("records are in different zones ({first} is in {first_zone}, {other} is in {other_zone}: one publish updates one zone)")]
    SplitZones {
        /// A name.
        first: Name,
        /// Its zone.
        first_zone: Name,
        /// Another name.
        other: Name,
        /// Its zone.
        other_zone: Name,
    },
    /// A query was answered with an error code.
    #[error("query refused by {server} ({qname} {qtype}: {rcode})")]
    QueryRefused {
        /// The server.
        server: SocketAddr,
        /// The name asked.
        qname: Name,
        /// The type asked.
        qtype: RecordType,
        /// The response code.
        rcode: String,
    },
    /// The zone has no NS RRset at the primary.
    #[error("no NS records for zone {zone} at {server}")]
    NoNameServers {
        /// The zone.
        zone: Name,
        /// The server asked.
        server: SocketAddr,
    },
    /// An NS name of the zone has no address we could find.
    #[error("no address for name server {ns} of zone {zone} ({ns}: neither the primary nor the system resolver knows an A/AAAA record)")]
    NoAddress {
        /// The zone.
        zone: Name,
        /// The NS target.
        ns: Name,
    },
    /// The server did not accept our TSIG signature: a TSIG error (BADSIG, BADKEY, BADTIME),
    /// or an unsigned REFUSED / NOTAUTH (some servers, PowerDNS among them, answer every
    /// TSIG failure that way, without saying which).
    #[error("update of zone {zone} rejected by {server} ({}; key '{key}', {algorithm}: {})", describe_rejection(rcode, tsig_error.as_deref()), rejection_advice(tsig_error.as_deref(), key, algorithm))]
    TsigRejected {
        /// The key's name.
        key: String,
        /// The key's algorithm as BIND writes it (`hmac-sha256`).
        algorithm: &'static str,
        /// The zone.
        zone: Name,
        /// The server.
        server: SocketAddr,
        /// The response code (`NOTAUTH`, `REFUSED`, ...).
        rcode: String,
        /// `BADSIG`, `BADKEY`, `BADTIME`, ... from the answer's TSIG record; `None` when the
        /// answer is unsigned and names no TSIG error.
        tsig_error: Option<String>,
        /// The time we signed at (seconds since the epoch).
        signed_at: u64,
        /// The server's time from a BADTIME answer's TSIG (Other Data, else time signed).
        server_time: Option<u64>,
    },
    /// The server's answer to our signed update does not carry a valid signature.
    #[error("answer from {server} to the update fails TSIG verification (key '{key}': {why})")]
    TsigResponse {
        /// The key's name.
        key: String,
        /// The server.
        server: SocketAddr,
        /// Why it does not verify.
        why: String,
    },
    /// A prerequisite failed: someone changed the records since we read them.
    #[error("update of zone {zone} conflicts with a concurrent change at {server} ({rcode}: the records changed since they were read; run publish again to see the new plan)")]
    Conflict {
        /// The zone.
        zone: Name,
        /// The primary.
        server: SocketAddr,
        /// YXRRSET, NXRRSET, YXDOMAIN or NXDOMAIN.
        rcode: String,
    },
    /// The server accepted our signature but refused the update (not authoritative, not
    /// allowed by its update policy, failure).
    #[error("update of zone {zone} refused by {server} ({rcode}, signed answer: key '{key}' was accepted; {})", refusal_advice(rcode, key))]
    Refused {
        /// The zone.
        zone: Name,
        /// The primary.
        server: SocketAddr,
        /// NOTAUTH, NOTZONE, REFUSED, SERVFAIL, ...
        rcode: String,
        /// The key's name.
        key: String,
    },
    /// Not every authoritative server serves the new values before the deadline.
    #[error("read-back of zone {zone} timed out after {}s ({})", timeout.as_secs(), describe_lags(lagging))]
    Lagging {
        /// The zone.
        zone: Name,
        /// The deadline that passed.
        timeout: Duration,
        /// What each late server still serves.
        lagging: Vec<Lag>,
    },
    /// The zone does not validate from the trust anchor: every peer would refuse its records.
    #[error("zone {zone} is {state} ({why}): peers will not accept records from it; sign the zone and publish its DS in the parent, or pass --allow-insecure-zone to publish anyway")]
    ZoneNotSecure {
        /// The zone.
        zone: Name,
        /// `insecure`, `bogus` or `unreachable`.
        state: &'static str,
        /// What the validator found.
        why: String,
    },
    /// The UPDATE message could not be built or encoded.
    #[error("cannot encode the update for zone {zone}: {why}")]
    Encode {
        /// The zone.
        zone: Name,
        /// What the encoder said.
        why: String,
    },
}

/// One authoritative server that did not serve the new values in time.
#[derive(Debug, Clone, Serialize)]
pub struct Lag {
    /// The server as `name (address)`.
    pub server: String,
    /// Per differing RRset: `name TYPE`, and what the server serves (or why it did not
    /// answer); a single entry with an empty name when the server could not be reached.
    pub differs: Vec<(String, String)>,
}

fn describe_lags(lags: &[Lag]) -> String {
    lags.iter()
        .map(|l| {
            let d: Vec<String> = l
                .differs
                .iter()
                .map(|(rr, serves)| format!("{rr} = {serves}"))
                .collect();
            match l.differs.as_slice() {
                [(rr, why)] if rr.is_empty() => format!("{} does not answer: {why}", l.server),
                _ => format!("{} still serves {}", l.server, d.join(", ")),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn describe_rejection(rcode: &str, tsig_error: Option<&str>) -> String {
    match tsig_error {
        Some(e) => format!("{rcode}, TSIG error {e}"),
        None => format!("{rcode}, unsigned answer without a TSIG error"),
    }
}

fn rejection_advice(tsig_error: Option<&str>, key: &str, algorithm: &str) -> String {
    let fudge = super::tsig::FUDGE;
    match tsig_error {
        Some("BADKEY") => format!(
            "the server knows no key of this name with {algorithm}; check the key name and algorithm against the server's"
        ),
        Some("BADSIG") => format!(
            "the server's copy of key '{key}' gives another signature; check the secret and the algorithm against the server's"
        ),
        Some("BADTIME") => format!(
            "this machine's clock and the server's differ by more than {fudge} s; check both clocks"
        ),
        _ => format!(
            "the server gives no reason; check the key name, secret and algorithm against the server's, \
             that this machine's clock and the server's agree within {fudge} s, \
             and that the server's update policy lets key '{key}' update this zone"
        ),
    }
}

fn refusal_advice(rcode: &str, key: &str) -> String {
    match rcode {
        "REFUSED" => format!(
            "check that the server's update policy lets key '{key}' change these names and types"
        ),
        "NOTAUTH" | "NOTZONE" => {
            "check that --server is the zone's primary (the server that accepts updates)".into()
        }
        _ => "the server failed to apply it; see the server's log".into(),
    }
}

/// Timeouts of one publish.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Bound for one query or the update exchange (connect + answer).
    pub query: Duration,
    /// Bound for the whole read-back.
    pub read_back: Duration,
    /// Pause between read-back rounds.
    pub poll: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            query: Duration::from_secs(5),
            read_back: Duration::from_secs(60),
            poll: Duration::from_millis(500),
        }
    }
}

/// What publishing does to one RRset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not served yet: added, guarded by "RRset does not exist".
    Add,
    /// Served with other values or TTL: deleted and added in the same message, guarded by
    /// "RRset exists (value dependent)" with the values read.
    Replace,
    /// Served exactly as wanted: not touched.
    Keep,
    /// Owned by the tool but no longer wanted (a dropped AAAA, an older layout): deleted,
    /// guarded by "RRset exists (value dependent)" with the values read. For an RRset the
    /// tool owns only some records of, just those records are deleted.
    Delete,
}

/// An RRset the tool owns: publishing deletes it when it is served but not wanted.
#[derive(Debug, Clone)]
pub struct Owned {
    /// Owner name.
    pub name: Name,
    /// Record type.
    pub rtype: RecordType,
    /// `None`: every record of the RRset is ours. `Some(f)`: only records for which `f` is
    /// true are ours (e.g. the upstream `p=...; k=...` TXT at the host, beside others' TXT).
    pub only: Option<fn(&RData) -> bool>,
}

/// The plan for one owned RRset.
#[derive(Debug, Clone)]
pub struct PlanEntry {
    /// What will be done.
    pub action: Action,
    /// What the primary serves now (`None`: nothing).
    pub current: Option<RRset>,
    /// What it should serve.
    pub wanted: RRset,
}

/// One authoritative server of the zone (from its NS RRset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthServer {
    /// The NS target name.
    pub name: Name,
    /// One of its addresses (port 53, or the primary's port for the primary's own address).
    pub addr: SocketAddr,
}

impl std::fmt::Display for AuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.addr)
    }
}

/// Everything publishing will do: the zone, the primary, one entry per owned RRset, and the
/// servers the read-back polls.
#[derive(Debug, Clone)]
pub struct UpdatePlan {
    /// The zone (SOA owner) holding all owned names.
    pub zone: Name,
    /// The server updates go to (`--server`).
    pub primary: SocketAddr,
    /// The zone's SOA serial at the primary when the plan was made.
    pub serial: u32,
    /// One entry per owned RRset, in the order given.
    pub entries: Vec<PlanEntry>,
    /// The authoritative servers (NS RRset) with an address each.
    pub servers: Vec<AuthServer>,
}

impl UpdatePlan {
    /// Whether anything is to be sent.
    pub fn has_changes(&self) -> bool {
        self.entries.iter().any(|e| e.action != Action::Keep)
    }

    /// The plan as text, one block per RRset (zone-file notation for values).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "zone {} at {} (serial {})",
            self.zone, self.primary, self.serial
        );
        for e in &self.entries {
            let w = &e.wanted;
            let verb = match e.action {
                Action::Add => "add",
                Action::Replace => "replace",
                Action::Keep => "keep",
                Action::Delete => "delete",
            };
            let _ = writeln!(out, "  {verb:<8} {} {} {}", w.name, w.ttl, w.rtype);
            if let (Action::Delete, Some(cur)) = (e.action, &e.current) {
                for v in cur.rdata.iter().filter(|v| !w.rdata.contains(v)) {
                    let _ = writeln!(out, "    - {} {}", cur.ttl, show_rdata(v));
                }
            } else if let (Action::Replace, Some(cur)) = (e.action, &e.current) {
                for v in &cur.rdata {
                    let _ = writeln!(out, "    - {} {}", cur.ttl, show_rdata(v));
                }
                for v in &w.rdata {
                    let _ = writeln!(out, "    + {} {}", w.ttl, show_rdata(v));
                }
            } else {
                let mark = if e.action == Action::Add { "+" } else { "=" };
                for v in &w.rdata {
                    let _ = writeln!(out, "    {mark} {}", show_rdata(v));
                }
            }
        }
        let names: Vec<String> = self.servers.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(out, "  read-back from: {}", names.join(", "));
        out
    }

    /// The plan as serialisable values.
    pub fn view(&self) -> PlanView {
        PlanView {
            zone: self.zone.to_string(),
            primary: self.primary.to_string(),
            serial: self.serial,
            changes: self
                .entries
                .iter()
                .map(|e| EntryView {
                    name: e.wanted.name.to_string(),
                    rtype: e.wanted.rtype.to_string(),
                    action: e.action,
                    ttl: e.wanted.ttl,
                    old: e.current.as_ref().map(|c| ValuesView {
                        ttl: c.ttl,
                        values: c.rdata.iter().map(show_rdata).collect(),
                    }),
                    new: ValuesView {
                        ttl: e.wanted.ttl,
                        values: e.wanted.rdata.iter().map(show_rdata).collect(),
                    },
                })
                .collect(),
            servers: self
                .servers
                .iter()
                .map(|s| ServerView {
                    name: s.name.to_string(),
                    address: s.addr.to_string(),
                })
                .collect(),
        }
    }
}

/// [`UpdatePlan`] as JSON-ready values.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    /// Zone name, fully qualified.
    pub zone: String,
    /// The primary's address.
    pub primary: String,
    /// SOA serial when planned.
    pub serial: u32,
    /// One per owned RRset.
    pub changes: Vec<EntryView>,
    /// Servers polled by the read-back.
    pub servers: Vec<ServerView>,
}

/// One planned RRset as JSON-ready values.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Owner name.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// `add`, `replace`, `keep` or `delete`.
    pub action: Action,
    /// Wanted TTL.
    pub ttl: u32,
    /// What is served now (absent for `add`).
    pub old: Option<ValuesView>,
    /// What will be served (for `delete`: what stays, usually nothing).
    pub new: ValuesView,
}

/// A TTL and values in zone-file notation.
#[derive(Debug, Clone, Serialize)]
pub struct ValuesView {
    /// TTL in seconds.
    pub ttl: u32,
    /// Values in zone-file notation (TXT as quoted strings).
    pub values: Vec<String>,
}

/// An authoritative server as JSON-ready values.
#[derive(Debug, Clone, Serialize)]
pub struct ServerView {
    /// NS name.
    pub name: String,
    /// Address polled.
    pub address: String,
}

/// Record data in zone-file notation: TXT as quoted character-strings, others as hickory
/// prints them.
pub fn show_rdata(rdata: &RData) -> String {
    match rdata {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| {
                let mut q = String::from("\"");
                for &b in s.iter() {
                    match b {
                        b'"' | b'\\' => {
                            q.push('\\');
                            q.push(b as char);
                        }
                        0x20..=0x7e => q.push(b as char),
                        _ => {
                            let _ = write!(q, "\\{b:03}");
                        }
                    }
                }
                q.push('"');
                q
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// Sort record data by wire form, the canonical order [`RRset::rdata`] is kept in.
pub fn canonical_order(rdata: &mut [RData]) {
    rdata.sort_by_cached_key(|r| r.to_bytes().unwrap_or_default());
}

fn same_values(a: &[RData], b: &[RData]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    canonical_order(&mut a);
    canonical_order(&mut b);
    a.dedup();
    b.dedup();
    a == b
}

/// A query connection (TCP) to one server.
struct Conn {
    client: Client<TokioRuntimeProvider>,
    addr: SocketAddr,
    timeout: Duration,
}

impl Conn {
    async fn open(addr: SocketAddr, timeout: Duration, what: &str) -> Result<Conn, UpdateError> {
        let net = |why: String| UpdateError::Network {
            server: addr,
            op: what.to_string(),
            why,
        };
        let provider = TokioRuntimeProvider::new();
        let (fut, handle) = TcpClientStream::new(addr, None, Some(timeout), provider);
        let stream = tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| net(format!("no answer within {}s", timeout.as_secs())))?
            .map_err(|e| net(e.to_string()))?;
        let (client, bg) = Client::<TokioRuntimeProvider>::with_timeout(stream, handle, timeout);
        tokio::spawn(bg);
        Ok(Conn {
            client,
            addr,
            timeout,
        })
    }

    /// Ask one question; a DNS error code is returned in the message, not as an error.
    async fn ask(&mut self, name: &Name, rtype: RecordType) -> Result<Message, UpdateError> {
        let fut = self.client.query(name.clone(), DNSClass::IN, rtype);
        let op = format!("{rtype} {name}");
        match tokio::time::timeout(self.timeout + Duration::from_millis(200), fut).await {
            Ok(Ok(resp)) => Ok(resp.into_message()),
            Ok(Err(e)) => Err(UpdateError::Network {
                server: self.addr,
                op,
                why: e.to_string(),
            }),
            Err(_) => Err(UpdateError::Network {
                server: self.addr,
                op,
                why: format!("no answer within {}s", self.timeout.as_secs()),
            }),
        }
    }
}

fn rcode_name(rc: ResponseCode) -> String {
    match rc {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        other => format!("rcode {}", u16::from(other)),
    }
}

/// Find the zone holding `name` at `server`: the owner of the SOA in the answer (name is
/// the apex) or in the authority section of a negative answer. Never guessed from labels.
async fn zone_of(conn: &mut Conn, name: &Name) -> Result<(Name, u32), UpdateError> {
    let msg = conn.ask(name, RecordType::SOA).await?;
    let unknown = |why: String| UpdateError::UnknownZone {
        server: conn.addr,
        name: name.clone(),
        why,
    };
    let rc = msg.metadata.response_code;
    if rc != ResponseCode::NoError && rc != ResponseCode::NXDomain {
        return Err(unknown(format!(
            "the server answers {} (it is not authoritative for a zone holding this name)",
            rcode_name(rc)
        )));
    }
    if !msg.metadata.authoritative {
        return Err(unknown(
            "the answer is not authoritative (the name is delegated elsewhere or not served here)"
                .into(),
        ));
    }
    let soa = msg
        .answers
        .iter()
        .chain(msg.authorities.iter())
        .find_map(|r| match &r.data {
            RData::SOA(soa) if r.name.zone_of(name) => Some((r.name.clone(), soa.serial)),
            _ => None,
        });
    soa.ok_or_else(|| unknown("no SOA record in the authoritative answer".into()))
}

/// What `conn` serves for `name`/`rtype` (`None`: nothing).
async fn served(
    conn: &mut Conn,
    name: &Name,
    rtype: RecordType,
) -> Result<Option<RRset>, UpdateError> {
    let msg = conn.ask(name, rtype).await?;
    let rc = msg.metadata.response_code;
    if rc != ResponseCode::NoError && rc != ResponseCode::NXDomain {
        return Err(UpdateError::QueryRefused {
            server: conn.addr,
            qname: name.clone(),
            qtype: rtype,
            rcode: rcode_name(rc),
        });
    }
    let recs: Vec<&Record> = msg
        .answers
        .iter()
        .filter(|r| r.record_type() == rtype && &r.name == name)
        .collect();
    if recs.is_empty() {
        return Ok(None);
    }
    let mut rdata: Vec<RData> = recs.iter().map(|r| r.data.clone()).collect();
    canonical_order(&mut rdata);
    rdata.dedup();
    Ok(Some(RRset {
        name: name.clone(),
        rtype,
        ttl: recs.iter().map(|r| r.ttl).min().unwrap_or(0),
        rdata,
    }))
}

/// The RRsets the tool owns for `host` in its record layout ([`crate::records::RecordNames`]),
/// for [`prepare_owned`]: A and AAAA at the host, TXT at `key_`, `port_` and `autonity_`, and
/// among the host's TXT records the older one-record layout `p=...; k=...`. The genesis record
/// belongs to the genesis step and is not among them.
pub fn layout_owned(host: &Name) -> Vec<Owned> {
    let n = crate::records::RecordNames::for_host(host);
    let all = |name: &Name, rtype| Owned {
        name: name.clone(),
        rtype,
        only: None,
    };
    vec![
        all(&n.host, RecordType::A),
        all(&n.host, RecordType::AAAA),
        all(&n.key, RecordType::TXT),
        all(&n.port, RecordType::TXT),
        all(&n.autonity, RecordType::TXT),
        Owned {
            name: n.host.clone(),
            rtype: RecordType::TXT,
            only: Some(upstream_txt),
        },
    ]
}

/// Whether a TXT record at the host is the older one-record layout `p=PORT; k=KEY` (other TXT
/// records at the host belong to others).
fn upstream_txt(r: &RData) -> bool {
    let RData::TXT(t) = r else { return false };
    let text: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
    let Ok(text) = std::str::from_utf8(&text) else {
        return false;
    };
    let mut keys: Vec<&str> = text
        .split(';')
        .map(|part| part.split_once('=').map_or("", |(k, _)| k.trim()))
        .collect();
    keys.sort_unstable();
    keys == ["k", "p"]
}

/// Discover the zone, read what the primary serves, plan, and find the servers to read back
/// from. Sends no update. Touches only the wanted RRsets; see [`prepare_owned`].
pub async fn prepare(
    primary: SocketAddr,
    wanted: &[RRset],
    timeouts: Timeouts,
) -> Result<UpdatePlan, UpdateError> {
    prepare_owned(primary, wanted, &[], timeouts).await
}

/// [`prepare`], and also plan the deletion of every `owned` RRset (or owned records of it)
/// that the primary serves but `wanted` does not hold, in the same update.
pub async fn prepare_owned(
    primary: SocketAddr,
    wanted: &[RRset],
    owned: &[Owned],
    timeouts: Timeouts,
) -> Result<UpdatePlan, UpdateError> {
    let mut conn = Conn::open(primary, timeouts.query, "connect").await?;
    // Zone of every distinct owner name; all must agree.
    let mut zone: Option<(Name, Name, u32)> = None;
    let mut seen: Vec<Name> = Vec::new();
    let names = wanted.iter().map(|rr| &rr.name);
    for name in names.chain(owned.iter().map(|o| &o.name)) {
        if seen.contains(name) {
            continue;
        }
        seen.push(name.clone());
        let (z, serial) = zone_of(&mut conn, name).await?;
        match &zone {
            None => zone = Some((name.clone(), z, serial)),
            Some((first, fz, _)) if fz != &z => {
                return Err(UpdateError::SplitZones {
                    first: first.clone(),
                    first_zone: fz.clone(),
                    other: name.clone(),
                    other_zone: z,
                })
            }
            Some(_) => {}
        }
    }
    let Some((_, zone, serial)) = zone else {
        return Err(UpdateError::Encode {
            zone: Name::root(),
            why: "no records to publish".into(),
        });
    };
    let mut entries = Vec::with_capacity(wanted.len());
    for rr in wanted {
        let current = served(&mut conn, &rr.name, rr.rtype).await?;
        let action = match &current {
            None => Action::Add,
            Some(c) if same_values(&c.rdata, &rr.rdata) && c.ttl == rr.ttl => Action::Keep,
            Some(_) => Action::Replace,
        };
        let mut wanted = rr.clone();
        canonical_order(&mut wanted.rdata);
        entries.push(PlanEntry {
            action,
            current,
            wanted,
        });
    }
    for o in owned {
        if wanted
            .iter()
            .any(|w| w.name == o.name && w.rtype == o.rtype)
        {
            continue;
        }
        let Some(current) = served(&mut conn, &o.name, o.rtype).await? else {
            continue;
        };
        let stays: Vec<RData> = match o.only {
            None => Vec::new(),
            Some(ours) => current.rdata.iter().filter(|r| !ours(r)).cloned().collect(),
        };
        if stays.len() == current.rdata.len() {
            continue;
        }
        entries.push(PlanEntry {
            action: Action::Delete,
            wanted: RRset {
                name: o.name.clone(),
                rtype: o.rtype,
                ttl: current.ttl,
                rdata: stays,
            },
            current: Some(current),
        });
    }
    let servers = authoritative_servers(&mut conn, &zone).await?;
    Ok(UpdatePlan {
        zone,
        primary,
        serial,
        entries,
        servers,
    })
}

/// The zone's NS targets with one address each: from the NS answer's additional section
/// (glue), else A/AAAA queries to the primary, else the system resolver. A target without
/// any address is an error, never skipped.
async fn authoritative_servers(
    conn: &mut Conn,
    zone: &Name,
) -> Result<Vec<AuthServer>, UpdateError> {
    let msg = conn.ask(zone, RecordType::NS).await?;
    let rc = msg.metadata.response_code;
    if rc != ResponseCode::NoError {
        return Err(UpdateError::QueryRefused {
            server: conn.addr,
            qname: zone.clone(),
            qtype: RecordType::NS,
            rcode: rcode_name(rc),
        });
    }
    let mut targets: Vec<Name> = msg
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(ns) if &r.name == zone => Some(ns.0.clone()),
            _ => None,
        })
        .collect();
    targets.sort();
    targets.dedup();
    if targets.is_empty() {
        return Err(UpdateError::NoNameServers {
            zone: zone.clone(),
            server: conn.addr,
        });
    }
    let port = conn.addr.port();
    let mut out = Vec::new();
    for ns in targets {
        let mut addrs: Vec<std::net::IpAddr> = glue(&msg, &ns);
        if addrs.is_empty() {
            for t in [RecordType::A, RecordType::AAAA] {
                if let Ok(m) = conn.ask(&ns, t).await {
                    addrs.extend(m.answers.iter().filter(|r| r.name == ns).filter_map(|r| {
                        match &r.data {
                            RData::A(a) => Some(std::net::IpAddr::V4(a.0)),
                            RData::AAAA(a) => Some(std::net::IpAddr::V6(a.0)),
                            _ => None,
                        }
                    }));
                }
                if !addrs.is_empty() {
                    break;
                }
            }
        }
        if addrs.is_empty() {
            let host = ns.to_string();
            let host = format!("{}:53", host.trim_end_matches('.'));
            let found = tokio::time::timeout(conn.timeout, tokio::net::lookup_host(host)).await;
            if let Ok(Ok(found)) = found {
                addrs.extend(found.map(|sa| sa.ip()));
            }
        }
        let Some(ip) = pick(&addrs) else {
            return Err(UpdateError::NoAddress {
                zone: zone.clone(),
                ns,
            });
        };
        // The primary given as --server may listen on another port; keep its port there.
        let p = if ip == conn.addr.ip() { port } else { 53 };
        out.push(AuthServer {
            name: ns,
            addr: SocketAddr::new(ip, p),
        });
    }
    Ok(out)
}

fn glue(msg: &Message, ns: &Name) -> Vec<std::net::IpAddr> {
    msg.additionals
        .iter()
        .filter(|r| &r.name == ns)
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(std::net::IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(std::net::IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

fn pick(addrs: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// Nothing to change: no message was sent.
    NothingToDo,
    /// The server answered NOERROR to the signed update.
    Updated,
}

/// Build the one UPDATE message for the plan: for each changed RRset a prerequisite ("RRset
/// exists (value dependent)" with the values read, or "RRset does not exist") and a
/// delete-RRset followed by the new records. Unsigned; `None` when nothing changes.
pub fn update_message(plan: &UpdatePlan) -> Option<Message> {
    if !plan.has_changes() {
        return None;
    }
    let mut msg = Message::new(super::query::rand_id(), MessageType::Query, OpCode::Update);
    msg.metadata.recursion_desired = false;
    let mut zone = Query::new();
    zone.set_name(plan.zone.clone())
        .set_query_class(DNSClass::IN)
        .set_query_type(RecordType::SOA);
    msg.add_zone(zone);
    for e in &plan.entries {
        let w = &e.wanted;
        match (e.action, &e.current) {
            (Action::Keep, _) => continue,
            (Action::Replace | Action::Delete, Some(cur)) => {
                for v in &cur.rdata {
                    // RFC 2136 2.4.2: class of the zone, TTL 0.
                    let mut r = Record::from_rdata(cur.name.clone(), 0, v.clone());
                    r.dns_class = DNSClass::IN;
                    msg.add_pre_requisite(r);
                }
            }
            _ => {
                // RFC 2136 2.4.3: class NONE, TTL 0, empty rdata.
                let mut r = Record::update0(w.name.clone(), 0, w.rtype).into_record_of_rdata();
                r.dns_class = DNSClass::NONE;
                msg.add_pre_requisite(r);
            }
        }
        if e.action == Action::Delete {
            if let (false, Some(cur)) = (w.rdata.is_empty(), &e.current) {
                // RFC 2136 2.5.4: delete only our records (class NONE, TTL 0) ...
                for v in cur.rdata.iter().filter(|v| !w.rdata.contains(v)) {
                    let mut r = Record::from_rdata(w.name.clone(), 0, v.clone());
                    r.dns_class = DNSClass::NONE;
                    msg.add_update(r);
                }
                continue;
            }
        }
        // RFC 2136 2.5.2: delete the RRset (class ANY, TTL 0, empty rdata) ...
        let mut del = Record::update0(w.name.clone(), 0, w.rtype).into_record_of_rdata();
        del.dns_class = DNSClass::ANY;
        msg.add_update(del);
        // ... 2.5.1: then add every new record.
        for v in &w.rdata {
            let mut r = Record::from_rdata(w.name.clone(), w.ttl, v.clone());
            r.dns_class = DNSClass::IN;
            msg.add_update(r);
        }
    }
    let mut edns = Edns::new();
    edns.set_max_payload(1232).set_version(0);
    msg.set_edns(edns);
    Some(msg)
}

/// Send the plan's UPDATE (if anything changes), TSIG-signed with `key`, to the primary,
/// and map the answer: NOERROR is success; TSIG errors, prerequisite failures and refusals
/// each get their own error.
pub async fn apply(
    plan: &UpdatePlan,
    key: &TsigKey,
    timeouts: Timeouts,
) -> Result<Applied, UpdateError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    apply_signed_at(plan, key, timeouts, now).await
}

/// [`apply`] with the TSIG time given (seconds since the epoch), e.g. to check how a server
/// answers a request signed with a skewed clock (BADTIME).
pub async fn apply_signed_at(
    plan: &UpdatePlan,
    key: &TsigKey,
    timeouts: Timeouts,
    now: u64,
) -> Result<Applied, UpdateError> {
    let Some(msg) = update_message(plan) else {
        return Ok(Applied::NothingToDo);
    };
    let op = format!("UPDATE {}", plan.zone);
    let (rc, _) = signed_exchange(plan, msg, key, timeouts, now, &op, false).await?;
    match rc {
        ResponseCode::NoError => Ok(Applied::Updated),
        ResponseCode::YXRRSet
        | ResponseCode::NXRRSet
        | ResponseCode::YXDomain
        | ResponseCode::NXDomain => Err(UpdateError::Conflict {
            zone: plan.zone.clone(),
            server: plan.primary,
            rcode: rcode_name(rc),
        }),
        other => Err(UpdateError::Refused {
            zone: plan.zone.clone(),
            server: plan.primary,
            rcode: rcode_name(other),
            key: key.display_name(),
        }),
    }
}

/// What [`probe_key`] learnt about the TSIG key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyProbe {
    /// The primary answered the signed SOA query with a signature that verifies: it knows
    /// the key, its secret and algorithm, and our clocks agree.
    Proven,
    /// The primary answered the signed query unsigned (it checks TSIG on updates only): the
    /// key is not proven until a real publish.
    Unchecked,
}

/// Prove the TSIG key without changing anything (what `publish --dry-run` does): send the
/// primary a TSIG-signed SOA query for the zone and verify the signed answer. A rejection is
/// the same [`UpdateError::TsigRejected`] a real update gets.
pub async fn probe_key(
    plan: &UpdatePlan,
    key: &TsigKey,
    timeouts: Timeouts,
) -> Result<KeyProbe, UpdateError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    probe_key_signed_at(plan, key, timeouts, now).await
}

/// [`probe_key`] with the TSIG time given (seconds since the epoch).
pub async fn probe_key_signed_at(
    plan: &UpdatePlan,
    key: &TsigKey,
    timeouts: Timeouts,
    now: u64,
) -> Result<KeyProbe, UpdateError> {
    let mut msg = Message::new(super::query::rand_id(), MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = false;
    let mut q = Query::new();
    q.set_name(plan.zone.clone())
        .set_query_class(DNSClass::IN)
        .set_query_type(RecordType::SOA);
    msg.add_query(q);
    let op = format!("TSIG-signed SOA {}", plan.zone);
    let (rc, signed) = signed_exchange(plan, msg, key, timeouts, now, &op, true).await?;
    match rc {
        ResponseCode::NoError if signed => Ok(KeyProbe::Proven),
        ResponseCode::NoError => Ok(KeyProbe::Unchecked),
        other => Err(UpdateError::QueryRefused {
            server: plan.primary,
            qname: plan.zone.clone(),
            qtype: RecordType::SOA,
            rcode: rcode_name(other),
        }),
    }
}

/// Sign `msg` with `key`, exchange it with the plan's primary over TCP and check the answer's
/// TSIG: a TSIG error or an unsigned NOTAUTH/REFUSED is [`UpdateError::TsigRejected`]; a
/// signed answer must verify. With `unsigned_ok`, an unsigned answer of another code is
/// returned as `(rcode, false)` instead of failing verification.
async fn signed_exchange(
    plan: &UpdatePlan,
    mut msg: Message,
    key: &TsigKey,
    timeouts: Timeouts,
    now: u64,
    op: &str,
    unsigned_ok: bool,
) -> Result<(ResponseCode, bool), UpdateError> {
    let server = plan.primary;
    let encode = |why: String| UpdateError::Encode {
        zone: plan.zone.clone(),
        why,
    };
    let net = |why: String| UpdateError::Network {
        server,
        op: op.to_string(),
        why,
    };
    let mut verifier = msg
        .finalize(&key.signer(), now)
        .map_err(|e| encode(e.to_string()))?;
    let bytes = msg.to_vec().map_err(|e| encode(e.to_string()))?;
    let answer = tokio::time::timeout(timeouts.query, super::query::tcp_exchange(server, &bytes))
        .await
        .map_err(|_| net(format!("no answer within {}s", timeouts.query.as_secs())))?
        .map_err(|e| net(e.to_string()))?;
    let resp = Message::from_vec(&answer).map_err(|e| net(format!("malformed answer: {e}")))?;
    if resp.metadata.id != msg.metadata.id {
        return Err(net("answer carries another message id".into()));
    }
    let rc = resp.metadata.response_code;
    let server_time = resp.signature().and_then(|s| {
        (s.data.error == Some(WireTsigError::BadTime)).then(|| {
            // RFC 8945 5.2.3: Other Data holds the server's time as 48 bits.
            match s.data.other.as_slice() {
                [a, b, c, d, e, f] => u64::from_be_bytes([0, 0, *a, *b, *c, *d, *e, *f]),
                _ => s.data.time,
            }
        })
    });
    let rejected = |tsig_error: Option<String>| UpdateError::TsigRejected {
        key: key.display_name(),
        algorithm: key.algorithm_name(),
        zone: plan.zone.clone(),
        server,
        rcode: rcode_name(rc),
        tsig_error,
        signed_at: now,
        server_time,
    };
    // A TSIG error in the answer's TSIG record says why the server rejected our signature.
    if let Some(err) = resp.signature().and_then(|s| s.data.error) {
        return Err(rejected(Some(match err {
            WireTsigError::BadSig => "BADSIG".into(),
            WireTsigError::BadKey => "BADKEY".into(),
            WireTsigError::BadTime => "BADTIME".into(),
            WireTsigError::BadTrunc => "BADTRUNC".into(),
            WireTsigError::Unknown(n) => format!("{n}"),
        })));
    }
    if resp.signature().is_none() && matches!(rc, ResponseCode::NotAuth | ResponseCode::Refused) {
        // RFC 8945 5.2: a server that cannot verify the request answers unsigned (NOTAUTH
        // with a TSIG error; some servers an unsigned REFUSED with no reason at all).
        return Err(rejected(None));
    }
    if resp.signature().is_none() && unsigned_ok {
        return Ok((rc, false));
    }
    match verifier.as_mut() {
        Some(v) => {
            v.verify(&answer).map_err(|e| UpdateError::TsigResponse {
                key: key.display_name(),
                server,
                why: e.to_string(),
            })?;
        }
        None => {
            return Err(UpdateError::TsigResponse {
                key: key.display_name(),
                server,
                why: "no verifier for the signed request".into(),
            })
        }
    }
    Ok((rc, true))
}

/// Check, as peers will, that `zone` validates from the trust anchor: its SOA must be
/// `secure` through `resolver` (the manifest's `[dns]` roots or resolver and anchor).
pub async fn check_zone_secure(
    resolver: &super::resolve::Resolver,
    zone: &Name,
) -> Result<(), UpdateError> {
    use super::resolve::Lookup;
    let lookup = resolver.lookup(zone, RecordType::SOA).await;
    let state = match &lookup {
        Lookup::Secure { .. } => return Ok(()),
        Lookup::Insecure { .. } => "insecure",
        Lookup::Bogus { .. } | Lookup::Absent { .. } => "bogus",
        Lookup::Unreachable { .. } => "unreachable",
    };
    Err(UpdateError::ZoneNotSecure {
        zone: zone.clone(),
        state,
        why: lookup.describe(),
    })
}

/// Per server: whether it serves the new values.
#[derive(Debug, Clone, Serialize)]
pub struct ServerState {
    /// NS name.
    pub name: String,
    /// Address polled.
    pub address: String,
    /// Whether it serves exactly the new values for every owned RRset.
    pub in_sync: bool,
}

/// Poll every authoritative server until each serves exactly the wanted values for every
/// owned RRset, or `timeouts.read_back` passes.
pub async fn read_back(
    plan: &UpdatePlan,
    timeouts: Timeouts,
) -> Result<Vec<ServerState>, UpdateError> {
    let deadline = Instant::now() + timeouts.read_back;
    let mut pending: BTreeMap<usize, Vec<(String, String)>> =
        (0..plan.servers.len()).map(|i| (i, Vec::new())).collect();
    loop {
        let idx: Vec<usize> = pending.keys().copied().collect();
        for i in idx {
            let server = &plan.servers[i];
            let left = deadline.saturating_duration_since(Instant::now());
            let t = timeouts.query.min(left.max(Duration::from_millis(500)));
            let differs = check_server(server, plan, t).await;
            if differs.is_empty() {
                pending.remove(&i);
            } else {
                pending.insert(i, differs);
            }
        }
        if pending.is_empty() {
            return Ok(plan
                .servers
                .iter()
                .map(|s| ServerState {
                    name: s.name.to_string(),
                    address: s.addr.to_string(),
                    in_sync: true,
                })
                .collect());
        }
        if Instant::now() + timeouts.poll > deadline {
            return Err(UpdateError::Lagging {
                zone: plan.zone.clone(),
                timeout: timeouts.read_back,
                lagging: pending
                    .into_iter()
                    .map(|(i, differs)| Lag {
                        server: plan.servers[i].to_string(),
                        differs,
                    })
                    .collect(),
            });
        }
        tokio::time::sleep(timeouts.poll).await;
    }
}

/// The RRsets `server` does not serve as wanted, with what it serves instead.
async fn check_server(
    server: &AuthServer,
    plan: &UpdatePlan,
    t: Duration,
) -> Vec<(String, String)> {
    let mut conn = match Conn::open(server.addr, t, "connect").await {
        Ok(c) => c,
        Err(e) => return vec![(String::new(), e.to_string())],
    };
    let mut differs = Vec::new();
    for e in &plan.entries {
        let w = &e.wanted;
        let what = format!("{} {}", w.name, w.rtype);
        match served(&mut conn, &w.name, w.rtype).await {
            Ok(Some(s)) if same_values(&s.rdata, &w.rdata) => {}
            Ok(None) if w.rdata.is_empty() => {}
            Ok(Some(s)) => differs.push((
                what,
                s.rdata
                    .iter()
                    .map(show_rdata)
                    .collect::<Vec<_>>()
                    .join(" | "),
            )),
            Ok(None) => differs.push((what, "nothing".into())),
            Err(err) => differs.push((what, format!("no answer: {err}"))),
        }
    }
    differs
}

impl UpdateError {
    /// For a BADTIME answer that carries the server's time: "this machine's clock is about N
    /// behind/ahead of SERVER", the extra line that names the skew.
    pub fn clock_skew_line(&self) -> Option<String> {
        match self {
            UpdateError::TsigRejected {
                server,
                signed_at,
                server_time: Some(theirs),
                ..
            } => crate::clock::skew_line(*signed_at, *theirs, &server.to_string()),
            _ => None,
        }
    }

    /// The exit status for this failure (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        use crate::exit;
        match self {
            UpdateError::Network { .. } | UpdateError::NoAddress { .. } => exit::NETWORK,
            UpdateError::UnknownZone { .. }
            | UpdateError::QueryRefused { .. }
            | UpdateError::NoNameServers { .. }
            | UpdateError::Refused { .. } => exit::REFUSED,
            UpdateError::SplitZones { .. } => exit::BAD_INPUT,
            UpdateError::TsigRejected { .. } | UpdateError::TsigResponse { .. } => exit::TSIG,
            UpdateError::Conflict { .. } => exit::CONFLICT,
            UpdateError::Lagging { .. } => exit::PENDING,
            UpdateError::Encode { .. } => exit::INTERNAL,
            UpdateError::ZoneNotSecure { state, .. } if *state == "unreachable" => exit::NETWORK,
            UpdateError::ZoneNotSecure { .. } => exit::SECURITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::TXT;

    #[test]
    fn the_layout_owns_only_the_old_one_record_txt_at_the_host() {
        let host = Name::from_ascii("validator1.ogr1.com.").unwrap();
        let owned = layout_owned(&host);
        let at_host_txt = owned
            .iter()
            .find(|o| o.name == host && o.rtype == RecordType::TXT)
            .unwrap();
        let ours = at_host_txt.only.unwrap();
        let txt =
            |parts: &[&str]| RData::TXT(TXT::new(parts.iter().map(|s| s.to_string()).collect()));
        assert!(ours(&txt(&["p=30303; k=ab"])));
        assert!(ours(&txt(&["k=ab;p=1"])));
        assert!(ours(&txt(&["p=30303; ", "k=ab"])));
        assert!(!ours(&txt(&["v=spf1 -all"])));
        assert!(!ours(&txt(&["p=30303"])));
        assert!(!ours(&txt(&["p=1; k=2; x=3"])));
        // Everything else at the layout's names is owned whole; the genesis record is not owned.
        assert!(owned.iter().filter(|o| o.only.is_none()).count() == 5);
        assert!(!owned
            .iter()
            .any(|o| o.name.to_string().starts_with("genesis_")));
    }
}
