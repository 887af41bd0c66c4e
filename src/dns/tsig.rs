//! TSIG key files (RFC 8945) in the format BIND's `tsig-keygen` writes, and the signer
//! built from them.
//!
//! ```text
//! key "org1-key" {
//!     algorithm hmac-sha256;
//!     secret "base64...";
//! };
//! ```
//!
//! Comments (`#`, `//`, `/* */`) are allowed. The secret never leaves this module in
//! printable form: `Debug` shows the key name and algorithm only.
//!
//! # Limitations
//! One key per file. Only HMAC-SHA256, HMAC-SHA384 and HMAC-SHA512 are accepted (the
//! algorithms hickory can compute; HMAC-MD5 and HMAC-SHA1 are obsolete). Truncated MACs
//! (`hmac-sha256-128` etc.) are not supported.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

/// How much clock difference between us and the server is tolerated, in seconds (RFC 8945 10).
pub const FUDGE: u16 = 300;

/// Why a TSIG key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TsigError {
    /// The file could not be read.
    #[error("cannot read TSIG key file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not in the `key "name" { ... };` form.
    #[error("bad TSIG key file ({}: line {line}: {why})", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What was expected.
        why: String,
    },
    /// A required field is absent.
    #[error("bad TSIG key file ({}: key '{key}': no {field})", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The key's name.
        key: String,
        /// `algorithm` or `secret`.
        field: &'static str,
    },
    /// The algorithm is not one we sign with.
    #[error("bad TSIG key file ({}: algorithm: '{algorithm}' is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512)", path.display())]
    Algorithm {
        /// The file.
        path: PathBuf,
        /// What the file says.
        algorithm: String,
    },
    /// The secret is not base64 or is empty.
    #[error("bad TSIG key file ({}: secret: {why})", path.display())]
    Secret {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the secret itself).
        why: String,
    },
    /// The key name is not a valid domain name.
    #[error("bad TSIG key file ({}: key name '{name}': {why})", path.display())]
    Name {
        /// The file.
        path: PathBuf,
        /// The name as written.
        name: String,
        /// Why it is not a domain name.
        why: String,
    },
}

/// A TSIG key: name, algorithm and secret. `Debug` never shows the secret.
#[derive(Clone)]
pub struct TsigKey {
    /// The key's name as the server knows it (e.g. `org1-key.`).
    pub name: Name,
    /// The HMAC algorithm.
    pub algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl TsigKey {
    /// Read and parse a key file written by `tsig-keygen`.
    pub fn load(path: &Path) -> Result<TsigKey, TsigError> {
        let text = crate::localfile::read_tsig_key(path).map_err(|source| TsigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        TsigKey::parse(&text, path)
    }

    /// Parse the text of a key file; `path` is only used to name the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<TsigKey, TsigError> {
        let syntax = |line: usize, why: &str| TsigError::Syntax {
            path: path.to_path_buf(),
            line,
            why: why.to_string(),
        };
        let tokens = super::bindconf::tokenize(text).map_err(|(line, why)| syntax(line, why))?;
        let mut it = tokens.iter().peekable();
        let mut keys: Vec<TsigKey> = Vec::new();
        while let Some(tok) = it.next() {
            if tok.text != "key" || tok.quoted {
                return Err(syntax(tok.line, "expected 'key'"));
            }
            let name_tok = it
                .next()
                .ok_or_else(|| syntax(tok.line, "expected a key name"))?;
            if name_tok.text == "{" && !name_tok.quoted {
                return Err(syntax(name_tok.line, "expected a key name before '{'"));
            }
            expect(&mut it, "{", name_tok.line).map_err(|(l, w)| syntax(l, w))?;
            let mut algorithm: Option<(String, usize)> = None;
            let mut secret: Option<String> = None;
            loop {
                let field = it
                    .next()
                    .ok_or_else(|| syntax(name_tok.line, "unterminated key block"))?;
                if field.text == "}" && !field.quoted {
                    break;
                }
                let value = it
                    .next()
                    .ok_or_else(|| syntax(field.line, "expected a value"))?;
                expect(&mut it, ";", value.line).map_err(|(l, w)| syntax(l, w))?;
                match field.text.as_str() {
                    "algorithm" => algorithm = Some((value.text.clone(), value.line)),
                    "secret" => secret = Some(value.text.clone()),
                    other => {
                        return Err(syntax(field.line, &format!("unknown field '{other}'")));
                    }
                }
            }
            expect(&mut it, ";", name_tok.line).map_err(|(l, w)| syntax(l, w))?;
            let key_name = name_tok.text.clone();
            let (algorithm, _) = algorithm.ok_or_else(|| TsigError::Missing {
                path: path.to_path_buf(),
                key: key_name.clone(),
                field: "algorithm",
            })?;
            let secret = secret.ok_or_else(|| TsigError::Missing {
                path: path.to_path_buf(),
                key: key_name.clone(),
                field: "secret",
            })?;
            let algorithm = match algorithm.to_ascii_lowercase().as_str() {
                "hmac-sha256" => TsigAlgorithm::HmacSha256,
                "hmac-sha384" => TsigAlgorithm::HmacSha384,
                "hmac-sha512" => TsigAlgorithm::HmacSha512,
                _ => {
                    return Err(TsigError::Algorithm {
                        path: path.to_path_buf(),
                        algorithm,
                    })
                }
            };
            let secret = base64::engine::general_purpose::STANDARD
                .decode(secret.trim())
                .map_err(|e| TsigError::Secret {
                    path: path.to_path_buf(),
                    why: format!("not base64 ({})", base64_flaw(&e)),
                })?;
            if secret.is_empty() {
                return Err(TsigError::Secret {
                    path: path.to_path_buf(),
                    why: "empty".into(),
                });
            }
            let mut name = Name::from_ascii(&key_name).map_err(|e| TsigError::Name {
                path: path.to_path_buf(),
                name: key_name.clone(),
                why: e.to_string(),
            })?;
            name.set_fqdn(true);
            keys.push(TsigKey {
                name,
                algorithm,
                secret,
            });
        }
        match keys.len() {
            1 => Ok(keys.remove(0)),
            0 => Err(syntax(1, "no key block")),
            n => Err(syntax(
                1,
                &format!("{n} key blocks; give a file with exactly one"),
            )),
        }
    }

    /// The key's name without the trailing dot, as people write it (`org1-key`).
    pub fn display_name(&self) -> String {
        self.name.to_string().trim_end_matches('.').to_string()
    }

    /// The algorithm as BIND writes it (`hmac-sha256`).
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
            _ => "hmac-sha256",
        }
    }

    /// A hickory signer for this key.
    pub fn signer(&self) -> TSigner {
        // The algorithm was restricted to the three hickory supports in `parse`.
        TSigner::new(
            self.secret.clone(),
            self.algorithm.clone(),
            self.name.clone(),
            FUDGE,
        )
        .unwrap_or_else(|_| unreachable!("algorithm checked when the key was parsed"))
    }
}

