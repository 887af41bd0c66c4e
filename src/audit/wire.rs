//! Asking one authoritative server one question: UDP with EDNS0 and the DO bit (RFC 3225),
//! TCP when the answer is truncated (RFC 7766), RD clear, with a timeout and a query counter.
//!
//! # Limitations
//! One attempt over UDP plus one retry; no cookies, no TSIG. Meant for the audit's direct
//! questions to authoritative servers, not for resolution.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why a server gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// No answer within the timeout (after the retry).
    #[error("no answer within {0} ms")]
    Timeout(u128),
    /// The socket failed.
    #[error("network: {0}")]
    Io(String),
    /// The answer could not be parsed or did not match the question.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// Sends queries and counts them.
#[derive(Debug)]
pub struct Wire {
    /// Time to wait for one answer.
    pub timeout: Duration,
    sent: AtomicU64,
}

impl Wire {
    /// A sender waiting `timeout` per attempt.
    pub fn new(timeout: Duration) -> Wire {
        Wire {
            timeout,
            sent: AtomicU64::new(0),
        }
    }

    /// Queries sent so far (UDP and TCP attempts).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Ask `server` for `name`/`rtype` with DO set and RD clear; the answer's rcode is the
    /// caller's to judge.
    pub async fn ask(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Message, WireError> {
        let mut msg = Message::query();
        msg.add_query(Query::query(name.clone(), rtype));
        msg.metadata.recursion_desired = false;
        let mut edns = Edns::new();
        edns.set_dnssec_ok(true);
        edns.set_max_payload(1232);
        msg.set_edns(edns);
        let id = msg.metadata.id;
        let bytes = msg
            .to_vec()
            .map_err(|e| WireError::Malformed(e.to_string()))?;
        let mut last = WireError::Timeout(self.timeout.as_millis());
        for _ in 0..2 {
            self.sent.fetch_add(1, Ordering::Relaxed);
            match tokio::time::timeout(self.timeout, udp(server, &bytes, id)).await {
                Ok(Ok(answer)) if answer.metadata.truncation => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                    return match tokio::time::timeout(self.timeout, tcp(server, &bytes, id)).await {
                        Ok(r) => r,
                        Err(_) => Err(WireError::Timeout(self.timeout.as_millis())),
                    };
                }
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(e @ WireError::Malformed(_))) => return Err(e),
                Ok(Err(e)) => last = e,
                Err(_) => last = WireError::Timeout(self.timeout.as_millis()),
            }
        }
        Err(last)
    }
}

async fn udp(server: SocketAddr, bytes: &[u8], id: u16) -> Result<Message, WireError> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| WireError::Io(e.to_string()))?;
    sock.connect(server)
        .await
        .map_err(|e| WireError::Io(e.to_string()))?;
    sock.send(bytes)
        .await
        .map_err(|e| WireError::Io(e.to_string()))?;
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = sock
            .recv(&mut buf)
            .await
            .map_err(|e| WireError::Io(e.to_string()))?;
        match Message::from_vec(&buf[..n]) {
            Ok(m) if m.metadata.id == id => return Ok(m),
            Ok(_) => continue,
            Err(e) => return Err(WireError::Malformed(e.to_string())),
        }
    }
}

async fn tcp(server: SocketAddr, bytes: &[u8], id: u16) -> Result<Message, WireError> {
    let io = |e: std::io::Error| WireError::Io(e.to_string());
    let mut stream = tokio::net::TcpStream::connect(server).await.map_err(io)?;
    let len =
        u16::try_from(bytes.len()).map_err(|_| WireError::Malformed("query too long".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(io)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.map_err(io)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await.map_err(io)?;
    let m = Message::from_vec(&buf).map_err(|e| WireError::Malformed(e.to_string()))?;
    if m.metadata.id != id {
        return Err(WireError::Malformed("answer id does not match".into()));
    }
    Ok(m)
}
