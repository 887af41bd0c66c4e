//! What the stand-in knows of its chain: the committee and options read from the genesis,
//! block hashes, and blocks in each profile's JSON shape.
//!
//! Block 0's hash is keccak-256 over the genesis file's bytes and the imitated contracts
//! version (`--standin.contracts`), so one genesis file gives different block-0 hashes under
//! different "client versions", as 0.14.0 and 0.14.1 do. Block `n > 0` hashes are
//! keccak-256(block 0 hash ‖ n): deterministic, the same at every node of one chain, nothing more.
//! Seals, state roots and the ENR signature-free fields are deterministic fillers of the real
//! lengths, so answers have the real sizes (and so the same HTTP framing).

use std::net::IpAddr;

use serde_json::{json, Map, Value};
use sha3::{Digest, Keccak256};

use crate::genesis::{rules, Committee, Enode, Format};

/// keccak-256.
pub fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `0x` + lowercase hex.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A JSON-RPC quantity: `0x` + hex without leading zeros.
pub fn qty(n: u128) -> Value {
    Value::String(format!("{n:#x}"))
}

/// The address of an enode key: the last 20 bytes of keccak256(X||Y).
pub fn address_of(key: &[u8; 64]) -> [u8; 20] {
    let h = keccak(&[key]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

/// An integer of a genesis that passed the client's rules, in whichever form the field has
/// (bare number or `0x`/decimal string).
pub fn int(v: &Value) -> Option<u128> {
    rules::read(v, rules::Form::BigInt).or_else(|| rules::read(v, rules::Form::HexOrDecimal256))
}

/// `n` deterministic bytes derived from `seed`.
pub fn filler(seed: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut i = 0u64;
    while out.len() < n {
        out.extend_from_slice(&keccak(&[seed, &i.to_be_bytes()]));
        i += 1;
    }
    out.truncate(n);
    out
}

/// One validator as the contract holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The enode URL as written in the genesis.
    pub enode: String,
    /// Its parsed form.
    pub parsed: Enode,
    /// keccak256(enode key)[12:].
    pub address: [u8; 20],
    /// Voting power: `bondedStake` (v1) or `stake` (v0.7).
    pub power: u128,
    /// The BLS consensus key (v1).
    pub consensus_key: Option<[u8; 48]>,
}

/// The chain as the genesis defines it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The genesis layout, which decides the client imitated.
    pub format: Format,
    /// `config.chainId`.
    pub chain_id: u64,
    /// Seconds between blocks.
    pub block_period: u64,
    /// `epochPeriod` (v1; 0 in v0.7).
    pub epoch_period: u64,
    /// `maxCommitteeSize` (v1; 1000 in v0.7, the contract's fixed value).
    pub max_committee_size: u64,
    /// Every validator, in genesis order.
    pub validators: Vec<Member>,
    /// The committee: v1 the validators by stake, highest first (ties in genesis order), at
    /// most `maxCommitteeSize`; v0.7 the validators in genesis order.
    pub committee: Vec<Member>,
    /// v0.7: every user's enode in genesis order (`getWhitelist`).
    pub whitelist: Vec<String>,
    /// The genesis document.
    pub doc: Value,
    /// Block 0's hash.
    pub block0: [u8; 32],
    /// The contracts version imitated.
    pub contracts: String,
}

/// The contracts version imitated by default: the client branch each profile stands for.
pub fn default_contracts(format: Format) -> &'static str {
    match format {
        Format::V1 => "v0.14.0",
        Format::V07 => "v0.7.1",
    }
}

fn consensus_key(v: &Value) -> Option<[u8; 48]> {
    let s = v.get("consensusKey")?.as_str()?.strip_prefix("0x")?;
    crate::hexfmt::parse_fixed::<48>(s, false).ok()
}

