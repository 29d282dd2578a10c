//! ELAN Languages workflow webhook subscriptions (`openapi/elan.json`), FastAPI-style.
//!
//! The generic engine serves the subscriptions from the document: each organization's kept
//! apart (`x-hookmock-partition: X-Organization-ID`, whose schema's default is `org_default`),
//! the write-only secret never shown, the documented 404. What ELAN does beyond that is here:
//! the checks it makes, a PATCH that replaces each field sent, delivery logs (the attempts the
//! delivery engine recorded), the test event and its signed deliveries.

use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::apis::stubs::ElanApi;
use crate::apis::{Wiring, loopback_or_https};
use crate::context::Context;
use crate::delivery::{
    self, Delivery, EmitError, Emitter, Engine, Message, RetryPolicy, STANDARD_SCHEDULE,
};
use crate::error::{ApiError, Violation};
use crate::fixtures::{FixtureError, Fixtures};
use crate::generated::types::elan::{
    EventType, WebhookSubscriptionCreate, WebhookSubscriptionUpdate,
};
use crate::mock::{Call, Collections, fields_sent, partition_of, sequence_key, within};
use crate::request::{Reply, Request};
use crate::signing::Scheme;

/// The collection ELAN's subscriptions are kept in. Each organization (`X-Organization-ID`,
/// `x-hookmock-partition` in `openapi/elan.json`) keeps its own, at `<organization>:/webhooks`.
const COLLECTION: &str = "/webhooks";
const ORGANIZATION_HEADER: &str = "X-Organization-ID";

/// What a delivery reads of a stored subscription.
#[derive(Debug, Clone, Deserialize)]
struct Subscription {
    id: u64,
    url: String,
    events: Vec<EventType>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    headers: IndexMap<String, String>,
    is_active: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Fixture {
    #[serde(default)]
    subscriptions: Vec<Seeded>,
}

/// A subscription of the fixtures: its organization says where it is kept.
#[derive(Debug, Deserialize)]
struct Seeded {
    id: u64,
    organization_id: String,
    #[serde(flatten)]
    fields: serde_json::Map<String, Value>,
}

/// ELAN signs a subscription's deliveries, when it has a secret, with a hex HMAC-SHA256.
const SIGNATURE: Scheme = Scheme::HexHmac {
    header: "X-Webhook-Signature",
    prefix: "",
};

/// The event sent by `POST /webhooks/{id}/test`.
const TEST_EVENT: &str = "workflow.completed";

#[derive(Clone)]
pub struct Elan {
    context: Arc<Context>,
    engine: Engine,
    subscriptions: Arc<Collections>,
}

impl Elan {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("elan")?;
        let records = fixture.subscriptions.into_iter().map(|seeded| {
            let mut record = serde_json::Map::from_iter([("id".to_owned(), json!(seeded.id))]);
            record.extend(seeded.fields);
            let instance = within(&seeded.organization_id, COLLECTION);
            (
                instance,
                seeded.id.to_string(),
                seeded.id,
                Value::Object(record),
            )
        });
        let subscriptions = Arc::new(Collections::seeded(
            sequence_key("elan", COLLECTION),
            records,
        ));
        wiring
            .stores
            .add("elan", "subscriptions", subscriptions.clone());
        wiring.generic.push(("elan", subscriptions.clone()));
        let this = Self {
            context: wiring.context.clone(),
            engine: wiring.engine.clone(),
            subscriptions,
        };
        wiring.emitters.add("elan", Arc::new(this.clone()));
        Ok(this)
    }

