//! Signature rules: every RRSIG over an RRset judged alone by the validator's own check
//! (`dns::validate::verify_rrset`: signer, labels, key, cryptography) and its window against
//! the clock (RFC 4034 §3.1.5 serial arithmetic): the `RRSIG_*` codes, `RRSIG_EXPIRES_SOON`
//! relative to the validity period, `TTL_EXCEEDS_SIGNATURE` (RFC 4035 §5.3.3). An algorithm the
//! validator cannot check is never called invalid.

use super::*;

/// The outcome of checking one RRset's signatures.
pub(super) struct Checked {
    /// At least one signature is valid.
    pub(super) valid: bool,
    /// Key tags of keys with a valid signature.
    pub(super) signers: BTreeSet<u16>,
    /// Key tags named by any RRSIG, valid, expired, not yet valid or broken: the keys that
    /// made a signature.
    pub(super) made: BTreeSet<u16>,
    /// One entry per RRSIG.
    pub(super) sigs: Vec<SigReport>,
    /// Findings (without server).
    pub(super) findings: Vec<Finding>,
}

/// Outcomes of RRSIG checks within one report, keyed by the exact bytes they depend on (the
/// signer, the RRset, the RRSIG and the zone's keys): servers that serve the same RRset with
/// the same signature cost one signature verification, not one each.
#[derive(Default)]
pub(super) struct SigCache(std::sync::Mutex<std::collections::HashMap<Vec<u8>, SigOutcome>>);

/// One remembered signature check.
type SigOutcome = Result<(), Box<BogusReason>>;

impl SigCache {
    /// `verify_rrset` of `records` with the single RRSIG `sig`, remembered.
    fn verify(
        &self,
        records: &[&Record],
        sig: &Record,
        signer: &Name,
        keys: &[DNSKEY],
        now: i64,
    ) -> Result<(), Box<BogusReason>> {
        let mut key = Vec::with_capacity(512);
        let mut put = |b: Vec<u8>| {
            key.extend_from_slice(&(b.len() as u32).to_be_bytes());
            key.extend_from_slice(&b);
        };
        put(signer.to_bytes().unwrap_or_default());
        put(now.to_be_bytes().to_vec());
        for r in records {
            put(r.to_bytes().unwrap_or_default());
        }
        put(sig.to_bytes().unwrap_or_default());
        for k in keys {
            put(k.to_bytes().unwrap_or_default());
        }
        if let Some(hit) = self.0.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let one = [sig.clone()];
        let set: Vec<Record> = records.iter().map(|r| (*r).clone()).collect();
        let key_refs: Vec<&DNSKEY> = keys.iter().collect();
        let out = verify_rrset(&set, &one, signer, &key_refs, now as u32)
            .map(|_| ())
            .map_err(Box::new);
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, out.clone());
        }
        out
    }
}

