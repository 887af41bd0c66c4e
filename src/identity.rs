//! A validator's keys: the secp256k1 node key (enode id, node address), the BLS12-381
//! consensus key and the secp256k1 oracle key of profile v1; their files; signatures; the
//! ownership proof.
//!
//! Formats follow the Autonity client (see `shared/reference/autonity.md`, "Keys"):
//! - enode id = uncompressed secp256k1 public key `X || Y` (64 bytes, SEC 1 without `04`);
//! - address = last 20 bytes of keccak-256 of `X || Y`, written with EIP-55 checksums accepted;
//! - consensus key = BLS12-381 G1 public key, "min_pk" variant, 48 bytes compressed;
//! - `autonitykeys` (v1) = 128 hex digits, node secret ‖ BLS secret (both big-endian);
//!   `oraclekey` (v1) and `nodekey` (v0.7) = 64 hex digits.
//!
//! Key files are read by the client's rules (`crypto.LoadECDSA`, `crypto.LoadAutonityKeys`):
//! exactly the hex digits (either case), then at most two `\n`/`\r` bytes; a `0x` prefix,
//! a space or a third newline makes the client refuse the file, so we refuse it too
//! ([`KeyFileFlaw`]). `keygen` writes the digits and one `\n`.
//!
//! Signatures are Ethereum style: `r ‖ s ‖ v`, 65 bytes, low-`s`, with **`v` in {0, 1}** (the
//! recovery id, as go-ethereum's `crypto.Sign` writes it). [`recover_signer`] also accepts
//! `v` in {27, 28}.
//!
//! # The ownership proof
//! What the client's `autonity genOwnershipProof` prints (`crypto.AutonityPOPProof`), 226 bytes:
//! - 0..65: the node key's signature over [`pop_message_hash`], keccak-256 of
//!   `"\x19Ethereum Signed Message:\n20" ‖ treasury` (EIP-191, the client's `POPMsgHash`);
//! - 65..130: the oracle key's signature over the same hash;
//! - 130..226: the BLS signature (G2, compressed) with [`BLS_POP_DST`] over
//!   [`bls_pop_message`], blake2b-256 of `treasury ‖ compressed consensus key` (the client's
//!   `BLSPOPProof`).
//!
//! RFC 6979 nonces and BLS signatures are deterministic, so [`Identity::ownership_proof`] makes
//! the client's bytes exactly; `tests/ownership_proof.rs` checks this against proofs the client
//! printed (`shared/vectors/autonity/v1/pop.json`). The verifier is stricter than the
//! Autonity contract in one respect: a high-`s` signature (which only a malleated copy has) is
//! refused.
//!
//! # Limitations
//! - Encrypted (keystore JSON) key files are not read: key files are plain hex, as the
//!   Autonity client writes `autonitykeys` and `nodekey`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::{Invert, LinearCombination, Reduce};
use k256::elliptic_curve::point::{AffineCoordinates, DecompressPoint};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::elliptic_curve::PrimeField;
use k256::{AffinePoint, ProjectivePoint, Scalar, U256};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

use blake2::digest::consts::U32;
use blake2::Blake2b;

use crate::hexfmt::{self, HexError};
use crate::manifest::Profile;

/// keccak-256 (the Ethereum hash, not NIST SHA3-256) of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// Why a public key, address or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not the expected hex.
    #[error("{0}")]
    Hex(#[from] HexError),
    /// A mixed-case address whose EIP-55 checksum does not match.
    #[error("mixed-case address fails its EIP-55 checksum")]
    Checksum,
    /// An address without the `0x` prefix.
    #[error("must start with 0x")]
    MissingPrefix,
    /// 64 bytes that are not a point on the secp256k1 curve.
    #[error("not a point on the secp256k1 curve")]
    NotOnCurve,
    /// 48 bytes that are not a valid BLS12-381 G1 public key.
    #[error("not a valid BLS12-381 public key ({0})")]
    Bls(String),
    /// A 32-byte value that is not a valid secret key (zero, or not below the group order).
    #[error("not a valid secret key (zero or out of range)")]
    BadSecret,
    /// A signature from which no public key can be recovered.
    #[error("signature does not verify (cannot recover a public key)")]
    BadSignature,
    /// An ownership proof that fails one of its checks (which one, in words).
    #[error("{0}")]
    Proof(ProofFlaw),
    /// A key file the Autonity client would refuse.
    #[error("{0}")]
    File(KeyFileFlaw),
}

/// Why a key file breaks the client's rules (`crypto.LoadECDSA`, `crypto.LoadAutonityKeys`).
/// No variant carries key material beyond the one offending character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileFlaw {
    /// The file starts with `0x`.
    #[error("starts with 0x, and the Autonity client refuses a key file with a 0x prefix (write the {digits} hex digits alone)")]
    Prefix0x {
        /// Hex digits the file must hold.
        digits: usize,
    },
    /// Fewer hex digits than needed before the end or a space or control character.
    #[error("expected {expected} hex digits, found {found}")]
    TooShort {
        /// Hex digits required.
        expected: usize,
        /// Printable characters found before the end, a space or a control character.
        found: usize,
    },
    /// A character after the digits other than `\n` or `\r`.
    #[error(
        "character {ch:?} after the {expected} hex digits (the client allows only a newline there)"
    )]
    Trailing {
        /// The character (a space, a tab, a digit too many, ...).
        ch: char,
        /// Hex digits required.
        expected: usize,
    },
    /// More than two newline bytes after the digits.
    #[error("more than two newline characters after the {expected} hex digits (the client refuses the file as too long)")]
    TooLong {
        /// Hex digits required.
        expected: usize,
    },
    /// A character among the digits that is not hex.
    #[error("character {ch:?} at position {pos} is not a hex digit")]
    Digit {
        /// The character.
        ch: char,
        /// Its position (0-based).
        pos: usize,
    },
}

/// Which part of an ownership proof failed ([`verify_ownership_proof`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofFlaw {
    /// Not 226 bytes.
    #[error("it must be 226 bytes (node signature 65, oracle signature 65, BLS signature 96)")]
    Length,
    /// The first signature is not by the enode key (or not over this treasury).
    #[error("its node signature over the treasury is not by the enode key")]
    NodeSignature,
    /// The second signature is not by the oracle address (or not over this treasury).
    #[error("its oracle signature over the treasury is not by the oracle address")]
    OracleSignature,
    /// The BLS part is not a G2 point of the prime-order group (or is the identity).
    #[error("its BLS part is not a valid BLS12-381 signature")]
    BlsEncoding,
    /// The BLS pairing equation does not hold (another key, or another treasury or message).
    #[error("its BLS signature over the treasury and consensus key does not verify under the consensus key")]
    BlsSignature,
}

impl ProofFlaw {
    /// A short name of the failed part: `length`, `node signature`, `oracle signature`,
    /// `BLS signature`.
    pub fn part(&self) -> &'static str {
        match self {
            ProofFlaw::Length => "length",
            ProofFlaw::NodeSignature => "node signature",
            ProofFlaw::OracleSignature => "oracle signature",
            ProofFlaw::BlsEncoding | ProofFlaw::BlsSignature => "BLS signature",
        }
    }
}

/// A 20-byte Ethereum-style account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The address of an uncompressed public key `X || Y`.
    pub fn from_public(xy: &[u8; 64]) -> Address {
        let h = keccak256(xy);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        Address(a)
    }

    /// The EIP-55 mixed-case form (`0x` + checksummed hex).
    pub fn checksummed(&self) -> String {
        let lower = hex::encode(self.0);
        let h = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (h[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
            if c.is_ascii_alphabetic() && nibble >= 8 {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// True for the all-zero address.
    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 20]
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Address {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        if !(s.starts_with("0x") || s.starts_with("0X")) {
            return Err(KeyError::MissingPrefix);
        }
        let bytes = hexfmt::parse_fixed::<20>(s, true)?;
        let body = &s[2..];
        let has_upper = body.chars().any(|c| c.is_ascii_uppercase());
        let has_lower = body.chars().any(|c| c.is_ascii_lowercase());
        let addr = Address(bytes);
        if has_upper && has_lower && addr.checksummed()[2..] != *body {
            return Err(KeyError::Checksum);
        }
        Ok(addr)
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A node's public key as an enode id: uncompressed secp256k1 `X || Y`, on the curve.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnodeKey(pub [u8; 64]);

impl EnodeKey {
    /// Parse exactly 128 hex digits (no `0x`) and check that the point is on the curve.
    pub fn from_hex(s: &str) -> Result<EnodeKey, KeyError> {
        let bytes = hexfmt::parse_fixed::<64>(s, false)?;
        EnodeKey::from_bytes(bytes)
    }

    /// Check that 64 bytes are a point on the curve.
    pub fn from_bytes(bytes: [u8; 64]) -> Result<EnodeKey, KeyError> {
        let mut sec1 = [0u8; 65];
        sec1[0] = 4;
        sec1[1..].copy_from_slice(&bytes);
        VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| KeyError::NotOnCurve)?;
        Ok(EnodeKey(bytes))
    }

    /// The node address (last 20 bytes of keccak-256 of the key).
    pub fn address(&self) -> Address {
        Address::from_public(&self.0)
    }

    fn of(vk: &VerifyingKey) -> EnodeKey {
        let point = vk.to_encoded_point(false);
        let mut out = [0u8; 64];
        out.copy_from_slice(&point.as_bytes()[1..]);
        EnodeKey(out)
    }
}

impl fmt::Display for EnodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for EnodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnodeKey({self})")
    }
}

impl FromStr for EnodeKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        EnodeKey::from_hex(s)
    }
}

