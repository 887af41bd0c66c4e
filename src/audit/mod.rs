//! DNSSEC audit of organisation zones: the chain of trust from the anchor to each zone, every
//! signature that matters, denial-of-existence parameters and agreement between the zone's
//! authoritative servers, as findings with stable codes and ordered severities.
//!
//! Flow: [`collect`] walks from the root servers to each zone and asks every authoritative
//! server separately; [`analyse`] turns what was collected into a [`Report`] (pure: the clock
//! is a parameter); [`render`] writes it as text, JSON (`dnsceremony.audit/v1`), Markdown or
//! one self-contained HTML page.
//!
//! RFCs: 4033-4035 (DNSSEC), 5155 (NSEC3), 9276 (NSEC3 parameters), 8624 (algorithms),
//! 5011 (revoked keys), 4509 / 6605 (DS digests), 7344 / 8499 (terminology).
//!
//! # Limitations
//! - Servers are reached over IPv4 and IPv6 on port 53 only (UDP, TCP after truncation).
//! - The delegation (NS, glue, DS) is read from the first parent server that answers; parent
//!   servers are not compared with each other.
//! - The zone's own denial records (the probe name) are inspected (NSEC/NSEC3 parameters and
//!   signatures), not proven; the negative answers to the ceremony questions are proven with
//!   `dns::validate::check_denial`, as `verify` proves them.

pub mod analyse;
pub mod anchor;
pub mod code;
pub mod collect;
pub mod render;

use serde::Serialize;

pub use code::{Code, Severity};

use crate::exit;

/// Why an audit could not be carried out at all (findings are not errors).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The anchor file is unusable.
    #[error(transparent)]
    DnsAnchor(#[from] crate::dns::anchor::AnchorError),
    /// A zone or host name given is not a domain name.
    #[error("bad zone name ({input}: {why})")]
    ZoneName {
        /// What was given.
        input: String,
        /// Why it is not a name.
        why: String,
    },
    /// No root server answered: nothing could be audited.
    #[error("no root server answered ({servers}: {why})")]
    NoRoot {
        /// The addresses tried.
        servers: String,
        /// The last failure.
        why: String,
    },
    /// Nothing to audit.
    #[error("nothing to audit (give --manifest or --zone)")]
    Empty,
}

impl AuditError {
    /// The exit status this failure maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            AuditError::NoRoot { .. } => exit::NETWORK,
            _ => exit::BAD_INPUT,
        }
    }
}

/// One finding: a code, its severity, and what it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The stable code.
    pub code: Code,
    /// Its severity (usually `code.severity()`; some checks grade it).
    pub severity: Severity,
    /// The zone it concerns (absolute name, e.g. `ogr1.com.`).
    pub zone: String,
    /// The server it concerns, `name (address)`; `None` when it holds for every server.
    pub server: Option<String>,
    /// The RRset it concerns, `owner TYPE`.
    pub record: Option<String>,
    /// The specifics, one sentence.
    pub detail: String,
}

impl Finding {
    /// A finding with the code's default severity.
    pub fn new(code: Code, zone: &str, detail: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            zone: zone.to_string(),
            server: None,
            record: None,
            detail: detail.into(),
        }
    }

    /// The same finding with another severity.
    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// The same finding, concerning one server.
    pub fn server(mut self, server: impl Into<String>) -> Finding {
        self.server = Some(server.into());
        self
    }

    /// The same finding, concerning one RRset.
    pub fn record(mut self, record: impl Into<String>) -> Finding {
        self.record = Some(record.into());
        self
    }

    /// The order findings are listed in: worst first, then code, zone, record, server, detail.
    fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.code.as_str(),
            &self.zone,
            &self.record,
            &self.server,
            &self.detail,
        )
    }
}

/// Where the chain of trust stands for a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainStatus {
    /// Validated from the anchor.
    Secure,
    /// A provably unsigned delegation on the path.
    Insecure,
    /// Validation failed.
    Bogus,
    /// The zone could not be reached or located.
    Unreachable,
}

impl ChainStatus {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainStatus::Secure => "secure",
            ChainStatus::Insecure => "insecure",
            ChainStatus::Bogus => "bogus",
            ChainStatus::Unreachable => "unreachable",
        }
    }
}

