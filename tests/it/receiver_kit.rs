//! A partner team tests its own webhook receiver: `hookmock check-receiver` sends the vendor's
//! real deliveries and hostile variants, and grades the answers. The receivers here are a few
//! lines each, as a team would write them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hookmock::receiver::{Options, Report, Verdict};
use serde_json::{Value, json};

use crate::harness::Served;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FN_SECRET: &str = "01999f51-5c66-4449-b441-6b4a053fee6a";

type Judge = Arc<dyn Fn(&HeaderMap, &[u8]) -> StatusCode + Send + Sync>;

/// A receiver on port 0 that answers what `judge` says; its URL.
async fn receiver(
    judge: impl Fn(&HeaderMap, &[u8]) -> StatusCode + Send + Sync + 'static,
) -> String {
    async fn answer(State(judge): State<Judge>, headers: HeaderMap, body: Bytes) -> StatusCode {
        judge(&headers, &body)
    }
    let judge: Judge = Arc::new(judge);
    let app = axum::Router::new().fallback(answer).with_state(judge);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/webhooks",
        listener.local_addr().expect("address")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Field Nation's receiver, done right: HMAC-SHA256 of the body with the secret, compared in
/// constant time.
fn field_nation_verifier(headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let sent = headers
        .get("x-fn-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|v| hex::decode(v).ok());
    let expected = hookmock::signing::hmac_sha256(FN_SECRET.as_bytes(), &[body]);
    match sent {
        Some(sent) if hookmock::signing::constant_time_eq(&sent, &expected) => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// Ingedata's receiver on the standard's own library.
fn standard_webhooks_verifier(headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let Ok(verifier) = standardwebhooks::Webhook::new(WHSEC) else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    match verifier.verify(body, headers) {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn check(api: &str, url: &str, secret: &str) -> Report {
    let options = Options {
        api: api.to_owned(),
        url: url.to_owned(),
        secret: secret.to_owned(),
        events: Vec::new(),
        only: Vec::new(),
        timeout_ms: 5_000,
    };
    hookmock::server::check_receiver(&options, Some(7), None)
        .await
        .expect("runs")
}

/// The cases of `report` that ended with `verdict`, in order.
fn cases_with(report: &Report, verdict: Verdict) -> Vec<&str> {
    report
        .cases
        .iter()
        .filter(|c| c.verdict == verdict)
        .map(|c| c.case.as_str())
        .collect()
}

#[tokio::test]
async fn a_receiver_that_verifies_field_nation_signatures_passes_every_case() {
    let url = receiver(field_nation_verifier).await;
    let report = check("fieldnation", &url, FN_SECRET).await;
    assert!(report.passed, "{:#?}", report.cases);
    let events = report
        .cases
        .iter()
        .filter(|c| c.case.starts_with("event "))
        .count();
    assert_eq!(events, 12, "the whole catalogue");
    assert_eq!(
        cases_with(&report, Verdict::Skip),
        ["stale-timestamp", "future-timestamp"],
        "Field Nation's signature covers no timestamp"
    );
}

#[tokio::test]
async fn a_receiver_built_on_the_standard_webhooks_library_passes_for_ingedata() {
    let url = receiver(standard_webhooks_verifier).await;
    let report = check("ingedata", &url, WHSEC).await;
    assert!(report.passed, "{:#?}", report.cases);
    assert!(
        report.cases.iter().all(|c| c.verdict != Verdict::Skip),
        "every case applies"
    );
}

#[tokio::test]
async fn a_receiver_that_accepts_anything_fails_on_forged_and_replayed_deliveries() {
    let url = receiver(|_: &HeaderMap, _: &[u8]| StatusCode::OK).await;
    let report = check("ingedata", &url, WHSEC).await;
    assert_eq!(
        cases_with(&report, Verdict::Fail),
        [
            "tampered-body",
            "wrong-secret",
            "missing-signature",
            "malformed-signature",
            "stale-timestamp",
            "future-timestamp",
        ]
    );
    let tampered = report
        .cases
        .iter()
        .find(|c| c.case == "tampered-body")
        .expect("ran");
    assert_eq!(tampered.answered, [200]);
    assert!(
        tampered
            .reason
            .contains("accepted a delivery it cannot trust"),
        "{}",
        tampered.reason
    );
}

#[tokio::test]
async fn a_receiver_that_crashes_fails_every_case_and_says_so() {
    let url = receiver(|_: &HeaderMap, _: &[u8]| StatusCode::INTERNAL_SERVER_ERROR).await;
    let report = check("elan", &url, "elan-secret").await;
    assert!(!report.passed);
    let ran: Vec<_> = report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Skip)
        .collect();
    assert!(ran.iter().all(|c| c.verdict == Verdict::Fail), "{ran:#?}");
    let malformed = ran
        .iter()
        .find(|c| c.case == "malformed-signature")
        .expect("ran");
    assert!(
        malformed.reason.contains("not a crash"),
        "{}",
        malformed.reason
    );
    assert_eq!(
        cases_with(&report, Verdict::Skip),
        ["missing-signature", "stale-timestamp", "future-timestamp"],
        "ELAN signs only subscriptions with a secret, and signs no timestamp"
    );
}

#[tokio::test]
async fn the_command_exits_by_its_verdict_and_writes_junit() {
    let good = receiver(standard_webhooks_verifier).await;
    let naive = receiver(|_: &HeaderMap, _: &[u8]| StatusCode::OK).await;
    let junit = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("check-receiver-{}.xml", std::process::id()));
    // The receivers run on this test's runtime: the command is awaited, not blocked on.
    let run = |url: &str, extra: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_hookmock"))
            .args([
                "check-receiver",
                "--api",
                "ingedata",
                "--url",
                url,
                "--secret",
                WHSEC,
            ])
            .args(["--event", "task.completed", "--seed", "3"])
            .args(extra)
            .output()
    };
    let passed = run(&good, &[]).await.expect("runs");
    assert_eq!(
        passed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passed.stdout)
    );
    let junit_arg = junit.to_str().expect("utf-8");
    let failed = run(&naive, &["--junit", junit_arg]).await.expect("runs");
    assert_eq!(failed.status.code(), Some(1));
    let table = String::from_utf8_lossy(&failed.stdout);
    assert!(
        table.contains("wrong-secret") && table.contains("stale-timestamp"),
        "{table}"
    );

    let xml = std::fs::read_to_string(&junit).expect("written");
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suite = document.root_element();
    assert_eq!(suite.tag_name().name(), "testsuite");
    assert_eq!(suite.attribute("tests"), Some("11"));
    assert_eq!(suite.attribute("failures"), Some("6"));
    let failures: Vec<(&str, &str)> = suite
        .children()
        .filter(|c| c.has_tag_name("testcase"))
        .filter_map(|c| {
            let failure = c.children().find(|f| f.has_tag_name("failure"))?;
            Some((c.attribute("name")?, failure.attribute("message")?))
        })
        .collect();
    assert_eq!(failures.len(), 6);
    assert!(
        failures
            .iter()
            .any(|(name, message)| *name == "wrong-secret"
                && message.contains("accepted a delivery it cannot trust")),
        "{failures:?}"
    );
    let _ = std::fs::remove_file(&junit);

    let usage = run("ftp://nowhere", &[]).await.expect("runs");
    assert_eq!(usage.status.code(), Some(2));
    let unknown = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookmock"))
        .args([
            "check-receiver",
            "--api",
            "stripe",
            "--url",
            &good,
            "--secret",
            "x",
        ])
        .output()
        .await
        .expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(message.contains("elan, fieldnation, ingedata"), "{message}");
}

#[tokio::test]
async fn a_running_server_checks_a_receiver_on_request() {
    let served = Served::start(&[]);
    let url = receiver(field_nation_verifier).await;
    let http = hookmock::wire::client();
    let answer = http
        .post(format!("{}/__admin/check-receiver", served.url))
        .json(&json!({"api": "fieldnation", "url": url, "secret": FN_SECRET, "only": ["tampered-body", "duplicate"]}))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 200);
    let report: Value = answer.json().await.expect("json");
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["cases"].as_array().map(Vec::len), Some(2));
    let refused = http
        .post(format!("{}/__admin/check-receiver", served.url))
        .json(
            &json!({"api": "fieldnation", "url": url, "secret": FN_SECRET, "only": ["everything"]}),
        )
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn the_same_seed_sends_the_same_deliveries() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    let url = receiver(move |headers: &HeaderMap, _: &[u8]| {
        let id = headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        kept.lock().expect("not poisoned").push(id);
        standard_webhooks_verifier(headers, &[])
    })
    .await;
    let ids = |n: usize| seen.lock().expect("not poisoned")[n..].to_vec();
    check("ingedata", &url, WHSEC).await;
    let first = ids(0);
    check("ingedata", &url, WHSEC).await;
    assert_eq!(
        ids(first.len()),
        first,
        "the same webhook-ids, in the same order"
    );
    assert!(first.iter().all(|id| id.starts_with("msg_")), "{first:?}");
}
