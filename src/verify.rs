//! Per-organisation verdicts: fetch every record an organisation publishes, validate each
//! along the whole DNSSEC chain (RFC 4033-4035, 5155), decode them, and say `secure`,
//! `pending`, `insecure`, `bogus` or `invalid` (SPEC section 3).
//!
//! A [`Session`] is one run: its caches make shared ancestors (root, TLD keys) cost one fetch
//! and one validation per run; [`Session::probe_serial`] is the cheap change detector `wait`
//! uses between full checks.
//!
//! Each organisation's validation work (signature checks, NSEC3 hashes) is counted and
//! bounded on its own ([`crate::dns::validate::Budget`]), so a hostile zone costs a bounded
//! amount and cannot use up the others' share; [`Session::poll_until`] ends a poll at a
//! deadline, leaving the organisations not yet checked `pending`.
//!
//! # Limitations
//! Verdicts are as of the moment of the lookups; a long `wait` re-fetches an organisation's
//! records only when its zone's SOA serial moved or it is not yet secure.

use crate::dns::dotless;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::{Name, RData, RecordType};
use serde::Serialize;

use crate::dns::anchor::TrustAnchors;
use crate::dns::query::Mode;
use crate::dns::resolve::{within_org, Resolver};
pub use crate::dns::resolve::{Lookup, Source};
use crate::dns::validate::Work;
use crate::manifest::{CeremonyId, Manifest, Org, Profile};
use crate::records::{self, FetchedRecords, Peer, PendingPop, RecordNames};

/// How one run reaches and trusts DNS.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Trust anchors (built-in IANA root or an anchor file).
    pub anchors: TrustAnchors,
    /// Iterative from roots, or through a resolver.
    pub source: Source,
    /// Timeout of one query attempt.
    pub timeout: Duration,
    /// Most queries in flight at once.
    pub concurrency: usize,
}

/// The verdict on one organisation.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All records present, chain validated, values well-formed, attestation verifies.
    Secure,
    /// A record does not exist yet (validated denial) or a server did not answer.
    Pending,
    /// A provably unsigned delegation on the path.
    Insecure,
    /// Validation failed.
    Bogus,
    /// Validated data that is unusable.
    Invalid,
}

impl Status {
    /// The lowercase word used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Secure => "secure",
            Status::Pending => "pending",
            Status::Insecure => "insecure",
            Status::Bogus => "bogus",
            Status::Invalid => "invalid",
        }
    }

    /// Whether this status refuses the ceremony (insecure, bogus, invalid).
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Insecure | Status::Bogus | Status::Invalid)
    }
}

/// What was found for one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgReport {
    /// The organisation's name in the manifest.
    pub name: String,
    /// Its validator host.
    pub host: Name,
    /// The zone that signed its records, when known.
    pub zone: Option<Name>,
    /// The zone's SOA serial, when probed (`wait`).
    pub serial: Option<u32>,
    /// The verdict.
    pub status: Status,
    /// Why it is not secure (one sentence naming record, zone and cause).
    pub reason: Option<String>,
    /// The decoded identity, when secure.
    pub peer: Option<Peer>,
}

/// The verdicts of one check of a whole manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The ceremony the records must be bound to.
    pub ceremony_id: CeremonyId,
    /// One report per organisation, in manifest order.
    pub orgs: Vec<OrgReport>,
}

impl VerifyReport {
    /// Whether every organisation is secure.
    pub fn complete(&self) -> bool {
        self.orgs.iter().all(|o| o.status == Status::Secure)
    }

    /// 0 all secure, 1 some pending, 2 any insecure/bogus/invalid (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        if self.orgs.iter().any(|o| o.status.is_failure()) {
            crate::exit::SECURITY
        } else if self.complete() {
            crate::exit::OK
        } else {
            crate::exit::PENDING
        }
    }

    /// The secure organisations and their identities, in manifest order.
    pub fn secure_peers(&self) -> Vec<(&OrgReport, &Peer)> {
        self.orgs
            .iter()
            .filter(|o| o.status == Status::Secure)
            .filter_map(|o| o.peer.as_ref().map(|p| (o, p)))
            .collect()
    }
}

/// Ownership proofs checked together in one pairing batch by `Session::check_orgs`: large enough
/// that the batch's one final exponentiation is a small share, small enough that the batches
/// start while other organisations' lookups are still running.
const POP_BATCH: usize = 64;