/// One authoritative server of a zone as seen by the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReport {
    /// Its name (from the NS set), or the address for root servers given by address.
    pub name: String,
    /// Its address, if known.
    pub addr: Option<String>,
    /// Whether it answered authoritatively.
    pub answered: bool,
    /// The SOA serial it serves.
    pub serial: Option<u32>,
}

/// One DNSKEY of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReport {
    /// Key tag (RFC 4034 appendix B).
    pub tag: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// Flags field (256 ZSK, 257 KSK, +128 revoked).
    pub flags: u16,
    /// Whether a DS at the parent (or the anchor) matches it.
    pub has_ds: bool,
    /// The RRsets it signs (`owner TYPE`) with a valid signature.
    pub signs: Vec<String>,
}

impl KeyReport {
    /// `KSK` when the SEP bit is set, else `ZSK`.
    pub fn role(&self) -> &'static str {
        if self.flags & 1 == 1 {
            "KSK"
        } else {
            "ZSK"
        }
    }

    /// Whether the REVOKE bit is set.
    pub fn revoked(&self) -> bool {
        self.flags & 0x0080 != 0
    }
}

/// One DS record at the parent (or one anchor record for the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsReport {
    /// Key tag.
    pub tag: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// Digest type number (1 SHA-1, 2 SHA-256, 4 SHA-384).
    pub digest_type: u8,
    /// Whether a DNSKEY of the zone matches it.
    pub matches: bool,
}

/// One RRSIG as seen on the first server that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigReport {
    /// The RRset it covers, `owner TYPE`.
    pub rrset: String,
    /// The RRset's TTL.
    pub ttl: u32,
    /// Key tag of the signing key.
    pub key_tag: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// Inception, Unix seconds.
    pub inception: i64,
    /// Expiration, Unix seconds.
    pub expiration: i64,
    /// Whether the signature verifies, is in its window and names a published key.
    pub valid: bool,
}

/// NSEC or NSEC3 parameters of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialReport {
    /// `NSEC` or `NSEC3`.
    pub kind: String,
    /// NSEC3 additional iterations.
    pub iterations: Option<u16>,
    /// NSEC3 salt, hex (empty when none).
    pub salt: Option<String>,
    /// NSEC3 opt-out seen.
    pub opt_out: bool,
}

/// Everything the audit found about one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneReport {
    /// The zone, absolute (`ogr1.com.`).
    pub zone: String,
    /// Its parent zone (`None` for the root).
    pub parent: Option<String>,
    /// The chain status.
    pub status: ChainStatus,
    /// The authoritative servers, in NS order.
    pub servers: Vec<ServerReport>,
    /// DS at the parent (anchor records for the root).
    pub ds: Vec<DsReport>,
    /// The DNSKEY RRset.
    pub keys: Vec<KeyReport>,
    /// The signatures examined.
    pub signatures: Vec<SigReport>,
    /// NSEC/NSEC3 parameters, when seen.
    pub denial: Option<DenialReport>,
    /// Findings about this zone, worst first.
    pub findings: Vec<Finding>,
}

/// One ceremony record of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    /// Owner name.
    pub name: String,
    /// Type (`A`, `TXT`, ...).
    pub rtype: String,
    /// The value(s) served, presentation form; empty when missing.
    pub values: Vec<String>,
    /// Whether it is present and signed by a valid signature.
    pub signed: bool,
}

/// One organisation of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgReport {
    /// The organisation's name.
    pub name: String,
    /// Its validator host.
    pub host: String,
    /// Its zone (found by walking the delegations), if found.
    pub zone: Option<String>,
    /// The chain of zones from the root to its zone (names).
    pub chain: Vec<String>,
    /// Its ceremony records.
    pub records: Vec<RecordReport>,
    /// Findings about its records, worst first.
    pub findings: Vec<Finding>,
}

/// A whole audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// When the audit ran, Unix seconds (the clock every window is judged against).
    pub generated_at: i64,
    /// The `--warn-days` window.
    pub warn_days: u32,
    /// Where the trust anchor came from.
    pub anchor: String,
    /// Every zone examined, ancestors first (by depth, then name).
    pub zones: Vec<ZoneReport>,
    /// Organisations (empty without a manifest).
    pub orgs: Vec<OrgReport>,
    /// DNS queries sent.
    pub queries: u64,
}

