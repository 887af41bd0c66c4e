//! Phase 4: JSON-RPC 2.0 over HTTP to the Autonity client, and the on-chain check: blocks
//! advance, the committee holds this node and every expected validator, and block 0 (the
//! genesis block) is the one the other organisations' nodes report.
//!
//! - HTTP: `reqwest` (HTTP/1.1, keep-alive; bodies with `Content-Length` or chunked, as the
//!   client's Go server chunks any body over 2,048 bytes). Each call is bounded by a connect
//!   timeout ([`CONNECT_TIMEOUT`]) and a total timeout ([`CALL_TIMEOUT`] unless told), and its
//!   body is read chunk by chunk up to a size limit ([`BODY_LIMIT`]; `admin_nodeInfo` is about
//!   200 KB because it embeds the contract bytecode).
//! - JSON-RPC envelopes: `alloy-json-rpc` (`Request`, `Response`, `ErrorPayload`). One request
//!   per exchange, always id 1; the answer's id is checked.
//! - ABI: `alloy-sol-types` over the [`abi`] declarations of the contract functions called.
//!
//! The committee, per client generation ([`Format`]), as the real clients serve it:
//! - v1 (0.14 / 1.x): `aut_getCommitteeEnodes`; a node without the `aut` API (-32601) is asked
//!   `eth_call getCommitteeEnodes()` on the Autonity contract. Members are compared by enode key.
//! - v0.7: there is no `getCommitteeEnodes` (the method is -32601 and the contract's empty
//!   fallback answers the `eth_call` with `0x`). `aut_getCommittee` gives the members' addresses
//!   (keccak256(enode key)[12:]) and voting power, `aut_getWhitelist` every user's enode, which
//!   names them; each falls back to its `eth_call` like v1. Members are compared by address.
//! - unknown (no genesis or manifest given): v1 first; -32601 then `0x` means v0.7.
//!
//! # Limitations
//! - Plain `http://` only: reqwest is built without TLS, so no TLS stack is linked. The RPC
//!   endpoint is expected on the node's host or a trusted network; an `https` webhook needs a
//!   local relay. Proxy variables (`http_proxy`, ...) are ignored, redirects are not followed.
//! - Enodes are compared by their 128-hex node key only; IP, port and query parts may differ.
//! - v0.7: a committee member whose address matches no whitelist enode is known by address only.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use alloy_json_rpc::{Id, Request, Response, ResponsePayload};
use alloy_primitives::{Bytes, B256, U64};
use alloy_sol_types::SolCall;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::genesis::Format;
use crate::identity::Address;

/// The Autonity contract's address (the same on every Autonity network).
pub const AUTONITY_CONTRACT: &str = "0xbd770416a3345f91e4b34576cb804a576fa48eb1";
/// Selector of `getCommitteeEnodes()`.
pub const SEL_GET_COMMITTEE_ENODES: [u8; 4] = abi::v1::getCommitteeEnodesCall::SELECTOR;
/// Selector of `getValidators()`.
pub const SEL_GET_VALIDATORS: [u8; 4] = abi::v1::getValidatorsCall::SELECTOR;
/// Selector of `getCommittee()` (v0.7 layout in [`abi`]; the selector is the same in v1).
pub const SEL_GET_COMMITTEE: [u8; 4] = abi::v07::getCommitteeCall::SELECTOR;
/// Selector of `getWhitelist()` (v0.7).
pub const SEL_GET_WHITELIST: [u8; 4] = abi::v07::getWhitelistCall::SELECTOR;

/// Longest wait for the TCP connection of one call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default total time for one call (connect, send, the whole answer): ample for a 200 KB
/// `admin_nodeInfo` from a busy node.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest answer read (8 MiB); a larger one is refused.
pub const BODY_LIMIT: usize = 8 << 20;

/// The Autonity contract's view functions, as Solidity declarations: what Phase 4 decodes from
/// `eth_call` answers and what the stand-in encodes into its own, one declaration for both.
pub mod abi {
    /// Autonity v0.14 / 1.x.
    pub mod v1 {
        alloy_sol_types::sol! {
            /// One committee member.
            struct CommitteeMember { address addr; uint256 votingPower; bytes consensusKey; }
            /// The committee's enode URLs.
            function getCommitteeEnodes() external view returns (string[] memory);
            /// The committee.
            function getCommittee() external view returns (CommitteeMember[] memory);
            /// Every validator's address.
            function getValidators() external view returns (address[] memory);
            /// The largest committee.
            function getMaxCommitteeSize() external view returns (uint256);
            /// Blocks per epoch.
            function getEpochPeriod() external view returns (uint256);
            /// Seconds between blocks.
            function getBlockPeriod() external view returns (uint256);
            /// The governance operator.
            function getOperator() external view returns (address);
            /// The contract version.
            function getVersion() external view returns (uint256);
        }
    }
    /// Autonity v0.7 (legacy): no `getCommitteeEnodes()`; the committee is addresses.
    pub mod v07 {
        alloy_sol_types::sol! {
            /// One committee member.
            struct CommitteeMember { address addr; uint256 votingPower; }
            /// The committee.
            function getCommittee() external view returns (CommitteeMember[] memory);
            /// Every validator's address.
            function getValidators() external view returns (address[] memory);
            /// Every user's enode URL.
            function getWhitelist() external view returns (string[] memory);
            /// The largest committee.
            function getMaxCommitteeSize() external view returns (uint256);
            /// The contract version.
            function getVersion() external view returns (string memory);
            /// The minimum gas price.
            function getMinimumGasPrice() external view returns (uint256);
            /// The governance operator.
            function operatorAccount() external view returns (address);
        }
    }
}

