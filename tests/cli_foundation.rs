//! The built binary against defective manifests and key files: each defect gives exactly one
//! stderr line naming the file and the field, the documented exit status, and writes nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dnsceremony::exit;

const BIN: &str = env!("CARGO_BIN_EXE_dnsceremony");

const GOOD: &str = r#"[ceremony]
name = "acme"
profile = "v1"

[genesis]
chain_id = 65110000

[[orgs]]
name = "org1"
host = "validator1.ogr1.com"

[[orgs]]
name = "org2"
host = "val2.ogr2.net"
"#;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run dnsceremony")
}

fn stderr_line(o: &Output) -> String {
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(e.lines().count(), 1, "exactly one stderr line, got {e:?}");
    assert!(e.starts_with("dnsceremony: "), "{e}");
    e
}

/// Every file under `dir` with its content, to prove nothing was written.
/// A key file as `keygen` and the client leave it: readable by its owner only.
fn write_key(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((p, Vec::new()));
            } else {
                let c = fs::read(&p).unwrap();
                out.push((p, c));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn manifest_defects_name_file_and_field() {
    let cases: Vec<(&str, String, &str)> = vec![
        ("syntax", GOOD.replace("profile = \"v1\"", "profile = v1"), "m.toml:3:"),
        ("unknown key", GOOD.replace("chain_id", "chainid"), "genesis.chainid"),
        ("missing key", GOOD.replace("chain_id = 65110000", ""), "genesis.chain_id"),
        ("bad profile", GOOD.replace("\"v1\"", "\"v9\""), "ceremony.profile"),
        ("one-label host", GOOD.replace("val2.ogr2.net", "val2"), "orgs[1].host"),
        ("bad first label", GOOD.replace("val2.ogr2.net", "val_2.ogr2.net"), "orgs[1].host"),
        ("duplicate host", GOOD.replace("val2.ogr2.net", "VALIDATOR1.ogr1.com"), "orgs[1].host"),
        ("duplicate name", GOOD.replace("\"org2\"", "\"org1\""), "orgs[1].name"),
        ("wrong type", GOOD.replace("name = \"acme\"", "name = 5"), "ceremony.name"),
        ("bad address", format!("{GOOD}[timing]\ndeadline = \"soon\"\n"), "timing.deadline"),
        (
            "bad operator address",
            GOOD.replace("chain_id = 65110000", "chain_id = 1\noperator = \"0xAbC\""),
            "genesis.operator",
        ),
        (
            "bad signature",
            format!("{GOOD}\n[signature]\nsigner = \"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf\"\nvalue = \"0x{}\"\n", "11".repeat(65)),
            "signature",
        ),
    ];
    for (what, text, field) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("m.toml"), &text).unwrap();
        let before = snapshot(dir.path());
        for json in [false, true] {
            let mut args = vec!["manifest", "check", "m.toml"];
            if json {
                args.push("--json");
            }
            let o = run(dir.path(), &args);
            assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{what}");
            assert!(o.stdout.is_empty(), "{what}: stdout must be empty");
            let line = stderr_line(&o);
            assert!(line.contains("m.toml"), "{what}: {line}");
            assert!(line.contains(field), "{what}: {line}");
        }
        assert_eq!(snapshot(dir.path()), before, "{what}: nothing written");
    }
}

#[test]
fn missing_manifest_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["manifest", "check", "nope.toml"]);
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(stderr_line(&o).contains("nope.toml"));
}

