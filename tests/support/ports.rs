//! TCP ports for the processes a test starts, below the kernel's ephemeral range (32768 and up
//! on Linux), so that no outgoing connection of another process can take a port between the
//! moment it is chosen here and the moment its server binds it. Each test binary counts from
//! its own base (by process id); a port is handed out only when it can be bound on every
//! address, and never twice by one binary.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// A port that was free on `0.0.0.0` and `127.0.0.1` a moment ago.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 20_000 + (std::process::id() % 40) * 300;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < 12_000, "no free port left below the ephemeral range");
        let port = (20_000 + (base - 20_000 + n) % 12_000) as u16;
        if TcpListener::bind(("0.0.0.0", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
}
