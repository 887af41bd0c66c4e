//! The consensus mesh of profile v1, as far as the ceremony depends on it: which validators can
//! reach which, and so whether more than 2/3 of the voting power can agree on a block.
//!
//! Every node listens on `--consensus.port` on all addresses (the client's `:PORT`) and dials
//! every committee member at its genesis enode's consensus endpoint: `acn`, else the enode's IP
//! on port 20203 ([`crate::genesis::Enode::consensus_addr`]). A link carries one JSON line
//! every [`HEARTBEAT`]: the chain (block 0 hash), the sender's key, and views, the sender's own
//! first (`id`, `seq`, `height`, `cap`, `links`: the peers it has live links to), then the
//! fresh views it holds of others; views name nodes by their id, the first 8 bytes of the key
//! (a twenty-node mesh relays every view on every link, so names are kept short). A link is live while its heartbeats arrive ([`LINK_TIMEOUT`]); a
//! SIGSTOPped process keeps its sockets open but sends nothing, so its links die. A view is
//! fresh while its `seq` keeps rising. A node reaches itself, its live links, and transitively
//! the links in fresh views; [`Mesh::quorum`] asks whether the committee members reached that
//! may make the next block (`cap`) hold more than 2/3 of the committee's voting power.
//!
//! # Limitations
//! No handshake cryptography: a peer's key is what it says (the stand-in runs among friends on
//! test hosts). Links are not the client's wire protocol; a real client on the port is not
//! understood (it closes the connection).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::chain::Member;

/// Time between heartbeats on a link.
pub const HEARTBEAT: Duration = Duration::from_millis(400);
/// A link (or a view) without news for this long is dead (stale).
pub const LINK_TIMEOUT: Duration = Duration::from_secs(2);
/// Time between attempts to dial a member that is not connected.
pub const REDIAL: Duration = Duration::from_secs(1);
/// Longest heartbeat line accepted.
const MAX_LINE: u64 = 1 << 20;

/// A node's short name on the wire: the first 8 bytes of its key.
type Id = [u8; 8];

