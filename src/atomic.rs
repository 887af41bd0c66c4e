//! Writing files so that a reader never sees a partial one: the bytes go to a temporary file
//! in the same directory, are flushed to disk, then put in place in one step.
//!
//! Every room that writes a file (keys, manifests, genesis, state, reports) calls these two;
//! each maps the `io::Error` into its own error type, naming the file.
//!
//! # Limitations
//! The directory itself is not fsynced after the rename or link.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary name beside `path`, unique per process and call.
fn temp_beside(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// Write the temporary file (`mode` on Unix), flushed to disk, then `place` it; the
/// temporary name is always removed.
fn write_then(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    place: impl FnOnce(&Path, &Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_beside(path);
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        place(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Create `path` with `bytes` and permission `mode`; never overwrites: an existing `path`
/// (even a dangling link) gives `ErrorKind::AlreadyExists` and is left as it was.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_then(path, bytes, mode, |tmp, path| std::fs::hard_link(tmp, path))
}

/// Create or replace `path` with `bytes` in one rename; an existing file keeps its permissions,
/// a new one gets mode 0644. Missing parent directories are created. An existing `path` that
/// is not a regular file (a FIFO, a device, a directory) is refused and left as it was.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::localfile::check_output(path)?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let keep = std::fs::metadata(path).ok().map(|m| m.permissions());
    write_then(path, bytes, 0o644, |tmp, path| {
        if let Some(p) = keep {
            std::fs::set_permissions(tmp, p)?;
        }
        std::fs::rename(tmp, path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_never_overwrites_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k");
        write_new(&p, b"one", 0o600).unwrap();
        let e = write_new(&p, b"two", 0o600).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_keeps_permissions_and_creates_directories() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/f");
        replace(&p, b"one").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        replace(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn replace_refuses_a_fifo_and_leaves_it() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out");
        let st = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
        let e = replace(&p, b"x").unwrap_err();
        assert!(crate::localfile::LocalFileError::of(&e).is_some(), "{e}");
        assert!(std::fs::metadata(&p).unwrap().file_type().is_fifo());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