/// Why a JSON-RPC exchange failed. Every message is one line naming the endpoint and, once a
/// call is under way, the method.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The URL is not `http://HOST:PORT[/PATH]`.
    #[error("RPC URL {url}: must be http://HOST:PORT[/PATH]")]
    Url {
        /// The URL given.
        url: String,
    },
    /// The connection or the exchange failed (refused, reset, not HTTP).
    #[error("RPC {url} {method}: {}", transport(.cause))]
    Transport {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
        /// What the HTTP client said (without the URL, whose path may hold a token). Its
        /// innermost cause is in the message, so it is not offered as the error's source.
        cause: reqwest::Error,
    },
    /// No complete answer in time.
    #[error("RPC {url} {method}: no answer within {secs} s")]
    Timeout {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
        /// The timeout.
        secs: u64,
    },
    /// The answer is larger than the limit.
    #[error("RPC {url} {method}: answer larger than {limit} bytes, refused")]
    TooLarge {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
        /// The limit.
        limit: usize,
    },
    /// The answer is not an HTTP 200 with a JSON-RPC body holding what the method returns.
    #[error("RPC {url} {method}: malformed answer ({what})")]
    Malformed {
        /// The endpoint.
        url: String,
        /// The method called.
        method: String,
        /// What was wrong.
        what: String,
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

impl RpcError {
    /// The node does not offer the method (-32601: unknown, or its API is not enabled).
    pub fn is_method_not_found(&self) -> bool {
        matches!(self, RpcError::Remote { code: -32601, .. })
    }
}

/// The innermost cause of a transport failure, in words.
fn transport(e: &reqwest::Error) -> String {
    let mut root: Option<&dyn std::error::Error> = None;
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        root = Some(cause);
        next = cause.source();
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "the exchange failed"
    };
    match root {
        Some(cause) => format!("{what} ({cause})"),
        None => format!("{what} ({e})"),
    }
}

/// At most 160 characters of a peer's text for a message.
fn clip(s: &str) -> String {
    match s.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A JSON-RPC endpoint (also used for webhook POSTs). Cheap to clone: clones share one
/// connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    url: String,
    target: reqwest::Url,
    http: reqwest::Client,
    timeout: Duration,
    limit: usize,
}

