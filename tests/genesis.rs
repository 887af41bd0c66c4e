//! Genesis: golden files for every format, determinism under shuffled inputs, client rules.

use std::net::{IpAddr, Ipv4Addr};

use dnsceremony::genesis::{self, Format, GenesisError, Member, Params, Rule};

/// The uncompressed secp256k1 public key (X||Y) of the private key `[seed; 32]`.
fn node_key(seed: u8) -> [u8; 64] {
    let sk = k256::SecretKey::from_slice(&[seed; 32]).unwrap();
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let point = sk.public_key().to_encoded_point(false);
    point.as_bytes()[1..].try_into().unwrap()
}

/// The BLS consensus public key derived from key material `[seed; 32]`.
fn consensus_key(seed: u8) -> [u8; 48] {
    blst::min_pk::SecretKey::key_gen(&[seed; 32], &[])
        .unwrap()
        .sk_to_pk()
        .compress()
}

const HOSTS: [&str; 4] = [
    "validator1.ogr1.com",
    "val2.ogr2.net",
    "validator3.ogr3.io",
    "othername4.ogr4.co.uk",
];

fn members() -> Vec<Member> {
    (1..=4u8)
        .map(|i| Member {
            org: format!("org{i}"),
            host: HOSTS[usize::from(i - 1)].to_string(),
            enode_key: node_key(i),
            ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, i)),
            port: 30303,
            consensus_key: Some(consensus_key(i)),
            oracle_address: Some([0x10 + i; 20]),
            treasury: Some([0x20 + i; 20]),
        })
        .collect()
}

fn params() -> Params {
    let mut p = Params::defaults(65_110_000);
    p.operator = Some([0xaa; 20]);
    p.alloc.insert([0xbb; 20], 1_000_000_000_000_000_000);
    p
}

fn golden(name: &str, bytes: &[u8]) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("DNSCEREMONY_BLESS").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&want),
        "{path} differs (DNSCEREMONY_BLESS=1 rewrites it)"
    );
}

#[test]
fn v1_matches_golden() {
    let g = genesis::build_from(Format::V1, &params(), &members()).unwrap();
    golden("v1.json", g.bytes());
    assert_eq!(g.committee().members.len(), 4);
    assert!(g.bytes().ends_with(b"}\n"));
}

#[test]
fn v07_matches_golden() {
    let g = genesis::build_from(Format::V07, &params(), &members()).unwrap();
    golden("v0.7.json", g.bytes());
    assert_eq!(g.committee().format, Format::V07);
}

