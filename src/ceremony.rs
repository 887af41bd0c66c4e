//! The phases of one organisation's ceremony glued together, with its state on disk so that a
//! restart resumes: keys (made once, never again), publish (RFC 2136 + TSIG), wait until every
//! organisation is secure, build the genesis, publish its hash, wait until every organisation
//! published the same hash, start the client, check on chain until green.
//!
//! State lives in `<datadir>/ceremony.json` (schema `dnsceremony.ceremony/v1`: ceremony id,
//! organisation, phase reached, genesis hash), written atomically after every phase. Publishing
//! is idempotent (an unchanged record set sends no update), so a restart never duplicates
//! records; once a genesis hash has been published, a different genesis is refused. The client
//! started is recorded in `<datadir>/client.json`; a restarted run stops that process if it
//! still runs (its predecessor was killed without stopping it) before starting its own.
//!
//! # Limitations
//! One organisation per data directory. The wait loops share one validation session: shared
//! ancestors (root, TLD keys) are validated once per run, and an organisation whose zone's SOA
//! serial did not move since it was read keeps that reading for one query (the `wait`
//! command's probe); a change the zone's serial does not show is not seen until it does.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hickory_proto::rr::{RData, RecordType};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::dns::tsig::TsigKey;
use crate::dns::update::{self, Timeouts};
use crate::genesis::{self, Genesis};
use crate::identity::{Address, Identity};
use crate::manifest::Manifest;
use crate::node::{self, NodeSpec, Running};
use crate::records::{self, Peer, PublishParams, RecordNames};
use crate::rpc::{self, Client, Expectation};
use crate::verify::{Kept, Lookup, Session, Status, VerifyOptions};
use crate::Error;

/// How far a ceremony got, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Nothing done yet.
    Started,
    /// Keys exist in the key directory.
    Keys,
    /// Our records are published and served by every authoritative server.
    Published,
    /// Every organisation is secure.
    PeersSecure,
    /// The genesis is built and written.
    GenesisBuilt,
    /// Our genesis hash is published.
    HashPublished,
    /// Every organisation published the same genesis hash.
    Agreed,
    /// The client was started.
    NodeStarted,
    /// The on-chain check is green.
    Confirmed,
}

impl Phase {
    /// The name used in the state file and in progress lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Started => "started",
            Phase::Keys => "keys",
            Phase::Published => "published",
            Phase::PeersSecure => "peers_secure",
            Phase::GenesisBuilt => "genesis_built",
            Phase::HashPublished => "hash_published",
            Phase::Agreed => "agreed",
            Phase::NodeStarted => "node_started",
            Phase::Confirmed => "confirmed",
        }
    }

    /// What [`run`] does once this phase is reached, until the next one: what an interrupt
    /// stops (`interrupted while <this>`).
    pub fn next_step(self) -> &'static str {
        match self {
            Phase::Started => "loading or making the keys",
            Phase::Keys => "publishing our records",
            Phase::Published => "waiting for every organisation's records to be secure",
            Phase::PeersSecure => "building the genesis",
            Phase::GenesisBuilt => "publishing our genesis hash",
            Phase::HashPublished => "waiting for every organisation's genesis hash",
            Phase::Agreed => "starting the client",
            Phase::NodeStarted => "waiting for the client's block 0 and the on-chain check",
            Phase::Confirmed => "supervising the client",
        }
    }
}

/// JSON schema name of [`State`].
pub const STATE_SCHEMA: &str = "dnsceremony.ceremony/v1";

/// What `<datadir>/ceremony.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Always [`STATE_SCHEMA`].
    pub schema: String,
    /// The ceremony id (64 hex).
    pub ceremony_id: String,
    /// Our organisation.
    pub org: String,
    /// The phase reached.
    pub phase: Phase,
    /// The genesis hash (64 hex), once built.
    pub genesis_hash: Option<String>,
    /// The hash of block 0 (64 hex) our client reported, once published (`b=` of the genesis
    /// record; republished as it is when a run resumes, so the record does not lose it).
    #[serde(default)]
    pub block0_hash: Option<String>,
}

