//! A team runs its own client tests against hookmock in CI, then `hookmock violations`: a wrong
//! request fails the job with a message that names the field; a correct suite passes. The
//! JUnit file and `hookmock coverage` show what the suite exercised.

use crate::harness::TestServer;
use reqwest::Method;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_hookmock");

async fn hookmock(args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .output()
        .await
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The client suite under test: creates and lists Field Nation webhooks; `broken` sends an
/// `events` list that the contract forbids.
async fn client_suite(server: &TestServer, broken: bool) {
    let events = if broken {
        json!([])
    } else {
        json!(["workorder.status.assigned"])
    };
    let body = json!({"url": "https://hooks.example.com/fn", "events": events});
    server
        .call(Some("ci"), Method::POST, "/api/v1/webhooks", Some(body))
        .await;
    server.get("ci", "/api/v1/webhooks?status=active").await;
}

#[tokio::test]
async fn a_wrong_request_fails_the_gate_naming_the_field() {
    let server = TestServer::start().await;
    client_suite(&server, true).await;
    let junit = std::env::temp_dir().join(format!(
        "hookmock-junit-{}.xml",
        uuid::Uuid::new_v4().simple()
    ));
    let (code, out, _) = hookmock(&[
        "violations",
        "--url",
        &server.url,
        "--junit",
        junit.to_str().expect("utf-8"),
    ])
    .await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("fieldnation.createWebhook: 1 violating request(s)"),
        "{out}"
    );
    assert!(
        out.contains("/events [minItems] expected at least 1, found []"),
        "names the field and the rule:\n{out}"
    );

    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(
        xml.contains(r#"<testsuite name="fieldnation" tests="2" failures="1">"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase classname="fieldnation" name="listWebhooks">"#),
        "a case per operation exercised:\n{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="[] has less than 1 item" type="minItems">"#),
        "{xml}"
    );
    let _ = std::fs::remove_file(junit);

    let (_, body) = server
        .call(None, Method::GET, "/__admin/violations", None)
        .await;
    let record = &body["violations"][0];
    assert_eq!(
        record["request"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| h["name"] == "authorization")
            .map(|h| h["value"].clone()),
        Some(json!("Bear…(9)")),
        "credentials are masked"
    );
    assert_eq!(
        record["request"]["body"],
        r#"{"url":"https://hooks.example.com/fn","events":[]}"#
    );

    server
        .call(None, Method::DELETE, "/__admin/violations", None)
        .await;
    assert_eq!(
        hookmock(&["violations", "--url", &server.url]).await.0,
        Some(0),
        "cleared for the next job"
    );
}

#[tokio::test]
async fn a_correct_suite_passes_the_gate_and_coverage_shows_what_it_exercised() {
    let server = TestServer::start().await;
    client_suite(&server, false).await;
    let (code, out, _) = hookmock(&["violations", "--url", &server.url]).await;
    assert_eq!((code, out.trim()), (Some(0), "no contract violations"));

    let (code, table, _) = hookmock(&["coverage", "--url", &server.url]).await;
    assert_eq!(code, Some(0));
    assert!(
        table.contains("| fieldnation | createWebhook | 1 | 200×1 | 400 401 |"),
        "{table}"
    );
    let (_, json_out, _) = hookmock(&["coverage", "--url", &server.url, "--json"]).await;
    let report: serde_json::Value = serde_json::from_str(&json_out).expect("JSON");
    assert_eq!(report["operations_exercised"], 2);
    assert!(report["operations_total"].as_u64().is_some_and(|n| n >= 29));
}

#[tokio::test]
async fn strict_mode_names_unknown_parameters_and_undocumented_fields() {
    let body = json!({"url": "https://hooks.example.com/fn", "events": ["workorder.status.assigned"], "colour": "red",
                      "webhookAttribute": {"header": {"X-Anything": "free-form maps stay allowed"}, "legacy": 1}});
    let lenient = TestServer::start().await;
    assert_eq!(
        lenient
            .call(
                Some("ci"),
                Method::POST,
                "/api/v1/webhooks?dryRun=1",
                Some(body.clone())
            )
            .await
            .0,
        200
    );

    let strict = TestServer::with_config(hookmock::server::Config {
        strict: true,
        ..TestServer::config()
    })
    .await;
    let (status, answer) = strict
        .call(
            Some("ci"),
            Method::POST,
            "/api/v1/webhooks?dryRun=1",
            Some(body),
        )
        .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = answer["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["dryRun", "/colour", "/webhookAttribute/legacy"],
        "{answer}"
    );
    let (status, _) = strict
        .call(
            Some("ci"),
            Method::GET,
            "/api/v1/webhooks?status=active&page=1",
            None,
        )
        .await;
    assert_eq!(status, 200, "documented parameters pass");
}

async fn prefer(
    server: &TestServer,
    value: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, String) {
    let mut request = server
        .client("ci")
        .request(method, server.url(path))
        .header("Prefer", value);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sent");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

/// `Prefer` (Prism's header) rehearses the vendor's documented answers.
#[tokio::test]
async fn prefer_answers_with_a_documented_response() {
    let server = TestServer::start().await;
    let (status, body) = prefer(
        &server,
        "code=404",
        Method::GET,
        "/api/v1/webhooks/wh_anything",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body.contains("Webhook not found"),
        "the document's example: {body}"
    );

    let valid = json!({"url": "https://x.example.com", "events": ["workorder.status.assigned"]});
    let (status, body) = prefer(
        &server,
        "code=200",
        Method::POST,
        "/api/v1/webhooks",
        Some(valid.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("wh_abc123def456"), "{body}");
    assert_eq!(
        server.get("ci", "/api/v1/webhooks").await.1["metadata"]["total"],
        0,
        "nothing was stored"
    );

    let (status, body) = prefer(
        &server,
        "code=500",
        Method::POST,
        "/api/v1/webhooks",
        Some(valid.clone()),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("code=500 is not documented") && body.contains("200, 400, 401"),
        "{body}"
    );
    let (status, body) = prefer(
        &server,
        "example=missing",
        Method::POST,
        "/api/v1/webhooks",
        Some(valid),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("named examples: none"), "{body}");

    let (status, body) = prefer(
        &server,
        "code=204",
        Method::DELETE,
        "/api/v3/notification/webhooks/12",
        None,
    )
    .await;
    assert_eq!((status, body.as_str()), (204, ""));
    let (status, _) = prefer(
        &server,
        "code=200",
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"events": []})),
    )
    .await;
    assert_eq!(status, 400, "the request is still validated first");
}

