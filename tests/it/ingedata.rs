//! A data team manages Ingedata notification webhooks the JSON:API way, with a client generated
//! from the document.

use crate::clients::ingedata::types;
use crate::harness::{TestServer, error_status};
use serde_json::{Value, json};

fn create_body(attributes: Value) -> types::WebhookCreateDocument {
    serde_json::from_value(json!({"data": {"type": "webhooks", "attributes": attributes}}))
        .expect("a create document")
}

fn update_body(data: Value) -> types::WebhookUpdateDocument {
    serde_json::from_value(json!({ "data": data })).expect("an update document")
}

fn id(n: u64) -> std::num::NonZeroU64 {
    std::num::NonZeroU64::new(n).expect("non-zero")
}

#[tokio::test]
async fn webhooks_are_json_api_resources() {
    let server = TestServer::start().await;
    let client = server.ingedata("inge-token");
    let created = client
        .create_notification_webhook(&create_body(json!({"name": "QA", "url": "https://hooks.example.com/qa", "events": ["task.completed"]})))
        .await
        .expect("created");
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(
        created.headers()["content-type"],
        "application/vnd.api+json"
    );
    let resource = created.into_inner().data;
    assert_eq!(resource.type_, types::WebhookResourceType::Webhooks);
    let attributes = resource.attributes.expect("attributes");
    assert!(
        attributes
            .secret
            .as_deref()
            .is_some_and(|s| s.starts_with("whsec_")),
        "a Standard Webhooks secret is generated"
    );
    let n: u64 = resource.id.parse().expect("a numeric id");
    assert_eq!(attributes.id, Some(n as i64));

    let sparse: Value = server
        .get(
            "inge-token",
            &format!("/api/v3/notification/webhooks/{n}?fields%5Bwebhooks%5D=name,url"),
        )
        .await
        .1;
    assert_eq!(
        sparse["data"]["attributes"],
        json!({"name": "QA", "url": "https://hooks.example.com/qa"})
    );

    let patched = client
        .update_notification_webhook(
            id(n),
            &update_body(
                json!({"type": "webhooks", "id": n.to_string(), "attributes": {"name": "QA v2"}}),
            ),
        )
        .await
        .expect("patched")
        .into_inner()
        .data
        .attributes
        .expect("attributes");
    assert_eq!(patched.name.as_deref().map(String::as_str), Some("QA v2"));
    assert_eq!(
        patched.url.as_deref().map(String::as_str),
        Some("https://hooks.example.com/qa"),
        "only the attributes sent change"
    );

    let conflict = client
        .update_notification_webhook(
            id(n),
            &update_body(json!({"type": "webhooks", "id": "999", "attributes": {}})),
        )
        .await;
    assert_eq!(error_status(conflict), 409);

    assert_eq!(
        client
            .delete_notification_webhook(id(n))
            .await
            .expect("deleted")
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        error_status(client.get_notification_webhook(id(n), None, None).await),
        404
    );
    assert_eq!(
        error_status(client.delete_notification_webhook(id(n)).await),
        404
    );
}

