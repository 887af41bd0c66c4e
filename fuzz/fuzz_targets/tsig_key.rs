//! Fuzz TSIG key files (`--tsig-key`) in every form the reader takes (BIND `key` blocks, Knot
//! `keymgr` YAML, PowerDNS `pdnsutil` lines, `[alg:]name:secret`): parsing, with or without a
//! key name to choose, must return a key or a one-line error, never panic; a parsed key gives a
//! signer, and its debug form never shows the secret.
//! Run: `cargo +nightly fuzz run tsig_key`.
#![no_main]

use std::path::Path;

use dnsceremony::dns::tsig::{TsigError, TsigKey};
use libfuzzer_sys::fuzz_target;

fn check(result: Result<TsigKey, TsigError>) {
    match result {
        Ok(key) => {
            let _ = key.signer();
            assert!(key.algorithm_name().starts_with("hmac-sha"));
            assert!(format!("{key:?}").contains("<redacted>"));
        }
        Err(e) => {
            let line = e.to_string();
            assert!(!line.contains('\n'), "a multi-line error: {line:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.key");
    check(TsigKey::parse(&text, path));
    check(TsigKey::parse_named(&text, path, Some("org1-key")));
});
