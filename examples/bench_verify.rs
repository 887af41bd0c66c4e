//! Benchmark of `dnsceremony verify` against BIND's `delv` on a loopback DNSSEC hierarchy.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_verify -- --orgs 4,100,1000
//! ```
//!
//! For each N: builds a private root, the TLDs `com`, `net`, `io`, `uk` + `co.uk`, and N
//! organisation zones (ECDSA P-256, NSEC; 4 servers share them) carrying the v1 records made
//! by `records::encode`; then runs `dnsceremony verify --root` (release build, child process,
//! under `/usr/bin/time` for the peak RSS) `--runs` times, and `delv` validating the same
//! records one by one through a recursive `named` (same anchor, same root), and prints a
//! Markdown table.
//!
//! For profiling: with `BENCH_HOLD=<file>` set, after building each hierarchy it prints the
//! `verify` command line (`HOLD ...`) and keeps the hierarchy up until `<file>` is removed, so
//! `perf record` or `valgrind --tool=callgrind` can be run on that command.
//!
//! Minimum queries: one DNSKEY query for the root; per intermediate zone one referral (with
//! DS) from its parent and one DNSKEY query; per organisation one referral (with DS) from
//! its parent, one DNSKEY query and one query per lookup the verifier is required to make:
//! A, AAAA and TXT at the host (SPEC: A and/or AAAA, and the later one-TXT-at-the-host
//! layout is also accepted), `key_`, `port_`, `autonity_` TXT. So
//! `1 + 2 * intermediates + 8 * N`.
//!
//! `delv` validates the four records the organisations publish (A, `key_`, `port_`,
//! `autonity_`), one process per record. For N above `--delv-sample` (default 100)
//! organisations it runs for a random sample of that many organisations and the time is
//! extrapolated linearly to all N (the table says so).
//!
//! # Limitations
//! `delv` asks a caching resolver, so from its second query on the delegation chain comes
//! from cache: the comparison favours `delv`'s network side, and measures its per-name cost.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dnsceremony::identity::Identity;
use dnsceremony::lab::delv::{delv, DelvVerdict};
use dnsceremony::lab::hierarchy::{Hierarchy, OrgZone, Record, ResolverMode};
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{encode, PublishParams};

const TLDS: [&str; 4] = ["com", "net", "io", "co.uk"];
/// Lookups the verifier must make per organisation (A, AAAA, host TXT, key_, port_, autonity_).
const LOOKUPS_PER_ORG: usize = 6;

struct Args {
    orgs: Vec<usize>,
    runs: usize,
    delv_runs: Option<usize>,
    delv_sample: usize,
    bin: PathBuf,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench_verify [--orgs 4,100,1000] [--runs 5] [--delv-runs N] [--delv-sample ORGS] [--bin target/release/dnsceremony]"
    );
    std::process::exit(3)
}

fn parse_args() -> Args {
    let default_bin = std::env::current_exe()
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(Path::parent)
                .map(|d| d.join("dnsceremony"))
        })
        .unwrap_or_else(|| PathBuf::from("target/release/dnsceremony"));
    let mut a = Args {
        orgs: vec![4, 100, 1000],
        runs: 5,
        delv_runs: None,
        delv_sample: 100,
        bin: default_bin,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--orgs" => {
                a.orgs = value
                    .split(',')
                    .map(|n| n.parse().unwrap_or_else(|_| usage()))
                    .collect()
            }
            "--runs" => a.runs = value.parse().unwrap_or_else(|_| usage()),
            "--delv-runs" => a.delv_runs = Some(value.parse().unwrap_or_else(|_| usage())),
            "--delv-sample" => a.delv_sample = value.parse().unwrap_or_else(|_| usage()),
            "--bin" => a.bin = value.into(),
            _ => usage(),
        }
    }
    a
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some(v[v.len() / 2])
}

/// The first number found under a key named `queries` or `queries_sent` in a JSON document.
fn find_queries(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if (k == "queries" || k == "queries_sent") && x.is_u64() {
                    return x.as_u64();
                }
            }
            m.values().find_map(find_queries)
        }
        serde_json::Value::Array(a) => a.iter().find_map(find_queries),
        _ => None,
    }
}

