//! Writes the seed corpus of the `dns_message` fuzz target: DNS answers as the tool meets them
//! (positive answers, a DNSKEY set, a DS set, a wildcard expansion, NXDOMAIN and NODATA proven
//! by NSEC and by NSEC3, signed and unsigned referrals with glue), signed with the fixed keys of
//! `fuzz/common/zone.rs` so that the target's checks succeed on them before mutation.
//! Usage: `cargo run --manifest-path fuzz/seedgen/Cargo.toml -- fuzz/corpus/dns_message`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use hickory_proto::dnssec::rdata::{DNSSECRData, SigInput, NSEC, NSEC3, RRSIG};
use hickory_proto::dnssec::{Algorithm, Nsec3HashAlgorithm, SigningKey, TBS};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

#[path = "../../common/zone.rs"]
mod zone;

const ROOT: usize = 0;
const COM: usize = 1;
const OGR1: usize = 2;

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("a valid name")
}

fn rec(owner: &str, data: RData) -> Record {
    Record::from_rdata(name(owner), 3600, data)
}

/// The RRSIG of zone `z` over `set` (all of one owner and type); `labels` below the owner's
/// count makes a wildcard expansion.
fn sign_labels(z: usize, set: &[Record], labels: Option<u8>) -> Record {
    let first = &set[0];
    let input = SigInput {
        type_covered: first.record_type(),
        algorithm: Algorithm::ED25519,
        num_labels: labels.unwrap_or(first.name.num_labels()),
        original_ttl: first.ttl,
        sig_expiration: zone::EXPIRATION.into(),
        sig_inception: zone::INCEPTION.into(),
        key_tag: zone::dnskey(z).calculate_key_tag().expect("a key tag"),
        signer_name: zone::zone(z),
    };
    let tbs = TBS::from_input(&first.name, DNSClass::IN, &input, set.iter()).expect("tbs");
    let sig = zone::signing_key(z).sign(&tbs).expect("signature");
    Record::from_rdata(
        first.name.clone(),
        first.ttl,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, sig))),
    )
}

/// The set followed by its RRSIG by zone `z`.
fn signed(z: usize, set: Vec<Record>) -> Vec<Record> {
    let sig = sign_labels(z, &set, None);
    let mut out = set;
    out.push(sig);
    out
}

fn soa(z: usize) -> Vec<Record> {
    let apex = zone::ZONES[z];
    let ns = format!("ns1.{apex}");
    let mbox = format!("hostmaster.{apex}");
    signed(
        z,
        vec![rec(
            apex,
            RData::SOA(SOA::new(
                name(&ns),
                name(&mbox),
                2026010101,
                3600,
                600,
                86400,
                300,
            )),
        )],
    )
}

fn response(qname: &str, qtype: RecordType, rcode: ResponseCode, aa: bool) -> Message {
    let mut m = Message::new(0x5eed, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(name(qname), qtype));
    m.metadata.response_code = rcode;
    m.metadata.authoritative = aa;
    m
}

fn nsec(owner: &str, next: &str, types: &[RecordType]) -> Record {
    rec(
        owner,
        RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(name(next), types.to_vec()))),
    )
}