    /// The message that delivers `event` to `s` of `organization`: ELAN's payload, signed when
    /// it has a secret.
    fn message(
        &self,
        tenant: &str,
        organization: &str,
        s: &Subscription,
        event: &str,
        data: &Value,
    ) -> Message {
        let workflow_id = data
            .get("workflow_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let payload = json!({
            "event_id": format!("evt_{}", self.context.hex(24)),
            "event_type": event,
            "workflow_id": workflow_id.unwrap_or_else(|| format!("wf_{}", self.context.hex(12))),
            "organization_id": organization,
            "timestamp": crate::clock::format(self.context.now()),
            "data": data,
        });
        let (store, tenant_key, id) = (self.subscriptions.clone(), tenant.to_owned(), s.id);
        let instance = within(organization, COLLECTION);
        Message {
            api: "elan",
            tenant: tenant.to_owned(),
            subscription: s.id.to_string(),
            event_id: payload["event_id"].as_str().unwrap_or_default().to_owned(),
            event_type: event.to_owned(),
            url: s.url.clone(),
            method: reqwest::Method::POST,
            headers: s
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: payload.to_string().into_bytes(),
            signing: s.secret.clone().map(|secret| (SIGNATURE, secret)),
            stamp: None,
            policy: RetryPolicy {
                schedule: STANDARD_SCHEDULE,
                retry_client_errors: true,
            },
            notify: None,
            on_gone: Some(Arc::new(move || {
                store.modify(&tenant_key, &instance, &id.to_string(), |s| {
                    s["is_active"] = json!(false);
                });
            })),
        }
    }

    /// The delivery attempts of the request's tenant as ELAN's delivery logs, newest first.
    fn logs(&self, request: &Request, keep: impl Fn(&Delivery) -> bool) -> Result<Reply, ApiError> {
        let limit = usize::try_from(request.param_i64("limit").unwrap_or(50)).unwrap_or(50);
        let offset = usize::try_from(request.param_i64("offset").unwrap_or(0)).unwrap_or(0);
        let deliveries = self
            .engine
            .deliveries(|d| d.api == "elan" && d.tenant == request.tenant && keep(d));
        let logs: Vec<Value> = deliveries
            .iter()
            .flat_map(|d| d.attempts.iter().rev().map(move |a| (d, a)))
            .skip(offset)
            .take(limit)
            .map(|(d, a)| {
                json!({
                    "id": a.seq,
                    "subscription_id": d.subscription.parse::<u64>().unwrap_or(0),
                    "event_id": d.event_id,
                    "event_type": d.event_type,
                    "url": a.url,
                    "attempt": a.number,
                    "status_code": a.status,
                    "success": a.succeeded(),
                    "response_body": a.response_body,
                    "error": a.error,
                    "duration_ms": a.duration_ms,
                    "created_at": a.at,
                })
            })
            .collect();
        Reply::ok(&logs)
    }

    /// The subscription in the path, if it belongs to the request's organization.
    fn find(&self, request: &Request) -> Result<Subscription, ApiError> {
        let id = request
            .param("subscription_id")
            .map(Value::to_string)
            .unwrap_or_default();
        let found = self
            .subscriptions
            .get(&request.tenant, &instance(request), &id)
            .and_then(|record| serde_json::from_value(record).ok());
        found.ok_or_else(not_found)
    }
}

impl ElanApi for Elan {
    async fn create_webhook_subscription(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let body: WebhookSubscriptionCreate = call.request.typed_body()?;
        check_url(&body.url)?;
        check_headers(&body.headers)?;
        call.answer()
    }

    async fn list_all_delivery_logs(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let event = request.param_str("event_type").map(str::to_owned);
        let (mut in_org, wanted) = (Vec::new(), instance(request));
        self.subscriptions.each(Some(&request.tenant), |_, at, s| {
            if at == wanted {
                in_org.push(s.get("id").map(Value::to_string).unwrap_or_default());
            }
        });
        self.logs(request, |d| {
            event.as_deref().is_none_or(|e| d.event_type == e) && in_org.contains(&d.subscription)
        })
    }

