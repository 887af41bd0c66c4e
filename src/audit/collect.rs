//! Collecting what the audit judges: walk the delegations from the root servers to each zone
//! (RFC 1034 §4.3.2 referrals, with DO so DS and denial records come along, RFC 4035 §3.1.4),
//! then ask every authoritative server of the zone separately for the apex RRsets, a
//! nonexistent name (to see NSEC/NSEC3) and the ceremony records.
//!
//! Shared ancestors (root, TLDs) are fetched once per run, however many zones hang below them;
//! every question goes through one [`Transport`] (`dns::query`) with a bound on queries in flight.
//!
//! # Limitations
//! Name servers without glue are located by walking to their own zone; a loop of glueless
//! delegations is cut at depth 4. Only the first parent server that answers is asked about
//! the delegation.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::sync::OnceCell;

use crate::dns::query::{Mode, Transport};

/// The delegation of a zone as the parent serves it.
#[derive(Debug, Clone, Default)]
pub struct Delegation {
    /// The parent zone.
    pub parent: Name,
    /// The parent server that answered.
    pub parent_server: String,
    /// NS names of the delegation.
    pub ns: Vec<Name>,
    /// Glue addresses (from the referral's additional section).
    pub glue: Vec<(Name, IpAddr)>,
    /// The DS RRset with its RRSIGs, and NSEC/NSEC3 records (with RRSIGs) proving no DS.
    pub ds_answer: Vec<Record>,
}

/// One question asked of one server and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The owner asked for.
    pub name: Name,
    /// The type asked for.
    pub rtype: RecordType,
    /// The answer, or why there was none.
    pub answer: Result<Message, String>,
}

/// Everything one authoritative server said.
#[derive(Debug, Clone)]
pub struct ServerData {
    /// Its name (NS target), or its address for root servers given by address.
    pub name: String,
    /// Its address (`None` when it could not be located).
    pub addr: Option<SocketAddr>,
    /// The questions and answers.
    pub exchanges: Vec<Exchange>,
}

impl ServerData {
    /// The answer to `name`/`rtype`, if asked.
    pub fn get(&self, name: &Name, rtype: RecordType) -> Option<&Result<Message, String>> {
        self.exchanges
            .iter()
            .find(|e| e.rtype == rtype && &e.name == name)
            .map(|e| &e.answer)
    }

    /// `name (addr)` for reports.
    pub fn label(&self) -> String {
        match self.addr {
            Some(a) if a.ip().to_string() != self.name => format!("{} ({})", self.name, a.ip()),
            Some(_) => self.name.clone(),
            None => format!("{} (no address)", self.name),
        }
    }
}

/// One zone as collected.
#[derive(Debug, Clone)]
pub struct ZoneData {
    /// The zone.
    pub zone: Name,
    /// The delegation from the parent (`None` for the anchor's zone).
    pub delegation: Option<Delegation>,
    /// Every authoritative server, asked separately.
    pub servers: Vec<ServerData>,
}

/// What the audit collected for one organisation's host.
#[derive(Debug, Clone)]
pub struct HostData {
    /// The host.
    pub host: Name,
    /// The chain of zones from the root to the host's zone; empty when the walk failed.
    pub chain: Vec<Name>,
    /// Why the walk stopped, when it did.
    pub failure: Option<String>,
    /// The ceremony record questions, asked of every server of the host's zone.
    pub servers: Vec<ServerData>,
}

/// The result of asking the parent about one name.
#[derive(Debug, Clone)]
enum Cut {
    /// A zone starts here.
    Zone(Delegation),
    /// Same zone as the parent.
    Inside,
    /// The name does not exist.
    NxDomain,
    /// No server of the parent answered.
    Failed(String),
}

/// The walker: one per audit run; cheap to share (`Arc`).
#[derive(Debug)]
pub struct Collector {
    transport: Transport,
    roots: Vec<SocketAddr>,
    anchor_zone: Name,
    zones: Mutex<HashMap<Name, Arc<OnceCell<Arc<ZoneData>>>>>,
    cuts: Mutex<HashMap<Name, Arc<OnceCell<Cut>>>>,
    delegations: Mutex<HashMap<Name, Delegation>>,
}

/// The questions asked at every zone apex.
const APEX: [RecordType; 4] = [
    RecordType::SOA,
    RecordType::DNSKEY,
    RecordType::NS,
    RecordType::NSEC3PARAM,
];

/// The label of the nonexistent name asked to see the zone's denial records.
pub const PROBE_LABEL: &str = "dnsceremony-audit-probe";

impl Collector {
    /// A collector starting at `roots` (the anchor's zone servers), sending through
    /// `transport` (which bounds the queries in flight and counts them).
    pub fn new(transport: Transport, roots: Vec<SocketAddr>, anchor_zone: Name) -> Arc<Collector> {
        Arc::new(Collector {
            transport,
            roots,
            anchor_zone,
            zones: Mutex::new(HashMap::new()),
            cuts: Mutex::new(HashMap::new()),
            delegations: Mutex::new(HashMap::new()),
        })
    }

