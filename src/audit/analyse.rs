//! Judging what was collected: pure functions from [`collect`](super::collect) data, the
//! trust anchor and the clock to a [`Report`]. Nothing here speaks DNS, so every rule is
//! testable on hand-made data.
//!
//! Here: the order of judgement (parents before children), each zone's servers and chain of
//! trust, whose verdict is the validator's (`dns::validate::check_dnskeys`, RFC 4035 §5.2, as
//! `verify` reaches it) and whose findings name the DS, anchor and DNSKEY problems (RFC 4034
//! §5, RFC 4509). The other rules are modules, one concern each: `signatures` (every RRSIG,
//! windows, TTLs), `servers` (agreement between servers and with the delegation), `keys`
//! (algorithms, RFC 8624; revoked keys, RFC 5011; unused keys; the key table), `denial` (NSEC3
//! parameters, RFC 9276) and `records` (an organisation's ceremony records and the proofs of
//! their negative answers).
//!
//! # Limitations
//! Signatures are checked for every server that answered, but the signature table of the
//! report lists the first answering server only.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, Verifier};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

pub use crate::dns::validate::serial_time;
use crate::dns::validate::{
    algorithm_supported, check_denial, check_dnskeys, ds_matches_key, verify_rrset, BogusReason,
    KeySetCheck,
};
use hickory_proto::serialize::binary::BinEncodable;

use super::anchor::Anchor;
use super::collect::{HostData, ServerData, ZoneData, PROBE_LABEL};
use super::{
    ChainStatus, Code, DenialReport, DsReport, Finding, KeyReport, OrgReport, RecordReport, Report,
    ServerReport, Severity, SigReport, ZoneReport,
};

mod denial;
mod keys;
mod records;
mod servers;
mod signatures;

use keys::algorithm_findings;
use records::org;
use signatures::{bogus_code, check_rrset, SigCache};

/// The clock and thresholds every judgement uses.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Now, Unix seconds.
    pub now: i64,
    /// Signatures expiring within this many days are a warning, when they also have less
    /// than `warn_share` of their validity period left.
    pub warn_days: u32,
    /// Percent of a signature's validity period (expiration minus inception): a signature
    /// with less left than this (and less than `warn_days`) is a warning. A signer re-signs
    /// before then: BIND's `dnssec-signzone` (30-day signatures) at a quarter left, Knot's
    /// default policy (14-day signatures) at 7 days left, so [`DEFAULT_WARN_SHARE`] keeps
    /// their healthy zones clean.
    pub warn_share: u32,
}

/// The default `warn_share`: 20 percent of the validity period.
pub const DEFAULT_WARN_SHARE: u32 = 20;

impl Clock {
    /// Whether a valid signature of `inception..expiration` with `left` seconds to go is
    /// close enough to its end for a warning.
    pub fn expires_soon(&self, inception: i64, expiration: i64, left: i64) -> bool {
        let period = (expiration - inception).max(0);
        let share = period.saturating_mul(i64::from(self.warn_share)) / 100;
        left < i64::from(self.warn_days) * 86_400 && left < share
    }
}

/// NSEC3 iterations above this are an error (validators may treat the zone as insecure).
pub const NSEC3_ITERATIONS_LIMIT: u16 = 50;

/// An organisation to report on.
#[derive(Debug, Clone)]
pub struct OrgInput {
    /// Its name in the manifest.
    pub name: String,
    /// What the walk and the record questions returned.
    pub data: HostData,
    /// The ceremony record questions: owner and type.
    pub records: Vec<(Name, RecordType)>,
    /// The profile and ceremony id the records are decoded against (`records::decode`).
    pub ceremony: Option<(crate::manifest::Profile, crate::manifest::CeremonyId)>,
}

