//! Ceremony record rules for one organisation: every answering server's answer to each
//! ceremony question, its signatures (`signatures`), agreement between servers
//! (`RECORD_MISMATCH`), negative answers proven as the validator proves them
//! (`DENIAL_INVALID`), and the records decoded with `records::decode` (`RECORD_MISSING`,
//! `RECORD_INVALID`).

use super::signatures::{check_rrset, SigCache};
use super::*;

fn present(r: &RData) -> String {
    match r {
        RData::TXT(t) => t
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .concat(),
        other => other.to_string(),
    }
}

/// Whether a negative answer (NXDOMAIN, NODATA) for `name`/`t` from a zone whose chain is
/// secure is proven, as the validator proves it: its NSEC/NSEC3 RRsets verified with the zone's
/// keys, then `dns::validate::check_denial`. A CNAME answer is not a negative answer.
// The validator's failure reason, as `dns::validate` returns it (built once per failed answer).
#[allow(clippy::result_large_err)]
fn negative(
    m: &Message,
    zone: &Name,
    name: &Name,
    t: RecordType,
    keys: &[DNSKEY],
    now: i64,
) -> Result<(), BogusReason> {
    use crate::dns::validate::{rrset as set_of, sigs_for};
    if m.answers
        .iter()
        .any(|r| r.record_type() == RecordType::CNAME)
    {
        return Ok(());
    }
    let key_refs: Vec<&DNSKEY> = keys.iter().collect();
    let mut proof: Vec<Record> = Vec::new();
    let mut seen: BTreeSet<(Name, RecordType)> = BTreeSet::new();
    for r in &m.authorities {
        let rt = r.record_type();
        if !matches!(rt, RecordType::NSEC | RecordType::NSEC3) || !seen.insert((r.name.clone(), rt))
        {
            continue;
        }
        let set = set_of(&m.authorities, &r.name, rt);
        let sigs = sigs_for(&m.authorities, &r.name, rt);
        verify_rrset(&set, &sigs, zone, &key_refs, now as u32)?;
        proof.extend(set);
    }
    let nxdomain = m.metadata.response_code == ResponseCode::NXDomain;
    check_denial(name, t, zone, nxdomain, &proof).map(|_| ())
}

/// The ceremony records of one organisation.
pub(super) fn org(
    o: &OrgInput,
    done: &BTreeMap<Name, (ChainStatus, Vec<DNSKEY>)>,
    clock: Clock,
    cache: &SigCache,
) -> OrgReport {
    let host = name_str(&o.data.host);
    let mut rep = OrgReport {
        name: o.name.clone(),
        host: host.clone(),
        zone: o.data.chain.last().map(name_str),
        chain: o.data.chain.iter().map(name_str).collect(),
        records: Vec::new(),
        findings: Vec::new(),
    };
    if let Some(why) = &o.data.failure {
        rep.findings.push(Finding::new(
            Code::ZoneNotFound,
            &host,
            format!("the zone of {host} was not found: {why}"),
        ));
        return rep;
    }
    let zone = rep.zone.clone().unwrap_or_default();
    let (status, keys) = o
        .data
        .chain
        .last()
        .and_then(|z| done.get(z))
        .cloned()
        .unwrap_or((ChainStatus::Unreachable, Vec::new()));
    let secure = status == ChainStatus::Secure;
    let zone_name = o.data.chain.last().cloned().unwrap_or_else(Name::root);
    let answering: Vec<&ServerData> = o
        .data
        .servers
        .iter()
        .filter(|s| {
            o.records
                .iter()
                .any(|(n, t)| matches!(reply(s, n, *t), Reply::Ok(_)))
        })
        .collect();
    let mut per_server: Vec<(String, Vec<Finding>)> = Vec::new();
    let mut sets: Vec<crate::dns::RRset> = Vec::new();
    for (name, t) in &o.records {
        let label = format!("{} {t}", name_str(name));
        let mut contents: BTreeMap<Vec<Vec<u8>>, Vec<String>> = BTreeMap::new();
        let mut first: Option<RecordReport> = None;
        for s in &answering {
            let Reply::Ok(m) = reply(s, name, *t) else {
                continue;
            };
            let recs = rrset(&m.answers, name, *t);
            contents.entry(content(&recs)).or_default().push(s.label());
            let c = check_rrset(&zone, &zone_name, &m.answers, name, *t, &keys, clock, cache);
            if first.is_none() {
                if !recs.is_empty() {
                    sets.push(crate::dns::RRset {
                        name: name.to_lowercase(),
                        rtype: *t,
                        ttl: recs[0].ttl,
                        rdata: recs.iter().map(|r| r.data.clone()).collect(),
                    });
                }
                first = Some(RecordReport {
                    name: name_str(name),
                    rtype: t.to_string(),
                    values: recs.iter().map(|r| present(&r.data)).collect(),
                    signed: c.valid && secure,
                });
            }
            let mut fs = c.findings;
            if status == ChainStatus::Insecure {
                fs.retain(|f| f.code != Code::RrsigMissing);
            }
            if secure && recs.is_empty() {
                if let Err(why) = negative(m, &zone_name, name, *t, &keys, clock.now) {
                    fs.push(
                        Finding::new(Code::DenialInvalid, &zone, why.to_string()).record(&label),
                    );
                }
            }
            per_server.push((s.label(), fs));
        }
        if contents.len() > 1 {
            let list: Vec<String> = contents
                .iter()
                .map(|(c, servers)| format!("{} value(s) on {}", c.len(), servers.join(", ")))
                .collect();
            rep.findings.push(
                Finding::new(
                    Code::RecordMismatch,
                    &zone,
                    format!("servers disagree on {label}: {}", list.join("; ")),
                )
                .record(&label),
            );
        }
        let r = first.unwrap_or(RecordReport {
            name: name_str(name),
            rtype: t.to_string(),
            values: Vec::new(),
            signed: false,
        });
        rep.records.push(r);
    }
    if let Some((profile, ceremony)) = &o.ceremony {
        if !answering.is_empty() {
            let fetched = crate::records::fetched_from(&o.data.host, &sets);
            match crate::records::decode(&o.data.host, &fetched, *profile, ceremony) {
                Ok(_) => {}
                Err(crate::records::RecordError::Missing { record }) => rep.findings.push(
                    Finding::new(
                        Code::RecordMissing,
                        &zone,
                        format!("{record} is not published"),
                    )
                    .record(record),
                ),
                Err(e) => {
                    let record = match &e {
                        crate::records::RecordError::Multiple { record, .. }
                        | crate::records::RecordError::Field { record, .. }
                        | crate::records::RecordError::Missing { record } => record.clone(),
                    };
                    rep.findings.push(
                        Finding::new(Code::RecordInvalid, &zone, e.to_string()).record(record),
                    );
                }
            }
        }
    }
    let mut merged = merge_servers(per_server, answering.len().max(1));
    for f in &mut merged {
        f.zone = zone.clone();
    }
    rep.findings.extend(merged);
    // Optional records that are absent (AAAA, the upstream TXT, genesis_) are left out.
    let named_missing = |r: &RecordReport| {
        let label = format!("{} {}", r.name.trim_end_matches('.'), r.rtype);
        rep.findings
            .iter()
            .any(|f| f.code == Code::RecordMissing && f.record.as_deref() == Some(label.as_str()))
    };
    let keep: Vec<bool> = rep
        .records
        .iter()
        .map(|r| !r.values.is_empty() || named_missing(r))
        .collect();
    let mut k = keep.into_iter();
    rep.records.retain(|_| k.next().unwrap_or(true));
    rep
}
