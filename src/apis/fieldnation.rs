//! Field Nation webhooks v1 (`openapi/fieldnation.json`): the `metadata`/`result` envelope,
//! list filters, sparse fields, custom header attributes.
//!
//! Choices where the vendor's reference is silent are in `openapi/README.md`; the ones that
//! shape this code: the `secret` is returned only by create (as the reference says, although its
//! other examples show it), `webhookAttribute` only when `?webhookAttribute=` asks for it, and an
//! update merges the custom headers it sends into the existing ones.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::apis::stubs::FieldnationApi;
use crate::apis::{Page, Wiring, loopback_or_https, numeric_id_for};
use crate::clock;
use crate::context::Context;
use crate::delivery::{self, EmitError, Emitter, Engine, Message, RetryPolicy};
use crate::error::{ApiError, Violation};
use crate::fixtures::{FixtureError, Fixtures};
use crate::generated::types::fieldnation::{
    Webhook, WebhookAttribute, WebhookCreate, WebhookMethod, WebhookStatus, WebhookUpdate,
};
use crate::mock::Call;
use crate::request::{Change, Reply, Request};
use crate::signing::Scheme;
use crate::store::Store;

/// A webhook's fields in the order the vendor shows them (typify's types sort them by name);
/// also the names a list's `fields=` may use.
const FIELDS: &[&str] = &[
    "id",
    "webhookId",
    "companyId",
    "userId",
    "url",
    "method",
    "status",
    "secret",
    "events",
    "notificationEmail",
    "modelProperties",
    "isIntegrationOnly",
    "webhookAttribute",
    "createdAt",
    "updatedAt",
];

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
    #[serde(default)]
    webhooks: Vec<Webhook>,
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

#[derive(Clone)]
pub struct FieldNation {
    context: Arc<Context>,
    engine: Engine,
    webhooks: Arc<Store<Webhook>>,
}

impl FieldNation {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("fieldnation")?;
        let records = fixture
            .webhooks
            .into_iter()
            .map(|w| (u64::try_from(w.id).unwrap_or(0), w));
        let webhooks = wiring.store("fieldnation", "webhooks", records);
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
                store.write(&tenant_key, |all| {
                    let (id, _) = all.find(|w| w.webhook_id == key)?;
                    all.get_mut(id).map(|w| w.status = WebhookStatus::Inactive)
                });
            })),
        }
    }

    /// `result` in Field Nation's envelope, stamped now.
    fn envelope(&self, result: impl Serialize) -> Result<Reply, ApiError> {
        let metadata = Metadata {
            timestamp: clock::format(self.context.now()),
            count: None,
            total: None,
        };
        Reply::ok(&Envelope { metadata, result })
    }
}

impl FieldnationApi for FieldNation {
    async fn list_webhooks(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let fields = request.field_list("fields", FIELDS)?;
        let status = request.param_str("status");
        let search = request.param_str("search").map(str::to_lowercase);
        let sort_by = request.param_str("sortBy").unwrap_or("createdAt");
        let descending = request.param_str("sortDirection") != Some("ASC");
        let timestamp = clock::format(self.context.now());
        // Serialised under the read lock, straight from the records: no copy of them is made.
        self.webhooks.read(&request.tenant, |all| {
            let ordered = all.ordered(&format!("{sort_by} {descending}"), |a, b| {
                let order = compare(a, b, sort_by).then(a.id.cmp(&b.id));
                if descending { order.reverse() } else { order }
            });
            let (page, shown) = Page::of(
                ordered
                    .filter(|w| status.is_none_or(|s| w.status.to_string() == s))
                    .filter(|w| search.as_deref().is_none_or(|q| matches_search(w, q))),
                (status.is_none() && search.is_none()).then(|| all.len()),
                request.param_i64("page").unwrap_or(1),
                request.param_i64("perPage").unwrap_or(25),
            );
            let metadata = Metadata {
                timestamp,
                count: Some(shown.len()),
                total: Some(page.total),
            };
            let shown = shown
                .into_iter()
                .map(|w| view(w, &request.tenant, false, None));
            match fields.as_deref() {
                None => Reply::ok(&Envelope {
                    metadata,
                    result: shown.collect::<Vec<_>>(),
                }),
                Some(fields) => Reply::ok(&Envelope {
                    metadata,
                    result: shown
                        .map(|w| project(&w, fields))
                        .collect::<Result<Vec<_>, _>>()?,
                }),
            }
        })
    }