/// Turn the collected zones and hosts into a report.
pub fn report(
    anchor: &Anchor,
    zones: &[std::sync::Arc<ZoneData>],
    orgs: &[OrgInput],
    clock: Clock,
    queries: u64,
) -> Report {
    let mut zones: Vec<&ZoneData> = zones.iter().map(|z| z.as_ref()).collect();
    zones.sort_by_key(|z| (z.zone.num_labels(), z.zone.to_ascii()));
    let mut done: BTreeMap<Name, (ChainStatus, Vec<DNSKEY>)> = BTreeMap::new();
    let mut reports = Vec::new();
    let cache = SigCache::default();
    // A parent has fewer labels than its child: zones with the same label count are
    // independent once the shorter ones are judged.
    let mut start = 0;
    while start < zones.len() {
        let labels = zones[start].zone.num_labels();
        let end = zones[start..]
            .iter()
            .position(|z| z.zone.num_labels() != labels)
            .map_or(zones.len(), |n| start + n);
        let level = &zones[start..end];
        let judged = par_map(level, |z: &&ZoneData| {
            let parent = z.delegation.as_ref().map(|d| d.parent.clone());
            let parent_state = parent.as_ref().and_then(|p| done.get(p));
            zone(anchor, z, parent_state, clock, &cache)
        });
        for (z, (rep, keys)) in level.iter().zip(judged) {
            done.insert(z.zone.clone(), (rep.status, keys));
            reports.push(rep);
        }
        start = end;
    }
    // Organisations are independent once the zones are judged (record decoding verifies BLS
    // and secp256k1 signatures).
    let orgs: Vec<OrgReport> = par_map(orgs, |o| org(o, &done, clock, &cache));
    // A zone whose ceremony answers fail validation is not ZONE_SECURE, however clean its apex.
    for o in &orgs {
        if o.findings.iter().any(breaks_chain) {
            if let Some(z) = reports
                .iter_mut()
                .find(|z| Some(&z.zone) == o.zone.as_ref())
            {
                z.findings.retain(|f| f.code != Code::ZoneSecure);
            }
        }
    }
    let mut r = Report {
        generated_at: clock.now,
        warn_days: clock.warn_days,
        anchor: anchor.source.clone(),
        zones: reports,
        orgs,
        queries,
    };
    r.normalise();
    r
}

/// Whether a finding about an organisation's records makes its answers bogus for a validator:
/// an error about signatures or denial that holds on every answering server.
pub fn breaks_chain(f: &Finding) -> bool {
    f.severity == Severity::Error
        && f.server.is_none()
        && matches!(
            f.code,
            Code::RrsigExpired
                | Code::RrsigInvalid
                | Code::RrsigMissing
                | Code::RrsigNotYetValid
                | Code::RrsigUnknownKey
                | Code::DenialInvalid
        )
}

/// `f` over `items` on the available cores, results in order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 16 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                scope.spawn(move || part.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn name_str(n: &Name) -> String {
    let s = n.to_lowercase().to_ascii();
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// How one server's answer went.
enum Reply<'a> {
    /// An authoritative answer.
    Ok(&'a Message),
    /// No answer.
    Unreachable(String),
    /// An answer without authority or an error rcode.
    Lame(String),
}

fn reply<'a>(s: &'a ServerData, name: &Name, t: RecordType) -> Reply<'a> {
    if s.addr.is_none() {
        return Reply::Unreachable("no address for the name server".into());
    }
    match s.get(name, t) {
        None => Reply::Unreachable("not asked".into()),
        Some(Err(e)) => Reply::Unreachable(e.to_string()),
        Some(Ok(m)) => match m.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain if m.metadata.authoritative => {
                Reply::Ok(m)
            }
            ResponseCode::NoError | ResponseCode::NXDomain => {
                Reply::Lame("answered without the AA bit".into())
            }
            rc => Reply::Lame(format!("answered {rc}")),
        },
    }
}

fn rrsigs<'a>(records: &'a [Record], owner: &Name, t: RecordType) -> Vec<(&'a Record, &'a RRSIG)> {
    records
        .iter()
        .filter(|r| r.name.to_lowercase() == owner.to_lowercase())
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == t => Some((r, s)),
            _ => None,
        })
        .collect()
}