/// Fault rules as a real client sees them: a status in the vendor's shape, a rate, an empty
/// reply; and they go away with DELETE.
#[tokio::test]
async fn faults_rehearse_the_vendor_having_a_bad_day() {
    let server = TestServer::start().await;
    let rules = json!([
        {"api": "ingedata", "method": "GET", "status": 503},
        {"operation": "listWebhooks", "connection": "empty_reply"},
        {"path": "/webhooks", "status": 500, "rate": 0.0},
        {"api": "patchworks", "delay_ms": 1}
    ]);
    let (status, echoed) = server
        .call(None, Method::PUT, "/__admin/faults", Some(rules))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        echoed[0],
        json!({"api": "ingedata", "method": "GET", "status": 503}),
        "unset fields are not echoed"
    );

    let (status, body) = server.get("ci", "/api/v3/notification/webhooks").await;
    assert_eq!(status, 503);
    assert_eq!(
        body["errors"][0]["status"], "503",
        "in the vendor's own shape: {body}"
    );

    let broken = server
        .client("ci")
        .get(server.url("/api/v1/webhooks"))
        .send()
        .await;
    assert!(
        broken.is_err(),
        "the connection closed without an answer: {broken:?}"
    );

    assert_eq!(
        server.get("ci", "/webhooks").await.0,
        200,
        "a rate of 0 never applies"
    );
    assert_eq!(
        server.get("ci", "/api/v1/flows/999/webhooks").await.0,
        404,
        "a delay still answers"
    );

    let (status, body) = server
        .call(
            None,
            Method::PUT,
            "/__admin/faults",
            Some(json!([{"status": 503, "rate": 2}])),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("/0/rate")),
        "{body}"
    );
    server
        .call(None, Method::DELETE, "/__admin/faults", None)
        .await;
    assert_eq!(server.get("ci", "/api/v1/webhooks").await.0, 200, "cleared");
}