fn expect<'a>(
    it: &mut impl Iterator<Item = &'a super::bindconf::Token>,
    want: &str,
    line: usize,
) -> Result<(), (usize, &'static str)> {
    match it.next() {
        Some(t) if t.text == want && !t.quoted => Ok(()),
        Some(t) => Err((
            t.line,
            match want {
                "{" => "expected '{'",
                ";" => "expected ';'",
                _ => "unexpected token",
            },
        )),
        None => Err((
            line,
            match want {
                "{" => "expected '{' before end of file",
                _ => "expected ';' before end of file",
            },
        )),
    }
}

/// Where a secret fails to decode, without the offending character: base64's own message
/// quotes the byte, which is part of the secret.
fn base64_flaw(e: &base64::DecodeError) -> String {
    use base64::DecodeError as D;
    match e {
        D::InvalidByte(at, _) => format!("invalid character at position {at}"),
        D::InvalidLength(n) => format!("{n} characters is not a valid length"),
        D::InvalidLastSymbol(at, _) => format!("invalid last character at position {at}"),
        D::InvalidPadding => "invalid padding".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<TsigKey, TsigError> {
        TsigKey::parse(text, Path::new("k.key"))
    }

    #[test]
    fn parses_tsig_keygen_output() {
        let k = p("key \"org1-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"PujiQ9ZOookRS+wlZMHJm9JcgVFfF2sOTZCZtmeB3FE=\";\n};\n").unwrap();
        assert_eq!(k.display_name(), "org1-key");
        assert_eq!(k.algorithm, TsigAlgorithm::HmacSha256);
        assert_eq!(k.secret.len(), 32);
        let dbg = format!("{k:?}");
        assert!(!dbg.contains("PujiQ9"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn accepts_comments_and_sha512() {
        let k = p("# made by tsig-keygen\n/* block\n comment */ key k2 { // trailing\n secret \"AAAA\"; algorithm HMAC-SHA512; };").unwrap();
        assert_eq!(k.algorithm, TsigAlgorithm::HmacSha512);
        assert_eq!(k.name.to_string(), "k2.");
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        let e = p("key \"a\" { algorithm hmac-md5; secret \"AAAA\"; };").unwrap_err();
        assert!(e.to_string().contains("algorithm: 'hmac-md5'"), "{e}");
        let e = p("key \"a\" { algorithm hmac-sha256; };").unwrap_err();
        assert!(e.to_string().contains("no secret"), "{e}");
        let e = p("key \"a\" { algorithm hmac-sha256; secret \"!!notbase64\"; };").unwrap_err();
        assert!(e.to_string().contains("secret: not base64"), "{e}");
        assert!(!e.to_string().contains("!!notbase64"), "{e}");
        // base64's own messages quote the offending byte (33 is '!'; in the next case the
        // last character 'B', 66, belongs to the secret): neither may appear.
        assert!(
            e.to_string()
                .ends_with("not base64 (invalid character at position 0))"),
            "{e}"
        );
        let e = p("key \"a\" { algorithm hmac-sha256; secret \"AB==\"; };").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("(invalid last character at position 1))"),
            "{e}"
        );
        assert!(
            !e.to_string().contains("66") && !e.to_string().contains('B'),
            "{e}"
        );
        let e = p("key \"a\" {\n algorithm hmac-sha256\n secret \"AAAA\"; };").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = p("").unwrap_err();
        assert!(e.to_string().contains("no key block"), "{e}");
    }
}