/// Check every RRSIG over `owner`/`t` in `section` with `keys` of the zone `signer`.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_rrset(
    zone: &str,
    signer: &Name,
    section: &[Record],
    owner: &Name,
    t: RecordType,
    keys: &[DNSKEY],
    clock: Clock,
    cache: &SigCache,
) -> Checked {
    let records = rrset(section, owner, t);
    let label = format!("{} {t}", name_str(owner));
    let mut out = Checked {
        valid: false,
        signers: BTreeSet::new(),
        made: BTreeSet::new(),
        sigs: Vec::new(),
        findings: Vec::new(),
    };
    if records.is_empty() {
        return out;
    }
    let sigs = rrsigs(section, owner, t);
    if sigs.is_empty() {
        out.findings.push(
            Finding::new(Code::RrsigMissing, zone, format!("{label} has no RRSIG")).record(&label),
        );
        return out;
    }
    let ttl = records.iter().map(|r| r.ttl).max().unwrap_or(0);
    let mut per_sig: Vec<Vec<Finding>> = Vec::new();
    for (rec, sig) in &sigs {
        let input = sig.input();
        let tag = input.key_tag;
        let alg = input.algorithm;
        let inception = serial_time(input.sig_inception.get(), clock.now);
        let expiration = serial_time(input.sig_expiration.get(), clock.now);
        let mut f = Vec::new();
        out.made.insert(tag);
        // The signature itself (signer, labels, key, cryptography) is judged by the
        // validator's own check, one RRSIG at a time; the window is judged below. An
        // algorithm the validator cannot check is said once per zone (ALGORITHM_UNSUPPORTED),
        // never as an invalid signature.
        let mut ok = true;
        let checked = if algorithm_supported(alg) {
            cache
                .verify(&records, rec, signer, keys, clock.now)
                .map_err(|b| *b)
        } else {
            ok = false;
            Ok(())
        };
        match checked {
            Ok(_) => {}
            Err(BogusReason::Expired { .. } | BogusReason::NotYetValid { .. }) => {}
            Err(reason @ BogusReason::UnknownKey { .. }) => {
                ok = false;
                f.push(
                    Finding::new(
                        Code::RrsigUnknownKey,
                        zone,
                        format!("{reason} (key {tag}, algorithm {})", u8::from(alg)),
                    )
                    .record(&label),
                );
            }
            Err(reason) => {
                ok = false;
                f.push(
                    Finding::new(Code::RrsigInvalid, zone, format!("{reason} (key {tag})"))
                        .record(&label),
                );
            }
        }
        let left = expiration - clock.now;
        if clock.now < inception {
            ok = false;
            f.push(
                Finding::new(
                    Code::RrsigNotYetValid,
                    zone,
                    format!(
                        "the signature by key {tag} over {label} is valid only from {} ({} from now)",
                        crate::audit::fmt_time(inception),
                        crate::audit::fmt_left(inception - clock.now)
                    ),
                )
                .record(&label),
            );
        } else if left < 0 {
            ok = false;
            f.push(
                Finding::new(
                    Code::RrsigExpired,
                    zone,
                    format!(
                        "the signature by key {tag} over {label} expired at {} ({} ago)",
                        crate::audit::fmt_time(expiration),
                        crate::audit::fmt_left(-left)
                    ),
                )
                .record(&label),
            );
        } else {
            if clock.expires_soon(inception, expiration, left) {
                f.push(
                    Finding::new(
                        Code::RrsigExpiresSoon,
                        zone,
                        format!(
                            "the signature by key {tag} over {label} expires at {} (in {})",
                            crate::audit::fmt_time(expiration),
                            crate::audit::fmt_left(left)
                        ),
                    )
                    .record(&label),
                );
            }
            if i64::from(ttl) > left {
                f.push(
                    Finding::new(
                        Code::TtlExceedsSignature,
                        zone,
                        format!(
                            "{label} has TTL {ttl} s but its signature by key {tag} expires in {} s",
                            left
                        ),
                    )
                    .record(&label),
                );
            }
        }
        if ok {
            out.valid = true;
            out.signers.insert(tag);
        }
        out.sigs.push(SigReport {
            rrset: label.clone(),
            ttl,
            key_tag: tag,
            algorithm: u8::from(alg),
            inception,
            expiration,
            valid: ok,
        });
        per_sig.push(f);
    }
    for f in per_sig.into_iter().flatten() {
        // Another valid signature still carries the RRset: a broken one is a warning then.
        let f = if out.valid && f.severity == Severity::Error {
            f.severity(Severity::Warning)
        } else {
            f
        };
        out.findings.push(f);
    }
    out
}

/// The finding code for a validator failure no other finding explains.
pub(super) fn bogus_code(reason: &BogusReason) -> Code {
    match reason {
        BogusReason::NoRrsig { .. } => Code::RrsigMissing,
        BogusReason::Expired { .. } => Code::RrsigExpired,
        BogusReason::NotYetValid { .. } => Code::RrsigNotYetValid,
        BogusReason::UnknownKey { .. } => Code::RrsigUnknownKey,
        BogusReason::DsMismatch { .. } => Code::DsKeyNotSigning,
        BogusReason::AnchorMismatch { .. } => Code::AnchorNoMatch,
        BogusReason::NoDnskey { .. } => Code::DnskeyMissing,
        BogusReason::OverBudget { .. } => Code::OverBudget,
        _ => Code::RrsigInvalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::rdata::SigInput;
    use hickory_proto::dnssec::PublicKeyBuf;
    use hickory_proto::rr::rdata::A;

    /// A signature by a key of an algorithm the validator cannot check (253, PRIVATEDNS) is
    /// neither valid nor invalid: no `RRSIG_INVALID`, and it still counts as made by its key.
    #[test]
    fn an_uncheckable_algorithm_is_not_invalid() {
        let now: i64 = 1_800_000_000;
        let zone = Name::from_ascii("x.example.").unwrap();
        let alg = Algorithm::Unknown(253);
        let key = DNSKEY::new(true, true, false, PublicKeyBuf::new(vec![7; 32], alg));
        let tag = key.calculate_key_tag().unwrap();
        let a = Record::from_rdata(zone.clone(), 300, RData::A(A::new(192, 0, 2, 1)));
        let input = SigInput {
            type_covered: RecordType::A,
            algorithm: alg,
            num_labels: 2,
            original_ttl: 300,
            sig_expiration: (now as u32 + 20 * 86_400).into(),
            sig_inception: (now as u32 - 86_400).into(),
            key_tag: tag,
            signer_name: zone.clone(),
        };
        let sig = Record::from_rdata(
            zone.clone(),
            300,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![1; 64]))),
        );
        let clock = Clock {
            now,
            warn_days: 7,
            warn_share: DEFAULT_WARN_SHARE,
        };
        let c = check_rrset(
            "x.example.",
            &zone,
            &[a, sig],
            &zone,
            RecordType::A,
            &[key],
            clock,
            &SigCache::default(),
        );
        assert!(!c.valid);
        assert!(c.made.contains(&tag));
        assert!(
            c.findings.iter().all(|f| f.code != Code::RrsigInvalid),
            "{:?}",
            c.findings
        );
        assert_eq!(c.sigs.len(), 1);
    }
}
