//! Renderers of the audit report: snapshots of the text and Markdown structure, the JSON
//! against its schema (`docs/audit.schema.json`), the HTML page's self-containment, and the
//! exit status from the worst finding. The report is built by hand with fixed times, so the
//! snapshots are stable; `DNSCEREMONY_UPDATE_SNAPSHOTS=1` rewrites them.

use dnsceremony::audit::render::{self, OutputFormat};
use dnsceremony::audit::{
    ChainStatus, Code, DenialReport, DsReport, Finding, KeyReport, OrgReport, RecordReport, Report,
    ServerReport, Severity, SigReport, ZoneReport,
};
use dnsceremony::exit;

const NOW: i64 = 1_800_000_000; // 2027-01-15T08:00:00Z

fn zone(
    name: &str,
    parent: Option<&str>,
    status: ChainStatus,
    findings: Vec<Finding>,
) -> ZoneReport {
    ZoneReport {
        zone: name.into(),
        parent: parent.map(str::to_string),
        status,
        servers: vec![
            ServerReport {
                name: format!("ns1.{name}"),
                addr: Some("127.0.0.2".into()),
                answered: true,
                serial: Some(7),
            },
            ServerReport {
                name: format!("ns2.{name}"),
                addr: Some("127.0.0.3".into()),
                answered: true,
                serial: Some(8),
            },
        ],
        ds: vec![DsReport {
            tag: 11111,
            algorithm: 13,
            digest_type: 2,
            matches: true,
        }],
        keys: vec![
            KeyReport {
                tag: 11111,
                algorithm: 13,
                flags: 257,
                has_ds: true,
                signs: vec![format!("{name} DNSKEY")],
            },
            KeyReport {
                tag: 22222,
                algorithm: 13,
                flags: 256,
                has_ds: false,
                signs: vec![format!("{name} SOA")],
            },
        ],
        signatures: vec![SigReport {
            rrset: format!("{name} SOA"),
            ttl: 3600,
            key_tag: 22222,
            algorithm: 13,
            inception: NOW - 86_400,
            expiration: NOW + 3 * 86_400,
            valid: true,
        }],
        denial: Some(DenialReport {
            kind: "NSEC3".into(),
            iterations: Some(10),
            salt: Some("AABB".into()),
            opt_out: false,
        }),
        findings,
    }
}

fn sample() -> Report {
    let mut r = Report {
        generated_at: NOW,
        warn_days: 7,
        anchor: "anchor.ds".into(),
        zones: vec![
            zone(
                "ogr2.net.",
                Some("net."),
                ChainStatus::Bogus,
                vec![
                    Finding::new(
                        Code::RrsigExpired,
                        "ogr2.net.",
                        "the signature by key 22222 over ogr2.net. SOA expired",
                    )
                    .record("ogr2.net. SOA"),
                    Finding::new(
                        Code::SerialMismatch,
                        "ogr2.net.",
                        "servers serve different SOA serials: 127.0.0.2=7, 127.0.0.3=8",
                    ),
                ],
            ),
            zone(
                ".",
                None,
                ChainStatus::Secure,
                vec![Finding::new(
                    Code::ZoneSecure,
                    ".",
                    "the chain of trust validates",
                )],
            ),
            zone(
                "com.",
                Some("."),
                ChainStatus::Secure,
                vec![Finding::new(
                    Code::ZoneSecure,
                    "com.",
                    "the chain of trust validates",
                )],
            ),
            zone("net.", Some("."), ChainStatus::Secure, vec![]),
            zone(
                "ogr1.com.",
                Some("com."),
                ChainStatus::Secure,
                vec![
                    Finding::new(
                        Code::RrsigExpiresSoon,
                        "ogr1.com.",
                        "the signature by key 22222 over ogr1.com. SOA expires in 3d",
                    )
                    .record("ogr1.com. SOA")
                    .server("ns1.ogr1.com. (127.0.0.2)"),
                    Finding::new(
                        Code::Nsec3Iterations,
                        "ogr1.com.",
                        "NSEC3 uses 10 additional iterations",
                    )
                    .severity(Severity::Warning),
                ],
            ),
        ],
        orgs: vec![
            OrgReport {
                name: "org2".into(),
                host: "val2.ogr2.net.".into(),
                zone: Some("ogr2.net.".into()),
                chain: vec![".".into(), "net.".into(), "ogr2.net.".into()],
                records: vec![RecordReport {
                    name: "val2.ogr2.net.".into(),
                    rtype: "A".into(),
                    values: vec!["192.0.2.2".into()],
                    signed: false,
                }],
                findings: vec![Finding::new(
                    Code::RecordMissing,
                    "ogr2.net.",
                    "key_val2.ogr2.net TXT is not published",
                )
                .record("key_val2.ogr2.net TXT")],
            },
            OrgReport {
                name: "org1".into(),
                host: "validator1.ogr1.com.".into(),
                zone: Some("ogr1.com.".into()),
                chain: vec![".".into(), "com.".into(), "ogr1.com.".into()],
                records: vec![
                    RecordReport {
                        name: "validator1.ogr1.com.".into(),
                        rtype: "A".into(),
                        values: vec!["192.0.2.1".into()],
                        signed: true,
                    },
                    RecordReport {
                        name: "key_validator1.ogr1.com.".into(),
                        rtype: "TXT".into(),
                        values: vec!["ab".repeat(64)],
                        signed: true,
                    },
                ],
                findings: vec![],
            },
        ],
        queries: 42,
    };
    r.normalise();
    r
}

fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("DNSCEREMONY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with DNSCEREMONY_UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the snapshot at line {}:\nexpected: {:?}\nactual:   {:?}\n(DNSCEREMONY_UPDATE_SNAPSHOTS=1 rewrites it)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

#[test]
fn text_snapshot() {
    snapshot("audit.txt", &render::render(&sample(), OutputFormat::Text));
}

#[test]
fn markdown_snapshot() {
    snapshot(
        "audit.md",
        &render::render(&sample(), OutputFormat::Markdown),
    );
}

#[test]
fn ordering_is_stable_and_worst_first() {
    let r = sample();
    let zones: Vec<&str> = r.zones.iter().map(|z| z.zone.as_str()).collect();
    assert_eq!(zones, [".", "com.", "net.", "ogr1.com.", "ogr2.net."]);
    let sev: Vec<Severity> = r.findings().iter().map(|f| f.severity).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);
    assert_eq!(r.findings()[0].code, Code::RecordMissing);
    assert_eq!(r.orgs[0].name, "org1");
}

#[test]
fn exit_status_follows_the_worst_finding() {
    let mut r = sample();
    assert_eq!(r.exit_code(), exit::AUDIT_ERROR);
    r.orgs.clear();
    r.zones.retain(|z| z.zone != "ogr2.net.");
    assert_eq!(r.worst(), Some(Severity::Warning));
    assert_eq!(r.exit_code(), exit::AUDIT_WARNING);
    r.zones.retain(|z| z.zone != "ogr1.com.");
    assert_eq!(r.worst(), Some(Severity::Info));
    assert_eq!(r.exit_code(), exit::OK);
}

#[test]
fn html_is_self_contained_and_shows_who_is_broken() {
    let html = render::render(&sample(), OutputFormat::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("</svg>"));
    for banned in ["<script", "http://", "https://", "<link", "src="] {
        let allowed_ns = banned == "http://"
            && html.matches("http://").count()
                == html.matches("http://www.w3.org/2000/svg").count();
        assert!(
            allowed_ns || !html.contains(banned),
            "HTML contains {banned}"
        );
    }
    // org2's row is drawn red (error), org1's amber (warning).
    let org2 = html.find(">org2 (error)<").expect("org2 row label");
    let org1 = html.find(">org1 (warning)<").expect("org1 row label");
    assert!(org1 < org2, "organisations are drawn in name order");
    assert!(html[org2..].contains("#b00020"));
    assert!(html.contains("RRSIG_EXPIRED") && html.contains("RECORD_MISSING"));
    assert!(html.contains("&lt;") || !html.contains("<b>x"));
}

#[path = "support/audit_schema.rs"]
mod audit_schema;
use audit_schema::schema_violations;

#[test]
fn json_matches_the_schema() {
    let out = render::render(&sample(), OutputFormat::Json);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema"], "dnsceremony.audit/v1");
    assert_eq!(doc["summary"]["exit_code"], 13);
    assert_eq!(doc["findings"][0]["org"], "org2");
    let errs = schema_violations(&doc);
    assert!(errs.is_empty(), "{errs:#?}");
    // The validator itself rejects a wrong document.
    let mut bad = doc.clone();
    bad["zones"][0]["status"] = serde_json::json!("fine");
    bad["findings"][0]["severity"] = serde_json::json!(3);
    bad.as_object_mut().unwrap().remove("summary");
    assert_eq!(
        schema_violations(&bad).len(),
        3,
        "{:#?}",
        schema_violations(&bad)
    );
}

#[test]
fn every_code_is_in_the_readme_table() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    for c in Code::ALL {
        let row = format!("| `{}` | {} |", c.as_str(), c.severity().as_str());
        assert!(readme.contains(&row), "README lacks the row starting {row}");
    }
}

/// The sample with one cause repeated over many RRsets, a broken DS link above `ogr2.net.` and
/// the consequences it has below.
fn broken_sample() -> Report {
    let mut r = sample();
    let net = r.zones.iter_mut().find(|z| z.zone == "net.").unwrap();
    net.ds[0].matches = false;
    net.findings.push(Finding::new(
        Code::DsNoMatchingKey,
        "net.",
        "DS 11111 at . matches no DNSKEY",
    ));
    let ogr2 = r.zones.iter_mut().find(|z| z.zone == "ogr2.net.").unwrap();
    ogr2.findings.push(Finding::new(
        Code::ParentInsecure,
        "ogr2.net.",
        "net. does not validate",
    ));
    let org2 = r.orgs.iter_mut().find(|o| o.name == "org2").unwrap();
    for i in 0..12 {
        org2.findings.push(
            Finding::new(
                Code::RrsigExpired,
                "ogr2.net.",
                format!("the signature by key 22222 over r{i}.ogr2.net. TXT expired"),
            )
            .record(format!("r{i}.ogr2.net. TXT")),
        );
    }
    org2.findings.push(
        Finding::new(
            Code::RrsigExpired,
            "ogr2.net.",
            "the signature by key 22222 over val2.ogr2.net. A expired",
        )
        .record("val2.ogr2.net. A"),
    );
    r.normalise();
    r
}