impl Client {
    /// A client for `http://HOST:PORT[/PATH]`, each call bounded by `timeout` in all (and
    /// by [`CONNECT_TIMEOUT`] to connect), answers by [`BODY_LIMIT`].
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
        let target = reqwest::Url::parse(url).map_err(|_| bad())?;
        let shown = match path {
            "/" => format!("http://{host_port}"),
            // Shown in messages and reports: a path (a webhook's often holds a token) is elided.
            _ => format!("http://{host_port}/…"),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            // Under the idle timeouts servers commonly use, so a pooled connection is not
            // closed by the node just as a request goes out on it.
            .pool_idle_timeout(Duration::from_secs(20))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| RpcError::Transport {
                url: shown.clone(),
                method: "(setting up the HTTP client)".into(),
                cause: source.without_url(),
            })?;
        Ok(Client {
            url: shown,
            target,
            http,
            timeout,
            limit: BODY_LIMIT,
        })
    }

    /// The same client with another answer size limit (bytes).
    pub fn with_limit(mut self, limit: usize) -> Client {
        self.limit = limit;
        self
    }

    /// The endpoint's URL as shown: scheme, host and port, with `/…` for any path.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn malformed(&self, method: &str, what: impl Into<String>) -> RpcError {
        RpcError::Malformed {
            url: self.url.clone(),
            method: method.into(),
            what: what.into(),
        }
    }

    /// POST `body` (JSON); the HTTP status and the whole answer, read up to the size limit.
    async fn post(&self, method: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), RpcError> {
        let fail = |source: reqwest::Error| {
            if source.is_timeout() {
                RpcError::Timeout {
                    url: self.url.clone(),
                    method: method.into(),
                    secs: self.timeout.as_secs().max(1),
                }
            } else {
                RpcError::Transport {
                    url: self.url.clone(),
                    method: method.into(),
                    cause: source.without_url(),
                }
            }
        };
        let too_large = || RpcError::TooLarge {
            url: self.url.clone(),
            method: method.into(),
            limit: self.limit,
        };
        let mut answer = self
            .http
            .post(self.target.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(self.timeout)
            .body(body)
            .send()
            .await
            .map_err(fail)?;
        if answer
            .content_length()
            .is_some_and(|n| n > self.limit as u64)
        {
            return Err(too_large());
        }
        let mut out = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(fail)? {
            if out.len() + chunk.len() > self.limit {
                return Err(too_large());
            }
            out.extend_from_slice(&chunk);
        }
        Ok((answer.status().as_u16(), out))
    }

    /// Call `method` with `params`; the `result` member of the answer.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.exchange(method, method, params, "JSON").await
    }

    /// Call `method` with `params`; its `result` read as `T` (`what` says what `T` is, for
    /// the message when it is not).
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        what: &str,
    ) -> Result<T, RpcError> {
        self.exchange(method, method, params, what).await
    }

    /// [`Client::call_as`], with `label` naming the call in errors (e.g. `eth_call
    /// getCommitteeEnodes()`).
    async fn exchange<T: DeserializeOwned>(
        &self,
        method: &str,
        label: &str,
        params: Value,
        what: &str,
    ) -> Result<T, RpcError> {
        let request = Request::new(method.to_string(), Id::Number(1), params);
        let body = serde_json::to_vec(&request)
            .map_err(|e| self.malformed(label, format!("request not serialisable: {e}")))?;
        let (status, raw) = self.post(label, body).await?;
        if status != 200 {
            return Err(self.malformed(label, format!("HTTP status {status}, not 200")));
        }
        let answer: Response = serde_json::from_slice(&raw).map_err(|e| {
            self.malformed(
                label,
                format!("not a JSON-RPC 2.0 response: {}", clip(&e.to_string())),
            )
        })?;
        if answer.id != Id::Number(1) {
            return Err(self.malformed(
                label,
                format!("answers request {}, not 1", clip(&answer.id.to_string())),
            ));
        }
        match answer.payload {
            ResponsePayload::Success(result) => serde_json::from_str(result.get()).map_err(|e| {
                self.malformed(
                    label,
                    format!("result is not {what}: {}", clip(&e.to_string())),
                )
            }),
            ResponsePayload::Failure(err) => Err(RpcError::Remote {
                url: self.url.clone(),
                method: label.into(),
                code: err.code,
                message: clip(&err.message),
            }),
        }
    }

    /// POST `body` (JSON) to this URL as a webhook; `Ok` on any 2xx status.
    pub async fn webhook(&self, body: &str) -> Result<(), RpcError> {
        let method = "webhook POST";
        let (status, _) = self.post(method, body.as_bytes().to_vec()).await?;
        if !(200..300).contains(&status) {
            return Err(self.malformed(method, format!("HTTP status {status}, not 2xx")));
        }
        Ok(())
    }

    /// `eth_blockNumber` as a number.
    pub async fn block_number(&self) -> Result<u64, RpcError> {
        let n: U64 = self
            .call_as("eth_blockNumber", json!([]), "a 0x quantity")
            .await?;
        Ok(n.to())
    }

    /// The hash of block 0, the genesis block (`eth_getBlockByNumber ["0x0", false]`
    /// `.hash`). It names the genesis file and the client version together: the contracts'
    /// bytecode is part of the genesis state.
    pub async fn block0_hash(&self) -> Result<[u8; 32], RpcError> {
        #[derive(Deserialize)]
        struct Block {
            hash: B256,
        }
        let method = "eth_getBlockByNumber";
        let block: Option<Block> = self
            .call_as(method, json!(["0x0", false]), "a block with a 32-byte hash")
            .await?;
        block
            .map(|b| b.hash.0)
            .ok_or_else(|| self.malformed(method, "no block 0 (result is null)"))
    }

    /// This node's enode URL (`admin_nodeInfo.enode`).
    pub async fn own_enode(&self) -> Result<String, RpcError> {
        #[derive(Deserialize)]
        struct NodeInfo {
            enode: String,
        }
        let info: NodeInfo = self
            .call_as(
                "admin_nodeInfo",
                json!([]),
                "node information with an enode",
            )
            .await?;
        Ok(info.enode)
    }

    /// `eth_call` of a function without arguments on the Autonity contract: its decoded
    /// return value, or `None` when the answer is empty (`0x`: the contract has no such
    /// function and its fallback answered).
    pub async fn contract_call<C: SolCall>(&self) -> Result<Option<C::Return>, RpcError> {
        let label = format!("eth_call {}", C::SIGNATURE);
        // A function without arguments is called with its selector alone.
        let data = Bytes::from(C::SELECTOR.to_vec());
        let out: Bytes = self
            .exchange(
                "eth_call",
                &label,
                json!([{"to": AUTONITY_CONTRACT, "data": data}, "latest"]),
                "0x hex data",
            )
            .await?;
        if out.is_empty() {
            return Ok(None);
        }
        C::abi_decode_returns_validate(&out).map(Some).map_err(|e| {
            self.malformed(
                &label,
                format!("not the ABI encoding of what {} returns: {e}", C::SIGNATURE),
            )
        })
    }

    /// `eth_call` that must not be empty.
    async fn contract_call_some<C: SolCall>(&self) -> Result<C::Return, RpcError> {
        self.contract_call::<C>().await?.ok_or_else(|| {
            self.malformed(
                &format!("eth_call {}", C::SIGNATURE),
                format!(
                    "empty answer (0x): the contract at {AUTONITY_CONTRACT} has no {}",
                    C::SIGNATURE
                ),
            )
        })
    }

    /// The committee, read the way the client generation `format` serves it (`None`: found
    /// out, v1 first; see the module documentation).
    pub async fn committee(&self, format: Option<Format>) -> Result<Committee, RpcError> {
        if format == Some(Format::V07) {
            return self.legacy_committee().await;
        }
        match self.v1_enodes().await? {
            Ok((enodes, source)) => self.v1_committee(&source, &enodes),
            Err(_) if format.is_none() => self.legacy_committee().await,
            Err(empty) => Err(empty),
        }
    }

    /// The committee's enode URLs as v1 serves them: `aut_getCommitteeEnodes`, or `eth_call
    /// getCommitteeEnodes()` when the node does not offer the `aut` API.
    pub async fn committee_enodes(&self) -> Result<Vec<String>, RpcError> {
        self.v1_enodes().await?.map(|(enodes, _)| enodes)
    }

    /// v1's committee enodes and the call that answered; the inner `Err` when the contract
    /// has no `getCommitteeEnodes()` (its answer is `0x`, as v0.7's is).
    async fn v1_enodes(&self) -> Result<Result<(Vec<String>, String), RpcError>, RpcError> {
        let method = "aut_getCommitteeEnodes";
        match self
            .call_as::<Vec<String>>(method, json!([]), "a list of enode URLs")
            .await
        {
            Ok(enodes) => return Ok(Ok((enodes, method.into()))),
            Err(e) if !e.is_method_not_found() => return Err(e),
            Err(_) => {}
        }
        let label = format!("eth_call {}", abi::v1::getCommitteeEnodesCall::SIGNATURE);
        Ok(match self.contract_call::<abi::v1::getCommitteeEnodesCall>().await? {
            Some(enodes) => Ok((enodes, label)),
            None => Err(self.malformed(
                &label,
                "empty answer (0x): the contract has no getCommitteeEnodes(), as in Autonity v0.7",
            )),
        })
    }

    fn v1_committee(&self, source: &str, enodes: &[String]) -> Result<Committee, RpcError> {
        let members = enodes
            .iter()
            .map(|e| {
                let key = enode_key(e).ok_or_else(|| {
                    self.malformed(source, format!("enode {} has no 128-hex key", clip(e)))
                })?;
                Ok(CommitteeMember {
                    address: key_address(&key).ok_or_else(|| {
                        self.malformed(source, format!("enode key {key} is not hex"))
                    })?,
                    key: Some(key),
                })
            })
            .collect::<Result<Vec<_>, RpcError>>()?;
        Ok(Committee {
            format: Format::V1,
            source: source.to_string(),
            members,
        })
    }

    /// v0.7: `aut_getCommittee` (addresses) named through `aut_getWhitelist` (enodes), each
    /// by `eth_call` when the `aut` API is off.
    async fn legacy_committee(&self) -> Result<Committee, RpcError> {
        #[derive(Deserialize)]
        struct Member {
            addr: alloy_primitives::Address,
        }
        let method = "aut_getCommittee";
        let (addresses, first): (Vec<Address>, String) = match self
            .call_as::<Vec<Member>>(method, json!([]), "a list of {addr, votingPower}")
            .await
        {
            Ok(list) => (
                list.iter().map(|m| Address(m.addr.into_array())).collect(),
                method.into(),
            ),
            Err(e) if e.is_method_not_found() => (
                self.contract_call_some::<abi::v07::getCommitteeCall>()
                    .await?
                    .iter()
                    .map(|m| Address(m.addr.into_array()))
                    .collect(),
                format!("eth_call {}", abi::v07::getCommitteeCall::SIGNATURE),
            ),
            Err(e) => return Err(e),
        };
        let method = "aut_getWhitelist";
        let (whitelist, second) = match self
            .call_as::<Vec<String>>(method, json!([]), "a list of enode URLs")
            .await
        {
            Ok(list) => (list, method.to_string()),
            Err(e) if e.is_method_not_found() => (
                self.contract_call_some::<abi::v07::getWhitelistCall>()
                    .await?,
                format!("eth_call {}", abi::v07::getWhitelistCall::SIGNATURE),
            ),
            Err(e) => return Err(e),
        };
        let mut named = BTreeMap::new();
        for e in &whitelist {
            let key = enode_key(e).ok_or_else(|| {
                self.malformed(&second, format!("enode {} has no 128-hex key", clip(e)))
            })?;
            let address = key_address(&key)
                .ok_or_else(|| self.malformed(&second, format!("enode key {key} is not hex")))?;
            named.insert(address, key);
        }
        Ok(Committee {
            format: Format::V07,
            source: format!("{first} + {second}"),
            members: addresses
                .into_iter()
                .map(|address| CommitteeMember {
                    address,
                    key: named.get(&address).cloned(),
                })
                .collect(),
        })
    }
}

