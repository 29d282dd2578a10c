//! The HTTP edge's error: everything that ends a request before or instead of a normal reply.
//!
//! Validation, routing and the vendor implementations all produce an [`ApiError`]; the HTTP edge
//! turns it into a response exactly once, in the error shape of the API that was called
//! (`apis::shapes`, where the vendors' shapes are).

use std::fmt;

use axum::http::StatusCode;

/// Where in a request a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A JSON pointer into the body (`""` is the whole body).
    Body(String),
    Path(String),
    Query(String),
    Header(String),
    /// The status code of a response (response validation only).
    Status,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Body(pointer) if pointer.is_empty() => f.write_str("body"),
            Location::Body(pointer) => write!(f, "body {pointer}"),
            Location::Path(name) => write!(f, "path parameter `{name}`"),
            Location::Query(name) => write!(f, "query parameter `{name}`"),
            Location::Header(name) => write!(f, "header `{name}`"),
            Location::Status => f.write_str("response status"),
        }
    }
}

/// One way a request (or an answer) breaks its contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub location: Location,
    /// The rule broken: a JSON Schema keyword (`type`, `required`, …) or hookmock's name for a
    /// rule of its own (`vendor`, `media-type`, …).
    pub rule: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    /// What was expected and what was found, e.g. `"ftp://x" is not a "uri"`.
    pub message: String,
}

impl Violation {
    pub fn new(location: Location, rule: &str, message: impl Into<String>) -> Self {
        Self {
            location,
            rule: rule.to_owned(),
            expected: None,
            found: None,
            message: message.into(),
        }
    }

    /// A rule of the vendor's that the document does not spell out (HTTPS URLs, …).
    pub fn body(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Location::Body(pointer.into()), "vendor", message)
    }

    /// A JSON Schema error, with its keyword, what the schema wanted and what it found.
    pub fn schema(location: Location, error: &jsonschema::ValidationError<'_>) -> Self {
        use jsonschema::error::ValidationErrorKind as Kind;
        let expected = match error.kind() {
            Kind::Type { kind } => Some(format!("type {kind:?}")),
            Kind::Enum { options } => Some(format!("one of {options}")),
            Kind::Required { property } => Some(format!("property {property}")),
            Kind::Format { format } => Some(format!("format {format}")),
            Kind::Minimum { limit } | Kind::ExclusiveMinimum { limit } => {
                Some(format!("at least {limit}"))
            }
            Kind::Maximum { limit } | Kind::ExclusiveMaximum { limit } => {
                Some(format!("at most {limit}"))
            }
            Kind::MinLength { limit }
            | Kind::MinItems { limit }
            | Kind::MinProperties { limit } => Some(format!("at least {limit}")),
            Kind::MaxLength { limit }
            | Kind::MaxItems { limit }
            | Kind::MaxProperties { limit } => Some(format!("at most {limit}")),
            Kind::Pattern { pattern } => Some(format!("pattern {pattern}")),
            Kind::AdditionalProperties { unexpected } => {
                Some(format!("no property {}", unexpected.join(", ")))
            }
            _ => None,
        };
        let mut found = error.instance().to_string();
        if found.chars().count() > 200 {
            found = format!("{}…", found.chars().take(200).collect::<String>());
        }
        // A missing property is located at the property, not at the object that lacks it:
        // FastAPI says `["body", "name"]`, JSON:API `/data/attributes/name`.
        let location = match (error.kind(), location) {
            (Kind::Required { property }, Location::Body(pointer)) => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                Location::Body(format!(
                    "{pointer}/{}",
                    name.replace('~', "~0").replace('/', "~1")
                ))
            }
            (_, location) => location,
        };
        // jsonschema names two options and counts the rest; a client needs them all.
        let message = match error.kind() {
            Kind::Enum { options } => format!("{found} is not one of {options}"),
            _ => error.to_string(),
        };
        Self {
            location,
            rule: error.kind().keyword().to_owned(),
            expected,
            found: Some(found),
            message,
        }
    }

    /// `<location>: <message>`, the form every error shape uses in its human-readable text.
    pub fn describe(&self) -> String {
        format!("{}: {}", self.location, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("the request does not match the API contract: {}", describe_all(.0))]
    Invalid(Vec<Violation>),
    #[error("malformed JSON at line {line}, column {column}: {reason}")]
    MalformedJson {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("unsupported Content-Type {found:?}; this operation accepts {expected}")]
    UnsupportedMediaType {
        found: String,
        expected: &'static str,
    },
    #[error("the request body could not be read: {0}")]
    BodyUnreadable(String),
    #[error("the request headers take {size} bytes; the limit is {limit}")]
    HeadersTooLarge { size: usize, limit: usize },
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body did not arrive within {0:?} (--body-timeout)")]
    BodyTimedOut(std::time::Duration),
    /// A resource the vendor would not find (unknown ID, another tenant's ID).
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the resource's state (JSON:API: `data.id` differs from the path).
    #[error("{0}")]
    Conflict(String),
    #[error("no route matches {method} {path}{}", closest_hint(.closest))]
    NoRoute {
        method: String,
        path: String,
        closest: Vec<String>,
    },
    #[error("{method} is not allowed on {path}; allowed: {}", .allow.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: Vec<&'static str>,
    },
    /// A fault rule (`PUT /__admin/faults`) answered this status instead of the fake.
    #[error("injected fault: HTTP {0} (a rule of PUT /__admin/faults)")]
    Injected(u16),
    /// A `Prefer` header asks for a response the operation does not document.
    #[error("{0}")]
    BadPreference(String),
    /// A dependency of the answer is overloaded (the delivery queue is full).
    #[error("{0}")]
    Unavailable(String),
    /// An answer that JSON cannot represent (a map with non-string keys): a bug of ours.
    #[error("the answer could not be serialised as JSON: {0}")]
    Unserializable(String),
    /// Only reachable if the generated dispatch and the route table disagree.
    #[error("operation #{0} is not in the route table")]
    UnknownOperation(usize),
}

fn describe_all(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

fn closest_hint(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!("; closest routes: {}", closest.join(", "))
    }
}

impl ApiError {
    /// The status this error answers with, where an API's shape does not say otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Invalid(_)
            | ApiError::MalformedJson { .. }
            | ApiError::BodyUnreadable(_)
            | ApiError::BadPreference(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::NotFound(_) | ApiError::NoRoute { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Injected(status) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::UnknownOperation(_) | ApiError::Unserializable(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The ways this error says the request broke its contract (none for the errors that are
    /// not about the contract: unknown resources, missing credentials, …).
    pub fn violations(&self) -> Vec<Violation> {
        match self {
            ApiError::Invalid(violations) => violations.clone(),
            ApiError::MalformedJson { .. } | ApiError::BodyUnreadable(_) => vec![Violation::new(
                Location::Body(String::new()),
                "json",
                self.to_string(),
            )],
            ApiError::UnsupportedMediaType { found, expected } => {
                let mut v = Violation::new(
                    Location::Header("content-type".to_owned()),
                    "media-type",
                    self.to_string(),
                );
                (v.expected, v.found) = (Some((*expected).to_owned()), Some(found.clone()));
                vec![v]
            }
            ApiError::PayloadTooLarge { .. } => vec![Violation::new(
                Location::Body(String::new()),
                "max-body",
                self.to_string(),
            )],
            _ => Vec::new(),
        }
    }
}

/// The first of `error` and its causes that is a `T`: what actually failed, under the layers
/// of wrapping (reqwest's, axum's) that carry it to us.
pub fn cause<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    std::iter::successors(Some(error), |e| e.source()).find_map(|e| e.downcast_ref::<T>())
}
