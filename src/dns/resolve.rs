//! Fetching RRsets with their signatures and denial proofs, and walking the chain of trust
//! from a trust anchor down to them (RFC 1034 section 5.3.3, RFC 4035 sections 4 and 5).
//!
//! Two sources: iterative from root server addresses (RD off, following referrals, taking the
//! DS set from each referral, glue or a separate address resolution for the name servers), or
//! a resolver asked with RD+CD (the zone cuts are found from the RRSIG signer names and the DS
//! sets fetched and checked by the tool). Either way every RRset used is checked by
//! [`crate::dns::validate`]: a resolver's AD bit is never looked at.
//!
//! One [`Resolver`] is one run's cache: validated zones (DS set, DNSKEY set, servers) are kept,
//! so shared ancestors (root, TLDs) are fetched and validated once, and concurrent lookups of
//! the same zone wait for one fetch (`tokio::sync::OnceCell` per zone). Failures are not
//! cached: a later lookup tries again.
//!
//! # Limitations
//! CNAME and DNAME answers are reported, not followed. Name server addresses are resolved
//! without validation (they only decide where to ask; what comes back is validated), and only
//! the first name server without glue is resolved when a referral carries no glue at all.
//! Validated DNSKEY sets are kept for the whole run; a long `wait` calls [`Resolver::forget`]
//! for a zone whose serial moved.

// Failure reasons carry owner names (inline label storage makes them large); they are built
// once per failed lookup, so boxing them would buy nothing.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::dotless;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::sync::OnceCell;

use super::anchor::{Anchor, TrustAnchors};
use super::query::{Mode, Transport};
use super::validate::{
    as_ds, as_rrsig, check_denial_within, check_dnskeys_within, check_wildcard_expansion_within,
    denial_rrsets, rrset, sigs_for, verify_rrset_within, BogusReason, Budget, Denial, DenialFlaw,
    KeySetCheck, Limit, SigWindow, Work, ZoneChain, MAX_ZONE_DEPTH,
};

tokio::task_local! {
    /// The work counters of the organisation whose lookups run in this task.
    static ORG_WORK: Arc<Work>;
}

/// Run `f` (one organisation's lookups, all in this task) with its validation work counted in
/// `work` and bounded per organisation ([`super::validate::MAX_SIG_CHECKS_PER_ORG`] and
/// [`super::validate::MAX_NSEC3_HASHES_PER_ORG`]). Zones that `f` is the first to establish
/// are charged to it; zones already cached cost nothing.
pub async fn within_org<F: std::future::Future>(work: Arc<Work>, f: F) -> F::Output {
    ORG_WORK.scope(work, f).await
}

/// Where the data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Iterative resolution starting at these root server addresses.
    Iterative {
        /// Root server addresses (with port).
        roots: Vec<SocketAddr>,
    },
    /// A resolver asked with RD and CD set; everything it returns is validated here.
    Resolver(SocketAddr),
}

/// The IANA root server addresses (a.root-servers.net to m.root-servers.net, IPv4).
pub const ROOT_HINTS: [&str; 13] = [
    "198.41.0.4:53",
    "170.247.170.2:53",
    "192.33.4.12:53",
    "199.7.91.13:53",
    "192.203.230.10:53",
    "192.5.5.241:53",
    "192.112.36.4:53",
    "198.97.190.53:53",
    "192.36.148.17:53",
    "192.58.128.30:53",
    "193.0.14.129:53",
    "199.7.83.42:53",
    "202.12.27.33:53",
];

/// The built-in root hints as socket addresses.
pub fn root_hints() -> Vec<SocketAddr> {
    ROOT_HINTS.iter().filter_map(|s| s.parse().ok()).collect()
}

/// The DNSSEC outcome of one lookup.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The RRset exists and validated along the whole chain.
    Secure {
        /// The records (owner = the name asked).
        rrset: Vec<Record>,
        /// The RRSIGs over it.
        rrsigs: Vec<Record>,
    },
    /// The name or the type provably does not exist (validated NXDOMAIN or NODATA).
    Absent {
        /// The zone that proved it.
        zone: Name,
        /// NXDOMAIN (true) or NODATA (false).
        nxdomain: bool,
    },
    /// The chain of trust provably ends above the name: the data cannot be validated.
    Insecure {
        /// Where the chain stops.
        at_zone: Name,
        /// Why, as a sentence.
        why: String,
    },
    /// Validation failed.
    Bogus {
        /// The reason.
        why: BogusReason,
    },
    /// No server gave an answer.
    Unreachable {
        /// The servers tried.
        servers: Vec<SocketAddr>,
        /// What happened.
        why: String,
    },
}

impl Lookup {
    /// A sentence for people: why the lookup is not secure (or a summary when it is).
    pub fn describe(&self) -> String {
        match self {
            Lookup::Secure { rrset, .. } => format!("secure ({} records)", rrset.len()),
            Lookup::Absent { zone, nxdomain } => format!(
                "proven {} by {}",
                if *nxdomain {
                    "not to exist"
                } else {
                    "to have no such record"
                },
                dotless(zone)
            ),
            Lookup::Insecure { why, .. } => why.clone(),
            Lookup::Bogus { why } => why.to_string(),
            Lookup::Unreachable { why, .. } => why.clone(),
        }
    }

