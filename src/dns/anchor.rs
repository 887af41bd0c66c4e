//! Trust anchors: where every chain of trust starts (RFC 4033 section 3, RFC 4035 section 5,
//! RFC 7958 for the IANA publication of the root anchors).
//!
//! Built in are the IANA root key-signing keys as DS records (KSK-2017, tag 20326, and
//! KSK-2024, tag 38696; SHA-256 digests as published in IANA's `root-anchors.xml`).
//! `--anchor FILE` replaces them, e.g. for a private root: zone-file lines holding DNSKEY or DS
//! records (a `dnssec-keygen` `.key` file, `dnssec-dsfromkey` output, or lines cut from a zone),
//! or BIND's configuration blocks as `named` and `delv -a` read them:
//! `trust-anchors { . static-ds 20326 8 2 "E06D..."; . initial-key 257 3 8 "AwEAAa..."; };`,
//! `managed-keys { ... initial-key ... };` or `trusted-keys { . 257 3 8 "AwEAAa..."; };`.
//!
//! # Limitations
//! In zone-file form, parentheses spanning lines are not supported (every record is on one
//! line, as the BIND tools write them). RFC 5011 automatic key rollover is not followed: an
//! anchor file is read as it is, `initial-key`/`initial-ds` entries are trusted like
//! `static-key`/`static-ds` (no hold-down state is kept).

use crate::localfile::quote;
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
    /// The file is another kind of file (a TSIG key, ...), not a trust anchor at all.
    #[error("not a trust anchor file: {}:{line} holds {what}; give the root's (or the expected zone's) DNSKEY or DS records", path.display())]
    NotAnchor {
        /// The file.
        path: PathBuf,
        /// The line that shows what the file is, from 1.
        line: usize,
        /// What the file holds instead (`a TSIG key`).
        what: &'static str,
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

    /// Read DNSKEY and DS anchors from a file: zone-file lines or BIND `trust-anchors` blocks.
    pub fn from_file(path: &Path) -> Result<TrustAnchors, AnchorError> {
        let text = crate::localfile::read_to_string(path, crate::localfile::Kind::Anchor).map_err(
            |source| AnchorError::Read {
                path: path.to_path_buf(),
                source,
            },
        )?;
        Self::parse(&text, path)
    }

    /// Parse anchor text (zone-file lines, or BIND blocks when the text holds `trust-anchors`,
    /// `managed-keys` or `trusted-keys`); `path` only names the input in errors.
    pub fn parse(text: &str, path: &Path) -> Result<TrustAnchors, AnchorError> {
        if let Some((line, what)) = other_kind(text) {
            return Err(AnchorError::NotAnchor {
                path: path.to_path_buf(),
                line,
                what,
            });
        }
        let anchors = if BIND_BLOCKS.iter().any(|k| text.contains(k)) {
            parse_bind(text, path)?
        } else {
            parse_zone_file(text, path)?
        };
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

/// A file that is plainly not an anchor: a TSIG key in any of its usual forms (a BIND `key`
/// block, Knot's YAML, `[alg:]name:secret`). Returns the line that shows it and what it is.
fn other_kind(text: &str) -> Option<(usize, &'static str)> {
    if BIND_BLOCKS.iter().any(|k| text.contains(k)) {
        return None;
    }
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(';').next().unwrap_or("").trim();
        let lower = line.to_ascii_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        let tsig = matches!(words.first(), Some(&"key") if lower.contains('{'))
            || matches!(words.first(), Some(&"secret") | Some(&"secret:"))
            || lower.starts_with("algorithm: hmac-")
            || lower.starts_with("- id:") && text.contains("secret:")
            || lower.starts_with("hmac-") && lower.matches(':').count() >= 2;
        if tsig {
            return Some((i + 1, "a TSIG key"));
        }
    }
    None
}

/// The BIND configuration statements that hold trust anchors.
const BIND_BLOCKS: [&str; 3] = ["trust-anchors", "managed-keys", "trusted-keys"];

/// Zone-file form: one `owner [ttl] [class] DNSKEY|DS rdata...` record a line, `;` comments.
fn parse_zone_file(text: &str, path: &Path) -> Result<Vec<Anchor>, AnchorError> {
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
        anchors.push(anchor);
    }
    Ok(anchors)
}