impl Report {
    /// Every finding of the report, worst first, in a stable order.
    pub fn findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self
            .zones
            .iter()
            .flat_map(|z| z.findings.iter())
            .chain(self.orgs.iter().flat_map(|o| o.findings.iter()))
            .collect();
        all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        all
    }

    /// The worst severity of any finding, `None` when there is none.
    pub fn worst(&self) -> Option<Severity> {
        self.findings().iter().map(|f| f.severity).max()
    }

    /// The exit status for this report: 0 clean or info only, 12 warning, 13 error.
    pub fn exit_code(&self) -> u8 {
        match self.worst() {
            Some(Severity::Error) => exit::AUDIT_ERROR,
            Some(Severity::Warning) => exit::AUDIT_WARNING,
            _ => exit::OK,
        }
    }

    /// The zone report for `name`.
    pub fn zone(&self, name: &str) -> Option<&ZoneReport> {
        self.zones.iter().find(|z| z.zone == name)
    }

    /// The worst severity among a zone's findings.
    pub fn zone_worst(&self, name: &str) -> Option<Severity> {
        self.zone(name)
            .and_then(|z| z.findings.iter().map(|f| f.severity).max())
    }

    /// The worst severity along an organisation's chain and records.
    /// The chain verdict for an organisation, as `verify` reaches it: its zone's status, and
    /// bogus when its ceremony answers fail validation on every server (signatures, denial
    /// proofs); unreachable when its zone was not found.
    pub fn org_chain(&self, org: &OrgReport) -> ChainStatus {
        let Some(zone) = org.zone.as_deref().and_then(|z| self.zone(z)) else {
            return ChainStatus::Unreachable;
        };
        match zone.status {
            ChainStatus::Secure if org.findings.iter().any(analyse::breaks_chain) => {
                ChainStatus::Bogus
            }
            s => s,
        }
    }

    pub fn org_worst(&self, org: &OrgReport) -> Option<Severity> {
        org.chain
            .iter()
            .filter_map(|z| self.zone_worst(z))
            .chain(org.findings.iter().map(|f| f.severity))
            .max()
    }

    /// Sort zones (ancestors first) and findings (worst first) so every rendering is stable.
    pub fn normalise(&mut self) {
        self.zones.sort_by(|a, b| {
            let depth = |z: &str| {
                z.trim_end_matches('.')
                    .split('.')
                    .filter(|l| !l.is_empty())
                    .count()
            };
            (depth(&a.zone), &a.zone).cmp(&(depth(&b.zone), &b.zone))
        });
        for z in &mut self.zones {
            z.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
            z.findings.dedup();
        }
        for o in &mut self.orgs {
            o.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
            o.findings.dedup();
        }
        self.orgs.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// Format a Unix time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn fmt_time(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => unix.to_string(),
    }
}

/// Format a duration in seconds as `3d 4h`, `5h 10m`, `42s`, or `-2d 1h` when negative.
pub fn fmt_left(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{sign}{d}d {h}h")
    } else if h > 0 {
        format!("{sign}{h}h {m}m")
    } else if m > 0 {
        format!("{sign}{m}m")
    } else {
        format!("{sign}{s}s")
    }
}

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// The trust anchor.
    pub anchor: anchor::Anchor,
    /// Servers of the anchor's zone (root server addresses).
    pub roots: Vec<std::net::SocketAddr>,
    /// Zones given by name.
    pub zones: Vec<hickory_proto::rr::Name>,
    /// The manifest whose organisations are audited.
    pub manifest: Option<crate::manifest::Manifest>,
    /// Signatures expiring within this many days are warnings (when also below `warn_share`).
    pub warn_days: u32,
    /// Percent of a signature's validity period: less left is a warning (when also below
    /// `warn_days`); [`analyse::DEFAULT_WARN_SHARE`] by default.
    pub warn_share: u32,
    /// Time to wait for one answer.
    pub timeout: std::time::Duration,
    /// Queries in flight at most.
    pub in_flight: usize,
}

/// The ceremony record questions for a host: A, AAAA and TXT at the host, TXT at `key_`,
/// `port_`, `autonity_` and `genesis_`.
pub fn record_questions(
    host: &hickory_proto::rr::Name,
) -> Vec<(hickory_proto::rr::Name, hickory_proto::rr::RecordType)> {
    use hickory_proto::rr::RecordType as T;
    let n = crate::records::RecordNames::for_host(host);
    vec![
        (n.host.clone(), T::A),
        (n.host.clone(), T::AAAA),
        (n.host, T::TXT),
        (n.key, T::TXT),
        (n.port, T::TXT),
        (n.autonity, T::TXT),
        (n.genesis, T::TXT),
    ]
}