/// One run of our verify: wall time, queries, peak RSS in KiB, and whether all were secure.
struct Run {
    wall: Duration,
    queries: Option<u64>,
    rss_kib: Option<u64>,
    complete: bool,
    failure: Option<String>,
}

fn run_verify(bin: &Path, manifest: &Path, anchor: &Path, root: Ipv4Addr, dir: &Path) -> Run {
    let timefile = dir.join("time.out");
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&timefile)
        .arg(bin)
        .arg("verify")
        .arg("--manifest")
        .arg(manifest)
        .arg("--anchor")
        .arg(anchor)
        .arg("--root")
        .arg(root.to_string())
        .args(["--json", "--stats"])
        .stdin(Stdio::null())
        .output();
    let wall = start.elapsed();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return Run {
                wall,
                queries: None,
                rss_kib: None,
                complete: false,
                failure: Some(format!("cannot run /usr/bin/time {}: {e}", bin.display())),
            }
        }
    };
    let rss_kib = std::fs::read_to_string(&timefile)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()));
    let json: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
    let complete = json
        .as_ref()
        .and_then(|j| j.get("complete"))
        .and_then(|c| c.as_bool())
        .unwrap_or(false);
    let failure = (!out.status.success() || !complete).then(|| {
        let err = String::from_utf8_lossy(&out.stderr);
        format!(
            "exit {:?}: {}",
            out.status.code(),
            err.lines().last().unwrap_or("").trim()
        )
    });
    Run {
        wall,
        queries: json.as_ref().and_then(find_queries),
        rss_kib,
        complete,
        failure,
    }
}

struct Lab {
    lab: Hierarchy,
    manifest: PathBuf,
    /// Per organisation, the published records' names and types.
    names: Vec<Vec<(String, &'static str)>>,
    intermediates: usize,
    build: Duration,
}

fn build_lab(n: usize) -> Result<Lab, String> {
    let mut text = String::from(
        "[ceremony]\nname = \"bench\"\nprofile = \"v1\"\n\n[genesis]\nchain_id = 65110000\n\n",
    );
    let hosts: Vec<(String, String)> = (0..n)
        .map(|i| {
            let zone = format!("org{i}.{}", TLDS[i % TLDS.len()]);
            (format!("validator{i}.{zone}"), zone)
        })
        .collect();
    for (i, (host, _)) in hosts.iter().enumerate() {
        text.push_str(&format!(
            "[[orgs]]\nname = \"org{i}\"\nhost = \"{host}\"\n\n"
        ));
    }
    let manifest_path = std::env::temp_dir().join(format!("bench-manifest-{n}.toml"));
    let manifest = Manifest::parse(&text, &manifest_path).map_err(|e| e.to_string())?;
    let ceremony = manifest.ceremony_id();
    let mut zones = Vec::new();
    let mut names = Vec::new();
    for (i, org) in manifest.orgs.iter().enumerate() {
        let identity = Identity::generate(Profile::V1);
        let params = PublishParams {
            ipv4: Some(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)),
            ipv6: None,
            port: 30303,
            consensus_port: 20203,
            treasury: Some(identity.public().node_address),
            ttl: 300,
        };
        let sets = encode(&org.host, &identity, &ceremony, &params);
        let records: Vec<Record> = sets.iter().flat_map(Record::from_rrset).collect();
        let mut org_names = Vec::new();
        for s in &sets {
            let t: &'static str = if s.rtype.to_string() == "A" {
                "A"
            } else {
                "TXT"
            };
            org_names.push((s.name.to_ascii(), t));
        }
        names.push(org_names);
        zones.push(OrgZone::new(&hosts[i].1).records(records));
    }
    let start = Instant::now();
    let lab = Hierarchy::builder()
        .zones(zones)
        .org_servers(if n > 4 { 4 } else { 1 })
        .resolver(ResolverMode::NoValidation)
        .build()
        .map_err(|e| e.to_string())?;
    let build = start.elapsed();
    let path = lab.dir.join("manifest.toml");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let intermediates = lab
        .zones
        .values()
        .filter(|z| !z.org && z.name != ".")
        .count();
    Ok(Lab {
        lab,
        manifest: path,
        names,
        intermediates,
        build,
    })
}

