//! Chosen responses, as Stoplight Prism has them: `Prefer: code=404` answers with that documented
//! response of the operation (its example, else a body generated from its schema) instead of
//! the stateful behaviour; `Prefer: example=NAME` picks a named example. Without the header the
//! stateful fake answers.

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ApiError;
use crate::request::Reply;
use crate::shape::Shaper;
use crate::spec::Operation;

/// What a `Prefer` header asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Preference {
    pub code: Option<String>,
    pub example: Option<String>,
}

/// The preference in `headers`, if any. Unknown preferences (`return=minimal`, …) are ignored,
/// as RFC 7240 says.
pub fn requested(headers: &HeaderMap) -> Option<Preference> {
    let mut preference = Preference::default();
    for value in headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for part in value.split([',', ';']).map(str::trim) {
            match part.split_once('=') {
                Some(("code", code)) => preference.code = Some(code.trim_matches('"').to_owned()),
                Some(("example", name)) => {
                    preference.example = Some(name.trim_matches('"').to_owned())
                }
                _ => {}
            }
        }
    }
    (preference != Preference::default()).then_some(preference)
}

/// The documented response `preference` picks, from `doc` (the operation's document).
pub fn respond(
    doc: &Value,
    op: &Operation,
    preference: &Preference,
    now: DateTime<Utc>,
) -> Result<Reply, ApiError> {
    let documented: Vec<&str> = op.responses.iter().map(|r| r.status).collect();
    let refuse = |what: String| {
        ApiError::BadPreference(format!(
            "{what}; {} documents: {}",
            op.operation_id,
            documented.join(", ")
        ))
    };
    let code = match &preference.code {
        Some(code) => code.clone(),
        None => documented
            .iter()
            .find(|c| c.starts_with('2'))
            .map(|c| (*c).to_owned())
            .ok_or_else(|| refuse("no success response".to_owned()))?,
    };
    let response = op
        .responses
        .iter()
        .find(|r| r.status == code)
        .ok_or_else(|| refuse(format!("Prefer: code={code} is not documented")))?;
    let status = code
        .parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| refuse(format!("code={code} is not a status")))?;
    let Some(schema_pointer) = response.schema else {
        return Ok(Reply { status, body: None });
    };
    let media = schema_pointer
        .strip_suffix("/schema")
        .and_then(|p| doc.pointer(p))
        .unwrap_or(&Value::Null);
    let body = match &preference.example {
        Some(name) => {
            let examples = media.get("examples").and_then(Value::as_object);
            let named = examples
                .and_then(|e| e.get(name))
                .and_then(|e| e.get("value"));
            let names: Vec<&str> = examples
                .into_iter()
                .flatten()
                .map(|(k, _)| k.as_str())
                .collect();
            named.cloned().ok_or_else(|| {
                let available = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
                ApiError::BadPreference(format!("Prefer: example={name} is not an example of {} {code}; named examples: {available}", op.operation_id))
            })?
        }
        None => match media.get("example") {
            Some(example) => example.clone(),
            None => {
                Shaper::new(doc, now).generate(doc.pointer(schema_pointer).unwrap_or(&Value::Null))
            }
        },
    };
    Reply::json(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{DOCUMENTS, OPERATIONS};
    use crate::validate::Contracts;

    /// Every documented response of every operation, generated from its schema alone, fits it.
    #[test]
    fn generated_bodies_fit_every_documented_response_schema() {
        let contracts = Contracts::compile(DOCUMENTS, OPERATIONS, true).expect("compiles");
        let mut checked = 0;
        for (index, op) in OPERATIONS.iter().enumerate() {
            let doc: Value = serde_json::from_str(
                DOCUMENTS
                    .iter()
                    .find(|d| d.api == op.api)
                    .expect("bundled")
                    .source,
            )
            .expect("JSON");
            for response in op
                .responses
                .iter()
                .filter(|r| r.schema.is_some() && r.status.parse::<u16>().is_ok())
            {
                let schema = response.schema.and_then(|p| doc.pointer(p));
                let shaper = Shaper::new(&doc, chrono::Utc::now());
                let body = shaper.generate(schema.unwrap_or(&Value::Null));
                let bytes = serde_json::to_vec(&body).expect("serialises");
                let status = response.status.parse().expect("numeric");
                let problems = contracts.check_response(index, status, response.media_type, &bytes);
                assert!(
                    problems.is_empty(),
                    "{} {}: {body} → {problems:?}",
                    op.operation_id,
                    response.status
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} responses");
    }

    #[test]
    fn the_prefer_header_is_read_as_rfc_7240_writes_it() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "prefer",
            "code=404, example=\"missing\"".parse().expect("a header"),
        );
        assert_eq!(
            requested(&headers),
            Some(Preference {
                code: Some("404".to_owned()),
                example: Some("missing".to_owned())
            })
        );
        headers.insert("prefer", "return=minimal".parse().expect("a header"));
        assert_eq!(requested(&headers), None);
    }
}
