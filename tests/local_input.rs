//! Hostile local input, through the command line: every case expects its exit status and its
//! one stderr line. FIFOs (no writer) as manifest, anchor, TSIG key, key file, genesis
//! template and `genesis --out`; `/dev/zero`; a 3 MB garbage anchor; key files open to group
//! or others and the override flag; a bidirectional character in an organisation name;
//! `keys show` on a client's data directory holding `autonitykeys` alone.
//!
//! Every command runs under a deadline: a regression that blocks on a FIFO fails the test
//! instead of hanging it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dnsceremony::exit;

/// Longest a refused input may take: the refusal comes before anything can block.
const DEADLINE: Duration = Duration::from_secs(20);

/// Run the tool in `dir` with `stdin`, killed (and the test failed) after [`DEADLINE`].
fn run_with(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dnsceremony starts");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dnsceremony {args:?} still running after {DEADLINE:?}: it blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_with(dir, args, None)
}

/// The one stderr line, checked to be one short line.
fn line(o: &Output) -> String {
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(e.lines().count(), 1, "exactly one stderr line, got {e:?}");
    assert!(e.starts_with("dnsceremony: "), "{e}");
    assert!(e.len() < 400, "a short line, got {} bytes", e.len());
    e
}

fn refused(dir: &Path, args: &[&str], status: u8, wants: &[&str]) {
    let o = run(dir, args);
    let l = line(&o);
    assert_eq!(o.status.code(), Some(status.into()), "{args:?}: {l}");
    for w in wants {
        assert!(l.contains(w), "{args:?}: {w:?} not in {l}");
    }
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success());
}

const MANIFEST: &str = "[ceremony]\nname = \"local\"\nprofile = \"v1\"\n\n[genesis]\noperator = \"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf\"\nchain_id = 65110002\n\n[[orgs]]\nname = \"org1\"\nhost = \"validator.org1.com\"\n";

/// A directory with a valid manifest `m.toml`, v1 keys in `keys/` and a FIFO `fifo`.
fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("m.toml"), MANIFEST).unwrap();
    mkfifo(&d.path().join("fifo"));
    let o = run(d.path(), &["keygen", "--dir", "keys"]);
    assert!(o.status.success());
    d
}

#[test]
fn fifo_inputs_are_refused_at_once() {
    let d = setup();
    let p = d.path();
    let dns = ["--root", "127.0.0.1:9", "--query-timeout", "1s"];
    // Manifest.
    let mut args = vec!["verify", "--manifest", "fifo"];
    args.extend(dns);
    refused(
        p,
        &args,
        exit::BAD_INPUT,
        &["cannot read manifest (fifo: a FIFO, not a regular file"],
    );
    // Anchor.
    let mut args = vec!["verify", "--manifest", "m.toml", "--anchor", "fifo"];
    args.extend(dns);
    refused(
        p,
        &args,
        exit::BAD_INPUT,
        &[
            "cannot read trust anchor",
            "fifo",
            "a FIFO, not a regular file",
        ],
    );
    // TSIG key.
    refused(
        p,
        &[
            "run",
            "--manifest",
            "m.toml",
            "--org",
            "org1",
            "--keys",
            "keys",
            "--ip",
            "192.0.2.1",
            "--server",
            "127.0.0.1:9",
            "--tsig",
            "fifo",
            "--root",
            "127.0.0.1:9",
        ],
        exit::BAD_INPUT,
        &[
            "fifo",
            "a FIFO, not a regular file (a TSIG key file must be a regular file)",
        ],
    );
    // Key file.
    fs::create_dir(p.join("fk")).unwrap();
    mkfifo(&p.join("fk/nodekey"));
    refused(
        p,
        &["keys", "show", "--dir", "fk"],
        exit::BAD_INPUT,
        &[
            "fk/nodekey",
            "a FIFO, not a regular file (a key file must be a regular file)",
        ],
    );
    // Genesis template (named by the manifest).
    fs::write(
        p.join("t.toml"),
        MANIFEST
            .replace(
                "operator = \"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf\"\n",
                "",
            )
            .replace(
                "chain_id = 65110002\n",
                "chain_id = 65110002\ntemplate = \"fifo\"\n",
            ),
    )
    .unwrap();
    refused(
        p,
        &["manifest", "check", "t.toml"],
        exit::BAD_INPUT,
        &[
            "genesis.template",
            "a FIFO, not a regular file (a genesis template",
        ],
    );
    // genesis --out: refused before any DNS work, the FIFO left as it was.
    let mut args = vec!["genesis", "--manifest", "m.toml", "--out", "fifo"];
    args.extend(dns);
    refused(
        p,
        &args,
        exit::LOCAL,
        &["cannot write fifo", "a FIFO is in the way"],
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::metadata(p.join("fifo")).unwrap().file_type().is_fifo());
    // keygen: a FIFO where a key file would go is never opened; nothing is written.
    fs::create_dir(p.join("nk")).unwrap();
    mkfifo(&p.join("nk/oraclekey"));
    refused(
        p,
        &["keygen", "--dir", "nk"],
        exit::LOCAL,
        &["nk/oraclekey", "never overwritten"],
    );
    assert_eq!(fs::read_dir(p.join("nk")).unwrap().count(), 1);
}

