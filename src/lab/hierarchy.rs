//! A real DNSSEC hierarchy on loopback: a private root, the intermediate zones (TLDs such as
//! `com` or `uk` and `co.uk`) and organisation zones, each served by `named` and signed with
//! BIND's own tools (`dnssec-keygen`, `dnssec-signzone`, `dnssec-dsfromkey`, `tsig-keygen`),
//! with chosen faults for the tests of validation.
//!
//! Standards: RFC 4033/4034/4035 (DNSSEC), RFC 5155 and RFC 9276 (NSEC3), RFC 2136 (dynamic
//! update), RFC 8945 (TSIG), RFC 8624 (algorithms 8, 13, 15).
//!
//! Organisation zones are either signed once (`Signing::Static`, where every [`Fault`] is
//! available) or signed and re-signed by `named` itself (`Signing::Dynamic`: `dnssec-policy`
//! with `inline-signing yes`, accepting TSIG-signed updates from a per-zone key). Parents are
//! built after their children so each delegation carries the child's DS (with glue).
//!
//! # Limitations
//! - Needs Debian's `bind9` and `bind9-utils` on `PATH` and the right to bind port 53 (root).
//! - Intermediate zones and the root are always ECDSA P-256 with NSEC, one server each.
//! - Only IPv4 loopback; one name server (`ns1.<zone>`, with glue) per zone.
//! - Faults apply to statically signed zones only; a dynamic zone is always served well signed.
//! - The hostile zones are crafted around `dnssec-signzone`: a KeyTrap zone's junk keys share a
//!   tag other than the real key's (the signer would take a junk key with the real key's tag
//!   for the real one), and BIND serves only the NSEC3 records a proof needs, so an answer
//!   stuffed with extra NSEC3 records cannot be built here (the validator's cap on them is
//!   tested on crafted records instead).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::named::{free_addr, options_block, run_tool, LabError, Named};

/// The name of the private root's name server (data in the root zone, with its address).
pub const ROOT_NS: &str = "ns.lab-root.";

/// A DNSSEC signing algorithm the lab can sign with (RFC 8624 numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// 8: RSA/SHA-256, 2048-bit keys.
    RsaSha256,
    /// 13: ECDSA P-256 with SHA-256.
    EcdsaP256,
    /// 15: Ed25519.
    Ed25519,
    /// 16: Ed448 (RFC 8080).
    Ed448,
}

impl Algorithm {
    /// The IANA algorithm number.
    pub fn number(self) -> u8 {
        match self {
            Algorithm::RsaSha256 => 8,
            Algorithm::EcdsaP256 => 13,
            Algorithm::Ed25519 => 15,
            Algorithm::Ed448 => 16,
        }
    }

    fn keygen_args(self) -> Vec<&'static str> {
        match self {
            Algorithm::RsaSha256 => vec!["-a", "RSASHA256", "-b", "2048"],
            Algorithm::EcdsaP256 => vec!["-a", "ECDSAP256SHA256"],
            Algorithm::Ed25519 => vec!["-a", "ED25519"],
            Algorithm::Ed448 => vec!["-a", "ED448"],
        }
    }
}

/// NSEC3 parameters (RFC 5155); the default is RFC 9276's: 0 iterations, no salt, no opt-out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nsec3 {
    /// Extra hash iterations.
    pub iterations: u16,
    /// Salt in hex, empty for none.
    pub salt: String,
    /// Opt-out flag.
    pub opt_out: bool,
}

/// How an organisation zone is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// Signed once with `dnssec-keygen` + `dnssec-signzone` (one key, flags 257, signs all).
    Static {
        /// The algorithm.
        algorithm: Algorithm,
        /// NSEC3 parameters, or `None` for NSEC.
        nsec3: Option<Nsec3>,
    },
    /// Signed by `named` (`dnssec-policy` + `inline-signing yes`), open to TSIG-signed updates.
    Dynamic {
        /// The algorithm.
        algorithm: Algorithm,
        /// NSEC3 parameters, or `None` for NSEC (the salt is only used for its length).
        nsec3: Option<Nsec3>,
    },
}

impl Signing {
    fn algorithm(&self) -> Algorithm {
        match self {
            Signing::Static { algorithm, .. } | Signing::Dynamic { algorithm, .. } => *algorithm,
        }
    }
    fn nsec3(&self) -> Option<&Nsec3> {
        match self {
            Signing::Static { nsec3, .. } | Signing::Dynamic { nsec3, .. } => nsec3.as_ref(),
        }
    }
}

/// A DNSSEC fault built into an organisation zone on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every signature expired yesterday (`dnssec-signzone -s now-30d -e now-1d`).
    ExpiredSignatures,
    /// Every signature becomes valid in 3 days (`-s now+3d -e now+30d`): beyond the clock skew
    /// validators allow (Unbound accepts an inception up to a day ahead).
    FutureSignatures,
    /// The parent's DS is made from another key than the zone's DNSKEY.
    DsMismatch,
    /// Data RRsets carry signatures by a key that is not in the zone's DNSKEY set.
    ForeignKeySigned,
    /// The zone is served unsigned while the parent has a DS for it.
    UnsignedUnderDs,
    /// The first record given for the zone is changed in the signed zone after signing.
    AlteredAfterSigning,
    /// The zone is unsigned and the parent has no DS: a provably insecure delegation.
    UnsignedDelegation,
    /// A second server `ns2.<zone>` (in the NS set, with glue) serves the zone with another
    /// SOA serial (2 instead of 1), signed with the same key.
    SecondServerSerial,
    /// A second server `ns2.<zone>` serves the zone signed with another key (same serial).
    SecondServerOtherKey,
    /// Records have a TTL of one day while every signature (made three days ago) expires in
    /// 6 hours.
    TtlBeyondSignature,
    /// The DNSKEY set also holds a revoked key (flag 385, `dnssec-revoke`).
    RevokedKey,
    /// The DNSKEY set also holds a published key that signs nothing (activation in a year).
    UnusedKey,
    /// The zone's own NS set also names `ns3.<zone>` (address 192.0.2.54), which the
    /// delegation at the parent does not list.
    ExtraChildNs,
    /// The zone gives its name server `ns1.<zone>` a second address (192.0.2.53) that the
    /// parent's glue does not have.
    GlueMismatch,
    /// The NSEC record at the owner of the first record given (the host) is changed after
    /// signing to list AAAA too: the host's AAAA is answered NODATA without a valid proof (the
    /// NSEC's signature fails). BIND answers SERVFAIL from a presigned zone whose node lacks
    /// the NSEC or its RRSIG, so the proof is broken rather than left out. Needs NSEC signing
    /// and no AAAA at the host.
    MissingNodataProof,
    /// A separate zone-signing key (flags 256) signs the data, the KSK the DNSKEY set, and every
    /// signature expired yesterday: the ZSK made signatures, expired ones.
    ExpiredWithZsk,
    /// Healthy signatures as a signer with 14-day signatures leaves them mid-cycle: made 9 days
    /// ago, ending in 5 days (`-s now-9d -e now+5d`).
    MidCycleSignatures,
    /// KeyTrap (CVE-2023-50387): the DNSKEY set also holds [`KEYTRAP_KEYS`] junk RSA keys that
    /// all share one key tag, and every RRset carries [`KEYTRAP_SIGS`] junk RRSIGs naming that
    /// tag. The zone's own key still signs everything (the DNSKEY set included), so only the
    /// work a validator spends distinguishes it. Needs `Algorithm::RsaSha256`; the server is
    /// told to load the oversized RRsets (`max-records-per-type 0`).
    KeyTrap,
    /// NSEC3 amplification (CVE-2023-50868): the zone is signed with NSEC3 at
    /// [`crate::dns::validate::NSEC3_MAX_ITERATIONS`] iterations and a 255-byte salt, whatever
    /// its `Signing` says. A name far below the apex that does not exist then makes a
    /// validator hash every label of it against the records.
    Nsec3Amplification,
}

