//! `audit` against a real signed BIND hierarchy on loopback (the lab builder): every fault
//! produces its code and severity, clean zones produce nothing at warning or above, two
//! servers for one zone that disagree on the serial or the keys are caught, and the CLI's exit
//! status, JSON and HTML follow.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use dnsceremony::audit::anchor::Anchor;
use dnsceremony::audit::{self, AuditConfig, Code, Report, Severity};
use dnsceremony::identity::Identity;
use dnsceremony::lab::delv::{delv, DelvVerdict};
use dnsceremony::lab::hierarchy::{
    Algorithm, Fault, Hierarchy, Nsec3, OrgZone, Record, ResolverMode, Signing,
};
use dnsceremony::lab::unbound::{self, unbound_host, UnboundMode};
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{self, PublishParams};
use hickory_proto::rr::{Name, RData};

#[path = "support/audit_schema.rs"]
mod audit_schema;

/// (zone, how it is built, expected findings: code and severity)
/// One lab zone: name, fault, NSEC3 parameters, expected findings (code, severity).
type Case = (
    &'static str,
    Option<Fault>,
    Option<Nsec3>,
    Vec<(Code, Severity)>,
);

fn cases() -> Vec<Case> {
    use Code::*;
    use Severity::*;
    let n3 = |iterations, salt: &str, opt_out| {
        Some(Nsec3 {
            iterations,
            salt: salt.into(),
            opt_out,
        })
    };
    vec![
        ("good.com", None, None, vec![]),
        ("goodn3.net", None, n3(0, "", false), vec![]),
        (
            "expired.com",
            Some(Fault::ExpiredSignatures),
            None,
            vec![(RrsigExpired, Error)],
        ),
        (
            "expzsk.com",
            Some(Fault::ExpiredWithZsk),
            None,
            vec![(RrsigExpired, Error)],
        ),
        (
            "future.com",
            Some(Fault::FutureSignatures),
            None,
            vec![(RrsigNotYetValid, Error)],
        ),
        (
            "dsmis.com",
            Some(Fault::DsMismatch),
            None,
            vec![(DsNoMatchingKey, Error)],
        ),
        (
            "foreign.com",
            Some(Fault::ForeignKeySigned),
            None,
            vec![(RrsigUnknownKey, Error)],
        ),
        (
            "unsignedds.com",
            Some(Fault::UnsignedUnderDs),
            None,
            vec![(DnskeyMissing, Error)],
        ),
        (
            "altered.com",
            Some(Fault::AlteredAfterSigning),
            None,
            vec![(RrsigInvalid, Error)],
        ),
        (
            "insecure.com",
            Some(Fault::UnsignedDelegation),
            None,
            vec![(UnsignedDelegation, Error)],
        ),
        (
            "serial.com",
            Some(Fault::SecondServerSerial),
            None,
            vec![(SerialMismatch, Warning)],
        ),
        (
            "twokeys.com",
            Some(Fault::SecondServerOtherKey),
            None,
            vec![(DnskeyMismatch, Error)],
        ),
        (
            "ttl.com",
            Some(Fault::TtlBeyondSignature),
            None,
            vec![(TtlExceedsSignature, Warning), (RrsigExpiresSoon, Warning)],
        ),
        (
            "revoked.com",
            Some(Fault::RevokedKey),
            None,
            vec![(KeyRevoked, Warning)],
        ),
        (
            "unused.com",
            Some(Fault::UnusedKey),
            None,
            vec![(KeyUnused, Info)],
        ),
        (
            "nsmis.com",
            Some(Fault::ExtraChildNs),
            None,
            vec![(NsMismatch, Warning)],
        ),
        (
            "gluemis.com",
            Some(Fault::GlueMismatch),
            None,
            vec![(GlueMismatch, Error)],
        ),
        (
            "iter.net",
            None,
            n3(10, "ABCD", false),
            vec![(Nsec3Iterations, Warning), (Nsec3Salt, Warning)],
        ),
        (
            "many.net",
            None,
            n3(100, "", false),
            vec![(Nsec3Iterations, Error)],
        ),
        (
            "optout.net",
            None,
            n3(0, "", true),
            vec![(Nsec3OptOut, Info)],
        ),
        (
            "nodata.com",
            Some(Fault::MissingNodataProof),
            None,
            vec![(DenialInvalid, Error)],
        ),
        // 14-day signatures with 5 days left: a healthy zone mid-cycle, no expiry warning.
        (
            "midcycle.com",
            Some(Fault::MidCycleSignatures),
            None,
            vec![],
        ),
        // Signed with ED448 (algorithm 16): validated, clean.
        ("ed448.net", None, None, vec![]),
    ]
}