#[test]
fn sign_check_and_operator_demands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("m.toml"), GOOD).unwrap();
    fs::write(d.join("op.key"), format!("{:064x}\n", 1)).unwrap();
    let op = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";

    // Unsigned manifest with --operator: refused.
    let o = run(d, &["manifest", "check", "m.toml", "--operator", op]);
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(stderr_line(&o).contains("not signed"));

    // Unsigned and without genesis.operator: the v1 genesis would have no operator.
    let unsigned = run(d, &["manifest", "check", "m.toml", "--json"]);
    assert_eq!(unsigned.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(stderr_line(&unsigned).contains("m.toml: genesis.operator: required"));
    let unsigned_id = dnsceremony::manifest::Manifest::load(&d.join("m.toml"))
        .unwrap()
        .ceremony_id()
        .to_string();

    let o = run(d, &["manifest", "sign", "--key", "op.key", "m.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let signed_text = fs::read_to_string(d.join("m.toml")).unwrap();
    assert!(signed_text.starts_with(GOOD));

    let o = run(
        d,
        &["manifest", "check", "m.toml", "--json", "--operator", op],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["schema"], "dnsceremony.manifest/v1");
    assert_eq!(s["operator"], op);
    assert_eq!(s["orgs"][1]["host"], "val2.ogr2.net");
    // Signing does not change the ceremony id (the signer becomes the genesis operator).
    assert_eq!(s["ceremony_id"], unsigned_id.as_str());

    let o = run(
        d,
        &[
            "manifest",
            "check",
            "m.toml",
            "--operator",
            "0x0000000000000000000000000000000000000001",
        ],
    );
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(stderr_line(&o).contains("signature.signer"));

    // Tampered body: the signature no longer verifies.
    fs::write(
        d.join("m.toml"),
        signed_text.replace("65110000", "65110001"),
    )
    .unwrap();
    let o = run(d, &["manifest", "check", "m.toml"]);
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(stderr_line(&o).contains("signature"));

    // A bad signing key: error names the key file, the manifest is untouched.
    fs::write(d.join("m.toml"), GOOD).unwrap();
    fs::write(d.join("bad.key"), "xyz").unwrap();
    let before = snapshot(d);
    let o = run(d, &["manifest", "sign", "--key", "bad.key", "m.toml"]);
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(stderr_line(&o).contains("bad.key"));
    assert_eq!(snapshot(d), before);
}

#[test]
fn init_writes_a_valid_manifest_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(d, &["manifest", "init"]);
    assert_eq!(
        o.status.code(),
        Some(exit::BAD_INPUT.into()),
        "--operator is required"
    );
    let op = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";
    let o = run(d, &["manifest", "init", "--operator", op]);
    assert!(o.status.success());
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(stdout.contains("othername4.ogr4.co.uk"));
    let o = run(
        d,
        &["manifest", "init", "--operator", op, "--out", "new.toml"],
    );
    assert!(o.status.success());
    assert_eq!(fs::read_to_string(d.join("new.toml")).unwrap(), stdout);
    let o = run(d, &["manifest", "check", "new.toml"]);
    assert!(o.status.success());
    let before = snapshot(d);
    let o = run(
        d,
        &["manifest", "init", "--operator", op, "--out", "new.toml"],
    );
    assert_eq!(o.status.code(), Some(exit::LOCAL.into()));
    assert!(stderr_line(&o).contains("new.toml"));
    assert_eq!(snapshot(d), before);
}

#[test]
fn keygen_show_and_refuse_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(d, &["keygen", "--dir", "keys", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let gen: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(gen["schema"], "dnsceremony.keys/v1");
    assert_eq!(gen["profile"], "v1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = |p: &str| fs::metadata(d.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(m("keys"), 0o700);
        assert_eq!(m("keys/autonitykeys"), 0o600);
        assert_eq!(m("keys/oraclekey"), 0o600);
    }
    // No private key on stdout.
    let secret = fs::read_to_string(d.join("keys/autonitykeys")).unwrap();
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(!out.contains(&secret.trim()[..64]) && !out.contains(&secret.trim()[64..]));

    let o = run(d, &["keys", "show", "--dir", "keys", "--json"]);
    assert!(o.status.success());
    let show: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "enode_key",
        "node_address",
        "consensus_key",
        "oracle_address",
    ] {
        assert_eq!(show[k], gen[k], "{k}");
        assert!(show[k].is_string(), "{k}");
    }

    let before = snapshot(d);
    let o = run(d, &["keygen", "--dir", "keys"]);
    assert_eq!(o.status.code(), Some(exit::LOCAL.into()));
    let line = stderr_line(&o);
    assert!(
        line.contains("autonitykeys") && line.contains("never overwritten"),
        "{line}"
    );
    assert_eq!(snapshot(d), before);

    let o = run(d, &["keygen", "--dir", "old", "--profile", "v0.7"]);
    assert!(o.status.success());
    let o = run(d, &["keys", "show", "--dir", "old"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("profile         v0.7"), "{text}");
    assert!(!text.contains("consensus_key"));
}

/// A defect case: description, files to write, file and field the error must name.
type KeyCase<'a> = (&'a str, Vec<(&'a str, String)>, &'a str, &'a str);

#[test]
fn key_file_defects_name_file_and_field() {
    let one = format!("{:064x}", 1);
    let zero = "0".repeat(64);
    let cases: Vec<KeyCase> = vec![
        (
            "not hex",
            vec![("nodekey", "zz".repeat(32))],
            "nodekey",
            "node key",
        ),
        (
            "short",
            vec![("nodekey", "ab".repeat(31))],
            "nodekey",
            "expected 64 hex digits",
        ),
        (
            "zero key",
            vec![("nodekey", zero.clone())],
            "nodekey",
            "node key",
        ),
        (
            "zero BLS",
            vec![
                ("autonitykeys", format!("{one}{zero}")),
                ("oraclekey", one.clone()),
            ],
            "autonitykeys",
            "BLS secret",
        ),
        (
            "short autonitykeys",
            vec![("autonitykeys", one.clone()), ("oraclekey", one.clone())],
            "autonitykeys",
            "expected 128 hex digits",
        ),
        (
            "bad oracle",
            vec![
                ("autonitykeys", format!("{one}{one}")),
                ("oraclekey", "0x12".into()),
            ],
            "oraclekey",
            "oracle key",
        ),
        ("empty dir", vec![], "keys", "no key files"),
    ];
    for (what, files, file, field) in cases {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        fs::create_dir(&keys).unwrap();
        for (name, content) in &files {
            write_key(&keys.join(name), content);
        }
        let before = snapshot(dir.path());
        for json in [false, true] {
            let mut args = vec!["keys", "show", "--dir", "keys"];
            if json {
                args.push("--json");
            }
            let o = run(dir.path(), &args);
            assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{what}");
            assert!(o.stdout.is_empty(), "{what}");
            let line = stderr_line(&o);
            assert!(
                line.contains(file) && line.contains(field),
                "{what}: {line}"
            );
            for (_, content) in &files {
                if content.len() >= 64 && content != &zero {
                    assert!(!line.contains(content.as_str()), "{what}: secret echoed");
                }
            }
        }
        assert_eq!(snapshot(dir.path()), before, "{what}: nothing written");
    }
}

#[test]
fn bad_flags_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["keygen", "--dir", "k", "--profile", "v2"]);
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    assert!(!dir.path().join("k").exists());
    let o = run(
        dir.path(),
        &["manifest", "check", "m.toml", "--operator", "0x12"],
    );
    assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()));
    // Poll intervals: zero (or anything under 100ms) would only hammer the servers; every
    // duration flag reads the manifest's forms (1h30m) and milliseconds alike.
    for (args, why) in [
        (
            &["wait", "--manifest", "m.toml", "--interval", "0"][..],
            "--interval",
        ),
        (
            &["check", "--watch", "--interval", "50ms"][..],
            "--interval",
        ),
        (
            &["run", "--manifest", "m.toml", "--interval", "0s"][..],
            "--interval",
        ),
        (
            &["wait", "--manifest", "m.toml", "--timeout", "1h30"][..],
            "--timeout",
        ),
    ] {
        let o = run(dir.path(), args);
        assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
    }
    let err = String::from_utf8_lossy(
        &run(
            dir.path(),
            &["wait", "--manifest", "m.toml", "--interval", "0"],
        )
        .stderr,
    )
    .into_owned();
    assert!(err.contains("at least 100ms"), "{err}");
}