impl Serialize for EnodeKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A BLS12-381 consensus public key (G1, compressed, "min_pk"), validated.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsensusKey(pub [u8; 48]);

impl ConsensusKey {
    /// Parse `0x` + 96 hex digits (the `0x` is optional) and validate the key with blst
    /// `key_validate` (on the curve, in the group, not the identity).
    pub fn from_hex(s: &str) -> Result<ConsensusKey, KeyError> {
        let bytes = hexfmt::parse_fixed::<48>(s, true)?;
        ConsensusKey::from_bytes(bytes)
    }

    /// Validate 48 compressed bytes.
    pub fn from_bytes(bytes: [u8; 48]) -> Result<ConsensusKey, KeyError> {
        blst::min_pk::PublicKey::key_validate(&bytes)
            .map_err(|e| KeyError::Bls(format!("{e:?}")))?;
        Ok(ConsensusKey(bytes))
    }
}

impl fmt::Display for ConsensusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for ConsensusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsensusKey({self})")
    }
}

impl FromStr for ConsensusKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        ConsensusKey::from_hex(s)
    }
}

impl Serialize for ConsensusKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The checks every signature passes first: `v` in {0,1} or {27,28}, `r` and `s` in range, low `s`.
/// Returns the signature and whether `R`'s y coordinate is odd.
fn parse_signature(sig: &[u8; 65]) -> Result<(Signature, bool), KeyError> {
    let y_odd = match sig[64] {
        0 | 27 => false,
        1 | 28 => true,
        _ => return Err(KeyError::BadSignature),
    };
    let signature = Signature::from_slice(&sig[..64]).map_err(|_| KeyError::BadSignature)?;
    if signature.normalize_s().is_some() {
        // High-s signatures are malleable copies; Ethereum refuses them, so do we.
        return Err(KeyError::BadSignature);
    }
    Ok((signature, y_odd))
}

/// `z`, the prehash as a scalar (SEC 1 section 4.1.4 step 5 with a 256-bit hash).
fn prehash_scalar(prehash: &[u8; 32]) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(&(*prehash).into())
}

/// Recover the public key that made `sig` (`r ‖ s ‖ v`, `v` in {0,1} or {27,28}) over `prehash`.
///
/// SEC 1 section 4.1.6: `R` is the point with x = `r` and y parity `v`, the key is
/// `r⁻¹ (s R - z G)`. By construction the signature verifies against the recovered key, so
/// no second verification is run.
pub fn recover_signer(prehash: &[u8; 32], sig: &[u8; 65]) -> Result<EnodeKey, KeyError> {
    let (signature, y_odd) = parse_signature(sig)?;
    let (r, s) = signature.split_scalars();
    let big_r = Option::<AffinePoint>::from(AffinePoint::decompress(
        &r.to_repr(),
        Choice::from(u8::from(y_odd)),
    ))
    .ok_or(KeyError::BadSignature)?;
    let r_inv = *Invert::invert(&r);
    let u1 = -(r_inv * prehash_scalar(prehash));
    let u2 = r_inv * *s;
    let q = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &u1,
        &ProjectivePoint::from(big_r),
        &u2,
    );
    if bool::from(q.is_identity()) {
        return Err(KeyError::BadSignature);
    }
    let point = q.to_affine().to_encoded_point(false);
    let mut out = [0u8; 64];
    out.copy_from_slice(&point.as_bytes()[1..]);
    Ok(EnodeKey(out))
}

/// Whether `sig` over `prehash` was made by `key`: exactly `recover_signer(prehash, sig) ==
/// Ok(key)`, at the cost of one verification instead of a recovery.
///
/// SEC 1 section 4.1.4: `R = z s⁻¹ G + r s⁻¹ Q` must have x = `r` (not reduced mod n, as
/// recovery with `v` in {0,1} assumes) and y parity `v`; that `R` is exactly the point
/// recovery starts from, so both agree. Errors are the same format errors as
/// [`recover_signer`]; a signature by another key, or over another message, gives `Ok(false)`.
pub fn signed_by(prehash: &[u8; 32], sig: &[u8; 65], key: &EnodeKey) -> Result<bool, KeyError> {
    let (signature, y_odd) = parse_signature(sig)?;
    let mut sec1 = [0u8; 65];
    sec1[0] = 4;
    sec1[1..].copy_from_slice(&key.0);
    let Ok(vk) = VerifyingKey::from_sec1_bytes(&sec1) else {
        // Not a point: no signature recovers to it.
        return Ok(false);
    };
    let (r, s) = signature.split_scalars();
    let s_inv = *Invert::invert(&s);
    let u1 = prehash_scalar(prehash) * s_inv;
    let u2 = *r * s_inv;
    let big_r = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &u1,
        &ProjectivePoint::from(*vk.as_affine()),
        &u2,
    );
    if bool::from(big_r.is_identity()) {
        return Ok(false);
    }
    let big_r = big_r.to_affine();
    Ok(big_r.x() == r.to_repr() && bool::from(big_r.y_is_odd()) == y_odd)
}

/// Sign a 32-byte prehash with a secp256k1 key: `r ‖ s ‖ v`, low-s, `v` in {0,1}.
fn sign_with(key: &SigningKey, prehash: &[u8; 32]) -> [u8; 65] {
    let (sig, recid) = key
        .sign_prehash_recoverable(prehash)
        .expect("signing a 32-byte prehash with a valid key cannot fail");
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&sig.to_bytes());
    out[64] = recid.to_byte();
    out
}

/// Why key files could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The directory holds neither `autonitykeys` nor `nodekey`.
    #[error("no key files ({}: expected autonitykeys + oraclekey, or nodekey)", dir.display())]
    NoKeys {
        /// The directory.
        dir: PathBuf,
    },
    /// A key file the profile needs is missing.
    #[error("key file missing ({}: needed beside {beside})", path.display())]
    Missing {
        /// The missing file.
        path: PathBuf,
        /// The file that made it necessary.
        beside: &'static str,
    },
    /// A key file could not be read.
    #[error("cannot read key file ({}: {source})", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A key file that group or others may read or write (ssh refuses such a private key).
    #[error("permissions {mode:04o} for '{}' are too open (a key file must be accessible by its owner only: chmod 600 it, or pass --allow-open-key-permissions)", path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file's content is malformed.
    #[error("bad key file ({}: {field}: {why})", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// Which part of it (e.g. `node key`, `BLS secret`).
        field: &'static str,
        /// What is wrong.
        why: KeyError,
    },
    /// A key file would be overwritten: nothing was written.
    #[error("key file already exists ({}: keys are never overwritten; nothing was written)", path.display())]
    Exists {
        /// The file that exists.
        path: PathBuf,
    },
    /// A key file or directory could not be written.
    #[error("cannot write key file ({}: {source})", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The keys are v0.7 keys (`nodekey`), which have no oracle or BLS key to prove.
    #[error("no ownership proof for v0.7 keys ({}: a proof needs autonitykeys and oraclekey)", dir.display())]
    NoProof {
        /// The key directory.
        dir: PathBuf,
    },
}

impl IdentityError {
    /// True for failures to write locally (including "would overwrite"), not bad content.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            IdentityError::Exists { .. } | IdentityError::Write { .. }
        )
    }
}

/// File names of the key files.
pub mod files {
    /// v1: node secret ‖ BLS secret, 128 hex.
    pub const AUTONITYKEYS: &str = "autonitykeys";
    /// v1: oracle secret, 64 hex.
    pub const ORACLEKEY: &str = "oraclekey";
    /// v0.7: node secret, 64 hex.
    pub const NODEKEY: &str = "nodekey";
}

/// A validator's private keys. `Debug` shows only public values.
#[derive(Clone)]
pub struct Identity {
    node: SigningKey,
    bls: Option<blst::min_pk::SecretKey>,
    oracle: Option<SigningKey>,
    profile: Profile,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.public();
        f.debug_struct("Identity")
            .field("profile", &self.profile)
            .field("enode_key", &p.enode_key)
            .field("consensus_key", &p.consensus_key)
            .field("oracle_address", &p.oracle_address)
            .finish_non_exhaustive()
    }
}

/// The public half of an [`Identity`]: what is published and printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicIdentity {
    /// Enode id (128 hex).
    pub enode_key: EnodeKey,
    /// Node address derived from the enode key.
    pub node_address: Address,
    /// BLS consensus public key (v1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consensus_key: Option<ConsensusKey>,
    /// Oracle account address (v1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oracle_address: Option<Address>,
}

/// Domain separation tag of the BLS proof-of-possession ciphersuite (IETF BLS signature draft,
/// section 4.2.3), used for the ownership proof's BLS part (the client's `popDST`).
pub const BLS_POP_DST: &[u8] = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// Length of an ownership proof: two secp256k1 signatures and a BLS signature.
pub const POP_LEN: usize = 65 + 65 + 96;