fn manifest_text() -> String {
    let mut t = String::from(
        "[ceremony]\nname = \"audit-lab\"\nprofile = \"v1\"\n[genesis]\nchain_id = 65110000\n",
    );
    for (i, (zone, ..)) in cases().iter().enumerate() {
        t.push_str(&format!(
            "[[orgs]]\nname = \"org{i:02}-{}\"\nhost = \"validator.{zone}\"\n",
            zone.split('.').next().unwrap()
        ));
    }
    t
}

/// The ceremony records of `host`, as lab records.
fn ceremony_records(host: &Name, manifest: &Manifest, ip: Ipv4Addr) -> Vec<Record> {
    let identity = Identity::generate(Profile::V1);
    let params = PublishParams {
        ipv4: Some(ip),
        ipv6: None,
        port: 30303,
        consensus_port: 20203,
        treasury: Some(identity.public().enode_key.address()),
        ttl: 300,
    };
    let mut out = Vec::new();
    for set in records::encode(host, &identity, &manifest.ceremony_id(), &params) {
        for rd in &set.rdata {
            let owner = set.name.to_ascii();
            out.push(match rd {
                RData::A(a) => Record::a(&owner, a.0),
                RData::TXT(t) => Record::txt(
                    &owner,
                    &t.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<String>(),
                ),
                other => Record::new(&owner, &set.rtype.to_string(), &other.to_string()),
            });
        }
    }
    // The host's A record first: AlteredAfterSigning changes the first record.
    out.sort_by_key(|r| r.rtype != "A");
    out
}

struct Lab {
    hierarchy: Hierarchy,
    manifest: Manifest,
    _dir: tempfile::TempDir,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.toml");
    std::fs::write(&path, manifest_text()).unwrap();
    let manifest = Manifest::load(&path).expect("manifest");
    let mut b = Hierarchy::builder();
    for (i, (zone, fault, nsec3, _)) in cases().into_iter().enumerate() {
        let host = &manifest.orgs[i].host;
        let algorithm = if zone.starts_with("ed448") {
            Algorithm::Ed448
        } else {
            Algorithm::EcdsaP256
        };
        let mut z = OrgZone::new(zone)
            .signing(Signing::Static { algorithm, nsec3 })
            .records(ceremony_records(
                host,
                &manifest,
                Ipv4Addr::new(192, 0, 2, i as u8 + 1),
            ));
        if let Some(f) = fault {
            z = z.fault(f);
        }
        b = b.zone(z);
    }
    // A zone BIND signs itself (dnssec-policy, inline signing), as in production.
    b = b.zone(OrgZone::new("inline.com").signing(Signing::Dynamic {
        algorithm: dnsceremony::lab::hierarchy::Algorithm::EcdsaP256,
        nsec3: Some(Nsec3::default()),
    }));
    let hierarchy = b
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    Lab {
        hierarchy,
        manifest,
        _dir: dir,
    }
}

fn config(lab: &Lab, zones: Vec<Name>, manifest: bool) -> AuditConfig {
    AuditConfig {
        anchor: Anchor::from_file(&lab.hierarchy.anchor.ds).expect("anchor"),
        roots: vec![SocketAddr::from((lab.hierarchy.root, 53))],
        zones,
        manifest: manifest.then(|| lab.manifest.clone()),
        warn_days: 7,
        warn_share: dnsceremony::audit::analyse::DEFAULT_WARN_SHARE,
        timeout: Duration::from_secs(2),
        in_flight: 64,
    }
}

fn run(cfg: &AuditConfig) -> Report {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(audit::run(cfg))
        .expect("audit runs")
}

