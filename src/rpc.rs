//! Phase 4: JSON-RPC 2.0 over HTTP/1.1 to the Autonity client, and the on-chain check
//! (blocks advance; the committee holds this node and every expected validator).
//!
//! Also the Solidity ABI encoding of `string[]` / `address[]` return values (`eth_call` to the
//! Autonity contract), shared with the stand-in.
//!
//! # Limitations
//! Plain `http://` only (no TLS): the RPC endpoint is expected on the node's host or a trusted
//! network. One request per connection (`Connection: close`). Enodes are compared by their
//! 128-hex node key only; IP, port and query parts may differ.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The Autonity contract's address (the same on every Autonity network).
pub const AUTONITY_CONTRACT: &str = "0xbd770416a3345f91e4b34576cb804a576fa48eb1";
/// Selector of `getCommitteeEnodes()`.
pub const SEL_GET_COMMITTEE_ENODES: [u8; 4] = [0xa8, 0xb2, 0x21, 0x6e];
/// Selector of `getValidators()`.
pub const SEL_GET_VALIDATORS: [u8; 4] = [0xb7, 0xab, 0x4d, 0xb5];

/// Why a JSON-RPC exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The URL is not `http://HOST:PORT[/PATH]`.
    #[error("RPC URL {url}: must be http://HOST:PORT[/PATH]")]
    Url {
        /// The URL given.
        url: String,
    },
    /// The TCP connection or the exchange failed.
    #[error("RPC {url}: {source}")]
    Io {
        /// The endpoint.
        url: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("RPC {url}: no answer within {secs} s")]
    Timeout {
        /// The endpoint.
        url: String,
        /// The timeout.
        secs: u64,
    },
    /// The answer is not an HTTP 200 with a JSON-RPC body.
    #[error("RPC {url} {method}: malformed answer ({what})")]
    Malformed {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
        /// What was wrong.
        what: &'static str,
    },
    /// The node answered with a JSON-RPC error.
    #[error("RPC {url} {method}: error {code}: {message}")]
    Remote {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
    },
}

/// A JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    url: String,
    host_port: String,
    path: String,
    timeout: Duration,
}

impl Client {
    /// A client for `http://HOST:PORT[/PATH]`, each call bounded by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Client, RpcError> {
        let bad = || RpcError::Url { url: url.into() };
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (host_port, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = host_port.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        Ok(Client {
            // Shown in messages and reports: a path (a webhook's often holds a token) is elided.
            url: match path {
                "/" => format!("http://{host_port}"),
                _ => format!("http://{host_port}/…"),
            },
            host_port: host_port.into(),
            path: path.into(),
            timeout,
        })
    }