#[test]
fn devices_and_huge_or_garbage_files_give_short_lines() {
    let d = setup();
    let p = d.path();
    let dns = ["--root", "127.0.0.1:9", "--query-timeout", "1s"];
    refused(
        p,
        &["manifest", "check", "/dev/zero"],
        exit::BAD_INPUT,
        &["/dev/zero: a character device, not a regular file"],
    );
    let mut args = vec!["verify", "--manifest", "m.toml", "--anchor", "/dev/zero"];
    args.extend(dns);
    refused(
        p,
        &args,
        exit::BAD_INPUT,
        &["cannot read trust anchor (/dev/zero: a character device"],
    );
    // 3 MB of garbage on one line: over the anchor cap, refused unread.
    let garbage: String = (0..3_000_000u32)
        .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
        .collect();
    fs::write(p.join("big.anchor"), &garbage).unwrap();
    let mut args = vec!["verify", "--manifest", "m.toml", "--anchor", "big.anchor"];
    args.extend(dns);
    refused(
        p,
        &args,
        exit::BAD_INPUT,
        &[
            "big.anchor",
            "too large for a trust anchor (3000000 bytes or more; at most 1048576)",
        ],
    );
    // Garbage under the cap: the parse error quotes a short, escaped excerpt.
    fs::write(
        p.join("junk.anchor"),
        format!("{}\u{202e}\n", &garbage[..900_000]),
    )
    .unwrap();
    let mut args = vec!["verify", "--manifest", "m.toml", "--anchor", "junk.anchor"];
    args.extend(dns);
    refused(
        p,
        &args,
        exit::BAD_INPUT,
        &[
            "bad trust anchor (junk.anchor:1:",
            &garbage[..40],
            "…(900003 bytes)",
        ],
    );
    // Not text at all.
    fs::write(p.join("bin.toml"), b"[ceremony]\nname = \"\xff\"\n").unwrap();
    refused(
        p,
        &["manifest", "check", "bin.toml"],
        exit::BAD_INPUT,
        &["bin.toml: not UTF-8 text (byte 19; a manifest is text)"],
    );
}

