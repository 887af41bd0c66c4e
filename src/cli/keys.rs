//! `dnsceremony keygen` and `dnsceremony keys show|proof|verify-proof`: a validator's keys
//! (Phase 2) and its ownership proof, as the Autonity client makes and checks it.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use dnsceremony::identity::{
    Address, Identity, IdentityError, Inspection, MissingKey, PublicIdentity, ValidatorData,
};
use dnsceremony::manifest::Profile;
use dnsceremony::{exit, Error};
use serde::Serialize;

/// Flags of `dnsceremony keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Directory for the key files (created with mode 0700 if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Key layout: v1 (autonitykeys + oraclekey) or v0.7 (nodekey).
    #[arg(long, default_value = "v1")]
    profile: Profile,
    /// Print JSON (schema dnsceremony.keys/v1).
    #[arg(long)]
    json: bool,
}

/// Flags of `dnsceremony keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print the public identity of the keys in DIR (never the private keys).
    ///
    /// DIR may also be a client's data directory (its `autonity/autonitykeys`, which the
    /// client makes on its first start). A v1 directory without `oraclekey` is shown as far
    /// as it goes, with the missing file and the phases that need it.
    Show {
        /// The key directory, or a client's data directory.
        #[arg(long)]
        dir: PathBuf,
        /// Print JSON (schema dnsceremony.keys/v1).
        #[arg(long)]
        json: bool,
    },
    /// Print the ownership proof of the v1 keys in DIR for a treasury, exactly as
    /// `autonity genOwnershipProof` prints it (0x + 452 hex digits, one line).
    Proof {
        /// The key directory (autonitykeys + oraclekey; never written to).
        #[arg(long)]
        dir: PathBuf,
        /// The treasury address the proof is for (0x + 40 hex, EIP-55 checked when mixed-case).
        #[arg(long, value_name = "ADDR")]
        treasury: Address,
    },
    /// Check the ownership proof in genesis validator data exchanged outside DNS.
    ///
    /// FILE is {"genesisValidatorData": [{"enode", "treasury", "consensusKey",
    /// "oracleAddress"}, {"validatorAddress", "ownershipProof"}]}. Exit 0 when the node,
    /// oracle and BLS signatures hold and validatorAddress is the enode key's address; exit 2
    /// naming every check that fails; exit 3 when FILE cannot be read or is malformed.
    #[command(name = "verify-proof")]
    VerifyProof {
        /// The JSON file (`-`: standard input).
        file: PathBuf,
    },
}

/// JSON output of `keygen` and `keys show`.
#[derive(Debug, Serialize)]
struct KeysJson<'a> {
    schema: &'static str,
    profile: Profile,
    #[serde(flatten)]
    public: &'a PublicIdentity,
    node_key_file: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    written: Vec<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    missing: &'a [MissingKey],
}

fn render(id: &Identity, dir: &Path, written: &[PathBuf], json: bool) -> String {
    let shown = Inspection {
        dir: dir.to_path_buf(),
        profile: id.profile(),
        public: id.public(),
        node_key_file: id.node_key_file(dir),
        missing: Vec::new(),
        open_files: Vec::new(),
    };
    render_public(&shown, written, json)
}

fn render_public(shown: &Inspection, written: &[PathBuf], json: bool) -> String {
    let p = &shown.public;
    if json {
        let doc = KeysJson {
            schema: "dnsceremony.keys/v1",
            profile: shown.profile,
            public: p,
            node_key_file: shown.node_key_file.display().to_string(),
            written: written.iter().map(|w| w.display().to_string()).collect(),
            missing: &shown.missing,
        };
        let mut s = serde_json::to_string_pretty(&doc).expect("serialisable");
        s.push('\n');
        return s;
    }
    let mut out = String::new();
    for w in written {
        out.push_str(&format!("wrote           {} (mode 0600)\n", w.display()));
    }
    out.push_str(&format!("profile         {}\n", shown.profile));
    out.push_str(&format!("enode_key       {}\n", p.enode_key));
    out.push_str(&format!("node_address    {}\n", p.node_address));
    if let Some(ck) = &p.consensus_key {
        out.push_str(&format!("consensus_key   {ck}\n"));
    }
    if let Some(oa) = &p.oracle_address {
        out.push_str(&format!("oracle_address  {oa}\n"));
    }
    out.push_str(&format!(
        "node_key_file   {}\n",
        shown.node_key_file.display()
    ));
    for m in &shown.missing {
        out.push_str(&format!(
            "missing         {}: needed for {}\n",
            m.path.display(),
            m.needed_for
        ));
    }
    out
}

/// Run `dnsceremony keygen`.
pub fn keygen(args: KeygenArgs) -> Result<u8, Error> {
    dnsceremony::identity::create_key_dir(&args.dir)?;
    let id = Identity::generate(args.profile);
    let written = id.write_new(&args.dir)?;
    super::print(&render(&id, &args.dir, &written, args.json));
    Ok(exit::OK)
}

/// Run `dnsceremony keys ...`.
pub fn keys(args: KeysArgs) -> Result<u8, Error> {
    match args.command {
        KeysCommand::Show { dir, json } => {
            let shown = Identity::inspect(&dir, super::key_permissions())?;
            for f in &shown.open_files {
                super::report_line(&super::open_key_warning(&f.path, f.mode));
            }
            super::print(&render_public(&shown, &[], json));
            Ok(exit::OK)
        }
        KeysCommand::Proof { dir, treasury } => {
            let id = super::load_keys(&dir)?;
            let proof = id
                .ownership_proof(&treasury)
                .ok_or(IdentityError::NoProof { dir })?;
            // The client: fmt.Println(hexutil.Encode(signatures)).
            super::print(&format!("0x{}\n", hex::encode(proof)));
            Ok(exit::OK)
        }
        KeysCommand::VerifyProof { file } => match ValidatorData::verify_file(&file) {
            Ok(d) => {
                super::print(&format!(
                    "ownership proof valid: validator {} (treasury {}, oracle {}): node, oracle and BLS signatures hold\n",
                    d.validator_address, d.treasury, d.oracle_address
                ));
                Ok(exit::OK)
            }
            Err(e) => {
                super::report(&e);
                Ok(e.exit_code())
            }
        },
    }
}
