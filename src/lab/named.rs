//! One `named` process on one loopback address, stopped when its handle is dropped.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Why a `named` instance could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// `named` (or another BIND tool) could not be run.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `named` exited or did not report `running` in time; the tail of its log is attached.
    #[error("named on {addr} did not start: {log_tail}")]
    NotRunning {
        /// Its address.
        addr: Ipv4Addr,
        /// The last lines it logged.
        log_tail: String,
    },
    /// A file of the laboratory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A BIND tool failed.
    #[error("{program} failed: {stderr}")]
    Tool {
        /// The command line.
        program: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A hierarchy was described in a way it cannot be built.
    #[error("lab zone {zone}: {why}")]
    Spec {
        /// The zone.
        zone: String,
        /// What is wrong.
        why: String,
    },
    /// No free loopback address was found.
    #[error("no free loopback address with port 53 available")]
    NoAddress,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A loopback address whose port 53 is free, distinct for every call in this process and
/// (by the process id in the second octet) unlikely to collide with parallel test processes.
pub fn free_addr() -> Result<Ipv4Addr, LabError> {
    let pid_octet = 10 + (std::process::id() % 200) as u8;
    for _ in 0..60_000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let third = (n / 250) as u8;
        let fourth = (n % 250) as u8 + 2;
        let addr = Ipv4Addr::new(127, pid_octet, third, fourth);
        if UdpSocket::bind(SocketAddr::from((addr, 53))).is_ok()
            && std::net::TcpListener::bind(SocketAddr::from((addr, 53))).is_ok()
        {
            return Ok(addr);
        }
    }
    Err(LabError::NoAddress)
}

/// A running `named`; dropping it stops the process.
#[derive(Debug)]
pub struct Named {
    /// The address it listens on (port 53, UDP and TCP).
    pub addr: Ipv4Addr,
    /// Its working directory (zone files, keys, `named.conf`, `named.log`).
    pub dir: PathBuf,
    child: Option<Child>,
    /// Whether `start` put `addr` on the loopback interface (and so removes it on drop).
    added_addr: bool,
}

impl Named {
    /// Start `named -g` with `dir/named.conf`, which must listen on `addr` port 53, and wait
    /// until it logs `running` and listens on `addr` (at most 20 s).
    ///
    /// `named` only listens on addresses configured on an interface, and Linux configures
    /// only `127.0.0.1` on `lo`: `addr` is added to `lo` (`ip addr add addr/32 dev lo`) when
    /// missing, and removed again when the server is dropped.
    pub fn start(addr: Ipv4Addr, dir: &Path) -> Result<Named, LabError> {
        let added_addr = add_loopback(addr)?;
        let mut named = Named::spawn(addr, dir);
        if let Ok(n) = &mut named {
            n.added_addr = added_addr;
        } else if added_addr {
            remove_loopback(addr);
        }
        named
    }

    fn spawn(addr: Ipv4Addr, dir: &Path) -> Result<Named, LabError> {
        let log_path = dir.join("named.log");
        let log = std::fs::File::create(&log_path).map_err(|source| LabError::Write {
            path: log_path.clone(),
            source,
        })?;
        let child = Command::new("named")
            .arg("-g")
            .arg("-c")
            .arg(dir.join("named.conf"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| LabError::Spawn {
                program: "named".into(),
                source,
            })?;
        let mut named = Named {
            addr,
            dir: dir.to_path_buf(),
            child: Some(child),
            added_addr: false,
        };
        named.wait_running(&log_path)?;
        Ok(named)
    }

    fn wait_running(&mut self, log_path: &Path) -> Result<(), LabError> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            let listening = format!("{}#53", self.addr);
            if (log.contains("\nrunning") || log.contains(" running\n")) && log.contains(&listening)
            {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .map(|c| matches!(c.try_wait(), Ok(Some(_))))
                .unwrap_or(true);
            if exited || Instant::now() > deadline {
                let tail: Vec<&str> = log.lines().rev().take(6).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                self.stop();
                return Err(LabError::NotRunning {
                    addr: self.addr,
                    log_tail: tail.join(" | "),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The socket address to query (port 53).
    pub fn socket(&self) -> SocketAddr {
        SocketAddr::from((self.addr, 53))
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .map(|c| matches!(c.try_wait(), Ok(None)))
            .unwrap_or(false)
    }

    /// Stop the process now (also done on drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again after [`Named::stop`], with the same directory and address.
    pub fn restart(&mut self) -> Result<(), LabError> {
        self.stop();
        let fresh = Named::spawn(self.addr, &self.dir)?;
        // Take over the new child; `fresh` must not stop it when dropped.
        let mut fresh = fresh;
        self.child = fresh.child.take();
        Ok(())
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        self.stop();
        if self.added_addr {
            remove_loopback(self.addr);
        }
    }
}

/// Put `addr` on `lo` unless it is already there; true when it was added.
fn add_loopback(addr: Ipv4Addr) -> Result<bool, LabError> {
    if addr == Ipv4Addr::LOCALHOST {
        return Ok(false);
    }
    let cidr = format!("{addr}/32");
    let out = Command::new("ip")
        .args(["addr", "add", &cidr, "dev", "lo"])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            program: "ip".into(),
            source,
        })?;
    if out.status.success() {
        return Ok(true);
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    // Already there (a parallel lab's, or left by a killed run): older iproute2 says
    // "File exists", newer "Address already assigned".
    if stderr.contains("File exists") || stderr.contains("already assigned") {
        return Ok(false);
    }
    Err(LabError::Tool {
        program: format!("ip addr add {cidr} dev lo"),
        stderr,
    })
}

/// Take `addr` off `lo` again.
fn remove_loopback(addr: Ipv4Addr) {
    let _ = Command::new("ip")
        .args(["addr", "del", &format!("{addr}/32"), "dev", "lo"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The common `options` block for a lab server listening on `addr`.
pub fn options_block(addr: Ipv4Addr, dir: &Path) -> String {
    format!(
        r#"options {{
    directory "{dir}";
    listen-on port 53 {{ {addr}; }};
    listen-on-v6 {{ none; }};
    pid-file none;
    recursion no;
    dnssec-validation no;
    notify no;
    minimal-responses no;
    max-journal-size 10m;
    querylog no;
}};
controls {{ }};
"#,
        dir = dir.display()
    )
}

/// Run a BIND tool to completion; its stdout is returned, a failure carries its stderr.
pub fn run_tool(program: &str, args: &[&str], cwd: &Path) -> Result<String, LabError> {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            program: program.into(),
            source,
        })?;
    if !out.status.success() {
        return Err(LabError::Tool {
            program: format!("{program} {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
