//! Phase 1 catches every genesis rule that depends on the manifest alone: `manifest check`
//! refuses a manifest that breaks one (exit 3, one line naming the file and the key), and what
//! `manifest init` writes passes the check and builds a genesis the client's rules accept, for
//! each profile.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Output};

use dnsceremony::exit;
use dnsceremony::genesis::{self, Format, Member};
use dnsceremony::manifest::Manifest;
use k256::elliptic_curve::sec1::ToEncodedPoint;

const BIN: &str = env!("CARGO_BIN_EXE_dnsceremony");
const OP: &str = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run dnsceremony")
}

fn init(dir: &Path, profile: &str) -> String {
    let o = run(
        dir,
        &["manifest", "init", "--profile", profile, "--operator", OP],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// Validators with real, distinct keys, as their records would give them.
fn members(m: &Manifest) -> Vec<Member> {
    m.orgs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let n = u8::try_from(i).unwrap() + 1;
            let sk =
                k256::SecretKey::from_slice(&[[0u8; 31].as_slice(), &[n + 40]].concat()).unwrap();
            let mut enode_key = [0u8; 64];
            enode_key.copy_from_slice(&sk.public_key().to_encoded_point(false).as_bytes()[1..]);
            let bls = blst::min_pk::SecretKey::key_gen(&[n; 32], &[]).unwrap();
            Member {
                org: o.name.clone(),
                host: o.host.to_ascii().trim_end_matches('.').to_string(),
                enode_key,
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
                port: 30303,
                consensus_port: Some(20203),
                consensus_key: Some(bls.sk_to_pk().compress()),
                oracle_address: Some([n; 20]),
                treasury: Some([n + 100; 20]),
            }
        })
        .collect()
}

#[test]
fn init_output_passes_check_and_builds_a_genesis_for_each_profile() {
    for (profile, format) in [("v1", Format::V1), ("v0.7", Format::V07)] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("m.toml"), init(d, profile)).unwrap();
        let o = run(d, &["manifest", "check", "m.toml"]);
        assert!(
            o.status.success(),
            "{profile}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let m = Manifest::load(&d.join("m.toml")).unwrap();
        assert_eq!(m.profile.as_str(), profile);
        assert_eq!(m.genesis.operator.unwrap().to_string(), OP);
        let p = genesis::params(&m).unwrap();
        let g = genesis::build_from(format, &p, &members(&m)).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(g.bytes()).unwrap();
        genesis::check(&doc).unwrap();
        assert_eq!(g.committee().members.len(), 4, "{profile}");
    }
}

#[test]
fn each_manifest_genesis_rule_fails_check_naming_file_and_key() {
    // (profile, line to replace, its replacement, key the error must name)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "v1",
            "operator = ",
            "# operator removed",
            "genesis.operator",
        ),
        (
            "v0.7",
            "operator = ",
            "# operator removed",
            "genesis.operator",
        ),
        (
            "v1",
            "operator = ",
            "operator = \"0x0000000000000000000000000000000000000000\"",
            "genesis.operator",
        ),
        (
            "v0.7",
            "operator = ",
            "operator = \"0x0000000000000000000000000000000000000000\"",
            "genesis.operator",
        ),
        ("v1", "chain_id = ", "chain_id = 0", "genesis.chain_id"),
        (
            "v1",
            "# epoch_period",
            "epoch_period = 0",
            "genesis.epoch_period",
        ),
        (
            "v1",
            "# block_period",
            "block_period = 0",
            "genesis.block_period",
        ),
        (
            "v0.7",
            "# block_period",
            "block_period = 0",
            "genesis.block_period",
        ),
        (
            "v1",
            "# max_committee_size",
            "max_committee_size = 0",
            "genesis.max_committee_size",
        ),
        (
            "v1",
            "# delegation_rate",
            "delegation_rate = 10001",
            "genesis.delegation_rate",
        ),
        (
            "v1",
            "# treasury_fee",
            "treasury_fee = \"1000000000000000001\"",
            "genesis.treasury_fee",
        ),
        (
            "v1",
            "# bonded_stake",
            "bonded_stake = 0",
            "genesis.bonded_stake",
        ),
        (
            "v1",
            "# vote_period",
            "vote_period = 0",
            "genesis.vote_period",
        ),
        ("v1", "# gas_limit", "gas_limit = 0", "genesis.gas_limit"),
        (
            "v1",
            "# min_base_fee",
            "min_base_fee = \"18446744073709551616\"",
            "genesis.min_base_fee",
        ),
        ("v0.7", "# stake", "stake = 0", "genesis.stake"),
        (
            "v0.7",
            "# min_gas_price",
            "min_gas_price = \"18446744073709551616\"",
            "genesis.min_gas_price",
        ),
        // An option of the other profile would be silently ignored by the client.
        (
            "v0.7",
            "# bonded_stake",
            "bonded_stake = 5",
            "genesis.bonded_stake",
        ),
        ("v1", "# stake", "stake = 5", "genesis.stake"),
    ];
    for (profile, from, to, key) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let good = init(d, profile);
        let bad: String = good
            .lines()
            .map(|l| if l.starts_with(from) { to } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(bad, good.trim_end(), "{profile} {from}: no line replaced");
        fs::write(d.join("m.toml"), bad).unwrap();
        let o = run(d, &["manifest", "check", "m.toml"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(exit::BAD_INPUT.into()),
            "{profile} {to}: {err}"
        );
        assert!(o.stdout.is_empty(), "{profile} {to}");
        assert_eq!(err.lines().count(), 1, "{profile} {to}: {err}");
        assert!(
            err.contains(&format!("m.toml: {key}")),
            "{profile} {to}: {err}"
        );
    }
}

