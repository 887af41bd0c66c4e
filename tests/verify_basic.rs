//! DNSSEC validation against a small real hierarchy on loopback: a private root, `com`, and
//! organisation zones with one fault each, served by `named`; plus a recursive `named` for
//! resolver mode. Every verdict is checked, and the validated/not-validated split is checked
//! against `delv` where it applies.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dnsceremony::dns::anchor::TrustAnchors;
use dnsceremony::dns::validate::BogusReason;
use dnsceremony::identity::Identity;
use dnsceremony::lab::named::{free_addr, options_block, run_tool, Named};
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{self, PublishParams};
use dnsceremony::verify::{Lookup, Session, Source, Status, VerifyOptions};
use hickory_proto::rr::{Name, RData, RecordType};

struct Lab {
    _servers: Vec<Named>,
    root: Ipv4Addr,
    resolver: Ipv4Addr,
    anchor: PathBuf,
    manifest: Manifest,
    _dir: tempfile::TempDir,
}

fn keygen(dir: &Path, zone: &str, ksk: bool) -> String {
    let mut args = vec!["-K", dir.to_str().unwrap(), "-a", "13", "-n", "ZONE"];
    if ksk {
        args.extend(["-f", "KSK"]);
    }
    args.push(zone);
    let out = run_tool("dnssec-keygen", &args, dir).expect("dnssec-keygen");
    out.trim().to_string()
}

fn ds_of(dir: &Path, key: &str) -> String {
    run_tool("dnssec-dsfromkey", &["-2", &format!("{key}.key")], dir)
        .expect("dnssec-dsfromkey")
        .trim()
        .to_string()
}

/// Write and sign one zone; `extra` are dnssec-signzone options (NSEC3, validity window).
fn sign(dir: &Path, zone: &str, body: &str, extra: &[&str]) -> String {
    let kdir = dir.join(format!("keys-{zone}"));
    std::fs::create_dir_all(&kdir).unwrap();
    let ksk = keygen(&kdir, zone, true);
    keygen(&kdir, zone, false);
    let file = dir.join(format!("{zone}zone"));
    std::fs::write(&file, body).unwrap();
    let mut args = vec!["-K", kdir.to_str().unwrap(), "-S", "-P", "-o", zone];
    args.extend(extra);
    let out = format!("{}.signed", file.display());
    args.extend(["-f", &out, file.to_str().unwrap()]);
    run_tool("dnssec-signzone", &args, dir).expect("dnssec-signzone");
    ds_of(&kdir, &ksk)
}

fn soa(zone: &str, ns_addr: Ipv4Addr) -> String {
    let ns = if zone == "." {
        "ns.".to_string()
    } else {
        format!("ns.{zone}")
    };
    let mail = if zone == "." {
        "hostmaster.".to_string()
    } else {
        format!("hostmaster.{zone}")
    };
    format!(
        "$TTL 300\n{zone} SOA {ns} {mail} 1 3600 600 86400 300\n{zone} NS {ns}\n{ns} A {ns_addr}\n"
    )
}

