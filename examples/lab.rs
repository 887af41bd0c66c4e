//! A loopback DNSSEC hierarchy for humans and scripts: a private root, the TLDs, and one
//! dynamically signed zone per organisation host, open to TSIG-signed updates.
//!
//! `cargo run --example lab -- --dir /tmp/lab --orgs validator1.ogr1.com,val2.ogr2.net`
//!
//! Prints the root server, the anchor files, and per organisation its zone, server and TSIG
//! key file, then stays up until Ctrl-C or SIGTERM (or until stdin closes, with `--until-eof`).
//!
//! # Limitations
//! The zone of a host is taken to be the host without its first label.

use std::io::Read;
use std::path::PathBuf;

use dnsceremony::lab::hierarchy::{Algorithm, Hierarchy, OrgZone, ResolverMode, Signing};

fn usage() -> ! {
    eprintln!("usage: lab --dir DIR --orgs HOST[,HOST...] [--static] [--resolver] [--until-eof]");
    std::process::exit(3)
}

fn main() {
    let mut dir: Option<PathBuf> = None;
    let mut orgs: Vec<String> = Vec::new();
    let mut dynamic = true;
    let mut resolver = false;
    let mut until_eof = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--orgs" => {
                orgs = args
                    .next()
                    .unwrap_or_else(|| usage())
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "--static" => dynamic = false,
            "--resolver" => resolver = true,
            "--until-eof" => until_eof = true,
            _ => usage(),
        }
    }
    let Some(dir) = dir else { usage() };
    if orgs.is_empty() {
        usage()
    }
    let mut b = Hierarchy::builder().dir(&dir);
    for host in &orgs {
        let Some((_, zone)) = host.split_once('.') else {
            eprintln!("lab: host {host} has no parent zone");
            std::process::exit(3)
        };
        let signing = if dynamic {
            Signing::Dynamic {
                algorithm: Algorithm::EcdsaP256,
                nsec3: None,
            }
        } else {
            Signing::Static {
                algorithm: Algorithm::EcdsaP256,
                nsec3: None,
            }
        };
        b = b.zone(OrgZone::new(zone).signing(signing));
    }
    if resolver {
        b = b.resolver(ResolverMode::NoValidation);
    }
    let lab = match b.build() {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("lab: {e}");
            std::process::exit(4)
        }
    };
    println!("root\t{}", lab.root);
    println!("anchor\t{}", lab.anchor.dnskey.display());
    println!("anchor-ds\t{}", lab.anchor.ds.display());
    println!("anchor-delv\t{}", lab.anchor.delv.display());
    if let Some(r) = lab.resolver {
        println!("resolver\t{r}");
    }
    for host in &orgs {
        let zone = host.split_once('.').map(|(_, z)| z).unwrap_or_default();
        if let Some(z) = lab.zone(zone) {
            let tsig = z
                .tsig
                .as_ref()
                .map(|t| t.file.display().to_string())
                .unwrap_or_else(|| "-".into());
            println!("org\t{host}\t{zone}\t{}\t{tsig}", z.server);
        }
    }
    println!("ready");
    if until_eof {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    } else {
        // Wait for Ctrl-C or SIGTERM, then drop `lab`, which stops every server.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(async {
                let term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
                match term {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            });
        }
    }
    drop(lab);
}
