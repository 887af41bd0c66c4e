//! Everything that speaks DNS: updates (RFC 2136 + TSIG), resolution and DNSSEC validation.

use hickory_proto::rr::{Name, RData, RecordType};

/// One RRset as the tool wants it to be served: owner, type, TTL and the record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RRset {
    /// Owner name, fully qualified.
    pub name: Name,
    /// Record type (A, AAAA, TXT, ...).
    pub rtype: RecordType,
    /// TTL in seconds.
    pub ttl: u32,
    /// The records' data, in a canonical order (sorted by wire form) so sets compare equal.
    pub rdata: Vec<RData>,
}

/// A name as people write it: without the trailing dot (the root stays `.`).
pub fn dotless(n: &Name) -> String {
    let s = n.to_ascii();
    match s.strip_suffix('.') {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

pub mod anchor;
mod bindconf;
pub mod query;
pub mod resolve;
pub mod tsig;
pub mod update;
pub mod validate;