/// Organisations checked at once by [`Session::verify`] and [`Session::poll`].
const ORGS_AT_ONCE: usize = 128;

/// A reading kept between polls: the value, the zone it came from, and that zone's SOA serial
/// read before it (if any). See [`Session::reread`].
#[derive(Debug, Clone)]
pub struct Kept<T> {
    /// What was read.
    pub value: T,
    /// The zone it came from (or, when the last reading named none, the one before).
    pub zone: Option<Name>,
    /// The zone's serial read before `value`; `None`: look again next time.
    pub serial: Option<u32>,
}

/// One run: transport, anchors and the caches of validated zones.
///
/// Cloning is cheap and shares the caches: each organisation is checked in its own task
/// (so the signature checks of many organisations use every core) on a clone.
#[derive(Debug, Clone)]
pub struct Session {
    resolver: std::sync::Arc<Resolver>,
    /// Bounds the ownership-proof pairing batches running at once (one per core) on the
    /// blocking pool.
    checks: std::sync::Arc<tokio::sync::Semaphore>,
    /// Bounds the organisations being looked up at once, so that they finish one after another
    /// (and their CPU work spreads over the run) rather than all together at the end.
    orgs: std::sync::Arc<tokio::sync::Semaphore>,
    /// The validation work of each organisation's latest check, by validator host.
    org_work: std::sync::Arc<std::sync::Mutex<BTreeMap<Name, std::sync::Arc<Work>>>>,
}

/// The reason given for an organisation whose check the deadline cut short.
pub const DEADLINE_REASON: &str = "the deadline came before its check finished";

impl Session {
    /// A new run with empty caches.
    pub fn new(options: VerifyOptions) -> Session {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Session {
            resolver: std::sync::Arc::new(Resolver::new(
                options.anchors,
                options.source,
                options.timeout,
                options.concurrency,
            )),
            checks: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
            orgs: std::sync::Arc::new(tokio::sync::Semaphore::new(ORGS_AT_ONCE)),
            org_work: Default::default(),
        }
    }

    /// The validation work of this run so far (signature checks, NSEC3 hashes).
    pub fn work(&self) -> &Work {
        self.resolver.work()
    }

    /// The validation work of the latest check of the organisation whose validator host is
    /// `host` (zones it was the first to establish included), if it was checked.
    pub fn org_work(&self, host: &Name) -> Option<std::sync::Arc<Work>> {
        self.org_work.lock().ok()?.get(host).cloned()
    }

    /// Fetch and validate one RRset.
    pub async fn lookup(&self, name: &Name, rtype: RecordType) -> Lookup {
        self.resolver.lookup(name, rtype).await
    }

    /// Number of DNS messages sent by this run.
    pub fn queries_sent(&self) -> u64 {
        self.resolver.queries_sent()
    }

    /// The resolution machinery, with the validated chain data (for audits).
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Forget a zone's cached keys (its serial moved).
    pub fn forget(&self, zone: &Name) {
        self.resolver.forget(zone);
    }

    /// The SOA serial of `zone` asked directly from its authoritative servers (no cache in
    /// between; not validated: it only says whether to look again).
    pub async fn probe_serial(&self, zone: &Name) -> Option<u32> {
        let servers = self.resolver.zone_servers(zone).await;
        let msg = self
            .resolver
            .transport()
            .query(&servers, zone, RecordType::SOA, Mode::Iterative)
            .await
            .ok()?;
        msg.answers.iter().find_map(|r| match &r.data {
            RData::SOA(soa) if &r.name == zone => Some(soa.serial),
            _ => None,
        })
    }

    /// Check every organisation of the manifest, concurrently: each in its own task, with the
    /// ownership proofs' pairing checks batched as organisations finish (a first
    /// [`Session::poll`]: nothing to keep from before).
    pub async fn verify(&self, manifest: &Manifest) -> VerifyReport {
        self.poll(manifest, None).await
    }

    /// [`Session::poll`], ended at `deadline` if it is not done by then: the organisations whose
    /// lookups had not finished are `pending` with [`DEADLINE_REASON`] and their tasks are
    /// aborted; the ownership proofs of those that had finished are still checked (CPU work of
    /// at most one batch, no network), so their verdicts stand.
    pub async fn poll_until(
        &self,
        manifest: &Manifest,
        previous: Option<&VerifyReport>,
        deadline: tokio::time::Instant,
    ) -> VerifyReport {
        self.poll_inner(manifest, previous, Some(deadline)).await
    }

