//! The finding codes: stable identifiers, their default severity, what they mean and how to fix
//! them. The README's findings table is this list; `tests/audit_codes.rs` keeps both in step.

use serde::Serialize;

/// How bad a finding is; ordered `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// Works today, will break or is against best practice.
    Warning,
    /// Validation fails or the ceremony cannot use the zone.
    Error,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $v:ident => $s:literal, $sev:ident, $meaning:literal, $fix:literal; )*) => {
        /// A stable finding code (the string form never changes once released).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $(#[$doc])* $v, )* }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[ $( Code::$v, )* ];
            /// The stable string, e.g. `RRSIG_EXPIRED`.
            pub fn as_str(self) -> &'static str { match self { $( Code::$v => $s, )* } }
            /// The severity a finding with this code has unless the check says otherwise.
            pub fn severity(self) -> Severity { match self { $( Code::$v => Severity::$sev, )* } }
            /// One sentence: what the finding means.
            pub fn meaning(self) -> &'static str { match self { $( Code::$v => $meaning, )* } }
            /// One sentence: how to fix it.
            pub fn fix(self) -> &'static str { match self { $( Code::$v => $fix, )* } }
        }
    };
}

codes! {
    /// No DS at the parent matches any DNSKEY of the zone.
    DsNoMatchingKey => "DS_NO_MATCHING_KEY", Error,
        "No DS record at the parent matches a DNSKEY of the zone (key tag, algorithm and digest); the chain of trust is broken.",
        "Publish the DS of the zone's current KSK at the parent (dnssec-dsfromkey), or restore the key the DS points to.";
    /// One DS at the parent matches no key, but another DS does.
    DsStale => "DS_STALE", Warning,
        "A DS record at the parent matches no DNSKEY of the zone, while another DS does (left over from a key rollover).",
        "Remove the stale DS from the parent once the rollover is complete.";
    /// The key a DS points to does not sign the DNSKEY RRset.
    DsKeyNotSigning => "DS_KEY_NOT_SIGNING", Error,
        "The DNSKEY the parent's DS points to does not sign the zone's DNSKEY RRset with a valid signature.",
        "Sign the DNSKEY RRset with the KSK referenced by the DS, or update the DS to the key that signs it.";
    /// DS with the SHA-1 digest only.
    DsDigestDeprecated => "DS_DIGEST_DEPRECATED", Warning,
        "The DS uses the SHA-1 digest type (RFC 8624: MUST NOT be used to create DS records).",
        "Publish a SHA-256 (type 2) DS and remove the SHA-1 one.";
    /// The parent is signed but has no DS: the zone is insecure.
    UnsignedDelegation => "UNSIGNED_DELEGATION", Error,
        "The parent proves there is no DS for the zone: it is insecure, and the ceremony refuses its records.",
        "Sign the zone and publish its DS at the parent.";
    /// The parent zone is itself insecure or unsigned.
    ParentInsecure => "PARENT_INSECURE", Error,
        "The chain of trust stops above this zone: an ancestor is insecure or could not be validated.",
        "Fix the finding reported for the ancestor zone first.";
    /// The zone serves no DNSKEY RRset.
    DnskeyMissing => "DNSKEY_MISSING", Error,
        "The zone's servers return no DNSKEY RRset although the parent has a DS.",
        "Sign the zone (dnssec-policy) or remove the DS from the parent.";
    /// The DNSKEY set does not validate against the trust anchor.
    AnchorNoMatch => "ANCHOR_NO_MATCH", Error,
        "No key of the zone's DNSKEY RRset matches the trust anchor.",
        "Check the anchor file (--anchor) against the zone's current KSK.";
    /// An RRset has no signature.
    RrsigMissing => "RRSIG_MISSING", Error,
        "An RRset that must be signed comes without an RRSIG.",
        "Re-sign the zone; check that the server is serving the signed version of the zone.";
    /// An RRSIG's signature does not verify.
    RrsigInvalid => "RRSIG_INVALID", Error,
        "An RRSIG does not verify over the RRset with the DNSKEY it names (altered data or wrong key).",
        "Re-sign the zone from its master data; look for records changed after signing.";
    /// Checking an RRset would take more work than a validator allows (KeyTrap, NSEC3 floods).
    OverBudget => "OVER_BUDGET", Error,
        "Judging the zone's records takes more work than validators allow (keys sharing a key tag, too many signatures per RRset, too many NSEC3 records or hashes); they call it bogus.",
        "Serve one key per key tag and role, a few signatures per RRset and NSEC3 with RFC 9276 parameters (0 iterations, no salt).";
    /// An RRSIG names a key that is not in the DNSKEY set.
    RrsigUnknownKey => "RRSIG_UNKNOWN_KEY", Error,
        "An RRSIG names a key tag and algorithm that is not in the zone's DNSKEY RRset.",
        "Publish the signing key in the DNSKEY RRset or re-sign with a published key.";
    /// The RRSIG's expiration is past.
    RrsigExpired => "RRSIG_EXPIRED", Error,
        "The signature's expiration time has passed; validators reject the RRset.",
        "Re-sign the zone now and check why automatic re-signing stopped.";
    /// The RRSIG's inception is in the future.
    RrsigNotYetValid => "RRSIG_NOT_YET_VALID", Error,
        "The signature's inception time is in the future; validators reject the RRset.",
        "Check the signer's clock and re-sign with an inception in the past.";
    /// The RRSIG expires within the warning window.
    RrsigExpiresSoon => "RRSIG_EXPIRES_SOON", Warning,
        "The signature is valid but expires within the warning window (--warn-days).",
        "Check that automatic re-signing runs; re-sign before the expiration.";
    /// The TTL outlives the signature.
    TtlExceedsSignature => "TTL_EXCEEDS_SIGNATURE", Warning,
        "The RRset's TTL is longer than the signature's remaining validity: caches may serve it after the signature expired.",
        "Lower the TTL or re-sign earlier (signature validity well above the TTL).";
    /// A negative answer without a valid proof.
    DenialInvalid => "DENIAL_INVALID", Error,
        "A negative answer (NXDOMAIN or NODATA) for a ceremony name comes without a signed NSEC/NSEC3 proof, or the proof does not prove it; validators reject the answer.",
        "Re-sign the zone so the NSEC/NSEC3 chain is complete; check that every server serves the signed zone with its denial records.";
    /// NSEC3 with additional iterations.
    Nsec3Iterations => "NSEC3_ITERATIONS", Warning,
        "NSEC3 uses additional hash iterations (RFC 9276: use 0); above 50 validators may treat the zone as insecure or fail.",
        "Set NSEC3 iterations to 0 (dnssec-policy nsec3param iterations 0).";
    /// NSEC3 with a salt.
    Nsec3Salt => "NSEC3_SALT", Warning,
        "NSEC3 uses a salt (RFC 9276: SHOULD NOT; it adds cost and no protection).",
        "Use an empty salt (nsec3param salt-length 0).";
    /// NSEC3 with opt-out.
    Nsec3OptOut => "NSEC3_OPT_OUT", Info,
        "The zone uses NSEC3 opt-out: unsigned delegations may be added without proof of absence.",
        "Nothing, unless the zone has no unsigned delegations; then turn opt-out off.";
    /// A server did not answer.
    ServerUnreachable => "SERVER_UNREACHABLE", Error,
        "An authoritative server of the zone did not answer (timeout or network error).",
        "Start or fix the server, or remove it from the NS set and the delegation.";
    /// A server answered but is not authoritative or refused.
    ServerLame => "SERVER_LAME", Error,
        "A server named in the NS set answered without authority (REFUSED, SERVFAIL or no AA bit).",
        "Configure the zone on that server or remove the server from the NS set.";
    /// Servers disagree on the SOA serial.
    SerialMismatch => "SERIAL_MISMATCH", Warning,
        "The zone's authoritative servers serve different SOA serials: some have not caught up.",
        "Check zone transfers (NOTIFY/IXFR) from the primary to every secondary.";
    /// Servers disagree on the DNSKEY RRset.
    DnskeyMismatch => "DNSKEY_MISMATCH", Error,
        "The zone's authoritative servers serve different DNSKEY RRsets: validation depends on the server asked.",
        "Make every server serve the same signed zone (transfer from one signer).";
    /// Servers disagree on a ceremony record.
    RecordMismatch => "RECORD_MISMATCH", Error,
        "The zone's authoritative servers serve different values for a ceremony record.",
        "Wait for the update to reach every server, or fix the zone transfer.";
    /// Parent's NS set differs from the child's.
    NsMismatch => "NS_MISMATCH", Warning,
        "The NS set of the delegation at the parent differs from the NS set the zone serves.",
        "Make the delegation at the parent and the zone's apex NS set list the same servers.";
    /// Glue differs from the address the child serves.
    GlueMismatch => "GLUE_MISMATCH", Error,
        "A glue address at the parent differs from the address the zone serves for that name server.",
        "Update the glue at the parent to the server's current address.";
    /// Deprecated DNSSEC algorithm.
    AlgorithmDeprecated => "ALGORITHM_DEPRECATED", Warning,
        "A key or signature uses an algorithm RFC 8624 says must not be used for signing (RSAMD5, DSA, RSASHA1, RSASHA1-NSEC3-SHA1, ECC-GOST).",
        "Roll the zone to ECDSAP256SHA256 (13) or ED25519 (15).";
    /// Algorithm this tool cannot validate.
    AlgorithmUnsupported => "ALGORITHM_UNSUPPORTED", Warning,
        "A key or signature uses an algorithm this tool cannot check: its signatures are neither valid nor invalid here; a zone whose DS set names only such algorithms is insecure (RFC 6840 5.2), an error for the ceremony.",
        "Use ECDSAP256SHA256 (13), ED25519 (15) or RSASHA256 (8).";
    /// A key signs nothing and no DS points to it.
    KeyUnused => "KEY_UNUSED", Info,
        "A DNSKEY made none of the signatures examined (valid, expired, not yet valid or broken) and no DS points to it (a pre-published or forgotten key).",
        "Nothing during a rollover; otherwise remove the key.";
    /// A key has the REVOKE bit.
    KeyRevoked => "KEY_REVOKED", Warning,
        "A DNSKEY has the REVOKE flag set (RFC 5011); it must not be used to sign.",
        "Remove the revoked key after the RFC 5011 hold-down time.";
    /// A ceremony record does not exist.
    RecordMissing => "RECORD_MISSING", Error,
        "A ceremony record of the organisation is not published (validated NXDOMAIN or NODATA, or no answer).",
        "Run `dnsceremony publish` for the organisation.";
    /// A ceremony record is malformed.
    RecordInvalid => "RECORD_INVALID", Error,
        "A ceremony record is published but malformed (bad hex, bad port, several addresses, ...).",
        "Publish the records again with `dnsceremony publish`.";
    /// The zone could not be located.
    ZoneNotFound => "ZONE_NOT_FOUND", Error,
        "The zone (or the organisation's host) is not delegated from its parent, or the walk from the root failed.",
        "Check the delegation at the parent and the name in the manifest.";
    /// The zone is reached and signed: summary.
    ZoneSecure => "ZONE_SECURE", Info,
        "The chain of trust from the anchor to the zone validates.",
        "Nothing.";
}