    /// The zone whose keys signed a secure RRset.
    pub fn signer(&self) -> Option<&Name> {
        match self {
            Lookup::Secure { rrsigs, .. } => rrsigs
                .iter()
                .filter_map(as_rrsig)
                .map(|s| &s.input().signer_name)
                .next(),
            _ => None,
        }
    }
}

/// A zone the walk reached.
#[derive(Debug, Clone)]
enum ZoneState {
    Secure {
        chain: Arc<ZoneChain>,
        servers: Vec<SocketAddr>,
        /// Zone cuts from the trust anchor's zone (0) along the zone's own name.
        depth: u32,
    },
    Insecure {
        at_zone: Name,
        why: String,
    },
}

type Cell = Arc<OnceCell<ZoneState>>;

fn state_zone(state: &ZoneState) -> &Name {
    match state {
        ZoneState::Secure { chain, .. } => &chain.zone,
        ZoneState::Insecure { at_zone, .. } => at_zone,
    }
}

/// One run's resolution machinery: transport, anchors, caches.
#[derive(Debug)]
pub struct Resolver {
    transport: Transport,
    anchors: TrustAnchors,
    source: Source,
    zones: Mutex<HashMap<Name, Cell>>,
    addrs: Mutex<HashMap<Name, Vec<SocketAddr>>>,
    cuts: Mutex<HashMap<Name, Arc<tokio::sync::Mutex<bool>>>>,
    work: Work,
}

/// Longest chain of referrals followed to find a name server's address (unvalidated).
const MAX_STEPS: usize = 40;

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

impl Resolver {
    /// A resolver for one run.
    pub fn new(
        anchors: TrustAnchors,
        source: Source,
        timeout: Duration,
        concurrency: usize,
    ) -> Resolver {
        Resolver {
            transport: Transport::new(timeout, concurrency),
            anchors,
            source,
            zones: Mutex::new(HashMap::new()),
            addrs: Mutex::new(HashMap::new()),
            cuts: Mutex::new(HashMap::new()),
            work: Work::default(),
        }
    }

    /// The validation work of this run so far (signature checks, NSEC3 hashes).
    pub fn work(&self) -> &Work {
        &self.work
    }

