//! Trust anchors for the audit: the DS or DNSKEY records of one zone (usually the root), taken
//! from the validator's anchors (`dns::anchor`: the built-in IANA root anchors, RFC 7958, or an
//! anchor file in zone-file or BIND `trust-anchors` form), so every command reads the same files.
//!
//! # Limitations
//! The audit starts from one zone: when the file holds anchors for several zones, those of
//! the first zone named are used. RFC 5011 state is not tracked (see `dns::anchor`).

use std::path::Path;

use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::rr::Name;

use crate::dns::anchor::{self as dns_anchor, AnchorError, TrustAnchors};

/// The trusted starting point of every chain.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The zone the anchor is for (usually `.`).
    pub zone: Name,
    /// Trusted DS records.
    pub ds: Vec<DS>,
    /// Trusted DNSKEY records.
    pub keys: Vec<DNSKEY>,
    /// Where it came from, for the report.
    pub source: String,
}

impl Anchor {
    /// The IANA root anchors built into the tool (`dns::anchor`).
    pub fn iana_root() -> Anchor {
        Anchor::from_trust_anchors(&TrustAnchors::iana_root())
    }

    /// The anchors the validator uses (`dns::anchor::TrustAnchors`), for the audit.
    pub fn from_trust_anchors(t: &TrustAnchors) -> Anchor {
        let mut a = Anchor {
            zone: t
                .anchors
                .first()
                .map(|x| x.owner().clone())
                .unwrap_or_else(Name::root),
            ds: Vec::new(),
            keys: Vec::new(),
            source: t.source.clone(),
        };
        for x in t.anchors.iter().filter(|x| *x.owner() == a.zone) {
            match x {
                dns_anchor::Anchor::Ds { ds, .. } => a.ds.push(ds.clone()),
                dns_anchor::Anchor::Key { key, .. } => a.keys.push(key.clone()),
            }
        }
        a
    }

    /// Read an anchor file as every command reads it (`TrustAnchors::from_file`).
    pub fn from_file(path: &Path) -> Result<Anchor, AnchorError> {
        Ok(Anchor::from_trust_anchors(&TrustAnchors::from_file(path)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_zone_of_the_file_is_the_start() {
        let text = "trust-anchors {\n \"example.\" static-ds 1 13 2 \"00FF\";\n . static-ds 20326 8 2 \"E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\";\n example. static-key 257 3 13 \"AQID\";\n};\n";
        let t = TrustAnchors::parse(text, Path::new("a.conf")).unwrap();
        let a = Anchor::from_trust_anchors(&t);
        assert_eq!(a.zone.to_ascii(), "example.");
        assert_eq!((a.ds.len(), a.keys.len()), (1, 1));
        assert_eq!(a.source, "a.conf");
        let root = Anchor::iana_root();
        assert!(root.zone.is_root());
        assert_eq!(root.ds.len(), 2);
    }
}
