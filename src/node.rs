//! Launching and supervising the Autonity client (or the stand-in): its command line per
//! profile, the client configuration file with the peers' enodes, signal forwarding, exit status.
//!
//! v1 (Autonity v0.14 / 1.x): `--autonitykeys DIR/autonitykeys --consensus.port P
//! --consensus.nat extip:IP`; v0.7: `--nodekey DIR/nodekey --mine`. Both: `--datadir`,
//! `--genesis`, `--config DATADIR/config.toml`, `--syncmode full`, `--port`, `--networkid`,
//! `--nat extip:IP`, HTTP JSON-RPC with `aut,eth,net,web3,admin,tendermint`.
//!
//! - `--syncmode full`: with the client's default (snap in 0.14, fast in 0.7) a validator that
//!   is not the proposer discards the blocks it is sent ("Fast syncing, discarded propagated
//!   block") and a new chain stops at height 1.
//! - `--consensus.nat extip:IP` (v1): the consensus channel has its own NAT setting, separate
//!   from `--nat` (the execution channel).
//! - Peers: the client reads a `static-nodes.json` in its data directory only as a deprecated
//!   file ("please use the TOML config file instead", `node/config.go` of both versions), so the
//!   other validators' enodes go into `config.toml`, section `[Node.ExecutionP2P]` (0.14:
//!   `node.Config.ExecutionP2P`) or `[Node.P2P]` (v0.7.1), key `StaticNodes`, given with
//!   `--config`. Set there, the client does not look for `static-nodes.json`; the same list is
//!   still written to that file for tools and for a client started without `--config`.
//!
//! # Limitations
//! A client left behind by a killed run is found again through `client.json` (pid and start
//! time from `/proc`, Linux only) and stopped before a new one starts.
//! The committee's enodes also come from the contract; no `--bootnodes`. Signals are forwarded
//! with `kill(1)`; only SIGTERM and SIGINT.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use crate::genesis::Format;

/// Why the client could not be started or stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The client program asked for (`autonity` by default) is not a file, or not on `PATH`.
    #[error("no client program {what}: pass --autonity /path/to/autonity (or --autonity autonity-standin for the stand-in, which is not a real node)")]
    NotFound {
        /// What was looked for: a path that is not a file, or a name not on `PATH`.
        what: String,
    },
    /// The client could not be started.
    #[error("cannot start {}: {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The client exited with a failure.
    #[error("{} exited with {status}", program.display())]
    Exited {
        /// The program.
        program: PathBuf,
        /// How it ended.
        status: ExitStatus,
    },
    /// A client left running by an earlier run did not stop, even after SIGKILL.
    #[error("the client left running by an earlier run (pid {pid}, recorded in {}) did not stop after SIGKILL", record.display())]
    Leftover {
        /// Its process id.
        pid: u32,
        /// The record that named it.
        record: PathBuf,
    },
    /// A file for the client could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl NodeError {
    /// The exit status (`NODE`, or `LOCAL` for files).
    pub fn exit_code(&self) -> u8 {
        match self {
            NodeError::Write { .. } => crate::exit::LOCAL,
            _ => crate::exit::NODE,
        }
    }
}

/// Everything the client's command line is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// The client program.
    pub program: PathBuf,
    /// Genesis format, which decides the key flag.
    pub format: Format,
    /// `--datadir`.
    pub datadir: PathBuf,
    /// `--genesis`.
    pub genesis: PathBuf,
    /// The key directory (`autonitykeys` for v1, `nodekey` for v0.7).
    pub keys: PathBuf,
    /// p2p port.
    pub port: u16,
    /// Consensus (ACN) port, v1 only.
    pub consensus_port: u16,
    /// `--networkid`.
    pub network_id: u64,
    /// Public IP for `--nat extip:`.
    pub ext_ip: IpAddr,
    /// `--http.addr`.
    pub http_addr: IpAddr,
    /// `--http.port`.
    pub http_port: u16,
}

/// The client configuration file [`write_static_nodes`] writes in the client's data directory.
pub const CLIENT_CONFIG: &str = "config.toml";

