//! TSIG key files (RFC 8945) in every common form, told apart by their first line, and the
//! signer built from them.
//!
//! - BIND, as `tsig-keygen` writes it, or a `named.conf` include holding several keys:
//!   ```text
//!   key "org1-key" {
//!       algorithm hmac-sha256;
//!       secret "base64...";
//!   };
//!   ```
//!   Comments (`#`, `//`, `/* */`) are allowed.
//! - Knot DNS, as `keymgr -t org1-key hmac-sha256` writes it (YAML, a `key:` section of
//!   `- id:` items with `algorithm:` and `secret:`; other sections are skipped):
//!   ```text
//!   # hmac-sha256:org1-key:base64...
//!   key:
//!     - id: org1-key
//!       algorithm: hmac-sha256
//!       secret: base64...
//!   ```
//! - PowerDNS: `pdnsutil generate-tsig-key` (`Create new TSIG key org1-key hmac-sha256
//!   base64...`) and `pdnsutil list-tsig-keys` (`org1-key. hmac-sha256. base64...`, one key a
//!   line).
//! - `[alg:]name:secret` on one line, as `dig -y` and `nsupdate -y` take it. Without `alg`
//!   those tools use hmac-md5, or hmac-sha256 where MD5 is disabled; MD5 is not supported
//!   here, so the default is hmac-sha256.
//!
//! A file holding several keys needs the key's name ([`TsigKey::parse_named`]); the error
//! lists the names it holds. Parsing is a pure function over the text ([`TsigKey::parse`],
//! [`TsigKey::parse_named`]); [`TsigKey::load`] is the one place that reads the file. The
//! secret never leaves this module in printable form: `Debug` shows the key name and
//! algorithm only, and no error quotes any part of a secret.
//!
//! # Limitations
//! Only HMAC-SHA256, HMAC-SHA384 and HMAC-SHA512 are accepted (the algorithms hickory can
//! compute; HMAC-MD5 and HMAC-SHA1 are obsolete). Truncated MACs (`hmac-sha256-128` etc.)
//! are not supported. The Knot form is read as `keymgr` writes it (block YAML, one field a
//! line), not as arbitrary YAML (no flow style, anchors or multi-line strings).

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

use crate::localfile::escape;

/// How much clock difference between us and the server is tolerated, in seconds (RFC 8945 10).
pub const FUDGE: u16 = 300;

/// Why a TSIG key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TsigError {
    /// The file could not be read.
    #[error("cannot read TSIG key file {}: {source}", escape(&path.display().to_string()))]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is in none of the forms, or breaks the rules of its form.
    #[error("bad TSIG key file ({}: line {line}: {})", escape(&path.display().to_string()), escape(why))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What was expected.
        why: String,
    },
    /// A required field is absent.
    #[error("bad TSIG key file ({}: line {line}: key '{}': no {field})", escape(&path.display().to_string()), escape(key))]
    Missing {
        /// The file.
        path: PathBuf,
        /// 1-based line where the key starts.
        line: usize,
        /// The key's name.
        key: String,
        /// `algorithm` or `secret`.
        field: &'static str,
    },
    /// The algorithm is not one we sign with.
    #[error("bad TSIG key file ({}: line {line}: algorithm: '{}' is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512)", escape(&path.display().to_string()), escape(algorithm))]
    Algorithm {
        /// The file.
        path: PathBuf,
        /// 1-based line of the algorithm.
        line: usize,
        /// What the file says.
        algorithm: String,
    },
    /// The secret is not base64 or is empty.
    #[error("bad TSIG key file ({}: line {line}: secret: {})", escape(&path.display().to_string()), escape(why))]
    Secret {
        /// The file.
        path: PathBuf,
        /// 1-based line of the secret.
        line: usize,
        /// What is wrong (never the secret itself).
        why: String,
    },
    /// The key name is not a valid domain name.
    #[error("bad TSIG key file ({}: line {line}: key name '{}': {})", escape(&path.display().to_string()), escape(name), escape(why))]
    Name {
        /// The file.
        path: PathBuf,
        /// 1-based line of the name.
        line: usize,
        /// The name as written.
        name: String,
        /// Why it is not a domain name.
        why: String,
    },
    /// The file holds several keys and none was chosen.
    #[error("TSIG key file {} holds {} keys ({}); choose one by name", escape(&path.display().to_string()), names.len(), escape(&names.join(", ")))]
    Ambiguous {
        /// The file.
        path: PathBuf,
        /// The names of the keys it holds.
        names: Vec<String>,
    },
    /// The file holds no key of the name asked for.
    #[error("TSIG key file {} holds no key '{}' (it holds: {})", escape(&path.display().to_string()), escape(wanted), escape(&names.join(", ")))]
    NoSuchKey {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        wanted: String,
        /// The names of the keys it holds.
        names: Vec<String>,
    },
}