#[test]
fn every_command_that_loads_a_manifest_demands_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("m.toml"), GOOD).unwrap();
    fs::write(d.join("s.toml"), GOOD).unwrap();
    fs::write(d.join("op.key"), format!("{:064x}\n", 1)).unwrap();
    let o = run(d, &["manifest", "sign", "--key", "op.key", "s.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let op = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";
    let other = "0x0000000000000000000000000000000000000001";
    // Nothing answers on 127.0.0.1:9: past the manifest, each command fails fast elsewhere.
    let dns = ["--root", "127.0.0.1:9", "--query-timeout", "100ms"];
    let commands: Vec<Vec<&str>> = vec![
        [&["verify"][..], &dns].concat(),
        [&["wait", "--timeout", "1s"][..], &dns].concat(),
        [&["genesis", "--out", "g.json"][..], &dns].concat(),
        vec!["audit", "--root", "127.0.0.1:9"],
        [
            &["check", "--rpc", "http://127.0.0.1:9", "--window", "1s"][..],
            &dns,
        ]
        .concat(),
        vec![
            "publish",
            "--org",
            "org1",
            "--keys",
            "nokeys",
            "--ip",
            "192.0.2.1",
            "--server",
            "127.0.0.1:9",
            "--tsig",
            "no.key",
        ],
        [
            &[
                "run",
                "--org",
                "org1",
                "--keys",
                "nokeys",
                "--ip",
                "192.0.2.1",
                "--server",
                "127.0.0.1:9",
                "--tsig",
                "no.key",
                "--datadir",
                "data",
            ][..],
            &dns,
        ]
        .concat(),
    ];
    // With the right operator each goes on and stops where this setup makes it stop.
    let accepted: [(i32, &str); 7] = [
        (1, ""),
        (1, "deadline reached"),
        (1, "genesis not built: not every organisation is secure"),
        (4, "no root server answered"),
        (
            1,
            "cannot check the committee: not every organisation is secure",
        ),
        (3, "no key files (nokeys"),
        (3, "cannot read TSIG key file no.key"),
    ];
    for (cmd, (code, why)) in commands.iter().zip(accepted) {
        let with = |file: &str, addr: &str| {
            let mut a = cmd.clone();
            a.extend(["--manifest", file, "--operator", addr]);
            run(d, &a)
        };
        // Unsigned: refused before anything else, naming the file.
        let o = with("m.toml", op);
        assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{cmd:?}");
        let line = stderr_line(&o);
        assert!(
            line.contains("not signed") && line.contains("m.toml"),
            "{cmd:?}: {line}"
        );
        // Signed by someone else: refused, naming the signer.
        let o = with("s.toml", other);
        assert_eq!(o.status.code(), Some(exit::BAD_INPUT.into()), "{cmd:?}");
        let line = stderr_line(&o);
        assert!(
            line.contains("signed by another operator") && line.contains(op),
            "{cmd:?}: {line}"
        );
        // Signed by the operator: accepted.
        let o = with("s.toml", op);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("signed"), "{cmd:?}: {stderr}");
        assert_eq!(o.status.code(), Some(code), "{cmd:?}: {stderr}");
        assert!(stderr.contains(why), "{cmd:?}: {stderr}");
    }
    assert!(!d.join("g.json").exists() && !d.join("data").exists());
}

#[test]
fn a_tsig_key_given_as_anchor_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.toml"), GOOD).unwrap();
    fs::write(
        dir.path().join("org1.key"),
        "key \"org1-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0\";\n};\n",
    )
    .unwrap();
    let o = run(
        dir.path(),
        &["verify", "--manifest", "m.toml", "--anchor", "org1.key"],
    );
    assert_eq!(o.status.code(), Some(3));
    let e = stderr_line(&o);
    assert!(
        e.starts_with("dnsceremony: not a trust anchor file: org1.key:1 holds a TSIG key;"),
        "{e}"
    );
}