impl NodeSpec {
    /// `<datadir>/config.toml`, given to the client with `--config`.
    pub fn config_path(&self) -> PathBuf {
        self.datadir.join(CLIENT_CONFIG)
    }

    /// The client's arguments (without the program).
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--datadir".into(),
            self.datadir.display().to_string(),
            "--genesis".into(),
            self.genesis.display().to_string(),
            "--config".into(),
            self.config_path().display().to_string(),
            "--syncmode".into(),
            "full".into(),
        ];
        match self.format {
            Format::V1 => {
                a.push("--autonitykeys".into());
                a.push(self.keys.join("autonitykeys").display().to_string());
            }
            Format::V07 => {
                a.push("--nodekey".into());
                a.push(self.keys.join("nodekey").display().to_string());
            }
        }
        a.extend(["--port".into(), self.port.to_string()]);
        if self.format == Format::V1 {
            a.extend(["--consensus.port".into(), self.consensus_port.to_string()]);
        }
        a.extend([
            "--networkid".into(),
            self.network_id.to_string(),
            "--nat".into(),
            format!("extip:{}", self.ext_ip),
        ]);
        if self.format == Format::V1 {
            a.extend(["--consensus.nat".into(), format!("extip:{}", self.ext_ip)]);
        }
        a.extend([
            "--http".into(),
            "--http.addr".into(),
            self.http_addr.to_string(),
            "--http.port".into(),
            self.http_port.to_string(),
            "--http.api".into(),
            "aut,eth,net,web3,admin,tendermint".into(),
        ]);
        if self.format == Format::V07 {
            a.push("--mine".into());
        }
        a
    }

    /// The RPC URL the node will serve (loopback when it listens on all addresses).
    pub fn rpc_url(&self) -> String {
        let host = if self.http_addr.is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            match self.http_addr {
                IpAddr::V6(ip) => format!("[{ip}]"),
                IpAddr::V4(ip) => ip.to_string(),
            }
        };
        format!("http://{host}:{}", self.http_port)
    }
}

/// The client program: `explicit` (a path, which must be a file, or a name found on `PATH`),
/// or `autonity` found on `PATH`. Checked before anything is published, so a typo costs
/// nothing.
pub fn find_client(explicit: Option<&Path>) -> Result<PathBuf, NodeError> {
    let program = explicit.unwrap_or(Path::new("autonity"));
    let found = match program.components().count() > 1 {
        true => program.is_file().then(|| program.to_path_buf()),
        false => which(program.as_os_str()),
    };
    found.ok_or_else(|| NodeError::NotFound {
        what: match program.components().count() > 1 {
            true => format!("{} (not a file)", program.display()),
            false => format!("`{}` on PATH", program.display()),
        },
    })
}