#[test]
fn template_hosts_are_judged_in_phase_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let manifest = "[ceremony]\nname = \"t\"\nprofile = \"v1\"\n[genesis]\nchain_id = 65110000\n\
                    template = \"t.json\"\n[[orgs]]\nname = \"org1\"\nhost = \"validator1.ogr1.com\"\n\
                    [[orgs]]\nname = \"org2\"\nhost = \"val2.ogr2.net\"\n";
    fs::write(d.join("m.toml"), manifest).unwrap();
    let tpl = |hosts: &[&str]| {
        let users: Vec<String> = hosts
            .iter()
            .map(|h| format!("{{\"enode\":\"fqdn://{h}\",\"type\":\"validator\",\"stake\":1}}"))
            .collect();
        format!(
            "{{\"config\":{{\"chainId\":65110000,\"tendermint\":{{\"policy\":1,\"block-period\":1}},\
             \"autonityContract\":{{\"minGasPrice\":1,\"operator\":\"{OP}\",\"users\":[{}]}}}},\
             \"nonce\":\"0x0\",\"timestamp\":\"0x0\",\"gasLimit\":\"0x5f5e100\",\"difficulty\":\"0x1\",\
             \"alloc\":{{}}}}",
            users.join(",")
        )
    };
    fs::write(
        d.join("t.json"),
        tpl(&["validator1.ogr1.com", "val2.ogr2.net"]),
    )
    .unwrap();
    let o = run(d, &["manifest", "check", "m.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (hosts, says) in [
        (&["validator1.ogr1.com"][..], "org2"),
        (
            &["validator1.ogr1.com", "val2.ogr2.net", "nobody.example"][..],
            "nobody.example",
        ),
    ] {
        fs::write(d.join("t.json"), tpl(hosts)).unwrap();
        let o = run(d, &["manifest", "check", "m.toml"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{err}");
        assert!(err.contains("m.toml: genesis.template"), "{err}");
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn run_publish_and_genesis_refuse_such_a_manifest_before_any_network_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad: String = init(d, "v1")
        .lines()
        .filter(|l| !l.starts_with("operator = "))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(d.join("m.toml"), bad).unwrap();
    // Nothing answers on 127.0.0.1:9; the manifest must be refused before that matters.
    for args in [
        &[
            "genesis",
            "--manifest",
            "m.toml",
            "--out",
            "g.json",
            "--root",
            "127.0.0.1:9",
        ][..],
        &[
            "run",
            "--manifest",
            "m.toml",
            "--org",
            "org1",
            "--keys",
            "keys",
            "--ip",
            "127.0.0.1",
            "--server",
            "127.0.0.1:9",
            "--tsig",
            "none.key",
            "--datadir",
            "data",
        ][..],
        &[
            "publish",
            "--manifest",
            "m.toml",
            "--org",
            "org1",
            "--keys",
            "keys",
            "--ip",
            "127.0.0.1",
            "--treasury",
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
            "--server",
            "127.0.0.1:9",
            "--tsig",
            "none.key",
        ][..],
    ] {
        let o = run(d, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(exit::BAD_INPUT.into()),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("m.toml: genesis.operator: required"),
            "{args:?}: {err}"
        );
        assert!(
            !d.join("keys").exists() && !d.join("data").exists(),
            "{args:?}"
        );
    }
}
