//! Hostile organisation zones in one loopback hierarchy (real BIND): KeyTrap (200 keys sharing
//! one key tag, 200 junk RRSIGs per RRset), NSEC3 amplification (150 iterations, a 255-byte
//! salt, a host 100 labels below the apex that does not exist) and two organisations 36 and 45
//! zone cuts deep. Each hostile one is `bogus` with a reason naming the zone and the work
//! limit, the work counted in signature checks and NSEC3 hashes (never in seconds) stays
//! within its budget, the deep pair gets the same verdicts on every run and whatever was
//! cached first, and honest organisations in the same run stay secure, in both resolution
//! modes. `wait --timeout` ends at its deadline even while a poll waits on a silent server.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use dnsceremony::dns::anchor::TrustAnchors;
use dnsceremony::dns::validate::{
    Limit, MAX_NSEC3_HASHES_PER_ORG, MAX_SIG_CHECKS_PER_ORG, MAX_SIG_CHECKS_PER_RRSET,
};
use dnsceremony::identity::Identity;
use dnsceremony::lab::hierarchy::{
    Algorithm, Fault, Hierarchy, OrgZone, Record, ResolverMode, Signing,
};
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{encode, PublishParams};
use dnsceremony::verify::{Session, Source, Status, VerifyOptions, VerifyReport};
use hickory_proto::rr::{Name, RecordType};

const HONEST: [&str; 2] = ["ogr1.com", "ogr2.net"];
const KEYTRAP: &str = "keytrap.com";
const AMPLIFIED: &str = "ampl.com";

/// The zone `depth` cuts below the root on the shared deep chain: `o<depth>.c.c...c`.
/// One-letter labels keep the 45-label names within what BIND's key file names allow.
fn deep_zone(depth: usize) -> String {
    format!("o{depth}{}", ".c".repeat(depth - 1))
}

/// The validator host of an organisation zone: `validator.<zone>`, except for the amplified
/// zone, where it is 100 labels below the apex (and does not exist).
fn host(zone: &str) -> String {
    if zone == AMPLIFIED {
        format!("{}{zone}", "x.".repeat(100))
    } else {
        format!("validator.{zone}")
    }
}

fn manifest_text(zones: &[String]) -> String {
    let mut t = String::from(
        "[ceremony]\nname = \"hostile\"\nprofile = \"v1\"\n\n[genesis]\nchain_id = 65110000\n\n",
    );
    for (i, z) in zones.iter().enumerate() {
        t.push_str(&format!(
            "[[orgs]]\nname = \"org{i}\"\nhost = \"{}\"\n\n",
            host(z)
        ));
    }
    t
}

/// Honest records for every organisation of `manifest` whose zone is in `publish`.
fn records_for(manifest: &str, zone: &str, index: usize) -> Vec<Record> {
    let parsed = Manifest::parse(manifest, Path::new("m.toml")).expect("manifest parses");
    let org = &parsed.orgs[index];
    let identity = Identity::generate(Profile::V1);
    let params = PublishParams {
        ipv4: Some(Ipv4Addr::new(192, 0, 2, index as u8 + 1)),
        ipv6: None,
        port: 30303,
        consensus_port: 20203,
        treasury: Some(identity.public().node_address),
        ttl: 300,
    };
    assert_eq!(org.host.to_ascii().trim_end_matches('.'), host(zone));
    encode(&org.host, &identity, &parsed.ceremony_id(), &params)
        .iter()
        .flat_map(Record::from_rrset)
        .collect()
}

fn n(s: &str) -> Name {
    Name::from_str(s).expect("name parses")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn sources(lab: &Hierarchy) -> Vec<(&'static str, Source, TrustAnchors)> {
    let resolver = lab.resolver.expect("resolver");
    vec![
        (
            "iterative",
            Source::Iterative {
                roots: vec![SocketAddr::from((lab.root, 53))],
            },
            TrustAnchors::from_file(&lab.anchor.ds).expect("DS anchor"),
        ),
        (
            "resolver",
            Source::Resolver(SocketAddr::from((resolver, 53))),
            TrustAnchors::from_file(&lab.anchor.dnskey).expect("DNSKEY anchor"),
        ),
    ]
}

fn session(source: Source, anchors: TrustAnchors) -> Session {
    Session::new(VerifyOptions {
        anchors,
        source,
        timeout: Duration::from_secs(2),
        concurrency: 32,
    })
}

fn verdict<'a>(report: &'a VerifyReport, zone: &str) -> (Status, &'a str) {
    let h = n(&format!("{}.", host(zone)));
    let o = report
        .orgs
        .iter()
        .find(|o| o.host == h)
        .unwrap_or_else(|| panic!("{zone} in the report"));
    (o.status, o.reason.as_deref().unwrap_or(""))
}