/// Run an audit: collect from the network, analyse at the current time.
pub async fn run(cfg: &AuditConfig) -> Result<Report, AuditError> {
    if cfg.zones.is_empty() && cfg.manifest.as_ref().is_none_or(|m| m.orgs.is_empty()) {
        return Err(AuditError::Empty);
    }
    let started = std::time::Instant::now();
    let collector = collect::Collector::new(
        crate::dns::query::Transport::new(cfg.timeout, cfg.in_flight),
        cfg.roots.clone(),
        cfg.anchor.zone.clone(),
    );
    // The anchor's zone first: if none of its servers answers, nothing can be audited.
    let top = collector.zone(&cfg.anchor.zone, 0).await;
    if !top.servers.iter().any(|s| {
        s.exchanges
            .iter()
            .any(|e| matches!(&e.answer, Ok(m) if m.metadata.authoritative))
    }) {
        let why = top
            .servers
            .iter()
            .flat_map(|s| s.exchanges.iter())
            .find_map(|e| e.answer.as_ref().err().map(|e| e.to_string()))
            .unwrap_or_else(|| "no authoritative answer".into());
        return Err(AuditError::NoRoot {
            servers: cfg
                .roots
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            why,
        });
    }
    let mut zone_tasks = tokio::task::JoinSet::new();
    for z in &cfg.zones {
        let c = std::sync::Arc::clone(&collector);
        let z = z.clone();
        zone_tasks.spawn(async move { (z.clone(), c.chain_to(&z).await) });
    }
    let mut org_tasks = tokio::task::JoinSet::new();
    if let Some(m) = &cfg.manifest {
        for (i, org) in m.orgs.iter().enumerate() {
            let c = std::sync::Arc::clone(&collector);
            let host = org.host.clone();
            org_tasks.spawn(async move {
                let q = record_questions(&host);
                let data = c.host(&host, q.clone()).await;
                (i, q, data)
            });
        }
    }
    let mut missing_zones = Vec::new();
    while let Some(r) = zone_tasks.join_next().await {
        let r = crate::verify::task_output(r);
        if let (z, Ok(chain)) = &r {
            if chain.last() != Some(z) {
                missing_zones.push(Finding::new(
                    Code::ZoneNotFound,
                    &z.to_ascii(),
                    format!(
                        "{z} is not a zone: it lies inside {}",
                        chain.last().map(|c| c.to_ascii()).unwrap_or_default()
                    ),
                ));
            }
        } else if let (z, Err(why)) = r {
            missing_zones.push(Finding::new(Code::ZoneNotFound, &z.to_ascii(), why));
        }
    }
    let mut hosts = Vec::new();
    while let Some(r) = org_tasks.join_next().await {
        hosts.push(crate::verify::task_output(r));
    }
    hosts.sort_by_key(|(i, _, _)| *i);
    let orgs: Vec<analyse::OrgInput> = match &cfg.manifest {
        Some(m) => {
            let ceremony = m.ceremony_id();
            hosts
                .into_iter()
                .map(|(i, records, data)| analyse::OrgInput {
                    name: m.orgs[i].name.clone(),
                    records,
                    data,
                    ceremony: Some((m.profile, ceremony)),
                })
                .collect()
        }
        None => Vec::new(),
    };
    tracing::debug!(
        "audit: collected in {} ms, {} queries",
        started.elapsed().as_millis(),
        collector.queries()
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let clock = analyse::Clock {
        now,
        warn_days: cfg.warn_days,
        warn_share: cfg.warn_share,
    };
    let mut report = analyse::report(
        &cfg.anchor,
        &collector.zones(),
        &orgs,
        clock,
        collector.queries(),
    );
    for f in missing_zones {
        let zone = f.zone.clone();
        match report.zones.iter_mut().find(|z| z.zone == zone) {
            Some(z) => z.findings.push(f),
            None => report.zones.push(ZoneReport {
                zone: zone.clone(),
                parent: None,
                status: ChainStatus::Unreachable,
                servers: Vec::new(),
                ds: Vec::new(),
                keys: Vec::new(),
                signatures: Vec::new(),
                denial: None,
                findings: vec![f],
            }),
        }
    }
    report.normalise();
    tracing::debug!(
        "audit: analysed, {} ms in all",
        started.elapsed().as_millis()
    );
    Ok(report)
}
