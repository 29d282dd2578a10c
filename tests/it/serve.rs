//! The binary as a user runs it: `hookmock serve` on port 0 prints where it listens and answers
//! at once; `hookmock apis` lists every route; `--api` serves a subset.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hookmock::generated::OPERATIONS;

use crate::harness::Served;

const BIN: &str = env!("CARGO_BIN_EXE_hookmock");

#[tokio::test]
async fn serve_prints_its_address_and_answers_at_once() {
    let started = Instant::now();
    let served = Served::start(&[]);
    let response = hookmock::wire::client()
        .get(format!("{}/api/v1/webhooks", served.url))
        .header("Authorization", "Bearer team-a")
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    // Reported, not asserted: timing belongs to benchmarks on this shared machine.
    eprintln!("start-up to first 200: {:?}", started.elapsed());
}

#[tokio::test]
async fn api_restricts_what_is_served() {
    let served = Served::start(&["--api", "fieldnation"]);
    let http = hookmock::wire::client();
    let get = |path: &str| {
        http.get(format!("{}{path}", served.url))
            .header("Authorization", "Bearer t")
            .send()
    };
    assert_eq!(get("/api/v1/webhooks").await.expect("sent").status(), 200);
    assert_eq!(
        get("/api/v1/flows/12/webhooks")
            .await
            .expect("sent")
            .status(),
        404
    );
}

#[test]
fn an_unknown_api_is_refused_naming_the_bundled_ones() {
    let output = Command::new(BIN)
        .args(["serve", "--port", "0", "--api", "stripe"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown API \"stripe\"") && stderr.contains("fieldnation"),
        "{stderr}"
    );
}

#[test]
fn apis_lists_every_route() {
    let output = Command::new(BIN).arg("apis").output().expect("runs");
    assert!(output.status.success());
    let listing = String::from_utf8_lossy(&output.stdout);
    for op in OPERATIONS {
        let line = listing
            .lines()
            .find(|l| l.trim_end().ends_with(op.operation_id))
            .unwrap_or_else(|| panic!("{} missing:\n{listing}", op.operation_id));
        assert!(line.contains(op.method) && line.contains(op.path), "{line}");
    }
}

#[test]
fn apis_stops_quietly_when_its_reader_goes_away() {
    let mut child = Command::new(BIN)
        .arg("apis")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("a line");
    // The reader is dropped here, like `hookmock apis | head -1`.
    let output = child.wait_with_output().expect("exits");
    assert!(output.status.success(), "{:?}", output.status);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}
