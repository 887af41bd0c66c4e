//! Per-organisation verdicts: fetch every record an organisation publishes, validate each
//! along the whole DNSSEC chain (RFC 4033-4035, 5155), decode them, and say `secure`,
//! `pending`, `insecure`, `bogus` or `invalid` (SPEC section 3).
//!
//! A [`Session`] is one run: its caches make shared ancestors (root, TLD keys) cost one fetch
//! and one validation per run; [`Session::probe_serial`] is the cheap change detector `wait`
//! uses between full checks.
//!
//! # Limitations
//! Verdicts are as of the moment of the lookups; a long `wait` re-fetches an organisation's
//! records only when its zone's SOA serial moved or it is not yet secure.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::{Name, RData, RecordType};
use serde::Serialize;

use crate::dns::anchor::TrustAnchors;
use crate::dns::query::Mode;
use crate::dns::resolve::Resolver;
pub use crate::dns::resolve::{Lookup, Source};
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

/// One run: transport, anchors and the caches of validated zones.
#[derive(Debug)]
pub struct Session {
    resolver: Resolver,
    /// Bounds the identity checks running at once (one per core) on the blocking pool.
    checks: std::sync::Arc<tokio::sync::Semaphore>,
}

fn show(n: &Name) -> String {
    let s = n.to_ascii();
    s.strip_suffix('.').map(str::to_string).unwrap_or(s)
}

