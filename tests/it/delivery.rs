//! A team develops its webhook receiver against hookmock: real deliveries over HTTP, signed as
//! the vendor signs them, retried on the vendor's schedule, logged attempt by attempt.
//!
//! Signatures are checked here with code independent of hookmock's: the `hmac` and `sha2`
//! crates directly, and the `standardwebhooks` crate for Ingedata.

use std::time::Duration;

use crate::harness::{Receiver, TestServer};
use hmac::{Hmac, Mac};
use hookmock::delivery::Settings;
use hookmock::server::Config;
use reqwest::Method;
use serde_json::{Value, json};

/// Delays shrunk a thousandfold: Standard Webhooks' 5 s retry takes 5 ms.
async fn fast_server() -> TestServer {
    server_with(Settings {
        time_scale: 0.001,
        timeout: Duration::from_secs(5),
        ..Settings::default()
    })
    .await
}

async fn server_with(delivery: Settings) -> TestServer {
    TestServer::with_config(Config {
        delivery,
        ..TestServer::config()
    })
    .await
}

fn hex_hmac_sha256(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn elan_subscription(server: &TestServer, url: &str, secret: Option<&str>) -> u64 {
    let mut body = json!({"name": "receiver", "url": url, "events": ["workflow.completed", "workflow.failed"], "headers": {"X-Team": "l10n"}});
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    let (status, created) = server
        .call(Some("elan-key"), Method::POST, "/webhooks", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_u64().expect("an id")
}

#[tokio::test]
async fn elan_signs_the_exact_body_and_logs_the_attempt() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[]).await;
    let id = elan_subscription(&server, &receiver.url, Some("elan-secret")).await;

    let (status, answer) = server.elan_test(id).await;
    assert_eq!(status, 200, "{answer}");
    let got = receiver.wait_for(1).await;
    let hook = &got[0];
    assert_eq!(
        (hook.method.as_str(), hook.path.as_str()),
        ("POST", "/hooks")
    );
    assert_eq!(
        hook.header("x-webhook-signature"),
        hex_hmac_sha256("elan-secret", &hook.body)
    );
    assert_eq!(hook.header("x-team"), "l10n", "custom headers are sent");
    let payload = hook.json();
    assert_eq!(payload["event_type"], "workflow.completed");
    assert_eq!(payload["event_id"], answer["event_id"]);
    assert_eq!(payload["organization_id"], "org_default");
    for field in ["workflow_id", "timestamp", "data"] {
        assert!(payload.get(field).is_some(), "{field} in {payload}");
    }

    let logs = wait_for_logs(&server, &format!("/webhooks/{id}/logs"), 1).await;
    assert_eq!(
        (
            logs[0]["attempt"].as_u64(),
            logs[0]["status_code"].as_u64(),
            logs[0]["success"].as_bool()
        ),
        (Some(1), Some(200), Some(true))
    );
    assert_eq!(logs[0]["event_id"], answer["event_id"]);
}

#[tokio::test]
async fn an_unsigned_subscription_gets_no_signature_header() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[]).await;
    let id = elan_subscription(&server, &receiver.url, None).await;
    server.elan_test(id).await;
    let got = receiver.wait_for(1).await;
    assert!(got[0].headers.get("x-webhook-signature").is_none());
}

