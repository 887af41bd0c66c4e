//! Whole ceremonies: `dnsceremony run` processes, one per organisation, against a real signed
//! BIND hierarchy on loopback with TSIG-updatable organisation zones, each starting the
//! Autonity stand-in; then `check` against every node.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dnsceremony::lab::hierarchy::{Algorithm, Hierarchy, OrgZone, ResolverMode, Signing};

const CLI: &str = env!("CARGO_BIN_EXE_dnsceremony");
const STANDIN: &str = env!("CARGO_BIN_EXE_autonity-standin");

const ORGS: [(&str, &str, &str); 4] = [
    ("org1", "ogr1.com", "validator1.ogr1.com"),
    ("org2", "ogr2.net", "val2.ogr2.net"),
    ("org3", "ogr3.io", "validator3.ogr3.io"),
    ("org4", "ogr4.co.uk", "othername4.ogr4.co.uk"),
];

/// Organisation `i` (from 0): the four of the testnet, then `orgN` at `validatorN.ogrN.com`.
fn org(i: usize) -> (String, String, String) {
    match ORGS.get(i) {
        Some((name, zone, host)) => (name.to_string(), zone.to_string(), host.to_string()),
        None => {
            let n = i + 1;
            (
                format!("org{n}"),
                format!("ogr{n}.com"),
                format!("validator{n}.ogr{n}.com"),
            )
        }
    }
}

fn lab() -> Hierarchy {
    lab_of(4)
}

fn lab_of(n: usize) -> Hierarchy {
    Hierarchy::builder()
        .zones((0..n).map(|i| {
            OrgZone::new(&org(i).1).signing(Signing::Dynamic {
                algorithm: Algorithm::EcdsaP256,
                nsec3: None,
            })
        }))
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds")
}

/// The manifest every organisation receives (template mode when `template` is set).
fn manifest(lab: &Hierarchy, template: bool) -> String {
    manifest_of(lab, template, "v1", 4)
}

/// The manifest for the first `n` organisations in `profile`.
fn manifest_of(lab: &Hierarchy, template: bool, profile: &str, n: usize) -> String {
    // With a template only chain_id applies; epoch_period is a v1 option.
    let options = match (template, profile) {
        (true, _) => "template = \"genesis.template.json\"\n".to_string(),
        (false, "v1") => format!("operator = \"0x{}\"\nepoch_period = 30\n", "ab".repeat(20)),
        (false, _) => format!("operator = \"0x{}\"\n", "ab".repeat(20)),
    };
    let mut m = format!(
        "[ceremony]\nname = \"loopback-net\"\nprofile = \"{profile}\"\n\n[genesis]\nchain_id = 65110000\n{options}\n"
    );
    for (name, _, host) in (0..n).map(org) {
        m.push_str(&format!(
            "[[orgs]]\nname = \"{name}\"\nhost = \"{host}\"\n\n"
        ));
    }
    m.push_str(&format!(
        "[dns]\nanchor = \"{}\"\nroots = [\"{}\"]\n\n[timing]\npoll_interval = \"1s\"\ndeadline = \"150s\"\n",
        lab.anchor.dnskey.display(),
        lab.root
    ));
    m
}

/// A directory `manifest/` under `base` holding `manifest.toml` with `text`.
fn manifest_dir(base: &Path, text: &str) -> PathBuf {
    let dir = base.join("manifest");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("manifest.toml"), text).unwrap();
    dir
}

fn template(stake: u64) -> String {
    let vals: Vec<String> = ORGS
        .iter()
        .map(|(_, _, host)| format!("{{\"enode\": \"fqdn://{host}\", \"bondedStake\": {stake}}}"))
        .collect();
    format!(
        "{{\"config\": {{\"chainId\": 65110000, \"autonity\": {{\"minBaseFee\": 500000000, \
         \"epochPeriod\": 1800, \"unbondingPeriod\": 21600, \"blockPeriod\": 1, \
         \"maxCommitteeSize\": 100, \"operator\": \"0x{op}\", \"treasury\": \"0x{op}\", \
         \"treasuryFee\": 10000000000000000, \"delegationRate\": 1000, \
         \"initialInflationReserve\": \"0x2116545850052128000000\", \"validators\": [{vals}]}}, \
         \"oracle\": {{\"votePeriod\": 30}}}}, \"nonce\": \"0x0\", \"timestamp\": \"0x0\", \
         \"gasLimit\": \"0xffffffffffff\", \"difficulty\": \"0x0\", \"alloc\": {{}}}}\n",
        op = "ab".repeat(20),
        vals = vals.join(", ")
    )
}

/// The consensus port of the organisation whose data directory is `datadir`, chosen once.
fn consensus_port(datadir: &Path) -> u16 {
    let file = datadir.with_extension("consensus-port");
    std::fs::read_to_string(&file)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            let p = free_port();
            std::fs::write(&file, p.to_string()).unwrap();
            p
        })
}

#[path = "support/ports.rs"]
mod ports;
use ports::free_port;

