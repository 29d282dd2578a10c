//! A client that breaks the contract gets the vendor's error shape, with a status that says what
//! kind of mistake it is and a body that says where.

use crate::harness::TestServer;
use hookmock::server::Config;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_missing_or_empty_credential_is_401_in_each_vendors_shape() {
    let server = TestServer::start().await;
    let http = hookmock::wire::client();
    let cases = [
        (
            "/api/v1/webhooks",
            "/errors/0/message",
            "the Authorization header is missing",
        ),
        ("/api/v1/flows/12/webhooks", "/message", "Unauthenticated."),
        ("/api/v3/notification/webhooks", "/errors/0/status", "401"),
        ("/webhooks", "/detail", "Not authenticated"),
    ];
    for (path, pointer, expected) in cases {
        let response = http.get(server.url(path)).send().await.expect("sent");
        assert_eq!(response.status(), 401, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body.pointer(pointer).and_then(Value::as_str),
            Some(expected),
            "{path}: {body}"
        );
    }
    let empty = http
        .get(server.url("/api/v1/webhooks"))
        .header("Authorization", "Bearer ")
        .send()
        .await
        .expect("sent");
    assert_eq!(empty.status(), 401);
    let body: Value = empty.json().await.expect("JSON");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no credential")),
        "{body}"
    );
}

#[tokio::test]
async fn field_nation_names_each_violation_with_a_json_pointer() {
    let server = TestServer::start().await;
    let (status, body) = server
        .call(
            Some("team-a"),
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "https://x.example.com", "events": [], "status": "paused"})),
        )
        .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["/events", "/status"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid request: body /events:")),
        "{body}"
    );

    let (status, body) = server
        .call(
            Some("team-a"),
            Method::GET,
            "/api/v1/webhooks?perPage=500&sortBy=colour",
            None,
        )
        .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["sortBy", "perPage"], "{body}");
}

#[tokio::test]
async fn patchworks_answers_422_with_laravel_field_errors() {
    let server = TestServer::start().await;
    let body = json!({"status": "Live", "hmac_secret_key": "k".repeat(129)});
    let (status, body) = server
        .call(
            Some("team-a"),
            Method::PUT,
            "/api/v1/flows/12/webhooks/41",
            Some(body),
        )
        .await;
    assert_eq!(status, 422);
    let errors = body["errors"].as_object().expect("errors by field");
    assert!(
        errors.contains_key("status") && errors.contains_key("hmac_secret_key"),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("(and 1 more error)")),
        "{body}"
    );
}

#[tokio::test]
async fn ingedata_answers_json_api_errors_with_source_pointer_or_parameter() {
    let server = TestServer::start().await;
    let body = json!({"data": {"type": "webhooks", "attributes": {"url": "https://x.example.com", "events": ["no.such.event"]}}});
    let (status, body) = server
        .call(
            Some("team-a"),
            Method::POST,
            "/api/v3/notification/webhooks",
            Some(body),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"][0]["source"]["pointer"], "/data/attributes/events/0",
        "{body}"
    );
    assert_eq!(body["errors"][0]["status"], "422");

    let (status, body) = server
        .call(
            Some("team-a"),
            Method::GET,
            "/api/v3/notification/webhooks?page%5Bsize%5D=0",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["source"]["parameter"], "page[size]",
        "{body}"
    );
}

#[tokio::test]
async fn elan_answers_422_with_fastapi_locations() {
    let server = TestServer::start().await;
    let body = json!({"name": "", "url": "https://x.example.com", "events": ["workflow.paused"]});
    let (status, body) = server
        .call(Some("team-a"), Method::POST, "/webhooks", Some(body))
        .await;
    assert_eq!(status, 422);
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .expect("detail")
        .iter()
        .map(|d| &d["loc"])
        .collect();
    assert!(
        locs.contains(&&json!(["body", "name"])) && locs.contains(&&json!(["body", "events", "0"])),
        "{body}"
    );

    let (status, body) = server
        .call(Some("team-a"), Method::GET, "/webhooks/abc", None)
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["path", "subscription_id"]),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let server = TestServer::start().await;
    let response = server
        .client("team-a")
        .post(server.url("/api/v1/webhooks"))
        .header("Content-Type", "application/json")
        .body("{\n  \"url\": \"https://x.example.com\",,\n}")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("line 2, column 34"), "{message}");
}

