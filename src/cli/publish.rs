//! `dnsceremony publish`: Phase 2, put this organisation's records into its zone with one
//! TSIG-signed RFC 2136 update, then read them back from every authoritative server.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use dnsceremony::dns::tsig::TsigKey;
use dnsceremony::dns::update::{self, Applied, KeyProbe, PlanView, ServerState, Timeouts};
use dnsceremony::identity::{Address, Identity};
use dnsceremony::manifest::Profile;
use dnsceremony::records::{self, PublishParams};
use dnsceremony::{exit, Error};
use serde::Serialize;

/// Flags of `dnsceremony publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The ceremony manifest.
    #[arg(long)]
    manifest: PathBuf,
    /// Demand a manifest signed by this operator address (exit 3 when unsigned or signed by another).
    #[arg(long, value_name = "ADDR")]
    operator: Option<dnsceremony::identity::Address>,
    /// This organisation's name in the manifest.
    #[arg(long)]
    org: String,
    /// The key directory (made by `keygen`).
    #[arg(long)]
    keys: PathBuf,
    /// The validator's public IPv4 address (A record).
    #[arg(long, required_unless_present = "ip6")]
    ip: Option<Ipv4Addr>,
    /// The validator's public IPv6 address (AAAA record).
    #[arg(long)]
    ip6: Option<Ipv6Addr>,
    /// p2p port.
    #[arg(long, default_value_t = 30303)]
    port: u16,
    /// Consensus (ACN) port (v1 profile).
    #[arg(long, default_value_t = 20203)]
    consensus_port: u16,
    /// Treasury account (0x + 40 hex), published in the attestation with the ownership proof
    /// over it; required by the v1 profile.
    #[arg(long)]
    treasury: Option<Address>,
    /// TTL of the published records, in seconds.
    #[arg(long, default_value_t = 300)]
    ttl: u32,
    /// The zone's primary server: HOST[:PORT], a name (system resolver) or an address.
    #[arg(long)]
    server: String,
    /// TSIG key file: BIND `key` blocks, Knot's `keymgr -t` YAML, `pdnsutil` output, or
    /// `[alg:]name:secret`.
    #[arg(long)]
    tsig: PathBuf,
    /// The key to use when the TSIG file holds several (e.g. a named.conf include).
    #[arg(long, value_name = "NAME")]
    tsig_key: Option<String>,
    /// Publish even when the zone does not validate from the trust anchor (peers will refuse
    /// its records until it does).
    #[arg(long)]
    allow_insecure_zone: bool,
    #[command(flatten)]
    dns: super::dnsargs::DnsArgs,
    /// How long to wait for every authoritative server to serve the new values.
    #[arg(long, default_value = "60s", value_parser = super::check::parse_duration)]
    timeout: Duration,
    /// Print the plan and prove the TSIG key with a signed SOA query; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON (schema dnsceremony.publish/v1).
    #[arg(long)]
    json: bool,
}

/// JSON output of `publish`.
#[derive(Debug, Serialize)]
struct PublishJson<'a> {
    schema: &'static str,
    org: &'a str,
    host: String,
    dry_run: bool,
    /// `sent`, `not_needed` (nothing changed) or `dry_run`.
    update: &'static str,
    plan: PlanView,
    /// Present with `dry_run`: `proven` (the primary's signed answer to a TSIG-signed SOA
    /// query verifies) or `unchecked` (it answered unsigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    key_probe: Option<KeyProbe>,
    /// Present unless `dry_run`: every authoritative server and whether it serves the new values.
    #[serde(skip_serializing_if = "Option::is_none")]
    servers: Option<Vec<ServerState>>,
}

/// Turn `HOST[:PORT]` into a socket address (names via the system resolver).
fn resolve_server(text: &str) -> Result<SocketAddr, Error> {
    let bad = |why: String| Error::Usage {
        flag: "--server",
        why,
    };
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (
            h,
            p.parse::<u16>()
                .map_err(|_| bad(format!("'{text}': port '{p}' is not a number")))?,
        ),
        _ => (text, 53),
    };
    if host.is_empty() {
        return Err(bad(format!("'{text}': no host")));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            bad(format!(
                "'{host}': cannot resolve with the system resolver ({e})"
            ))
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| bad(format!("'{host}': the system resolver has no address")))
}

/// Before a BADTIME refusal, the line that says how far this machine's clock is off.
fn say_skew(e: update::UpdateError) -> update::UpdateError {
    if let Some(line) = e.clock_skew_line() {
        crate::cli::report_line(&line);
    }
    e
}

