//! A server that never answers costs its timeout once per run, not once per question: every
//! organisation is `pending` with a reason naming the server, after a bounded number of queries.

use std::path::Path;
use std::time::Duration;

use dnsceremony::dns::anchor::TrustAnchors;
use dnsceremony::manifest::Manifest;
use dnsceremony::verify::{Session, Source, Status, VerifyOptions};

#[tokio::test]
async fn a_silent_root_makes_everyone_pending_after_two_queries() {
    // A socket that receives queries and never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let manifest = Manifest::parse(
        r#"
[ceremony]
name = "quiet"
profile = "v1"
[genesis]
chain_id = 65110000
[[orgs]]
name = "org1"
host = "validator1.ogr1.com"
[[orgs]]
name = "org2"
host = "val2.ogr2.net"
[[orgs]]
name = "org3"
host = "validator3.ogr3.io"
"#,
        Path::new("manifest.toml"),
    )
    .unwrap();
    let session = Session::new(VerifyOptions {
        anchors: TrustAnchors::iana_root(),
        source: Source::Iterative { roots: vec![addr] },
        timeout: Duration::from_millis(200),
        concurrency: 8,
    });
    let report = session.verify(&manifest).await;
    for org in &report.orgs {
        assert_eq!(org.status, Status::Pending, "{org:?}");
        let reason = org.reason.as_deref().unwrap_or("");
        assert!(reason.contains(&addr.to_string()), "{reason}");
    }
    assert_eq!(report.exit_code(), 1);
    // One question (the root DNSKEY set), tried twice; every other lookup skips the server.
    assert_eq!(session.queries_sent(), 2);
    drop(silent);
}
