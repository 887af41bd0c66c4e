//! JSON for machines: versioned DTOs (`"schema": "dnsceremony.audit/v1"`) converted from the
//! internal report, so the wire format stays stable while the internals change. The schema is
//! `docs/audit.schema.json`; fields are only ever added within `v1`.

use serde::Serialize;

use super::super::{fmt_time, ChainStatus, Finding, Report, Severity};
use super::{causes, counts};

/// The schema identifier of this format.
pub const SCHEMA: &str = "dnsceremony.audit/v1";

/// Version 1 of the JSON audit report.
pub mod v1 {
    use super::*;

    /// The whole document.
    #[derive(Debug, Serialize)]
    pub struct AuditV1 {
        /// Always `dnsceremony.audit/v1`.
        pub schema: &'static str,
        /// When the audit ran, RFC 3339 UTC.
        pub generated_at: String,
        /// The same, Unix seconds.
        pub generated_at_unix: i64,
        /// Where the trust anchor came from.
        pub anchor: String,
        /// The `--warn-days` window.
        pub warn_days: u32,
        /// DNS queries sent.
        pub queries: u64,
        /// Counts and the exit status.
        pub summary: SummaryV1,
        /// Organisations of the manifest (empty without one).
        pub orgs: Vec<OrgV1>,
        /// Every zone examined, ancestors first.
        pub zones: Vec<ZoneV1>,
        /// Every finding, worst first.
        pub findings: Vec<FindingV1>,
        /// The findings grouped by cause (same code, severity, zone and organisation), errors
        /// first and causes before their consequences.
        pub causes: Vec<CauseV1>,
    }

    /// Findings that share one cause.
    #[derive(Debug, Serialize)]
    pub struct CauseV1 {
        /// Stable code.
        pub code: &'static str,
        /// `info`, `warning` or `error`.
        pub severity: Severity,
        /// Zone concerned.
        pub zone: String,
        /// Organisation concerned, else null.
        pub org: Option<String>,
        /// How many findings it stands for.
        pub count: usize,
        /// RRsets concerned (`owner TYPE`), without repeats.
        pub records: Vec<String>,
        /// Servers concerned, without repeats (empty: all or none).
        pub servers: Vec<String>,
        /// The first finding's detail, with how many others differ.
        pub detail: String,
        /// How to fix it.
        pub fix: &'static str,
    }

    /// Counts and the exit status.
    #[derive(Debug, Serialize)]
    pub struct SummaryV1 {
        /// `error`, `warning`, `info` or null when there is no finding.
        pub worst: Option<Severity>,
        /// The exit status: 0, 12 (warning) or 13 (error).
        pub exit_code: u8,
        /// Number of error findings.
        pub errors: usize,
        /// Number of warning findings.
        pub warnings: usize,
        /// Number of info findings.
        pub infos: usize,
    }

    /// One organisation.
    #[derive(Debug, Serialize)]
    pub struct OrgV1 {
        /// Name in the manifest.
        pub name: String,
        /// Validator host.
        pub host: String,
        /// Its zone, or null when not found.
        pub zone: Option<String>,
        /// Zones from the root to its zone.
        pub chain: Vec<String>,
        /// The chain verdict, as `verify` reaches it: secure, insecure, bogus or unreachable.
        pub status: ChainStatus,
        /// Worst severity along the chain and in its records.
        pub worst: Option<Severity>,
        /// Its ceremony records.
        pub records: Vec<RecordV1>,
    }

    /// One ceremony record.
    #[derive(Debug, Serialize)]
    pub struct RecordV1 {
        /// Owner name.
        pub name: String,
        /// Type.
        #[serde(rename = "type")]
        pub rtype: String,
        /// Values served (empty when missing).
        pub values: Vec<String>,
        /// Present with a valid signature.
        pub signed: bool,
    }

