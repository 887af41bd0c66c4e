//! Trust anchors: where every chain of trust starts (RFC 4033 section 3, RFC 4035 section 5,
//! RFC 7958 for the IANA publication of the root anchors).
//!
//! Built in are the IANA root key-signing keys as DS records (KSK-2017, tag 20326, and
//! KSK-2024, tag 38696; SHA-256 digests as published in IANA's `root-anchors.xml`).
//! `--anchor FILE` replaces them, e.g. for a private root: zone-file lines holding DNSKEY or DS
//! records (a `dnssec-keygen` `.key` file, `dnssec-dsfromkey` output, or lines cut from a zone).
//!
//! # Limitations
//! BIND's `trust-anchors { ... }` block syntax is not read; parentheses spanning lines are not
//! supported (every record is on one line, as the BIND tools write them); RFC 5011 automatic
//! key rollover is not followed (an anchor file is read as it is).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::Name;

/// Why an anchor file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The file could not be read.
    #[error("cannot read trust anchor ({}: {source})", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A line is not a DNSKEY or DS record in zone-file format.
    #[error("bad trust anchor ({}:{line}: {why})", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// The file holds no DNSKEY or DS record.
    #[error("bad trust anchor ({}: no DNSKEY or DS record in the file)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// One trusted starting point: a DS or a DNSKEY for a zone (usually the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// A DS record: the zone's DNSKEY set must hold a key with this digest.
    Ds {
        /// The zone the DS is for.
        owner: Name,
        /// The record.
        ds: DS,
    },
    /// A DNSKEY record: trusted as it is.
    Key {
        /// The zone the key belongs to.
        owner: Name,
        /// The record.
        key: DNSKEY,
    },
}

impl Anchor {
    /// The zone this anchor is for.
    pub fn owner(&self) -> &Name {
        match self {
            Anchor::Ds { owner, .. } | Anchor::Key { owner, .. } => owner,
        }
    }
}

/// The set of anchors a run validates against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchors {
    /// The anchors, in file order.
    pub anchors: Vec<Anchor>,
    /// Where they came from: `built-in IANA root anchors` or the file name.
    pub source: String,
}

