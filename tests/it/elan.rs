//! A localisation team subscribes to ELAN workflow events per organization, with a client
//! generated from the document.

use std::num::NonZeroU64;

use crate::clients::elan::types;
use crate::harness::{TestServer, error_status};
use serde_json::{Value, json};

fn create_body(value: Value) -> types::WebhookSubscriptionCreate {
    serde_json::from_value(value).expect("a WebhookSubscriptionCreate")
}

fn update_body(value: Value) -> types::WebhookSubscriptionUpdate {
    serde_json::from_value(value).expect("a WebhookSubscriptionUpdate")
}

fn org(name: &str) -> types::OrganizationId {
    name.parse().expect("an organization id")
}

fn id(n: i64) -> NonZeroU64 {
    NonZeroU64::new(u64::try_from(n).expect("positive")).expect("non-zero")
}

#[tokio::test]
async fn subscriptions_are_created_read_patched_and_deleted() {
    let server = TestServer::start().await;
    let client = server.elan("elan-key");
    let body = create_body(json!({
        "name": "Order sync", "url": "https://hooks.example.com/elan",
        "events": ["workflow.completed", "workflow.failed"], "secret": "s3cr3t", "headers": {"X-Team": "l10n"}
    }));
    let created = client
        .create_webhook_subscription(None, &body)
        .await
        .expect("created");
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    assert!(created.is_active, "new subscriptions are active");
    assert_eq!(
        created.headers.get("X-Team").map(String::as_str),
        Some("l10n")
    );
    let raw: Value = server
        .get("elan-key", &format!("/webhooks/{}", created.id))
        .await
        .1;
    assert!(
        raw.get("secret").is_none(),
        "the secret is never echoed: {raw}"
    );

    let listed = client
        .list_webhook_subscriptions(None)
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        [created.id]
    );

    let patched = client
        .update_webhook_subscription(
            id(created.id),
            None,
            &update_body(json!({"is_active": false})),
        )
        .await
        .expect("patched")
        .into_inner();
    assert!(!patched.is_active);
    assert_eq!(
        (patched.name.as_str(), patched.events.len()),
        ("Order sync", 2),
        "only the fields sent change"
    );

    let cleared = server
        .client("elan-key")
        .patch(server.url(&format!("/webhooks/{}", created.id)))
        .json(&json!({"headers": {}}))
        .send()
        .await
        .expect("sent");
    let cleared: Value = cleared.json().await.expect("JSON");
    assert_eq!(
        cleared["headers"],
        json!({}),
        "an empty map clears the headers"
    );

    let deleted = client
        .delete_webhook_subscription(id(created.id), None)
        .await
        .expect("deleted");
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(
        error_status(client.get_webhook_subscription(id(created.id), None).await),
        404,
        "cannot be undone"
    );
    assert_eq!(
        server
            .get("elan-key", &format!("/webhooks/{}", created.id))
            .await
            .1,
        json!({"detail": "Webhook subscription not found"}),
        "in ELAN's words, as its document says"
    );
    assert_eq!(
        error_status(
            client
                .delete_webhook_subscription(id(created.id), None)
                .await
        ),
        404
    );
}

#[tokio::test]
async fn the_organization_header_separates_subscriptions() {
    let server = TestServer::with_fixtures().await;
    let client = server.elan("elan-key");
    let default_ids: Vec<i64> = client
        .list_webhook_subscriptions(None)
        .await
        .expect("listed")
        .into_inner()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        default_ids,
        [42, 43],
        "the fixtures live in the default organization"
    );

    let body = create_body(
        json!({"name": "Acme", "url": "https://acme.example.com/hook", "events": ["workflow.started"]}),
    );
    let acme = client
        .create_webhook_subscription(Some(&org("org_acme")), &body)
        .await
        .expect("created")
        .into_inner();
    let in_acme = client
        .list_webhook_subscriptions(Some(&org("org_acme")))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(in_acme.iter().map(|s| s.id).collect::<Vec<_>>(), [acme.id]);
    assert_eq!(
        error_status(client.get_webhook_subscription(id(acme.id), None).await),
        404,
        "not in the default organization"
    );
    assert_eq!(
        error_status(
            client
                .get_webhook_subscription(id(42), Some(&org("org_acme")))
                .await
        ),
        404
    );
}

#[tokio::test]
async fn urls_must_be_https_except_to_loopback_and_limits_hold() {
    let server = TestServer::start().await;
    let client = server.elan("elan-key");
    let local = create_body(
        json!({"name": "local", "url": "http://127.0.0.1:9000/sink", "events": ["workflow.completed"]}),
    );
    assert_eq!(
        client
            .create_webhook_subscription(None, &local)
            .await
            .expect("loopback http is accepted")
            .status()
            .as_u16(),
        201
    );

    let http = server.client("elan-key");
    let plain = json!({"name": "plain", "url": "http://hooks.example.com/elan", "events": ["workflow.completed"]});
    let response = http
        .post(server.url("/webhooks"))
        .json(&plain)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "url"]));

    let long = json!({"name": "n".repeat(256), "url": "https://x.example.com", "events": ["workflow.completed"], "secret": "s".repeat(256)});
    let body: Value = http
        .post(server.url("/webhooks"))
        .json(&long)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .expect("detail")
        .iter()
        .map(|d| &d["loc"])
        .collect();
    assert_eq!(locs, [&json!(["body", "name"]), &json!(["body", "secret"])]);
}

#[tokio::test]
async fn delivery_logs_are_empty_until_something_is_delivered() {
    let server = TestServer::with_fixtures().await;
    let client = server.elan("elan-key");
    let logs = client
        .list_subscription_delivery_logs(id(42), None, None, None)
        .await
        .expect("listed")
        .into_inner();
    assert!(logs.is_empty());
    let all = client
        .list_all_delivery_logs(
            Some(types::EventType::WorkflowCompleted),
            None,
            Some(0),
            None,
        )
        .await
        .expect("listed")
        .into_inner();
    assert!(all.is_empty());
    assert_eq!(
        error_status(
            client
                .list_subscription_delivery_logs(id(999), None, None, None)
                .await
        ),
        404
    );
    assert_eq!(
        error_status(client.test_webhook_subscription(id(999), None).await),
        404
    );
}

/// Headers that frame or route a delivery, and ELAN's signature header, are the sender's.
#[tokio::test]
async fn custom_headers_that_frame_the_request_or_sign_it_are_refused_by_name() {
    let server = TestServer::start().await;
    for name in [
        "Host",
        "Content-Type",
        "Content-Length",
        "X-Webhook-Signature",
    ] {
        let body = json!({"name": "n", "url": "https://x.example.com", "events": ["workflow.completed"], "headers": {name: "x"}});
        let (status, answer) = server
            .call(
                Some("elan-key"),
                reqwest::Method::POST,
                "/webhooks",
                Some(body),
            )
            .await;
        assert_eq!(status, 422, "{name}: {answer}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", "headers", name]),
            "{answer}"
        );
    }
}
