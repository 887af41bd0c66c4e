//! BIND's own validator, `delv`, as an oracle: what it concludes about one name and type.
//!
//! `delv` (BIND 9.18) does not iterate: it sends every query it needs (the data, then the
//! DNSKEY and DS RRsets up to the anchor) to one server, with the CD bit set, and validates
//! the answers itself (RFC 4035 section 5). Point it at a recursive server, e.g. a lab
//! hierarchy's `resolver` (which need not validate), with the anchor file in `trust-anchors`
//! syntax (`AnchorFiles::delv`) and `+root=.`.
//!
//! # Limitations
//! Classifies `delv`'s summary lines only (`; fully validated`, `; unsigned answer`,
//! `; negative response, ...`, `;; resolution failed: ...`); the records are not parsed.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

/// What `delv` concluded about one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelvVerdict {
    /// `; fully validated`: the answer is secure.
    Secure,
    /// `; negative response, fully validated`: the name or type provably does not exist.
    SecureNegative,
    /// `; unsigned answer` (or an unsigned negative response): an insecure delegation.
    Insecure,
    /// `;; resolution failed: <why>`: bogus data or an unreachable server.
    Failed(String),
}

impl DelvVerdict {
    /// Whether this is [`DelvVerdict::Failed`].
    pub fn is_failed(&self) -> bool {
        matches!(self, DelvVerdict::Failed(_))
    }
}

/// Run `delv @server -a anchor +root=. name rtype` and classify what it printed.
pub fn delv(
    server: Ipv4Addr,
    anchor: &Path,
    name: &str,
    rtype: &str,
) -> Result<DelvVerdict, std::io::Error> {
    let out = Command::new("delv")
        .arg(format!("@{server}"))
        .arg("-a")
        .arg(anchor)
        .args(["+root=.", "+nosplit"])
        .args([name, rtype])
        .stdin(Stdio::null())
        .output()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(classify(&text))
}

/// Classify `delv`'s combined output.
pub fn classify(text: &str) -> DelvVerdict {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    if lines.contains(&"; negative response, fully validated") {
        return DelvVerdict::SecureNegative;
    }
    if lines.contains(&"; fully validated") {
        return DelvVerdict::Secure;
    }
    if lines
        .iter()
        .any(|l| *l == "; unsigned answer" || *l == "; negative response, unsigned answer")
    {
        return DelvVerdict::Insecure;
    }
    let why = lines
        .iter()
        .find_map(|l| l.strip_prefix(";; resolution failed: "))
        .unwrap_or("no verdict printed");
    DelvVerdict::Failed(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_are_classified() {
        assert_eq!(
            classify("; fully validated\nx. A 1.2.3.4\n"),
            DelvVerdict::Secure
        );
        assert_eq!(
            classify(
                ";; resolution failed: ncache nxdomain\n; negative response, fully validated\n"
            ),
            DelvVerdict::SecureNegative
        );
        assert_eq!(classify("; unsigned answer\n"), DelvVerdict::Insecure);
        assert_eq!(
            classify(";; resolution failed: RRSIG has expired\n"),
            DelvVerdict::Failed("RRSIG has expired".into())
        );
    }
}