/// What the ownership proof's node and oracle signatures sign: keccak-256 of
/// `"\x19Ethereum Signed Message:\n20" ‖ treasury` (EIP-191 personal message of the 20
/// address bytes; the client's `POPMsgHash`, the contract's `registerValidator`).
pub fn pop_message_hash(treasury: &Address) -> [u8; 32] {
    let mut k = Keccak256::new();
    k.update(b"\x19Ethereum Signed Message:\n20");
    k.update(treasury.0);
    k.finalize().into()
}

/// What the ownership proof's BLS signature signs: blake2b-256 of `treasury ‖ consensus key`
/// (20 address bytes, then the 48-byte compressed public key; the client's `BLSPOPProof`).
pub fn bls_pop_message(treasury: &Address, consensus_key: &[u8; 48]) -> [u8; 32] {
    let mut b = Blake2b::<U32>::new();
    Digest::update(&mut b, treasury.0);
    Digest::update(&mut b, consensus_key);
    b.finalize().into()
}

fn random_secp() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

fn random_bls() -> blst::min_pk::SecretKey {
    use rand_core::RngCore;
    let mut ikm = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut ikm);
    let sk = blst::min_pk::SecretKey::key_gen(&ikm, &[]).expect("32 bytes of key material");
    ikm.fill(0);
    sk
}

fn secp_from(bytes: &[u8; 32]) -> Result<SigningKey, KeyError> {
    SigningKey::from_bytes(bytes.into()).map_err(|_| KeyError::BadSecret)
}

fn bls_from(bytes: &[u8; 32]) -> Result<blst::min_pk::SecretKey, KeyError> {
    let sk = blst::min_pk::SecretKey::from_bytes(bytes).map_err(|_| KeyError::BadSecret)?;
    if bytes.iter().all(|b| *b == 0) {
        return Err(KeyError::BadSecret);
    }
    Ok(sk)
}

/// Check key-file bytes by the client's rules and decode `N` bytes: `2N` hex digits (either
/// case), then at most two bytes each `\n` or `\r`, nothing else (no `0x`, no spaces).
pub fn parse_key_file<const N: usize>(bytes: &[u8]) -> Result<[u8; N], KeyFileFlaw> {
    let digits = 2 * N;
    if bytes.starts_with(b"0x") || bytes.starts_with(b"0X") {
        return Err(KeyFileFlaw::Prefix0x { digits });
    }
    // The client reads up to 2N bytes, stopping at the end or at a byte below '!'.
    let found = bytes
        .iter()
        .take(digits)
        .position(|b| *b < b'!')
        .unwrap_or(bytes.len().min(digits));
    if found < digits {
        return Err(KeyFileFlaw::TooShort {
            expected: digits,
            found,
        });
    }
    for (i, b) in bytes[digits..].iter().enumerate() {
        if *b != b'\n' && *b != b'\r' {
            return Err(KeyFileFlaw::Trailing {
                ch: char::from(*b),
                expected: digits,
            });
        }
        if i >= 2 {
            return Err(KeyFileFlaw::TooLong { expected: digits });
        }
    }
    let text = &bytes[..digits];
    if let Some(pos) = text.iter().position(|b| !b.is_ascii_hexdigit()) {
        return Err(KeyFileFlaw::Digit {
            ch: char::from(text[pos]),
            pos,
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).expect("2N hex digits decode to N bytes");
    Ok(out)
}

/// How key files readable by group or others are treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyPermissions {
    /// Refused ([`IdentityError::TooOpen`]), as ssh refuses such a private key.
    #[default]
    OwnerOnly,
    /// Read all the same; each such file is listed ([`OpenKeyFile`]) so the caller can warn.
    AllowOpen,
}

/// A key file whose permission bits let group or others read or write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenKeyFile {
    /// The file.
    pub path: PathBuf,
    /// Its permission bits (e.g. `0o644`).
    pub mode: u32,
}

/// Keys loaded with [`Identity::load_with`].
#[derive(Debug)]
pub struct Loaded {
    /// The keys.
    pub identity: Identity,
    /// Key files that were read although group or others may read them
    /// ([`KeyPermissions::AllowOpen`]); empty otherwise.
    pub open_files: Vec<OpenKeyFile>,
}

/// A key file that a directory lacks, and what it is needed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingKey {
    /// Where it was looked for.
    pub path: PathBuf,
    /// What it is needed for (which phases).
    pub needed_for: &'static str,
}

/// What a key directory holds, read as far as it goes ([`Identity::inspect`]): the public
/// values of the keys present and the key files that are missing.
#[derive(Debug)]
pub struct Inspection {
    /// The directory the key files were found in (the given one, or its `autonity/`
    /// instance directory when it is a client's data directory).
    pub dir: PathBuf,
    /// The key layout found.
    pub profile: Profile,
    /// The public values of the keys present (`oracle_address` is `None` when the oracle key
    /// is missing).
    pub public: PublicIdentity,
    /// The node key file (`autonitykeys` or `nodekey`).
    pub node_key_file: PathBuf,
    /// Key files the profile needs that are not there.
    pub missing: Vec<MissingKey>,
    /// Key files read although group or others may read them.
    pub open_files: Vec<OpenKeyFile>,
}

/// The instance directory inside a client's data directory, where the client keeps
/// `autonitykeys` (`<datadir>/autonity/autonitykeys`, the client's `node.Config.ResolvePath`).
pub const CLIENT_INSTANCE_DIR: &str = "autonity";