    /// A field sent replaces the stored one (`headers: {}` clears them); one absent is kept.
    async fn update_webhook_subscription(&self, mut call: Call<'_>) -> Result<Reply, ApiError> {
        let body: WebhookSubscriptionUpdate = call.request.typed_body()?;
        if let Some(url) = &body.url {
            check_url(url)?;
        }
        check_headers(&body.headers)?;
        call.state
            .update_with(&mut call, |_, stored, sent| Ok(fields_sent(stored, sent)))
    }

    async fn list_subscription_delivery_logs(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let id = self.find(&call.request)?.id.to_string();
        self.logs(&call.request, |d| d.subscription == id)
    }

    /// Queues a `workflow.completed` test event; the attempt shows in the subscription's logs.
    async fn test_webhook_subscription(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let subscription = self.find(request)?;
        let message = self.message(
            &request.tenant,
            organization(request),
            &subscription,
            TEST_EVENT,
            &json!({ "test": true }),
        );
        let event_id = message.event_id.clone();
        self.engine
            .enqueue(message)
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        Reply::ok(
            &json!({ "success": true, "message": "Test event queued for delivery", "event_id": event_id }),
        )
    }
}

/// The request's organization: the header, or its documented default.
fn organization(request: &Request) -> &str {
    request.param_str(ORGANIZATION_HEADER).unwrap_or_default()
}

/// Where the subscriptions of the request's organization are kept.
fn instance(request: &Request) -> String {
    within(organization(request), COLLECTION)
}

fn not_found() -> ApiError {
    ApiError::NotFound("Webhook subscription not found".to_owned())
}

fn check_url(url: &str) -> Result<(), ApiError> {
    if loopback_or_https(url) {
        return Ok(());
    }
    Err(ApiError::Invalid(vec![Violation::body(
        "/url",
        "URL must use HTTPS",
    )]))
}

/// Custom headers follow the rule every subscription's do; ELAN signs with
/// `X-Webhook-Signature` once a secret is set, so that name is refused with or without one.
fn check_headers(headers: &IndexMap<String, String>) -> Result<(), ApiError> {
    let violations = delivery::custom_header_violations(headers.keys(), SIGNATURE, "/headers");
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(violations))
    }
}

impl Emitter for Elan {
    fn emit(
        &self,
        event: &str,
        data: &Value,
        tenant: Option<&str>,
    ) -> Result<Vec<String>, EmitError> {
        let catalogue: Vec<String> = EVENTS.iter().map(ToString::to_string).collect();
        delivery::known_event(
            event,
            &catalogue.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
        let targets = self.subscriptions.gather(tenant, |at, record| {
            let organization = partition_of(at, COLLECTION)?;
            let s = Subscription::deserialize(record).ok()?;
            let subscribed = s.is_active && s.events.iter().any(|e| e.to_string() == event);
            subscribed.then(|| (organization.to_owned(), s))
        });
        let messages = targets
            .iter()
            .map(|(tenant, (organization, s))| self.message(tenant, organization, s, event, data));
        Ok(self.engine.enqueue_all(messages)?)
    }

    fn events(&self) -> Vec<String> {
        EVENTS.iter().map(ToString::to_string).collect()
    }

    fn probe(&self, event: &str, data: &Value, url: &str, secret: &str) -> Result<Message, String> {
        let subscription = Subscription {
            id: 1,
            url: url.to_owned(),
            events: Vec::new(),
            secret: Some(secret.to_owned()),
            headers: IndexMap::new(),
            is_active: true,
        };
        let tenant = crate::apis::PROBE_TENANT;
        Ok(self.message(tenant, tenant, &subscription, event, data))
    }

    /// ELAN signs only the deliveries of subscriptions that have a secret.
    fn always_signs(&self) -> bool {
        false
    }
}

/// The event catalogue: the document's `EventType` enum.
const EVENTS: &[EventType] = &[
    EventType::WorkflowStarted,
    EventType::WorkflowCompleted,
    EventType::WorkflowFailed,
    EventType::WorkflowStepStarted,
    EventType::WorkflowStepCompleted,
    EventType::WorkflowStepFailed,
];
