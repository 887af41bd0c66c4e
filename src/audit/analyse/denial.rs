//! Denial-of-existence parameter rules (RFC 9276): NSEC3 iterations (an error above
//! [`NSEC3_ITERATIONS_LIMIT`]), salt, opt-out. The proofs themselves are the validator's
//! (`records` proves the negative answers to the ceremony questions).

use super::*;

/// The findings about a zone's NSEC3 parameters.
pub(super) fn nsec3_rules(zs: &str, zname: &str, d: &DenialReport) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(it) = d.iterations.filter(|i| *i > 0) {
        let sev = if it > NSEC3_ITERATIONS_LIMIT {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(
            Finding::new(
                Code::Nsec3Iterations,
                zs,
                format!("NSEC3 uses {it} additional iterations (RFC 9276: 0)"),
            )
            .severity(sev)
            .record(format!("{zname} NSEC3PARAM")),
        );
    }
    if let Some(salt) = d.salt.as_ref().filter(|s| !s.is_empty()) {
        out.push(
            Finding::new(
                Code::Nsec3Salt,
                zs,
                format!("NSEC3 uses the salt {salt} (RFC 9276: none)"),
            )
            .record(format!("{zname} NSEC3PARAM")),
        );
    }
    if d.opt_out {
        out.push(Finding::new(
            Code::Nsec3OptOut,
            zs,
            "NSEC3 records have the opt-out flag set",
        ));
    }
    out
}