    /// The endpoint's URL as shown: scheme, host and port, with `/…` for any path.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Call `method` with `params`; the `result` member of the answer.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let secs = self.timeout.as_secs().max(1);
        match tokio::time::timeout(self.timeout, self.exchange(method, params)).await {
            Ok(r) => r,
            Err(_) => Err(RpcError::Timeout {
                url: self.url.clone(),
                secs,
            }),
        }
    }

    async fn exchange(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let io = |source| RpcError::Io {
            url: self.url.clone(),
            source,
        };
        let malformed = |what| RpcError::Malformed {
            url: self.url.clone(),
            method: method.into(),
            what,
        };
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let (status, raw) = self.post(&body).await.map_err(io)?;
        if status != 200 {
            return Err(malformed("HTTP status is not 200"));
        }
        let answer: Value =
            serde_json::from_slice(&raw).map_err(|_| malformed("body is not JSON"))?;
        if let Some(err) = answer.get("error") {
            return Err(RpcError::Remote {
                url: self.url.clone(),
                method: method.into(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| malformed("no result"))
    }

    /// POST a JSON body; the HTTP status and the response body.
    async fn post(&self, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let mut stream = TcpStream::connect(&self.host_port).await?;
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.path,
            self.host_port,
            body.len(),
            body
        );
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        let bad =
            || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP/1.1 response");
        let split = find(&raw, b"\r\n\r\n").ok_or_else(bad)?;
        let head = String::from_utf8_lossy(&raw[..split]);
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        Ok((status, raw[split + 4..].to_vec()))
    }

    /// POST `body` (JSON) to this URL as a webhook; `Ok` on any 2xx status.
    pub async fn webhook(&self, body: &str) -> Result<(), RpcError> {
        let io = |source| RpcError::Io {
            url: self.url.clone(),
            source,
        };
        let fut = self.post(body);
        let (status, _) = match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r.map_err(io)?,
            Err(_) => {
                return Err(RpcError::Timeout {
                    url: self.url.clone(),
                    secs: self.timeout.as_secs().max(1),
                })
            }
        };
        if !(200..300).contains(&status) {
            return Err(RpcError::Malformed {
                url: self.url.clone(),
                method: "webhook POST".into(),
                what: "HTTP status is not 2xx",
            });
        }
        Ok(())
    }

    /// `eth_blockNumber` as a number.
    pub async fn block_number(&self) -> Result<u64, RpcError> {
        let v = self.call("eth_blockNumber", json!([])).await?;
        v.as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| RpcError::Malformed {
                url: self.url.clone(),
                method: "eth_blockNumber".into(),
                what: "result is not a 0x quantity",
            })
    }

    /// The committee's enode URLs: `aut_getCommitteeEnodes`, or `eth_call getCommitteeEnodes()`
    /// to the Autonity contract when the node does not offer the `aut` API.
    pub async fn committee_enodes(&self) -> Result<Vec<String>, RpcError> {
        let malformed = |method: &str, what| RpcError::Malformed {
            url: self.url.clone(),
            method: method.into(),
            what,
        };
        match self.call("aut_getCommitteeEnodes", json!([])).await {
            Ok(v) => {
                let list = v
                    .as_array()
                    .ok_or_else(|| malformed("aut_getCommitteeEnodes", "not an array"))?;
                list.iter()
                    .map(|e| {
                        e.as_str()
                            .map(String::from)
                            .ok_or_else(|| malformed("aut_getCommitteeEnodes", "not strings"))
                    })
                    .collect()
            }
            Err(RpcError::Remote { .. }) | Err(RpcError::Malformed { .. }) => {
                let data = format!("0x{}", hex::encode(SEL_GET_COMMITTEE_ENODES));
                let v = self
                    .call(
                        "eth_call",
                        json!([{"to": AUTONITY_CONTRACT, "data": data}, "latest"]),
                    )
                    .await?;
                let bytes = v
                    .as_str()
                    .and_then(|s| s.strip_prefix("0x"))
                    .and_then(|h| hex::decode(h).ok())
                    .ok_or_else(|| malformed("eth_call", "result is not 0x hex"))?;
                decode_string_array(&bytes)
                    .ok_or_else(|| malformed("eth_call", "not an ABI-encoded string[]"))
            }
            Err(e) => Err(e),
        }
    }

    /// This node's enode URL (`admin_nodeInfo.enode`).
    pub async fn own_enode(&self) -> Result<String, RpcError> {
        let v = self.call("admin_nodeInfo", json!([])).await?;
        v.get("enode")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| RpcError::Malformed {
                url: self.url.clone(),
                method: "admin_nodeInfo".into(),
                what: "no enode",
            })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The 128-hex node key of an enode URL (lowercase), if it has one.
pub fn enode_key(enode: &str) -> Option<String> {
    let rest = enode.strip_prefix("enode://")?;
    let key = rest.split('@').next()?;
    (key.len() == 128 && key.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| key.to_ascii_lowercase())
}

fn word(n: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(n as u64).to_be_bytes());
    w
}

