//! Renderers: one [`OutputFormat`], one function per format, each from the same [`Report`].

pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

use super::{Code, Finding, OrgReport, RecordReport, Report, Severity};

/// The output formats of `dnsceremony audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// For a terminal.
    #[default]
    Text,
    /// `dnsceremony.audit/v1` JSON for machines.
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One self-contained HTML page with a drawing of the chain of trust.
    Html,
}

impl OutputFormat {
    /// Parse `text`, `json`, `markdown` (`md`) or `html`.
    pub fn parse(s: &str) -> Option<OutputFormat> {
        match s {
            "text" => Some(OutputFormat::Text),
            "json" => Some(OutputFormat::Json),
            "markdown" | "md" => Some(OutputFormat::Markdown),
            "html" => Some(OutputFormat::Html),
            _ => None,
        }
    }
}

/// Render `report` in `format`.
pub fn render(report: &Report, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => text::render(report),
        OutputFormat::Json => json::render(report),
        OutputFormat::Markdown => markdown::render(report),
        OutputFormat::Html => html::render(report),
    }
}

/// Counts of findings by severity: (errors, warnings, infos).
pub fn counts(report: &Report) -> (usize, usize, usize) {
    let all = report.findings();
    let n = |s: Severity| all.iter().filter(|f| f.severity == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}

/// `ok`, `warning` or `error` for a worst severity (info counts as ok).
pub fn verdict(worst: Option<Severity>) -> &'static str {
    match worst {
        Some(Severity::Error) => "error",
        Some(Severity::Warning) => "warning",
        _ => "ok",
    }
}

/// `2 errors, 1 warning, 3 info`.
pub fn summary_line(report: &Report) -> String {
    let (e, w, i) = counts(report);
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}, {} info",
        plural(e, "error", "errors"),
        plural(w, "warning", "warnings"),
        i
    )
}

/// Findings that share one cause, collapsed into one row: the same code and severity in the same
/// zone (and organisation). One expired signing key makes one cause, not a row per RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause<'a> {
    /// The code.
    pub code: Code,
    /// The severity.
    pub severity: Severity,
    /// The zone.
    pub zone: &'a str,
    /// The organisation, for findings about its records.
    pub org: Option<&'a str>,
    /// The RRsets concerned, in order, without repeats.
    pub records: Vec<&'a str>,
    /// The servers concerned, in order, without repeats (empty when all).
    pub servers: Vec<&'a str>,
    /// The distinct details, in order.
    pub details: Vec<&'a str>,
    /// How many findings were collapsed.
    pub count: usize,
}

impl Cause<'_> {
    /// The first detail, with `(and N more like it)` when the collapsed findings differ.
    pub fn detail(&self) -> String {
        match self.details.len() {
            0 => String::new(),
            1 => self.details[0].to_string(),
            n => format!("{} (and {} more like it)", self.details[0], n - 1),
        }
    }

    /// The code's fix.
    pub fn fix(&self) -> &'static str {
        self.code.fix()
    }

    /// `n records: a, b, c` or the one record; `None` when no record is concerned.
    pub fn records_line(&self, max: usize) -> Option<String> {
        match self.records.len() {
            0 => None,
            1 => Some(self.records[0].to_string()),
            n => {
                let shown: Vec<&str> = self.records.iter().take(max).copied().collect();
                Some(format!(
                    "{n} records: {}{}",
                    shown.join(", "),
                    if n > max {
                        format!(", and {} more", n - max)
                    } else {
                        String::new()
                    }
                ))
            }
        }
    }
}

fn depth(zone: &str) -> usize {
    zone.split('.').filter(|l| !l.is_empty()).count()
}

