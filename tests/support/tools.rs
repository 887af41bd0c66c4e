//! Programs the publish suite starts: each must be installed (a missing one fails the test
//! with the package to install, never skips it), and runs with its output captured.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// The path of `program` on PATH (or in /usr/sbin, where Debian puts servers), or a failure
/// naming the Debian package and scripts/install-deps.sh.
pub fn require(program: &str, package: &str) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    for dir in path.split(':').chain(["/usr/sbin", "/usr/bin"]) {
        let p = Path::new(dir).join(program);
        if p.is_file() {
            return p.to_string_lossy().into_owned();
        }
    }
    panic!("{program} is not installed (Debian package {package}): run scripts/install-deps.sh");
}

/// Run `program args` in `cwd`; stdout, or a failure with stderr.
pub fn run(program: &str, args: &[&str], cwd: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A gsqlite3 database for PowerDNS with Debian's schema, at `db`.
pub fn pdns_sqlite_db(db: &Path) {
    require("sqlite3", "sqlite3");
    let schema = ["/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql", "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or_else(|| {
            panic!("PowerDNS's SQLite schema is missing (Debian package pdns-backend-sqlite3): run scripts/install-deps.sh")
        });
    let sql = std::fs::read_to_string(schema).unwrap();
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sqlite3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
