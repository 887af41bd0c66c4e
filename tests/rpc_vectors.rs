//! `rpc` against what the real Autonity client answered (`../shared/vectors/autonity/`): each
//! recorded HTTP answer is replayed by a small local server and the decoded values are compared
//! with the genesis files and derived tables recorded beside them.
//!
//! The recordings are `curl -i` output: status line and headers as the client sent them, the
//! body as curl delivered it (chunked bodies already joined; the v0.7 set has a newline
//! appended after each body). The replay writes the status line and headers verbatim; a body
//! with `Content-Length` exactly that long; a chunked body framed again as Go's server frames
//! it (one chunk, then the last chunk), or in small chunks when asked. HTTP/1.1 keep-alive: one
//! connection serves many requests. A request that matches no recording gets the client's
//! -32601 answer, as a node without that method or API gives it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dnsceremony::genesis::Format;
use dnsceremony::rpc::{self, Client, Expectation, Published, RpcError};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn vectors() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/autonity"
    ))
}

fn read(rel: &str) -> Vec<u8> {
    let path = vectors().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One recorded answer and the request it answers.
#[derive(Clone)]
struct Recording {
    method: String,
    /// `None`: any parameters.
    params: Option<Value>,
    raw: Vec<u8>,
}

fn rec(method: &str, params: Option<Value>, file: &str) -> Recording {
    Recording {
        method: method.into(),
        params,
        raw: read(file),
    }
}

/// Every v0.7 recording, keyed by its request file (`rpc/NAME.req`, `rpc/NAME.http`).
fn v07() -> Vec<Recording> {
    let dir = vectors().join("v0.7/rpc");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "req") {
            let req: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            out.push(Recording {
                method: req["method"].as_str().unwrap().into(),
                params: Some(req["params"].clone()),
                raw: std::fs::read(path.with_extension("http")).unwrap(),
            });
        }
    }
    assert!(
        out.len() > 20,
        "v0.7 recordings not found in {}",
        dir.display()
    );
    out
}

fn call(selector: &str) -> Option<Value> {
    Some(json!([{"to": rpc::AUTONITY_CONTRACT, "data": selector}, "latest"]))
}

/// The four-validator v1 network (0.14.0), as its node 1 answered.
fn v1_four() -> Vec<Recording> {
    vec![
        rec(
            "admin_nodeInfo",
            None,
            "v1/rpc/4-validators.admin_nodeInfo.http",
        ),
        rec(
            "eth_blockNumber",
            None,
            "v1/rpc/4-validators.eth_blockNumber.http",
        ),
        rec(
            "aut_getCommitteeEnodes",
            None,
            "v1/rpc/4-validators.aut_getCommitteeEnodes.http",
        ),
        rec(
            "eth_getBlockByNumber",
            Some(json!(["0x0", false])),
            "v1/rpc/4-validators.eth_getBlockByNumber0.http",
        ),
    ]
}

fn v1_twenty_enodes() -> Recording {
    rec(
        "aut_getCommitteeEnodes",
        None,
        "v1/rpc/20-validators.aut_getCommitteeEnodes.http",
    )
}

fn v1_twenty_call() -> Recording {
    rec(
        "eth_call",
        call("0xa8b2216e"),
        "v1/rpc/20-validators.eth_call-getCommitteeEnodes.http",
    )
}

/// How a chunked body is framed.
#[derive(Clone, Copy)]
enum Chunks {
    /// As Go's server writes a JSON-RPC answer: all of it in one chunk.
    One,
    /// Chunks of this many bytes.
    Of(usize),
}

/// The bytes of one answer on the wire.
fn wire(raw: &[u8], chunks: Chunks) -> Vec<u8> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head and body")
        + 4;
    let (head, body) = raw.split_at(split);
    let head_text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut out = head.to_vec();
    if head_text.contains("transfer-encoding: chunked") {
        let size = match chunks {
            Chunks::One => body.len(),
            Chunks::Of(n) => n,
        };
        for piece in body.chunks(size.max(1)) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        let len: usize = head_text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a body without chunks has a Content-Length");
        out.extend_from_slice(&body[..len]);
    }
    out
}