    /// Queries sent so far.
    pub fn queries(&self) -> u64 {
        self.transport.queries_sent()
    }

    /// Every zone collected so far.
    pub fn zones(&self) -> Vec<Arc<ZoneData>> {
        let cells: Vec<_> = self
            .zones
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        cells.iter().filter_map(|c| c.get().cloned()).collect()
    }

    /// One question to one server, RD clear and DO set, tried twice; any rcode is returned.
    async fn ask(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Message, String> {
        match self
            .transport
            .query_one(server, name, rtype, Mode::Iterative)
            .await
        {
            Ok(m) => Ok(m),
            Err(_) => {
                self.transport
                    .query_one(server, name, rtype, Mode::Iterative)
                    .await
            }
        }
    }

    /// Walk to `name`: the zones from the anchor's zone to the deepest zone containing it.
    pub async fn chain_to(self: &Arc<Self>, name: &Name) -> Result<Vec<Name>, String> {
        self.chain_depth(name, 0).await
    }

    async fn chain_depth(self: &Arc<Self>, name: &Name, depth: u8) -> Result<Vec<Name>, String> {
        let name = name.to_lowercase();
        if !self.anchor_zone.zone_of(&name) {
            return Err(format!(
                "{name} is not below the anchor's zone {}",
                self.anchor_zone
            ));
        }
        let mut chain = vec![self.anchor_zone.clone()];
        self.zone(&self.anchor_zone, depth).await;
        let start = usize::from(self.anchor_zone.num_labels()) + 1;
        for labels in start..=usize::from(name.num_labels()) {
            let candidate = name.trim_to(labels);
            let parent = chain.last().cloned().unwrap_or_else(Name::root);
            match self.cut(&parent, &candidate, depth).await {
                Cut::Zone(d) => {
                    if let Ok(mut m) = self.delegations.lock() {
                        m.insert(candidate.clone(), d);
                    }
                    self.zone(&candidate, depth).await;
                    chain.push(candidate);
                }
                Cut::Inside => {}
                Cut::NxDomain => {
                    return Err(format!(
                        "{candidate} does not exist (NXDOMAIN from the {parent} servers)"
                    ))
                }
                Cut::Failed(why) => return Err(why),
            }
        }
        Ok(chain)
    }

    /// Ask the parent's servers whether `candidate` starts a zone (cached).
    async fn cut(self: &Arc<Self>, parent: &Name, candidate: &Name, depth: u8) -> Cut {
        let cell = {
            let mut m = match self.cuts.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            m.entry(candidate.clone()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let pz = self.zone(parent, depth).await;
            let mut why = format!("the {parent} zone has no reachable server");
            for s in &pz.servers {
                let Some(addr) = s.addr else { continue };
                let m = match self.ask(addr, candidate, RecordType::NS).await {
                    Ok(m) => m,
                    Err(e) => {
                        why = format!(
                            "no server of {parent} answered for {candidate} NS ({}: {e})",
                            s.label()
                        );
                        continue;
                    }
                };
                match m.metadata.response_code {
                    ResponseCode::NXDomain => return Cut::NxDomain,
                    ResponseCode::NoError => {}
                    rc => {
                        why = format!("{} answered {rc} for {candidate} NS", s.label());
                        continue;
                    }
                }
                let ns_in = |rs: &[Record]| -> Vec<Name> {
                    rs.iter()
                        .filter(|r| r.name.to_lowercase() == *candidate)
                        .filter_map(|r| match &r.data {
                            RData::NS(ns) => Some(ns.0.to_lowercase()),
                            _ => None,
                        })
                        .collect()
                };
                let referral = ns_in(&m.authorities);
                let answered = ns_in(&m.answers);
                if !m.metadata.authoritative && !referral.is_empty() {
                    let glue = m
                        .additionals
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::A(a) => Some((r.name.to_lowercase(), IpAddr::V4(a.0))),
                            RData::AAAA(a) => Some((r.name.to_lowercase(), IpAddr::V6(a.0))),
                            _ => None,
                        })
                        .collect();
                    let ds_answer = m
                        .authorities
                        .iter()
                        .filter(|r| !matches!(r.data, RData::NS(_)))
                        .cloned()
                        .collect();
                    return Cut::Zone(Delegation {
                        parent: parent.clone(),
                        parent_server: s.label(),
                        ns: referral,
                        glue,
                        ds_answer,
                    });
                }
                if !answered.is_empty() {
                    // The parent's server also serves the child: ask it for the DS.
                    let ds_answer = match self.ask(addr, candidate, RecordType::DS).await {
                        Ok(d) => d.answers.into_iter().chain(d.authorities).collect(),
                        Err(_) => Vec::new(),
                    };
                    return Cut::Zone(Delegation {
                        parent: parent.clone(),
                        parent_server: s.label(),
                        ns: answered,
                        glue: Vec::new(),
                        ds_answer,
                    });
                }
                return Cut::Inside;
            }
            Cut::Failed(why)
        })
        .await
        .clone()
    }

    /// The collected data of `zone` (fetched once; its delegation must be known).
    pub async fn zone(self: &Arc<Self>, zone: &Name, depth: u8) -> Arc<ZoneData> {
        let cell = {
            let mut m = match self.zones.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            m.entry(zone.clone()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let delegation = self
                .delegations
                .lock()
                .ok()
                .and_then(|m| m.get(zone).cloned());
            let mut targets: Vec<(String, Option<SocketAddr>)> = Vec::new();
            match &delegation {
                None => {
                    for r in &self.roots {
                        targets.push((r.ip().to_string(), Some(*r)));
                    }
                }
                Some(d) => {
                    for ns in &d.ns {
                        let glued: Vec<IpAddr> = d
                            .glue
                            .iter()
                            .filter(|(n, _)| n == ns)
                            .map(|(_, a)| *a)
                            .collect();
                        let addrs = if glued.is_empty() && depth < 4 {
                            self.addresses_of(ns, depth + 1).await
                        } else {
                            glued
                        };
                        if addrs.is_empty() {
                            targets.push((ns.to_string(), None));
                        }
                        for a in addrs {
                            targets.push((ns.to_string(), Some(SocketAddr::new(a, 53))));
                        }
                    }
                }
            }
            let probe = zone
                .prepend_label(PROBE_LABEL)
                .unwrap_or_else(|_| zone.clone());
            let mut questions: Vec<(Name, RecordType)> =
                APEX.iter().map(|t| (zone.clone(), *t)).collect();
            questions.push((probe, RecordType::A));
            // In-zone name servers: their addresses are signed data of the zone (and the glue's truth).
            if let Some(d) = &delegation {
                for ns in &d.ns {
                    if zone.zone_of(ns) && ns != zone {
                        questions.push((ns.clone(), RecordType::A));
                    }
                }
            }
            let servers = self.ask_all(targets, questions).await;
            Arc::new(ZoneData {
                zone: zone.clone(),
                delegation,
                servers,
            })
        })
        .await
        .clone()
    }

    /// Ask every server every question, concurrently.
    pub async fn ask_all(
        self: &Arc<Self>,
        targets: Vec<(String, Option<SocketAddr>)>,
        questions: Vec<(Name, RecordType)>,
    ) -> Vec<ServerData> {
        let mut set = tokio::task::JoinSet::new();
        for (i, (name, addr)) in targets.iter().enumerate() {
            let Some(addr) = *addr else { continue };
            for (j, (q, t)) in questions.iter().enumerate() {
                let me = Arc::clone(self);
                let (q, t) = (q.clone(), *t);
                set.spawn(async move {
                    let answer = me.ask(addr, &q, t).await;
                    (
                        i,
                        j,
                        Exchange {
                            name: q,
                            rtype: t,
                            answer,
                        },
                    )
                });
            }
            let _ = name;
        }
        let mut got: Vec<(usize, usize, Exchange)> = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(x) = r {
                got.push(x);
            }
        }
        got.sort_by_key(|(i, j, _)| (*i, *j));
        let mut servers: Vec<ServerData> = targets
            .into_iter()
            .map(|(name, addr)| ServerData {
                name,
                addr,
                exchanges: Vec::new(),
            })
            .collect();
        for (i, _, x) in got {
            servers[i].exchanges.push(x);
        }
        servers
    }

    /// Addresses of a name server without glue: walk to its zone and ask for A and AAAA.
    fn addresses_of<'a>(
        self: &'a Arc<Self>,
        name: &'a Name,
        depth: u8,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<IpAddr>> + Send + 'a>> {
        Box::pin(async move {
            let Ok(chain) = self.chain_depth(name, depth).await else {
                return Vec::new();
            };
            let Some(zone) = chain.last() else {
                return Vec::new();
            };
            let zd = self.zone(zone, depth).await;
            let mut out = Vec::new();
            for s in &zd.servers {
                let Some(addr) = s.addr else { continue };
                for t in [RecordType::A, RecordType::AAAA] {
                    if let Ok(m) = self.ask(addr, name, t).await {
                        for r in &m.answers {
                            match &r.data {
                                RData::A(a) => out.push(IpAddr::V4(a.0)),
                                RData::AAAA(a) => out.push(IpAddr::V6(a.0)),
                                _ => {}
                            }
                        }
                    }
                }
                if !out.is_empty() {
                    break;
                }
            }
            out.sort();
            out.dedup();
            out
        })
    }

    /// Walk to `host` and ask every server of its zone the given questions.
    pub async fn host(
        self: &Arc<Self>,
        host: &Name,
        questions: Vec<(Name, RecordType)>,
    ) -> HostData {
        match self.chain_to(host).await {
            Err(why) => HostData {
                host: host.clone(),
                chain: Vec::new(),
                failure: Some(why),
                servers: Vec::new(),
            },
            Ok(chain) => {
                let zone = chain.last().cloned().unwrap_or_else(Name::root);
                let zd = self.zone(&zone, 0).await;
                let targets = zd
                    .servers
                    .iter()
                    .map(|s| (s.name.clone(), s.addr))
                    .collect();
                let servers = self.ask_all(targets, questions).await;
                HostData {
                    host: host.clone(),
                    chain,
                    failure: None,
                    servers,
                }
            }
        }
    }
}
