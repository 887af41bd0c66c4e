//! The chain of trust, checked step by step (RFC 4033, RFC 4034, RFC 4035 section 5,
//! RFC 5155 section 8, RFC 6840, RFC 9276).
//!
//! Pure functions over records already fetched: the DNSKEY set of a zone against a DS set or a
//! trust anchor; an RRset against the zone's keys (signer, labels, validity window in serial
//! arithmetic, key flags, algorithm, signature math through hickory-proto's `Verifier`, ED448
//! through `ed448-goldilocks`: [`signature_verifies`]); NSEC
//! and NSEC3 denial of existence (NXDOMAIN, NODATA, wildcard NODATA, unsigned delegations,
//! NSEC3 opt-out, RFC 9276 iteration limit). Every failure is a [`BogusReason`] a person can
//! act on.
//!
//! # Work budget
//! After KeyTrap (CVE-2023-50387) and the NSEC3 closest-encloser attack (CVE-2023-50868),
//! BIND 9.18.24+ and Unbound 1.19.1+ bound what one answer may cost; so does this module. The
//! limits are the `MAX_*` constants below, each naming where its figure comes from: signature
//! checks per RRset ([`MAX_SIG_CHECKS_PER_RRSET`]), keys sharing an RRSIG's key tag
//! ([`MAX_KEYTAG_COLLISIONS`]), NSEC/NSEC3 RRsets per answer ([`MAX_DENIAL_RRSETS_PER_ANSWER`]),
//! NSEC3 hashes per answer ([`MAX_NSEC3_HASHES_PER_ANSWER`], each name hashed once per answer),
//! and, through a [`Budget`], signature checks and NSEC3 hashes per organisation. Work is
//! counted in [`Work`] (signature checks, NSEC3 hashes), never in seconds, so the verdict is
//! the same on a slow and a fast machine. Going over a limit is [`BogusReason::OverBudget`],
//! naming the zone and the limit. Signatures are tried in a fixed order (key tag, algorithm,
//! signature bytes), not in the order a server sent them, so the same data gives the same
//! verdict.
//!
//! # Limitations
//! Signature time checks use the local clock without skew allowance. DNSKEY sets are accepted
//! through any one valid DS-matched key (RFC 6840 5.11), not per algorithm. NSEC3 with more
//! than [`NSEC3_MAX_ITERATIONS`] iterations makes the answer insecure (RFC 9276 3.2). DNAME is
//! not supported; a CNAME answer is reported, not followed.

// Failure reasons carry owner names (inline label storage makes them large); they are built
// once per failed lookup, so boxing them would buy nothing.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::dotless;
use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS, NSEC, NSEC3, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, Nsec3HashAlgorithm, Verifier};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// RFC 9276 section 3.2: NSEC3 records with more iterations than this make an answer insecure.
pub const NSEC3_MAX_ITERATIONS: u16 = 150;

/// Signature verifications tried for one RRset before it is `bogus` (over budget). Unbound
/// 1.19.1's `MAX_VALIDATE_RRSIGS` (8); BIND 9.18.24 stops at the first failed validation.
/// A well-kept zone needs one; a rollover or a second algorithm a few.
pub const MAX_SIG_CHECKS_PER_RRSET: u32 = 8;

/// Keys of one DNSKEY set that may share the key tag and algorithm of one RRSIG. More, and that
/// RRSIG is not tried at all (KeyTrap's colliding keys). Unbound 1.19.1 bounds the same
/// collisions through `MAX_DS_MATCH_FAILURES` (4); random key tags collide with odds of 1 in
/// 65536 per key pair.
pub const MAX_KEYTAG_COLLISIONS: usize = 4;

/// NSEC or NSEC3 RRsets one negative answer or referral may carry before it is over budget
/// (checked before any of their signatures). A proof needs at most three (RFC 5155 7.2.1 and
/// 8.4); NSEC3 amplification sends a hundred and more.
pub const MAX_DENIAL_RRSETS_PER_ANSWER: usize = 8;

/// NSEC3 hashes computed for one answer (each name hashed once per answer). An honest proof
/// hashes the labels between the name and the closest encloser plus two; the closest-encloser
/// attack (CVE-2023-50868) makes a validator hash every label of a 100-label name against
/// every record. Unbound 1.19.1 computes `MAX_NSEC3_CALCULATIONS` (8) at once and suspends the
/// rest; this validator has no suspension and allows four such rounds.
pub const MAX_NSEC3_HASHES_PER_ANSWER: u32 = 32;

/// Signature verifications for one organisation's verdict (all its lookups, including the
/// zones they are the first to establish). The counterpart of BIND's
/// `max-validations-per-fetch` (16 per fetch) across the six lookups and the chain above them.
/// A backstop, set far above what a chain within [`MAX_ZONE_DEPTH`] needs (about three checks
/// per cut and one per answer), so that the limits that do not depend on what other
/// organisations cached first (per RRset, per answer, depth) always decide first; at most
/// about a tenth of a second of CPU.
pub const MAX_SIG_CHECKS_PER_ORG: u64 = 1024;

/// NSEC3 hashes for one organisation's verdict: a backstop above six answers at
/// [`MAX_NSEC3_HASHES_PER_ANSWER`] each plus the DS lookups of a deep chain; at 150 iterations
/// and a 255-byte salt about a tenth of a second of CPU.
pub const MAX_NSEC3_HASHES_PER_ORG: u64 = 512;

/// Zone cuts from the trust anchor to the zone that answers: deeper is `bogus` (over budget).
/// Counted along the name's own chain of zones (the anchor's zone is 0, each cut below adds
/// one), so the verdict does not depend on which zones another lookup cached first. BIND
/// stops a fetch after `max-recursion-queries` (50) queries, about 25 cuts of DS and DNSKEY
/// fetches; 40 leaves room for deep private hierarchies.
pub const MAX_ZONE_DEPTH: u32 = 40;

/// Which work limit an answer went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`MAX_SIG_CHECKS_PER_RRSET`].
    SigChecksPerRrset,
    /// [`MAX_KEYTAG_COLLISIONS`].
    KeyTagCollisions,
    /// [`MAX_DENIAL_RRSETS_PER_ANSWER`].
    DenialRrsetsPerAnswer,
    /// [`MAX_NSEC3_HASHES_PER_ANSWER`].
    Nsec3HashesPerAnswer,
    /// [`MAX_SIG_CHECKS_PER_ORG`].
    SigChecksPerOrg,
    /// [`MAX_NSEC3_HASHES_PER_ORG`].
    Nsec3HashesPerOrg,
    /// [`MAX_ZONE_DEPTH`].
    ZoneDepth,
}

impl Limit {
    /// The limit's value.
    pub fn value(self) -> u64 {
        match self {
            Limit::SigChecksPerRrset => u64::from(MAX_SIG_CHECKS_PER_RRSET),
            Limit::KeyTagCollisions => MAX_KEYTAG_COLLISIONS as u64,
            Limit::DenialRrsetsPerAnswer => MAX_DENIAL_RRSETS_PER_ANSWER as u64,
            Limit::Nsec3HashesPerAnswer => u64::from(MAX_NSEC3_HASHES_PER_ANSWER),
            Limit::SigChecksPerOrg => MAX_SIG_CHECKS_PER_ORG,
            Limit::Nsec3HashesPerOrg => MAX_NSEC3_HASHES_PER_ORG,
            Limit::ZoneDepth => u64::from(MAX_ZONE_DEPTH),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value();
        match self {
            Limit::SigChecksPerRrset => write!(f, "{v} signature checks per RRset"),
            Limit::KeyTagCollisions => write!(f, "{v} keys sharing one RRSIG's key tag"),
            Limit::DenialRrsetsPerAnswer => write!(f, "{v} NSEC/NSEC3 RRsets per answer"),
            Limit::Nsec3HashesPerAnswer => write!(f, "{v} NSEC3 hashes per answer"),
            Limit::SigChecksPerOrg => write!(f, "{v} signature checks per organisation"),
            Limit::Nsec3HashesPerOrg => write!(f, "{v} NSEC3 hashes per organisation"),
            Limit::ZoneDepth => write!(f, "{v} zone cuts below the trust anchor"),
        }
    }
}

/// Validation work done, counted (signature verifications tried, NSEC3 hashes computed).
/// Shared between tasks (atomic counters): one for a whole run, one per organisation.
#[derive(Debug, Default)]
pub struct Work {
    sig_checks: AtomicU64,
    nsec3_hashes: AtomicU64,
}

impl Work {
    /// Signature verifications tried so far.
    pub fn sig_checks(&self) -> u64 {
        self.sig_checks.load(Ordering::Relaxed)
    }

    /// NSEC3 hashes computed so far.
    pub fn nsec3_hashes(&self) -> u64 {
        self.nsec3_hashes.load(Ordering::Relaxed)
    }
}

/// Where validation work is counted: the run's counters and the organisation's (whose totals
/// are bounded by [`MAX_SIG_CHECKS_PER_ORG`] and [`MAX_NSEC3_HASHES_PER_ORG`]). The default
/// counts nothing and bounds only per RRset and per answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget<'a> {
    /// The run's counters.
    pub run: Option<&'a Work>,
    /// The organisation's counters (bounded).
    pub org: Option<&'a Work>,
}