/// The must-show of the issue: 500, 500, 200 is three attempts of one event, all logged.
#[tokio::test]
async fn failures_are_retried_with_the_same_event_id_until_one_succeeds() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[500, 500, 200]).await;
    let id = elan_subscription(&server, &receiver.url, Some("s")).await;
    let event = json!({"api": "elan", "event": "workflow.failed", "data": {"workflow_id": "wf_42", "error": "OCR failed"}, "tenant": "elan-key"});
    let (status, queued) = server
        .call(None, Method::POST, "/__admin/events", Some(event))
        .await;
    assert_eq!(status, 200, "{queued}");
    assert_eq!(queued["queued"].as_array().map(Vec::len), Some(1));

    let got = receiver.wait_for(3).await;
    assert_eq!(got.len(), 3);
    let event_ids: Vec<Value> = got.iter().map(|r| r.json()["event_id"].clone()).collect();
    assert!(
        event_ids.iter().all(|e| *e == event_ids[0]),
        "one event, three attempts: {event_ids:?}"
    );
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "the same bytes every time"
    );
    assert_eq!(got[0].json()["workflow_id"], "wf_42");

    let logs = wait_for_logs(&server, &format!("/webhooks/{id}/logs"), 3).await;
    let attempts: Vec<(u64, u64)> = logs
        .iter()
        .map(|l| {
            (
                l["attempt"].as_u64().unwrap_or(0),
                l["status_code"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(attempts, [(3, 200), (2, 500), (1, 500)], "newest first");
    let (_, all) = server
        .get("elan-key", "/webhooks/logs/all?event_type=workflow.failed")
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    let (_, deliveries) = server
        .call(
            None,
            Method::GET,
            "/__admin/deliveries?api=elan&status=succeeded",
            None,
        )
        .await;
    assert_eq!(
        deliveries["deliveries"][0]["attempts"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn a_410_disables_the_subscription() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[410]).await;
    let id = elan_subscription(&server, &receiver.url, None).await;
    server.elan_test(id).await;
    receiver.wait_for(1).await;
    for _ in 0..200 {
        if server.get("elan-key", &format!("/webhooks/{id}")).await.1["is_active"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        server.get("elan-key", &format!("/webhooks/{id}")).await.1["is_active"],
        false
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(receiver.wait_for(1).await.len(), 1, "not retried");
}

/// Standard Webhooks' third attempt comes 5 minutes after the second; a receiver that says
/// `Retry-After: 0` gets it at once. (At the real time scale: the difference is minutes.)
#[tokio::test]
async fn retry_after_overrides_the_schedule() {
    let server = TestServer::start().await;
    let receiver = Receiver::start_with(&[503, 503, 200], Some(0)).await;
    let id = elan_subscription(&server, &receiver.url, None).await;
    server.elan_test(id).await;
    assert_eq!(
        receiver.wait_for(3).await.len(),
        3,
        "the third attempt did not wait for the 5-minute slot"
    );
}

#[tokio::test]
async fn a_failed_delivery_can_be_sent_again_from_the_admin_api() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[400]).await;
    fieldnation_webhook(&server, &receiver.url).await;
    let event =
        json!({"api": "fieldnation", "event": "workorder.status.assigned", "tenant": "fn-token"});
    let (_, queued) = server
        .call(None, Method::POST, "/__admin/events", Some(event))
        .await;
    let id = queued["queued"][0]
        .as_str()
        .expect("a delivery id")
        .to_owned();
    receiver.wait_for(1).await;
    let (status, _) = server
        .call(
            None,
            Method::POST,
            &format!("/__admin/deliveries/{id}/retry"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].header("x-fn-delivery-id"),
        format!("{id}:2"),
        "the next attempt of the same delivery"
    );
    assert_eq!(got[0].body, got[1].body);
    let (status, _) = server
        .call(
            None,
            Method::POST,
            "/__admin/deliveries/no-such-id/retry",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

async fn fieldnation_webhook(server: &TestServer, url: &str) -> Value {
    let body = json!({
        "url": url, "events": ["workorder.status.assigned"], "notificationEmail": "ops@example.com",
        "webhookAttribute": {"header": {"X-Custom-ID": "prod-webhook-001"}}
    });
    let (status, created) = server
        .call(
            Some("fn-token"),
            Method::POST,
            "/api/v1/webhooks",
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    created["result"].clone()
}

#[tokio::test]
async fn field_nation_sends_its_headers_and_retries_on_its_schedule() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[503, 200]).await;
    let webhook = fieldnation_webhook(&server, &receiver.url).await;
    let event = json!({"api": "fieldnation", "event": "workorder.status.assigned", "data": {"workorder": {"id": 1042, "status": "assigned"}}});
    server
        .call(None, Method::POST, "/__admin/events", Some(event))
        .await;

    let got = receiver.wait_for(2).await;
    let secret = webhook["secret"].as_str().expect("returned on creation");
    for (n, hook) in got.iter().enumerate() {
        assert_eq!(
            hook.header("x-fn-signature"),
            format!("sha256={}", hex_hmac_sha256(secret, &hook.body))
        );
        assert_eq!(
            hook.header("x-fn-webhook-id"),
            webhook["webhookId"].as_str().expect("an id")
        );
        let (delivery, attempt) = hook
            .header("x-fn-delivery-id")
            .split_once(':')
            .expect("<uuid>:<attempt>");
        assert!(uuid::Uuid::parse_str(delivery).is_ok());
        assert_eq!(attempt, (n + 1).to_string());
        let millis: i64 = hook
            .header("x-fn-request-timestamp")
            .parse()
            .expect("unix ms");
        assert!((millis - chrono::Utc::now().timestamp_millis()).abs() < 60_000);
        assert_eq!(hook.header("x-custom-id"), "prod-webhook-001");
    }
    let payload = got[1].json();
    assert_eq!(payload["event"]["name"], "workorder.status.assigned");
    assert_eq!(payload["workorder"]["id"], 1042);
    assert!(payload["triggered_by_user"]["id"].is_number());
    assert_eq!(got[0].body, got[1].body);
}

#[tokio::test]
async fn field_nation_does_not_retry_a_4xx_and_notifies_by_email() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[400]).await;
    fieldnation_webhook(&server, &receiver.url).await;
    let event =
        json!({"api": "fieldnation", "event": "workorder.status.assigned", "tenant": "fn-token"});
    server
        .call(None, Method::POST, "/__admin/events", Some(event))
        .await;
    receiver.wait_for(1).await;
    let mut outbox = Value::Null;
    for _ in 0..200 {
        outbox = server
            .call(None, Method::GET, "/__admin/outbox", None)
            .await
            .1;
        if outbox.as_array().is_some_and(|o| !o.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(outbox[0]["to"], "ops@example.com", "{outbox}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.wait_for(1).await.len(), 1, "a 4xx is not retried");
    let (_, deliveries) = server
        .call(
            None,
            Method::GET,
            "/__admin/deliveries?api=fieldnation",
            None,
        )
        .await;
    assert_eq!(deliveries["deliveries"][0]["state"], "failed");
}

#[tokio::test]
async fn ingedata_signs_the_standard_webhooks_way_and_its_test_answers_from_the_attempt() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[]).await;
    let (id, secret) = server.ingedata_webhook("inge", &receiver.url, None).await;
    let (status, answer) = server.ingedata_test("inge", &id).await;
    assert_eq!(
        (status, &answer["success"]),
        (200, &json!(true)),
        "{answer}"
    );
    assert_eq!(answer["message"], "Test notification delivered (HTTP 200)");

    let hook = &receiver.wait_for(1).await[0];
    let verifier = standardwebhooks::Webhook::new(&secret).expect("a whsec_ secret");
    verifier
        .verify(&hook.body, &hook.headers)
        .expect("the signature verifies");
    assert_eq!(
        hook.header("webhook-id"),
        hook.json()["data"]["id"].as_str().expect("an id")
    );
    assert_eq!(hook.json()["data"]["attributes"]["event"], "webhook.test");

    let mut tampered = hook.body.to_vec();
    tampered.extend_from_slice(b" ");
    assert!(
        verifier.verify(&tampered, &hook.headers).is_err(),
        "a changed body fails"
    );
}

#[tokio::test]
async fn a_test_to_an_unreachable_endpoint_says_why() {
    let server = fast_server().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/gone", closed.local_addr().expect("address"));
    drop(closed);
    let (id, _) = server.ingedata_webhook("inge", &url, None).await;
    let (status, answer) = server.ingedata_test("inge", &id).await;
    assert_eq!(
        (status, &answer["success"]),
        (200, &json!(false)),
        "{answer}"
    );
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Test notification failed")),
        "{answer}"
    );
}

#[tokio::test]
async fn unknown_events_and_apis_are_refused() {
    let server = fast_server().await;
    let (status, body) = server
        .call(
            None,
            Method::POST,
            "/__admin/events",
            Some(json!({"api": "elan", "event": "workflow.paused"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("/event") && e.contains("workflow.completed")),
        "{body}"
    );
    let (status, body) = server
        .call(
            None,
            Method::POST,
            "/__admin/events",
            Some(json!({"api": "patchworks", "event": "x"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("/api")),
        "{body}"
    );
}

/// ELAN's logs for `path`, once at least `n` attempts are logged.
async fn wait_for_logs(server: &TestServer, path: &str, n: usize) -> Vec<Value> {
    for _ in 0..500 {
        let (_, logs) = server.get("elan-key", path).await;
        if logs.as_array().is_some_and(|l| l.len() >= n) {
            return logs.as_array().cloned().unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {n} attempts logged at {path}");
}

/// The delivery queue is bounded: when it is full, the call that would queue more is refused
/// with a clear 503 instead of the queue growing without limit.
#[tokio::test]
async fn a_full_delivery_queue_refuses_with_a_clear_error() {
    // A receiver that accepts connections and never answers holds the one worker busy.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hooks", silent.local_addr().expect("address"));
    let server = server_with(Settings {
        workers: 1,
        queue: 1,
        timeout: Duration::from_secs(5),
        ..Settings::default()
    })
    .await;
    let id = elan_subscription(&server, &url, None).await;
    let test = format!("/webhooks/{id}/test");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            server
                .call(Some("elan-key"), Method::POST, &test, None)
                .await,
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        statuses.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [200, 200, 503],
        "{statuses:?}"
    );
    let refusal = &statuses[2].1;
    assert!(
        refusal["detail"]
            .as_str()
            .is_some_and(|d| d.contains("queue is full")),
        "{refusal}"
    );
    drop(silent);
}

/// The delivery log is bounded (`--delivery-log-size`): past it the oldest finished deliveries
/// are dropped and counted, so a long load test cannot grow memory without limit.
#[tokio::test]
async fn the_delivery_log_keeps_the_newest_and_counts_the_dropped() {
    let receiver = Receiver::start(&[]).await;
    let server = server_with(Settings {
        log_size: 2,
        ..Settings::default()
    })
    .await;
    let id = elan_subscription(&server, &receiver.url, None).await;
    for _ in 0..3 {
        let test = format!("/webhooks/{id}/test");
        let (status, _) = server
            .call(Some("elan-key"), Method::POST, &test, None)
            .await;
        assert_eq!(status, 200);
    }
    receiver.wait_for(3).await;
    let (status, listing) = server.get("admin", "/__admin/deliveries").await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["dropped"], 1, "{listing}");
    let kept = listing["deliveries"].as_array().expect("deliveries");
    assert_eq!(kept.len(), 2, "{listing}");
    let (_, logs) = server.get("elan-key", "/webhooks/logs/all").await;
    assert_eq!(logs.as_array().map(Vec::len), Some(2), "{logs}");
}

/// `--deliver-deny-private`: a target in the host's own networks, by IP literal or by a name
/// that resolves there, is refused before anything is sent, once (no retries), saying why.
/// (The targets are loopback: nothing would leave the machine even if the check failed, and
/// the receiver would see it.)
#[tokio::test]
async fn deny_private_refuses_private_targets_before_sending_and_does_not_retry() {
    let receiver = Receiver::start(&[]).await;
    let server = server_with(Settings {
        deny_private: true,
        time_scale: 0.001,
        ..Settings::default()
    })
    .await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    for url in [receiver.url.as_str(), by_name.as_str()] {
        let id = elan_subscription(&server, url, None).await;
        let (status, answer) = server.elan_test(id).await;
        assert_eq!(status, 200, "{answer}");
        let logs = wait_for_logs(&server, &format!("/webhooks/{id}/logs"), 1).await;
        let error = logs[0]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("--deliver-deny-private"),
            "{url}: {}",
            logs[0]
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, listing) = server.get("admin", "/__admin/deliveries").await;
    let deliveries = listing["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 2, "{listing}");
    for delivery in deliveries {
        assert_eq!(delivery["state"], "failed", "{delivery}");
        assert_eq!(
            delivery["attempts"].as_array().map(Vec::len),
            Some(1),
            "no retry"
        );
    }
    assert_eq!(receiver.count(), 0, "nothing was sent");
}

/// Redirects are not followed: the receiver's 302 is the attempt's outcome, and the place it
/// points to gets nothing.
#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = Receiver::start(&[]).await;
    let location = elsewhere.url.clone();
    let redirecting = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move { (axum::http::StatusCode::FOUND, [("location", location)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, redirecting).await });
    let server = fast_server().await;
    let id = elan_subscription(&server, &url, None).await;
    let (status, _) = server.elan_test(id).await;
    assert_eq!(status, 200);
    let logs = wait_for_logs(&server, &format!("/webhooks/{id}/logs"), 1).await;
    assert_eq!(logs[0]["status_code"], 302, "{}", logs[0]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(elsewhere.count(), 0, "the redirect was followed");
}

/// Ingedata accepts any string as a secret; one not of the `whsec_` form still signs (Standard
/// Webhooks keyed with its UTF-8 bytes), never an unsigned delivery.
#[tokio::test]
async fn an_ingedata_secret_of_any_form_signs_its_deliveries() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[]).await;
    let (id, _) = server
        .ingedata_webhook("inge", &receiver.url, Some("my secret!"))
        .await;
    let (status, answer) = server.ingedata_test("inge", &id).await;
    assert_eq!((status, &answer["success"]), (200, &json!(true)));
    let hook = &receiver.wait_for(1).await[0];
    let signed = format!(
        "{}.{}.",
        hook.header("webhook-id"),
        hook.header("webhook-timestamp")
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"my secret!").expect("any key length");
    mac.update(signed.as_bytes());
    mac.update(&hook.body);
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(hook.header("webhook-signature"), format!("v1,{expected}"));
}

/// Field Nation's `X-FN-Request-Timestamp` is the attempt's time in real milliseconds.
#[tokio::test]
async fn field_nation_stamps_deliveries_in_real_milliseconds() {
    let server = fast_server().await;
    let receiver = Receiver::start(&[]).await;
    fieldnation_webhook(&server, &receiver.url).await;
    for n in 0..5 {
        let event = json!({"api": "fieldnation", "event": "workorder.status.assigned"});
        server
            .call(None, Method::POST, "/__admin/events", Some(event))
            .await;
        let got = receiver.wait_for(n + 1).await;
        let millis: i64 = got[n]
            .header("x-fn-request-timestamp")
            .parse()
            .expect("unix ms");
        if millis % 1000 != 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(7)).await;
    }
    panic!("five deliveries, each stamped in whole seconds");
}

/// A custom header HTTP cannot carry is accepted, as the document allows any string; the
/// attempts that would send it fail, and the log says why.
#[tokio::test]
async fn a_custom_header_http_cannot_carry_fails_the_attempt_saying_why() {
    let server = server_with(Settings {
        time_scale: 0.0,
        ..Settings::default()
    })
    .await;
    let receiver = Receiver::start(&[]).await;
    let body = json!({"name": "n", "url": receiver.url, "events": ["workflow.completed"], "headers": {"bad name": "x"}});
    let (status, created) = server
        .call(Some("elan-key"), Method::POST, "/webhooks", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().expect("an id");
    let (status, _) = server.elan_test(id).await;
    assert_eq!(status, 200);
    let logs = wait_for_logs(&server, &format!("/webhooks/{id}/logs"), 1).await;
    assert!(
        logs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("builder error")),
        "{}",
        logs[0]
    );
    assert_eq!(receiver.count(), 0);
}