/// IANA root KSK-2017 (tag 20326) and KSK-2024 (tag 38696): algorithm 8, digest type 2.
const IANA_ROOT_DS: [(u16, &str); 2] = [
    (
        20326,
        "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    ),
    (
        38696,
        "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
    ),
];

impl TrustAnchors {
    /// The IANA root anchors built into the tool.
    pub fn iana_root() -> TrustAnchors {
        let anchors = IANA_ROOT_DS
            .iter()
            .map(|(tag, digest)| Anchor::Ds {
                owner: Name::root(),
                ds: DS::new(
                    *tag,
                    Algorithm::RSASHA256,
                    DigestType::SHA256,
                    hex::decode(digest).unwrap_or_default(),
                ),
            })
            .collect();
        TrustAnchors {
            anchors,
            source: "built-in IANA root anchors".into(),
        }
    }

    /// Read DNSKEY and DS lines from a file in zone-file format.
    pub fn from_file(path: &Path) -> Result<TrustAnchors, AnchorError> {
        let text = std::fs::read_to_string(path).map_err(|source| AnchorError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse anchor text; `path` only names the input in errors.
    pub fn parse(text: &str, path: &Path) -> Result<TrustAnchors, AnchorError> {
        let mut anchors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split(';').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('$') {
                continue;
            }
            let anchor = parse_line(line).map_err(|why| AnchorError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                why,
            })?;
            if let Some(a) = anchor {
                anchors.push(a);
            }
        }
        if anchors.is_empty() {
            return Err(AnchorError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(TrustAnchors {
            anchors,
            source: path.display().to_string(),
        })
    }

    /// The deepest anchored zone at or above `name`, if any.
    pub fn closest(&self, name: &Name) -> Option<&Name> {
        self.anchors
            .iter()
            .map(Anchor::owner)
            .filter(|o| o.zone_of(name))
            .max_by_key(|o| o.num_labels())
    }

    /// The anchors for exactly `zone`.
    pub fn for_zone<'a>(&'a self, zone: &'a Name) -> impl Iterator<Item = &'a Anchor> + 'a {
        self.anchors.iter().filter(move |a| a.owner() == zone)
    }
}

/// Parse one record line: `owner [ttl] [class] DNSKEY|DS rdata...`. Other record types are
/// an error (an anchor file holds only anchors).
fn parse_line(line: &str) -> Result<Option<Anchor>, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let owner_text = tokens.first().ok_or("empty line")?;
    let owner =
        Name::from_str(owner_text).map_err(|e| format!("owner name {owner_text:?}: {e}"))?;
    if !owner.is_fqdn() {
        return Err(format!(
            "owner name {owner_text:?} must be fully qualified (end with a dot)"
        ));
    }
    // Skip optional TTL and class, in either order.
    let mut i = 1;
    while i < tokens.len() && i <= 2 {
        let t = tokens[i];
        if t.chars().all(|c| c.is_ascii_digit()) || t.eq_ignore_ascii_case("IN") {
            i += 1;
        } else {
            break;
        }
    }
    let rtype = tokens.get(i).ok_or("record type missing")?;
    let rdata = &tokens[i + 1..];
    if rtype.eq_ignore_ascii_case("DNSKEY") {
        if rdata.len() < 4 {
            return Err("DNSKEY needs flags, protocol, algorithm and key".into());
        }
        let flags: u16 = rdata[0]
            .parse()
            .map_err(|_| format!("DNSKEY flags {:?} is not a number", rdata[0]))?;
        if rdata[1] != "3" {
            return Err(format!("DNSKEY protocol must be 3, not {:?}", rdata[1]));
        }
        let alg: u8 = rdata[2]
            .parse()
            .map_err(|_| format!("DNSKEY algorithm {:?} is not a number", rdata[2]))?;
        let b64: String = rdata[3..].concat();
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("DNSKEY public key is not base64: {e}"))?;
        if flags & 0x0100 == 0 {
            return Err(format!("DNSKEY flags {flags} lack the ZONE bit (256)"));
        }
        let key = DNSKEY::with_flags(flags, PublicKeyBuf::new(key, Algorithm::from_u8(alg)));
        Ok(Some(Anchor::Key { owner, key }))
    } else if rtype.eq_ignore_ascii_case("DS") {
        if rdata.len() < 4 {
            return Err("DS needs key tag, algorithm, digest type and digest".into());
        }
        let tag: u16 = rdata[0]
            .parse()
            .map_err(|_| format!("DS key tag {:?} is not a number 0-65535", rdata[0]))?;
        let alg: u8 = rdata[1]
            .parse()
            .map_err(|_| format!("DS algorithm {:?} is not a number", rdata[1]))?;
        let dt: u8 = rdata[2]
            .parse()
            .map_err(|_| format!("DS digest type {:?} is not a number", rdata[2]))?;
        let digest =
            hex::decode(rdata[3..].concat()).map_err(|e| format!("DS digest is not hex: {e}"))?;
        let ds = DS::new(tag, Algorithm::from_u8(alg), DigestType::from(dt), digest);
        Ok(Some(Anchor::Ds { owner, ds }))
    } else {
        Err(format!("record type {rtype} is not DNSKEY or DS"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The root KSKs as served in the root zone's DNSKEY RRset.
    const KSK_2017: &str = "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=";
    const KSK_2024: &str = "AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc=";

    #[test]
    fn builtin_ds_match_the_root_ksks() {
        let anchors = TrustAnchors::iana_root();
        for (b64, tag) in [(KSK_2017, 20326u16), (KSK_2024, 38696)] {
            let key = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            let key = DNSKEY::with_flags(257, PublicKeyBuf::new(key, Algorithm::RSASHA256));
            assert_eq!(key.calculate_key_tag().unwrap(), tag);
            let matching: Vec<_> = anchors
                .anchors
                .iter()
                .filter(|a| match a {
                    Anchor::Ds { ds, owner } => {
                        ds.key_tag() == tag && ds.covers(owner, &key).unwrap()
                    }
                    _ => false,
                })
                .collect();
            assert_eq!(matching.len(), 1, "tag {tag}");
        }
    }

    #[test]
    fn parses_key_and_ds_lines_and_names_bad_lines() {
        let text = format!(
            "; comment\n. 3600 IN DNSKEY 257 3 8 {KSK_2017}\n. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
        );
        let a = TrustAnchors::parse(&text, Path::new("a.key")).unwrap();
        assert_eq!(a.anchors.len(), 2);
        let Anchor::Key { key, .. } = &a.anchors[0] else {
            panic!("not a key")
        };
        let Anchor::Ds { ds, owner } = &a.anchors[1] else {
            panic!("not a ds")
        };
        assert!(ds.covers(owner, key).unwrap());

        let err = TrustAnchors::parse(". IN DS 20326 8 2 zz\n", Path::new("b.ds")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad trust anchor (b.ds:1: DS digest is not hex: Invalid character 'z' at position 0)"
        );
        let err = TrustAnchors::parse("\n. IN A 1.2.3.4\n", Path::new("c")).unwrap_err();
        assert!(err.to_string().contains("c:2: record type A"), "{err}");
        assert!(matches!(
            TrustAnchors::parse("; nothing\n", Path::new("d")),
            Err(AnchorError::Empty { .. })
        ));
    }
}
