//! # dnsceremony
//!
//! Independent organisations start a private Autonity network with nothing shared but DNS.
//! Each organisation publishes its validator's identity in its own DNSSEC-signed zone
//! (RFC 2136 dynamic update with TSIG); every validator reads all the others' records,
//! validates them itself along the whole chain of trust, builds the same genesis, starts its
//! node and confirms on chain that the network came up as agreed.
//!
//! The library never prints and never exits; the `dnsceremony` binary is a thin layer over it.
//! See `ARCHITECTURE.md` for the rooms and the flow of data.

pub mod atomic;
pub mod audit;
pub mod ceremony;
pub mod clock;
pub mod dns;
pub mod error;
pub mod exit;
pub mod genesis;
pub mod hexfmt;
pub mod identity;
pub mod lab;
pub mod localfile;
pub mod manifest;
pub mod node;
pub mod records;
pub mod rpc;
pub mod standin;
pub mod verify;

pub use error::Error;
