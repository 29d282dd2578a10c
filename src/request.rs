//! What a vendor implementation receives, a request that passed validation, and what it returns.

use axum::http::{HeaderValue, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, Violation};
use crate::spec::Operation;

/// Parameters by their names in the document. An operation declares a handful, so a scan
/// beats hashing the name (SipHash was 4% of a small list's instructions).
pub type Params = Vec<(&'static str, Value)>;

/// A request that matched an operation and passed its contract. Parameters are already coerced
/// to their schema types (`"2"` is the integer 2 when the schema says integer).
#[derive(Debug)]
pub struct Request {
    pub operation: &'static Operation,
    /// The credential in `Authorization`, without its scheme: the tenant whose data this touches.
    pub tenant: String,
    /// The `Host` the client addressed, for absolute links ([`Self::base_url`]).
    pub(crate) host: Option<HeaderValue>,
    /// The request path as sent, e.g. `/api/v1/webhooks/wh_abc123`.
    pub path: String,
    /// The query string as sent (undecoded), for links that keep the client's parameters.
    pub query: Option<String>,
    pub(crate) params: Params,
    pub(crate) body: Option<Value>,
}

impl Request {
    /// A declared parameter (path, query or header) by its name in the document.
    pub fn param(&self, name: &str) -> Option<&Value> {
        self.params
            .iter()
            .find(|(declared, _)| *declared == name)
            .map(|(_, value)| value)
    }

    pub fn param_str(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(Value::as_str)
    }

    /// The comma-separated field names of the parameter `name` (a sparse fieldset,
    /// `fields=id,url`), each one of `known` (an empty `known` takes any); an unknown one is
    /// refused naming the parameter and the names it may use.
    pub fn field_list(&self, name: &str, known: &[&str]) -> Result<Option<Vec<String>>, ApiError> {
        let Some(text) = self.param_str(name) else {
            return Ok(None);
        };
        let names: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        let unknown: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !known.is_empty() && !known.contains(n))
            .collect();
        if unknown.is_empty() {
            return Ok(Some(names));
        }
        Err(ApiError::Invalid(vec![Violation::new(
            crate::error::Location::Query(name.to_owned()),
            "fields",
            format!(
                "unknown field(s) {}; known: {}",
                unknown.join(", "),
                known.join(", ")
            ),
        )]))
    }

    /// An integer parameter; one too large for i64 (the schema allowed it) saturates.
    pub fn param_i64(&self, name: &str) -> Option<i64> {
        let value = self.param(name)?;
        value
            .as_i64()
            .or_else(|| value.as_u64().map(|_| i64::MAX))
            .or_else(|| value.as_f64().map(|f| f as i64))
    }

    pub fn param_bool(&self, name: &str) -> Option<bool> {
        self.param(name).and_then(Value::as_bool)
    }

    /// `http://host[:port]` as the client addressed the server (hookmock serves plain HTTP),
    /// for absolute links. Built on demand: few answers carry one.
    pub fn base_url(&self) -> String {
        let host = self.host.as_ref().and_then(|h| h.to_str().ok());
        format!("http://{}", host.unwrap_or("127.0.0.1"))
    }

    pub fn body(&self) -> Option<&Value> {
        self.body.as_ref()
    }

    /// The body as the generated type of its schema. It already passed the schema, so a failure
    /// here means the generated type is stricter than the validator; the client is told why.
    pub fn typed_body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body = self.body.as_ref().unwrap_or(&Value::Null);
        T::deserialize(body)
            .map_err(|e| ApiError::Invalid(vec![Violation::body("", e.to_string())]))
    }
}

/// The buffer an answer is serialised into starts this large.
const INITIAL_CAPACITY: usize = 2048;

/// `body` as JSON text.
pub fn to_json(body: &impl Serialize) -> Result<Vec<u8>, ApiError> {
    // Most answers fit: growing the buffer from a small start copied it several times.
    let mut bytes = Vec::with_capacity(INITIAL_CAPACITY);
    serde_json::to_writer(&mut bytes, body).map_err(|e| ApiError::Unserializable(e.to_string()))?;
    Ok(bytes)
}

/// A successful answer, its body already JSON text. Implementations serialise the borrowed
/// records they show straight into it: building a `serde_json::Value` tree first and
/// serialising that cost a fifth of a list's time (see benches/RESULTS.md).
/// Its `Content-Type` is the one the document declares for its status.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Vec<u8>>,
}

impl Reply {
    /// `body` as JSON with `status`.
    pub fn json(status: StatusCode, body: &impl Serialize) -> Result<Self, ApiError> {
        Ok(Self {
            status,
            body: Some(to_json(body)?),
        })
    }

    pub fn ok(body: &impl Serialize) -> Result<Self, ApiError> {
        Self::json(StatusCode::OK, body)
    }

    pub fn created(body: &impl Serialize) -> Result<Self, ApiError> {
        Self::json(StatusCode::CREATED, body)
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
        }
    }
}

/// What an update says of one nullable field, the rule every API's updates follow: a field that
/// is absent keeps its value, `null` clears it, anything else sets it. The generated types
/// cannot say this (nullable and optional collapse into one `Option`), so updates read such
/// fields as `#[serde(default)] field: Change<T>` from the raw body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    /// Applies the change to a stored nullable value.
    pub fn apply(self, stored: &mut Option<T>) {
        match self {
            Change::Keep => {}
            Change::Clear => *stored = None,
            Change::Set(value) => *stored = Some(value),
        }
    }

    /// The value the field has once the change is applied to `stored`.
    pub fn resolve<'a>(&'a self, stored: Option<&'a T>) -> Option<&'a T> {
        match self {
            Change::Keep => stored,
            Change::Clear => None,
            Change::Set(value) => Some(value),
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Change<T> {
    /// Only called for a field that is present: `null` clears, a value sets. An absent field
    /// takes the `Default`, [`Change::Keep`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Change::Clear,
            Some(value) => Change::Set(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Change;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    struct Update {
        #[serde(default)]
        email: Change<String>,
    }

    #[test]
    fn absent_keeps_null_clears_a_value_sets() {
        let read = |body| {
            serde_json::from_value::<Update>(body)
                .expect("an update")
                .email
        };
        let stored = || Some("a@example.com".to_owned());
        let mut kept = stored();
        read(json!({})).apply(&mut kept);
        assert_eq!(kept, stored());
        let mut cleared = stored();
        read(json!({"email": null})).apply(&mut cleared);
        assert_eq!(cleared, None);
        let mut set = stored();
        read(json!({"email": "b@example.com"})).apply(&mut set);
        assert_eq!(set.as_deref(), Some("b@example.com"));
    }
}
