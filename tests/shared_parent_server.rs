//! One name server serving two zones of a chain (`uk` and `co.uk`, as the real `.uk` servers
//! do): iterative validation must find the zone cut `co.uk` that no referral reveals (the
//! server answers for `ogr4.co.uk` straight from `co.uk`) and validate through it. Real
//! `named` servers on loopback; BIND's `delv` agrees on the outcome.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dnsceremony::dns::anchor::TrustAnchors;
use dnsceremony::identity::Identity;
use dnsceremony::lab::delv::{delv, DelvVerdict};
use dnsceremony::lab::named::{free_addr, options_block, run_tool, Named};
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{self, PublishParams};
use dnsceremony::verify::{Lookup, Session, Source, Status, VerifyOptions};
use hickory_proto::rr::{Name, RData, RecordType};

/// Sign `body` as `zone` (KSK + ZSK, algorithm 13) into `<zone>zone.signed`; returns its DS.
fn sign(dir: &Path, zone: &str, body: &str, extra: &[&str]) -> String {
    let kdir = dir.join(format!("keys-{zone}"));
    std::fs::create_dir_all(&kdir).unwrap();
    let kd = kdir.to_str().unwrap();
    let ksk = run_tool(
        "dnssec-keygen",
        &["-K", kd, "-a", "13", "-n", "ZONE", "-f", "KSK", zone],
        &kdir,
    )
    .expect("dnssec-keygen");
    run_tool(
        "dnssec-keygen",
        &["-K", kd, "-a", "13", "-n", "ZONE", zone],
        &kdir,
    )
    .expect("dnssec-keygen");
    let file = dir.join(format!("{zone}zone"));
    std::fs::write(&file, body).unwrap();
    let out = format!("{}.signed", file.display());
    let mut args = vec!["-K", kd, "-S", "-P", "-o", zone];
    args.extend(extra);
    args.extend(["-f", &out, file.to_str().unwrap()]);
    run_tool("dnssec-signzone", &args, dir).expect("dnssec-signzone");
    run_tool(
        "dnssec-dsfromkey",
        &["-2", &format!("{}.key", ksk.trim())],
        &kdir,
    )
    .expect("dnssec-dsfromkey")
    .trim()
    .to_string()
}

fn soa(zone: &str, ns: &str, ns_addr: Ipv4Addr) -> String {
    format!("$TTL 300\n{zone} SOA {ns} hostmaster.{ns} 1 3600 600 86400 300\n{zone} NS {ns}\n{ns} A {ns_addr}\n")
}

fn serve(dir: &Path, addr: Ipv4Addr, zones: &[&str]) -> Named {
    let sdir = dir.join(format!("srv-{addr}"));
    std::fs::create_dir_all(&sdir).unwrap();
    let mut conf = options_block(addr, &sdir);
    for z in zones {
        conf.push_str(&format!(
            "zone \"{z}\" {{ type primary; file \"{}\"; }};\n",
            dir.join(format!("{z}zone.signed")).display()
        ));
    }
    std::fs::write(sdir.join("named.conf"), conf).unwrap();
    Named::start(addr, &sdir).expect("named starts")
}

/// A recursive server (not validating) over the private root, for `delv`.
fn recursive(dir: &Path, addr: Ipv4Addr, root: Ipv4Addr) -> Named {
    let sdir = dir.join(format!("srv-{addr}"));
    std::fs::create_dir_all(&sdir).unwrap();
    let conf = options_block(addr, &sdir).replace(
        "recursion no;",
        "recursion yes; allow-recursion { any; }; allow-query-cache { any; };",
    ) + "zone \".\" { type hint; file \"root.hints\"; };\n";
    std::fs::write(
        sdir.join("root.hints"),
        format!(". 300 NS ns.\nns. 300 A {root}\n"),
    )
    .unwrap();
    std::fs::write(sdir.join("named.conf"), conf).unwrap();
    Named::start(addr, &sdir).expect("named starts")
}

struct Lab {
    _servers: Vec<Named>,
    root: Ipv4Addr,
    resolver: Ipv4Addr,
    anchor: PathBuf,
    manifest: Manifest,
    _dir: tempfile::TempDir,
}