#[test]
fn findings_are_grouped_by_cause_causes_first_with_the_fix() {
    let r = broken_sample();
    let causes = render::causes(&r);
    // 13 expired signatures of org2's records are one cause, with every record listed.
    let expired = causes
        .iter()
        .find(|c| c.code == Code::RrsigExpired && c.org == Some("org2"))
        .expect("expired cause");
    assert_eq!(expired.count, 13);
    assert_eq!(expired.records.len(), 13);
    assert!(expired.detail().contains("(and 12 more like it)"));
    // Errors first; within errors the DS mismatch and the expired signatures before the
    // PARENT_INSECURE they cause, and that before the missing record.
    let codes: Vec<Code> = causes.iter().map(|c| c.code).collect();
    let at = |c: Code| codes.iter().position(|x| *x == c).unwrap();
    assert!(at(Code::RrsigExpired) < at(Code::ParentInsecure));
    assert!(at(Code::DsNoMatchingKey) < at(Code::ParentInsecure));
    assert!(at(Code::ParentInsecure) < at(Code::RecordMissing));
    assert!(at(Code::RecordMissing) < at(Code::SerialMismatch));
    assert_eq!(codes.last(), Some(&Code::ZoneSecure));
    let sev: Vec<Severity> = causes.iter().map(|c| c.severity).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);

    let text = render::render(&r, OutputFormat::Text);
    let findings = &text[text.find("\nFindings").unwrap()..];
    assert_eq!(findings.matches("RRSIG_EXPIRED").count(), 2, "{text}");
    assert!(text.contains(&format!("fix: {}", Code::RrsigExpired.fix())));
    assert!(text.contains("13 records: "));
    // The record whose signature expired says so, not "NOT SIGNED".
    assert!(text.contains("A     expired"), "{text}");
    assert!(!text.contains("NOT SIGNED"));
    for f in [OutputFormat::Markdown, OutputFormat::Html] {
        let out = render::render(&r, f);
        assert!(out.contains(Code::RrsigExpired.fix()), "{f:?}");
        let findings = &out[out
            .find("Findings</h2>")
            .or(out.find("## Findings"))
            .unwrap()..];
        let findings = &findings[..findings.find("Zones").unwrap_or(findings.len())];
        assert_eq!(findings.matches("RRSIG_EXPIRED").count(), 2, "{f:?}");
    }
    let doc: serde_json::Value =
        serde_json::from_str(&render::render(&r, OutputFormat::Json)).unwrap();
    let c = doc["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "RRSIG_EXPIRED" && c["org"] == "org2")
        .unwrap();
    assert_eq!(c["count"], 13);
    assert_eq!(c["records"].as_array().unwrap().len(), 13);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 22);
    let errs = schema_violations(&doc);
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn the_chain_shows_tags_and_draws_the_broken_link_broken() {
    let r = broken_sample();
    let text = render::render(&r, OutputFormat::Text);
    assert!(
        text.contains("X  . => net.: DS 11111 => DNSKEY 11111* 22222  BROKEN: DS_NO_MATCHING_KEY"),
        "{text}"
    );
    assert!(
        text.contains("ok . => com.: DS 11111 => DNSKEY 11111* 22222"),
        "{text}"
    );
    assert!(
        text.contains("ogr2.net. => ceremony records  BROKEN: RRSIG_EXPIRED"),
        "{text}"
    );
    let md = render::render(&r, OutputFormat::Markdown);
    assert!(
        md.contains(
            "| org2 | `.` → `net.` | 11111 | 11111* 22222 | **✗ broken**: DS_NO_MATCHING_KEY"
        ),
        "{md}"
    );
    let html = render::render(&r, OutputFormat::Html);
    // org2's row: two broken links (net. and its records), org1's none.
    let org2 = &html[html.find(">org2 (error)<").unwrap()..html.find("</svg>").unwrap()];
    let org1 = &html[html.find(">org1 (warning)<").unwrap()..html.find(">org2 (error)<").unwrap()];
    assert_eq!(org2.matches("class=\"broken-link\"").count(), 2, "{org2}");
    assert!(org2.contains("broken: DS_NO_MATCHING_KEY: DS 11111 at . matches no DNSKEY"));
    assert!(!org1.contains("broken-link"));
    assert!(org1.contains(">DS 11111<") && org1.contains(">DNSKEY 11111* 22222<"));
    assert!(html.contains(
        "<li><b>org2 (error)</b>: <code>.</code> → <code>net.</code>: DS_NO_MATCHING_KEY"
    ));
    // The clean sample has no broken link.
    let clean = render::render(&sample(), OutputFormat::Html);
    assert!(clean.contains("broken-link") == clean.contains("ZONE_NOT_FOUND"));
}