fn record_lines(host: &Name, identity: &Identity, manifest: &Manifest, ip: Ipv4Addr) -> String {
    let params = PublishParams {
        ipv4: Some(ip),
        ipv6: None,
        port: 30303,
        consensus_port: 20203,
        treasury: Some(identity.public().enode_key.address()),
        ttl: 300,
    };
    let mut out = String::new();
    for set in records::encode(host, identity, &manifest.ceremony_id(), &params) {
        for rd in &set.rdata {
            let data = match rd {
                RData::TXT(t) => t
                    .txt_data
                    .iter()
                    .map(|s| format!("\"{}\"", String::from_utf8_lossy(s)))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            out.push_str(&format!(
                "{} {} {} {data}\n",
                set.name.to_ascii(),
                set.ttl,
                set.rtype
            ));
        }
    }
    out
}

fn start(dir: &Path, addr: Ipv4Addr, zones: &[&str], recursive: bool) -> Named {
    let sdir = dir.join(format!("srv-{addr}"));
    std::fs::create_dir_all(&sdir).unwrap();
    let mut conf = options_block(addr, &sdir);
    if recursive {
        conf = conf.replace(
            "recursion no;",
            "recursion yes; allow-recursion { any; }; allow-query-cache { any; };",
        );
        std::fs::write(
            sdir.join("root.hints"),
            format!(". 300 NS ns.\nns. 300 A {}\n", zones[0]),
        )
        .unwrap();
        conf.push_str("zone \".\" { type hint; file \"root.hints\"; };\n");
    } else {
        for z in zones {
            let file = dir.join(format!("{z}zone.signed"));
            let file = if file.exists() {
                file
            } else {
                dir.join(format!("{z}zone"))
            };
            conf.push_str(&format!(
                "zone \"{z}\" {{ type primary; file \"{}\"; }};\n",
                file.display()
            ));
        }
    }
    std::fs::write(sdir.join("named.conf"), conf).unwrap();
    Named::start(addr, &sdir).expect("named starts")
}

fn build() -> Lab {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (r, c, o, s) = (
        free_addr().unwrap(),
        free_addr().unwrap(),
        free_addr().unwrap(),
        free_addr().unwrap(),
    );
    let manifest_text = r#"
[ceremony]
name = "lab"
profile = "v1"
[genesis]
chain_id = 65110000
[[orgs]]
name = "org1"
host = "validator1.ogr1.com"
[[orgs]]
name = "org2"
host = "validator2.ogr2.com"
[[orgs]]
name = "org3"
host = "validator3.ogr3.com"
[[orgs]]
name = "org4"
host = "validator4.ogr4.com"
[[orgs]]
name = "org5"
host = "validator5.ogr5.com"
"#;
    std::fs::write(dir.join("manifest.toml"), manifest_text).unwrap();
    let manifest = Manifest::parse(manifest_text, &dir.join("manifest.toml")).expect("manifest");
    let mut com_body = soa("com.", c);
    for (i, org) in manifest.orgs.iter().enumerate() {
        let zone = format!("ogr{}.com.", i + 1);
        let identity = Identity::generate(Profile::V1);
        let mut body = soa(&zone, o);
        let ip = Ipv4Addr::new(10, 0, 0, i as u8 + 1);
        if i == 4 {
            // org5 has published only its address so far.
            body.push_str(&format!("{} 300 A {ip}\n", org.host.to_ascii()));
        } else {
            body.push_str(&record_lines(&org.host, &identity, &manifest, ip));
            // An RRset too large for one UDP answer: fetched over TCP.
            for k in 0..12 {
                body.push_str(&format!(
                    "big.{zone} 300 TXT \"{k:02}{}\"\n",
                    "x".repeat(200)
                ));
            }
        }
        com_body.push_str(&format!("{zone} NS ns.{zone}\nns.{zone} A {o}\n"));
        let ds = match i {
            0 => sign(&dir, &zone, &body, &["-3", "aabbccdd", "-H", "0"]),
            1 => sign(
                &dir,
                &zone,
                &body,
                &["-s", "20200101000000", "-e", "20200201000000"],
            ),
            2 => {
                std::fs::write(dir.join(format!("{zone}zone")), &body).unwrap();
                String::new()
            }
            3 => {
                sign(&dir, &zone, &body, &[]);
                // A DS for a key the zone does not have.
                let other = dir.join("other");
                std::fs::create_dir_all(&other).unwrap();
                let k = keygen(&other, &zone, true);
                ds_of(&other, &k)
            }
            _ => sign(&dir, &zone, &body, &[]),
        };
        com_body.push_str(&ds);
        com_body.push('\n');
    }
    let com_ds = sign(&dir, "com.", &com_body, &[]);
    let root_body = format!("{}com. NS ns.com.\nns.com. A {c}\n{com_ds}\n", soa(".", r));
    let root_ds = sign(&dir, ".", &root_body, &[]);
    let anchor = dir.join("root.anchor");
    std::fs::write(&anchor, format!("{root_ds}\n")).unwrap();
    let zones: Vec<String> = (1..=5).map(|i| format!("ogr{i}.com.")).collect();
    let zone_refs: Vec<&str> = zones.iter().map(String::as_str).collect();
    let servers = vec![
        start(&dir, r, &["."], false),
        start(&dir, c, &["com."], false),
        start(&dir, o, &zone_refs, false),
    ];
    let mut servers = servers;
    servers.push(start(&dir, s, &[&r.to_string()], true));
    Lab {
        _servers: servers,
        root: r,
        resolver: s,
        anchor,
        manifest,
        _dir: tmp,
    }
}

fn session(lab: &Lab, resolver: bool) -> Session {
    let source = if resolver {
        Source::Resolver(SocketAddr::from((lab.resolver, 53)))
    } else {
        Source::Iterative {
            roots: vec![SocketAddr::from((lab.root, 53))],
        }
    };
    Session::new(VerifyOptions {
        anchors: TrustAnchors::from_file(&lab.anchor).expect("anchor"),
        source,
        timeout: Duration::from_secs(2),
        concurrency: 16,
    })
}

fn n(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

async fn check_lookups(s: &Session) {
    let before = s.queries_sent();
    let l = s.lookup(&n("big.ogr2.com."), RecordType::TXT).await;
    assert!(matches!(l, Lookup::Bogus { .. }), "{l:?}");
    let l = s.lookup(&n("big.ogr1.com."), RecordType::TXT).await;
    match &l {
        Lookup::Secure { rrset, .. } => assert_eq!(rrset.len(), 12),
        other => panic!("{other:?}"),
    }
    assert!(s.queries_sent() > before);
    let l = s.lookup(&n("validator1.ogr1.com."), RecordType::A).await;
    assert!(matches!(l, Lookup::Secure { .. }), "{l:?}");
    let l = s.lookup(&n("nothing.ogr1.com."), RecordType::A).await;
    assert_eq!(
        l,
        Lookup::Absent {
            zone: n("ogr1.com."),
            nxdomain: true
        }
    );
    let l = s.lookup(&n("validator1.ogr1.com."), RecordType::AAAA).await;
    assert_eq!(
        l,
        Lookup::Absent {
            zone: n("ogr1.com."),
            nxdomain: false
        }
    );
    let l = s.lookup(&n("nothing.com."), RecordType::A).await;
    assert_eq!(
        l,
        Lookup::Absent {
            zone: n("com."),
            nxdomain: true
        }
    );
    let l = s.lookup(&n("validator2.ogr2.com."), RecordType::A).await;
    assert!(
        matches!(
            l,
            Lookup::Bogus {
                why: BogusReason::Expired { .. }
            }
        ),
        "{l:?}"
    );
    assert!(
        l.describe()
            .starts_with("RRSIG on ogr2.com DNSKEY expired at 2020-02-01T00:00:00Z")
            || l.describe()
                .starts_with("RRSIG on validator2.ogr2.com A expired at 2020-02-01T00:00:00Z"),
        "{}",
        l.describe()
    );
    let l = s.lookup(&n("validator3.ogr3.com."), RecordType::A).await;
    assert_eq!(
        l,
        Lookup::Insecure {
            at_zone: n("ogr3.com."),
            why: "ogr3.com is an unsigned delegation from com: insecure".into()
        }
    );
    let l = s.lookup(&n("validator4.ogr4.com."), RecordType::A).await;
    assert!(
        matches!(
            l,
            Lookup::Bogus {
                why: BogusReason::DsMismatch { .. }
            }
        ),
        "{l:?}"
    );
    assert!(
        l.describe()
            .starts_with("DS in com for ogr4.com matches no DNSKEY"),
        "{}",
        l.describe()
    );
}

async fn check_verify(s: &Session, lab: &Lab) {
    let report = s.verify(&lab.manifest).await;
    let statuses: Vec<(String, Status)> = report
        .orgs
        .iter()
        .map(|o| (o.name.clone(), o.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("org1".into(), Status::Secure),
            ("org2".into(), Status::Bogus),
            ("org3".into(), Status::Insecure),
            ("org4".into(), Status::Bogus),
            ("org5".into(), Status::Pending),
        ],
        "{report:#?}"
    );
    let peer = report.secure_peers()[0].1;
    assert_eq!(peer.ipv4, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(peer.port, 30303);
    assert_eq!(report.exit_code(), 2);
    for (i, o) in report.orgs.iter().enumerate() {
        assert_eq!(o.zone, Some(n(&format!("ogr{}.com.", i + 1))), "{o:?}");
    }
    assert!(
        report.orgs[4]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("does not exist"),
        "{:?}",
        report.orgs[4].reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterative_and_resolver_modes_give_the_same_verdicts() {
    let lab = tokio::task::spawn_blocking(build).await.unwrap();

    let s = session(&lab, false);
    check_lookups(&s).await;
    check_verify(&s, &lab).await;
    // The root and com keys were validated once: a second org lookup costs only its own queries.
    let before = s.queries_sent();
    let l = s.lookup(&n("validator5.ogr5.com."), RecordType::A).await;
    assert!(matches!(l, Lookup::Secure { .. }), "{l:?}");
    assert_eq!(
        s.queries_sent() - before,
        1,
        "a cached zone costs one query"
    );
    assert!(s.resolver().chain(&n("com.")).is_some());

    // wait's poll: an organisation that was secure and whose zone serial did not move keeps
    // its verdict for one SOA query, asked of the zone's own servers.
    let before = s.queries_sent();
    assert_eq!(s.probe_serial(&n("ogr1.com.")).await, Some(1));
    assert_eq!(s.queries_sent() - before, 1);
    let mut previous = s.verify(&lab.manifest).await;
    for i in [0, 4] {
        let o = &mut previous.orgs[i];
        o.status = Status::Secure;
        o.serial = Some(1);
    }
    let again = s.poll(&lab.manifest, Some(&previous)).await;
    assert_eq!(again.orgs[0], previous.orgs[0]);
    assert_eq!(
        again.orgs[4], previous.orgs[4],
        "unchanged serial: verdict kept"
    );
    assert_eq!(
        again.orgs[1].status,
        Status::Bogus,
        "not secure: checked again"
    );
    // A serial that moved makes the organisation be checked again.
    previous.orgs[4].serial = Some(0);
    let again = s.poll(&lab.manifest, Some(&previous)).await;
    assert_eq!(again.orgs[4].status, Status::Pending);
    assert_eq!(again.orgs[4].serial, Some(1));
    // A first poll learns each zone but keeps no serial: one read after the records could
    // already include a change they do not show, which would then never be looked at again.
    // The next poll reads the serial first, then the records.
    let first = s.poll(&lab.manifest, None).await;
    assert!(first.orgs[0].zone.is_some(), "{:?}", first.orgs[0]);
    assert!(
        first.orgs.iter().all(|o| o.serial.is_none()),
        "serial kept from a read after the records: {:?}",
        first.orgs
    );
    let second = s.poll(&lab.manifest, Some(&first)).await;
    assert_eq!(second.orgs[0].serial, Some(1));

    let s = session(&lab, true);
    check_lookups(&s).await;
    check_verify(&s, &lab).await;

    // The command line: JSON and exit status.
    let root = format!("{}", lab.root);
    let resolver = format!("{}:53", lab.resolver);
    for flags in [["--root", root.as_str()], ["--resolver", resolver.as_str()]] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
            .arg("verify")
            .arg("--manifest")
            .arg(lab.manifest.source.as_os_str())
            .arg("--anchor")
            .arg(&lab.anchor)
            .args(flags)
            .arg("--json")
            .output()
            .await
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["schema"], "dnsceremony.verify/v1");
        assert_eq!(doc["complete"], false);
        assert_eq!(doc["ceremony_id"], lab.manifest.ceremony_id().to_string());
        let statuses: Vec<&str> = doc["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["secure", "bogus", "insecure", "bogus", "pending"],
            "{doc:#}"
        );
        assert_eq!(doc["orgs"][0]["records"]["ipv4"], "10.0.0.1");
        assert_eq!(doc["orgs"][0]["records"]["port"], 30303);
        assert_eq!(doc["orgs"][0]["zone"], "ogr1.com");
        assert!(doc["orgs"][1]["records"].is_null());
        assert!(doc["stats"]["queries"].as_u64().unwrap() > 10);
    }

    // wait: org5 never completes, org2 is bogus: --fail-fast ends at once with 2.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
        .arg("wait")
        .arg("--manifest")
        .arg(lab.manifest.source.as_os_str())
        .arg("--anchor")
        .arg(&lab.anchor)
        .args(["--root", root.as_str(), "--fail-fast", "--interval", "1s"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("org1 validator1.ogr1.com: secure"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dnsceremony: SECURITY: org2 (validator2.ogr2.com) is bogus: RRSIG on ogr2.com DNSKEY expired at 2020-02-01T00:00:00Z"),
        "{err}"
    );
}
