//! What an operator meets around the ceremony: Ctrl-C and SIGTERM in `run` (exit 130/143 and
//! a line saying where the ceremony stopped, then a resume), `check --watch` reporting every
//! change of state and reminding while one lasts (against the Autonity stand-in, stalled then
//! killed), `check --json` printing a document whatever happens, and the shell completions and
//! manual pages generated from the command-line definition.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dnsceremony::lab::hierarchy::{Algorithm, Hierarchy, OrgZone, ResolverMode, Signing};
use serde_json::{json, Value};

const CLI: &str = env!("CARGO_BIN_EXE_dnsceremony");
const STANDIN: &str = env!("CARGO_BIN_EXE_autonity-standin");

#[path = "support/ports.rs"]
mod ports;
use ports::free_port;

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pid}");
}

/// A child whose stdout lines arrive on a channel (stderr is collected at the end).
struct Watched {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watched {
    fn spawn(cmd: &mut Command) -> Watched {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Wait for a stdout line that `f` accepts; returns it.
    fn expect_line(&mut self, what: &str, secs: u64, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if f(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let stderr = self
                        .child
                        .stderr
                        .take()
                        .map(|mut e| {
                            let mut s = String::new();
                            let _ = std::io::Read::read_to_string(&mut e, &mut s);
                            s
                        })
                        .unwrap_or_default();
                    panic!(
                        "no line {what} within {secs} s; stdout:\n{}\nstderr:\n{stderr}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Wait for the exit (at most `secs`): status code and stderr.
    fn finish(&mut self, secs: u64) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("did not exit within {secs} s: {}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
        }
        (status.code(), stderr)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- `run` interrupted ----

/// Two organisations' zones, dynamically signed and TSIG-updatable.
fn two_org_lab() -> Hierarchy {
    Hierarchy::builder()
        .zones(["ogr1.com", "ogr2.net"].iter().map(|z| {
            OrgZone::new(z).signing(Signing::Dynamic {
                algorithm: Algorithm::EcdsaP256,
                nsec3: None,
            })
        }))
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds")
}

fn two_org_manifest(lab: &Hierarchy, dir: &Path) -> PathBuf {
    let text = format!(
        "[ceremony]\nname = \"interrupt-net\"\nprofile = \"v1\"\n\n[genesis]\nchain_id = 65110000\n\
         operator = \"0x{op}\"\nepoch_period = 30\n\n\
         [[orgs]]\nname = \"org1\"\nhost = \"validator1.ogr1.com\"\n\n\
         [[orgs]]\nname = \"org2\"\nhost = \"val2.ogr2.net\"\n\n\
         [dns]\nanchor = \"{anchor}\"\nroots = [\"{root}\"]\n\n\
         [timing]\npoll_interval = \"1s\"\n",
        op = "ab".repeat(20),
        anchor = lab.anchor.dnskey.display(),
        root = lab.root
    );
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// org1's `run --until genesis` (org2 never publishes, so it waits for org2's records).
fn run_org1(lab: &Hierarchy, base: &Path, manifest: &Path) -> Watched {
    let zone = lab.zone("ogr1.com").expect("zone");
    let tsig = zone.tsig.as_ref().expect("dynamic zone");
    Watched::spawn(
        Command::new(CLI)
            .arg("run")
            .args(["--manifest", manifest.to_str().unwrap()])
            .args(["--org", "org1", "--ip", "127.0.0.1"])
            .args(["--keys", base.join("keys").to_str().unwrap()])
            .args(["--server", &zone.server.to_string()])
            .args(["--tsig", tsig.file.to_str().unwrap()])
            .args(["--datadir", base.join("data").to_str().unwrap()])
            .args(["--until", "genesis"]),
    )
}

fn state_phase(base: &Path) -> String {
    let state: Value =
        serde_json::from_slice(&std::fs::read(base.join("data/ceremony.json")).unwrap()).unwrap();
    state["phase"].as_str().unwrap().to_string()
}

#[test]
fn an_interrupted_run_says_where_it_stopped_and_resumes() {
    let lab = two_org_lab();
    let base = tempfile::tempdir().unwrap();
    let manifest = two_org_manifest(&lab, base.path());

    // Ctrl-C while waiting for org2's records.
    let mut run = run_org1(&lab, base.path(), &manifest);
    run.expect_line("waiting for org2's records", 60, |l| {
        l.starts_with("waiting for records: org2")
    });
    signal(run.child.id(), "INT");
    let (code, stderr) = run.finish(10);
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        stderr.lines().last().unwrap_or_default(),
        "dnsceremony: run: interrupted (SIGINT) while waiting for every organisation's \
         records to be secure (phase published; no records yet from org2); run again to resume",
    );
    assert_eq!(state_phase(base.path()), "published");

    // Run again: it resumes from the state file; SIGTERM is 143 with the same line.
    let mut run = run_org1(&lab, base.path(), &manifest);
    run.expect_line("the resume", 30, |l| {
        l == "resumed: the ceremony had reached published"
    });
    run.expect_line("waiting for org2's records again", 60, |l| {
        l.starts_with("waiting for records: org2")
    });
    signal(run.child.id(), "TERM");
    let (code, stderr) = run.finish(10);
    assert_eq!(code, Some(143), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "dnsceremony: run: terminated (SIGTERM) while waiting for every organisation's records"
        ) && last.ends_with("; run again to resume"),
        "{stderr}"
    );
}

#[test]
fn an_interrupt_while_supervising_stops_the_client_and_is_not_success() {
    // One organisation: its ceremony completes alone and `run` supervises the stand-in.
    let lab = Hierarchy::builder()
        .zones([OrgZone::new("ogr1.com").signing(Signing::Dynamic {
            algorithm: Algorithm::EcdsaP256,
            nsec3: None,
        })])
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    let base = tempfile::tempdir().unwrap();
    let manifest = base.path().join("manifest.toml");
    std::fs::write(
        &manifest,
        format!(
            "[ceremony]\nname = \"solo-net\"\nprofile = \"v1\"\n\n[genesis]\nchain_id = 65110000\n\
             operator = \"0x{op}\"\nepoch_period = 30\n\n\
             [[orgs]]\nname = \"org1\"\nhost = \"validator1.ogr1.com\"\n\n\
             [dns]\nanchor = \"{anchor}\"\nroots = [\"{root}\"]\n\n\
             [timing]\npoll_interval = \"1s\"\ndeadline = \"120s\"\n",
            op = "ab".repeat(20),
            anchor = lab.anchor.dnskey.display(),
            root = lab.root
        ),
    )
    .unwrap();
    let zone = lab.zone("ogr1.com").expect("zone");
    let tsig = zone.tsig.as_ref().expect("dynamic zone");
    let mut run = Watched::spawn(
        Command::new(CLI)
            .arg("run")
            .args(["--manifest", manifest.to_str().unwrap()])
            .args(["--org", "org1", "--ip", "127.0.0.1"])
            .args(["--keys", base.path().join("keys").to_str().unwrap()])
            .args(["--server", &zone.server.to_string()])
            .args(["--tsig", tsig.file.to_str().unwrap()])
            .args(["--datadir", base.path().join("data").to_str().unwrap()])
            .args(["--autonity", STANDIN])
            .args(["--port", &free_port().to_string()])
            .args(["--consensus-port", &free_port().to_string()])
            .args(["--rpc-port", &free_port().to_string()])
            .args(["--check-window", "3s"]),
    );
    run.expect_line("confirmed", 120, |l| l.starts_with("confirmed: "));
    let client: Value =
        serde_json::from_slice(&std::fs::read(base.path().join("data/client.json")).unwrap())
            .unwrap();
    let pid = client["pid"].as_u64().unwrap() as u32;
    signal(run.child.id(), "INT");
    let (code, stderr) = run.finish(20);
    assert_eq!(code, Some(130), "{stderr}");
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with(
            "dnsceremony: run: interrupted (SIGINT) while supervising the client (phase confirmed): the client exited"
        ) && line.ends_with("; run again to start it again"),
        "{stderr}"
    );
    // The client is gone (it was told, and `run` waited for it).
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.split_whitespace().nth(2) == Some("Z")),
        "the client (pid {pid}) still runs"
    );
}

// ---- `check` against the stand-in ----

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

/// A v1 genesis (the recordings' accepted one) whose validator 1 holds nearly all the stake,
/// so its stand-in makes blocks alone; and validator 1's key directory.
fn standin_setup(dir: &Path) -> (PathBuf, PathBuf) {
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(vectors("v1/genesis-accepted.json")).unwrap())
            .unwrap();
    doc["config"]["autonity"]["validators"] = (1..=4u8)
        .map(|seed| {
            json!({
                "enode": format!("enode://{}@127.0.0.1:{}", hex::encode(node_key(seed)), 30300 + u16::from(seed)),
                "treasury": format!("0x{}", hex::encode([seed; 20])),
                "consensusKey": format!("0x{}", hex::encode(bls_secret(seed).sk_to_pk().compress())),
                "oracleAddress": format!("0x{}", hex::encode([seed ^ 0x80; 20])),
                "bondedStake": if seed == 1 { 10_000 } else { 1 },
            })
        })
        .collect();
    let genesis = dir.join("genesis.json");
    std::fs::write(&genesis, doc.to_string()).unwrap();
    let keys = dir.join("keys");
    std::fs::create_dir(&keys).unwrap();
    let bls: [u8; 32] = bls_secret(1).to_bytes();
    dnsceremony::identity::Identity::from_secrets(&[1; 32], Some((&bls, &[0x77; 32])))
        .unwrap()
        .write_new(&keys)
        .unwrap();
    (genesis, keys)
}

/// The stand-in as validator 1, making blocks until `stall_after`; its RPC port.
fn start_standin(dir: &Path, genesis: &Path, keys: &Path, stall_after: u64) -> (Child, u16) {
    let port = free_port();
    let consensus = free_port();
    let mut child = Command::new(STANDIN)
        .args(["--datadir", dir.join("node").to_str().unwrap()])
        .args(["--genesis", genesis.to_str().unwrap()])
        .args([
            "--autonitykeys",
            keys.join("autonitykeys").to_str().unwrap(),
        ])
        .args(["--networkid", "65110053", "--nat", "extip:127.0.0.1"])
        .args(["--http", "--http.addr", "127.0.0.1"])
        .args(["--http.port", &port.to_string()])
        .args(["--http.api", "aut,eth,net,web3,admin,tendermint"])
        .args(["--consensus.port", &consensus.to_string()])
        .args(["--syncmode", "full", "--mine"])
        .args(["--standin.stall-after", &stall_after.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the stand-in exited early"
        );
        assert!(Instant::now() < deadline, "the stand-in did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

#[test]
fn watch_reports_every_change_and_reminds_while_it_lasts() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, keys) = standin_setup(dir.path());
    // Blocks until 3, then the chain stalls: green, then red.
    let (mut node, port) = start_standin(dir.path(), &genesis, &keys, 3);
    let alarms = dir.path().join("alarms");
    let mut watch = Watched::spawn(
        Command::new(CLI)
            .args(["check", "--rpc", &format!("http://127.0.0.1:{port}")])
            .args(["--keys", keys.to_str().unwrap()])
            .args(["--window", "1s", "--watch", "--interval", "200ms"])
            .args(["--remind", "2s"])
            .args([
                "--alarm-cmd",
                &format!("echo \"$DNSCEREMONY_PROBLEM\" >> {}", alarms.display()),
            ]),
    );
    watch.expect_line("green first", 20, |l| l.starts_with("ok: block "));
    watch.expect_line("green -> red", 30, |l| {
        l == "watch: green -> red: blocks do not advance (still at 3)"
    });
    let still = watch.expect_line("still red", 10, |l| l.starts_with("watch: still "));
    assert!(
        still.starts_with("watch: still red since 20")
            && still.ends_with("checks): blocks do not advance (still at 3)"),
        "{still}"
    );

    // The node dies: the next check says so.
    let _ = node.kill();
    let _ = node.wait();
    let killed = Instant::now();
    let line = watch.expect_line("red -> unreachable", 10, |l| {
        l.starts_with("watch: red -> unreachable: ")
    });
    assert!(
        killed.elapsed() < Duration::from_secs(8),
        "unreachable only after {:?}",
        killed.elapsed()
    );
    assert!(
        line.contains(&format!("RPC http://127.0.0.1:{port}")),
        "{line}"
    );
    watch.expect_line("still unreachable", 10, |l| {
        l.starts_with("watch: still unreachable since ")
    });

    // Ctrl-C ends the watch with 130 and a line naming the state.
    signal(watch.child.id(), "INT");
    let (code, stderr) = watch.finish(10);
    assert_eq!(code, Some(130), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("dnsceremony: check: interrupted (SIGINT) after ")
            && last.contains(" checks; unreachable since "),
        "{stderr}"
    );
    // One alarm per change to a bad state: red, then unreachable.
    let alarms = std::fs::read_to_string(alarms).unwrap();
    let alarms: Vec<&str> = alarms.lines().collect();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    assert_eq!(alarms[0], "blocks do not advance (still at 3)");
    assert!(
        alarms[1].starts_with("node unreachable: RPC "),
        "{alarms:?}"
    );
}

#[test]
fn json_is_a_document_also_for_a_dead_node_and_bad_input() {
    // Nothing listens on this port.
    let port = free_port();
    let out = Command::new(CLI)
        .args([
            "check",
            "--rpc",
            &format!("http://127.0.0.1:{port}"),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(stdout.trim()).expect("one JSON document");
    assert_eq!(doc["schema"], "dnsceremony.check/v1");
    assert_eq!(doc["state"], "unreachable");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["exit"], 4);
    assert_eq!(doc["rpc"], format!("http://127.0.0.1:{port}"));
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .starts_with(&format!("RPC http://127.0.0.1:{port} ")),
        "{doc}"
    );
    // The one line on stderr stays.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A manifest that does not exist: a document with the input error and exit 3.
    let out = Command::new(CLI)
        .args([
            "check",
            "--rpc",
            &format!("http://127.0.0.1:{port}"),
            "--json",
        ])
        .args(["--manifest", "/nonexistent/manifest.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("a document");
    assert_eq!(doc["state"], "error");
    assert_eq!(doc["exit"], 3);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/manifest.toml"),
        "{doc}"
    );
}

#[test]
fn json_reports_carry_their_state() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, keys) = standin_setup(dir.path());
    let (mut node, port) = start_standin(dir.path(), &genesis, &keys, 0);
    let out = Command::new(CLI)
        .args(["check", "--rpc", &format!("http://127.0.0.1:{port}")])
        .args(["--keys", keys.to_str().unwrap(), "--window", "1s", "--json"])
        .output()
        .unwrap();
    let _ = node.kill();
    let _ = node.wait();
    assert_eq!(out.status.code(), Some(10));
    let doc: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(doc["state"], "red");
    assert_eq!(doc["advancing"], false);
}

// ---- completions and manual pages ----

const SUBCOMMANDS: [&str; 12] = [
    "check",
    "genesis",
    "run",
    "manifest",
    "keygen",
    "keys",
    "verify",
    "wait",
    "publish",
    "audit",
    "completions",
    "man",
];

#[test]
fn completions_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = Command::new(CLI)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
        // Flags of subcommands too (fish writes `-l remind`).
        assert!(text.contains("remind"), "{shell}: no --remind");
    }
    // bash completes with the script: a subcommand from its prefix, then a flag of it.
    let script = format!(
        "source <({CLI} completions bash)\n\
         COMP_WORDS=(dnsceremony ru); COMP_CWORD=1; _dnsceremony dnsceremony ru dnsceremony\n\
         echo \"[${{COMPREPLY[*]}}]\"\n\
         COMP_WORDS=(dnsceremony check --rem); COMP_CWORD=2; _dnsceremony dnsceremony --rem check\n\
         echo \"[${{COMPREPLY[*]}}]\"\n"
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[run]\n[--remind]\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(CLI)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn man_pages_come_from_the_command_line_definition() {
    let out = Command::new(CLI).arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH dnsceremony 1"),
        "{page}"
    );
    assert!(page.contains(".TH dnsceremony 1"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("dnsceremony\\-{}(1)", sub.replace('-', "\\-"))),
            "main page lacks {sub}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(CLI)
        .args(["man", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    for name in SUBCOMMANDS
        .iter()
        .map(|s| format!("dnsceremony-{s}.1"))
        .chain(["dnsceremony.1".into(), "dnsceremony-keys-show.1".into()])
    {
        let path = dir.path().join(&name);
        assert!(
            listed.contains(&path.display().to_string()),
            "{name} not listed"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(".SH SYNOPSIS"), "{name}");
    }
    // The check page documents the new flag; no page for clap's `help`.
    let check = std::fs::read_to_string(dir.path().join("dnsceremony-check.1")).unwrap();
    assert!(check.contains("\\-\\-remind"), "{check}");
    assert!(!dir.path().join("dnsceremony-help.1").exists());

    let out = Command::new(CLI)
        .args(["man", "--dir", "/nonexistent/man1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().count(),
        1,
        "one line"
    );
}
