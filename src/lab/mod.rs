//! Loopback laboratories: real BIND `named` processes on 127.x.y.z addresses, for the
//! integration tests, the benchmark and the no-Docker demo.
//!
//! # Limitations
//! Needs Debian's `bind9` (`named`) on `PATH` and the right to bind port 53 (root).

pub mod delv;
pub mod hierarchy;
pub mod named;
pub mod unbound;