impl Budget<'_> {
    /// Count one signature verification about to be tried for `zone`; over the organisation's
    /// limit it is not to be tried.
    fn sig_check(&self, zone: &Name) -> Result<(), BogusReason> {
        self.charge(
            zone,
            |w| &w.sig_checks,
            MAX_SIG_CHECKS_PER_ORG,
            Limit::SigChecksPerOrg,
        )
    }

    /// Count one NSEC3 hash about to be computed for `zone`.
    fn nsec3_hash(&self, zone: &Name) -> Result<(), BogusReason> {
        self.charge(
            zone,
            |w| &w.nsec3_hashes,
            MAX_NSEC3_HASHES_PER_ORG,
            Limit::Nsec3HashesPerOrg,
        )
    }

    fn charge(
        &self,
        zone: &Name,
        counter: impl Fn(&Work) -> &AtomicU64,
        max: u64,
        limit: Limit,
    ) -> Result<(), BogusReason> {
        if let Some(org) = self.org {
            let c = counter(org);
            if c.load(Ordering::Relaxed) >= max {
                return Err(over(zone, limit));
            }
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(run) = self.run {
            counter(run).fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn over(zone: &Name, limit: Limit) -> BogusReason {
    BogusReason::OverBudget {
        zone: zone.clone(),
        limit,
    }
}

/// A DNSKEY of a validated set, with the numbers people look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key tag (RFC 4034 appendix B).
    pub tag: u16,
    /// Flags field (256 ZSK, 257 KSK, +128 REVOKE).
    pub flags: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// The record itself.
    pub key: DNSKEY,
}

impl KeyInfo {
    /// Describe one DNSKEY.
    pub fn of(key: &DNSKEY) -> KeyInfo {
        KeyInfo {
            tag: key.calculate_key_tag().unwrap_or(0),
            flags: key.flags(),
            algorithm: u8::from(key.algorithm()),
            key: key.clone(),
        }
    }

    /// Whether the key may sign zone data: ZONE flag set, not revoked (RFC 4034 2.1.1, RFC 5011 7).
    pub fn usable(&self) -> bool {
        self.key.zone_key() && !self.key.revoke()
    }
}

/// The validity window of one RRSIG, kept for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigWindow {
    /// The type covered.
    pub covered: RecordType,
    /// Key tag of the signing key.
    pub key_tag: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// Inception, seconds since the epoch (mod 2^32).
    pub inception: u32,
    /// Expiration, seconds since the epoch (mod 2^32).
    pub expiration: u32,
}

impl SigWindow {
    /// The window of one RRSIG.
    pub fn of(sig: &RRSIG) -> SigWindow {
        let i = sig.input();
        SigWindow {
            covered: i.type_covered,
            key_tag: i.key_tag,
            algorithm: u8::from(i.algorithm),
            inception: i.sig_inception.get(),
            expiration: i.sig_expiration.get(),
        }
    }
}

/// What the tool validated about one zone: the evidence the audit builds on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneChain {
    /// The zone apex.
    pub zone: Name,
    /// The parent zone whose DS set was used, or `None` when a trust anchor was used.
    pub parent: Option<Name>,
    /// The validated DS set (or the DS anchors) the DNSKEY set was matched against.
    pub ds: Vec<DS>,
    /// The DNSKEY set, every key described.
    pub keys: Vec<KeyInfo>,
    /// Key tags of the keys that matched a DS or an anchor.
    pub entry_tags: Vec<u16>,
    /// RRSIG windows over the DNSKEY set.
    pub dnskey_sigs: Vec<SigWindow>,
    /// RRSIG windows over the DS set at the parent (empty for an anchor).
    pub ds_sigs: Vec<SigWindow>,
}

impl ZoneChain {
    /// The zone's usable signing keys.
    pub fn zone_keys(&self) -> impl Iterator<Item = &KeyInfo> {
        self.keys.iter().filter(|k| k.usable())
    }
}

/// Why validation failed; renders to a sentence naming zone, record and cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BogusReason {
    /// No RRSIG covers the RRset (or none by the zone that should sign it).
    NoRrsig {
        /// Owner.
        name: Name,
        /// Type.
        rtype: RecordType,
    },
    /// The only signatures were made by another signer than the zone.
    WrongSigner {
        /// Owner.
        name: Name,
        /// Type.
        rtype: RecordType,
        /// The signer field found.
        signer: Name,
        /// The zone expected.
        zone: Name,
    },
    /// The signature expired.
    Expired {
        /// Owner.
        name: Name,
        /// Type.
        rtype: RecordType,
        /// Expiration, seconds since the epoch.
        at: u32,
    },
    /// The signature is not valid yet.
    NotYetValid {
        /// Owner.
        name: Name,
        /// Type.
        rtype: RecordType,
        /// Inception, seconds since the epoch.
        from: u32,
    },
    /// The RRSIG names a key not in the zone's DNSKEY set (or not usable).
    UnknownKey {
        /// Owner.
        name: Name,
        /// Type.
        rtype: RecordType,
        /// The key tag in the RRSIG.
        tag: u16,
        /// The zone.
        zone: Name,
    },
    /// The signature does not verify with the key it names.
    BadSignature {
        /// Owner.
        name: Name,
        /// Type.
        rtype: RecordType,
        /// The key tag.
        tag: u16,
    },
    /// The RRSIG labels field is larger than the owner's label count.
    BadLabels {
        /// Owner.
        name: Name,
        /// Type.
        rtype: RecordType,
    },
    /// No DNSKEY matches the DS set at the parent.
    DsMismatch {
        /// The child zone.
        zone: Name,
        /// The parent zone holding the DS.
        parent: Name,
        /// DS key tags.
        ds_tags: Vec<u16>,
        /// DNSKEY key tags.
        key_tags: Vec<u16>,
    },
    /// No DNSKEY matches the trust anchor.
    AnchorMismatch {
        /// The anchored zone.
        zone: Name,
        /// Anchor key tags.
        anchor_tags: Vec<u16>,
        /// DNSKEY key tags.
        key_tags: Vec<u16>,
    },
    /// The zone served no DNSKEY set although its parent has a DS.
    NoDnskey {
        /// The zone.
        zone: Name,
    },
    /// A denial of existence was missing or did not prove what it should.
    BadDenial {
        /// The name asked for.
        name: Name,
        /// The type asked for.
        rtype: RecordType,
        /// The zone that should prove it.
        zone: Name,
        /// What is missing.
        why: DenialFlaw,
    },
    /// A referral to a child zone came without DS and without proof that there is none.
    UnprovenDelegation {
        /// The child zone.
        zone: Name,
        /// The parent.
        parent: Name,
    },
    /// The answer is a CNAME; aliases are not followed.
    Cname {
        /// The name asked for.
        name: Name,
        /// The alias target.
        target: Name,
    },
    /// Validating the zone's answer would take more work than a limit allows (KeyTrap,
    /// NSEC3 amplification, an over-deep chain of zones).
    OverBudget {
        /// The zone whose data went over the limit.
        zone: Name,
        /// The limit.
        limit: Limit,
    },
    /// The answer did not fit the question (e.g. a signer outside the name's ancestry).
    Unexpected {
        /// The name asked for.
        name: Name,
        /// The type asked for.
        rtype: RecordType,
        /// What was unexpected.
        why: &'static str,
    },
}

impl BogusReason {
    /// The zone the failure is in, when the reason names one.
    pub fn zone(&self) -> Option<&Name> {
        use BogusReason::*;
        match self {
            WrongSigner { zone, .. }
            | UnknownKey { zone, .. }
            | DsMismatch { zone, .. }
            | AnchorMismatch { zone, .. }
            | NoDnskey { zone }
            | BadDenial { zone, .. }
            | OverBudget { zone, .. }
            | UnprovenDelegation { zone, .. } => Some(zone),
            Expired { name, rtype, .. } | NotYetValid { name, rtype, .. }
                if *rtype == RecordType::DNSKEY =>
            {
                Some(name)
            }
            _ => None,
        }
    }
}

/// What a denial of existence lacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialFlaw {
    /// No validated NSEC or NSEC3 record in the answer.
    NoRecords,
    /// Nothing proves that the name does not exist.
    NameNotCovered,
    /// Nothing proves that no wildcard could have answered.
    WildcardNotCovered,
    /// The name exists but nothing proves the type is absent.
    TypeNotProven,
    /// The NSEC/NSEC3 proof shows the type exists.
    TypePresent,
    /// The proof comes from a parent-side delegation record, not from the zone itself.
    FromDelegation,
    /// No closest encloser could be proven (NSEC3).
    NoClosestEncloser,
    /// The name was proven to exist although the answer said NXDOMAIN.
    NameExists,
}

