//! The audit against a loopback BIND hierarchy, for people and for the benchmark.
//!
//! `cargo run --example audit_lab -- report DIR` builds a small hierarchy with one clean
//! organisation and one organisation per common fault (expired signatures, DS mismatch, two
//! servers that disagree, unsigned delegation, NSEC3 with iterations), audits it with the
//! manifest and writes `DIR/audit.html`, `DIR/audit.txt`, `DIR/audit.md` and `DIR/audit.json`.
//!
//! `cargo run --release --example audit_lab -- bench N [RUNS]` builds N clean organisation
//! zones (each with its full set of ceremony records) and prints the wall and CPU time, queries and
//! findings of two audits of all of them: by zone name (DNSSEC only) and with the manifest
//! (plus the ceremony records, decoded and verified like `verify` does), RUNS times each
//! (the median wall time is printed when RUNS > 1).
//!
//! # Limitations
//! Needs Debian's `bind9` and the right to bind port 53 (root), like every lab.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dnsceremony::audit::anchor::Anchor;
use dnsceremony::audit::render::{self, OutputFormat};
use dnsceremony::audit::{self, AuditConfig};
use dnsceremony::identity::Identity;
use dnsceremony::lab::hierarchy::{Algorithm, Fault, Hierarchy, Nsec3, OrgZone, Record, Signing};
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{self, PublishParams};
use hickory_proto::rr::{Name, RData};

fn usage() -> ! {
    eprintln!("usage: audit_lab report DIR | audit_lab bench N [RUNS]");
    std::process::exit(3)
}

/// The ceremony records of `host` as lab records, for a fresh identity.
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
        let owner = set.name.to_ascii();
        for rd in &set.rdata {
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
    out.sort_by_key(|r| r.rtype != "A");
    out
}

fn manifest(dir: &std::path::Path, hosts: &[(String, String)]) -> Manifest {
    let mut t = String::from(
        "[ceremony]\nname = \"audit-lab\"\nprofile = \"v1\"\n[genesis]\nchain_id = 65110000\n",
    );
    for (name, host) in hosts {
        t.push_str(&format!("[[orgs]]\nname = \"{name}\"\nhost = \"{host}\"\n"));
    }
    let path = dir.join("manifest.toml");
    std::fs::write(&path, t).expect("write manifest");
    Manifest::load(&path).expect("manifest")
}

type Case = (&'static str, &'static str, Option<Fault>, Option<Nsec3>);

fn build(dir: &std::path::Path, cases: &[Case]) -> (Hierarchy, Manifest) {
    let hosts: Vec<(String, String)> = cases
        .iter()
        .map(|(org, zone, ..)| (org.to_string(), format!("validator.{zone}")))
        .collect();
    let m = manifest(dir, &hosts);
    let mut b = Hierarchy::builder();
    for (i, (_, zone, fault, nsec3)) in cases.iter().enumerate() {
        let ip = Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1);
        let mut z = OrgZone::new(zone)
            .signing(Signing::Static {
                algorithm: Algorithm::EcdsaP256,
                nsec3: nsec3.clone(),
            })
            .records(ceremony_records(&m.orgs[i].host, &m, ip));
        if let Some(f) = fault {
            z = z.fault(*f);
        }
        b = b.zone(z);
    }
    let h = b.build().expect("hierarchy builds");
    (h, m)
}

fn config(h: &Hierarchy, m: &Manifest) -> AuditConfig {
    AuditConfig {
        anchor: Anchor::from_file(&h.anchor.ds).expect("anchor"),
        roots: vec![SocketAddr::from((h.root, 53))],
        zones: Vec::new(),
        manifest: Some(m.clone()),
        warn_days: 7,
        warn_share: dnsceremony::audit::analyse::DEFAULT_WARN_SHARE,
        timeout: Duration::from_secs(2),
        in_flight: 256,
    }
}

