//! A partner team drives Field Nation's webhook lifecycle with a client generated from the
//! document, exactly as the vendor's reference shows it.

use crate::clients::fieldnation::{Error, types};
use crate::harness::TestServer;
use serde_json::{Value, json};

/// The seed's create example, shared with the README's curl session.
fn seed_create_body() -> types::WebhookCreate {
    let text = include_str!("../../fixtures/requests/fieldnation-create-webhook.json");
    serde_json::from_str(text).expect("the seed's example is a WebhookCreate")
}

fn update(body: Value) -> types::WebhookUpdate {
    serde_json::from_value(body).expect("a WebhookUpdate")
}

fn id(webhook_id: &str) -> types::WebhookId {
    webhook_id.parse().expect("a webhook id")
}

#[tokio::test]
async fn create_list_get_update_delete_as_the_seed_shows() {
    let server = TestServer::start().await;
    let client = server.fieldnation("team-a");

    let created = client
        .create_webhook(&seed_create_body())
        .await
        .expect("created")
        .into_inner();
    let webhook = created.result;
    assert!(
        webhook.webhook_id.starts_with("wh_"),
        "{}",
        webhook.webhook_id
    );
    let secret = webhook
        .secret
        .clone()
        .expect("the secret is returned on creation");
    assert!(
        uuid::Uuid::parse_str(&secret).is_ok(),
        "a UUID secret: {secret}"
    );
    assert_eq!(webhook.url, "https://your-endpoint.com/webhooks");
    assert_eq!(webhook.status, types::WebhookStatus::Active);
    assert_eq!(webhook.method, types::WebhookMethod::Post);
    assert_eq!(webhook.events.len(), 4);
    assert_eq!(
        webhook.notification_email.as_deref(),
        Some("webhook-alerts@example.com")
    );
    assert!(!webhook.is_integration_only);
    assert!(webhook.model_properties.is_empty());
    assert_eq!(webhook.created_at, webhook.updated_at);

    let listed = client
        .list_webhooks(None, None, None, None, None, None, None)
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(
        (listed.metadata.count, listed.metadata.total),
        (Some(1), Some(1))
    );
    assert_eq!(
        listed.result[0].webhook_id.as_deref(),
        Some(webhook.webhook_id.as_str())
    );
    assert_eq!(
        listed.result[0].secret, None,
        "the secret is only returned on creation"
    );

    let got = client
        .get_webhook(
            &id(&webhook.webhook_id),
            Some(types::GetWebhookWebhookAttribute::Header),
        )
        .await
        .expect("got")
        .into_inner()
        .result;
    let headers = got.webhook_attribute.expect("asked for").header;
    assert_eq!(
        headers.get("X-Custom-ID").map(String::as_str),
        Some("prod-webhook-001")
    );

    let updated = client
        .update_webhook(
            &id(&webhook.webhook_id),
            &update(json!({"status": "inactive"})),
        )
        .await
        .expect("updated")
        .into_inner()
        .result;
    assert_eq!(updated.status, types::WebhookStatus::Inactive);
    assert_eq!(updated.url, webhook.url, "only the fields sent change");
    assert_eq!(updated.events, webhook.events);

    let deleted = client
        .delete_webhook(&id(&webhook.webhook_id))
        .await
        .expect("deleted")
        .into_inner()
        .result;
    assert_eq!(
        deleted.webhook_id, webhook.webhook_id,
        "DELETE answers the deleted webhook"
    );
    assert_eq!(deleted.status, types::WebhookStatus::Inactive);

    match client.get_webhook(&id(&webhook.webhook_id), None).await {
        Err(Error::ErrorResponse(response)) => {
            assert_eq!(response.status().as_u16(), 404);
            assert_eq!(response.errors[0].message, "Webhook not found");
            assert_eq!(
                response.metadata.path,
                format!("/api/v1/webhooks/{}", webhook.webhook_id)
            );
        }
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_headers_are_merged_on_update_and_removed_one_by_one() {
    let server = TestServer::start().await;
    let client = server.fieldnation("team-a");
    let webhook = client
        .create_webhook(&seed_create_body())
        .await
        .expect("created")
        .into_inner()
        .result;
    let wid = || id(&webhook.webhook_id);

    let body = update(json!({"webhookAttribute": {"header": {"X-Environment": "production"}}}));
    client.update_webhook(&wid(), &body).await.expect("updated");
    let removed = client
        .delete_webhook_attribute(
            &wid(),
            types::DeleteWebhookAttributeAttributeType::Header,
            &"X-Custom-ID".parse().expect("name"),
        )
        .await
        .expect("removed")
        .into_inner();
    assert_eq!(removed.message, "Webhook attribute successfully removed");

    let got = client
        .get_webhook(
            &id(&webhook.webhook_id),
            Some(types::GetWebhookWebhookAttribute::Header),
        )
        .await
        .expect("got");
    let mut names: Vec<_> = got
        .into_inner()
        .result
        .webhook_attribute
        .expect("asked for")
        .header
        .into_keys()
        .collect();
    names.sort();
    assert_eq!(names, ["Authorization", "X-Environment"]);

    let again = client
        .delete_webhook_attribute(
            &wid(),
            types::DeleteWebhookAttributeAttributeType::Header,
            &"X-Custom-ID".parse().expect("name"),
        )
        .await;
    assert!(
        matches!(again, Err(Error::ErrorResponse(ref r)) if r.status().as_u16() == 404),
        "{again:?}"
    );
}

#[tokio::test]
async fn list_filters_sorts_pages_and_selects_fields() {
    let server = TestServer::start().await;
    let client = server.fieldnation("team-a");
    for (url, status) in [
        ("https://b.example.com/hook", "active"),
        ("https://a.example.com/hook", "inactive"),
        ("https://c.example.com/production", "active"),
    ] {
        let body = serde_json::from_value(
            json!({"url": url, "status": status, "events": ["workorder.status.published"]}),
        )
        .expect("body");
        client.create_webhook(&body).await.expect("created");
    }
    let urls = |page: &Value| {
        page["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|w| w["url"].as_str().unwrap_or("-").to_owned())
            .collect::<Vec<_>>()
    };

    let inactive = server
        .get("team-a", "/api/v1/webhooks?status=inactive")
        .await
        .1;
    assert_eq!(urls(&inactive), ["https://a.example.com/hook"]);
    assert_eq!(inactive["metadata"]["total"], 1);

    assert_eq!(
        urls(
            &server
                .get("team-a", "/api/v1/webhooks?search=PRODUCTION")
                .await
                .1
        ),
        ["https://c.example.com/production"]
    );
    assert_eq!(
        urls(
            &server
                .get("team-a", "/api/v1/webhooks?sortBy=url&sortDirection=ASC")
                .await
                .1
        ),
        [
            "https://a.example.com/hook",
            "https://b.example.com/hook",
            "https://c.example.com/production"
        ]
    );

    let second = server
        .get(
            "team-a",
            "/api/v1/webhooks?sortBy=url&sortDirection=ASC&page=2&perPage=1",
        )
        .await
        .1;
    assert_eq!(urls(&second), ["https://b.example.com/hook"]);
    assert_eq!(
        (
            second["metadata"]["count"].as_u64(),
            second["metadata"]["total"].as_u64()
        ),
        (Some(1), Some(3))
    );

    let sparse = server
        .get("team-a", "/api/v1/webhooks?fields=webhookId,status")
        .await
        .1;
    let keys: Vec<&String> = sparse["result"][0]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(keys, ["webhookId", "status"]);
}

#[tokio::test]
async fn a_secret_is_generated_unless_given_and_urls_must_be_https_or_loopback() {
    let server = TestServer::start().await;
    let client = server.fieldnation("team-a");
    let given = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
    let body = serde_json::from_value(json!({"url": "http://127.0.0.1:9000/sink", "events": ["workorder.status.assigned"], "secret": given})).expect("body");
    let webhook = client
        .create_webhook(&body)
        .await
        .expect("loopback http is accepted")
        .into_inner()
        .result;
    assert_eq!(webhook.secret.as_deref(), Some(given));

    let body = serde_json::from_value(
        json!({"url": "http://example.com/hook", "events": ["workorder.status.assigned"]}),
    )
    .expect("body");
    match client.create_webhook(&body).await {
        Err(Error::ErrorResponse(response)) => {
            assert_eq!(response.status().as_u16(), 400);
            assert_eq!(response.errors[0].field.as_deref(), Some("/url"));
            assert!(
                response.errors[0].message.contains("HTTPS"),
                "{}",
                response.errors[0].message
            );
        }
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_headers_may_not_use_the_x_fn_prefix() {
    let server = TestServer::start().await;
    let body = json!({"url": "https://x.example.com", "events": ["workorder.status.assigned"], "webhookAttribute": {"header": {"X-FN-Signature": "forged"}}});
    let response = server
        .client("team-a")
        .post(server.url("/api/v1/webhooks"))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["field"],
        "/webhookAttribute/header/X-FN-Signature"
    );
}

#[tokio::test]
async fn tenants_do_not_see_each_others_webhooks() {
    let server = TestServer::start().await;
    let webhook = server
        .fieldnation("team-a")
        .create_webhook(&seed_create_body())
        .await
        .expect("created")
        .into_inner()
        .result;
    let other = server.fieldnation("team-b");
    let listed = other
        .list_webhooks(None, None, None, None, None, None, None)
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.metadata.total, Some(0));
    let got = other.get_webhook(&id(&webhook.webhook_id), None).await;
    assert!(
        matches!(got, Err(Error::ErrorResponse(ref r)) if r.status().as_u16() == 404),
        "{got:?}"
    );
}

/// `null` clears a nullable field; an absent one keeps it.
#[tokio::test]
async fn null_clears_the_notification_email_and_absent_keeps_it() {
    let server = TestServer::with_fixtures().await;
    let put = |body: Value| {
        let server = &server;
        async move {
            server
                .call(
                    Some("team-a"),
                    reqwest::Method::PUT,
                    "/api/v1/webhooks/wh_abc123",
                    Some(body),
                )
                .await
        }
    };
    let (status, kept) = put(json!({"status": "inactive"})).await;
    assert_eq!(status, 200, "{kept}");
    assert!(kept["result"]["notificationEmail"].is_string(), "{kept}");
    let (status, cleared) = put(json!({"notificationEmail": null})).await;
    assert_eq!(status, 200, "{cleared}");
    assert!(
        cleared["result"].get("notificationEmail").is_none(),
        "{cleared}"
    );
    let (_, read) = server.get("team-a", "/api/v1/webhooks/wh_abc123").await;
    assert!(read["result"].get("notificationEmail").is_none(), "{read}");
}

/// The event catalogue is enforced as ELAN's and Ingedata's are.
#[tokio::test]
async fn an_unknown_event_is_refused_naming_it_and_the_known_ones() {
    let server = TestServer::start().await;
    let body = json!({"url": "https://x.example.com", "events": ["workorder.bogus"]});
    let (status, answer) = server
        .call(
            Some("team-a"),
            reqwest::Method::POST,
            "/api/v1/webhooks",
            Some(body),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errors"][0]["field"], "/events/0", "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("workorder.bogus") && message.contains("workorder.status.assigned"),
        "{answer}"
    );
}

/// Headers that frame or route a delivery are the sender's, so they are refused at write time.
#[tokio::test]
async fn custom_headers_that_frame_the_request_are_refused_by_name() {
    let server = TestServer::start().await;
    for name in ["Content-Length", "Transfer-Encoding", "Host", "Connection"] {
        let body = json!({"url": "https://x.example.com", "events": ["workorder.created"], "webhookAttribute": {"header": {name: "5"}}});
        let (status, answer) = server
            .call(
                Some("team-a"),
                reqwest::Method::POST,
                "/api/v1/webhooks",
                Some(body),
            )
            .await;
        assert_eq!(status, 400, "{name}: {answer}");
        assert_eq!(
            answer["errors"][0]["field"],
            format!("/webhookAttribute/header/{name}"),
            "{answer}"
        );
        let update = json!({"webhookAttribute": {"header": {name: "5"}}});
        let (status, _) = server
            .call(
                Some("team-a"),
                reqwest::Method::PUT,
                "/api/v1/webhooks/wh_missing",
                Some(update),
            )
            .await;
        assert_eq!(status, 400, "{name}: refused before the lookup");
    }
}
