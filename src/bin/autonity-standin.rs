//! `autonity-standin`: a stand-in for the Autonity client (CLI and JSON-RPC subset), for tests
//! and demos where the real client is not available. It is not the client.

use std::process::ExitCode;
use std::sync::Arc;

use dnsceremony::standin::{self, Node};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "version") {
        println!("{}", standin::VERSION);
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "{}\nusage: autonity-standin --datadir D --genesis G (--autonitykeys F | --nodekey F) --port P \
             [--consensus.port P] --networkid N --nat extip:IP [--http --http.addr A --http.port P \
             --http.api LIST] [--mine] [--syncmode MODE] [--standin.stall-after N] \
             [--standin.drop-validator KEY]",
            standin::VERSION
        );
        return ExitCode::SUCCESS;
    }
    let config = match standin::parse_args(args, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("autonity-standin: {e}");
            return ExitCode::from(2);
        }
    };
    let node = match Node::new(config) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("autonity-standin: {e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("autonity-standin: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(node))
}

async fn run(node: Node) -> ExitCode {
    eprintln!("autonity-standin: a stand-in for the Autonity client");
    if let Err(e) = std::fs::create_dir_all(&node.config().datadir) {
        eprintln!(
            "autonity-standin: cannot create {}: {e}",
            node.config().datadir.display()
        );
        return ExitCode::from(1);
    }
    eprintln!("autonity-standin: enode {}", node.enode());
    if !node.is_validator() {
        eprintln!("autonity-standin: this node key is not in the genesis committee: running as a non-validator");
    }
    let listener = match node.listen().await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("autonity-standin: {e}");
            return ExitCode::from(1);
        }
    };
    let node = Arc::new(node);
    if let Some(l) = listener {
        if let Ok(addr) = l.local_addr() {
            eprintln!("autonity-standin: HTTP JSON-RPC on http://{addr}");
        }
        tokio::spawn(node.clone().serve(l));
    }
    let (Ok(mut term), Ok(mut int)) = (
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()),
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()),
    ) else {
        eprintln!("autonity-standin: cannot install signal handlers");
        return ExitCode::from(1);
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    eprintln!("autonity-standin: stopping");
    ExitCode::SUCCESS
}