/// One committee member as the node serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitteeMember {
    /// Its node address, keccak256(enode key)[12:].
    pub address: Address,
    /// Its enode key (128 lowercase hex) where the node names it: always in v1; in v0.7 when
    /// a whitelist enode has this address.
    pub key: Option<String>,
}

/// The committee as the node serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    /// Whose methods answered: v1 (compare by enode key) or v0.7 (compare by address).
    pub format: Format,
    /// The calls that answered, e.g. `aut_getCommitteeEnodes`.
    pub source: String,
    /// The members, in the node's order.
    pub members: Vec<CommitteeMember>,
}

impl Committee {
    /// Whether the validator with enode key `key` (128 hex) is a member: by key in v1, by
    /// address in v0.7.
    pub fn holds(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        match self.format {
            Format::V1 => self.members.iter().any(|m| m.key.as_ref() == Some(&key)),
            Format::V07 => {
                key_address(&key).is_some_and(|a| self.members.iter().any(|m| m.address == a))
            }
        }
    }
}

/// The 128-hex node key of an enode URL (lowercase), if it has one.
pub fn enode_key(enode: &str) -> Option<String> {
    let rest = enode.strip_prefix("enode://")?;
    let key = rest.split('@').next()?;
    (key.len() == 128 && key.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| key.to_ascii_lowercase())
}