/// User plus system CPU time of this process so far, seconds (Linux `/proc/self/stat`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    // Clock ticks are 100 per second on Linux.
    f.iter().sum::<u64>() as f64 / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DNSCEREMONY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    match args.first().map(String::as_str) {
        Some("report") => {
            let out = PathBuf::from(args.get(1).unwrap_or_else(|| usage()));
            std::fs::create_dir_all(&out).expect("output directory");
            let work = tempfile::tempdir().expect("temp dir");
            let cases: Vec<Case> = vec![
                ("org1-clean", "ogr1.com", None, None),
                (
                    "org2-expired",
                    "ogr2.net",
                    Some(Fault::ExpiredSignatures),
                    None,
                ),
                ("org3-ds-mismatch", "ogr3.io", Some(Fault::DsMismatch), None),
                (
                    "org4-two-servers",
                    "ogr4.co.uk",
                    Some(Fault::SecondServerSerial),
                    None,
                ),
                (
                    "org5-insecure",
                    "ogr5.com",
                    Some(Fault::UnsignedDelegation),
                    None,
                ),
                (
                    "org6-nsec3",
                    "ogr6.net",
                    None,
                    Some(Nsec3 {
                        iterations: 10,
                        salt: "ABCD".into(),
                        opt_out: false,
                    }),
                ),
            ];
            let (h, m) = build(work.path(), &cases);
            let report = rt.block_on(audit::run(&config(&h, &m))).expect("audit");
            for (file, fmt) in [
                ("audit.html", OutputFormat::Html),
                ("audit.txt", OutputFormat::Text),
                ("audit.md", OutputFormat::Markdown),
                ("audit.json", OutputFormat::Json),
            ] {
                std::fs::write(out.join(file), render::render(&report, fmt)).expect("write");
            }
            println!(
                "wrote {} (worst finding: {:?}, exit {})",
                out.join("audit.html").display(),
                report.worst(),
                report.exit_code()
            );
        }
        Some("bench") => {
            let n: usize = args
                .get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage());
            let work = tempfile::tempdir().expect("temp dir");
            let names: Vec<String> = (0..n)
                .map(|i| format!("org{i:04}-{}", ["com", "net", "io"][i % 3]))
                .collect();
            let zones: Vec<String> = names
                .iter()
                .map(|s| {
                    let (a, b) = s.split_once('-').unwrap_or((s, "com"));
                    format!("{a}.{b}")
                })
                .collect();
            let cases: Vec<Case> = names
                .iter()
                .zip(&zones)
                .map(|(n, z)| {
                    let n: &'static str = Box::leak(n.clone().into_boxed_str());
                    let z: &'static str = Box::leak(z.clone().into_boxed_str());
                    (n, z, None, None)
                })
                .collect();
            let t = Instant::now();
            let (h, m) = build(work.path(), &cases);
            eprintln!("built {n} zones in {:.1} s", t.elapsed().as_secs_f64());
            // Twice: the zones by name (DNSSEC only), then the manifest (plus every
            // organisation's ceremony records, decoded and their signatures checked).
            let by_zone = AuditConfig {
                zones: zones
                    .iter()
                    .map(|z| Name::from_ascii(format!("{z}.")).expect("zone name"))
                    .collect(),
                manifest: None,
                ..config(&h, &m)
            };
            let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
            for (what, cfg) in [("--zone", by_zone), ("--manifest", config(&h, &m))] {
                let mut walls = Vec::new();
                for _ in 0..runs {
                    let (t, cpu) = (Instant::now(), cpu_seconds());
                    let report = rt.block_on(audit::run(&cfg)).expect("audit");
                    let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
                    let (e, w, i) = render::counts(&report);
                    println!(
                        "audit {what} of {n} organisation zones: {wall:.2} s wall, {cpu:.2} s CPU, {} queries, {} zones reported, findings: {e} errors, {w} warnings, {i} info",
                        report.queries,
                        report.zones.len()
                    );
                    walls.push(wall);
                }
                walls.sort_by(f64::total_cmp);
                if runs > 1 {
                    println!(
                        "audit {what}: median of {runs}: {:.2} s wall",
                        walls[runs / 2]
                    );
                }
            }
        }
        _ => usage(),
    }
}
