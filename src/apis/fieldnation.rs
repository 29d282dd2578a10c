//! Field Nation webhooks v1 (`openapi/fieldnation.json`).
//!
//! The generic engine serves the webhooks from the document: the `metadata`/`result` envelope
//! (`count` and `total` on lists), `status`, `search` (`x-hookmock-search`: url, webhookId and
//! notificationEmail), `sortBy`/`sortDirection` with their documented defaults, `fields=`, pages,
//! the secret shown only by the create that made it (`x-hookmock-once`) and the custom
//! attributes only when `?webhookAttribute=` asks (`x-hookmock-when`). What Field Nation does
//! beyond that is here: each credential is a company and user of its own, a secret is made when
//! none is sent, the URL and custom-header rules, only the attribute type asked is shown, a PUT
//! changes only the fields it sends and merges custom headers, removing one attribute, and its
//! signed deliveries. Choices where the vendor's reference is silent are in `openapi/README.md`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::apis::stubs::FieldnationApi;
use crate::apis::{Wiring, loopback_or_https, numeric_id_for};
use crate::clock;
use crate::context::Context;
use crate::delivery::{self, EmitError, Emitter, Engine, Message, RetryPolicy};
use crate::error::{ApiError, Violation};
use crate::fixtures::{FixtureError, Fixtures};
use crate::generated::types::fieldnation::{Webhook, WebhookMethod, WebhookStatus, WebhookUpdate};
use crate::mock::{Call, Collections, Upgraded, id_sequence_key};
use crate::request::Reply;
use crate::signing::Scheme;

/// Field Nation signs every delivery: `X-FN-Signature: sha256=<hex HMAC-SHA256 of the body>`.
const SIGNATURE: Scheme = Scheme::HexHmac {
    header: "X-FN-Signature",
    prefix: "sha256=",
};

/// The headers Field Nation sends with each attempt besides its signature: the webhook, the
/// delivery and attempt (`<uuid>:<attempt>`), and the time in unix milliseconds.
fn stamp(attempt: &delivery::Attempting<'_>) -> Vec<(String, String)> {
    vec![
        (
            "X-FN-Webhook-Id".to_owned(),
            attempt.subscription.to_owned(),
        ),
        (
            "X-FN-Delivery-Id".to_owned(),
            format!("{}:{}", attempt.delivery, attempt.attempt),
        ),
        (
            "X-FN-Request-Timestamp".to_owned(),
            attempt.at.timestamp_millis().to_string(),
        ),
    ]
}

/// Delays before each attempt, in seconds (the first is immediate): Field Nation's documented
/// schedule, at most 8 attempts.
const SCHEDULE: &[u64] = &[0, 10, 20, 40, 80, 160, 320, 640];

/// Custom header names may not use the prefix of the headers Field Nation itself sends.
const RESERVED_HEADER_PREFIX: &str = "x-fn-";

#[derive(Debug, Default, Deserialize)]
struct Fixture {
    /// Each webhook as the API shows it.
    #[serde(default)]
    webhooks: Vec<serde_json::Map<String, Value>>,
}

/// The events Field Nation delivers: work order status changes and the seed's four. The
/// document's `EventName` enum (a test keeps the two equal), which create and update enforce.
pub const EVENTS: &[&str] = &[
    "workorder.created",
    "workorder.status.draft",
    "workorder.status.published",
    "workorder.status.routed",
    "workorder.status.assigned",
    "workorder.status.confirmed",
    "workorder.status.on_hold",
    "workorder.status.work_done",
    "workorder.status.approved",
    "workorder.status.paid",
    "workorder.status.cancelled",
    "workorder.status.deleted",
];

/// The collection the webhooks are kept in, by their `webhookId`.
const COLLECTION: &str = "/api/v1/webhooks";

#[derive(Clone)]
pub struct FieldNation {
    context: Arc<Context>,
    engine: Engine,
    webhooks: Arc<Collections>,
}

