//! Nobody where they don't belong: tenant B, holding tenant A's resource IDs, gets 404 on every
//! operation that names a resource, sees none of A's data in any list or log, and changes
//! nothing of A's. (IDs are numbered per tenant, as each vendor account's are: B's own
//! resources may have the same numbers.) Driven by the route table: an operation added without a probe here fails
//! the test.

use std::collections::BTreeSet;

use hookmock::generated::OPERATIONS;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Receiver, TestServer};

const A: &str = "tenant-a";
const B: &str = "tenant-b";
/// In every URL tenant A registers, so that any leak of A's data into B's answers shows.
const MARK: &str = "only-tenant-a";

/// What tenant B is expected to get from one operation.
enum Expect {
    /// 404: the path names one of A's resources.
    NotFound,
    /// An answer that does not mention A's data.
    NothingOfA,
    /// Data every tenant shares (a catalogue), so there is nothing of A's to hide.
    Shared,
}

struct Probe {
    operation: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

fn probe(
    operation: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    expect: Expect,
) -> Probe {
    Probe {
        operation,
        method,
        path,
        body,
        expect,
    }
}

/// A's resources: an ELAN subscription (with a delivery logged), a Field Nation webhook, an
/// Ingedata webhook, a Patchworks flow webhook and callback.
struct Owned {
    elan: u64,
    fieldnation: String,
    ingedata: String,
    pw_webhook: u64,
    pw_callback: u64,
}

async fn create_as_a(server: &TestServer, receiver: &Receiver) -> Owned {
    let marked = format!("{}/{MARK}", receiver.url);
    let (_, elan) = server
        .call(
            Some(A),
            Method::POST,
            "/webhooks",
            Some(json!({"name": MARK, "url": marked, "events": ["workflow.completed"]})),
        )
        .await;
    let elan = elan["id"].as_u64().expect("an ELAN id");
    let (status, _) = server
        .call(
            Some(A),
            Method::POST,
            &format!("/webhooks/{elan}/test"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let https = format!("https://{MARK}.example.com/hooks");
    let (_, fieldnation) = server
        .call(
            Some(A),
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": https, "events": ["workorder.created"],
            "webhookAttribute": {"header": {"X-Team": "a"}}})),
        )
        .await;
    let fieldnation = fieldnation["result"]["webhookId"]
        .as_str()
        .expect("a FN id")
        .to_owned();
    let (_, ingedata) = server
        .call(
            Some(A),
            Method::POST,
            "/api/v3/notification/webhooks",
            Some(json!({"data": {"type": "webhooks",
            "attributes": {"name": MARK, "url": https, "events": ["task.completed"]}}})),
        )
        .await;
    let ingedata = ingedata["data"]["id"]
        .as_str()
        .expect("an Ingedata id")
        .to_owned();
    let (_, webhook) = server
        .call(
            Some(A),
            Method::POST,
            "/api/v1/flows/12/webhooks",
            Some(json!({"body": MARK})),
        )
        .await;
    let (_, callback) = server
        .call(
            Some(A),
            Method::POST,
            "/api/v1/flows/12/callbacks",
            Some(json!({"body": MARK})),
        )
        .await;
    Owned {
        elan,
        fieldnation,
        ingedata,
        pw_webhook: webhook["data"]["id"].as_u64().expect("a webhook id"),
        pw_callback: callback["data"]["id"].as_u64().expect("a callback id"),
    }
}

