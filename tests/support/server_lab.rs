//! Loopback laboratories for publishing into BIND, Knot DNS and PowerDNS, as their operators
//! run them: the server signs the zone itself (BIND `dnssec-policy default`; Knot
//! `dnssec-signing: on`; PowerDNS `pdnsutil secure-zone`, NSEC or NSEC3 narrow), accepts
//! RFC 2136 updates signed with a key made by its own tool (`tsig-keygen`, `keymgr -t`,
//! `pdnsutil generate-tsig-key`) and allowed for the zone (BIND: `update-policy`; Knot: an
//! `update` ACL by key; PowerDNS: `TSIG-ALLOW-DNSUPDATE`), and notifies a BIND secondary
//! that transfers the zone from it (not for NSEC3 narrow: PowerDNS refuses to transfer a
//! narrow zone, "not doing AXFR of an NSEC3 narrow zone", so that zone has one server). The
//! primary may run on a skewed clock (libfaketime).
//! Every process stops when the lab is dropped. Addresses are pid-derived 127.x addresses
//! on port 53, as the BIND labs use.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dnsceremony::lab::named::{free_addr, options_block, Named};

use super::tools::{pdns_sqlite_db, require, run};
use super::update_lab::dig;

/// Which server is the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// BIND (`named`, `dnssec-policy default` + inline signing, `update-policy` by key).
    Bind,
    /// Knot DNS (`knotd`), automatic signing.
    Knot,
    /// PowerDNS (`pdns_server`, gsqlite3), NSEC.
    PdnsNsec,
    /// PowerDNS, NSEC3 narrow (white lies computed per answer).
    PdnsNsec3Narrow,
}

/// A primary of `kind` and a BIND secondary for one zone.
pub struct ServerLab {
    /// The server kind.
    pub kind: Kind,
    /// The zone, e.g. `ogr1.com`.
    pub zone: String,
    /// The primary's address (port 53).
    pub primary: Ipv4Addr,
    /// The BIND secondary (none for NSEC3 narrow).
    pub secondary: Option<Named>,
    /// The key file as the server's own tool wrote it.
    pub key_file: PathBuf,
    /// The key's name.
    pub key_name: String,
    child: Option<Child>,
    /// Whether the primary's address was put on `lo` here (BIND listens only on addresses
    /// of an interface) and is removed on drop.
    added_addr: bool,
    /// The lab's directory.
    pub dir: tempfile::TempDir,
}

impl Drop for ServerLab {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.added_addr {
            let _ = Command::new("ip")
                .args(["addr", "del", &format!("{}/32", self.primary), "dev", "lo"])
                .output();
        }
    }
}