/// One key as written in a file, before its fields are checked.
struct Entry {
    name: String,
    name_line: usize,
    algorithm: Option<(String, usize)>,
    secret: Option<(String, usize)>,
}

/// The forms a key file can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Bind,
    Knot,
    PdnsGenerate,
    PdnsList,
    Literal,
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

/// Same name, algorithm and secret.
impl PartialEq for TsigKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.algorithm == other.algorithm && self.secret == other.secret
    }
}

impl Eq for TsigKey {}

impl TsigKey {
    /// Read and parse a key file holding exactly one key (any form).
    pub fn load(path: &Path) -> Result<TsigKey, TsigError> {
        TsigKey::load_named(path, None)
    }

    /// Read and parse a key file; `name` picks one key of several (`None`: the only one).
    pub fn load_named(path: &Path, name: Option<&str>) -> Result<TsigKey, TsigError> {
        let text = crate::localfile::read_tsig_key(path).map_err(|source| TsigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        TsigKey::parse_named(&text, path, name)
    }

    /// Parse the text of a key file holding exactly one key; `path` only names the file in
    /// errors.
    pub fn parse(text: &str, path: &Path) -> Result<TsigKey, TsigError> {
        TsigKey::parse_named(text, path, None)
    }

    /// Parse the text of a key file in any of the forms (see the module docs) and return the
    /// key called `name` (case-insensitive, trailing dot optional), or the only key when
    /// `name` is `None`. `path` only names the file in errors.
    pub fn parse_named(text: &str, path: &Path, name: Option<&str>) -> Result<TsigKey, TsigError> {
        let syntax = |line: usize, why: &str| TsigError::Syntax {
            path: path.to_path_buf(),
            line,
            why: why.to_string(),
        };
        let entries = match detect(text) {
            None => return Err(syntax(1, "no key in the file")),
            Some((Form::Bind, _)) => parse_bind(text).map_err(|(l, w)| syntax(l, &w))?,
            Some((Form::Knot, _)) => parse_knot(text).map_err(|(l, w)| syntax(l, &w))?,
            Some((form, _)) => parse_lines(text, form).map_err(|(l, w)| syntax(l, &w))?,
        };
        if entries.is_empty() {
            return Err(syntax(1, "no key in the file"));
        }
        let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
        let norm = |n: &str| n.trim_end_matches('.').to_ascii_lowercase();
        let entry = match name {
            Some(wanted) => entries
                .into_iter()
                .find(|e| norm(&e.name) == norm(wanted))
                .ok_or_else(|| TsigError::NoSuchKey {
                    path: path.to_path_buf(),
                    wanted: wanted.to_string(),
                    names,
                })?,
            None if entries.len() == 1 => entries.into_iter().next().expect("one entry"),
            None => {
                return Err(TsigError::Ambiguous {
                    path: path.to_path_buf(),
                    names,
                })
            }
        };
        TsigKey::from_entry(entry, path)
    }

    fn from_entry(entry: Entry, path: &Path) -> Result<TsigKey, TsigError> {
        let missing = |field| TsigError::Missing {
            path: path.to_path_buf(),
            line: entry.name_line,
            key: entry.name.clone(),
            field,
        };
        let (algorithm, alg_line) = entry
            .algorithm
            .clone()
            .ok_or_else(|| missing("algorithm"))?;
        let (secret, secret_line) = entry.secret.clone().ok_or_else(|| missing("secret"))?;
        let algorithm = match algorithm
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            _ => {
                return Err(TsigError::Algorithm {
                    path: path.to_path_buf(),
                    line: alg_line,
                    algorithm,
                })
            }
        };
        let secret = base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .map_err(|e| TsigError::Secret {
                path: path.to_path_buf(),
                line: secret_line,
                why: format!("not base64 ({})", base64_flaw(&e)),
            })?;
        if secret.is_empty() {
            return Err(TsigError::Secret {
                path: path.to_path_buf(),
                line: secret_line,
                why: "empty".into(),
            });
        }
        let mut name = Name::from_ascii(&entry.name).map_err(|e| TsigError::Name {
            path: path.to_path_buf(),
            line: entry.name_line,
            name: entry.name.clone(),
            why: e.to_string(),
        })?;
        name.set_fqdn(true);
        Ok(TsigKey {
            name,
            algorithm,
            secret,
        })
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

/// What the forms are called in messages.
const FORMS: &str = "a BIND 'key \"name\" { ... };' block, Knot's 'key:' YAML (keymgr -t), \
pdnsutil generate-tsig-key or list-tsig-keys output, or [alg:]name:secret";

/// The form of the file, from its first line that is neither blank nor a comment, and that
/// line's number.
fn detect(text: &str) -> Option<(Form, usize)> {
    let mut in_block_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if in_block_comment {
            if line.contains("*/") {
                // BIND's block comment: the file is BIND's syntax.
                return Some((Form::Bind, i + 1));
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("//") {
            return Some((Form::Bind, i + 1));
        }
        if line.starts_with("/*") {
            if line.contains("*/") {
                return Some((Form::Bind, i + 1));
            }
            in_block_comment = true;
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or("");
        let form = if first == "key" || first.starts_with("key\"") || first.starts_with("key{") {
            Form::Bind
        } else if !raw.starts_with(char::is_whitespace)
            && line.ends_with(':')
            && !line[..line.len() - 1].contains([' ', ':', '\t'])
        {
            Form::Knot
        } else if line.starts_with("Create new TSIG key ") {
            Form::PdnsGenerate
        } else if line.split_whitespace().count() == 3 {
            Form::PdnsList
        } else {
            Form::Literal
        };
        return Some((form, i + 1));
    }
    None
}

/// BIND `key` blocks (any number).
fn parse_bind(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let tokens = super::bindconf::tokenize(text).map_err(|(l, w)| (l, w.to_string()))?;
    let mut it = tokens.iter().peekable();
    let mut keys = Vec::new();
    while let Some(tok) = it.next() {
        if tok.text != "key" || tok.quoted {
            // The token is not quoted: it may be part of a secret written in the wrong place.
            return Err((tok.line, format!("expected 'key' (a file of {FORMS})")));
        }
        let name_tok = it
            .next()
            .ok_or_else(|| (tok.line, "expected a key name".to_string()))?;
        if name_tok.text == "{" && !name_tok.quoted {
            return Err((name_tok.line, "expected a key name before '{'".into()));
        }
        expect(&mut it, "{", name_tok.line).map_err(|(l, w)| (l, w.to_string()))?;
        let mut entry = Entry {
            name: name_tok.text.clone(),
            name_line: name_tok.line,
            algorithm: None,
            secret: None,
        };
        loop {
            let field = it
                .next()
                .ok_or_else(|| (name_tok.line, "unterminated key block".to_string()))?;
            if field.text == "}" && !field.quoted {
                break;
            }
            let value = it
                .next()
                .ok_or_else(|| (field.line, "expected a value".to_string()))?;
            expect(&mut it, ";", value.line).map_err(|(l, w)| (l, w.to_string()))?;
            match field.text.as_str() {
                "algorithm" => entry.algorithm = Some((value.text.clone(), value.line)),
                "secret" => entry.secret = Some((value.text.clone(), value.line)),
                other => {
                    return Err((
                        field.line,
                        format!(
                            "unknown field '{}' (expected algorithm or secret)",
                            excerpt(other)
                        ),
                    ))
                }
            }
        }
        expect(&mut it, ";", name_tok.line).map_err(|(l, w)| (l, w.to_string()))?;
        keys.push(entry);
    }
    Ok(keys)
}

/// Knot's YAML as `keymgr -t` writes it: a `key:` section of `- id:` items.
fn parse_knot(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut keys: Vec<Entry> = Vec::new();
    let mut in_key_section = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let content = strip_yaml_comment(raw);
        if content.trim().is_empty() {
            continue;
        }
        if !content.starts_with(char::is_whitespace) {
            // A section header at column 0.
            let header = content.trim_end();
            let Some(section) = header.strip_suffix(':') else {
                return Err((n, "expected a section header such as 'key:'".into()));
            };
            in_key_section = section.trim() == "key";
            continue;
        }
        if !in_key_section {
            continue;
        }
        let mut item = content.trim();
        let starts_item = item.starts_with("- ") || item == "-";
        if starts_item {
            item = item[1..].trim_start();
        } else if keys.is_empty() {
            return Err((n, "expected '- id: NAME' starting a key".into()));
        }
        let Some((field, value)) = item.split_once(':') else {
            return Err((
                n,
                "expected 'field: value' (id, algorithm or secret)".into(),
            ));
        };
        let value = unquote_yaml(value.trim());
        match (field.trim(), starts_item) {
            ("id", true) => keys.push(Entry {
                name: value,
                name_line: n,
                algorithm: None,
                secret: None,
            }),
            (_, true) => return Err((n, "expected '- id: NAME' starting a key".into())),
            ("algorithm", false) => {
                let k = keys.last_mut().expect("checked above");
                k.algorithm = Some((value, n));
            }
            ("secret", false) => {
                let k = keys.last_mut().expect("checked above");
                k.secret = Some((value, n));
            }
            ("id", false) => return Err((n, "expected '- id:' (a key starts with '-')".into())),
            (other, false) => {
                return Err((
                    n,
                    format!(
                        "unknown field '{}' (expected algorithm or secret)",
                        excerpt(other)
                    ),
                ))
            }
        }
    }
    if keys.is_empty() {
        return Err((1, "no 'key:' section with a '- id:' item".into()));
    }
    Ok(keys)
}

/// A YAML line without its comment (`#` at the start or after a space; base64 has no `#`).
fn strip_yaml_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    }
}

fn unquote_yaml(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// The one-key-a-line forms: pdnsutil's two outputs and `[alg:]name:secret`.
fn parse_lines(text: &str, form: Form) -> Result<Vec<Entry>, (usize, String)> {
    let mut keys = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let entry = |name: &str, alg: &str, secret: &str| Entry {
            name: name.to_string(),
            name_line: n,
            algorithm: Some((alg.to_string(), n)),
            secret: Some((secret.to_string(), n)),
        };
        match form {
            Form::PdnsGenerate => match words.as_slice() {
                ["Create", "new", "TSIG", "key", name, alg, secret] => {
                    keys.push(entry(name, alg, secret))
                }
                _ => {
                    return Err((
                        n,
                        "expected 'Create new TSIG key NAME ALGORITHM SECRET' (pdnsutil generate-tsig-key)"
                            .into(),
                    ))
                }
            },
            Form::PdnsList => match words.as_slice() {
                [name, alg, secret] => keys.push(entry(name, alg, secret)),
                _ => {
                    return Err((
                        n,
                        "expected 'NAME. ALGORITHM. SECRET' (pdnsutil list-tsig-keys)".into(),
                    ))
                }
            },
            _ => {
                let parts: Vec<&str> = line.split(':').collect();
                match parts.as_slice() {
                    [alg, name, secret] if !line.contains(char::is_whitespace) => {
                        keys.push(entry(name, alg, secret))
                    }
                    [name, secret] if !line.contains(char::is_whitespace) => {
                        keys.push(entry(name, "hmac-sha256", secret))
                    }
                    _ => return Err((n, format!("expected {FORMS}"))),
                }
            }
        }
    }
    Ok(keys)
}

/// At most 40 characters of something found in the file, for an error message (never used
/// on a secret).
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
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
        assert!(
            e.to_string().contains("line 1: algorithm: 'hmac-md5'"),
            "{e}"
        );
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
        assert!(e.to_string().contains("no key in the file"), "{e}");
    }

    const S1: &str = "vuoXcKmLCsEJSHRidO+AcYoDnpRc/CyTBZG8r4gti8A=";

    fn named(text: &str, name: Option<&str>) -> Result<TsigKey, TsigError> {
        TsigKey::parse_named(text, Path::new("k.key"), name)
    }

    #[test]
    fn every_form_gives_the_same_key() {
        let bind = p(&format!(
            "key \"org1-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{S1}\";\n}};\n"
        ))
        .unwrap();
        let forms = [
            format!("# hmac-sha256:org1-key:{S1}\nkey:\n  - id: org1-key\n    algorithm: hmac-sha256\n    secret: {S1}\n"),
            format!("key:\n  - id: \"org1-key\"   # quoted\n    secret: '{S1}'\n    algorithm: hmac-sha256\n"),
            format!("server:\n    listen: 127.0.0.1@53\nkey:\n  - id: org1-key\n    algorithm: hmac-sha256\n    secret: {S1}\nzone:\n  - domain: x\n"),
            format!("Create new TSIG key org1-key hmac-sha256 {S1}\n"),
            format!("org1-key. hmac-sha256. {S1}\n"),
            format!("hmac-sha256:org1-key:{S1}\n"),
            format!("org1-key:{S1}"),
            format!("// include\nkey org1-key {{ algorithm hmac-sha256; secret \"{S1}\"; }};"),
        ];
        for f in &forms {
            assert_eq!(p(f).unwrap(), bind, "{f}");
        }
    }

    #[test]
    fn several_keys_are_chosen_by_name() {
        let text = format!(
            "key \"a\" {{ algorithm hmac-sha256; secret \"{S1}\"; }};\n\
             key \"b\" {{ algorithm hmac-sha512; secret \"AAAA\"; }};\n"
        );
        let e = named(&text, None).unwrap_err();
        assert!(
            matches!(&e, TsigError::Ambiguous { names, .. } if names == &["a", "b"]),
            "{e}"
        );
        assert!(e.to_string().contains("holds 2 keys (a, b)"), "{e}");
        assert_eq!(
            named(&text, Some("B.")).unwrap().algorithm,
            TsigAlgorithm::HmacSha512
        );
        let e = named(&text, Some("c")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TSIG key file k.key holds no key 'c' (it holds: a, b)"
        );
        let list = format!("a. hmac-sha256. {S1}\nb. hmac-sha384. {S1}\n");
        assert_eq!(
            named(&list, Some("b")).unwrap().algorithm,
            TsigAlgorithm::HmacSha384
        );
        let knot = format!(
            "key:\n  - id: a\n    algorithm: hmac-sha256\n    secret: {S1}\n  - id: b\n    algorithm: hmac-sha384\n    secret: {S1}\n"
        );
        assert_eq!(
            named(&knot, Some("b")).unwrap().algorithm,
            TsigAlgorithm::HmacSha384
        );
        assert!(matches!(
            named(&knot, None),
            Err(TsigError::Ambiguous { .. })
        ));
    }

    #[test]
    fn malformed_files_name_the_line_and_what_was_expected() {
        let cases = [
            (
                "key:\n    algorithm: hmac-sha256\n",
                "line 2: expected '- id: NAME' starting a key",
            ),
            (
                "key:\n  - id: a\n    algorithm: hmac-sha256\n    colour: red\n",
                "line 4: unknown field 'colour'",
            ),
            (
                "key:\n  - id: a\n    algorithm: hmac-sha256\n",
                "line 2: key 'a': no secret",
            ),
            (
                "key:\n  - id: a\n    algorithm: hmac-md5\n    secret: AAAA\n",
                "line 3: algorithm: 'hmac-md5'",
            ),
            (
                "key:\n  - id: a\n    algorithm: hmac-sha256\n    secret: ***\n",
                "line 4: secret: not base64",
            ),
            ("server:\n  listen: x\n", "line 1: no 'key:' section"),
            (
                "Create new TSIG key a hmac-sha256\n",
                "line 1: expected 'Create new TSIG key NAME ALGORITHM SECRET'",
            ),
            (
                "a. hmac-sha256. AAAA\nb. hmac-sha256.\n",
                "line 2: expected 'NAME. ALGORITHM. SECRET'",
            ),
            (
                "x. hmac-md5. AAAA\n",
                "line 1: algorithm: 'hmac-md5.' is not supported",
            ),
            ("hmac-sha256:a:AAAA:extra\n", "line 1: expected a BIND"),
            ("a:b:c:d", "line 1: expected a BIND"),
            ("\n\n# only a comment\n", "line 1: no key in the file"),
            (
                "key \"a\" { algorithm hmac-sha256; secret \"AAAA\"; };\nzone \"x\" { };",
                "line 2: expected 'key'",
            ),
            ("bad name!:AAAA", "line 1: expected a BIND"),
            ("a..b:AAAA", "line 1: key name 'a..b'"),
        ];
        for (text, want) in cases {
            let e = p(text).unwrap_err().to_string();
            assert!(e.starts_with("bad TSIG key file (k.key: "), "{text:?}: {e}");
            assert!(e.contains(want), "{text:?}: {e}");
        }
        // No part of a secret appears in an error.
        let e = p("key:\n  - id: a\n    algorithm: hmac-md5\n    secret: c2VjcmV0c2VjcmV0\n")
            .unwrap_err();
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
        let e = p("org1-key. hmac-sha256. c2VjcmV0!!\n").unwrap_err();
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
    }
}