    /// Run `f` with the budget of this run and of the organisation of the current task.
    fn with_budget<R>(&self, f: impl FnOnce(Budget<'_>) -> R) -> R {
        let org = ORG_WORK.try_with(Arc::clone).ok();
        f(Budget {
            run: Some(&self.work),
            org: org.as_deref(),
        })
    }

    /// The depth (zone cuts below the anchor) of a zone this run validated; for a zone no
    /// longer cached (forgotten meanwhile), its label count below the anchor, which is never
    /// less.
    fn depth_of(&self, zone: &Name) -> u32 {
        let cell = self.zones.lock().ok().and_then(|z| z.get(zone).cloned());
        if let Some(ZoneState::Secure { depth, .. }) = cell.as_ref().and_then(|c| c.get()) {
            return *depth;
        }
        let anchor = self.anchors.closest(zone).map_or(0, |a| a.num_labels());
        u32::from(zone.num_labels().saturating_sub(anchor))
    }

    /// Number of DNS messages sent so far.
    pub fn queries_sent(&self) -> u64 {
        self.transport.queries_sent()
    }

    /// The transport, for callers that probe servers directly.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The source of this run.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The validated chain data of a zone, if the run reached it securely.
    pub fn chain(&self, zone: &Name) -> Option<Arc<ZoneChain>> {
        let cell = self.zones.lock().ok()?.get(zone).cloned()?;
        match cell.get() {
            Some(ZoneState::Secure { chain, .. }) => Some(chain.clone()),
            _ => None,
        }
    }

    /// All zones validated so far (for reports), sorted by name.
    pub fn chains(&self) -> Vec<Arc<ZoneChain>> {
        let cells: Vec<Cell> = match self.zones.lock() {
            Ok(z) => z.values().cloned().collect(),
            Err(_) => return Vec::new(),
        };
        let mut out: Vec<Arc<ZoneChain>> = cells
            .iter()
            .filter_map(|c| match c.get() {
                Some(ZoneState::Secure { chain, .. }) => Some(chain.clone()),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.zone.cmp(&b.zone));
        out
    }

    /// Drop what is cached about `zone` (its keys are fetched and validated again next time).
    pub fn forget(&self, zone: &Name) {
        if let Ok(mut z) = self.zones.lock() {
            z.remove(zone);
        }
    }

    /// The authoritative server addresses known for a zone (iterative mode), or found by
    /// asking for its NS set and their addresses (either mode).
    pub async fn zone_servers(&self, zone: &Name) -> Vec<SocketAddr> {
        if let Source::Iterative { .. } = self.source {
            let cell = self.zones.lock().ok().and_then(|z| z.get(zone).cloned());
            if let Some(ZoneState::Secure { servers, .. }) = cell.as_ref().and_then(|c| c.get()) {
                if !servers.is_empty() {
                    return servers.clone();
                }
            }
        }
        let ns = match self.lookup(zone, RecordType::NS).await {
            Lookup::Secure { rrset, .. } => rrset,
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        for r in ns {
            if let RData::NS(n) = &r.data {
                out.extend(self.addresses(&n.0, 0).await);
            }
        }
        out
    }

    fn cut_lock(&self, label: &Name) -> Arc<tokio::sync::Mutex<bool>> {
        let mut c = self.cuts.lock().unwrap_or_else(|e| e.into_inner());
        c.entry(label.clone()).or_default().clone()
    }

    fn cell(&self, zone: &Name) -> Cell {
        let mut z = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        z.entry(zone.clone()).or_default().clone()
    }

    fn mode(&self) -> Mode {
        match self.source {
            Source::Iterative { .. } => Mode::Iterative,
            Source::Resolver(_) => Mode::Resolver,
        }
    }

    fn servers_of(&self, state: &ZoneState) -> Vec<SocketAddr> {
        match (&self.source, state) {
            (Source::Resolver(r), _) => vec![*r],
            (Source::Iterative { .. }, ZoneState::Secure { servers, .. }) => servers.clone(),
            (Source::Iterative { roots }, ZoneState::Insecure { .. }) => roots.clone(),
        }
    }

    /// The deepest zone already validated at or above `name`, below or at `floor`.
    fn deepest_known(&self, name: &Name, floor: &Name) -> Option<ZoneState> {
        let z = self.zones.lock().ok()?;
        let mut n = name.clone();
        loop {
            if let Some(state) = z.get(&n).and_then(|c| c.get()) {
                return Some(state.clone());
            }
            if &n == floor || n.is_root() {
                return None;
            }
            n = n.base_name();
        }
    }

    /// Fetch `name`/`rtype` and validate it along the chain from the closest trust anchor.
    pub async fn lookup(&self, name: &Name, rtype: RecordType) -> Lookup {
        Box::pin(self.lookup_inner(name, rtype)).await
    }

    async fn lookup_inner(&self, name: &Name, rtype: RecordType) -> Lookup {
        let Some(anchor) = self.anchors.closest(name).cloned() else {
            return Lookup::Insecure {
                at_zone: Name::root(),
                why: format!("no trust anchor covers {}", dotless(name)),
            };
        };
        // A DS RRset lives at the parent side of a cut: start above the name.
        let start = if rtype == RecordType::DS && !name.is_root() && name != &anchor {
            name.base_name()
        } else {
            name.clone()
        };
        let mut zone = match self.deepest_known(&start, &anchor) {
            Some(z) => z,
            None => match self.anchor_zone(&anchor).await {
                Ok(z) => z,
                Err(l) => return l,
            },
        };
        // Every turn descends to a zone with more labels, so the name's label count bounds
        // the turns; the depth limit itself is counted per zone (see `fetch_keys`).
        for _ in 0..=(name.num_labels() as usize + 1) {
            let chain = match &zone {
                ZoneState::Secure { chain, .. } => chain.clone(),
                ZoneState::Insecure { at_zone, why } => {
                    return Lookup::Insecure {
                        at_zone: at_zone.clone(),
                        why: why.clone(),
                    }
                }
            };
            // Lookups that go through the same label below this zone ask one at a time until
            // the cut there is known, so one referral and one DNSKEY fetch serve them all.
            let lock = (name.num_labels() > chain.zone.num_labels())
                .then(|| self.cut_lock(&name.trim_to(chain.zone.num_labels() as usize + 1)));
            let mut guard = match &lock {
                Some(m) => Some(m.lock().await),
                None => None,
            };
            if guard.is_some() {
                if let Some(deeper) = self.deepest_known(&start, &anchor) {
                    if state_zone(&deeper).num_labels() > chain.zone.num_labels() {
                        zone = deeper;
                        continue;
                    }
                }
                if guard.as_deref() == Some(&true) {
                    guard = None;
                }
            }
            let servers = self.servers_of(&zone);
            let msg = match self
                .transport
                .query(&servers, name, rtype, self.mode())
                .await
            {
                Ok(m) => m,
                Err(e) => {
                    return Lookup::Unreachable {
                        servers: e.servers.clone(),
                        why: e.to_string(),
                    }
                }
            };
            if let Some(child) = referral_child(&msg, &chain.zone, name, rtype) {
                if deeper_signer(&msg, &chain.zone, &child).is_some() {
                    // The referring zone lies below this one (establishing it looks up its DS
                    // through the same label, so the lock is let go first).
                    drop(guard.take());
                }
                let chain = match self.referring_zone(&chain, &servers, &child, &msg).await {
                    Ok(z) => z,
                    Err(l) => return l,
                };
                match self.referral(&chain, &child, &msg).await {
                    Ok(z) => {
                        zone = z;
                        continue;
                    }
                    Err(l) => return l,
                }
            }
            // No cut at that label as seen from this zone: stop serialising there.
            if let Some(g) = guard.as_mut() {
                **g = true;
            }
            drop(guard);
            match self.step(&chain, &servers, name, rtype, &msg).await {
                Step::Done(l) => return l,
                Step::Descend(z) => zone = z,
            }
        }
        Lookup::Bogus {
            why: BogusReason::Unexpected {
                name: name.clone(),
                rtype,
                why: "referrals that do not lead down the name",
            },
        }
    }

    /// The trust-anchored zone: its DNSKEY set checked against the anchors.
    async fn anchor_zone(&self, zone: &Name) -> Result<ZoneState, Lookup> {
        let cell = self.cell(zone);
        cell.get_or_try_init(|| async {
            let servers = match &self.source {
                Source::Iterative { roots } => roots.clone(),
                Source::Resolver(r) => vec![*r],
            };
            let mut ds = Vec::new();
            let mut keys = Vec::new();
            for a in self.anchors.for_zone(zone) {
                match a {
                    Anchor::Ds { ds: d, .. } => ds.push(d.clone()),
                    Anchor::Key { key, .. } => keys.push(key.clone()),
                }
            }
            self.fetch_keys(zone, None, &ds, &keys, Vec::new(), servers, 0)
                .await
        })
        .await
        .cloned()
    }

    /// Fetch a zone's DNSKEY set from `servers` and check it against `ds` (or anchor keys).
    /// `depth` is the zone's count of cuts below the anchor: over [`MAX_ZONE_DEPTH`] nothing
    /// is fetched and the zone is over budget.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_keys(
        &self,
        zone: &Name,
        parent: Option<&Name>,
        ds: &[hickory_proto::dnssec::rdata::DS],
        anchor_keys: &[hickory_proto::dnssec::rdata::DNSKEY],
        ds_sigs: Vec<SigWindow>,
        servers: Vec<SocketAddr>,
        depth: u32,
    ) -> Result<ZoneState, Lookup> {
        if depth > MAX_ZONE_DEPTH {
            return Err(Lookup::Bogus {
                why: BogusReason::OverBudget {
                    zone: zone.clone(),
                    limit: Limit::ZoneDepth,
                },
            });
        }
        let msg = self
            .transport
            .query(&servers, zone, RecordType::DNSKEY, self.mode())
            .await
            .map_err(|e| Lookup::Unreachable {
                servers: e.servers.clone(),
                why: e.to_string(),
            })?;
        let keys = rrset(&msg.answers, zone, RecordType::DNSKEY);
        let sigs = sigs_for(&msg.answers, zone, RecordType::DNSKEY);
        let check = self.with_budget(|b| {
            check_dnskeys_within(
                zone,
                parent,
                ds,
                anchor_keys,
                ds_sigs,
                &keys,
                &sigs,
                now(),
                b,
            )
        });
        match check {
            KeySetCheck::Secure(chain) => Ok(ZoneState::Secure {
                chain: Arc::new(chain),
                servers,
                depth,
            }),
            KeySetCheck::Unsupported { what } => Ok(ZoneState::Insecure {
                at_zone: zone.clone(),
                why: format!(
                    "{} is signed only with algorithms this tool cannot check ({what}): insecure",
                    dotless(zone)
                ),
            }),
            KeySetCheck::Bogus(why) => Err(Lookup::Bogus { why }),
        }
    }

    /// Interpret one answer from the servers of `zone`.
    async fn step(
        &self,
        zone: &Arc<ZoneChain>,
        servers: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
        msg: &Message,
    ) -> Step {
        let answer = rrset(&msg.answers, name, rtype);
        if !answer.is_empty() {
            let sigs = sigs_for(&msg.answers, name, rtype);
            if sigs.is_empty() {
                return Step::Done(self.unsigned(zone, servers, name, rtype).await);
            }
            let zone = match self.signing_zone(zone, servers, name, rtype, &sigs).await {
                Ok(z) => z,
                Err(l) => return Step::Done(l),
            };
            let keys: Vec<_> = zone.zone_keys().map(|k| &k.key).collect();
            let verified = self
                .with_budget(|b| verify_rrset_within(&answer, &sigs, &zone.zone, &keys, now(), b));
            return Step::Done(match verified {
                Err(why) => Lookup::Bogus { why },
                Ok(v) => {
                    if let Some(encloser) = v.wildcard_parent {
                        let proof = match self.validated_denial_records(&zone, msg) {
                            Ok(p) => p,
                            Err(why) => return Step::Done(Lookup::Bogus { why }),
                        };
                        let covered = self.with_budget(|b| {
                            check_wildcard_expansion_within(name, &encloser, &zone.zone, &proof, b)
                        });
                        let covered = match covered {
                            Ok(c) => c,
                            Err(why) => return Step::Done(Lookup::Bogus { why }),
                        };
                        if !covered {
                            return Step::Done(Lookup::Bogus {
                                why: BogusReason::BadDenial {
                                    name: name.clone(),
                                    rtype,
                                    zone: zone.zone.clone(),
                                    why: DenialFlaw::NameNotCovered,
                                },
                            });
                        }
                    }
                    Lookup::Secure {
                        rrset: answer,
                        rrsigs: sigs,
                    }
                }
            });
        }
        if rtype != RecordType::CNAME {
            if let Some(RData::CNAME(target)) = msg
                .answers
                .iter()
                .find(|r| &r.name == name && r.record_type() == RecordType::CNAME)
                .map(|r| &r.data)
            {
                return Step::Done(Lookup::Bogus {
                    why: BogusReason::Cname {
                        name: name.clone(),
                        target: target.0.clone(),
                    },
                });
            }
        }
        let rcode = msg.metadata.response_code;
        if let Some(child) = referral_child(msg, &zone.zone, name, rtype) {
            let zone = match self.referring_zone(zone, servers, &child, msg).await {
                Ok(z) => z,
                Err(l) => return Step::Done(l),
            };
            return match self.referral(&zone, &child, msg).await {
                Ok(z) => Step::Descend(z),
                Err(l) => Step::Done(l),
            };
        }
        // A negative answer: NXDOMAIN or NODATA, proven by NSEC/NSEC3 of the zone.
        let nxdomain = rcode == ResponseCode::NXDomain;
        let soa_owner = msg
            .authorities
            .iter()
            .find(|r| r.record_type() == RecordType::SOA)
            .map(|r| r.name.clone());
        let signers: Vec<Name> = msg
            .authorities
            .iter()
            .filter_map(as_rrsig)
            .map(|s| s.input().signer_name.clone())
            .collect();
        if signers.is_empty() {
            return Step::Done(self.unsigned(zone, servers, name, rtype).await);
        }
        let claimed = soa_owner.unwrap_or_else(|| signers[0].clone());
        let zone = if claimed == zone.zone {
            zone.clone()
        } else {
            match self
                .signing_zone_named(zone, servers, name, rtype, &claimed)
                .await
            {
                Ok(z) => z,
                Err(l) => return Step::Done(l),
            }
        };
        let proof = match self.validated_denial_records(&zone, msg) {
            Ok(p) => p,
            Err(why) => return Step::Done(Lookup::Bogus { why }),
        };
        let denial =
            self.with_budget(|b| check_denial_within(name, rtype, &zone.zone, nxdomain, &proof, b));
        Step::Done(
            match denial {
                Ok(Denial::NxDomain) => Lookup::Absent {
                    zone: zone.zone.clone(),
                    nxdomain: true,
                },
                Ok(Denial::NoData) => Lookup::Absent {
                    zone: zone.zone.clone(),
                    nxdomain: false,
                },
                Ok(Denial::UnsignedDelegation) => {
                    let why = format!(
                        "{} is an unsigned delegation from {}: insecure",
                        dotless(name),
                        dotless(&zone.zone)
                    );
                    // Remember the insecure cut: later lookups below it stop there at once.
                    let _ = self.cell(name).set(ZoneState::Insecure {
                        at_zone: name.clone(),
                        why: why.clone(),
                    });
                    Lookup::Insecure {
                        at_zone: name.clone(),
                        why,
                    }
                }
                Ok(Denial::OptOut { name: span }) => Lookup::Insecure {
                    at_zone: zone.zone.clone(),
                    why: format!(
                        "{} lies in an NSEC3 opt-out span of {} (an unsigned delegation may exist): insecure",
                        dotless(&span),
                        dotless(&zone.zone)
                    ),
                },
                Ok(Denial::TooManyIterations { iterations }) => Lookup::Insecure {
                    at_zone: zone.zone.clone(),
                    why: format!(
                        "NSEC3 of {} uses {iterations} iterations, above the limit of {} (RFC 9276): insecure",
                        dotless(&zone.zone),
                        super::validate::NSEC3_MAX_ITERATIONS
                    ),
                },
                Err(why) => Lookup::Bogus { why },
            },
        )
    }

    /// Every NSEC/NSEC3 RRset of the authority section, each checked against the zone's keys.
    fn validated_denial_records(
        &self,
        zone: &ZoneChain,
        msg: &Message,
    ) -> Result<Vec<Record>, BogusReason> {
        let keys: Vec<_> = zone.zone_keys().map(|k| &k.key).collect();
        let mut out = Vec::new();
        for (owner, t) in denial_rrsets(&msg.authorities, &zone.zone)? {
            let set = rrset(&msg.authorities, &owner, t);
            let sigs = sigs_for(&msg.authorities, &owner, t);
            self.with_budget(|b| verify_rrset_within(&set, &sigs, &zone.zone, &keys, now(), b))?;
            out.extend(set);
        }
        Ok(out)
    }

    /// The zone that signed an answer: this zone, or a zone below it found by its signer name.
    async fn signing_zone(
        &self,
        zone: &Arc<ZoneChain>,
        servers: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
        sigs: &[Record],
    ) -> Result<Arc<ZoneChain>, Lookup> {
        let signers: Vec<&Name> = sigs
            .iter()
            .filter_map(as_rrsig)
            .map(|s| &s.input().signer_name)
            .collect();
        if signers.iter().any(|s| **s == zone.zone) {
            return Ok(zone.clone());
        }
        // The deepest signer between the zone and the name.
        let below = signers
            .iter()
            .filter(|s| zone.zone.zone_of(s) && s.zone_of(name))
            .max_by_key(|s| s.num_labels());
        match below {
            Some(s) => {
                let s = (*s).clone();
                self.signing_zone_named(zone, servers, name, rtype, &s)
                    .await
            }
            // Let the signature check name the wrong signer.
            None => Ok(zone.clone()),
        }
    }

    /// Establish the zone `signer` (a descendant of `zone`, at or above `name`) through its DS.
    async fn signing_zone_named(
        &self,
        zone: &Arc<ZoneChain>,
        servers: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
        signer: &Name,
    ) -> Result<Arc<ZoneChain>, Lookup> {
        let proper = zone.zone.zone_of(signer)
            && signer != &zone.zone
            && signer.zone_of(name)
            && !(rtype == RecordType::DS && signer == name);
        if !proper {
            return Err(Lookup::Bogus {
                why: BogusReason::Unexpected {
                    name: name.clone(),
                    rtype,
                    why: "signed by a zone outside the name's chain of zones",
                },
            });
        }
        // The zones between `zone` and `signer` are established first, from the top down (a DS
        // lookup per label not yet known), so establishing `signer` never nests one lookup per
        // cut above it: a chain of many cuts costs queries, not stack.
        if self.known(signer).is_none() {
            let mut depth = zone.zone.num_labels() + 1;
            while depth < signer.num_labels() {
                let cut = signer.trim_to(depth as usize);
                depth += 1;
                match self.known(&cut) {
                    Some(ZoneState::Secure { .. }) => continue,
                    Some(ZoneState::Insecure { at_zone, why }) => {
                        return Err(Lookup::Insecure { at_zone, why })
                    }
                    None => {}
                }
                match self.lookup(&cut, RecordType::DS).await {
                    ds @ Lookup::Secure { .. } => {
                        self.establish(zone, servers, name, rtype, &cut, Some(ds))
                            .await?;
                    }
                    // Not a cut.
                    Lookup::Absent { .. } => {}
                    Lookup::Insecure { at_zone, why } => {
                        return Err(Lookup::Insecure { at_zone, why })
                    }
                    other => return Err(other),
                }
            }
        }
        self.establish(zone, servers, name, rtype, signer, None)
            .await
    }

    /// The cached state of `zone`, if any.
    fn known(&self, zone: &Name) -> Option<ZoneState> {
        self.zones
            .lock()
            .ok()
            .and_then(|z| z.get(zone).and_then(|c| c.get().cloned()))
    }

    /// Establish the zone `signer` through its DS (`ds`, the lookup already made, or looked up
    /// at its parent now).
    async fn establish(
        &self,
        zone: &Arc<ZoneChain>,
        servers: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
        signer: &Name,
        ds: Option<Lookup>,
    ) -> Result<Arc<ZoneChain>, Lookup> {
        let cell = self.cell(signer);
        let state = cell
            .get_or_try_init(|| async {
                let ds = match ds {
                    Some(l) => l,
                    None => self.lookup(signer, RecordType::DS).await,
                };
                match ds {
                    Lookup::Secure { rrset, rrsigs } => {
                        let parent = rrsigs
                            .iter()
                            .filter_map(as_rrsig)
                            .map(|s| s.input().signer_name.clone())
                            .next()
                            .unwrap_or_else(|| zone.zone.clone());
                        let ds: Vec<_> = rrset.iter().filter_map(as_ds).cloned().collect();
                        let ds_sigs = rrsigs
                            .iter()
                            .filter_map(as_rrsig)
                            .map(SigWindow::of)
                            .collect();
                        let depth = self.depth_of(&parent) + 1;
                        self.fetch_keys(
                            signer,
                            Some(&parent),
                            &ds,
                            &[],
                            ds_sigs,
                            servers.to_vec(),
                            depth,
                        )
                        .await
                    }
                    Lookup::Insecure { at_zone, why } => Ok(ZoneState::Insecure { at_zone, why }),
                    Lookup::Absent { .. } => Err(Lookup::Bogus {
                        why: BogusReason::Unexpected {
                            name: name.clone(),
                            rtype,
                            why: "signed by a name that is not a delegated zone (no DS and no delegation at its parent)",
                        },
                    }),
                    other => Err(other),
                }
            })
            .await?
            .clone();
        match state {
            ZoneState::Secure { chain, .. } => Ok(chain),
            ZoneState::Insecure { at_zone, why } => Err(Lookup::Insecure { at_zone, why }),
        }
    }

    /// The zone a referral to `child` comes from: `zone`, or a zone between it and `child` that
    /// the same servers also serve (`uk` and `co.uk` on one server: the referral to
    /// `ogr4.co.uk` comes from `co.uk`), named by the signer of the DS or denial records.
    async fn referring_zone(
        &self,
        zone: &Arc<ZoneChain>,
        servers: &[SocketAddr],
        child: &Name,
        msg: &Message,
    ) -> Result<Arc<ZoneChain>, Lookup> {
        match deeper_signer(msg, &zone.zone, child) {
            Some(signer) => {
                self.signing_zone_named(zone, servers, child, RecordType::DS, &signer)
                    .await
            }
            None => Ok(zone.clone()),
        }
    }

    /// A referral from `zone` to `child`: DS (or proof of none), name servers, child's keys.
    async fn referral(
        &self,
        zone: &Arc<ZoneChain>,
        child: &Name,
        msg: &Message,
    ) -> Result<ZoneState, Lookup> {
        let cell = self.cell(child);
        cell.get_or_try_init(|| async {
            let keys: Vec<_> = zone.zone_keys().map(|k| &k.key).collect();
            let ds_set = rrset(&msg.authorities, child, RecordType::DS);
            let ds_rrsigs = sigs_for(&msg.authorities, child, RecordType::DS);
            if ds_set.is_empty() {
                let proof = self
                    .validated_denial_records(zone, msg)
                    .map_err(|why| Lookup::Bogus { why })?;
                if proof.is_empty() {
                    return Err(Lookup::Bogus {
                        why: BogusReason::UnprovenDelegation {
                            zone: child.clone(),
                            parent: zone.zone.clone(),
                        },
                    });
                }
                let denial = self.with_budget(|b| {
                    check_denial_within(child, RecordType::DS, &zone.zone, false, &proof, b)
                });
                return match denial {
                    Ok(Denial::UnsignedDelegation) => Ok(ZoneState::Insecure {
                        at_zone: child.clone(),
                        why: format!(
                            "{} is an unsigned delegation from {}: insecure",
                            dotless(child),
                            dotless(&zone.zone)
                        ),
                    }),
                    Ok(Denial::OptOut { .. }) => Ok(ZoneState::Insecure {
                        at_zone: child.clone(),
                        why: format!(
                            "{} is an unsigned delegation from {} (NSEC3 opt-out): insecure",
                            dotless(child),
                            dotless(&zone.zone)
                        ),
                    }),
                    Ok(Denial::TooManyIterations { iterations }) => Ok(ZoneState::Insecure {
                        at_zone: zone.zone.clone(),
                        why: format!(
                            "NSEC3 of {} uses {iterations} iterations, above the limit of {} (RFC 9276): insecure",
                            dotless(&zone.zone),
                            super::validate::NSEC3_MAX_ITERATIONS
                        ),
                    }),
                    Ok(_) => Err(Lookup::Bogus {
                        why: BogusReason::UnprovenDelegation {
                            zone: child.clone(),
                            parent: zone.zone.clone(),
                        },
                    }),
                    Err(why) => Err(Lookup::Bogus { why }),
                };
            }
            self.with_budget(|b| {
                verify_rrset_within(&ds_set, &ds_rrsigs, &zone.zone, &keys, now(), b)
            })
            .map_err(|why| Lookup::Bogus { why })?;
            let ds: Vec<_> = ds_set.iter().filter_map(as_ds).cloned().collect();
            let servers = self.referral_servers(child, msg).await;
            let ds_sigs = ds_rrsigs
                .iter()
                .filter_map(as_rrsig)
                .map(SigWindow::of)
                .collect();
            let depth = self.depth_of(&zone.zone) + 1;
            self.fetch_keys(child, Some(&zone.zone), &ds, &[], ds_sigs, servers, depth)
                .await
        })
        .await
        .cloned()
    }

    /// Server addresses of a referral: glue, else the name servers' addresses resolved.
    async fn referral_servers(&self, child: &Name, msg: &Message) -> Vec<SocketAddr> {
        if let Source::Resolver(r) = self.source {
            return vec![r];
        }
        let ns: Vec<Name> = msg
            .authorities
            .iter()
            .filter(|r| &r.name == child)
            .filter_map(|r| match &r.data {
                RData::NS(n) => Some(n.0.clone()),
                _ => None,
            })
            .collect();
        let mut out = glue(msg, &ns);
        if out.is_empty() {
            for n in &ns {
                out = self.addresses(n, 0).await;
                if !out.is_empty() {
                    break;
                }
            }
        }
        out
    }

    /// Addresses of a host name, resolved without validation (they only say where to ask).
    pub async fn addresses(&self, host: &Name, depth: u8) -> Vec<SocketAddr> {
        Box::pin(self.addresses_inner(host, depth)).await
    }

    async fn addresses_inner(&self, host: &Name, depth: u8) -> Vec<SocketAddr> {
        if let Some(a) = self.addrs.lock().ok().and_then(|m| m.get(host).cloned()) {
            return a;
        }
        if depth > 4 {
            return Vec::new();
        }
        let mut found = Vec::new();
        match &self.source {
            Source::Resolver(r) => {
                for t in [RecordType::A, RecordType::AAAA] {
                    if let Ok(m) = self.transport.query(&[*r], host, t, Mode::Resolver).await {
                        found.extend(addrs_in(&m.answers, host));
                    }
                }
            }
            Source::Iterative { roots } => {
                let mut servers = match self.deepest_known(host, &Name::root()) {
                    Some(ZoneState::Secure { servers, .. }) if !servers.is_empty() => servers,
                    _ => roots.clone(),
                };
                for _ in 0..MAX_STEPS {
                    let Ok(m) = self
                        .transport
                        .query(&servers, host, RecordType::A, Mode::Iterative)
                        .await
                    else {
                        break;
                    };
                    let a = addrs_in(&m.answers, host);
                    if !a.is_empty() || m.metadata.authoritative {
                        found = a;
                        break;
                    }
                    let ns: Vec<Name> = m
                        .authorities
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::NS(n) => Some(n.0.clone()),
                            _ => None,
                        })
                        .collect();
                    if ns.is_empty() {
                        break;
                    }
                    let mut next = glue(&m, &ns);
                    if next.is_empty() {
                        for n in ns.iter().filter(|n| *n != host) {
                            next = self.addresses(n, depth + 1).await;
                            if !next.is_empty() {
                                break;
                            }
                        }
                    }
                    if next.is_empty() {
                        break;
                    }
                    servers = next;
                }
            }
        }
        if !found.is_empty() {
            if let Ok(mut m) = self.addrs.lock() {
                m.insert(host.clone(), found.clone());
            }
        }
        found
    }