#[test]
fn manifest_from_standard_input() {
    let d = tempfile::tempdir().unwrap();
    let o = run_with(
        d.path(),
        &["manifest", "check", "-", "--json"],
        Some(MANIFEST.as_bytes()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["name"], "local");
}

#[test]
fn open_key_files_are_refused_as_ssh_does_unless_allowed() {
    let d = setup();
    let p = d.path();
    // keygen wrote owner-only files in an owner-only directory.
    let mode = |f: &str| fs::metadata(p.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("keys"), 0o700);
    assert_eq!(mode("keys/autonitykeys"), 0o600);
    assert_eq!(mode("keys/oraclekey"), 0o600);
    let shown = run(p, &["keys", "show", "--dir", "keys"]);
    assert!(shown.status.success());
    fs::set_permissions(p.join("keys/oraclekey"), fs::Permissions::from_mode(0o644)).unwrap();
    for args in [
        &["keys", "show", "--dir", "keys"][..],
        &[
            "keys",
            "proof",
            "--dir",
            "keys",
            "--treasury",
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
        ],
    ] {
        refused(
            p,
            args,
            exit::BAD_INPUT,
            &[
                "permissions 0644 for 'keys/oraclekey' are too open",
                "--allow-open-key-permissions",
            ],
        );
    }
    // The override reads them, with one warning line naming the file.
    let o = run(
        p,
        &[
            "keys",
            "show",
            "--dir",
            "keys",
            "--allow-open-key-permissions",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let l = line(&o);
    assert!(
        l.starts_with("dnsceremony: warning: permissions 0644 for 'keys/oraclekey' are too open"),
        "{l}"
    );
    assert_eq!(o.stdout, shown.stdout);
    // Group-readable is too open as well.
    fs::set_permissions(p.join("keys/oraclekey"), fs::Permissions::from_mode(0o640)).unwrap();
    refused(
        p,
        &["keys", "show", "--dir", "keys"],
        exit::BAD_INPUT,
        &["permissions 0640 for 'keys/oraclekey' are too open"],
    );
}

#[test]
fn bidirectional_characters_in_names_are_refused_and_never_printed_raw() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    for (text, key) in [
        (
            MANIFEST.replace("name = \"org1\"", "name = \"org\u{202e}1\""),
            "orgs[0].name",
        ),
        (
            MANIFEST.replace("name = \"local\"", "name = \"lo\u{2066}cal\""),
            "ceremony.name",
        ),
        (
            // TOML escapes reach the same check.
            MANIFEST.replace("name = \"org1\"", "name = \"org\\u00071\""),
            "orgs[0].name",
        ),
        (
            MANIFEST.replace("name = \"org1\"", "name = \"org\\u200F1\""),
            "orgs[0].name",
        ),
    ] {
        fs::write(p.join("m.toml"), &text).unwrap();
        let o = run(p, &["manifest", "check", "m.toml"]);
        assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
        let l = line(&o);
        assert!(l.contains(key), "{l}");
        assert!(
            l.contains("control, format or bidirectional character"),
            "{l}"
        );
        assert!(
            !l.chars()
                .any(|c| matches!(c, '\u{202e}' | '\u{2066}' | '\u{7}' | '\u{200f}')),
            "raw character printed: {l:?}"
        );
    }
    let text = MANIFEST.replace("name = \"org1\"", "name = \"org\u{202e}1\"");
    fs::write(p.join("m.toml"), &text).unwrap();
    let l = line(&run(p, &["manifest", "check", "m.toml"]));
    assert!(
        l.contains("\"org\\u{202e}1\": character 4 is U+202E"),
        "{l}"
    );
}

#[test]
fn keys_show_on_a_client_data_directory_with_autonitykeys_alone() {
    let d = setup();
    let p = d.path();
    // The client's own layout: <datadir>/autonity/autonitykeys, 128 hex digits, no newline,
    // mode 0600 (crypto.SaveAutonityKeys); no oracle key anywhere.
    fs::create_dir_all(p.join("data/autonity")).unwrap();
    let both = fs::read_to_string(p.join("keys/autonitykeys")).unwrap();
    fs::write(p.join("data/autonity/autonitykeys"), both.trim_end()).unwrap();
    fs::set_permissions(
        p.join("data/autonity/autonitykeys"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let full: serde_json::Value =
        serde_json::from_slice(&run(p, &["keys", "show", "--dir", "keys", "--json"]).stdout)
            .unwrap();
    let o = run(p, &["keys", "show", "--dir", "data", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stderr.is_empty());
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["enode_key"], full["enode_key"]);
    assert_eq!(j["node_address"], full["node_address"]);
    assert_eq!(j["consensus_key"], full["consensus_key"]);
    assert!(j.get("oracle_address").is_none(), "{j}");
    assert_eq!(j["node_key_file"], "data/autonity/autonitykeys");
    assert_eq!(j["missing"][0]["path"], "data/autonity/oraclekey");
    let text = String::from_utf8(run(p, &["keys", "show", "--dir", "data"]).stdout).unwrap();
    let missing = text
        .lines()
        .find(|l| l.starts_with("missing"))
        .unwrap_or("");
    assert!(
        missing.contains("data/autonity/oraclekey")
            && missing.contains("publish")
            && missing.contains("genesis"),
        "{text}"
    );
    // What needs the oracle key still refuses, naming the file.
    refused(
        p,
        &[
            "keys",
            "proof",
            "--dir",
            "data/autonity",
            "--treasury",
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
        ],
        exit::BAD_INPUT,
        &["key file missing (data/autonity/oraclekey: needed beside autonitykeys)"],
    );
}

#[test]
fn keys_show_gives_what_the_client_printed_for_its_own_key_file() {
    // tests/golden/client-datadir: a key file the client wrote, and what it printed for it.
    let d = tempfile::tempdir().unwrap();
    let inst = d.path().join("data/autonity");
    fs::create_dir_all(&inst).unwrap();
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/client-datadir/autonitykeys"
    );
    fs::copy(src, inst.join("autonitykeys")).unwrap();
    // As the client leaves it (a checkout does not keep the mode).
    fs::set_permissions(inst.join("autonitykeys"), fs::Permissions::from_mode(0o600)).unwrap();
    let o = run(d.path(), &["keys", "show", "--dir", "data", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["enode_key"], "89d8c24bc6197474bdad85b8fc0ad6021e7cd544a4358b1038ca15f3cc4787c18760d9a15b0db25b329634c490b5ac41ddf1c5f0f28790978dd5c668658f19e2");
    assert_eq!(
        j["node_address"].as_str().unwrap(),
        "0x3DF471526DfaE0d0d84557B78abBef66e7a4dfac".to_lowercase()
    );
    assert_eq!(j["consensus_key"], "0xb76251657c7d76f81df43a9ef9963e404bf8e6f24f11283dbb0c2dba9d3f7de6c39c879279b410f34ba1a41c1cee8c35");
    assert_eq!(j["missing"][0]["path"], "data/autonity/oraclekey");
}
