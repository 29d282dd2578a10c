//! Webhooks and callbacks of a run-time document, sent through the same delivery engine as the
//! vendors' events: a 3.1 document's top-level `webhooks`, and the `callbacks` of its
//! operations. The payload is the documented example, else a body generated from the schema
//! (the caller's `data` replaces it); it is signed the Standard Webhooks way and retried on the
//! standard schedule.

use serde_json::Value;

use crate::context::Context;
use crate::delivery::Message;
use crate::shape::{Shaper, resolve};

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("/webhook: {name:?} is not a webhook of {api}; its webhooks: {known}")]
    UnknownWebhook {
        api: &'static str,
        name: String,
        known: String,
    },
    #[error("/callback: {name:?} is not a callback of {api}; its callbacks: {known}")]
    UnknownCallback {
        api: &'static str,
        name: String,
        known: String,
    },
    #[error("name a `webhook` or a `callback` of {0}")]
    NothingNamed(&'static str),
    #[error(
        "/url: the callback is sent to {expression}, which names a request this server has not seen; give `url`"
    )]
    NeedsUrl { expression: String },
}

/// What `POST /__admin/events` asks of a run-time document.
pub struct Outgoing<'a> {
    pub api: &'static str,
    pub doc: &'a Value,
    pub webhook: Option<&'a str>,
    pub callback: Option<&'a str>,
    /// Replaces the documented or generated payload.
    pub data: Option<&'a Value>,
    /// Where to send it; for a callback, also what its URL expression stands for.
    pub url: Option<&'a str>,
    /// The Standard Webhooks secret (`whsec_…`, or any text used as the key).
    pub secret: &'a str,
}

/// A callback found in the document: its URL expression, the operation that declares it, and
/// the request body it sends.
pub struct Callback<'a> {
    /// `{$request.query.callbackUrl}/data`
    pub expression: String,
    /// The `operationId` (or method and path) of the operation that declares it.
    pub operation_path: String,
    pub operation_method: String,
    body: Option<&'a Value>,
}

/// The message `outgoing` asks for, with `target` the URL (already resolved for callbacks).
pub fn message(
    outgoing: &Outgoing<'_>,
    target: &str,
    context: &Context,
) -> Result<Message, EventError> {
    let (name, operation) = match (outgoing.webhook, outgoing.callback) {
        (Some(name), _) => (name, webhook(outgoing.api, outgoing.doc, name)?),
        (None, Some(name)) => {
            let found = callback(outgoing.api, outgoing.doc, name)?;
            (name, found.body)
        }
        (None, None) => return Err(EventError::NothingNamed(outgoing.api)),
    };
    let body = match outgoing.data {
        Some(data) => data.clone(),
        None => payload(outgoing.doc, operation, context),
    };
    let id = format!("msg_{}", context.hex(24));
    Ok(Message {
        tenant: "-".to_owned(),
        subscription: name.to_owned(),
        event_id: id,
        event_type: name.to_owned(),
        ..Message::standard_webhooks(
            outgoing.api,
            target.to_owned(),
            &body,
            outgoing.secret.to_owned(),
        )
    })
}

/// The path item's operation that sends the request (its `post`, else its first method).
fn sending_operation(item: &Value) -> Option<&Value> {
    item.get("post").or_else(|| {
        ["put", "patch", "get", "delete"]
            .iter()
            .find_map(|m| item.get(*m))
    })
}

fn webhook<'a>(
    api: &'static str,
    doc: &'a Value,
    name: &str,
) -> Result<Option<&'a Value>, EventError> {
    let webhooks = doc.get("webhooks").and_then(Value::as_object);
    let item = webhooks.and_then(|w| w.get(name)).map(|i| resolve(doc, i));
    match item {
        Some(item) => Ok(sending_operation(item)),
        None => Err(EventError::UnknownWebhook {
            api,
            name: name.to_owned(),
            known: names(webhooks.into_iter().flat_map(|w| w.keys().cloned())),
        }),
    }
}

/// Every callback of the document's operations, by name.
pub fn callbacks(doc: &Value) -> Vec<(String, Callback<'_>)> {
    let mut found = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let item = resolve(doc, item);
        for (method, operation) in item.as_object().into_iter().flatten() {
            let declared = operation.get("callbacks").and_then(Value::as_object);
            for (name, callback) in declared.into_iter().flatten() {
                let callback = resolve(doc, callback);
                for (expression, target) in callback.as_object().into_iter().flatten() {
                    found.push((
                        name.clone(),
                        Callback {
                            expression: expression.clone(),
                            operation_path: path.clone(),
                            operation_method: method.to_ascii_uppercase(),
                            body: sending_operation(resolve(doc, target)),
                        },
                    ));
                }
            }
        }
    }
    found
}

/// The callback `name` of the document.
pub fn callback<'a>(
    api: &'static str,
    doc: &'a Value,
    name: &str,
) -> Result<Callback<'a>, EventError> {
    let all = callbacks(doc);
    let known = names(all.iter().map(|(n, _)| n.clone()));
    all.into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, c)| c)
        .ok_or_else(|| EventError::UnknownCallback {
            api,
            name: name.to_owned(),
            known,
        })
}

/// The URL a callback expression stands for, given the query string of the request that
/// subscribed (`{$request.query.callbackUrl}/data`), or `url` in place of the expression.
pub fn resolve_target(
    expression: &str,
    url: Option<&str>,
    query: Option<&str>,
) -> Result<String, EventError> {
    let needs_url = || EventError::NeedsUrl {
        expression: expression.to_owned(),
    };
    let Some((before, rest)) = expression.split_once('{') else {
        return Ok(url.map_or_else(|| expression.to_owned(), str::to_owned));
    };
    let (inner, after) = rest.split_once('}').ok_or_else(needs_url)?;
    let value = match url {
        Some(url) => url.to_owned(),
        None => {
            let name = inner
                .strip_prefix("$request.query.")
                .ok_or_else(needs_url)?;
            form_urlencoded::parse(query.ok_or_else(needs_url)?.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .ok_or_else(needs_url)?
        }
    };
    Ok(format!("{before}{value}{after}"))
}

/// The documented example of the request body, else a body generated from its schema.
fn payload(doc: &Value, operation: Option<&Value>, context: &Context) -> Value {
    let Some(body) = operation.and_then(|o| o.get("requestBody")) else {
        return Value::Object(Default::default());
    };
    let body = resolve(doc, body);
    let content = body.get("content").and_then(Value::as_object);
    let media = content.and_then(|c| {
        c.iter()
            .find(|(m, _)| crate::spec::extract::is_json(m))
            .or_else(|| c.iter().next())
            .map(|(_, media)| media)
    });
    let Some(media) = media else {
        return Value::Object(Default::default());
    };
    if let Some(example) = crate::shape::media_example(doc, media) {
        return example.clone();
    }
    let shaper = Shaper::new(doc, context.now());
    shaper.generate(media.get("schema").unwrap_or(&Value::Null))
}

fn names(all: impl Iterator<Item = String>) -> String {
    let mut all: Vec<String> = all.collect();
    all.sort();
    all.dedup();
    if all.is_empty() {
        "none".to_owned()
    } else {
        all.join(", ")
    }
}
