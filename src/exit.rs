//! Exit statuses: the documented contract between `dnsceremony` and scripts that call it.
//!
//! The README carries the same table; keep both in step.

/// Everything asked for was done; every organisation is `secure`; the check is green.
pub const OK: u8 = 0;
/// Not finished yet: some organisation is still `pending`, or a wait reached its deadline.
pub const PENDING: u8 = 1;
/// Verification failed: some organisation is `insecure`, `bogus` or `invalid`.
pub const SECURITY: u8 = 2;
/// Bad input: a command line, manifest, key file, TSIG file, anchor file or template is malformed,
/// not a regular file or over its size cap; a key file of ours is open to group or others.
pub const BAD_INPUT: u8 = 3;
/// A server did not answer in time, or the network failed.
pub const NETWORK: u8 = 4;
/// The server rejected our TSIG signature (BADSIG, BADKEY, BADTIME).
pub const TSIG: u8 = 5;
/// The server refused the request: not authoritative for the zone (NOTAUTH/NOTZONE), REFUSED, SERVFAIL.
pub const REFUSED: u8 = 6;
/// An update prerequisite failed: someone else changed the records since we read them.
pub const CONFLICT: u8 = 7;
/// A local file could not be written, or would be overwritten (keys are never overwritten), or
/// the output path exists and is not a regular file.
pub const LOCAL: u8 = 8;
/// The organisations did not all build the same genesis.
pub const GENESIS_MISMATCH: u8 = 9;
/// Phase 4 alarm: blocks do not advance or the committee is not what the manifest says.
pub const ALARM: u8 = 10;
/// The Autonity client could not be started or exited with a failure.
pub const NODE: u8 = 11;
/// Audit: the worst finding is a warning.
pub const AUDIT_WARNING: u8 = 12;
/// Audit: the worst finding is an error.
pub const AUDIT_ERROR: u8 = 13;
/// A bug in dnsceremony itself.
pub const INTERNAL: u8 = 70;
/// Stopped by SIGINT (Ctrl-C): 128 + 2, the shell's convention. `run` says where the
/// ceremony stopped; run again to resume.
pub const INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM: 128 + 15, the shell's convention; otherwise as [`INTERRUPTED`].
pub const TERMINATED: u8 = 143;
