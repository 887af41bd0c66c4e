//! The DNS flags shared by every subcommand that reads peers' records (`verify`, `wait`,
//! `genesis`, `run`, `audit`): flatten [`DnsArgs`] into a subcommand's Args. Flags override
//! the manifest's `[dns]` values.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use dnsceremony::dns::anchor::TrustAnchors;
use dnsceremony::dns::resolve::root_hints;
use dnsceremony::manifest::Manifest;
use dnsceremony::verify::{Source, VerifyOptions};
use dnsceremony::Error;

/// How to reach DNS and what to trust.
#[derive(Debug, Clone, Args)]
pub struct DnsArgs {
    /// Trust anchor file: DNSKEY or DS lines in zone-file format, or BIND trust-anchors blocks (default: manifest [dns] anchor, else the IANA root keys).
    #[arg(long, value_name = "FILE")]
    pub anchor: Option<PathBuf>,
    /// Iterate from this root server, ADDR[:PORT] (repeatable; default: manifest [dns] roots, else the IANA root servers).
    #[arg(long = "root", value_name = "ADDR", value_parser = parse_addr)]
    pub roots: Vec<SocketAddr>,
    /// Fetch through this resolver, ADDR[:PORT], asked with DO+CD (the tool validates everything itself).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr, conflicts_with = "roots")]
    pub resolver: Option<SocketAddr>,
    /// Timeout of one query attempt, e.g. 2s, 500ms.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = super::check::parse_duration)]
    pub query_timeout: Duration,
    /// Most DNS queries in flight at once.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
}

/// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address; port 53 when not given.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "{s:?} is not an IP address with an optional port (e.g. 192.0.2.53 or 192.0.2.53:5353)"
    ))
}

impl DnsArgs {
    /// The run's options: flags first, then the manifest's `[dns]`, then the built-in defaults.
    pub fn options(&self, manifest: &Manifest) -> Result<VerifyOptions, Error> {
        let anchors = match self.anchor.as_ref().or(manifest.dns.anchor.as_ref()) {
            Some(path) => TrustAnchors::from_file(path)?,
            None => TrustAnchors::iana_root(),
        };
        let source = if let Some(r) = self.resolver {
            Source::Resolver(r)
        } else if !self.roots.is_empty() {
            Source::Iterative {
                roots: self.roots.clone(),
            }
        } else if let Some(r) = manifest.dns.resolver {
            Source::Resolver(r)
        } else if !manifest.dns.roots.is_empty() {
            Source::Iterative {
                roots: manifest.dns.roots.clone(),
            }
        } else {
            Source::Iterative {
                roots: root_hints(),
            }
        };
        Ok(VerifyOptions {
            anchors,
            source,
            timeout: self.query_timeout,
            concurrency: usize::from(self.concurrency),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_port_53() {
        assert_eq!(parse_addr("192.0.2.1").unwrap().to_string(), "192.0.2.1:53");
        assert_eq!(
            parse_addr("192.0.2.1:5353").unwrap().to_string(),
            "192.0.2.1:5353"
        );
        assert_eq!(
            parse_addr("2001:db8::1").unwrap().to_string(),
            "[2001:db8::1]:53"
        );
        assert!(parse_addr("ns.example").is_err());
    }
}