/// Junk keys sharing one key tag in a [`Fault::KeyTrap`] zone.
pub const KEYTRAP_KEYS: usize = 200;

/// Junk RRSIGs per RRset in a [`Fault::KeyTrap`] zone.
pub const KEYTRAP_SIGS: usize = 200;

/// RFC 4034 appendix B: the key tag of a DNSKEY from its fields.
pub fn key_tag(flags: u16, algorithm: u8, public_key: &[u8]) -> u16 {
    fold(tag_sum(flags, algorithm, public_key))
}

fn tag_sum(flags: u16, algorithm: u8, public_key: &[u8]) -> u32 {
    let mut rdata = vec![(flags >> 8) as u8, flags as u8, 3, algorithm];
    rdata.extend_from_slice(public_key);
    rdata
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if i % 2 == 0 {
                u32::from(b) << 8
            } else {
                u32::from(b)
            }
        })
        .sum()
}

fn fold(ac: u32) -> u16 {
    (ac.wrapping_add((ac >> 16) & 0xFFFF) & 0xFFFF) as u16
}

/// A junk RSA public key (exponent 65537, a random odd 1024-bit modulus) in DNSKEY wire form
/// whose key tag, with `flags` and `algorithm`, is `tag`: the last two modulus bytes are
/// chosen for it.
pub fn forged_rsa_key(flags: u16, algorithm: u8, tag: u16) -> Vec<u8> {
    use rand_core::RngCore;
    loop {
        let mut key = vec![3, 1, 0, 1];
        let mut modulus = [0u8; 128];
        rand_core::OsRng.fill_bytes(&mut modulus);
        modulus[0] |= 0x80;
        modulus[126] = 0;
        modulus[127] = 0;
        key.extend_from_slice(&modulus);
        // The key's length is even, so the last two bytes add `hi << 8 | lo` to the sum.
        let sum = tag_sum(flags, algorithm, &key);
        if let Some(x) = (1u32..0x1_0000).step_by(2).find(|x| fold(sum + x) == tag) {
            let n = key.len();
            key[n - 2] = (x >> 8) as u8;
            key[n - 1] = x as u8;
            return key;
        }
    }
}

impl Fault {
    /// Whether the fault adds a second server `ns2.<zone>` for the zone.
    pub fn second_server(self) -> bool {
        matches!(
            self,
            Fault::SecondServerSerial | Fault::SecondServerOtherKey
        )
    }
}

/// One record to put in a zone, in zone-file text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Fully qualified owner name (a trailing dot is added when missing).
    pub owner: String,
    /// Record type mnemonic, e.g. `A`, `TXT`.
    pub rtype: String,
    /// Record data in zone-file syntax (TXT strings quoted).
    pub rdata: String,
}

impl Record {
    /// A record of any type from its zone-file rdata text.
    pub fn new(owner: &str, rtype: &str, rdata: &str) -> Record {
        Record {
            owner: absolute(owner),
            rtype: rtype.to_ascii_uppercase(),
            rdata: rdata.to_string(),
        }
    }

    /// An A record.
    pub fn a(owner: &str, addr: Ipv4Addr) -> Record {
        Record::new(owner, "A", &addr.to_string())
    }

    /// A TXT record holding `value`, split into strings of at most 255 bytes and escaped.
    pub fn txt(owner: &str, value: &str) -> Record {
        let bytes = value.as_bytes();
        let chunks: Vec<&[u8]> = if bytes.is_empty() {
            vec![&[][..]]
        } else {
            bytes.chunks(255).collect()
        };
        let rdata = chunks
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(" ");
        Record::new(owner, "TXT", &rdata)
    }

    /// The records of one RRset as the library builds it (A, AAAA and TXT; other types use
    /// hickory's presentation form).
    pub fn from_rrset(set: &crate::dns::RRset) -> Vec<Record> {
        use hickory_proto::rr::RData;
        let owner = set.name.to_ascii();
        set.rdata
            .iter()
            .map(|rd| match rd {
                RData::A(a) => Record::a(&owner, a.0),
                RData::TXT(t) => Record::new(
                    &owner,
                    "TXT",
                    &t.txt_data
                        .iter()
                        .map(|c| quote(c))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                other => Record::new(&owner, &set.rtype.to_string(), &other.to_string()),
            })
            .collect()
    }

    fn line(&self, ttl: u32) -> String {
        format!("{} {} IN {} {}\n", self.owner, ttl, self.rtype, self.rdata)
    }
}

fn quote(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03}")),
        }
    }
    s.push('"');
    s
}

fn absolute(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') {
        n
    } else {
        format!("{n}.")
    }
}

/// An organisation zone to build: name, signing, optional fault and the records it serves.
#[derive(Debug, Clone)]
pub struct OrgZone {
    /// Zone name without trailing dot, e.g. `ogr1.com`.
    pub name: String,
    /// How it is signed.
    pub signing: Signing,
    /// The fault built into it, if any.
    pub fault: Option<Fault>,
    /// The records it serves besides SOA, NS and the name server's address.
    pub records: Vec<Record>,
}

impl OrgZone {
    /// A statically signed zone (ECDSA P-256, NSEC) without records yet.
    pub fn new(name: &str) -> OrgZone {
        OrgZone {
            name: name.trim().trim_end_matches('.').to_ascii_lowercase(),
            signing: Signing::Static {
                algorithm: Algorithm::EcdsaP256,
                nsec3: None,
            },
            fault: None,
            records: Vec::new(),
        }
    }

    /// Choose how it is signed.
    pub fn signing(mut self, signing: Signing) -> OrgZone {
        self.signing = signing;
        self
    }

    /// Build a fault into it.
    pub fn fault(mut self, fault: Fault) -> OrgZone {
        self.fault = Some(fault);
        self
    }

    /// Add one record.
    pub fn record(mut self, record: Record) -> OrgZone {
        self.records.push(record);
        self
    }

    /// Add several records.
    pub fn records(mut self, records: impl IntoIterator<Item = Record>) -> OrgZone {
        self.records.extend(records);
        self
    }
}

/// Whether the optional recursive server validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolverMode {
    /// `dnssec-validation no`: passes bogus data on (the tool must validate itself).
    NoValidation,
    /// `dnssec-validation yes` with the private root's key as trust anchor.
    Validating,
}

/// The trust anchor files of a hierarchy, in three syntaxes.
#[derive(Debug, Clone)]
pub struct AnchorFiles {
    /// `root.key` style: one `. 300 IN DNSKEY 257 3 <alg> <base64>` line.
    pub dnskey: PathBuf,
    /// One `. IN DS <tag> <alg> 2 <hex>` line.
    pub ds: PathBuf,
    /// `trust-anchors { . static-key ...; };` for `delv -a`.
    pub delv: PathBuf,
}

/// The TSIG key a dynamic zone accepts updates with.
#[derive(Debug, Clone)]
pub struct TsigKey {
    /// The key's name, e.g. `ddns-key.ogr1.com`.
    pub name: String,
    /// The file `tsig-keygen` wrote (a `key "..." { algorithm ...; secret "..."; };` block).
    pub file: PathBuf,
}

