//! Genesis: golden files for every format, determinism under shuffled inputs, client rules, and
//! the genesis files the real Autonity client produced, accepted or refused
//! (`../shared/vectors/autonity/`).

use std::net::{IpAddr, Ipv4Addr};

use dnsceremony::genesis::{self, Enode, Form, Format, GenesisError, Member, Params, Rule};

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
            consensus_port: Some(20203),
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
fn v1_writes_what_the_client_reads() {
    let mut p = params();
    // A short epoch is fine for 0.14.x (no omissionAccountability, no epoch rule at genesis).
    p.epoch_period = 30;
    p.initial_inflation_reserve = 1 << 100;
    let mut ms = members();
    ms[2].consensus_port = Some(21000);
    let g = genesis::build_from(Format::V1, &p, &ms).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(g.bytes()).unwrap();
    let aut = &doc["config"]["autonity"];
    assert_eq!(aut["epochPeriod"], 30);
    assert!(doc["config"].get("omissionAccountability").is_none());
    // HexOrDecimal256 fields are strings: the reserve in 0x hex, the base fee in decimal.
    assert_eq!(
        aut["initialInflationReserve"],
        "0x10000000000000000000000000"
    );
    assert_eq!(doc["baseFeePerGas"], "15000000000");
    assert!(doc.get("baseFee").is_none());
    // uint64 fields and bondedStake are bare numbers.
    for key in [
        "minBaseFee",
        "unbondingPeriod",
        "blockPeriod",
        "maxCommitteeSize",
        "treasuryFee",
        "delegationRate",
    ] {
        assert!(aut[key].is_u64(), "{key}: {}", aut[key]);
    }
    assert!(aut["validators"][0]["bondedStake"].is_u64());
    // Every enode carries its validator's consensus endpoint.
    for (m, v) in g
        .committee()
        .members
        .iter()
        .zip(aut["validators"].as_array().unwrap())
    {
        let org = ms.iter().find(|o| o.enode_key == m.parsed.key).unwrap();
        let want = std::net::SocketAddr::new(org.ip, org.consensus_port.unwrap());
        assert_eq!(m.parsed.acn, Some(want));
        assert!(v["enode"]
            .as_str()
            .unwrap()
            .ends_with(&format!("?acn={want}")));
    }
    // v0.7 enodes have none.
    let g = genesis::build_from(Format::V07, &params(), &members()).unwrap();
    assert!(g.committee().members.iter().all(|m| m.parsed.acn.is_none()));
    assert!(!String::from_utf8_lossy(g.bytes()).contains("acn="));
    // Without a published consensus port there is no v1 enode.
    let mut ms = members();
    ms[1].consensus_port = None;
    match genesis::build_from(Format::V1, &params(), &ms) {
        Err(GenesisError::MissingAttestation { org, field }) => {
            assert_eq!((org.as_str(), field), ("org2", "consensus port"))
        }
        other => panic!("{other:?}"),
    }
    genesis::build_from(Format::V07, &params(), &ms).unwrap();
}