/// Why a ceremony stopped.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// The organisation is not in the manifest.
    #[error("organisation {org} is not in the manifest {}", manifest.display())]
    UnknownOrg {
        /// The name given with `--org`.
        org: String,
        /// The manifest.
        manifest: PathBuf,
    },
    /// The state file is unreadable or belongs to another ceremony or organisation.
    #[error("state file {}: {why}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Some organisation is insecure, bogus or invalid.
    #[error("not secure: {}", list(.orgs))]
    NotSecure {
        /// `(organisation, status: reason)`.
        orgs: Vec<(String, String)>,
    },
    /// The deadline passed while some organisations were still pending.
    #[error("deadline passed while waiting for {what} (after {polls} polls): {}", list(.orgs))]
    Deadline {
        /// What was awaited.
        what: &'static str,
        /// `(organisation, why pending)`.
        orgs: Vec<(String, String)>,
        /// How many times it was looked at.
        polls: u32,
    },
    /// Organisations published another genesis hash than ours.
    #[error("genesis mismatch ({}; ours is {ours}{})", published(.orgs), not_yet(.pending))]
    GenesisMismatch {
        /// Our hash.
        ours: String,
        /// `(organisation, their hash)`.
        orgs: Vec<(String, String)>,
        /// Organisations that had not published a hash yet.
        pending: Vec<String>,
    },
    /// The genesis built now differs from the one already published.
    #[error("genesis changed since its hash {published} was published (now {now}); remove {} to start over", state.display())]
    GenesisChanged {
        /// The published hash.
        published: String,
        /// The hash built now.
        now: String,
        /// The state file.
        state: PathBuf,
    },
    /// A peer's genesis-hash record is unusable.
    #[error("organisation {org}: genesis record {why}")]
    GenesisRecord {
        /// The organisation.
        org: String,
        /// What is wrong.
        why: String,
    },
    /// The key directory holds keys of the other profile.
    #[error("key directory {}: holds {found} keys but the manifest's profile is {wanted}", dir.display())]
    KeyProfile {
        /// The key directory.
        dir: PathBuf,
        /// The profile of the keys found.
        found: &'static str,
        /// The manifest's profile.
        wanted: &'static str,
    },
    /// The deadline passed while waiting for the node: what it was still waiting for.
    #[error("deadline passed while waiting for {what} (after {polls} polls): {last}")]
    NodeDeadline {
        /// What was awaited.
        what: &'static str,
        /// How many times it was looked at.
        polls: u32,
        /// What the last look found (the check's problem, or the RPC error).
        last: String,
    },
    /// The client stopped before the check turned green.
    #[error("the client exited before the network was confirmed: {status}")]
    NodeExited {
        /// How it ended.
        status: std::process::ExitStatus,
    },
}