impl fmt::Display for DenialFlaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DenialFlaw::NoRecords => "no signed NSEC or NSEC3 record in the answer",
            DenialFlaw::NameNotCovered => "no NSEC/NSEC3 proves the name does not exist",
            DenialFlaw::WildcardNotCovered => "no NSEC/NSEC3 proves that no wildcard applies",
            DenialFlaw::TypeNotProven => "no NSEC/NSEC3 at the name proves the type is absent",
            DenialFlaw::TypePresent => "the NSEC/NSEC3 type bitmap says the type exists",
            DenialFlaw::FromDelegation => {
                "the proof is a parent-side delegation record, not the zone's own"
            }
            DenialFlaw::NoClosestEncloser => "no NSEC3 proves a closest encloser",
            DenialFlaw::NameExists => "an NSEC/NSEC3 shows the name exists",
        })
    }
}

/// RFC 3339 UTC for an RRSIG time.
pub fn rfc3339(t: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(t))
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn tags(t: &[u16]) -> String {
    if t.is_empty() {
        return "none".into();
    }
    t.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for BogusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BogusReason::*;
        match self {
            NoRrsig { name, rtype } => write!(f, "no RRSIG covering {} {rtype}", dotless(name)),
            WrongSigner {
                name,
                rtype,
                signer,
                zone,
            } => write!(
                f,
                "RRSIG on {} {rtype} is by {} instead of the zone {}",
                dotless(name),
                dotless(signer),
                dotless(zone)
            ),
            Expired { name, rtype, at } => write!(
                f,
                "RRSIG on {} {rtype} expired at {}",
                dotless(name),
                rfc3339(*at)
            ),
            NotYetValid { name, rtype, from } => write!(
                f,
                "RRSIG on {} {rtype} is not valid before {}",
                dotless(name),
                rfc3339(*from)
            ),
            UnknownKey {
                name,
                rtype,
                tag,
                zone,
            } => write!(
                f,
                "signature on {} {rtype} by key tag {tag} which is not in the DNSKEY set of {}",
                dotless(name),
                dotless(zone)
            ),
            BadSignature { name, rtype, tag } => write!(
                f,
                "RRSIG on {} {rtype} by key tag {tag} does not verify",
                dotless(name)
            ),
            BadLabels { name, rtype } => write!(
                f,
                "RRSIG on {} {rtype} has a labels field larger than the name",
                dotless(name)
            ),
            DsMismatch {
                zone,
                parent,
                ds_tags,
                key_tags,
            } => write!(
                f,
                "DS in {} for {} matches no DNSKEY (DS tags {}; DNSKEY tags {})",
                dotless(parent),
                dotless(zone),
                tags(ds_tags),
                tags(key_tags)
            ),
            AnchorMismatch {
                zone,
                anchor_tags,
                key_tags,
            } => write!(
                f,
                "trust anchor for {} matches no DNSKEY (anchor tags {}; DNSKEY tags {})",
                dotless(zone),
                tags(anchor_tags),
                tags(key_tags)
            ),
            NoDnskey { zone } => write!(
                f,
                "{} has a DS at its parent but serves no DNSKEY set",
                dotless(zone)
            ),
            BadDenial {
                name,
                rtype,
                zone,
                why,
            } => write!(
                f,
                "denial of {} {rtype} in {} is not proven: {why}",
                dotless(name),
                dotless(zone)
            ),
            UnprovenDelegation { zone, parent } => write!(
                f,
                "referral from {} to {} has neither a signed DS nor a proof that there is none",
                dotless(parent),
                dotless(zone)
            ),
            Cname { name, target } => write!(
                f,
                "{} is a CNAME to {}; aliases are not followed",
                dotless(name),
                dotless(target)
            ),
            OverBudget { zone, limit } => write!(
                f,
                "validating {} would exceed the work limit of {limit}",
                dotless(zone)
            ),
            Unexpected { name, rtype, why } => {
                write!(f, "answer for {} {rtype}: {why}", dotless(name))
            }
        }
    }
}

/// RFC 1982 serial-number comparison: whether `a` is before `b` (RFC 4034 3.1.5).
pub fn serial_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

/// The RRSIG record data of a record, if it is one.
pub fn as_rrsig(r: &Record) -> Option<&RRSIG> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s),
        _ => None,
    }
}

/// The DNSKEY record data of a record, if it is one.
pub fn as_dnskey(r: &Record) -> Option<&DNSKEY> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
        _ => None,
    }
}

/// The DS record data of a record, if it is one.
pub fn as_ds(r: &Record) -> Option<&DS> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::DS(d)) => Some(d),
        _ => None,
    }
}

fn as_nsec(r: &Record) -> Option<&NSEC> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::NSEC(n)) => Some(n),
        _ => None,
    }
}

fn as_nsec3(r: &Record) -> Option<&NSEC3> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some(n),
        _ => None,
    }
}

/// Records of `name`/`rtype` from a section, duplicates removed (RFC 4034 6.3).
pub fn rrset(records: &[Record], name: &Name, rtype: RecordType) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for r in records {
        if r.record_type() == rtype
            && &r.name == name
            && r.dns_class == DNSClass::IN
            && !out.iter().any(|o| o.data == r.data)
        {
            out.push(r.clone());
        }
    }
    out
}

/// RRSIGs in a section over `name`/`rtype`.
pub fn sigs_for(records: &[Record], name: &Name, rtype: RecordType) -> Vec<Record> {
    records
        .iter()
        .filter(|r| &r.name == name && as_rrsig(r).is_some_and(|s| s.input().type_covered == rtype))
        .cloned()
        .collect()
}

/// How a successful RRSIG check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The window of the signature that verified.
    pub window: SigWindow,
    /// For a wildcard expansion (labels < owner labels): the wildcard's parent, the closest
    /// encloser; the caller must then prove the name itself does not exist.
    pub wildcard_parent: Option<Name>,
}

/// Check that `rrset` (all of one owner and type) is signed by one of `keys`, usable keys of
/// `zone`, by one of `sigs`, at time `now` (seconds since the epoch). Bounded per RRset as
/// [`verify_rrset_within`] is, without counting the work anywhere.
pub fn verify_rrset(
    rrset: &[Record],
    sigs: &[Record],
    zone: &Name,
    keys: &[&DNSKEY],
    now: u32,
) -> Result<Verified, BogusReason> {
    verify_rrset_within(rrset, sigs, zone, keys, now, Budget::default())
}

/// [`verify_rrset`], with the signature verifications counted in `budget`.
///
/// Cheap checks first (type, owner, signer, labels, validity window, a usable key with the
/// RRSIG's tag and algorithm). Then, before any signature is verified, the demand: if one
/// remaining RRSIG's tag and algorithm are shared by more than [`MAX_KEYTAG_COLLISIONS`] keys,
/// or the (RRSIG, key) pairs to try number more than [`MAX_SIG_CHECKS_PER_RRSET`], the RRset
/// is [`BogusReason::OverBudget`] without a single verification (as BIND refuses an RRset
/// carrying `max-validations-per-fetch` signatures outright). Otherwise the pairs are tried in
/// a fixed order (key tag, algorithm, signature bytes) until one verifies. The verdict thus
/// depends on the records, never on their order.
pub fn verify_rrset_within(
    rrset: &[Record],
    sigs: &[Record],
    zone: &Name,
    keys: &[&DNSKEY],
    now: u32,
    budget: Budget<'_>,
) -> Result<Verified, BogusReason> {
    let first = rrset.first().ok_or_else(|| BogusReason::Unexpected {
        name: zone.clone(),
        rtype: RecordType::ANY,
        why: "empty RRset",
    })?;
    let name = &first.name;
    let rtype = first.record_type();
    let mut best: Option<(u8, BogusReason)> = None;
    let mut note = |rank: u8, reason: BogusReason| {
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, reason));
        }
    };
    // Each usable key's tag, computed once for the set.
    let tagged: Vec<(u16, &DNSKEY)> = keys
        .iter()
        .filter(|k| k.zone_key() && !k.revoke())
        .filter_map(|k| k.calculate_key_tag().ok().map(|t| (t, *k)))
        .collect();
    let mut any = false;
    let mut to_try: Vec<(&RRSIG, Vec<&DNSKEY>)> = Vec::new();
    for rec in sigs {
        let Some(sig) = as_rrsig(rec) else { continue };
        let input = sig.input();
        if input.type_covered != rtype || &rec.name != name {
            continue;
        }
        any = true;
        if &input.signer_name != zone {
            note(
                0,
                BogusReason::WrongSigner {
                    name: name.clone(),
                    rtype,
                    signer: input.signer_name.clone(),
                    zone: zone.clone(),
                },
            );
            continue;
        }
        if input.num_labels > name.num_labels() {
            note(
                1,
                BogusReason::BadLabels {
                    name: name.clone(),
                    rtype,
                },
            );
            continue;
        }
        let (inception, expiration) = (input.sig_inception.get(), input.sig_expiration.get());
        if serial_lt(expiration, now) {
            note(
                3,
                BogusReason::Expired {
                    name: name.clone(),
                    rtype,
                    at: expiration,
                },
            );
            continue;
        }
        if serial_lt(now, inception) {
            note(
                3,
                BogusReason::NotYetValid {
                    name: name.clone(),
                    rtype,
                    from: inception,
                },
            );
            continue;
        }
        let candidates: Vec<&DNSKEY> = tagged
            .iter()
            .filter(|(t, k)| *t == input.key_tag && k.algorithm() == input.algorithm)
            .map(|(_, k)| *k)
            .collect();
        if candidates.is_empty() {
            note(
                2,
                BogusReason::UnknownKey {
                    name: name.clone(),
                    rtype,
                    tag: input.key_tag,
                    zone: zone.clone(),
                },
            );
            continue;
        }
        to_try.push((sig, candidates));
    }
    // What the RRset demands is judged before any signature is checked, so the verdict does
    // not depend on the order the server sent the signatures in.
    if to_try.iter().any(|(_, c)| c.len() > MAX_KEYTAG_COLLISIONS) {
        return Err(over(zone, Limit::KeyTagCollisions));
    }
    if to_try.iter().map(|(_, c)| c.len()).sum::<usize>() > MAX_SIG_CHECKS_PER_RRSET as usize {
        return Err(over(zone, Limit::SigChecksPerRrset));
    }
    to_try.sort_by(|(a, _), (b, _)| {
        let (ia, ib) = (a.input(), b.input());
        (ia.key_tag, u8::from(ia.algorithm), a.sig()).cmp(&(
            ib.key_tag,
            u8::from(ib.algorithm),
            b.sig(),
        ))
    });
    for (sig, candidates) in to_try {
        let input = sig.input();
        for key in candidates {
            budget.sig_check(zone)?;
            if signature_verifies(key, name, sig, rrset) {
                let wildcard_parent = (input.num_labels < name.num_labels())
                    .then(|| name.trim_to(input.num_labels as usize));
                return Ok(Verified {
                    window: SigWindow::of(sig),
                    wildcard_parent,
                });
            }
        }
        note(
            4,
            BogusReason::BadSignature {
                name: name.clone(),
                rtype,
                tag: input.key_tag,
            },
        );
    }
    if !any {
        return Err(BogusReason::NoRrsig {
            name: name.clone(),
            rtype,
        });
    }
    Err(best.map(|(_, r)| r).unwrap_or(BogusReason::NoRrsig {
        name: name.clone(),
        rtype,
    }))
}