impl ServerLab {
    /// Start the lab; `skew` (e.g. `-1h`) runs the primary under libfaketime that far off
    /// (not for BIND: Debian's `named` is linked with jemalloc, which libfaketime cannot
    /// start under, "Unexpected recursive calls to clock_gettime()").
    pub fn start(kind: Kind, zone: &str, key_name: &str, skew: Option<&str>) -> ServerLab {
        assert!(
            kind != Kind::Bind || skew.is_none(),
            "named does not run under libfaketime"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let p = free_addr().expect("address");
        let s = free_addr().expect("address");
        let pdir = dir.path().join("primary");
        let sdir = dir.path().join("secondary");
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::create_dir_all(&sdir).unwrap();
        let with_secondary = kind != Kind::PdnsNsec3Narrow;
        let mut zone_text = format!(
            "$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 60\n\
             @ IN NS ns1.{zone}.\nns1 IN A {p}\n"
        );
        if with_secondary {
            zone_text.push_str(&format!("@ IN NS ns2.{zone}.\nns2 IN A {s}\n"));
        }
        let (program, args, key_file) = match kind {
            Kind::Bind => bind_setup(&pdir, zone, key_name, p, s, &zone_text),
            Kind::Knot => knot_setup(&pdir, zone, key_name, p, s, &zone_text),
            Kind::PdnsNsec | Kind::PdnsNsec3Narrow => pdns_setup(
                &pdir,
                zone,
                key_name,
                p,
                s,
                &zone_text,
                kind == Kind::PdnsNsec3Narrow,
            ),
        };
        let added_addr = kind == Kind::Bind && add_loopback(p);
        let log = std::fs::File::create(pdir.join("server.log")).unwrap();
        // libfaketime preloaded into the server itself (not the `faketime` wrapper, whose
        // child would outlive a kill of the wrapper).
        let mut cmd = Command::new(&program);
        if let Some(off) = skew {
            cmd.env("LD_PRELOAD", libfaketime())
                .env("FAKETIME", off)
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        let child = cmd
            .args(&args)
            .current_dir(&pdir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"));

        // The secondary's first transfer must find the primary answering (a failed first
        // try is retried only minutes later); short refresh and retry times make it pick up
        // a change within seconds even when a NOTIFY is lost on a busy machine.
        let mut lab_child = Some(child);
        let up = Instant::now() + Duration::from_secs(20);
        while dig(p, zone, "SOA").is_empty() {
            if Instant::now() > up {
                if let Some(mut c) = lab_child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                panic!(
                    "{kind:?} primary does not answer: {}",
                    std::fs::read_to_string(pdir.join("server.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::fs::write(
            sdir.join("named.conf"),
            format!(
                "{opts}zone \"{zone}\" {{\n    type secondary;\n    primaries {{ {p}; }};\n    transfer-source {s};\n\
                 file \"{zone}.sec\";\n    min-refresh-time 1;\n    max-refresh-time 2;\n\
                 min-retry-time 1;\n    max-retry-time 2;\n}};\n",
                opts = options_block(s, &sdir),
            ),
        )
        .unwrap();
        let secondary = match with_secondary.then(|| Named::start(s, &sdir)).transpose() {
            Ok(n) => n,
            Err(e) => {
                if let Some(mut c) = lab_child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                panic!("secondary named: {e}");
            }
        };
        let lab = ServerLab {
            kind,
            zone: zone.to_string(),
            primary: p,
            secondary,
            key_file,
            key_name: key_name.to_string(),
            child: lab_child,
            added_addr,
            dir,
        };
        lab.wait_up();
        lab
    }

    /// Every server of the zone: the primary, then the secondary if any.
    pub fn servers(&self) -> Vec<Ipv4Addr> {
        std::iter::once(self.primary)
            .chain(self.secondary.as_ref().map(|s| s.addr))
            .collect()
    }

    /// The primary as a socket address.
    pub fn primary_addr(&self) -> SocketAddr {
        SocketAddr::from((self.primary, 53))
    }

    fn wait_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let signed = !dig(self.primary, &self.zone, "DNSKEY").is_empty();
            let p = self.serial(self.primary);
            let s = match &self.secondary {
                Some(sec) => self.serial(sec.addr),
                None => p,
            };
            if signed && p.is_some() && p == s {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?} lab did not come up: signed={signed} primary={p:?} secondary={s:?}: {}",
                self.kind,
                std::fs::read_to_string(self.dir.path().join("primary/server.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The zone's SOA serial at `server`.
    pub fn serial(&self, server: Ipv4Addr) -> Option<u32> {
        dig(server, &self.zone, "SOA")
            .first()
            .and_then(|soa| soa.split_whitespace().nth(2))
            .and_then(|s| s.parse().ok())
    }

    /// A trust anchor: the zone's DNSKEY set as the primary serves it.
    pub fn anchor_file(&self) -> PathBuf {
        let out = Command::new("dig")
            .arg(format!("@{}", self.primary))
            .args(["+noall", "+answer", "+norecurse", &self.zone, "DNSKEY"])
            .output()
            .expect("dig");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("DNSKEY"), "no DNSKEY at the primary: {text}");
        let path = self.dir.path().join("zone.anchor");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The key file with the same name and algorithm and another secret.
    pub fn wrong_secret_key(&self) -> PathBuf {
        let text = run(
            "tsig-keygen",
            &["-a", "hmac-sha256", &self.key_name],
            self.dir.path(),
        );
        let path = self.dir.path().join("wrong-secret.key");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The key file with the right name and secret under another algorithm (hmac-sha512).
    pub fn wrong_algorithm_key(&self) -> PathBuf {
        let text = std::fs::read_to_string(&self.key_file).unwrap();
        assert!(text.contains("hmac-sha256"), "{text}");
        let path = self.dir.path().join("wrong-algorithm.key");
        std::fs::write(&path, text.replace("hmac-sha256", "hmac-sha512")).unwrap();
        path
    }
}

/// Put `addr` on `lo` unless it is there; true when it was added.
fn add_loopback(addr: Ipv4Addr) -> bool {
    let shown = Command::new("ip")
        .args(["-4", "addr", "show", "dev", "lo"])
        .output()
        .expect("ip (Debian package iproute2)");
    if String::from_utf8_lossy(&shown.stdout).contains(&format!("inet {addr}/")) {
        return false;
    }
    let out = Command::new("ip")
        .args(["addr", "add", &format!("{addr}/32"), "dev", "lo"])
        .output()
        .expect("ip");
    assert!(
        out.status.success(),
        "ip addr add {addr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

fn bind_setup(
    dir: &Path,
    zone: &str,
    key_name: &str,
    p: Ipv4Addr,
    s: Ipv4Addr,
    zone_text: &str,
) -> (String, Vec<String>, PathBuf) {
    let named = require("named", "bind9");
    require("tsig-keygen", "bind9-utils");
    let key = run("tsig-keygen", &["-a", "hmac-sha256", key_name], dir);
    let key_file = dir.join(format!("{key_name}.key"));
    std::fs::write(&key_file, &key).unwrap();
    std::fs::write(dir.join(format!("{zone}.db")), zone_text).unwrap();
    let conf = format!(
        "{opts}{key}\nzone \"{zone}\" {{\n    type primary;\n    file \"{zone}.db\";\n\
         dnssec-policy default;\n    inline-signing yes;\n    notify explicit;\n    notify-source {p};\n\
         also-notify {{ {s}; }};\n    allow-transfer {{ {s}; }};\n\
         update-policy {{ grant {key_name} zonesub ANY; }};\n}};\n",
        opts = options_block(p, dir),
    );
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    let cfg = dir.join("named.conf").to_string_lossy().into_owned();
    (named, vec!["-g".into(), "-c".into(), cfg], key_file)
}

/// The multi-threaded libfaketime library (Debian's libfaketime, brought by `faketime`).
fn libfaketime() -> String {
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| {
            panic!("libfaketime is not installed (Debian package faketime): run scripts/install-deps.sh")
        })
}

fn knot_setup(
    dir: &Path,
    zone: &str,
    key_name: &str,
    p: Ipv4Addr,
    s: Ipv4Addr,
    zone_text: &str,
) -> (String, Vec<String>, PathBuf) {
    let knotd = require("knotd", "knot");
    require("keymgr", "knot");
    let key = run("keymgr", &["-t", key_name, "hmac-sha256"], dir);
    let key_file = dir.join(format!("{key_name}.yaml"));
    std::fs::write(&key_file, key).unwrap();
    std::fs::create_dir_all(dir.join("db")).unwrap();
    std::fs::write(dir.join(format!("{zone}.zone")), zone_text).unwrap();
    let conf = format!(
        r#"server:
    rundir: "{d}"
    listen: {p}@53
log:
  - target: stderr
    any: info
database:
    storage: "{d}/db"
include: "{key}"
remote:
  - id: secondary
    address: {s}@53
    via: {p}
acl:
  - id: update
    key: {key_name}
    action: update
  - id: transfer
    address: {s}
    action: transfer
policy:
  - id: auto
    algorithm: ecdsap256sha256
zone:
  - domain: {zone}
    storage: "{d}"
    file: "{zone}.zone"
    dnssec-signing: on
    dnssec-policy: auto
    notify: secondary
    acl: [update, transfer]
"#,
        d = dir.display(),
        key = key_file.display(),
    );
    std::fs::write(dir.join("knot.conf"), conf).unwrap();
    let cfg = dir.join("knot.conf").to_string_lossy().into_owned();
    (knotd, vec!["-c".into(), cfg], key_file)
}

fn pdns_setup(
    dir: &Path,
    zone: &str,
    key_name: &str,
    p: Ipv4Addr,
    s: Ipv4Addr,
    zone_text: &str,
    narrow: bool,
) -> (String, Vec<String>, PathBuf) {
    let server = require("pdns_server", "pdns-server");
    require("pdnsutil", "pdns-server");
    let db = dir.join("pdns.db");
    pdns_sqlite_db(&db);
    let d = dir.display();
    std::fs::write(
        dir.join("pdns.conf"),
        format!(
            "launch=gsqlite3\ngsqlite3-database={db}\ngsqlite3-dnssec=yes\n\
             local-address={p}\nlocal-port=53\nsocket-dir={d}\n\
             dnsupdate=yes\nallow-dnsupdate-from=127.0.0.0/8\n\
             primary=yes\nallow-axfr-ips={s}\nalso-notify={s}\nquery-local-address={p}\n\
             daemon=no\nguardian=no\ndisable-syslog=yes\nwebserver=no\napi=no\n\
             cache-ttl=0\nquery-cache-ttl=0\nnegquery-cache-ttl=0\nzone-cache-refresh-interval=0\n",
            db = db.display(),
        ),
    )
    .unwrap();
    std::fs::write(dir.join("zone.txt"), zone_text).unwrap();
    let c = format!("--config-dir={d}");
    run("pdnsutil", &[&c, "load-zone", zone, "zone.txt"], dir);
    run("pdnsutil", &[&c, "set-kind", zone, "primary"], dir);
    run("pdnsutil", &[&c, "secure-zone", zone], dir);
    if narrow {
        run(
            "pdnsutil",
            &[&c, "set-nsec3", zone, "1 0 0 -", "narrow"],
            dir,
        );
    }
    run("pdnsutil", &[&c, "rectify-zone", zone], dir);
    let key = run(
        "pdnsutil",
        &[&c, "generate-tsig-key", key_name, "hmac-sha256"],
        dir,
    );
    let key_file = dir.join(format!("{key_name}.txt"));
    std::fs::write(&key_file, key).unwrap();
    run(
        "pdnsutil",
        &[&c, "set-meta", zone, "TSIG-ALLOW-DNSUPDATE", key_name],
        dir,
    );
    run(
        "pdnsutil",
        &[&c, "set-meta", zone, "SOA-EDIT-DNSUPDATE", "INCREASE"],
        dir,
    );
    (server, vec![c], key_file)
}