impl Code {
    /// Where a code stands in the chain of causes, lower first: an unreachable server or a
    /// signature outside its window explains a DS or key failure, which explains an insecure
    /// parent, which explains missing or unvalidated records. Reports list causes before their
    /// consequences within one severity.
    pub fn causal_rank(self) -> u8 {
        match self {
            Code::ZoneNotFound | Code::ServerUnreachable | Code::ServerLame => 0,
            Code::RrsigNotYetValid | Code::RrsigExpired => 1,
            Code::DsNoMatchingKey
            | Code::DsKeyNotSigning
            | Code::DnskeyMissing
            | Code::AnchorNoMatch
            | Code::DnskeyMismatch => 2,
            Code::RrsigInvalid | Code::RrsigUnknownKey | Code::RrsigMissing | Code::OverBudget => 3,
            Code::UnsignedDelegation | Code::AlgorithmUnsupported => 4,
            Code::ParentInsecure => 5,
            Code::DenialInvalid
            | Code::RecordMismatch
            | Code::RecordMissing
            | Code::RecordInvalid
            | Code::GlueMismatch
            | Code::NsMismatch
            | Code::SerialMismatch => 6,
            Code::ZoneSecure => 9,
            _ => 7,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert!(
                s.chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch.is_ascii_digit()),
                "{s}"
            );
            assert!(c.meaning().ends_with('.') && c.fix().ends_with('.'), "{s}");
        }
    }

    #[test]
    fn severity_is_ordered() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
    }
}