#[test]
fn hostile_zones_are_bogus_within_budget_and_the_honest_stay_secure() {
    let (d36, d45) = (deep_zone(36), deep_zone(45));
    let zones: Vec<String> = HONEST
        .iter()
        .map(|z| z.to_string())
        .chain([KEYTRAP.into(), AMPLIFIED.into(), d36.clone(), d45.clone()])
        .collect();
    let text = manifest_text(&zones);
    let mut org_zones = Vec::new();
    for (i, z) in zones.iter().enumerate() {
        let mut oz = OrgZone::new(z);
        if z != AMPLIFIED {
            oz = oz.records(records_for(&text, z, i));
        }
        oz = match z.as_str() {
            KEYTRAP => oz
                .signing(Signing::Static {
                    algorithm: Algorithm::RsaSha256,
                    nsec3: None,
                })
                .fault(Fault::KeyTrap),
            AMPLIFIED => oz.fault(Fault::Nsec3Amplification),
            _ => oz,
        };
        org_zones.push(oz);
    }
    let lab = Hierarchy::builder()
        .zones(org_zones)
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    let manifest = Manifest::parse(&text, Path::new("m.toml")).expect("manifest parses");
    let rt = runtime();
    let mut wrong: Vec<String> = Vec::new();
    for (mode, source, anchors) in sources(&lab) {
        let s = session(source.clone(), anchors.clone());
        let report = rt.block_on(s.verify(&manifest));
        for z in HONEST.iter().copied().chain([d36.as_str()]) {
            let (status, why) = verdict(&report, z);
            if status != Status::Secure {
                wrong.push(format!("{mode} {z}: {status:?} ({why}), want secure"));
            }
        }
        let bogus = |z: &str, zone_named: &str, limit: Limit, wrong: &mut Vec<String>| {
            let (status, why) = verdict(&report, z);
            let want = format!("validating {zone_named} would exceed the work limit of {limit}");
            if status != Status::Bogus || why != want {
                wrong.push(format!(
                    "{mode} {z}: {status:?} ({why}), want bogus ({want})"
                ));
            }
        };
        bogus(KEYTRAP, KEYTRAP, Limit::KeyTagCollisions, &mut wrong);
        bogus(
            AMPLIFIED,
            AMPLIFIED,
            Limit::Nsec3HashesPerAnswer,
            &mut wrong,
        );
        // The first zone over the limit on the 45-cut chain is the 41st cut, c.c...c.
        let cut41 = ["c"; 41].join(".");
        bogus(&d45, &cut41, Limit::ZoneDepth, &mut wrong);

        // The work, counted: KeyTrap's colliding keys cost no signature check at all beyond
        // its DNSKEY set (one per attempt at establishing the zone); the amplified zone's
        // hashes stay within the organisation's budget.
        let keytrap = s
            .org_work(&n(&format!("{}.", host(KEYTRAP))))
            .expect("work");
        let amplified = s
            .org_work(&n(&format!("{}.", host(AMPLIFIED))))
            .expect("work");
        let honest = s
            .org_work(&n(&format!("{}.", host(HONEST[0]))))
            .expect("work");
        eprintln!(
            "{mode}: keytrap {} signature checks, {} hashes; amplified {} checks, {} hashes; \
             honest {} checks; run {} checks, {} hashes",
            keytrap.sig_checks(),
            keytrap.nsec3_hashes(),
            amplified.sig_checks(),
            amplified.nsec3_hashes(),
            honest.sig_checks(),
            s.work().sig_checks(),
            s.work().nsec3_hashes(),
        );
        // Six lookups, each at worst establishing the zone again (failures are not cached):
        // at most one DNSKEY-set check each.
        if keytrap.sig_checks() > 6 * u64::from(MAX_SIG_CHECKS_PER_RRSET) {
            wrong.push(format!(
                "{mode}: keytrap cost {} signature checks",
                keytrap.sig_checks()
            ));
        }
        if amplified.nsec3_hashes() == 0 || amplified.nsec3_hashes() > MAX_NSEC3_HASHES_PER_ORG {
            wrong.push(format!(
                "{mode}: amplified zone cost {} NSEC3 hashes",
                amplified.nsec3_hashes()
            ));
        }
        if s.work().sig_checks() == 0 || keytrap.sig_checks() > MAX_SIG_CHECKS_PER_ORG {
            wrong.push(format!("{mode}: work not counted"));
        }

        // Determinism: the same manifest in fresh sessions, with nothing cached first, with
        // the 36-cut chain cached first, and with the 45-cut one looked up first: always the
        // same verdicts and reasons for the deep pair.
        let mut seen: Vec<(Status, String, Status, String)> = Vec::new();
        for round in 0..4 {
            let s = session(source.clone(), anchors.clone());
            let first = match round {
                1 => Some(&d36),
                2 => Some(&d45),
                _ => None,
            };
            if let Some(z) = first {
                let _ = rt.block_on(s.lookup(&n(&format!("{}.", host(z))), RecordType::A));
            }
            let r = rt.block_on(s.verify(&manifest));
            let (a, ra) = verdict(&r, &d36);
            let (b, rb) = verdict(&r, &d45);
            seen.push((a, ra.to_string(), b, rb.to_string()));
        }
        if seen.iter().any(|v| v != &seen[0]) {
            wrong.push(format!("{mode}: deep chain verdicts differ: {seen:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn wait_timeout_ends_a_poll_in_progress() {
    let text = manifest_text(&["ogr3.org".into(), "quiet.slow".into()]);
    let zones = vec![
        OrgZone::new("ogr3.org").records(records_for(&text, "ogr3.org", 0)),
        OrgZone::new("quiet.slow").records(records_for(&text, "quiet.slow", 1)),
    ];
    let mut lab = Hierarchy::builder()
        .zones(zones)
        .build()
        .expect("hierarchy builds");
    // The TLD `slow` goes silent: its server is stopped and a socket that never answers takes
    // its address, so every query for `quiet.slow` waits out its whole timeout.
    let slow = lab.zone("slow").expect("slow zone").server;
    assert!(lab.stop_server(slow));
    let _silent = UdpSocket::bind((slow, 53)).expect("bind the silent socket");
    let manifest = lab.dir.join("wait.toml");
    std::fs::write(&manifest, &text).expect("write manifest");
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
        .arg("wait")
        .arg("--manifest")
        .arg(&manifest)
        .arg("--anchor")
        .arg(&lab.anchor.dnskey)
        .arg("--root")
        .arg(lab.root.to_string())
        .args([
            "--query-timeout",
            "60s",
            "--timeout",
            "10s",
            "--interval",
            "1s",
        ])
        .arg("--json")
        .output()
        .expect("dnsceremony runs");
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A hang guard, not a speed assertion: a poll waiting out a 60 s query ends at 10 s.
    assert!(
        took < Duration::from_secs(15),
        "wait took {took:?}; stderr: {stderr}"
    );
    assert!(took >= Duration::from_secs(9), "wait took only {took:?}");
    assert_eq!(
        out.status.code(),
        Some(i32::from(dnsceremony::exit::PENDING)),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("deadline reached"), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let orgs = json["orgs"].as_array().expect("orgs");
    let status = |h: &str| {
        orgs.iter()
            .find(|o| o["host"].as_str().unwrap_or("").trim_end_matches('.') == h)
            .map(|o| {
                (
                    o["status"].as_str().unwrap_or("").to_string(),
                    o["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .unwrap_or_default()
    };
    // The honest organisation's verdict came in; the silent one's check was cut.
    assert_eq!(status(&host("ogr3.org")).0, "secure", "{json}");
    assert_eq!(
        status(&host("quiet.slow")),
        (
            "pending".to_string(),
            dnsceremony::verify::DEADLINE_REASON.to_string()
        ),
        "{json}"
    );
}