    /// An answer without any signature from a zone known to be signed: find out whether an
    /// unsigned delegation lies between the zone and the name (then insecure), else bogus.
    async fn unsigned(
        &self,
        zone: &Arc<ZoneChain>,
        servers: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
    ) -> Lookup {
        let missing = Lookup::Bogus {
            why: BogusReason::NoRrsig {
                name: name.clone(),
                rtype,
            },
        };
        let stop = if rtype == RecordType::DS {
            name.num_labels().saturating_sub(1)
        } else {
            name.num_labels()
        };
        let mut depth = zone.zone.num_labels() + 1;
        while depth <= stop {
            let cut = name.trim_to(depth as usize);
            depth += 1;
            let known = self
                .zones
                .lock()
                .ok()
                .and_then(|z| z.get(&cut).and_then(|c| c.get().cloned()));
            match known {
                Some(ZoneState::Secure { .. }) => continue,
                Some(ZoneState::Insecure { at_zone, why }) => {
                    return Lookup::Insecure { at_zone, why }
                }
                None => {}
            }
            match self.lookup(&cut, RecordType::DS).await {
                Lookup::Insecure { at_zone, why } => return Lookup::Insecure { at_zone, why },
                // Not a cut: the chain goes on below.
                Lookup::Absent { .. } => {}
                // A signed cut: the zone's keys must validate (this names e.g. a missing
                // DNSKEY set), and the chain goes on below it.
                Lookup::Secure { .. } => {
                    if let Err(l) = self
                        .signing_zone_named(zone, servers, name, rtype, &cut)
                        .await
                    {
                        return l;
                    }
                }
                other => return other,
            }
        }
        missing
    }
}

