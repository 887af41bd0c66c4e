//! One self-contained HTML page (inline CSS and SVG, no script, no network): a drawing of the
//! chain of trust from the anchor to each organisation (anchor -> root -> TLD -> zone ->
//! records), each box coloured by its worst finding and showing the zone's DNSKEY tags, each
//! arrow the DS tags at the parent, a broken link drawn broken with its reason; then the
//! findings grouped by cause and the details of every zone.

use std::fmt::Write;

use super::super::{fmt_left, fmt_time, Code, Report, Severity};
use super::{causes, chains, links, record_state, records_break, summary_line, verdict};

/// Escape text for HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn colour(worst: Option<Severity>, reachable: bool) -> (&'static str, &'static str) {
    if !reachable {
        return ("#d0d0d0", "#606060");
    }
    match worst {
        Some(Severity::Error) => ("#f8d0d0", "#b00020"),
        Some(Severity::Warning) => ("#fbe8bf", "#a06000"),
        _ => ("#d4efd4", "#1b7a1b"),
    }
}

/// The worst finding's code for a box's second line.
fn headline(findings: &[&super::super::Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .max_by_key(|f| f.severity)
        .map(|f| f.code.as_str().to_string())
        .unwrap_or_else(|| "ok".into())
}

struct Box {
    title: String,
    line: String,
    keys: String,
    worst: Option<Severity>,
    reachable: bool,
}

/// The arrow into a box: the DS tags it carries, and why it is broken, if it is.
struct Arrow {
    ds: String,
    broken: Option<String>,
}

fn zone_box(r: &Report, zone: &str, keys: String) -> Box {
    match r.zone(zone) {
        Some(z) => {
            let fs: Vec<&super::super::Finding> = z.findings.iter().collect();
            Box {
                title: zone.to_string(),
                line: format!("{} · {}", z.status.as_str(), headline(&fs)),
                keys,
                worst: r.zone_worst(zone),
                reachable: z.servers.iter().any(|s| s.answered),
            }
        }
        None => Box {
            title: zone.to_string(),
            line: "not examined".into(),
            keys,
            worst: None,
            reachable: false,
        },
    }
}

type Row = (String, Vec<Box>, Vec<Arrow>);

/// Chains to draw: one per organisation, or one per leaf zone without a manifest. `arrows[i]`
/// leads into `boxes[i + 1]`.
fn rows(r: &Report) -> Vec<Row> {
    let mut out = Vec::new();
    for (label, chain) in chains(r) {
        let mut boxes = vec![Box {
            title: "trust anchor".into(),
            line: short(&r.anchor, 22),
            keys: String::new(),
            worst: None,
            reachable: true,
        }];
        let mut arrows = Vec::new();
        for l in links(r, &chain) {
            boxes.push(zone_box(r, &l.child, format!("DNSKEY {}", l.keys_line())));
            arrows.push(Arrow {
                ds: format!("DS {}", l.ds_line()),
                broken: l.broken,
            });
        }
        let org = r.orgs.iter().find(|o| o.name == label);
        let Some(o) = org else {
            out.push((label, boxes, arrows));
            continue;
        };
        if o.chain.is_empty() {
            boxes.push(Box {
                title: o.host.clone(),
                line: "zone not found".into(),
                keys: String::new(),
                worst: Some(Severity::Error),
                reachable: true,
            });
            arrows.push(Arrow {
                ds: String::new(),
                broken: Some("ZONE_NOT_FOUND".into()),
            });
        }
        let fs: Vec<&super::super::Finding> = o.findings.iter().collect();
        let unsigned = o.records.iter().any(|r| !r.values.is_empty() && !r.signed);
        let mut line = headline(&fs);
        let mut worst = o.findings.iter().map(|f| f.severity).max();
        if unsigned {
            worst = Some(Severity::Error);
            if line == "ok" {
                line = "not validated".into();
            }
        }
        boxes.push(Box {
            title: "ceremony records".into(),
            line,
            keys: String::new(),
            worst,
            reachable: !o.chain.is_empty(),
        });
        arrows.push(Arrow {
            ds: String::new(),
            broken: records_break(o),
        });
        out.push((
            format!("{} ({})", o.name, verdict(r.org_worst(o))),
            boxes,
            arrows,
        ));
    }
    out
}

/// `s` cut to `n` characters at its end, with `…`.
fn clip_end(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// `s` cut to `n` characters at its start, with `…` (for file names and values).
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// The code of a `CODE: detail` reason.
fn reason_code(reason: &str) -> &str {
    reason.split(':').next().unwrap_or(reason)
}

fn svg(rows: &[Row]) -> String {
    let (bw, bh, gap, rh, left) = (180, 58, 120, 84, 150);
    let cols = rows.iter().map(|(_, b, _)| b.len()).max().unwrap_or(1);
    let width = left + cols * (bw + gap) - gap + 10;
    let height = rows.len().max(1) * rh + 10;
    let mut o = String::new();
    // Scales down to the page's width instead of overflowing it.
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{width}px;height:auto" viewBox="0 0 {width} {height}" role="img" aria-label="chain of trust"><defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker><marker id="arrowbad" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#b00020"/></marker></defs>"##
    );
    for (i, (label, boxes, arrows)) in rows.iter().enumerate() {
        let y = 10 + i * rh;
        let _ = write!(
            o,
            r##"<text x="4" y="{}" font-size="13" font-weight="bold" fill="#222">{}</text>"##,
            y + bh / 2 + 4,
            esc(&clip_end(label, 20))
        );
        for (j, b) in boxes.iter().enumerate() {
            let x = left + j * (bw + gap);
            let (fill, stroke) = colour(b.worst, b.reachable);
            let _ = write!(
                o,
                r##"<g><title>{t}: {l} {k}</title><rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="7" fill="{fill}" stroke="{stroke}" stroke-width="2"/><text x="{tx}" y="{y1}" font-size="13" text-anchor="middle" fill="#111">{ts}</text><text x="{tx}" y="{y2}" font-size="10" text-anchor="middle" fill="{stroke}">{ls}</text><text x="{tx}" y="{y3}" font-size="10" text-anchor="middle" fill="#333">{ks}</text></g>"##,
                t = esc(&b.title),
                l = esc(&b.line),
                k = esc(&b.keys),
                tx = x + bw / 2,
                y1 = y + 18,
                y2 = y + 34,
                y3 = y + 49,
                ts = esc(&short(&b.title, 22)),
                ls = esc(&clip_end(&b.line, 30)),
                ks = esc(&clip_end(&b.keys, 30)),
            );
            let Some(a) = arrows.get(j) else { continue };
            let (x1, x2, ym) = (x + bw, x + bw + gap - 2, y + bh / 2);
            let mid = x + bw + gap / 2;
            match &a.broken {
                None => {
                    let _ = write!(
                        o,
                        r##"<line x1="{x1}" y1="{ym}" x2="{x2}" y2="{ym}" stroke="#555" stroke-width="2" marker-end="url(#arrow)"/><text x="{mid}" y="{}" font-size="10" text-anchor="middle" fill="#333">{}</text>"##,
                        ym - 6,
                        esc(&clip_end(&a.ds, 20))
                    );
                }
                Some(why) => {
                    // A broken link: a dashed red line cut by a cross, the reason beneath.
                    let _ = write!(
                        o,
                        r##"<g class="broken-link"><title>broken: {w}</title><line x1="{x1}" y1="{ym}" x2="{}" y2="{ym}" stroke="#b00020" stroke-width="2" stroke-dasharray="5,4"/><line x1="{}" y1="{ym}" x2="{x2}" y2="{ym}" stroke="#b00020" stroke-width="2" stroke-dasharray="5,4" marker-end="url(#arrowbad)"/><path d="M{},{} l12,12 M{},{} l-12,12" stroke="#b00020" stroke-width="3"/><text x="{mid}" y="{}" font-size="10" text-anchor="middle" fill="#333">{}</text><text x="{mid}" y="{}" font-size="9" font-weight="bold" text-anchor="middle" fill="#b00020">{}</text></g>"##,
                        mid - 10,
                        mid + 10,
                        mid - 6,
                        ym - 6,
                        mid + 6,
                        ym - 6,
                        ym - 10,
                        esc(&clip_end(&a.ds, 20)),
                        ym + 20,
                        esc(&clip_end(reason_code(why), 22)),
                        w = esc(why),
                    );
                }
            }
        }
    }
    o.push_str("</svg>");
    o
}

const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#111;background:#fff}\
h1{margin:0 0 4px 0;font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}\
.meta{color:#555;font-size:13px}.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:bold;color:#fff;white-space:nowrap}\
.error{background:#b00020}.warning{background:#a06000}.ok,.info{background:#1b7a1b}\
table{border-collapse:collapse;font-size:13px;margin:8px 0;max-width:100%}table.findings{width:100%}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f2f2f2;overflow-wrap:normal}tr.sev-error td:first-child{border-left:5px solid #b00020}tr.sev-warning td:first-child{border-left:5px solid #a06000}\
tr.sev-info td:first-child{border-left:5px solid #1b7a1b}code{font-size:12px;overflow-wrap:anywhere}.chain{border:1px solid #ddd;padding:8px;background:#fafafa}\
p,li,summary{overflow-wrap:anywhere}\
details{margin:6px 0}summary{cursor:pointer;font-weight:bold}";

/// Render the report as one HTML page.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let result = verdict(r.worst());
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DNSSEC audit: {result}</title><style>{CSS}</style></head><body>\n"
    );
    let _ = write!(
        o,
        "<h1>DNSSEC audit <span class=\"badge {result}\">{}</span></h1>\n<p class=\"meta\">{} · anchor {} · warning window {} days · {} · exit {}</p>\n",
        result.to_uppercase(),
        esc(&fmt_time(r.generated_at)),
        esc(&r.anchor),
        r.warn_days,
        esc(&summary_line(r)),
        r.exit_code()
    );
    let rows = rows(r);
    let _ = write!(
        o,
        "<h2>Chain of trust</h2>\n<div class=\"chain\">{}</div>\n",
        svg(&rows)
    );
    let _ = writeln!(o, "<p class=\"meta\">green: no problem · amber: warning · red: error · grey: no server answered · on each arrow the DS key tags at the parent; in each zone its DNSKEY tags (* = a DS points to it) · a dashed red arrow with a cross is a broken link</p>");
    let mut broken = String::new();
    for (label, boxes, arrows) in &rows {
        for (j, a) in arrows.iter().enumerate() {
            if let Some(why) = &a.broken {
                let _ = writeln!(
                    broken,
                    "<li><b>{}</b>: <code>{}</code> → <code>{}</code>: {}</li>",
                    esc(label),
                    esc(&boxes[j].title),
                    esc(&boxes[j + 1].title),
                    esc(why)
                );
            }
        }
    }
    if !broken.is_empty() {
        let _ = writeln!(
            o,
            "<p><b>Broken links</b></p>\n<ul class=\"broken\">\n{broken}</ul>"
        );
    }
    if !r.orgs.is_empty() {
        o.push_str("<h2>Organisations</h2>\n<table><tr><th>status</th><th>organisation</th><th>host</th><th>record</th><th>type</th><th>state</th><th>value</th></tr>\n");
        for org in &r.orgs {
            let v = verdict(r.org_worst(org));
            let n = org.records.len().max(1);
            let first = format!(
                "<tr class=\"sev-{v}\"><td rowspan=\"{n}\"><span class=\"badge {v}\">{v}</span></td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\"><code>{}</code></td>",
                esc(&org.name),
                esc(&org.host)
            );
            if org.records.is_empty() {
                let _ = writeln!(o, "{first}<td colspan=\"4\">no records examined</td></tr>");
            }
            for (i, rec) in org.records.iter().enumerate() {
                if i == 0 {
                    o.push_str(&first);
                } else {
                    o.push_str("<tr>");
                }
                let state = match record_state(r, org, rec) {
                    s @ ("signed" | "missing") => s.to_string(),
                    s => format!("<b>{s}</b>"),
                };
                let _ = writeln!(
                    o,
                    "<td><code>{}</code></td><td>{}</td><td>{state}</td><td><code>{}</code></td></tr>",
                    esc(&rec.name),
                    esc(&rec.rtype),
                    esc(&short(&rec.values.join(" | "), 60))
                );
            }
        }
        o.push_str("</table>\n");
    }
    o.push_str("<h2>Findings</h2>\n");
    let causes = causes(r);
    if causes.is_empty() {
        o.push_str("<p>None.</p>\n");
    } else {
        o.push_str("<p class=\"meta\">One row per cause: errors first, causes before their consequences.</p>\n<table class=\"findings\"><tr><th>severity</th><th>code</th><th>zone</th><th>count</th><th>records / servers</th><th>detail</th><th>fix</th></tr>\n");
        for c in causes {
            let mut about: Vec<String> = c
                .records
                .iter()
                .map(|x| format!("<code>{}</code>", esc(x)))
                .collect();
            about.extend(c.servers.iter().map(|x| format!("@ {}", esc(x))));
            let _ = writeln!(
                o,
                "<tr class=\"sev-{s}\"><td>{s}</td><td><code>{}</code></td><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.code.as_str(),
                esc(c.zone),
                c.org.map(|g| format!(" ({})", esc(g))).unwrap_or_default(),
                c.count,
                if about.is_empty() { "-".to_string() } else { about.join("<br>") },
                esc(&c.detail()),
                esc(c.fix()),
                s = c.severity.as_str()
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("<h2>Zones</h2>\n");
    for z in &r.zones {
        let v = verdict(r.zone_worst(&z.zone));
        let _ = writeln!(
            o,
            "<details{}><summary><code>{}</code> <span class=\"badge {v}\">{}</span></summary>",
            if v == "ok" { "" } else { " open" },
            esc(&z.zone),
            z.status.as_str()
        );
        o.push_str(
            "<table><tr><th>server</th><th>address</th><th>answered</th><th>serial</th></tr>",
        );
        for s in &z.servers {
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                esc(s.addr.as_deref().unwrap_or("-")),
                if s.answered { "yes" } else { "<b>no</b>" },
                s.serial
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
        o.push_str("</table>\n<table><tr><th>record</th><th>key tag</th><th>algorithm</th><th>detail</th></tr>");
        for d in &z.ds {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>digest type {}, {}</td></tr>",
                if z.parent.is_some() { "DS" } else { "anchor" },
                d.tag,
                d.algorithm,
                d.digest_type,
                if d.matches {
                    "matches a key"
                } else {
                    "<b>matches no key</b>"
                }
            );
        }
        for k in &z.keys {
            let _ =
                write!(
                o,
                "<tr><td>DNSKEY {}</td><td>{}</td><td>{}</td><td>flags {}{}{}; signs {}</td></tr>",
                k.role(),
                k.tag,
                k.algorithm,
                k.flags,
                if k.has_ds { ", has DS" } else { "" },
                if k.revoked() { ", <b>revoked</b>" } else { "" },
                esc(&if k.signs.is_empty() { "nothing".to_string() } else { k.signs.join(", ") })
            );
        }
        o.push_str("</table>\n<table><tr><th>RRset</th><th>key</th><th>inception</th><th>expiration</th><th>left</th><th>TTL</th><th>valid</th></tr>");
        for s in &z.signatures {
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.rrset),
                s.key_tag,
                fmt_time(s.inception),
                fmt_time(s.expiration),
                fmt_left(s.expiration - r.generated_at),
                s.ttl,
                if s.valid { "yes" } else { "<b>no</b>" }
            );
        }
        o.push_str("</table>\n");
        if let Some(d) = &z.denial {
            let _ = writeln!(
                o,
                "<p>Denial of existence: {}{}</p>",
                esc(&d.kind),
                match (d.iterations, &d.salt) {
                    (Some(i), Some(s)) => format!(
                        ", {i} iterations, salt {}{}",
                        if s.is_empty() {
                            "-".to_string()
                        } else {
                            esc(s)
                        },
                        if d.opt_out { ", opt-out" } else { "" }
                    ),
                    _ => String::new(),
                }
            );
        }
        o.push_str("</details>\n");
    }
    o.push_str("<h2>Codes</h2>\n<table><tr><th>code</th><th>severity</th><th>meaning</th></tr>\n");
    let mut seen: Vec<Code> = r.findings().iter().map(|f| f.code).collect();
    seen.sort();
    seen.dedup();
    for c in seen {
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            c.as_str(),
            c.severity().as_str(),
            esc(c.meaning())
        );
    }
    o.push_str("</table>\n</body></html>\n");
    o
}