/// Run `dnsceremony publish`.
pub fn run(args: PublishArgs) -> crate::cli::Outcome {
    let manifest = crate::cli::manifest::load(&args.manifest, args.operator.as_ref())?;
    // Phase 1's rules first: an attestation over a manifest that must still change is lost.
    dnsceremony::genesis::preflight::check(&manifest)?;
    let org = manifest.org(&args.org).ok_or_else(|| Error::Usage {
        flag: "--org",
        why: format!(
            "no organisation '{}' in {} (it lists: {})",
            args.org,
            args.manifest.display(),
            manifest
                .orgs
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    let identity: Identity = crate::cli::load_keys(&args.keys)?;
    if identity.profile() != manifest.profile {
        return Err(Error::Usage {
            flag: "--keys",
            why: format!(
                "{}: the keys have the {} layout, the manifest's profile is {}",
                args.keys.display(),
                identity.profile(),
                manifest.profile
            ),
        });
    }
    if manifest.profile == Profile::V1 && args.treasury.is_none() {
        return Err(Error::Usage {
            flag: "--treasury",
            why: "missing: the v1 profile publishes a treasury account (tr=) with the ownership \
                  proof over it, and peers refuse records without one; give the validator's \
                  treasury address"
                .into(),
        });
    }
    let key = TsigKey::load_named(&args.tsig, args.tsig_key.as_deref())?;
    let options = args.dns.options(&manifest)?;
    let server = resolve_server(&args.server)?;
    let params = PublishParams {
        ipv4: args.ip,
        ipv6: args.ip6,
        port: args.port,
        consensus_port: args.consensus_port,
        treasury: args.treasury,
        ttl: args.ttl,
    };
    let wanted = records::encode(&org.host, &identity, &manifest.ceremony_id(), &params);
    let timeouts = Timeouts {
        query: Duration::from_secs(5).min(args.timeout.max(Duration::from_secs(1))),
        read_back: args.timeout,
        poll: Duration::from_millis(500),
    };

    let rt = crate::cli::runtime()?;
    rt.block_on(async {
        let plan =
            update::prepare_owned(server, &wanted, &update::layout_owned(&org.host), timeouts)
                .await?;
        // Refuse, before sending, a zone every peer will refuse.
        let session = dnsceremony::verify::Session::new(options);
        if let Err(e) = update::check_zone_secure(session.resolver(), &plan.zone).await {
            if !args.allow_insecure_zone {
                return Err(e.into());
            }
            crate::cli::report_line(&format!(
                "warning: publishing anyway (--allow-insecure-zone): {e}"
            ));
        }
        if !args.json {
            crate::cli::print(&plan.render_text());
        }
        let mut key_probe = None;
        let (update, servers) = if args.dry_run {
            // Prove the key as the update would use it: a wrong key fails here, not later.
            let probe = update::probe_key(&plan, &key, timeouts)
                .await
                .map_err(say_skew)?;
            if !args.json {
                crate::cli::print(&match probe {
                    KeyProbe::Proven => format!(
                        "TSIG key '{}' proven: {} answered a signed SOA query with a valid signature\n",
                        key.display_name(),
                        plan.primary
                    ),
                    KeyProbe::Unchecked => format!(
                        "TSIG key '{}' not proven: {} answered a signed SOA query unsigned (it checks TSIG on updates only)\n",
                        key.display_name(),
                        plan.primary
                    ),
                });
                crate::cli::print("dry run: no update sent\n");
            }
            key_probe = Some(probe);
            ("dry_run", None)
        } else {
            let applied = update::apply(&plan, &key, timeouts).await.map_err(say_skew)?;
            if !args.json {
                crate::cli::print(match applied {
                    Applied::Updated => "update sent: NOERROR\n",
                    Applied::NothingToDo => "nothing to change: no update sent\n",
                });
            }
            let states = update::read_back(&plan, timeouts).await?;
            if !args.json {
                crate::cli::print(&format!(
                    "read back: every authoritative server ({}) serves the new values\n",
                    states.len()
                ));
            }
            let word = match applied {
                Applied::Updated => "sent",
                Applied::NothingToDo => "not_needed",
            };
            (word, Some(states))
        };
        if args.json {
            let doc = PublishJson {
                schema: "dnsceremony.publish/v1",
                org: &org.name,
                host: org.host.to_string(),
                dry_run: args.dry_run,
                update,
                plan: plan.view(),
                key_probe,
                servers,
            };
            let mut s = serde_json::to_string_pretty(&doc).expect("serialisable");
            s.push('\n');
            crate::cli::print(&s);
        }
        Ok(exit::OK)
    })
}
