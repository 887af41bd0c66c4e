//! Publishing against real `named`: a primary that signs the zone itself and accepts
//! TSIG-signed updates, and a secondary that transfers from it.

#[path = "support/server_lab.rs"]
mod server_lab;
#[path = "support/tools.rs"]
mod tools;
#[path = "support/update_lab.rs"]
mod update_lab;

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use dnsceremony::dns::tsig::TsigKey;
use dnsceremony::dns::update::{self, Action, Applied, Timeouts, UpdateError};
use dnsceremony::dns::RRset;
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use update_lab::{dig, UpdateLab};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn timeouts() -> Timeouts {
    Timeouts {
        query: Duration::from_secs(3),
        read_back: Duration::from_secs(30),
        poll: Duration::from_millis(200),
    }
}

fn rrsets(zone: &str, ip: &str, key: &str) -> Vec<RRset> {
    let host = format!("validator1.{zone}.");
    vec![
        RRset {
            name: Name::from_str(&host).unwrap(),
            rtype: RecordType::A,
            ttl: 300,
            rdata: vec![RData::A(A::from_str(ip).unwrap())],
        },
        RRset {
            name: Name::from_str(&format!("key_{host}")).unwrap(),
            rtype: RecordType::TXT,
            ttl: 300,
            rdata: vec![RData::TXT(TXT::new(vec![key.to_string()]))],
        },
        RRset {
            name: Name::from_str(&format!("port_{host}")).unwrap(),
            rtype: RecordType::TXT,
            ttl: 300,
            rdata: vec![RData::TXT(TXT::new(vec!["30303".to_string()]))],
        },
    ]
}

async fn publish(
    server: SocketAddr,
    wanted: &[RRset],
    key: &TsigKey,
) -> Result<(update::UpdatePlan, Applied), UpdateError> {
    let plan = update::prepare(server, wanted, timeouts()).await?;
    let applied = update::apply(&plan, key, timeouts()).await?;
    update::read_back(&plan, timeouts()).await?;
    Ok((plan, applied))
}

#[test]
fn publish_is_atomic_idempotent_and_read_back_from_every_server() {
    let lab = UpdateLab::start("ogr1.com", "org1-key");
    let key = TsigKey::load(&lab.key_file).unwrap();
    let rt = rt();
    let p = lab.primary.addr;
    let s = lab.secondary.addr;

    // First publish: everything is added, and both servers serve it.
    let wanted = rrsets("ogr1.com", "192.0.2.10", "aa");
    let (plan, applied) = rt
        .block_on(publish(lab.primary_addr(), &wanted, &key))
        .unwrap();
    assert_eq!(applied, Applied::Updated);
    assert_eq!(plan.zone.to_string(), "ogr1.com.");
    assert!(plan.entries.iter().all(|e| e.action == Action::Add));
    assert_eq!(plan.servers.len(), 2, "{:?}", plan.servers);
    for server in [p, s] {
        assert_eq!(dig(server, "validator1.ogr1.com", "A"), ["192.0.2.10"]);
        assert_eq!(dig(server, "key_validator1.ogr1.com", "TXT"), ["\"aa\""]);
        assert_eq!(
            dig(server, "port_validator1.ogr1.com", "TXT"),
            ["\"30303\""]
        );
    }

    // Re-publishing the same values sends nothing: the serial does not move.
    let serial = lab.serial(p).unwrap();
    let (plan, applied) = rt
        .block_on(publish(lab.primary_addr(), &wanted, &key))
        .unwrap();
    assert_eq!(applied, Applied::NothingToDo);
    assert!(plan.entries.iter().all(|e| e.action == Action::Keep));
    assert!(update::update_message(&plan).is_none());
    assert_eq!(lab.serial(p), Some(serial));

    // Changing the IP replaces the A RRset only; the TXT RRsets are kept untouched.
    let wanted = rrsets("ogr1.com", "192.0.2.99", "aa");
    let (plan, applied) = rt
        .block_on(publish(lab.primary_addr(), &wanted, &key))
        .unwrap();
    assert_eq!(applied, Applied::Updated);
    let actions: Vec<Action> = plan.entries.iter().map(|e| e.action).collect();
    assert_eq!(actions, [Action::Replace, Action::Keep, Action::Keep]);
    assert!(
        plan.render_text().contains("- 300 192.0.2.10"),
        "{}",
        plan.render_text()
    );
    for server in [p, s] {
        assert_eq!(dig(server, "validator1.ogr1.com", "A"), ["192.0.2.99"]);
        assert_eq!(dig(server, "key_validator1.ogr1.com", "TXT"), ["\"aa\""]);
        assert_eq!(
            dig(server, "port_validator1.ogr1.com", "TXT"),
            ["\"30303\""]
        );
    }
    // The zone is still signed after the update.
    assert!(!dig(p, "validator1.ogr1.com", "A +dnssec").is_empty());
}

