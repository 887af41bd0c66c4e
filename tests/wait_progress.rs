//! `wait`'s progress against a loopback lab where org1's signatures have expired (bogus, a
//! security failure) and org2 never publishes (pending until the deadline): the live table
//! under a pseudo-terminal of 80 columns (tmux), and the plain lines through a pipe.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dnsceremony::lab::hierarchy::{Algorithm, Fault, Hierarchy, OrgZone, ResolverMode, Signing};

const CLI: &str = env!("CARGO_BIN_EXE_dnsceremony");

fn lab() -> Hierarchy {
    let signed = |z: &str| {
        OrgZone::new(z).signing(Signing::Static {
            algorithm: Algorithm::EcdsaP256,
            nsec3: None,
        })
    };
    Hierarchy::builder()
        .zone(signed("ogr1.com").fault(Fault::ExpiredSignatures))
        .zone(signed("ogr2.net"))
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds")
}

fn manifest(lab: &Hierarchy, dir: &Path) -> PathBuf {
    let text = format!(
        "[ceremony]\nname = \"progress-net\"\nprofile = \"v1\"\n\n[genesis]\nchain_id = 65110000\n\
         operator = \"0x{op}\"\n\n\
         [[orgs]]\nname = \"org1\"\nhost = \"validator1.ogr1.com\"\n\n\
         [[orgs]]\nname = \"org2\"\nhost = \"val2.ogr2.net\"\n\n\
         [dns]\nanchor = \"{anchor}\"\nroots = [\"{root}\"]\n\n\
         [timing]\npoll_interval = \"2s\"\n",
        op = "ab".repeat(20),
        anchor = lab.anchor.dnskey.display(),
        root = lab.root
    );
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A tmux server of its own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The pane's visible text.
    fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", "w"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The seconds of the `waiting Ns of ...` clock line, if the screen has one.
fn clock(screen: &str) -> Option<u64> {
    let l = screen.lines().find(|l| l.starts_with("waiting "))?;
    let t = l.strip_prefix("waiting ")?.split(' ').next()?;
    if let Some(s) = t.strip_suffix('s').filter(|s| !s.contains('m')) {
        return s.parse().ok();
    }
    let (m, s) = t.strip_suffix('s')?.split_once('m')?;
    Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?)
}

fn check_screen(screen: &str, when: &str) {
    let headers = screen.lines().filter(|l| l.starts_with("ORG ")).count();
    assert_eq!(headers, 1, "{when}: one table header\n{screen}");
    let security: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("SECURITY: org1 (validator1.ogr1.com) is bogus"))
        .collect();
    assert_eq!(
        security.len(),
        1,
        "{when}: the SECURITY line stays\n{screen}"
    );
    assert!(
        screen.lines().all(|l| l.chars().count() <= 80),
        "{when}\n{screen}"
    );
    // Every line of the table is on screen and whole at its start.
    assert!(screen.contains("\norg1 "), "{when}\n{screen}");
    assert!(screen.contains("\norg2 "), "{when}\n{screen}");
}

#[test]
fn live_table_at_80_columns_stays_true() {
    let lab = lab();
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(&lab, dir.path());
    let tmux = Tmux {
        socket: format!("dnsceremony-progress-{}", std::process::id()),
    };
    let script = format!(
        "{CLI} wait --manifest {} --timeout 30s; echo EXIT=$?; sleep 600",
        m.display()
    );
    tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "w",
        "-x",
        "80",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let first = tmux.screen();
    check_screen(&first, "after 20 s");
    assert!(
        first.contains("chase: org1 (zone ogr1.com) bogus for")
            && first.contains("; org2 (zone ogr2.net) pending for"),
        "whom to chase\n{first}"
    );
    assert!(
        first.contains("; next poll in ") || first.contains("; polling now"),
        "{first}"
    );
    let t1 = clock(&first).unwrap_or_else(|| panic!("a clock line\n{first}"));
    assert!(
        t1 >= 18,
        "the clock shows the time since the start\n{first}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    let second = tmux.screen();
    check_screen(&second, "after 22 s");
    let t2 = clock(&second).unwrap_or_else(|| panic!("a clock line\n{second}"));
    assert!(t2 > t1, "the clock moves: {t1} then {t2}\n{second}");

    // The deadline: the clock line is replaced by the summary.
    let end = loop {
        let s = tmux.screen();
        if s.contains("EXIT=") {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no end\n{s}");
        std::thread::sleep(Duration::from_millis(500));
    };
    check_screen(&end, "at the end");
    assert!(end.contains("EXIT=1"), "{end}");
    assert!(
        !end.lines().any(|l| l.starts_with("waiting ")),
        "no clock line left\n{end}"
    );
    assert!(
        end.contains("deadline reached after"),
        "a summary line\n{end}"
    );
}

#[test]
fn pipe_has_a_heartbeat_and_a_summary() {
    let lab = lab();
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(&lab, dir.path());
    let out = Command::new(CLI)
        .args([
            "wait",
            "--manifest",
            m.to_str().unwrap(),
            "--timeout",
            "36s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\x1b'),
        "no terminal control through a pipe\n{text}"
    );
    let beats: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('[') && l.contains("] waiting "))
        .collect();
    assert_eq!(beats.len(), 1, "one heartbeat in 36 s (every 30 s)\n{text}");
    assert!(beats[0].contains("0 of 2 secure"), "{text}");
    assert!(
        beats[0].contains("chase: org1 (zone ogr1.com) bogus for"),
        "{text}"
    );
    assert!(
        beats[0].contains("org2 (zone ogr2.net) pending for"),
        "{text}"
    );
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("deadline reached after ") && last.contains("1 pending, 1 bogus"),
        "the summary ends the output\n{text}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("SECURITY: org1 (validator1.ogr1.com) is bogus"),
        "{err}"
    );
}