/// What was built for one zone.
#[derive(Debug, Clone)]
pub struct ZoneInfo {
    /// Zone name without trailing dot (`.` for the root).
    pub name: String,
    /// The address of the `named` that serves it (port 53).
    pub server: Ipv4Addr,
    /// The TSIG key for updates (dynamic zones only).
    pub tsig: Option<TsigKey>,
    /// The fault built into it.
    pub fault: Option<Fault>,
    /// Whether it is an organisation zone (else the root or an intermediate zone).
    pub org: bool,
    /// The zone file `named` loads.
    pub file: PathBuf,
}

/// Builder of a [`Hierarchy`].
#[derive(Debug, Default)]
pub struct HierarchyBuilder {
    zones: Vec<OrgZone>,
    org_servers: Option<usize>,
    resolver: Option<ResolverMode>,
    dir: Option<PathBuf>,
    ttl: Option<u32>,
}

/// A running hierarchy; every server is stopped (and a temporary directory removed) on drop.
#[derive(Debug)]
pub struct Hierarchy {
    /// Address of the private root server.
    pub root: Ipv4Addr,
    /// Trust anchor files for the private root.
    pub anchor: AnchorFiles,
    /// Every zone built, by name without trailing dot (the root is `.`).
    pub zones: BTreeMap<String, ZoneInfo>,
    /// Address of the recursive server, if one was asked for.
    pub resolver: Option<Ipv4Addr>,
    /// The working directory (zone files, keys, one directory per server).
    pub dir: PathBuf,
    servers: Vec<Named>,
    _guard: Option<TempDir>,
}

impl Hierarchy {
    /// Start describing a hierarchy.
    pub fn builder() -> HierarchyBuilder {
        HierarchyBuilder::default()
    }

    /// The zone named `name` (without trailing dot).
    pub fn zone(&self, name: &str) -> Option<&ZoneInfo> {
        let key = name.trim_end_matches('.');
        self.zones.get(if key.is_empty() { "." } else { key })
    }

    /// Anchor files for an unrelated root key: everything validated against them is bogus.
    pub fn wrong_anchor(&self) -> Result<AnchorFiles, LabError> {
        let dir = self.dir.join("anchor-wrong");
        let keydir = dir.join("key");
        mkdir(&keydir)?;
        let base = keygen(Algorithm::EcdsaP256, ".", &keydir)?;
        write_anchor_files(&dir, &keydir.join(format!("{base}.key")))
    }

    /// Stop the server at `addr` (it no longer answers); true when one was found.
    pub fn stop_server(&mut self, addr: Ipv4Addr) -> bool {
        let mut found = false;
        for s in self.servers.iter_mut().filter(|s| s.addr == addr) {
            s.stop();
            found = true;
        }
        found
    }

    /// Start again a server stopped with [`Hierarchy::stop_server`].
    pub fn restart_server(&mut self, addr: Ipv4Addr) -> Result<(), LabError> {
        for s in self.servers.iter_mut().filter(|s| s.addr == addr) {
            s.restart()?;
        }
        Ok(())
    }
}

/// A directory removed with everything in it when dropped.
#[derive(Debug)]
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static DIRS: AtomicU32 = AtomicU32::new(0);

fn temp_dir() -> Result<TempDir, LabError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!(
        "dnsceremony-lab-{}-{}-{nanos}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&path).map_err(|source| LabError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(TempDir(path))
}