fn probes(a: &Owned) -> Vec<Probe> {
    use Expect::{NotFound, NothingOfA, Shared};
    let (elan, fn_id, ing, pw_w, pw_c) = (
        a.elan,
        &a.fieldnation,
        &a.ingedata,
        a.pw_webhook,
        a.pw_callback,
    );
    let b_url = "https://tenant-b.example.com/hooks";
    vec![
        probe(
            "listWebhookSubscriptions",
            Method::GET,
            "/webhooks".into(),
            None,
            NothingOfA,
        ),
        probe(
            "createWebhookSubscription",
            Method::POST,
            "/webhooks".into(),
            Some(json!({"name": "b", "url": b_url, "events": ["workflow.completed"]})),
            NothingOfA,
        ),
        probe(
            "listAllDeliveryLogs",
            Method::GET,
            "/webhooks/logs/all".into(),
            None,
            NothingOfA,
        ),
        probe(
            "getWebhookSubscription",
            Method::GET,
            format!("/webhooks/{elan}"),
            None,
            NotFound,
        ),
        probe(
            "updateWebhookSubscription",
            Method::PATCH,
            format!("/webhooks/{elan}"),
            Some(json!({"name": "taken"})),
            NotFound,
        ),
        probe(
            "listSubscriptionDeliveryLogs",
            Method::GET,
            format!("/webhooks/{elan}/logs"),
            None,
            NotFound,
        ),
        probe(
            "testWebhookSubscription",
            Method::POST,
            format!("/webhooks/{elan}/test"),
            None,
            NotFound,
        ),
        probe(
            "deleteWebhookSubscription",
            Method::DELETE,
            format!("/webhooks/{elan}"),
            None,
            NotFound,
        ),
        probe(
            "listWebhooks",
            Method::GET,
            "/api/v1/webhooks".into(),
            None,
            NothingOfA,
        ),
        probe(
            "createWebhook",
            Method::POST,
            "/api/v1/webhooks".into(),
            Some(json!({"url": b_url, "events": ["workorder.created"]})),
            NothingOfA,
        ),
        probe(
            "getWebhook",
            Method::GET,
            format!("/api/v1/webhooks/{fn_id}"),
            None,
            NotFound,
        ),
        probe(
            "updateWebhook",
            Method::PUT,
            format!("/api/v1/webhooks/{fn_id}"),
            Some(json!({"url": b_url})),
            NotFound,
        ),
        probe(
            "deleteWebhookAttribute",
            Method::DELETE,
            format!("/api/v1/webhooks/{fn_id}/header/X-Team"),
            None,
            NotFound,
        ),
        probe(
            "deleteWebhook",
            Method::DELETE,
            format!("/api/v1/webhooks/{fn_id}"),
            None,
            NotFound,
        ),
        probe(
            "listNotificationWebhooks",
            Method::GET,
            "/api/v3/notification/webhooks".into(),
            None,
            NothingOfA,
        ),
        probe(
            "createNotificationWebhook",
            Method::POST,
            "/api/v3/notification/webhooks".into(),
            Some(
                json!({"data": {"type": "webhooks", "attributes": {"url": b_url, "events": ["task.completed"]}}}),
            ),
            NothingOfA,
        ),
        probe(
            "listNotificationWebhookEvents",
            Method::GET,
            "/api/v3/notification/webhooks/events".into(),
            None,
            Shared,
        ),
        probe(
            "testNotificationWebhook",
            Method::POST,
            format!("/api/v3/notification/webhooks/test/{ing}"),
            None,
            NotFound,
        ),
        probe(
            "getNotificationWebhook",
            Method::GET,
            format!("/api/v3/notification/webhooks/{ing}"),
            None,
            NotFound,
        ),
        probe(
            "updateNotificationWebhook",
            Method::PATCH,
            format!("/api/v3/notification/webhooks/{ing}"),
            Some(json!({"data": {"type": "webhooks", "id": ing, "attributes": {"name": "taken"}}})),
            NotFound,
        ),
        probe(
            "deleteNotificationWebhook",
            Method::DELETE,
            format!("/api/v3/notification/webhooks/{ing}"),
            None,
            NotFound,
        ),
        probe(
            "listFlowWebhooks",
            Method::GET,
            "/api/v1/flows/12/webhooks".into(),
            None,
            NothingOfA,
        ),
        probe(
            "createFlowWebhook",
            Method::POST,
            "/api/v1/flows/12/webhooks".into(),
            Some(json!({"body": "b"})),
            NothingOfA,
        ),
        probe(
            "updateFlowWebhook",
            Method::PUT,
            format!("/api/v1/flows/12/webhooks/{pw_w}"),
            Some(json!({"body": "taken"})),
            NotFound,
        ),
        probe(
            "deleteFlowWebhook",
            Method::DELETE,
            format!("/api/v1/flows/12/webhooks/{pw_w}"),
            None,
            NotFound,
        ),
        probe(
            "listFlowCallbacks",
            Method::GET,
            "/api/v1/flows/12/callbacks".into(),
            None,
            NothingOfA,
        ),
        probe(
            "createFlowCallback",
            Method::POST,
            "/api/v1/flows/12/callbacks".into(),
            Some(json!({"body": "b"})),
            NothingOfA,
        ),
        probe(
            "updateFlowCallback",
            Method::PUT,
            format!("/api/v1/flows/12/callbacks/{pw_c}"),
            Some(json!({"body": "taken"})),
            NotFound,
        ),
        probe(
            "deleteFlowCallback",
            Method::DELETE,
            format!("/api/v1/flows/12/callbacks/{pw_c}"),
            None,
            NotFound,
        ),
    ]
}

