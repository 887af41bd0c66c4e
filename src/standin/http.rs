//! JSON-RPC over HTTP/1.1 as the client's Go server answers it: keep-alive (several requests
//! per connection until the client closes it or sends `Connection: close`), a response body of
//! at most 2,048 bytes with `Content-Length` and a larger one `Transfer-Encoding: chunked` (Go's
//! `bufferBeforeChunkingSize`), headers `Content-Type: application/json` and `Date`; the
//! body is the JSON answer and a newline (Go's `json.Encoder`). Also the client's request
//! checks: only the root path (404), `PUT`/`DELETE` refused (405), bodies over 5 MiB (413), a
//! JSON content type (415), the virtual host (`--http.vhosts`, default `localhost`; addresses
//! always pass) (403), and an empty `GET` answered 200 for health checks. Batches are answered
//! as batches.
//!
//! # Limitations
//! A request is read whole before it is answered; requests arrive one after another on a
//! connection (no pipelining beyond reading what was sent). Idle connections close after 120 s
//! (the client's `IdleTimeout`), a request must arrive within 30 s.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::answers;
use super::chain::http_date;
use super::Node;

/// Go's `bufferBeforeChunkingSize`: larger bodies are sent chunked.
pub const CHUNKING_THRESHOLD: usize = 2048;
/// The client's `maxRequestContentLength`.
const MAX_REQUEST: usize = 5 * 1024 * 1024;
const MAX_HEAD: usize = 1 << 20;
const IDLE: Duration = Duration::from_secs(120);
const READ: Duration = Duration::from_secs(30);

/// Serve `listener` until the task is dropped.
pub async fn serve(node: Arc<Node>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let node = node.clone();
        tokio::spawn(async move {
            let _ = connection(&node, stream).await;
        });
    }
}

/// One parsed request.
#[derive(Debug)]
struct Request {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection ends after this exchange.
    fn closes(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.http10 {
            !conn.contains("keep-alive")
        } else {
            conn.split(',').any(|t| t.trim() == "close")
        }
    }
}

enum ReadError {
    /// The peer closed (or went idle) between requests: end quietly.
    Closed,
    /// A malformed request: answer 400 and close.
    Bad,
    /// A body beyond the limit: 413 and close.
    TooLarge(usize),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    let mut chunk = [0u8; 16 * 1024];
    match tokio::time::timeout(READ, stream.read(&mut chunk)).await {
        Ok(Ok(0)) | Ok(Err(_)) | Err(_) => Err(ReadError::Closed),
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

/// Read one request from `stream`, `buf` holding what was read ahead.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, ReadError> {
    // Wait for the first byte up to the idle timeout.
    if buf.is_empty() {
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(IDLE, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return Err(ReadError::Closed),
        }
    }
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad);
        }
        fill(stream, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (first.next(), first.next(), first.next(), first.next())
    else {
        return Err(ReadError::Bad);
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(ReadError::Bad);
    }
    let mut headers = Vec::new();
    for line in lines {
        let (n, v) = line.split_once(':').ok_or(ReadError::Bad)?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let mut req = Request {
        method: method.to_string(),
        target: target.to_string(),
        http10: version == "HTTP/1.0",
        headers,
        body: Vec::new(),
    };
    buf.drain(..head_end + 4);
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                fill(stream, buf).await?;
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size_hex = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| ReadError::Bad)?;
            if req.body.len() + size > MAX_REQUEST {
                return Err(ReadError::TooLarge(req.body.len() + size));
            }
            while buf.len() < line_end + 2 + size + 2 {
                fill(stream, buf).await?;
            }
            req.body
                .extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
            buf.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| ReadError::Bad)?;
        if len > MAX_REQUEST {
            return Err(ReadError::TooLarge(len));
        }
        while buf.len() < len {
            fill(stream, buf).await?;
        }
        req.body = buf.drain(..len).collect();
    }
    Ok(req)
}

/// A response as Go's server writes it: handler headers (sorted), then `Date`,
/// `Content-Length`, `Connection`, `Transfer-Encoding` (checked against the 0.14.0 client).
pub fn response(
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    close: bool,
    http10: bool,
) -> Vec<u8> {
    // HTTP/1.0 has no chunking: a large body is delimited by the end of the connection.
    let large = body.len() > CHUNKING_THRESHOLD;
    let chunked = large && !http10;
    let mut out = format!("HTTP/1.{} {status}\r\n", if http10 { 0 } else { 1 });
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("Date: {}\r\n", http_date(SystemTime::now())));
    if !large {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close && !http10 {
        out.push_str("Connection: close\r\n");
    }
    if chunked {
        out.push_str("Transfer-Encoding: chunked\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if chunked {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
    } else {
        out.extend_from_slice(body);
    }
    out
}

/// Go's `http.Error`.
fn error_response(status: &str, message: &str, close: bool, http10: bool) -> Vec<u8> {
    response(
        status,
        &[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("X-Content-Type-Options", "nosniff"),
        ],
        format!("{message}\n").as_bytes(),
        close,
        http10,
    )
}

/// Whether the `Host` header passes the client's virtual-host check.
fn host_allowed(vhosts: &[String], host: Option<&str>) -> bool {
    let Some(host) = host else {
        return true;
    };
    let name = match host.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = name.to_ascii_lowercase();
    vhosts.iter().any(|v| v == "*" || *v == name)
}

async fn connection(node: &Node, mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(r) => r,
            Err(ReadError::Closed) => return Ok(()),
            Err(ReadError::Bad) => {
                stream
                    .write_all(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request",
                    )
                    .await?;
                return stream.shutdown().await;
            }
            Err(ReadError::TooLarge(n)) => {
                let msg = format!("content length too large ({n}>{MAX_REQUEST})");
                let out = error_response("413 Request Entity Too Large", &msg, true, false);
                stream.write_all(&out).await?;
                return stream.shutdown().await;
            }
        };
        // An HTTP/1.0 exchange ends the connection (a large body is delimited by it).
        let close = req.closes() || req.http10;
        let out = handle(node, &req, close);
        stream.write_all(&out).await?;
        if close {
            return stream.shutdown().await;
        }
    }
}