impl Spec {
    /// The spec of a genesis that passed the client's rules (`committee` is what
    /// [`rules::check`] returned for `doc`).
    pub fn new(bytes: &[u8], doc: Value, committee: &Committee, contracts: &str) -> Spec {
        let config = &doc["config"];
        let member =
            |m: &crate::genesis::CommitteeMember, entry: Option<&Value>, key: &str| Member {
                enode: m.enode.clone(),
                parsed: m.parsed.clone(),
                address: address_of(&m.parsed.key),
                power: entry.and_then(|e| e.get(key)).and_then(int).unwrap_or(1),
                consensus_key: entry.and_then(consensus_key),
            };
        let find = |list: &Value, enode: &str| -> Option<Value> {
            list.as_array()?
                .iter()
                .find(|e| e.get("enode").and_then(Value::as_str) == Some(enode))
                .cloned()
        };
        let (validators, whitelist, epoch_period, max_committee_size) = match committee.format {
            Format::V1 => {
                let list = &config["autonity"]["validators"];
                let vals: Vec<Member> = committee
                    .members
                    .iter()
                    .map(|m| member(m, find(list, &m.enode).as_ref(), "bondedStake"))
                    .collect();
                let aut = &config["autonity"];
                let int = |k: &str, d: u64| {
                    aut.get(k)
                        .and_then(int)
                        .and_then(|n| u64::try_from(n).ok())
                        .unwrap_or(d)
                };
                (
                    vals,
                    Vec::new(),
                    int("epochPeriod", 0),
                    int("maxCommitteeSize", 100),
                )
            }
            Format::V07 => {
                let list = &config["autonityContract"]["users"];
                let vals = committee
                    .members
                    .iter()
                    .map(|m| member(m, find(list, &m.enode).as_ref(), "stake"))
                    .collect();
                let whitelist = list
                    .as_array()
                    .map(|users| {
                        users
                            .iter()
                            .filter_map(|u| u.get("enode").and_then(Value::as_str))
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                (vals, whitelist, 0, 1000)
            }
        };
        let mut committee_members = validators.clone();
        if committee.format == Format::V1 {
            // Stable: equal stakes keep their genesis order, as the client's committee does.
            committee_members.sort_by_key(|m| std::cmp::Reverse(m.power));
            committee_members.truncate(max_committee_size.max(1) as usize);
        }
        let block0 = keccak(&[
            b"autonity-standin block 0\0",
            contracts.as_bytes(),
            b"\0",
            bytes,
        ]);
        Spec {
            format: committee.format,
            chain_id: committee.chain_id,
            block_period: committee.block_period.max(1),
            epoch_period,
            max_committee_size,
            validators,
            committee: committee_members,
            whitelist,
            doc,
            block0,
            contracts: contracts.to_string(),
        }
    }

    /// The committee's total voting power.
    pub fn total_power(&self) -> u128 {
        self.committee.iter().map(|m| m.power).sum()
    }

    /// The hash of block `n`.
    pub fn block_hash(&self, n: u64) -> [u8; 32] {
        if n == 0 {
            self.block0
        } else {
            keccak(&[&self.block0, &n.to_be_bytes()])
        }
    }

    /// The committee member proposing block `n` (round 0).
    pub fn proposer(&self, n: u64) -> &Member {
        &self.committee[(n % self.committee.len() as u64) as usize]
    }

    /// Total difficulty at block `n` as each client reports it (v1: n; v0.7: n + 1).
    pub fn total_difficulty(&self, n: u64) -> u64 {
        match self.format {
            Format::V1 => n,
            Format::V07 => n + 1,
        }
    }

    fn genesis_str(&self, key: &str, default: &str) -> String {
        self.doc
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    }

    fn genesis_qty(&self, key: &str) -> Option<u128> {
        self.doc.get(key).and_then(int)
    }

    /// Block `n` (`timestamp` in Unix seconds) in the profile's `eth_getBlockByNumber` shape;
    /// keys sorted, as the client writes them.
    pub fn block(&self, n: u64, timestamp: u64) -> Value {
        let zero32 = hex0x(&[0u8; 32]);
        let empty_root = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
        let parent = if n == 0 {
            zero32.clone()
        } else {
            hex0x(&self.block_hash(n - 1))
        };
        let hash = self.block_hash(n);
        let seed = |what: &str| [what.as_bytes(), &hash].concat();
        let miner = if n == 0 {
            [0u8; 20]
        } else {
            self.proposer(n).address
        };
        let mut b = Map::new();
        // v1's genesis block has difficulty 0, every other block (and v0.7's genesis) 1.
        b.insert(
            "difficulty".into(),
            qty(u128::from(n > 0 || self.format == Format::V07)),
        );
        b.insert(
            "gasLimit".into(),
            qty(self.genesis_qty("gasLimit").unwrap_or(0)),
        );
        b.insert("gasUsed".into(), json!("0x0"));
        b.insert("hash".into(), json!(hex0x(&hash)));
        b.insert("logsBloom".into(), json!(hex0x(&[0u8; 256])));
        b.insert("miner".into(), json!(hex0x(&miner)));
        b.insert(
            "mixHash".into(),
            json!(self.genesis_str("mixHash", &zero32).to_ascii_lowercase()),
        );
        b.insert("nonce".into(), json!("0x0000000000000000"));
        b.insert("number".into(), qty(n.into()));
        b.insert("parentHash".into(), json!(parent));
        b.insert("receiptsRoot".into(), json!(empty_root));
        b.insert(
            "sha3Uncles".into(),
            json!("0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"),
        );
        b.insert("stateRoot".into(), json!(hex0x(&keccak(&[&seed("state")]))));
        b.insert("timestamp".into(), qty(timestamp.into()));
        b.insert(
            "totalDifficulty".into(),
            qty(self.total_difficulty(n).into()),
        );
        b.insert("transactions".into(), json!([]));
        b.insert("transactionsRoot".into(), json!(empty_root));
        b.insert("uncles".into(), json!([]));
        match self.format {
            Format::V1 => {
                b.insert(
                    "baseFeePerGas".into(),
                    qty(self.genesis_qty("baseFeePerGas").unwrap_or(1_000_000_000)),
                );
                // Block 0 and every epoch's first block carry the epoch (the committee).
                let epoch = if n.is_multiple_of(self.epoch_period) {
                    json!({
                        "committee": {"members": self.committee.iter().map(|m| json!({
                            "address": hex0x(&m.address),
                            "consensusKey": m.consensus_key.map(|k| hex0x(&k)).unwrap_or_else(|| "0x".into()),
                            "votingPower": qty(m.power),
                        })).collect::<Vec<_>>()},
                        "nextEpochBlock": qty(u128::from(n + self.epoch_period)),
                        "previousEpochBlock": qty(u128::from(n.saturating_sub(self.epoch_period))),
                    })
                } else {
                    Value::Null
                };
                b.insert("epoch".into(), epoch);
                b.insert("extraData".into(), json!("0x"));
                let (seal, qc) = if n == 0 {
                    (
                        "0x".to_string(),
                        json!({"Signature": null, "Signers": null}),
                    )
                } else {
                    let bits =
                        base64_std(&filler(&seed("signers"), self.committee.len().div_ceil(4)));
                    (
                        hex0x(&filler(&seed("seal"), 65)),
                        json!({
                            "Signature": hex0x(&filler(&seed("aggregate"), 96)),
                            "Signers": {"Bits": bits, "Coefficients": []},
                        }),
                    )
                };
                b.insert("proposerSeal".into(), json!(seal));
                b.insert("quorumCertificate".into(), qc);
                b.insert("round".into(), json!("0x0"));
                b.insert("size".into(), qty(700 + 150 * self.committee.len() as u128));
            }
            Format::V07 => {
                let mut sorted: Vec<&Member> = self.committee.iter().collect();
                sorted.sort_by_key(|m| m.address);
                b.insert(
                    "committee".into(),
                    json!(sorted
                        .iter()
                        .map(
                            |m| json!({"address": hex0x(&m.address), "votingPower": m.power as u64})
                        )
                        .collect::<Vec<_>>()),
                );
                let quorum = (2 * self.committee.len()).div_ceil(3);
                let (seal, seals) = if n == 0 {
                    (Vec::new(), Vec::new())
                } else {
                    (
                        filler(&seed("seal"), 65),
                        (0..quorum)
                            .map(|i| base64_std(&filler(&seed(&format!("commit{i}")), 65)))
                            .collect(),
                    )
                };
                // extraData: RLP [committee [[address, power]...], proposer seal, round,
                // committed seals (kept out of the hashed header), past committed seals].
                let committee_rlp = rlp_list(
                    &sorted
                        .iter()
                        .map(|m| rlp_list(&[rlp_bytes(&m.address), rlp_uint(m.power)]))
                        .collect::<Vec<_>>(),
                );
                let extra = rlp_list(&[
                    committee_rlp,
                    rlp_bytes(&seal),
                    rlp_uint(0),
                    rlp_list(&[]),
                    rlp_list(&[]),
                ]);
                b.insert("committedSeals".into(), json!(seals));
                b.insert("extraData".into(), json!(hex0x(&extra)));
                b.insert("pastCommittedSeals".into(), json!([]));
                b.insert(
                    "proposerSeal".into(),
                    json!(if seal.is_empty() {
                        String::new()
                    } else {
                        base64_std(&seal)
                    }),
                );
                b.insert("round".into(), json!(0));
                b.insert("size".into(), qty(500 + extra.len() as u128));
            }
        }
        b.sort_keys();
        Value::Object(b)
    }
}

/// Standard base64 with padding (Go's encoding of `[]byte` in JSON).
pub fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rlp_header(base: u8, len: usize) -> Vec<u8> {
    if len < 56 {
        vec![base + len as u8]
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        let mut h = vec![base + 55 + (8 - skip) as u8];
        h.extend_from_slice(&be[skip..]);
        h
    }
}

/// RLP of a byte string.
pub fn rlp_bytes(b: &[u8]) -> Vec<u8> {
    if b.len() == 1 && b[0] < 0x80 {
        return b.to_vec();
    }
    let mut out = rlp_header(0x80, b.len());
    out.extend_from_slice(b);
    out
}

/// RLP of an unsigned integer (big-endian, no leading zeros).
pub fn rlp_uint(n: u128) -> Vec<u8> {
    let be = n.to_be_bytes();
    let skip = be.iter().take_while(|&&b| b == 0).count();
    rlp_bytes(&be[skip..])
}

/// RLP of a list of encoded items.
pub fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = items.concat();
    let mut out = rlp_header(0xc0, body.len());
    out.extend(body);
    out
}

/// The node's record (EIP-778, scheme v4): `enr:` + base64url of the signed RLP record.
pub fn enr(secret: &k256::SecretKey, ip: IpAddr, tcp: u16, udp: u16) -> String {
    use k256::ecdsa::signature::hazmat::PrehashSigner;
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let compressed = secret.public_key().to_encoded_point(true);
    let (ip_key, ip_bytes): (&[u8], Vec<u8>) = match ip {
        IpAddr::V4(v4) => (b"ip", v4.octets().to_vec()),
        IpAddr::V6(v6) => (b"ip6", v6.octets().to_vec()),
    };
    let mut content = vec![
        rlp_uint(1),
        rlp_bytes(b"id"),
        rlp_bytes(b"v4"),
        rlp_bytes(ip_key),
        rlp_bytes(&ip_bytes),
        rlp_bytes(b"secp256k1"),
        rlp_bytes(compressed.as_bytes()),
        rlp_bytes(b"tcp"),
        rlp_uint(tcp.into()),
    ];
    if udp != 0 {
        content.extend([rlp_bytes(b"udp"), rlp_uint(udp.into())]);
    }
    let digest = keccak(&[&rlp_list(&content)]);
    let signer = k256::ecdsa::SigningKey::from(secret);
    let sig: k256::ecdsa::Signature = match signer.sign_prehash(&digest) {
        Ok(s) => s,
        // Signing a 32-byte digest with a valid key does not fail.
        Err(_) => return "enr:".into(),
    };
    let mut record = vec![rlp_bytes(&sig.to_bytes())];
    record.extend(content);
    use base64::Engine;
    format!(
        "enr:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rlp_list(&record))
    )
}

/// An HTTP `Date` header value (IMF-fixdate), as Go writes it.
pub fn http_date(now: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(now);
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&fmt).unwrap_or_default()
}

