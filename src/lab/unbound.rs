//! Unbound's validator, through `unbound-host`, as a second oracle beside `delv`: what it
//! concludes about one name and type.
//!
//! `unbound-host` runs Unbound's resolver and validator (libunbound) for one question. Two ways
//! to reach the lab: forwarding every query to a recursive server (e.g. a lab hierarchy's
//! `resolver`, which need not validate: Unbound fetches and checks the DNSKEY and DS RRsets
//! itself), or iterating from the lab's root server through a root hints file. The trust
//! anchor is a zone-file DS or DNSKEY file (`AnchorFiles::ds` or `::dnskey`).
//!
//! # Limitations
//! Classifies the security note `unbound-host -v` prints after each line (`(secure)`,
//! `(insecure)`, `(BOGUS ...)`) and its error lines; the records are not parsed. Needs Debian's
//! `unbound-host` on `PATH`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::hierarchy::ROOT_NS;

/// What `unbound-host` concluded about one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnboundVerdict {
    /// Data (or a proven denial) that validated from the anchor.
    Secure,
    /// Below a provably unsigned delegation.
    Insecure,
    /// `(BOGUS ...)`, a server failure or no answer: the reason as printed.
    Failed(String),
}

impl UnboundVerdict {
    /// Whether this is [`UnboundVerdict::Failed`].
    pub fn is_failed(&self) -> bool {
        matches!(self, UnboundVerdict::Failed(_))
    }
}

/// How `unbound-host` reaches the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnboundMode {
    /// Every query forwarded to this recursive server.
    Forward(Ipv4Addr),
    /// Iteration from this root server (`ns.lab-root.`).
    Iterate(Ipv4Addr),
}

/// Write the `unbound.conf` (and, to iterate, the root hints) for `mode` into `dir`; returns
/// the configuration file's path.
pub fn config(dir: &Path, mode: UnboundMode) -> Result<PathBuf, std::io::Error> {
    std::fs::create_dir_all(dir)?;
    // Lab servers live on 127.x.y.z: Unbound must be allowed to ask them.
    let mut conf = String::from(
        "server:\n    do-not-query-localhost: no\n    username: \"\"\n    chroot: \"\"\n    use-syslog: no\n    verbosity: 0\n    val-log-level: 2\n    qname-minimisation: no\n    target-fetch-policy: \"0 0 0 0 0\"\n",
    );
    match mode {
        UnboundMode::Forward(server) => {
            conf.push_str(&format!(
                "forward-zone:\n    name: \".\"\n    forward-addr: {server}\n"
            ));
        }
        UnboundMode::Iterate(root) => {
            let hints = dir.join("root.hints");
            std::fs::write(
                &hints,
                format!(". 3600000 IN NS {ROOT_NS}\n{ROOT_NS} 3600000 IN A {root}\n"),
            )?;
            conf.push_str(&format!("    root-hints: \"{}\"\n", hints.display()));
        }
    }
    let path = dir.join(match mode {
        UnboundMode::Forward(_) => "unbound-forward.conf",
        UnboundMode::Iterate(_) => "unbound-iterate.conf",
    });
    std::fs::write(&path, conf)?;
    Ok(path)
}

/// Run `unbound-host -v -C config -f anchor -t rtype name` and classify what it printed.
pub fn unbound_host(
    config: &Path,
    anchor: &Path,
    name: &str,
    rtype: &str,
) -> Result<UnboundVerdict, std::io::Error> {
    let out = Command::new("unbound-host")
        .arg("-v")
        .arg("-C")
        .arg(config)
        .arg("-f")
        .arg(anchor)
        .args(["-t", rtype, name])
        .stdin(Stdio::null())
        .output()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(classify(&text))
}

/// Classify `unbound-host -v`'s combined output: any BOGUS line or error fails the query,
/// else any insecure line makes it insecure, else secure lines make it secure.
pub fn classify(text: &str) -> UnboundVerdict {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(l) = lines.iter().find(|l| l.contains("(BOGUS")) {
        let why = lines
            .iter()
            .find_map(|l| l.strip_prefix("validation failure "))
            .unwrap_or(l);
        return UnboundVerdict::Failed(why.to_string());
    }
    if let Some(l) = lines
        .iter()
        .find(|l| l.contains("SERVFAIL") || l.starts_with("error") || l.contains("resolve error"))
    {
        return UnboundVerdict::Failed((*l).to_string());
    }
    if lines.iter().any(|l| l.ends_with("(insecure)")) {
        return UnboundVerdict::Insecure;
    }
    if !lines.is_empty() && lines.iter().all(|l| l.ends_with("(secure)")) {
        return UnboundVerdict::Secure;
    }
    UnboundVerdict::Failed(format!("no verdict printed: {}", lines.join(" | ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_notes_are_classified() {
        assert_eq!(
            classify("validator.a.com. has address 192.0.2.1 (secure)\n"),
            UnboundVerdict::Secure
        );
        assert_eq!(
            classify("validator.a.com. has no AAAA record (secure)\n"),
            UnboundVerdict::Secure
        );
        assert_eq!(
            classify("Host x.a.com. not found: 3(NXDOMAIN). (secure)\n"),
            UnboundVerdict::Secure
        );
        assert_eq!(
            classify("validator.b.com. has address 192.0.2.2 (insecure)\n"),
            UnboundVerdict::Insecure
        );
        assert_eq!(
            classify("validator.c.com. has no AAAA record (BOGUS (security failure))\nvalidation failure <validator.c.com. AAAA IN>: no NSEC records\n"),
            UnboundVerdict::Failed("<validator.c.com. AAAA IN>: no NSEC records".into())
        );
        assert!(classify("").is_failed());
    }
}
