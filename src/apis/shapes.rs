//! The vendors' error shapes: how an [`ApiError`] is rendered for each bundled API, the one place
//! that knows Laravel's `{message, errors}`, Field Nation's envelope, JSON:API's `errors` and
//! FastAPI's `detail`. The HTTP edge renders every error once, through [`render`].

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::{ApiError, Location, Violation};

/// The error shapes of the bundled vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Patchworks (Laravel): `{message, errors: {field: [..]}}`, validation → 422.
    Laravel,
    /// Field Nation: `{metadata: {timestamp, path}, errors: [{code, message}], result: {}}`, validation → 400.
    FieldNation,
    /// Ingedata (JSON:API): `{errors: [{status, title, detail, source}]}`, body validation → 422, parameters → 400.
    JsonApi,
    /// ELAN (FastAPI): `{detail: "..."}`, validation → 422 `{detail: [{loc, msg, type}]}`.
    FastApi,
}

impl ErrorStyle {
    /// The `Content-Type` of this style's error bodies.
    pub fn media_type(self) -> &'static str {
        match self {
            ErrorStyle::JsonApi => "application/vnd.api+json",
            ErrorStyle::Laravel | ErrorStyle::FieldNation | ErrorStyle::FastApi => {
                "application/json"
            }
        }
    }
}

/// The status `error` answers with in `style`: the vendors differ only on validation errors.
fn status(error: &ApiError, style: ErrorStyle) -> StatusCode {
    match error {
        ApiError::Invalid(violations) => validation_status(style, violations),
        other => other.status(),
    }
}

fn validation_status(style: ErrorStyle, violations: &[Violation]) -> StatusCode {
    let only_body = violations
        .iter()
        .all(|v| matches!(v.location, Location::Body(_)));
    match style {
        ErrorStyle::FieldNation => StatusCode::BAD_REQUEST,
        ErrorStyle::JsonApi if !only_body => StatusCode::BAD_REQUEST,
        ErrorStyle::Laravel | ErrorStyle::JsonApi | ErrorStyle::FastApi => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// The status and body of `error` in `style`. `path` is the request path (Field Nation echoes it).
pub fn render(
    style: ErrorStyle,
    error: &ApiError,
    path: &str,
    now: DateTime<Utc>,
) -> (StatusCode, Value) {
    let status = status(error, style);
    let violations = match error {
        ApiError::Invalid(violations) => violations.as_slice(),
        _ => &[],
    };
    let body = match style {
        ErrorStyle::Laravel => laravel(error, violations),
        ErrorStyle::FieldNation => field_nation(error, violations, status, path, now),
        ErrorStyle::JsonApi => json_api(error, violations, status),
        ErrorStyle::FastApi => fast_api(error, violations),
    };
    (status, body)
}

fn laravel(error: &ApiError, violations: &[Violation]) -> Value {
    let Some(first) = violations.first() else {
        let message = match error {
            ApiError::Unauthenticated(_) => "Unauthenticated.".to_owned(),
            other => other.to_string(),
        };
        return json!({ "message": message });
    };
    let mut errors = serde_json::Map::new();
    for v in violations {
        let entry = errors
            .entry(laravel_key(&v.location))
            .or_insert_with(|| json!([]));
        if let Value::Array(messages) = entry {
            messages.push(Value::String(v.describe()));
        }
    }
    let more = match violations.len() - 1 {
        0 => String::new(),
        1 => " (and 1 more error)".to_owned(),
        n => format!(" (and {n} more errors)"),
    };
    json!({ "message": format!("{}{more}", first.describe()), "errors": errors })
}

/// Laravel names fields in dot notation: `/data/0/name` is `data.0.name`.
fn laravel_key(location: &Location) -> String {
    match location {
        Location::Body(pointer) if pointer.is_empty() => "body".to_owned(),
        Location::Body(pointer) => pointer.trim_start_matches('/').replace('/', "."),
        Location::Path(name) | Location::Query(name) | Location::Header(name) => name.clone(),
        Location::Status => "status".to_owned(),
    }
}

fn field_nation(
    error: &ApiError,
    violations: &[Violation],
    status: StatusCode,
    path: &str,
    now: DateTime<Utc>,
) -> Value {
    let code = status.as_u16();
    let errors: Vec<Value> = if violations.is_empty() {
        vec![json!({ "code": code, "message": error.to_string() })]
    } else {
        violations
            .iter()
            .map(|v| json!({ "code": code, "message": format!("Invalid request: {}", v.describe()), "field": field_name(&v.location) }))
            .collect()
    };
    json!({
        "metadata": { "timestamp": crate::clock::format(now), "path": path },
        "errors": errors,
        "result": {},
    })
}

/// The machine-readable location: a JSON pointer for the body, the name for a parameter.
fn field_name(location: &Location) -> String {
    match location {
        Location::Body(pointer) => pointer.clone(),
        Location::Path(name) | Location::Query(name) | Location::Header(name) => name.clone(),
        Location::Status => "status".to_owned(),
    }
}

fn json_api(error: &ApiError, violations: &[Violation], status: StatusCode) -> Value {
    let status_text = status.as_u16().to_string();
    let title = status.canonical_reason().unwrap_or("Error");
    if violations.is_empty() {
        return json!({ "errors": [{ "status": status_text, "title": title, "detail": error.to_string() }] });
    }
    let errors: Vec<Value> = violations
        .iter()
        .map(|v| {
            let source = match &v.location {
                Location::Body(pointer) => json!({ "pointer": pointer }),
                Location::Path(name) | Location::Query(name) => json!({ "parameter": name }),
                Location::Header(name) => json!({ "header": name }),
                Location::Status => json!({}),
            };
            json!({ "status": status_text, "title": title, "detail": v.describe(), "source": source })
        })
        .collect();
    json!({ "errors": errors })
}

fn fast_api(error: &ApiError, violations: &[Violation]) -> Value {
    if violations.is_empty() {
        let detail = match error {
            ApiError::Unauthenticated(_) => "Not authenticated".to_owned(),
            other => other.to_string(),
        };
        return json!({ "detail": detail });
    }
    let detail: Vec<Value> = violations
        .iter()
        .map(|v| json!({ "loc": fast_api_loc(&v.location), "msg": v.message, "type": fast_api_type(v) }))
        .collect();
    json!({ "detail": detail })
}

/// FastAPI's (pydantic's) error `type`: `missing` for a required field that is absent.
fn fast_api_type(violation: &Violation) -> &'static str {
    if violation.rule == "required" {
        "missing"
    } else {
        "value_error"
    }
}

/// FastAPI's `loc`: where the value came from, then the path to it.
fn fast_api_loc(location: &Location) -> Vec<String> {
    match location {
        Location::Body(pointer) => std::iter::once("body".to_owned())
            .chain(
                pointer
                    .split('/')
                    .skip(1)
                    .map(|s| crate::spec::unescape(s).into_owned()),
            )
            .collect(),
        Location::Path(name) => vec!["path".to_owned(), name.clone()],
        Location::Query(name) => vec!["query".to_owned(), name.clone()],
        Location::Header(name) => vec!["header".to_owned(), name.clone()],
        Location::Status => vec!["status".to_owned()],
    }
}