/// A log timestamp as the client's terminal logger writes it: `MM-DD|HH:MM:SS.mmm`.
pub fn log_time(now: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(now);
    let fmt = time::macros::format_description!(
        "[month]-[day]|[hour]:[minute]:[second].[subsecond digits:3]"
    );
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlp_encodes_like_the_client() {
        assert_eq!(rlp_uint(0), vec![0x80]);
        assert_eq!(rlp_uint(50_000), vec![0x82, 0xc3, 0x50]);
        assert_eq!(rlp_bytes(&[0x7f]), vec![0x7f]);
        assert_eq!(rlp_list(&[]), vec![0xc0]);
        let long = rlp_bytes(&[1u8; 60]);
        assert_eq!(&long[..2], &[0xb8, 60]);
    }

    #[test]
    fn v07_block_0_extra_data_is_the_clients() {
        // The committee RLP of the recorded v0.7.1 genesis block.
        let doc: Value = serde_json::from_slice(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/vectors/autonity/v0.7/genesis-accepted.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let committee = rules::check(&doc).unwrap();
        let spec = Spec::new(b"", doc, &committee, "v0.7.1");
        let block = spec.block(0, 0);
        assert_eq!(
            block["extraData"],
            "0xf86af864d8946f21e9378e9b9cfc7213c0be4ca0b254a14a992b82c350d89491c3af56a03fdb0a3a99ef0b4c5bdd78ce0a3fb882c350d894b3a0ed4d50f4ea3151e5474277814a233ccb555f82c350d894b5ff334612be1bdb6e28b41039c3a9d93c329eaf82c3508080c0c0"
        );
        assert_eq!(block["difficulty"], "0x1");
        assert_eq!(block["totalDifficulty"], "0x1");
    }

    #[test]
    fn the_block_0_hash_follows_the_file_and_the_contracts_version() {
        let doc: Value = serde_json::from_slice(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/vectors/autonity/v1/genesis-accepted.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let committee = rules::check(&doc).unwrap();
        let a = Spec::new(b"one", doc.clone(), &committee, "v0.14.0");
        let b = Spec::new(b"one", doc.clone(), &committee, "v0.14.1");
        let c = Spec::new(b"two", doc.clone(), &committee, "v0.14.0");
        let a2 = Spec::new(b"one", doc, &committee, "v0.14.0");
        assert_eq!(a.block0, a2.block0);
        assert_ne!(a.block0, b.block0);
        assert_ne!(a.block0, c.block0);
        assert_eq!(a.block(0, 0)["hash"], hex0x(&a.block0));
        assert_eq!(a.block(1, 5)["parentHash"], hex0x(&a.block0));
        assert_eq!(a.block(0, 0)["difficulty"], "0x0");
        assert_eq!(a.block(3, 0)["difficulty"], "0x1");
    }

    #[test]
    fn enr_is_a_signed_v4_record() {
        let sk = k256::SecretKey::from_slice(&[1u8; 32]).unwrap();
        let r = enr(&sk, "127.0.0.1".parse().unwrap(), 30303, 30303);
        assert!(r.starts_with("enr:-"), "{r}");
        assert!(r.len() > 100, "{r}");
    }
}
