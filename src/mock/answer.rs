//! Errors of a run-time document, in its own words: the response the operation documents for
//! the status (exact, its range such as `4XX`, or `default`), its fields filled with what went
//! wrong; where it documents none, RFC 9457 `application/problem+json` with one entry per
//! violation.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::{ApiError, Location, Violation};
use crate::shape::Shaper;
use crate::spec::Operation;

/// The problem details media type (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Status, media type and body of `error` for `operation` of `doc` (`None` when no operation
/// matched: a problem document).
pub fn documented_error(
    doc: Option<&Value>,
    operation: Option<&Operation>,
    error: &ApiError,
    now: DateTime<Utc>,
) -> (StatusCode, &'static str, Option<Value>) {
    let mut status = error.status();
    let violations = error.violations();
    if let (Some(op), ApiError::Invalid(_)) = (operation, error) {
        // A document that answers validation errors with 422 and never with 400 means 422.
        let has = |code: &str| op.responses.iter().any(|r| r.status == code);
        if has("422") && !has("400") {
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
    }
    let detail = error.to_string();
    let documented = operation.zip(doc).and_then(|(op, doc)| {
        let def = find(op, status.as_u16())?;
        let media_type = def.media_type.unwrap_or("application/json");
        let Some(schema) = def.schema.and_then(|p| doc.pointer(p)) else {
            return Some((media_type, None));
        };
        // An error without violations (a 404) is still one entry, not an empty list.
        let entries: Vec<Value> = if violations.is_empty() {
            vec![json!({
                "status": status.as_u16().to_string(),
                "title": status.canonical_reason().unwrap_or("Error"),
                "detail": detail,
                "message": detail,
            })]
        } else {
            violations
                .iter()
                .map(|v| documented_entry(v, status))
                .collect()
        };
        let source = json!({
            "code": status.as_u16(),
            "status": status.as_u16(),
            "statusCode": status.as_u16(),
            "message": detail,
            "error": detail,
            "detail": detail,
            "description": detail,
            "title": status.canonical_reason().unwrap_or("Error"),
            "name": status.canonical_reason().unwrap_or("Error"),
            "errors": entries,
        });
        Some((
            media_type,
            Some(Shaper::new(doc, now).fill(schema, Some(&source))),
        ))
    });
    if let Some((media_type, body)) = documented {
        return (status, crate::spec::intern(media_type), body);
    }
    let mut problem = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if !violations.is_empty() {
        problem["errors"] = violations.iter().map(entry).collect();
    }
    (status, PROBLEM_JSON, Some(problem))
}

/// The documented response of `op` for `status`: exact, then its range, then `default`.
fn find(op: &Operation, status: u16) -> Option<&crate::spec::ResponseDef> {
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    [exact.as_str(), range.as_str(), "default"]
        .iter()
        .find_map(|code| {
            op.responses
                .iter()
                .find(|r| r.status.eq_ignore_ascii_case(code))
        })
}

/// One violation as the source of a documented error's entry: [`entry`], and the same again in
/// the words other error formats use (JSON:API's `status` as text, `title`, `detail`,
/// `source.pointer`/`source.parameter`).
fn documented_entry(violation: &Violation, status: StatusCode) -> Value {
    let mut documented = entry(violation);
    documented["status"] = json!(status.as_u16().to_string());
    documented["title"] = json!(status.canonical_reason().unwrap_or("Error"));
    documented["detail"] = json!(violation.message);
    documented["source"] = match &violation.location {
        Location::Body(pointer) => json!({ "pointer": pointer }),
        Location::Path(name) | Location::Query(name) | Location::Header(name) => {
            json!({ "parameter": name })
        }
        Location::Status => json!({}),
    };
    documented
}

/// One violation as a problem entry: where (a JSON pointer or a parameter) and what.
fn entry(violation: &Violation) -> Value {
    let mut entry = json!({ "message": violation.message, "rule": violation.rule });
    match &violation.location {
        Location::Body(pointer) => entry["pointer"] = json!(pointer),
        Location::Path(name) | Location::Query(name) => {
            entry["parameter"] = json!(name);
            entry["in"] = json!(if matches!(violation.location, Location::Path(_)) {
                "path"
            } else {
                "query"
            });
        }
        Location::Header(name) => entry["header"] = json!(name),
        Location::Status => {}
    }
    entry
}
