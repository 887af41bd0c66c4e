//! Fuzz DNS answers through validation: arbitrary bytes are parsed as a DNS message (as the
//! resolver parses what a server sends), then every check the chain of trust makes runs over
//! its records against fixed signed zones (`fuzz/common/zone.rs`): RRSIG checks of each RRset,
//! DNSKEY sets against DS and anchors, denial of existence, wildcard expansions, and the
//! referral a resolution step would follow. Nothing may panic, and the referral must point
//! below the zone asked and at or above the name.
//! Run: `cargo +nightly fuzz run dns_message`.
#![no_main]

use std::sync::OnceLock;

use dnsceremony::dns::resolve::referral_view;
use dnsceremony::dns::validate::{
    as_dnskey, as_ds, as_rrsig, check_denial, check_dnskeys, check_wildcard_expansion, rrset,
    sigs_for, verify_rrset, KeySetCheck,
};
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "../common/zone.rs"]
mod zone;

/// The fixed zones: apex, key, DS at the parent.
struct Fixed {
    zones: Vec<(Name, DNSKEY, DS)>,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| Fixed {
        zones: (0..zone::ZONES.len())
            .map(|i| (zone::zone(i), zone::dnskey(i), zone::ds(i)))
            .collect(),
    })
}

/// The deepest fixed zone at or above `name` (the root at least).
fn closest_zone(name: &Name) -> Name {
    fixed()
        .zones
        .iter()
        .map(|(z, _, _)| z)
        .filter(|z| z.zone_of(name))
        .max_by_key(|z| z.num_labels())
        .cloned()
        .unwrap_or_else(Name::root)
}

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::from_vec(data) else {
        return;
    };
    let (qname, qtype) = msg
        .queries
        .first()
        .map(|q| (q.name().clone(), q.query_type()))
        .unwrap_or_else(|| (Name::root(), RecordType::A));
    let all: Vec<Record> = msg
        .answers
        .iter()
        .chain(&msg.authorities)
        .chain(&msg.additionals)
        .cloned()
        .collect();
    // The zone's keys: the fixed one plus any DNSKEY the message carries at the apex.
    let keys_of = |zone: &Name| -> Vec<DNSKEY> {
        let mut keys: Vec<DNSKEY> = fixed()
            .zones
            .iter()
            .filter(|(z, _, _)| z == zone)
            .map(|(_, k, _)| k.clone())
            .collect();
        keys.extend(
            all.iter()
                .filter(|r| &r.name == zone)
                .filter_map(as_dnskey)
                .cloned(),
        );
        keys
    };
    let denial: Vec<Record> = msg
        .authorities
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
        .cloned()
        .collect();

    // Every RRset against the zone that claims to have signed it.
    let mut seen: Vec<(Name, RecordType)> = Vec::new();
    for r in &all {
        let t = r.record_type();
        if t == RecordType::RRSIG || seen.iter().any(|(n, tt)| n == &r.name && *tt == t) {
            continue;
        }
        seen.push((r.name.clone(), t));
        let set = rrset(&all, &r.name, t);
        if set.is_empty() {
            continue;
        }
        let sigs = sigs_for(&all, &r.name, t);
        let zone = sigs
            .iter()
            .find_map(as_rrsig)
            .map(|s| s.input().signer_name.clone())
            .unwrap_or_else(|| closest_zone(&r.name));
        let keys = keys_of(&zone);
        let key_refs: Vec<&DNSKEY> = keys.iter().collect();
        match verify_rrset(&set, &sigs, &zone, &key_refs, zone::NOW) {
            Ok(v) => {
                if let Some(encloser) = v.wildcard_parent {
                    assert!(encloser.zone_of(&r.name));
                    let _ = check_wildcard_expansion(&r.name, &encloser, &zone, &denial);
                }
            }
            Err(why) => {
                let _ = why.to_string();
            }
        }
        if t == RecordType::DNSKEY {
            let mut ds_set: Vec<DS> = fixed()
                .zones
                .iter()
                .filter(|(z, _, _)| z == &zone)
                .map(|(_, _, d)| d.clone())
                .collect();
            ds_set.extend(
                all.iter()
                    .filter(|d| d.name == zone)
                    .filter_map(as_ds)
                    .cloned(),
            );
            let parent = zone.base_name();
            let anchor = keys_of(&zone);
            for check in [
                check_dnskeys(
                    &zone,
                    Some(&parent),
                    &ds_set,
                    &[],
                    vec![],
                    &set,
                    &sigs,
                    zone::NOW,
                ),
                check_dnskeys(&zone, None, &[], &anchor, vec![], &set, &sigs, zone::NOW),
            ] {
                match check {
                    KeySetCheck::Secure(chain) => {
                        assert!(!chain.entry_tags.is_empty());
                    }
                    KeySetCheck::Bogus(why) => {
                        let _ = why.to_string();
                    }
                    KeySetCheck::Unsupported { .. } => {}
                }
            }
        }
    }

    // Denial of existence for the question, in every zone that could answer it.
    let nxdomain = msg.metadata.response_code == ResponseCode::NXDomain;
    let mut zones: Vec<Name> = fixed()
        .zones
        .iter()
        .map(|(z, _, _)| z.clone())
        .filter(|z| z.zone_of(&qname))
        .collect();
    if let Some(soa) = msg
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
    {
        zones.push(soa.name.clone());
    }
    for zone in &zones {
        if let Err(why) = check_denial(&qname, qtype, zone, nxdomain, &denial) {
            let _ = why.to_string();
        }
    }

    // The referral a resolution step would follow from each zone.
    for zone in &zones {
        if let Some(r) = referral_view(&msg, zone, &qname, qtype) {
            assert!(&r.child != zone && zone.zone_of(&r.child) && r.child.zone_of(&qname));
            if let Some(from) = &r.from {
                assert!(zone.zone_of(from) && from.zone_of(&r.child) && from != &r.child);
            }
        }
    }
});
