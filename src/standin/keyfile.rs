//! Key files read the way the client reads them (`crypto.LoadAutonityKeys` for
//! `--autonitykeys`, `crypto.LoadECDSA` for `--nodekey`): exactly 128 (or 64) hex characters
//! from the start of the file, then at most two `\n`/`\r`; no `0x` prefix, no spaces. The first
//! 64 characters are the secp256k1 node key, the next 64 (autonitykeys) the BLS secret key.
//! Each refusal carries the client's own words.

use std::fmt;

/// What is wrong with a key file (the client's message for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// The file holds fewer hex characters than the key needs.
    TooShort {
        /// How many characters the file must start with.
        want: usize,
    },
    /// A character other than a newline follows the key (e.g. the key of a `0x`-prefixed file).
    TrailingCharacter {
        /// The byte.
        byte: u8,
    },
    /// More than two newline characters follow the key.
    TooLong {
        /// How many characters the key has.
        want: usize,
    },
    /// The node key is not hex.
    NodeKeyHex {
        /// The first byte that is not a hex digit.
        byte: u8,
    },
    /// The node key is zero, or not below the order of secp256k1.
    NodeKeyRange {
        /// `true` when zero, `false` when >= N.
        zero: bool,
    },
    /// The consensus (BLS) key is not hex.
    ConsensusKeyHex {
        /// The first byte that is not a hex digit.
        byte: u8,
    },
    /// The consensus key is not a BLS12-381 scalar in (0, r) (blst's `sk_check`, which also
    /// refuses zero before the client's own zero test is reached).
    ConsensusKeyRange,
}

/// A byte as Go's `%q` writes it.
fn quoted(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        match b {
            b'\'' => "'\\''".to_string(),
            b'\\' => "'\\\\'".to_string(),
            _ => format!("'{}'", b as char),
        }
    } else {
        match b {
            b'\n' => "'\\n'".into(),
            b'\r' => "'\\r'".into(),
            b'\t' => "'\\t'".into(),
            _ => format!("'\\x{b:02x}'"),
        }
    }
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::TooShort { want } => {
                write!(f, "key file too short, want {want} hex characters")
            }
            KeyProblem::TrailingCharacter { byte } => {
                write!(f, "invalid character {} at end of key file", quoted(*byte))
            }
            KeyProblem::TooLong { want } => {
                write!(f, "key file too long, want {want} hex characters")
            }
            KeyProblem::NodeKeyHex { byte } => {
                write!(f, "invalid hex character {} in private key", quoted(*byte))
            }
            KeyProblem::NodeKeyRange { zero: true } => {
                write!(f, "invalid private key, zero or negative")
            }
            KeyProblem::NodeKeyRange { zero: false } => write!(f, "invalid private key, >=N"),
            KeyProblem::ConsensusKeyHex { byte } => write!(
                f,
                "encoding/hex: invalid byte: U+{:04X} {}",
                *byte as u32,
                quoted(*byte)
            ),
            KeyProblem::ConsensusKeyRange => {
                write!(f, "could not unmarshal bytes into secret key")
            }
        }
    }
}

/// The secret and public halves of a node key read from a file.
#[derive(Clone)]
pub struct NodeKey {
    secret: k256::SecretKey,
    /// The public key X||Y (the enode id).
    pub public: [u8; 64],
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        write!(f, "NodeKey({})", hex::encode(self.public))
    }
}

impl NodeKey {
    /// The secret key, for signing this node's record.
    pub fn secret(&self) -> &k256::SecretKey {
        &self.secret
    }
}