/// Read a key file by the client's rules ([`parse_key_file`]), refusing (or, with
/// [`KeyPermissions::AllowOpen`], listing in `open`) a file of ours that group or others may
/// access (any of the bits 0o077, as ssh checks a private key).
fn read_hex_file<const N: usize>(
    path: &Path,
    field: &'static str,
    perms: KeyPermissions,
    open: &mut Vec<OpenKeyFile>,
) -> Result<[u8; N], IdentityError> {
    use std::os::unix::fs::PermissionsExt;
    let (bytes, meta) = crate::localfile::read_with_metadata(path, crate::localfile::Kind::KeyFile)
        .map_err(|source| IdentityError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 && owned_by_us(&meta) {
        match perms {
            KeyPermissions::OwnerOnly => {
                return Err(IdentityError::TooOpen {
                    path: path.to_path_buf(),
                    mode,
                })
            }
            KeyPermissions::AllowOpen => open.push(OpenKeyFile {
                path: path.to_path_buf(),
                mode,
            }),
        }
    }
    parse_key_file::<N>(&bytes).map_err(|e| IdentityError::Format {
        path: path.to_path_buf(),
        field,
        why: KeyError::File(e),
    })
}

/// True when the file belongs to the user this process runs as. As ssh does, only such a file
/// is held to owner-only permissions: a file someone else owns (a Kubernetes Secret volume is
/// root's, mode 0440 with the pod's group) was given to us on purpose. The user is the owner of
/// `/proc/self`; where that cannot be read, every file counts as ours.
fn owned_by_us(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    match fs::metadata("/proc/self") {
        Ok(me) => me.uid() == meta.uid(),
        Err(_) => true,
    }
}

/// The node and BLS secrets of an `autonitykeys` file.
fn read_autonitykeys(
    ak: &Path,
    perms: KeyPermissions,
    open: &mut Vec<OpenKeyFile>,
) -> Result<(SigningKey, blst::min_pk::SecretKey), IdentityError> {
    let both = read_hex_file::<64>(ak, "node key ‖ BLS secret", perms, open)?;
    let mut node = [0u8; 32];
    let mut bls = [0u8; 32];
    node.copy_from_slice(&both[..32]);
    bls.copy_from_slice(&both[32..]);
    let node = secp_from(&node).map_err(|why| IdentityError::Format {
        path: ak.to_path_buf(),
        field: "node key (first 64 hex digits)",
        why,
    });
    let bls = bls_from(&bls).map_err(|why| IdentityError::Format {
        path: ak.to_path_buf(),
        field: "BLS secret (last 64 hex digits)",
        why,
    });
    Ok((node?, bls?))
}

/// A secp256k1 key file (`oraclekey`, `nodekey`).
fn read_secp_file(
    path: &Path,
    field: &'static str,
    perms: KeyPermissions,
    open: &mut Vec<OpenKeyFile>,
) -> Result<SigningKey, IdentityError> {
    let bytes = read_hex_file::<32>(path, field, perms, open)?;
    secp_from(&bytes).map_err(|why| IdentityError::Format {
        path: path.to_path_buf(),
        field,
        why,
    })
}

impl Identity {
    /// Fresh random keys for `profile` (node key; plus BLS and oracle keys for v1).
    pub fn generate(profile: Profile) -> Identity {
        let (bls, oracle) = match profile {
            Profile::V1 => (Some(random_bls()), Some(random_secp())),
            Profile::V07 => (None, None),
        };
        Identity {
            node: random_secp(),
            bls,
            oracle,
            profile,
        }
    }

    /// Build from raw secrets (node; BLS and oracle for v1). Used by tests and importers.
    pub fn from_secrets(
        node: &[u8; 32],
        bls_oracle: Option<(&[u8; 32], &[u8; 32])>,
    ) -> Result<Identity, KeyError> {
        let node = secp_from(node)?;
        Ok(match bls_oracle {
            Some((b, o)) => Identity {
                node,
                bls: Some(bls_from(b)?),
                oracle: Some(secp_from(o)?),
                profile: Profile::V1,
            },
            None => Identity {
                node,
                bls: None,
                oracle: None,
                profile: Profile::V07,
            },
        })
    }

    /// Load keys from `dir`: `autonitykeys` + `oraclekey` (v1) or `nodekey` (v0.7); the
    /// profile is detected from which files exist (`autonitykeys` wins). Key files that group
    /// or others may access are refused ([`KeyPermissions::OwnerOnly`]).
    pub fn load(dir: &Path) -> Result<Identity, IdentityError> {
        Ok(Identity::load_with(dir, KeyPermissions::OwnerOnly)?.identity)
    }

    /// [`Identity::load`] with a choice about key files that group or others may access.
    pub fn load_with(dir: &Path, perms: KeyPermissions) -> Result<Loaded, IdentityError> {
        let ak = dir.join(files::AUTONITYKEYS);
        let ok = dir.join(files::ORACLEKEY);
        let nk = dir.join(files::NODEKEY);
        let mut open_files = Vec::new();
        let identity = if ak.exists() {
            if !ok.exists() {
                return Err(IdentityError::Missing {
                    path: ok,
                    beside: files::AUTONITYKEYS,
                });
            }
            let (node, bls) = read_autonitykeys(&ak, perms, &mut open_files)?;
            let oracle = read_secp_file(&ok, "oracle key", perms, &mut open_files)?;
            Identity {
                node,
                bls: Some(bls),
                oracle: Some(oracle),
                profile: Profile::V1,
            }
        } else if nk.exists() {
            let node = read_secp_file(&nk, "node key", perms, &mut open_files)?;
            Identity {
                node,
                bls: None,
                oracle: None,
                profile: Profile::V07,
            }
        } else {
            return Err(IdentityError::NoKeys {
                dir: dir.to_path_buf(),
            });
        };
        Ok(Loaded {
            identity,
            open_files,
        })
    }

    /// Read what `dir` holds as far as it goes, for showing: a key directory, or a client's
    /// data directory (its `autonity/` instance directory holds `autonitykeys`, which the
    /// client makes on its first start; the oracle key is looked for there, then in `dir`).
    /// A missing `oraclekey` is not an error here but listed in [`Inspection::missing`] with
    /// the phases that need it; a directory with no node key file at all is an error.
    pub fn inspect(dir: &Path, perms: KeyPermissions) -> Result<Inspection, IdentityError> {
        let has_keys =
            |d: &Path| d.join(files::AUTONITYKEYS).exists() || d.join(files::NODEKEY).exists();
        let instance = dir.join(CLIENT_INSTANCE_DIR);
        let found = if !has_keys(dir) && has_keys(&instance) {
            instance
        } else {
            dir.to_path_buf()
        };
        let ak = found.join(files::AUTONITYKEYS);
        if !ak.exists() {
            let loaded = Identity::load_with(&found, perms)?;
            return Ok(Inspection {
                node_key_file: loaded.identity.node_key_file(&found),
                profile: loaded.identity.profile,
                public: loaded.identity.public(),
                dir: found,
                missing: Vec::new(),
                open_files: loaded.open_files,
            });
        }
        let mut open_files = Vec::new();
        let (node, bls) = read_autonitykeys(&ak, perms, &mut open_files)?;
        let oracle_at = [found.join(files::ORACLEKEY), dir.join(files::ORACLEKEY)]
            .into_iter()
            .find(|p| p.exists());
        let mut missing = Vec::new();
        let oracle = match &oracle_at {
            Some(p) => Some(read_secp_file(p, "oracle key", perms, &mut open_files)?),
            None => {
                missing.push(MissingKey {
                    path: found.join(files::ORACLEKEY),
                    needed_for: "publish (the oracle address and the ownership proof in the records) and genesis (oracleAddress); the node key and consensus key above are complete",
                });
                None
            }
        };
        let id = Identity {
            node,
            bls: Some(bls),
            oracle,
            profile: Profile::V1,
        };
        Ok(Inspection {
            dir: found,
            profile: Profile::V1,
            public: id.public(),
            node_key_file: ak,
            missing,
            open_files,
        })
    }

    /// The files this identity is stored in, with their contents (hex, newline-terminated).
    fn file_contents(&self, dir: &Path) -> Vec<(PathBuf, String)> {
        match self.profile {
            Profile::V1 => {
                let bls = self.bls.as_ref().expect("v1 identity has a BLS key");
                let oracle = self.oracle.as_ref().expect("v1 identity has an oracle key");
                vec![
                    (
                        dir.join(files::AUTONITYKEYS),
                        format!(
                            "{}{}\n",
                            hex::encode(self.node.to_bytes()),
                            hex::encode(bls.to_bytes())
                        ),
                    ),
                    (
                        dir.join(files::ORACLEKEY),
                        format!("{}\n", hex::encode(oracle.to_bytes())),
                    ),
                ]
            }
            Profile::V07 => vec![(
                dir.join(files::NODEKEY),
                format!("{}\n", hex::encode(self.node.to_bytes())),
            )],
        }
    }

    /// Write the key files into `dir` (which must exist), mode 0600, each through a temporary
    /// file linked into place, never overwriting. If any target exists, nothing is written;
    /// if a write fails midway, the files already placed by this call are removed.
    pub fn write_new(&self, dir: &Path) -> Result<Vec<PathBuf>, IdentityError> {
        let contents = self.file_contents(dir);
        for (path, _) in &contents {
            if path.symlink_metadata().is_ok() {
                return Err(IdentityError::Exists { path: path.clone() });
            }
        }
        let mut placed: Vec<PathBuf> = Vec::new();
        for (path, text) in &contents {
            if let Err(e) = write_no_clobber(path, text.as_bytes()) {
                for p in &placed {
                    let _ = fs::remove_file(p);
                }
                return Err(e);
            }
            placed.push(path.clone());
        }
        Ok(placed)
    }

    /// The public values.
    pub fn public(&self) -> PublicIdentity {
        let enode_key = EnodeKey::of(self.node.verifying_key());
        PublicIdentity {
            enode_key,
            node_address: enode_key.address(),
            consensus_key: self
                .bls
                .as_ref()
                .map(|sk| ConsensusKey(sk.sk_to_pk().compress())),
            oracle_address: self
                .oracle
                .as_ref()
                .map(|k| EnodeKey::of(k.verifying_key()).address()),
        }
    }

    /// Sign a 32-byte prehash with the node key: `r ‖ s ‖ v`, low-s, `v` in {0,1}.
    pub fn sign_prehash(&self, prehash: &[u8; 32]) -> [u8; 65] {
        sign_with(&self.node, prehash)
    }

    /// The ownership proof of v1 (226 bytes), byte for byte what the client's
    /// `autonity genOwnershipProof` prints for the same keys and treasury: node-key signature
    /// (65) ‖ oracle-key signature (65) over [`pop_message_hash`] ‖ BLS signature (96) over
    /// [`bls_pop_message`] with [`BLS_POP_DST`] (see the module docs). `None` for v0.7.
    pub fn ownership_proof(&self, treasury: &Address) -> Option<Vec<u8>> {
        let bls = self.bls.as_ref()?;
        let oracle = self.oracle.as_ref()?;
        let h = pop_message_hash(treasury);
        let msg = bls_pop_message(treasury, &bls.sk_to_pk().compress());
        let mut out = Vec::with_capacity(POP_LEN);
        out.extend_from_slice(&sign_with(&self.node, &h));
        out.extend_from_slice(&sign_with(oracle, &h));
        out.extend_from_slice(&bls.sign(&msg, BLS_POP_DST, &[]).compress());
        Some(out)
    }

    /// The file to hand to the Autonity client (`--autonitykeys` for v1, `--nodekey` for v0.7).
    pub fn node_key_file(&self, dir: &Path) -> PathBuf {
        match self.profile {
            Profile::V1 => dir.join(files::AUTONITYKEYS),
            Profile::V07 => dir.join(files::NODEKEY),
        }
    }

    /// The profile these keys are for.
    pub fn profile(&self) -> Profile {
        self.profile
    }
}

/// Check an ownership proof: its node-key signature against `enode_key`, its oracle-key
/// signature against `oracle` (both over [`pop_message_hash`]), its BLS signature against
/// `consensus_key` (over [`bls_pop_message`], with [`BLS_POP_DST`]). The first failing check
/// is returned; [`ownership_proof_flaws`] runs them all.
///
/// `consensus_key` must be one [`ConsensusKey::from_bytes`] validated (as every parsed one
/// is): its group membership is not checked again here. The BLS signature is checked once for
/// being in G2 and not the identity, then verified without repeating that check.
pub fn verify_ownership_proof(
    proof: &[u8],
    treasury: &Address,
    enode_key: &EnodeKey,
    oracle: &Address,
    consensus_key: &ConsensusKey,
) -> Result<(), KeyError> {
    let bls =
        check_ownership_proof_except_pairing(proof, treasury, enode_key, oracle, consensus_key)?;
    match bls.verify() {
        true => Ok(()),
        false => Err(KeyError::Proof(ProofFlaw::BlsSignature)),
    }
}

fn node_part_ok(h: &[u8; 32], sig: &[u8; 65], enode_key: &EnodeKey) -> bool {
    signed_by(h, sig, enode_key).unwrap_or(false)
}

fn oracle_part_ok(h: &[u8; 32], sig: &[u8; 65], oracle: &Address) -> bool {
    recover_signer(h, sig).is_ok_and(|k| k.address() == *oracle)
}

fn bls_part(proof: &[u8]) -> Result<blst::min_pk::Signature, KeyError> {
    blst::min_pk::Signature::sig_validate(&proof[130..], true)
        .map_err(|_| KeyError::Proof(ProofFlaw::BlsEncoding))
}

/// Every check of [`verify_ownership_proof`], each run whatever the others give: the parts that
/// fail, in proof order (empty when the proof is valid). A proof of the wrong length has only
/// [`ProofFlaw::Length`].
pub fn ownership_proof_flaws(
    proof: &[u8],
    treasury: &Address,
    enode_key: &EnodeKey,
    oracle: &Address,
    consensus_key: &ConsensusKey,
) -> Vec<ProofFlaw> {
    if proof.len() != POP_LEN {
        return vec![ProofFlaw::Length];
    }
    let h = pop_message_hash(treasury);
    let mut flaws = Vec::new();
    if !node_part_ok(&h, &proof[..65].try_into().expect("65 bytes"), enode_key) {
        flaws.push(ProofFlaw::NodeSignature);
    }
    if !oracle_part_ok(&h, &proof[65..130].try_into().expect("65 bytes"), oracle) {
        flaws.push(ProofFlaw::OracleSignature);
    }
    match bls_part(proof) {
        Err(_) => flaws.push(ProofFlaw::BlsEncoding),
        Ok(sig) => {
            let pairing = PopPairing::new(sig, treasury, consensus_key);
            if !pairing.is_ok_and(|p| p.verify()) {
                flaws.push(ProofFlaw::BlsSignature);
            }
        }
    }
    flaws
}

/// Every check of [`verify_ownership_proof`] except the BLS pairing equation, which is
/// returned to be checked alone ([`PopPairing::verify`]) or with others
/// ([`PopPairing::verify_batch`]).
pub fn check_ownership_proof_except_pairing(
    proof: &[u8],
    treasury: &Address,
    enode_key: &EnodeKey,
    oracle: &Address,
    consensus_key: &ConsensusKey,
) -> Result<PopPairing, KeyError> {
    if proof.len() != POP_LEN {
        return Err(KeyError::Proof(ProofFlaw::Length));
    }
    let h = pop_message_hash(treasury);
    let node_sig: [u8; 65] = proof[..65].try_into().expect("65 bytes");
    let oracle_sig: [u8; 65] = proof[65..130].try_into().expect("65 bytes");
    if !signed_by(&h, &node_sig, enode_key)? {
        return Err(KeyError::Proof(ProofFlaw::NodeSignature));
    }
    if recover_signer(&h, &oracle_sig)?.address() != *oracle {
        return Err(KeyError::Proof(ProofFlaw::OracleSignature));
    }
    PopPairing::new(bls_part(proof)?, treasury, consensus_key)
}

/// The pairing equation of an ownership proof's BLS signature (signature already in G2 and
/// not the identity, key already validated), still to be checked.
#[derive(Debug, Clone, Copy)]
pub struct PopPairing {
    sig: blst::min_pk::Signature,
    pk: blst::min_pk::PublicKey,
    /// [`bls_pop_message`] of the treasury and this key.
    msg: [u8; 32],
}

impl PopPairing {
    fn new(
        sig: blst::min_pk::Signature,
        treasury: &Address,
        consensus_key: &ConsensusKey,
    ) -> Result<PopPairing, KeyError> {
        let pk = blst::min_pk::PublicKey::from_bytes(&consensus_key.0)
            .map_err(|e| KeyError::Bls(format!("{e:?}")))?;
        Ok(PopPairing {
            sig,
            pk,
            msg: bls_pop_message(treasury, &consensus_key.0),
        })
    }

    /// Check this one equation: e(pk, H(msg)) = e(G1, sig).
    pub fn verify(&self) -> bool {
        self.sig
            .verify(false, &self.msg, BLS_POP_DST, &[], &self.pk, false)
            == blst::BLST_ERROR::BLST_SUCCESS
    }

    /// Check many equations at once: true only if (except with probability about 2^-63) every
    /// one holds. Each is weighted by a fresh random non-zero 64-bit scalar, so one final
    /// exponentiation and one Miller loop per item replace a whole pairing check per item
    /// (the standard random-linear-combination batch check). On `false`, check them one by
    /// one to find the culprits. An empty batch is true.
    pub fn verify_batch(items: &[PopPairing]) -> bool {
        use rand_core::RngCore;
        match items {
            [] => return true,
            [one] => return one.verify(),
            _ => {}
        }
        let rands: Vec<blst::blst_scalar> = items
            .iter()
            .map(|_| {
                let mut r = [0u8; 8];
                while r == [0u8; 8] {
                    rand_core::OsRng.fill_bytes(&mut r);
                }
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&r);
                blst::blst_scalar { b }
            })
            .collect();
        let msgs: Vec<&[u8]> = items.iter().map(|i| &i.msg[..]).collect();
        let pks: Vec<&blst::min_pk::PublicKey> = items.iter().map(|i| &i.pk).collect();
        let sigs: Vec<&blst::min_pk::Signature> = items.iter().map(|i| &i.sig).collect();
        blst::min_pk::Signature::verify_multiple_aggregate_signatures(
            &msgs,
            BLS_POP_DST,
            &pks,
            false,
            &sigs,
            false,
            &rands,
            64,
        ) == blst::BLST_ERROR::BLST_SUCCESS
    }
}

