//! Every operation of the four documents is routed: a request that passes validation reaches its
//! implementation.

use crate::harness::TestServer;
use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::spec::ParamIn;
use reqwest::Method;
use serde_json::Value;

/// A value that satisfies a parameter's schema: its example, first enum value, or a plain one.
fn sample(schema: &Value) -> String {
    if let Some(first) = schema
        .get("enum")
        .and_then(|e| e.get(0))
        .and_then(Value::as_str)
    {
        return first.to_owned();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") | Some("number") => "7".to_owned(),
        _ => "wh_abc123".to_owned(),
    }
}

#[tokio::test]
async fn every_operation_reaches_its_implementation() {
    let server = TestServer::start().await;
    let http = server.client("team-a");
    for op in OPERATIONS {
        let doc: Value = serde_json::from_str(
            DOCUMENTS
                .iter()
                .find(|d| d.api == op.api)
                .expect("doc")
                .source,
        )
        .expect("JSON");
        let mut path = op.path.to_owned();
        for p in op.params.iter().filter(|p| p.location == ParamIn::Path) {
            let schema = doc.pointer(p.schema).expect("schema");
            path = path.replace(&format!("{{{}}}", p.name), &sample(schema));
        }
        let mut request = http.request(
            Method::from_bytes(op.method.as_bytes()).expect("method"),
            server.url(&path),
        );
        if let Some(body) = op.body {
            let example_pointer = body.schema.trim_end_matches("/schema").to_owned() + "/example";
            let example = doc
                .pointer(&example_pointer)
                .unwrap_or_else(|| panic!("{}: no body example", op.operation_id));
            request = request
                .header("Content-Type", body.media_type)
                .body(example.to_string());
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let who = format!(
            "{} {} {path} → {status}: {text}",
            op.operation_id, op.method
        );
        assert!(
            ![400, 405, 413, 415, 422].contains(&status),
            "validation or routing refused it: {who}"
        );
        assert!(!text.contains("no route matches"), "not routed: {who}");
        assert_ne!(status, 501, "every operation is implemented: {who}");
    }
}