#[test]
fn template_matches_golden() {
    let path = format!(
        "{}/tests/golden/template.in.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let template: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let g = genesis::build_template(&template, &members()).unwrap();
    golden("template.out.json", g.bytes());
    let text = String::from_utf8(g.bytes().to_vec()).unwrap();
    assert!(!text.contains("fqdn://"));
}

#[test]
fn same_bytes_whatever_the_order() {
    let base = genesis::build_from(Format::V1, &params(), &members()).unwrap();
    let mut ms = members();
    // Every rotation and the reversal of every rotation.
    for r in 0..ms.len() {
        ms.rotate_left(1);
        let g = genesis::build_from(Format::V1, &params(), &ms).unwrap();
        assert_eq!(g.bytes(), base.bytes(), "rotation {r}");
        let mut rev = ms.clone();
        rev.reverse();
        let g = genesis::build_from(Format::V1, &params(), &rev).unwrap();
        assert_eq!(g.hash(), base.hash(), "reversed rotation {r}");
    }
    // Validators are sorted by enode key.
    let keys: Vec<String> = base
        .committee()
        .members
        .iter()
        .map(|m| m.parsed.key_hex())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn hash_is_sha256_of_bytes() {
    use sha2::Digest;
    let g = genesis::build_from(Format::V07, &params(), &members()).unwrap();
    let want: [u8; 32] = sha2::Sha256::digest(g.bytes()).into();
    assert_eq!(g.hash(), want);
    assert_eq!(g.hash_hex().len(), 64);
}

#[test]
fn a_changed_option_changes_the_hash() {
    let a = genesis::build_from(Format::V1, &params(), &members()).unwrap();
    let mut p = params();
    p.bonded_stake += 1;
    let b = genesis::build_from(Format::V1, &p, &members()).unwrap();
    assert_ne!(a.hash(), b.hash());
}

fn violation(e: GenesisError) -> (String, Rule) {
    match e {
        GenesisError::Violation { path, rule } => (path, rule),
        other => panic!("expected a rule violation, got {other}"),
    }
}

#[test]
fn refuses_what_the_client_refuses() {
    // Zero bonded stake.
    let mut p = params();
    p.bonded_stake = 0;
    let (path, rule) = violation(genesis::build_from(Format::V1, &p, &members()).unwrap_err());
    assert_eq!(path, "config.autonity.validators[0].bondedStake");
    assert_eq!(rule, Rule::Zero);

    // Zero oracle address.
    let mut ms = members();
    ms[0].oracle_address = Some([0; 20]);
    let (path, rule) = violation(genesis::build_from(Format::V1, &params(), &ms).unwrap_err());
    assert!(path.ends_with(".oracleAddress"), "{path}");
    assert_eq!(rule, Rule::ZeroAddress);

    // A consensus key that is not a G1 point.
    let mut ms = members();
    ms[2].consensus_key = Some([0x42; 48]);
    let (path, rule) = violation(genesis::build_from(Format::V1, &params(), &ms).unwrap_err());
    assert!(path.ends_with(".consensusKey"), "{path}");
    assert_eq!(rule, Rule::BadConsensusKey);

    // Two organisations with one consensus key.
    let mut ms = members();
    ms[3].consensus_key = ms[1].consensus_key;
    let (_, rule) = violation(genesis::build_from(Format::V1, &params(), &ms).unwrap_err());
    assert!(matches!(rule, Rule::Duplicate { .. }), "{rule}");

    // maxCommitteeSize 0, chain id 0.
    let mut p = params();
    p.max_committee_size = 0;
    let (path, _) = violation(genesis::build_from(Format::V1, &p, &members()).unwrap_err());
    assert_eq!(path, "config.autonity.maxCommitteeSize");
    let mut p = params();
    p.chain_id = 0;
    let (path, rule) = violation(genesis::build_from(Format::V07, &p, &members()).unwrap_err());
    assert_eq!((path.as_str(), rule), ("config.chainId", Rule::Zero));

    // Duplicate enode keys, no validators, no operator.
    let mut ms = members();
    ms[1].enode_key = ms[0].enode_key;
    assert!(matches!(
        genesis::build_from(Format::V07, &params(), &ms),
        Err(GenesisError::DuplicateValidator { .. })
    ));
    assert!(matches!(
        genesis::build_from(Format::V1, &params(), &[]),
        Err(GenesisError::NoValidators)
    ));
    let mut p = params();
    p.operator = None;
    assert!(matches!(
        genesis::build_from(Format::V1, &p, &members()),
        Err(GenesisError::MissingOption {
            option: "operator",
            ..
        })
    ));

    // v1 without an attestation.
    let mut ms = members();
    ms[1].consensus_key = None;
    match genesis::build_from(Format::V1, &params(), &ms) {
        Err(GenesisError::MissingAttestation { org, .. }) => assert_eq!(org, "org2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn short_epochs_get_omission_accountability() {
    for epoch in [3u64, 10, 30, 44, 45, 1800] {
        let mut p = params();
        p.epoch_period = epoch;
        let g = genesis::build_from(Format::V1, &p, &members()).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(g.bytes()).unwrap();
        let omission = &doc["config"]["omissionAccountability"];
        if epoch > 44 {
            assert!(omission.is_null(), "epoch {epoch}");
        } else {
            let d = omission["delta"].as_u64().unwrap();
            let l = omission["LookbackWindow"].as_u64().unwrap();
            assert!(
                epoch > d + l - 1 && d >= 2 && l >= 1,
                "epoch {epoch}: {d} {l}"
            );
        }
    }
    let mut p = params();
    p.epoch_period = 2;
    assert!(genesis::build_from(Format::V1, &p, &members()).is_err());
}

#[test]
fn client_rules_on_a_foreign_genesis() {
    let g = genesis::build_from(Format::V1, &params(), &members()).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(g.bytes()).unwrap();
    doc["config"]["autonity"]["epochPeriod"] = 30.into();
    let (path, rule) = violation(genesis::check(&doc).unwrap_err());
    assert_eq!(path, "config.autonity.epochPeriod");
    assert!(matches!(
        rule,
        Rule::EpochTooShort {
            epoch: 30,
            delta: 5,
            lookback: 40
        }
    ));
    doc["config"]["autonity"]["epochPeriod"] = 1800.into();
    doc["config"]["autonity"]["validators"][1]["enode"] = "enode://abc@1.2.3.4:1".into();
    let (path, _) = violation(genesis::check(&doc).unwrap_err());
    assert_eq!(path, "config.autonity.validators[1].enode");
    doc["config"]["autonity"]["validators"] = serde_json::json!([]);
    let (_, rule) = violation(genesis::check(&doc).unwrap_err());
    assert_eq!(rule, Rule::Empty);
}

#[test]
fn template_hosts_must_be_known_and_used() {
    let template = serde_json::json!({"config": {"chainId": 1, "autonityContract": {
        "operator": "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "users": [{"enode": "fqdn://validator1.ogr1.com", "type": "validator", "stake": 1},
                  {"enode": "fqdn://nobody.example", "type": "validator", "stake": 1}]}}});
    match genesis::build_template(&template, &members()) {
        Err(GenesisError::UnknownHost { host, path }) => {
            assert_eq!(host, "nobody.example");
            assert_eq!(path, "config.autonityContract.users[1].enode");
        }
        other => panic!("{other:?}"),
    }
    let template = serde_json::json!({"config": {"chainId": 1, "autonityContract": {
        "operator": "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "users": [{"enode": "fqdn://VALIDATOR1.ogr1.com.", "type": "validator", "stake": 1}]}}});
    match genesis::build_template(&template, &members()) {
        Err(GenesisError::UnusedHost { org, .. }) => assert_eq!(org, "org2"),
        other => panic!("{other:?}"),
    }
    let g = genesis::build_template(&template, &members()[..1]).unwrap();
    assert_eq!(g.committee().members[0].parsed.key, node_key(1));
}

mod from_manifest {
    use super::*;
    use dnsceremony::identity::{Address, Identity};
    use dnsceremony::manifest::Manifest;
    use dnsceremony::records::{attest, Peer, PublishParams};

    const MANIFEST: &str = r#"
[ceremony]
name = "golden-net"
profile = "v1"

[genesis]
chain_id = 65110000
operator = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
bonded_stake = "100000000000000000000000"
epoch_period = 30

[genesis.alloc]
"0x00000000000000000000000000000000000000bb" = "1000000000000000000000"

[[orgs]]
name = "org1"
host = "validator1.ogr1.com"

[[orgs]]
name = "org2"
host = "val2.ogr2.net"

[[orgs]]
name = "org3"
host = "validator3.ogr3.io"
"#;

    fn peers(m: &Manifest) -> Vec<(String, Peer)> {
        m.orgs
            .iter()
            .enumerate()
            .map(|(i, org)| {
                let i = i as u8 + 1;
                let id =
                    Identity::from_secrets(&[i; 32], Some((&[i + 40; 32], &[i + 80; 32]))).unwrap();
                let params = PublishParams {
                    ipv4: Some(Ipv4Addr::new(198, 51, 100, i)),
                    ipv6: None,
                    port: 30303,
                    consensus_port: 20203,
                    treasury: Some(Address([i; 20])),
                    ttl: 300,
                };
                let att = attest(&org.host, &id, &m.ceremony_id(), &params);
                let peer = Peer {
                    host: org.host.clone(),
                    ipv4: params.ipv4,
                    ipv6: None,
                    enode_key: id.public().enode_key,
                    port: 30303,
                    attestation: Some(att),
                };
                (org.name.clone(), peer)
            })
            .collect()
    }

    #[test]
    fn manifest_and_records_give_the_golden_genesis() {
        let m = Manifest::parse(MANIFEST, std::path::Path::new("golden.toml")).unwrap();
        let ps = peers(&m);
        let g = genesis::build(&m, &ps).unwrap();
        golden("manifest-v1.json", g.bytes());
        // A stake beyond u64 is a bare JSON number, as the client's big.Int wants.
        let text = String::from_utf8(g.bytes().to_vec()).unwrap();
        assert!(
            text.contains("\"bondedStake\": 100000000000000000000000\n"),
            "{text}"
        );
        assert!(text.contains("\"omissionAccountability\""));
        let mut rev = ps.clone();
        rev.reverse();
        assert_eq!(genesis::build(&m, &rev).unwrap().bytes(), g.bytes());

        // Every organisation exactly once, none unknown.
        assert!(matches!(
            genesis::build(&m, &ps[..2]),
            Err(GenesisError::OrgCount { ref org, count: 0 }) if org == "org3"
        ));
        let mut extra = ps.clone();
        extra[0].0 = "org9".into();
        assert!(matches!(
            genesis::build(&m, &extra),
            Err(GenesisError::UnknownOrg { ref org }) if org == "org9"
        ));
    }
}

use proptest::prelude::*;

proptest! {
    /// Any permutation of the validators gives the same bytes, in both formats.
    #[test]
    fn any_order_gives_the_same_bytes(perm in proptest::sample::subsequence((0..4usize).collect::<Vec<_>>(), 4).prop_shuffle()) {
        let ms = members();
        let shuffled: Vec<Member> = perm.iter().map(|&i| ms[i].clone()).collect();
        for format in [Format::V1, Format::V07] {
            let want = genesis::build_from(format, &params(), &ms).unwrap();
            let got = genesis::build_from(format, &params(), &shuffled).unwrap();
            prop_assert_eq!(got.bytes(), want.bytes());
        }
    }
}