/// Root on one server; `uk` and `co.uk` together on a second; `ogr4.co.uk` on a third.
/// `ogr4_extra` are dnssec-signzone options for the organisation zone (a fault).
fn build(ogr4_extra: &[&str]) -> Lab {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (r, u, o, res) = (
        free_addr().unwrap(),
        free_addr().unwrap(),
        free_addr().unwrap(),
        free_addr().unwrap(),
    );
    let manifest = Manifest::parse(
        "[ceremony]\nname = \"lab\"\nprofile = \"v1\"\n[genesis]\nchain_id = 65110000\n\
         [[orgs]]\nname = \"org4\"\nhost = \"othername4.ogr4.co.uk\"\n",
        &dir.join("manifest.toml"),
    )
    .expect("manifest");
    let org = &manifest.orgs[0];
    let identity = Identity::generate(Profile::V1);
    let params = PublishParams {
        ipv4: Some(Ipv4Addr::new(10, 0, 0, 4)),
        ipv6: None,
        port: 30303,
        consensus_port: 20203,
        treasury: Some(identity.public().enode_key.address()),
        ttl: 300,
    };
    let mut body = soa("ogr4.co.uk.", "ns1.ogr4.co.uk.", o);
    for set in records::encode(&org.host, &identity, &manifest.ceremony_id(), &params) {
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
            body.push_str(&format!(
                "{} 300 {} {data}\n",
                set.name.to_ascii(),
                set.rtype
            ));
        }
    }
    let ogr4_ds = sign(&dir, "ogr4.co.uk.", &body, ogr4_extra);
    let co_uk = format!(
        "{}ogr4.co.uk. NS ns1.ogr4.co.uk.\nns1.ogr4.co.uk. A {o}\n{ogr4_ds}\n",
        soa("co.uk.", "ns.uk.", u)
    );
    let co_uk_ds = sign(&dir, "co.uk.", &co_uk, &[]);
    let uk = format!("{}co.uk. NS ns.uk.\n{co_uk_ds}\n", soa("uk.", "ns.uk.", u));
    let uk_ds = sign(&dir, "uk.", &uk, &[]);
    let root = format!(
        "{}uk. NS ns.uk.\nns.uk. A {u}\n{uk_ds}\n",
        soa(".", "ns.", r)
    );
    let root_ds = sign(&dir, ".", &root, &[]);
    let anchor = dir.join("root.anchor");
    std::fs::write(&anchor, format!("{root_ds}\n")).unwrap();
    let servers = vec![
        serve(&dir, r, &["."]),
        serve(&dir, u, &["uk.", "co.uk."]),
        serve(&dir, o, &["ogr4.co.uk."]),
        recursive(&dir, res, r),
    ];
    Lab {
        _servers: servers,
        root: r,
        resolver: res,
        anchor,
        manifest,
        _dir: tmp,
    }
}

fn session(lab: &Lab) -> Session {
    Session::new(VerifyOptions {
        anchors: TrustAnchors::from_file(&lab.anchor).expect("anchor"),
        source: Source::Iterative {
            roots: vec![std::net::SocketAddr::new(lab.root.into(), 53)],
        },
        timeout: Duration::from_secs(3),
        concurrency: 8,
    })
}

fn delv_validates(lab: &Lab, name: &str, rtype: &str) -> bool {
    // delv does not iterate: it asks the lab's recursive server, validating with the root DS.
    let ds = std::fs::read_to_string(&lab.anchor).unwrap();
    let f: Vec<&str> = ds.split_whitespace().collect();
    let conf = lab.anchor.with_file_name("delv.anchor");
    std::fs::write(
        &conf,
        format!(
            "trust-anchors {{ . static-ds {} {} {} \"{}\"; }};\n",
            f[3],
            f[4],
            f[5],
            f[6..].join("")
        ),
    )
    .unwrap();
    delv(lab.resolver, &conf, name, rtype).expect("delv runs") == DelvVerdict::Secure
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_cut_without_referral_is_found_and_validated() {
    let lab = build(&[]);
    let s = session(&lab);
    let key = Name::from_str("key_othername4.ogr4.co.uk.").unwrap();
    match s.lookup(&key, RecordType::TXT).await {
        Lookup::Secure { rrsigs, .. } => {
            let signer = rrsigs
                .iter()
                .find_map(dnsceremony::dns::validate::as_rrsig)
                .map(|s| s.input().signer_name.to_ascii());
            assert_eq!(signer.as_deref(), Some("ogr4.co.uk."));
        }
        other => panic!("key TXT not secure: {}", other.describe()),
    }
    let ds = Name::from_str("ogr4.co.uk.").unwrap();
    let got = s.lookup(&ds, RecordType::DS).await;
    assert!(
        matches!(got, Lookup::Secure { .. }),
        "the DS of ogr4.co.uk (signed by co.uk, served by the uk server) validates: {}",
        got.describe()
    );
    let report = s.verify(&lab.manifest).await;
    assert_eq!(
        report.orgs[0].status,
        Status::Secure,
        "{:?}",
        report.orgs[0].reason
    );
    assert!(delv_validates(&lab, "key_othername4.ogr4.co.uk.", "TXT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_zone_below_a_shared_server_is_still_bogus() {
    // Signatures of ogr4.co.uk expired: finding the cut must not make a broken zone pass.
    let lab = build(&["-s", "20200101000000", "-e", "20200201000000"]);
    let s = session(&lab);
    let report = s.verify(&lab.manifest).await;
    let org = &report.orgs[0];
    assert_eq!(org.status, Status::Bogus, "{:?}", org.reason);
    let why = org.reason.clone().unwrap_or_default();
    assert!(why.contains("ogr4.co.uk"), "reason names the zone: {why}");
    assert!(!delv_validates(&lab, "key_othername4.ogr4.co.uk.", "TXT"));
}