/// The outcome of checking a DNSKEY set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetCheck {
    /// The set is trusted; the chain data.
    Secure(ZoneChain),
    /// The DS set (or anchor) uses only algorithms or digests this tool cannot check
    /// (RFC 4035 5.2): the zone is insecure.
    Unsupported {
        /// Which algorithms / digest types.
        what: String,
    },
    /// Validation failed.
    Bogus(BogusReason),
}

fn ds_supported(ds: &DS) -> bool {
    algorithm_supported(ds.algorithm()) && ds.digest_type().is_supported()
}

/// Check the DNSKEY RRset of `zone` against a validated DS set from `parent` (or against the
/// trust anchors of the zone when `parent` is `None`: `anchor_ds` and `anchor_keys`).
#[allow(clippy::too_many_arguments)]
pub fn check_dnskeys(
    zone: &Name,
    parent: Option<&Name>,
    ds_set: &[DS],
    anchor_keys: &[DNSKEY],
    ds_sigs: Vec<SigWindow>,
    dnskey_rrset: &[Record],
    dnskey_sigs: &[Record],
    now: u32,
) -> KeySetCheck {
    check_dnskeys_within(
        zone,
        parent,
        ds_set,
        anchor_keys,
        ds_sigs,
        dnskey_rrset,
        dnskey_sigs,
        now,
        Budget::default(),
    )
}

/// [`check_dnskeys`], with the signature verifications counted in `budget`. A DS whose key tag
/// and algorithm more than [`MAX_KEYTAG_COLLISIONS`] keys of the set share is not matched
/// (no digest is computed for it).
#[allow(clippy::too_many_arguments)]
pub fn check_dnskeys_within(
    zone: &Name,
    parent: Option<&Name>,
    ds_set: &[DS],
    anchor_keys: &[DNSKEY],
    ds_sigs: Vec<SigWindow>,
    dnskey_rrset: &[Record],
    dnskey_sigs: &[Record],
    now: u32,
    budget: Budget<'_>,
) -> KeySetCheck {
    let keys: Vec<&DNSKEY> = dnskey_rrset.iter().filter_map(as_dnskey).collect();
    let infos: Vec<KeyInfo> = keys.iter().map(|k| KeyInfo::of(k)).collect();
    let key_tags: Vec<u16> = infos.iter().map(|k| k.tag).collect();
    if keys.is_empty() && anchor_keys.is_empty() {
        return KeySetCheck::Bogus(BogusReason::NoDnskey { zone: zone.clone() });
    }
    let supported: Vec<&DS> = ds_set.iter().filter(|d| ds_supported(d)).collect();
    let anchors_ok: Vec<&DNSKEY> = anchor_keys
        .iter()
        .filter(|k| algorithm_supported(k.algorithm()))
        .collect();
    if supported.is_empty() && anchors_ok.is_empty() {
        let what = ds_set
            .iter()
            .map(|d| {
                format!(
                    "algorithm {} digest type {}",
                    u8::from(d.algorithm()),
                    u8::from(d.digest_type())
                )
            })
            .chain(
                anchor_keys
                    .iter()
                    .map(|k| format!("algorithm {}", u8::from(k.algorithm()))),
            )
            .collect::<Vec<_>>()
            .join(", ");
        return KeySetCheck::Unsupported { what };
    }
    // Entry keys: members of the set matching a supported DS, or the anchor keys themselves.
    let mut entry: Vec<&DNSKEY> = Vec::new();
    let mut collided = false;
    for d in &supported {
        let same_tag: Vec<&DNSKEY> = keys
            .iter()
            .zip(&infos)
            .filter(|(k, i)| !k.revoke() && k.algorithm() == d.algorithm() && i.tag == d.key_tag())
            .map(|(k, _)| *k)
            .collect();
        if same_tag.len() > MAX_KEYTAG_COLLISIONS {
            collided = true;
            continue;
        }
        for k in same_tag {
            if !entry.contains(&k) && ds_matches_key(d, zone, k) {
                entry.push(k);
            }
        }
    }
    if entry.is_empty() && collided {
        return KeySetCheck::Bogus(over(zone, Limit::KeyTagCollisions));
    }
    entry.extend(
        anchors_ok
            .iter()
            .copied()
            .filter(|k| k.zone_key() && !k.revoke()),
    );
    if entry.is_empty() {
        let ds_tags: Vec<u16> = ds_set.iter().map(DS::key_tag).collect();
        return KeySetCheck::Bogus(match parent {
            Some(p) => BogusReason::DsMismatch {
                zone: zone.clone(),
                parent: p.clone(),
                ds_tags,
                key_tags,
            },
            None => BogusReason::AnchorMismatch {
                zone: zone.clone(),
                anchor_tags: ds_tags
                    .into_iter()
                    .chain(
                        anchor_keys
                            .iter()
                            .filter_map(|k| k.calculate_key_tag().ok()),
                    )
                    .collect(),
                key_tags,
            },
        });
    }
    if dnskey_rrset.is_empty() {
        return KeySetCheck::Bogus(BogusReason::NoDnskey { zone: zone.clone() });
    }
    match verify_rrset_within(dnskey_rrset, dnskey_sigs, zone, &entry, now, budget) {
        Ok(_) => {
            let entry_tags = entry
                .iter()
                .filter_map(|k| k.calculate_key_tag().ok())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            KeySetCheck::Secure(ZoneChain {
                zone: zone.clone(),
                parent: parent.cloned(),
                ds: ds_set.to_vec(),
                keys: infos,
                entry_tags,
                dnskey_sigs: dnskey_sigs
                    .iter()
                    .filter_map(as_rrsig)
                    .map(SigWindow::of)
                    .collect(),
                ds_sigs,
            })
        }
        Err(BogusReason::UnknownKey { .. }) | Err(BogusReason::NoRrsig { .. })
            if parent.is_some() =>
        {
            // The set is not signed by any key the DS points at.
            KeySetCheck::Bogus(BogusReason::DsMismatch {
                zone: zone.clone(),
                parent: parent.cloned().unwrap_or_else(Name::root),
                ds_tags: ds_set.iter().map(DS::key_tag).collect(),
                key_tags,
            })
        }
        Err(e) => KeySetCheck::Bogus(e),
    }
}

/// Whether `ds` points to `key` of `zone`: same algorithm and key tag, and the digest of the
/// owner name and DNSKEY rdata equals the DS digest (RFC 4034 5.1.4, RFC 4509).
pub fn ds_matches_key(ds: &DS, zone: &Name, key: &DNSKEY) -> bool {
    ds.algorithm() == key.algorithm()
        && key.calculate_key_tag().ok() == Some(ds.key_tag())
        && ds.covers(zone, key).unwrap_or(false)
}

/// A Unix time from a 32-bit RRSIG time field, taken as the value nearest to `now` (serial
/// number arithmetic, RFC 4034 3.1.5, RFC 1982): the same reading as [`serial_lt`].
pub fn serial_time(ts: u32, now: i64) -> i64 {
    now + i64::from(ts.wrapping_sub(now as u32) as i32)
}

