//! Fuzz trust anchor files (`--anchor`): arbitrary text is read as zone-file DNSKEY/DS lines or
//! BIND `trust-anchors` / `managed-keys` / `trusted-keys` blocks. Parsing must return anchors
//! or a one-line error, never panic; every anchor read must be found again by its zone.
//! Run: `cargo +nightly fuzz run anchor`.
#![no_main]

use std::path::Path;

use dnsceremony::dns::anchor::TrustAnchors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match TrustAnchors::parse(&text, Path::new("fuzz.anchor")) {
        Ok(anchors) => {
            assert!(!anchors.anchors.is_empty());
            for a in &anchors.anchors {
                let owner = a.owner();
                assert_eq!(anchors.closest(owner), Some(owner));
                assert!(anchors.for_zone(owner).any(|b| b == a));
            }
        }
        Err(e) => {
            let line = e.to_string();
            assert!(!line.contains('\n'), "a multi-line error: {line:?}");
        }
    }
});
