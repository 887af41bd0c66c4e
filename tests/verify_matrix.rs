//! The verdicts of `dnsceremony verify` checked against BIND's validator `delv`, one
//! organisation zone per case, all in one loopback hierarchy: good zones (algorithms 8, 13,
//! 15, 16, NSEC3 with and without salt and opt-out, a dynamically signed zone), every DNSSEC
//! fault, a missing record, malformed records, a wrong anchor, and both the iterative
//! (`--root`) and the resolver (`--resolver`) modes. The same hierarchy also checks the
//! engine directly: the precise reason of every fault, validated denials, and DS lookups
//! made after the child zone is already cached (they must be answered by the parent).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use dnsceremony::dns::anchor::TrustAnchors;
use dnsceremony::dns::validate::BogusReason;
use dnsceremony::dns::RRset;
use dnsceremony::identity::{keccak256, Identity};
use dnsceremony::lab::delv::{delv, DelvVerdict};
use dnsceremony::lab::hierarchy::{
    Algorithm, Fault, Hierarchy, Nsec3, OrgZone, Record, ResolverMode, Signing,
};
use dnsceremony::manifest::{CeremonyId, Manifest, Profile};
use dnsceremony::records::{attest, attestation_message, encode, Binding, PublishParams};
use dnsceremony::verify::{Lookup, Session, Source, VerifyOptions};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, RecordType};

/// How a case's records are changed from what `records::encode` makes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Edit {
    None,
    /// The `autonity_` record is left out: not published yet.
    OmitAttestation,
    /// `key_` holds text that is not 128 hex digits.
    MalformedKey,
    /// `key_` holds 128 hex digits that are not a point on secp256k1.
    KeyOffCurve,
    /// `port_` holds 70000.
    BadPort,
    /// The host has two A records.
    TwoA,
    /// The attestation was made for another ceremony.
    OtherCeremony,
    /// The ownership proof's BLS part was made by another key; the attestation is signed over
    /// it, so only the (batched) pairing check can catch it.
    ForeignProof,
}

struct Case {
    zone: &'static str,
    signing: Signing,
    fault: Option<Fault>,
    edit: Edit,
    want: &'static str,
    /// Words the reason must contain (besides the zone or host name).
    because: &'static [&'static str],
    /// What the engine must say for `key_validator.<zone>` TXT, when checked directly.
    engine: Option<Want>,
}