/// BIND form: `trust-anchors { NAME static-key|initial-key FLAGS 3 ALG "KEY";
/// NAME static-ds|initial-ds TAG ALG DIGEST-TYPE "DIGEST"; };`, the older `managed-keys`
/// (same entries) and `trusted-keys { NAME FLAGS 3 ALG "KEY"; };`. Comments `//`, `#` and
/// `/* */`; quoted key and digest text may span lines. Errors name the line an entry starts on.
fn parse_bind(text: &str, path: &Path) -> Result<Vec<Anchor>, AnchorError> {
    // Words with their line: braces dropped, `;` a word of its own, quoted text split at
    // white space (key text spans lines).
    let syntax = |(line, why): (usize, &str)| AnchorError::Line {
        path: path.to_path_buf(),
        line,
        why: why.to_string(),
    };
    let mut tokens: Vec<(usize, String)> = Vec::new();
    for t in super::bindconf::tokenize(text).map_err(syntax)? {
        match (t.quoted, t.text.as_str()) {
            (false, "{" | "}") => {}
            (true, quoted) => {
                tokens.extend(quoted.split_whitespace().map(|w| (t.line, w.to_string())))
            }
            (false, _) => tokens.push((t.line, t.text)),
        }
    }
    let mut anchors = Vec::new();
    let mut block: Option<&str> = None;
    let mut entry: Vec<(usize, String)> = Vec::new();
    for (line, tok) in tokens {
        if let Some(b) = BIND_BLOCKS.iter().find(|b| **b == tok) {
            block = Some(b);
            continue;
        }
        if tok != ";" {
            entry.push((line, tok));
            continue;
        }
        let words = std::mem::take(&mut entry);
        let Some(&(line, _)) = words.first() else {
            continue; // the `;` that closes a block
        };
        let err = |why: String| AnchorError::Line {
            path: path.to_path_buf(),
            line,
            why,
        };
        let Some(block) = block else {
            return Err(err(
                "entry outside a trust-anchors, managed-keys or trusted-keys block".into(),
            ));
        };
        let words: Vec<&str> = words.iter().map(|(_, w)| w.as_str()).collect();
        let mut owner = Name::from_str(words[0])
            .map_err(|e| err(format!("owner name {}: {e}", quote(words[0]))))?;
        owner.set_fqdn(true);
        let (rtype, rdata) = if block == "trusted-keys" {
            ("DNSKEY", &words[1..])
        } else {
            let kind = words.get(1).copied().unwrap_or("");
            let rtype = match kind.to_ascii_lowercase().as_str() {
                "static-key" | "initial-key" => "DNSKEY",
                "static-ds" | "initial-ds" => "DS",
                _ => {
                    return Err(err(format!(
                        "anchor type {} is not static-key, initial-key, static-ds or initial-ds",
                        quote(kind)
                    )))
                }
            };
            (rtype, &words[2..])
        };
        anchors.push(record(owner, rtype, rdata).map_err(err)?);
    }
    if let Some(&(line, _)) = entry.first() {
        return Err(AnchorError::Line {
            path: path.to_path_buf(),
            line,
            why: "entry not ended by `;`".into(),
        });
    }
    Ok(anchors)
}