fn rrset<'a>(records: &'a [Record], owner: &Name, t: RecordType) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.record_type() == t && r.name.to_lowercase() == owner.to_lowercase())
        .collect()
}

fn dnskeys(records: &[Record]) -> Vec<DNSKEY> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

fn key_tag(k: &DNSKEY) -> u16 {
    k.calculate_key_tag().unwrap_or(0)
}

fn wire(r: &RData) -> Vec<u8> {
    r.to_bytes().unwrap_or_default()
}

/// The canonical content of an RRset: sorted wire forms of its rdata.
fn content(records: &[&Record]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = records.iter().map(|r| wire(&r.data)).collect();
    v.sort();
    v.dedup();
    v
}

/// One server's DNSKEY answer: the server, its keys, the canonical content.
type KeyAnswer<'a> = (&'a ServerData, Vec<DNSKEY>, Vec<Vec<u8>>);

/// Findings seen on every answering server lose their server; the others keep it.
fn merge_servers(per_server: Vec<(String, Vec<Finding>)>, answering: usize) -> Vec<Finding> {
    let mut count: BTreeMap<(Code, Severity, Option<String>, String), Vec<String>> =
        BTreeMap::new();
    for (server, fs) in per_server {
        for f in fs {
            count
                .entry((f.code, f.severity, f.record.clone(), f.detail.clone()))
                .or_default()
                .push(server.clone());
        }
    }
    let mut out = Vec::new();
    for ((code, severity, record, detail), servers) in count {
        let mut servers = servers;
        servers.sort();
        servers.dedup();
        let base = |server: Option<String>| Finding {
            code,
            severity,
            zone: String::new(),
            server,
            record: record.clone(),
            detail: detail.clone(),
        };
        if servers.len() >= answering {
            out.push(base(None));
        } else {
            for s in servers {
                out.push(base(Some(s)));
            }
        }
    }
    out
}

