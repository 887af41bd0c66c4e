//! The Autonity stand-in against the real client's recordings (`shared/vectors/autonity/`):
//! every recorded answer replayed (status, framing, JSON shape, and the values a genesis
//! decides), HTTP keep-alive, the consensus mesh (a star that halts when its centre is frozen,
//! an `acn` mesh that does not), the sync-mode stall at block 1, the client's refusals (a `0x`
//! key file, a bad genesis, an undefined flag); and `dnsceremony check` against the stand-in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const STANDIN: &str = env!("CARGO_BIN_EXE_autonity-standin");
const CLI: &str = env!("CARGO_BIN_EXE_dnsceremony");
const CONTRACT: &str = "0xbd770416a3345f91e4b34576cb804a576fa48eb1";

fn vectors(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vectors/autonity")
        .join(rel)
}

fn node_key(seed: u8) -> [u8; 64] {
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let sk = k256::SecretKey::from_slice(&[seed; 32]).unwrap();
    sk.public_key().to_encoded_point(false).as_bytes()[1..]
        .try_into()
        .unwrap()
}

fn bls_secret(seed: u8) -> blst::min_pk::SecretKey {
    blst::min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap()
}

/// `autonitykeys` content for `seed`: node key ‖ BLS key, 128 hex.
fn autonitykeys(seed: u8) -> String {
    format!(
        "{}{}",
        hex::encode([seed; 32]),
        hex::encode(bls_secret(seed).to_bytes())
    )
}

#[path = "support/ports.rs"]
mod ports;
use ports::free_port;

/// One validator of a hand-written v1 genesis.
struct Val {
    seed: u8,
    port: u16,
    acn: Option<u16>,
    stake: u64,
}

