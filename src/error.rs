//! The library's top-level error: one variant per room, each carrying that room's
//! structured error, and the exit status each maps to.
//!
//! Rooms add their own variant here (with `#[from]`) and a line in [`Error::exit_code`].

use std::path::PathBuf;

use crate::exit;

/// Any failure the library reports to the command-line layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A local file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A command-line value is unusable (clap checked its form; this is its meaning).
    #[error("bad value for {flag}: {why}")]
    Usage {
        /// The flag, e.g. `--org`.
        flag: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The manifest is malformed, unsigned where a signature is demanded, or cannot be written.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// Key files are malformed, missing, or would be overwritten.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    /// Published records are malformed or do not verify.
    #[error(transparent)]
    Records(#[from] crate::records::RecordError),
    /// The genesis could not be built, or a genesis file breaks the client's rules.
    #[error(transparent)]
    Genesis(#[from] crate::genesis::GenesisError),
    /// A JSON-RPC exchange with the node failed.
    #[error(transparent)]
    Rpc(#[from] crate::rpc::RpcError),
    /// The Autonity client could not be started or failed.
    #[error(transparent)]
    Node(#[from] crate::node::NodeError),
    /// The ceremony stopped (not secure, deadline, genesis mismatch, state file, client).
    #[error(transparent)]
    Ceremony(#[from] crate::ceremony::CeremonyError),
    /// A TSIG key file is unusable.
    #[error(transparent)]
    TsigKey(#[from] crate::dns::tsig::TsigError),
    /// Publishing (zone discovery, update, read-back) failed.
    #[error(transparent)]
    Update(Box<crate::dns::update::UpdateError>),
    /// A trust anchor file is unreadable or malformed.
    #[error(transparent)]
    Anchor(#[from] crate::dns::anchor::AnchorError),
    /// An audit could not be carried out (bad anchor, bad zone name, no root server answered).
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

impl Error {
    /// The exit status this failure ends the program with (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Read { .. } => exit::BAD_INPUT,
            Error::Write { .. } => exit::LOCAL,
            Error::Usage { .. } => exit::BAD_INPUT,
            Error::Manifest(e) if e.is_local_write() => exit::LOCAL,
            Error::Manifest(_) => exit::BAD_INPUT,
            Error::Identity(e) if e.is_local() => exit::LOCAL,
            Error::Identity(_) => exit::BAD_INPUT,
            Error::Records(e) if e.is_missing() => exit::PENDING,
            Error::Records(_) => exit::SECURITY,
            Error::Genesis(e) => e.exit_code(),
            Error::Rpc(_) => exit::NETWORK,
            Error::Node(e) => e.exit_code(),
            Error::Ceremony(e) => e.exit_code(),
            Error::TsigKey(_) => exit::BAD_INPUT,
            Error::Update(e) => e.exit_code(),
            Error::Anchor(_) => exit::BAD_INPUT,
            Error::Audit(e) => e.exit_code(),
        }
    }
}

impl From<crate::dns::update::UpdateError> for Error {
    fn from(e: crate::dns::update::UpdateError) -> Self {
        Error::Update(Box::new(e))
    }
}