/// Parse one record line: `owner [ttl] [class] DNSKEY|DS rdata...`. Other record types are
/// an error (an anchor file holds only anchors).
fn parse_line(line: &str) -> Result<Anchor, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let owner_text = tokens.first().ok_or("empty line")?;
    let owner =
        Name::from_str(owner_text).map_err(|e| format!("owner name {}: {e}", quote(owner_text)))?;
    if !owner.is_fqdn() {
        return Err(format!(
            "owner name {} must be fully qualified (end with a dot)",
            quote(owner_text)
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
    record(owner, rtype, &tokens[i + 1..])
}

/// One anchor from its owner, type (`DNSKEY` or `DS`) and rdata fields.
fn record(owner: Name, rtype: &str, rdata: &[&str]) -> Result<Anchor, String> {
    if rtype.eq_ignore_ascii_case("DNSKEY") {
        if rdata.len() < 4 {
            return Err("DNSKEY needs flags, protocol, algorithm and key".into());
        }
        let flags: u16 = rdata[0]
            .parse()
            .map_err(|_| format!("DNSKEY flags {} is not a number", quote(rdata[0])))?;
        if rdata[1] != "3" {
            return Err(format!(
                "DNSKEY protocol must be 3, not {}",
                quote(rdata[1])
            ));
        }
        let alg: u8 = rdata[2]
            .parse()
            .map_err(|_| format!("DNSKEY algorithm {} is not a number", quote(rdata[2])))?;
        let b64: String = rdata[3..].concat();
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("DNSKEY public key is not base64: {e}"))?;
        if flags & 0x0100 == 0 {
            return Err(format!("DNSKEY flags {flags} lack the ZONE bit (256)"));
        }
        let key = DNSKEY::with_flags(flags, PublicKeyBuf::new(key, Algorithm::from_u8(alg)));
        Ok(Anchor::Key { owner, key })
    } else if rtype.eq_ignore_ascii_case("DS") {
        if rdata.len() < 4 {
            return Err("DS needs key tag, algorithm, digest type and digest".into());
        }
        let tag: u16 = rdata[0]
            .parse()
            .map_err(|_| format!("DS key tag {} is not a number 0-65535", quote(rdata[0])))?;
        let alg: u8 = rdata[1]
            .parse()
            .map_err(|_| format!("DS algorithm {} is not a number", quote(rdata[1])))?;
        let dt: u8 = rdata[2]
            .parse()
            .map_err(|_| format!("DS digest type {} is not a number", quote(rdata[2])))?;
        let digest =
            hex::decode(rdata[3..].concat()).map_err(|e| format!("DS digest is not hex: {e}"))?;
        let ds = DS::new(tag, Algorithm::from_u8(alg), DigestType::from(dt), digest);
        Ok(Anchor::Ds { owner, ds })
    } else {
        let shown = if rtype.len() <= 16 && rtype.bytes().all(|b| b.is_ascii_alphanumeric()) {
            rtype.to_string()
        } else {
            quote(rtype)
        };
        Err(format!("record type {shown} is not DNSKEY or DS"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The root KSKs as served in the root zone's DNSKEY RRset.
    const KSK_2017: &str = "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=";
    const KSK_2024: &str = "AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc=";

    #[test]
    fn a_tsig_key_file_is_not_an_anchor_and_is_named() {
        let path = Path::new("org1.key");
        for (text, line) in [
            (
                "key \"org1-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n",
                1,
            ),
            ("# keymgr\nkey:\n  - id: org1-key\n    algorithm: hmac-sha256\n    secret: c2VjcmV0\n", 3),
            ("hmac-sha256:org1-key:c2VjcmV0\n", 1),
        ] {
            let err = TrustAnchors::parse(text, path).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("not a trust anchor file: org1.key:{line} holds a TSIG key; give the root's (or the expected zone's) DNSKEY or DS records"),
                "{text}"
            );
        }
        // A real anchor is not mistaken for one.
        let ok = ". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";
        assert!(TrustAnchors::parse(ok, path).is_ok());
    }

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
    fn bind_trust_anchors_blocks() {
        // As BIND ships them (bind.keys): quoted owner, key text split over lines, comments.
        let text = format!(
            "/* root */\ntrust-anchors {{\n  # KSK-2017\n  \".\" initial-key 257 3 8 \"{}\n  {}\";\n  . static-ds 20326 8 2 \"E06D44B80B8F1D39A95C0B0D\n7C65D08458E880409BBC683457104237C7F8EC8D\"; // KSK-2017 DS\n  example.com initial-ds 1 13 2 \"00FF\";\n}};\n",
            &KSK_2017[..100],
            &KSK_2017[100..]
        );
        let a = TrustAnchors::parse(&text, Path::new("bind.keys")).unwrap();
        assert_eq!(a.anchors.len(), 3);
        let Anchor::Key { key, owner } = &a.anchors[0] else {
            panic!("not a key")
        };
        assert!(owner.is_root());
        assert_eq!(key.calculate_key_tag().unwrap(), 20326);
        let Anchor::Ds { ds, owner } = &a.anchors[1] else {
            panic!("not a ds")
        };
        assert!(ds.covers(owner, key).unwrap());
        assert_eq!(a.anchors[2].owner().to_ascii(), "example.com.");

        // Base64 key text holding `//` is key text, not a comment (comments end only outside
        // quotes): the same key with two characters made `//` parses, and its key tag
        // differs from KSK-2017's.
        let slashed = format!("{}//{}", &KSK_2017[..10], &KSK_2017[12..]);
        let text = format!(
            "trust-anchors {{ . initial-key 257 3 8 \"{}\n {}\"; }}; // done\n",
            &slashed[..5],
            &slashed[5..]
        );
        let a = TrustAnchors::parse(&text, Path::new("slashes.conf")).unwrap();
        let Anchor::Key { key, .. } = &a.anchors[0] else {
            panic!("not a key")
        };
        assert_ne!(key.calculate_key_tag().unwrap(), 20326);

        // The older statements.
        let text = format!("trusted-keys {{ . 257 3 8 \"{KSK_2017}\"; }};\nmanaged-keys {{ . initial-key 257 3 8 \"{KSK_2017}\"; }};\n");
        let a = TrustAnchors::parse(&text, Path::new("old.conf")).unwrap();
        assert_eq!(a.anchors.len(), 2);
        assert_eq!(a.anchors[0], a.anchors[1]);

        // Errors name the line the entry starts on.
        let err = TrustAnchors::parse(
            "trust-anchors {\n . static-ds 20326 8 2 \"E06D\";\n . static-dnskey 257 3 8 \"AQID\";\n};\n",
            Path::new("e.conf"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad trust anchor (e.conf:3: anchor type \"static-dnskey\""),
            "{err}"
        );
        let err = TrustAnchors::parse(
            "trust-anchors {\n . static-ds 20326 8 2 \"ZZ\";\n};\n",
            Path::new("f.conf"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("f.conf:2: DS digest is not hex"),
            "{err}"
        );
        assert!(matches!(
            TrustAnchors::parse("trust-anchors { };\n", Path::new("g")),
            Err(AnchorError::Empty { .. })
        ));
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