#[test]
fn wrong_tsig_keys_are_named_and_change_nothing() {
    let lab = UpdateLab::start("ogr1.com", "org1-key");
    let rt = rt();
    let wanted = rrsets("ogr1.com", "192.0.2.10", "aa");
    let serial = lab.serial(lab.primary.addr);
    for (file, code, advice) in [
        (
            lab.wrong_secret_key(),
            "BADSIG",
            "check the secret and the algorithm",
        ),
        (
            lab.unknown_key(),
            "BADKEY",
            "check the key name and algorithm",
        ),
    ] {
        let key = TsigKey::load(&file).unwrap();
        let err = rt
            .block_on(publish(lab.primary_addr(), &wanted, &key))
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, UpdateError::TsigRejected { .. }), "{text}");
        assert_eq!(err.exit_code(), dnsceremony::exit::TSIG);
        assert!(
            text.contains(&format!("'{}'", key.display_name())),
            "{text}"
        );
        assert!(text.contains(&format!("TSIG error {code}")), "{text}");
        assert!(text.contains(advice), "{text}");
        assert!(text.contains(&lab.primary_addr().to_string()), "{text}");
    }
    // The right key on a clock an hour off: BADTIME, told apart from BADSIG/BADKEY.
    let key = TsigKey::load(&lab.key_file).unwrap();
    let plan = rt
        .block_on(update::prepare(lab.primary_addr(), &wanted, timeouts()))
        .unwrap();
    let skewed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    let err = rt
        .block_on(update::apply_signed_at(&plan, &key, timeouts(), skewed))
        .unwrap_err();
    assert!(matches!(err, UpdateError::TsigRejected { .. }), "{err}");
    assert!(err.to_string().contains("TSIG error BADTIME"), "{err}");
    assert!(err.to_string().contains("check both clocks"), "{err}");
    // The BADTIME answer carries the server's time: the extra line says how far off we are.
    assert_eq!(
        err.clock_skew_line().as_deref(),
        Some(
            format!(
                "this machine's clock is about 1 hour behind {}",
                lab.primary_addr()
            )
            .as_str()
        )
    );
    assert!(dig(lab.primary.addr, "validator1.ogr1.com", "A").is_empty());
    assert_eq!(lab.serial(lab.primary.addr), serial);
}

#[test]
fn an_update_the_policy_denies_is_a_signed_refusal_naming_the_policy() {
    let lab = UpdateLab::start_granting("ogr1.com", "org1-key", "name other.ogr1.com. ANY");
    let key = TsigKey::load(&lab.key_file).unwrap();
    let rt = rt();
    let wanted = rrsets("ogr1.com", "192.0.2.10", "aa");
    let err = rt
        .block_on(publish(lab.primary_addr(), &wanted, &key))
        .unwrap_err();
    assert!(matches!(err, UpdateError::Refused { .. }), "{err}");
    assert_eq!(err.exit_code(), dnsceremony::exit::REFUSED);
    assert_eq!(
        err.to_string(),
        format!(
            "update of zone ogr1.com. refused by {} (REFUSED, signed answer: key 'org1-key' was \
             accepted; check that the server's update policy lets key 'org1-key' change these \
             names and types)",
            lab.primary_addr()
        )
    );
    assert!(dig(lab.primary.addr, "validator1.ogr1.com", "A").is_empty());
}

