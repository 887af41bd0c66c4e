//! The validation engine against every fault of the loopback hierarchy, in both modes
//! (iterative from the private root, and through a non-validating resolver), with BIND's
//! `delv` as the oracle for the verdict class and a precise reason checked for each fault.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use dnsceremony::dns::anchor::TrustAnchors;
use dnsceremony::dns::validate::BogusReason;
use dnsceremony::lab::delv::{delv, DelvVerdict};
use dnsceremony::lab::hierarchy::{
    Algorithm, Fault, Hierarchy, Nsec3, OrgZone, Record, ResolverMode, Signing,
};
use dnsceremony::verify::{Lookup, Session, Source, VerifyOptions};
use hickory_proto::rr::{Name, RecordType};

const KEY: &str = "aa5f0e7c1b7b0e0fd2c1c0b2e1d7c5f3a1e2d3c4b5a69788796a5b4c3d2e1f0aa5f0e7c1b7b0e0fd2c1c0b2e1d7c5f3a1e2d3c4b5a69788796a5b4c3d2e1f0";

fn org(zone: &str) -> OrgZone {
    let host = format!("validator.{zone}");
    OrgZone::new(zone).records([
        Record::txt(&format!("key_{host}"), KEY),
        Record::a(&host, Ipv4Addr::new(192, 0, 2, 1)),
        Record::txt(&format!("port_{host}"), "30303"),
    ])
}

fn stat(algorithm: Algorithm, nsec3: Option<Nsec3>) -> Signing {
    Signing::Static { algorithm, nsec3 }
}