impl Session {
    /// A new run with empty caches.
    pub fn new(options: VerifyOptions) -> Session {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Session {
            resolver: Resolver::new(
                options.anchors,
                options.source,
                options.timeout,
                options.concurrency,
            ),
            checks: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
        }
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

    /// Check every organisation of the manifest, concurrently.
    pub async fn verify(&self, manifest: &Manifest) -> VerifyReport {
        let ceremony = manifest.ceremony_id();
        let futures = manifest
            .orgs
            .iter()
            .map(|org| self.verify_org_deferred(org, manifest.profile, &ceremony));
        let (mut orgs, pending): (Vec<OrgReport>, Vec<Option<PendingPop>>) =
            futures_join(futures).await.into_iter().unzip();
        self.settle(&mut orgs, pending).await;
        let mut report = VerifyReport {
            ceremony_id: ceremony,
            orgs,
        };
        mark_duplicates(&mut report.orgs);
        report
    }

    /// One poll of `wait`: an organisation that was secure and whose zone's SOA serial (asked
    /// directly from its authoritative servers) did not move keeps its verdict at the cost of
    /// one query; any other is checked again (its zone's cached keys dropped first).
    pub async fn poll(&self, manifest: &Manifest, previous: Option<&VerifyReport>) -> VerifyReport {
        let ceremony = manifest.ceremony_id();
        let futures = manifest.orgs.iter().enumerate().map(|(i, org)| {
            let before = previous
                .and_then(|p| p.orgs.get(i))
                .filter(|o| o.host == org.host);
            let ceremony = &ceremony;
            async move {
                let zone = before.and_then(|b| b.zone.clone());
                let serial = match &zone {
                    Some(z) => self.probe_serial(z).await,
                    None => None,
                };
                if let Some(b) = before {
                    if b.status == Status::Secure && serial.is_some() && serial == b.serial {
                        return b.clone();
                    }
                }
                if let Some(z) = &zone {
                    self.forget(z);
                }
                let mut report = self.verify_org(org, manifest.profile, ceremony).await;
                // A serial counts only when it was read before the records: one read after
                // them could already include a change the records do not show, and that change
                // would then never be looked at again. A newly learned zone gets its serial
                // on the next poll (probe first, then the records).
                report.serial = match (&report.zone, &zone) {
                    (Some(now), Some(was)) if now == was => serial,
                    _ => None,
                };
                report
            }
        });
        let orgs = join_all(futures.collect()).await;
        let mut report = VerifyReport {
            ceremony_id: ceremony,
            orgs,
        };
        mark_duplicates(&mut report.orgs);
        report
    }

    /// Check one organisation.
    pub async fn verify_org(
        &self,
        org: &Org,
        profile: Profile,
        ceremony: &CeremonyId,
    ) -> OrgReport {
        let (report, pending) = self.verify_org_deferred(org, profile, ceremony).await;
        let mut one = [report];
        self.settle(&mut one, vec![pending]).await;
        let [report] = one;
        report
    }

    /// [`Session::verify_org`] with the ownership proof's BLS pairing check (if any) left
    /// to [`Session::settle`]; until then a `secure` verdict is provisional.
    async fn verify_org_deferred(
        &self,
        org: &Org,
        profile: Profile,
        ceremony: &CeremonyId,
    ) -> (OrgReport, Option<PendingPop>) {
        let names = RecordNames::for_host(&org.host);
        let (a, aaaa, host_txt, key, port, autonity) = tokio::join!(
            self.lookup(&names.host, RecordType::A),
            self.lookup(&names.host, RecordType::AAAA),
            self.lookup(&names.host, RecordType::TXT),
            self.lookup(&names.key, RecordType::TXT),
            self.lookup(&names.port, RecordType::TXT),
            self.lookup(&names.autonity, RecordType::TXT),
        );
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
                .map(|(n, t, l)| (show(n), *t, l.describe()))
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
        match self.decode(&org.host, fetched, profile, ceremony).await {
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
    /// [`records::decode_deferred`] (signature and BLS checks: milliseconds of CPU) on the
    /// blocking pool (see [`Session::cpu`]).
    async fn decode(
        &self,
        host: &Name,
        fetched: FetchedRecords,
        profile: Profile,
        ceremony: &CeremonyId,
    ) -> Result<(Peer, Option<PendingPop>), records::RecordError> {
        let (h, c) = (host.clone(), *ceremony);
        self.cpu(move || records::decode_deferred(&h, &fetched, profile, &c))
            .await
    }

    /// Finish the provisional verdicts: check every pending ownership-proof pairing in one
    /// batch ([`PendingPop::check_all`]); each organisation whose proof fails becomes
    /// `invalid` with the reason [`records::decode`] would have given.
    async fn settle(&self, reports: &mut [OrgReport], pending: Vec<Option<PendingPop>>) {
        let (at, pops): (Vec<usize>, Vec<PendingPop>) = pending
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .unzip();
        if pops.is_empty() {
            return;
        }
        let failed = self.cpu(move || PendingPop::check_all(&pops)).await;
        for (j, e) in failed {
            let report = &mut reports[at[j]];
            report.status = Status::Invalid;
            report.reason = Some(e.to_string());
            report.peer = None;
        }
    }

    /// Run CPU-bound `job` on the blocking pool, at most one per core at once, so the checks
    /// use every core and the lookups of other organisations are not held up behind them.
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

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(f);
    }
    join_all(set).await
}

/// Poll all futures concurrently on the current task, keeping their order.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    struct JoinAll<F: std::future::Future> {
        futs: Vec<Option<Pin<Box<F>>>>,
        outs: Vec<Option<F::Output>>,
    }
    impl<F: std::future::Future> Unpin for JoinAll<F> {}
    impl<F: std::future::Future> std::future::Future for JoinAll<F> {
        type Output = Vec<F::Output>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            // Nothing is pinned in place: the futures are boxed, the outputs only moved out.
            let this = self.get_mut();
            let mut pending = false;
            for (i, slot) in this.futs.iter_mut().enumerate() {
                if let Some(f) = slot {
                    match f.as_mut().poll(cx) {
                        Poll::Ready(v) => {
                            this.outs[i] = Some(v);
                            *slot = None;
                        }
                        Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(this.outs.iter_mut().filter_map(Option::take).collect())
            }
        }
    }
    let n = futures.len();
    JoinAll {
        futs: futures.into_iter().map(|f| Some(Box::pin(f))).collect(),
        outs: (0..n).map(|_| None).collect(),
    }
    .await
}

/// Duplicate enode keys or IP:port across secure organisations make each involved invalid.
fn mark_duplicates(orgs: &mut [OrgReport]) {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut by_addr: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, o) in orgs.iter().enumerate() {
        let Some(p) = &o.peer else { continue };
        by_key.entry(p.enode_key.to_string()).or_default().push(i);
        if let Some(v4) = p.ipv4 {
            by_addr
                .entry(SocketAddr::from((v4, p.port)).to_string())
                .or_default()
                .push(i);
        }
        if let Some(v6) = p.ipv6 {
            by_addr
                .entry(SocketAddr::from((v6, p.port)).to_string())
                .or_default()
                .push(i);
        }
    }
    let mut reasons: Vec<Option<String>> = vec![None; orgs.len()];
    for (what, groups) in [("enode key", &by_key), ("address", &by_addr)] {
        for (value, idx) in groups.iter().filter(|(_, v)| v.len() > 1) {
            for &i in idx {
                let others: Vec<&str> = idx
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| orgs[j].name.as_str())
                    .collect();
                let shown = if what == "enode key" {
                    format!("{}...", &value[..value.len().min(16)])
                } else {
                    value.clone()
                };
                reasons[i].get_or_insert_with(|| {
                    format!("{what} {shown} is also published by {}", others.join(", "))
                });
            }
        }
    }
    for (o, r) in orgs.iter_mut().zip(reasons) {
        if let Some(r) = r {
            o.status = Status::Invalid;
            o.reason = Some(r);
        }
    }
}
