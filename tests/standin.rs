//! The Autonity stand-in and `dnsceremony check` against it: green, stalled chain, validator
//! left out, alarm hook, client rules, unknown flags, clean stop on SIGTERM.

use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dnsceremony::genesis::{self, Format, Member, Params};

const STANDIN: &str = env!("CARGO_BIN_EXE_autonity-standin");
const CLI: &str = env!("CARGO_BIN_EXE_dnsceremony");

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

/// A directory with a 4-validator v1 genesis and node `me`'s `autonitykeys`.
fn setup(me: u8) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let members: Vec<Member> = (1..=4u8)
        .map(|i| Member {
            org: format!("org{i}"),
            host: format!("v{i}.example"),
            enode_key: node_key(i),
            ip: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
            port: 30300 + u16::from(i),
            consensus_port: Some(20200 + u16::from(i)),
            consensus_key: Some(bls_secret(i).sk_to_pk().compress()),
            oracle_address: Some([i; 20]),
            treasury: Some([i; 20]),
        })
        .collect();
    let mut p = Params::defaults(65_110_000);
    p.operator = Some([0xaa; 20]);
    let g = genesis::build_from(Format::V1, &p, &members).unwrap();
    let gpath = dir.path().join("genesis.json");
    std::fs::write(&gpath, g.bytes()).unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let bls: [u8; 32] = bls_secret(me).to_bytes();
    dnsceremony::identity::Identity::from_secrets(&[me; 32], Some((&bls, &[0x77; 32])))
        .unwrap()
        .write_new(&keys)
        .unwrap();
    (dir, gpath, keys)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Standin {
    child: Child,
    port: u16,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn standin(dir: &Path, genesis: &Path, keys: &Path, extra: &[&str]) -> Standin {
    let port = free_port();
    let child = Command::new(STANDIN)
        .args(["--datadir", dir.join("data").to_str().unwrap()])
        .args(["--genesis", genesis.to_str().unwrap()])
        .args([
            "--autonitykeys",
            keys.join("autonitykeys").to_str().unwrap(),
        ])
        .args([
            "--port",
            "30301",
            "--consensus.port",
            "20203",
            "--networkid",
            "65110000",
        ])
        .args([
            "--nat",
            "extip:127.0.0.1",
            "--http",
            "--http.addr",
            "127.0.0.1",
        ])
        .args(["--http.port", &port.to_string()])
        .args(["--http.api", "aut,eth,net,web3,admin,tendermint", "--mine"])
        .args(extra)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "stand-in did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Standin { child, port }
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
fn green_when_all_is_well() {
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
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["schema"], "dnsceremony.check/v1");
    assert_eq!(report["ok"], true);
    assert_eq!(report["own_key"], hex::encode(node_key(2)));
    assert_eq!(report["committee"].as_array().unwrap().len(), 4);
    assert!(report["block_end"].as_u64() > report["block_start"].as_u64());

    // Without --keys the node's own key comes from admin_nodeInfo.
    let out = check(node.port, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
}

#[test]
fn alarm_when_blocks_stall() {
    let (dir, g, keys) = setup(1);
    let node = standin(dir.path(), &g, &keys, &["--standin.stall-after", "0"]);
    let hook = dir.path().join("hook.out");
    let cmd = format!(
        "printf '%s|%s' \"$DNSCEREMONY_MISSING\" \"$DNSCEREMONY_ALARM\" > {}",
        hook.display()
    );
    let out = check(node.port, &["--alarm-cmd", &cmd]);
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
    let details: serde_json::Value = serde_json::from_str(details).unwrap();
    assert_eq!(details["advancing"], false);
}

#[test]
fn alarm_names_the_validator_left_out() {
    let (dir, g, keys) = setup(1);
    let dropped = hex::encode(node_key(3));
    let node = standin(
        dir.path(),
        &g,
        &keys,
        &["--standin.drop-validator", &dropped],
    );
    let out = check(node.port, &["--genesis", g.to_str().unwrap()]);
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
    let (dir, g, keys) = setup(4);
    let node = standin(dir.path(), &g, &keys, &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = dnsceremony::rpc::Client::new(
        &format!("http://127.0.0.1:{}", node.port),
        Duration::from_secs(5),
    )
    .unwrap();
    let via_aut = rt.block_on(client.committee_enodes()).unwrap();
    let data = format!(
        "0x{}",
        hex::encode(dnsceremony::rpc::SEL_GET_COMMITTEE_ENODES)
    );
    let raw = rt
        .block_on(client.call(
            "eth_call",
            serde_json::json!([{"to": "0xBd770416a3345F91E4B34576cb804a576fa48EB1", "data": data}, "latest"]),
        ))
        .unwrap();
    let bytes = hex::decode(raw.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let via_call = dnsceremony::rpc::decode_string_array(&bytes).unwrap();
    assert_eq!(via_aut, via_call);
    assert_eq!(via_aut.len(), 4);
    let chain = rt
        .block_on(client.call("eth_chainId", serde_json::json!([])))
        .unwrap();
    assert_eq!(chain, format!("{:#x}", 65_110_000));
    let net = rt
        .block_on(client.call("net_version", serde_json::json!([])))
        .unwrap();
    assert_eq!(net, "65110000");
}

#[test]
fn refuses_unknown_flags_and_bad_genesis() {
    let (dir, g, keys) = setup(1);
    let out = Command::new(STANDIN)
        .args([
            "--datadir",
            "x",
            "--genesis",
            g.to_str().unwrap(),
            "--bogus-flag",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("flag provided but not defined: --bogus-flag"));

    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&g).unwrap()).unwrap();
    doc["config"]["autonity"]["validators"][2]["bondedStake"] = 0.into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, doc.to_string()).unwrap();
    let out = Command::new(STANDIN)
        .args(["--datadir", dir.path().join("d").to_str().unwrap()])
        .args(["--genesis", bad.to_str().unwrap()])
        .args([
            "--autonitykeys",
            keys.join("autonitykeys").to_str().unwrap(),
        ])
        .args(["--networkid", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("config.autonity.validators[2].bondedStake: must not be zero"),
        "{stderr}"
    );

    let out = Command::new(STANDIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("a stand-in for the Autonity client"));
}

#[test]
fn stops_cleanly_on_sigterm() {
    let (dir, g, keys) = setup(1);
    let mut node = standin(dir.path(), &g, &keys, &[]);
    let status = Command::new("kill")
        .args(["-TERM", &node.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
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

#[test]
fn watch_alarms_on_the_transition_with_hook_and_webhook() {
    use std::io::{Read, Write};
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
