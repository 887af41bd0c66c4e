//! The ownership proof against proofs the real Autonity client printed
//! (`shared/vectors/autonity/v1/pop.json`, `autonity genOwnershipProof` of 0.14.0): our proof
//! is the client's bytes, our verifier accepts the client's proof and refuses proofs over the
//! messages the client does not sign; and the `keys proof` / `keys verify-proof` commands.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use dnsceremony::exit;
use dnsceremony::identity::{
    self, keccak256, Address, ConsensusKey, EnodeKey, Identity, KeyError, ProofFlaw, BLS_POP_DST,
};

const BIN: &str = env!("CARGO_BIN_EXE_dnsceremony");
const POP_JSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/autonity/v1/pop.json"
);

/// One vector of `pop.json`.
#[derive(Debug, serde::Deserialize)]
struct Vector {
    node_key: String,
    consensus_key: String,
    oracle_key: String,
    treasury: String,
    node_address: String,
    enode_key: String,
    oracle_address: String,
    consensus_public_key: String,
    proof: String,
}

impl Vector {
    fn secret(hex_text: &str) -> [u8; 32] {
        hex::decode(hex_text).unwrap().try_into().unwrap()
    }
    fn identity(&self) -> Identity {
        Identity::from_secrets(
            &Self::secret(&self.node_key),
            Some((
                &Self::secret(&self.consensus_key),
                &Self::secret(&self.oracle_key),
            )),
        )
        .unwrap()
    }
    fn treasury(&self) -> Address {
        self.treasury.parse().unwrap()
    }
    fn proof(&self) -> Vec<u8> {
        hex::decode(self.proof.strip_prefix("0x").unwrap()).unwrap()
    }
    fn enode(&self) -> EnodeKey {
        EnodeKey::from_hex(&self.enode_key).unwrap()
    }
    fn oracle(&self) -> Address {
        self.oracle_address.parse().unwrap()
    }
    fn ck(&self) -> ConsensusKey {
        ConsensusKey::from_hex(&self.consensus_public_key).unwrap()
    }
    fn verify(&self, proof: &[u8]) -> Result<(), KeyError> {
        identity::verify_ownership_proof(
            proof,
            &self.treasury(),
            &self.enode(),
            &self.oracle(),
            &self.ck(),
        )
    }
    fn flaws(&self, proof: &[u8]) -> Vec<ProofFlaw> {
        identity::ownership_proof_flaws(
            proof,
            &self.treasury(),
            &self.enode(),
            &self.oracle(),
            &self.ck(),
        )
    }
}

fn vectors() -> Vec<Vector> {
    let v: Vec<Vector> = serde_json::from_str(&fs::read_to_string(POP_JSON).unwrap()).unwrap();
    assert_eq!(v.len(), 3, "pop.json holds three vectors");
    v
}

#[test]
fn derived_identities_are_the_clients() {
    for v in vectors() {
        let p = v.identity().public();
        assert_eq!(p.enode_key.to_string(), v.enode_key);
        assert_eq!(p.node_address.to_string(), v.node_address);
        assert_eq!(p.oracle_address.unwrap().to_string(), v.oracle_address);
        assert_eq!(p.consensus_key.unwrap().to_string(), v.consensus_public_key);
    }
}

#[test]
fn our_proof_is_the_clients_bytes() {
    for v in vectors() {
        let ours = v.identity().ownership_proof(&v.treasury()).unwrap();
        assert_eq!(ours.len(), 226);
        assert_eq!(
            format!("0x{}", hex::encode(&ours)),
            v.proof,
            "treasury {}",
            v.treasury
        );
    }
}

#[test]
fn the_clients_proof_verifies_alone_and_in_a_batch() {
    let vs = vectors();
    let mut pairings = Vec::new();
    for v in &vs {
        let proof = v.proof();
        v.verify(&proof).unwrap();
        assert!(v.flaws(&proof).is_empty());
        assert_eq!(proof[64], proof[64] & 1, "node signature v in {{0,1}}");
        assert_eq!(proof[129], proof[129] & 1, "oracle signature v in {{0,1}}");
        pairings.push(
            identity::check_ownership_proof_except_pairing(
                &proof,
                &v.treasury(),
                &v.enode(),
                &v.oracle(),
                &v.ck(),
            )
            .unwrap(),
        );
    }
    assert!(identity::PopPairing::verify_batch(&pairings));
    // Another vector's treasury: every part fails.
    let other = vs[1].treasury();
    let p = vs[0].proof();
    assert_eq!(
        identity::ownership_proof_flaws(&p, &other, &vs[0].enode(), &vs[0].oracle(), &vs[0].ck()),
        vec![
            ProofFlaw::NodeSignature,
            ProofFlaw::OracleSignature,
            ProofFlaw::BlsSignature
        ]
    );
}

