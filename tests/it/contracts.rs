//! The bundled documents are sound: they parse as OpenAPI 3.0, every `$ref` resolves, and every
//! example validates against its own schema.

use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::spec::json_schema::rewrite_nullable;
use hookmock::validate::Contracts;
use serde_json::{Value, json};

#[test]
fn every_document_parses_as_openapi_3_0() {
    assert_eq!(
        DOCUMENTS.len(),
        4,
        "patchworks, elan, ingedata and fieldnation are bundled"
    );
    for doc in DOCUMENTS {
        let spec: openapiv3::OpenAPI =
            serde_json::from_str(doc.source).unwrap_or_else(|e| panic!("{}: {e}", doc.api));
        assert!(
            spec.openapi.starts_with("3.0."),
            "{}: {}",
            doc.api,
            spec.openapi
        );
        for (path, method, op) in spec.operations() {
            assert!(
                op.operation_id.is_some(),
                "{}: {method} {path} has no operationId",
                doc.api
            );
        }
    }
}

#[test]
fn every_ref_resolves() {
    for doc in DOCUMENTS {
        let value: Value = serde_json::from_str(doc.source).expect("JSON");
        let mut refs = Vec::new();
        collect_refs(&value, &mut refs);
        assert!(!refs.is_empty(), "{} uses components", doc.api);
        for reference in refs {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{}: external $ref {reference}", doc.api));
            assert!(
                value.pointer(pointer).is_some(),
                "{}: $ref {reference} does not resolve",
                doc.api
            );
        }
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_example_validates_against_its_schema() {
    let mut checked = 0;
    for doc in DOCUMENTS {
        let value: Value = serde_json::from_str(doc.source).expect("JSON");
        let failures = example_failures(&value);
        assert!(failures.is_empty(), "{}:\n{}", doc.api, failures.join("\n"));
        checked += examples(&value, "").len();
    }
    assert!(checked > 40, "only {checked} examples found");
}

#[test]
fn the_example_check_catches_a_wrong_example() {
    let doc = DOCUMENTS
        .iter()
        .find(|d| d.api == "fieldnation")
        .expect("bundled");
    let mut value: Value = serde_json::from_str(doc.source).expect("JSON");
    let example = value
        .pointer_mut(
            "/paths/~1api~1v1~1webhooks/post/requestBody/content/application~1json/example",
        )
        .expect("the create example");
    example["url"] = json!(42);
    let failures = example_failures(&value);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("/url"), "{}", failures[0]);
}

/// Examples that do not validate, as `<pointer>: <instance path> <message>`.
fn example_failures(document: &Value) -> Vec<String> {
    let mut schema_doc = document.clone();
    rewrite_nullable(&mut schema_doc);
    let registry = jsonschema::Registry::new()
        .draft(jsonschema::Draft::Draft4)
        .add("urn:doc", schema_doc)
        .and_then(|b| b.prepare())
        .expect("registry");
    let mut failures = Vec::new();
    for (schema_pointer, example) in examples(document, "") {
        let fragment = schema_pointer.replace('{', "%7B").replace('}', "%7D");
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .with_registry(&registry)
            .should_validate_formats(true)
            .with_format("uuid", |s: &str| uuid::Uuid::parse_str(s).is_ok())
            .build(&json!({ "$ref": format!("urn:doc#{fragment}") }))
            .unwrap_or_else(|e| panic!("{schema_pointer}: {e}"));
        let mut example = example.clone();
        rewrite_nullable(&mut example);
        for error in validator.iter_errors(&example) {
            failures.push(format!(
                "{schema_pointer}: {} {error}",
                error.instance_path().as_str()
            ));
        }
    }
    failures
}

/// (pointer to a schema, example of it): media types and parameters with `schema` + `example`,
/// and schemas with an `example` of their own.
fn examples<'a>(value: &'a Value, pointer: &str) -> Vec<(String, &'a Value)> {
    let mut found = Vec::new();
    match value {
        Value::Object(map) => {
            if let Some(example) = map.get("example") {
                if map.contains_key("schema") {
                    found.push((format!("{pointer}/schema"), example));
                } else if map.contains_key("type") || map.contains_key("properties") {
                    found.push((pointer.to_owned(), example));
                }
            }
            for (key, child) in map {
                if key != "example" {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    found.extend(examples(child, &format!("{pointer}/{escaped}")));
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                found.extend(examples(child, &format!("{pointer}/{i}")));
            }
        }
        _ => {}
    }
    found
}

/// The check every test's responses pass through (see `harness`) does reject a wrong response.
#[test]
fn response_validation_rejects_what_the_document_does_not_allow() {
    let contracts = Contracts::compile(DOCUMENTS, OPERATIONS, true).expect("compiles");
    let create = OPERATIONS
        .iter()
        .position(|op| op.operation_id == "createWebhook")
        .expect("routed");
    let json = Some("application/json");
    let good = br#"{"metadata":{"timestamp":"2025-01-15T10:30:00Z"},"result":{"id":1,"webhookId":"wh_1","companyId":1,"userId":1,"url":"https://x","method":"post","status":"active","events":["e"],"modelProperties":[],"isIntegrationOnly":false,"createdAt":"2025-01-15T10:30:00Z","updatedAt":"2025-01-15T10:30:00Z"}}"#;
    assert_eq!(contracts.check_response(create, 200, json, good), []);

    let missing_status = String::from_utf8_lossy(good).replace(r#""status":"active","#, "");
    let problems = contracts.check_response(create, 200, json, missing_status.as_bytes());
    assert!(
        problems.iter().any(|p| p.describe().contains("status")),
        "{problems:?}"
    );
    assert!(
        !contracts
            .check_response(create, 200, Some("text/html"), good)
            .is_empty()
    );
    assert!(
        !contracts.check_response(create, 201, json, good).is_empty(),
        "201 is not documented"
    );
    let envelope = br#"{"metadata":{"timestamp":"2025-01-15T10:30:00Z","path":"/x"},"errors":[{"code":415,"message":"m"}],"result":{}}"#;
    assert_eq!(
        contracts.check_response(create, 415, json, envelope),
        [],
        "undocumented errors use the vendor's envelope"
    );
    assert!(
        !contracts
            .check_response(create, 415, json, br#"{"error":"m"}"#)
            .is_empty()
    );
}
