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
//! Besides wall time it reports where the machine's CPU went during the runs: `verify`'s own
//! (user + system, from `/usr/bin/time`) and the lab's `named` servers' (from `/proc`), since on
//! a small machine both share the cores. With two or more cores it also runs `verify` pinned
//! to one core with the `named` servers pinned to the others (`taskset`): that is `verify`'s
//! wall time on one core's worth of machine. Last it measures, in this process and with no DNS
//! at all, the CPU the checks `verify` must make cost per organisation (the floor no
//! scheduling can go under): the RRSIG verifications of its records (ECDSA P-256 with `ring`,
//! as in the lab), the identity checks of its records (`records::decode_deferred`: attestation
//! signature, BLS key and proof-of-possession parts) and its share of the batched
//! ownership-proof pairing check.
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
//! With `--hostile` it measures instead what one hostile organisation among N honest ones
//! costs: three hierarchies per N with the same manifest (N honest organisations and one more,
//! `hostile.com`, whose validator host lies 100 labels below its apex): the extra organisation
//! honest, a KeyTrap zone (`Fault::KeyTrap`: 200 keys sharing one key tag, 200 junk RRSIGs per
//! RRset), and an NSEC3-amplified zone (`Fault::Nsec3Amplification`: 150 iterations, a 255-byte
//! salt, the deep host absent). It prints `verify`'s wall and CPU time for each and the extra
//! over the honest twin, and checks that the N honest organisations stay secure and the hostile
//! one is bogus:
//!
//! ```text
//! cargo run --release --example bench_verify -- --orgs 1000 --runs 5 --hostile
//! ```
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
use dnsceremony::lab::hierarchy::{
    Algorithm, Fault, Hierarchy, OrgZone, Record, ResolverMode, Signing,
};
use dnsceremony::manifest::CeremonyId;
use dnsceremony::manifest::{Manifest, Profile};
use dnsceremony::records::{decode_deferred, encode, FetchedRecords, PendingPop, PublishParams};

const TLDS: [&str; 4] = ["com", "net", "io", "co.uk"];
/// Lookups the verifier must make per organisation (A, AAAA, host TXT, key_, port_, autonity_).
const LOOKUPS_PER_ORG: usize = 6;
/// RRSIG verifications each organisation needs at least: the DS in its parent's referral, its
/// DNSKEY set, A, the NSEC at the host (which proves both AAAA and host TXT absent), `key_`,
/// `port_` and `autonity_` TXT.
const RRSIGS_PER_ORG: usize = 7;

struct Args {
    orgs: Vec<usize>,
    runs: usize,
    delv_runs: Option<usize>,
    delv_sample: usize,
    bin: PathBuf,
    hostile: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench_verify [--orgs 4,100,1000] [--runs 5] [--delv-runs N] [--delv-sample ORGS] [--bin target/release/dnsceremony] [--hostile]"
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
        hostile: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--hostile" {
            a.hostile = true;
            continue;
        }
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
    /// User + system CPU of `verify`.
    cpu: Option<Duration>,
    /// CPU the lab's `named` servers used meanwhile.
    bind_cpu: Option<Duration>,
    queries: Option<u64>,
    rss_kib: Option<u64>,
    complete: bool,
    failure: Option<String>,
    /// The status of each organisation, by host.
    statuses: Vec<(String, String)>,
}

/// How to run `verify`: on every core, or pinned to core 0 (`taskset`).
#[derive(Clone, Copy, PartialEq)]
enum Cores {
    All,
    One,
}

fn run_verify(
    bin: &Path,
    manifest: &Path,
    anchor: &Path,
    root: Ipv4Addr,
    dir: &Path,
    cores: Cores,
) -> Run {
    let timefile = dir.join("time.out");
    let servers = named_pids(dir);
    let bind_before = cpu_of(&servers);
    let mut cmd = match cores {
        Cores::All => Command::new("/usr/bin/time"),
        Cores::One => {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", "/usr/bin/time"]);
            c
        }
    };
    let start = Instant::now();
    let out = cmd
        .arg("-f")
        .arg("%M %U %S")
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
    let bind_cpu = bind_before.and_then(|b| cpu_of(&servers).map(|a| a.saturating_sub(b)));
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return Run {
                wall,
                cpu: None,
                bind_cpu,
                queries: None,
                rss_kib: None,
                complete: false,
                failure: Some(format!("cannot run /usr/bin/time {}: {e}", bin.display())),
                statuses: Vec::new(),
            }
        }
    };
    let timed = std::fs::read_to_string(&timefile).unwrap_or_default();
    let fields: Vec<&str> = timed
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let rss_kib = fields.first().and_then(|f| f.parse().ok());
    let cpu = match (fields.get(1), fields.get(2)) {
        (Some(u), Some(s)) => match (u.parse::<f64>(), s.parse::<f64>()) {
            (Ok(u), Ok(s)) => Some(Duration::from_secs_f64(u + s)),
            _ => None,
        },
        _ => None,
    };
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
    let statuses = json
        .as_ref()
        .and_then(|j| j["orgs"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|o| {
            (
                o["host"]
                    .as_str()
                    .unwrap_or("")
                    .trim_end_matches('.')
                    .to_string(),
                o["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    Run {
        wall,
        cpu,
        bind_cpu,
        queries: json.as_ref().and_then(find_queries),
        rss_kib,
        complete,
        failure,
        statuses,
    }
}

/// The `named` processes serving the lab in `dir` (their command line names a file in it).
fn named_pids(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline);
            text.starts_with("named\0") && text.contains(&needle)
        })
        .collect()
}

