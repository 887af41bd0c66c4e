//! Phase 1's genesis check: every genesis rule that depends on the manifest alone, judged
//! before any organisation publishes (a manifest that must change later changes the ceremony
//! id, and with it every attestation already published).
//!
//! The manifest's options are resolved ([`super::params`]) and a genesis is built for stand-in
//! validators (one per organisation, with valid, distinct keys and addresses); the result must
//! pass [`super::rules::check`]. A field that fails is traced back to the manifest key that
//! set it. Template mode builds the template for the same stand-ins, so an unknown or unused
//! `fqdn://` host and any rule the template's own fields break are found here too.
//!
//! # Limitations
//! Rules about the validators' own published values (keys, addresses, ports) are judged when
//! their records are read, not here.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use k256::elliptic_curve::sec1::ToEncodedPoint;

use super::{Format, GenesisError, Member, Rule};
use crate::manifest::Manifest;

/// What is wrong with a manifest key, as the genesis sees it.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The key is needed by the profile and has no default.
    #[error("required for profile {format} (set it, or sign the manifest: its signer becomes the operator)")]
    RequiredOperator {
        /// The genesis format.
        format: Format,
    },
    /// The key's value makes a genesis field break one of the client's rules.
    #[error("makes genesis field {field} fail: {rule}")]
    Field {
        /// JSON path of the genesis field.
        field: String,
        /// The rule it breaks.
        rule: Rule,
    },
    /// The key's value is out of range.
    #[error("{why}")]
    Option {
        /// What is wrong.
        why: &'static str,
    },
    /// The template cannot be built for the manifest's organisations.
    #[error("{source}")]
    Template {
        /// Why.
        source: Box<GenesisError>,
    },
}

/// A manifest that would make a genesis the client refuses.
#[derive(Debug, thiserror::Error)]
#[error("manifest breaks a genesis rule of profile {profile} ({}: {key}: {problem})", path.display())]
pub struct PreflightError {
    /// The manifest file.
    pub path: PathBuf,
    /// The profile (or, in template mode, the template's format).
    pub profile: Format,
    /// The dotted manifest key, e.g. `genesis.operator`.
    pub key: String,
    /// What is wrong.
    pub problem: Box<Problem>,
}

/// Stand-in validators for the manifest's organisations: distinct, valid keys and addresses.
fn stand_ins(manifest: &Manifest) -> Vec<Member> {
    manifest
        .orgs
        .iter()
        .enumerate()
        .map(|(i, org)| {
            let n = u8::try_from(i % 250).unwrap_or(0) + 1;
            let hi = u8::try_from(i / 250).unwrap_or(0);
            let mut seed = [0u8; 32];
            seed[30] = hi;
            seed[31] = n;
            let sk = k256::SecretKey::from_slice(&seed).expect("a small non-zero scalar");
            let point = sk.public_key().to_encoded_point(false);
            let mut enode_key = [0u8; 64];
            enode_key.copy_from_slice(&point.as_bytes()[1..]);
            let bls = blst::min_pk::SecretKey::key_gen(&[n ^ 0x5a; 32], &[hi, n])
                .expect("32 bytes of key material");
            let mut oracle = [0u8; 20];
            oracle[0] = 0x0a;
            oracle[18] = hi;
            oracle[19] = n;
            let mut treasury = oracle;
            treasury[0] = 0x0b;
            Member {
                org: org.name.clone(),
                host: super::normalise_host(&org.host.to_ascii()),
                enode_key,
                ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
                port: 30303,
                consensus_port: Some(20203),
                consensus_key: Some(bls.sk_to_pk().compress()),
                oracle_address: Some(oracle),
                treasury: Some(treasury),
            }
        })
        .collect()
}

/// The manifest key that sets the genesis field at `path` (tool-written formats).
fn key_of(path: &str) -> &'static str {
    let tail = |p: &str| {
        p.rsplit('.')
            .next()
            .unwrap_or(p)
            .split('[')
            .next()
            .unwrap_or(p)
            .to_string()
    };
    if path.starts_with("alloc") {
        return "genesis.alloc";
    }
    match tail(path).as_str() {
        "chainId" => "genesis.chain_id",
        "minBaseFee" => "genesis.min_base_fee",
        "epochPeriod" => "genesis.epoch_period",
        "unbondingPeriod" => "genesis.unbonding_period",
        "blockPeriod" | "block-period" => "genesis.block_period",
        "maxCommitteeSize" => "genesis.max_committee_size",
        "operator" => "genesis.operator",
        "treasury" if !path.contains("validators[") => "genesis.treasury",
        "treasuryFee" => "genesis.treasury_fee",
        "delegationRate" => "genesis.delegation_rate",
        "bondedStake" => "genesis.bonded_stake",
        "votePeriod" => "genesis.vote_period",
        "initialInflationReserve" => "genesis.initial_inflation_reserve",
        "gasLimit" => "genesis.gas_limit",
        "baseFeePerGas" => "genesis.base_fee",
        "timestamp" => "genesis.timestamp",
        "minGasPrice" => "genesis.min_gas_price",
        "stake" => "genesis.stake",
        _ => "genesis",
    }
}

/// Judge every genesis rule of the manifest's profile that depends on the manifest alone.
pub fn check(manifest: &Manifest) -> Result<(), PreflightError> {
    let members = stand_ins(manifest);
    let profile: Format = manifest.profile.into();
    let fail = |key: &str, problem: Problem| PreflightError {
        path: manifest.source.clone(),
        profile,
        key: key.to_string(),
        problem: Box::new(problem),
    };
    if manifest.genesis.template.is_some() {
        return super::build_with_members(manifest, members)
            .map(|_| ())
            .map_err(|e| {
                fail(
                    "genesis.template",
                    Problem::Template {
                        source: Box::new(e),
                    },
                )
            });
    }
    let params = super::params(manifest).map_err(|e| match e {
        GenesisError::BadOption { option, why } => {
            fail(&format!("genesis.{option}"), Problem::Option { why })
        }
        other => fail(
            "genesis",
            Problem::Template {
                source: Box::new(other),
            },
        ),
    })?;
    match super::build_from(profile, &params, &members) {
        Ok(_) => Ok(()),
        Err(GenesisError::MissingOption { option, format }) => Err(PreflightError {
            path: manifest.source.clone(),
            profile: format,
            key: format!("genesis.{option}"),
            problem: Box::new(Problem::RequiredOperator { format }),
        }),
        Err(GenesisError::Violation { path, rule }) => {
            Err(fail(key_of(&path), Problem::Field { field: path, rule }))
        }
        Err(other) => Err(fail(
            "genesis",
            Problem::Template {
                source: Box::new(other),
            },
        )),
    }
}