fn hex_nibble(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Go's `hex.DecodeString` on an even-length string: the bytes, or the first invalid byte.
fn go_hex(text: &[u8]) -> Result<Vec<u8>, u8> {
    text.chunks(2)
        .map(|p| {
            let hi = hex_nibble(p[0]).ok_or(p[0])?;
            let lo = hex_nibble(p[1]).ok_or(p[1])?;
            Ok(hi << 4 | lo)
        })
        .collect()
}

/// Read a key file's content as the client does. `consensus` selects `autonitykeys` (128 hex:
/// node key ‖ BLS key) over `nodekey` (64 hex).
pub fn parse(content: &[u8], consensus: bool) -> Result<NodeKey, KeyProblem> {
    let want = if consensus { 128 } else { 64 };
    // readASCII: stop at the end or at the first control character or space.
    let n = content
        .iter()
        .take(want)
        .position(|&b| b < b'!')
        .unwrap_or(content.len().min(want));
    if n != want {
        return Err(KeyProblem::TooShort { want });
    }
    // checkKeyFileEnd: only newlines may follow, at most two of them.
    for (i, &b) in content[want..].iter().enumerate() {
        if b != b'\n' && b != b'\r' {
            return Err(KeyProblem::TrailingCharacter { byte: b });
        }
        if i >= 2 {
            return Err(KeyProblem::TooLong { want });
        }
    }
    let sk = go_hex(&content[..64]).map_err(|byte| KeyProblem::NodeKeyHex { byte })?;
    if sk.iter().all(|&b| b == 0) {
        return Err(KeyProblem::NodeKeyRange { zero: true });
    }
    let secret =
        k256::SecretKey::from_slice(&sk).map_err(|_| KeyProblem::NodeKeyRange { zero: false })?;
    if consensus {
        let bls = go_hex(&content[64..128]).map_err(|byte| KeyProblem::ConsensusKeyHex { byte })?;
        if blst::min_pk::SecretKey::from_bytes(&bls).is_err() {
            return Err(KeyProblem::ConsensusKeyRange);
        }
    }
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let point = secret.public_key().to_encoded_point(false);
    let mut public = [0u8; 64];
    public.copy_from_slice(&point.as_bytes()[1..]);
    Ok(NodeKey { secret, public })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_hex() -> String {
        "11".repeat(32)
    }

    fn bls_hex() -> String {
        hex::encode(
            blst::min_pk::SecretKey::key_gen(&[7; 32], &[])
                .unwrap()
                .to_bytes(),
        )
    }

    #[test]
    fn the_clients_file_forms() {
        let keys = format!("{}{}", node_hex(), bls_hex());
        let ok = parse(keys.as_bytes(), true).unwrap();
        // Private key 0x11..11: its public key starts 4f355bdc (secp256k1 G * k).
        assert_eq!(
            parse(node_hex().as_bytes(), false).unwrap().public,
            ok.public
        );
        for tail in ["\n", "\r\n", "\n\n", ""] {
            assert!(
                parse(format!("{keys}{tail}").as_bytes(), true).is_ok(),
                "{tail:?}"
            );
        }
        assert!(parse(keys.to_uppercase().as_bytes(), true).is_ok());
        assert_eq!(
            parse(format!("{keys}\n\n\n").as_bytes(), true).unwrap_err(),
            KeyProblem::TooLong { want: 128 }
        );
    }

    #[test]
    fn a_0x_prefix_is_refused_as_the_client_refuses_it() {
        let keys = format!("{}{}", node_hex(), bls_hex());
        // 0x + 128 hex: the 129th character is a hex digit where only newlines may stand.
        let e = parse(format!("0x{keys}\n").as_bytes(), true).unwrap_err();
        assert_eq!(
            e,
            KeyProblem::TrailingCharacter {
                byte: keys.as_bytes()[126]
            }
        );
        assert!(e.to_string().starts_with("invalid character '"), "{e}");
        assert!(e.to_string().ends_with("' at end of key file"), "{e}");
        let e = parse(format!("0x{}", node_hex()).as_bytes(), false).unwrap_err();
        assert_eq!(e.to_string(), "invalid character '1' at end of key file");
        // 0x + 62 hex (64 characters in all): the 'x' is not hex.
        let e = parse(format!("0x{}", &node_hex()[2..]).as_bytes(), false).unwrap_err();
        assert_eq!(e.to_string(), "invalid hex character 'x' in private key");
    }

    #[test]
    fn short_spaced_and_out_of_range_keys() {
        assert_eq!(
            parse(node_hex().as_bytes(), true).unwrap_err().to_string(),
            "key file too short, want 128 hex characters"
        );
        assert_eq!(
            parse(format!(" {}", node_hex()).as_bytes(), false).unwrap_err(),
            KeyProblem::TooShort { want: 64 }
        );
        assert_eq!(
            parse("00".repeat(32).as_bytes(), false).unwrap_err(),
            KeyProblem::NodeKeyRange { zero: true }
        );
        assert_eq!(
            parse("ff".repeat(32).as_bytes(), false)
                .unwrap_err()
                .to_string(),
            "invalid private key, >=N"
        );
        let zero_bls = format!("{}{}", node_hex(), "00".repeat(32));
        assert_eq!(
            parse(zero_bls.as_bytes(), true).unwrap_err(),
            KeyProblem::ConsensusKeyRange
        );
        let big_bls = format!("{}{}", node_hex(), "ff".repeat(32));
        assert_eq!(
            parse(big_bls.as_bytes(), true).unwrap_err(),
            KeyProblem::ConsensusKeyRange
        );
        let bad = format!("{}{}g", node_hex(), &bls_hex()[..63]);
        assert_eq!(
            parse(bad.as_bytes(), true).unwrap_err().to_string(),
            "encoding/hex: invalid byte: U+0067 'g'"
        );
    }
}