/// The node address of a 128-hex enode key.
fn key_address(key: &str) -> Option<Address> {
    let bytes: [u8; 64] = hex::decode(key).ok()?.try_into().ok()?;
    Some(Address::from_public(&bytes))
}

/// What an organisation published as its node's block 0 (the `b=` of its genesis record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The block 0 hash its node reported.
    Block0([u8; 32]),
    /// Nothing yet (no record, a record without `b=`, or its servers did not answer).
    NotYet,
    /// A record that does not verify, or a lookup that is not secure.
    Invalid(String),
}

/// Who the committee is expected to contain, and what the other nodes report.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// This node's enode key (128 hex), when known from its key files.
    pub own_key: Option<String>,
    /// Every validator expected in the committee: (name, 128-hex key).
    pub validators: Vec<(String, String)>,
    /// The client generation (from the genesis or the manifest); `None`: found out.
    pub format: Option<Format>,
    /// Each organisation's published block 0: (organisation, what it published).
    pub block0: Vec<(String, Published)>,
}

/// JSON schema name of [`CheckReport`].
pub const CHECK_SCHEMA: &str = "dnsceremony.check/v1";

/// An organisation whose node reports another block 0 than this node.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Block0Mismatch {
    /// The organisation.
    pub org: String,
    /// The block 0 hash it published (`0x` + 64 hex).
    pub block0: String,
}

/// An organisation and what is wrong with what it published.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrgProblem {
    /// The organisation.
    pub org: String,
    /// What is wrong.
    pub why: String,
}

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
    /// Enode keys in the committee, sorted (v0.7: the members a whitelist enode names).
    pub committee: Vec<String>,
    /// Expected validators (names) missing from the committee; `this node` for ourselves.
    pub missing: Vec<String>,
    /// Whose committee methods answered: `v1` or `v0.7` (`null`: the committee is unreadable).
    pub profile: Option<&'static str>,
    /// Node addresses in the committee (`0x` + 40 hex), sorted.
    pub committee_addresses: Vec<String>,
    /// Why the committee could not be read.
    pub committee_error: Option<String>,
    /// This node's block 0 hash (`0x` + 64 hex).
    pub block0: Option<String>,
    /// Why this node's block 0 could not be read.
    pub block0_error: Option<String>,
    /// Organisations that published their node's block 0 (`b=`), sorted.
    pub block0_reported: Vec<String>,
    /// Organisations whose node reports another block 0 than this node: not the same chain.
    pub block0_mismatch: Vec<Block0Mismatch>,
    /// Organisations that have not published their node's block 0 yet (not an alarm).
    pub block0_not_reported: Vec<String>,
    /// Organisations whose genesis record does not verify.
    pub genesis_record_invalid: Vec<OrgProblem>,
    /// Whether everything is as expected.
    pub ok: bool,
}