#[test]
fn client_rules_on_a_foreign_genesis() {
    let g = genesis::build_from(Format::V1, &params(), &members()).unwrap();
    let good: serde_json::Value = serde_json::from_slice(g.bytes()).unwrap();
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut doc = good.clone();
        edit(&mut doc);
        violation(genesis::check(&doc).unwrap_err())
    };
    // The forms the client's Go types read.
    let cases: Vec<(&str, serde_json::Value, Rule)> = vec![
        (
            "/config/autonity/epochPeriod",
            "1800".into(),
            Rule::Form(Form::Uint64),
        ),
        (
            "/config/autonity/minBaseFee",
            serde_json::json!(1.5),
            Rule::Form(Form::Uint64),
        ),
        (
            "/config/autonity/treasuryFee",
            serde_json::json!(-1),
            Rule::Form(Form::Uint64),
        ),
        (
            "/config/autonity/treasuryFee",
            serde_json::json!(18446744073709551616.0),
            Rule::Form(Form::Uint64),
        ),
        (
            "/config/autonity/validators/1/bondedStake",
            "10000".into(),
            Rule::Form(Form::BigInt),
        ),
        (
            "/config/autonity/initialInflationReserve",
            serde_json::json!(1000),
            Rule::Form(Form::HexOrDecimal256),
        ),
        (
            "/config/autonity/initialInflationReserve",
            "0xg".into(),
            Rule::Form(Form::HexOrDecimal256),
        ),
        (
            "/config/autonity/initialInflationReserve",
            format!("0x1{}", "0".repeat(64)).into(),
            Rule::Form(Form::HexOrDecimal256),
        ),
        (
            "/config/autonity/initialInflationReserve",
            serde_json::Value::Null,
            Rule::Missing,
        ),
        (
            "/config/chainId",
            "65110000".into(),
            Rule::Form(Form::BigInt),
        ),
        (
            "/baseFeePerGas",
            serde_json::json!(15000000000u64),
            Rule::Form(Form::HexOrDecimal256),
        ),
        (
            "/gasLimit",
            serde_json::json!(100000),
            Rule::Form(Form::HexOrDecimal64),
        ),
        (
            "/timestamp",
            "0x10000000000000000".into(),
            Rule::Form(Form::HexOrDecimal64),
        ),
        ("/difficulty", "0x1".into(), Rule::MustBe(0)),
        (
            "/config/autonity/delegationRate",
            serde_json::json!(10001),
            Rule::Above { max: 10000 },
        ),
        (
            "/config/autonity/maxCommitteeSize",
            serde_json::json!(0),
            Rule::Zero,
        ),
        (
            "/config/oracle/votePeriod",
            "30".into(),
            Rule::Form(Form::Uint64),
        ),
    ];
    for (pointer, value, rule) in cases {
        let (path, got) =
            refused(&|d: &mut serde_json::Value| *d.pointer_mut(pointer).unwrap() = value.clone());
        let want_path = pointer
            .trim_start_matches('/')
            .replace("/validators/1/", ".validators[1].")
            .replace('/', ".");
        assert_eq!(
            (path.as_str(), &got),
            (want_path.as_str(), &rule),
            "{pointer} = {value}"
        );
    }
    // A reserve in decimal, an empty string (zero) and the largest 256-bit value are read.
    for ok in [
        "40000000000000000000000000",
        "",
        &format!("0x{}", "f".repeat(64)),
        "115792089237316195423570985008687907853269984665640564039457584007913129639935",
    ] {
        let mut doc = good.clone();
        doc["config"]["autonity"]["initialInflationReserve"] = ok.into();
        genesis::check(&doc).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
    }
    let mut doc = good.clone();
    doc["config"]["autonity"]["initialInflationReserve"] =
        "115792089237316195423570985008687907853269984665640564039457584007913129639936".into();
    assert!(genesis::check(&doc).is_err());
    // Required fields.
    for key in ["gasLimit", "difficulty", "alloc"] {
        let (path, rule) = refused(&|d: &mut serde_json::Value| {
            d.as_object_mut().unwrap().remove(key);
        });
        assert_eq!((path.as_str(), rule), (key, Rule::Missing));
    }
    // The base fee under the name the client does not read.
    let (path, rule) = refused(&|d: &mut serde_json::Value| {
        let fee = d.as_object_mut().unwrap().remove("baseFeePerGas").unwrap();
        d["baseFee"] = fee;
    });
    assert_eq!(
        (path.as_str(), rule),
        (
            "baseFee",
            Rule::Unread {
                instead: "baseFeePerGas"
            }
        )
    );
    // nodeAddress must be the enode key's address; commissionRate must be zero.
    let (path, rule) = refused(&|d: &mut serde_json::Value| {
        d["config"]["autonity"]["validators"][2]["nodeAddress"] =
            format!("0x{}", "11".repeat(20)).into();
    });
    assert_eq!(
        (path.as_str(), rule),
        (
            "config.autonity.validators[2].nodeAddress",
            Rule::NodeAddressMismatch
        )
    );
    let mut doc = good.clone();
    let key = genesis::check(&good).unwrap().members[2].parsed.key;
    let hash = dnsceremony::identity::keccak256(&key);
    doc["config"]["autonity"]["validators"][2]["nodeAddress"] =
        format!("0x{}", hex::encode(&hash[12..])).into();
    doc["config"]["autonity"]["validators"][2]["commissionRate"] = 0.into();
    genesis::check(&doc).unwrap();
    doc["config"]["autonity"]["validators"][2]["commissionRate"] = 5.into();
    let (path, rule) = violation(genesis::check(&doc).unwrap_err());
    assert_eq!(
        (path.as_str(), rule),
        (
            "config.autonity.validators[2].commissionRate",
            Rule::MustBe(0)
        )
    );
    // Enodes and validators.
    let (path, _) = refused(&|d: &mut serde_json::Value| {
        d["config"]["autonity"]["validators"][1]["enode"] = "enode://abc@1.2.3.4:1".into();
    });
    assert_eq!(path, "config.autonity.validators[1].enode");
    let (_, rule) = refused(&|d: &mut serde_json::Value| {
        d["config"]["autonity"]["validators"] = serde_json::json!([]);
    });
    assert_eq!(rule, Rule::Empty);
    // A v0.7 genesis: difficulty 1, stakes as uint64, participants without stake.
    let g = genesis::build_from(Format::V07, &params(), &members()).unwrap();
    let v07: serde_json::Value = serde_json::from_slice(g.bytes()).unwrap();
    for (pointer, value, want) in [
        (
            "/difficulty",
            serde_json::Value::from("0x0"),
            ("difficulty", Rule::MustBe(1)),
        ),
        (
            "/config/autonityContract/users/0/stake",
            "50000".into(),
            (
                "config.autonityContract.users[0].stake",
                Rule::Form(Form::Uint64),
            ),
        ),
        (
            "/config/autonityContract/users/1/type",
            "participant".into(),
            ("config.autonityContract.users[1].stake", Rule::MustBe(0)),
        ),
        (
            "/config/tendermint/block-period",
            serde_json::json!(0),
            ("config.tendermint.block-period", Rule::Zero),
        ),
    ] {
        let mut doc = v07.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        let (path, rule) = violation(genesis::check(&doc).unwrap_err());
        assert_eq!((path.as_str(), rule), (want.0, want.1), "{pointer}");
    }
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
        "users": [{"enode": "fqdn://VALIDATOR1.ogr1.com.", "type": "validator", "stake": 1}]}},
        "gasLimit": "0x5f5e100", "difficulty": "0x1", "alloc": {}});
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
        // The enodes carry the consensus port each organisation published (`cp`).
        for (i, _) in ps.iter().enumerate() {
            assert!(
                text.contains(&format!(
                    "@198.51.100.{}:30303?acn=198.51.100.{}:20203\"",
                    i + 1,
                    i + 1
                )),
                "{text}"
            );
        }
        assert!(text.contains("\"initialInflationReserve\": \"0x2116545850052128000000\""));
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