/// A proof made with the vector's keys over other messages: secp256k1 parts over `h`, the BLS
/// part over `bls_msg`.
fn proof_over(v: &Vector, h: &[u8; 32], bls_msg: &[u8]) -> Vec<u8> {
    let node = Identity::from_secrets(&Vector::secret(&v.node_key), None).unwrap();
    let oracle = Identity::from_secrets(&Vector::secret(&v.oracle_key), None).unwrap();
    let bls = blst::min_pk::SecretKey::from_bytes(&Vector::secret(&v.consensus_key)).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&node.sign_prehash(h));
    out.extend_from_slice(&oracle.sign_prehash(h));
    out.extend_from_slice(&bls.sign(bls_msg, BLS_POP_DST, &[]).compress());
    out
}

#[test]
fn proofs_over_other_messages_are_refused() {
    for v in vectors() {
        let tr = v.treasury();
        let all = vec![
            ProofFlaw::NodeSignature,
            ProofFlaw::OracleSignature,
            ProofFlaw::BlsSignature,
        ];
        // keccak256(treasury) for the signatures, the raw treasury for BLS.
        let old = proof_over(&v, &keccak256(&tr.0), &tr.0);
        assert_eq!(v.flaws(&old), all);
        assert_eq!(
            v.verify(&old),
            Err(KeyError::Proof(ProofFlaw::NodeSignature))
        );
        // The BLS part over keccak256(treasury), or over the raw treasury, with the right
        // secp256k1 parts: only the BLS part fails.
        let right = v.proof();
        for msg in [keccak256(&tr.0).to_vec(), tr.0.to_vec()] {
            let mut p = proof_over(&v, &keccak256(&tr.0), &msg);
            p[..130].copy_from_slice(&right[..130]);
            assert_eq!(v.flaws(&p), vec![ProofFlaw::BlsSignature]);
            assert_eq!(v.verify(&p), Err(KeyError::Proof(ProofFlaw::BlsSignature)));
        }
        // The right BLS message, secp256k1 parts over keccak256(treasury): both fail.
        let mut p = proof_over(
            &v,
            &keccak256(&tr.0),
            &identity::bls_pop_message(&tr, &v.ck().0),
        );
        assert_eq!(
            v.flaws(&p),
            vec![ProofFlaw::NodeSignature, ProofFlaw::OracleSignature]
        );
        // ...and with the right node part only the oracle part fails.
        p[..65].copy_from_slice(&right[..65]);
        assert_eq!(
            v.verify(&p),
            Err(KeyError::Proof(ProofFlaw::OracleSignature))
        );
        // The client's proof, rebuilt from our primitives, is the client's proof.
        let rebuilt = proof_over(
            &v,
            &identity::pop_message_hash(&tr),
            &identity::bls_pop_message(&tr, &v.ck().0),
        );
        assert_eq!(rebuilt, right);
    }
}

// ---------------------------------------------------------------------------------------
// The command line.

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run dnsceremony")
}

fn stderr_line(o: &Output) -> String {
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(e.lines().count(), 1, "exactly one stderr line, got {e:?}");
    assert!(e.starts_with("dnsceremony: "), "{e}");
    e
}

/// A key directory as `keygen` writes it, with the vector's keys.
fn key_dir(dir: &Path, v: &Vector) {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("autonitykeys"),
        format!("{}{}\n", v.node_key, v.consensus_key),
    )
    .unwrap();
    fs::write(dir.join("oraclekey"), format!("{}\n", v.oracle_key)).unwrap();
    for f in ["autonitykeys", "oraclekey"] {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.join(f), fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn keys_proof_prints_what_the_client_prints() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, v) in vectors().iter().enumerate() {
        let keys = tmp.path().join(format!("k{i}"));
        key_dir(&keys, v);
        let keys = keys.to_str().unwrap();
        let o = run(
            tmp.path(),
            &["keys", "proof", "--dir", keys, "--treasury", &v.treasury],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // `fmt.Println(hexutil.Encode(proof))`: 0x, lowercase hex, one newline, nothing else.
        assert_eq!(
            String::from_utf8(o.stdout).unwrap(),
            format!("{}\n", v.proof)
        );
        assert!(o.stderr.is_empty());
        // An EIP-55 checksummed treasury is the same address.
        let mixed = v.treasury().checksummed();
        let o = run(
            tmp.path(),
            &["keys", "proof", "--dir", keys, "--treasury", &mixed],
        );
        assert_eq!(
            String::from_utf8(o.stdout).unwrap(),
            format!("{}\n", v.proof)
        );
    }
}

