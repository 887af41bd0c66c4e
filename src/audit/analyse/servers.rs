//! Server rules: whether the zone's authoritative servers agree with each other (SOA serial,
//! DNSKEY set) and with the delegation at the parent (NS set, glue).

use super::*;

/// `SERIAL_MISMATCH` and `DNSKEY_MISMATCH` between the answering servers.
pub(super) fn agreement(
    zs: &str,
    zname: &str,
    servers: &[ServerReport],
    key_answers: &[KeyAnswer<'_>],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let serials: BTreeSet<u32> = servers.iter().filter_map(|s| s.serial).collect();
    if serials.len() > 1 {
        let list: Vec<String> = servers
            .iter()
            .filter_map(|s| {
                s.serial
                    .map(|n| format!("{}={n}", s.addr.clone().unwrap_or_else(|| s.name.clone())))
            })
            .collect();
        out.push(
            Finding::new(
                Code::SerialMismatch,
                zs,
                format!("servers serve different SOA serials: {}", list.join(", ")),
            )
            .record(format!("{zname} SOA")),
        );
    }
    let distinct: BTreeSet<&Vec<Vec<u8>>> = key_answers.iter().map(|(_, _, c)| c).collect();
    if distinct.len() > 1 {
        let list: Vec<String> = key_answers
            .iter()
            .map(|(s, ks, _)| {
                let mut tags: Vec<String> = ks.iter().map(|k| key_tag(k).to_string()).collect();
                tags.sort();
                format!("{} [{}]", s.label(), tags.join(" "))
            })
            .collect();
        out.push(
            Finding::new(
                Code::DnskeyMismatch,
                zs,
                format!("servers serve different DNSKEY sets: {}", list.join(", ")),
            )
            .record(format!("{zname} DNSKEY")),
        );
    }

    out
}

/// `NS_MISMATCH` and `GLUE_MISMATCH`: the delegation at the parent against what the zone's
/// first answering server (`primary`) serves.
pub(super) fn delegation(
    zs: &str,
    zname: &str,
    z: &ZoneData,
    primary: &ServerData,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let (Some(d), Reply::Ok(m)) = (&z.delegation, reply(primary, &z.zone, RecordType::NS)) {
        let child_ns: BTreeSet<String> = m
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) if r.name.to_lowercase() == z.zone.to_lowercase() => {
                    Some(name_str(&ns.0))
                }
                _ => None,
            })
            .collect();
        let parent_ns: BTreeSet<String> = d.ns.iter().map(name_str).collect();
        if !child_ns.is_empty() && child_ns != parent_ns {
            out.push(
                Finding::new(
                    Code::NsMismatch,
                    zs,
                    format!(
                        "the delegation at {} lists [{}] but the zone serves [{}]",
                        name_str(&d.parent),
                        parent_ns.into_iter().collect::<Vec<_>>().join(" "),
                        child_ns.into_iter().collect::<Vec<_>>().join(" ")
                    ),
                )
                .record(format!("{zname} NS")),
            );
        }
        for ns in &d.ns {
            let glue: BTreeSet<String> = d
                .glue
                .iter()
                .filter(|(n, _)| n == ns)
                .map(|(_, a)| a.to_string())
                .collect();
            if glue.is_empty() {
                continue;
            }
            let asked = match reply(primary, ns, RecordType::A) {
                Reply::Ok(a) => a.answers.clone(),
                _ => Vec::new(),
            };
            let served: BTreeSet<String> = m
                .additionals
                .iter()
                .chain(asked.iter())
                .filter(|r| r.name.to_lowercase() == ns.to_lowercase())
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0.to_string()),
                    RData::AAAA(a) => Some(a.0.to_string()),
                    _ => None,
                })
                .collect();
            if !served.is_empty() && served != glue {
                out.push(
                    Finding::new(
                        Code::GlueMismatch,
                        zs,
                        format!(
                            "glue for {} at {} is [{}] but the zone serves [{}]",
                            name_str(ns),
                            name_str(&d.parent),
                            glue.into_iter().collect::<Vec<_>>().join(" "),
                            served.into_iter().collect::<Vec<_>>().join(" ")
                        ),
                    )
                    .record(format!("{} A", name_str(ns))),
                );
            }
        }
    }
    out
}