/// Analyse one zone given its parent's state (status and keys); returns the report and the
/// zone's DNSKEY set as served (trusted only when the report's status is secure).
fn zone(
    anchor: &Anchor,
    z: &ZoneData,
    parent: Option<&(ChainStatus, Vec<DNSKEY>)>,
    clock: Clock,
    cache: &SigCache,
) -> (ZoneReport, Vec<DNSKEY>) {
    let zname = name_str(&z.zone);
    let zs = zname.as_str();
    let mut findings: Vec<Finding> = Vec::new();
    let mut rep = ZoneReport {
        zone: zname.clone(),
        parent: z.delegation.as_ref().map(|d| name_str(&d.parent)),
        status: ChainStatus::Secure,
        servers: Vec::new(),
        ds: Vec::new(),
        keys: Vec::new(),
        signatures: Vec::new(),
        denial: None,
        findings: Vec::new(),
    };

    // 1. Servers: does each answer, with authority, and which serial.
    let mut answering: Vec<(&ServerData, &Message)> = Vec::new();
    for s in &z.servers {
        let mut sr = ServerReport {
            name: s.name.trim_end_matches('.').to_string()
                + if s.name.ends_with('.') { "." } else { "" },
            addr: s.addr.map(|a| a.ip().to_string()),
            answered: false,
            serial: None,
        };
        match reply(s, &z.zone, RecordType::SOA) {
            Reply::Ok(m) => {
                sr.answered = true;
                sr.serial = m.answers.iter().find_map(|r| match &r.data {
                    RData::SOA(soa) => Some(soa.serial),
                    _ => None,
                });
                answering.push((s, m));
            }
            Reply::Unreachable(why) => findings.push(
                Finding::new(
                    Code::ServerUnreachable,
                    zs,
                    format!("{} did not answer ({why})", s.label()),
                )
                .server(s.label()),
            ),
            Reply::Lame(why) => findings.push(
                Finding::new(
                    Code::ServerLame,
                    zs,
                    format!("{} {why} for {zname} SOA", s.label()),
                )
                .server(s.label()),
            ),
        }
        rep.servers.push(sr);
    }
    if answering.is_empty() {
        rep.status = ChainStatus::Unreachable;
        if z.servers.is_empty() {
            findings.push(Finding::new(
                Code::ZoneNotFound,
                zs,
                "no authoritative server could be located",
            ));
        }
        rep.findings = fill_zone(findings, zs);
        return (rep, Vec::new());
    }

    // 2. Agreement between servers.
    let key_answers: Vec<KeyAnswer<'_>> = answering
        .iter()
        .filter_map(|(s, _)| match reply(s, &z.zone, RecordType::DNSKEY) {
            Reply::Ok(m) => {
                let recs = rrset(&m.answers, &z.zone, RecordType::DNSKEY);
                Some((*s, dnskeys(&m.answers), content(&recs)))
            }
            _ => None,
        })
        .collect();
    findings.extend(servers::agreement(zs, &zname, &rep.servers, &key_answers));

    // 3. Delegation NS and glue against the zone's own NS set.
    let (primary, _) = answering[0];
    findings.extend(servers::delegation(zs, &zname, z, primary));

    // 4. DS (or anchor) against the DNSKEY set of the first answering server.
    let keys: Vec<DNSKEY> = key_answers
        .first()
        .map(|(_, k, _)| k.clone())
        .unwrap_or_default();
    let key_section: Vec<Record> = match reply(primary, &z.zone, RecordType::DNSKEY) {
        Reply::Ok(m) => m.answers.clone(),
        _ => Vec::new(),
    };
    let mut ds_keys: BTreeSet<u16> = BTreeSet::new();
    let mut chain_broken: Option<ChainStatus> = None;
    // The DS set the validator judges the DNSKEY set against: the anchor's for its zone, the
    // parent's once its RRSIG verified; `None` when the chain already stops above.
    let mut trusted_ds: Option<(Vec<DS>, Vec<DNSKEY>)> = None;
    let parent_status = parent.map(|p| p.0);
    match (&z.delegation, parent_status) {
        (None, _) => {
            // The anchor's zone.
            trusted_ds = Some((anchor.ds.clone(), anchor.keys.clone()));
            for ds in &anchor.ds {
                let m = keys.iter().find(|k| ds_matches_key(ds, &z.zone, k));
                if let Some(k) = m {
                    ds_keys.insert(key_tag(k));
                }
                rep.ds.push(ds_report(ds, m.is_some()));
            }
            for ak in &anchor.keys {
                if let Some(k) = keys.iter().find(|k| k.public_key() == ak.public_key()) {
                    ds_keys.insert(key_tag(k));
                }
            }
            if ds_keys.is_empty() {
                findings.push(
                    Finding::new(
                        Code::AnchorNoMatch,
                        zs,
                        format!(
                            "no DNSKEY of {zname} matches the trust anchor ({})",
                            anchor.source
                        ),
                    )
                    .record(format!("{zname} DNSKEY")),
                );
                chain_broken = Some(ChainStatus::Bogus);
            }
        }
        (Some(_), Some(ps)) if ps != ChainStatus::Secure => {
            let parent_name = rep.parent.clone().unwrap_or_default();
            findings.push(Finding::new(
                Code::ParentInsecure,
                zs,
                format!("the parent zone {parent_name} is {}", ps.as_str()),
            ));
            chain_broken = Some(if ps == ChainStatus::Insecure {
                ChainStatus::Insecure
            } else {
                ChainStatus::Bogus
            });
        }
        (Some(d), _) => {
            let ds_label = format!("{zname} DS");
            let ds_records = rrset(&d.ds_answer, &z.zone, RecordType::DS);
            let ds_list: Vec<DS> = ds_records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.clone()),
                    _ => None,
                })
                .collect();
            if ds_list.is_empty() {
                let proof = d
                    .ds_answer
                    .iter()
                    .any(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3));
                let how = if proof {
                    "proves with NSEC/NSEC3 that there is"
                } else {
                    "serves"
                };
                findings.push(
                    Finding::new(
                        Code::UnsignedDelegation,
                        zs,
                        format!("the parent {} {how} no DS for {zname}", name_str(&d.parent)),
                    )
                    .server(d.parent_server.clone())
                    .record(ds_label.clone()),
                );
                chain_broken = Some(ChainStatus::Insecure);
            } else {
                let parent_keys = parent.map(|p| p.1.clone()).unwrap_or_default();
                let checked = check_rrset(
                    zs,
                    &d.parent,
                    &d.ds_answer,
                    &z.zone,
                    RecordType::DS,
                    &parent_keys,
                    clock,
                    cache,
                );
                rep.signatures.extend(checked.sigs);
                for f in checked.findings {
                    findings.push(f.server(d.parent_server.clone()));
                }
                if !checked.valid {
                    chain_broken = Some(ChainStatus::Bogus);
                } else {
                    trusted_ds = Some((ds_list.clone(), Vec::new()));
                }
                let mut any = false;
                for ds in &ds_list {
                    let m = keys.iter().find(|k| ds_matches_key(ds, &z.zone, k));
                    if let Some(k) = m {
                        ds_keys.insert(key_tag(k));
                        any = true;
                    }
                    rep.ds.push(ds_report(ds, m.is_some()));
                    algorithm_findings(
                        zs,
                        &format!("DS {}", ds.key_tag()),
                        ds.algorithm(),
                        &mut findings,
                    );
                    if ds.digest_type() == DigestType::SHA1 {
                        findings.push(
                            Finding::new(
                                Code::DsDigestDeprecated,
                                zs,
                                format!("DS {} uses digest type 1 (SHA-1)", ds.key_tag()),
                            )
                            .record(ds_label.clone()),
                        );
                    }
                }
                for ds in &ds_list {
                    if !keys.iter().any(|k| ds_matches_key(ds, &z.zone, k)) {
                        let (code, what) = if any {
                            (Code::DsStale, "while another DS does")
                        } else {
                            (Code::DsNoMatchingKey, "and no other DS does")
                        };
                        findings.push(
                            Finding::new(
                                code,
                                zs,
                                format!(
                                    "DS {} (algorithm {}, digest type {}) matches no DNSKEY of {zname}, {what}",
                                    ds.key_tag(),
                                    u8::from(ds.algorithm()),
                                    u8::from(ds.digest_type())
                                ),
                            )
                            .record(ds_label.clone()),
                        );
                    }
                }
                if !any {
                    chain_broken = Some(ChainStatus::Bogus);
                }
            }
        }
    }

    // 5. The DNSKEY RRset must be signed by a key the DS (anchor) points to.
    let mut per_server: Vec<(String, Vec<Finding>)> = Vec::new();
    let mut signers: BTreeSet<u16> = BTreeSet::new();
    let mut made: BTreeSet<u16> = BTreeSet::new();
    let mut dnskey_ok = false;
    // A signature by a DS key exists, valid or not (invalid ones have their own RRSIG_* finding).
    let mut dnskey_signed_by_ds_key = false;
    if keys.is_empty() {
        if chain_broken != Some(ChainStatus::Insecure) {
            findings.push(
                Finding::new(
                    Code::DnskeyMissing,
                    zs,
                    format!("{} serves no DNSKEY RRset for {zname}", primary.label()),
                )
                .record(format!("{zname} DNSKEY")),
            );
            chain_broken.get_or_insert(ChainStatus::Bogus);
        }
    } else {
        for (s, _, _) in &key_answers {
            let section = match reply(s, &z.zone, RecordType::DNSKEY) {
                Reply::Ok(m) => m.answers.clone(),
                _ => continue,
            };
            let own = dnskeys(&section);
            let c = check_rrset(
                zs,
                &z.zone,
                &section,
                &z.zone,
                RecordType::DNSKEY,
                &own,
                clock,
                cache,
            );
            if std::ptr::eq(*s, primary) {
                rep.signatures.extend(c.sigs.clone());
                signers.extend(c.signers.iter().copied());
                made.extend(c.made.iter().copied());
                dnskey_ok = c.signers.iter().any(|t| ds_keys.contains(t));
                dnskey_signed_by_ds_key = c.sigs.iter().any(|g| ds_keys.contains(&g.key_tag));
            }
            per_server.push((s.label(), c.findings));
        }
        if !dnskey_ok && !ds_keys.is_empty() && chain_broken.is_none() && dnskey_signed_by_ds_key {
            chain_broken = Some(ChainStatus::Bogus);
        } else if !dnskey_ok && !ds_keys.is_empty() && chain_broken.is_none() {
            findings.push(
                Finding::new(
                    Code::DsKeyNotSigning,
                    zs,
                    format!(
                        "no key the {} points to ({}) signs the DNSKEY RRset with a valid signature",
                        if z.delegation.is_some() { "DS" } else { "anchor" },
                        ds_keys.iter().map(u16::to_string).collect::<Vec<_>>().join(" ")
                    ),
                )
                .record(format!("{zname} DNSKEY")),
            );
            chain_broken = Some(ChainStatus::Bogus);
        }
        for k in &keys {
            algorithm_findings(
                zs,
                &format!("DNSKEY {}", key_tag(k)),
                k.algorithm(),
                &mut findings,
            );
        }
    }

    // The chain verdict is the validator's: `dns::validate::check_dnskeys` over the first
    // answering server's DNSKEY answer, against the trusted DS set (or anchor), as `verify`
    // makes it. The findings above say why in the audit's terms.
    if let Some((ds_set, anchor_keys)) = &trusted_ds {
        let parent_name = z.delegation.as_ref().map(|d| d.parent.clone());
        let set = crate::dns::validate::rrset(&key_section, &z.zone, RecordType::DNSKEY);
        let sigs = crate::dns::validate::sigs_for(&key_section, &z.zone, RecordType::DNSKEY);
        let verdict = check_dnskeys(
            &z.zone,
            parent_name.as_ref(),
            ds_set,
            anchor_keys,
            Vec::new(),
            &set,
            &sigs,
            clock.now as u32,
        );
        chain_broken = match verdict {
            KeySetCheck::Secure(_) => None,
            KeySetCheck::Unsupported { what } => {
                findings.push(
                    Finding::new(
                        Code::AlgorithmUnsupported,
                        zs,
                        format!(
                            "the {} of {zname} uses only {what}, which this tool cannot check: the zone is insecure (RFC 6840 5.2)",
                            if z.delegation.is_some() { "DS set" } else { "trust anchor" }
                        ),
                    )
                    .severity(Severity::Error)
                    .record(format!("{zname} DS")),
                );
                Some(ChainStatus::Insecure)
            }
            KeySetCheck::Bogus(reason) => {
                if !findings.iter().any(|f| f.severity == Severity::Error)
                    && !per_server
                        .iter()
                        .flat_map(|(_, fs)| fs)
                        .any(|f| f.severity == Severity::Error)
                {
                    findings.push(
                        Finding::new(bogus_code(&reason), zs, reason.to_string())
                            .record(format!("{zname} DNSKEY")),
                    );
                }
                Some(ChainStatus::Bogus)
            }
        };
    }

    // 6. The other apex RRsets and the denial records, on every answering server.
    let mut denial: Option<DenialReport> = None;
    let probe = z
        .zone
        .prepend_label(PROBE_LABEL)
        .unwrap_or_else(|_| z.zone.clone());
    for (s, _) in &answering {
        let mut fs = Vec::new();
        for t in [RecordType::SOA, RecordType::NS, RecordType::NSEC3PARAM] {
            if let Reply::Ok(m) = reply(s, &z.zone, t) {
                let c = check_rrset(zs, &z.zone, &m.answers, &z.zone, t, &keys, clock, cache);
                if std::ptr::eq(*s, primary) {
                    rep.signatures.extend(c.sigs.clone());
                    signers.extend(c.signers.iter().copied());
                    made.extend(c.made.iter().copied());
                    if t == RecordType::NSEC3PARAM {
                        for r in &m.answers {
                            if let RData::DNSSEC(DNSSECRData::NSEC3PARAM(p)) = &r.data {
                                denial = Some(DenialReport {
                                    kind: "NSEC3".into(),
                                    iterations: Some(p.iterations()),
                                    salt: Some(hex::encode_upper(p.salt())),
                                    opt_out: false,
                                });
                            }
                        }
                    }
                }
                fs.extend(c.findings);
            }
        }
        if let Some(d) = &z.delegation {
            for ns in d.ns.iter().filter(|n| z.zone.zone_of(n) && **n != z.zone) {
                if let Reply::Ok(m) = reply(s, ns, RecordType::A) {
                    let c = check_rrset(
                        zs,
                        &z.zone,
                        &m.answers,
                        ns,
                        RecordType::A,
                        &keys,
                        clock,
                        cache,
                    );
                    if std::ptr::eq(*s, primary) {
                        rep.signatures.extend(c.sigs.clone());
                        signers.extend(c.signers.iter().copied());
                        made.extend(c.made.iter().copied());
                    }
                    fs.extend(c.findings);
                }
            }
        }
        if let Reply::Ok(m) = reply(s, &probe, RecordType::A) {
            let owners: BTreeSet<(Name, RecordType)> = m
                .authorities
                .iter()
                .filter(|r| {
                    matches!(
                        r.record_type(),
                        RecordType::NSEC | RecordType::NSEC3 | RecordType::SOA
                    )
                })
                .map(|r| (r.name.to_lowercase(), r.record_type()))
                .collect();
            for (owner, t) in owners {
                let c = check_rrset(zs, &z.zone, &m.authorities, &owner, t, &keys, clock, cache);
                if std::ptr::eq(*s, primary) {
                    signers.extend(c.signers.iter().copied());
                    made.extend(c.made.iter().copied());
                }
                fs.extend(c.findings);
            }
            if std::ptr::eq(*s, primary) {
                for r in &m.authorities {
                    match &r.data {
                        RData::DNSSEC(DNSSECRData::NSEC3(n)) => {
                            let d = denial.get_or_insert(DenialReport {
                                kind: "NSEC3".into(),
                                iterations: Some(n.iterations()),
                                salt: Some(hex::encode_upper(n.salt())),
                                opt_out: false,
                            });
                            d.opt_out |= n.opt_out();
                        }
                        RData::DNSSEC(DNSSECRData::NSEC(_)) if denial.is_none() => {
                            denial = Some(DenialReport {
                                kind: "NSEC".into(),
                                iterations: None,
                                salt: None,
                                opt_out: false,
                            });
                        }
                        _ => {}
                    }
                }
            }
        }
        match per_server.iter_mut().find(|(l, _)| *l == s.label()) {
            Some((_, v)) => v.extend(fs),
            None => per_server.push((s.label(), fs)),
        }
    }
    let mut merged = merge_servers(per_server, answering.len());
    for f in &mut merged {
        f.zone = zname.clone();
    }
    if chain_broken == Some(ChainStatus::Insecure) && keys.is_empty() {
        // An unsigned zone: UNSIGNED_DELEGATION says it; every RRset lacking an RRSIG is noise.
        merged.retain(|f| f.code != Code::RrsigMissing);
    }
    findings.extend(merged);
    if let Some(d) = &denial {
        findings.extend(denial::nsec3_rules(zs, &zname, d));
    }
    rep.denial = denial;

    // 7. Keys: revoked, unused; the report's key table.
    findings.extend(keys::key_rules(
        zs, &zname, &keys, &made, &ds_keys, &mut rep,
    ));

    rep.status = chain_broken.unwrap_or(ChainStatus::Secure);
    if rep.status == ChainStatus::Secure
        && !findings.iter().any(|f| f.severity >= Severity::Warning)
    {
        findings.push(Finding::new(
            Code::ZoneSecure,
            zs,
            "the chain of trust validates and no problem was found",
        ));
    }
    rep.findings = fill_zone(findings, zs);
    // The DNSKEY set as served; trusted only when `rep.status` is secure.
    (rep, keys)
}