fn list(orgs: &[(String, String)]) -> String {
    orgs.iter()
        .map(|(o, w)| format!("{o} ({w})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn published(orgs: &[(String, String)]) -> String {
    orgs.iter()
        .map(|(o, h)| format!("{o} published {h}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_yet(pending: &[String]) -> String {
    if pending.is_empty() {
        String::new()
    } else {
        format!("; not yet published: {}", pending.join(", "))
    }
}

impl CeremonyError {
    /// The exit status each failure maps to.
    pub fn exit_code(&self) -> u8 {
        use crate::exit;
        match self {
            CeremonyError::UnknownOrg { .. }
            | CeremonyError::State { .. }
            | CeremonyError::KeyProfile { .. } => exit::BAD_INPUT,
            CeremonyError::NotSecure { .. } | CeremonyError::GenesisRecord { .. } => exit::SECURITY,
            CeremonyError::Deadline { .. } | CeremonyError::NodeDeadline { .. } => exit::PENDING,
            CeremonyError::GenesisMismatch { .. } | CeremonyError::GenesisChanged { .. } => {
                exit::GENESIS_MISMATCH
            }
            CeremonyError::NodeExited { .. } => exit::NODE,
        }
    }
}

/// Everything one organisation's ceremony needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The manifest.
    pub manifest: Manifest,
    /// Our organisation's name.
    pub org: String,
    /// Key directory (keys made there once if it holds none).
    pub keys: PathBuf,
    /// Our public IP (A/AAAA record, enode, `--nat extip:`).
    pub ip: IpAddr,
    /// p2p port.
    pub port: u16,
    /// Consensus port (v1).
    pub consensus_port: u16,
    /// Treasury (v1); default: the node's own address.
    pub treasury: Option<Address>,
    /// TTL of our records.
    pub ttl: u32,
    /// Primary server of our zone (updates go there).
    pub server: SocketAddr,
    /// TSIG key for updates.
    pub tsig: TsigKey,
    /// How to reach and validate DNS.
    pub verify: VerifyOptions,
    /// Data directory (genesis, state, client data, client log).
    pub datadir: PathBuf,
    /// The client program given explicitly (`None`: `autonity` on `PATH`); looked up only
    /// when a client will be started ([`Config::until`] is [`Until::Confirmed`]).
    pub client: Option<PathBuf>,
    /// Where the ceremony stops.
    pub until: Until,
    /// JSON-RPC address of the client.
    pub http_addr: IpAddr,
    /// JSON-RPC port of the client.
    pub http_port: u16,
    /// Time between polls.
    pub poll: Duration,
    /// Give up waiting after this long (`None`: never).
    pub deadline: Option<Duration>,
    /// Window for blocks to advance in one check.
    pub check_window: Duration,
    /// Publish timeouts.
    pub timeouts: Timeouts,
    /// Whether key files that group or others may access are read (with an
    /// [`Event::OpenKeyFile`]) or refused.
    pub key_permissions: crate::identity::KeyPermissions,
}

/// Where a ceremony stops (`run --until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Until {
    /// Once our records are published and served (no waiting for the others).
    Published,
    /// Once every organisation published the same genesis hash; `genesis.json` and
    /// `<datadir>/node/static-nodes.json` are written, no client is looked for or started.
    Genesis,
    /// The whole ceremony: start the client and check on chain until green.
    Confirmed,
}

impl Until {
    /// The phase at which the ceremony is done.
    pub fn phase(self) -> Phase {
        match self {
            Until::Published => Phase::Published,
            Until::Genesis => Phase::Agreed,
            Until::Confirmed => Phase::Confirmed,
        }
    }
}

/// How [`run`] ended without a failure.
#[derive(Debug)]
pub enum Outcome {
    /// Stopped at the [`Until`] phase asked for (no client started); `already` when the
    /// state file showed it reached before and nothing had to be done.
    Stopped {
        /// The phase reached.
        phase: Phase,
        /// Whether a previous run had finished it already.
        already: bool,
    },
    /// The on-chain check is green; the client runs, for the caller to supervise.
    Running(Box<Running>),
}

/// What the ceremony reports while it runs (the CLI prints these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Resumed from a state file.
    Resumed(Phase),
    /// Keys were made (`true`) or found (`false`).
    Keys {
        /// Whether they were generated now.
        generated: bool,
        /// Our enode key (public).
        enode_key: String,
    },
    /// A key file was read although group or others may access it
    /// ([`crate::identity::KeyPermissions::AllowOpen`]).
    OpenKeyFile {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A phase was reached.
    Reached(Phase),
    /// Still waiting for these organisations (`(org, why)`).
    Waiting {
        /// What is awaited.
        what: &'static str,
        /// Who, and why.
        orgs: Vec<(String, String)>,
    },
    /// The genesis was built.
    Genesis {
        /// Its hash.
        hash: String,
        /// Where it was written.
        path: PathBuf,
    },
    /// The client was started.
    NodeStarted {
        /// Its RPC URL.
        rpc: String,
        /// Its command line.
        command: String,
    },
    /// One on-chain check that is not green yet.
    CheckNotYet(String),
    /// Our client reported its block 0 and the genesis record now carries it (`b=`).
    Block0 {
        /// Its hash (64 hex).
        hash: String,
    },
    /// The client an earlier run left running was stopped (`forced`: SIGKILL was needed).
    LeftoverStopped {
        /// Its process id.
        pid: u32,
        /// Whether it ignored SIGTERM.
        forced: bool,
    },
}

impl Config {
    /// `<datadir>/ceremony.json`.
    pub fn state_path(&self) -> PathBuf {
        self.datadir.join("ceremony.json")
    }

    /// `<datadir>/genesis.json`.
    pub fn genesis_path(&self) -> PathBuf {
        self.datadir.join("genesis.json")
    }

    /// `<datadir>/client.json`, the record of the client started ([`node::ClientRecord`]).
    pub fn client_record_path(&self) -> PathBuf {
        self.datadir.join("client.json")
    }

    /// `<datadir>/client.args`: the client's arguments, one per line, for a client started
    /// elsewhere (a sibling container) after `--until genesis`.
    pub fn client_args_path(&self) -> PathBuf {
        self.datadir.join("client.args")
    }

    /// `<datadir>/node`, the client's data directory.
    pub fn node_datadir(&self) -> PathBuf {
        self.datadir.join("node")
    }

    /// The client's command line, with `program` as the client.
    pub fn node_spec(&self, program: PathBuf) -> NodeSpec {
        NodeSpec {
            program,
            format: self.manifest.profile.into(),
            datadir: self.node_datadir(),
            genesis: self.genesis_path(),
            keys: self.keys.clone(),
            port: self.port,
            consensus_port: self.consensus_port,
            network_id: self
                .manifest
                .genesis
                .network_id
                .unwrap_or(self.manifest.genesis.chain_id),
            ext_ip: self.ip,
            http_addr: self.http_addr,
            http_port: self.http_port,
        }
    }
}

fn state_err(path: &Path, why: impl Into<String>) -> Error {
    CeremonyError::State {
        path: path.to_path_buf(),
        why: why.into(),
    }
    .into()
}

/// Read the state file (`None` when there is none).
pub fn load_state(path: &Path) -> Result<Option<State>, Error> {
    match crate::localfile::read(path, crate::localfile::Kind::State) {
        Ok(bytes) => {
            let s: State =
                serde_json::from_slice(&bytes).map_err(|e| state_err(path, e.to_string()))?;
            if s.schema != STATE_SCHEMA {
                return Err(state_err(
                    path,
                    format!("schema {} is not {STATE_SCHEMA}", s.schema),
                ));
            }
            Ok(Some(s))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn save(path: &Path, state: &State) -> Result<(), Error> {
    let mut bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    bytes.push(b'\n');
    node::write_atomic(path, &bytes)?;
    Ok(())
}

/// Keys from `dir`, made there (once, mode 0600) when it holds no key file at all; with the
/// key files read although group or others may access them (see `perms`).
pub fn ensure_keys(
    dir: &Path,
    manifest: &Manifest,
    perms: crate::identity::KeyPermissions,
) -> Result<(Identity, bool, Vec<crate::identity::OpenKeyFile>), Error> {
    let any = [
        crate::identity::files::AUTONITYKEYS,
        crate::identity::files::ORACLEKEY,
        crate::identity::files::NODEKEY,
    ]
    .iter()
    .any(|f| dir.join(f).exists());
    if any {
        let loaded = Identity::load_with(dir, perms)?;
        let id = loaded.identity;
        if id.profile() != manifest.profile {
            return Err(CeremonyError::KeyProfile {
                dir: dir.to_path_buf(),
                found: id.profile().as_str(),
                wanted: manifest.profile.as_str(),
            }
            .into());
        }
        return Ok((id, false, loaded.open_files));
    }
    crate::identity::create_key_dir(dir)?;
    let id = Identity::generate(manifest.profile);
    id.write_new(dir)?;
    Ok((id, true, Vec::new()))
}

/// One update of `wanted`; with `owned`, also the deletion of the tool's RRsets that `wanted`
/// no longer holds (the identity records; the genesis record owns nothing else).
async fn publish(
    cfg: &Config,
    wanted: &[crate::dns::RRset],
    owned: &[update::Owned],
) -> Result<(), Error> {
    let plan = update::prepare_owned(cfg.server, wanted, owned, cfg.timeouts).await?;
    update::apply(&plan, &cfg.tsig, cfg.timeouts).await?;
    update::read_back(&plan, cfg.timeouts).await?;
    Ok(())
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Wait until every organisation is secure; their peers in manifest order.
///
/// Polls with one [`Session`] ([`Session::poll`], as `wait` does): an organisation found
/// secure before whose zone's SOA serial did not move keeps its verdict for one query; any
/// other is checked again with its zone's cached keys dropped.
pub async fn wait_secure(
    cfg: &Config,
    session: &Session,
    deadline: Option<Instant>,
    progress: &mut dyn FnMut(Event),
) -> Result<Vec<(String, Peer)>, Error> {
    let mut last = None;
    let mut previous = None;
    let mut polls = 0u32;
    loop {
        // A deadline ends a poll in progress, as in `wait`.
        let report = match deadline {
            Some(d) => {
                let d = tokio::time::Instant::from_std(d);
                session
                    .poll_until(&cfg.manifest, previous.as_ref(), d)
                    .await
            }
            None => session.poll(&cfg.manifest, previous.as_ref()).await,
        };
        polls += 1;
        let failed: Vec<(String, String)> = report
            .orgs
            .iter()
            .filter(|o| o.status.is_failure())
            .map(|o| {
                let why = o.reason.clone().unwrap_or_default();
                (o.name.clone(), format!("{}: {why}", o.status.as_str()))
            })
            .collect();
        if !failed.is_empty() {
            return Err(CeremonyError::NotSecure { orgs: failed }.into());
        }
        if report.complete() {
            return Ok(report
                .orgs
                .into_iter()
                .filter_map(|o| o.peer.map(|p| (o.name, p)))
                .collect());
        }
        let pending: Vec<(String, String)> = report
            .orgs
            .iter()
            .filter(|o| o.status == Status::Pending)
            .map(|o| (o.name.clone(), o.reason.clone().unwrap_or_default()))
            .collect();
        if past(deadline) {
            return Err(CeremonyError::Deadline {
                what: "every organisation to be secure",
                orgs: pending,
                polls,
            }
            .into());
        }
        if last.as_ref() != Some(&pending) {
            progress(Event::Waiting {
                what: "records",
                orgs: pending.clone(),
            });
            last = Some(pending);
        }
        previous = Some(report);
        tokio::time::sleep(cfg.poll).await;
    }
}

/// What one organisation's genesis record said.
#[derive(Debug, Clone)]
enum HashSeen {
    Ours,
    Other(String),
    Pending(String),
}

/// Wait until every organisation published `ours` as its genesis hash.
///
/// Polls with one [`Session`]: an organisation whose zone's SOA serial did not move since its
/// record was read keeps that reading for one query; otherwise its zone's cached keys are
/// dropped and the record read and validated again.
pub async fn wait_agreement(
    cfg: &Config,
    session: &Session,
    peers: &[(String, Peer)],
    ours: &[u8; 32],
    deadline: Option<Instant>,
    progress: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    let ceremony = cfg.manifest.ceremony_id();
    let mut last = None;
    let mut polls = 0u32;
    // Per organisation (by index in `peers`): the last reading, its zone and the serial it
    // was read at.
    let mut seen: Vec<Option<Kept<HashSeen>>> = vec![None; peers.len()];
    loop {
        polls += 1;
        let mut pending = Vec::new();
        let mut differing = Vec::new();
        // Every organisation at once (a silent server costs its timeout once per poll, not
        // once per organisation behind it).
        let mut reads = tokio::task::JoinSet::new();
        for (i, (org, peer)) in peers.iter().enumerate() {
            let before = seen[i].take().map(|k| Kept {
                value: Ok(k.value),
                zone: k.zone,
                serial: k.serial,
            });
            let (session, org, peer, ours) = (session.clone(), org.clone(), peer.clone(), *ours);
            reads.spawn(async move {
                let kept = session
                    .reread(before, Result::is_ok, || async {
                        let names = RecordNames::for_host(&peer.host);
                        let lookup = session.lookup(&names.genesis, RecordType::TXT).await;
                        let zone = match &lookup {
                            Lookup::Secure { .. } => lookup.signer().cloned(),
                            Lookup::Absent { zone, .. } => Some(zone.clone()),
                            _ => None,
                        };
                        (
                            read_genesis_hash(&org, &peer, &lookup, &ceremony, &ours),
                            zone,
                        )
                    })
                    .await;
                (i, kept)
            });
        }
        let mut read: Vec<Option<Kept<Result<HashSeen, Error>>>> =
            (0..peers.len()).map(|_| None).collect();
        while let Some(done) = reads.join_next().await {
            let (i, kept) = crate::verify::task_output(done);
            read[i] = Some(kept);
        }
        for (i, ((org, _), kept)) in peers.iter().zip(read).enumerate() {
            let kept = kept.expect("every read reported");
            let reading = kept.value?;
            seen[i] = Some(Kept {
                value: reading.clone(),
                zone: kept.zone,
                serial: kept.serial,
            });
            match reading {
                HashSeen::Ours => {}
                HashSeen::Other(h) => differing.push((org.clone(), h)),
                HashSeen::Pending(why) => pending.push((org.clone(), why)),
            }
        }
        if !differing.is_empty() {
            return Err(CeremonyError::GenesisMismatch {
                ours: hex::encode(ours),
                orgs: differing,
                pending: pending.into_iter().map(|(o, _)| o).collect(),
            }
            .into());
        }
        if pending.is_empty() {
            return Ok(());
        }
        if past(deadline) {
            return Err(CeremonyError::Deadline {
                what: "every organisation's genesis hash",
                orgs: pending,
                polls,
            }
            .into());
        }
        if last.as_ref() != Some(&pending) {
            progress(Event::Waiting {
                what: "genesis hashes",
                orgs: pending.clone(),
            });
            last = Some(pending);
        }
        tokio::time::sleep(cfg.poll).await;
    }
}

/// What the lookup of an organisation's genesis record holds.
enum RecordSeen {
    /// A secure record that decodes.
    Record(records::GenesisRecord),
    /// Not there yet (absent, or its server does not answer): why.
    Pending(String),
    /// Unusable: why.
    Bad(String),
}

/// Decode an organisation's genesis record from its lookup: the one reader for the hash
/// agreement and for block 0.
fn genesis_record(
    peer: &Peer,
    lookup: &Lookup,
    ceremony: &crate::manifest::CeremonyId,
) -> RecordSeen {
    match lookup {
        Lookup::Secure { rrset, .. } => {
            let txts: Vec<Vec<Vec<u8>>> = rrset
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(t) => Some(t.txt_data.iter().map(|s| s.to_vec()).collect()),
                    _ => None,
                })
                .collect();
            match records::decode_genesis_hash(&peer.host, &txts, ceremony, &peer.enode_key) {
                Ok(r) => RecordSeen::Record(r),
                Err(e) if e.is_missing() => RecordSeen::Pending(e.to_string()),
                Err(e) => RecordSeen::Bad(e.to_string()),
            }
        }
        l @ (Lookup::Absent { .. } | Lookup::Unreachable { .. }) => {
            RecordSeen::Pending(l.describe())
        }
        l => RecordSeen::Bad(l.describe()),
    }
}

/// One organisation's genesis-hash record, read from `lookup`.
fn read_genesis_hash(
    org: &str,
    peer: &Peer,
    lookup: &Lookup,
    ceremony: &crate::manifest::CeremonyId,
    ours: &[u8; 32],
) -> Result<HashSeen, Error> {
    match genesis_record(peer, lookup, ceremony) {
        RecordSeen::Record(r) if r.hash == *ours => Ok(HashSeen::Ours),
        RecordSeen::Record(r) => Ok(HashSeen::Other(hex::encode(r.hash))),
        RecordSeen::Pending(why) => Ok(HashSeen::Pending(why)),
        RecordSeen::Bad(why) => Err(CeremonyError::GenesisRecord {
            org: org.to_string(),
            why,
        }
        .into()),
    }
}

/// What every organisation published as its node's block 0 (`b=` of its genesis record),
/// read and validated through `session` at once; in `peers` order.
pub async fn published_block0(
    session: &Session,
    peers: &[(String, Peer)],
    ceremony: &crate::manifest::CeremonyId,
) -> Vec<(String, rpc::Published)> {
    let mut reads = tokio::task::JoinSet::new();
    for (i, (_, peer)) in peers.iter().enumerate() {
        let (session, peer, ceremony) = (session.clone(), peer.clone(), *ceremony);
        reads.spawn(async move {
            let names = RecordNames::for_host(&peer.host);
            let lookup = session.lookup(&names.genesis, RecordType::TXT).await;
            (i, read_block0(&peer, &lookup, &ceremony))
        });
    }
    let mut out: Vec<Option<rpc::Published>> = vec![None; peers.len()];
    while let Some(done) = reads.join_next().await {
        let (i, published) = crate::verify::task_output(done);
        out[i] = Some(published);
    }
    peers
        .iter()
        .zip(out)
        .map(|((org, _), p)| (org.clone(), p.expect("every read reported")))
        .collect()
}

/// One organisation's published block 0, from the lookup of its genesis record.
fn read_block0(
    peer: &Peer,
    lookup: &Lookup,
    ceremony: &crate::manifest::CeremonyId,
) -> rpc::Published {
    match genesis_record(peer, lookup, ceremony) {
        RecordSeen::Record(r) => r
            .block0
            .map_or(rpc::Published::NotYet, rpc::Published::Block0),
        RecordSeen::Pending(_) => rpc::Published::NotYet,
        RecordSeen::Bad(why) => rpc::Published::Invalid(why),
    }
}

/// Whether a previous run finished the ceremony up to genesis agreement: the state file says
/// so and `genesis.json` (with the recorded hash), `static-nodes.json` and the client's
/// `config.toml` are in place.
fn agreed_before(cfg: &Config, state: &State) -> bool {
    if state.phase < Phase::Agreed {
        return false;
    }
    let Some(recorded) = &state.genesis_hash else {
        return false;
    };
    let genesis_ok = crate::localfile::read(&cfg.genesis_path(), crate::localfile::Kind::Genesis)
        .map(|b| hex::encode(<[u8; 32]>::from(sha2::Sha256::digest(&b))) == *recorded)
        .unwrap_or(false);
    let node = cfg.node_datadir();
    genesis_ok
        && node.join("static-nodes.json").is_file()
        && node.join(node::CLIENT_CONFIG).is_file()
}

/// Write [`Config::client_args_path`]: the arguments [`node::NodeSpec::args`] gives the
/// client, one per line, so a client started by other means gets exactly the same flags.
fn write_client_args(cfg: &Config) -> Result<(), Error> {
    let mut text = cfg.node_spec(PathBuf::from("autonity")).args().join("\n");
    text.push('\n');
    node::write_atomic(&cfg.client_args_path(), text.as_bytes())?;
    Ok(())
}

/// Wait until the client answers with its block 0 hash (its RPC comes up a moment after it
/// starts); gives up at `deadline` with the last RPC error, or when the client exits.
async fn wait_block0(
    client: &Client,
    pause: Duration,
    deadline: Option<Instant>,
    exited: &mut dyn FnMut() -> Option<std::process::ExitStatus>,
    progress: &mut dyn FnMut(Event),
) -> Result<[u8; 32], Error> {
    let mut polls = 0u32;
    let mut last: Option<String> = None;
    loop {
        polls += 1;
        if let Some(status) = exited() {
            return Err(CeremonyError::NodeExited { status }.into());
        }
        match client.block0_hash().await {
            Ok(h) => return Ok(h),
            Err(e) => {
                let why = e.to_string();
                if last.as_ref() != Some(&why) {
                    progress(Event::CheckNotYet(format!(
                        "block 0 not answered yet: {why}"
                    )));
                }
                last = Some(why);
            }
        }
        if past(deadline) {
            return Err(CeremonyError::NodeDeadline {
                what: "the client's block 0",
                polls,
                last: last.unwrap_or_default(),
            }
            .into());
        }
        tokio::time::sleep(pause).await;
    }
}

/// Check on chain until green; gives up at `deadline` saying what the last check found, or
/// when the client exits.
async fn confirm_on_chain(
    client: &Client,
    expect: &Expectation,
    window: Duration,
    pause: Duration,
    deadline: Option<Instant>,
    exited: &mut dyn FnMut() -> Option<std::process::ExitStatus>,
    progress: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    let mut polls = 0u32;
    loop {
        polls += 1;
        if let Some(status) = exited() {
            return Err(CeremonyError::NodeExited { status }.into());
        }
        let last = match rpc::check(client, expect, window).await {
            Ok(r) if r.ok => return Ok(()),
            Ok(r) => r.problem(),
            Err(e) => e.to_string(),
        };
        progress(Event::CheckNotYet(last.clone()));
        if past(deadline) {
            return Err(CeremonyError::NodeDeadline {
                what: "the on-chain check",
                polls,
                last,
            }
            .into());
        }
        tokio::time::sleep(pause).await;
    }
}

/// Run the ceremony up to [`Config::until`]: either stopped there, or (the whole ceremony)
/// with a green on-chain check and the running client returned for the caller to supervise
/// ([`Running::supervise`]). A restarted `--until genesis` run that finds the ceremony agreed
/// before (state file, `genesis.json` with the recorded hash, `static-nodes.json`) does
/// nothing and asks no server.
pub async fn run(cfg: &Config, progress: &mut dyn FnMut(Event)) -> Result<Outcome, Error> {
    let manifest = &cfg.manifest;
    let org = manifest
        .org(&cfg.org)
        .ok_or_else(|| CeremonyError::UnknownOrg {
            org: cfg.org.clone(),
            manifest: manifest.source.clone(),
        })?
        .clone();
    let ceremony = manifest.ceremony_id();
    let state_path = cfg.state_path();
    let mut state = match load_state(&state_path)? {
        Some(s) => {
            if s.ceremony_id != ceremony.to_string() || s.org != cfg.org {
                return Err(state_err(
                    &state_path,
                    format!(
                        "belongs to ceremony {} organisation {}, not {ceremony} {}",
                        s.ceremony_id, s.org, cfg.org
                    ),
                ));
            }
            progress(Event::Resumed(s.phase));
            s
        }
        None => State {
            schema: STATE_SCHEMA.into(),
            ceremony_id: ceremony.to_string(),
            org: cfg.org.clone(),
            phase: Phase::Started,
            genesis_hash: None,
            block0_hash: None,
        },
    };
    if cfg.until == Until::Genesis && agreed_before(cfg, &state) {
        write_client_args(cfg)?;
        return Ok(Outcome::Stopped {
            phase: Phase::Agreed,
            already: true,
        });
    }
    // Looked up before anything is published, and only when a client will be started.
    let program = match cfg.until {
        Until::Confirmed => Some(node::find_client(cfg.client.as_deref())?),
        Until::Published | Until::Genesis => None,
    };
    let deadline = cfg.deadline.map(|d| Instant::now() + d);
    let reach = |state: &mut State, phase: Phase, progress: &mut dyn FnMut(Event)| {
        if phase > state.phase {
            state.phase = phase;
        }
        progress(Event::Reached(phase));
        save(&state_path, state)
    };

    let (identity, generated, open_files) = ensure_keys(&cfg.keys, manifest, cfg.key_permissions)?;
    for f in open_files {
        progress(Event::OpenKeyFile {
            path: f.path,
            mode: f.mode,
        });
    }
    let public = identity.public();
    progress(Event::Keys {
        generated,
        enode_key: public.enode_key.to_string(),
    });
    reach(&mut state, Phase::Keys, progress)?;

    let (ipv4, ipv6) = match cfg.ip {
        IpAddr::V4(v4) => (Some(v4), None),
        IpAddr::V6(v6) => (None, Some(v6)),
    };
    let params = PublishParams {
        ipv4,
        ipv6,
        port: cfg.port,
        consensus_port: cfg.consensus_port,
        treasury: match manifest.profile {
            crate::manifest::Profile::V1 => Some(cfg.treasury.unwrap_or(public.node_address)),
            crate::manifest::Profile::V07 => cfg.treasury,
        },
        ttl: cfg.ttl,
    };
    publish(
        cfg,
        &records::encode(&org.host, &identity, &ceremony, &params),
        &update::layout_owned(&org.host),
    )
    .await?;
    reach(&mut state, Phase::Published, progress)?;
    if cfg.until == Until::Published {
        return Ok(Outcome::Stopped {
            phase: Phase::Published,
            already: false,
        });
    }

    // One session for every wait: cached ancestors, SOA-serial probes between full reads.
    let session = Session::new(cfg.verify.clone());
    let peers = wait_secure(cfg, &session, deadline, progress).await?;
    reach(&mut state, Phase::PeersSecure, progress)?;

    let genesis: Genesis = genesis::build(manifest, &peers)?;
    let hash = genesis.hash_hex();
    if let Some(published) = &state.genesis_hash {
        if state.phase >= Phase::HashPublished && *published != hash {
            return Err(CeremonyError::GenesisChanged {
                published: published.clone(),
                now: hash,
                state: state_path.clone(),
            }
            .into());
        }
    }
    node::write_atomic(&cfg.genesis_path(), genesis.bytes())?;
    if state.genesis_hash.as_ref() != Some(&hash) {
        state.block0_hash = None;
    }
    state.genesis_hash = Some(hash.clone());
    progress(Event::Genesis {
        hash: hash.clone(),
        path: cfg.genesis_path(),
    });
    reach(&mut state, Phase::GenesisBuilt, progress)?;

    // A resumed run republishes the block 0 its client reported before, so the record does
    // not lose `b=` until the client answers again.
    let known_block0 = state
        .block0_hash
        .as_deref()
        .and_then(|h| crate::hexfmt::parse_fixed::<32>(h, false).ok());
    publish(
        cfg,
        &[records::encode_genesis_hash(
            &org.host,
            &identity,
            &ceremony,
            &genesis.hash(),
            known_block0.as_ref(),
        )],
        &[],
    )
    .await?;
    reach(&mut state, Phase::HashPublished, progress)?;

    wait_agreement(cfg, &session, &peers, &genesis.hash(), deadline, progress).await?;
    let others: Vec<String> = peers
        .iter()
        .filter(|(name, _)| *name != cfg.org)
        .map(|(_, p)| p.enode_url())
        .collect();
    node::write_static_nodes(&cfg.node_datadir(), cfg.manifest.profile.into(), &others)?;
    write_client_args(cfg)?;
    reach(&mut state, Phase::Agreed, progress)?;
    let Some(program) = program else {
        return Ok(Outcome::Stopped {
            phase: Phase::Agreed,
            already: false,
        });
    };

    let spec = cfg.node_spec(program);
    // A run killed with SIGKILL could not stop its client; that client would hold our ports.
    if let Some((pid, forced)) =
        node::stop_leftover(&cfg.client_record_path(), Duration::from_secs(10)).await?
    {
        progress(Event::LeftoverStopped { pid, forced });
    }
    let mut running = node::start(&spec, &cfg.datadir.join("node.log"))?;
    node::record_client(&cfg.client_record_path(), &running)?;
    progress(Event::NodeStarted {
        rpc: spec.rpc_url(),
        command: format!("{} {}", spec.program.display(), spec.args().join(" ")),
    });
    reach(&mut state, Phase::NodeStarted, progress)?;

    let client = Client::new(&spec.rpc_url(), rpc::CALL_TIMEOUT)?;
    let expect = Expectation {
        own_key: Some(public.enode_key.to_string()),
        validators: peers
            .iter()
            .map(|(name, p)| (name.clone(), p.enode_key.to_string()))
            .collect(),
        format: Some(manifest.profile.into()),
        block0: Vec::new(),
    };
    let pause = cfg.poll.min(Duration::from_secs(2));
    let confirmed = async {
        let mut exited = || running.try_exited();
        // Our node's block 0 goes into the genesis record: every organisation can then see
        // whether the nodes run the same chain (the same genesis and client version).
        let block0 = wait_block0(&client, pause, deadline, &mut exited, progress).await?;
        publish(
            cfg,
            &[records::encode_genesis_hash(
                &org.host,
                &identity,
                &ceremony,
                &genesis.hash(),
                Some(&block0),
            )],
            &[],
        )
        .await?;
        state.block0_hash = Some(hex::encode(block0));
        save(&state_path, &state)?;
        progress(Event::Block0 {
            hash: hex::encode(block0),
        });
        confirm_on_chain(
            &client,
            &expect,
            cfg.check_window,
            pause,
            deadline,
            &mut exited,
            progress,
        )
        .await
    }
    .await;
    if let Err(e) = confirmed {
        running.signal("TERM");
        return Err(e);
    }
    reach(&mut state, Phase::Confirmed, progress)?;
    Ok(Outcome::Running(Box::new(running)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_names_match_the_state_file() {
        for p in [
            Phase::Started,
            Phase::PeersSecure,
            Phase::NodeStarted,
            Phase::Confirmed,
        ] {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert!(Phase::HashPublished > Phase::GenesisBuilt);
    }

    #[test]
    fn state_round_trips_and_refuses_other_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ceremony.json");
        assert_eq!(load_state(&path).unwrap(), None);
        let s = State {
            schema: STATE_SCHEMA.into(),
            ceremony_id: "ab".repeat(32),
            org: "org1".into(),
            phase: Phase::Agreed,
            genesis_hash: Some("cd".repeat(32)),
            block0_hash: Some("ef".repeat(32)),
        };
        save(&path, &s).unwrap();
        assert_eq!(load_state(&path).unwrap(), Some(s));
        std::fs::write(&path, b"{\"schema\":\"other/v9\",\"ceremony_id\":\"\",\"org\":\"\",\"phase\":\"keys\",\"genesis_hash\":null}").unwrap();
        assert!(load_state(&path).is_err());
        std::fs::write(&path, b"{").unwrap();
        assert!(load_state(&path).is_err());
    }

    #[tokio::test]
    async fn a_wait_that_gives_up_says_what_it_still_waited_for() {
        // A node whose chain stalls at block 5, with this node in its committee.
        let own = "aa".repeat(64);
        let enode = format!("enode://{own}@127.0.0.1:30303");
        let url = rpc::fake::serve(move |method, _| match method {
            "eth_blockNumber" => Ok(serde_json::json!("0x5")),
            "eth_getBlockByNumber" => {
                Ok(serde_json::json!({"hash": format!("0x{}", "12".repeat(32))}))
            }
            "aut_getCommitteeEnodes" => Ok(serde_json::json!([enode])),
            m => Err(rpc::fake::not_found(m)),
        })
        .await;
        let client = Client::new(&url, Duration::from_secs(5)).unwrap();
        let expect = Expectation {
            own_key: Some(own),
            ..Expectation::default()
        };
        let mut events = Vec::new();
        let e = confirm_on_chain(
            &client,
            &expect,
            Duration::from_millis(200),
            Duration::from_millis(100),
            Some(Instant::now() + Duration::from_millis(500)),
            &mut || None,
            &mut |ev| events.push(ev),
        )
        .await
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("deadline passed while waiting for the on-chain check (after "),
            "{msg}"
        );
        assert!(
            msg.ends_with(" polls): blocks do not advance (still at 5)"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), crate::exit::PENDING);
        assert!(events.contains(&Event::CheckNotYet(
            "blocks do not advance (still at 5)".into()
        )));

        // A node that does not answer: the RPC error is what it waited on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let client =
            Client::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5)).unwrap();
        for msg in [
            confirm_on_chain(
                &client,
                &expect,
                Duration::from_millis(200),
                Duration::from_millis(100),
                Some(Instant::now()),
                &mut || None,
                &mut |_| {},
            )
            .await
            .unwrap_err()
            .to_string(),
            wait_block0(
                &client,
                Duration::from_millis(100),
                Some(Instant::now()),
                &mut || None,
                &mut |_| {},
            )
            .await
            .unwrap_err()
            .to_string(),
        ] {
            assert!(
                msg.contains(&format!(
                    "(after 1 polls): RPC http://127.0.0.1:{port} eth_"
                )),
                "{msg}"
            );
            assert!(msg.contains("cannot connect"), "{msg}");
        }
    }
}
