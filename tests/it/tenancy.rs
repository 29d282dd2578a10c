//! Across all APIs: each credential is a tenant that starts from the fixtures, `--token`
//! restricts credentials, `--clock` makes answers repeatable, and concurrent writers lose nothing.

use std::collections::HashSet;

use crate::harness::TestServer;
use chrono::DateTime;
use hookmock::fixtures::Fixtures;
use hookmock::server::{Bound, Config};
use serde_json::{Value, json};

fn webhook_ids(list: &Value) -> Vec<String> {
    list["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|w| w["webhookId"].as_str().unwrap_or("-").to_owned())
        .collect()
}

#[tokio::test]
async fn every_tenant_starts_from_the_fixtures_and_changes_only_its_own_copy() {
    let server = TestServer::with_fixtures().await;
    let (_, a) = server
        .get("tenant-a", "/api/v1/webhooks?sortBy=id&sortDirection=ASC")
        .await;
    assert_eq!(webhook_ids(&a), ["wh_abc123", "wh_def456"]);

    let deleted = server
        .client("tenant-a")
        .delete(server.url("/api/v1/webhooks/wh_abc123"))
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        server.get("tenant-a", "/api/v1/webhooks/wh_abc123").await.0,
        404
    );
    assert_eq!(
        server.get("tenant-b", "/api/v1/webhooks/wh_abc123").await.0,
        200,
        "tenant B still has its copy"
    );

    // Every API has starting data.
    assert_eq!(
        server.get("tenant-c", "/api/v1/flows/12/webhooks").await.1["meta"]["total"],
        1
    );
    assert_eq!(
        server
            .get("tenant-c", "/webhooks")
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        server
            .get("tenant-c", "/api/v3/notification/webhooks")
            .await
            .1["data"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn another_tenants_resource_is_404_not_403() {
    let server = TestServer::start().await;
    let body = json!({"url": "https://a.example.com", "events": ["workorder.status.assigned"]});
    let (_, created) = server
        .call(
            Some("tenant-a"),
            reqwest::Method::POST,
            "/api/v1/webhooks",
            Some(body),
        )
        .await;
    let path = format!(
        "/api/v1/webhooks/{}",
        created["result"]["webhookId"].as_str().expect("an id")
    );
    assert_eq!(server.get("tenant-b", &path).await.0, 404);
    assert_eq!(
        server
            .client("tenant-b")
            .delete(server.url(&path))
            .send()
            .await
            .expect("sent")
            .status(),
        404
    );
    assert_eq!(
        server.get("tenant-a", &path).await.0,
        200,
        "tenant B's attempts changed nothing"
    );
}

#[tokio::test]
async fn fixtures_can_come_from_a_directory_and_a_broken_one_is_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("hookmock-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut fixture: Value =
        serde_json::from_str(include_str!("../../fixtures/fieldnation.json")).expect("JSON");
    fixture["webhooks"]
        .as_array_mut()
        .expect("webhooks")
        .truncate(1);
    fixture["webhooks"][0]["webhookId"] = json!("wh_from_dir");
    std::fs::write(dir.join("fieldnation.json"), fixture.to_string()).expect("written");

    let server = TestServer::with_config(Config {
        fixtures: Fixtures::Dir(dir.clone()),
        ..TestServer::config()
    })
    .await;
    assert_eq!(
        webhook_ids(&server.get("t", "/api/v1/webhooks").await.1),
        ["wh_from_dir"]
    );
    assert_eq!(
        server.get("t", "/webhooks").await.1,
        json!([]),
        "an API without a file starts empty"
    );

    std::fs::write(
        dir.join("elan.json"),
        "{\"subscriptions\": [{\"id\": \"x\"}]}",
    )
    .expect("written");
    let refused = Bound::new(&Config {
        fixtures: Fixtures::Dir(dir.clone()),
        ..TestServer::config()
    })
    .await;
    let message = refused.err().expect("refused").to_string();
    assert!(
        message.contains("elan.json") && message.contains("line 1"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn only_the_configured_tokens_are_accepted() {
    let config = Config {
        tokens: vec!["ci-token".to_owned()],
        ..TestServer::config()
    };
    let server = TestServer::with_config(config).await;
    assert_eq!(server.get("ci-token", "/api/v1/webhooks").await.0, 200);
    let (status, body) = server.get("ci-token-2", "/api/v1/webhooks").await;
    assert_eq!(status, 401);
    assert_eq!(
        body["errors"][0]["message"],
        "invalid or expired access token"
    );
}

/// The same requests against two servers in deterministic mode give the same bytes.
#[tokio::test]
async fn a_frozen_clock_makes_answers_byte_identical() {
    let clock = DateTime::parse_from_rfc3339("2025-01-15T10:30:00Z")
        .expect("a time")
        .to_utc();
    let mut transcripts = Vec::new();
    for _ in 0..2 {
        let server = TestServer::with_config(Config {
            clock: Some(clock),
            fixtures: Fixtures::Embedded,
            ..TestServer::config()
        })
        .await;
        let http = server.client("snapshot");
        let mut transcript = String::new();
        let requests = [
            (
                "/api/v1/webhooks",
                json!({"url": "https://a.example.com", "events": ["workorder.status.assigned"]}),
            ),
            (
                "/api/v3/notification/webhooks",
                json!({"data": {"type": "webhooks", "attributes": {"url": "https://b.example.com", "events": ["task.created"]}}}),
            ),
            ("/api/v1/flows/12/callbacks", json!({})),
            (
                "/webhooks",
                json!({"name": "n", "url": "https://c.example.com", "events": ["workflow.failed"]}),
            ),
        ];
        for (path, body) in requests {
            transcript += &http
                .post(server.url(path))
                .json(&body)
                .send()
                .await
                .expect("sent")
                .text()
                .await
                .expect("text");
            transcript += &http
                .get(server.url(path))
                .send()
                .await
                .expect("sent")
                .text()
                .await
                .expect("text");
        }
        transcripts.push(transcript.replace(&server.url, "BASE"));
    }
    assert!(
        transcripts[0].contains("2025-01-15T10:30:00Z"),
        "the frozen time is used"
    );
    assert_eq!(transcripts[0], transcripts[1]);
}

/// Writers creating, updating and deleting at once: no lost update, no reused ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_nothing_and_never_reuse_an_id() {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let server = TestServer::start().await;
    let url = server.url("/api/v1/webhooks");
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let (http, url) = (server.client("busy"), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            for n in 0..EACH {
                let body = json!({"url": format!("https://w{writer}.example.com/{n}"), "events": ["workorder.status.assigned"]});
                let created: Value = http.post(&url).json(&body).send().await.expect("sent").json().await.expect("JSON");
                let (id, webhook_id) = (created["result"]["id"].as_u64().expect("id"), created["result"]["webhookId"].as_str().expect("webhookId").to_owned());
                let item = format!("{url}/{webhook_id}");
                let update = json!({"notificationEmail": format!("w{writer}-{n}@example.com")});
                assert_eq!(http.put(&item).json(&update).send().await.expect("sent").status(), 200);
                if n % 5 == 0 {
                    assert_eq!(http.delete(&item).send().await.expect("sent").status(), 200);
                } else {
                    kept.push((id, webhook_id, format!("w{writer}-{n}@example.com")));
                }
            }
            kept
        }));
    }
    let mut expected = Vec::new();
    for task in tasks {
        expected.extend(task.await.expect("a writer"));
    }
    let ids: HashSet<u64> = expected.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids.len(), expected.len(), "no ID was handed out twice");

    let (_, all) = server
        .get("busy", "/api/v1/webhooks?perPage=100&page=1")
        .await;
    let (_, rest) = server
        .get("busy", "/api/v1/webhooks?perPage=100&page=2")
        .await;
    let listed: Vec<&Value> = all["result"]
        .as_array()
        .into_iter()
        .chain(rest["result"].as_array())
        .flatten()
        .collect();
    assert_eq!(
        all["metadata"]["total"].as_u64(),
        Some(expected.len() as u64)
    );
    for (_, webhook_id, email) in &expected {
        let found = listed
            .iter()
            .find(|w| w["webhookId"] == webhook_id.as_str())
            .expect("kept webhook listed");
        assert_eq!(
            found["notificationEmail"],
            email.as_str(),
            "its update was not lost"
        );
    }
}