/// Whether a zone's DS set (already validated) uses only unsupported algorithms or digests.
pub fn ds_all_unsupported(ds_set: &[DS]) -> bool {
    !ds_set.is_empty() && !ds_set.iter().any(ds_supported)
}

/// What a validated denial of existence proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The name does not exist.
    NxDomain,
    /// The name exists without the type.
    NoData,
    /// (Type DS) the name is a delegation without DS: an unsigned delegation.
    UnsignedDelegation,
    /// The proof rests on an NSEC3 opt-out span: an unsigned delegation may exist; insecure.
    OptOut {
        /// The name whose span is opted out.
        name: Name,
    },
    /// NSEC3 iterations above the RFC 9276 limit: insecure.
    TooManyIterations {
        /// The iteration count found.
        iterations: u16,
    },
}

/// Check a denial of existence for `qname`/`qtype` in `zone`, given the NSEC or NSEC3
/// records of the authority section that were already validated. `nxdomain` is the rcode.
pub fn check_denial(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    nxdomain: bool,
    validated: &[Record],
) -> Result<Denial, BogusReason> {
    check_denial_within(qname, qtype, zone, nxdomain, validated, Budget::default())
}

/// The NSEC and NSEC3 RRsets (owner, type) of an answer's authority section, each once, in the
/// order they came; more than [`MAX_DENIAL_RRSETS_PER_ANSWER`] is over budget for `zone`
/// (before any of their signatures is checked).
pub fn denial_rrsets(
    authorities: &[Record],
    zone: &Name,
) -> Result<Vec<(Name, RecordType)>, BogusReason> {
    let mut seen: Vec<(Name, RecordType)> = Vec::new();
    for r in authorities {
        let t = r.record_type();
        if t != RecordType::NSEC && t != RecordType::NSEC3 {
            continue;
        }
        if seen.iter().any(|(n, tt)| n == &r.name && *tt == t) {
            continue;
        }
        if seen.len() == MAX_DENIAL_RRSETS_PER_ANSWER {
            return Err(over(zone, Limit::DenialRrsetsPerAnswer));
        }
        seen.push((r.name.clone(), t));
    }
    Ok(seen)
}

/// [`check_denial`], with the NSEC3 hashes counted in `budget`: each name is hashed once per
/// (salt, iterations) for the whole answer, at most [`MAX_NSEC3_HASHES_PER_ANSWER`] hashes, and
/// at most [`MAX_DENIAL_RRSETS_PER_ANSWER`] NSEC3 records are looked at.
pub fn check_denial_within(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    nxdomain: bool,
    validated: &[Record],
    budget: Budget<'_>,
) -> Result<Denial, BogusReason> {
    let bad = |why: DenialFlaw| BogusReason::BadDenial {
        name: qname.clone(),
        rtype: qtype,
        zone: zone.clone(),
        why,
    };
    let nsecs: Vec<(&Name, &NSEC)> = validated
        .iter()
        .filter_map(|r| as_nsec(r).map(|n| (&r.name, n)))
        .filter(|(owner, _)| zone.zone_of(owner))
        .collect();
    let nsec3s: Vec<(&Name, &NSEC3)> = validated
        .iter()
        .filter_map(|r| as_nsec3(r).map(|n| (&r.name, n)))
        .filter(|(owner, n)| &owner.base_name() == zone && n.flags() & 0xFE == 0)
        .collect();
    if !nsecs.is_empty() {
        return nsec_denial(qname, qtype, zone, nxdomain, &nsecs).map_err(bad);
    }
    if !nsec3s.is_empty() {
        if nsec3s.len() > MAX_DENIAL_RRSETS_PER_ANSWER {
            return Err(over(zone, Limit::DenialRrsetsPerAnswer));
        }
        let hasher = Hasher::new(zone, budget);
        let out = nsec3_denial(qname, qtype, zone, nxdomain, &nsec3s, &hasher);
        hasher.result()?;
        return out.map_err(bad);
    }
    Err(bad(DenialFlaw::NoRecords))
}

/// Whether NSEC `owner -> next` covers `name` (owner < name < next, with wrap-around at the apex).
fn nsec_covers(owner: &Name, next: &Name, name: &Name, zone: &Name) -> bool {
    if !zone.zone_of(name) {
        return false;
    }
    if owner < next {
        owner < name && name < next
    } else {
        // Last NSEC of the zone: next is the apex.
        owner < name
    }
}

fn common_ancestor(a: &Name, b: &Name) -> Name {
    let mut n = a.clone();
    while !n.zone_of(b) {
        n = n.base_name();
    }
    n
}

fn is_delegation(types: impl Fn(RecordType) -> bool) -> bool {
    types(RecordType::NS) && !types(RecordType::SOA)
}

fn nsec_denial(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    nxdomain: bool,
    nsecs: &[(&Name, &NSEC)],
) -> Result<Denial, DenialFlaw> {
    // An NSEC at the name itself: NODATA (or the name exists).
    if let Some((_, n)) = nsecs.iter().find(|(o, _)| *o == qname) {
        if nxdomain {
            return Err(DenialFlaw::NameExists);
        }
        return nodata_at_name(|t| n.type_set().contains(t), qname, zone, qtype);
    }
    // Otherwise the name must be covered (NXDOMAIN, or NODATA at an empty non-terminal or
    // through a wildcard).
    let Some((owner, cover)) = nsecs
        .iter()
        .find(|(o, n)| nsec_covers(o, n.next_domain_name(), qname, zone))
    else {
        return Err(DenialFlaw::NameNotCovered);
    };
    let next = cover.next_domain_name();
    // A covering NSEC of a delegation above the name proves nothing below it (RFC 6840 4.1).
    if owner.zone_of(qname) && is_delegation(|t| cover.type_set().contains(t)) {
        return Err(DenialFlaw::FromDelegation);
    }
    if !nxdomain && qname.zone_of(next) && next != qname {
        // Empty non-terminal: the name exists (it has descendants) with no data at all.
        return Ok(Denial::NoData);
    }
    let ca1 = common_ancestor(qname, owner);
    let ca2 = common_ancestor(qname, next);
    let encloser = if ca1.num_labels() >= ca2.num_labels() {
        ca1
    } else {
        ca2
    };
    let wildcard = encloser
        .clone()
        .prepend_label("*")
        .map_err(|_| DenialFlaw::WildcardNotCovered)?;
    if nxdomain {
        let covered = nsecs
            .iter()
            .any(|(o, n)| nsec_covers(o, n.next_domain_name(), &wildcard, zone));
        if !covered {
            return Err(DenialFlaw::WildcardNotCovered);
        }
        return Ok(Denial::NxDomain);
    }
    // Wildcard NODATA: an NSEC at the wildcard without the type.
    match nsecs.iter().find(|(o, _)| **o == wildcard) {
        Some((_, n))
            if !n.type_set().contains(qtype) && !n.type_set().contains(RecordType::CNAME) =>
        {
            Ok(Denial::NoData)
        }
        Some(_) => Err(DenialFlaw::TypePresent),
        None => Err(DenialFlaw::TypeNotProven),
    }
}

/// Decode RFC 4648 base32hex (no padding, case-insensitive), as NSEC3 owner labels use.
pub fn base32hex_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &c in s {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'v' => c - b'a' + 10,
            b'A'..=b'V' => c - b'A' + 10,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// RFC 5155 section 5: the NSEC3 hash of `name`.
pub fn nsec3_hash(name: &Name, salt: &[u8], iterations: u16) -> Option<Vec<u8>> {
    Nsec3HashAlgorithm::SHA1
        .hash(salt, &name.to_lowercase(), iterations)
        .ok()
        .map(|d| d.as_ref().to_vec())
}

/// What one NSEC3 hash is computed from: the name (lowercase), the salt and the iterations.
type HashInput = (Name, Vec<u8>, u16);

/// NSEC3 hashes of one answer: each (name, salt, iterations) computed once, counted, and
/// bounded by [`MAX_NSEC3_HASHES_PER_ANSWER`] and the budget; past a limit every further hash
/// is refused (the proof then fails) and [`Hasher::result`] names the limit.
struct Hasher<'a> {
    zone: &'a Name,
    budget: Budget<'a>,
    memo: RefCell<HashMap<HashInput, Option<Vec<u8>>>>,
    computed: Cell<u32>,
    over: RefCell<Option<BogusReason>>,
}

