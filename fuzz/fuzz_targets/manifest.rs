//! Fuzz the ceremony manifest: arbitrary text is parsed and checked as a manifest (TOML, every
//! field and the optional operator signature). The result is a manifest or a one-line error,
//! never a panic; an accepted manifest has a canonical form and a ceremony id.
//! Run: `cargo +nightly fuzz run manifest`.
#![no_main]

use std::path::Path;

use dnsceremony::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

/// Whether the input names a genesis template the fuzzer must not read: `genesis.template` is
/// read from disk at load, so only names relative to the (missing) manifest directory are kept.
fn reads_outside(text: &str) -> bool {
    let Ok(root) = text.parse::<toml::Table>() else {
        return false;
    };
    match root.get("genesis").and_then(|g| g.get("template")) {
        Some(toml::Value::String(s)) => s.starts_with('/') || s.contains(".."),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if reads_outside(&text) {
        return;
    }
    match Manifest::parse(
        &text,
        Path::new("/nonexistent-dnsceremony-fuzz/manifest.toml"),
    ) {
        Ok(m) => {
            assert!(!m.orgs.is_empty());
            let canonical = m.canonical();
            assert!(!canonical.contains('\n'));
            let _ = m.ceremony_id();
            let _ = m.signing_hash();
            for org in &m.orgs {
                assert!(m.org(&org.name).is_some());
            }
        }
        Err(e) => {
            let line = e.to_string();
            assert!(!line.contains('\n'), "a multi-line error: {line:?}");
        }
    }
});
