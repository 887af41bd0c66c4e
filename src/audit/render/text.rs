//! Text for a terminal: organisations first (who is broken), the chain of trust link by link
//! (DS tags at the parent, DNSKEY tags at the child, broken links marked with their reason), each
//! zone, then the findings grouped by cause (errors first, causes before consequences) with
//! their fix, then the summary and the exit status.

use std::fmt::Write;

use super::super::{fmt_left, fmt_time, Report};
use super::{causes, chains, links, record_state, records_break, summary_line, verdict};

/// `s` cut to `n` characters, with `...` when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n - 3).collect::<String>())
    }
}

/// Render the report as plain text.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "dnsceremony audit at {}", fmt_time(r.generated_at));
    let _ = writeln!(o, "  anchor: {}", r.anchor);
    let _ = writeln!(
        o,
        "  signatures expiring within {} days are warnings; {} queries sent",
        r.warn_days, r.queries
    );
    if !r.orgs.is_empty() {
        let _ = writeln!(o, "\nOrganisations");
        for org in &r.orgs {
            let worst = r.org_worst(org);
            let _ = writeln!(
                o,
                "  {:<7} {:<16} {:<28} {}",
                verdict(worst).to_uppercase(),
                org.name,
                org.host,
                if org.chain.is_empty() {
                    "(zone not found)".to_string()
                } else {
                    org.chain.join(" -> ")
                }
            );
            for rec in &org.records {
                let state = record_state(r, org, rec);
                let _ = writeln!(
                    o,
                    "          {:<40} {:<5} {:<13} {}",
                    rec.name,
                    rec.rtype,
                    state,
                    clip(&rec.values.join(" | "), 64)
                );
            }
        }
    }
    let _ = writeln!(
        o,
        "\nChain of trust (DS key tags at the parent => DNSKEY tags at the child, * = has DS)"
    );
    for (label, chain) in chains(r) {
        let _ = writeln!(o, "  {label}");
        if chain.is_empty() {
            let _ = writeln!(o, "    X  zone not found");
        }
        for l in links(r, &chain) {
            let _ = writeln!(
                o,
                "    {} {} => {}: DS {} => DNSKEY {}{}",
                if l.broken.is_some() { "X " } else { "ok" },
                l.parent.as_deref().unwrap_or("anchor"),
                l.child,
                l.ds_line(),
                l.keys_line(),
                l.broken
                    .map(|b| format!("  BROKEN: {b}"))
                    .unwrap_or_default()
            );
        }
        if let Some(org) = r.orgs.iter().find(|o| o.name == label) {
            if let (Some(zone), Some(b)) = (&org.zone, records_break(org)) {
                let _ = writeln!(o, "    X  {zone} => ceremony records  BROKEN: {b}");
            }
        }
    }
    let _ = writeln!(o, "\nZones");
    for z in &r.zones {
        let _ = writeln!(
            o,
            "  {} [{}] {}",
            z.zone,
            z.status.as_str(),
            verdict(r.zone_worst(&z.zone)).to_uppercase()
        );
        for s in &z.servers {
            let _ = writeln!(
                o,
                "    server {:<32} {:<16} {}",
                s.name,
                s.addr.clone().unwrap_or_else(|| "-".into()),
                match (s.answered, s.serial) {
                    (true, Some(n)) => format!("serial {n}"),
                    (true, None) => "answered".into(),
                    (false, _) => "NO ANSWER".into(),
                }
            );
        }
        for d in &z.ds {
            let _ = writeln!(
                o,
                "    {} {:>5} alg {:<2} digest {}  {}",
                if z.parent.is_some() {
                    "ds    "
                } else {
                    "anchor"
                },
                d.tag,
                d.algorithm,
                d.digest_type,
                if d.matches {
                    "matches a key"
                } else {
                    "MATCHES NO KEY"
                }
            );
        }
        for k in &z.keys {
            let _ = writeln!(
                o,
                "    key    {:>5} alg {:<2} {} flags {}{}{}  signs: {}",
                k.tag,
                k.algorithm,
                k.role(),
                k.flags,
                if k.has_ds { " (DS)" } else { "" },
                if k.revoked() { " REVOKED" } else { "" },
                if k.signs.is_empty() {
                    "-".to_string()
                } else {
                    k.signs.join(", ")
                }
            );
        }
        for s in &z.signatures {
            let _ = writeln!(
                o,
                "    rrsig  {:<36} key {:>5} {} .. {} left {:<8} ttl {:<6} {}",
                s.rrset,
                s.key_tag,
                fmt_time(s.inception),
                fmt_time(s.expiration),
                fmt_left(s.expiration - r.generated_at),
                s.ttl,
                if s.valid { "ok" } else { "BAD" }
            );
        }
        if let Some(d) = &z.denial {
            let _ = writeln!(
                o,
                "    denial {}{}",
                d.kind,
                match (d.iterations, &d.salt) {
                    (Some(i), Some(s)) => format!(
                        " iterations {i} salt {}{}",
                        if s.is_empty() { "-" } else { s },
                        if d.opt_out { " opt-out" } else { "" }
                    ),
                    _ => String::new(),
                }
            );
        }
    }
    let causes = causes(r);
    let _ = writeln!(o, "\nFindings (by cause, causes first)");
    if causes.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for c in causes {
        let mut about = c.zone.to_string();
        if let Some(org) = c.org {
            about = format!("{about} ({org})");
        }
        let _ = writeln!(
            o,
            "  {:<7} {:<22} {}{}: {}",
            c.severity.as_str(),
            c.code.as_str(),
            about,
            if c.count > 1 {
                format!(" x{}", c.count)
            } else {
                String::new()
            },
            c.detail()
        );
        if let Some(recs) = c.records_line(8) {
            let _ = writeln!(o, "          on {recs}");
        }
        if !c.servers.is_empty() {
            let _ = writeln!(o, "          servers: {}", c.servers.join(", "));
        }
        let _ = writeln!(o, "          fix: {}", c.fix());
    }
    let _ = writeln!(o, "\n{} (exit {})", summary_line(r), r.exit_code());
    o
}
