//! Ingedata notification webhooks (`openapi/ingedata.json`), JSON:API.
//!
//! The generic engine serves the webhooks from the document: resource objects, `page[number]`/
//! `page[size]` with their links, `sort`, sparse fieldsets, the 409 of a contradicting `data.id`,
//! an update that replaces each attribute sent; the document's `x-hookmock-match` says how each
//! `filter[…]` compares, and `meta.count` is the total when `count=true` (`x-hookmock-when`).
//! What Ingedata does beyond that is here: each credential is an account with a number of its
//! own, a webhook gets a `whsec_` secret when it is sent none, the test event, and its deliveries
//! (a JSON:API notification document signed the Standard Webhooks way).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::apis::stubs::IngedataApi;
use crate::apis::{Wiring, numeric_id_for};
use crate::context::Context;
use crate::delivery::{self, EmitError, Emitter, Engine, Message};
use crate::error::ApiError;
use crate::fixtures::{FixtureError, Fixtures};
use crate::mock::{Call, Collections, Upgraded, sequence_key};
use crate::request::Reply;

/// The collection the webhooks are kept in.
const COLLECTION: &str = "/api/v3/notification/webhooks";
const TYPE: &str = "webhooks";
/// The event `POST …/test/{id}` sends.
const TEST_EVENT: &str = "webhook.test";
/// Set on a stored webhook whose receiver answered 410 Gone: no more deliveries. Not an
/// attribute of the vendor's resource, so the engine does not show it.
const DISABLED: &str = "hookmock_disabled";

/// The events that can be subscribed to and delivered: the document's `EventName` enum (a test
/// keeps the two equal). `GET …/events` is the generic engine's: the document's example.
pub const EVENTS: &[&str] = &[
    "webhook.test",
    "project.created",
    "project.updated",
    "project.completed",
    "task.created",
    "task.assigned",
    "task.submitted",
    "task.reviewed",
    "task.completed",
    "dataset.exported",
];

/// What a delivery reads of a stored webhook's attributes.
#[derive(Debug, Clone, Deserialize)]
struct Webhook {
    id: u64,
    url: String,
    secret: String,
    #[serde(default)]
    events: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Fixture {
    /// The attributes of each webhook (its `id` among them).
    #[serde(default)]
    webhooks: Vec<serde_json::Map<String, Value>>,
}

#[derive(Clone)]
pub struct Ingedata {
    context: Arc<Context>,
    engine: Engine,
    webhooks: Arc<Collections>,
}

impl Ingedata {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("ingedata")?;
        let records = fixture.webhooks.into_iter().map(|attributes| {
            let id = attributes.get("id").and_then(Value::as_u64).unwrap_or(0);
            let record = resource(id, Value::Object(attributes));
            (COLLECTION.to_owned(), id.to_string(), id, record)
        });
        let sequence = sequence_key("ingedata", COLLECTION);
        let webhooks = Collections::seeded(sequence.clone(), records)
            .personalized(|tenant, record| set_attribute(record, "account_id", account(tenant)));
        let webhooks = Arc::new(webhooks);
        wiring.stores.add("ingedata", "webhooks", webhooks.clone());
        let earlier = webhooks.clone();
        wiring.stores.upgrading("ingedata", move |stores| {
            let at = (COLLECTION, sequence.as_str());
            Upgraded::store(&earlier, stores, "webhooks", at, |id, mut attributes| {
                // The module before the engine kept its 410 mark among the attributes.
                let disabled = attributes
                    .as_object_mut()
                    .and_then(|a| a.remove("disabled"));
                let mut record = resource(id, attributes);
                if disabled == Some(Value::Bool(true)) {
                    record[DISABLED] = json!(true);
                }
                (id.to_string(), record)
            })
        });
        wiring.generic.push(("ingedata", webhooks.clone()));
        let this = Self {
            context: wiring.context.clone(),
            engine: wiring.engine.clone(),
            webhooks,
        };
        wiring.emitters.add("ingedata", Arc::new(this.clone()));
        Ok(this)
    }

    /// The message that delivers `event` to `w`: a JSON:API-style notification document, signed
    /// the Standard Webhooks way with the webhook's `whsec_` secret.
    fn message(&self, tenant: &str, w: &Webhook, event: &str, data: &Value) -> Message {
        let id = format!("msg_{}", self.context.hex(24));
        let payload = json!({
            "data": {
                "type": "notifications",
                "id": id,
                "attributes": { "event": event, "occurred_at": crate::clock::format(self.context.now()), "payload": data },
            },
            "meta": { "webhook_id": w.id.to_string() },
        });
        let (store, tenant_key, key) = (self.webhooks.clone(), tenant.to_owned(), w.id);
        Message {
            tenant: tenant.to_owned(),
            subscription: w.id.to_string(),
            event_id: id,
            event_type: event.to_owned(),
            on_gone: Some(Arc::new(move || {
                store.modify(&tenant_key, COLLECTION, &key.to_string(), |w| {
                    w[DISABLED] = json!(true);
                });
            })),
            ..Message::standard_webhooks("ingedata", w.url.clone(), &payload, w.secret.clone())
        }
    }
}