/// Genesis validator data as Autonity operators exchange it outside DNS: the validator's entry
/// of `config.autonity.validators` and the ownership proof that goes with it,
///
/// ```json
/// {"genesisValidatorData": [
///   {"enode": "enode://<128 hex>@IP:PORT", "treasury": "0x..", "consensusKey": "0x<96 hex>",
///    "oracleAddress": "0x.."},
///   {"validatorAddress": "0x..", "ownershipProof": "0x<452 hex>"}]}
/// ```
///
/// read strictly (no other fields, every one present, hex with `0x`, EIP-55 checked when
/// mixed-case) by [`ValidatorData::read`], checked by [`ValidatorData::flaws`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorData {
    /// The enode URL as given.
    pub enode: String,
    /// Its node id.
    pub enode_key: EnodeKey,
    /// The treasury the proof is made for.
    pub treasury: Address,
    /// The BLS consensus key.
    pub consensus_key: ConsensusKey,
    /// The oracle address.
    pub oracle_address: Address,
    /// The address the validator claims: must be the enode key's.
    pub validator_address: Address,
    /// The 226-byte ownership proof.
    pub ownership_proof: Vec<u8>,
}

/// What a [`ValidatorData`] check found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorFlaw {
    /// `validatorAddress` is not the address of the enode key.
    #[error("validatorAddress {claimed} is not the enode key's address {enode}")]
    ValidatorAddress {
        /// What the data says.
        claimed: Address,
        /// The enode key's address.
        enode: Address,
    },
    /// A part of the ownership proof does not verify.
    #[error("{part}: {flaw}", part = .0.part(), flaw = .0)]
    Proof(ProofFlaw),
}

/// Why genesis validator data could not be read, or does not hold.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorDataError {
    /// The file could not be read.
    #[error("cannot read validator data ({}: {source})", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Not JSON of the expected shape.
    #[error("bad validator data ({}: expected the JSON {{\"genesisValidatorData\": [{{enode, treasury, consensusKey, oracleAddress}}, {{validatorAddress, ownershipProof}}]}}: {source})", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What the JSON reader said.
        source: serde_json::Error,
    },
    /// The enode URL is malformed.
    #[error("bad validator data ({}: enode: {why})", path.display())]
    Enode {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: crate::genesis::rules::EnodeProblem,
    },
    /// A key, address or the proof is malformed.
    #[error("bad validator data ({}: {field}: {why})", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The JSON field, e.g. `consensusKey`.
        field: &'static str,
        /// What is wrong with it.
        why: KeyError,
    },
    /// Well-formed, but the proof or the validator address does not hold.
    #[error("validator data refused ({}: {})", path.display(), flaws.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused {
        /// The file.
        path: PathBuf,
        /// Every check that failed.
        flaws: Vec<ValidatorFlaw>,
    },
}