/// The real client's genesis files (`../shared/vectors/autonity/`, see its README).
mod client_vectors {
    use super::*;
    use serde_json::Value;

    fn vector(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../shared/vectors/autonity/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn json(name: &str) -> Value {
        serde_json::from_slice(&vector(name)).unwrap()
    }

    fn address(v: &Value) -> [u8; 20] {
        hex::decode(v.as_str().unwrap().trim_start_matches("0x"))
            .unwrap()
            .try_into()
            .unwrap()
    }

    fn uint(v: &Value) -> u64 {
        v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"))
    }

    /// A member from a genesis enode: key, IP, port and (v1) the acn port.
    fn member(i: usize, enode: &str) -> Member {
        let e = Enode::parse(enode).unwrap();
        Member {
            org: format!("org{i}"),
            host: format!("validator{i}.example.org"),
            enode_key: e.key,
            ip: e.ip,
            port: e.port,
            consensus_port: e.acn.map(|a| a.port()),
            consensus_key: None,
            oracle_address: None,
            treasury: None,
        }
    }

    /// The members and options of a v1 genesis file, as our builder takes them.
    fn v1_inputs(doc: &Value) -> (Params, Vec<Member>) {
        let aut = &doc["config"]["autonity"];
        let mut p = Params::defaults(uint(&doc["config"]["chainId"]));
        p.min_base_fee = uint(&aut["minBaseFee"]);
        p.epoch_period = uint(&aut["epochPeriod"]);
        p.unbonding_period = uint(&aut["unbondingPeriod"]);
        p.block_period = uint(&aut["blockPeriod"]);
        p.max_committee_size = uint(&aut["maxCommitteeSize"]);
        p.operator = Some(address(&aut["operator"]));
        p.treasury = Some(address(&aut["treasury"]));
        p.treasury_fee = uint(&aut["treasuryFee"]);
        p.delegation_rate = uint(&aut["delegationRate"]);
        p.vote_period = uint(&doc["config"]["oracle"]["votePeriod"]);
        let reserve = aut["initialInflationReserve"].as_str().unwrap();
        p.initial_inflation_reserve = u128::from_str_radix(&reserve[2..], 16).unwrap();
        p.gas_limit =
            Some(u64::from_str_radix(&doc["gasLimit"].as_str().unwrap()[2..], 16).unwrap());
        p.base_fee = doc["baseFeePerGas"].as_str().unwrap().parse().unwrap();
        let vals = aut["validators"].as_array().unwrap();
        p.bonded_stake = uint(&vals[0]["bondedStake"]).into();
        let members = vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                assert_eq!(v["bondedStake"], vals[0]["bondedStake"]);
                let mut m = member(i, v["enode"].as_str().unwrap());
                let ck = hex::decode(v["consensusKey"].as_str().unwrap().trim_start_matches("0x"))
                    .unwrap();
                m.consensus_key = Some(ck.try_into().unwrap());
                m.oracle_address = Some(address(&v["oracleAddress"]));
                m.treasury = Some(address(&v["treasury"]));
                m
            })
            .collect();
        (p, members)
    }

    #[test]
    fn the_v1_genesis_the_client_accepted_is_what_we_build() {
        let file = vector("v1/genesis-accepted.json");
        let want: Value = serde_json::from_slice(&file).unwrap();
        let (p, mut members) = v1_inputs(&want);
        assert!(members.iter().all(|m| m.consensus_port.is_some()));
        members.reverse();
        let g = genesis::build_from(Format::V1, &p, &members).unwrap();
        let got: Value = serde_json::from_slice(g.bytes()).unwrap();
        assert_eq!(got, want);
        // Our canonical bytes are the file's, key for key, plus the trailing newline.
        let mut with_newline = file.clone();
        if !with_newline.ends_with(b"\n") {
            with_newline.push(b'\n');
        }
        assert_eq!(
            String::from_utf8_lossy(g.bytes()),
            String::from_utf8_lossy(&with_newline)
        );
        // The committee as the client dials it: each validator's own consensus port.
        let ports: Vec<u16> = g
            .committee()
            .members
            .iter()
            .map(|m| m.parsed.consensus_addr().port())
            .collect();
        assert_eq!(ports, [20203, 20204, 20205, 20206]);
    }

    #[test]
    fn the_v07_genesis_the_client_accepted_is_what_we_build() {
        let file = vector("v0.7/genesis-accepted.json");
        let want: Value = serde_json::from_slice(&file).unwrap();
        let aut = &want["config"]["autonityContract"];
        let mut p = Params::defaults(uint(&want["config"]["chainId"]));
        p.operator = Some(address(&aut["operator"]));
        p.min_gas_price = uint(&aut["minGasPrice"]);
        p.block_period = uint(&want["config"]["tendermint"]["block-period"]);
        p.gas_limit =
            Some(u64::from_str_radix(&want["gasLimit"].as_str().unwrap()[2..], 16).unwrap());
        let users = aut["users"].as_array().unwrap();
        p.stake = uint(&users[0]["stake"]);
        let members: Vec<Member> = users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                assert_eq!(
                    (&u["type"], &u["stake"]),
                    (&Value::from("validator"), &users[0]["stake"])
                );
                member(i, u["enode"].as_str().unwrap())
            })
            .rev()
            .collect();
        let g = genesis::build_from(Format::V07, &p, &members).unwrap();
        let got: Value = serde_json::from_slice(g.bytes()).unwrap();
        assert_eq!(got, want);
        assert_eq!(
            String::from_utf8_lossy(g.bytes()),
            String::from_utf8_lossy(&file)
        );
    }

    #[test]
    fn what_the_client_accepted_passes_our_rules() {
        for name in [
            "v1/genesis-accepted.json",
            "v1/genesis-20-validators.json",
            "v0.7/genesis-accepted.json",
        ] {
            let c = genesis::check(&json(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(c.members.len() >= 4, "{name}");
        }
        assert_eq!(
            genesis::check(&json("v1/genesis-20-validators.json"))
                .unwrap()
                .members
                .len(),
            20
        );
    }

    #[test]
    fn what_the_client_refused_is_refused_naming_the_field() {
        // The client panicked on it: no initialInflationReserve.
        let (path, rule) =
            violation(genesis::check(&json("v1/genesis-from-tool.json")).unwrap_err());
        assert_eq!(
            (path.as_str(), rule),
            ("config.autonity.initialInflationReserve", Rule::Missing)
        );
        // With the reserve added, its base fee is still under a name the client does not read.
        let mut doc = json("v1/genesis-from-tool.json");
        doc["config"]["autonity"]["initialInflationReserve"] = "0x2116545850052128000000".into();
        let (path, _) = violation(genesis::check(&doc).unwrap_err());
        assert_eq!(path, "baseFee");
        // v0.7.1 refused 2^64 as uint64 stake and minGasPrice.
        let (path, rule) =
            violation(genesis::check(&json("v0.7/probes/genesis-stake-2^64.json")).unwrap_err());
        assert_eq!(
            (path.as_str(), rule),
            (
                "config.autonityContract.users[0].stake",
                Rule::Form(Form::Uint64)
            )
        );
        let (path, rule) = violation(
            genesis::check(&json("v0.7/probes/genesis-mingasprice-2^64.json")).unwrap_err(),
        );
        assert_eq!(
            (path.as_str(), rule),
            (
                "config.autonityContract.minGasPrice",
                Rule::Form(Form::Uint64)
            )
        );
    }
}