/// The findings of `report` grouped by cause and ordered by severity (errors, then warnings,
/// then notes) and, within one severity, causes before consequences ([`Code::causal_rank`]),
/// ancestors before descendants.
pub fn causes(report: &Report) -> Vec<Cause<'_>> {
    let all: Vec<(&Finding, Option<&str>)> = report
        .zones
        .iter()
        .flat_map(|z| z.findings.iter().map(|f| (f, None)))
        .chain(
            report
                .orgs
                .iter()
                .flat_map(|o| o.findings.iter().map(move |f| (f, Some(o.name.as_str())))),
        )
        .collect();
    let mut out: Vec<Cause<'_>> = Vec::new();
    for (f, org) in all {
        let i = match out.iter().position(|c| {
            c.code == f.code && c.severity == f.severity && c.zone == f.zone && c.org == org
        }) {
            Some(i) => i,
            None => {
                out.push(Cause {
                    code: f.code,
                    severity: f.severity,
                    zone: &f.zone,
                    org,
                    records: Vec::new(),
                    servers: Vec::new(),
                    details: Vec::new(),
                    count: 0,
                });
                out.len() - 1
            }
        };
        let c = &mut out[i];
        c.count += 1;
        if let Some(r) = f.record.as_deref() {
            if !c.records.contains(&r) {
                c.records.push(r);
            }
        }
        if let Some(s) = f.server.as_deref() {
            if !c.servers.contains(&s) {
                c.servers.push(s);
            }
        }
        if !c.details.contains(&f.detail.as_str()) {
            c.details.push(&f.detail);
        }
    }
    out.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.severity),
            a.code.causal_rank(),
            depth(a.zone),
            a.zone,
            a.org,
            a.code.as_str(),
            a.records.first(),
        )
            .cmp(&(
                std::cmp::Reverse(b.severity),
                b.code.causal_rank(),
                depth(b.zone),
                b.zone,
                b.org,
                b.code.as_str(),
                b.records.first(),
            ))
    });
    out
}

/// What a ceremony record's answer amounts to: `signed`, `missing`, or why it is not signed:
/// `expired` / `not yet valid` (its signature is outside its window), `unsigned` (no signature,
/// or an insecure chain), `not validated` (a signature that fails or a broken chain).
pub fn record_state(report: &Report, org: &OrgReport, rec: &RecordReport) -> &'static str {
    if rec.values.is_empty() {
        return "missing";
    }
    if rec.signed {
        return "signed";
    }
    let label = format!("{} {}", rec.name, rec.rtype);
    let about = |code: Code| {
        org.findings
            .iter()
            .chain(
                org.zone
                    .as_deref()
                    .and_then(|z| report.zone(z))
                    .into_iter()
                    .flat_map(|z| z.findings.iter()),
            )
            .any(|f| {
                f.code == code
                    && f.record.as_deref().map(|r| r.replace(". ", " "))
                        == Some(label.replace(". ", " "))
            })
    };
    if about(Code::RrsigExpired) {
        return "expired";
    }
    if about(Code::RrsigNotYetValid) {
        return "not yet valid";
    }
    if about(Code::RrsigMissing) {
        return "unsigned";
    }
    match report.org_chain(org) {
        super::ChainStatus::Insecure => "unsigned",
        _ => "not validated",
    }
}

/// One link of the chain of trust: the DS set at the parent (the anchor for the root) and the
/// DNSKEY set at the child, and why the link is broken, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The parent zone, `None` for the trust anchor.
    pub parent: Option<String>,
    /// The child zone.
    pub child: String,
    /// Key tags of the DS records at the parent (or the anchor's).
    pub ds_tags: Vec<u16>,
    /// Key tags of the child's DNSKEY RRset (`*` marks a key a DS points to in renderings).
    pub key_tags: Vec<(u16, bool)>,
    /// `CODE: detail` of the first finding that breaks this link, `None` when it holds.
    pub broken: Option<String>,
}

impl Link {
    /// `11111 22222` or `none`.
    pub fn ds_line(&self) -> String {
        if self.ds_tags.is_empty() {
            "none".into()
        } else {
            self.ds_tags
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        }
    }