#[test]
fn keys_proof_refuses_what_the_client_refuses_and_never_prints_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let v = &vectors()[0];
    let keys = tmp.path().join("k");
    key_dir(&keys, v);
    // A 0x prefix in either file: one line naming the file and saying the client refuses it.
    for (file, content) in [
        (
            "autonitykeys",
            format!("0x{}{}\n", v.node_key, v.consensus_key),
        ),
        ("oraclekey", format!("0x{}\n", v.oracle_key)),
    ] {
        let saved = fs::read(keys.join(file)).unwrap();
        fs::write(keys.join(file), &content).unwrap();
        let o = run(
            tmp.path(),
            &["keys", "proof", "--dir", "k", "--treasury", &v.treasury],
        );
        assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{file}");
        assert!(o.stdout.is_empty());
        let line = stderr_line(&o);
        assert!(
            line.contains(file) && line.contains("0x") && line.contains("client refuses"),
            "{line}"
        );
        for secret in [&v.node_key, &v.consensus_key, &v.oracle_key] {
            assert!(!line.contains(secret.as_str()), "secret echoed: {line}");
        }
        fs::write(keys.join(file), saved).unwrap();
    }
    // A treasury that is not an address.
    let o = run(
        tmp.path(),
        &["keys", "proof", "--dir", "k", "--treasury", "0x1234"],
    );
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(o.stdout.is_empty());
    // v0.7 keys have no proof.
    let old = tmp.path().join("old");
    fs::create_dir(&old).unwrap();
    fs::write(old.join("nodekey"), format!("{}\n", v.node_key)).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(old.join("nodekey"), fs::Permissions::from_mode(0o600)).unwrap();
    }
    let o = run(
        tmp.path(),
        &["keys", "proof", "--dir", "old", "--treasury", &v.treasury],
    );
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    let line = stderr_line(&o);
    assert!(line.contains("old") && line.contains("v0.7"), "{line}");
    // The output never holds a private key.
    let o = run(
        tmp.path(),
        &["keys", "proof", "--dir", "k", "--treasury", &v.treasury],
    );
    let out = String::from_utf8(o.stdout).unwrap();
    for secret in [&v.node_key, &v.consensus_key, &v.oracle_key] {
        assert!(!out.contains(secret.as_str()));
    }
}

/// Genesis validator data as operators exchange it, for vector `v`.
fn validator_data(v: &Vector) -> serde_json::Value {
    serde_json::json!({
        "genesisValidatorData": [
            {
                "enode": format!("enode://{}@203.0.113.7:30303", v.enode_key),
                "treasury": v.treasury,
                "consensusKey": v.consensus_public_key,
                "oracleAddress": v.oracle_address,
            },
            {
                "validatorAddress": v.node_address,
                "ownershipProof": v.proof,
            }
        ]
    })
}

fn verify_file(dir: &Path, doc: &str) -> Output {
    fs::write(dir.join("v.json"), doc).unwrap();
    run(dir, &["keys", "verify-proof", "v.json"])
}

#[test]
fn verify_proof_accepts_the_clients_proofs() {
    let tmp = tempfile::tempdir().unwrap();
    for v in vectors() {
        let o = verify_file(tmp.path(), &validator_data(&v).to_string());
        assert_eq!(
            o.status.code(),
            Some(exit::OK.into()),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.contains("valid") && out.contains(&v.node_address),
            "{out}"
        );
        assert!(o.stderr.is_empty());
    }
}

/// Replace one string field of the validator data.
fn with(doc: &serde_json::Value, index: usize, key: &str, value: &str) -> String {
    let mut d = doc.clone();
    d["genesisValidatorData"][index][key] = serde_json::Value::String(value.into());
    d.to_string()
}