/// What the engine must say for one lookup.
#[derive(Debug, Clone, Copy)]
enum Want {
    Secure,
    Insecure(&'static str),
    /// The reason's kind and how its sentence starts.
    Bogus(fn(&BogusReason) -> bool, &'static str),
}

fn stat(algorithm: Algorithm, nsec3: Option<Nsec3>) -> Signing {
    Signing::Static { algorithm, nsec3 }
}

fn cases() -> Vec<Case> {
    let ec = stat(Algorithm::EcdsaP256, None);
    let case = |zone, signing: &Signing, fault, edit, want, because| Case {
        zone,
        signing: signing.clone(),
        fault,
        edit,
        want,
        because,
        engine: engine_want(zone),
    };
    vec![
        case(
            "rsa.com",
            &stat(Algorithm::RsaSha256, None),
            None,
            Edit::None,
            "secure",
            &[],
        ),
        case("ecdsa.net", &ec, None, Edit::None, "secure", &[]),
        case(
            "salted.co.uk",
            &stat(
                Algorithm::EcdsaP256,
                Some(Nsec3 {
                    iterations: 5,
                    salt: "beef".into(),
                    opt_out: true,
                }),
            ),
            None,
            Edit::None,
            "secure",
            &[],
        ),
        case(
            "dyn3.io",
            &Signing::Dynamic {
                algorithm: Algorithm::Ed25519,
                nsec3: Some(Nsec3::default()),
            },
            None,
            Edit::None,
            "secure",
            &[],
        ),
        case(
            "ed.io",
            &stat(Algorithm::Ed25519, None),
            None,
            Edit::None,
            "secure",
            &[],
        ),
        case(
            "ed448.net",
            &stat(Algorithm::Ed448, None),
            None,
            Edit::None,
            "secure",
            &[],
        ),
        case(
            "hashed.co.uk",
            &stat(Algorithm::EcdsaP256, Some(Nsec3::default())),
            None,
            Edit::None,
            "secure",
            &[],
        ),
        case(
            "expired.com",
            &ec,
            Some(Fault::ExpiredSignatures),
            Edit::None,
            "bogus",
            &["expired"],
        ),
        case(
            "future.net",
            &ec,
            Some(Fault::FutureSignatures),
            Edit::None,
            "bogus",
            &[],
        ),
        case(
            "dsmismatch.io",
            &ec,
            Some(Fault::DsMismatch),
            Edit::None,
            "bogus",
            &[],
        ),
        case(
            "foreign.com",
            &ec,
            Some(Fault::ForeignKeySigned),
            Edit::None,
            "bogus",
            &[],
        ),
        case(
            "unsignedds.net",
            &ec,
            Some(Fault::UnsignedUnderDs),
            Edit::None,
            "bogus",
            &[],
        ),
        case(
            "altered.io",
            &ec,
            Some(Fault::AlteredAfterSigning),
            Edit::None,
            "bogus",
            &[],
        ),
        case(
            "insecure.com",
            &ec,
            Some(Fault::UnsignedDelegation),
            Edit::None,
            "insecure",
            &[],
        ),
        case(
            "pending.net",
            &ec,
            None,
            Edit::OmitAttestation,
            "pending",
            &["autonity_"],
        ),
        case(
            "badkey.io",
            &ec,
            None,
            Edit::MalformedKey,
            "invalid",
            &["key_"],
        ),
        case("offcurve.com", &ec, None, Edit::KeyOffCurve, "invalid", &[]),
        case(
            "badport.net",
            &ec,
            None,
            Edit::BadPort,
            "invalid",
            &["port"],
        ),
        case("twoa.io", &ec, None, Edit::TwoA, "invalid", &[]),
        case(
            "otherceremony.com",
            &ec,
            None,
            Edit::OtherCeremony,
            "invalid",
            &["ceremony"],
        ),
        case(
            "foreignproof.net",
            &ec,
            None,
            Edit::ForeignProof,
            "invalid",
            &[
                "autonity_",
                "pop: does not prove ownership",
                "its BLS signature over the treasury and consensus key does not verify under the consensus key",
            ],
        ),
    ]
}

/// A ceremony of good organisations only (exit 0).
fn good_cases() -> Vec<Case> {
    ["good1.com", "good2.co.uk"]
        .into_iter()
        .map(|zone| Case {
            zone,
            signing: stat(Algorithm::EcdsaP256, None),
            fault: None,
            edit: Edit::None,
            want: "secure",
            because: &[],
            engine: None,
        })
        .collect()
}

/// The engine's precise verdict on `key_validator.<zone>` TXT, for the zones checked directly.
fn engine_want(zone: &str) -> Option<Want> {
    Some(match zone {
        "rsa.com" | "ecdsa.net" | "ed.io" | "ed448.net" | "hashed.co.uk" | "salted.co.uk"
        | "dyn3.io" => Want::Secure,
        "expired.com" => Want::Bogus(
            |r| matches!(r, BogusReason::Expired { .. }),
            "RRSIG on expired.com DNSKEY expired at ",
        ),
        "future.net" => Want::Bogus(
            |r| matches!(r, BogusReason::NotYetValid { .. }),
            "RRSIG on future.net DNSKEY is not valid before ",
        ),
        "dsmismatch.io" => Want::Bogus(
            |r| matches!(r, BogusReason::DsMismatch { .. }),
            "DS in io for dsmismatch.io matches no DNSKEY (DS tags ",
        ),
        "foreign.com" => Want::Bogus(
            |r| matches!(r, BogusReason::UnknownKey { .. }),
            "signature on validator.foreign.com A by key tag ",
        ),
        "unsignedds.net" => Want::Bogus(
            |r| matches!(r, BogusReason::NoDnskey { .. }),
            "unsignedds.net has a DS at its parent but serves no DNSKEY set",
        ),
        "altered.io" => Want::Bogus(
            |r| matches!(r, BogusReason::BadSignature { .. }),
            "RRSIG on ",
        ),
        "insecure.com" => {
            Want::Insecure("insecure.com is an unsigned delegation from com: insecure")
        }
        _ => return None,
    })
}

/// A ceremony of a good organisation in `good` and one in `other` changed by `edit`, which
/// must come out `want`.
fn pair_cases(
    good: &'static str,
    other: &'static str,
    edit: Edit,
    want: &'static str,
) -> Vec<Case> {
    let mut v = good_cases();
    v[0].zone = good;
    v[1].zone = other;
    v[1].edit = edit;
    v[1].want = want;
    v
}

/// A ceremony of one good and one pending organisation (exit 1).
fn pending_cases() -> Vec<Case> {
    pair_cases("good3.net", "pending2.io", Edit::OmitAttestation, "pending")
}

/// A ceremony of one good organisation and one whose ownership proof fails (for `wait`).
fn proof_cases() -> Vec<Case> {
    pair_cases(
        "good4.io",
        "foreignproof2.com",
        Edit::ForeignProof,
        "invalid",
    )
}

fn host(zone: &str) -> String {
    format!("validator.{zone}")
}

fn manifest_text(cases: &[&Case]) -> String {
    let mut t = String::from(
        "[ceremony]\nname = \"matrix\"\nprofile = \"v1\"\n\n[genesis]\nchain_id = 65110000\n\n",
    );
    for (i, c) in cases.iter().enumerate() {
        t.push_str(&format!(
            "[[orgs]]\nname = \"org{i}\"\nhost = \"{}\"\n\n",
            host(c.zone)
        ));
    }
    t
}

/// The `autonity_` TXT of `identity` for `host` with the BLS part of its ownership proof
/// taken from another key's proof, signed by `identity` over those values.
fn foreign_proof_attestation(
    host: &Name,
    identity: &Identity,
    ceremony: &CeremonyId,
    params: &PublishParams,
) -> String {
    let mut a = attest(host, identity, ceremony, params);
    let treasury = params.treasury.expect("v1 has a treasury");
    let stranger = Identity::generate(Profile::V1)
        .ownership_proof(&treasury)
        .expect("v1 has a proof");
    a.ownership_proof.as_mut().expect("v1 has a proof")[130..].copy_from_slice(&stranger[130..]);
    let key = identity.public().enode_key;
    let binding = Binding {
        host,
        ipv4: params.ipv4,
        ipv6: params.ipv6,
        port: params.port,
        enode_key: &key,
    };
    a.signature = identity.sign_prehash(&keccak256(&attestation_message(&binding, &a)));
    a.to_txt()
}

/// `attestation`: the `autonity_` TXT to publish instead of the one in `sets`.
fn records(c: &Case, sets: &[RRset], attestation: Option<&str>) -> Vec<Record> {
    let h = host(c.zone);
    let mut out = Vec::new();
    for s in sets {
        let owner = s.name.to_ascii();
        let label = owner.split('_').next().unwrap_or("");
        match (c.edit, s.rtype, label) {
            (Edit::OmitAttestation, RecordType::TXT, "autonity") => {}
            (Edit::MalformedKey, RecordType::TXT, "key") => {
                out.push(Record::txt(&owner, "not-a-key"))
            }
            (Edit::KeyOffCurve, RecordType::TXT, "key") => {
                out.push(Record::txt(&owner, &"01".repeat(64)))
            }
            (Edit::BadPort, RecordType::TXT, "port") => out.push(Record::txt(&owner, "70000")),
            (_, RecordType::TXT, "autonity") if attestation.is_some() => {
                out.extend(Record::from_rrset(&RRset {
                    rdata: vec![RData::TXT(TXT::new(
                        attestation
                            .unwrap_or_default()
                            .as_bytes()
                            .chunks(255)
                            .map(|c| String::from_utf8_lossy(c).into_owned())
                            .collect(),
                    ))],
                    ..s.clone()
                }))
            }
            _ => out.extend(Record::from_rrset(s)),
        }
    }
    if c.edit == Edit::TwoA {
        out.push(Record::a(&h, Ipv4Addr::new(192, 0, 2, 99)));
    }
    out
}

/// The names and types delv checks per organisation.
fn delv_queries(zone: &str) -> Vec<(String, &'static str)> {
    let h = host(zone);
    vec![
        (h.clone(), "A"),
        (format!("key_{h}"), "TXT"),
        (format!("port_{h}"), "TXT"),
        (format!("autonity_{h}"), "TXT"),
    ]
}

/// What our status must be, given what delv concluded over an organisation's records.
fn agrees(ours: &str, theirs: &[DelvVerdict]) -> bool {
    if theirs.iter().any(DelvVerdict::is_failed) {
        ours == "bogus"
    } else if theirs.contains(&DelvVerdict::Insecure) {
        ours == "insecure"
    } else if theirs.contains(&DelvVerdict::SecureNegative) {
        ours == "pending"
    } else {
        ours == "secure" || ours == "invalid"
    }
}

struct Out {
    code: Option<i32>,
    json: serde_json::Value,
    stderr: String,
}

fn verify(manifest: &Path, anchor: &Path, mode: &[String]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
        .arg("verify")
        .arg("--manifest")
        .arg(manifest)
        .arg("--anchor")
        .arg(anchor)
        .args(mode)
        .args(["--json", "--query-timeout", "1s"])
        .output()
        .expect("dnsceremony runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}); stderr: {stderr}"));
    Out {
        code: out.status.code(),
        json,
        stderr,
    }
}

fn statuses(json: &serde_json::Value) -> Vec<(String, String, String)> {
    assert_eq!(json["schema"], "dnsceremony.verify/v1");
    json["orgs"]
        .as_array()
        .expect("orgs array")
        .iter()
        .map(|o| {
            (
                o["host"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_end_matches('.')
                    .to_string(),
                o["status"].as_str().unwrap_or_default().to_string(),
                o["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

struct Fixture {
    lab: Hierarchy,
    /// One manifest per group of cases, in the order given.
    manifests: Vec<PathBuf>,
}

fn fixture(groups: &[&[Case]]) -> Fixture {
    let mut zones = Vec::new();
    let other_text =
        manifest_text(&[]) + "[[orgs]]\nname = \"x\"\nhost = \"validator.other.example\"\n";
    let other = Manifest::parse(&other_text, Path::new("other.toml"))
        .expect("manifest parses")
        .ceremony_id();
    for cases in groups {
        let all: Vec<&Case> = cases.iter().collect();
        let parsed =
            Manifest::parse(&manifest_text(&all), Path::new("m.toml")).expect("manifest parses");
        let ceremony = parsed.ceremony_id();
        for (i, (c, org)) in cases.iter().zip(&parsed.orgs).enumerate() {
            let identity = Identity::generate(Profile::V1);
            let params = PublishParams {
                ipv4: Some(Ipv4Addr::new(192, 0, 2, i as u8 + 1)),
                ipv6: None,
                port: 30303,
                consensus_port: 20203,
                treasury: Some(identity.public().node_address),
                ttl: 300,
            };
            let made_for = if c.edit == Edit::OtherCeremony {
                &other
            } else {
                &ceremony
            };
            let sets = encode(&org.host, &identity, made_for, &params);
            let attestation = (c.edit == Edit::ForeignProof)
                .then(|| foreign_proof_attestation(&org.host, &identity, made_for, &params));
            let mut z = OrgZone::new(c.zone)
                .signing(c.signing.clone())
                .records(records(c, &sets, attestation.as_deref()));
            if let Some(f) = c.fault {
                z = z.fault(f);
            }
            zones.push(z);
        }
    }
    let lab = Hierarchy::builder()
        .zones(zones)
        .resolver(ResolverMode::NoValidation)
        .build()
        .expect("hierarchy builds");
    let manifests = groups
        .iter()
        .enumerate()
        .map(|(i, cases)| {
            let all: Vec<&Case> = cases.iter().collect();
            let p = lab.dir.join(format!("manifest{i}.toml"));
            std::fs::write(&p, manifest_text(&all)).expect("write manifest");
            p
        })
        .collect();
    Fixture { lab, manifests }
}

fn n(s: &str) -> Name {
    Name::from_str(s).expect("name parses")
}

fn class(l: &Lookup) -> &'static str {
    match l {
        Lookup::Secure { .. } => "secure",
        Lookup::Absent { .. } => "absent",
        Lookup::Insecure { .. } => "insecure",
        Lookup::Bogus { .. } => "bogus",
        Lookup::Unreachable { .. } => "unreachable",
    }
}

/// The engine's sources over the fixture: iterative with the DS anchor, the resolver with
/// the DNSKEY anchor.
fn engine_sources(lab: &Hierarchy) -> Vec<(&'static str, Source, TrustAnchors)> {
    let resolver = lab.resolver.expect("resolver");
    vec![
        (
            "iterative",
            Source::Iterative {
                roots: vec![SocketAddr::from((lab.root, 53))],
            },
            TrustAnchors::from_file(&lab.anchor.ds).expect("DS anchor"),
        ),
        (
            "resolver",
            Source::Resolver(SocketAddr::from((resolver, 53))),
            TrustAnchors::from_file(&lab.anchor.dnskey).expect("DNSKEY anchor"),
        ),
    ]
}

fn session(source: Source, anchors: TrustAnchors) -> Session {
    Session::new(VerifyOptions {
        anchors,
        source,
        timeout: Duration::from_secs(2),
        concurrency: 32,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The engine directly, both modes: the precise reason of every case (the first lookup of an
/// organisation's records that is not secure), validated denials, and a wrong root key.
fn engine_checks(fx: &Fixture, cases: &[Case], wrong: &mut Vec<String>) {
    let rt = runtime();
    for (mode, source, anchors) in engine_sources(&fx.lab) {
        let s = session(source, anchors);
        for c in cases {
            let Some(want) = c.engine else { continue };
            let mut got = None;
            for (name, t) in delv_queries(c.zone) {
                let rtype = RecordType::from_str(t).expect("type");
                let l = rt.block_on(s.lookup(&n(&format!("{name}.")), rtype));
                if !matches!(l, Lookup::Secure { .. }) || got.is_none() {
                    let stop = !matches!(l, Lookup::Secure { .. });
                    got = Some(l);
                    if stop {
                        break;
                    }
                }
            }
            let got = got.expect("at least one lookup");
            let ok = match (want, &got) {
                (Want::Secure, Lookup::Secure { rrset, .. }) => rrset.len() == 1,
                (Want::Insecure(text), Lookup::Insecure { why, .. }) => why == text,
                (Want::Bogus(kind, text), Lookup::Bogus { why }) => {
                    kind(why) && why.to_string().starts_with(text)
                }
                _ => false,
            };
            if !ok {
                wrong.push(format!(
                    "engine {mode} {}: want {want:?}, got {got:?} ({})",
                    c.zone,
                    got.describe()
                ));
            }
        }
        for zone in ["ecdsa.net", "hashed.co.uk", "salted.co.uk", "dyn3.io"] {
            for (name, rtype, nx) in [
                (format!("genesis_validator.{zone}."), RecordType::TXT, true),
                (format!("validator.{zone}."), RecordType::TXT, false),
            ] {
                let got = rt.block_on(s.lookup(&n(&name), rtype));
                let want = Lookup::Absent {
                    zone: n(&format!("{zone}.")),
                    nxdomain: nx,
                };
                if got != want {
                    wrong.push(format!(
                        "engine {mode} {name} {rtype}: want {want:?}, got {got:?}"
                    ));
                }
            }
        }
    }
    let other = fx.lab.wrong_anchor().expect("wrong anchor");
    let bad = session(
        Source::Iterative {
            roots: vec![SocketAddr::from((fx.lab.root, 53))],
        },
        TrustAnchors::from_file(&other.ds).expect("wrong DS anchor"),
    );
    let got = rt.block_on(bad.lookup(&n("key_validator.ecdsa.net."), RecordType::TXT));
    if !matches!(
        got,
        Lookup::Bogus {
            why: BogusReason::AnchorMismatch { .. }
        }
    ) {
        wrong.push(format!("engine wrong anchor: got {got:?}"));
    }
}

/// Regression: a DS RRset lives on the parent side of the cut. A DS lookup made once the child
/// zone is already validated and cached must still be asked of, and checked against, the
/// parent. (It used to start at the deepest cached zone, the child itself; through a resolver
/// the parent-signed answer was then checked against the child's keys: "RRSIG on com DS is by
/// . instead of the zone com" for a name under com, depending on what was cached first.)
fn ds_after_child_is_cached(fx: &Fixture, wrong: &mut Vec<String>) {
    let rt = runtime();
    for (mode, source, anchors) in engine_sources(&fx.lab) {
        let s = session(source, anchors);
        let mut check = |name: &str, rtype: RecordType, want: &str, signer: Option<&str>| {
            let got = rt.block_on(s.lookup(&n(name), rtype));
            let signed_by = got.signer().map(|z| z.to_ascii());
            if class(&got) != want || (signer.is_some() && signed_by.as_deref() != signer) {
                wrong.push(format!(
                    "ds-after-child {mode} {name} {rtype}: want {want} (signer {signer:?}), got {} signed by {signed_by:?}: {}",
                    class(&got),
                    got.describe()
                ));
            }
        };
        // Caches com, net, co.uk and the organisation zones below them.
        check("key_validator.ecdsa.net.", RecordType::TXT, "secure", None);
        check("key_validator.rsa.com.", RecordType::TXT, "secure", None);
        check(
            "key_validator.salted.co.uk.",
            RecordType::TXT,
            "secure",
            None,
        );
        check("validator.insecure.com.", RecordType::A, "insecure", None);
        // DS sets of cached zones: answered and signed by the parent.
        check("com.", RecordType::DS, "secure", Some("."));
        check("net.", RecordType::DS, "secure", Some("."));
        check("co.uk.", RecordType::DS, "secure", Some("uk."));
        check("ecdsa.net.", RecordType::DS, "secure", Some("net."));
        check("salted.co.uk.", RecordType::DS, "secure", Some("co.uk."));
        // The unsigned delegation stays insecure, the DS over an unsigned zone stays secure.
        check("insecure.com.", RecordType::DS, "insecure", None);
        check("unsignedds.net.", RecordType::DS, "secure", Some("net."));
        // And lookups below them still come out as before.
        check("validator.insecure.com.", RecordType::A, "insecure", None);
        check(
            "key_validator.unsignedds.net.",
            RecordType::TXT,
            "bogus",
            None,
        );
        check(
            "validator.ecdsa.net.",
            RecordType::A,
            "secure",
            Some("ecdsa.net."),
        );
    }
}

#[test]
fn verdicts_agree_with_delv_in_both_modes() {
    let cases = cases();
    let good = good_cases();
    let some_pending = pending_cases();
    let bad_proof = proof_cases();
    let fx = fixture(&[&cases, &good, &some_pending, &bad_proof]);
    let lab = &fx.lab;
    let resolver = lab.resolver.expect("resolver");
    let manifest = &fx.manifests[0];
    let mut wrong = Vec::new();

    // delv's conclusions, per case.
    let theirs: Vec<Vec<DelvVerdict>> = cases
        .iter()
        .map(|c| {
            delv_queries(c.zone)
                .iter()
                .map(|(n, t)| delv(resolver, &lab.anchor.delv, n, t).expect("delv runs"))
                .collect()
        })
        .collect();

    let modes = [
        ("--root", vec!["--root".to_string(), lab.root.to_string()]),
        (
            "--resolver",
            vec!["--resolver".to_string(), resolver.to_string()],
        ),
    ];
    for (mode, flags) in &modes {
        let out = verify(manifest, &lab.anchor.dnskey, flags);
        if out.code != Some(2) {
            wrong.push(format!(
                "{mode}: exit {:?}, want 2; stderr: {}",
                out.code, out.stderr
            ));
        }
        if out.json["complete"] != false {
            wrong.push(format!("{mode}: complete must be false"));
        }
        let got = statuses(&out.json);
        if got.len() != cases.len() {
            wrong.push(format!(
                "{mode}: {} orgs reported, want {}",
                got.len(),
                cases.len()
            ));
        }
        for (c, delv_says) in cases.iter().zip(&theirs) {
            let h = host(c.zone);
            let Some((_, status, reason)) = got.iter().find(|(gh, _, _)| *gh == h) else {
                wrong.push(format!("{mode}: {h} missing from the report"));
                continue;
            };
            if status != c.want {
                wrong.push(format!(
                    "{mode}: {h}: status {status}, want {} ({reason})",
                    c.want
                ));
            }
            if !agrees(status, delv_says) {
                wrong.push(format!(
                    "{mode}: {h}: status {status} but delv says {delv_says:?}"
                ));
            }
            if c.want != "secure" {
                if !(reason.contains(c.zone)) {
                    wrong.push(format!(
                        "{mode}: {h}: reason does not name the zone: {reason}"
                    ));
                }
                for word in c.because {
                    if !reason.contains(word) {
                        wrong.push(format!("{mode}: {h}: reason lacks {word:?}: {reason}"));
                    }
                }
            }
        }
    }

    // Only good organisations: exit 0, complete.
    let good_manifest = &fx.manifests[1];
    for (mode, flags) in &modes {
        let out = verify(good_manifest, &lab.anchor.ds, flags);
        if out.code != Some(0) || out.json["complete"] != true {
            wrong.push(format!(
                "{mode}: good orgs with the DS anchor: exit {:?}, complete {}; {:?}; stderr: {}",
                out.code,
                out.json["complete"],
                statuses(&out.json),
                out.stderr
            ));
        }
    }
    // Good plus one pending: exit 1.
    let out = verify(&fx.manifests[2], &lab.anchor.dnskey, &modes[0].1);
    if out.code != Some(1) {
        wrong.push(format!(
            "good + pending: exit {:?}, want 1; {:?}",
            out.code,
            statuses(&out.json)
        ));
    }
    // `wait` checks ownership proofs in the same batches: --fail-fast ends on the bad one.
    let out = Command::new(env!("CARGO_BIN_EXE_dnsceremony"))
        .arg("wait")
        .arg("--manifest")
        .arg(&fx.manifests[3])
        .arg("--anchor")
        .arg(&lab.anchor.dnskey)
        .args(&modes[0].1)
        .args(["--fail-fast", "--interval", "1s", "--timeout", "60s"])
        .output()
        .expect("dnsceremony runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if out.status.code() != Some(2)
        || !stdout.contains(&format!("{}: secure", host("good4.io")))
        || !stderr.contains(&format!("org1 ({}) is invalid", host("foreignproof2.com")))
        || !stderr.contains("its BLS signature over the treasury and consensus key does not verify under the consensus key")
    {
        wrong.push(format!(
            "wait with a bad ownership proof: exit {:?}; stdout: {stdout}; stderr: {stderr}",
            out.status.code()
        ));
    }
    // A wrong anchor: every organisation is bogus, and delv fails too.
    let other = lab.wrong_anchor().expect("wrong anchor");
    let out = verify(good_manifest, &other.dnskey, &modes[0].1);
    if out.code != Some(2) {
        wrong.push(format!("wrong anchor: exit {:?}, want 2", out.code));
    }
    for (h, status, _) in statuses(&out.json) {
        if status != "bogus" {
            wrong.push(format!("wrong anchor: {h} is {status}, want bogus"));
        }
    }
    let d = delv(
        resolver,
        &other.delv,
        &format!("key_{}", host("ecdsa.net")),
        "TXT",
    )
    .expect("delv runs");
    if !d.is_failed() {
        wrong.push(format!("wrong anchor: delv says {d:?}"));
    }
    engine_checks(&fx, &cases, &mut wrong);
    ds_after_child_is_cached(&fx, &mut wrong);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
