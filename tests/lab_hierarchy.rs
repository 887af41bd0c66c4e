//! The loopback hierarchy really produces what BIND's validator calls secure, insecure and
//! bogus: every fault of `lab::hierarchy` is checked against `delv`.

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use dnsceremony::lab::delv::{delv, DelvVerdict};
use dnsceremony::lab::hierarchy::{
    Algorithm, Fault, Hierarchy, Nsec3, OrgZone, Record, ResolverMode, Signing,
};

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

/// Expected `delv` outcome for a zone's `key_` TXT.
#[derive(Debug, PartialEq)]
enum Want {
    Secure,
    Insecure,
    Failed,
}

#[test]
fn every_fault_is_what_delv_says() {
    let cases: Vec<(OrgZone, Want)> = vec![
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
            org("dyn.net").signing(Signing::Dynamic {
                algorithm: Algorithm::EcdsaP256,
                nsec3: None,
            }),
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
            Want::Failed,
        ),
        (
            org("future.net").fault(Fault::FutureSignatures),
            Want::Failed,
        ),
        (org("dsmismatch.io").fault(Fault::DsMismatch), Want::Failed),
        (
            org("foreign.com").fault(Fault::ForeignKeySigned),
            Want::Failed,
        ),
        (
            org("unsignedds.net").fault(Fault::UnsignedUnderDs),
            Want::Failed,
        ),
        (
            org("altered.io").fault(Fault::AlteredAfterSigning),
            Want::Failed,
        ),
        (
            org("insecure.com").fault(Fault::UnsignedDelegation),
            Want::Insecure,
        ),
    ];
    let lab = Hierarchy::builder()
        .zones(cases.iter().map(|(z, _)| z.clone()))
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    let resolver = lab.resolver.expect("resolver");
    let anchor = &lab.anchor.delv;
    assert!(lab.zone("co.uk").is_some() && lab.zone("uk").is_some() && lab.zone(".").is_some());

    let mut wrong = Vec::new();
    for (zone, want) in &cases {
        let name = format!("key_validator.{}", zone.name);
        let got = delv(resolver, anchor, &name, "TXT").expect("delv runs");
        let ok = match (want, &got) {
            (Want::Secure, DelvVerdict::Secure) | (Want::Insecure, DelvVerdict::Insecure) => true,
            // A validation failure, not a server that did not answer.
            (Want::Failed, DelvVerdict::Failed(why)) => !why.contains("timed out"),
            _ => false,
        };
        if !ok {
            wrong.push(format!("{name}: want {want:?}, delv says {got:?}"));
        }
    }
    // A record that is not there is provably absent in NSEC and NSEC3 zones alike.
    for zone in ["ecdsa.net", "hashed.com", "salted.co.uk", "dyn3.io"] {
        let name = format!("genesis_validator.{zone}");
        let got = delv(resolver, anchor, &name, "TXT").expect("delv runs");
        if got != DelvVerdict::SecureNegative {
            wrong.push(format!(
                "{name}: want a validated denial, delv says {got:?}"
            ));
        }
    }
    // Against an unrelated root key, even a good zone fails.
    let other = lab.wrong_anchor().expect("wrong anchor");
    let got = delv(resolver, &other.delv, "key_validator.ecdsa.net", "TXT").expect("delv runs");
    if !got.is_failed() {
        wrong.push(format!("wrong anchor: delv says {got:?}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn dynamic_zone_takes_tsig_updates_and_signs_them() {
    let lab = Hierarchy::builder()
        .zone(org("ogr1.com").signing(Signing::Dynamic {
            algorithm: Algorithm::EcdsaP256,
            nsec3: None,
        }))
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    let z = lab.zone("ogr1.com").expect("zone");
    let tsig = z.tsig.as_ref().expect("dynamic zone has a TSIG key");
    assert_eq!(tsig.name, "ddns-key.ogr1.com");
    let script = format!(
        "server {}\nzone ogr1.com\nupdate add genesis_validator.ogr1.com. 300 IN TXT \"abc\"\nsend\n",
        z.server
    );
    let run = |key: &std::path::Path| {
        let mut child = Command::new("nsupdate")
            .arg("-k")
            .arg(key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nsupdate runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("write");
        child.wait_with_output().expect("nsupdate ends")
    };
    // A key the server does not know is refused.
    let bogus = lab.dir.join("bogus.key");
    std::fs::write(
        &bogus,
        "key \"ddns-key.ogr1.com\" {\n algorithm hmac-sha256;\n secret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\";\n};\n",
    )
    .expect("write key");
    let refused = run(&bogus);
    assert!(
        !refused.status.success(),
        "update with a wrong secret must fail"
    );

    let out = run(&tsig.file);
    assert!(
        out.status.success(),
        "nsupdate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // named signs the new record; the resolver has not cached its absence (never asked).
    let mut got = DelvVerdict::Failed("not tried".into());
    for _ in 0..50 {
        got = delv(
            lab.resolver.expect("resolver"),
            &lab.anchor.delv,
            "genesis_validator.ogr1.com",
            "TXT",
        )
        .expect("delv runs");
        if got == DelvVerdict::Secure {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(got, DelvVerdict::Secure);
}
