//! Trust anchors for the audit: DS or DNSKEY records for one zone (usually the root), from
//! the validator's anchors (`dns::anchor`: zone-file form `. IN DS 20326 8 2 E06D...`, or the
//! built-in IANA root anchors, RFC 7958), or from BIND's `trust-anchors` form
//! (`. static-ds 20326 8 2 "E06D..."; . initial-key 257 3 8 "AwEAAa...";`) as `delv -a` reads it.
//!
//! # Limitations
//! RFC 5011 state (`initial-*` hold-down) is not tracked: initial and static entries are
//! both taken as trusted.

use std::path::Path;

use base64::Engine;
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::Name;

use super::AuditError;
use crate::dns::anchor::{self as dns_anchor, TrustAnchors};

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

    /// Read an anchor file: zone-file form through `dns::anchor` (as `verify` reads it), or
    /// BIND's `trust-anchors { ... };` form (as `delv -a` reads it).
    pub fn from_file(path: &Path) -> Result<Anchor, AuditError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::AnchorRead {
            path: path.to_path_buf(),
            source,
        })?;
        let bind = ["trust-anchors", "managed-keys", "trusted-keys"]
            .iter()
            .any(|k| text.contains(k));
        if !bind {
            let t = TrustAnchors::parse(&text, path)?;
            let mut a = Anchor::from_trust_anchors(&t);
            a.source = path.display().to_string();
            return Ok(a);
        }
        let mut anchor = parse(&text).map_err(|(line, why)| AuditError::Anchor {
            path: path.to_path_buf(),
            line,
            why,
        })?;
        if anchor.ds.is_empty() && anchor.keys.is_empty() {
            return Err(AuditError::AnchorEmpty {
                path: path.to_path_buf(),
            });
        }
        anchor.source = path.display().to_string();
        Ok(anchor)
    }
}

/// Parse anchor text; errors carry the 1-based line.
pub fn parse(text: &str) -> Result<Anchor, (usize, String)> {
    let mut anchor = Anchor {
        zone: Name::root(),
        ds: Vec::new(),
        keys: Vec::new(),
        source: String::new(),
    };
    let bind = ["trust-anchors", "managed-keys", "trusted-keys"]
        .iter()
        .any(|k| text.contains(k));
    // (line, tokens, type, rdata start)
    let mut entries: Vec<(usize, Vec<String>)> = Vec::new();
    if bind {
        let mut stmt = Vec::new();
        let mut start = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split("//").next().unwrap_or("");
            let line = line.split('#').next().unwrap_or("");
            for part in line.split_inclusive(';') {
                let end = part.ends_with(';');
                for tok in part
                    .trim_end_matches(';')
                    .replace(['{', '}', '"'], " ")
                    .split_whitespace()
                {
                    if stmt.is_empty() {
                        start = i + 1;
                    }
                    stmt.push(tok.to_string());
                }
                if end {
                    let t = std::mem::take(&mut stmt);
                    let t: Vec<String> = t
                        .into_iter()
                        .filter(|x| {
                            !matches!(
                                x.as_str(),
                                "trust-anchors" | "managed-keys" | "trusted-keys"
                            )
                        })
                        .collect();
                    if !t.is_empty() {
                        entries.push((start, t));
                    }
                }
            }
        }
    } else {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split(';').next().unwrap_or("");
            let toks: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            if !toks.is_empty() {
                entries.push((i + 1, toks));
            }
        }
    }
    for (line, toks) in entries {
        let pos = toks.iter().position(|t| {
            matches!(
                t.to_ascii_uppercase().as_str(),
                "DS" | "DNSKEY" | "STATIC-DS" | "INITIAL-DS" | "STATIC-KEY" | "INITIAL-KEY"
            )
        });
        let Some(pos) = pos else {
            return Err((
                line,
                format!("expected a DS or DNSKEY record, got `{}`", toks.join(" ")),
            ));
        };
        let zone =
            Name::from_ascii(&toks[0]).map_err(|e| (line, format!("owner `{}`: {e}", toks[0])))?;
        anchor.zone = zone;
        let kind = toks[pos].to_ascii_uppercase();
        let rd = &toks[pos + 1..];
        let num = |i: usize, what: &str| -> Result<u32, (usize, String)> {
            rd.get(i)
                .ok_or((line, format!("{what} missing")))?
                .parse::<u32>()
                .map_err(|_| (line, format!("{what} `{}` is not a number", rd[i])))
        };
        if kind.ends_with("DS") {
            let tag = u16::try_from(num(0, "key tag")?)
                .map_err(|_| (line, "key tag too large".to_string()))?;
            let alg = u8::try_from(num(1, "algorithm")?)
                .map_err(|_| (line, "algorithm too large".to_string()))?;
            let dt = u8::try_from(num(2, "digest type")?)
                .map_err(|_| (line, "digest type too large".to_string()))?;
            let hexd: String = rd[3.min(rd.len())..].concat();
            let digest = hex::decode(&hexd).map_err(|e| (line, format!("digest: {e}")))?;
            if digest.is_empty() {
                return Err((line, "digest missing".into()));
            }
            anchor.ds.push(DS::new(
                tag,
                Algorithm::from_u8(alg),
                DigestType::from(dt),
                digest,
            ));
        } else {
            let flags = u16::try_from(num(0, "flags")?)
                .map_err(|_| (line, "flags too large".to_string()))?;
            let _protocol = num(1, "protocol")?;
            let alg = u8::try_from(num(2, "algorithm")?)
                .map_err(|_| (line, "algorithm too large".to_string()))?;
            let b64: String = rd[3.min(rd.len())..].concat();
            let key = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| (line, format!("public key: {e}")))?;
            if key.is_empty() {
                return Err((line, "public key missing".into()));
            }
            anchor.keys.push(DNSKEY::with_flags(
                flags,
                PublicKeyBuf::new(key, Algorithm::from_u8(alg)),
            ));
        }
    }
    Ok(anchor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_file_form() {
        let a = parse(". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D ; root\n").unwrap();
        assert_eq!(a.ds.len(), 1);
        assert_eq!(a.ds[0].key_tag(), 20326);
        assert!(a.zone.is_root());
    }

    #[test]
    fn bind_form() {
        let a = parse("trust-anchors {\n  \".\" static-ds 20326 8 2 \"E06D44B80B8F1D39A95C0B0D7C65D084\n 58E880409BBC683457104237C7F8EC8D\";\n . initial-key 257 3 13 \"AQID\";\n};\n").unwrap();
        assert_eq!(a.ds.len(), 1);
        assert_eq!(a.ds[0].digest().len(), 32);
        assert_eq!(a.keys.len(), 1);
        assert_eq!(a.keys[0].flags(), 257);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(". IN A 1.2.3.4\n").unwrap_err();
        assert_eq!(e.0, 1);
        let e = parse("\n. IN DS 1 8 2 ZZ\n").unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("digest"), "{}", e.1);
    }
}