/// The child zone a referral from `zone` points to, on the way to `name`.
fn referral_child(msg: &Message, zone: &Name, name: &Name, rtype: RecordType) -> Option<Name> {
    if msg.metadata.response_code != ResponseCode::NoError
        || msg.metadata.authoritative
        || msg.answers.iter().any(|r| &r.name == name)
    {
        return None;
    }
    msg.authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS)
        .map(|r| r.name.clone())
        .find(|c| {
            c != zone
                && zone.zone_of(c)
                && c.zone_of(name)
                && !(rtype == RecordType::DS && c == name)
        })
}

/// The deepest signer of a referral's DS or denial records strictly between `zone` and
/// `child`: the zone the referral really comes from when one server serves both.
fn deeper_signer(msg: &Message, zone: &Name, child: &Name) -> Option<Name> {
    msg.authorities
        .iter()
        .filter_map(as_rrsig)
        .map(|s| &s.input().signer_name)
        .filter(|s| *s != zone && zone.zone_of(s) && s.zone_of(child) && *s != child)
        .max_by_key(|s| s.num_labels())
        .cloned()
}

/// What a referral answer offers for the next step down to a name, read from the message alone
/// (nothing fetched, nothing validated): the pure part of following a referral, public so that
/// it can be exercised on arbitrary messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralView {
    /// The child zone the referral points to.
    pub child: Name,
    /// The zone the referral really comes from when it is deeper than the zone asked (one
    /// server serving both), named by the signer of its DS or denial records.
    pub from: Option<Name>,
    /// The child's name servers.
    pub ns: Vec<Name>,
    /// Glue addresses of those name servers (port 53).
    pub glue: Vec<SocketAddr>,
}