/// User + system CPU of a process from `/proc/PID/stat` (or of this process for `self`).
fn proc_cpu(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name in parentheses; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// Total CPU of `pids` so far (None if any is gone).
fn cpu_of(pids: &[u32]) -> Option<Duration> {
    pids.iter().map(|p| proc_cpu(&p.to_string())).sum()
}

/// Pin the lab's `named` servers to every core but core 0 (`taskset`), or back to all.
fn pin_servers(pids: &[u32], away_from_core0: bool, cores: usize) {
    let list = match away_from_core0 {
        true => format!("1-{}", cores - 1),
        false => format!("0-{}", cores - 1),
    };
    for pid in pids {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", &list, &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Per organisation, the CPU (all threads of this process) of the checks `verify` must make,
/// measured with no DNS: one P-256 RRSIG verification, the identity checks of its records and
/// its share of the batched ownership-proof pairing check.
struct Floor {
    rrsig: Duration,
    identity: Duration,
    pairing: Duration,
}

impl Floor {
    fn per_org(&self) -> Duration {
        self.rrsig * RRSIGS_PER_ORG as u32 + self.identity + self.pairing
    }
}

fn measure_floor(orgs: usize) -> Floor {
    use ring::signature::{EcdsaKeyPair, KeyPair, UnparsedPublicKey};
    // An RRSIG check is one ECDSA P-256 verification over the RRSIG fields and the RRset
    // (about 150 bytes for these records).
    let rng = ring::rand::SystemRandom::new();
    let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("P-256 key");
    let data = [0x5au8; 150];
    let sig = pair.sign(&rng, &data).expect("signature");
    let public = UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref().to_vec(),
    );
    let rounds = 4 * orgs;
    let before = proc_cpu("self").unwrap_or_default();
    for _ in 0..rounds {
        public.verify(&data, sig.as_ref()).expect("verifies");
    }
    let rrsig = (proc_cpu("self").unwrap_or_default() - before) / rounds as u32;

    let ceremony = CeremonyId([7u8; 32]);
    let mut inputs = Vec::new();
    for i in 0..orgs {
        let host: hickory_proto::rr::Name =
            format!("validator{i}.org{i}.com.").parse().expect("name");
        let identity = Identity::generate(Profile::V1);
        let params = PublishParams {
            ipv4: Some(Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8)),
            ipv6: None,
            port: 30303,
            consensus_port: 20203,
            treasury: Some(identity.public().node_address),
            ttl: 300,
        };
        let mut fetched = FetchedRecords::default();
        for set in encode(&host, &identity, &ceremony, &params) {
            let owner = set.name.to_ascii();
            for rdata in &set.rdata {
                match rdata {
                    hickory_proto::rr::RData::A(a) => fetched.a.push(a.0),
                    hickory_proto::rr::RData::TXT(t) => {
                        let strings: Vec<Vec<u8>> = t.txt_data.iter().map(|s| s.to_vec()).collect();
                        if owner.starts_with("key_") {
                            fetched.key_txt.push(strings)
                        } else if owner.starts_with("port_") {
                            fetched.port_txt.push(strings)
                        } else if owner.starts_with("autonity_") {
                            fetched.autonity_txt.push(strings)
                        }
                    }
                    _ => {}
                }
            }
        }
        inputs.push((host, fetched));
    }
    let before = proc_cpu("self").unwrap_or_default();
    let mut pops: Vec<PendingPop> = Vec::new();
    for (host, fetched) in &inputs {
        let (_, pop) =
            decode_deferred(host, fetched, Profile::V1, &ceremony).expect("valid records");
        pops.extend(pop);
    }
    let identity = (proc_cpu("self").unwrap_or_default() - before) / orgs as u32;
    let before = proc_cpu("self").unwrap_or_default();
    assert!(PendingPop::check_all(&pops).is_empty(), "every proof holds");
    let pairing = (proc_cpu("self").unwrap_or_default() - before) / orgs as u32;
    Floor {
        rrsig,
        identity,
        pairing,
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

/// The extra organisation of `--hostile`: how its zone is made.
#[derive(Clone, Copy, PartialEq)]
enum Extra {
    Honest,
    KeyTrap,
    Nsec3,
}

impl Extra {
    fn label(self) -> &'static str {
        match self {
            Extra::Honest => "honest twin",
            Extra::KeyTrap => "KeyTrap",
            Extra::Nsec3 => "NSEC3 amplification",
        }
    }
}

/// The zone and validator host of the extra organisation of `--hostile`.
const EXTRA_ZONE: &str = "hostile.com";

fn extra_host() -> String {
    format!("{}{EXTRA_ZONE}", "x.".repeat(100))
}

fn build_lab(n: usize, extra: Option<Extra>) -> Result<Lab, String> {
    let mut text = String::from(
        "[ceremony]\nname = \"bench\"\nprofile = \"v1\"\n\n[genesis]\nchain_id = 65110000\n\n",
    );
    let mut hosts: Vec<(String, String)> = (0..n)
        .map(|i| {
            let zone = format!("org{i}.{}", TLDS[i % TLDS.len()]);
            (format!("validator{i}.{zone}"), zone)
        })
        .collect();
    if extra.is_some() {
        hosts.push((extra_host(), EXTRA_ZONE.to_string()));
    }
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
        let zone = OrgZone::new(&hosts[i].1);
        zones.push(match (i == n, extra) {
            (true, Some(Extra::KeyTrap)) => zone
                .records(records)
                .signing(Signing::Static {
                    algorithm: Algorithm::RsaSha256,
                    nsec3: None,
                })
                .fault(Fault::KeyTrap),
            // The deep host does not exist: every lookup needs the closest-encloser proof.
            (true, Some(Extra::Nsec3)) => zone.fault(Fault::Nsec3Amplification),
            _ => zone.records(records),
        });
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

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// One N's results.
struct Row {
    n: usize,
    ours: Option<Duration>,
    ours_cpu: Option<Duration>,
    bind_cpu: Option<Duration>,
    one_core: Option<Duration>,
    theirs: Option<Duration>,
    delv_note: String,
    queries: Option<u64>,
    min_queries: usize,
    rss_kib: u64,
    build: Duration,
}

/// `--hostile`: per N, `verify`'s wall and CPU time with the extra organisation honest, a
/// KeyTrap zone and an NSEC3-amplified zone, and the extra over the honest twin.
fn hostile(args: &Args) {
    println!("| N honest orgs | extra organisation | verify wall (median) | verify CPU (median) | extra wall | extra CPU | verdicts |");
    println!("|---:|---|---:|---:|---:|---:|---|");
    for &n in &args.orgs {
        let mut twin: Option<(Duration, Duration)> = None;
        for extra in [Extra::Honest, Extra::KeyTrap, Extra::Nsec3] {
            eprintln!("N={n} + {}: building the hierarchy", extra.label());
            let lab = match build_lab(n, Some(extra)) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("bench_verify: cannot build the hierarchy for N={n}: {e}");
                    std::process::exit(4)
                }
            };
            let (mut walls, mut cpus) = (Vec::new(), Vec::new());
            let mut verdicts = String::new();
            for _ in 0..args.runs {
                let r = run_verify(
                    &args.bin,
                    &lab.manifest,
                    &lab.lab.anchor.dnskey,
                    lab.lab.root,
                    &lab.lab.dir,
                    Cores::All,
                );
                let host = extra_host();
                let secure = r
                    .statuses
                    .iter()
                    .filter(|(h, s)| *h != host && s == "secure")
                    .count();
                let theirs = r
                    .statuses
                    .iter()
                    .find(|(h, _)| *h == host)
                    .map_or("missing", |(_, s)| s.as_str());
                let want = match extra {
                    Extra::Honest => "secure",
                    _ => "bogus",
                };
                if secure != n || theirs != want {
                    eprintln!(
                        "N={n} + {}: {secure} of {n} honest secure, extra {theirs} (want {want}); {:?}",
                        extra.label(),
                        r.failure
                    );
                    std::process::exit(4)
                }
                verdicts = format!("{n} secure, extra {theirs}");
                walls.push(r.wall);
                cpus.extend(r.cpu);
            }
            let (wall, cpu) = (median(walls), median(cpus));
            let (Some(wall), Some(cpu)) = (wall, cpu) else {
                eprintln!("N={n} + {}: no timing", extra.label());
                std::process::exit(4)
            };
            let signed = |a: Duration, b: Duration| {
                if a >= b {
                    format!("+{}", ms(a - b))
                } else {
                    format!("-{}", ms(b - a))
                }
            };
            let (extra_wall, extra_cpu) = match (extra, twin) {
                (Extra::Honest, _) => {
                    twin = Some((wall, cpu));
                    ("(baseline)".to_string(), "(baseline)".to_string())
                }
                (_, Some((tw, tc))) => (signed(wall, tw), signed(cpu, tc)),
                (_, None) => ("n/a".into(), "n/a".into()),
            };
            println!(
                "| {n} | {} | {} | {} | {extra_wall} | {extra_cpu} | {verdicts} |",
                extra.label(),
                ms(wall),
                ms(cpu)
            );
        }
    }
}

fn main() {
    let args = parse_args();
    if args.hostile {
        hostile(&args);
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();
    for &n in &args.orgs {
        eprintln!("N={n}: building the hierarchy");
        let lab = match build_lab(n, None) {
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
        let mut ours_cpu = Vec::new();
        let mut bind_cpu = Vec::new();
        let mut one_core = Vec::new();
        let mut queries = None;
        let mut rss = 0u64;
        let mut failure = None;
        let servers = named_pids(&lab.lab.dir);
        // Runs on every core, then (with more than one core) pinned to core 0 with the
        // servers on the others, alternating so that both see the same machine.
        let kinds: &[Cores] = match cores > 1 {
            true => &[Cores::All, Cores::One],
            false => &[Cores::All],
        };
        'runs: for _ in 0..args.runs {
            for &kind in kinds {
                pin_servers(&servers, kind == Cores::One, cores);
                let r = run_verify(
                    &args.bin,
                    &lab.manifest,
                    &lab.lab.anchor.dnskey,
                    lab.lab.root,
                    &lab.lab.dir,
                    kind,
                );
                pin_servers(&servers, false, cores);
                if let Some(f) = r.failure {
                    failure = Some(f);
                    break 'runs;
                }
                if !r.complete {
                    continue;
                }
                match kind {
                    Cores::One => one_core.push(r.wall),
                    Cores::All => {
                        ours.push(r.wall);
                        ours_cpu.extend(r.cpu);
                        bind_cpu.extend(r.bind_cpu);
                        queries = r.queries.or(queries);
                        rss = rss.max(r.rss_kib.unwrap_or(0));
                    }
                }
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
        let row = Row {
            n,
            ours: median(ours),
            ours_cpu: median(ours_cpu),
            bind_cpu: median(bind_cpu),
            one_core: median(one_core),
            theirs: median(theirs),
            delv_note,
            queries,
            min_queries: 1 + 2 * lab.intermediates + n * (2 + LOOKUPS_PER_ORG),
            rss_kib: rss,
            build: lab.build,
        };
        eprintln!(
            "N={n}: ours {:?} (one core {:?}), delv {:?}{}",
            row.ours, row.one_core, row.theirs, row.delv_note
        );
        rows.push(row);
    }
    let opt = |d: Option<Duration>| d.map(ms).unwrap_or_else(|| "n/a".into());
    // CPU times come in ticks of 10 ms.
    let cpu = |d: Option<Duration>| match d {
        Some(d) if d < Duration::from_millis(10) => "< 10 ms".to_string(),
        other => opt(other),
    };
    println!("| N orgs | ours (median) | ours on 1 core | verify CPU | BIND CPU | delv loop (median) | delv / ours | queries | minimum queries | peak RSS | hierarchy build |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let ratio = match (r.ours, r.theirs) {
            (Some(o), Some(t)) if o.as_nanos() > 0 => {
                format!("{:.1}x", t.as_secs_f64() / o.as_secs_f64())
            }
            _ => "n/a".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {}{} | {ratio} | {} | {} | {} | {} |",
            r.n,
            r.ours.map(ms).unwrap_or_else(|| "failed".into()),
            opt(r.one_core),
            cpu(r.ours_cpu),
            cpu(r.bind_cpu),
            opt(r.theirs),
            r.delv_note,
            r.queries
                .map(|q| q.to_string())
                .unwrap_or_else(|| "n/a".into()),
            r.min_queries,
            if r.rss_kib > 0 {
                format!("{:.1} MB", r.rss_kib as f64 / 1024.0)
            } else {
                "n/a".into()
            },
            ms(r.build),
        );
    }
    let sample_orgs = args
        .orgs
        .iter()
        .copied()
        .max()
        .unwrap_or(100)
        .clamp(100, 1000);
    let floor = measure_floor(sample_orgs);
    println!();
    println!(
        "CPU floor of the checks alone (no DNS; {sample_orgs} organisations; {cores} cores): per organisation {RRSIGS_PER_ORG} RRSIG verifications x {} + identity checks {} + batched pairing {} = {}",
        us(floor.rrsig),
        us(floor.identity),
        us(floor.pairing),
        us(floor.per_org())
    );
    for r in &rows {
        println!(
            "- N={}: {} of CPU at least, before any DNS message is sent or parsed",
            r.n,
            ms(floor.per_org() * r.n as u32)
        );
    }
}