fn mkdir(path: &Path) -> Result<(), LabError> {
    std::fs::create_dir_all(path).map_err(|source| LabError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(|source| LabError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path) -> Result<String, LabError> {
    std::fs::read_to_string(path).map_err(|source| LabError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn spec(zone: &str, why: impl Into<String>) -> LabError {
    LabError::Spec {
        zone: zone.to_string(),
        why: why.into(),
    }
}

/// Everything known about one zone while building.
#[derive(Debug, Clone)]
struct Plan {
    name: String, // without trailing dot, "." for root
    org: Option<OrgZone>,
    server: Ipv4Addr,
    children: Vec<String>,
    /// `ns2.<zone>`'s address, for faults with a second server.
    server2: Option<Ipv4Addr>,
}

fn fqdn(zone: &str) -> String {
    if zone == "." {
        ".".into()
    } else {
        format!("{zone}.")
    }
}

fn parent(zone: &str) -> String {
    match zone.split_once('.') {
        Some((_, rest)) => rest.to_string(),
        None => ".".to_string(),
    }
}

fn depth(zone: &str) -> usize {
    if zone == "." {
        0
    } else {
        zone.split('.').count()
    }
}

fn ns_name(zone: &str) -> String {
    if zone == "." {
        ROOT_NS.to_string()
    } else {
        format!("ns1.{zone}.")
    }
}

fn dir_name(zone: &str) -> String {
    if zone == "." {
        "root".into()
    } else {
        zone.to_string()
    }
}

impl HierarchyBuilder {
    /// Add an organisation zone.
    pub fn zone(mut self, zone: OrgZone) -> HierarchyBuilder {
        self.zones.push(zone);
        self
    }

    /// Add several organisation zones.
    pub fn zones(mut self, zones: impl IntoIterator<Item = OrgZone>) -> HierarchyBuilder {
        self.zones.extend(zones);
        self
    }

    /// How many `named` processes share the organisation zones (default: 1 up to 50 zones, else 4).
    pub fn org_servers(mut self, n: usize) -> HierarchyBuilder {
        self.org_servers = Some(n.max(1));
        self
    }

    /// Also start a recursive server with root hints to the private root.
    pub fn resolver(mut self, mode: ResolverMode) -> HierarchyBuilder {
        self.resolver = Some(mode);
        self
    }

    /// Work in `dir` (created if needed, kept afterwards) instead of a temporary directory.
    pub fn dir(mut self, dir: &Path) -> HierarchyBuilder {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// TTL of every record (default 300 s; negative answers live 60 s).
    pub fn ttl(mut self, ttl: u32) -> HierarchyBuilder {
        self.ttl = Some(ttl);
        self
    }

    /// Generate keys, sign every zone, start every server; returns once all of them answer.
    pub fn build(self) -> Result<Hierarchy, LabError> {
        let ttl = self.ttl.unwrap_or(300);
        let (guard, dir) = match &self.dir {
            Some(d) => {
                mkdir(d)?;
                let d = d.canonicalize().map_err(|source| LabError::Write {
                    path: d.clone(),
                    source,
                })?;
                (None, d)
            }
            None => {
                let t = temp_dir()?;
                let d = t.0.clone();
                (Some(t), d)
            }
        };
        for sub in ["zones", "keys", "ds", "tsig", "servers", "anchor"] {
            mkdir(&dir.join(sub))?;
        }

        // Which zones exist, and where they are served.
        let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
        for z in &self.zones {
            if z.name.is_empty() || z.name.contains(char::is_whitespace) || z.name.contains("..") {
                return Err(spec(&z.name, "not a zone name"));
            }
            if plans.contains_key(&z.name) {
                return Err(spec(&z.name, "zone given twice"));
            }
            if z.fault.is_some() && matches!(z.signing, Signing::Dynamic { .. }) {
                return Err(spec(&z.name, "faults need a statically signed zone"));
            }
            plans.insert(
                z.name.clone(),
                Plan {
                    name: z.name.clone(),
                    org: Some(z.clone()),
                    server: Ipv4Addr::UNSPECIFIED,
                    children: Vec::new(),
                    server2: None,
                },
            );
        }
        let orgs: Vec<String> = plans.keys().cloned().collect();
        for org in &orgs {
            let mut child = org.clone();
            loop {
                let p = parent(&child);
                plans
                    .entry(p.clone())
                    .or_insert_with(|| Plan {
                        name: p.clone(),
                        org: None,
                        server: Ipv4Addr::UNSPECIFIED,
                        children: Vec::new(),
                        server2: None,
                    })
                    .children
                    .push(child.clone());
                if p == "." {
                    break;
                }
                child = p;
            }
        }
        for p in plans.values_mut() {
            let set: BTreeSet<String> = p.children.drain(..).collect();
            p.children = set.into_iter().collect();
        }
        let n_org_servers = self
            .org_servers
            .unwrap_or(if orgs.len() <= 50 { 1 } else { 4 })
            .min(orgs.len().max(1));
        let org_addrs: Vec<Ipv4Addr> = (0..n_org_servers)
            .map(|_| free_addr())
            .collect::<Result<_, _>>()?;
        let mut i = 0;
        for p in plans.values_mut() {
            if p.org.is_some() {
                p.server = org_addrs[i % n_org_servers];
                i += 1;
                if p.org
                    .as_ref()
                    .and_then(|o| o.fault)
                    .is_some_and(Fault::second_server)
                {
                    p.server2 = Some(free_addr()?);
                }
            } else {
                p.server = free_addr()?;
            }
        }

        // Sign bottom-up, one depth at a time, zones of a depth in parallel.
        let policies = write_policies(&dir, &self.zones)?;
        let max_depth = plans.keys().map(|z| depth(z)).max().unwrap_or(0);
        let ds: Mutex<BTreeMap<String, Vec<String>>> = Mutex::new(BTreeMap::new());
        let built: Mutex<BTreeMap<String, Built>> = Mutex::new(BTreeMap::new());
        for d in (0..=max_depth).rev() {
            let level: Vec<&Plan> = plans.values().filter(|p| depth(&p.name) == d).collect();
            par_each(&level, |p| {
                let delegations = {
                    let ds = ds.lock().expect("ds lock");
                    delegation_text(p, &plans, &ds, ttl)
                };
                let b = build_zone(&dir, p, &delegations, ttl, &policies)?;
                if let Some(lines) = &b.ds_for_parent {
                    ds.lock()
                        .expect("ds lock")
                        .insert(p.name.clone(), lines.clone());
                }
                built.lock().expect("built lock").insert(p.name.clone(), b);
                Ok(())
            })?;
        }
        let built = built.into_inner().expect("built lock");

        // Anchor files from the root's key.
        let root_key = built
            .get(".")
            .and_then(|b| b.key_file.clone())
            .ok_or_else(|| spec(".", "root key missing"))?;
        let anchor = write_anchor_files(&dir.join("anchor"), &root_key)?;

        // One configuration per server.
        let mut confs: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
        for p in plans.values() {
            let b = &built[&p.name];
            let conf = confs.entry(p.server).or_insert_with(|| {
                let sdir = dir.join("servers").join(p.server.to_string());
                let mut c = options_block(p.server, &sdir);
                c.push_str(&format!("include \"{}\";\n", policies.file.display()));
                c
            });
            conf.push_str(&b.conf);
            if let (Some(addr2), Some(conf2)) = (p.server2, &b.conf2) {
                let c = confs.entry(addr2).or_insert_with(|| {
                    options_block(addr2, &dir.join("servers").join(addr2.to_string()))
                });
                c.push_str(conf2);
            }
        }
        let root_addr = plans["."].server;
        let mut resolver_addr = None;
        if let Some(mode) = self.resolver {
            let addr = free_addr()?;
            let sdir = dir.join("servers").join(addr.to_string());
            mkdir(&sdir)?;
            let hints = sdir.join("root.hints");
            write(
                &hints,
                &format!(
                    "{fq}\t3600000\tNS\t{ROOT_NS}\n{ROOT_NS}\t3600000\tA\t{root_addr}\n",
                    fq = "."
                ),
            )?;
            confs.insert(addr, resolver_conf(addr, &sdir, &hints, mode, &root_key)?);
            resolver_addr = Some(addr);
        }

        // Start every server (in parallel) and wait for the dynamic zones to be signed.
        let entries: Vec<(Ipv4Addr, String)> = confs.into_iter().collect();
        let servers: Mutex<Vec<Named>> = Mutex::new(Vec::new());
        let started = par_each(&entries, |(addr, conf)| {
            let sdir = dir.join("servers").join(addr.to_string());
            mkdir(&sdir)?;
            write(&sdir.join("named.conf"), conf)?;
            let n = Named::start(*addr, &sdir)?;
            servers.lock().expect("servers lock").push(n);
            Ok(())
        });
        let servers = servers.into_inner().expect("servers lock");
        started?;
        let dynamic: Vec<&Plan> = plans
            .values()
            .filter(|p| {
                matches!(
                    p.org.as_ref().map(|o| &o.signing),
                    Some(Signing::Dynamic { .. })
                )
            })
            .collect();
        par_each(&dynamic, |p| wait_signed(&p.name, p.server))?;

        let zones = plans
            .values()
            .map(|p| {
                let b = &built[&p.name];
                (
                    p.name.clone(),
                    ZoneInfo {
                        name: p.name.clone(),
                        server: p.server,
                        tsig: b.tsig.clone(),
                        fault: p.org.as_ref().and_then(|o| o.fault),
                        org: p.org.is_some(),
                        file: b.file.clone(),
                    },
                )
            })
            .collect();
        Ok(Hierarchy {
            root: root_addr,
            anchor,
            zones,
            resolver: resolver_addr,
            dir,
            servers,
            _guard: guard,
        })
    }
}

/// What building one zone produced.
#[derive(Debug)]
struct Built {
    conf: String,
    /// The zone stanza of the second server (faults with `ns2`).
    conf2: Option<String>,
    file: PathBuf,
    ds_for_parent: Option<Vec<String>>,
    key_file: Option<PathBuf>,
    tsig: Option<TsigKey>,
}

fn delegation_text(
    p: &Plan,
    plans: &BTreeMap<String, Plan>,
    ds: &BTreeMap<String, Vec<String>>,
    ttl: u32,
) -> String {
    let mut t = String::new();
    for c in &p.children {
        let cp = &plans[c];
        let ns = ns_name(c);
        t.push_str(&format!("{} {ttl} IN NS {ns}\n", fqdn(c)));
        t.push_str(&format!("{ns} {ttl} IN A {}\n", cp.server));
        if let Some(a2) = cp.server2 {
            t.push_str(&format!(
                "{} {ttl} IN NS ns2.{c}.\nns2.{c}. {ttl} IN A {a2}\n",
                fqdn(c)
            ));
        }
        for line in ds.get(c).into_iter().flatten() {
            t.push_str(line);
            t.push('\n');
        }
    }
    t
}

fn zone_header(zone: &str, server: Ipv4Addr, ttl: u32) -> String {
    let apex = fqdn(zone);
    let ns = ns_name(zone);
    let mail = if zone == "." {
        "hostmaster.lab-root.".to_string()
    } else {
        format!("hostmaster.{zone}.")
    };
    format!(
        "$TTL {ttl}\n{apex} {ttl} IN SOA {ns} {mail} 1 3600 600 86400 60\n{apex} {ttl} IN NS {ns}\n{ns} {ttl} IN A {server}\n"
    )
}

/// The `dnssec-policy` blocks dynamic zones use, one per (algorithm, NSEC3) combination.
#[derive(Debug)]
struct Policies {
    file: PathBuf,
}

fn policy_name(s: &Signing) -> String {
    match s.nsec3() {
        None => format!("lab-{}-nsec", s.algorithm().number()),
        Some(n) => format!(
            "lab-{}-nsec3-{}-{}-{}",
            s.algorithm().number(),
            n.iterations,
            n.salt.len() / 2,
            if n.opt_out { "optout" } else { "nooptout" }
        ),
    }
}

fn write_policies(dir: &Path, zones: &[OrgZone]) -> Result<Policies, LabError> {
    let mut names = BTreeMap::new();
    for z in zones {
        if let Signing::Dynamic { .. } = &z.signing {
            names.insert(policy_name(&z.signing), z.signing.clone());
        }
    }
    let mut text = String::new();
    for (name, s) in names {
        text.push_str(&format!(
            "dnssec-policy \"{name}\" {{\n    keys {{ csk lifetime unlimited algorithm {}; }};\n",
            s.algorithm().number()
        ));
        if let Some(n) = s.nsec3() {
            text.push_str(&format!(
                "    nsec3param iterations {} optout {} salt-length {};\n",
                n.iterations,
                if n.opt_out { "yes" } else { "no" },
                n.salt.len() / 2
            ));
        }
        text.push_str("};\n");
    }
    let file = dir.join("policies.conf");
    write(&file, &text)?;
    Ok(Policies { file })
}

/// Generate one key (flags 257) for `zone` in `keydir`; returns its base name `K<zone>+aaa+ttttt`.
fn keygen(alg: Algorithm, zone: &str, keydir: &Path) -> Result<String, LabError> {
    let kd = keydir.to_string_lossy().into_owned();
    let mut args = vec!["-q", "-K", kd.as_str()];
    args.extend(alg.keygen_args());
    args.extend(["-f", "KSK", "-n", "ZONE", zone]);
    let out = run_tool("dnssec-keygen", &args, keydir)?;
    Ok(out.trim().to_string())
}

/// DS lines (SHA-256) for the key file `key`, as `dnssec-dsfromkey` prints them.
fn ds_from_key(key: &Path) -> Result<Vec<String>, LabError> {
    let k = key.to_string_lossy().into_owned();
    let dir = key.parent().unwrap_or(Path::new("."));
    let out = run_tool("dnssec-dsfromkey", &["-2", k.as_str()], dir)?;
    Ok(out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

fn ds_from_dsset(path: &Path) -> Result<Vec<String>, LabError> {
    Ok(read(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

fn utc_stamp(offset: time::Duration) -> String {
    let t = time::OffsetDateTime::now_utc() + offset;
    let f = time::macros::format_description!("[year][month][day][hour][minute][second]");
    t.format(&f).unwrap_or_else(|_| "20000101000000".into())
}

fn build_zone(
    dir: &Path,
    p: &Plan,
    delegations: &str,
    ttl: u32,
    policies: &Policies,
) -> Result<Built, LabError> {
    let zone = p.name.as_str();
    let dname = dir_name(zone);
    let keydir = dir.join("keys").join(&dname);
    mkdir(&keydir)?;
    let ttl = match p.org.as_ref().and_then(|o| o.fault) {
        Some(Fault::TtlBeyondSignature) => 86_400,
        _ => ttl,
    };
    let amplified = Nsec3 {
        iterations: crate::dns::validate::NSEC3_MAX_ITERATIONS,
        salt: "5a".repeat(255),
        opt_out: false,
    };
    let mut text = zone_header(zone, p.server, ttl);
    // Addresses from TEST-NET-1 (RFC 5737): never contacted, the audit reaches servers by glue.
    match p.org.as_ref().and_then(|o| o.fault) {
        Some(Fault::ExtraChildNs) => text.push_str(&format!(
            "{z}. {ttl} IN NS ns3.{z}.\nns3.{z}. {ttl} IN A 192.0.2.54\n",
            z = zone
        )),
        Some(Fault::GlueMismatch) => {
            text.push_str(&format!("{} {ttl} IN A 192.0.2.53\n", ns_name(zone)))
        }
        _ => {}
    }
    if let Some(a2) = p.server2 {
        text.push_str(&format!(
            "{z}. {ttl} IN NS ns2.{z}.\nns2.{z}. {ttl} IN A {a2}\n",
            z = zone
        ));
    }
    if let Some(o) = &p.org {
        for r in &o.records {
            text.push_str(&r.line(ttl));
        }
    }
    text.push_str(delegations);
    let unsigned = dir.join("zones").join(format!("{dname}.db"));
    write(&unsigned, &text)?;

    let default_signing = Signing::Static {
        algorithm: Algorithm::EcdsaP256,
        nsec3: None,
    };
    let signing = p
        .org
        .as_ref()
        .map(|o| &o.signing)
        .unwrap_or(&default_signing);
    let fault = p.org.as_ref().and_then(|o| o.fault);
    let nsec3 = match fault {
        Some(Fault::Nsec3Amplification) => Some(&amplified),
        _ => signing.nsec3(),
    };

    if let Signing::Dynamic { .. } = signing {
        let policy = policy_name(signing);
        let kd = keydir.to_string_lossy().into_owned();
        let pf = policies.file.to_string_lossy().into_owned();
        run_tool(
            "dnssec-keygen",
            &["-q", "-K", &kd, "-k", &policy, "-l", &pf, zone],
            &keydir,
        )?;
        let key_file = find_key_file(&keydir)?;
        let ds = ds_from_key(&key_file)?;
        let key_name = format!("ddns-key.{zone}");
        let tsig_text = run_tool("tsig-keygen", &["-a", "hmac-sha256", &key_name], dir)?;
        let tsig_file = dir.join("tsig").join(format!("{zone}.key"));
        write(&tsig_file, &tsig_text)?;
        let conf = format!(
            "include \"{tf}\";\nzone \"{zone}\" {{\n    type primary;\n    file \"{zf}\";\n    key-directory \"{kd}\";\n    dnssec-policy \"{policy}\";\n    inline-signing yes;\n    update-policy {{ grant {key_name} zonesub ANY; }};\n}};\n",
            tf = tsig_file.display(),
            zf = unsigned.display(),
        );
        return Ok(Built {
            conf,
            conf2: None,
            file: unsigned,
            ds_for_parent: Some(ds),
            key_file: Some(key_file),
            tsig: Some(TsigKey {
                name: key_name,
                file: tsig_file,
            }),
        });
    }

    let algorithm = signing.algorithm();
    let served;
    let mut conf2 = None;
    let mut key_file = None;
    let ds_for_parent;
    match fault {
        Some(Fault::UnsignedDelegation) => {
            served = unsigned.clone();
            ds_for_parent = None;
        }
        Some(Fault::UnsignedUnderDs) => {
            let base = keygen(algorithm, zone, &keydir)?;
            let kf = keydir.join(format!("{base}.key"));
            ds_for_parent = Some(ds_from_key(&kf)?);
            served = unsigned.clone();
        }
        _ => {
            let base = keygen(algorithm, zone, &keydir)?;
            key_file = Some(keydir.join(format!("{base}.key")));
            extra_keys(fault, algorithm, zone, &keydir)?;
            // KeyTrap: junk keys sharing a tag other than the real key's (dnssec-signzone
            // would take a junk key with the real key's tag for the real one).
            let junk_tag = match fault {
                Some(Fault::KeyTrap) => {
                    if algorithm != Algorithm::RsaSha256 {
                        return Err(spec(zone, "KeyTrap needs an RSA/SHA-256 zone"));
                    }
                    let tag = base
                        .rsplit('+')
                        .next()
                        .and_then(|t| t.parse::<u16>().ok())
                        .ok_or_else(|| spec(zone, format!("no key tag in {base}")))?;
                    let junk = tag ^ 0x8000;
                    let mut text = read(&unsigned)?;
                    text.push_str(&junk_keys(zone, algorithm.number(), junk, ttl));
                    write(&unsigned, &text)?;
                    Some(junk)
                }
                _ => None,
            };
            let signed = dir.join("zones").join(format!("{dname}.signed"));
            let window = match fault {
                Some(Fault::ExpiredSignatures | Fault::ExpiredWithZsk) => Some((
                    utc_stamp(time::Duration::days(-30)),
                    utc_stamp(time::Duration::days(-1)),
                )),
                Some(Fault::FutureSignatures) => Some((
                    utc_stamp(time::Duration::days(3)),
                    utc_stamp(time::Duration::days(30)),
                )),
                // Made three days ago: six hours left is well inside the last fifth of the
                // validity period, so the expiry warning does not sit on its threshold.
                Some(Fault::TtlBeyondSignature) => Some((
                    utc_stamp(time::Duration::days(-3)),
                    utc_stamp(time::Duration::hours(6)),
                )),
                Some(Fault::MidCycleSignatures) => Some((
                    utc_stamp(time::Duration::days(-9)),
                    utc_stamp(time::Duration::days(5)),
                )),
                _ => None,
            };
            signzone(
                zone,
                &keydir,
                nsec3,
                window.as_ref(),
                &dir.join("ds"),
                &unsigned,
                &signed,
            )?;
            if let Some(junk) = junk_tag {
                let text = junk_signatures(&read(&signed)?, junk, KEYTRAP_SIGS);
                write(&signed, &text)?;
            }
            let dsset = dir.join("ds").join(format!("dsset-{}", fqdn(zone)));
            let real_ds = ds_from_dsset(&dsset)?;
            ds_for_parent = Some(match fault {
                Some(Fault::DsMismatch) => {
                    let other = dir.join("keys").join(format!("{dname}-other"));
                    mkdir(&other)?;
                    let b = keygen(algorithm, zone, &other)?;
                    ds_from_key(&other.join(format!("{b}.key")))?
                }
                _ => real_ds,
            });
            match fault {
                Some(Fault::ForeignKeySigned) => {
                    let foreign = dir.join("keys").join(format!("{dname}-foreign"));
                    mkdir(&foreign)?;
                    keygen(algorithm, zone, &foreign)?;
                    let fsigned = dir.join("zones").join(format!("{dname}.foreign"));
                    let scratch = dir.join("zones").join(format!("{dname}-foreign-ds"));
                    mkdir(&scratch)?;
                    signzone(
                        zone,
                        &foreign,
                        signing.nsec3(),
                        None,
                        &scratch,
                        &unsigned,
                        &fsigned,
                    )?;
                    let merged = swap_data_signatures(&read(&signed)?, &read(&fsigned)?);
                    write(&signed, &merged)?;
                }
                Some(Fault::MissingNodataProof) => {
                    let first = p
                        .org
                        .as_ref()
                        .and_then(|o| o.records.first())
                        .ok_or_else(|| spec(zone, "MissingNodataProof needs a record"))?;
                    let cut = nsec_claims_aaaa(&read(&signed)?, &first.owner)
                        .ok_or_else(|| spec(zone, "no NSEC at the first record's owner"))?;
                    write(&signed, &cut)?;
                }
                Some(Fault::AlteredAfterSigning) => {
                    let first = p
                        .org
                        .as_ref()
                        .and_then(|o| o.records.first())
                        .ok_or_else(|| spec(zone, "AlteredAfterSigning needs a record"))?;
                    let altered = alter_record(&read(&signed)?, first)
                        .ok_or_else(|| spec(zone, "no record to alter in the signed zone"))?;
                    write(&signed, &altered)?;
                }
                Some(f) if f.second_server() => {
                    conf2 = Some(second_copy(
                        dir,
                        zone,
                        f,
                        algorithm,
                        signing.nsec3(),
                        &keydir,
                        &unsigned,
                    )?);
                }
                _ => {}
            }
            served = signed;
        }
    }
    // A KeyTrap zone's RRsets are larger than BIND loads by default.
    let limits = match fault {
        Some(Fault::KeyTrap) => "    max-records-per-type 0;\n",
        _ => "",
    };
    let conf = format!(
        "zone \"{zone}\" {{\n    type primary;\n    file \"{}\";\n{limits}}};\n",
        served.display()
    );
    Ok(Built {
        conf,
        conf2,
        file: served,
        ds_for_parent: if zone == "." { None } else { ds_for_parent },
        key_file,
        tsig: None,
    })
}

/// [`KEYTRAP_KEYS`] junk DNSKEY lines (flags 257) for `zone`, all with key tag `tag`.
fn junk_keys(zone: &str, algorithm: u8, tag: u16, ttl: u32) -> String {
    use base64::Engine;
    (0..KEYTRAP_KEYS)
        .map(|_| {
            let key = forged_rsa_key(257, algorithm, tag);
            format!(
                "{} {ttl} IN DNSKEY 257 3 {algorithm} {}\n",
                fqdn(zone),
                base64::engine::general_purpose::STANDARD.encode(key)
            )
        })
        .collect()
}

/// The signed zone text with `n` junk RRSIGs added after each RRSIG: the same fields, key tag
/// `tag` and 32 random bytes of signature.
fn junk_signatures(signed: &str, tag: u16, n: usize) -> String {
    use base64::Engine;
    use rand_core::RngCore;
    let mut out = String::with_capacity(signed.len() * (n / 2 + 1));
    for line in signed.lines() {
        out.push_str(line);
        out.push('\n');
        let t: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with(';') || t.len() < 13 || t[3] != "RRSIG" {
            continue;
        }
        for _ in 0..n {
            let mut sig = [0u8; 32];
            rand_core::OsRng.fill_bytes(&mut sig);
            out.push_str(&format!(
                "{} {} IN RRSIG {} {} {} {} {} {} {tag} {} {}\n",
                t[0],
                t[1],
                t[4],
                t[5],
                t[6],
                t[7],
                t[8],
                t[9],
                t[11],
                base64::engine::general_purpose::STANDARD.encode(sig)
            ));
        }
    }
    out
}

/// Keys besides the zone's signing key, for the key faults: a revoked one or an inactive one.
fn extra_keys(
    fault: Option<Fault>,
    alg: Algorithm,
    zone: &str,
    keydir: &Path,
) -> Result<(), LabError> {
    let kd = keydir.to_string_lossy().into_owned();
    match fault {
        Some(Fault::RevokedKey) => {
            let base = keygen(alg, zone, keydir)?;
            run_tool("dnssec-revoke", &["-r", "-K", &kd, &base], keydir)?;
        }
        Some(Fault::ExpiredWithZsk) => {
            let mut args = vec!["-q", "-K", kd.as_str()];
            args.extend(alg.keygen_args());
            args.extend(["-n", "ZONE", zone]);
            run_tool("dnssec-keygen", &args, keydir)?;
        }
        Some(Fault::UnusedKey) => {
            let mut args = vec!["-q", "-K", kd.as_str()];
            args.extend(alg.keygen_args());
            args.extend(["-P", "now", "-A", "+31536000", "-n", "ZONE", zone]);
            run_tool("dnssec-keygen", &args, keydir)?;
        }
        _ => {}
    }
    Ok(())
}

/// The zone as `ns2.<zone>` serves it under a second-server fault; returns its zone stanza.
fn second_copy(
    dir: &Path,
    zone: &str,
    fault: Fault,
    alg: Algorithm,
    nsec3: Option<&Nsec3>,
    keydir: &Path,
    unsigned: &Path,
) -> Result<String, LabError> {
    let dname = dir_name(zone);
    let scratch = dir.join("zones").join(format!("{dname}-ns2"));
    mkdir(&scratch)?;
    let mut text = read(unsigned)?;
    let keys = match fault {
        Fault::SecondServerOtherKey => {
            let other = dir.join("keys").join(format!("{dname}-ns2"));
            mkdir(&other)?;
            keygen(alg, zone, &other)?;
            other
        }
        _ => {
            text = text.replacen(" 1 3600 600 86400 60", " 2 3600 600 86400 60", 1);
            keydir.to_path_buf()
        }
    };
    let copy = scratch.join("zone.db");
    write(&copy, &text)?;
    let signed = scratch.join("zone.signed");
    signzone(zone, &keys, nsec3, None, &scratch, &copy, &signed)?;
    Ok(format!(
        "zone \"{zone}\" {{\n    type primary;\n    file \"{}\";\n}};\n",
        signed.display()
    ))
}

fn find_key_file(keydir: &Path) -> Result<PathBuf, LabError> {
    let entries = std::fs::read_dir(keydir).map_err(|source| LabError::Write {
        path: keydir.to_path_buf(),
        source,
    })?;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "key") {
            return Ok(p);
        }
    }
    Err(spec(&keydir.display().to_string(), "no key generated"))
}

fn signzone(
    zone: &str,
    keydir: &Path,
    nsec3: Option<&Nsec3>,
    window: Option<&(String, String)>,
    dsdir: &Path,
    unsigned: &Path,
    signed: &Path,
) -> Result<(), LabError> {
    let mut args: Vec<String> = vec![
        "-P".into(),
        "-S".into(),
        "-z".into(),
        "-O".into(),
        "full".into(),
        "-K".into(),
        keydir.to_string_lossy().into_owned(),
        "-d".into(),
        dsdir.to_string_lossy().into_owned(),
        "-o".into(),
        fqdn(zone),
        "-f".into(),
        signed.to_string_lossy().into_owned(),
    ];
    if let Some(n) = nsec3 {
        args.push("-3".into());
        args.push(if n.salt.is_empty() {
            "-".into()
        } else {
            n.salt.clone()
        });
        args.push("-H".into());
        args.push(n.iterations.to_string());
        if n.opt_out {
            args.push("-A".into());
        }
    }
    if let Some((s, e)) = window {
        args.push("-s".into());
        args.push(s.clone());
        args.push("-e".into());
        args.push(e.clone());
    }
    args.push(unsigned.to_string_lossy().into_owned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_tool("dnssec-signzone", &refs, keydir)?;
    Ok(())
}

/// Types whose signatures stay those of the zone's own key under `ForeignKeySigned`.
const KEEP_SIGNED: [&str; 6] = ["DNSKEY", "SOA", "NS", "NSEC", "NSEC3", "NSEC3PARAM"];

/// One `-O full` line split into owner, type and the rest (rdata).
fn fields(line: &str) -> Option<(&str, &str, &str)> {
    if line.starts_with(';') || line.trim().is_empty() {
        return None;
    }
    let toks = tokens(line);
    if toks.len() < 5 {
        return None;
    }
    let owner = &line[toks[0].0..toks[0].1];
    let rtype = &line[toks[3].0..toks[3].1];
    let rdata = line[toks[4].0..].trim_end();
    Some((owner, rtype, rdata))
}

/// Byte ranges of the whitespace-separated tokens of `line`.
fn tokens(line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, line.len()));
    }
    out
}

fn covered(rdata: &str) -> &str {
    rdata.split_whitespace().next().unwrap_or("")
}

/// The zone `own`, with the RRSIGs of its data RRsets replaced by those from `foreign`.
fn swap_data_signatures(own: &str, foreign: &str) -> String {
    let is_data_sig = |line: &str| match fields(line) {
        Some((_, "RRSIG", rd)) => !KEEP_SIGNED.contains(&covered(rd)),
        _ => false,
    };
    let mut out: String = own
        .lines()
        .filter(|l| !is_data_sig(l))
        .map(|l| format!("{l}\n"))
        .collect();
    for l in foreign.lines().filter(|l| is_data_sig(l)) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The zone text with the rdata of the record `r` changed (still well-formed), or `None`.
fn alter_record(zone: &str, r: &Record) -> Option<String> {
    let mut done = false;
    let mut out = String::new();
    for line in zone.lines() {
        if !done {
            if let Some((owner, rtype, rdata)) = fields(line) {
                if owner.eq_ignore_ascii_case(&r.owner) && rtype.eq_ignore_ascii_case(&r.rtype) {
                    if let Some(new) = alter_rdata(rtype, rdata) {
                        let start = line.trim_end().len() - rdata.len();
                        out.push_str(&line[..start]);
                        out.push_str(&new);
                        out.push('\n');
                        done = true;
                        continue;
                    }
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    done.then_some(out)
}

/// The signed zone with the NSEC at `owner` listing AAAA in its type bitmap, its RRSIG kept.
fn nsec_claims_aaaa(zone: &str, owner: &str) -> Option<String> {
    let owner = owner.trim_end_matches('.');
    let mut done = false;
    let mut out = String::new();
    for line in zone.lines() {
        if let Some((o, rtype, rdata)) = fields(line) {
            if !done
                && rtype.eq_ignore_ascii_case("NSEC")
                && o.trim_end_matches('.').eq_ignore_ascii_case(owner)
            {
                let start = line.trim_end().len() - rdata.len();
                out.push_str(&line[..start]);
                let mut it = rdata.split_whitespace();
                let next = it.next()?;
                out.push_str(next);
                out.push_str(" AAAA");
                for t in it {
                    out.push(' ');
                    out.push_str(t);
                }
                out.push('\n');
                done = true;
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    done.then_some(out)
}

fn alter_rdata(rtype: &str, rdata: &str) -> Option<String> {
    if rtype.eq_ignore_ascii_case("A") {
        let a: Ipv4Addr = rdata.parse().ok()?;
        let o = a.octets();
        return Some(Ipv4Addr::new(o[0], o[1], o[2], o[3] ^ 1).to_string());
    }
    let mut chars: Vec<char> = rdata.chars().collect();
    let i = chars.iter().rposition(|c| c.is_ascii_hexdigit())?;
    chars[i] = match chars[i] {
        '9' => '0',
        'f' => 'a',
        'F' => 'A',
        c => (c as u8 + 1) as char,
    };
    Some(chars.into_iter().collect())
}

fn write_anchor_files(dir: &Path, key_file: &Path) -> Result<AnchorFiles, LabError> {
    mkdir(dir)?;
    let key = read(key_file)?;
    let line = key
        .lines()
        .find(|l| !l.starts_with(';') && l.contains("DNSKEY"))
        .ok_or_else(|| spec(".", "no DNSKEY in root key file"))?;
    let (_, _, rdata) = fields_loose(line).ok_or_else(|| spec(".", "bad root key line"))?;
    let parts: Vec<&str> = rdata.split_whitespace().collect();
    if parts.len() < 4 {
        return Err(spec(".", "bad root key rdata"));
    }
    let b64: String = parts[3..].concat();
    let dnskey = dir.join("root.key");
    write(
        &dnskey,
        &format!(
            ". 300 IN DNSKEY {} {} {} {b64}\n",
            parts[0], parts[1], parts[2]
        ),
    )?;
    let ds = dir.join("root.ds");
    let ds_lines = ds_from_key(key_file)?;
    write(&ds, &format!("{}\n", ds_lines.join("\n")))?;
    let delv = dir.join("delv.conf");
    write(
        &delv,
        &format!(
            "trust-anchors {{\n    . static-key {} {} {} \"{b64}\";\n}};\n",
            parts[0], parts[1], parts[2]
        ),
    )?;
    Ok(AnchorFiles { dnskey, ds, delv })
}

/// Like [`fields`] but for `owner [ttl] [class] TYPE rdata` with optional TTL and class.
fn fields_loose(line: &str) -> Option<(&str, &str, &str)> {
    let owner = line.split_whitespace().next()?;
    let at = line.find(" DNSKEY ").or_else(|| line.find("\tDNSKEY\t"))?;
    Some((owner, "DNSKEY", line[at + 7..].trim()))
}

fn resolver_conf(
    addr: Ipv4Addr,
    sdir: &Path,
    hints: &Path,
    mode: ResolverMode,
    root_key: &Path,
) -> Result<String, LabError> {
    let options = options_block(addr, sdir)
        .replace(
            "recursion no;",
            // No cap on RRset sizes, and room for chains of 45 cuts: the resolver hands hostile
            // zones' answers over for the tool to judge instead of failing first.
            "recursion yes;\n    allow-recursion { any; };\n    max-records-per-type 0;\n    max-recursion-queries 500;\n    max-query-count 2000;",
        )
        .replace(
            "dnssec-validation no;",
            match mode {
                ResolverMode::NoValidation => "dnssec-validation no;",
                ResolverMode::Validating => "dnssec-validation yes;",
            },
        );
    let mut c = options;
    if mode == ResolverMode::Validating {
        let anchor = write_anchor_files(&sdir.join("anchor"), root_key)?;
        c.push_str(&read(&anchor.delv)?);
    }
    c.push_str(&format!(
        "zone \".\" {{ type hint; file \"{}\"; }};\n",
        hints.display()
    ));
    Ok(c)
}

/// Wait (at most 30 s) until `named` at `addr` serves `zone`'s DNSKEY with a signature.
fn wait_signed(zone: &str, addr: Ipv4Addr) -> Result<(), LabError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let at = format!("@{addr}");
    let apex = fqdn(zone);
    loop {
        let out = run_tool(
            "dig",
            &[
                &at, "+dnssec", "+norec", "+time=1", "+tries=1", &apex, "DNSKEY",
            ],
            Path::new("/"),
        )
        .unwrap_or_default();
        if out.contains("RRSIG\tDNSKEY") || out.contains("RRSIG DNSKEY") {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(spec(
                zone,
                format!("not signed by named at {addr} within 30 s"),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Run `f` on every item with a few threads (BIND tools are separate processes).
fn par_each<T: Sync>(
    items: &[T],
    f: impl Fn(&T) -> Result<(), LabError> + Sync,
) -> Result<(), LabError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .clamp(2, 16)
        .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let first_err: Mutex<Option<LabError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if first_err.lock().map(|e| e.is_some()).unwrap_or(true) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { return };
                if let Err(e) = f(item) {
                    if let Ok(mut slot) = first_err.lock() {
                        slot.get_or_insert(e);
                    }
                    return;
                }
            });
        }
    });
    match first_err.into_inner().ok().flatten() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_is_split_and_escaped() {
        let long = "a".repeat(300);
        let r = Record::txt("x.example", &long);
        assert_eq!(r.owner, "x.example.");
        assert_eq!(
            r.rdata,
            format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(45))
        );
        assert_eq!(Record::txt("x.", "a\"b\\c\n").rdata, "\"a\\\"b\\\\c\\010\"");
    }

    #[test]
    fn alteration_keeps_form_and_changes_value() {
        assert_eq!(alter_rdata("A", "127.0.0.5").as_deref(), Some("127.0.0.4"));
        assert_eq!(
            alter_rdata("TXT", "\"30303\"").as_deref(),
            Some("\"30304\"")
        );
        assert_eq!(alter_rdata("TXT", "\"abf\"").as_deref(), Some("\"aba\""));
        let zone = "v.z.\t300 IN TXT \"ab\"\nv.z.\t300 IN RRSIG TXT 13 2 300 1 2 3 z. sig\n";
        let out = alter_record(zone, &Record::txt("v.z", "ab")).unwrap();
        assert_eq!(out.lines().next(), Some("v.z.\t300 IN TXT \"ac\""));
        assert!(out.contains("RRSIG TXT"));
    }

    #[test]
    fn foreign_signatures_replace_data_signatures_only() {
        let own = "z. 300 IN SOA a b 1 2 3 4 5\nz. 300 IN RRSIG SOA own\nv.z. 300 IN TXT \"x\"\nv.z. 300 IN RRSIG TXT own\n";
        let foreign = "z. 300 IN RRSIG SOA foreign\nv.z. 300 IN RRSIG TXT foreign\n";
        let out = swap_data_signatures(own, foreign);
        assert!(out.contains("RRSIG SOA own"));
        assert!(out.contains("RRSIG TXT foreign"));
        assert!(!out.contains("RRSIG TXT own"));
        assert!(!out.contains("RRSIG SOA foreign"));
    }

    #[test]
    fn forged_keys_have_the_tag_asked_for() {
        use hickory_proto::dnssec::rdata::DNSKEY;
        use hickory_proto::dnssec::{Algorithm as A, PublicKeyBuf};
        for tag in [0u16, 1, 4347, 0xFFFF] {
            let key = forged_rsa_key(257, 8, tag);
            assert_eq!(key_tag(257, 8, &key), tag);
            // The same figure as hickory's own RFC 4034 computation.
            let k = DNSKEY::with_flags(257, PublicKeyBuf::new(key, A::RSASHA256));
            assert_eq!(k.calculate_key_tag().unwrap(), tag);
        }
    }

    #[test]
    fn junk_signatures_copy_the_fields_with_another_tag() {
        let z = "z.\t300 IN SOA a b 1 2 3 4 5\nz.\t300 IN RRSIG SOA 8 1 300 20300101000000 20200101000000 4242 z. AAAA\n";
        let out = junk_signatures(z, 7, 3);
        let junk: Vec<&str> = out.lines().filter(|l| l.contains(" 7 z. ")).collect();
        assert_eq!(junk.len(), 3);
        assert!(
            junk[0].starts_with("z. 300 IN RRSIG SOA 8 1 300 20300101000000 20200101000000 7 z. ")
        );
        assert_eq!(out.lines().count(), 5);
    }

    #[test]
    fn parents_and_depths() {
        assert_eq!(parent("ogr4.co.uk"), "co.uk");
        assert_eq!(parent("uk"), ".");
        assert_eq!(depth("."), 0);
        assert_eq!(depth("ogr4.co.uk"), 3);
    }
}
