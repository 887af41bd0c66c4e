//! Borrowed identities over real DNSSEC: in one ceremony org3 publishes org1's consensus key,
//! in another it publishes org1's oracle address, each with an ownership proof that verifies
//! (the borrowed part copied from org1's proof over the same treasury) and an attestation it
//! signed itself. Every record is secure; `verify` must still mark both organisations
//! `invalid`, naming the field and the other organisation, exit with the security status,
//! and `genesis` must refuse before building anything.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output};

use dnsceremony::exit;
use dnsceremony::identity::{keccak256, Identity};
use dnsceremony::lab::hierarchy::{Hierarchy, OrgZone, Record, ResolverMode};
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{attest, attestation_message, encode, Binding, PublishParams};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, RecordType};

/// What org3 takes from org1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Borrow {
    ConsensusKey,
    OracleAddress,
}

fn host(zone: &str) -> String {
    format!("validator.{zone}")
}

fn manifest_text(zones: &[String]) -> String {
    let mut t = String::from(
        "[ceremony]\nname = \"borrowed\"\nprofile = \"v1\"\n\n[genesis]\noperator = \"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf\"\nchain_id = 65110001\n\n",
    );
    for (i, z) in zones.iter().enumerate() {
        t.push_str(&format!(
            "[[orgs]]\nname = \"org{}\"\nhost = \"{}\"\n\n",
            i + 1,
            host(z)
        ));
    }
    t
}

/// The zones of one ceremony (org1, org2, org3) and its manifest text.
fn ceremony(borrow: Borrow) -> (Vec<OrgZone>, String) {
    let tag = match borrow {
        Borrow::ConsensusKey => "ck",
        Borrow::OracleAddress => "oa",
    };
    let zones: Vec<String> = (1..=3).map(|i| format!("{tag}org{i}.com")).collect();
    let text = manifest_text(&zones);
    let manifest = Manifest::parse(&text, Path::new("m.toml")).expect("manifest parses");
    let ceremony = manifest.ceremony_id();
    let ids: Vec<Identity> = (0..3).map(|_| Identity::generate(Profile::V1)).collect();
    let org1_treasury = ids[0].public().node_address;
    let org1_proof = ids[0].ownership_proof(&org1_treasury).expect("v1 proof");
    let mut out = Vec::new();
    for (i, (zone, org)) in zones.iter().zip(&manifest.orgs).enumerate() {
        let id = &ids[i];
        let params = PublishParams {
            ipv4: Some(Ipv4Addr::new(192, 0, 2, i as u8 + 1)),
            ipv6: None,
            port: 30303,
            consensus_port: 20203,
            // org3 names org1's treasury: the proof parts it copies are over it.
            treasury: Some(if i == 2 {
                org1_treasury
            } else {
                id.public().node_address
            }),
            ttl: 300,
        };
        let sets = encode(&org.host, id, &ceremony, &params);
        let mut records = Vec::new();
        for s in &sets {
            let owner = s.name.to_ascii();
            if i == 2 && s.rtype == RecordType::TXT && owner.starts_with("autonity_") {
                let mut a = attest(&org.host, id, &ceremony, &params);
                let proof = a.ownership_proof.as_mut().expect("v1 proof");
                match borrow {
                    Borrow::ConsensusKey => {
                        a.consensus_key = ids[0].public().consensus_key;
                        proof[130..].copy_from_slice(&org1_proof[130..]);
                    }
                    Borrow::OracleAddress => {
                        a.oracle_address = ids[0].public().oracle_address;
                        proof[65..130].copy_from_slice(&org1_proof[65..130]);
                    }
                }
                let key = id.public().enode_key;
                let binding = Binding {
                    host: &org.host,
                    ipv4: params.ipv4,
                    ipv6: params.ipv6,
                    port: params.port,
                    enode_key: &key,
                };
                a.signature = id.sign_prehash(&keccak256(&attestation_message(&binding, &a)));
                let txt = a.to_txt();
                records.extend(Record::from_rrset(&dnsceremony::dns::RRset {
                    rdata: vec![RData::TXT(TXT::new(
                        txt.as_bytes()
                            .chunks(255)
                            .map(|c| String::from_utf8_lossy(c).into_owned())
                            .collect(),
                    ))],
                    ..s.clone()
                }));
            } else {
                records.extend(Record::from_rrset(s));
            }
        }
        out.push(OrgZone::new(zone).records(records));
    }
    (out, text)
}

fn run(args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dnsceremony"));
    c.args(args);
    // A regression must fail, not hang: verify is bounded by its query timeout.
    c.output().expect("dnsceremony runs")
}

#[test]
fn borrowed_consensus_key_and_oracle_address_are_invalid_naming_both_organisations() {
    let (mut zones, ck_text) = ceremony(Borrow::ConsensusKey);
    let (oa_zones, oa_text) = ceremony(Borrow::OracleAddress);
    zones.extend(oa_zones);
    let lab = Hierarchy::builder()
        .zones(zones)
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    let root = lab.root.to_string();
    let anchor = lab.anchor.ds.to_str().unwrap().to_string();
    for (borrow, text, field) in [
        (Borrow::ConsensusKey, &ck_text, "consensus key"),
        (Borrow::OracleAddress, &oa_text, "oracle address"),
    ] {
        let m = lab.dir.join(format!("{borrow:?}.toml"));
        std::fs::write(&m, text).unwrap();
        let m = m.to_str().unwrap();
        let dns = [
            "--anchor",
            &anchor,
            "--root",
            &root,
            "--query-timeout",
            "1s",
        ];
        let mut args = vec!["verify", "--manifest", m, "--json"];
        args.extend(dns);
        let o = run(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(exit::SECURITY.into()), "{stderr}");
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let got: Vec<(String, String)> = json["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["status"].as_str().unwrap_or_default().to_string(),
                    o["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("invalid".to_string(), format!("{field} same as org3's")),
                ("secure".to_string(), String::new()),
                ("invalid".to_string(), format!("{field} same as org1's")),
            ],
            "{borrow:?}"
        );
        // The table says it on org3's row too.
        let mut args = vec!["verify", "--manifest", m];
        args.extend(dns);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(exit::SECURITY.into()));
        let text = String::from_utf8_lossy(&o.stdout);
        let row = text.lines().find(|l| l.starts_with("org3 ")).unwrap_or("");
        assert!(
            row.contains("invalid") && row.contains(&format!("{field} same as org1's")),
            "{borrow:?}: {text}"
        );
        // genesis never meets the duplicate: refused before anything is written.
        let out = lab.dir.join(format!("{borrow:?}-genesis.json"));
        let out = out.to_str().unwrap();
        let mut args = vec!["genesis", "--manifest", m, "--out", out];
        args.extend(dns);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(exit::SECURITY.into()));
        let line = String::from_utf8_lossy(&o.stderr);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            line.contains(&format!("org3 invalid: {field} same as org1's"))
                && line.contains(&format!("org1 invalid: {field} same as org3's")),
            "{line}"
        );
        assert!(!Path::new(out).exists());
    }
}