/// Findings about `zone` (its zone report and the organisation whose host is in it).
fn findings_of(r: &Report, zone: &str) -> Vec<(Code, Severity)> {
    let z = format!("{zone}.");
    let mut out: Vec<(Code, Severity)> = r
        .findings()
        .iter()
        .filter(|f| f.zone == z)
        .map(|f| (f.code, f.severity))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn every_fault_has_its_code_and_clean_zones_are_clean() {
    let lab = lab();
    let report = run(&config(&lab, Vec::new(), true));
    let mut failures = Vec::new();
    for (zone, _, _, expected) in cases() {
        let got = findings_of(&report, zone);
        if expected.is_empty() {
            let bad: Vec<_> = got
                .iter()
                .filter(|(_, s)| *s >= Severity::Warning)
                .collect();
            if !bad.is_empty() {
                failures.push(format!("{zone}: clean zone has {bad:?}"));
            }
            let z = report.zone(&format!("{zone}.")).expect("zone report");
            if z.status != audit::ChainStatus::Secure {
                failures.push(format!("{zone}: status {:?}", z.status));
            }
        }
        for e in &expected {
            if !got.contains(e) {
                failures.push(format!("{zone}: expected {e:?}, got {got:?}"));
            }
        }
    }
    // A key that made signatures is not unused, expired or not yet valid as they are.
    for zone in ["expired.com", "expzsk.com", "future.com"] {
        let got = findings_of(&report, zone);
        if got.iter().any(|(c, _)| *c == Code::KeyUnused) {
            failures.push(format!(
                "{zone}: KEY_UNUSED for the key that signed it: {got:?}"
            ));
        }
    }
    let zsk = report.zone("expzsk.com.").expect("zone report");
    if !zsk.keys.iter().any(|k| k.flags == 256) {
        failures.push(format!("expzsk.com: no ZSK among {:?}", zsk.keys));
    }
    // An unproven NODATA makes the zone's answers bogus: no ZONE_SECURE.
    let nodata = report.zone("nodata.com.").expect("zone report");
    if nodata.findings.iter().any(|f| f.code == Code::ZoneSecure) {
        failures.push(format!("nodata.com: ZONE_SECURE: {:?}", nodata.findings));
    }
    // ED448 keys and signatures are checked: every signature valid.
    let ed = report.zone("ed448.net.").expect("zone report");
    if ed.keys.iter().any(|k| k.algorithm != 16)
        || ed.signatures.is_empty()
        || ed.signatures.iter().any(|s| !s.valid)
    {
        failures.push(format!("ed448.net: {:?} {:?}", ed.keys, ed.signatures));
    }
    // The ancestors are clean and shared: one report each.
    for anc in [".", "com.", "net."] {
        assert_eq!(
            report.zones.iter().filter(|z| z.zone == anc).count(),
            1,
            "{anc}"
        );
        assert_eq!(
            report.zone_worst(anc),
            Some(Severity::Info),
            "{anc}: {:?}",
            report.zone(anc)
        );
    }
    // Clean organisations: every record present and signed.
    let good = report
        .orgs
        .iter()
        .find(|o| o.host == "validator.good.com.")
        .unwrap();
    assert!(
        good.records
            .iter()
            .filter(|r| !r.values.is_empty())
            .all(|r| r.signed),
        "{good:?}"
    );
    assert_eq!(report.org_worst(good), Some(Severity::Info));
    // Two servers for one zone: both are listed, with their serials.
    let serial = report.zone("serial.com.").unwrap();
    let serials: Vec<Option<u32>> = serial.servers.iter().map(|s| s.serial).collect();
    assert_eq!(serial.servers.len(), 2, "{serial:?}");
    assert!(
        serials.contains(&Some(1)) && serials.contains(&Some(2)),
        "{serials:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(report.exit_code(), dnsceremony::exit::AUDIT_ERROR);
}

#[test]
fn zones_by_name_and_the_cli() {
    let lab = lab();
    let names = |zs: &[&str]| -> Vec<Name> {
        zs.iter()
            .map(|z| Name::from_ascii(format!("{z}.")).unwrap())
            .collect()
    };
    // Clean zones only, one of them signed by BIND itself: exit 0.
    let clean = run(&config(
        &lab,
        names(&["good.com", "goodn3.net", "inline.com"]),
        false,
    ));
    assert_eq!(
        clean.zone("inline.com.").map(|z| z.status),
        Some(audit::ChainStatus::Secure)
    );
    assert_eq!(clean.exit_code(), 0, "{:#?}", clean.findings());
    // A warning-only zone: exit 12.
    let warn = run(&config(&lab, names(&["revoked.com"]), false));
    assert_eq!(
        warn.worst(),
        Some(Severity::Warning),
        "{:#?}",
        warn.findings()
    );
    assert_eq!(warn.exit_code(), dnsceremony::exit::AUDIT_WARNING);
    // A name that is not delegated.
    let missing = run(&config(&lab, names(&["nowhere.com"]), false));
    assert!(
        missing
            .findings()
            .iter()
            .any(|f| f.code == Code::ZoneNotFound),
        "{:#?}",
        missing.findings()
    );

    // The binary: JSON on stdout, exit 13, valid against the schema's required fields.
    let bin = env!("CARGO_BIN_EXE_dnsceremony");
    let out = std::process::Command::new(bin)
        .args([
            "audit",
            "--zone",
            "expired.com",
            "--zone",
            "good.com",
            "--json",
            "--anchor",
        ])
        .arg(&lab.hierarchy.anchor.ds)
        .args(["--root", &lab.hierarchy.root.to_string()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(13),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "dnsceremony.audit/v1");
    let violations = audit_schema::schema_violations(&doc);
    assert!(violations.is_empty(), "{violations:#?}");
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["code"] == "RRSIG_EXPIRED"
            && f["zone"] == "expired.com."
            && f["severity"] == "error"),
        "{findings:#?}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f["zone"] != "good.com." || f["severity"] == "info"),
        "{findings:#?}"
    );

    // HTML to a file with the manifest's delv-style anchor.
    let html = lab._dir.path().join("audit.html");
    let out = std::process::Command::new(bin)
        .args(["audit", "--format", "html", "--out"])
        .arg(&html)
        .arg("--anchor")
        .arg(&lab.hierarchy.anchor.delv)
        .args([
            "--root",
            &lab.hierarchy.root.to_string(),
            "--zone",
            "good.com",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("good.com."));

    // Bad input: an unreadable anchor is exit 3 with one line naming the file.
    let out = std::process::Command::new(bin)
        .args([
            "audit",
            "--zone",
            "good.com",
            "--anchor",
            "/nonexistent/anchor",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/anchor"), "{err}");
}

#[test]
fn a_silent_server_and_a_wrong_anchor() {
    let mut hierarchy = Hierarchy::builder()
        .zone(OrgZone::new("pair.com").fault(Fault::SecondServerSerial))
        .build()
        .expect("hierarchy builds");
    let zone = vec![Name::from_ascii("pair.com.").unwrap()];
    let root = hierarchy.root;
    let cfg = |anchor: &std::path::Path| AuditConfig {
        anchor: Anchor::from_file(anchor).expect("anchor"),
        roots: vec![SocketAddr::from((root, 53))],
        zones: zone.clone(),
        manifest: None,
        warn_days: 7,
        warn_share: dnsceremony::audit::analyse::DEFAULT_WARN_SHARE,
        timeout: Duration::from_millis(500),
        in_flight: 16,
    };
    // The anchor of another root key: the root itself does not validate.
    let wrong = hierarchy.wrong_anchor().expect("wrong anchor");
    let r = run(&cfg(&wrong.ds));
    assert!(
        findings_of(&r, "").contains(&(Code::AnchorNoMatch, Severity::Error)),
        "{:#?}",
        r.findings()
    );
    assert!(
        findings_of(&r, "pair.com").contains(&(Code::ParentInsecure, Severity::Error)),
        "{:#?}",
        r.findings()
    );
    // Stop the primary of pair.com: its second server still answers, the first does not.
    let primary = hierarchy.zone("pair.com").unwrap().server;
    let anchor = hierarchy.anchor.ds.clone();
    assert!(hierarchy.stop_server(primary));
    let r = run(&cfg(&anchor));
    let got = findings_of(&r, "pair.com");
    assert!(
        got.contains(&(Code::ServerUnreachable, Severity::Error)),
        "{got:?}"
    );
    let z = r.zone("pair.com.").unwrap();
    assert_eq!(z.servers.iter().filter(|s| s.answered).count(), 1, "{z:?}");
}

/// `--resolver` cannot serve an audit (it would hide which server serves what): one line,
/// exit 3, before any query. The old `--timeout`/`--in-flight` flags are the shared
/// `--query-timeout`/`--concurrency` now.
#[test]
fn resolver_is_refused_and_dns_flags_are_shared() {
    let bin = env!("CARGO_BIN_EXE_dnsceremony");
    let out = std::process::Command::new(bin)
        .args(["audit", "--zone", "good.com", "--resolver", "127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("dnsceremony: bad value for --resolver: 127.0.0.1:53: the audit asks every authoritative server directly"),
        "{err}"
    );
    let help = std::process::Command::new(bin)
        .args(["audit", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--anchor", "--root", "--query-timeout", "--concurrency"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    for gone in ["--timeout", "--in-flight"] {
        assert!(!help.contains(gone), "{gone} still in:\n{help}");
    }
}

/// The zones whose verdict depends on which server is asked (a second server signing with a
/// key the DS does not name): no single verdict to compare.
const SERVER_DEPENDENT: [&str; 1] = ["twokeys.com"];

/// The questions the oracles are asked per organisation: the records `verify` reads, and the
/// host's AAAA (a NODATA in every lab zone).
fn oracle_queries(host: &str) -> Vec<(String, &'static str)> {
    vec![
        (host.to_string(), "A"),
        (host.to_string(), "AAAA"),
        (format!("key_{host}"), "TXT"),
        (format!("port_{host}"), "TXT"),
        (format!("autonity_{host}"), "TXT"),
    ]
}

/// `verify`'s per-organisation status as a chain verdict: data that validated is secure,
/// whether or not the records are complete and well formed.
fn verify_chain(status: &str) -> &str {
    match status {
        "secure" | "pending" | "invalid" => "secure",
        other => other,
    }
}

/// One chain verdict from an oracle's answers: any failure is bogus, else any insecure answer
/// is insecure, else secure.
fn oracle_chain(failed: bool, insecure: bool) -> &'static str {
    if failed {
        "bogus"
    } else if insecure {
        "insecure"
    } else {
        "secure"
    }
}

/// For every lab fault: the audit's per-organisation chain verdict equals `verify`'s (from the
/// root and through a resolver), `delv`'s and Unbound's (forwarding and iterating).
#[test]
fn chain_verdicts_agree_with_verify_delv_and_unbound() {
    let lab = lab();
    let h = &lab.hierarchy;
    let resolver = h.resolver.expect("resolver");
    let report = run(&config(&lab, Vec::new(), true));
    let manifest = lab._dir.path().join("manifest.toml");
    let bin = env!("CARGO_BIN_EXE_dnsceremony");
    let mut verify_modes = Vec::new();
    for (mode, flag, addr) in [
        ("--root", "--root", h.root),
        ("--resolver", "--resolver", resolver),
    ] {
        let out = std::process::Command::new(bin)
            .arg("verify")
            .arg("--manifest")
            .arg(&manifest)
            .arg("--anchor")
            .arg(&h.anchor.ds)
            .args([flag, &addr.to_string(), "--json", "--query-timeout", "1s"])
            .output()
            .expect("verify runs");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify {mode}: no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let statuses: Vec<(String, String)> = doc["orgs"]
            .as_array()
            .expect("orgs")
            .iter()
            .map(|o| {
                (
                    o["host"]
                        .as_str()
                        .unwrap_or_default()
                        .trim_end_matches('.')
                        .to_string(),
                    o["status"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        verify_modes.push((mode, statuses));
    }
    let conf_dir = lab._dir.path().join("unbound");
    let unbound_modes = [
        (
            "forward",
            unbound::config(&conf_dir, UnboundMode::Forward(resolver)).unwrap(),
        ),
        (
            "iterate",
            unbound::config(&conf_dir, UnboundMode::Iterate(h.root)).unwrap(),
        ),
    ];
    let mut wrong = Vec::new();
    let mut compared = 0;
    for (zone, ..) in cases() {
        if SERVER_DEPENDENT.contains(&zone) {
            continue;
        }
        let host = format!("validator.{zone}");
        let Some(org) = report.orgs.iter().find(|o| o.host == format!("{host}.")) else {
            wrong.push(format!("{host}: missing from the audit"));
            continue;
        };
        let ours = report.org_chain(org).as_str();
        let mut theirs: Vec<(String, String)> = Vec::new();
        for (mode, statuses) in &verify_modes {
            match statuses.iter().find(|(hh, _)| *hh == host) {
                Some((_, s)) => theirs.push((format!("verify {mode}"), verify_chain(s).into())),
                None => wrong.push(format!("{host}: missing from verify {mode}")),
            }
        }
        let d: Vec<DelvVerdict> = oracle_queries(&host)
            .iter()
            .map(|(n, t)| delv(resolver, &h.anchor.delv, n, t).expect("delv runs"))
            .collect();
        theirs.push((
            format!("delv {d:?}"),
            oracle_chain(
                d.iter().any(DelvVerdict::is_failed),
                d.contains(&DelvVerdict::Insecure),
            )
            .into(),
        ));
        for (mode, conf) in &unbound_modes {
            let u: Vec<unbound::UnboundVerdict> = oracle_queries(&host)
                .iter()
                .map(|(n, t)| unbound_host(conf, &h.anchor.ds, n, t).expect("unbound-host runs"))
                .collect();
            theirs.push((
                format!("unbound-host {mode} {u:?}"),
                oracle_chain(
                    u.iter().any(unbound::UnboundVerdict::is_failed),
                    u.contains(&unbound::UnboundVerdict::Insecure),
                )
                .into(),
            ));
        }
        for (who, verdict) in &theirs {
            // Debian 12's Unbound does not implement ED448: it treats the zone as insecure, as
            // RFC 6840 5.2 asks of a validator that lacks the algorithm.
            let want = if zone.starts_with("ed448") && who.starts_with("unbound-host") {
                "insecure"
            } else {
                ours
            };
            if verdict != want {
                wrong.push(format!("{zone}: audit says {ours}, {who} says {verdict}"));
            }
        }
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} organisations compared");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
