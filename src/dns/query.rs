//! Sending one DNS question and getting one checked answer (RFC 1035, EDNS0 RFC 6891, DO bit
//! RFC 3225, CD bit RFC 4035 section 3.2.2, TCP fallback RFC 7766).
//!
//! Every query carries EDNS0 with DO set and a 1232-byte payload; iterative queries have RD
//! off, queries to a resolver have RD and CD on (the resolver must hand over what it got, even
//! data it considers bogus: the tool validates itself). The message id is random and the
//! answer must match id and question, otherwise it is ignored. A truncated answer is asked
//! again over TCP. Each attempt has a timeout; attempts go round the zone's server addresses a
//! bounded number of times; a global semaphore bounds the number of queries in flight.
//!
//! # Limitations
//! No DNS cookies, no 0x20 case randomisation; UDP source ports come from the OS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;

/// How a question is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// To an authoritative server: RD off.
    Iterative,
    /// To a resolver: RD and CD on.
    Resolver,
}

/// Why no usable answer came back from any of the servers tried.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no answer for {name} {rtype} from {} ({why})", list(servers))]
pub struct QueryError {
    /// The question's name.
    pub name: Name,
    /// The question's type.
    pub rtype: RecordType,
    /// The servers tried.
    pub servers: Vec<SocketAddr>,
    /// What went wrong on the last attempt.
    pub why: String,
}

fn list(servers: &[SocketAddr]) -> String {
    if servers.is_empty() {
        return "no server address".into();
    }
    servers
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The query sender of one run: timeout, concurrency bound, count of queries sent.
#[derive(Debug)]
pub struct Transport {
    sem: Semaphore,
    sent: AtomicU64,
    timeout: Duration,
    /// Servers that did not answer, and until when they are skipped.
    dead: Mutex<HashMap<SocketAddr, Instant>>,
}

/// How long a server that did not answer is skipped (then it is tried again).
const DEAD_FOR: Duration = Duration::from_secs(30);

/// Most attempts spent on one question, whatever the number of server addresses.
const MAX_ATTEMPTS: usize = 6;
/// The EDNS0 payload size advertised (DNS flag day 2020).
const PAYLOAD: u16 = 1232;

impl Transport {
    /// A transport with a per-attempt `timeout` and at most `concurrency` queries in flight.
    pub fn new(timeout: Duration, concurrency: usize) -> Transport {
        Transport {
            sem: Semaphore::new(concurrency.max(1)),
            sent: AtomicU64::new(0),
            timeout,
            dead: Mutex::new(HashMap::new()),
        }
    }

    /// Number of DNS messages sent so far (UDP and TCP).
    pub fn queries_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Ask `servers` (in order, going round at most a bounded number of attempts) until one
    /// gives an answer with rcode NOERROR or NXDOMAIN.
    pub async fn query(
        &self,
        servers: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
        mode: Mode,
    ) -> Result<Message, QueryError> {
        let fail = |why: String| QueryError {
            name: name.clone(),
            rtype,
            servers: servers.to_vec(),
            why,
        };
        if servers.is_empty() {
            return Err(fail("no server address known".into()));
        }
        // A server that did not answer a moment ago is skipped, so a dead server costs its
        // timeout once per run, not once per question.
        let now = Instant::now();
        let live: Vec<SocketAddr> = {
            let dead = self.dead();
            servers
                .iter()
                .copied()
                .filter(|s| dead.get(s).is_none_or(|until| *until <= now))
                .collect()
        };
        if live.is_empty() {
            return Err(fail(format!(
                "did not answer earlier in this run (skipped for {} s)",
                DEAD_FOR.as_secs()
            )));
        }
        let attempts = live.len().clamp(2, MAX_ATTEMPTS);
        let mut why = String::new();
        for i in 0..attempts {
            let server = live[i % live.len()];
            match self.query_one(server, name, rtype, mode).await {
                Ok(msg) => {
                    // It answers: whatever an earlier attempt saw (one lost datagram), it is
                    // not skipped any more.
                    self.dead().remove(&server);
                    match msg.metadata.response_code {
                        ResponseCode::NoError | ResponseCode::NXDomain => return Ok(msg),
                        rc => why = format!("{server} answered {rc}"),
                    }
                }
                Err(e) => {
                    why = format!("{server}: {e}");
                    self.dead().insert(server, Instant::now() + DEAD_FOR);
                }
            }
        }
        Err(fail(why))
    }

    /// The servers that did not answer (a panic elsewhere leaves the map usable).
    fn dead(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Instant>> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One question to one server: UDP, then TCP if the answer is truncated.
    pub async fn query_one(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        mode: Mode,
    ) -> Result<Message, String> {
        let _permit = self
            .sem
            .acquire()
            .await
            .map_err(|_| "transport closed".to_string())?;
        let request = build(name, rtype, mode);
        let bytes = request
            .to_vec()
            .map_err(|e| format!("cannot encode: {e}"))?;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let answer = tokio::time::timeout(self.timeout, udp(server, &bytes, &request))
            .await
            .map_err(|_| format!("timed out after {} ms", self.timeout.as_millis()))??;
        if !answer.metadata.truncation {
            return Ok(answer);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        tokio::time::timeout(self.timeout, tcp(server, &bytes, &request))
            .await
            .map_err(|_| format!("timed out over TCP after {} ms", self.timeout.as_millis()))?
    }
}

fn build(name: &Name, rtype: RecordType, mode: Mode) -> Message {
    let mut msg = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name.clone(), rtype));
    msg.metadata.recursion_desired = mode == Mode::Resolver;
    msg.metadata.checking_disabled = mode == Mode::Resolver;
    let mut edns = Edns::new();
    edns.set_max_payload(PAYLOAD);
    edns.set_dnssec_ok(true);
    msg.set_edns(edns);
    msg
}

/// A random DNS message id.
pub(crate) fn rand_id() -> u16 {
    let mut b = [0u8; 2];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    u16::from_be_bytes(b)
}

/// Whether `answer` is the response to `request`: same id, a response, same question.
fn matches(request: &Message, answer: &Message) -> bool {
    answer.metadata.id == request.metadata.id
        && answer.metadata.message_type == MessageType::Response
        && answer.queries.len() == 1
        && answer.queries[0].name() == request.queries[0].name()
        && answer.queries[0].query_type() == request.queries[0].query_type()
        && answer.queries[0].query_class() == request.queries[0].query_class()
}

/// One query over UDP. Each query gets its own socket on purpose: a fresh OS-chosen source
/// port per question, besides the random id, is what makes forged answers hard to land
/// (RFC 5452 section 9.2); reusing sockets would save a few system calls per query.
async fn udp(server: SocketAddr, bytes: &[u8], request: &Message) -> Result<Message, String> {
    let local: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let sock = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("cannot open UDP socket: {e}"))?;
    sock.connect(server)
        .await
        .map_err(|e| format!("cannot reach: {e}"))?;
    sock.send(bytes).await.map_err(|e| format!("send: {e}"))?;
    // Room for the largest datagram, not zeroed first (recv_buf fills spare capacity).
    let mut buf: Vec<u8> = Vec::with_capacity(65535);
    loop {
        buf.clear();
        sock.recv_buf(&mut buf)
            .await
            .map_err(|e| format!("receive: {e}"))?;
        // Anything that does not decode or does not match is ignored (spoofing, stray packets).
        if let Ok(msg) = Message::from_vec(&buf) {
            if matches(request, &msg) {
                return Ok(msg);
            }
        }
    }
}