fn base32hex(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

const SALT: [u8; 2] = [0xab, 0xcd];
const ITERATIONS: u16 = 1;

fn nsec3_hash(n: &str) -> Vec<u8> {
    Nsec3HashAlgorithm::SHA1
        .hash(&SALT, &name(n), ITERATIONS)
        .expect("hash")
        .as_ref()
        .to_vec()
}

/// The NSEC3 chain of ogr1.com (apex and validator1), each record signed.
fn nsec3_chain() -> Vec<Record> {
    let apex_types = [
        RecordType::SOA,
        RecordType::NS,
        RecordType::DNSKEY,
        RecordType::RRSIG,
        RecordType::NSEC3PARAM,
    ];
    let host_types = [RecordType::A, RecordType::TXT, RecordType::RRSIG];
    let mut names = vec![
        (nsec3_hash("ogr1.com."), &apex_types[..]),
        (nsec3_hash("validator1.ogr1.com."), &host_types[..]),
    ];
    names.sort();
    let mut out = Vec::new();
    for i in 0..names.len() {
        let (hash, types) = &names[i];
        let next = names[(i + 1) % names.len()].0.clone();
        let owner = format!("{}.ogr1.com.", base32hex(hash));
        let r = rec(
            &owner,
            RData::DNSSEC(DNSSECRData::NSEC3(NSEC3::new(
                Nsec3HashAlgorithm::SHA1,
                false,
                ITERATIONS,
                SALT.to_vec(),
                next,
                types.to_vec(),
            ))),
        );
        out.extend(signed(OGR1, vec![r]));
    }
    out
}

fn dnskey_set(z: usize) -> Vec<Record> {
    signed(
        z,
        vec![rec(
            zone::ZONES[z],
            RData::DNSSEC(DNSSECRData::DNSKEY(zone::dnskey(z))),
        )],
    )
}

fn seeds() -> Vec<(&'static str, Message)> {
    let mut out = Vec::new();

    for (file, z) in [
        ("dnskey-root", ROOT),
        ("dnskey-com", COM),
        ("dnskey-ogr1", OGR1),
    ] {
        let mut m = response(
            zone::ZONES[z],
            RecordType::DNSKEY,
            ResponseCode::NoError,
            true,
        );
        m.add_answers(dnskey_set(z));
        out.push((file, m));
    }

    let mut m = response("ogr1.com.", RecordType::DS, ResponseCode::NoError, true);
    m.add_answers(signed(
        COM,
        vec![rec(
            "ogr1.com.",
            RData::DNSSEC(DNSSECRData::DS(zone::ds(OGR1))),
        )],
    ));
    out.push(("ds-ogr1", m));

    let mut m = response(
        "validator1.ogr1.com.",
        RecordType::A,
        ResponseCode::NoError,
        true,
    );
    m.add_answers(signed(
        OGR1,
        vec![rec(
            "validator1.ogr1.com.",
            RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
        )],
    ));
    out.push(("a-validator1", m));

    let mut m = response(
        "validator1.ogr1.com.",
        RecordType::TXT,
        ResponseCode::NoError,
        true,
    );
    m.add_answers(signed(
        OGR1,
        vec![
            rec(
                "validator1.ogr1.com.",
                RData::TXT(TXT::new(vec!["dnsceremony=1 org=org1".into()])),
            ),
            rec(
                "validator1.ogr1.com.",
                RData::TXT(TXT::new(vec!["port=30303".into(), "p2p".into()])),
            ),
        ],
    ));
    out.push(("txt-validator1", m));

    // A wildcard expansion: x.wild.ogr1.com from *.wild.ogr1.com, with the NSEC proving that
    // x.wild.ogr1.com itself does not exist.
    let mut m = response(
        "x.wild.ogr1.com.",
        RecordType::TXT,
        ResponseCode::NoError,
        true,
    );
    let set = vec![rec(
        "x.wild.ogr1.com.",
        RData::TXT(TXT::new(vec!["from the wildcard".into()])),
    )];
    let sig = sign_labels(OGR1, &set, Some(3));
    m.add_answers(set);
    m.add_answer(sig);
    m.add_authorities(signed(
        OGR1,
        vec![nsec(
            "*.wild.ogr1.com.",
            "ogr1.com.",
            &[RecordType::TXT, RecordType::RRSIG, RecordType::NSEC],
        )],
    ));
    out.push(("wildcard-nsec", m));

    // NXDOMAIN by NSEC: nope.ogr1.com and *.ogr1.com lie between the apex and validator1.
    let mut m = response(
        "nope.ogr1.com.",
        RecordType::A,
        ResponseCode::NXDomain,
        true,
    );
    m.add_authorities(soa(OGR1));
    m.add_authorities(signed(
        OGR1,
        vec![nsec(
            "ogr1.com.",
            "validator1.ogr1.com.",
            &[
                RecordType::SOA,
                RecordType::NS,
                RecordType::DNSKEY,
                RecordType::RRSIG,
                RecordType::NSEC,
            ],
        )],
    ));
    out.push(("nxdomain-nsec", m));

    // NODATA by NSEC: validator1 has no AAAA.
    let mut m = response(
        "validator1.ogr1.com.",
        RecordType::AAAA,
        ResponseCode::NoError,
        true,
    );
    m.add_authorities(soa(OGR1));
    m.add_authorities(signed(
        OGR1,
        vec![nsec(
            "validator1.ogr1.com.",
            "*.wild.ogr1.com.",
            &[
                RecordType::A,
                RecordType::TXT,
                RecordType::RRSIG,
                RecordType::NSEC,
            ],
        )],
    ));
    out.push(("nodata-nsec", m));

    // The same two by NSEC3 (salt abcd, 1 iteration).
    let mut m = response(
        "nope.ogr1.com.",
        RecordType::A,
        ResponseCode::NXDomain,
        true,
    );
    m.add_authorities(soa(OGR1));
    m.add_authorities(nsec3_chain());
    out.push(("nxdomain-nsec3", m));
    let mut m = response(
        "validator1.ogr1.com.",
        RecordType::AAAA,
        ResponseCode::NoError,
        true,
    );
    m.add_authorities(soa(OGR1));
    m.add_authorities(nsec3_chain());
    out.push(("nodata-nsec3", m));

    // A signed referral from com to ogr1.com: NS, DS and glue.
    let mut m = response(
        "validator1.ogr1.com.",
        RecordType::TXT,
        ResponseCode::NoError,
        false,
    );
    m.add_authority(rec("ogr1.com.", RData::NS(NS(name("ns1.ogr1.com.")))));
    m.add_authority(rec("ogr1.com.", RData::NS(NS(name("ns2.ogr1.com.")))));
    m.add_authorities(signed(
        COM,
        vec![rec(
            "ogr1.com.",
            RData::DNSSEC(DNSSECRData::DS(zone::ds(OGR1))),
        )],
    ));
    m.add_additional(rec(
        "ns1.ogr1.com.",
        RData::A(A(Ipv4Addr::new(192, 0, 2, 53))),
    ));
    m.add_additional(rec(
        "ns2.ogr1.com.",
        RData::AAAA(AAAA(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53))),
    ));
    out.push(("referral-signed", m));

    // An unsigned referral from com: the NSEC at the cut has NS but no DS.
    let mut m = response(
        "host.plain.com.",
        RecordType::A,
        ResponseCode::NoError,
        false,
    );
    m.add_authority(rec("plain.com.", RData::NS(NS(name("ns.plain.com.")))));
    m.add_authorities(signed(
        COM,
        vec![nsec(
            "plain.com.",
            "zz.com.",
            &[RecordType::NS, RecordType::RRSIG, RecordType::NSEC],
        )],
    ));
    m.add_additional(rec(
        "ns.plain.com.",
        RData::A(A(Ipv4Addr::new(192, 0, 2, 54))),
    ));
    out.push(("referral-unsigned", m));

    out
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus/dns_message".into()),
    );
    std::fs::create_dir_all(&dir).expect("corpus directory");
    for (file, m) in seeds() {
        let bytes = m.to_vec().expect("encodable message");
        std::fs::write(dir.join(format!("{file}.bin")), &bytes).expect("write seed");
        println!("{file}: {} bytes", bytes.len());
    }
}