/// One organisation's `dnsceremony run`, stopped with SIGTERM (then SIGKILL) on drop.
struct Run {
    child: Child,
    datadir: PathBuf,
    keys: PathBuf,
    rpc_port: u16,
    /// More flags for `run`.
    extra: Vec<String>,
    /// Whether `--autonity` names the stand-in (otherwise no client is given).
    client: bool,
}

impl Run {
    fn start(lab: &Hierarchy, base: &Path, i: usize, manifest_dir: &Path) -> Run {
        Run::start_with(lab, base, i, manifest_dir, &[])
    }

    fn start_with(
        lab: &Hierarchy,
        base: &Path,
        i: usize,
        manifest_dir: &Path,
        env: &[(&str, String)],
    ) -> Run {
        let (name, zone, _) = org(i);
        let z = lab.zone(&zone).expect("zone");
        let tsig = z.tsig.as_ref().expect("dynamic zone");
        let dir = base.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let rpc_port = free_port();
        Run::spawn(
            Run {
                child: Command::new("true").spawn().unwrap(),
                datadir: dir.join("data"),
                keys: dir.join("keys"),
                rpc_port,
                extra: Vec::new(),
                client: true,
            },
            &z.server.to_string(),
            &tsig.file,
            manifest_dir,
            &name,
            i,
            env,
        )
    }

