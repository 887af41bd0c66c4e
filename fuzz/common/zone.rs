//! The fixed zones and keys the `dns_message` target validates against, and that the seed
//! generator (`fuzz/seedgen`) signs with: one Ed25519 key (flags 257, signing everything) per
//! zone, derived from a fixed seed, and signatures valid around a fixed clock [`NOW`], so the
//! committed seeds stay valid whatever the date.
#![allow(dead_code)]

use hickory_proto::dnssec::crypto::Ed25519SigningKey;
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::Name;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// The clock the target validates at: 2026-01-01T00:00:00Z.
pub const NOW: u32 = 1_767_225_600;
/// Inception of every seed signature.
pub const INCEPTION: u32 = NOW - 86_400;
/// Expiration of every seed signature.
pub const EXPIRATION: u32 = NOW + 30 * 86_400;
/// The signed zones, parents first.
pub const ZONES: [&str; 3] = [".", "com.", "ogr1.com."];

fn pair(i: usize) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[i as u8 + 1; 32]).expect("a 32-byte seed")
}

/// The apex of zone `i`.
pub fn zone(i: usize) -> Name {
    Name::from_ascii(ZONES[i]).expect("a valid zone name")
}

/// The private key of zone `i` (seed generator only).
pub fn signing_key(i: usize) -> Ed25519SigningKey {
    Ed25519SigningKey::from_ed25519(pair(i))
}

/// The DNSKEY of zone `i`.
pub fn dnskey(i: usize) -> DNSKEY {
    let public = pair(i).public_key().as_ref().to_vec();
    DNSKEY::new(
        true,
        true,
        false,
        PublicKeyBuf::new(public, Algorithm::ED25519),
    )
}

/// The DS of zone `i` (SHA-256), as its parent publishes it.
pub fn ds(i: usize) -> DS {
    let key = dnskey(i);
    let digest = key
        .to_digest(&zone(i), DigestType::SHA256)
        .expect("SHA-256 is supported");
    DS::new(
        key.calculate_key_tag().expect("a key tag"),
        Algorithm::ED25519,
        DigestType::SHA256,
        digest.as_ref().to_vec(),
    )
}
