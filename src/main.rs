//! The `dnsceremony` command line: parse, dispatch, map the outcome to an exit status.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