/// ABI-encode a `string[]` return value (one dynamic value: offset, length, heads, tails).
pub fn encode_string_array(items: &[String]) -> Vec<u8> {
    let mut out = word(32).to_vec();
    out.extend_from_slice(&word(items.len()));
    let mut tails = Vec::new();
    let heads_len = 32 * items.len();
    for s in items {
        out.extend_from_slice(&word(heads_len + tails.len()));
        tails.extend_from_slice(&word(s.len()));
        tails.extend_from_slice(s.as_bytes());
        let pad = (32 - s.len() % 32) % 32;
        tails.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend_from_slice(&tails);
    out
}

/// ABI-encode an `address[]` return value.
pub fn encode_address_array(items: &[[u8; 20]]) -> Vec<u8> {
    let mut out = word(32).to_vec();
    out.extend_from_slice(&word(items.len()));
    for a in items {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(a);
        out.extend_from_slice(&w);
    }
    out
}

fn read_word(data: &[u8], at: usize) -> Option<usize> {
    let w = data.get(at..at.checked_add(32)?)?;
    if w[..24].iter().any(|&b| b != 0) {
        return None;
    }
    usize::try_from(u64::from_be_bytes(w[24..].try_into().ok()?)).ok()
}

/// Decode a `string[]` return value; `None` when the bytes are not a well-formed encoding.
pub fn decode_string_array(data: &[u8]) -> Option<Vec<String>> {
    let base = read_word(data, 0)?;
    let n = read_word(data, base)?;
    let heads = base.checked_add(32)?;
    if n > data.len() / 32 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let off = heads.checked_add(read_word(data, heads + 32 * i)?)?;
        let len = read_word(data, off)?;
        let start = off.checked_add(32)?;
        let bytes = data.get(start..start.checked_add(len)?)?;
        out.push(String::from_utf8(bytes.to_vec()).ok()?);
    }
    Some(out)
}

/// Who the committee is expected to contain.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// This node's enode key (128 hex), when known from its key files.
    pub own_key: Option<String>,
    /// Every validator expected in the committee: (name, 128-hex key).
    pub validators: Vec<(String, String)>,
}

/// JSON schema name of [`CheckReport`].
pub const CHECK_SCHEMA: &str = "dnsceremony.check/v1";

/// The outcome of one check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckReport {
    /// Always [`CHECK_SCHEMA`].
    pub schema: &'static str,
    /// The RPC endpoint.
    pub rpc: String,
    /// Block number at the start of the window.
    pub block_start: u64,
    /// Block number at the end (as soon as it moved, or when the window closed).
    pub block_end: u64,
    /// Whether the chain advanced within the window.
    pub advancing: bool,
    /// This node's enode key.
    pub own_key: String,
    /// Whether this node is in the committee.
    pub own_in_committee: bool,
    /// Enode keys in the committee, sorted.
    pub committee: Vec<String>,
    /// Expected validators (names) missing from the committee; `this node` for ourselves.
    pub missing: Vec<String>,
    /// Whether everything is as expected.
    pub ok: bool,
}

impl CheckReport {
    /// A one-line description of what is wrong (empty when ok).
    pub fn problem(&self) -> String {
        let mut parts = Vec::new();
        if !self.advancing {
            parts.push(format!(
                "blocks do not advance (still at {})",
                self.block_end
            ));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "missing from the committee: {}",
                self.missing.join(", ")
            ));
        }
        parts.join("; ")
    }
}