    /// Run each organisation's check in its own task (so the RRSIG and identity checks of
    /// many organisations spread over the runtime's threads, and a wake-up polls only the task
    /// it is for), at most [`ORGS_AT_ONCE`] at once, and return the reports in the order given.
    ///
    /// The ownership proofs' pairing checks left pending are batched
    /// ([`PendingPop::check_all`]) in groups of [`POP_BATCH`] as organisations finish, so they
    /// run while the lookups of the others are still under way instead of all at the end; an
    /// organisation whose proof fails becomes `invalid`. Dropping the returned future aborts
    /// the tasks still running.
    async fn check_orgs<F>(
        &self,
        checks: impl Iterator<Item = F>,
        deadline: Option<tokio::time::Instant>,
    ) -> Vec<Option<OrgReport>>
    where
        F: std::future::Future<Output = (OrgReport, Option<PendingPop>)> + Send + 'static,
    {
        let mut orgs_left = tokio::task::JoinSet::new();
        let mut n = 0;
        for (i, check) in checks.enumerate() {
            let session = self.clone();
            orgs_left.spawn(async move {
                let _turn = session.orgs.acquire().await;
                (i, check.await)
            });
            n = i + 1;
        }
        let mut orgs: Vec<Option<OrgReport>> = vec![None; n];
        let mut batch: Vec<(usize, PendingPop)> = Vec::new();
        let mut batches = tokio::task::JoinSet::new();
        loop {
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d, orgs_left.join_next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        orgs_left.abort_all();
                        break;
                    }
                },
                None => orgs_left.join_next().await,
            };
            let Some(done) = next else { break };
            let (i, (report, pending)) = task_output(done);
            orgs[i] = Some(report);
            batch.extend(pending.map(|p| (i, p)));
            if batch.len() >= POP_BATCH || (orgs_left.is_empty() && !batch.is_empty()) {
                let (session, batch) = (self.clone(), std::mem::take(&mut batch));
                batches.spawn(async move { session.failed_pops(batch).await });
            }
        }
        // Proofs still waiting for a batch (the deadline came first) are checked now: pure
        // CPU work of at most one batch, so the verdicts that came in are not lost.
        if !batch.is_empty() {
            let session = self.clone();
            batches.spawn(async move { session.failed_pops(batch).await });
        }
        while let Some(done) = batches.join_next().await {
            for (i, e) in task_output(done) {
                if let Some(o) = orgs[i].as_mut() {
                    invalidate(o, e.to_string());
                }
            }
        }
        orgs
    }

    /// Look again only when the zone changed: probe the SOA serial of `before`'s zone at its
    /// authoritative servers (no cache in between); when it is the serial `before` was read at
    /// and `still_good(&before.value)`, `before` is kept at the cost of that one query.
    /// Otherwise the zone's cached keys are dropped and `read` reads afresh (the value and the
    /// zone it came from). The fresh reading keeps the probed serial only when it came from
    /// the same zone: a serial read after the records could already include a change they do
    /// not show, and that change would then never be looked at again; a newly learned zone
    /// gets its serial on the next call (probe first, then the records).
    pub async fn reread<T, F, Fut>(
        &self,
        before: Option<Kept<T>>,
        still_good: impl FnOnce(&T) -> bool,
        read: F,
    ) -> Kept<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = (T, Option<Name>)>,
    {
        let zone = before.as_ref().and_then(|b| b.zone.clone());
        let serial = match &zone {
            Some(z) => self.probe_serial(z).await,
            None => None,
        };
        if let Some(b) = before {
            if serial.is_some() && serial == b.serial && still_good(&b.value) {
                return b;
            }
        }
        if let Some(z) = &zone {
            self.forget(z);
        }
        let (value, now) = read().await;
        let serial = match (&now, &zone) {
            (Some(now), Some(was)) if now == was => serial,
            _ => None,
        };
        Kept {
            value,
            zone: now.or(zone),
            serial,
        }
    }

    /// One poll of `wait`: an organisation that was secure and whose zone's SOA serial did not
    /// move keeps its verdict at the cost of one query; any other is checked again
    /// ([`Session::reread`]), all concurrently as in [`Session::verify`].
    pub async fn poll(&self, manifest: &Manifest, previous: Option<&VerifyReport>) -> VerifyReport {
        self.poll_inner(manifest, previous, None).await
    }

    async fn poll_inner(
        &self,
        manifest: &Manifest,
        previous: Option<&VerifyReport>,
        deadline: Option<tokio::time::Instant>,
    ) -> VerifyReport {
        let ceremony = manifest.ceremony_id();
        let profile = manifest.profile;
        let checks = manifest.orgs.iter().enumerate().map(|(i, org)| {
            let before = previous
                .and_then(|p| p.orgs.get(i))
                .filter(|o| o.host == org.host)
                .map(|b| Kept {
                    value: (b.clone(), None),
                    zone: b.zone.clone(),
                    serial: b.serial,
                });
            let (session, org) = (self.clone(), org.clone());
            async move {
                let kept = session
                    .reread(
                        before,
                        |(b, _)| b.status == Status::Secure,
                        || async {
                            let checked =
                                session.verify_org_deferred(&org, profile, &ceremony).await;
                            let zone = checked.0.zone.clone();
                            (checked, zone)
                        },
                    )
                    .await;
                let (report, pending) = kept.value;
                let report = OrgReport {
                    serial: kept.serial,
                    ..report
                };
                (report, pending)
            }
        });
        let done = self.check_orgs(checks, deadline).await;
        let orgs = done
            .into_iter()
            .zip(&manifest.orgs)
            .map(|(o, org)| {
                o.unwrap_or_else(|| OrgReport {
                    name: org.name.clone(),
                    host: org.host.clone(),
                    zone: None,
                    serial: None,
                    status: Status::Pending,
                    reason: Some(DEADLINE_REASON.to_string()),
                    peer: None,
                })
            })
            .collect();
        let mut report = VerifyReport {
            ceremony_id: ceremony,
            orgs,
        };
        mark_duplicates(&mut report.orgs);
        report
    }

    /// Check one organisation, except the ownership proof's BLS pairing check (if any), which
    /// is returned for `Session::check_orgs` to batch; until then a `secure` verdict is
    /// provisional.
    async fn verify_org_deferred(
        &self,
        org: &Org,
        profile: Profile,
        ceremony: &CeremonyId,
    ) -> (OrgReport, Option<PendingPop>) {
        let names = RecordNames::for_host(&org.host);
        let work = std::sync::Arc::new(Work::default());
        if let Ok(mut w) = self.org_work.lock() {
            w.insert(org.host.clone(), work.clone());
        }
        // All six lookups in this task, so the organisation's budget covers them all.
        let (a, aaaa, host_txt, key, port, autonity) = within_org(work, async {
            tokio::join!(
                self.lookup(&names.host, RecordType::A),
                self.lookup(&names.host, RecordType::AAAA),
                self.lookup(&names.host, RecordType::TXT),
                self.lookup(&names.key, RecordType::TXT),
                self.lookup(&names.port, RecordType::TXT),
                self.lookup(&names.autonity, RecordType::TXT),
            )
        })
        .await;
        let all = [
            (&names.host, RecordType::A, &a),
            (&names.host, RecordType::AAAA, &aaaa),
            (&names.host, RecordType::TXT, &host_txt),
            (&names.key, RecordType::TXT, &key),
            (&names.port, RecordType::TXT, &port),
            (&names.autonity, RecordType::TXT, &autonity),
        ];
        let zone = all.iter().find_map(|(_, _, l)| match l {
            Lookup::Secure { .. } => l.signer().cloned(),
            Lookup::Absent { zone, .. } => Some(zone.clone()),
            _ => None,
        });
        // Failing that, the zone a failure names (the org zone in the usual cases).
        let zone = zone.or_else(|| {
            all.iter().find_map(|(_, _, l)| match l {
                Lookup::Bogus { why } => why.zone().filter(|z| z.zone_of(&org.host)).cloned(),
                Lookup::Insecure { at_zone, .. } if !at_zone.is_root() => Some(at_zone.clone()),
                _ => None,
            })
        });
        let mut report = OrgReport {
            name: org.name.clone(),
            host: org.host.clone(),
            zone,
            serial: None,
            status: Status::Pending,
            reason: None,
            peer: None,
        };
        let first = |pred: fn(&Lookup) -> bool| {
            all.iter()
                .find(|(_, _, l)| pred(l))
                .map(|(n, t, l)| (dotless(n), *t, l.describe()))
        };
        if let Some((n, t, why)) = first(|l| matches!(l, Lookup::Insecure { .. })) {
            report.status = Status::Insecure;
            report.reason = Some(format!("{n} {t}: {why}"));
            return (report, None);
        }
        if let Some((_, _, why)) = first(|l| matches!(l, Lookup::Bogus { .. })) {
            report.status = Status::Bogus;
            report.reason = Some(why);
            return (report, None);
        }
        if let Some((n, t, why)) = first(|l| matches!(l, Lookup::Unreachable { .. })) {
            report.status = Status::Pending;
            report.reason = Some(format!("{n} {t}: {why}"));
            return (report, None);
        }
        let txts = |l: &Lookup| -> Vec<Vec<Vec<u8>>> {
            match l {
                Lookup::Secure { rrset, .. } => rrset
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::TXT(t) => Some(t.txt_data.iter().map(|s| s.to_vec()).collect()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            }
        };
        let fetched = FetchedRecords {
            a: match &a {
                Lookup::Secure { rrset, .. } => rrset
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(v) => Some(v.0),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            },
            aaaa: match &aaaa {
                Lookup::Secure { rrset, .. } => rrset
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::AAAA(v) => Some(v.0),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            },
            key_txt: txts(&key),
            port_txt: txts(&port),
            autonity_txt: txts(&autonity),
            host_txt: txts(&host_txt),
        };
        let mut pending = None;
        // The identity checks (about half a millisecond of CPU) run on this organisation's own
        // task, so many organisations' checks spread over the runtime's threads.
        match records::decode_deferred(&org.host, &fetched, profile, ceremony) {
            Ok((peer, pop)) => {
                report.status = Status::Secure;
                report.peer = Some(peer);
                pending = pop;
            }
            Err(e) if e.is_missing() => {
                report.status = Status::Pending;
                report.reason = Some(e.to_string());
            }
            Err(e) => {
                report.status = Status::Invalid;
                report.reason = Some(e.to_string());
            }
        }
        (report, pending)
    }
}

