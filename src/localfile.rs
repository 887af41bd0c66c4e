//! The one way the tool reads a local file: only regular files (or `-` for standard input
//! where a command says so), refused before anything can block, read with a size cap per kind
//! of file.
//!
//! A FIFO with no writer, a device (`/dev/zero`), a directory or a socket given where a file is
//! expected is refused at once: the file is opened with `O_NONBLOCK` (opening a FIFO for reading
//! then returns at once instead of waiting for a writer) and checked with `fstat` on the open
//! descriptor, so what is checked is what is read. A regular file is read through a bound
//! (`cap + 1` bytes at most), so a huge file, or one that grows while it is read, cannot
//! exhaust memory.
//!
//! Failures come back as [`std::io::Error`]s that carry a [`LocalFileError`] (see
//! [`LocalFileError::of`]), so each room keeps its own `Read { path, source: io::Error }` error
//! and its exit status, and the line it prints says what was wrong ("a FIFO, not a regular
//! file", "too large: ...").
//!
//! [`quote`] is how error lines quote input: escaped (control and bidirectional characters
//! shown as escapes) and short, so a 3 MB garbage line gives a short error line.
//!
//! Output paths: [`check_output`] refuses an existing target that is not a regular file
//! (`crate::atomic` calls it before writing).

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// What a file is for; each kind has its own size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The ceremony manifest (TOML).
    Manifest,
    /// A trust anchor file (zone-file lines or BIND blocks).
    Anchor,
    /// A TSIG key file.
    TsigKey,
    /// A validator key file (`autonitykeys`, `oraclekey`, `nodekey`) or a manifest signing key.
    KeyFile,
    /// A genesis template.
    Template,
    /// A genesis file (one we wrote, or one to compare with).
    Genesis,
    /// A state or record file the tool itself keeps in its data directory.
    State,
    /// Genesis validator data exchanged outside DNS (`keys verify-proof`).
    ValidatorData,
}

impl Kind {
    /// The largest file of this kind that is read, in bytes.
    pub const fn cap(self) -> u64 {
        match self {
            // Room for tens of thousands of organisations.
            Kind::Manifest => 16 << 20,
            // The IANA root anchors are a few hundred bytes; room for many zones' keys.
            Kind::Anchor => 1 << 20,
            Kind::TsigKey => 64 << 10,
            // 128 hex digits and a line end; generous for hand-edited files.
            Kind::KeyFile => 4 << 10,
            // Genesis files carry allocations and contract code.
            Kind::Template | Kind::Genesis => 64 << 20,
            Kind::State => 1 << 20,
            Kind::ValidatorData => 1 << 20,
        }
    }

    /// The kind in words, for error lines.
    pub const fn what(self) -> &'static str {
        match self {
            Kind::Manifest => "manifest",
            Kind::Anchor => "trust anchor",
            Kind::TsigKey => "TSIG key file",
            Kind::KeyFile => "key file",
            Kind::Template => "genesis template",
            Kind::Genesis => "genesis file",
            Kind::State => "state file",
            Kind::ValidatorData => "validator data",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what())
    }
}

/// What a path names when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRegular {
    /// A named pipe.
    Fifo,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A directory.
    Directory,
    /// A Unix socket.
    Socket,
    /// Anything else.
    Other,
}

impl NotRegular {
    fn of(meta: &Metadata) -> Option<NotRegular> {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_file() {
            None
        } else if t.is_fifo() {
            Some(NotRegular::Fifo)
        } else if t.is_char_device() {
            Some(NotRegular::CharDevice)
        } else if t.is_block_device() {
            Some(NotRegular::BlockDevice)
        } else if t.is_dir() {
            Some(NotRegular::Directory)
        } else if t.is_socket() {
            Some(NotRegular::Socket)
        } else {
            Some(NotRegular::Other)
        }
    }
}

impl fmt::Display for NotRegular {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotRegular::Fifo => "a FIFO",
            NotRegular::CharDevice => "a character device",
            NotRegular::BlockDevice => "a block device",
            NotRegular::Directory => "a directory",
            NotRegular::Socket => "a socket",
            NotRegular::Other => "not a file",
        })
    }
}