impl FieldNation {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("fieldnation")?;
        let records = fixture.webhooks.into_iter().map(|webhook| {
            let number = webhook.get("id").and_then(Value::as_u64).unwrap_or(0);
            let id = webhook.get("webhookId").and_then(Value::as_str);
            let id = id.unwrap_or_default().to_owned();
            (COLLECTION.to_owned(), id, number, Value::Object(webhook))
        });
        let sequence = id_sequence_key("fieldnation", COLLECTION);
        let webhooks = Collections::seeded(sequence.clone(), records)
            .personalized(|tenant, webhook| make_owned(webhook, tenant));
        let webhooks = Arc::new(webhooks);
        wiring
            .stores
            .add("fieldnation", "webhooks", webhooks.clone());
        let earlier = webhooks.clone();
        wiring.stores.upgrading("fieldnation", move |stores| {
            let at = (COLLECTION, sequence.as_str());
            Upgraded::store(&earlier, stores, "webhooks", at, |_, webhook| {
                let id = webhook.get("webhookId").and_then(Value::as_str);
                (id.unwrap_or_default().to_owned(), webhook)
            })
        });
        wiring.generic.push(("fieldnation", webhooks.clone()));
        let this = Self {
            context: wiring.context.clone(),
            engine: wiring.engine.clone(),
            webhooks,
        };
        wiring.emitters.add("fieldnation", Arc::new(this.clone()));
        Ok(this)
    }

    /// The message that delivers `event` to `w`: Field Nation's payload, signed, with the
    /// webhook's custom headers; retried on Field Nation's schedule, never after a 4xx.
    fn message(&self, tenant: &str, w: &Webhook, event: &str, data: &Value) -> Message {
        let user = data
            .pointer("/triggered_by_user/id")
            .cloned()
            .unwrap_or_else(|| json!(numeric_id_for("user", tenant)));
        let payload = json!({
            "event": { "name": event, "params": data.get("params").cloned().unwrap_or_else(|| json!({})) },
            "timestamp": clock::format(self.context.now()),
            "triggered_by_user": { "id": user },
            "workorder": data.get("workorder").cloned().unwrap_or_else(|| json!({})),
        });
        let (store, tenant_key, key) = (
            self.webhooks.clone(),
            tenant.to_owned(),
            w.webhook_id.clone(),
        );
        Message {
            api: "fieldnation",
            tenant: tenant.to_owned(),
            subscription: w.webhook_id.clone(),
            event_id: self.context.uuid().to_string(),
            event_type: event.to_owned(),
            url: w.url.clone(),
            method: if w.method == WebhookMethod::Put {
                reqwest::Method::PUT
            } else {
                reqwest::Method::POST
            },
            headers: w
                .webhook_attribute
                .iter()
                .flat_map(|a| a.header.iter())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: payload.to_string().into_bytes(),
            signing: w.secret.clone().map(|secret| (SIGNATURE, secret)),
            stamp: Some(stamp),
            policy: RetryPolicy {
                schedule: SCHEDULE,
                retry_client_errors: false,
            },
            notify: w.notification_email.clone(),
            on_gone: Some(Arc::new(move || {
                store.modify(&tenant_key, COLLECTION, &key, |w| {
                    w["status"] = json!(WebhookStatus::Inactive);
                });
            })),
        }
    }
}

impl FieldnationApi for FieldNation {
    /// The engine's create, the webhook made the caller's (its company and user) and given a
    /// secret when it was sent none.
    async fn create_webhook(&self, mut call: Call<'_>) -> Result<Reply, ApiError> {
        // Read from the JSON, not as a `WebhookCreate`: the engine keeps the JSON.
        let sent = call.request.body();
        check_url(
            sent.and_then(|b| b.get("url"))
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )?;
        // Two lookups, not `pointer`: it copies each of its tokens.
        let headers = sent.and_then(|b| b.get(ATTRIBUTE)?.get("header"));
        check_custom_headers(
            headers
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(serde_json::Map::keys),
        )?;
        let tenant = call.request.tenant.clone();
        call.state.create_with(&mut call, |webhook| {
            make_owned(webhook, &tenant);
            if let Value::Object(webhook) = webhook {
                let secret = json!(self.context.uuid().to_string());
                webhook.entry("secret").or_insert(secret);
            }
        })
    }

    /// The custom attributes of the type `?webhookAttribute=` asks for (the document shows the
    /// property only when asked), and only them.
    async fn get_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let asked = call
            .request
            .param_str("webhookAttribute")
            .unwrap_or_default();
        call.state.read_with(&call, |webhook| {
            let stored = webhook.get(ATTRIBUTE).and_then(|a| a.get(asked)).cloned();
            webhook[ATTRIBUTE] = json!({ asked: stored.unwrap_or_else(|| json!({})) });
        })
    }

    /// A PUT changes only the fields it sends (`null` clears one); custom headers are merged
    /// into the stored ones.
    async fn update_webhook(&self, mut call: Call<'_>) -> Result<Reply, ApiError> {
        let body: WebhookUpdate = call.request.typed_body()?;
        if let Some(url) = &body.url {
            check_url(url)?;
        }
        let attribute = body.webhook_attribute.as_ref();
        check_custom_headers(attribute.into_iter().flat_map(|a| a.header.keys()))?;
        call.state.update_with(&mut call, |_, stored, sent| {
            let mut updated = stored.clone();
            let (Value::Object(updated_map), Value::Object(sent)) = (&mut updated, sent) else {
                return Ok(updated);
            };
            for (name, value) in sent {
                match (updated_map.get_mut(&name), value) {
                    (Some(Value::Object(kept)), Value::Object(sent)) if name == ATTRIBUTE => {
                        for (kind, entries) in sent {
                            merge_entries(kept.entry(kind).or_insert_with(|| json!({})), entries);
                        }
                    }
                    (_, Value::Null) => {
                        updated_map.remove(&name);
                    }
                    (_, value) => {
                        updated_map.insert(name, value);
                    }
                }
            }
            Ok(updated)
        })
    }

    async fn delete_webhook_attribute(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let id = request.param_str("webhookId").unwrap_or_default();
        let kind = request.param_str("attributeType").unwrap_or_default();
        let name = request.param_str("attributeName").unwrap_or_default();
        let now = json!(clock::format(self.context.now()));
        let (mut found, mut removed) = (false, false);
        self.webhooks
            .modify(&request.tenant, COLLECTION, id, |webhook| {
                found = true;
                let entries = webhook.pointer_mut(&format!("/{ATTRIBUTE}/{kind}"));
                if let Some(Value::Object(entries)) = entries
                    && let Some(stored) = entries
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(name))
                        .cloned()
                {
                    entries.shift_remove(&stored);
                    removed = true;
                    webhook["updatedAt"] = now;
                }
            });
        if !found {
            return Err(ApiError::NotFound("Webhook not found".to_owned()));
        }
        if !removed {
            return Err(ApiError::NotFound(format!(
                "Webhook attribute {kind}/{name} not found"
            )));
        }
        Reply::ok(&json!({ "message": "Webhook attribute successfully removed" }))
    }
}