fn fill_zone(mut findings: Vec<Finding>, zone: &str) -> Vec<Finding> {
    for f in &mut findings {
        if f.zone.is_empty() {
            f.zone = zone.to_string();
        }
    }
    findings
}

fn ds_report(ds: &DS, matches: bool) -> DsReport {
    DsReport {
        tag: ds.key_tag(),
        algorithm: u8::from(ds.algorithm()),
        digest_type: u8::from(ds.digest_type()),
        matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_times_use_serial_arithmetic() {
        let now: i64 = 1_800_000_000;
        assert_eq!(serial_time(now as u32 + 3600, now), now + 3600);
        assert_eq!(serial_time(now as u32 - 86_400, now), now - 86_400);
        // After 2106 the 32-bit field wraps; the nearest time to `now` is meant.
        let later: i64 = (1i64 << 32) + 100;
        assert_eq!(serial_time(200, later), later + 100);
    }

    #[test]
    fn expiry_warnings_follow_the_validity_period() {
        let now: i64 = 1_800_000_000;
        let day = 86_400;
        let clock = Clock {
            now,
            warn_days: 7,
            warn_share: DEFAULT_WARN_SHARE,
        };
        // dnssec-signzone's default: 30-day signatures, re-signed with a quarter left.
        let left = 30 * day / 4 + 1;
        assert!(!clock.expires_soon(now + left - 30 * day, now + left, left));
        // Knot's default: 14-day signatures, re-signed 7 days before they end.
        let left = 7 * day + 1;
        assert!(!clock.expires_soon(now + left - 14 * day, now + left, left));
        // Mid-cycle, 5 of 14 days left: within --warn-days, but healthy.
        let left = 5 * day;
        assert!(!clock.expires_soon(now + left - 14 * day, now + left, left));
        // Past the signer's refresh point by days: the signer stopped.
        let left = 2 * day;
        assert!(clock.expires_soon(now + left - 14 * day, now + left, left));
        assert!(clock.expires_soon(now + left - 30 * day, now + left, left));
        // A one-year signature with 8 days left is above --warn-days.
        let left = 8 * day;
        assert!(!clock.expires_soon(now + left - 365 * day, now + left, left));
        // Both thresholds are configurable.
        let strict = Clock {
            warn_share: 50,
            warn_days: 10,
            ..clock
        };
        let left = 7 * day - 1;
        assert!(strict.expires_soon(now + left - 14 * day, now + left, left));
    }

    #[test]
    fn findings_on_every_server_lose_the_server() {
        let f = |code| Finding::new(code, "", "d").record("x. SOA");
        let merged = merge_servers(
            vec![
                (
                    "a".into(),
                    vec![f(Code::RrsigExpired), f(Code::RrsigInvalid)],
                ),
                ("b".into(), vec![f(Code::RrsigExpired)]),
            ],
            2,
        );
        let expired: Vec<_> = merged
            .iter()
            .filter(|m| m.code == Code::RrsigExpired)
            .collect();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].server, None);
        let invalid: Vec<_> = merged
            .iter()
            .filter(|m| m.code == Code::RrsigInvalid)
            .collect();
        assert_eq!(invalid.len(), 1);
        assert_eq!(invalid[0].server.as_deref(), Some("a"));
    }

    #[test]
    fn par_map_keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = par_map(&items, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
