//! Every error status that a document lists for an operation is one a client can actually get:
//! for each operation and each documented 4xx, the request that must produce it does.
//!
//! The success paths are the per-API modules' tests; this is the other half, over all four
//! documents at once, derived from the route table so a new operation is covered as it lands.

use crate::harness::TestServer;
use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::spec::{Operation, ParamIn};
use reqwest::Method;
use serde_json::Value;

/// Statuses no request can provoke from the stateful fake, and why.
const UNREACHABLE: &[(&str, &str)] = &[
    (
        "403",
        "hookmock has no permission model: another tenant's resource is a 404, as the vendors do",
    ),
    (
        "409",
        "needs a body that contradicts the path; ingedata::webhooks_are_json_api_resources covers it",
    ),
];

/// Path values that exist in the embedded fixtures, so only the part under test is wrong.
fn existing(name: &str) -> &'static str {
    match name {
        "flow" => "12",
        "webhook" => "41",
        "callback" => "7",
        "webhookId" => "wh_abc123",
        "attributeType" => "header",
        "attributeName" => "X-Custom-ID",
        _ => "12",
    }
}

fn document(api: &str) -> Value {
    let doc = DOCUMENTS.iter().find(|d| d.api == api).expect("bundled");
    serde_json::from_str(doc.source).expect("JSON")
}

/// The schema at `pointer`, `$ref`s followed.
fn schema<'a>(doc: &'a Value, pointer: &str) -> &'a Value {
    let mut schema = doc.pointer(pointer).expect("a schema");
    while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        schema = doc
            .pointer(reference.trim_start_matches('#'))
            .expect("the $ref resolves");
    }
    schema
}

/// A value that breaks `schema`, if its constraints allow one.
fn breaking(schema: &Value) -> Option<String> {
    if schema.get("type").and_then(Value::as_str) == Some("integer") {
        return Some("abc".to_owned());
    }
    if schema.get("enum").is_some() {
        return Some("zzz".to_owned());
    }
    let max = schema.get("maxLength").and_then(Value::as_u64)?;
    Some("x".repeat(usize::try_from(max).ok()? + 1))
}

/// How the request for one documented status differs from a valid one.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    NoCredential,
    MissingResource,
    MalformedJson,
    WrongBody,
    WrongMediaType,
    /// The parameter at this index of `op.params` gets a value its schema refuses.
    BadParam(usize),
}

fn fault_for(op: &Operation, doc: &Value, status: &str) -> Option<Fault> {
    let bad_param = || {
        op.params
            .iter()
            .position(|p| breaking(schema(doc, p.schema)).is_some())
            .map(Fault::BadParam)
    };
    match (status, op.body.is_some()) {
        ("401", _) => Some(Fault::NoCredential),
        ("404", _) => Some(Fault::MissingResource),
        ("415", _) => Some(Fault::WrongMediaType),
        ("400", true) => Some(Fault::MalformedJson),
        ("422", true) => Some(Fault::WrongBody),
        ("400" | "422", false) => bad_param(),
        _ => None,
    }
}

async fn send(server: &TestServer, op: &Operation, doc: &Value, fault: Fault) -> (u16, String) {
    let mut path = op.path.to_owned();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for (i, p) in op.params.iter().enumerate() {
        let value = match fault {
            Fault::BadParam(at) if at == i => breaking(schema(doc, p.schema)).expect("breakable"),
            Fault::MissingResource
                if p.location == ParamIn::Path && schema(doc, p.schema).get("enum").is_none() =>
            {
                "999999".to_owned()
            }
            _ if p.location == ParamIn::Path => existing(p.name).to_owned(),
            _ => continue,
        };
        match p.location {
            ParamIn::Path => path = path.replace(&format!("{{{}}}", p.name), &value),
            ParamIn::Query => query.push((p.name, value)),
            ParamIn::Header => headers.push((p.name, value)),
        }
    }
    let http = if fault == Fault::NoCredential {
        hookmock::wire::client()
    } else {
        server.client("documented-errors")
    };
    let mut request = http
        .request(
            Method::from_bytes(op.method.as_bytes()).expect("a method"),
            server.url(&path),
        )
        .query(&query);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(body) = op.body {
        let example = doc
            .pointer(&(body.schema.trim_end_matches("/schema").to_owned() + "/example"))
            .expect("a body example");
        let (media_type, text) = match fault {
            Fault::MalformedJson => (body.media_type, "{".to_owned()),
            Fault::WrongBody => (body.media_type, "[]".to_owned()),
            Fault::WrongMediaType => ("text/plain", example.to_string()),
            _ => (body.media_type, example.to_string()),
        };
        request = request.header("Content-Type", media_type).body(text);
    }
    let response = request.send().await.expect("sent");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn every_documented_error_status_is_produced_by_the_request_that_causes_it() {
    let server = TestServer::with_fixtures().await;
    let mut checked = 0;
    for op in OPERATIONS {
        let doc = document(op.api);
        for status in op
            .responses
            .iter()
            .map(|r| r.status)
            .filter(|s| s.starts_with('4'))
        {
            if UNREACHABLE.iter().any(|(s, _)| *s == status) {
                continue;
            }
            let fault = fault_for(op, &doc, status).unwrap_or_else(|| {
                panic!("{}: no way to provoke documented {status}", op.operation_id)
            });
            let (got, body) = send(&server, op, &doc, fault).await;
            assert_eq!(
                got.to_string(),
                status,
                "{} {}: {body}",
                op.operation_id,
                op.path
            );
            checked += 1;
        }
    }
    assert!(checked >= 70, "only {checked} documented errors checked");
}