/// The webhook's custom attributes: `header` and `legacy_field`.
const ATTRIBUTE: &str = "webhookAttribute";

/// Makes a webhook the tenant's: its company and user are the tenant's numbers.
fn make_owned(webhook: &mut Value, tenant: &str) {
    if let Value::Object(webhook) = webhook {
        webhook.insert(
            "companyId".to_owned(),
            json!(numeric_id_for("company", tenant)),
        );
        webhook.insert("userId".to_owned(), json!(numeric_id_for("user", tenant)));
    }
}

/// `sent`'s entries added to `kept`'s, replacing those of the same name.
fn merge_entries(kept: &mut Value, sent: Value) {
    match (kept, sent) {
        (Value::Object(kept), Value::Object(sent)) => kept.extend(sent),
        (kept, sent) => *kept = sent,
    }
}

fn check_url(url: &str) -> Result<(), ApiError> {
    if loopback_or_https(url) {
        Ok(())
    } else {
        Err(ApiError::Invalid(vec![Violation::body(
            "/url",
            format!("'url' must be a valid HTTPS URL, found {url:?}"),
        )]))
    }
}

/// Field Nation's own rule (no `x-fn-` prefix), then the rule every subscription's custom
/// headers follow ([`delivery::custom_header_violations`]).
fn check_custom_headers<'n>(names: impl Iterator<Item = &'n String>) -> Result<(), ApiError> {
    const POINTER: &str = "/webhookAttribute/header";
    let (reserved, others): (Vec<_>, Vec<_>) = names.partition(|name| {
        name.to_ascii_lowercase()
            .starts_with(RESERVED_HEADER_PREFIX)
    });
    let mut violations: Vec<Violation> = reserved
        .into_iter()
        .map(|name| {
            Violation::body(
                format!("{POINTER}/{}", name.replace('~', "~0").replace('/', "~1")),
                format!("custom header {name:?} may not start with {RESERVED_HEADER_PREFIX:?}"),
            )
        })
        .collect();
    violations.extend(delivery::custom_header_violations(
        others, SIGNATURE, POINTER,
    ));
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(violations))
    }
}

impl Emitter for FieldNation {
    fn emit(
        &self,
        event: &str,
        data: &Value,
        tenant: Option<&str>,
    ) -> Result<Vec<String>, EmitError> {
        delivery::known_event(event, EVENTS)?;
        let targets = self.webhooks.gather(tenant, |_, record| {
            let w = Webhook::deserialize(record).ok()?;
            let subscribed =
                w.status == WebhookStatus::Active && w.events.iter().any(|e| e == event);
            subscribed.then_some(w)
        });
        let messages = targets
            .iter()
            .map(|(tenant, w)| self.message(tenant, w, event, data));
        Ok(self.engine.enqueue_all(messages)?)
    }

    fn events(&self) -> Vec<String> {
        EVENTS.iter().map(|e| (*e).to_owned()).collect()
    }

    fn probe(&self, event: &str, data: &Value, url: &str, secret: &str) -> Result<Message, String> {
        let now = clock::format(self.context.now());
        let webhook: Webhook = serde_json::from_value(json!({
            "id": 1, "webhookId": "wh_check_receiver", "companyId": 1, "userId": 1,
            "url": url, "method": "post", "status": "active", "secret": secret,
            "events": [event], "modelProperties": [], "isIntegrationOnly": false,
            "createdAt": now, "updatedAt": now,
        }))
        .map_err(|e| format!("a Field Nation webhook cannot hold this: {e}"))?;
        Ok(self.message(crate::apis::PROBE_TENANT, &webhook, event, data))
    }

    /// Field Nation signs every delivery.
    fn always_signs(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_delivered_are_the_documents_event_names() {
        let documented =
            crate::apis::documented("fieldnation", "/components/schemas/EventName/enum");
        assert_eq!(documented, json!(EVENTS));
    }
}