    async fn create_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let body: WebhookCreate = call.request.typed_body()?;
        let request = &call.request;
        check_url(&body.url)?;
        check_custom_headers(body.webhook_attribute.as_ref())?;
        let now = self.context.now();
        let tenant = &request.tenant;
        // Drawn before the lock, which is held only for the insert.
        let webhook_id = format!("wh_{}", self.context.hex(12));
        let secret = body
            .secret
            .unwrap_or_else(|| self.context.uuid())
            .to_string();
        let created = self.webhooks.write(tenant, |all| {
            all.insert_with(|id| Webhook {
                id: id as i64,
                webhook_id,
                company_id: numeric_id_for("company", tenant),
                user_id: numeric_id_for("user", tenant),
                url: String::from(body.url),
                method: body.method.unwrap_or(WebhookMethod::Post),
                status: body.status.unwrap_or(WebhookStatus::Active),
                secret: Some(secret),
                events: body.events.iter().map(ToString::to_string).collect(),
                notification_email: body.notification_email,
                model_properties: Vec::new(),
                is_integration_only: body.is_integration_only.unwrap_or(false),
                webhook_attribute: body.webhook_attribute,
                created_at: now,
                updated_at: now,
            })
            .clone()
        });
        self.envelope(view(&created, tenant, true, None))
    }

    async fn get_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let id = webhook_id(request);
        let attribute = request.param_str("webhookAttribute");
        self.webhooks.read(&request.tenant, |all| {
            let (_, webhook) = all.find(|w| w.webhook_id == id).ok_or_else(not_found)?;
            self.envelope(view(webhook, &request.tenant, false, attribute))
        })
    }

    async fn update_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let body: WebhookUpdate = call.request.typed_body()?;
        let request = &call.request;
        if let Some(url) = &body.url {
            check_url(url)?;
        }
        check_custom_headers(body.webhook_attribute.as_ref())?;
        let nullable: Nullable = request.typed_body()?;
        let id = webhook_id(request);
        let now = self.context.now();
        let updated = self.webhooks.write(&request.tenant, |all| {
            let (key, _) = all.find(|w| w.webhook_id == id)?;
            let webhook = all.get_mut(key)?;
            apply_update(webhook, body, nullable, now);
            Some(webhook.clone())
        });
        self.envelope(view(
            &updated.ok_or_else(not_found)?,
            &request.tenant,
            false,
            None,
        ))
    }

    async fn delete_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let id = webhook_id(request);
        let deleted = self.webhooks.write(&request.tenant, |all| {
            let (key, _) = all.find(|w| w.webhook_id == id)?;
            all.remove(key)
        });
        self.envelope(view(
            &deleted.ok_or_else(not_found)?,
            &request.tenant,
            false,
            None,
        ))
    }

    async fn delete_webhook_attribute(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let id = webhook_id(request);
        let kind = request.param_str("attributeType").unwrap_or_default();
        let name = request.param_str("attributeName").unwrap_or_default();
        let outcome = self.webhooks.write(&request.tenant, |all| {
            let (key, _) = all.find(|w| w.webhook_id == id).ok_or_else(not_found)?;
            let webhook = all.get_mut(key).ok_or_else(not_found)?;
            let removed = webhook.webhook_attribute.as_mut().and_then(|attrs| {
                let map = if kind == "header" {
                    &mut attrs.header
                } else {
                    &mut attrs.legacy_field
                };
                let stored = map.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone();
                map.shift_remove(&stored)
            });
            match removed {
                Some(_) => {
                    webhook.updated_at = self.context.now();
                    Ok(())
                }
                None => Err(ApiError::NotFound(format!(
                    "Webhook attribute {kind}/{name} not found"
                ))),
            }
        });
        outcome?;
        Reply::ok(&json!({ "message": "Webhook attribute successfully removed" }))
    }
}

fn webhook_id(request: &Request) -> String {
    request
        .param_str("webhookId")
        .unwrap_or_default()
        .to_owned()
}

fn not_found() -> ApiError {
    ApiError::NotFound("Webhook not found".to_owned())
}

/// The webhook as the API shows it: the tenant's company and user, the secret only when
/// `with_secret` (creation), custom attributes only of the type asked for.
fn view<'a>(
    webhook: &'a Webhook,
    tenant: &str,
    with_secret: bool,
    attribute: Option<&str>,
) -> Shown<'a> {
    let attribute = attribute.map(|kind| {
        let stored = webhook.webhook_attribute.as_ref();
        match kind {
            "header" => WebhookAttribute {
                header: stored.map(|a| a.header.clone()).unwrap_or_default(),
                ..Default::default()
            },
            _ => WebhookAttribute {
                legacy_field: stored.map(|a| a.legacy_field.clone()).unwrap_or_default(),
                ..Default::default()
            },
        }
    });
    Shown {
        id: webhook.id,
        webhook_id: &webhook.webhook_id,
        company_id: numeric_id_for("company", tenant),
        user_id: numeric_id_for("user", tenant),
        url: &webhook.url,
        method: &webhook.method,
        status: &webhook.status,
        secret: webhook.secret.as_deref().filter(|_| with_secret),
        events: &webhook.events,
        notification_email: webhook.notification_email.as_deref(),
        model_properties: &webhook.model_properties,
        is_integration_only: webhook.is_integration_only,
        webhook_attribute: attribute,
        created_at: &webhook.created_at,
        updated_at: &webhook.updated_at,
    }
}

