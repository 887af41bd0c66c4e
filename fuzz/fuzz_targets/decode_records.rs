//! Fuzz the record decoder: arbitrary bytes become the records of one host; decoding must
//! return a value or an error, never panic. Run: `cargo +nightly fuzz run decode_records`.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use dnsceremony::manifest::{CeremonyId, Profile};
use dnsceremony::records::{self, Attestation, FetchedRecords};
use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;

/// Split `data` on `sep` into at most `max` parts.
fn parts(data: &[u8], sep: u8, max: usize) -> Vec<Vec<u8>> {
    data.split(|b| *b == sep)
        .take(max)
        .map(<[u8]>::to_vec)
        .collect()
}

/// One section becomes a list of TXT records (0xFD between records, 0xFE between strings).
fn txts(section: &[u8]) -> Vec<Vec<Vec<u8>>> {
    if section.is_empty() {
        return Vec::new();
    }
    parts(section, 0xFD, 4)
        .iter()
        .map(|r| parts(r, 0xFE, 8))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let sections = parts(rest, 0xFF, 6);
    let get = |i: usize| sections.get(i).cloned().unwrap_or_default();
    let fetched = FetchedRecords {
        a: get(0)
            .chunks_exact(4)
            .take(3)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
            .collect(),
        aaaa: (ctl & 4 != 0)
            .then(|| Ipv6Addr::LOCALHOST)
            .into_iter()
            .collect(),
        key_txt: txts(&get(1)),
        port_txt: txts(&get(2)),
        autonity_txt: txts(&get(3)),
        host_txt: txts(&get(4)),
    };
    let host = Name::from_ascii("validator1.ogr1.com.").unwrap();
    let profile = if ctl & 1 == 0 {
        Profile::V1
    } else {
        Profile::V07
    };
    let ceremony = CeremonyId([ctl; 32]);
    let _ = records::decode(&host, &fetched, profile, &ceremony);
    let _ = Attestation::parse_txt(&String::from_utf8_lossy(&get(3)), "fuzz");
    if let Ok(key) = dnsceremony::identity::EnodeKey::from_hex(
        "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
    ) {
        let _ = records::decode_genesis_hash(&host, &txts(&get(5)), &ceremony, &key);
    }
});