impl Session {
    /// Check the pending ownership-proof pairings of `batch` (organisation index, proof) in one
    /// batch ([`PendingPop::check_all`]) on the blocking pool; the index and error of each that
    /// fails.
    async fn failed_pops(
        &self,
        batch: Vec<(usize, PendingPop)>,
    ) -> Vec<(usize, records::RecordError)> {
        if batch.is_empty() {
            return Vec::new();
        }
        let (at, pops): (Vec<usize>, Vec<PendingPop>) = batch.into_iter().unzip();
        let failed = self.cpu(move || PendingPop::check_all(&pops)).await;
        failed.into_iter().map(|(j, e)| (at[j], e)).collect()
    }

    /// Run CPU-bound `job` (a pairing batch: tens of milliseconds) on the blocking pool, at
    /// most one per core at once, so the lookups of other organisations are not held up
    /// behind it.
    /// Runs inline when there is no multi-threaded runtime to hand it to.
    async fn cpu<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> T {
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let permit = match multi {
            true => self.checks.clone().acquire_owned().await.ok(),
            false => None,
        };
        let Some(permit) = permit else {
            return job();
        };
        let task = tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        });
        match task.await {
            Ok(out) => out,
            // The check panicked: surface the panic as it would have surfaced inline.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// The output of a finished task; a task's panic is raised again here (it is never dropped).
pub(crate) fn task_output<T>(done: Result<T, tokio::task::JoinError>) -> T {
    match done {
        Ok(out) => out,
        // A check panicked: surface the panic as it would have surfaced inline.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels these tasks, and then nobody awaits this.
        Err(e) => panic!("organisation check cancelled: {e}"),
    }
}

/// An organisation whose validated records cannot be used: `invalid`, with the reason, and
/// no peer (a peer is only ever given for a secure organisation).
fn invalidate(report: &mut OrgReport, reason: String) {
    report.status = Status::Invalid;
    report.reason = Some(reason);
    report.peer = None;
}

// ---- Borrowed identities -------------------------------------------------------------------

/// What two organisations must never share; each is compared among the organisations whose
/// records validated (those with a peer), in manifest order.
const SHARED_FIELDS: [&str; 6] = [
    "node key",
    "node address",
    "consensus key",
    "oracle address",
    "p2p address",
    "consensus address",
];

/// The values of [`SHARED_FIELDS`] one peer published (an IP:port field once per address).
fn identity_values(p: &Peer) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("node key", p.enode_key.to_string()),
        ("node address", p.enode_key.address().to_string()),
    ];
    let a = p.attestation.as_ref();
    if let Some(ck) = a.and_then(|a| a.consensus_key.as_ref()) {
        out.push(("consensus key", ck.to_string()));
    }
    if let Some(oa) = a.and_then(|a| a.oracle_address.as_ref()) {
        out.push(("oracle address", oa.to_string()));
    }
    let ips = [
        p.ipv4.map(std::net::IpAddr::from),
        p.ipv6.map(std::net::IpAddr::from),
    ];
    for ip in ips.into_iter().flatten() {
        out.push(("p2p address", SocketAddr::from((ip, p.port)).to_string()));
        if let Some(cp) = a.and_then(|a| a.consensus_port) {
            out.push(("consensus address", SocketAddr::from((ip, cp)).to_string()));
        }
    }
    out
}

