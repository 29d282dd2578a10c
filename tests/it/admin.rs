//! A CI job drives hookmock between test cases through `/__admin`: reset, snapshot and restore
//! state, read what its client sent, fetch the contracts.

use crate::harness::TestServer;
use hookmock::fixtures::Fixtures;
use hookmock::server::Config;
use serde_json::{Value, json};

async fn create_fieldnation(server: &TestServer, token: &str) -> String {
    let body = json!({"url": "https://a.example.com", "events": ["workorder.status.assigned"]});
    let (_, created) = server
        .call(
            Some(token),
            reqwest::Method::POST,
            "/api/v1/webhooks",
            Some(body),
        )
        .await;
    created["result"]["webhookId"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn total(server: &TestServer, token: &str) -> u64 {
    let list: Value = server.get(token, "/api/v1/webhooks").await.1;
    list["metadata"]["total"].as_u64().expect("total")
}

#[tokio::test]
async fn reset_restores_the_fixtures_for_one_tenant_one_api_or_all() {
    let server = TestServer::with_fixtures().await;
    create_fieldnation(&server, "a").await;
    create_fieldnation(&server, "b").await;
    assert_eq!(
        (total(&server, "a").await, total(&server, "b").await),
        (3, 3)
    );

    let (status, body) = server
        .call(
            None,
            reqwest::Method::POST,
            "/__admin/reset",
            Some(json!({"tenant": "a", "api": "fieldnation"})),
        )
        .await;
    assert_eq!(
        (status, &body["reset"]),
        (200, &json!(["fieldnation.webhooks"]))
    );
    assert_eq!(
        (total(&server, "a").await, total(&server, "b").await),
        (2, 3)
    );

    let (status, _) = server
        .call(None, reqwest::Method::POST, "/__admin/reset", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(total(&server, "b").await, 2);

    let (status, body) = server
        .call(
            None,
            reqwest::Method::POST,
            "/__admin/reset",
            Some(json!({"api": "stripe"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("/api") && e.contains("stripe")),
        "{body}"
    );
    let (status, body) = server
        .call(
            None,
            reqwest::Method::POST,
            "/__admin/reset",
            Some(json!({"tenants": "a"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("tenants")),
        "{body}"
    );
}

#[tokio::test]
async fn state_exported_from_one_server_imports_into_another_all_or_nothing() {
    let first = TestServer::start().await;
    let webhook_id = create_fieldnation(&first, "team").await;
    let (status, state) = first
        .call(None, reqwest::Method::GET, "/__admin/state", None)
        .await;
    assert_eq!(status, 200);
    assert!(
        state["apis"]["fieldnation"]["webhooks"]["team"]["collections"]["/api/v1/webhooks"]
            [&webhook_id]
            .is_object(),
        "{state}"
    );

    let second = TestServer::start().await;
    let mut broken = state.clone();
    broken["apis"]["ingedata"] = json!({"webhooks": {"team": {"items": {"x": {}}}}});
    let (status, body) = second
        .call(None, reqwest::Method::PUT, "/__admin/state", Some(broken))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("/apis/ingedata/webhooks")),
        "{body}"
    );
    assert_eq!(total(&second, "team").await, 0, "nothing was applied");

    let (status, _) = second
        .call(None, reqwest::Method::PUT, "/__admin/state", Some(state))
        .await;
    assert_eq!(status, 200);
    let got = second
        .client("team")
        .get(second.url(&format!("/api/v1/webhooks/{webhook_id}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(got.status(), 200);
    let next = create_fieldnation(&second, "team").await;
    assert_ne!(next, webhook_id);
    let list: Value = second
        .client("team")
        .get(second.url("/api/v1/webhooks?sortBy=id&sortDirection=ASC"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        list["result"][1]["id"], 2,
        "IDs continue after the imported ones"
    );
}

#[tokio::test]
async fn the_journal_shows_each_request_with_its_operation_and_verdict() {
    let server = TestServer::start().await;
    let http = server.client("journal-tenant");
    http.get(server.url("/api/v1/webhooks"))
        .send()
        .await
        .expect("sent");
    http.post(server.url("/api/v1/webhooks"))
        .json(&json!({"url": "https://x.example.com", "events": []}))
        .send()
        .await
        .expect("sent");
    http.get(server.url("/nowhere")).send().await.expect("sent");
    hookmock::wire::client()
        .get(server.url("/webhooks"))
        .send()
        .await
        .expect("sent");

    let (status, all) = server
        .call(None, reqwest::Method::GET, "/__admin/requests", None)
        .await;
    assert_eq!(status, 200);
    let requests = all["requests"].as_array().expect("requests");
    let verdicts: Vec<&str> = requests
        .iter()
        .map(|r| r["verdict"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        verdicts,
        ["unauthenticated", "unmatched", "invalid", "valid"],
        "newest first"
    );
    let invalid = &requests[2];
    assert_eq!(
        (invalid["operation"].as_str(), invalid["status"].as_u64()),
        (Some("createWebhook"), Some(400))
    );
    assert_eq!(invalid["violations"][0]["location"], "/events");
    assert_eq!(invalid["tenant"], "jour…(14)", "credentials are masked");

    let (_, filtered) = server
        .call(
            None,
            reqwest::Method::GET,
            "/__admin/requests?operation=listWebhooks&tenant=journal-tenant",
            None,
        )
        .await;
    assert_eq!(filtered["requests"].as_array().map(Vec::len), Some(1));
    let (_, limited) = server
        .call(
            None,
            reqwest::Method::GET,
            "/__admin/requests?verdict=invalid&limit=1",
            None,
        )
        .await;
    assert_eq!(limited["requests"][0]["operation"], "createWebhook");
    let (status, body) = server
        .call(
            None,
            reqwest::Method::GET,
            "/__admin/requests?limit=lots",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("limit")),
        "{body}"
    );
}

#[tokio::test]
async fn the_journal_is_bounded_and_counts_what_it_dropped() {
    let server = TestServer::with_config(Config {
        journal_size: 3,
        ..TestServer::config()
    })
    .await;
    for _ in 0..5 {
        server
            .client("t")
            .get(server.url("/api/v1/webhooks"))
            .send()
            .await
            .expect("sent");
    }
    let (_, listing) = server
        .call(None, reqwest::Method::GET, "/__admin/requests", None)
        .await;
    assert_eq!(
        (listing["recorded"].as_u64(), listing["dropped"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(listing["requests"].as_array().map(Vec::len), Some(3));
    assert_eq!(listing["requests"][0]["id"], 5);
}

#[tokio::test]
async fn validate_responses_catches_answers_that_break_the_contract() {
    let dir = std::env::temp_dir().join(format!("hookmock-bad-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut fixture: Value =
        serde_json::from_str(include_str!("../../fixtures/ingedata.json")).expect("JSON");
    fixture["webhooks"][0]["name"] = json!("n".repeat(300));
    std::fs::write(dir.join("ingedata.json"), fixture.to_string()).expect("written");
    let config = Config {
        fixtures: Fixtures::Dir(dir.clone()),
        validate_responses: true,
        ..TestServer::config()
    };
    let server = TestServer::with_config(config).await;
    let response = server
        .client("t")
        .get(server.url("/api/v3/notification/webhooks"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "the answer is still given");
    let (_, listing) = server
        .call(None, reqwest::Method::GET, "/__admin/requests", None)
        .await;
    assert_eq!(listing["response_violations"], 1);
    assert_eq!(
        listing["requests"][0]["response_violations"][0]["location"],
        "/data/0/attributes/name"
    );
    // The harness saw the same answer and would fail this test on drop: acknowledge it.
    assert_eq!(server.take_violations().len(), 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_admin_token_protects_the_admin_api() {
    let server = TestServer::with_config(Config {
        admin_token: Some("s3cret".to_owned()),
        ..TestServer::config()
    })
    .await;
    let (status, body) = server
        .call(None, reqwest::Method::GET, "/__admin/state", None)
        .await;
    assert_eq!(status, 401);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("--admin-token"))
    );
    let ok = hookmock::wire::client()
        .get(server.url("/__admin/state"))
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn the_bundled_documents_and_the_admin_document_are_served() {
    let server = TestServer::start().await;
    let fetched = crate::harness::get(server.url("/__admin/openapi/fieldnation.json"))
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    let bundled = hookmock::generated::DOCUMENTS
        .iter()
        .find(|d| d.api == "fieldnation")
        .expect("bundled");
    assert_eq!(fetched, bundled.source);
    let (status, _) = server
        .call(
            None,
            reqwest::Method::GET,
            "/__admin/openapi/stripe.json",
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (_, own) = server
        .call(None, reqwest::Method::GET, "/__admin/openapi.json", None)
        .await;
    let parsed: openapiv3::OpenAPI =
        serde_json::from_value(own.clone()).expect("an OpenAPI 3.0 document");
    assert_eq!(parsed.paths.paths.len(), 13);
    for schema in [
        "ResetRequest",
        "Listing",
        "StateDocument",
        "Entry",
        "EventRequest",
        "DeliveryListing",
    ] {
        assert!(
            own["components"]["schemas"].get(schema).is_some(),
            "{schema} is described"
        );
    }
}