    /// One zone.
    #[derive(Debug, Serialize)]
    pub struct ZoneV1 {
        /// Zone name, absolute.
        pub zone: String,
        /// Parent zone, null for the anchor's zone.
        pub parent: Option<String>,
        /// `secure`, `insecure`, `bogus` or `unreachable`.
        pub status: ChainStatus,
        /// Worst severity of its findings.
        pub worst: Option<Severity>,
        /// Authoritative servers.
        pub servers: Vec<ServerV1>,
        /// DS records at the parent (anchor records for the root).
        pub ds: Vec<DsV1>,
        /// DNSKEY RRset.
        pub keys: Vec<KeyV1>,
        /// Signatures examined (first answering server).
        pub signatures: Vec<SignatureV1>,
        /// NSEC/NSEC3 parameters, null when not seen.
        pub denial: Option<DenialV1>,
    }

    /// One server.
    #[derive(Debug, Serialize)]
    pub struct ServerV1 {
        /// NS name (or address for root servers given by address).
        pub name: String,
        /// Address, null when not located.
        pub address: Option<String>,
        /// Answered authoritatively.
        pub answered: bool,
        /// SOA serial it serves.
        pub serial: Option<u32>,
    }

    /// One DS.
    #[derive(Debug, Serialize)]
    pub struct DsV1 {
        /// Key tag.
        pub key_tag: u16,
        /// Algorithm number.
        pub algorithm: u8,
        /// Digest type number.
        pub digest_type: u8,
        /// A DNSKEY matches it.
        pub matches_key: bool,
    }

    /// One DNSKEY.
    #[derive(Debug, Serialize)]
    pub struct KeyV1 {
        /// Key tag.
        pub key_tag: u16,
        /// Algorithm number.
        pub algorithm: u8,
        /// Flags field.
        pub flags: u16,
        /// `KSK` or `ZSK`.
        pub role: &'static str,
        /// REVOKE bit set.
        pub revoked: bool,
        /// A DS (or the anchor) points to it.
        pub has_ds: bool,
        /// RRsets it validly signs.
        pub signs: Vec<String>,
    }

    /// One RRSIG.
    #[derive(Debug, Serialize)]
    pub struct SignatureV1 {
        /// `owner TYPE`.
        pub rrset: String,
        /// TTL of the RRset.
        pub ttl: u32,
        /// Key tag of the signer.
        pub key_tag: u16,
        /// Algorithm number.
        pub algorithm: u8,
        /// Inception, RFC 3339 UTC.
        pub inception: String,
        /// Expiration, RFC 3339 UTC.
        pub expiration: String,
        /// Seconds from the audit to the expiration (negative when expired).
        pub seconds_left: i64,
        /// Verifies, in its window, by a published key.
        pub valid: bool,
    }

    /// Denial-of-existence parameters.
    #[derive(Debug, Serialize)]
    pub struct DenialV1 {
        /// `NSEC` or `NSEC3`.
        pub kind: String,
        /// NSEC3 iterations (null for NSEC).
        pub iterations: Option<u16>,
        /// NSEC3 salt, hex, "" for none (null for NSEC).
        pub salt: Option<String>,
        /// NSEC3 opt-out seen.
        pub opt_out: bool,
    }

    /// One finding.
    #[derive(Debug, Serialize)]
    pub struct FindingV1 {
        /// Stable code, e.g. `RRSIG_EXPIRED`.
        pub code: &'static str,
        /// `info`, `warning` or `error`.
        pub severity: Severity,
        /// Zone concerned.
        pub zone: String,
        /// Organisation concerned (findings about its records), else null.
        pub org: Option<String>,
        /// Server concerned, null when all servers or none.
        pub server: Option<String>,
        /// RRset concerned (`owner TYPE`), else null.
        pub record: Option<String>,
        /// The specifics.
        pub detail: String,
        /// How to fix it.
        pub fix: &'static str,
    }
}

fn finding(f: &Finding, org: Option<&str>) -> v1::FindingV1 {
    v1::FindingV1 {
        code: f.code.as_str(),
        severity: f.severity,
        zone: f.zone.clone(),
        org: org.map(str::to_string),
        server: f.server.clone(),
        record: f.record.clone(),
        detail: f.detail.clone(),
        fix: f.code.fix(),
    }
}