impl ValidatorDataError {
    /// [`crate::exit::SECURITY`] when the data does not hold, [`crate::exit::BAD_INPUT`] when
    /// it cannot be read.
    pub fn exit_code(&self) -> u8 {
        match self {
            ValidatorDataError::Refused { .. } => crate::exit::SECURITY,
            _ => crate::exit::BAD_INPUT,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorDataJson {
    #[serde(rename = "genesisValidatorData")]
    data: (GenesisValidatorJson, ProofJson),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GenesisValidatorJson {
    enode: String,
    treasury: String,
    consensus_key: String,
    oracle_address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProofJson {
    validator_address: String,
    ownership_proof: String,
}

impl ValidatorData {
    /// Read and parse the file at `path` (see [`ValidatorData`] for the shape).
    pub fn read(path: &Path) -> Result<ValidatorData, ValidatorDataError> {
        let text =
            crate::localfile::read_to_string_or_stdin(path, crate::localfile::Kind::ValidatorData)
                .map_err(|source| ValidatorDataError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
        ValidatorData::parse(&text, path)
    }

    /// Parse `text`; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ValidatorData, ValidatorDataError> {
        let json: ValidatorDataJson =
            serde_json::from_str(text).map_err(|source| ValidatorDataError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        let (g, p) = json.data;
        let field = |field: &'static str| {
            move |why: KeyError| ValidatorDataError::Field {
                path: path.to_path_buf(),
                field,
                why,
            }
        };
        let enode =
            crate::genesis::Enode::parse(&g.enode).map_err(|why| ValidatorDataError::Enode {
                path: path.to_path_buf(),
                why,
            })?;
        let prefixed = |name: &'static str, s: &str| {
            if s.starts_with("0x") {
                Ok(())
            } else {
                Err(field(name)(KeyError::MissingPrefix))
            }
        };
        prefixed("consensusKey", &g.consensus_key)?;
        prefixed("ownershipProof", &p.ownership_proof)?;
        Ok(ValidatorData {
            enode_key: EnodeKey(enode.key),
            treasury: g.treasury.parse().map_err(field("treasury"))?,
            consensus_key: ConsensusKey::from_hex(&g.consensus_key)
                .map_err(field("consensusKey"))?,
            oracle_address: g.oracle_address.parse().map_err(field("oracleAddress"))?,
            validator_address: p
                .validator_address
                .parse()
                .map_err(field("validatorAddress"))?,
            ownership_proof: hexfmt::parse_fixed::<POP_LEN>(&p.ownership_proof, true)
                .map_err(|e| field("ownershipProof")(KeyError::Hex(e)))?
                .to_vec(),
            enode: g.enode,
        })
    }

    /// Every check that fails, in this order: the validator address against the enode key,
    /// then the proof's node, oracle and BLS parts ([`ownership_proof_flaws`]). Empty when
    /// the data holds.
    pub fn flaws(&self) -> Vec<ValidatorFlaw> {
        let mut out = Vec::new();
        let enode = self.enode_key.address();
        if self.validator_address != enode {
            out.push(ValidatorFlaw::ValidatorAddress {
                claimed: self.validator_address,
                enode,
            });
        }
        out.extend(
            ownership_proof_flaws(
                &self.ownership_proof,
                &self.treasury,
                &self.enode_key,
                &self.oracle_address,
                &self.consensus_key,
            )
            .into_iter()
            .map(ValidatorFlaw::Proof),
        );
        out
    }

    /// [`ValidatorData::read`] then [`ValidatorData::flaws`]: the data when every check holds.
    pub fn verify_file(path: &Path) -> Result<ValidatorData, ValidatorDataError> {
        let data = ValidatorData::read(path)?;
        match data.flaws() {
            flaws if flaws.is_empty() => Ok(data),
            flaws => Err(ValidatorDataError::Refused {
                path: path.to_path_buf(),
                flaws,
            }),
        }
    }
}

/// Create a key directory (and its parents) with mode 0700, unless it exists.
pub fn create_key_dir(dir: &Path) -> Result<(), IdentityError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|source| IdentityError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Write `bytes` to `path` with mode 0600 via a temporary file in the same directory, then
/// hard-link it into place (fails if `path` exists: never overwrites), then drop the temp name.
pub fn write_no_clobber(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    crate::atomic::write_new(path, bytes, 0o600).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            IdentityError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            IdentityError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key file as the client and `keygen` leave it: readable by its owner only.
    fn write_key(path: impl AsRef<Path>, text: impl AsRef<[u8]>) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        fs::write(path.as_ref(), text)?;
        fs::set_permissions(path.as_ref(), fs::Permissions::from_mode(0o600))
    }

    fn one() -> [u8; 32] {
        let mut k = [0u8; 32];
        k[31] = 1;
        k
    }

    #[test]
    fn private_key_one_gives_known_address() {
        // Sanity vector from autonity.md / the Ethereum community: key 1 -> 0x7e5f...5bdf.
        let id = Identity::from_secrets(&one(), None).unwrap();
        assert_eq!(
            id.public().node_address.to_string(),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
        // The enode id of key 1 is the generator point G (SEC 2, section 2.4.1).
        assert_eq!(
            id.public().enode_key.to_string(),
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
             483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
        );
    }

    #[test]
    fn enode_known_answer_from_py_ecc() {
        // py_ecc 8.0.0: secp256k1.privtopub(b"\x42" * 32), X and Y as 64 hex digits each.
        let id = Identity::from_secrets(&[0x42; 32], None).unwrap();
        assert_eq!(
            id.public().enode_key.to_string(),
            "24653eac434488002cc06bbfb7f10fe18991e35f9fe4302dbea6d2353dc0ab1c\
             119fc5009a032aa9fe47f5e149bb8442f71f884ccb516590686d8ff6ab91c613"
        );
    }

    #[test]
    fn eip55_checksums() {
        // Test vectors from EIP-55.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.checksummed(), s);
        }
        assert_eq!(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD".parse::<Address>(),
            Err(KeyError::Checksum)
        );
        assert!("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
            .parse::<Address>()
            .is_ok());
        assert_eq!(
            "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".parse::<Address>(),
            Err(KeyError::MissingPrefix)
        );
    }

    #[test]
    fn enode_key_must_be_on_curve() {
        let g = Identity::from_secrets(&one(), None)
            .unwrap()
            .public()
            .enode_key;
        assert_eq!(EnodeKey::from_hex(&g.to_string()).unwrap(), g);
        let mut bad = g.0;
        bad[63] ^= 1;
        assert_eq!(
            EnodeKey::from_hex(&hex::encode(bad)),
            Err(KeyError::NotOnCurve)
        );
        assert!(matches!(
            EnodeKey::from_hex(&format!("0x{g}")),
            Err(KeyError::Hex(_))
        ));
        assert!(matches!(
            EnodeKey::from_hex(&g.to_string()[..126]),
            Err(KeyError::Hex(HexError::Length { .. }))
        ));
    }

    #[test]
    fn bls_public_key_known_answer() {
        // Secret key 1 gives the G1 generator: x = 0x17f1d3a7...c6bb from
        // draft-irtf-cfrg-pairing-friendly-curves-11 section 4.2.1, compression flag 0x80 set
        // (ZCash serialisation). Cross-checked with py_ecc 8.0.0 `G2ProofOfPossession.SkToPk(1)`.
        let id = Identity::from_secrets(&one(), Some((&one(), &one()))).unwrap();
        assert_eq!(
            id.public().consensus_key.unwrap().to_string(),
            "0x97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
        );
    }

    #[test]
    fn bls_known_answers_from_py_ecc() {
        // Expected value computed independently with the PyPI package py_ecc 8.0.0:
        //   G2ProofOfPossession.SkToPk(0x42 * 32 bytes)
        // (The ownership proof itself is checked against the client's own proofs in
        // tests/ownership_proof.rs.)
        let id = Identity::from_secrets(&one(), Some((&[0x42; 32], &one()))).unwrap();
        assert_eq!(
            id.public().consensus_key.unwrap().to_string(),
            "0xb5b99c967e4c69822f427db1f6871dd119afb95ab9646ba2e707990a3db31777a59b66f69e89c2055699b0ade7357eae"
        );
    }

    #[test]
    fn proof_parts_sign_the_client_messages() {
        // Each part verifies over the message the client uses, and not over the messages an
        // earlier layout used (keccak-256 of the treasury; the raw treasury).
        let id = Identity::generate(Profile::V1);
        let p = id.public();
        let tr = Address([0x5a; 20]);
        let proof = id.ownership_proof(&tr).unwrap();
        let node: [u8; 65] = proof[..65].try_into().unwrap();
        let oracle: [u8; 65] = proof[65..130].try_into().unwrap();
        assert!(signed_by(&pop_message_hash(&tr), &node, &p.enode_key).unwrap());
        assert!(!signed_by(&keccak256(&tr.0), &node, &p.enode_key).unwrap());
        assert_eq!(
            recover_signer(&pop_message_hash(&tr), &oracle)
                .unwrap()
                .address(),
            p.oracle_address.unwrap()
        );
        let ck = p.consensus_key.unwrap();
        let pk = blst::min_pk::PublicKey::from_bytes(&ck.0).unwrap();
        let sig = blst::min_pk::Signature::from_bytes(&proof[130..]).unwrap();
        let ok = |msg: &[u8]| {
            sig.verify(true, msg, BLS_POP_DST, &[], &pk, true) == blst::BLST_ERROR::BLST_SUCCESS
        };
        assert!(ok(&bls_pop_message(&tr, &ck.0)));
        assert!(!ok(&tr.0));
        assert!(!ok(&keccak256(&tr.0)));
        // blake2b-256 of the treasury alone, or of the key before the treasury, is not it.
        let mut alone = Blake2b::<U32>::new();
        Digest::update(&mut alone, tr.0);
        assert!(!ok(&alone.finalize()));
        let mut swapped = Blake2b::<U32>::new();
        Digest::update(&mut swapped, ck.0);
        Digest::update(&mut swapped, tr.0);
        assert!(!ok(&swapped.finalize()));
    }

    #[test]
    fn pop_message_hash_is_eip191_of_the_address_bytes() {
        let tr = Address([0xab; 20]);
        let mut m = b"\x19Ethereum Signed Message:\n20".to_vec();
        m.extend_from_slice(&tr.0);
        assert_eq!(m.len(), 28 + 20);
        assert_eq!(pop_message_hash(&tr), keccak256(&m));
    }

    #[test]
    fn consensus_key_validation() {
        let id = Identity::generate(Profile::V1);
        let ck = id.public().consensus_key.unwrap();
        assert_eq!(ConsensusKey::from_hex(&ck.to_string()).unwrap(), ck);
        let mut bad = ck.0;
        bad[47] ^= 0x55;
        assert!(ConsensusKey::from_bytes(bad).is_err());
        // The identity (point at infinity) is refused.
        let mut inf = [0u8; 48];
        inf[0] = 0xc0;
        assert!(ConsensusKey::from_bytes(inf).is_err());
    }

    #[test]
    fn recovery_agrees_with_k256() {
        use k256::ecdsa::RecoveryId;
        for i in 0..32u8 {
            let key = random_secp();
            let h = keccak256(&[i; 7]);
            let sig = sign_with(&key, &h);
            let s = Signature::from_slice(&sig[..64]).unwrap();
            let expected =
                VerifyingKey::recover_from_prehash(&h, &s, RecoveryId::from_byte(sig[64]).unwrap())
                    .unwrap();
            assert_eq!(recover_signer(&h, &sig).unwrap(), EnodeKey::of(&expected));
            assert_eq!(EnodeKey::of(&expected), EnodeKey::of(key.verifying_key()));
            // The other parity recovers another key (or none), never the signer.
            let mut flipped = sig;
            flipped[64] ^= 1;
            assert_ne!(
                recover_signer(&h, &flipped).ok(),
                Some(EnodeKey::of(key.verifying_key()))
            );
        }
    }

    #[test]
    fn signature_round_trip_and_recovery() {
        let id = Identity::generate(Profile::V07);
        let h = keccak256(b"hello");
        let sig = id.sign_prehash(&h);
        assert!(sig[64] <= 1);
        assert_eq!(recover_signer(&h, &sig).unwrap(), id.public().enode_key);
        let mut sig27 = sig;
        sig27[64] += 27;
        assert_eq!(recover_signer(&h, &sig27).unwrap(), id.public().enode_key);
        let other = keccak256(b"hellp");
        assert_ne!(
            recover_signer(&other, &sig).ok(),
            Some(id.public().enode_key)
        );
        let mut bad = sig;
        bad[64] = 5;
        assert_eq!(recover_signer(&h, &bad), Err(KeyError::BadSignature));
    }

    /// The recovery k256 ships (which verifies again after recovering), for comparison.
    fn k256_recover(prehash: &[u8; 32], sig: &[u8; 65]) -> Option<EnodeKey> {
        let v = match sig[64] {
            0 | 27 => 0,
            1 | 28 => 1,
            _ => return None,
        };
        let s = Signature::from_slice(&sig[..64]).ok()?;
        if s.normalize_s().is_some() {
            return None;
        }
        let recid = k256::ecdsa::RecoveryId::from_byte(v)?;
        VerifyingKey::recover_from_prehash(prehash, &s, recid)
            .ok()
            .map(|vk| EnodeKey::of(&vk))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn recovery_and_signed_by_agree_with_k256(
            secret in proptest::prelude::any::<[u8; 32]>(),
            msg in proptest::prelude::any::<[u8; 32]>(),
            flip in 0usize..70,
            other in proptest::prelude::any::<[u8; 32]>(),
        ) {
            let Ok(id) = Identity::from_secrets(&secret, None) else { return Ok(()) };
            let key = id.public().enode_key;
            let mut sig = id.sign_prehash(&msg);
            // Untouched, one byte changed (r, s or v), or v moved to 27/28.
            match flip {
                0..=64 => sig[flip] ^= 1 << (flip % 8),
                65 => sig[64] += 27,
                _ => {}
            }
            let ours = recover_signer(&msg, &sig).ok();
            proptest::prop_assert_eq!(ours, k256_recover(&msg, &sig));
            match signed_by(&msg, &sig, &key) {
                Ok(b) => proptest::prop_assert_eq!(b, ours == Some(key)),
                Err(_) => proptest::prop_assert!(ours.is_none()),
            }
            // Another key and another message never pass.
            let o = Identity::from_secrets(&other, None).map(|i| i.public().enode_key);
            if let Ok(o) = o {
                if o != key {
                    proptest::prop_assert_eq!(signed_by(&msg, &sig, &o).unwrap_or(false), ours == Some(o));
                }
            }
            if flip > 65 {
                proptest::prop_assert!(signed_by(&msg, &sig, &key).unwrap());
                proptest::prop_assert!(!signed_by(&other, &sig, &key).unwrap());
            }
        }
    }

    #[test]
    fn keccak_known_answer() {
        // keccak256("") from the Keccak team's reference.
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn ownership_proof_verifies() {
        let id = Identity::generate(Profile::V1);
        let p = id.public();
        let tr: Address = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
            .parse()
            .unwrap();
        let proof = id.ownership_proof(&tr).unwrap();
        assert_eq!(proof.len(), 226);
        let (oracle, ck) = (p.oracle_address.unwrap(), p.consensus_key.unwrap());
        let check = |proof: &[u8], treasury: &Address| {
            verify_ownership_proof(proof, treasury, &p.enode_key, &oracle, &ck)
        };
        check(&proof, &tr).unwrap();
        assert!(check(&proof, &Address([9; 20])).is_err());
        // Each of the three signatures is checked: swap in another identity's part.
        let stranger = Identity::generate(Profile::V1)
            .ownership_proof(&tr)
            .unwrap();
        for (part, range, flaw) in [
            ("node", 0..65, ProofFlaw::NodeSignature),
            ("oracle", 65..130, ProofFlaw::OracleSignature),
            ("bls", 130..226, ProofFlaw::BlsSignature),
        ] {
            let mut bad = proof.clone();
            bad[range.clone()].copy_from_slice(&stranger[range]);
            assert_eq!(check(&bad, &tr), Err(KeyError::Proof(flaw)), "{part}");
        }
        // A BLS signature that is not a point of G2 (the identity) is refused.
        let mut inf = proof.clone();
        inf[130..].fill(0);
        inf[130] = 0xc0;
        assert_eq!(
            check(&inf, &tr),
            Err(KeyError::Proof(ProofFlaw::BlsEncoding))
        );
        assert_eq!(
            check(&proof[..225], &tr),
            Err(KeyError::Proof(ProofFlaw::Length))
        );
        assert!(Identity::generate(Profile::V07)
            .ownership_proof(&tr)
            .is_none());
    }

    #[test]
    fn batched_pairings_agree_with_single_checks() {
        let tr = Address([0x33; 20]);
        let mut good = Vec::new();
        for _ in 0..5 {
            let id = Identity::generate(Profile::V1);
            let p = id.public();
            let proof = id.ownership_proof(&tr).unwrap();
            good.push(
                check_ownership_proof_except_pairing(
                    &proof,
                    &tr,
                    &p.enode_key,
                    &p.oracle_address.unwrap(),
                    &p.consensus_key.unwrap(),
                )
                .unwrap(),
            );
        }
        assert!(good.iter().all(PopPairing::verify));
        assert!(PopPairing::verify_batch(&good));
        assert!(PopPairing::verify_batch(&good[..1]));
        assert!(PopPairing::verify_batch(&[]));
        // A BLS part made by another key: every other check passes, the pairing does not,
        // alone or hidden in a batch.
        let id = Identity::generate(Profile::V1);
        let p = id.public();
        let mut proof = id.ownership_proof(&tr).unwrap();
        let stranger = Identity::generate(Profile::V1)
            .ownership_proof(&tr)
            .unwrap();
        proof[130..].copy_from_slice(&stranger[130..]);
        let bad = check_ownership_proof_except_pairing(
            &proof,
            &tr,
            &p.enode_key,
            &p.oracle_address.unwrap(),
            &p.consensus_key.unwrap(),
        )
        .unwrap();
        assert!(!bad.verify());
        let mut mixed = good.clone();
        mixed.insert(2, bad);
        assert!(!PopPairing::verify_batch(&mixed));
        assert!(!PopPairing::verify_batch(&[bad, good[0]]));
    }

    #[test]
    fn write_then_load_round_trip_and_refuse_overwrite() {
        for profile in [Profile::V1, Profile::V07] {
            let dir = tempfile::tempdir().unwrap();
            let id = Identity::generate(profile);
            let files = id.write_new(dir.path()).unwrap();
            #[cfg(unix)]
            for f in &files {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", f.display());
            }
            let back = Identity::load(dir.path()).unwrap();
            assert_eq!(back.public(), id.public());
            assert_eq!(back.profile(), profile);
            let before: Vec<_> = files.iter().map(|f| fs::read(f).unwrap()).collect();
            let other = Identity::generate(profile);
            assert!(matches!(
                other.write_new(dir.path()),
                Err(IdentityError::Exists { .. })
            ));
            let after: Vec<_> = files.iter().map(|f| fs::read(f).unwrap()).collect();
            assert_eq!(before, after);
            // No temporary files left behind.
            assert_eq!(fs::read_dir(dir.path()).unwrap().count(), files.len());
        }
    }

    #[test]
    fn partial_existing_target_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(files::ORACLEKEY), "x").unwrap();
        let id = Identity::generate(Profile::V1);
        assert!(matches!(
            id.write_new(dir.path()),
            Err(IdentityError::Exists { .. })
        ));
        assert!(!dir.path().join(files::AUTONITYKEYS).exists());
    }

    #[test]
    fn load_accepts_client_style_files_and_names_defects() {
        let dir = tempfile::tempdir().unwrap();
        // No newline: accepted, as by the client.
        write_key(dir.path().join(files::NODEKEY), hex::encode(one())).unwrap();
        let id = Identity::load(dir.path()).unwrap();
        assert_eq!(
            id.public().node_address.to_string(),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
        // A 0x prefix: refused, naming the file and the client.
        write_key(
            dir.path().join(files::NODEKEY),
            format!("0x{}\n", hex::encode(one())),
        )
        .unwrap();
        let e = Identity::load(dir.path()).unwrap_err();
        assert!(
            matches!(
                e,
                IdentityError::Format {
                    why: KeyError::File(KeyFileFlaw::Prefix0x { digits: 64 }),
                    ..
                }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("nodekey") && text.contains("client refuses") && text.contains("0x"),
            "{text}"
        );
        write_key(dir.path().join(files::NODEKEY), "00".repeat(32)).unwrap();
        let e = Identity::load(dir.path()).unwrap_err();
        assert!(
            matches!(
                e,
                IdentityError::Format {
                    why: KeyError::BadSecret,
                    ..
                }
            ),
            "{e}"
        );
        write_key(dir.path().join(files::NODEKEY), "zz".repeat(32)).unwrap();
        let e = Identity::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("nodekey") && e.contains("node key"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            Identity::load(empty.path()),
            Err(IdentityError::NoKeys { .. })
        ));
    }

    #[test]
    fn open_key_files_are_refused_unless_allowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let nk = dir.path().join(files::NODEKEY);
        write_key(&nk, hex::encode(one())).unwrap();
        assert!(Identity::load(dir.path()).is_ok());
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602] {
            fs::set_permissions(&nk, fs::Permissions::from_mode(mode)).unwrap();
            let e = Identity::load(dir.path()).unwrap_err();
            assert!(
                matches!(&e, IdentityError::TooOpen { mode: m, .. } if *m == mode),
                "{e}"
            );
            assert!(
                e.to_string().starts_with(&format!(
                    "permissions 0{mode:o} for '{}' are too open",
                    nk.display()
                )),
                "{e}"
            );
            let loaded = Identity::load_with(dir.path(), KeyPermissions::AllowOpen).unwrap();
            assert_eq!(
                loaded.open_files,
                vec![OpenKeyFile {
                    path: nk.clone(),
                    mode
                }]
            );
        }
        fs::set_permissions(&nk, fs::Permissions::from_mode(0o400)).unwrap();
        let loaded = Identity::load_with(dir.path(), KeyPermissions::AllowOpen).unwrap();
        assert!(loaded.open_files.is_empty());
    }

    #[test]
    fn inspect_reads_a_client_data_directory_with_autonitykeys_alone() {
        // The client's layout: <datadir>/autonity/autonitykeys, 128 hex digits, no newline.
        let data = tempfile::tempdir().unwrap();
        let inst = data.path().join(CLIENT_INSTANCE_DIR);
        fs::create_dir(&inst).unwrap();
        let full = Identity::from_secrets(&one(), Some((&[7u8; 32], &[9u8; 32]))).unwrap();
        write_key(
            inst.join(files::AUTONITYKEYS),
            format!("{}{}", hex::encode(one()), hex::encode([7u8; 32])),
        )
        .unwrap();
        assert!(matches!(
            Identity::load(data.path()),
            Err(IdentityError::NoKeys { .. })
        ));
        let shown = Identity::inspect(data.path(), KeyPermissions::OwnerOnly).unwrap();
        assert_eq!(shown.dir, inst);
        assert_eq!(shown.profile, Profile::V1);
        assert_eq!(shown.public.enode_key, full.public().enode_key);
        assert_eq!(shown.public.consensus_key, full.public().consensus_key);
        assert_eq!(shown.public.oracle_address, None);
        assert_eq!(shown.missing.len(), 1);
        assert_eq!(shown.missing[0].path, inst.join(files::ORACLEKEY));
        assert!(shown.missing[0].needed_for.contains("genesis"));
        // An oracle key beside the data directory completes it.
        write_key(data.path().join(files::ORACLEKEY), hex::encode([9u8; 32])).unwrap();
        let shown = Identity::inspect(data.path(), KeyPermissions::OwnerOnly).unwrap();
        assert_eq!(shown.public, full.public());
        assert!(shown.missing.is_empty());
    }

    #[test]
    fn key_files_follow_the_client_rules() {
        // Each case was also given to autonity 0.14.0 `genOwnershipProof --oraclekey FILE`:
        // accepted ones gave the proof, refused ones the error quoted.
        let k = "8bc5a641754df2ef4754b7ac0a3125a1e02e2d2f9fcea07976854a77e49653a4";
        let want = hexfmt::parse_fixed::<32>(k, false).unwrap();
        let accepted = [
            k.to_string(),
            format!("{k}\n"),
            format!("{k}\r\n"),
            format!("{k}\n\n"),
            format!("{}\n", k.to_ascii_uppercase()),
        ];
        for text in accepted {
            assert_eq!(parse_key_file::<32>(text.as_bytes()), Ok(want), "{text:?}");
        }
        let refused = [
            // "invalid character 'a' at end of key file"
            (format!("0x{k}\n"), KeyFileFlaw::Prefix0x { digits: 64 }),
            (format!("0X{k}"), KeyFileFlaw::Prefix0x { digits: 64 }),
            // "key file too long, want 64 hex characters"
            (format!("{k}\n\n\n"), KeyFileFlaw::TooLong { expected: 64 }),
            // "invalid character ' ' at end of key file"
            (
                format!("{k} \n"),
                KeyFileFlaw::Trailing {
                    ch: ' ',
                    expected: 64,
                },
            ),
            (
                format!("{k}\t"),
                KeyFileFlaw::Trailing {
                    ch: '\t',
                    expected: 64,
                },
            ),
            (
                format!("{k}00\n"),
                KeyFileFlaw::Trailing {
                    ch: '0',
                    expected: 64,
                },
            ),
            // "key file too short, want 64 hex characters"
            (
                format!("\n{k}"),
                KeyFileFlaw::TooShort {
                    expected: 64,
                    found: 0,
                },
            ),
            (
                format!("{} {}", &k[..10], &k[10..]),
                KeyFileFlaw::TooShort {
                    expected: 64,
                    found: 10,
                },
            ),
            (
                k[..62].to_string(),
                KeyFileFlaw::TooShort {
                    expected: 64,
                    found: 62,
                },
            ),
            (
                format!("{}g", &k[..63]),
                KeyFileFlaw::Digit { ch: 'g', pos: 63 },
            ),
        ];
        for (text, flaw) in refused {
            assert_eq!(parse_key_file::<32>(text.as_bytes()), Err(flaw), "{text:?}");
        }
    }

    #[test]
    fn keygen_files_are_what_the_client_reads() {
        // The client's SaveAutonityKeys writes the 128 digits without a newline; ours add one,
        // which its loader skips. Both must come back as the same keys.
        let dir = tempfile::tempdir().unwrap();
        let id = Identity::generate(Profile::V1);
        id.write_new(dir.path()).unwrap();
        let ak = fs::read(dir.path().join(files::AUTONITYKEYS)).unwrap();
        assert_eq!(ak.len(), 129);
        assert_eq!(ak[128], b'\n');
        assert!(ak[..128]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
        assert!(parse_key_file::<64>(&ak).is_ok());
        assert!(
            parse_key_file::<32>(&fs::read(dir.path().join(files::ORACLEKEY)).unwrap()).is_ok()
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let id = Identity::from_secrets(&[0x42; 32], Some((&[0x43; 32], &[0x44; 32]))).unwrap();
        let d = format!("{id:?}");
        assert!(!d.contains(&"42".repeat(32)) && !d.contains(&"43".repeat(32)));
        assert!(!d.contains(&"44".repeat(32)));
        assert!(d.contains(&id.public().enode_key.to_string()));
    }
}