async fn tcp(server: SocketAddr, bytes: &[u8], request: &Message) -> Result<Message, String> {
    let buf = tcp_exchange(server, bytes)
        .await
        .map_err(|e| format!("over TCP: {e}"))?;
    let msg = Message::from_vec(&buf).map_err(|e| format!("malformed answer over TCP: {e}"))?;
    if !matches(request, &msg) {
        return Err("TCP answer does not match the question".into());
    }
    Ok(msg)
}

/// One DNS-over-TCP exchange (RFC 7766: two-byte length prefix): the answer's bytes.
pub(crate) async fn tcp_exchange(server: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(query.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "message too long"))?;
    let mut out = Vec::with_capacity(query.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(query);
    stream.write_all(&out).await?;
    let mut lenbuf = [0u8; 2];
    stream.read_exact(&mut lenbuf).await?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(lenbuf))];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that drops the first datagram it gets and answers every later one (empty
    /// NOERROR): one lost packet.
    async fn drops_first() -> SocketAddr {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut seen = 0;
            loop {
                let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                seen += 1;
                if seen == 1 {
                    continue;
                }
                let request = Message::from_vec(&buf[..n]).unwrap();
                let mut answer =
                    Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
                answer.add_query(request.queries[0].clone());
                let _ = sock.send_to(&answer.to_vec().unwrap(), from).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_server_that_answers_a_retry_is_not_skipped_afterwards() {
        let server = drops_first().await;
        let transport = Transport::new(Duration::from_millis(300), 4);
        let name = Name::from_ascii("example.").unwrap();
        // First attempt lost, second answered.
        transport
            .query(&[server], &name, RecordType::SOA, Mode::Resolver)
            .await
            .unwrap();
        assert_eq!(transport.queries_sent(), 2);
        // The server answered: the next question goes to it (no "did not answer earlier").
        transport
            .query(&[server], &name, RecordType::SOA, Mode::Resolver)
            .await
            .unwrap();
        assert_eq!(transport.queries_sent(), 3);
    }
}
