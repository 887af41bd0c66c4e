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
    /// A TSIG key file is unusable.
    #[error(transparent)]
    TsigKey(#[from] crate::dns::tsig::TsigError),
    /// Publishing (zone discovery, update, read-back) failed.
    #[error(transparent)]
    Update(Box<crate::dns::update::UpdateError>),
}

impl Error {
    /// The exit status this failure ends the program with (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Read { .. } => exit::BAD_INPUT,
            Error::Write { .. } => exit::LOCAL,
            Error::Usage { .. } => exit::BAD_INPUT,
            Error::TsigKey(_) => exit::BAD_INPUT,
            Error::Update(e) => e.exit_code(),
        }
    }
}

impl From<crate::dns::update::UpdateError> for Error {
    fn from(e: crate::dns::update::UpdateError) -> Self {
        Error::Update(Box::new(e))
    }
}