/// Why a local file was not read (or an output path not written).
#[derive(Debug, thiserror::Error)]
pub enum LocalFileError {
    /// The path names a FIFO, device, directory or socket.
    #[error("{found}, not a regular file (a {kind} must be a regular file)")]
    NotRegular {
        /// What the path names.
        found: NotRegular,
        /// What it was read as.
        kind: Kind,
    },
    /// The file is larger than its kind's cap.
    #[error("too large for a {kind} ({size} bytes or more; at most {cap})")]
    TooLarge {
        /// What it was read as.
        kind: Kind,
        /// The size seen (at least this many bytes).
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text (byte {offset}; a {kind} is text)")]
    NotUtf8 {
        /// What it was read as.
        kind: Kind,
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// An output path exists and is not a regular file: nothing was written.
    #[error("{found} is in the way (the output must be a regular file or not exist; nothing was written)")]
    OutputNotRegular {
        /// What the path names.
        found: NotRegular,
    },
}

impl LocalFileError {
    /// The `LocalFileError` carried by `e`, if it carries one.
    pub fn of(e: &io::Error) -> Option<&LocalFileError> {
        e.get_ref().and_then(|inner| inner.downcast_ref())
    }
}

impl From<LocalFileError> for io::Error {
    fn from(e: LocalFileError) -> io::Error {
        let kind = match e {
            LocalFileError::NotUtf8 { .. } => io::ErrorKind::InvalidData,
            LocalFileError::TooLarge { .. } => io::ErrorKind::FileTooLarge,
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// Open `path` for reading without blocking and check that it is a regular file no larger
/// than `kind`'s cap; the metadata is that of the open descriptor.
pub fn open(path: &Path, kind: Kind) -> io::Result<(File, Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if let Some(found) = NotRegular::of(&meta) {
        return Err(LocalFileError::NotRegular { found, kind }.into());
    }
    if meta.len() > kind.cap() {
        return Err(LocalFileError::TooLarge {
            kind,
            size: meta.len(),
            cap: kind.cap(),
        }
        .into());
    }
    Ok((file, meta))
}

fn read_bounded(mut r: impl Read, kind: Kind) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.by_ref().take(kind.cap() + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > kind.cap() {
        return Err(LocalFileError::TooLarge {
            kind,
            size: bytes.len() as u64,
            cap: kind.cap(),
        }
        .into());
    }
    Ok(bytes)
}

/// Read a regular file of `kind` (see the module doc).
pub fn read(path: &Path, kind: Kind) -> io::Result<Vec<u8>> {
    read_with_metadata(path, kind).map(|(bytes, _)| bytes)
}

/// [`read`], also giving the file's metadata (e.g. its permission bits).
pub fn read_with_metadata(path: &Path, kind: Kind) -> io::Result<(Vec<u8>, Metadata)> {
    let (file, meta) = open(path, kind)?;
    Ok((read_bounded(file, kind)?, meta))
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path, kind: Kind) -> io::Result<String> {
    text(read(path, kind)?, kind)
}

/// A TSIG key file as text ([`read_to_string`] with [`Kind::TsigKey`]).
pub fn read_tsig_key(path: &Path) -> io::Result<String> {
    read_to_string(path, Kind::TsigKey)
}

/// [`read_to_string`], except that the path `-` reads standard input (with the same cap).
/// Only for inputs that are read once and never written back.
pub fn read_to_string_or_stdin(path: &Path, kind: Kind) -> io::Result<String> {
    if is_stdin(path) {
        return text(read_bounded(io::stdin().lock(), kind)?, kind);
    }
    read_to_string(path, kind)
}

/// True when `path` is `-`, the name of standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn text(bytes: Vec<u8>, kind: Kind) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        LocalFileError::NotUtf8 {
            kind,
            offset: e.utf8_error().valid_up_to(),
        }
        .into()
    })
}

/// Refuse an output `path` that exists and is not a regular file (a FIFO, a device, a
/// directory): writing there could block or would not be a file. A missing path is fine.
pub fn check_output(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) => match NotRegular::of(&meta) {
            Some(found) => Err(LocalFileError::OutputNotRegular { found }.into()),
            None => Ok(()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The longest excerpt [`quote`] gives, in characters.
pub const QUOTE_MAX: usize = 40;

/// Quote input text for an error line: in double quotes, control, format and bidirectional
/// characters escaped (`\n`, `\u{202e}`), at most [`QUOTE_MAX`] characters of it followed by
/// `…(N bytes)` when it is longer.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for (shown, c) in s.chars().enumerate() {
        if shown == QUOTE_MAX {
            out.push_str(&format!("\"…({} bytes)", s.len()));
            return out;
        }
        if c == '"' || c == '\\' {
            out.push('\\');
            out.push(c);
        } else if is_unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Input text as it is where an error line already frames it (`key 'NAME'`): every character
/// [`is_unsafe_char`] names escaped (`\n`, `\u{202e}`), nothing cut, no quotes added.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// True for characters that must never reach a terminal raw from input: Unicode control
/// characters (Cc), the bidirectional controls (Bidi_Control: U+061C, U+200E, U+200F,
/// U+202A..U+202E, U+2066..U+2069) and the other invisible format characters (Cf), plus
/// line and paragraph separators.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The Unicode general category Cf (format), which holds every Bidi_Control character.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn mkfifo(path: &Path) {
        let st = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(st.success());
    }

    #[test]
    fn a_fifo_without_writer_is_refused_at_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pipe");
        mkfifo(&p);
        let start = Instant::now();
        // The read runs on its own thread so a regression fails the test instead of hanging.
        let (tx, rx) = std::sync::mpsc::channel();
        let p2 = p.clone();
        std::thread::spawn(move || tx.send(read(&p2, Kind::Anchor)).unwrap());
        let e = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reading a FIFO must not block")
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            LocalFileError::of(&e),
            Some(LocalFileError::NotRegular {
                found: NotRegular::Fifo,
                kind: Kind::Anchor
            })
        ));
        assert_eq!(
            e.to_string(),
            "a FIFO, not a regular file (a trust anchor must be a regular file)"
        );
    }

    #[test]
    fn devices_and_directories_are_refused() {
        let e = read(Path::new("/dev/zero"), Kind::Manifest).unwrap_err();
        assert!(matches!(
            LocalFileError::of(&e),
            Some(LocalFileError::NotRegular {
                found: NotRegular::CharDevice,
                ..
            })
        ));
        let d = tempfile::tempdir().unwrap();
        let e = read(d.path(), Kind::Manifest).unwrap_err();
        assert!(matches!(
            LocalFileError::of(&e),
            Some(LocalFileError::NotRegular {
                found: NotRegular::Directory,
                ..
            })
        ));
    }

    #[test]
    fn size_cap_is_exact() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k");
        std::fs::write(&p, vec![b'a'; Kind::KeyFile.cap() as usize]).unwrap();
        assert_eq!(
            read(&p, Kind::KeyFile).unwrap().len() as u64,
            Kind::KeyFile.cap()
        );
        std::fs::write(&p, vec![b'a'; Kind::KeyFile.cap() as usize + 1]).unwrap();
        let e = read(&p, Kind::KeyFile).unwrap_err();
        assert!(matches!(
            LocalFileError::of(&e),
            Some(LocalFileError::TooLarge {
                size: 4097,
                cap: 4096,
                ..
            })
        ));
        // The bound on the reader itself, for input whose size is not known in advance.
        let e = read_bounded(io::repeat(0), Kind::KeyFile).unwrap_err();
        assert!(matches!(
            LocalFileError::of(&e),
            Some(LocalFileError::TooLarge { size: 4097, .. })
        ));
    }

    #[test]
    fn not_utf8_names_the_offset() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m");
        std::fs::write(&p, b"abc\xffdef").unwrap();
        let e = read_to_string(&p, Kind::Manifest).unwrap_err();
        assert_eq!(e.to_string(), "not UTF-8 text (byte 3; a manifest is text)");
    }

    #[test]
    fn output_paths_that_are_not_regular_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        mkfifo(&fifo);
        assert!(check_output(&fifo).is_err());
        assert!(check_output(d.path()).is_err());
        assert!(check_output(&d.path().join("new")).is_ok());
        std::fs::write(d.path().join("f"), b"x").unwrap();
        assert!(check_output(&d.path().join("f")).is_ok());
    }

    #[test]
    fn quote_escapes_and_shortens() {
        assert_eq!(quote("org\u{202e}1"), "\"org\\u{202e}1\"");
        assert_eq!(quote("a\nb\"c"), "\"a\\nb\\\"c\"");
        let long = "x".repeat(3_000_000);
        let q = quote(&long);
        assert!(q.len() < 80, "{q}");
        assert!(q.ends_with("…(3000000 bytes)"), "{q}");
        for c in [
            '\u{200e}', '\u{2066}', '\u{061c}', '\u{feff}', '\u{7f}', '\u{85}',
        ] {
            assert!(is_unsafe_char(c), "{c:?}");
        }
        for c in ['a', 'é', 'ß', '日', ' '] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
    }
}