fn id_of(key: &[u8; 64]) -> Id {
    let mut id = [0u8; 8];
    id.copy_from_slice(&key[..8]);
    id
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WireView {
    id: String,
    seq: u64,
    height: u64,
    cap: u64,
    links: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Heartbeat {
    chain: String,
    key: String,
    views: Vec<WireView>,
}

#[derive(Debug, Clone)]
struct View {
    seq: u64,
    height: u64,
    cap: u64,
    links: Vec<Id>,
    fresh_at: Instant,
}

/// A live or dead link to a peer.
#[derive(Debug, Clone)]
pub struct Link {
    /// When its last heartbeat arrived.
    pub last_heard: Instant,
    /// Our end.
    pub local: SocketAddr,
    /// Its end.
    pub remote: SocketAddr,
    /// Whether the peer dialled us.
    pub inbound: bool,
    /// The height in its last heartbeat.
    pub height: u64,
}

#[derive(Debug, Default)]
struct State {
    links: HashMap<[u8; 64], Link>,
    views: HashMap<Id, View>,
    seq: u64,
}

/// This node's part in the mesh.
#[derive(Debug)]
pub struct Mesh {
    me: [u8; 64],
    me_id: Id,
    chain: String,
    power: HashMap<Id, u128>,
    total: u128,
    state: Mutex<State>,
    /// Woken when this node's height changes, so the news leaves at once.
    pub wake: Notify,
}

fn parse_key(s: &str) -> Option<[u8; 64]> {
    crate::hexfmt::parse_fixed::<64>(s, false).ok()
}

fn parse_id(s: &str) -> Option<Id> {
    crate::hexfmt::parse_fixed::<8>(s, false).ok()
}

/// Why a heartbeat ends its link.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a heartbeat.
    Malformed,
    /// Another chain (another genesis or client version).
    OtherChain,
    /// Our own heartbeat: we dialled ourselves.
    Ourselves,
    /// The sender changed its key within the link.
    KeyChanged,
}

impl Mesh {
    /// The mesh of the node `me` on the chain whose block 0 is `chain`.
    pub fn new(me: [u8; 64], chain: [u8; 32], committee: &[Member]) -> Mesh {
        let power: HashMap<Id, u128> = committee
            .iter()
            .map(|m| (id_of(&m.parsed.key), m.power))
            .collect();
        Mesh {
            me,
            me_id: id_of(&me),
            chain: hex::encode(chain),
            total: power.values().sum(),
            power,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live links, by peer key.
    pub fn live_links(&self) -> Vec<([u8; 64], Link)> {
        let now = Instant::now();
        let mut v: Vec<_> = self
            .lock()
            .links
            .iter()
            .filter(|(_, l)| now.duration_since(l.last_heard) < LINK_TIMEOUT)
            .map(|(k, l)| (*k, l.clone()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// This node's heartbeat line: its own view (`height`, `cap`) and the fresh views it holds.
    pub fn heartbeat(&self, height: u64, cap: u64) -> Vec<u8> {
        let now = Instant::now();
        let mut st = self.lock();
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        st.seq = (st.seq + 1).max(unix_ms);
        let links: Vec<String> = st
            .links
            .iter()
            .filter(|(_, l)| now.duration_since(l.last_heard) < LINK_TIMEOUT)
            .map(|(k, _)| hex::encode(id_of(k)))
            .collect();
        let mut views = vec![WireView {
            id: hex::encode(self.me_id),
            seq: st.seq,
            height,
            cap,
            links,
        }];
        views.extend(
            st.views
                .iter()
                .filter(|(_, v)| now.duration_since(v.fresh_at) < LINK_TIMEOUT)
                .map(|(k, v)| WireView {
                    id: hex::encode(k),
                    seq: v.seq,
                    height: v.height,
                    cap: v.cap,
                    links: v.links.iter().map(hex::encode).collect(),
                }),
        );
        let mut line = serde_json::to_vec(&Heartbeat {
            chain: self.chain.clone(),
            key: hex::encode(self.me),
            views,
        })
        .unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// Take in one heartbeat line from the link to `remote`; `peer` is the key the link
    /// carried so far. The highest height among the views, or why the link must end.
    pub fn receive(
        &self,
        line: &[u8],
        peer: &mut Option<[u8; 64]>,
        local: SocketAddr,
        remote: SocketAddr,
        inbound: bool,
    ) -> Result<u64, Refusal> {
        let hb: Heartbeat = serde_json::from_slice(line).map_err(|_| Refusal::Malformed)?;
        if hb.chain != self.chain {
            return Err(Refusal::OtherChain);
        }
        let first = hb.views.first().ok_or(Refusal::Malformed)?;
        let sender = parse_key(&hb.key).ok_or(Refusal::Malformed)?;
        if sender == self.me {
            return Err(Refusal::Ourselves);
        }
        if parse_id(&first.id) != Some(id_of(&sender)) {
            return Err(Refusal::Malformed);
        }
        match peer {
            Some(p) if *p != sender => return Err(Refusal::KeyChanged),
            _ => *peer = Some(sender),
        }
        let now = Instant::now();
        let mut st = self.lock();
        st.links.insert(
            sender,
            Link {
                last_heard: now,
                local,
                remote,
                inbound,
                height: first.height,
            },
        );
        let mut highest = 0;
        for v in &hb.views {
            let Some(key) = parse_id(&v.id) else {
                continue;
            };
            if key == self.me_id {
                continue;
            }
            highest = highest.max(v.height);
            let newer = st.views.get(&key).is_none_or(|old| v.seq > old.seq);
            if newer {
                st.views.insert(
                    key,
                    View {
                        seq: v.seq,
                        height: v.height,
                        cap: v.cap,
                        links: v.links.iter().filter_map(|l| parse_id(l)).collect(),
                        fresh_at: now,
                    },
                );
            }
        }
        Ok(highest)
    }

    /// The voting power of the committee members this node reaches (itself included) that
    /// may make block `next` (their `cap` is at least `next`, unless `ignore_caps`).
    pub fn reachable_power(&self, next: u64, own_cap: u64, ignore_caps: bool) -> u128 {
        let now = Instant::now();
        let st = self.lock();
        let direct: HashSet<Id> = st
            .links
            .iter()
            .filter(|(_, l)| now.duration_since(l.last_heard) < LINK_TIMEOUT)
            .map(|(k, _)| id_of(k))
            .collect();
        let fresh = |k: &Id| {
            st.views
                .get(k)
                .filter(|v| now.duration_since(v.fresh_at) < LINK_TIMEOUT)
        };
        let mut seen: HashSet<Id> = HashSet::from([self.me_id]);
        let mut queue = VecDeque::from([self.me_id]);
        while let Some(x) = queue.pop_front() {
            let next_hop: Vec<Id> = if x == self.me_id {
                direct.iter().copied().collect()
            } else {
                fresh(&x).map(|v| v.links.clone()).unwrap_or_default()
            };
            for y in next_hop {
                if !seen.contains(&y) && (direct.contains(&y) || fresh(&y).is_some()) {
                    seen.insert(y);
                    queue.push_back(y);
                }
            }
        }
        seen.iter()
            .filter_map(|k| {
                let power = *self.power.get(k)?;
                let cap = if *k == self.me_id {
                    own_cap
                } else {
                    fresh(k).map(|v| v.cap).unwrap_or(0)
                };
                (ignore_caps || cap >= next).then_some(power)
            })
            .sum()
    }

    /// Whether the members reached hold more than 2/3 of the committee's voting power.
    pub fn quorum(&self, next: u64, own_cap: u64, ignore_caps: bool) -> bool {
        self.reachable_power(next, own_cap, ignore_caps) * 3 > self.total * 2
    }
}

/// What the mesh needs from the node it serves.
pub trait Peer: Send + Sync + 'static {
    /// The mesh.
    fn mesh(&self) -> &Mesh;
    /// The node's height and cap (the highest block it will make or take).
    fn own(&self) -> (u64, u64);
    /// A heartbeat told of height `height`.
    fn heard(&self, height: u64);
}

/// Accept links on `listener` and dial every address in `dial`, until the task is dropped.
pub async fn run<P: Peer>(peer: Arc<P>, listener: TcpListener, dial: Vec<SocketAddr>) {
    for addr in dial {
        let p = peer.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(Ok(stream)) = tokio::time::timeout(REDIAL, TcpStream::connect(addr)).await
                {
                    link(p.clone(), stream, false).await;
                }
                tokio::time::sleep(REDIAL).await;
            }
        });
    }
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(link(peer.clone(), stream, true));
        }
    }
}

async fn link<P: Peer>(peer: Arc<P>, stream: TcpStream, inbound: bool) {
    let (Ok(local), Ok(remote)) = (stream.local_addr(), stream.peer_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let writer_peer = peer.clone();
    let writer = tokio::spawn(async move {
        loop {
            let (height, cap) = writer_peer.own();
            let line = writer_peer.mesh().heartbeat(height, cap);
            if wr.write_all(&line).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(HEARTBEAT) => {}
                _ = writer_peer.mesh().wake.notified() => {}
            }
        }
    });
    let mut rd = BufReader::new(rd);
    let mut line = Vec::new();
    let mut key = None;
    loop {
        line.clear();
        match (&mut rd).take(MAX_LINE).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) if line.last() != Some(&b'\n') => break,
            Ok(_) => {}
        }
        match peer.mesh().receive(&line, &mut key, local, remote, inbound) {
            Ok(h) => peer.heard(h),
            Err(_) => break,
        }
    }
    writer.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::Enode;

    fn member(i: u8, power: u128) -> Member {
        let mut key = [0u8; 64];
        key[0] = i;
        Member {
            enode: String::new(),
            parsed: Enode {
                key,
                ip: "127.0.0.1".parse().unwrap(),
                port: 1,
                acn: None,
            },
            address: [i; 20],
            power,
            consensus_key: None,
        }
    }

    fn addr() -> SocketAddr {
        "127.0.0.1:1".parse().unwrap()
    }

    /// Deliver `from`'s heartbeat to `to`.
    fn send(from: &Mesh, to: &Mesh, height: u64) {
        let line = from.heartbeat(height, u64::MAX);
        to.receive(&line, &mut None, addr(), addr(), false).unwrap();
    }

    #[test]
    fn quorum_needs_more_than_two_thirds_reached_transitively() {
        let members: Vec<Member> = (1..=4).map(|i| member(i, 10)).collect();
        let meshes: Vec<Mesh> = members
            .iter()
            .map(|m| Mesh::new(m.parsed.key, [9; 32], &members))
            .collect();
        // Alone: 1/4.
        assert!(!meshes[1].quorum(1, u64::MAX, false));
        // A star around node 0: 0 hears everyone, everyone hears 0.
        for i in 1..4 {
            send(&meshes[i], &meshes[0], 0);
        }
        for i in 1..4 {
            send(&meshes[0], &meshes[i], 0);
        }
        // Node 1 reaches 0 directly and, through 0's view, 2 and 3 (whose views 0 relayed).
        assert_eq!(meshes[1].reachable_power(1, u64::MAX, false), 40);
        assert!(meshes[1].quorum(1, u64::MAX, false));
        // A member whose cap is below the next block does not count for it.
        let line = meshes[2].heartbeat(1, 1);
        meshes[1]
            .receive(&line, &mut None, addr(), addr(), false)
            .unwrap();
        assert_eq!(meshes[1].reachable_power(2, u64::MAX, false), 30);
        assert_eq!(meshes[1].reachable_power(2, u64::MAX, true), 40);
        // Exactly 2/3 is not more than 2/3.
        let three: Vec<Member> = (1..=3).map(|i| member(i, 10)).collect();
        let m = Mesh::new(three[0].parsed.key, [9; 32], &three);
        let other = Mesh::new(three[1].parsed.key, [9; 32], &three);
        send(&other, &m, 0);
        assert!(!m.quorum(1, u64::MAX, false));
    }

    #[test]
    fn heartbeats_of_another_chain_or_of_ourselves_end_the_link() {
        let members: Vec<Member> = (1..=2).map(|i| member(i, 1)).collect();
        let a = Mesh::new(members[0].parsed.key, [1; 32], &members);
        let b = Mesh::new(members[1].parsed.key, [2; 32], &members);
        let line = b.heartbeat(0, 0);
        assert_eq!(
            a.receive(&line, &mut None, addr(), addr(), true),
            Err(Refusal::OtherChain)
        );
        let own = a.heartbeat(0, 0);
        assert_eq!(
            a.receive(&own, &mut None, addr(), addr(), true),
            Err(Refusal::Ourselves)
        );
        assert_eq!(
            a.receive(b"{}", &mut None, addr(), addr(), true),
            Err(Refusal::Malformed)
        );
    }
}
