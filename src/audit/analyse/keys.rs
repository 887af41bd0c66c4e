//! Key rules: algorithms (RFC 8624 deprecated ones, ones the validator cannot check), revoked
//! keys (RFC 5011), keys that made no signature at all and no DS points to, and the report's
//! key table.

use super::*;

pub(super) fn algorithm_findings(zone: &str, what: &str, alg: Algorithm, out: &mut Vec<Finding>) {
    #[allow(deprecated)]
    let deprecated = matches!(
        alg,
        Algorithm::RSAMD5 | Algorithm::DSA | Algorithm::RSASHA1 | Algorithm::RSASHA1NSEC3SHA1
    ) || matches!(alg, Algorithm::Unknown(12));
    if deprecated {
        out.push(Finding::new(
            Code::AlgorithmDeprecated,
            zone,
            format!("{what} uses algorithm {} ({})", u8::from(alg), alg.as_str()),
        ));
    } else if !algorithm_supported(alg) {
        out.push(Finding::new(
            Code::AlgorithmUnsupported,
            zone,
            format!(
                "{what} uses algorithm {}, which this tool cannot validate",
                u8::from(alg)
            ),
        ));
    }
}

/// Revoked keys, keys that made no signature (`made`: key tags named by any RRSIG examined,
/// valid or not) and no DS points to (`ds_keys`), and the report's key table.
pub(super) fn key_rules(
    zs: &str,
    zname: &str,
    keys: &[DNSKEY],
    made: &BTreeSet<u16>,
    ds_keys: &BTreeSet<u16>,
    rep: &mut ZoneReport,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for k in keys {
        let tag = key_tag(k);
        if k.revoke() {
            out.push(
                Finding::new(
                    Code::KeyRevoked,
                    zs,
                    format!("DNSKEY {tag} (flags {}) has the REVOKE flag", k.flags()),
                )
                .record(format!("{zname} DNSKEY")),
            );
        } else if !made.contains(&tag) && !ds_keys.contains(&tag) {
            out.push(
                Finding::new(
                    Code::KeyUnused,
                    zs,
                    format!("DNSKEY {tag} ({}) made no signature over the RRsets examined and no DS points to it", if k.secure_entry_point() { "KSK" } else { "ZSK" }),
                )
                .record(format!("{zname} DNSKEY")),
            );
        }
        let signs: BTreeSet<String> = rep
            .signatures
            .iter()
            .filter(|s| s.key_tag == tag && s.valid)
            .map(|s| s.rrset.clone())
            .collect();
        rep.keys.push(KeyReport {
            tag,
            algorithm: u8::from(k.algorithm()),
            flags: k.flags(),
            has_ds: ds_keys.contains(&tag),
            signs: signs.into_iter().collect(),
        });
    }
    rep.keys
        .sort_by_key(|k| (std::cmp::Reverse(k.flags & 1), k.tag));
    out
}