/// Check once: blocks advance within `window` and the committee holds this node and every
/// expected validator.
pub async fn check(
    client: &Client,
    expect: &Expectation,
    window: Duration,
) -> Result<CheckReport, RpcError> {
    let own_key = match &expect.own_key {
        Some(k) => k.to_ascii_lowercase(),
        None => {
            let enode = client.own_enode().await?;
            enode_key(&enode).ok_or_else(|| RpcError::Malformed {
                url: client.url().into(),
                method: "admin_nodeInfo".into(),
                what: "enode has no 128-hex key",
            })?
        }
    };
    let start = Instant::now();
    let block_start = client.block_number().await?;
    let mut block_end = block_start;
    let step = (window / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
    while block_end <= block_start && start.elapsed() < window {
        tokio::time::sleep(step.min(window.saturating_sub(start.elapsed()))).await;
        block_end = client.block_number().await?;
    }
    let committee: BTreeSet<String> = client
        .committee_enodes()
        .await?
        .iter()
        .filter_map(|e| enode_key(e))
        .collect();
    let own_in_committee = committee.contains(&own_key);
    let mut missing = Vec::new();
    if !own_in_committee {
        missing.push("this node".to_string());
    }
    for (name, key) in &expect.validators {
        let key = key.to_ascii_lowercase();
        if !committee.contains(&key) && key != own_key {
            missing.push(name.clone());
        }
    }
    let advancing = block_end > block_start;
    Ok(CheckReport {
        schema: CHECK_SCHEMA,
        rpc: client.url().into(),
        block_start,
        block_end,
        advancing,
        own_key,
        own_in_committee,
        committee: committee.into_iter().collect(),
        ok: advancing && missing.is_empty(),
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_path_is_never_shown() {
        // A webhook's path often holds its token: messages show host and port only.
        let c = Client::new(
            "http://127.0.0.1:9/hooks/s3cr3t",
            Duration::from_millis(200),
        )
        .unwrap();
        assert_eq!(c.url(), "http://127.0.0.1:9/…");
        let e = c.webhook("{}").await.unwrap_err().to_string();
        assert!(e.starts_with("RPC http://127.0.0.1:9/…"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let c = Client::new("http://127.0.0.1:8545", Duration::from_millis(200)).unwrap();
        assert_eq!(c.url(), "http://127.0.0.1:8545");
    }

    #[test]
    fn string_array_round_trips() {
        for items in [
            vec![],
            vec!["".to_string()],
            vec!["a".to_string(), "x".repeat(32), "y".repeat(200)],
        ] {
            let enc = encode_string_array(&items);
            assert_eq!(enc.len() % 32, 0);
            assert_eq!(decode_string_array(&enc), Some(items));
        }
    }

    #[test]
    fn string_array_matches_solidity_layout() {
        // ["ab"]: offset 0x20, length 1, head 0x20, string length 2, "ab" padded.
        let enc = encode_string_array(&["ab".to_string()]);
        assert_eq!(enc.len(), 5 * 32);
        assert_eq!(enc[31], 0x20);
        assert_eq!(enc[63], 1);
        assert_eq!(enc[95], 0x20);
        assert_eq!(enc[127], 2);
        assert_eq!(&enc[128..130], b"ab");
        assert!(enc[130..].iter().all(|&b| b == 0));
    }

    #[test]
    fn refuses_truncated_encodings() {
        let enc = encode_string_array(&["hello".to_string(), "world".to_string()]);
        for cut in [0, 31, 64, 100, enc.len() - 32] {
            assert_eq!(decode_string_array(&enc[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn enode_keys_compare_by_key_only() {
        let k = "ab".repeat(64);
        assert_eq!(
            enode_key(&format!("enode://{k}@1.2.3.4:30303?discport=0")),
            Some(k.clone())
        );
        assert_eq!(
            enode_key(&format!("enode://{}@[::1]:1", k.to_uppercase())),
            Some(k)
        );
        assert_eq!(enode_key("enode://abcd@1.2.3.4:1"), None);
    }

    #[test]
    fn urls() {
        assert!(Client::new("http://127.0.0.1:8545", Duration::from_secs(1)).is_ok());
        assert!(Client::new("https://127.0.0.1:8545", Duration::from_secs(1)).is_err());
        assert!(Client::new("http://127.0.0.1", Duration::from_secs(1)).is_err());
    }
}