    fn spawn(
        mut self,
        server: &str,
        tsig: &Path,
        manifest_dir: &Path,
        name: &str,
        i: usize,
        env: &[(&str, String)],
    ) -> Run {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.datadir.with_extension("log"))
            .unwrap();
        let _ = self.child.wait();
        self.child = Command::new(CLI)
            .arg("run")
            .args([
                "--manifest",
                manifest_dir.join("manifest.toml").to_str().unwrap(),
            ])
            .args(["--org", name])
            .args(["--keys", self.keys.to_str().unwrap()])
            .args(["--ip", &Ipv4Addr::new(127, 0, 0, 1 + i as u8).to_string()])
            .args(["--server", server])
            .args(["--tsig", tsig.to_str().unwrap()])
            .args(["--datadir", self.datadir.to_str().unwrap()])
            .args(if self.client {
                vec!["--autonity", STANDIN]
            } else {
                vec![]
            })
            .args(&self.extra)
            .args(["--rpc-port", &self.rpc_port.to_string()])
            // The client listens for consensus on all addresses: one port per organisation
            // (kept across restarts: it is published).
            .args([
                "--consensus-port",
                &consensus_port(&self.datadir).to_string(),
            ])
            .args(["--check-window", "3s"])
            .env("DNSCEREMONY_LOG", "info")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self
    }

    fn phase(&self) -> String {
        std::fs::read(self.datadir.join("ceremony.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["phase"].as_str().map(String::from))
            .unwrap_or_default()
    }

    fn genesis_hash(&self) -> String {
        std::fs::read(self.datadir.join("ceremony.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["genesis_hash"].as_str().map(String::from))
            .unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.datadir.with_extension("log")).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .unwrap()
            .map(|s| s.code().unwrap_or(-1))
    }

    fn terminate(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn wait_for(runs: &mut [Run], what: &str, secs: u64, done: impl Fn(&mut Run) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if runs.iter_mut().all(&done) {
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = runs
                .iter()
                .map(|r| format!("--- {} ({})\n{}", r.datadir.display(), r.phase(), r.log()))
                .collect();
            panic!("timed out waiting for {what}\n{}", logs.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn four_organisations_confirm_and_a_killed_run_resumes() {
    let lab = lab();
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest(&lab, false));

    // Three organisations start; they publish and wait for the fourth.
    let mut runs: Vec<Run> = (0..3)
        .map(|i| Run::start(&lab, base.path(), i, &mdir))
        .collect();
    wait_for(&mut runs, "three publications", 90, |r| {
        r.phase() == "published"
    });
    let keys_before = std::fs::read(runs[0].keys.join("autonitykeys")).unwrap();

    // Kill org1 hard in the middle of the ceremony and start it again.
    let _ = runs[0].child.kill();
    let _ = runs[0].child.wait();
    let (_, zone, _) = ORGS[0];
    let z = lab.zone(zone).unwrap();
    let first = runs.remove(0);
    let restarted = Run {
        child: Command::new("true").spawn().unwrap(),
        datadir: first.datadir.clone(),
        keys: first.keys.clone(),
        rpc_port: first.rpc_port,
        extra: Vec::new(),
        client: true,
    };
    drop(first);
    let restarted = restarted.spawn(
        &z.server.to_string(),
        &z.tsig.as_ref().unwrap().file,
        &mdir,
        "org1",
        0,
        &[],
    );
    runs.insert(0, restarted);
    runs.push(Run::start(&lab, base.path(), 3, &mdir));

    wait_for(&mut runs, "every node confirmed", 150, |r| {
        if let Some(code) = r.exited() {
            panic!("{} exited with {code}:\n{}", r.datadir.display(), r.log());
        }
        r.phase() == "confirmed"
    });

    // Same keys after the restart, the same genesis everywhere.
    assert_eq!(
        std::fs::read(runs[0].keys.join("autonitykeys")).unwrap(),
        keys_before
    );
    assert!(runs[0].log().contains("resumed"), "{}", runs[0].log());
    // The key directories `run` made are private, as `keygen` makes them.
    for r in &runs {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&r.keys).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", r.keys.display());
    }
    let hash = runs[0].genesis_hash();
    assert_eq!(hash.len(), 64);
    let genesis = std::fs::read(runs[0].datadir.join("genesis.json")).unwrap();
    for r in &runs {
        assert_eq!(r.genesis_hash(), hash);
        assert_eq!(
            std::fs::read(r.datadir.join("genesis.json")).unwrap(),
            genesis
        );
    }

    // `genesis` on its own builds the very same bytes from DNS.
    let out_path = base.path().join("genesis-cli.json");
    let genesis_cli = |extra: &[&str]| {
        Command::new(CLI)
            .args([
                "genesis",
                "--manifest",
                mdir.join("manifest.toml").to_str().unwrap(),
            ])
            .args(["--out", out_path.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = genesis_cli(&["--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "dnsceremony.genesis/v1");
    assert_eq!(report["sha256"], hash.as_str());
    assert_eq!(report["validators"].as_array().unwrap().len(), 4);
    assert_eq!(std::fs::read(&out_path).unwrap(), genesis);
    std::fs::write(&out_path, b"{}\n").unwrap();
    let out = genesis_cli(&[]);
    assert_eq!(
        out.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&out_path).unwrap(), b"{}\n");
    let out = genesis_cli(&["--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&hash));
    assert_eq!(std::fs::read(&out_path).unwrap(), genesis);

    // Every node passes check against the genesis.
    for r in &runs {
        let out = Command::new(CLI)
            .args([
                "check",
                "--rpc",
                &format!("http://127.0.0.1:{}", r.rpc_port),
            ])
            .args(["--keys", r.keys.to_str().unwrap()])
            .args([
                "--genesis",
                r.datadir.join("genesis.json").to_str().unwrap(),
            ])
            .args(["--window", "3s"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // SIGTERM stops each run and its client; the run says so with 143 (128 + SIGTERM).
    for r in &mut runs {
        let _ = Command::new("kill")
            .args(["-TERM", &r.child.id().to_string()])
            .status();
    }
    for r in &mut runs {
        let deadline = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Some(c) = r.exited() {
                break c;
            }
            assert!(Instant::now() < deadline, "run ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(code, 143, "{}", r.log());
    }
}

/// Twenty organisations: the committee answers cross the sizes at which the client's HTTP
/// server switches to chunked bodies (over 2,048 bytes), so Phase 4 must read those.
#[test]
fn twenty_organisations_confirm_and_read_the_whole_committee() {
    const N: usize = 20;
    let lab = lab_of(N);
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(
        base.path(),
        &manifest_of(&lab, false, "v1", N).replace("deadline = \"150s\"", "deadline = \"400s\""),
    );
    let mut runs: Vec<Run> = (0..N)
        .map(|i| Run::start(&lab, base.path(), i, &mdir))
        .collect();
    wait_for(&mut runs, "twenty nodes confirmed", 420, |r| {
        if let Some(code) = r.exited() {
            panic!("{} exited with {code}:\n{}", r.datadir.display(), r.log());
        }
        r.phase() == "confirmed"
    });
    let genesis = std::fs::read_to_string(runs[0].datadir.join("genesis.json")).unwrap();
    let genesis: serde_json::Value = serde_json::from_str(&genesis).unwrap();
    let enodes: std::collections::BTreeSet<String> = genesis["config"]["autonity"]["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["enode"].as_str().unwrap()[8..136].to_string())
        .collect();
    assert_eq!(enodes.len(), N);
    for r in [&runs[0], &runs[N - 1]] {
        let out = Command::new(CLI)
            .args(["check", "--json", "--window", "5s"])
            .args(["--rpc", &format!("http://127.0.0.1:{}", r.rpc_port)])
            .args(["--keys", r.keys.to_str().unwrap()])
            .args(["--manifest", mdir.join("manifest.toml").to_str().unwrap()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "check exited {:?}: {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let committee: std::collections::BTreeSet<String> = report["committee"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        assert_eq!(committee, enodes, "{stdout}");
        assert_eq!(report["missing"], serde_json::json!([]), "{stdout}");
    }
}

#[test]
fn a_different_template_is_another_ceremony_refused_before_genesis() {
    let lab = lab();
    let base = tempfile::tempdir().unwrap();
    // Same manifest text everywhere; org4's template file differs, so its ceremony id does.
    let mut dirs = Vec::new();
    for (i, (name, _, _)) in ORGS.iter().enumerate() {
        let d = base.path().join(format!("manifest-{name}"));
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("manifest.toml"), manifest(&lab, true)).unwrap();
        let stake = if i == 3 { 20_000 } else { 10_000 };
        std::fs::write(d.join("genesis.template.json"), template(stake)).unwrap();
        dirs.push(d);
    }
    let mut runs: Vec<Run> = (0..4)
        .map(|i| Run::start(&lab, base.path(), i, &dirs[i]))
        .collect();
    let codes = wait_exit(&mut runs, 150);
    for (i, (r, code)) in runs.iter().zip(codes).enumerate() {
        assert_eq!(code, 2, "{}", r.log());
        let log = r.log();
        let line = log
            .lines()
            .find(|l| l.starts_with("dnsceremony: not secure"))
            .unwrap_or_else(|| panic!("no refusal line:\n{log}"));
        assert!(line.contains("made for ceremony"), "{line}");
        // The others refuse org4 (and only org4); org4 refuses whom it saw.
        let named: Vec<&str> = ["org1", "org2", "org3", "org4"]
            .into_iter()
            .filter(|o| line.contains(&format!("{o} (")))
            .collect();
        if i == 3 {
            assert!(!named.is_empty() && !named.contains(&"org4"), "{line}");
        } else {
            assert_eq!(named, ["org4"], "{line}");
        }
        // Nobody built a genesis or started a client.
        assert!(!r.datadir.join("genesis.json").exists());
        assert!(!r.datadir.join("node.log").exists());
    }
}

#[test]
fn a_different_genesis_stops_everyone_naming_who_differs() {
    // Everything that decides the genesis is in the ceremony id (the manifest, the template's
    // contents) or in DNS (the same records for everyone), so a differing genesis comes from
    // outside both: another build of the genesis rules, say. org4 stands for it: it publishes
    // its records with `run --until published`, then a genesis hash of its own, properly
    // signed by its node key for this ceremony.
    let lab = lab();
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest(&lab, true));
    std::fs::write(mdir.join("genesis.template.json"), template(10_000)).unwrap();
    let mut org4 = vec![run_in(
        &lab,
        base.path(),
        3,
        &mdir,
        None,
        &["--until", "published"],
        false,
    )];
    assert_eq!(wait_exit(&mut org4, 60), [0], "{}", org4[0].log());
    let (_, zone, _) = ORGS[3];
    let z = lab.zone(zone).unwrap();
    let manifest = dnsceremony::manifest::Manifest::load(&mdir.join("manifest.toml")).unwrap();
    let identity = dnsceremony::identity::Identity::load(&org4[0].keys).unwrap();
    let theirs = [0x5a; 32];
    let record = dnsceremony::records::encode_genesis_hash(
        &manifest.org("org4").unwrap().host,
        &identity,
        &manifest.ceremony_id(),
        &theirs,
        None,
    );
    let tsig = dnsceremony::dns::tsig::TsigKey::load(&z.tsig.as_ref().unwrap().file).unwrap();
    let t = dnsceremony::dns::update::Timeouts::default();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let plan = dnsceremony::dns::update::prepare((z.server, 53).into(), &[record], t)
            .await
            .unwrap();
        dnsceremony::dns::update::apply(&plan, &tsig, t)
            .await
            .unwrap();
        dnsceremony::dns::update::read_back(&plan, t).await.unwrap();
    });

    let mut runs: Vec<Run> = (0..3)
        .map(|i| Run::start(&lab, base.path(), i, &mdir))
        .collect();
    let codes = wait_exit(&mut runs, 150);
    let mut ours = Vec::new();
    for (r, code) in runs.iter().zip(codes) {
        assert_eq!(code, 9, "{}", r.log());
        let log = r.log();
        let line = log
            .lines()
            .find(|l| l.starts_with("dnsceremony: genesis mismatch"))
            .unwrap_or_else(|| panic!("no mismatch line:\n{log}"));
        // Only org4 differs, with the hash it published; org1-3 agree among themselves.
        assert!(
            line.contains(&format!("org4 published {}", hex(&theirs))),
            "{line}"
        );
        for o in ["org1", "org2", "org3"] {
            assert!(!line.contains(&format!("{o} published")), "{line}");
        }
        ours.push(r.genesis_hash());
        // No client was started.
        assert!(!r.datadir.join("node.log").exists());
    }
    assert!(
        ours.iter().all(|h| h.len() == 64 && *h == ours[0]),
        "{ours:?}"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn check(r: &Run, mdir: &Path, window: &str) -> std::process::Output {
    Command::new(CLI)
        .args([
            "check",
            "--rpc",
            &format!("http://127.0.0.1:{}", r.rpc_port),
        ])
        .args(["--keys", r.keys.to_str().unwrap()])
        .args(["--manifest", mdir.join("manifest.toml").to_str().unwrap()])
        .args(["--window", window])
        .output()
        .unwrap()
}

#[test]
fn alarms_name_what_is_wrong() {
    let lab = lab();
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest(&lab, false));
    // org3's keys exist before its run starts (run uses them, makes none).
    let org3_keys = base.path().join("org3").join("keys");
    std::fs::create_dir_all(&org3_keys).unwrap();
    let org3 = dnsceremony::identity::Identity::generate(dnsceremony::manifest::Profile::V1);
    org3.write_new(&org3_keys).unwrap();
    let org3_key = org3.public().enode_key.to_string();

    // org1's client leaves org3 out of the committee; org2's client stops after block 8.
    let mut runs = vec![
        Run::start_with(
            &lab,
            base.path(),
            0,
            &mdir,
            &[("AUTONITY_STANDIN_DROP_VALIDATOR", org3_key.clone())],
        ),
        Run::start_with(
            &lab,
            base.path(),
            1,
            &mdir,
            &[("AUTONITY_STANDIN_STALL_AFTER", "8".into())],
        ),
        Run::start(&lab, base.path(), 2, &mdir),
        Run::start(&lab, base.path(), 3, &mdir),
    ];
    wait_for(&mut runs, "clients started", 150, |r| {
        matches!(r.phase().as_str(), "node_started" | "confirmed")
    });
    wait_for(&mut runs[1..], "org2-org4 confirmed", 60, |r| {
        r.phase() == "confirmed"
    });
    assert!(runs[2].log().contains("keys: found"), "{}", runs[2].log());
    assert_eq!(runs[0].phase(), "node_started");
    wait_for(&mut runs[..1], "org1's own check to name org3", 30, |r| {
        r.log()
            .contains("on-chain check not green yet: missing from the committee: org3")
    });

    // Validator left out: the alarm names the organisation.
    let out = check(&runs[0], &mdir, "3s");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(
        stderr.contains("missing from the committee: org3"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("org1") && !stderr.contains("org2"),
        "{stderr}"
    );

    // Stalled chain: once block 8 is reached, the alarm says blocks do not advance.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = check(&runs[1], &mdir, "2s");
        if out.status.code() == Some(10) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("blocks do not advance (still at 8)"),
                "{stderr}"
            );
            assert!(!stderr.contains("missing"), "{stderr}");
            break;
        }
        assert_eq!(out.status.code(), Some(0));
        assert!(
            Instant::now() < deadline,
            "the stalled chain never raised the alarm"
        );
    }

    // A healthy node stays green against the manifest.
    assert_eq!(check(&runs[3], &mdir, "3s").status.code(), Some(0));
}

#[test]
fn legacy_profile_ceremony_confirms() {
    let lab = lab_of(2);
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest_of(&lab, false, "v0.7", 2));
    let mut runs: Vec<Run> = (0..2)
        .map(|i| Run::start(&lab, base.path(), i, &mdir))
        .collect();
    wait_for(&mut runs, "both nodes confirmed", 120, |r| {
        if let Some(code) = r.exited() {
            panic!("{} exited with {code}:\n{}", r.datadir.display(), r.log());
        }
        r.phase() == "confirmed"
    });
    let genesis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[0].datadir.join("genesis.json")).unwrap())
            .unwrap();
    let users = genesis["config"]["autonityContract"]["users"]
        .as_array()
        .unwrap();
    assert_eq!(users.len(), 2);
    assert!(users.iter().all(|u| u["type"] == "validator"));
    // v0.7 keys: a nodekey, and the client was started with --nodekey, without --consensus.port.
    assert!(runs[0].keys.join("nodekey").exists());
    let log = runs[0].log();
    let started = log
        .lines()
        .find(|l| l.starts_with("client started: "))
        .unwrap();
    assert!(
        started.contains("--nodekey") && started.contains("--mine"),
        "{started}"
    );
    assert!(!started.contains("--consensus.port"), "{started}");
    let statics: Vec<String> = serde_json::from_slice(
        &std::fs::read(runs[0].datadir.join("node").join("static-nodes.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(statics.len(), 1);
    assert!(statics[0].ends_with("@127.0.0.2:30303"), "{statics:?}");

    // v1 keys in a v0.7 ceremony are refused before anything is published.
    let wrong = base.path().join("wrong-keys");
    std::fs::create_dir(&wrong).unwrap();
    dnsceremony::identity::Identity::generate(dnsceremony::manifest::Profile::V1)
        .write_new(&wrong)
        .unwrap();
    let z = lab.zone(ORGS[0].1).unwrap();
    let out = Command::new(CLI)
        .arg("run")
        .args(["--manifest", mdir.join("manifest.toml").to_str().unwrap()])
        .args([
            "--org",
            "org1",
            "--keys",
            wrong.to_str().unwrap(),
            "--ip",
            "127.0.0.1",
        ])
        .args(["--server", &z.server.to_string()])
        .args(["--tsig", z.tsig.as_ref().unwrap().file.to_str().unwrap()])
        .args([
            "--datadir",
            base.path().join("wrong-data").to_str().unwrap(),
        ])
        .args(["--autonity", STANDIN])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("holds v1 keys but the manifest's profile is v0.7"),
        "{stderr}"
    );
}

/// A run of organisation `i` in `lab` with `extra` flags, without a client unless `client`.
fn run_in(
    lab: &Hierarchy,
    base: &Path,
    i: usize,
    mdir: &Path,
    server: Option<&str>,
    extra: &[&str],
    client: bool,
) -> Run {
    let (name, zone, _) = ORGS[i];
    let z = lab.zone(zone).unwrap();
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let rpc_port = std::fs::read_to_string(dir.join("rpc-port"))
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            let p = free_port();
            std::fs::write(dir.join("rpc-port"), p.to_string()).unwrap();
            p
        });
    let server = server.map_or_else(|| z.server.to_string(), String::from);
    Run {
        child: Command::new("true").spawn().unwrap(),
        datadir: dir.join("data"),
        keys: dir.join("keys"),
        rpc_port,
        extra: extra.iter().map(|s| s.to_string()).collect(),
        client,
    }
    .spawn(
        &server,
        &z.tsig.as_ref().unwrap().file,
        mdir,
        name,
        i,
        // No `autonity` on this PATH: a run that looked for a client would fail.
        &[("PATH", "/usr/bin:/bin".to_string())],
    )
}

fn wait_exit(runs: &mut [Run], secs: u64) -> Vec<i32> {
    wait_for(runs, "every run to stop", secs, |r| r.exited().is_some());
    runs.iter_mut().map(|r| r.exited().unwrap()).collect()
}

#[test]
fn until_genesis_stops_at_agreement_without_a_client() {
    let lab = lab_of(2);
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest_of(&lab, false, "v1", 2));

    // --until published: org1 publishes and stops, without waiting for org2.
    let mut first = vec![run_in(
        &lab,
        base.path(),
        0,
        &mdir,
        None,
        &["--until", "published"],
        false,
    )];
    assert_eq!(wait_exit(&mut first, 60), [0], "{}", first[0].log());
    assert_eq!(first[0].phase(), "published");
    assert!(
        first[0].log().contains("stopped at published"),
        "{}",
        first[0].log()
    );
    drop(first);

    // --until genesis: both stop at agreement, genesis and static nodes written, no client.
    let mut runs: Vec<Run> = (0..2)
        .map(|i| {
            run_in(
                &lab,
                base.path(),
                i,
                &mdir,
                None,
                &["--until", "genesis"],
                false,
            )
        })
        .collect();
    let codes = wait_exit(&mut runs, 120);
    for (r, code) in runs.iter().zip(codes) {
        assert_eq!(code, 0, "{}", r.log());
        assert_eq!(r.phase(), "agreed", "{}", r.log());
        assert!(
            r.log()
                .contains("stopped at agreed as asked (--until): done"),
            "{}",
            r.log()
        );
        assert!(!r.datadir.join("node.log").exists());
        let statics: Vec<String> = serde_json::from_slice(
            &std::fs::read(r.datadir.join("node").join("static-nodes.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(statics.len(), 1, "{statics:?}");
        // The client's arguments, for a client started elsewhere (the testnet's client image).
        let args = std::fs::read_to_string(r.datadir.join("client.args")).unwrap();
        let args: Vec<&str> = args.lines().collect();
        let node_dir = r.datadir.join("node").display().to_string();
        let genesis_path = r.datadir.join("genesis.json").display().to_string();
        assert_eq!(
            args[..4],
            ["--datadir", &node_dir, "--genesis", &genesis_path],
            "{args:?}"
        );
        assert!(args.contains(&"--autonitykeys"), "{args:?}");
        assert!(args.contains(&"--consensus.port"), "{args:?}");
    }
    let hash = runs[0].genesis_hash();
    assert_eq!(hash.len(), 64);
    assert_eq!(runs[1].genesis_hash(), hash);
    let genesis = std::fs::read(runs[0].datadir.join("genesis.json")).unwrap();
    assert_eq!(
        std::fs::read(runs[1].datadir.join("genesis.json")).unwrap(),
        genesis
    );
    drop(runs);

    // Restarted, a finished --until genesis run is a no-op: its server is unreachable
    // (nothing listens on 127.0.0.1:9), yet it succeeds without asking anything.
    let mut again = vec![run_in(
        &lab,
        base.path(),
        0,
        &mdir,
        Some("127.0.0.1:9"),
        &["--until", "genesis", "--root", "127.0.0.1:9"],
        false,
    )];
    assert_eq!(wait_exit(&mut again, 30), [0], "{}", again[0].log());
    assert!(
        again[0]
            .log()
            .contains("stopped at agreed as asked (--until): already reached before"),
        "{}",
        again[0].log()
    );
    assert_eq!(again[0].genesis_hash(), hash);
    // Without genesis.json it is not finished: the same unreachable servers now fail the run.
    std::fs::remove_file(again[0].datadir.join("genesis.json")).unwrap();
    let mut broken = vec![run_in(
        &lab,
        base.path(),
        0,
        &mdir,
        Some("127.0.0.1:9"),
        &["--until", "genesis", "--root", "127.0.0.1:9"],
        false,
    )];
    drop(again);
    assert_eq!(wait_exit(&mut broken, 60), [4], "{}", broken[0].log());
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            !matches!(state.and_then(|r| r.chars().next()), Some('Z' | 'X') | None)
        })
        .unwrap_or(false)
}

#[test]
fn a_run_killed_after_starting_its_client_stops_that_client_when_restarted() {
    let lab = lab_of(2);
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest_of(&lab, false, "v1", 2));
    let mut runs: Vec<Run> = (0..2)
        .map(|i| run_in(&lab, base.path(), i, &mdir, None, &[], true))
        .collect();
    wait_for(&mut runs, "both nodes confirmed", 120, |r| {
        if let Some(code) = r.exited() {
            panic!("{} exited with {code}:\n{}", r.datadir.display(), r.log());
        }
        r.phase() == "confirmed"
    });
    let hash = runs[0].genesis_hash();

    // SIGKILL org1's run: its client is left running, holding the RPC port.
    let _ = runs[0].child.kill();
    let _ = runs[0].child.wait();
    let before = runs[0].log().matches("phase: confirmed").count();
    let restarted = run_in(&lab, base.path(), 0, &mdir, None, &[], true);
    let old = runs.remove(0);
    runs.insert(0, restarted);
    wait_for(&mut runs[..1], "org1 confirmed again", 120, |r| {
        if let Some(code) = r.exited() {
            panic!("restarted run exited with {code}:\n{}", r.log());
        }
        r.log().matches("phase: confirmed").count() > before
    });
    drop(old);
    let log = runs[0].log();
    let line = log
        .lines()
        .find(|l| l.starts_with("stopped the client left running by an earlier run"))
        .unwrap_or_else(|| panic!("no line about the old client:\n{log}"));
    let pid: u32 = line
        .split("pid ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line}"));
    assert!(!alive(pid), "the old client {pid} still runs");
    assert_eq!(runs[0].genesis_hash(), hash);
    // The new client is recorded, alive, and not the old one.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[0].datadir.join("client.json")).unwrap())
            .unwrap();
    assert_eq!(record["schema"], "dnsceremony.client/v1");
    let new_pid = record["pid"].as_u64().unwrap() as u32;
    assert_ne!(new_pid, pid);
    assert!(alive(new_pid));
    assert_eq!(check(&runs[0], &mdir, "3s").status.code(), Some(0));
}

/// `run`'s configuration for organisation `i` of `lab` (as the CLI would build it).
fn config(lab: &Hierarchy, base: &Path, i: usize, mdir: &Path) -> dnsceremony::ceremony::Config {
    use dnsceremony::verify::{Source, VerifyOptions};
    let (name, zone, _) = ORGS[i];
    let z = lab.zone(zone).unwrap();
    let manifest = dnsceremony::manifest::Manifest::load(&mdir.join("manifest.toml")).unwrap();
    dnsceremony::ceremony::Config {
        verify: VerifyOptions {
            anchors: dnsceremony::dns::anchor::TrustAnchors::from_file(&lab.anchor.dnskey).unwrap(),
            source: Source::Iterative {
                roots: vec![std::net::SocketAddr::new(lab.root.into(), 53)],
            },
            timeout: Duration::from_secs(2),
            concurrency: 16,
        },
        manifest,
        org: name.into(),
        keys: base.join(name).join("keys"),
        ip: Ipv4Addr::new(127, 0, 0, 1 + i as u8).into(),
        port: 30303,
        consensus_port: 20203,
        treasury: None,
        ttl: 300,
        server: std::net::SocketAddr::new(z.server.into(), 53),
        tsig: dnsceremony::dns::tsig::TsigKey::load(&z.tsig.as_ref().unwrap().file).unwrap(),
        datadir: base.join(name).join("data"),
        client: None,
        until: dnsceremony::ceremony::Until::Genesis,
        http_addr: Ipv4Addr::LOCALHOST.into(),
        http_port: 8545,
        poll: Duration::from_millis(100),
        deadline: None,
        check_window: Duration::from_secs(3),
        timeouts: dnsceremony::dns::update::Timeouts::default(),
        key_permissions: Default::default(),
    }
}

#[test]
fn the_wait_loops_poll_cheaply_between_full_reads() {
    use dnsceremony::ceremony::{wait_agreement, wait_secure};
    use dnsceremony::verify::Session;
    let lab = lab_of(2);
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest_of(&lab, false, "v1", 2));
    let publish = |i: usize| {
        let mut r = vec![run_in(
            &lab,
            base.path(),
            i,
            &mdir,
            None,
            &["--until", "published"],
            false,
        )];
        assert_eq!(wait_exit(&mut r, 60), [0], "{}", r[0].log());
    };
    publish(0);
    let cfg = config(&lab, base.path(), 0, &mdir);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let polls = |e: dnsceremony::Error| match e {
        dnsceremony::Error::Ceremony(dnsceremony::ceremony::CeremonyError::Deadline {
            polls,
            ..
        }) => polls,
        other => panic!("{other}"),
    };
    // What one full check of both organisations costs with nothing cached.
    let full = rt.block_on(async {
        let s = Session::new(cfg.verify.clone());
        s.verify(&cfg.manifest).await;
        s.queries_sent()
    });

    // org2 has published nothing: org1 stays secure at one SOA query a poll, only org2 is
    // read again (a fresh full check every poll would cost `full` each time).
    let session = Session::new(cfg.verify.clone());
    let deadline = Some(std::time::Instant::now() + Duration::from_secs(2));
    let e = rt
        .block_on(wait_secure(&cfg, &session, deadline, &mut |_| {}))
        .unwrap_err();
    let (n, q) = (polls(e), session.queries_sent());
    assert!(n >= 2, "{n} polls");
    assert!(
        q < full * u64::from(n),
        "{q} queries in {n} polls, a full check is {full}"
    );
    // The first poll is a full check plus one SOA query per organisation.
    let per_poll_after_first = q.saturating_sub(full + 2) / u64::from(n - 1);
    assert!(
        per_poll_after_first < full,
        "{per_poll_after_first} per poll, full {full}"
    );

    // Both published; nobody has a genesis hash yet: after the first reading each poll costs
    // one SOA query per organisation.
    publish(1);
    let session = Session::new(cfg.verify.clone());
    let peers = rt
        .block_on(wait_secure(&cfg, &session, None, &mut |_| {}))
        .unwrap();
    assert_eq!(peers.len(), 2);
    let before = session.queries_sent();
    let deadline = Some(std::time::Instant::now() + Duration::from_secs(2));
    let e = rt
        .block_on(wait_agreement(
            &cfg,
            &session,
            &peers,
            &[7; 32],
            deadline,
            &mut |_| {},
        ))
        .unwrap_err();
    let (n, q) = (polls(e), session.queries_sent() - before);
    assert!(n >= 2, "{n} polls");
    assert!(
        q <= full + 2 * u64::from(n),
        "{q} queries in {n} polls, a full check is {full}"
    );
}

#[test]
fn another_client_version_is_named_by_its_block0() {
    // Same manifest, same genesis; org2's client carries other contract bytecode (as 0.14.1
    // does against 0.14.0), so its block 0 differs. Each run publishes its client's block 0
    // in its genesis record; check --manifest names the organisation and both hashes.
    let lab = lab_of(2);
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest_of(&lab, false, "v1", 2));
    let other = base.path().join("other-client");
    std::fs::write(
        &other,
        format!("#!/bin/sh\nexec {STANDIN} --standin.contracts 0.0.0-other \"$@\"\n"),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut runs = vec![
        run_in(
            &lab,
            base.path(),
            0,
            &mdir,
            None,
            &["--autonity", STANDIN],
            false,
        ),
        run_in(
            &lab,
            base.path(),
            1,
            &mdir,
            None,
            &["--autonity", other.to_str().unwrap()],
            false,
        ),
    ];
    wait_for(&mut runs, "both clients' block 0 published", 120, |r| {
        if let Some(code) = r.exited() {
            panic!("{} exited with {code}:\n{}", r.datadir.display(), r.log());
        }
        r.log().contains("block 0: the client reports 0x")
    });
    let block0 = |r: &Run| {
        let log = r.log();
        let line = log
            .lines()
            .find(|l| l.starts_with("block 0: the client reports 0x"))
            .unwrap()
            .to_string();
        line["block 0: the client reports ".len()..]
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let (ours, theirs) = (block0(&runs[0]), block0(&runs[1]));
    assert_ne!(ours, theirs);
    // The state file keeps it for a resumed run.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[0].datadir.join("ceremony.json")).unwrap())
            .unwrap();
    assert_eq!(state["block0_hash"], ours[2..]);

    let out = check(&runs[0], &mdir, "2s");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "org2's node reports block 0 {theirs} but this node {ours}: not the same chain \
             (another client version or genesis)"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("org1's node"), "{stderr}");
    // The JSON report carries the same, with who reported.
    let out = Command::new(CLI)
        .args([
            "check",
            "--rpc",
            &format!("http://127.0.0.1:{}", runs[1].rpc_port),
        ])
        .args(["--keys", runs[1].keys.to_str().unwrap()])
        .args(["--manifest", mdir.join("manifest.toml").to_str().unwrap()])
        .args(["--window", "2s", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["block0"], theirs.as_str());
    assert_eq!(
        report["block0_reported"],
        serde_json::json!(["org1", "org2"])
    );
    assert_eq!(
        report["block0_mismatch"],
        serde_json::json!([{"org": "org1", "block0": ours}])
    );
    assert_eq!(report["profile"], "v1");
}

/// `run` owns its record layout as `publish` does: an AAAA left at the host by an earlier
/// publish (the run now publishes an IPv4 address only) goes in the same update.
#[test]
fn run_deletes_an_address_it_no_longer_publishes() {
    let lab = lab_of(2);
    let base = tempfile::tempdir().unwrap();
    let mdir = manifest_dir(base.path(), &manifest_of(&lab, false, "v1", 2));
    let (_, zone, host) = ORGS[0];
    let z = lab.zone(zone).unwrap();
    let server = z.server.to_string();
    let aaaa = || {
        let out = Command::new("dig")
            .args([&format!("@{server}"), "+norecurse", "+short", host, "AAAA"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let mut nsupdate = Command::new("nsupdate")
        .args(["-k", z.tsig.as_ref().unwrap().file.to_str().unwrap()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    write!(
        nsupdate.stdin.take().unwrap(),
        "server {server}\nzone {zone}\nupdate add {host} 300 AAAA 2001:db8::2\nsend\n"
    )
    .unwrap();
    assert!(nsupdate.wait().unwrap().success());
    assert_eq!(aaaa(), "2001:db8::2");

    let mut runs = vec![run_in(
        &lab,
        base.path(),
        0,
        &mdir,
        None,
        &["--until", "published"],
        false,
    )];
    assert_eq!(wait_exit(&mut runs, 60), [0], "{}", runs[0].log());
    assert_eq!(aaaa(), "", "{}", runs[0].log());
}