fn which(name: &std::ffi::OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Write `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    crate::atomic::replace(path, bytes).map_err(|source| NodeError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The peers as the client reads them from its TOML configuration file: `StaticNodes` of the
/// execution p2p server (`[Node.ExecutionP2P]` in 0.14, `[Node.P2P]` in v0.7.1).
pub fn client_config(format: Format, enodes: &[String]) -> String {
    let section = match format {
        Format::V1 => "Node.ExecutionP2P",
        Format::V07 => "Node.P2P",
    };
    let mut text = format!(
        "# Written by dnsceremony: the other validators, dialled and kept connected.\n[{section}]\nStaticNodes = ["
    );
    for e in enodes {
        // A JSON string is a TOML basic string (same escapes).
        text.push_str("\n  ");
        text.push_str(&serde_json::to_string(e).unwrap_or_default());
        text.push(',');
    }
    text.push_str(if enodes.is_empty() { "]\n" } else { "\n]\n" });
    text
}

/// Write the peers' enode URLs (sorted; not our own) for the client in `datadir`: its
/// configuration file [`CLIENT_CONFIG`] (given with `--config`, see [`NodeSpec::args`]) and
/// `static-nodes.json` (the same list, for tools and a client started without `--config`).
/// Returns the configuration file's path.
pub fn write_static_nodes(
    datadir: &Path,
    format: Format,
    enodes: &[String],
) -> Result<PathBuf, NodeError> {
    let mut sorted = enodes.to_vec();
    sorted.sort();
    sorted.dedup();
    let path = datadir.join(CLIENT_CONFIG);
    write_atomic(&path, client_config(format, &sorted).as_bytes())?;
    let mut bytes = serde_json::to_vec_pretty(&sorted).unwrap_or_default();
    bytes.push(b'\n');
    write_atomic(&datadir.join("static-nodes.json"), &bytes)?;
    Ok(path)
}

/// JSON schema name of [`ClientRecord`].
pub const CLIENT_SCHEMA: &str = "dnsceremony.client/v1";

/// What `<datadir>/client.json` says about the client a run started, so that a run started
/// again after its predecessor was killed (SIGKILL: no chance to stop its client) can stop
/// the client left behind. The start time tells a reused pid from our process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientRecord {
    /// Always [`CLIENT_SCHEMA`].
    pub schema: String,
    /// Process id.
    pub pid: u32,
    /// Start time, field 22 of `/proc/<pid>/stat` (clock ticks since boot).
    pub start_time: u64,
    /// The program.
    pub program: PathBuf,
}

/// Start time (field 22 of `/proc/<pid>/stat`) of a live process; `None` when there is no
/// such process or it has exited (a zombie waiting for its parent counts as exited).
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ...`: comm may hold spaces and parentheses; the fields follow the last `)`.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&("Z" | "X" | "x")) | None) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Record the client just started in `record` (written atomically).
pub fn record_client(record: &Path, running: &Running) -> Result<(), NodeError> {
    let Some(pid) = running.id() else {
        return Ok(());
    };
    let Some(start_time) = process_start_time(pid) else {
        return Ok(());
    };
    let r = ClientRecord {
        schema: CLIENT_SCHEMA.into(),
        pid,
        start_time,
        program: running.program.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&r).unwrap_or_default();
    bytes.push(b'\n');
    write_atomic(record, &bytes)
}

/// Stop the client an earlier run recorded in `record`, if that very process (same pid and
/// start time) still runs: SIGTERM, up to `grace` to exit, then SIGKILL. Returns its pid and
/// whether SIGKILL was needed; `None` when there was nothing to stop. The record is removed.
/// An unreadable or malformed record is treated as absent (it cannot name a process safely).
pub async fn stop_leftover(
    record: &Path,
    grace: std::time::Duration,
) -> Result<Option<(u32, bool)>, NodeError> {
    let Some(r) = crate::localfile::read(record, crate::localfile::Kind::State)
        .ok()
        .and_then(|b| serde_json::from_slice::<ClientRecord>(&b).ok())
        .filter(|r| r.schema == CLIENT_SCHEMA)
    else {
        return Ok(None);
    };
    let ours = || process_start_time(r.pid) == Some(r.start_time);
    if !ours() {
        let _ = std::fs::remove_file(record);
        return Ok(None);
    }
    let wait = |limit: std::time::Duration| async move {
        let until = std::time::Instant::now() + limit;
        while ours() && std::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        !ours()
    };
    kill(r.pid, "TERM");
    let mut forced = false;
    if !wait(grace).await {
        forced = true;
        kill(r.pid, "KILL");
        if !wait(std::time::Duration::from_secs(5)).await {
            return Err(NodeError::Leftover {
                pid: r.pid,
                record: record.to_path_buf(),
            });
        }
    }
    let _ = std::fs::remove_file(record);
    Ok(Some((r.pid, forced)))
}

fn kill(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(std::process::Stdio::null())
        .status();
}

/// A running client.
#[derive(Debug)]
pub struct Running {
    program: PathBuf,
    child: tokio::process::Child,
}

/// Start the client; its stdout and stderr go to `log` (appended).
pub fn start(spec: &NodeSpec, log: &Path) -> Result<Running, NodeError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|source| NodeError::Write {
            path: log.to_path_buf(),
            source,
        })?;
    let err_file = file.try_clone().map_err(|source| NodeError::Write {
        path: log.to_path_buf(),
        source,
    })?;
    let child = tokio::process::Command::new(&spec.program)
        .args(spec.args())
        .stdin(std::process::Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| NodeError::Spawn {
            program: spec.program.clone(),
            source,
        })?;
    Ok(Running {
        program: spec.program.clone(),
        child,
    })
}