fn hash_hex(h: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(h))
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
        if let Some(e) = &self.committee_error {
            parts.push(format!("committee unreadable: {e}"));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "missing from the committee: {}",
                self.missing.join(", ")
            ));
        }
        let ours = self.block0.as_deref().unwrap_or("?");
        for m in &self.block0_mismatch {
            parts.push(format!(
                "{}'s node reports block 0 {} but this node {ours}: not the same chain \
                 (another client version or genesis)",
                m.org, m.block0
            ));
        }
        if let (Some(e), false) = (&self.block0_error, self.block0_reported.is_empty()) {
            parts.push(format!(
                "block 0 unreadable, so it cannot be compared with {}'s: {e}",
                self.block0_reported.join(", ")
            ));
        }
        for p in &self.genesis_record_invalid {
            parts.push(format!("{}'s genesis record is unusable: {}", p.org, p.why));
        }
        parts.join("; ")
    }
}

/// Check once: blocks advance within `window`, the committee holds this node and every
/// expected validator, and every published block 0 is this node's. A committee or block 0
/// that cannot be read is part of the report, so a stalled chain is reported whatever else
/// fails; only a node that does not answer `eth_blockNumber` (or `admin_nodeInfo` when this
/// node's key is not given) is an error.
pub async fn check(
    client: &Client,
    expect: &Expectation,
    window: Duration,
) -> Result<CheckReport, RpcError> {
    let own_key = match &expect.own_key {
        Some(k) => k.to_ascii_lowercase(),
        None => {
            let enode = client.own_enode().await?;
            enode_key(&enode).ok_or_else(|| {
                client.malformed(
                    "admin_nodeInfo",
                    format!("enode {} has no 128-hex key", clip(&enode)),
                )
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
    let advancing = block_end > block_start;
    let block0 = client.block0_hash().await;
    let committee = client.committee(expect.format).await;

    let mut report = CheckReport {
        schema: CHECK_SCHEMA,
        rpc: client.url().into(),
        block_start,
        block_end,
        advancing,
        own_key,
        own_in_committee: false,
        committee: Vec::new(),
        missing: Vec::new(),
        profile: None,
        committee_addresses: Vec::new(),
        committee_error: None,
        block0: None,
        block0_error: None,
        block0_reported: Vec::new(),
        block0_mismatch: Vec::new(),
        block0_not_reported: Vec::new(),
        genesis_record_invalid: Vec::new(),
        ok: false,
    };
    match committee {
        Ok(c) => {
            report.own_in_committee = c.holds(&report.own_key);
            if !report.own_in_committee {
                report.missing.push("this node".to_string());
            }
            for (name, key) in &expect.validators {
                if !c.holds(key) && !key.eq_ignore_ascii_case(&report.own_key) {
                    report.missing.push(name.clone());
                }
            }
            report.profile = Some(match c.format {
                Format::V1 => "v1",
                Format::V07 => "v0.7",
            });
            report.committee = c
                .members
                .iter()
                .filter_map(|m| m.key.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            report.committee_addresses = c
                .members
                .iter()
                .map(|m| m.address.to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
        }
        Err(e) => report.committee_error = Some(e.to_string()),
    }
    let ours = match block0 {
        Ok(h) => {
            report.block0 = Some(hash_hex(&h));
            Some(h)
        }
        Err(e) => {
            report.block0_error = Some(e.to_string());
            None
        }
    };
    for (org, published) in &expect.block0 {
        match published {
            Published::Block0(theirs) => {
                report.block0_reported.push(org.clone());
                if ours.is_some_and(|o| o != *theirs) {
                    report.block0_mismatch.push(Block0Mismatch {
                        org: org.clone(),
                        block0: hash_hex(theirs),
                    });
                }
            }
            Published::NotYet => report.block0_not_reported.push(org.clone()),
            Published::Invalid(why) => report.genesis_record_invalid.push(OrgProblem {
                org: org.clone(),
                why: why.clone(),
            }),
        }
    }
    report.block0_reported.sort();
    report.block0_not_reported.sort();
    report.ok = report.problem().is_empty();
    Ok(report)
}

/// A JSON-RPC server for unit tests: answers each request with `answer(method, params)`
/// (`Ok(result)` or `Err((code, message))`), `Content-Length` framing, keep-alive.
#[cfg(test)]
pub(crate) mod fake {
    use std::sync::Arc;

    use serde_json::{json, Value};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    type Answer = dyn Fn(&str, &Value) -> Result<Value, (i64, String)> + Send + Sync;

    /// Start serving on 127.0.0.1; the URL. The server lives as long as the runtime.
    pub(crate) async fn serve(
        answer: impl Fn(&str, &Value) -> Result<Value, (i64, String)> + Send + Sync + 'static,
    ) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer: Arc<Answer> = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, answer.clone()));
            }
        });
        url
    }

    async fn connection(mut stream: TcpStream, answer: Arc<Answer>) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let (head_end, len) = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (i + 4, len);
                }
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            while buf.len() < head_end + len {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let request: Value =
                serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
            buf.drain(..head_end + len);
            let method = request["method"].as_str().unwrap_or("");
            let body = match answer(method, &request["params"]) {
                Ok(result) => json!({"jsonrpc": "2.0", "id": request["id"], "result": result}),
                Err((code, message)) => json!({"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": code, "message": message}}),
            }
            .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    /// The -32601 answer the client gives for a method it does not offer.
    pub(crate) fn not_found(method: &str) -> (i64, String) {
        (
            -32601,
            format!("the method {method} does not exist/is not available"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::SolValue;

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
        assert!(
            e.starts_with("RPC http://127.0.0.1:9/… webhook POST: "),
            "{e}"
        );
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let c = Client::new("http://127.0.0.1:8545", Duration::from_millis(200)).unwrap();
        assert_eq!(c.url(), "http://127.0.0.1:8545");
    }

    #[tokio::test]
    async fn a_silent_node_is_a_timeout_naming_the_method() {
        // Accepts the connection, reads the request, never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let c = Client::new(&url, Duration::from_millis(300)).unwrap();
        let started = Instant::now();
        let e = c.block_number().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            e.to_string(),
            format!("RPC {url} eth_blockNumber: no answer within 1 s")
        );
    }

    #[test]
    fn selectors_are_the_contracts() {
        // The selectors the Autonity contract answers to (keccak256 of the signature).
        assert_eq!(hex::encode(SEL_GET_COMMITTEE_ENODES), "a8b2216e");
        assert_eq!(hex::encode(SEL_GET_VALIDATORS), "b7ab4db5");
        assert_eq!(hex::encode(SEL_GET_COMMITTEE), "ab8f6ffe");
        assert_eq!(hex::encode(SEL_GET_WHITELIST), "d01f63f5");
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

    fn key(i: u8) -> String {
        format!("{:02x}", i).repeat(64)
    }

    fn enode(i: u8) -> String {
        format!("enode://{}@127.0.0.{i}:30303", key(i))
    }

    fn addr(i: u8) -> alloy_primitives::Address {
        alloy_primitives::Address::from(key_address(&key(i)).unwrap().0)
    }

    #[tokio::test]
    async fn a_stalled_chain_is_reported_with_an_unreadable_committee() {
        let url = fake::serve(|method, _| match method {
            "eth_blockNumber" => Ok(json!("0x8")),
            "eth_getBlockByNumber" => Ok(json!({"hash": format!("0x{}", "11".repeat(32))})),
            "aut_getCommitteeEnodes" => Err((-32000, "committee not available".into())),
            m => Err(fake::not_found(m)),
        })
        .await;
        let client = Client::new(&url, Duration::from_secs(5)).unwrap();
        let expect = Expectation {
            own_key: Some(key(1)),
            ..Expectation::default()
        };
        let r = check(&client, &expect, Duration::from_millis(300))
            .await
            .unwrap();
        assert!(!r.ok && !r.advancing);
        assert_eq!((r.block_start, r.block_end), (8, 8));
        let problem = r.problem();
        assert!(
            problem.starts_with("blocks do not advance (still at 8); committee unreadable: "),
            "{problem}"
        );
        assert!(
            problem.contains("aut_getCommitteeEnodes: error -32000: committee not available"),
            "{problem}"
        );
        assert_eq!(r.profile, None);
        // Not read, so nobody is said to be missing from it.
        assert!(r.missing.is_empty());
    }

    #[tokio::test]
    async fn v07_is_found_out_and_compared_by_address() {
        // A v0.7 node: no getCommitteeEnodes at all, the committee by address, the whitelist
        // with every user (5 is a participant, not in the committee).
        let url = fake::serve(|method, params| match method {
            "eth_blockNumber" => Ok(json!("0x1")),
            "eth_getBlockByNumber" => Ok(json!({"hash": format!("0x{}", "22".repeat(32))})),
            "eth_call" => {
                assert_eq!(params[0]["data"], "0xa8b2216e", "{params}");
                Ok(json!("0x"))
            }
            "aut_getCommittee" => Ok(json!([1u8, 2]
                .iter()
                .map(|&i| json!({"addr": addr(i), "votingPower": 50000}))
                .collect::<Vec<_>>())),
            "aut_getWhitelist" => Ok(json!([enode(1), enode(2), enode(5)])),
            m => Err(fake::not_found(m)),
        })
        .await;
        let client = Client::new(&url, Duration::from_secs(5)).unwrap();
        let c = client.committee(None).await.unwrap();
        assert_eq!(c.format, Format::V07);
        assert_eq!(c.source, "aut_getCommittee + aut_getWhitelist", "{c:?}");
        assert_eq!(
            c.members.iter().map(|m| m.key.clone()).collect::<Vec<_>>(),
            [Some(key(1)), Some(key(2))]
        );
        assert!(c.holds(&key(2)) && !c.holds(&key(5)));
        // Told v1, the empty answer is an error saying why.
        let e = client.committee(Some(Format::V1)).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("eth_call getCommitteeEnodes(): malformed answer (empty answer (0x)"),
            "{e}"
        );
        // The check names the missing organisation by its key's address.
        let expect = Expectation {
            own_key: Some(key(1)),
            validators: vec![("org2".into(), key(2)), ("org5".into(), key(5))],
            format: Some(Format::V07),
            block0: vec![],
        };
        let r = check(&client, &expect, Duration::from_millis(100))
            .await
            .unwrap();
        assert_eq!(r.profile, Some("v0.7"));
        assert_eq!(r.missing, ["org5"]);
        assert!(r.own_in_committee);
        assert_eq!(r.committee_addresses.len(), 2);
    }

    #[tokio::test]
    async fn v07_without_the_aut_api_reads_the_contract() {
        let url = fake::serve(
            |method, params| match (method, params[0]["data"].as_str()) {
                ("eth_call", Some("0xab8f6ffe")) => {
                    let members = vec![abi::v07::CommitteeMember {
                        addr: addr(3),
                        votingPower: alloy_primitives::U256::from(7u8),
                    }];
                    Ok(json!(Bytes::from(members.abi_encode())))
                }
                ("eth_call", Some("0xd01f63f5")) => {
                    Ok(json!(Bytes::from(vec![enode(4), enode(3)].abi_encode())))
                }
                (m, _) => Err(fake::not_found(m)),
            },
        )
        .await;
        let client = Client::new(&url, Duration::from_secs(5)).unwrap();
        let c = client.committee(Some(Format::V07)).await.unwrap();
        assert_eq!(
            c.source,
            "eth_call getCommittee() + eth_call getWhitelist()"
        );
        assert_eq!(
            c.members,
            [CommitteeMember {
                address: key_address(&key(3)).unwrap(),
                key: Some(key(3)),
            }]
        );
    }

    #[tokio::test]
    async fn block0_mismatch_names_the_organisation_and_both_hashes() {
        let ours = [0xcd; 32];
        let url = fake::serve(move |method, params| match method {
            "eth_blockNumber" => {
                // Advances on every call.
                static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                Ok(json!(format!(
                    "{:#x}",
                    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                )))
            }
            "eth_getBlockByNumber" => {
                assert_eq!(*params, json!(["0x0", false]));
                Ok(json!({"number": "0x0", "hash": hash_hex(&ours)}))
            }
            "aut_getCommitteeEnodes" => Ok(json!([enode(1), enode(2), enode(3)])),
            m => Err(fake::not_found(m)),
        })
        .await;
        let client = Client::new(&url, Duration::from_secs(5)).unwrap();
        let mut expect = Expectation {
            own_key: Some(key(1)),
            validators: (1..=3).map(|i| (format!("org{i}"), key(i))).collect(),
            format: Some(Format::V1),
            block0: vec![
                ("org1".into(), Published::Block0(ours)),
                ("org2".into(), Published::NotYet),
            ],
        };
        let r = check(&client, &expect, Duration::from_secs(2))
            .await
            .unwrap();
        // Not yet reported is no alarm.
        assert!(r.ok, "{}", r.problem());
        assert_eq!(r.block0_not_reported, ["org2"]);
        assert_eq!(r.block0.as_deref(), Some(hash_hex(&ours).as_str()));

        expect
            .block0
            .push(("org3".into(), Published::Block0([0xab; 32])));
        let r = check(&client, &expect, Duration::from_secs(2))
            .await
            .unwrap();
        assert!(!r.ok);
        assert_eq!(
            r.problem(),
            format!(
                "org3's node reports block 0 0x{} but this node 0x{}: not the same chain \
                 (another client version or genesis)",
                "ab".repeat(32),
                "cd".repeat(32)
            )
        );
        assert_eq!(r.block0_reported, ["org1", "org3"]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["block0_mismatch"][0]["org"], "org3");
        assert_eq!(json["schema"], CHECK_SCHEMA);
    }

    #[tokio::test]
    async fn answers_that_are_not_what_the_method_returns_say_what_is_wrong() {
        let url = fake::serve(|method, _| match method {
            "eth_blockNumber" => Ok(json!("0xzz")),
            "eth_getBlockByNumber" => Ok(Value::Null),
            "eth_call" => Ok(json!("0x0000")),
            m => Err(fake::not_found(m)),
        })
        .await;
        let client = Client::new(&url, Duration::from_secs(5)).unwrap();
        let e = client.block_number().await.unwrap_err().to_string();
        assert!(
            e.contains("eth_blockNumber: malformed answer (result is not a 0x quantity"),
            "{e}"
        );
        let e = client.block0_hash().await.unwrap_err().to_string();
        assert!(e.contains("no block 0 (result is null)"), "{e}");
        let e = client
            .contract_call::<abi::v1::getCommitteeEnodesCall>()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("eth_call getCommitteeEnodes(): malformed answer (not the ABI encoding"),
            "{e}"
        );
    }
}