#[tokio::test]
async fn lists_sort_filter_count_and_page_with_links() {
    let server = TestServer::start().await;
    let client = server.ingedata("inge-token");
    for (name, event) in [
        ("alpha", "task.created"),
        ("beta", "task.completed"),
        ("gamma", "task.completed"),
    ] {
        let body = create_body(
            json!({"name": name, "url": format!("https://{name}.example.com"), "events": [event]}),
        );
        client
            .create_notification_webhook(&body)
            .await
            .expect("created");
    }
    let http = server.client("inge-token");
    let names = |doc: &Value| {
        doc["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|r| r["attributes"]["name"].as_str().unwrap_or("-").to_owned())
            .collect::<Vec<_>>()
    };

    assert_eq!(
        names(
            &server
                .get("inge-token", "/api/v3/notification/webhooks?sort=-name")
                .await
                .1
        ),
        ["gamma", "beta", "alpha"]
    );
    assert_eq!(
        names(
            &server
                .get(
                    "inge-token",
                    "/api/v3/notification/webhooks?filter%5Bevents%5D=task.completed&sort=name"
                )
                .await
                .1
        ),
        ["beta", "gamma"]
    );
    assert_eq!(
        names(
            &server
                .get(
                    "inge-token",
                    "/api/v3/notification/webhooks?filter%5Bname%5D=ALP"
                )
                .await
                .1
        ),
        ["alpha"]
    );

    let page = server.get("inge-token", "/api/v3/notification/webhooks?sort=name&page%5Bsize%5D=1&page%5Bnumber%5D=2&count=true").await.1;
    assert_eq!(names(&page), ["beta"]);
    assert_eq!(page["meta"]["count"], 3);
    // A page link is the request's own path, as the document's example writes it (no
    // scheme or host), its position replaced and every other parameter kept (in any order,
    // encoded or not).
    let link = |name: &str| {
        let link = page["links"][name].as_str().expect("a link");
        assert!(link.starts_with("/api/v3/"), "{link}");
        let url = reqwest::Url::parse(&format!("http://any{link}")).expect("a URL");
        let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        pairs.sort();
        (url.path().to_owned(), pairs)
    };
    let expected = |number: &str| {
        let mut pairs: Vec<(String, String)> = [
            ("count", "true"),
            ("page[number]", number),
            ("page[size]", "1"),
            ("sort", "name"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        pairs.sort();
        ("/api/v3/notification/webhooks".to_owned(), pairs)
    };
    assert_eq!(link("next"), expected("3"));
    assert_eq!(link("prev"), expected("1"));
    assert!(
        server
            .get("inge-token", "/api/v3/notification/webhooks?")
            .await
            .1
            .get("meta")
            .is_none(),
        "meta.count only when count=true"
    );

    let response = http
        .get(server.url("/api/v3/notification/webhooks?sort=colour"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["source"]["parameter"], "sort");
}

#[tokio::test]
async fn the_events_endpoint_lists_what_can_be_subscribed_to() {
    let server = TestServer::start().await;
    let events = server
        .ingedata("inge-token")
        .list_notification_webhook_events()
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(events.data.len(), 10);
    assert!(
        events
            .data
            .iter()
            .all(|e| e.attributes.name == e.id && !e.attributes.description.is_empty())
    );
    assert_eq!(
        error_status(
            server
                .ingedata("inge-token")
                .test_notification_webhook(id(999))
                .await
        ),
        404
    );
}

/// Every filter the seed lists works: each one narrows the list to the webhook it describes.
#[tokio::test]
async fn every_filter_the_seed_lists_works() {
    let server = TestServer::start().await;
    let create = |name: &str, secret: &str, scopes: Value, event: &str| json!({"data": {"type": "webhooks", "attributes": {"name": name, "url": format!("https://{name}.example.com"), "secret": secret, "scopes": scopes, "events": [event]}}});
    let mut ids = Vec::new();
    for body in [
        create(
            "alpha",
            "my secret!",
            json!({"project": "p1", "level": 2}),
            "task.created",
        ),
        create(
            "beta",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            json!({}),
            "task.completed",
        ),
    ] {
        let (status, created) = server
            .call(
                Some("inge"),
                reqwest::Method::POST,
                "/api/v3/notification/webhooks",
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["data"]["id"].as_str().expect("an id").to_owned());
    }
    let (_, all) = server.get("inge", "/api/v3/notification/webhooks").await;
    let account = all["data"][0]["attributes"]["account_id"].to_string();
    let today = &all["data"][0]["attributes"]["created_at"]
        .as_str()
        .expect("a time")[..10];
    let names = |doc: &Value| -> Vec<String> {
        doc["data"]
            .as_array()
            .unwrap_or_else(|| panic!("a list: {doc}"))
            .iter()
            .map(|r| r["attributes"]["name"].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    let alpha_id = format!("id%5D={}", ids[0]);
    let account = format!("account_id%5D={account}");
    let created_at = format!("created_at%5D={today}");
    let updated_at = format!("updated_at%5D={today}");
    for (filter, expected) in [
        (alpha_id.as_str(), vec!["alpha"]),
        (account.as_str(), vec!["alpha", "beta"]),
        ("account_id%5D=1", vec![]),
        ("name%5D=ALP", vec!["alpha"]),
        ("url%5D=beta.example", vec!["beta"]),
        ("secret%5D=my%20secret!", vec!["alpha"]),
        ("secret%5D=my", vec![]),
        ("events%5D=task.completed", vec!["beta"]),
        ("scopes%5D=project", vec!["alpha"]),
        ("scopes%5D=project:p1", vec!["alpha"]),
        ("scopes%5D=level:2", vec!["alpha"]),
        ("scopes%5D=project:p2", vec![]),
        (created_at.as_str(), vec!["alpha", "beta"]),
        (updated_at.as_str(), vec!["alpha", "beta"]),
        ("created_at%5D=1999-01-01", vec![]),
    ] {
        let path = format!("/api/v3/notification/webhooks?filter%5B{filter}");
        let (status, doc) = server.get("inge", &path).await;
        assert_eq!(status, 200, "{path}: {doc}");
        assert_eq!(names(&doc), expected, "{path}");
    }
}

/// `null` clears the name; an absent name keeps it.
#[tokio::test]
async fn null_clears_the_name_and_absent_keeps_it() {
    let server = TestServer::start().await;
    let body = json!({"data": {"type": "webhooks", "attributes": {"name": "named", "url": "https://n.example.com", "events": ["task.created"]}}});
    let (_, created) = server
        .call(
            Some("inge"),
            reqwest::Method::POST,
            "/api/v3/notification/webhooks",
            Some(body),
        )
        .await;
    let path = format!(
        "/api/v3/notification/webhooks/{}",
        created["data"]["id"].as_str().expect("an id")
    );
    let patch = |attributes: Value| {
        let (server, path) = (&server, &path);
        async move {
            server
                .call(
                    Some("inge"),
                    reqwest::Method::PATCH,
                    path,
                    Some(json!({"data": {"type": "webhooks", "attributes": attributes}})),
                )
                .await
        }
    };
    let (status, kept) = patch(json!({"url": "https://m.example.com"})).await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["data"]["attributes"]["name"], "named");
    let (status, cleared) = patch(json!({"name": null})).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["data"]["attributes"]["name"], Value::Null);
}