fn handle(node: &Node, req: &Request, close: bool) -> Vec<u8> {
    let http10 = req.http10;
    let path = req.target.split('?').next().unwrap_or("");
    if !host_allowed(&node.config().http_vhosts, req.header("host")) {
        return error_response("403 Forbidden", "invalid host specified", close, http10);
    }
    if path != "/" {
        return response("404 Not Found", &[], b"", close, http10);
    }
    if req.method == "GET" && req.body.is_empty() && !req.target.contains('?') {
        return response("200 OK", &[], b"", close, http10);
    }
    if matches!(req.method.as_str(), "PUT" | "DELETE") {
        return error_response(
            "405 Method Not Allowed",
            "method not allowed",
            close,
            http10,
        );
    }
    if req.method == "OPTIONS" {
        return response("200 OK", &[], b"", close, http10);
    }
    let media = req
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        media.as_str(),
        "application/json" | "application/json-rpc" | "application/jsonrequest"
    ) {
        return error_response(
            "415 Unsupported Media Type",
            "invalid content type, only application/json is supported",
            close,
            http10,
        );
    }
    let mut body = rpc_body(node, &req.body);
    body.push('\n');
    response(
        "200 OK",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
        close,
        http10,
    )
}

fn envelope(id: &Value, outcome: Result<String, answers::RpcError>) -> String {
    let id = id.to_string();
    match outcome {
        Ok(result) => format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#),
        Err(e) => format!(
            r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{},"message":{}}}}}"#,
            e.code,
            Value::String(e.message)
        ),
    }
}

fn one(node: &Node, msg: &Value) -> String {
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = msg.get("method").and_then(Value::as_str) else {
        return envelope(
            &id,
            Err(answers::RpcError {
                code: -32600,
                message: "invalid request".into(),
            }),
        );
    };
    let params = msg
        .get("params")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    envelope(&id, answers::answer(node, method, &params))
}

/// The answer to one HTTP body: a single call or a batch (without the trailing newline).
pub fn rpc_body(node: &Node, body: &[u8]) -> String {
    let parse_error = || {
        envelope(
            &Value::Null,
            Err(answers::RpcError {
                code: -32700,
                message: "parse error".into(),
            }),
        )
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(calls)) if calls.is_empty() => envelope(
            &Value::Null,
            Err(answers::RpcError {
                code: -32600,
                message: "empty batch".into(),
            }),
        ),
        Ok(Value::Array(calls)) => {
            let parts: Vec<String> = calls.iter().map(|c| one(node, c)).collect();
            format!("[{}]", parts.join(","))
        }
        Ok(msg @ Value::Object(_)) => one(node, &msg),
        _ => parse_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_follows_gos_threshold() {
        let small = response(
            "200 OK",
            &[("Content-Type", "application/json")],
            &[b'x'; 2048],
            false,
            false,
        );
        let text = String::from_utf8_lossy(&small);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: "));
        assert!(text.contains("\r\nContent-Length: 2048\r\n\r\n"));
        let big = response("200 OK", &[], &[b'x'; 2049], true, false);
        let text = String::from_utf8_lossy(&big);
        assert!(text.contains("\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n801\r\n"));
        assert!(text.ends_with("x\r\n0\r\n\r\n"));
        assert!(!text.contains("Content-Length"));
        // HTTP/1.0, as the client answers it: no chunking, the body ends with the connection.
        let old = response("200 OK", &[], &[b'x'; 2049], true, true);
        let text = String::from_utf8_lossy(&old);
        assert!(text.starts_with("HTTP/1.0 200 OK\r\nDate: "), "{text}");
        assert!(!text.contains("Content-Length") && !text.contains("chunked"));
        assert!(!text.contains("Connection"));
    }

    #[test]
    fn virtual_hosts_as_the_client_checks_them() {
        let v = vec!["localhost".to_string()];
        assert!(host_allowed(&v, Some("127.0.0.1:8545")));
        assert!(host_allowed(&v, Some("[::1]:8545")));
        assert!(host_allowed(&v, Some("LocalHost:8545")));
        assert!(!host_allowed(&v, Some("node1.example:8545")));
        assert!(host_allowed(&["*".to_string()], Some("node1.example")));
    }
}