impl IngedataApi for Ingedata {
    /// The engine's create, the webhook made the caller's and given a `whsec_` secret when it
    /// was sent none.
    async fn create_notification_webhook(&self, mut call: Call<'_>) -> Result<Reply, ApiError> {
        let tenant = call.request.tenant.clone();
        call.state.create_with(&mut call, |record| {
            if let Value::Object(record) = record {
                record.insert("relationships".to_owned(), json!({}));
            }
            set_attribute(record, "account_id", account(&tenant));
            if record.pointer("/attributes/secret").is_none() {
                set_attribute(record, "secret", json!(self.context.webhook_secret()));
            }
        })
    }

    /// Sends `webhook.test` now and answers with what the receiver did.
    async fn test_notification_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let id = request
            .param("id")
            .map(Value::to_string)
            .unwrap_or_default();
        let webhook = self
            .webhooks
            .get(&request.tenant, COLLECTION, &id)
            .and_then(|record| serde_json::from_value(record["attributes"].clone()).ok())
            .ok_or_else(|| ApiError::NotFound(format!("notification/webhooks {id} not found")))?;
        let message = self.message(
            &request.tenant,
            &webhook,
            TEST_EVENT,
            &json!({ "test": true }),
        );
        let attempt = self
            .engine
            .send_now(message)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let outcome = match (attempt.status, &attempt.error) {
            (Some(status), _) if attempt.succeeded() => {
                format!("Test notification delivered (HTTP {status})")
            }
            (Some(status), _) => {
                format!("Test notification failed: the endpoint answered HTTP {status}")
            }
            (None, Some(error)) => format!("Test notification failed: {error}"),
            (None, None) => "Test notification failed".to_owned(),
        };
        Reply::ok(&json!({ "success": attempt.succeeded(), "message": outcome }))
    }
}

/// The caller's account number: each credential is an account of its own.
fn account(tenant: &str) -> Value {
    json!(numeric_id_for("account", tenant))
}

/// Sets the attribute `name` of a resource object.
fn set_attribute(resource: &mut Value, name: &str, value: Value) {
    if let Some(Value::Object(attributes)) = resource.get_mut("attributes") {
        attributes.insert(name.to_owned(), value);
    }
}

/// A webhook of the fixtures as the resource object the engine keeps.
fn resource(id: u64, attributes: Value) -> Value {
    json!({
        "type": TYPE,
        "id": id.to_string(),
        "attributes": attributes,
        "relationships": {},
        "links": { "self": format!("{COLLECTION}/{id}") },
    })
}

impl Emitter for Ingedata {
    fn emit(
        &self,
        event: &str,
        data: &Value,
        tenant: Option<&str>,
    ) -> Result<Vec<String>, EmitError> {
        delivery::known_event(event, EVENTS)?;
        let targets = self.webhooks.gather(tenant, |_, record| {
            let w = Webhook::deserialize(&record["attributes"]).ok()?;
            let subscribed = record.get(DISABLED).is_none() && w.events.iter().any(|e| e == event);
            subscribed.then_some(w)
        });
        let messages = targets
            .iter()
            .map(|(tenant, w)| self.message(tenant, w, event, data));
        Ok(self.engine.enqueue_all(messages)?)
    }

    fn events(&self) -> Vec<String> {
        EVENTS.iter().map(|name| (*name).to_owned()).collect()
    }

    fn probe(&self, event: &str, data: &Value, url: &str, secret: &str) -> Result<Message, String> {
        let webhook = Webhook {
            id: 1,
            url: url.to_owned(),
            secret: secret.to_owned(),
            events: Vec::new(),
        };
        Ok(self.message(crate::apis::PROBE_TENANT, &webhook, event, data))
    }

    /// Standard Webhooks: every delivery is signed.
    fn always_signs(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events delivered are the document's enum, and `GET …/events` (its example) lists
    /// each of them.
    #[test]
    fn the_events_listed_are_the_documents_event_names() {
        let documented = crate::apis::documented("ingedata", "/components/schemas/EventName/enum");
        assert_eq!(documented, json!(EVENTS));
        let example = crate::apis::documented(
            "ingedata",
            "/paths/~1api~1v3~1notification~1webhooks~1events/get/responses/200/content/application~1vnd.api+json/example/data",
        );
        let listed: Vec<&Value> = example
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["id"])
            .collect();
        assert_eq!(json!(listed), json!(EVENTS));
    }
}
