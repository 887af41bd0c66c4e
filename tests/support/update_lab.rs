//! A loopback laboratory for publishing: one primary `named` serving a zone that BIND signs
//! itself (`dnssec-policy default; inline-signing yes;`) and that accepts RFC 2136 updates
//! signed with a TSIG key made by `tsig-keygen`, plus a secondary that transfers the zone
//! from it (NOTIFY + IXFR), so read-back from two authoritative servers is exercised.
//! Both servers stop when the lab is dropped.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use dnsceremony::lab::named::{free_addr, options_block, run_tool, Named};

/// A primary and a secondary for one zone.
pub struct UpdateLab {
    /// The zone, e.g. `ogr1.com`.
    pub zone: String,
    /// The primary (accepts updates).
    pub primary: Named,
    /// The secondary (transfers from the primary).
    pub secondary: Named,
    /// The TSIG key file the primary accepts.
    pub key_file: PathBuf,
    /// The key's name.
    pub key_name: String,
    /// The lab's directory (kept alive with the servers).
    pub dir: tempfile::TempDir,
}

impl UpdateLab {
    /// Start both servers for `zone`, the key named `key_name`.
    pub fn start(zone: &str, key_name: &str) -> UpdateLab {
        UpdateLab::start_with(zone, key_name, true, "zonesub ANY")
    }

    /// Both servers, the key granted only `grant` in the update policy (e.g.
    /// `name other.ogr1.com. ANY`).
    pub fn start_granting(zone: &str, key_name: &str, grant: &str) -> UpdateLab {
        UpdateLab::start_with(zone, key_name, true, grant)
    }

    /// Both servers for `zone`, left unsigned (no `dnssec-policy`).
    pub fn start_unsigned(zone: &str, key_name: &str) -> UpdateLab {
        UpdateLab::start_with(zone, key_name, false, "zonesub ANY")
    }

    fn start_with(zone: &str, key_name: &str, signed: bool, grant: &str) -> UpdateLab {
        let dir = tempfile::tempdir().expect("temp dir");
        let p_addr = free_addr().expect("address");
        let s_addr = free_addr().expect("address");
        let pdir = dir.path().join("primary");
        let sdir = dir.path().join("secondary");
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::create_dir_all(&sdir).unwrap();

        let key = run_tool("tsig-keygen", &["-a", "hmac-sha256", key_name], dir.path())
            .expect("tsig-keygen");
        let key_file = dir.path().join(format!("{key_name}.key"));
        std::fs::write(&key_file, &key).unwrap();

        std::fs::write(
            pdir.join(format!("{zone}.db")),
            format!(
                "$TTL 300\n@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 60\n\
                 @ IN NS ns1.{zone}.\n@ IN NS ns2.{zone}.\n\
                 ns1 IN A {p_addr}\nns2 IN A {s_addr}\n"
            ),
        )
        .unwrap();
        let pconf = format!(
            "{opts}{key}\nzone \"{zone}\" {{\n    type primary;\n    file \"{zone}.db\";\n\
             {signing}notify explicit;\n    notify-source {p_addr};\n\
             also-notify {{ {s_addr}; }};\n    allow-transfer {{ {s_addr}; }};\n\
             update-policy {{ grant {key_name} {grant}; }};\n}};\n",
            opts = options_block(p_addr, &pdir),
            signing = if signed {
                "dnssec-policy default;\n    inline-signing yes;\n    "
            } else {
                ""
            },
        );
        std::fs::write(pdir.join("named.conf"), pconf).unwrap();
        let sconf = format!(
            "{opts}zone \"{zone}\" {{\n    type secondary;\n    primaries {{ {p_addr}; }};\n    transfer-source {s_addr};\n\
             file \"{zone}.sec\";\n}};\n",
            opts = options_block(s_addr, &sdir),
        );
        std::fs::write(sdir.join("named.conf"), sconf).unwrap();

        let primary = Named::start(p_addr, &pdir).expect("primary named");
        let secondary = Named::start(s_addr, &sdir).expect("secondary named");
        let lab = UpdateLab {
            zone: zone.to_string(),
            primary,
            secondary,
            key_file,
            key_name: key_name.to_string(),
            dir,
        };
        lab.wait_signed_and_transferred(signed);
        lab
    }

    /// A trust anchor file holding the zone's DNSKEY set as the primary serves it (the zone
    /// is its own trust anchor: no parent in the lab).
    pub fn anchor_file(&self) -> PathBuf {
        let out = Command::new("dig")
            .arg(format!("@{}", self.primary.addr))
            .args(["+noall", "+answer", "+norecurse", &self.zone, "DNSKEY"])
            .output()
            .expect("dig");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("DNSKEY"), "no DNSKEY at the primary: {text}");
        let path = self.dir.path().join("zone.anchor");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The primary's address.
    pub fn primary_addr(&self) -> SocketAddr {
        self.primary.socket()
    }

    /// Wait until the primary serves a signed zone and the secondary has the same serial.
    fn wait_signed_and_transferred(&self, want_signed: bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let signed = !dig(self.primary.addr, &self.zone, "DNSKEY").is_empty();
            let p = self.serial(self.primary.addr);
            let s = self.serial(self.secondary.addr);
            if signed == want_signed && p.is_some() && p == s {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "lab did not come up: signed={signed} primary={p:?} secondary={s:?}: {}",
                std::fs::read_to_string(self.secondary.dir.join("named.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// The zone's SOA serial at `server`.
    pub fn serial(&self, server: Ipv4Addr) -> Option<u32> {
        dig(server, &self.zone, "SOA")
            .first()
            .and_then(|soa| soa.split_whitespace().nth(2))
            .and_then(|s| s.parse().ok())
    }

    /// Write a second key file with the same name and another secret (BADSIG).
    pub fn wrong_secret_key(&self) -> PathBuf {
        let text = run_tool(
            "tsig-keygen",
            &["-a", "hmac-sha256", &self.key_name],
            self.dir.path(),
        )
        .unwrap();
        let path = self.dir.path().join("wrong-secret.key");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Write a key file for a key the server does not know (BADKEY).
    pub fn unknown_key(&self) -> PathBuf {
        let text = run_tool(
            "tsig-keygen",
            &["-a", "hmac-sha256", "nobody-key"],
            self.dir.path(),
        )
        .unwrap();
        let path = self.dir.path().join("nobody.key");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Change the zone as another writer would, with BIND's own `nsupdate` and the lab key.
    pub fn nsupdate(&self, commands: &str) {
        let script = format!(
            "server {}\nzone {}\n{commands}\nsend\n",
            self.primary.addr, self.zone
        );
        let out = Command::new("nsupdate")
            .arg("-k")
            .arg(&self.key_file)
            .arg("-t")
            .arg("5")
            .stdin_with(script);
        assert!(out.0, "nsupdate failed: {}", out.1);
    }

    /// The lab's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Values of `name`/`rtype` at `server` (`dig +short`, no recursion).
pub fn dig(server: Ipv4Addr, name: &str, rtype: &str) -> Vec<String> {
    let out = Command::new("dig")
        .arg(format!("@{server}"))
        .args(["+short", "+norecurse", "+time=2", "+tries=1", name, rtype])
        .output()
        .expect("dig");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(";;"))
        .map(|l| l.trim().to_string())
        .collect()
}

trait StdinWith {
    fn stdin_with(&mut self, input: String) -> (bool, String);
}

impl StdinWith for Command {
    fn stdin_with(&mut self, input: String) -> (bool, String) {
        use std::io::Write;
        let mut child = self
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}
