//! `dnsceremony completions SHELL` and `dnsceremony man`: shell completions and manual pages,
//! both generated from the command-line definition itself, so they never drift from it.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use dnsceremony::{exit, Error};

/// Flags of `dnsceremony completions`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  dnsceremony completions bash > /etc/bash_completion.d/dnsceremony\n  \
                        dnsceremony completions zsh > \"${fpath[1]}/_dnsceremony\""
)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

/// Flags of `dnsceremony man`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  dnsceremony man | man -l -\n  \
                        dnsceremony man --dir /usr/local/share/man/man1")]
pub struct ManArgs {
    /// Write dnsceremony.1 and one page per subcommand (dnsceremony-run.1, ...) into this
    /// existing directory (pages there are replaced); default: the main page on stdout.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The command-line definition, named as installed.
fn command() -> clap::Command {
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    cmd
}

/// Run `dnsceremony completions`.
pub fn completions(args: CompletionsArgs) -> crate::cli::Outcome {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "dnsceremony", &mut out);
    crate::cli::print(&String::from_utf8_lossy(&out));
    Ok(exit::OK)
}

/// For pages: no `help` subcommands, every page titled with the version.
fn for_pages(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .version(env!("CARGO_PKG_VERSION"))
        .mut_subcommands(for_pages)
}

/// Run `dnsceremony man`.
pub fn man(args: ManArgs) -> crate::cli::Outcome {
    let mut cmd = for_pages(crate::cli::Cli::command());
    cmd.build();
    match &args.dir {
        None => {
            let mut out = Vec::new();
            render(cmd, &mut out, Path::new("stdout"))?;
            crate::cli::print(&String::from_utf8_lossy(&out));
        }
        Some(dir) => {
            for path in write_pages(cmd, dir, "dnsceremony")? {
                crate::cli::print(&format!("{}\n", path.display()));
            }
        }
    }
    Ok(exit::OK)
}

fn render(cmd: clap::Command, out: &mut Vec<u8>, path: &Path) -> Result<(), Error> {
    clap_mangen::Man::new(cmd)
        .render(out)
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// `name.1` for `cmd`, then `name-<sub>.1` for every subcommand, depth first; the paths written.
fn write_pages(cmd: clap::Command, dir: &Path, name: &str) -> Result<Vec<PathBuf>, Error> {
    let mut written = Vec::new();
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    render(cmd, &mut page, &path)?;
    std::fs::write(&path, page).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    for sub in subs {
        let sub_name = format!("{name}-{}", sub.get_name());
        let sub = sub.display_name(sub_name.clone());
        written.extend(write_pages(sub, dir, &sub_name)?);
    }
    Ok(written)
}