/// `k` distinct organisation indexes out of `n`, chosen at random (all when `k >= n`).
fn sample(n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    if k >= n {
        return all;
    }
    let mut seed = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let mut x = u64::from_le_bytes(seed) | 1;
    for i in 0..k {
        // xorshift64: enough to pick a sample.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = i + (x % (n - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args = parse_args();
    let mut rows = Vec::new();
    for &n in &args.orgs {
        eprintln!("N={n}: building the hierarchy");
        let lab = match build_lab(n) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bench_verify: cannot build the hierarchy for N={n}: {e}");
                std::process::exit(4)
            }
        };
        eprintln!("N={n}: hierarchy up in {}", ms(lab.build));
        if let Ok(flag) = std::env::var("BENCH_HOLD") {
            eprintln!(
                "HOLD {} verify --manifest {} --anchor {} --root {} --json --stats",
                args.bin.display(),
                lab.manifest.display(),
                lab.lab.anchor.dnskey.display(),
                lab.lab.root
            );
            while Path::new(&flag).exists() {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let mut ours = Vec::new();
        let mut queries = None;
        let mut rss = 0u64;
        let mut failure = None;
        for _ in 0..args.runs {
            let r = run_verify(
                &args.bin,
                &lab.manifest,
                &lab.lab.anchor.dnskey,
                lab.lab.root,
                &lab.lab.dir,
            );
            if let Some(f) = r.failure {
                failure = Some(f);
                break;
            }
            if r.complete {
                ours.push(r.wall);
                queries = r.queries.or(queries);
                rss = rss.max(r.rss_kib.unwrap_or(0));
            }
        }
        if let Some(f) = &failure {
            eprintln!("N={n}: verify failed: {f}");
        }
        let delv_runs = args.delv_runs.unwrap_or(3);
        let resolver = lab.lab.resolver.expect("resolver");
        let orgs = sample(n, args.delv_sample);
        let scale = n as f64 / orgs.len().max(1) as f64;
        let mut theirs = Vec::new();
        for _ in 0..delv_runs {
            let start = Instant::now();
            for &i in &orgs {
                for (name, rtype) in &lab.names[i] {
                    match delv(resolver, &lab.lab.anchor.delv, name, rtype) {
                        Ok(DelvVerdict::Secure) => {}
                        other => {
                            eprintln!("N={n}: delv {name} {rtype}: {other:?}");
                            std::process::exit(4)
                        }
                    }
                }
            }
            theirs.push(start.elapsed().mul_f64(scale));
        }
        let delv_note = if orgs.len() < n {
            format!(" (sampled {} orgs, x{scale:.0})", orgs.len())
        } else {
            String::new()
        };
        let min_queries = 1 + 2 * lab.intermediates + n * (2 + LOOKUPS_PER_ORG);
        eprintln!(
            "N={n}: ours {:?}, delv {:?}{delv_note}",
            median(ours.clone()),
            median(theirs.clone())
        );
        rows.push((
            n,
            median(ours),
            median(theirs),
            delv_note,
            queries,
            min_queries,
            rss,
            lab.build,
        ));
    }
    println!("| N orgs | ours (median) | delv loop (median) | delv / ours | queries | minimum queries | peak RSS | hierarchy build |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (n, ours, theirs, note, q, min, rss, build) in rows {
        let ratio = match (ours, theirs) {
            (Some(o), Some(t)) if o.as_nanos() > 0 => {
                format!("{:.1}x", t.as_secs_f64() / o.as_secs_f64())
            }
            _ => "n/a".into(),
        };
        println!(
            "| {n} | {} | {}{note} | {ratio} | {} | {min} | {} | {} |",
            ours.map(ms).unwrap_or_else(|| "failed".into()),
            theirs.map(ms).unwrap_or_else(|| "n/a".into()),
            q.map(|q| q.to_string()).unwrap_or_else(|| "n/a".into()),
            if rss > 0 {
                format!("{:.1} MB", rss as f64 / 1024.0)
            } else {
                "n/a".into()
            },
            ms(build),
        );
    }
}