/// `hookmock proxy` in front of a local stand-in for the vendor that answers one list in the
/// contract and one out of it.
#[tokio::test]
async fn the_proxy_checks_the_real_vendor_against_the_contract() {
    let good = json!({"metadata": {"timestamp": "2025-01-15T11:00:00Z", "count": 0, "total": 0}, "result": []});
    let upstream_app = axum::Router::new().route(
        "/api/v1/webhooks",
        axum::routing::get(move |query: axum::extract::RawQuery| {
            let good = good.clone();
            async move {
                match query.0.as_deref() {
                    Some("status=active") => axum::Json(good),
                    _ => axum::Json(json!({"metadata": {}, "result": "nope"})),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, upstream_app).await });

    let bound = hookmock::server::Bound::proxy(
        Some("fieldnation"),
        None,
        &upstream,
        "127.0.0.1:0".parse().expect("address"),
        100,
    )
    .await
    .expect("starts");
    let proxy = crate::harness::spawn(bound).await;
    let http = hookmock::wire::client();
    let get = |query: &str| {
        http.get(format!("{proxy}/api/v1/webhooks?{query}"))
            .bearer_auth("vendor-token")
            .send()
    };

    let conforming = get("status=active").await.expect("sent");
    assert_eq!(
        (
            conforming.status().as_u16(),
            conforming.headers()["x-hookmock-violations"].to_str().ok()
        ),
        (200, Some("0"))
    );
    let broken = get("status=gone").await.expect("sent");
    let count: usize = broken.headers()["x-hookmock-violations"]
        .to_str()
        .expect("text")
        .parse()
        .expect("a count");
    assert!(
        count >= 3,
        "the bad status parameter and the bad answer: {count}"
    );
    let body: serde_json::Value = broken.json().await.expect("the vendor's answer, unchanged");
    assert_eq!(body["result"], "nope");

    let (code, out, _) = hookmock(&["violations", "--url", &proxy]).await;
    assert_eq!(code, Some(1));
    assert!(
        out.contains("GET /api/v1/webhooks?status=gone → 200 (request)")
            && out.contains("(response)"),
        "{out}"
    );
    assert!(
        out.contains("/result [type]") && out.contains("status [enum]"),
        "{out}"
    );
}

/// Reset and truncated body break the socket itself; a client talking to the server directly
/// (not through the test forwarder) sees them as it would see a vendor's.
#[tokio::test]
async fn connections_can_be_reset_or_cut_short() {
    let bound = hookmock::server::Bound::new(&TestServer::config())
        .await
        .expect("starts");
    let base = crate::harness::spawn(bound).await;
    let http = hookmock::wire::client();
    let rules = json!([{"path": "/webhooks", "connection": "reset"}, {"path": "/api/v1/webhooks", "connection": "truncated_body"}]);
    http.put(format!("{base}/__admin/faults"))
        .json(&rules)
        .send()
        .await
        .expect("rules set");

    let reset = http
        .get(format!("{base}/webhooks"))
        .bearer_auth("ci")
        .send()
        .await
        .expect_err("reset");
    let chain = format!("{reset:?}");
    assert!(
        chain.contains("reset") || chain.contains("Reset"),
        "{chain}"
    );

    let truncated = http
        .get(format!("{base}/api/v1/webhooks"))
        .bearer_auth("ci")
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(truncated.status(), 200);
    let promised: usize = truncated.headers()["content-length"]
        .to_str()
        .expect("text")
        .parse()
        .expect("a length");
    assert!(promised > 10);
    assert!(
        truncated.bytes().await.is_err(),
        "the body stops short of its Content-Length"
    );
    assert_eq!(
        http.get(format!("{base}/api/v1/flows/12/webhooks"))
            .bearer_auth("ci")
            .send()
            .await
            .expect("sent")
            .status(),
        404,
        "other routes answer"
    );
}