    /// `11111* 22222` (`*`: a DS matches it) or `none`.
    pub fn keys_line(&self) -> String {
        if self.key_tags.is_empty() {
            "none".into()
        } else {
            self.key_tags
                .iter()
                .map(|(t, ds)| format!("{t}{}", if *ds { "*" } else { "" }))
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

/// Whether a finding about a zone breaks the link from its parent (or the anchor) to it.
fn breaks_link(f: &Finding, zone: &str) -> bool {
    match f.code {
        Code::DsNoMatchingKey
        | Code::DsKeyNotSigning
        | Code::DnskeyMissing
        | Code::AnchorNoMatch
        | Code::UnsignedDelegation
        | Code::ZoneNotFound => true,
        Code::RrsigExpired
        | Code::RrsigNotYetValid
        | Code::RrsigInvalid
        | Code::RrsigUnknownKey => {
            // A signature over the zone's own DNSKEY RRset that fails breaks the link.
            f.severity == Severity::Error
                && f.record.as_deref().map(|r| r.replace(". ", " "))
                    == Some(format!("{} DNSKEY", zone.trim_end_matches('.')))
        }
        _ => false,
    }
}

/// The links from the anchor down `chain` (zone names, root first).
pub fn links(report: &Report, chain: &[String]) -> Vec<Link> {
    let mut parent: Option<String> = None;
    let mut out = Vec::new();
    for zone in chain {
        let z = report.zone(zone);
        let broken = z.and_then(|z| {
            let mut fs: Vec<&Finding> = z
                .findings
                .iter()
                .filter(|f| breaks_link(f, &z.zone))
                .collect();
            fs.sort_by_key(|f| f.code.causal_rank());
            fs.first()
                .map(|f| format!("{}: {}", f.code.as_str(), f.detail))
        });
        out.push(Link {
            parent: parent.clone(),
            child: zone.clone(),
            ds_tags: z
                .map(|z| z.ds.iter().map(|d| d.tag).collect())
                .unwrap_or_default(),
            key_tags: z
                .map(|z| z.keys.iter().map(|k| (k.tag, k.has_ds)).collect())
                .unwrap_or_default(),
            broken: match (z, broken) {
                (None, _) => Some("not examined".into()),
                (_, b) => b,
            },
        });
        parent = Some(zone.clone());
    }
    out
}

/// Why an organisation's records do not validate from its zone (the last link), if they do not:
/// `CODE: detail` of the first error about its records' signatures or proofs.
pub fn records_break(org: &OrgReport) -> Option<String> {
    let mut fs: Vec<&Finding> = org
        .findings
        .iter()
        .filter(|f| {
            f.severity == Severity::Error
                && matches!(
                    f.code,
                    Code::RrsigExpired
                        | Code::RrsigNotYetValid
                        | Code::RrsigInvalid
                        | Code::RrsigUnknownKey
                        | Code::RrsigMissing
                        | Code::DenialInvalid
                )
        })
        .collect();
    fs.sort_by_key(|f| f.code.causal_rank());
    fs.first()
        .map(|f| format!("{}: {}", f.code.as_str(), f.detail))
}

/// The chains to draw: one per organisation (its name and zones), or one per leaf zone without
/// a manifest.
pub fn chains(report: &Report) -> Vec<(String, Vec<String>)> {
    if !report.orgs.is_empty() {
        return report
            .orgs
            .iter()
            .map(|o| (o.name.clone(), o.chain.clone()))
            .collect();
    }
    let mut out = Vec::new();
    for z in &report.zones {
        if report
            .zones
            .iter()
            .any(|c| c.parent.as_deref() == Some(z.zone.as_str()))
        {
            continue;
        }
        let mut chain = vec![z.zone.clone()];
        let mut cur = z.parent.clone();
        while let Some(p) = cur {
            chain.push(p.clone());
            cur = report.zone(&p).and_then(|x| x.parent.clone());
        }
        chain.reverse();
        out.push((z.zone.clone(), chain));
    }
    out
}