#[tokio::test]
async fn another_tenant_reaches_none_of_a_tenants_data_through_any_operation() {
    let server = TestServer::with_fixtures().await;
    let receiver = Receiver::start(&[]).await;
    let owned = create_as_a(&server, &receiver).await;
    receiver.wait_for(1).await;
    let a_before = snapshot(&server, &owned).await;

    let probes = probes(&owned);
    let probed: BTreeSet<&str> = probes.iter().map(|p| p.operation).collect();
    let missing: Vec<&str> = OPERATIONS
        .iter()
        .map(|op| op.operation_id)
        .filter(|id| !probed.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "operations without an isolation probe: {missing:?}"
    );

    // IDs count per tenant, so B's own creates could take the numbers A's resources have:
    // the probes that name A's resources go first.
    let (by_id, others): (Vec<&Probe>, Vec<&Probe>) = probes
        .iter()
        .partition(|p| matches!(p.expect, Expect::NotFound));
    for p in by_id.into_iter().chain(others) {
        let (status, answer) = server
            .call(Some(B), p.method.clone(), &p.path, p.body.clone())
            .await;
        let text = answer.to_string();
        match p.expect {
            Expect::NotFound => assert_eq!(status, 404, "{} {}: {answer}", p.method, p.path),
            Expect::NothingOfA => {
                assert!(
                    (200..300).contains(&status),
                    "{} {}: {status} {answer}",
                    p.method,
                    p.path
                );
                assert!(
                    !text.contains(MARK),
                    "{}: B sees A's data: {text}",
                    p.operation
                );
            }
            Expect::Shared => assert_eq!(status, 200, "{}: {answer}", p.operation),
        }
    }
    assert_eq!(
        receiver.count(),
        1,
        "B's test call sent nothing to A's receiver"
    );
    assert_eq!(
        snapshot(&server, &owned).await,
        a_before,
        "A's data is as it was"
    );
}

/// A's resources as A reads them.
async fn snapshot(server: &TestServer, a: &Owned) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        format!("/webhooks/{}", a.elan),
        format!("/api/v1/webhooks/{}", a.fieldnation),
        format!("/api/v3/notification/webhooks/{}", a.ingedata),
        "/api/v1/flows/12/webhooks".to_owned(),
        "/api/v1/flows/12/callbacks".to_owned(),
    ] {
        let (status, mut answer) = server.get(A, &path).await;
        assert_eq!(status, 200, "{path}: {answer}");
        // The envelope's timestamp is the time of the answer, not data.
        if let Some(metadata) = answer.get_mut("metadata") {
            metadata["timestamp"] = Value::Null;
        }
        seen.push(answer);
    }
    seen
}