/// The accepted v1 genesis of the recordings with `vals` as its validators.
fn genesis_v1(vals: &[Val]) -> Value {
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(vectors("v1/genesis-accepted.json")).unwrap())
            .unwrap();
    doc["config"]["autonity"]["validators"] = vals
        .iter()
        .map(|v| {
            let acn = v
                .acn
                .map(|p| format!("?acn=127.0.0.1:{p}"))
                .unwrap_or_default();
            json!({
                "enode": format!("enode://{}@127.0.0.1:{}{acn}", hex::encode(node_key(v.seed)), v.port),
                "treasury": format!("0x{}", hex::encode([v.seed; 20])),
                "consensusKey": format!("0x{}", hex::encode(bls_secret(v.seed).sk_to_pk().compress())),
                "oracleAddress": format!("0x{}", hex::encode([v.seed ^ 0x80; 20])),
                "bondedStake": v.stake,
            })
        })
        .collect();
    doc
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// A running stand-in; killed on drop (after SIGCONT, in case a test froze it).
struct Standin {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Standin {
    fn drop(&mut self) {
        signal(&self.child, "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
}

impl Standin {
    /// Start with the key file flag `key_flag` (`--autonitykeys`/`--nodekey`) and `extra`
    /// flags; `networkid` 65110053 as in the recordings.
    fn start(dir: &Path, genesis: &Path, key_flag: &str, key: &Path, extra: &[&str]) -> Standin {
        let port = free_port();
        let log = dir.join(format!("standin-{port}.log"));
        let child = Command::new(STANDIN)
            .args([
                "--datadir",
                dir.join(format!("data-{port}")).to_str().unwrap(),
            ])
            .args(["--genesis", genesis.to_str().unwrap()])
            .args([key_flag, key.to_str().unwrap()])
            .args(["--networkid", "65110053", "--nat", "extip:127.0.0.1"])
            .args(["--http", "--http.addr", "127.0.0.1"])
            .args(["--http.port", &port.to_string()])
            .args(["--http.api", "aut,eth,net,web3,admin,tendermint"])
            .args(extra)
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut s = Standin { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = s.child.try_wait().unwrap() {
                panic!("stand-in exited with {status}: {}", s.log_text());
            }
            assert!(Instant::now() < deadline, "stand-in did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn call(&self, method: &str, params: Value) -> Value {
        let mut c = Http::connect(self.port);
        let r = c.post(
            &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
            true,
        );
        r.json()
    }

    fn height(&self) -> u64 {
        let v = self.call("eth_blockNumber", json!([]));
        u64::from_str_radix(v["result"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
struct Raw {
    status: String,
    headers: Vec<(String, String)>,
    chunked: bool,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// A recorded response (`curl -i` output: chunked bodies already joined).
    fn recorded(path: &Path) -> Raw {
        let raw = std::fs::read(path).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().to_string();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
        Raw {
            status,
            headers,
            chunked,
            body: raw[split + 4..].to_vec(),
        }
    }
}

/// A keep-alive HTTP/1.1 connection that reads responses itself (framing included).
struct Http {
    r: BufReader<TcpStream>,
    port: u16,
}

impl Http {
    fn connect(port: u16) -> Http {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Http {
            r: BufReader::new(s),
            port,
        }
    }

    fn post(&mut self, body: &str, close: bool) -> Raw {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{body}",
            self.port,
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        self.r.get_mut().write_all(req.as_bytes()).unwrap();
        self.read()
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l.trim_end_matches("\r\n").to_string()
    }

    fn read(&mut self) -> Raw {
        let status = self.line();
        let mut headers = Vec::new();
        loop {
            let l = self.line();
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').unwrap();
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let chunked = get("transfer-encoding").as_deref() == Some("chunked");
        let mut body = Vec::new();
        if chunked {
            loop {
                let size = usize::from_str_radix(&self.line(), 16).unwrap();
                let mut chunk = vec![0u8; size + 2];
                self.r.read_exact(&mut chunk).unwrap();
                body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else {
            let len: usize = get("content-length").unwrap().parse().unwrap();
            body.resize(len, 0);
            self.r.read_exact(&mut body).unwrap();
        }
        Raw {
            status,
            headers,
            chunked,
            body,
        }
    }

    /// Whether the server closed the connection.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.r.read(&mut b), Ok(0))
    }
}

/// Same JSON shape: the same keys in every object, the same types, arrays' elements shaped
/// like the recording's first element. Paths in `opaque` are compared by type only.
fn same_shape(ours: &Value, theirs: &Value, path: &str, opaque: &[&str]) -> Result<(), String> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if kind(ours) != kind(theirs) {
        return Err(format!(
            "{path}: {} where the client has {}",
            kind(ours),
            kind(theirs)
        ));
    }
    if opaque.contains(&path) {
        return Ok(());
    }
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            if ka != kb {
                return Err(format!("{path}: keys {ka:?}, the client's {kb:?}"));
            }
            for (k, v) in a {
                same_shape(v, &b[k], &format!("{path}.{k}"), opaque)?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.is_empty() != b.is_empty() {
                return Err(format!(
                    "{path}: {} elements, the client's {}",
                    a.len(),
                    b.len()
                ));
            }
            // A tuple (as aut_config's) element by element, a list against its first element.
            for (i, v) in a.iter().enumerate() {
                let other = if a.len() == b.len() { &b[i] } else { &b[0] };
                same_shape(v, other, &format!("{path}[{i}]"), opaque)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// How much of a recorded answer the stand-in must reproduce.
#[derive(Clone, Copy)]
enum Expect {
    /// Status, framing and shape.
    Shape,
    /// All that, and the same body (the genesis decides it).
    Equal,
    /// The same body except these result fields (hashes and roots of our own chain).
    EqualExcept(&'static [&'static str]),
}

fn compare(vector: &str, ours: &Raw, expect: Expect) {
    let theirs = Raw::recorded(&vectors(vector));
    assert_eq!(ours.status, theirs.status, "{vector}");
    assert_eq!(
        ours.header("Content-Type"),
        theirs.header("Content-Type"),
        "{vector}"
    );
    assert!(ours.header("Date").is_some(), "{vector}");
    assert_eq!(
        ours.chunked,
        theirs.chunked,
        "{vector}: framing (ours {} bytes)",
        ours.body.len()
    );
    assert_eq!(
        ours.header("Content-Length").is_some(),
        theirs.header("Content-Length").is_some(),
        "{vector}"
    );
    let (a, b) = (ours.json(), theirs.json());
    let opaque = [
        ".result.protocols.aut.config",
        ".result.protocols.tendermint.config",
    ];
    if let Err(e) = same_shape(&a, &b, "", &opaque) {
        panic!(
            "{vector}: {e}\nours: {}",
            &a.to_string()[..a.to_string().len().min(2000)]
        );
    }
    assert_eq!(a["error"], b["error"], "{vector}");
    match expect {
        Expect::Shape => {}
        Expect::Equal => assert_eq!(a, b, "{vector}"),
        Expect::EqualExcept(fields) => {
            let (mut a, mut b) = (a, b);
            for f in fields {
                a["result"][f] = Value::Null;
                b["result"][f] = Value::Null;
            }
            assert_eq!(a, b, "{vector}");
        }
    }
}

fn ask(s: &Standin, method: &str, params: Value) -> Raw {
    Http::connect(s.port).post(
        &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
        false,
    )
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

const OWN_CHAIN: &[&str] = &["hash", "stateRoot", "size"];

#[test]
fn replays_the_v1_recordings() {
    let dir = tempfile::tempdir().unwrap();
    // The four-validator network, asked from a node outside the committee.
    let key = write(dir.path(), "autonitykeys", autonitykeys(9).as_bytes());
    let cport = free_port().to_string();
    let s = Standin::start(
        dir.path(),
        &vectors("v1/genesis-accepted.json"),
        "--autonitykeys",
        &key,
        &["--consensus.port", &cport, "--syncmode", "full"],
    );
    let cases: &[(&str, Expect)] = &[
        ("admin_nodeInfo", Expect::Shape),
        ("aut_config", Expect::Equal),
        ("aut_getCommittee", Expect::Equal),
        ("aut_getCommitteeEnodes", Expect::Equal),
        ("eth_blockNumber", Expect::Shape),
        ("eth_getBlockByNumber0", Expect::EqualExcept(OWN_CHAIN)),
    ];
    for (name, expect) in cases {
        let (method, params) = match *name {
            "eth_getBlockByNumber0" => ("eth_getBlockByNumber", json!(["0x0", false])),
            m => (m, json!([])),
        };
        compare(
            &format!("v1/rpc/4-validators.{name}.http"),
            &ask(&s, method, params),
            *expect,
        );
    }
    // Numbers beyond 64 bits are written as integers, as Go writes a *big.Int.
    let config = ask(&s, "aut_config", json!([]));
    assert!(
        String::from_utf8_lossy(&config.body)
            .contains("\"initialInflationReserve\":40000000000000000000000000,"),
        "{}",
        String::from_utf8_lossy(&config.body)
    );
    // admin_nodeInfo is as large as the client's (it embeds the contract's bytecode).
    let info = ask(&s, "admin_nodeInfo", json!([]));
    assert!(
        (150_000..250_000).contains(&info.body.len()),
        "{}",
        info.body.len()
    );
    let info = info.json();
    assert_eq!(
        info["result"]["enode"],
        format!("enode://{}@127.0.0.1:30303", hex::encode(node_key(9)))
    );
    let block0 = ask(&s, "eth_getBlockByNumber", json!(["0x0", false])).json();
    assert_eq!(
        info["result"]["protocols"]["aut"]["genesis"],
        block0["result"]["hash"]
    );

    // Another contracts version: another block 0 on the same file, as 0.14.0 and 0.14.1 have.
    let dir2 = tempfile::tempdir().unwrap();
    let cport2 = free_port().to_string();
    let s2 = Standin::start(
        dir2.path(),
        &vectors("v1/genesis-accepted.json"),
        "--autonitykeys",
        &key,
        &[
            "--consensus.port",
            &cport2,
            "--standin.contracts",
            "v0.14.1",
        ],
    );
    let other = ask(&s2, "eth_getBlockByNumber", json!(["0x0", false])).json();
    assert_ne!(other["result"]["hash"], block0["result"]["hash"]);
    assert!(other["result"]["hash"].as_str().unwrap().len() == 66);
    drop(s2);
    let s3 = Standin::start(
        dir2.path(),
        &vectors("v1/genesis-accepted.json"),
        "--autonitykeys",
        &key,
        &["--consensus.port", &cport2],
    );
    let same = ask(&s3, "eth_getBlockByNumber", json!(["0x0", false])).json();
    assert_eq!(same["result"]["hash"], block0["result"]["hash"]);
    drop(s3);

    // The twenty-validator network, asked from the node with the keys of pop.json vector 1.
    let pop: Value =
        serde_json::from_slice(&std::fs::read(vectors("v1/pop.json")).unwrap()).unwrap();
    let keys20 = format!(
        "{}{}",
        pop[0]["node_key"].as_str().unwrap(),
        pop[0]["consensus_key"].as_str().unwrap()
    );
    let key20 = write(dir.path(), "autonitykeys20", keys20.as_bytes());
    let cport20 = free_port().to_string();
    let s20 = Standin::start(
        dir.path(),
        &vectors("v1/genesis-20-validators.json"),
        "--autonitykeys",
        &key20,
        &["--consensus.port", &cport20, "--syncmode", "full"],
    );
    let data = json!([{"to": CONTRACT, "data": "0xa8b2216e"}, "latest"]);
    let cases: &[(&str, &str, Value, Expect)] = &[
        (
            "aut_getCommittee",
            "aut_getCommittee",
            json!([]),
            Expect::Equal,
        ),
        (
            "aut_getCommitteeEnodes",
            "aut_getCommitteeEnodes",
            json!([]),
            Expect::Equal,
        ),
        (
            "eth_call-getCommitteeEnodes",
            "eth_call",
            data,
            Expect::Equal,
        ),
        (
            "eth_getBlockByNumber0",
            "eth_getBlockByNumber",
            json!(["0x0", false]),
            Expect::EqualExcept(OWN_CHAIN),
        ),
    ];
    for (name, method, params, expect) in cases {
        compare(
            &format!("v1/rpc/20-validators.{name}.http"),
            &ask(&s20, method, params.clone()),
            *expect,
        );
    }
    drop(s);
}

#[test]
fn replays_the_v07_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let key = write(dir.path(), "nodekey", hex::encode([9u8; 32]).as_bytes());
    let s = Standin::start(
        dir.path(),
        &vectors("v0.7/genesis-accepted.json"),
        "--nodekey",
        &key,
        &["--syncmode", "full", "--mine"],
    );
    wait_until("block 2", 10, || s.height() >= 2);
    // Everything recorded except the consensus core's internal state.
    let not_imitated = ["tendermint_getCoreState"];
    let mut names: Vec<String> = std::fs::read_dir(vectors("v0.7/rpc"))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".req").map(String::from)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 28, "{names:?}");
    for name in names.iter().filter(|n| !not_imitated.contains(&n.as_str())) {
        let mut req: Value = serde_json::from_slice(
            &std::fs::read(vectors(&format!("v0.7/rpc/{name}.req"))).unwrap(),
        )
        .unwrap();
        if name == "tendermint_getCommittee_head" {
            req["params"][0] = json!(format!("{:#x}", s.height()));
        }
        let ours = Http::connect(s.port).post(&req.to_string(), false);
        let expect = match name.as_str() {
            "eth_getBlockByNumber_0x0" => Expect::EqualExcept(OWN_CHAIN),
            "admin_nodeInfo"
            | "eth_blockNumber"
            | "eth_getBlockByNumber_latest"
            | "net_peerCount"
            | "web3_clientVersion"
            | "tendermint_getContractABI"
            // Recorded in another order than the genesis (the client's map order).
            | "tendermint_getWhitelist" => Expect::Shape,
            _ => Expect::Equal,
        };
        compare(&format!("v0.7/rpc/{name}.http"), &ours, expect);
    }
    for name in not_imitated {
        assert!(names.iter().any(|n| n == name), "{name} is not recorded");
    }
    // Committee addresses are keccak256(enode key)[12:] of the genesis users.
    let committee = s.call("aut_getCommittee", json!([]));
    let map = std::fs::read_to_string(vectors("v0.7/committee-address-to-enode.txt")).unwrap();
    for m in committee["result"].as_array().unwrap() {
        assert!(map.contains(m["addr"].as_str().unwrap()), "{m}");
    }
    let info = s.call("admin_nodeInfo", json!([]));
    assert!(info["result"]["name"]
        .as_str()
        .unwrap()
        .starts_with("autonity-standin/v0.7.1/"));
}

#[test]
fn http_keeps_alive_and_frames_like_go() {
    let dir = tempfile::tempdir().unwrap();
    let key = write(dir.path(), "autonitykeys", autonitykeys(9).as_bytes());
    let cport = free_port().to_string();
    let s = Standin::start(
        dir.path(),
        &vectors("v1/genesis-20-validators.json"),
        "--autonitykeys",
        &key,
        &["--consensus.port", &cport],
    );
    let mut c = Http::connect(s.port);
    let small = c.post(
        r#"{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}"#,
        false,
    );
    assert_eq!(small.status, "HTTP/1.1 200 OK");
    assert!(!small.chunked);
    assert_eq!(
        small.header("Content-Length").unwrap(),
        small.body.len().to_string()
    );
    assert!(small.body.ends_with(b"}\n"));
    assert_eq!(small.json()["id"], 7);
    // 20 enodes are more than 2,048 bytes: chunked, on the same connection.
    let big = c.post(
        r#"{"jsonrpc":"2.0","id":8,"method":"aut_getCommitteeEnodes","params":[]}"#,
        false,
    );
    assert!(big.chunked && big.header("Content-Length").is_none());
    assert_eq!(big.json()["result"].as_array().unwrap().len(), 20);
    // A batch, then Connection: close ends the connection.
    let batch = c.post(
        r#"[{"jsonrpc":"2.0","id":1,"method":"net_version"},{"jsonrpc":"2.0","id":2,"method":"nope_x"}]"#,
        false,
    );
    let b = batch.json();
    assert_eq!(b[0]["result"], "65110053");
    assert_eq!(b[1]["error"]["code"], -32601);
    let last = c.post(
        r#"{"jsonrpc":"2.0","id":9,"method":"eth_blockNumber"}"#,
        true,
    );
    assert_eq!(last.header("Connection"), Some("close"));
    assert!(c.closed());
    // The client's request checks.
    let mut c = Http::connect(s.port);
    c.r.get_mut()
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let r = c.read();
    assert_eq!(r.status, "HTTP/1.1 403 Forbidden");
    c.r.get_mut()
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let r = c.read();
    assert_eq!(r.status, "HTTP/1.1 415 Unsupported Media Type");
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "invalid content type, only application/json is supported\n"
    );
    // Observed on the 0.14.0 client (same genesis, a node alone at block 0): health check,
    // path, envelopes of malformed calls, argument errors, the committee by block number.
    c.r.get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let r = c.read();
    assert_eq!((r.status.as_str(), r.body.len()), ("HTTP/1.1 200 OK", 0));
    c.r.get_mut()
        .write_all(b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    assert_eq!(c.read().status, "HTTP/1.1 404 Not Found");
    let answers = [
        (
            "not json",
            json!({"code": -32700, "message": "parse error"}),
        ),
        ("[]", json!({"code": -32600, "message": "empty batch"})),
        (
            r#"{"jsonrpc":"2.0","id":1}"#,
            json!({"code": -32600, "message": "invalid request"}),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x0"]}"#,
            json!({"code": -32602, "message": "missing value for required argument 1"}),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":[1,false]}"#,
            json!({"code": -32602, "message": "invalid argument 0: hex string without 0x prefix"}),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tendermint_getCommittee","params":["latest"]}"#,
            json!({"code": -32000, "message": "execution reverted"}),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tendermint_getCommittee","params":["0x5"]}"#,
            json!({"code": -32000, "message": "execution reverted"}),
        ),
    ];
    for (body, error) in answers {
        assert_eq!(c.post(body, false).json()["error"], error, "{body}");
    }
    let r = c.post(
        r#"{"jsonrpc":"2.0","id":1,"method":"tendermint_getCommittee","params":["0x0"]}"#,
        false,
    );
    assert_eq!(r.json()["result"]["members"].as_array().unwrap().len(), 20);
    let r = c.post(
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x99999",false]}"#,
        false,
    );
    assert_eq!(r.json()["result"], Value::Null);
    // A namespace left out of --http.api is absent, as in the client.
    let dir2 = tempfile::tempdir().unwrap();
    let cport2 = free_port().to_string();
    let s2 = Standin::start(
        dir2.path(),
        &vectors("v1/genesis-20-validators.json"),
        "--autonitykeys",
        &key,
        &["--consensus.port", &cport2, "--http.api", "eth,net"],
    );
    let r = s2.call("aut_getCommitteeEnodes", json!([]));
    assert_eq!(
        r["error"],
        json!({"code": -32601, "message": "the method aut_getCommitteeEnodes does not exist/is not available"})
    );
}

/// Four v1 stand-ins on 127.0.0.1, block period 1 s, `--syncmode full` unless `snap`.
/// `acn`: each enode carries its node's consensus endpoint; otherwise every node dials the
/// default port, which only node 0 listens on.
fn four(dir: &Path, acn: bool, snap: bool) -> Vec<Standin> {
    let centre = free_port();
    let cports: Vec<u16> = (0..4)
        .map(|i| if i == 0 && !acn { centre } else { free_port() })
        .collect();
    let vals: Vec<Val> = (0..4)
        .map(|i| Val {
            seed: i as u8 + 1,
            port: 30401 + i as u16,
            acn: acn.then_some(cports[i]),
            stake: 10_000,
        })
        .collect();
    let g = write(
        dir,
        "genesis.json",
        genesis_v1(&vals).to_string().as_bytes(),
    );
    (0..4)
        .map(|i| {
            let key = write(
                dir,
                &format!("keys{i}"),
                autonitykeys(i as u8 + 1).as_bytes(),
            );
            let cp = cports[i].to_string();
            let dp = centre.to_string();
            let mut extra = vec!["--consensus.port", &cp, "--standin.acn-default-port", &dp];
            if !snap {
                extra.extend(["--syncmode", "full"]);
            }
            Standin::start(dir, &g, "--autonitykeys", &key, &extra)
        })
        .collect()
}

fn heights(nodes: &[Standin]) -> Vec<u64> {
    nodes.iter().map(Standin::height).collect()
}

#[test]
fn a_star_without_acn_halts_when_its_centre_is_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = four(dir.path(), false, false);
    wait_until("all four at block 2", 30, || {
        heights(&nodes).iter().all(|&h| h >= 2)
    });
    // Node 0 is the only one listening where everyone dials: freeze it.
    signal(&nodes[0].child, "STOP");
    std::thread::sleep(Duration::from_secs(3));
    let before = heights(&nodes[1..]);
    std::thread::sleep(Duration::from_secs(3));
    let after = heights(&nodes[1..]);
    assert_eq!(
        before, after,
        "the star kept making blocks without its centre"
    );
    // Thawed, the centre joins again and blocks advance.
    signal(&nodes[0].child, "CONT");
    wait_until("blocks after the thaw", 20, || {
        heights(&nodes[1..]).iter().zip(&after).all(|(h, a)| h > a)
    });
}

#[test]
fn an_acn_mesh_keeps_making_blocks_without_one_validator() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = four(dir.path(), true, false);
    wait_until("all four at block 2", 30, || {
        heights(&nodes).iter().all(|&h| h >= 2)
    });
    // admin_peers lists the live links in the client's shape.
    compare(
        "v1/rpc/4-validators.admin_peers.http",
        &ask(&nodes[1], "admin_peers", json!([])),
        Expect::Shape,
    );
    signal(&nodes[0].child, "STOP");
    std::thread::sleep(Duration::from_secs(3));
    let before = heights(&nodes[1..]);
    std::thread::sleep(Duration::from_secs(5));
    let after = heights(&nodes[1..]);
    for (b, a) in before.iter().zip(&after) {
        assert!(
            a > b,
            "three of four stopped making blocks: {before:?} -> {after:?}"
        );
    }
    // The frozen node stays where it was.
    signal(&nodes[0].child, "CONT");
    let peers = nodes[1].call("net_peerCount", json!([]));
    assert!(peers["result"].is_string());
}

#[test]
fn without_full_sync_the_chain_stops_at_block_1() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = four(dir.path(), true, true);
    wait_until("block 1 everywhere", 30, || {
        heights(&nodes).iter().all(|&h| h == 1)
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(heights(&nodes), [1, 1, 1, 1]);
    let logging = nodes
        .iter()
        .filter(|n| {
            n.log_text().lines().any(|l| {
                l.starts_with("WARN [")
                    && l.contains("Fast syncing, discarded propagated block number=2 hash=0x")
            })
        })
        .count();
    // The proposer of block 2 does not log it; the three others do.
    assert_eq!(logging, 3, "{}", nodes[0].log_text());
}

#[test]
fn refuses_what_the_client_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let g = write(
        dir.path(),
        "genesis.json",
        genesis_v1(&[Val {
            seed: 1,
            port: 30303,
            acn: None,
            stake: 1,
        }])
        .to_string()
        .as_bytes(),
    );
    // Each of these must end by itself: one that starts is stopped after 10 s (status None).
    let run = |args: &[&str]| {
        let err = dir.path().join("stderr");
        let mut child = Command::new(STANDIN)
            .args(["--datadir", dir.path().join("d").to_str().unwrap()])
            .args(["--networkid", "1"])
            .args(args)
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (code, std::fs::read_to_string(&err).unwrap_or_default())
    };
    // A key file with a 0x prefix.
    let k = write(
        dir.path(),
        "k0x",
        format!("0x{}\n", autonitykeys(1)).as_bytes(),
    );
    let (code, stderr) = run(&[
        "--genesis",
        g.to_str().unwrap(),
        "--autonitykeys",
        k.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(k.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("at end of key file"), "{stderr}");
    // The same key without it is accepted (the process starts; stop it).
    let k = write(dir.path(), "k", format!("{}\n", autonitykeys(1)).as_bytes());
    let cport = free_port().to_string();
    let s = Standin::start(
        dir.path(),
        &g,
        "--autonitykeys",
        &k,
        &["--consensus.port", &cport],
    );
    drop(s);
    // The TOML configuration the tool writes for the client is read; a broken one refused.
    let toml_ok = write(
        dir.path(),
        "config.toml",
        b"[Node.ExecutionP2P]\nStaticNodes = [\"enode://00@127.0.0.1:1\"]\n",
    );
    let cport = free_port().to_string();
    drop(Standin::start(
        dir.path(),
        &g,
        "--autonitykeys",
        &k,
        &[
            "--consensus.port",
            &cport,
            "--config",
            toml_ok.to_str().unwrap(),
        ],
    ));
    let toml_bad = write(dir.path(), "bad.toml", b"[Node\nStaticNodes = \n");
    let (code, stderr) = run(&[
        "--genesis",
        g.to_str().unwrap(),
        "--autonitykeys",
        k.to_str().unwrap(),
        "--config",
        toml_bad.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
    // A v0.7 flag on a v1 genesis.
    let (code, stderr) = run(&[
        "--genesis",
        g.to_str().unwrap(),
        "--nodekey",
        k.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("flag provided but not defined: -nodekey"),
        "{stderr}"
    );
    // An undefined flag.
    let (code, stderr) = run(&["--bogus-flag", "1"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("flag provided but not defined: -bogus-flag"),
        "{stderr}"
    );
    // A genesis rule: one line naming the file and the field.
    let mut doc = genesis_v1(&[Val {
        seed: 1,
        port: 30303,
        acn: None,
        stake: 1,
    }]);
    doc["config"]["autonity"]["validators"][0]["bondedStake"] = 0.into();
    let bad = write(dir.path(), "bad.json", doc.to_string().as_bytes());
    let (code, stderr) = run(&[
        "--genesis",
        bad.to_str().unwrap(),
        "--autonitykeys",
        k.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(bad.to_str().unwrap()), "{stderr}");
    assert!(
        stderr.contains("config.autonity.validators[0].bondedStake: must not be zero"),
        "{stderr}"
    );
    // No initialInflationReserve: the client panics deploying the contract (exit status 2).
    let mut doc = genesis_v1(&[Val {
        seed: 1,
        port: 30303,
        acn: None,
        stake: 1,
    }]);
    doc["config"]["autonity"]
        .as_object_mut()
        .unwrap()
        .remove("initialInflationReserve");
    let nil = write(dir.path(), "nil.json", doc.to_string().as_bytes());
    let (code, stderr) = run(&[
        "--genesis",
        nil.to_str().unwrap(),
        "--autonitykeys",
        k.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("nil.json") && stderr.contains("config.autonity.initialInflationReserve"),
        "{stderr}"
    );
    // The consensus port taken: the client stops.
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, stderr) = run(&[
        "--genesis",
        g.to_str().unwrap(),
        "--autonitykeys",
        k.to_str().unwrap(),
        "--consensus.port",
        &port,
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Error starting protocol stack"), "{stderr}");

    let out = Command::new(STANDIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("a stand-in for the Autonity client"));
}

#[test]
fn stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let key = write(dir.path(), "autonitykeys", autonitykeys(9).as_bytes());
    let cport = free_port().to_string();
    let mut node = Standin::start(
        dir.path(),
        &vectors("v1/genesis-accepted.json"),
        "--autonitykeys",
        &key,
        &["--consensus.port", &cport],
    );
    signal(&node.child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(s) = node.child.try_wait().unwrap() {
            assert_eq!(s.code(), Some(0));
            break;
        }
        assert!(Instant::now() < deadline, "stand-in ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- `dnsceremony check` against the stand-in ----

/// A directory with a 4-validator v1 genesis in which node `me` holds more than 2/3 of the
/// voting power (so it makes blocks alone), and `me`'s key directory.
fn setup(me: u8) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let vals: Vec<Val> = (1..=4u8)
        .map(|i| Val {
            seed: i,
            port: 30300 + u16::from(i),
            acn: None,
            stake: if i == me { 10_000 } else { 1 },
        })
        .collect();
    let gpath = write(
        dir.path(),
        "genesis.json",
        genesis_v1(&vals).to_string().as_bytes(),
    );
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let bls: [u8; 32] = bls_secret(me).to_bytes();
    dnsceremony::identity::Identity::from_secrets(&[me; 32], Some((&bls, &[0x77; 32])))
        .unwrap()
        .write_new(&keys)
        .unwrap();
    (dir, gpath, keys)
}

fn standin(dir: &Path, genesis: &Path, keys: &Path, extra: &[&str]) -> Standin {
    let cport = free_port().to_string();
    let mut args = vec!["--consensus.port", &cport, "--syncmode", "full", "--mine"];
    args.extend(extra);
    Standin::start(
        dir,
        genesis,
        "--autonitykeys",
        &keys.join("autonitykeys"),
        &args,
    )
}

fn check(port: u16, args: &[&str]) -> std::process::Output {
    Command::new(CLI)
        .args([
            "check",
            "--rpc",
            &format!("http://127.0.0.1:{port}"),
            "--window",
            "4s",
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_is_green_when_all_is_well() {
    let (dir, g, keys) = setup(2);
    let node = standin(dir.path(), &g, &keys, &[]);
    let out = check(
        node.port,
        &[
            "--keys",
            keys.to_str().unwrap(),
            "--genesis",
            g.to_str().unwrap(),
            "--json",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["schema"], "dnsceremony.check/v1");
    assert_eq!(report["ok"], true);
    assert_eq!(report["own_key"], hex::encode(node_key(2)));
    assert_eq!(report["committee"].as_array().unwrap().len(), 4);
    assert!(report["block_end"].as_u64() > report["block_start"].as_u64());
}

#[test]
fn check_reads_its_own_key_from_the_194_kb_node_info() {
    // admin_nodeInfo is chunked, as the client sends it.
    let (dir, g, keys) = setup(2);
    let node = standin(dir.path(), &g, &keys, &[]);
    let out = check(node.port, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
}

#[test]
fn check_alarms_when_blocks_stall() {
    let (dir, g, keys) = setup(1);
    let node = standin(dir.path(), &g, &keys, &["--standin.stall-after", "0"]);
    let hook = dir.path().join("hook.out");
    let cmd = format!(
        "printf '%s|%s' \"$DNSCEREMONY_MISSING\" \"$DNSCEREMONY_ALARM\" > {}",
        hook.display()
    );
    let out = check(
        node.port,
        &["--alarm-cmd", &cmd, "--keys", keys.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(stderr.starts_with("dnsceremony: alarm ("), "{stderr}");
    assert!(
        stderr.contains("blocks do not advance (still at 0)"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let hook = std::fs::read_to_string(hook).unwrap();
    let (missing, details) = hook.split_once('|').unwrap();
    assert_eq!(missing, "");
    let details: Value = serde_json::from_str(details).unwrap();
    assert_eq!(details["advancing"], false);
}

#[test]
fn check_names_the_validator_left_out() {
    let (dir, g, keys) = setup(1);
    let dropped = hex::encode(node_key(3));
    let node = standin(
        dir.path(),
        &g,
        &keys,
        &["--standin.drop-validator", &dropped],
    );
    let out = check(
        node.port,
        &[
            "--genesis",
            g.to_str().unwrap(),
            "--keys",
            keys.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "missing from the committee: validator {}",
            &dropped[..16]
        )),
        "{stderr}"
    );

    // Leaving this node itself out is named as such (committee read via eth_call when the
    // aut API is off).
    let own = hex::encode(node_key(1));
    let node = standin(
        dir.path(),
        &g,
        &keys,
        &[
            "--standin.drop-validator",
            &own,
            "--http.api",
            "eth,net,admin",
        ],
    );
    let out = check(node.port, &["--keys", keys.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(
        stderr.contains("missing from the committee: this node"),
        "{stderr}"
    );
}

#[test]
fn committee_by_eth_call_matches_aut_api() {
    use alloy_sol_types::SolValue;
    let (dir, g, keys) = setup(4);
    let node = standin(dir.path(), &g, &keys, &[]);
    let via_aut: Vec<String> =
        serde_json::from_value(node.call("aut_getCommitteeEnodes", json!([]))["result"].clone())
            .unwrap();
    let raw = node.call(
        "eth_call",
        json!([{"to": "0xBd770416a3345F91E4B34576cb804a576fa48EB1", "data": "0xa8b2216e"}, "latest"]),
    );
    let bytes = hex::decode(raw["result"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let via_call = Vec::<String>::abi_decode(&bytes).unwrap();
    assert_eq!(via_aut, via_call);
    assert_eq!(via_aut.len(), 4);
    // Any other function of the contract reaches its empty fallback.
    let fallback = node.call(
        "eth_call",
        json!([{"to": CONTRACT, "data": "0x12345678"}, "latest"]),
    );
    assert_eq!(fallback["result"], "0x");
    assert_eq!(
        node.call("eth_chainId", json!([]))["result"],
        format!("{:#x}", 65_110_053)
    );
    assert_eq!(node.call("net_version", json!([]))["result"], "65110053");
}

#[test]
fn watch_alarms_on_the_transition_with_hook_and_webhook() {
    let (dir, g, keys) = setup(1);
    let node = standin(dir.path(), &g, &keys, &["--standin.stall-after", "3"]);
    // A one-shot webhook receiver.
    let hook_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_port = hook_listener.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || {
        let (mut s, _) = hook_listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&buf).contains("\"schema\"") || !buf.ends_with(b"}") {
            let n = s.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    });
    let out_file = dir.path().join("alarms");
    let cmd = format!("echo \"$DNSCEREMONY_PROBLEM\" >> {}", out_file.display());
    let mut watch = Command::new(CLI)
        .args(["check", "--rpc", &format!("http://127.0.0.1:{}", node.port)])
        .args(["--keys", keys.to_str().unwrap()])
        .args(["--window", "2s", "--watch", "--interval", "500ms"])
        .args(["--alarm-cmd", &cmd])
        .args([
            "--alarm-webhook",
            &format!("http://127.0.0.1:{hook_port}/hook"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&out_file)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "no alarm while watching a stalled chain"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stay a little longer: no second alarm without a transition.
    std::thread::sleep(Duration::from_secs(3));
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("ok: "), "green first: {stdout}");
    assert_eq!(
        stderr.matches("dnsceremony: alarm (").count(),
        1,
        "{stderr}"
    );
    let alarms = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(
        alarms.lines().collect::<Vec<_>>(),
        ["blocks do not advance (still at 3)"]
    );
    let request = receiver.join().unwrap();
    assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
    assert!(
        request.contains("\"schema\":\"dnsceremony.alarm/v1\""),
        "{request}"
    );
    assert!(request.contains("\"advancing\":false"), "{request}");
}

#[test]
fn watching_an_unreachable_node_alarms_once_and_keeps_watching() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("alarms");
    let cmd = format!("echo \"$DNSCEREMONY_PROBLEM\" >> {}", out_file.display());
    let port = free_port();
    let mut watch = Command::new(CLI)
        .args(["check", "--rpc", &format!("http://127.0.0.1:{port}")])
        .args(["--watch", "--interval", "200ms", "--alarm-cmd", &cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        watch.try_wait().unwrap().is_none(),
        "watch ended on an unreachable node"
    );
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("alarm (").count(), 1, "{stderr}");
    assert!(
        stderr.contains("node unreachable: RPC http://127.0.0.1:"),
        "{stderr}"
    );
    let alarms = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(alarms.lines().count(), 1, "{alarms}");
}