impl Running {
    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether it has exited (with its status).
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Send a signal (`TERM`, `INT`) to the client.
    pub fn signal(&self, sig: &str) {
        if let Some(pid) = self.child.id() {
            kill(pid, sig);
        }
    }

    /// Wait until the client exits, forwarding SIGTERM and SIGINT to it; `Ok` when it exited
    /// successfully (or because we forwarded a signal), otherwise [`NodeError::Exited`].
    pub async fn supervise(mut self) -> Result<ExitStatus, NodeError> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut forwarded = false;
        loop {
            tokio::select! {
                status = self.child.wait() => {
                    let status = status.map_err(|source| NodeError::Spawn { program: self.program.clone(), source })?;
                    if status.success() || forwarded {
                        return Ok(status);
                    }
                    return Err(NodeError::Exited { program: self.program.clone(), status });
                }
                Some(()) = async { match term.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                    forwarded = true;
                    self.signal("TERM");
                }
                Some(()) = async { match int.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                    forwarded = true;
                    self.signal("INT");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_client_that_is_not_there_is_named() {
        let e = find_client(Some(Path::new("/nonexistent/bin/autonity"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("no client program /nonexistent/bin/autonity (not a file)"),
            "{e}"
        );
        let e = find_client(Some(Path::new("no-such-client-program"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("no client program `no-such-client-program` on PATH"),
            "{e}"
        );
        // A directory is not a program either.
        assert!(find_client(Some(Path::new("/tmp"))).is_err());
        assert_eq!(
            find_client(Some(Path::new("/bin/sh"))).unwrap(),
            Path::new("/bin/sh")
        );
    }
    use super::*;

    fn spec(format: Format) -> NodeSpec {
        NodeSpec {
            program: "autonity".into(),
            format,
            datadir: "/d".into(),
            genesis: "/d/genesis.json".into(),
            keys: "/k".into(),
            port: 30303,
            consensus_port: 20203,
            network_id: 65_110_000,
            ext_ip: "203.0.113.1".parse().unwrap(),
            http_addr: "0.0.0.0".parse().unwrap(),
            http_port: 8545,
        }
    }

    #[test]
    fn v1_command_line() {
        let a = spec(Format::V1).args().join(" ");
        assert_eq!(
            a,
            "--datadir /d --genesis /d/genesis.json --config /d/config.toml --syncmode full \
             --autonitykeys /k/autonitykeys --port 30303 --consensus.port 20203 \
             --networkid 65110000 --nat extip:203.0.113.1 --consensus.nat extip:203.0.113.1 \
             --http --http.addr 0.0.0.0 --http.port 8545 \
             --http.api aut,eth,net,web3,admin,tendermint"
        );
        assert_eq!(spec(Format::V1).rpc_url(), "http://127.0.0.1:8545");
    }

    #[test]
    fn v07_command_line() {
        let a = spec(Format::V07).args().join(" ");
        assert_eq!(
            a,
            "--datadir /d --genesis /d/genesis.json --config /d/config.toml --syncmode full \
             --nodekey /k/nodekey --port 30303 --networkid 65110000 --nat extip:203.0.113.1 \
             --http --http.addr 0.0.0.0 --http.port 8545 \
             --http.api aut,eth,net,web3,admin,tendermint --mine"
        );
    }

    #[test]
    fn static_nodes_in_the_client_config_and_the_json_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            format!("enode://{}@10.0.0.1:30303", "a".repeat(128)),
            format!("enode://{}@10.0.0.2:30303", "b".repeat(128)),
        );
        let p = write_static_nodes(dir.path(), Format::V1, &[b.clone(), a.clone()]).unwrap();
        assert_eq!(p, dir.path().join("config.toml"));
        assert_eq!(
            p,
            NodeSpec {
                datadir: dir.path().into(),
                ..spec(Format::V1)
            }
            .config_path()
        );
        // Sorted, in the execution p2p server's section of 0.14's node.Config.
        let text = std::fs::read_to_string(&p).unwrap();
        let toml: toml::Table = text.parse().unwrap();
        let statics = &toml["Node"]["ExecutionP2P"]["StaticNodes"];
        assert_eq!(statics.as_array().unwrap().len(), 2);
        assert_eq!(statics[0].as_str(), Some(a.as_str()));
        assert_eq!(statics[1].as_str(), Some(b.as_str()));
        assert!(toml["Node"].get("P2P").is_none());
        let json = std::fs::read_to_string(dir.path().join("static-nodes.json")).unwrap();
        assert_eq!(json, format!("[\n  \"{a}\",\n  \"{b}\"\n]\n"));
        // v0.7.1's node.Config has one p2p server, P2P.
        write_static_nodes(dir.path(), Format::V07, std::slice::from_ref(&a)).unwrap();
        let toml: toml::Table = std::fs::read_to_string(&p).unwrap().parse().unwrap();
        assert_eq!(
            toml["Node"]["P2P"]["StaticNodes"][0].as_str(),
            Some(a.as_str())
        );
        assert!(toml["Node"].get("ExecutionP2P").is_none());
        // No peers: an empty list, still valid TOML. No temporary files left behind.
        let toml: toml::Table = client_config(Format::V1, &[]).parse().unwrap();
        assert_eq!(
            toml["Node"]["ExecutionP2P"]["StaticNodes"]
                .as_array()
                .map(Vec::len),
            Some(0)
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}

#[cfg(test)]
mod supervise_tests {
    use super::*;

    fn spec_for(program: &str) -> NodeSpec {
        NodeSpec {
            program: program.into(),
            format: Format::V07,
            datadir: "/nonexistent".into(),
            genesis: "/nonexistent/genesis.json".into(),
            keys: "/nonexistent".into(),
            port: 30303,
            consensus_port: 20203,
            network_id: 1,
            ext_ip: "127.0.0.1".parse().unwrap(),
            http_addr: "127.0.0.1".parse().unwrap(),
            http_port: 8545,
        }
    }

    #[tokio::test]
    async fn a_leftover_is_stopped_only_when_pid_and_start_time_match() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("client.json");
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        let start_time = process_start_time(pid).unwrap();
        let write = |start_time: u64| {
            let r = ClientRecord {
                schema: CLIENT_SCHEMA.into(),
                pid,
                start_time,
                program: "sleep".into(),
            };
            std::fs::write(&record, serde_json::to_vec(&r).unwrap()).unwrap();
        };
        // Same pid, another start time: a reused pid, not ours; left alone, record dropped.
        write(start_time + 1);
        let grace = std::time::Duration::from_secs(5);
        assert_eq!(stop_leftover(&record, grace).await.unwrap(), None);
        assert_eq!(process_start_time(pid), Some(start_time));
        assert!(!record.exists());
        // Ours: stopped with SIGTERM.
        write(start_time);
        assert_eq!(
            stop_leftover(&record, grace).await.unwrap(),
            Some((pid, false))
        );
        assert_eq!(process_start_time(pid), None);
        assert!(!child.wait().unwrap().success());
        assert!(!record.exists());
        assert_eq!(stop_leftover(&record, grace).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_failing_client_is_a_node_error() {
        let dir = tempfile::tempdir().unwrap();
        let running = start(&spec_for("false"), &dir.path().join("node.log")).unwrap();
        match running.supervise().await {
            Err(e @ NodeError::Exited { .. }) => assert_eq!(e.exit_code(), crate::exit::NODE),
            other => panic!("{other:?}"),
        }
        let running = start(&spec_for("true"), &dir.path().join("node.log")).unwrap();
        assert!(running.supervise().await.unwrap().success());
        let missing = start(
            &spec_for("/nonexistent/autonity"),
            &dir.path().join("node.log"),
        );
        assert!(matches!(missing, Err(NodeError::Spawn { .. })));
    }
}