/// Convert a report into the v1 document.
pub fn to_v1(r: &Report) -> v1::AuditV1 {
    let (errors, warnings, infos) = counts(r);
    let mut findings: Vec<(&Finding, Option<&str>)> = r
        .zones
        .iter()
        .flat_map(|z| z.findings.iter().map(|f| (f, None)))
        .chain(
            r.orgs
                .iter()
                .flat_map(|o| o.findings.iter().map(move |f| (f, Some(o.name.as_str())))),
        )
        .collect();
    // The order of `Report::findings` (a stable sort by the same key).
    findings.sort_by(|(a, _), (b, _)| a.sort_key().cmp(&b.sort_key()));
    v1::AuditV1 {
        schema: SCHEMA,
        generated_at: fmt_time(r.generated_at),
        generated_at_unix: r.generated_at,
        anchor: r.anchor.clone(),
        warn_days: r.warn_days,
        queries: r.queries,
        summary: v1::SummaryV1 {
            worst: r.worst(),
            exit_code: r.exit_code(),
            errors,
            warnings,
            infos,
        },
        orgs: r
            .orgs
            .iter()
            .map(|o| v1::OrgV1 {
                name: o.name.clone(),
                host: o.host.clone(),
                zone: o.zone.clone(),
                chain: o.chain.clone(),
                status: r.org_chain(o),
                worst: r.org_worst(o),
                records: o
                    .records
                    .iter()
                    .map(|x| v1::RecordV1 {
                        name: x.name.clone(),
                        rtype: x.rtype.clone(),
                        values: x.values.clone(),
                        signed: x.signed,
                    })
                    .collect(),
            })
            .collect(),
        zones: r
            .zones
            .iter()
            .map(|z| v1::ZoneV1 {
                zone: z.zone.clone(),
                parent: z.parent.clone(),
                status: z.status,
                worst: r.zone_worst(&z.zone),
                servers: z
                    .servers
                    .iter()
                    .map(|s| v1::ServerV1 {
                        name: s.name.clone(),
                        address: s.addr.clone(),
                        answered: s.answered,
                        serial: s.serial,
                    })
                    .collect(),
                ds: z
                    .ds
                    .iter()
                    .map(|d| v1::DsV1 {
                        key_tag: d.tag,
                        algorithm: d.algorithm,
                        digest_type: d.digest_type,
                        matches_key: d.matches,
                    })
                    .collect(),
                keys: z
                    .keys
                    .iter()
                    .map(|k| v1::KeyV1 {
                        key_tag: k.tag,
                        algorithm: k.algorithm,
                        flags: k.flags,
                        role: k.role(),
                        revoked: k.revoked(),
                        has_ds: k.has_ds,
                        signs: k.signs.clone(),
                    })
                    .collect(),
                signatures: z
                    .signatures
                    .iter()
                    .map(|s| v1::SignatureV1 {
                        rrset: s.rrset.clone(),
                        ttl: s.ttl,
                        key_tag: s.key_tag,
                        algorithm: s.algorithm,
                        inception: fmt_time(s.inception),
                        expiration: fmt_time(s.expiration),
                        seconds_left: s.expiration - r.generated_at,
                        valid: s.valid,
                    })
                    .collect(),
                denial: z.denial.as_ref().map(|d| v1::DenialV1 {
                    kind: d.kind.clone(),
                    iterations: d.iterations,
                    salt: d.salt.clone(),
                    opt_out: d.opt_out,
                }),
            })
            .collect(),
        findings: findings.into_iter().map(|(f, o)| finding(f, o)).collect(),
        causes: causes(r)
            .into_iter()
            .map(|c| v1::CauseV1 {
                code: c.code.as_str(),
                severity: c.severity,
                zone: c.zone.to_string(),
                org: c.org.map(str::to_string),
                count: c.count,
                records: c.records.iter().map(|x| x.to_string()).collect(),
                servers: c.servers.iter().map(|x| x.to_string()).collect(),
                detail: c.detail(),
                fix: c.fix(),
            })
            .collect(),
    }
}

/// Render the report as pretty-printed JSON (one trailing newline).
pub fn render(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&to_v1(r)).unwrap_or_else(|e| {
        // Serialising plain structs of strings and numbers cannot fail; keep a valid document anyway.
        format!("{{\"schema\":\"{SCHEMA}\",\"error\":\"{e}\"}}")
    });
    s.push('\n');
    s
}