/// What the engine must say for `key_validator.<zone>` TXT.
#[derive(Debug)]
enum Want {
    Secure,
    Insecure(&'static str),
    Bogus(fn(&BogusReason) -> bool, &'static str),
}

fn cases() -> Vec<(OrgZone, Want)> {
    vec![
        (
            org("rsa.com").signing(stat(Algorithm::RsaSha256, None)),
            Want::Secure,
        ),
        (org("ecdsa.net"), Want::Secure),
        (
            org("ed.io").signing(stat(Algorithm::Ed25519, None)),
            Want::Secure,
        ),
        (
            org("hashed.com").signing(stat(Algorithm::EcdsaP256, Some(Nsec3::default()))),
            Want::Secure,
        ),
        (
            org("salted.co.uk").signing(stat(
                Algorithm::EcdsaP256,
                Some(Nsec3 {
                    iterations: 5,
                    salt: "beef".into(),
                    opt_out: true,
                }),
            )),
            Want::Secure,
        ),
        (
            org("dyn3.io").signing(Signing::Dynamic {
                algorithm: Algorithm::Ed25519,
                nsec3: Some(Nsec3::default()),
            }),
            Want::Secure,
        ),
        (
            org("expired.com").fault(Fault::ExpiredSignatures),
            Want::Bogus(
                |r| matches!(r, BogusReason::Expired { .. }),
                "RRSIG on expired.com DNSKEY expired at ",
            ),
        ),
        (
            org("future.net").fault(Fault::FutureSignatures),
            Want::Bogus(
                |r| matches!(r, BogusReason::NotYetValid { .. }),
                "RRSIG on future.net DNSKEY is not valid before ",
            ),
        ),
        (
            org("dsmismatch.io").fault(Fault::DsMismatch),
            Want::Bogus(
                |r| matches!(r, BogusReason::DsMismatch { .. }),
                "DS in io for dsmismatch.io matches no DNSKEY (DS tags ",
            ),
        ),
        (
            org("foreign.com").fault(Fault::ForeignKeySigned),
            Want::Bogus(
                |r| matches!(r, BogusReason::UnknownKey { .. }),
                "signature on key_validator.foreign.com TXT by key tag ",
            ),
        ),
        (
            org("unsignedds.net").fault(Fault::UnsignedUnderDs),
            Want::Bogus(
                |r| matches!(r, BogusReason::NoDnskey { .. }),
                "unsignedds.net has a DS at its parent but serves no DNSKEY set",
            ),
        ),
        (
            org("altered.io").fault(Fault::AlteredAfterSigning),
            Want::Bogus(
                |r| matches!(r, BogusReason::BadSignature { .. }),
                "RRSIG on ",
            ),
        ),
        (
            org("insecure.com").fault(Fault::UnsignedDelegation),
            Want::Insecure("insecure.com is an unsigned delegation from com: insecure"),
        ),
    ]
}

fn session(source: Source, anchors: TrustAnchors) -> Session {
    Session::new(VerifyOptions {
        anchors,
        source,
        timeout: Duration::from_secs(2),
        concurrency: 32,
    })
}

fn n(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

fn class(l: &Lookup) -> &'static str {
    match l {
        Lookup::Secure { .. } => "secure",
        Lookup::Absent { .. } => "absent",
        Lookup::Insecure { .. } => "insecure",
        Lookup::Bogus { .. } => "bogus",
        Lookup::Unreachable { .. } => "unreachable",
    }
}

fn delv_class(v: &DelvVerdict) -> &'static str {
    match v {
        DelvVerdict::Secure => "secure",
        DelvVerdict::SecureNegative => "absent",
        DelvVerdict::Insecure => "insecure",
        _ => "bogus",
    }
}

#[test]
fn every_fault_gets_the_right_verdict_and_reason() {
    let cases = cases();
    let lab = Hierarchy::builder()
        .zones(cases.iter().map(|(z, _)| z.clone()))
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    let resolver = lab.resolver.expect("resolver");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sources = [
        (
            "iterative",
            Source::Iterative {
                roots: vec![SocketAddr::from((lab.root, 53))],
            },
            TrustAnchors::from_file(&lab.anchor.ds).unwrap(),
        ),
        (
            "resolver",
            Source::Resolver(SocketAddr::from((resolver, 53))),
            TrustAnchors::from_file(&lab.anchor.dnskey).unwrap(),
        ),
    ];
    let mut wrong = Vec::new();
    for (mode, source, anchors) in sources {
        let s = session(source, anchors);
        for (zone, want) in &cases {
            let name = format!("key_validator.{}.", zone.name);
            let got = rt.block_on(s.lookup(&n(&name), RecordType::TXT));
            let oracle = delv(resolver, &lab.anchor.delv, &name, "TXT").expect("delv runs");
            if class(&got) != delv_class(&oracle) {
                wrong.push(format!(
                    "{mode} {name}: engine says {got:?}, delv says {oracle:?}"
                ));
            }
            let ok = match (want, &got) {
                (Want::Secure, Lookup::Secure { rrset, .. }) => rrset.len() == 1,
                (Want::Insecure(text), Lookup::Insecure { why, .. }) => why == text,
                (Want::Bogus(kind, text), Lookup::Bogus { why }) => {
                    kind(why) && why.to_string().starts_with(text)
                }
                _ => false,
            };
            if !ok {
                wrong.push(format!(
                    "{mode} {name}: want {want:?}, got {got:?} ({})",
                    got.describe()
                ));
            }
        }
        for zone in ["ecdsa.net", "hashed.com", "salted.co.uk", "dyn3.io"] {
            for (name, nx) in [
                (format!("genesis_validator.{zone}."), true),
                (format!("validator.{zone}."), false),
            ] {
                let got = rt.block_on(s.lookup(&n(&name), RecordType::TXT));
                let want = Lookup::Absent {
                    zone: n(&format!("{zone}.")),
                    nxdomain: nx,
                };
                if got != want {
                    wrong.push(format!("{mode} {name}: want {want:?}, got {got:?}"));
                }
            }
        }
        // A wrong root key makes everything bogus.
        let other = lab.wrong_anchor().expect("wrong anchor");
        let bad = session(
            Source::Iterative {
                roots: vec![SocketAddr::from((lab.root, 53))],
            },
            TrustAnchors::from_file(&other.ds).unwrap(),
        );
        let got = rt.block_on(bad.lookup(&n("key_validator.ecdsa.net."), RecordType::TXT));
        if !matches!(
            got,
            Lookup::Bogus {
                why: BogusReason::AnchorMismatch { .. }
            }
        ) {
            wrong.push(format!("{mode} wrong anchor: got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