impl<'a> Hasher<'a> {
    fn new(zone: &'a Name, budget: Budget<'a>) -> Hasher<'a> {
        Hasher {
            zone,
            budget,
            memo: RefCell::new(HashMap::new()),
            computed: Cell::new(0),
            over: RefCell::new(None),
        }
    }

    fn hash(&self, name: &Name, salt: &[u8], iterations: u16) -> Option<Vec<u8>> {
        let key = (name.to_lowercase(), salt.to_vec(), iterations);
        if let Some(h) = self.memo.borrow().get(&key) {
            return h.clone();
        }
        if self.over.borrow().is_some() {
            return None;
        }
        if self.computed.get() >= MAX_NSEC3_HASHES_PER_ANSWER {
            *self.over.borrow_mut() = Some(over(self.zone, Limit::Nsec3HashesPerAnswer));
            return None;
        }
        if let Err(e) = self.budget.nsec3_hash(self.zone) {
            *self.over.borrow_mut() = Some(e);
            return None;
        }
        self.computed.set(self.computed.get() + 1);
        let h = nsec3_hash(name, salt, iterations);
        self.memo.borrow_mut().insert(key, h.clone());
        h
    }

    fn result(&self) -> Result<(), BogusReason> {
        match self.over.borrow().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

struct N3<'a> {
    owner: Vec<u8>,
    rec: &'a NSEC3,
    hasher: &'a Hasher<'a>,
}

impl N3<'_> {
    fn hash(&self, name: &Name) -> Option<Vec<u8>> {
        self.hasher
            .hash(name, self.rec.salt(), self.rec.iterations())
    }
    fn matches(&self, name: &Name) -> bool {
        self.hash(name).is_some_and(|h| h == self.owner)
    }
    fn covers(&self, name: &Name) -> bool {
        let Some(h) = self.hash(name) else {
            return false;
        };
        let next = self.rec.next_hashed_owner_name();
        if self.owner.as_slice() < next {
            self.owner < h && h.as_slice() < next
        } else {
            h > self.owner || h.as_slice() < next
        }
    }
}

fn nsec3_denial(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    nxdomain: bool,
    records: &[(&Name, &NSEC3)],
    hasher: &Hasher<'_>,
) -> Result<Denial, DenialFlaw> {
    if let Some(it) = records.iter().map(|(_, n)| n.iterations()).max() {
        if it > NSEC3_MAX_ITERATIONS {
            return Ok(Denial::TooManyIterations { iterations: it });
        }
    }
    let n3: Vec<N3<'_>> = records
        .iter()
        .filter(|(_, n)| n.hash_algorithm() == Nsec3HashAlgorithm::SHA1)
        .filter_map(|(owner, rec)| {
            let label = owner.iter().next()?;
            Some(N3 {
                owner: base32hex_decode(label)?,
                rec,
                hasher,
            })
        })
        .collect();
    if n3.is_empty() {
        return Err(DenialFlaw::NoRecords);
    }
    // NODATA: a matching NSEC3 for the name.
    if let Some(m) = n3.iter().find(|n| n.matches(qname)) {
        if nxdomain {
            return Err(DenialFlaw::NameExists);
        }
        return nodata_at_name(|t| m.rec.type_set().contains(t), qname, zone, qtype);
    }
    // Closest encloser proof (RFC 5155 8.3).
    let mut encloser = qname.base_name();
    let mut next_closer = qname.clone();
    loop {
        if !zone.zone_of(&encloser) {
            return Err(DenialFlaw::NoClosestEncloser);
        }
        if let Some(m) = n3.iter().find(|n| n.matches(&encloser)) {
            // A delegation or DNAME cannot be the closest encloser of a name below it.
            let has = |t| m.rec.type_set().contains(t);
            if (is_delegation(has) && &encloser != zone) || has(RecordType::DNAME) {
                return Err(DenialFlaw::FromDelegation);
            }
            break;
        }
        // The apex matched no record: there is no closest encloser (and above the root
        // there is no further name: the root zone would otherwise loop here for ever).
        if &encloser == zone || encloser.is_root() {
            return Err(DenialFlaw::NoClosestEncloser);
        }
        next_closer = encloser.clone();
        encloser = encloser.base_name();
    }
    let Some(nc_cover) = n3.iter().find(|n| n.covers(&next_closer)) else {
        return Err(DenialFlaw::NameNotCovered);
    };
    let wildcard = encloser
        .clone()
        .prepend_label("*")
        .map_err(|_| DenialFlaw::WildcardNotCovered)?;
    if qtype == RecordType::DS && !nxdomain {
        // RFC 5155 8.6: DS NODATA without a matching NSEC3 is only valid via opt-out.
        return if nc_cover.rec.opt_out() {
            Ok(Denial::OptOut { name: next_closer })
        } else {
            Err(DenialFlaw::TypeNotProven)
        };
    }
    if nxdomain {
        if !n3.iter().any(|n| n.covers(&wildcard)) {
            return Err(DenialFlaw::WildcardNotCovered);
        }
        // An opt-out span over the next closer name is accepted for NXDOMAIN, as BIND does:
        // a denial only ever makes a record absent (pending), never trusted data.
        return Ok(Denial::NxDomain);
    }
    // Wildcard NODATA (RFC 5155 8.7).
    match n3.iter().find(|n| n.matches(&wildcard)) {
        Some(m)
            if !m.rec.type_set().contains(qtype)
                && !m.rec.type_set().contains(RecordType::CNAME) =>
        {
            Ok(Denial::NoData)
        }
        Some(_) => Err(DenialFlaw::TypePresent),
        None => Err(DenialFlaw::TypeNotProven),
    }
}

/// For a wildcard-expanded answer: check that `qname` itself does not exist (RFC 4035 5.3.4,
/// RFC 5155 8.8), given the validated NSEC/NSEC3 records of the authority section.
pub fn check_wildcard_expansion(
    qname: &Name,
    encloser: &Name,
    zone: &Name,
    validated: &[Record],
) -> bool {
    check_wildcard_expansion_within(qname, encloser, zone, validated, Budget::default())
        .unwrap_or(false)
}

/// [`check_wildcard_expansion`], with the NSEC3 hashes bounded and counted as in
/// [`check_denial_within`]; over a limit is an error naming it.
pub fn check_wildcard_expansion_within(
    qname: &Name,
    encloser: &Name,
    zone: &Name,
    validated: &[Record],
    budget: Budget<'_>,
) -> Result<bool, BogusReason> {
    let nsecs: Vec<(&Name, &NSEC)> = validated
        .iter()
        .filter_map(|r| as_nsec(r).map(|n| (&r.name, n)))
        .collect();
    if nsecs
        .iter()
        .any(|(o, n)| nsec_covers(o, n.next_domain_name(), qname, zone))
    {
        return Ok(true);
    }
    // NSEC3: the next closer name (one label below the encloser) must be covered.
    let depth = encloser.num_labels() as usize + 1;
    if (qname.num_labels() as usize) < depth {
        return Ok(false);
    }
    let next_closer = qname.trim_to(depth);
    let nsec3s: Vec<&Record> = validated.iter().filter(|r| as_nsec3(r).is_some()).collect();
    if nsec3s.len() > MAX_DENIAL_RRSETS_PER_ANSWER {
        return Err(over(zone, Limit::DenialRrsetsPerAnswer));
    }
    let hasher = Hasher::new(zone, budget);
    let covered = nsec3s.iter().any(|r| {
        let Some(n) = as_nsec3(r) else { return false };
        let Some(owner) = r.name.iter().next().and_then(base32hex_decode) else {
            return false;
        };
        N3 {
            owner,
            rec: n,
            hasher: &hasher,
        }
        .covers(&next_closer)
    });
    hasher.result()?;
    Ok(covered)
}

/// ED448 (RFC 8080), checked here: hickory-proto has no implementation of it.
pub const ED448: u8 = 16;

/// Whether a key algorithm can be checked by this tool: hickory-proto's (RSA/SHA-1, SHA-256,
/// SHA-512, ECDSA P-256 and P-384, Ed25519) and ED448. Zones whose DS set (or anchor) names
/// only other algorithms are insecure (RFC 4035 5.2, RFC 6840 5.2).
pub fn algorithm_supported(a: Algorithm) -> bool {
    a.is_supported() || u8::from(a) == ED448
}

/// Whether `sig` over `rrset` (owner `name`, class IN) verifies under `key`: the algorithm
/// hook. ED448 goes to RustCrypto's `ed448-goldilocks` (RFC 8080 section 3: the 57-byte public
/// key and 114-byte signature of RFC 8032, pure Ed448 without context over the RFC 4034 3.1.8.1
/// signed data); every other algorithm to hickory-proto's `Verifier`.
pub fn signature_verifies(key: &DNSKEY, name: &Name, sig: &RRSIG, rrset: &[Record]) -> bool {
    if u8::from(key.algorithm()) != ED448 {
        return key
            .verify_rrsig(name, DNSClass::IN, sig, rrset.iter())
            .is_ok();
    }
    let Ok(tbs) =
        hickory_proto::dnssec::TBS::from_input(name, DNSClass::IN, sig.input(), rrset.iter())
    else {
        return false;
    };
    let Ok(point) = <&[u8; 57]>::try_from(hickory_proto::dnssec::PublicKey::public_bytes(
        key.public_key(),
    )) else {
        return false;
    };
    let Ok(vk) = ed448_goldilocks::VerifyingKey::from_bytes(point) else {
        return false;
    };
    let Ok(signature) = ed448_goldilocks::Signature::from_slice(sig.sig()) else {
        return false;
    };
    vk.verify_raw(&signature, tbs.as_ref()).is_ok()
}