/// [`Webhook`]'s fields in the order the vendor shows them ([`FIELDS`]), borrowed and serialised
/// straight into the answer: typify's type sorts them by name, and reordering a copy cost a
/// fifth of a list's time.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown<'a> {
    id: i64,
    webhook_id: &'a str,
    company_id: i64,
    user_id: i64,
    url: &'a str,
    method: &'a WebhookMethod,
    status: &'a WebhookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    events: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_email: Option<&'a str>,
    model_properties: &'a [Value],
    is_integration_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_attribute: Option<WebhookAttribute>,
    #[serde(serialize_with = "clock::serialize")]
    created_at: &'a DateTime<Utc>,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: &'a DateTime<Utc>,
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
fn check_custom_headers(attribute: Option<&WebhookAttribute>) -> Result<(), ApiError> {
    const POINTER: &str = "/webhookAttribute/header";
    let names = attribute.into_iter().flat_map(|a| a.header.keys());
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

/// The update's nullable fields, read from the raw body: `null` clears, absent keeps.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Nullable {
    #[serde(default)]
    notification_email: Change<String>,
}

/// A PUT changes only the fields it sends; custom headers are merged, `events` is replaced.
fn apply_update(
    webhook: &mut Webhook,
    body: WebhookUpdate,
    nullable: Nullable,
    now: DateTime<Utc>,
) {
    if let Some(url) = body.url {
        webhook.url = String::from(url);
    }
    if let Some(method) = body.method {
        webhook.method = method;
    }
    if let Some(status) = body.status {
        webhook.status = status;
    }
    // An absent `events` deserializes as empty; an empty list sent is refused by `minItems: 1`.
    if !body.events.is_empty() {
        webhook.events = body.events.iter().map(ToString::to_string).collect();
    }
    if let Some(secret) = body.secret {
        webhook.secret = Some(secret.to_string());
    }
    nullable
        .notification_email
        .apply(&mut webhook.notification_email);
    if let Some(integration_only) = body.is_integration_only {
        webhook.is_integration_only = integration_only;
    }
    if let Some(sent) = body.webhook_attribute {
        let stored = webhook
            .webhook_attribute
            .get_or_insert_with(Default::default);
        stored.header.extend(sent.header);
        stored.legacy_field.extend(sent.legacy_field);
    }
    webhook.updated_at = now;
}

fn matches_search(webhook: &Webhook, needle: &str) -> bool {
    [
        Some(&webhook.url),
        Some(&webhook.webhook_id),
        webhook.notification_email.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|text| text.to_lowercase().contains(needle))
}

fn compare(a: &Webhook, b: &Webhook, sort_by: &str) -> Ordering {
    match sort_by {
        "id" => a.id.cmp(&b.id),
        "webhookId" => a.webhook_id.cmp(&b.webhook_id),
        "url" => a.url.cmp(&b.url),
        "status" => a.status.to_string().cmp(&b.status.to_string()),
        "updatedAt" => a.updated_at.cmp(&b.updated_at),
        _ => a.created_at.cmp(&b.created_at),
    }
}

/// Only the `fields` of a webhook (`?fields=`), in the vendor's order. Rare enough to go
/// through a `Value`.
fn project(shown: &Shown, fields: &[String]) -> Result<Value, ApiError> {
    let all = serde_json::to_value(shown).map_err(|e| ApiError::Unserializable(e.to_string()))?;
    Ok(match all {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.contains(k))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    })
}

/// Field Nation's envelope around every answer.
#[derive(Serialize)]
struct Envelope<R> {
    metadata: Metadata,
    result: R,
}

/// `count` and `total` only on lists.
#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<usize>,
}

impl Emitter for FieldNation {
    fn emit(
        &self,
        event: &str,
        data: &Value,
        tenant: Option<&str>,
    ) -> Result<Vec<String>, EmitError> {
        delivery::known_event(event, EVENTS)?;
        let subscribed =
            |w: &Webhook| w.status == WebhookStatus::Active && w.events.iter().any(|e| e == event);
        delivery::fan_out(
            &self.engine,
            &self.webhooks,
            tenant,
            subscribed,
            |tenant, w| self.message(tenant, w, event, data),
        )
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

    /// Every field, shown in the vendor's order, which is also the order `fields=` names.
    #[test]
    fn a_webhook_is_shown_in_the_vendors_field_order() {
        let webhook: Webhook = serde_json::from_value(json!({
            "id": 1, "webhookId": "wh_1", "companyId": 0, "userId": 0,
            "url": "https://hooks.example.com/fn", "method": "post", "status": "active",
            "secret": "s", "events": ["workorder.created"], "notificationEmail": "ops@example.com",
            "modelProperties": [], "isIntegrationOnly": false,
            "webhookAttribute": {"header": {"X-Team": "ops"}},
            "createdAt": "2025-01-15T10:00:00Z", "updatedAt": "2025-01-15T10:00:00Z"
        }))
        .expect("a webhook");
        let shown = |secret, attribute| {
            serde_json::to_value(view(&webhook, "tenant", secret, attribute)).expect("JSON")
        };
        let all = shown(true, Some("header"));
        let keys: Vec<&str> = all
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, FIELDS);
        assert!(shown(false, None).get("secret").is_none());
    }
}
