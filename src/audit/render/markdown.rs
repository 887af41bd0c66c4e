//! Markdown for people (tickets, wikis, pull requests): a summary, the organisations table,
//! one section per zone and the findings grouped by cause (errors first, causes before their
//! consequences) with the fix for each.

use std::fmt::Write;

use super::super::{fmt_left, fmt_time, Report};
use super::{causes, chains, links, record_state, records_break, summary_line, verdict};

/// Escape `|` and newlines for a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Render the report as Markdown.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# DNSSEC audit\n");
    let _ = writeln!(o, "- generated: {}", fmt_time(r.generated_at));
    let _ = writeln!(o, "- anchor: `{}`", cell(&r.anchor));
    let _ = writeln!(o, "- expiry warning window: {} days", r.warn_days);
    let _ = writeln!(
        o,
        "- result: **{}** ({}, exit {})\n",
        verdict(r.worst()),
        summary_line(r),
        r.exit_code()
    );
    if !r.orgs.is_empty() {
        let _ = writeln!(o, "## Organisations\n");
        let _ = writeln!(o, "| status | organisation | host | chain | records |");
        let _ = writeln!(o, "|---|---|---|---|---|");
        for org in &r.orgs {
            let recs: Vec<String> = org
                .records
                .iter()
                .map(|x| {
                    format!(
                        "`{} {}` {}",
                        x.name,
                        x.rtype,
                        match record_state(r, org, x) {
                            "signed" => "signed".to_string(),
                            s => format!("**{s}**"),
                        }
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "| {} | {} | `{}` | {} | {} |",
                verdict(r.org_worst(org)),
                cell(&org.name),
                org.host,
                if org.chain.is_empty() {
                    "zone not found".to_string()
                } else {
                    org.chain.join(" → ")
                },
                cell(&recs.join("<br>"))
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "## Chain of trust\n");
    let _ = writeln!(
        o,
        "Each link: the DS key tags at the parent (the anchor for the root) and the DNSKEY tags at the child (`*`: a DS points to it).\n"
    );
    let _ = writeln!(
        o,
        "| chain | link | DS at parent | DNSKEY at child | link |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|");
    for (label, chain) in chains(r) {
        for l in links(r, &chain) {
            let _ = writeln!(
                o,
                "| {} | {} → `{}` | {} | {} | {} |",
                cell(&label),
                l.parent
                    .as_deref()
                    .map(|p| format!("`{p}`"))
                    .unwrap_or_else(|| "anchor".into()),
                l.child,
                l.ds_line(),
                l.keys_line(),
                l.broken
                    .map(|b| format!("**✗ broken**: {}", cell(&b)))
                    .unwrap_or_else(|| "ok".into())
            );
        }
        if let Some(org) = r.orgs.iter().find(|o| o.name == label) {
            if org.chain.is_empty() {
                let _ = writeln!(o, "| {} | - | - | - | **✗ zone not found** |", cell(&label));
            } else if let (Some(zone), Some(b)) = (&org.zone, records_break(org)) {
                let _ = writeln!(
                    o,
                    "| {} | `{zone}` → ceremony records | - | - | **✗ broken**: {} |",
                    cell(&label),
                    cell(&b)
                );
            }
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "## Zones\n");
    for z in &r.zones {
        let _ = writeln!(
            o,
            "### `{}`: {} ({})\n",
            z.zone,
            z.status.as_str(),
            verdict(r.zone_worst(&z.zone))
        );
        let _ = writeln!(o, "| server | address | answered | serial |");
        let _ = writeln!(o, "|---|---|---|---|");
        for s in &z.servers {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} |",
                s.name,
                s.addr.clone().unwrap_or_else(|| "-".into()),
                if s.answered { "yes" } else { "**no**" },
                s.serial
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
        let _ = writeln!(o);
        if !z.ds.is_empty() || !z.keys.is_empty() {
            let _ = writeln!(o, "| record | key tag | algorithm | detail |");
            let _ = writeln!(o, "|---|---|---|---|");
            for d in &z.ds {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | digest type {}, {} |",
                    if z.parent.is_some() { "DS" } else { "anchor" },
                    d.tag,
                    d.algorithm,
                    d.digest_type,
                    if d.matches {
                        "matches a key"
                    } else {
                        "**matches no key**"
                    }
                );
            }
            for k in &z.keys {
                let _ = writeln!(
                    o,
                    "| DNSKEY {} | {} | {} | flags {}{}{}; signs {} |",
                    k.role(),
                    k.tag,
                    k.algorithm,
                    k.flags,
                    if k.has_ds { ", has DS" } else { "" },
                    if k.revoked() { ", **revoked**" } else { "" },
                    if k.signs.is_empty() {
                        "nothing".to_string()
                    } else {
                        cell(&k.signs.join(", "))
                    }
                );
            }
            let _ = writeln!(o);
        }
        if !z.signatures.is_empty() {
            let _ = writeln!(
                o,
                "| RRset | key | inception | expiration | left | TTL | valid |"
            );
            let _ = writeln!(o, "|---|---|---|---|---|---|---|");
            for s in &z.signatures {
                let _ = writeln!(
                    o,
                    "| `{}` | {} | {} | {} | {} | {} | {} |",
                    s.rrset,
                    s.key_tag,
                    fmt_time(s.inception),
                    fmt_time(s.expiration),
                    fmt_left(s.expiration - r.generated_at),
                    s.ttl,
                    if s.valid { "yes" } else { "**no**" }
                );
            }
            let _ = writeln!(o);
        }
        if let Some(d) = &z.denial {
            let _ = writeln!(
                o,
                "Denial of existence: {}{}\n",
                d.kind,
                match (d.iterations, &d.salt) {
                    (Some(i), Some(s)) => format!(
                        ", {i} iterations, salt `{}`{}",
                        if s.is_empty() { "-" } else { s },
                        if d.opt_out { ", opt-out" } else { "" }
                    ),
                    _ => String::new(),
                }
            );
        }
    }
    let _ = writeln!(o, "## Findings\n");
    let causes = causes(r);
    if causes.is_empty() {
        let _ = writeln!(o, "None.");
        return o;
    }
    let _ = writeln!(
        o,
        "One row per cause (errors first, causes before their consequences).\n"
    );
    let _ = writeln!(
        o,
        "| severity | code | zone | count | records | detail | fix |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    for c in causes {
        let mut recs: Vec<String> = c.records.iter().map(|x| format!("`{x}`")).collect();
        if !c.servers.is_empty() {
            recs.push(format!("@ {}", c.servers.join(", ")));
        }
        let _ = writeln!(
            o,
            "| {} | `{}` | `{}`{} | {} | {} | {} | {} |",
            c.severity.as_str(),
            c.code.as_str(),
            c.zone,
            c.org.map(|g| format!(" ({})", cell(g))).unwrap_or_default(),
            c.count,
            if recs.is_empty() {
                "-".to_string()
            } else {
                cell(&recs.join("<br>"))
            },
            cell(&c.detail()),
            cell(c.fix())
        );
    }
    o
}