#[test]
fn verify_proof_names_each_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let vs = vectors();
    let (v, w) = (&vs[0], &vs[1]);
    let doc = validator_data(v);
    let proof = v.proof();
    let other = w.proof();
    let splice = |range: std::ops::Range<usize>| {
        let mut p = proof.clone();
        p[range.clone()].copy_from_slice(&other[range]);
        format!("0x{}", hex::encode(p))
    };
    let address_names = ["validatorAddress", &w.node_address, &v.node_address];
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "node signature from another key",
            with(&doc, 1, "ownershipProof", &splice(0..65)),
            &["node signature"],
        ),
        (
            "oracle signature from another key",
            with(&doc, 1, "ownershipProof", &splice(65..130)),
            &["oracle signature"],
        ),
        (
            "BLS signature from another key",
            with(&doc, 1, "ownershipProof", &splice(130..226)),
            &["BLS signature"],
        ),
        (
            "validator address of another key",
            with(&doc, 1, "validatorAddress", &w.node_address),
            &address_names,
        ),
        (
            "another treasury: every part fails",
            with(&doc, 0, "treasury", &w.treasury),
            &["node signature", "oracle signature", "BLS signature"],
        ),
        (
            "another oracle address",
            with(&doc, 0, "oracleAddress", &w.oracle_address),
            &["oracle signature"],
        ),
        (
            "another consensus key",
            with(&doc, 0, "consensusKey", &w.consensus_public_key),
            &["BLS signature"],
        ),
    ];
    for (what, text, names) in cases {
        let o = verify_file(tmp.path(), &text);
        assert_eq!(o.status.code(), Some(exit::SECURITY.into()), "{what}");
        assert!(o.stdout.is_empty(), "{what}");
        let line = stderr_line(&o);
        assert!(line.contains("v.json"), "{what}: {line}");
        for n in names {
            assert!(line.contains(n), "{what}: {n} not in {line}");
        }
        // Parts that did not fail are not named.
        for part in ["node signature", "oracle signature", "BLS signature"] {
            if !names.contains(&part) {
                assert!(!line.contains(part), "{what}: {part} named in {line}");
            }
        }
    }
}

#[test]
fn verify_proof_malformed_input_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let v = &vectors()[0];
    let doc = validator_data(v);
    let short = &v.proof[..v.proof.len() - 2];
    let mut extra = doc.clone();
    extra["genesisValidatorData"][0]["stake"] = serde_json::json!(1);
    let mut one = doc.clone();
    one["genesisValidatorData"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let cases: Vec<(&str, String, &str)> = vec![
        ("not JSON", "{".into(), "JSON"),
        (
            "no array",
            r#"{"genesisValidatorData": {}}"#.into(),
            "genesisValidatorData",
        ),
        ("one object", one.to_string(), "genesisValidatorData"),
        ("unknown field", extra.to_string(), "stake"),
        (
            "missing field",
            {
                let mut d = doc.clone();
                d["genesisValidatorData"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("ownershipProof");
                d.to_string()
            },
            "ownershipProof",
        ),
        (
            "short proof",
            with(&doc, 1, "ownershipProof", short),
            "ownershipProof",
        ),
        (
            "proof without 0x",
            with(&doc, 1, "ownershipProof", &v.proof[2..]),
            "ownershipProof",
        ),
        (
            "bad enode",
            with(&doc, 0, "enode", "enode://00@1.2.3.4:1"),
            "enode",
        ),
        (
            "bad consensus key",
            with(&doc, 0, "consensusKey", &format!("0x{}", "00".repeat(48))),
            "consensusKey",
        ),
        (
            "bad treasury",
            with(&doc, 0, "treasury", "0x12"),
            "treasury",
        ),
        (
            "bad validator address",
            with(&doc, 1, "validatorAddress", "nope"),
            "validatorAddress",
        ),
    ];
    for (what, text, field) in cases {
        let o = verify_file(tmp.path(), &text);
        assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{what}");
        assert!(o.stdout.is_empty(), "{what}");
        let line = stderr_line(&o);
        assert!(
            line.contains("v.json") && line.contains(field),
            "{what}: {line}"
        );
    }
    let o = run(tmp.path(), &["keys", "verify-proof", "missing.json"]);
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(stderr_line(&o).contains("missing.json"));
}