#[test]
fn read_back_names_lagging_servers_and_ns_without_address() {
    let mut lab = UpdateLab::start("ogr1.com", "org1-key");
    let key = TsigKey::load(&lab.key_file).unwrap();
    let rt = rt();
    let short = Timeouts {
        query: Duration::from_secs(1),
        read_back: Duration::from_secs(3),
        poll: Duration::from_millis(200),
    };
    // The secondary is down: the update lands on the primary, the read-back names the
    // secondary and what it (does not) serve, and the exit status is PENDING.
    lab.secondary.stop();
    let wanted = rrsets("ogr1.com", "192.0.2.10", "aa");
    let plan = rt
        .block_on(update::prepare(lab.primary_addr(), &wanted, short))
        .unwrap();
    assert_eq!(
        rt.block_on(update::apply(&plan, &key, short)).unwrap(),
        Applied::Updated
    );
    let err = rt.block_on(update::read_back(&plan, short)).unwrap_err();
    let UpdateError::Lagging { lagging, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(lagging.len(), 1, "{err}");
    assert!(lagging[0].server.starts_with("ns2.ogr1.com."), "{err}");
    assert!(
        lagging[0].server.contains(&lab.secondary.addr.to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("does not answer"), "{err}");
    assert_eq!(err.exit_code(), dnsceremony::exit::PENDING);

    // An NS whose name has no address anywhere is reported, not skipped.
    lab.nsupdate("update add ogr1.com 300 NS ns3.nowhere.invalid.");
    let err = rt
        .block_on(update::prepare(lab.primary_addr(), &wanted, short))
        .unwrap_err();
    assert!(matches!(err, UpdateError::NoAddress { .. }), "{err}");
    assert!(err.to_string().contains("ns3.nowhere.invalid."), "{err}");
}

#[test]
fn unknown_zone_and_server_down_have_their_own_errors() {
    let lab = UpdateLab::start("ogr1.com", "org1-key");
    let rt = rt();
    let wanted = rrsets("elsewhere.org", "192.0.2.10", "aa");
    let err = rt
        .block_on(update::prepare(lab.primary_addr(), &wanted, timeouts()))
        .unwrap_err();
    assert!(matches!(err, UpdateError::UnknownZone { .. }), "{err}");
    assert_eq!(err.exit_code(), dnsceremony::exit::REFUSED);
    assert!(
        err.to_string().contains("validator1.elsewhere.org"),
        "{err}"
    );

    // Nothing listens on a fresh address: a network error naming it, within the bound.
    let down = SocketAddr::from((dnsceremony::lab::named::free_addr().unwrap(), 53));
    let wanted = rrsets("ogr1.com", "192.0.2.10", "aa");
    let err = rt
        .block_on(update::prepare(down, &wanted, timeouts()))
        .unwrap_err();
    assert!(matches!(err, UpdateError::Network { .. }), "{err}");
    assert_eq!(err.exit_code(), dnsceremony::exit::NETWORK);
    assert!(err.to_string().contains(&down.to_string()), "{err}");
}

#[test]
fn a_concurrent_change_is_a_conflict_and_survives() {
    let lab = UpdateLab::start("ogr1.com", "org1-key");
    let key = TsigKey::load(&lab.key_file).unwrap();
    let rt = rt();
    let first = rrsets("ogr1.com", "192.0.2.10", "aa");
    rt.block_on(publish(lab.primary_addr(), &first, &key))
        .unwrap();

    // We plan a replacement of the A record (read: 192.0.2.10) ...
    let wanted = rrsets("ogr1.com", "192.0.2.20", "aa");
    let plan = rt
        .block_on(update::prepare(lab.primary_addr(), &wanted, timeouts()))
        .unwrap();
    // ... someone else changes it before our update arrives ...
    lab.nsupdate(
        "update delete validator1.ogr1.com A\nupdate add validator1.ogr1.com 300 A 198.51.100.7",
    );
    // ... so the value-dependent prerequisite fails and their value stays.
    let err = rt
        .block_on(update::apply(&plan, &key, timeouts()))
        .unwrap_err();
    assert!(matches!(err, UpdateError::Conflict { .. }), "{err}");
    assert_eq!(err.exit_code(), dnsceremony::exit::CONFLICT);
    assert!(err.to_string().contains("NXRRSET"), "{err}");
    assert_eq!(
        dig(lab.primary.addr, "validator1.ogr1.com", "A"),
        ["198.51.100.7"]
    );

    // An RRset planned as "add" that someone creates meanwhile is a conflict as well.
    let mut extra = wanted.clone();
    extra.push(RRset {
        name: Name::from_str("genesis_validator1.ogr1.com.").unwrap(),
        rtype: RecordType::TXT,
        ttl: 300,
        rdata: vec![RData::TXT(TXT::new(vec!["ours".into()]))],
    });
    let plan = rt
        .block_on(update::prepare(lab.primary_addr(), &extra, timeouts()))
        .unwrap();
    assert_eq!(plan.entries[3].action, Action::Add);
    lab.nsupdate("update add genesis_validator1.ogr1.com 300 TXT theirs");
    let err = rt
        .block_on(update::apply(&plan, &key, timeouts()))
        .unwrap_err();
    assert!(matches!(err, UpdateError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("YXRRSET"), "{err}");
    assert_eq!(
        dig(lab.primary.addr, "genesis_validator1.ogr1.com", "TXT"),
        ["\"theirs\""]
    );
    assert_eq!(
        dig(lab.primary.addr, "validator1.ogr1.com", "A"),
        ["198.51.100.7"]
    );
}

/// The `dnsceremony` binary against the lab: a manifest naming `validator1.<zone>` for
/// `org1`, and keys made by `keygen`.
struct Cli {
    dir: tempfile::TempDir,
}

/// The treasury every CLI publish gives (v1 requires one).
const TREASURY: &str = "0x00000000000000000000000000000000000000aa";

impl Cli {
    /// A manifest whose `[dns]` trusts the lab's zone keys and iterates from its primary, so
    /// that the zone validates as `secure`.
    fn for_lab(lab: &UpdateLab) -> Cli {
        Cli::trusting(&lab.zone, &lab.anchor_file(), lab.primary_addr())
    }

    /// A manifest whose `[dns]` trusts `anchor` and iterates from `root`.
    fn trusting(zone: &str, anchor: &std::path::Path, root: SocketAddr) -> Cli {
        Cli::with_dns(
            zone,
            &format!(
                "[dns]\nanchor = \"{}\"\nroots = [\"{root}\"]\n",
                anchor.display(),
            ),
        )
    }

    /// A manifest without `[dns]` (the IANA root: the lab's zone cannot validate).
    fn new(zone: &str) -> Cli {
        Cli::with_dns(zone, "")
    }

    fn with_dns(zone: &str, dns: &str) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("manifest.toml"),
            format!(
                "[ceremony]\nname = \"t\"\nprofile = \"v1\"\n\n[genesis]\noperator = \"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf\"\nchain_id = 65110000\n\n\
                 [[orgs]]\nname = \"org1\"\nhost = \"validator1.{zone}\"\n\n\
                 [[orgs]]\nname = \"org2\"\nhost = \"val2.ogr2.net\"\n\n{dns}"
            ),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
            .arg("keygen")
            .arg("--dir")
            .arg(dir.path().join("keys"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cli { dir }
    }

    /// Run `publish` with the lab's files and [`TREASURY`]; returns (exit code, stdout,
    /// stderr).
    fn publish(
        &self,
        server: &str,
        tsig: &std::path::Path,
        extra: &[&str],
    ) -> (i32, String, String) {
        let mut all = vec!["--treasury", TREASURY];
        all.extend_from_slice(extra);
        self.publish_raw(server, tsig, &all)
    }

    /// `verify` of the manifest, trusting what it names; returns (exit code, JSON document).
    fn verify(&self) -> (i32, serde_json::Value) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
            .arg("verify")
            .arg("--manifest")
            .arg(self.dir.path().join("manifest.toml"))
            .args(["--json", "--query-timeout", "1s"])
            .output()
            .unwrap();
        let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), doc)
    }

    /// Run `publish` with exactly these flags after the common ones.
    fn publish_raw(
        &self,
        server: &str,
        tsig: &std::path::Path,
        extra: &[&str],
    ) -> (i32, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
            .arg("publish")
            .arg("--manifest")
            .arg(self.dir.path().join("manifest.toml"))
            .args(["--org", "org1", "--keys"])
            .arg(self.dir.path().join("keys"))
            .args(["--server", server, "--tsig"])
            .arg(tsig)
            .args(["--timeout", "20s"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn cli_publish_dry_run_republish_and_change() {
    let lab = UpdateLab::start("ogr1.com", "org1-key");
    let cli = Cli::for_lab(&lab);
    let server = lab.primary.addr.to_string();
    let p = lab.primary.addr;

    // --dry-run prints the plan and changes nothing.
    let serial = lab.serial(p);
    let (code, out, err) =
        cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("add      validator1.ogr1.com. 300 A"), "{out}");
    assert!(out.contains("dry run: no update sent"), "{out}");
    assert!(
        out.contains(&format!(
            "TSIG key 'org1-key' proven: {p}:53 answered a signed SOA query with a valid signature"
        )),
        "{out}"
    );
    assert!(dig(p, "validator1.ogr1.com", "A").is_empty());
    assert!(dig(p, "key_validator1.ogr1.com", "TXT").is_empty());
    assert_eq!(lab.serial(p), serial);

    // First publish: the four RRsets on both servers.
    let (code, out, err) = cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("update sent: NOERROR"), "{out}");
    assert!(out.contains("every authoritative server (2)"), "{out}");
    for s in [p, lab.secondary.addr] {
        assert_eq!(dig(s, "validator1.ogr1.com", "A"), ["192.0.2.10"]);
        assert_eq!(dig(s, "port_validator1.ogr1.com", "TXT"), ["\"30303\""]);
        assert_eq!(dig(s, "key_validator1.ogr1.com", "TXT").len(), 1);
        assert_eq!(dig(s, "autonity_validator1.ogr1.com", "TXT").len(), 1);
    }
    let key_txt = dig(p, "key_validator1.ogr1.com", "TXT");
    let attestation = dig(p, "autonity_validator1.ogr1.com", "TXT");

    // Re-publish: nothing sent, the serial stays; JSON says so.
    let serial = lab.serial(p).unwrap();
    let (code, out, err) = cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema"], "dnsceremony.publish/v1");
    assert_eq!(doc["update"], "not_needed");
    assert_eq!(doc["plan"]["zone"], "ogr1.com.");
    let changes = doc["plan"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 4);
    assert!(changes.iter().all(|c| c["action"] == "keep"), "{out}");
    assert_eq!(doc["servers"].as_array().unwrap().len(), 2);
    assert_eq!(lab.serial(p), Some(serial));

    // A new IP replaces A and the attestation (it signs the IP); the key and port stay.
    let (code, out, err) = cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.99", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["update"], "sent");
    let actions: Vec<&str> = doc["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["replace", "keep", "keep", "replace"], "{out}");
    for s in [p, lab.secondary.addr] {
        assert_eq!(dig(s, "validator1.ogr1.com", "A"), ["192.0.2.99"]);
        assert_eq!(dig(s, "key_validator1.ogr1.com", "TXT"), key_txt);
        assert_eq!(dig(s, "port_validator1.ogr1.com", "TXT"), ["\"30303\""]);
        assert_ne!(dig(s, "autonity_validator1.ogr1.com", "TXT"), attestation);
    }
}

#[test]
fn cli_failures_have_their_exit_codes() {
    let lab = UpdateLab::start("ogr1.com", "org1-key");
    let cli = Cli::for_lab(&lab);
    let server = lab.primary.addr.to_string();
    let serial = lab.serial(lab.primary.addr);

    // Wrong secret: exit 5, the key named, nothing changed.
    let wrong = lab.wrong_secret_key();
    let (code, _, err) = cli.publish(&server, &wrong, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 5, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "dnsceremony: update of zone ogr1.com. rejected by {server}:53 (NOTAUTH, TSIG error BADSIG; key 'org1-key', hmac-sha256: "
        )),
        "{err}"
    );
    assert!(err.contains("check the secret"), "{err}");
    assert!(dig(lab.primary.addr, "validator1.ogr1.com", "A").is_empty());
    assert_eq!(lab.serial(lab.primary.addr), serial);

    // A dry run proves the key too: the same line and exit status as the real publish.
    let (code, out, dry_err) = cli.publish(&server, &wrong, &["--ip", "192.0.2.10", "--dry-run"]);
    assert_eq!(code, 5, "{out}{dry_err}");
    assert_eq!(dry_err, err);
    let (code, out, err) = cli.publish(
        &server,
        &lab.unknown_key(),
        &["--ip", "192.0.2.10", "--dry-run"],
    );
    assert_eq!(code, 5, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("TSIG error BADKEY; key 'nobody-key'"), "{err}");
    assert_eq!(lab.serial(lab.primary.addr), serial);

    // A zone the server does not serve: exit 6.
    let other = Cli::new("ogr9.org");
    let (code, _, err) = other.publish(&server, &lab.key_file, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 6, "{err}");
    assert!(
        err.starts_with("dnsceremony: no zone for validator1.ogr9.org."),
        "{err}"
    );
    assert!(err.contains("REFUSED"), "{err}");

    // Nothing listens: exit 4, naming the server (bounded by the tool's own timeouts).
    let down = dnsceremony::lab::named::free_addr().unwrap().to_string();
    let (code, _, err) = cli.publish(&down, &lab.key_file, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains(&format!("{down}:53")), "{err}");

    // A malformed TSIG file: exit 3, naming the file and the field.
    let bad = lab.path().join("bad.key");
    std::fs::write(
        &bad,
        "key \"org1-key\" { algorithm hmac-md5; secret \"AAAA\"; };\n",
    )
    .unwrap();
    let (code, _, err) = cli.publish(&server, &bad, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("bad.key: line 1: algorithm: 'hmac-md5'"),
        "{err}"
    );

    // An include holding two keys: exit 3 naming both; --tsig-key picks one.
    let two = lab.path().join("keys.conf");
    std::fs::write(
        &two,
        format!(
            "{}{}",
            std::fs::read_to_string(lab.unknown_key()).unwrap(),
            std::fs::read_to_string(&lab.key_file).unwrap()
        ),
    )
    .unwrap();
    let (code, _, err) = cli.publish(&server, &two, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("holds 2 keys (nobody-key, org1-key)"), "{err}");
    let (code, out, err) = cli.publish(
        &server,
        &two,
        &["--ip", "192.0.2.10", "--tsig-key", "org1-key", "--dry-run"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lab.serial(lab.primary.addr), serial);
}

#[test]
fn cli_stale_records_are_deleted_in_the_same_update_and_verify_is_secure() {
    let lab = UpdateLab::start("ogr1.com", "org1-key");
    let cli = Cli::for_lab(&lab);
    let server = lab.primary.addr.to_string();
    let p = lab.primary.addr;
    let (code, out, err) = cli.publish(
        &server,
        &lab.key_file,
        &["--ip", "192.0.2.10", "--ip6", "2001:db8::2"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(dig(p, "validator1.ogr1.com", "AAAA"), ["2001:db8::2"]);
    // Someone left the older one-record layout at the host, beside an unrelated TXT.
    lab.nsupdate(
        "update add validator1.ogr1.com 300 TXT \"p=30303; k=00\"\n\
         update add validator1.ogr1.com 300 TXT \"v=spf1 -all\"",
    );
    // Inline signing serves the change a moment later.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while dig(p, "validator1.ogr1.com", "TXT").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the TXT records never appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Without --ip6: the plan deletes the AAAA and the old layout's TXT (only that one).
    let (code, out, err) =
        cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("delete   validator1.ogr1.com. 300 AAAA\n    - 300 2001:db8::2\n"),
        "{out}"
    );
    assert!(
        out.contains("delete   validator1.ogr1.com. 300 TXT\n    - 300 \"p=30303; k=00\"\n  "),
        "{out}"
    );
    assert_eq!(dig(p, "validator1.ogr1.com", "AAAA"), ["2001:db8::2"]);

    let serial = lab.serial(p).unwrap();
    let (code, out, err) = cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let deleted: Vec<String> = doc["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| {
            format!(
                "{} {}",
                c["name"].as_str().unwrap(),
                c["type"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        deleted,
        ["validator1.ogr1.com. AAAA", "validator1.ogr1.com. TXT"],
        "{out}"
    );
    // One update: the serial moved by exactly one.
    assert_eq!(lab.serial(p), Some(serial + 1));
    for s in [p, lab.secondary.addr] {
        assert!(dig(s, "validator1.ogr1.com", "AAAA").is_empty());
        assert_eq!(dig(s, "validator1.ogr1.com", "TXT"), ["\"v=spf1 -all\""]);
        assert_eq!(dig(s, "validator1.ogr1.com", "A"), ["192.0.2.10"]);
    }

    // What peers see: org1 is secure with no IPv6 (org2's zone does not exist here).
    let (_, doc) = cli.verify();
    let org1 = &doc["orgs"][0];
    assert_eq!(org1["name"], "org1");
    assert_eq!(org1["status"], "secure", "{doc}");
    assert_eq!(org1["records"]["ipv6"], serde_json::Value::Null, "{doc}");
    assert_eq!(org1["records"]["treasury"], TREASURY, "{doc}");
}

#[test]
fn cli_refuses_what_peers_will_refuse_before_sending() {
    let lab = UpdateLab::start_unsigned("ogr1.com", "org1-key");
    let server = lab.primary.addr.to_string();
    let p = lab.primary.addr;
    let serial = lab.serial(p);
    // The zone's own key as anchor, but the zone is not signed: refused, exit 2.
    let anchor = lab.path().join("other.anchor");
    std::fs::write(
        &anchor,
        "ogr1.com. 300 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n",
    )
    .unwrap();
    let cli = Cli::with_dns(
        "ogr1.com",
        &format!(
            "[dns]\nanchor = \"{}\"\nroots = [\"{}\"]\n",
            anchor.display(),
            lab.primary_addr()
        ),
    );
    let (code, out, err) = cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("dnsceremony: zone ogr1.com. is bogus ("),
        "{err}"
    );
    assert!(err.contains("--allow-insecure-zone"), "{err}");
    assert!(dig(p, "validator1.ogr1.com", "A").is_empty());
    assert_eq!(lab.serial(p), serial);

    // Allowed explicitly: one warning line, and the records are published.
    let (code, out, err) = cli.publish(
        &server,
        &lab.key_file,
        &["--ip", "192.0.2.10", "--allow-insecure-zone"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("dnsceremony: warning: publishing anyway (--allow-insecure-zone): zone ogr1.com. is bogus"),
        "{err}"
    );
    assert_eq!(dig(p, "validator1.ogr1.com", "A"), ["192.0.2.10"]);

    // v1 without --treasury: refused before anything is read or sent, exit 3.
    let (code, _, err) = cli.publish_raw(
        &server,
        &lab.key_file,
        &["--ip", "192.0.2.99", "--allow-insecure-zone"],
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--treasury"), "{err}");
    assert!(err.contains("v1"), "{err}");
    assert_eq!(dig(p, "validator1.ogr1.com", "A"), ["192.0.2.10"]);
}

/// Key files as the real tools write them: `tsig-keygen` (alone and several in one include),
/// Knot's `keymgr -t`, PowerDNS's `pdnsutil generate-tsig-key` and `list-tsig-keys`, and the
/// `alg:name:secret` line `keymgr` prints for `dig -y`. Each parses to the same key as the
/// other forms of the same secret.
#[test]
fn tsig_key_files_of_every_tool_parse() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let parse = |text: &str, name: Option<&str>| {
        TsigKey::parse_named(text, std::path::Path::new("t.key"), name)
    };

    // BIND: one key, and an include holding two.
    tools::require("tsig-keygen", "bind9-utils");
    let a = tools::run("tsig-keygen", &["-a", "hmac-sha256", "org1-key"], d);
    let b = tools::run("tsig-keygen", &["-a", "hmac-sha512", "org2-key"], d);
    let k1 = parse(&a, None).unwrap();
    assert_eq!(k1.display_name(), "org1-key");
    let include = format!("# keys.conf\n{a}\n{b}");
    let e = parse(&include, None).unwrap_err();
    assert!(
        e.to_string().contains("holds 2 keys (org1-key, org2-key)"),
        "{e}"
    );
    assert_eq!(parse(&include, Some("org1-key")).unwrap(), k1);
    assert_eq!(
        parse(&include, Some("org2-key")).unwrap().algorithm_name(),
        "hmac-sha512"
    );

    // Knot: the YAML, and the `alg:name:secret` comment line it starts with.
    tools::require("keymgr", "knot");
    let knot = tools::run("keymgr", &["-t", "org3-key", "hmac-sha384"], d);
    let k3 = parse(&knot, None).unwrap();
    assert_eq!(
        (k3.display_name().as_str(), k3.algorithm_name()),
        ("org3-key", "hmac-sha384")
    );
    let literal = knot.lines().next().unwrap().trim_start_matches('#').trim();
    assert_eq!(parse(literal, None).unwrap(), k3);
    let (_, name_secret) = literal.split_once(':').unwrap();
    // Without the algorithm the line means hmac-sha256 (nsupdate where MD5 is disabled).
    let k = parse(name_secret, None).unwrap();
    assert_eq!(k.algorithm_name(), "hmac-sha256");
    assert_ne!(k, k3);

    // PowerDNS: generate-tsig-key prints the key; list-tsig-keys lists every key.
    tools::require("pdnsutil", "pdns-server");
    tools::pdns_sqlite_db(&d.join("pdns.db"));
    std::fs::write(
        d.join("pdns.conf"),
        format!(
            "launch=gsqlite3\ngsqlite3-database={}\n",
            d.join("pdns.db").display()
        ),
    )
    .unwrap();
    let conf = format!("--config-dir={}", d.display());
    let generated = tools::run(
        "pdnsutil",
        &[&conf, "generate-tsig-key", "org4-key", "hmac-sha256"],
        d,
    );
    tools::run(
        "pdnsutil",
        &[&conf, "generate-tsig-key", "org5-key", "hmac-sha512"],
        d,
    );
    let k4 = parse(&generated, None).unwrap();
    assert_eq!(k4.display_name(), "org4-key");
    let list = tools::run("pdnsutil", &[&conf, "list-tsig-keys"], d);
    let e = parse(&list, None).unwrap_err();
    assert!(e.to_string().contains("(org4-key., org5-key.)"), "{e}");
    assert_eq!(parse(&list, Some("org4-key")).unwrap(), k4);
    assert_eq!(
        parse(&list, Some("org5-key.")).unwrap().algorithm_name(),
        "hmac-sha512"
    );
    // And a key PowerDNS holds with an algorithm we do not sign with: the line is named.
    tools::run(
        "pdnsutil",
        &[&conf, "import-tsig-key", "old-key", "hmac-md5", "AAAA"],
        d,
    );
    let list = tools::run("pdnsutil", &[&conf, "list-tsig-keys"], d);
    let line = list
        .lines()
        .position(|l| l.starts_with("old-key."))
        .unwrap()
        + 1;
    let e = parse(&list, Some("old-key")).unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "line {line}: algorithm: 'hmac-md5.' is not supported"
        )),
        "{e}"
    );
}

/// The publish cases against a BIND, Knot DNS or PowerDNS primary with a BIND secondary: publish,
/// no-op republish, replace, stale AAAA removed, `verify` of the result, wrong secret and
/// wrong algorithm (each with the words the server's answer deserves).
fn publish_suite(lab: &server_lab::ServerLab, wrong_secret: &str, wrong_algorithm: &str) {
    let cli = Cli::trusting(&lab.zone, &lab.anchor_file(), lab.primary_addr());
    let server = lab.primary.to_string();
    let p = lab.primary;
    let servers = lab.servers();
    let host = format!("validator1.{}", lab.zone);

    // Publish: added, read back from both servers (the secondary is BIND).
    let (code, out, err) = cli.publish(
        &server,
        &lab.key_file,
        &["--ip", "192.0.2.10", "--ip6", "2001:db8::2"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("update sent: NOERROR"), "{out}");
    assert!(
        out.contains(&format!("every authoritative server ({})", servers.len())),
        "{out}"
    );
    for &srv in &servers {
        assert_eq!(dig(srv, &host, "A"), ["192.0.2.10"]);
        assert_eq!(dig(srv, &host, "AAAA"), ["2001:db8::2"]);
        assert_eq!(dig(srv, &format!("port_{host}"), "TXT"), ["\"30303\""]);
    }

    // No-op: nothing sent, the serial stays.
    let serial = lab.serial(p);
    let (code, out, err) = cli.publish(
        &server,
        &lab.key_file,
        &["--ip", "192.0.2.10", "--ip6", "2001:db8::2"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to change: no update sent"), "{out}");
    assert_eq!(lab.serial(p), serial);

    // Replace the address.
    let (code, out, err) = cli.publish(
        &server,
        &lab.key_file,
        &["--ip", "192.0.2.99", "--ip6", "2001:db8::2"],
    );
    assert_eq!(code, 0, "{out}{err}");
    for &srv in &servers {
        assert_eq!(dig(srv, &host, "A"), ["192.0.2.99"]);
    }

    // Without --ip6: the AAAA is deleted in the same update.
    let (code, out, err) = cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.99"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("delete   {host}. 300 AAAA")), "{out}");
    for &srv in &servers {
        assert!(dig(srv, &host, "AAAA").is_empty(), "{srv}");
        assert_eq!(dig(srv, &host, "A"), ["192.0.2.99"]);
    }

    // What peers see: org1 secure, without IPv6.
    let (_, doc) = cli.verify();
    let org1 = &doc["orgs"][0];
    assert_eq!(org1["status"], "secure", "{doc}");
    assert_eq!(org1["records"]["ipv4"], "192.0.2.99", "{doc}");
    assert_eq!(org1["records"]["ipv6"], serde_json::Value::Null, "{doc}");

    // A wrong secret and a wrong algorithm: exit 5, one line, nothing changed.
    let serial = lab.serial(p);
    for (file, words) in [
        (lab.wrong_secret_key(), wrong_secret),
        (lab.wrong_algorithm_key(), wrong_algorithm),
    ] {
        let (code, _, err) = cli.publish(&server, &file, &["--ip", "192.0.2.50"]);
        assert_eq!(code, 5, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("rejected by {server}:53 ({words}; key 'org1-key'")),
            "{err}"
        );
        assert_eq!(dig(p, &host, "A"), ["192.0.2.99"]);
        assert_eq!(lab.serial(p), serial);
    }
}

/// A primary an hour behind: its TSIG check fails on time, and the line says so.
fn clock_skew(kind: server_lab::Kind, words: &str) {
    let lab = server_lab::ServerLab::start(kind, "ogr1.com", "org1-key", Some("-1h"));
    let cli = Cli::trusting(&lab.zone, &lab.anchor_file(), lab.primary_addr());
    let server = lab.primary.to_string();
    let (code, _, err) = cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10"]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains(&format!("rejected by {server}:53 ({words}")),
        "{err}"
    );
    assert!(err.contains("clock"), "{err}");
    assert!(dig(lab.primary, "validator1.ogr1.com", "A").is_empty());
    // A BADTIME answer carries the server's time: one extra line names the skew, and a dry
    // run (its signed SOA query) refuses the same way.
    let skew = format!("dnsceremony: this machine's clock is about 1 hour ahead of {server}:53\n");
    if words.contains("BADTIME") {
        assert!(err.starts_with(&skew), "{err}");
        assert_eq!(err.lines().count(), 2, "{err}");
        let (code, _, dry) =
            cli.publish(&server, &lab.key_file, &["--ip", "192.0.2.10", "--dry-run"]);
        assert_eq!(code, 5, "{dry}");
        assert!(dry.starts_with(&skew), "{dry}");
    } else {
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn bind_publish_suite() {
    let lab = server_lab::ServerLab::start(server_lab::Kind::Bind, "ogr1.com", "org1-key", None);
    publish_suite(
        &lab,
        "NOTAUTH, TSIG error BADSIG",
        "NOTAUTH, TSIG error BADKEY",
    );
}

#[test]
fn knot_publish_suite() {
    let lab = server_lab::ServerLab::start(server_lab::Kind::Knot, "ogr1.com", "org1-key", None);
    publish_suite(
        &lab,
        "NOTAUTH, TSIG error BADSIG",
        "NOTAUTH, TSIG error BADKEY",
    );
}

#[test]
fn knot_clock_skew_is_badtime() {
    clock_skew(server_lab::Kind::Knot, "NOTAUTH, TSIG error BADTIME");
}

#[test]
fn powerdns_nsec_publish_suite() {
    let lab =
        server_lab::ServerLab::start(server_lab::Kind::PdnsNsec, "ogr1.com", "org1-key", None);
    let unsigned = "REFUSED, unsigned answer without a TSIG error";
    publish_suite(&lab, unsigned, unsigned);
}

#[test]
fn powerdns_nsec3_narrow_publish_suite() {
    let lab = server_lab::ServerLab::start(
        server_lab::Kind::PdnsNsec3Narrow,
        "ogr1.com",
        "org1-key",
        None,
    );
    let unsigned = "REFUSED, unsigned answer without a TSIG error";
    publish_suite(&lab, unsigned, unsigned);
}

#[test]
fn powerdns_clock_skew_is_an_unsigned_refusal_naming_the_clock() {
    clock_skew(
        server_lab::Kind::PdnsNsec,
        "REFUSED, unsigned answer without a TSIG error",
    );
}