fn not_found(method: &str) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601,
        "message": format!("the method {method} does not exist/is not available")}})
    .to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serve `recordings` on 127.0.0.1; the URL.
async fn replay(recordings: Vec<Recording>, chunks: Chunks) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recordings = Arc::new(recordings);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, recordings.clone(), chunks));
        }
    });
    url
}

async fn serve(mut stream: TcpStream, recordings: Arc<Vec<Recording>>, chunks: Chunks) {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    loop {
        let (head_end, len) = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (i + 4, len);
            }
            match stream.read(&mut piece).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&piece[..n]),
            }
        };
        while buf.len() < head_end + len {
            match stream.read(&mut piece).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&piece[..n]),
            }
        }
        let request: Value =
            serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
        buf.drain(..head_end + len);
        let method = request["method"].as_str().unwrap_or("");
        let answer = recordings
            .iter()
            .find(|r| {
                r.method == method && r.params.as_ref().is_none_or(|p| *p == request["params"])
            })
            .map(|r| wire(&r.raw, chunks))
            .unwrap_or_else(|| not_found(method));
        // The client may stop reading (an answer over its limit): the write then fails.
        if stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}

fn client(url: &str) -> Client {
    Client::new(url, Duration::from_secs(10)).unwrap()
}

/// The 128-hex keys of the validators of a v1 genesis file.
fn genesis_keys(rel: &str) -> Vec<String> {
    let g: Value = serde_json::from_slice(&read(rel)).unwrap();
    let mut keys: Vec<String> = g["config"]["autonity"]["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| rpc::enode_key(v["enode"].as_str().unwrap()).unwrap())
        .collect();
    keys.sort();
    keys
}

fn sorted_keys(c: &rpc::Committee) -> Vec<String> {
    let mut keys: Vec<String> = c.members.iter().map(|m| m.key.clone().unwrap()).collect();
    keys.sort();
    keys
}

fn text_hash(rel: &str) -> [u8; 32] {
    let text = String::from_utf8(read(rel)).unwrap();
    let hex = text.trim().strip_prefix("0x").unwrap();
    hex::decode(hex).unwrap().try_into().unwrap()
}

#[tokio::test]
async fn twenty_validators_from_aut_get_committee_enodes() {
    let want = genesis_keys("v1/genesis-20-validators.json");
    assert_eq!(want.len(), 20);
    for chunks in [Chunks::One, Chunks::Of(1000)] {
        let url = replay(vec![v1_twenty_enodes()], chunks).await;
        let c = client(&url).committee(Some(Format::V1)).await.unwrap();
        assert_eq!(c.source, "aut_getCommitteeEnodes");
        assert_eq!(c.format, Format::V1);
        assert_eq!(sorted_keys(&c), want);
    }
}

#[tokio::test]
async fn twenty_validators_from_eth_call_when_the_aut_api_is_off() {
    let want = genesis_keys("v1/genesis-20-validators.json");
    // The node answers aut_getCommitteeEnodes with -32601, as one without the aut API does.
    for chunks in [Chunks::One, Chunks::Of(1000)] {
        let url = replay(vec![v1_twenty_call()], chunks).await;
        for format in [Some(Format::V1), None] {
            let c = client(&url).committee(format).await.unwrap();
            assert_eq!(c.source, "eth_call getCommitteeEnodes()");
            assert_eq!(sorted_keys(&c), want);
            // The same list, in the same order, as aut_getCommitteeEnodes gives.
            let url2 = replay(vec![v1_twenty_enodes()], chunks).await;
            let d = client(&url2).committee(format).await.unwrap();
            assert_eq!(c.members, d.members);
        }
    }
}

#[tokio::test]
async fn own_enode_from_a_194_kb_node_info() {
    let raw = read("v1/rpc/4-validators.admin_nodeInfo.http");
    assert!(raw.len() > 190_000);
    let keys = genesis_keys("v1/genesis-accepted.json");
    for chunks in [Chunks::One, Chunks::Of(2048)] {
        let url = replay(v1_four(), chunks).await;
        let enode = client(&url).own_enode().await.unwrap();
        let key = rpc::enode_key(&enode).unwrap();
        assert!(keys.contains(&key), "{key} not in the genesis");
        assert!(key.starts_with("04c2646f8cb37770"), "{key}");
    }
}

#[tokio::test]
async fn block0_hash_is_the_one_the_client_reported() {
    let url = replay(v1_four(), Chunks::One).await;
    assert_eq!(
        client(&url).block0_hash().await.unwrap(),
        text_hash("v1/genesis-accepted.block0-hash.txt")
    );
    let url = replay(v07(), Chunks::One).await;
    assert_eq!(
        client(&url).block0_hash().await.unwrap(),
        text_hash("v0.7/genesis-accepted.block0-hash.txt")
    );
}

/// `committee-address-to-enode.txt`: first 16 hex of each enode key -> its address.
fn address_table() -> BTreeMap<String, String> {
    String::from_utf8(read("v0.7/committee-address-to-enode.txt"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split_whitespace();
            (f.next().unwrap().into(), f.next().unwrap().into())
        })
        .collect()
}

fn v07_table(c: &rpc::Committee) -> BTreeMap<String, String> {
    c.members
        .iter()
        .map(|m| {
            (
                m.key.clone().unwrap()[..16].to_string(),
                m.address.to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn v07_committee_by_address_named_through_the_whitelist() {
    let want = address_table();
    assert_eq!(want.len(), 4);
    let url = replay(v07(), Chunks::One).await;
    for format in [Some(Format::V07), None] {
        let c = client(&url).committee(format).await.unwrap();
        assert_eq!(c.format, Format::V07);
        assert_eq!(c.source, "aut_getCommittee + aut_getWhitelist");
        assert_eq!(v07_table(&c), want);
    }
}

#[tokio::test]
async fn v07_committee_from_the_contract_when_the_aut_api_is_off() {
    let want = address_table();
    // Only the eth_call recordings: every aut_ method answers -32601.
    let url = replay(
        v07()
            .into_iter()
            .filter(|r| r.method == "eth_call")
            .collect(),
        Chunks::One,
    )
    .await;
    let c = client(&url).committee(Some(Format::V07)).await.unwrap();
    assert_eq!(
        c.source,
        "eth_call getCommittee() + eth_call getWhitelist()"
    );
    assert_eq!(v07_table(&c), want);
    // Found out: -32601, then getCommitteeEnodes() answered "0x", so v0.7.
    let c = client(&url).committee(None).await.unwrap();
    assert_eq!(c.format, Format::V07);
    assert_eq!(v07_table(&c), want);
}

#[tokio::test]
async fn v07_empty_answer_leads_to_the_v07_path_or_says_what_it_means() {
    // The recorded -32601 and "0x" answers.
    let url = replay(v07(), Chunks::One).await;
    let c = client(&url);
    let e = c
        .call_as::<Vec<String>>("aut_getCommitteeEnodes", json!([]), "enodes")
        .await
        .unwrap_err();
    assert!(e.is_method_not_found(), "{e}");
    assert_eq!(
        c.contract_call::<rpc::abi::v1::getCommitteeEnodesCall>()
            .await
            .unwrap(),
        None
    );
    assert_eq!(c.committee(None).await.unwrap().format, Format::V07);
    // Told v1, it is an error that says why, never a committee of nobody.
    let e = c.committee(Some(Format::V1)).await.unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "RPC {url} eth_call getCommitteeEnodes(): malformed answer (empty answer (0x): the \
             contract has no getCommitteeEnodes(), as in Autonity v0.7)"
        )
    );
}

#[tokio::test]
async fn check_on_the_real_answers() {
    // v0.7: own key from admin_nodeInfo, the committee found out; the recording stands still,
    // so the chain "stalls" at its block number.
    let url = replay(v07(), Chunks::One).await;
    let r = rpc::check(
        &client(&url),
        &Expectation::default(),
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    assert_eq!(r.profile, Some("v0.7"));
    assert!(r.own_in_committee, "{r:?}");
    assert_eq!(r.committee.len(), 4);
    assert_eq!(r.problem(), "blocks do not advance (still at 27)");
    assert_eq!(
        r.block0.as_deref(),
        Some(
            String::from_utf8(read("v0.7/genesis-accepted.block0-hash.txt"))
                .unwrap()
                .trim()
        )
    );

    // v1, four validators: everyone of the genesis in the committee; org2 published another
    // block 0 (the one 0.14.1 reports for the same genesis file), org3 none yet.
    let url = replay(v1_four(), Chunks::One).await;
    let keys = genesis_keys("v1/genesis-accepted.json");
    let ours = text_hash("v1/genesis-accepted.block0-hash.txt");
    let other: [u8; 32] =
        hex::decode("64cb667532264cb9d79bb0ff4b9d4e63df4163152ccbb9e7091a4f0017152bf2")
            .unwrap()
            .try_into()
            .unwrap();
    let expect = Expectation {
        own_key: None,
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("org{}", i + 1), k.clone()))
            .collect(),
        format: Some(Format::V1),
        block0: vec![
            ("org1".into(), Published::Block0(ours)),
            ("org2".into(), Published::Block0(other)),
            ("org3".into(), Published::NotYet),
        ],
    };
    let r = rpc::check(&client(&url), &expect, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(r.missing.is_empty(), "{:?}", r.missing);
    assert!(r.own_in_committee);
    assert_eq!(r.block0_not_reported, ["org3"]);
    assert_eq!(
        r.problem(),
        format!(
            "blocks do not advance (still at 40); org2's node reports block 0 0x{} but this \
             node 0x{}: not the same chain (another client version or genesis)",
            hex::encode(other),
            hex::encode(ours)
        )
    );
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_refused() {
    // The 194 KB admin_nodeInfo (chunked, no Content-Length) under a 64 KiB limit.
    let url = replay(v1_four(), Chunks::Of(4096)).await;
    let e = client(&url)
        .with_limit(64 << 10)
        .own_enode()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RpcError::TooLarge { method, limit: 65536, .. } if method == "admin_nodeInfo"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("RPC {url} admin_nodeInfo: answer larger than 65536 bytes, refused")
    );
    // A Content-Length over the limit is refused before the body is read.
    let url = replay(v07(), Chunks::One).await;
    let e = client(&url)
        .with_limit(500)
        .call_as::<Vec<String>>("aut_getWhitelist", json!([]), "enodes")
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::TooLarge { limit: 500, .. }), "{e}");
    // The same answers fit the default limit.
    assert!(client(&url)
        .call_as::<Vec<String>>("aut_getWhitelist", json!([]), "enodes")
        .await
        .is_ok());

    // Past the default limit (8 MiB): an answer of 9 MiB, in chunks.
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"enode\":\"enode://{}@127.0.0.1:1\",\"pad\":\"{}\"}}}}\n",
        "ab".repeat(64),
        "x".repeat(9 << 20)
    );
    let raw = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .as_slice(),
        big.as_bytes(),
    ]
    .concat();
    let url = replay(
        vec![Recording {
            method: "admin_nodeInfo".into(),
            params: None,
            raw,
        }],
        Chunks::Of(64 << 10),
    )
    .await;
    let e = client(&url).own_enode().await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::TooLarge {
                limit: rpc::BODY_LIMIT,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn one_connection_serves_every_call() {
    // Keep-alive: the calls of one check go over one connection.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recordings = Arc::new(v1_four());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(serve(stream, recordings.clone(), Chunks::One));
        }
    });
    let c = client(&url);
    let r = rpc::check(&c, &Expectation::default(), Duration::from_millis(300))
        .await
        .unwrap();
    assert!(r.own_in_committee);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}