#[tokio::test]
async fn a_wrong_content_type_is_415_and_json_api_accepts_plain_json() {
    let server = TestServer::start().await;
    let http = server.client("team-a");
    let response = http
        .post(server.url("/api/v1/webhooks"))
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("text/plain") && m.contains("application/json")),
        "{body}"
    );

    // Ingedata declares application/vnd.api+json; application/json passes the content-type check
    // and reaches validation (here: a valid body, so the implementation answers).
    let body = json!({"data": {"type": "webhooks", "attributes": {"url": "https://x.example.com", "events": ["task.completed"]}}});
    let response = http
        .post(server.url("/api/v3/notification/webhooks"))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_ne!(response.status(), 415);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.api+json"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let server = TestServer::with_config(Config {
        max_body: 64,
        ..TestServer::config()
    })
    .await;
    let body = json!({"url": format!("https://{}.example.com", "x".repeat(100)), "events": ["a"]});
    let (status, body) = server
        .call(Some("team-a"), Method::POST, "/api/v1/webhooks", Some(body))
        .await;
    assert_eq!(status, 413);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("64 bytes")),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_path_is_404_naming_the_closest_routes() {
    let server = TestServer::start().await;
    let (status, body) = server
        .call(Some("team-a"), Method::GET, "/api/v1/webhookz", None)
        .await;
    assert_eq!(status, 404);
    let message = body["errors"][0]["message"]
        .as_str()
        .expect("Field Nation's shape: the closest route is theirs");
    assert!(
        message.contains("closest routes: GET|POST /api/v1/webhooks"),
        "{message}"
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let server = TestServer::start().await;
    let response = server
        .client("team-a")
        .patch(server.url("/api/v1/webhooks"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
}

#[tokio::test]
async fn cors_preflights_are_answered_unless_turned_off() {
    let preflight = |server: &TestServer| {
        hookmock::wire::client()
            .request(Method::OPTIONS, server.url("/api/v1/webhooks"))
            .header("Origin", "http://localhost:3000")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let server = TestServer::start().await;
    let response = preflight(&server).await.expect("sent");
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );

    let server = TestServer::with_config(Config {
        cors: false,
        ..TestServer::config()
    })
    .await;
    let response = preflight(&server).await.expect("sent");
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

/// A missing required field is located at the field itself, in every vendor's shape.
#[tokio::test]
async fn a_missing_field_is_located_at_the_field() {
    let server = TestServer::start().await;
    let (status, elan) = server
        .call(
            Some("t"),
            Method::POST,
            "/webhooks",
            Some(json!({"url": "https://x.example.com", "events": ["workflow.completed"]})),
        )
        .await;
    assert_eq!(status, 422, "{elan}");
    assert_eq!(elan["detail"][0]["loc"], json!(["body", "name"]), "{elan}");
    assert_eq!(elan["detail"][0]["type"], "missing", "{elan}");

    let (status, fieldnation) = server
        .call(
            Some("t"),
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "https://x.example.com"})),
        )
        .await;
    assert_eq!(status, 400, "{fieldnation}");
    assert_eq!(
        fieldnation["errors"][0]["field"], "/events",
        "{fieldnation}"
    );

    let (status, ingedata) = server
        .call(
            Some("t"),
            Method::POST,
            "/api/v3/notification/webhooks",
            Some(
                json!({"data": {"type": "webhooks", "attributes": {"events": ["task.completed"]}}}),
            ),
        )
        .await;
    assert_eq!(status, 422, "{ingedata}");
    assert_eq!(
        ingedata["errors"][0]["source"]["pointer"], "/data/attributes/url",
        "{ingedata}"
    );
}