/// `org1's`, `org1's and org3's`, `org1's, org2's and org3's`.
fn possessive(names: &[&str]) -> String {
    let owned: Vec<String> = names.iter().map(|n| format!("{n}'s")).collect();
    match owned.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Every organisation that shares a node key, node address, consensus key, oracle address or
/// IP:port with another is made `invalid`, the reason naming the field and the other
/// organisations (`consensus key same as org1's`); an address field also names the value.
/// Both sides are marked: DNS cannot tell the owner from the borrower, and a genesis must
/// never hold either twice (`genesis::build` keeps its own check as a backstop).
fn mark_duplicates(orgs: &mut [OrgReport]) {
    let mut holders: BTreeMap<(&'static str, String), Vec<usize>> = BTreeMap::new();
    for (i, o) in orgs.iter().enumerate() {
        let Some(p) = &o.peer else { continue };
        for (field, value) in identity_values(p) {
            let list = holders.entry((field, value)).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
    // Per organisation: (field, value, the others), in the order of SHARED_FIELDS.
    let mut shared: Vec<Vec<(&'static str, &str, Vec<usize>)>> = vec![Vec::new(); orgs.len()];
    for ((field, value), idx) in holders.iter().filter(|(_, v)| v.len() > 1) {
        for &i in idx {
            let others = idx.iter().copied().filter(|&j| j != i).collect();
            shared[i].push((field, value.as_str(), others));
        }
    }
    let order = |f: &str| {
        SHARED_FIELDS
            .iter()
            .position(|x| *x == f)
            .unwrap_or(usize::MAX)
    };
    let mut reasons: Vec<Option<String>> = vec![None; orgs.len()];
    for (i, mut found) in shared.into_iter().enumerate() {
        if found.is_empty() {
            continue;
        }
        found.sort_by_key(|(f, v, _)| (order(f), v.to_string()));
        // The node address follows from the node key: said once.
        let key_others: Option<Vec<usize>> = found
            .iter()
            .find(|(f, _, _)| *f == "node key")
            .map(|(_, _, o)| o.clone());
        let parts: Vec<String> = found
            .iter()
            .filter(|(f, _, o)| !(*f == "node address" && key_others.as_ref() == Some(o)))
            .map(|(field, value, others)| {
                let names: Vec<&str> = others.iter().map(|&j| orgs[j].name.as_str()).collect();
                let shown = if matches!(*field, "p2p address" | "consensus address") {
                    format!("{field} {value}")
                } else {
                    field.to_string()
                };
                format!("{shown} same as {}", possessive(&names))
            })
            .collect();
        reasons[i] = Some(parts.join("; "));
    }
    for (o, r) in orgs.iter_mut().zip(reasons) {
        if let Some(r) = r {
            invalidate(o, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn secure(name: &str, ip: [u8; 4], port: u16, id: &Identity) -> OrgReport {
        let host: Name = format!("validator.{name}.com.").parse().unwrap();
        OrgReport {
            name: name.into(),
            host: host.clone(),
            zone: None,
            serial: None,
            status: Status::Secure,
            reason: None,
            peer: Some(Peer {
                host,
                ipv4: Some(ip.into()),
                ipv6: None,
                enode_key: id.public().enode_key,
                port,
                attestation: None,
            }),
        }
    }

    #[test]
    fn duplicate_keys_and_addresses_make_every_holder_invalid() {
        let ids: Vec<Identity> = (0..4).map(|_| Identity::generate(Profile::V1)).collect();
        let mut orgs = vec![
            secure("org1", [10, 0, 0, 1], 30303, &ids[0]),
            // org2 publishes org1's enode key.
            secure("org2", [10, 0, 0, 2], 30303, &ids[0]),
            // org3 and org4 share an address and port (different keys).
            secure("org3", [10, 0, 0, 3], 30303, &ids[2]),
            secure("org4", [10, 0, 0, 3], 30303, &ids[3]),
            // Same address, other port: fine.
            secure("org5", [10, 0, 0, 3], 30304, &ids[1]),
        ];
        mark_duplicates(&mut orgs);
        let got: Vec<(&str, Status, &str)> = orgs
            .iter()
            .map(|o| (o.name.as_str(), o.status, o.reason.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            [
                ("org1", Status::Invalid, "node key same as org2's"),
                ("org2", Status::Invalid, "node key same as org1's"),
                (
                    "org3",
                    Status::Invalid,
                    "p2p address 10.0.0.3:30303 same as org4's"
                ),
                (
                    "org4",
                    Status::Invalid,
                    "p2p address 10.0.0.3:30303 same as org3's"
                ),
                ("org5", Status::Secure, ""),
            ]
        );
        // Only a secure organisation gives a peer.
        assert!(orgs[..4].iter().all(|o| o.peer.is_none()));
        assert!(orgs[4].peer.is_some());
    }

    /// `org`'s report with an attestation holding these v1 values.
    fn with_attestation(
        mut org: OrgReport,
        consensus: &Identity,
        oracle: &Identity,
        consensus_port: u16,
    ) -> OrgReport {
        let peer = org.peer.as_mut().expect("secure");
        peer.attestation = Some(crate::records::Attestation {
            consensus_key: consensus.public().consensus_key,
            oracle_address: oracle.public().oracle_address,
            treasury: None,
            consensus_port: Some(consensus_port),
            ownership_proof: None,
            ceremony_id: CeremonyId([0; 32]),
            signature: [0; 65],
        });
        org
    }

    #[test]
    fn borrowed_consensus_key_oracle_address_and_consensus_endpoint_are_named() {
        let ids: Vec<Identity> = (0..4).map(|_| Identity::generate(Profile::V1)).collect();
        let mut orgs = vec![
            with_attestation(
                secure("org1", [10, 0, 0, 1], 30303, &ids[0]),
                &ids[0],
                &ids[0],
                20203,
            ),
            with_attestation(
                secure("org2", [10, 0, 0, 2], 30303, &ids[1]),
                &ids[1],
                &ids[1],
                20203,
            ),
            // org3 borrows org1's consensus key and org2's oracle address.
            with_attestation(
                secure("org3", [10, 0, 0, 3], 30303, &ids[2]),
                &ids[0],
                &ids[1],
                20203,
            ),
            // org4 borrows org1's consensus key too, and has org2's consensus endpoint.
            with_attestation(
                secure("org4", [10, 0, 0, 2], 30304, &ids[3]),
                &ids[0],
                &ids[3],
                20203,
            ),
            // Not secure: compared with nobody.
            OrgReport {
                status: Status::Pending,
                peer: None,
                ..secure("org5", [10, 0, 0, 1], 30303, &ids[0])
            },
        ];
        mark_duplicates(&mut orgs);
        let got: Vec<(&str, Status, &str)> = orgs
            .iter()
            .map(|o| (o.name.as_str(), o.status, o.reason.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            [
                ("org1", Status::Invalid, "consensus key same as org3's and org4's"),
                (
                    "org2",
                    Status::Invalid,
                    "oracle address same as org3's; consensus address 10.0.0.2:20203 same as org4's"
                ),
                (
                    "org3",
                    Status::Invalid,
                    "consensus key same as org1's and org4's; oracle address same as org2's"
                ),
                (
                    "org4",
                    Status::Invalid,
                    "consensus key same as org1's and org3's; consensus address 10.0.0.2:20203 same as org2's"
                ),
                ("org5", Status::Pending, ""),
            ]
        );
    }
}
