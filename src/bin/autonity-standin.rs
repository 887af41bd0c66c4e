//! `autonity-standin`: a stand-in for the Autonity client (its command line, key files,
//! genesis rules, JSON-RPC answers, sync mode and consensus mesh as far as the ceremony depends
//! on them), for tests and demos where the real client is not available. It is not the client.

use std::process::ExitCode;
use std::sync::Arc;

use dnsceremony::standin::{self, chain::log_time, LogLine, Node};

/// A log line in the client's terminal format: `WARN [MM-DD|HH:MM:SS.mmm] message k=v`.
fn log(line: LogLine) {
    let context: Vec<String> = line
        .context
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    eprintln!(
        "{:<5}[{}] {:<40} {}",
        line.level,
        log_time(std::time::SystemTime::now()),
        line.message,
        context.join(" ")
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "version") {
        println!("{}", standin::VERSION);
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "{}\nusage: autonity-standin --datadir D --genesis G (--autonitykeys F | --nodekey F) \
             --networkid N [--port P] [--consensus.port P] [--nat extip:IP] [--consensus.nat extip:IP] \
             [--syncmode full] [--http --http.addr A --http.port P --http.api LIST --http.vhosts LIST] \
             [--mine] [--standin.stall-after N] [--standin.drop-validator KEY] \
             [--standin.contracts VERSION] [--standin.acn-default-port P]",
            standin::VERSION
        );
        return ExitCode::SUCCESS;
    }
    let fail = |e: standin::StandinError| {
        eprintln!("autonity-standin: {e}");
        ExitCode::from(e.exit_code())
    };
    let config = match standin::parse_args(args, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let node = match Node::new(config) {
        Ok(n) => n.with_log(Arc::new(log)),
        Err(e) => return fail(e),
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
    eprintln!(
        "autonity-standin: a stand-in for the Autonity client (imitating {})",
        node.spec().contracts
    );
    if let Err(e) = std::fs::create_dir_all(&node.config().datadir) {
        eprintln!(
            "autonity-standin: cannot create {}: {e}",
            node.config().datadir.display()
        );
        return ExitCode::from(1);
    }
    eprintln!("autonity-standin: enode {}", node.enode());
    eprintln!(
        "autonity-standin: block 0 {}",
        standin::chain::hex0x(&node.spec().block0)
    );
    if !node.is_validator() {
        eprintln!("autonity-standin: this node key is not in the genesis committee: running as a non-validator");
    }
    let consensus = match node.listen_consensus().await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("autonity-standin: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let http = match node.listen_http().await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("autonity-standin: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    if let Some(addr) = http.as_ref().and_then(|l| l.local_addr().ok()) {
        eprintln!("autonity-standin: HTTP JSON-RPC on http://{addr}");
    }
    if let Some(addr) = consensus.as_ref().and_then(|l| l.local_addr().ok()) {
        eprintln!("autonity-standin: consensus links on {addr}");
    }
    let node = Arc::new(node);
    node.start(http, consensus);
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