/// Whether a DS digest type can be checked by this tool.
pub fn digest_supported(d: DigestType) -> bool {
    d.is_supported()
}

/// NODATA from an NSEC or NSEC3 record that matches the queried name itself, given its type
/// bitmap (`has`): the type must be absent, and the record must not come from the parent side
/// of a delegation (RFC 4035 5.4, RFC 5155 8.5-8.6, RFC 6840 4.1). For DS, a matching record
/// with NS and without DS proves an unsigned delegation.
fn nodata_at_name(
    has: impl Fn(RecordType) -> bool,
    qname: &Name,
    zone: &Name,
    qtype: RecordType,
) -> Result<Denial, DenialFlaw> {
    if qtype == RecordType::DS {
        if has(RecordType::SOA) && qname != zone {
            return Err(DenialFlaw::FromDelegation);
        }
        if has(RecordType::DS) {
            return Err(DenialFlaw::TypePresent);
        }
        return Ok(if has(RecordType::NS) {
            Denial::UnsignedDelegation
        } else {
            Denial::NoData
        });
    }
    if is_delegation(&has) {
        return Err(DenialFlaw::FromDelegation);
    }
    if has(qtype) || has(RecordType::CNAME) {
        return Err(DenialFlaw::TypePresent);
    }
    Ok(Denial::NoData)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use hickory_proto::dnssec::PublicKeyBuf;
    use std::str::FromStr;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    #[test]
    fn serial_arithmetic_wraps() {
        assert!(serial_lt(1, 2));
        assert!(!serial_lt(2, 1));
        assert!(!serial_lt(5, 5));
        assert!(serial_lt(0xFFFF_FFF0, 5)); // wrapped
        assert!(!serial_lt(5, 0xFFFF_FFF0));
        assert!(serial_lt(0, 0x7FFF_FFFF));
    }

    // RFC 4034 section 5.4: the DS example for dskey.example.com.
    #[test]
    fn rfc4034_key_tag_and_ds_digest() {
        let b64 = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let key = DNSKEY::with_flags(256, PublicKeyBuf::new(key, Algorithm::from_u8(5)));
        assert_eq!(key.calculate_key_tag().unwrap(), 60485);
        let ds = DS::new(
            60485,
            Algorithm::from_u8(5),
            DigestType::SHA1,
            hex::decode("2BB183AF5F22588179A53B0A98631FAD1A292118").unwrap(),
        );
        assert!(ds.covers(&name("dskey.example.com."), &key).unwrap());
        assert!(!ds.covers(&name("other.example.com."), &key).unwrap());
    }

    // RFC 5155 appendix A: hashes with salt aabbccdd and 12 iterations.
    #[test]
    fn rfc5155_nsec3_hashes() {
        let salt = hex::decode("aabbccdd").unwrap();
        for (n, h) in [
            ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
            ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
            ("ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"),
            ("ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
            ("x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"),
            ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
        ] {
            let got = nsec3_hash(&name(n), &salt, 12).unwrap();
            assert_eq!(got, base32hex_decode(h.as_bytes()).unwrap(), "{n}");
        }
    }

    #[test]
    fn nsec_cover_wraps_at_apex() {
        let z = name("example.");
        assert!(nsec_covers(
            &name("a.example."),
            &name("c.example."),
            &name("b.example."),
            &z
        ));
        assert!(!nsec_covers(
            &name("a.example."),
            &name("c.example."),
            &name("d.example."),
            &z
        ));
        assert!(nsec_covers(
            &name("z.example."),
            &z,
            &name("zz.example."),
            &z
        ));
        assert!(!nsec_covers(&name("z.example."), &z, &name("other."), &z));
    }

    fn nsec(owner: &str, next: &str, types: &[RecordType]) -> Record {
        Record::from_rdata(
            name(owner),
            300,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
                name(next),
                types.iter().copied(),
            ))),
        )
    }

    // Zone example. with names: example. < a.example. < d.example. (delegation) < z.example.
    fn zone_nsecs() -> Vec<Record> {
        use RecordType::*;
        vec![
            nsec("example.", "a.example.", &[SOA, NS, NSEC, RRSIG, DNSKEY]),
            nsec("a.example.", "d.example.", &[A, TXT, NSEC, RRSIG]),
            nsec("d.example.", "z.example.", &[NS, NSEC, RRSIG]),
            nsec("z.example.", "example.", &[A, NSEC, RRSIG]),
        ]
    }

    #[test]
    fn nsec_denials() {
        let z = name("example.");
        let all = zone_nsecs();
        // b.example. is covered by a -> d, and *.example. by example. -> a.
        assert_eq!(
            check_denial(&name("b.example."), RecordType::A, &z, true, &all),
            Ok(Denial::NxDomain)
        );
        // Without the NSEC covering the wildcard, NXDOMAIN is not proven.
        let err =
            check_denial(&name("b.example."), RecordType::A, &z, true, &all[1..]).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::WildcardNotCovered,
                ..
            }
        ));
        // NODATA: a.example. has no AAAA, but it has TXT.
        assert_eq!(
            check_denial(&name("a.example."), RecordType::AAAA, &z, false, &all),
            Ok(Denial::NoData)
        );
        let err = check_denial(&name("a.example."), RecordType::TXT, &z, false, &all).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::TypePresent,
                ..
            }
        ));
        // The delegation NSEC proves the DS is absent (unsigned delegation) ...
        assert_eq!(
            check_denial(&name("d.example."), RecordType::DS, &z, false, &all),
            Ok(Denial::UnsignedDelegation)
        );
        // ... but nothing about data below or at the child (RFC 6840 4.1).
        let err = check_denial(&name("x.d.example."), RecordType::A, &z, true, &all).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::FromDelegation,
                ..
            }
        ));
        let err = check_denial(&name("d.example."), RecordType::A, &z, false, &all).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::FromDelegation,
                ..
            }
        ));
        // An NXDOMAIN for a name that has an NSEC is a lie.
        let err = check_denial(&name("z.example."), RecordType::A, &z, true, &all).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::NameExists,
                ..
            }
        ));
        // No records at all.
        let err = check_denial(&name("b.example."), RecordType::A, &z, true, &[]).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::NoRecords,
                ..
            }
        ));
    }

    fn nsec3(owner: &str, next: &str, types: &[RecordType]) -> Record {
        Record::from_rdata(
            name(&format!("{owner}.example.")),
            300,
            RData::DNSSEC(DNSSECRData::NSEC3(NSEC3::new(
                Nsec3HashAlgorithm::SHA1,
                true,
                12,
                hex::decode("aabbccdd").unwrap(),
                base32hex_decode(next.as_bytes()).unwrap(),
                types.iter().copied(),
            ))),
        )
    }

    /// An NSEC3 denial in the root zone whose records match no ancestor of the name ends
    /// with "no closest encloser" (the walk up used to loop at the root for ever).
    #[test]
    fn nsec3_denial_at_the_root_without_an_encloser_ends() {
        let root = Name::root();
        let rec = Record::from_rdata(
            name("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom."),
            300,
            RData::DNSSEC(DNSSECRData::NSEC3(NSEC3::new(
                Nsec3HashAlgorithm::SHA1,
                false,
                1,
                hex::decode("abcd").unwrap(),
                base32hex_decode(b"2t7b4g4vsa5smi47k61mv5bv1a22bojr").unwrap(),
                [RecordType::NS, RecordType::SOA],
            ))),
        );
        // On a thread, so a regression fails after ten seconds instead of hanging the suite.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(check_denial(
                &name("validator1.ogr1.com."),
                RecordType::AAAA,
                &root,
                false,
                &[rec],
            ));
        });
        let err = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("check_denial did not end")
            .unwrap_err();
        assert!(
            matches!(
                err,
                BogusReason::BadDenial {
                    why: DenialFlaw::NoClosestEncloser,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    // RFC 5155 appendix B: the NSEC3 records of each example response.
    #[test]
    fn rfc5155_appendix_b_denials() {
        use RecordType::*;
        let z = name("example.");
        // B.1 name error: a.c.x.w.example; closest encloser x.w.example.
        let b1 = b1();
        assert_eq!(
            check_denial(&name("a.c.x.w.example."), A, &z, true, &b1),
            Ok(Denial::NxDomain)
        );
        // Without the record covering the wildcard the proof is incomplete.
        let err = check_denial(&name("a.c.x.w.example."), A, &z, true, &b1[..2]).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::WildcardNotCovered,
                ..
            }
        ));
        // Without the closest encloser's record there is no proof at all.
        let err = check_denial(
            &name("a.c.x.w.example."),
            A,
            &z,
            true,
            &[b1[0].clone(), b1[2].clone()],
        )
        .unwrap_err();
        assert!(matches!(err, BogusReason::BadDenial { .. }));
        // B.2 no data: ns1.example MX.
        let b2 = vec![nsec3(
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
            "2vptu5timamqttgl4luu9kg21e0aor3s",
            &[A, RRSIG],
        )];
        assert_eq!(
            check_denial(&name("ns1.example."), MX, &z, false, &b2),
            Ok(Denial::NoData)
        );
        let err = check_denial(&name("ns1.example."), A, &z, false, &b2).unwrap_err();
        assert!(matches!(
            err,
            BogusReason::BadDenial {
                why: DenialFlaw::TypePresent,
                ..
            }
        ));
        // B.2.1 no data at an empty non-terminal: y.w.example A.
        let b21 = vec![nsec3(
            "ji6neoaepv8b5o6k4ev33abha8ht9fgc",
            "k8udemvp1j2f7eg6jebps17vp3n8i58h",
            &[],
        )];
        assert_eq!(
            check_denial(&name("y.w.example."), A, &z, false, &b21),
            Ok(Denial::NoData)
        );
    }

    const NOW: u32 = 1_800_000_000;

    fn txt_set() -> Vec<Record> {
        vec![Record::from_rdata(
            name("v.example."),
            300,
            RData::TXT(hickory_proto::rr::rdata::TXT::new(vec!["x".into()])),
        )]
    }

    /// Zone keys (flags 256, RSA/SHA-256) with the given key tags.
    fn keys_tagged(tags: &[u16]) -> Vec<DNSKEY> {
        tags.iter()
            .map(|&t| {
                let bytes = crate::lab::hierarchy::forged_rsa_key(256, 8, t);
                DNSKEY::with_flags(256, PublicKeyBuf::new(bytes, Algorithm::RSASHA256))
            })
            .collect()
    }

    /// A well-formed RRSIG over v.example. TXT by `tag`, valid at [`NOW`], junk signature.
    fn junk_sig(tag: u16, byte: u8) -> Record {
        use hickory_proto::dnssec::rdata::SigInput;
        use hickory_proto::rr::SerialNumber;
        let input = SigInput {
            type_covered: RecordType::TXT,
            algorithm: Algorithm::RSASHA256,
            num_labels: 2,
            original_ttl: 300,
            sig_expiration: SerialNumber::new(NOW + 3600),
            sig_inception: SerialNumber::new(NOW - 3600),
            key_tag: tag,
            signer_name: name("example."),
        };
        Record::from_rdata(
            name("v.example."),
            300,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![byte; 128]))),
        )
    }

    fn run(keys: &[DNSKEY], sigs: &[Record], work: &Work) -> Result<Verified, BogusReason> {
        let refs: Vec<&DNSKEY> = keys.iter().collect();
        let budget = Budget {
            run: Some(work),
            org: None,
        };
        verify_rrset_within(&txt_set(), sigs, &name("example."), &refs, NOW, budget)
    }

    #[test]
    fn colliding_key_tags_are_over_budget_before_any_check() {
        let z = name("example.");
        // Five keys share tag 4242: KeyTrap. Not one signature is verified.
        let keys = keys_tagged(&[4242; 5]);
        let work = Work::default();
        let err = run(&keys, &[junk_sig(4242, 1)], &work).unwrap_err();
        assert_eq!(err, over(&z, Limit::KeyTagCollisions));
        assert_eq!(work.sig_checks(), 0);
        assert_eq!(
            err.to_string(),
            "validating example would exceed the work limit of 4 keys sharing one RRSIG's key tag"
        );
        // Four are within the limit: each is tried, and none verifies.
        let work = Work::default();
        let err = run(&keys[..4], &[junk_sig(4242, 1)], &work).unwrap_err();
        assert!(
            matches!(err, BogusReason::BadSignature { tag: 4242, .. }),
            "{err}"
        );
        assert_eq!(work.sig_checks(), 4);
    }

    #[test]
    fn signature_checks_per_rrset_are_bounded_whatever_the_order() {
        let z = name("example.");
        let tags: Vec<u16> = (1..=9).collect();
        let keys = keys_tagged(&tags);
        let mut sigs: Vec<Record> = tags.iter().map(|&t| junk_sig(t, t as u8)).collect();
        let work = Work::default();
        assert_eq!(
            run(&keys, &sigs, &work).unwrap_err(),
            over(&z, Limit::SigChecksPerRrset)
        );
        sigs.reverse();
        assert_eq!(
            run(&keys, &sigs, &work).unwrap_err(),
            over(&z, Limit::SigChecksPerRrset)
        );
        assert_eq!(work.sig_checks(), 0);
        // Eight pairs are all tried.
        let err = run(&keys, &sigs[1..], &work).unwrap_err();
        assert!(matches!(err, BogusReason::BadSignature { .. }), "{err}");
        assert_eq!(work.sig_checks(), 8);
    }

    #[test]
    fn an_organisation_runs_out_of_signature_checks() {
        let z = name("example.");
        let keys = keys_tagged(&(1..=8).collect::<Vec<u16>>());
        let sigs: Vec<Record> = (1..=8).map(|t| junk_sig(t, 7)).collect();
        let refs: Vec<&DNSKEY> = keys.iter().collect();
        let (run_work, org) = (Work::default(), Work::default());
        let budget = Budget {
            run: Some(&run_work),
            org: Some(&org),
        };
        let rounds = MAX_SIG_CHECKS_PER_ORG / 8;
        for _ in 0..rounds {
            let err = verify_rrset_within(&txt_set(), &sigs, &z, &refs, NOW, budget).unwrap_err();
            assert!(matches!(err, BogusReason::BadSignature { .. }), "{err}");
        }
        let err = verify_rrset_within(&txt_set(), &sigs, &z, &refs, NOW, budget).unwrap_err();
        assert_eq!(err, over(&z, Limit::SigChecksPerOrg));
        assert_eq!(org.sig_checks(), MAX_SIG_CHECKS_PER_ORG);
        assert_eq!(run_work.sig_checks(), MAX_SIG_CHECKS_PER_ORG);
    }

    fn b1() -> Vec<Record> {
        use RecordType::*;
        vec![
            nsec3(
                "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
                "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
                &[MX, DNSKEY, NS, SOA, NSEC3PARAM, RRSIG],
            ),
            nsec3(
                "b4um86eghhds6nea196smvmlo4ors995",
                "gjeqe526plbf1g8mklp59enfd789njgi",
                &[MX, RRSIG],
            ),
            nsec3(
                "35mthgpgcu1qg68fab165klnsnk3dpvl",
                "b4um86eghhds6nea196smvmlo4ors995",
                &[NS, DS, RRSIG],
            ),
        ]
    }

    #[test]
    fn nsec3_hashes_each_name_once_and_are_bounded() {
        let z = name("example.");
        let work = Work::default();
        let budget = Budget {
            run: Some(&work),
            org: None,
        };
        // RFC 5155 B.1: the name, two candidate enclosers and the wildcard, each hashed once
        // although three records are compared against them.
        let q = name("a.c.x.w.example.");
        assert_eq!(
            check_denial_within(&q, RecordType::A, &z, true, &b1(), budget),
            Ok(Denial::NxDomain)
        );
        assert_eq!(work.nsec3_hashes(), 4);
        // A name 40 labels below x.w.example: the closest-encloser walk stops at the limit.
        let deep = name(&format!("{}x.w.example.", "a.".repeat(40)));
        let work = Work::default();
        let budget = Budget {
            run: Some(&work),
            org: None,
        };
        assert_eq!(
            check_denial_within(&deep, RecordType::A, &z, true, &b1(), budget),
            Err(over(&z, Limit::Nsec3HashesPerAnswer))
        );
        assert_eq!(work.nsec3_hashes(), u64::from(MAX_NSEC3_HASHES_PER_ANSWER));
    }

    #[test]
    fn too_many_denial_records_are_refused_before_their_signatures() {
        let z = name("example.");
        let many: Vec<Record> = (0..=MAX_DENIAL_RRSETS_PER_ANSWER)
            .map(|i| {
                let owner = format!("{:0>32}", i);
                nsec3(&owner, "2t7b4g4vsa5smi47k61mv5bv1a22bojr", &[RecordType::A])
            })
            .collect();
        assert_eq!(
            denial_rrsets(&many, &z),
            Err(over(&z, Limit::DenialRrsetsPerAnswer))
        );
        assert_eq!(
            denial_rrsets(&many[1..], &z).map(|v| v.len()),
            Ok(MAX_DENIAL_RRSETS_PER_ANSWER)
        );
        assert_eq!(
            check_denial(&name("q.example."), RecordType::A, &z, true, &many),
            Err(over(&z, Limit::DenialRrsetsPerAnswer))
        );
    }

    #[test]
    fn reasons_read_as_sentences() {
        let r = BogusReason::Expired {
            name: name("key_validator1.ogr1.com."),
            rtype: RecordType::TXT,
            at: 1_795_168_800,
        };
        assert_eq!(
            r.to_string(),
            "RRSIG on key_validator1.ogr1.com TXT expired at 2026-11-20T10:00:00Z"
        );
        let r = BogusReason::DsMismatch {
            zone: name("ogr3.io."),
            parent: name("io."),
            ds_tags: vec![12345],
            key_tags: vec![23456, 34567],
        };
        assert_eq!(
            r.to_string(),
            "DS in io for ogr3.io matches no DNSKEY (DS tags 12345; DNSKEY tags 23456, 34567)"
        );
    }
}