/// The referral in `msg`, an answer from `zone` to a query for `name`/`rtype`, if it is one.
pub fn referral_view(
    msg: &Message,
    zone: &Name,
    name: &Name,
    rtype: RecordType,
) -> Option<ReferralView> {
    let child = referral_child(msg, zone, name, rtype)?;
    let from = deeper_signer(msg, zone, &child);
    let ns: Vec<Name> = msg
        .authorities
        .iter()
        .filter(|r| r.name == child)
        .filter_map(|r| match &r.data {
            RData::NS(n) => Some(n.0.clone()),
            _ => None,
        })
        .collect();
    let glue = glue(msg, &ns);
    Some(ReferralView {
        child,
        from,
        ns,
        glue,
    })
}

/// What one answer led to.
enum Step {
    /// The lookup's outcome.
    Done(Lookup),
    /// Continue at a child zone.
    Descend(ZoneState),
}

fn addrs_in(records: &[Record], host: &Name) -> Vec<SocketAddr> {
    records
        .iter()
        .filter(|r| &r.name == host)
        .filter_map(|r| r.data.ip_addr())
        .map(|ip: IpAddr| SocketAddr::new(ip, 53))
        .collect()
}

fn glue(msg: &Message, ns: &[Name]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for n in ns {
        out.extend(addrs_in(&msg.additionals, n));
    }
    out
}
