//! ELAN Languages workflow webhook subscriptions (`openapi/elan.json`), FastAPI-style.
//!
//! Subscriptions belong to an organization: the `X-Organization-ID` header chooses it, and
//! without it every tenant's default organization is `org_default`. The secret is write-only.
//! Delivery logs are the attempts the delivery engine recorded.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
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
use crate::mock::Call;
use crate::request::{Reply, Request};
use crate::signing::Scheme;
use crate::store::Store;

/// The organization of requests that do not name one.
pub const DEFAULT_ORGANIZATION: &str = "org_default";
const ORGANIZATION_HEADER: &str = "X-Organization-ID";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Subscription {
    id: u64,
    organization_id: String,
    name: String,
    url: String,
    events: Vec<EventType>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    headers: IndexMap<String, String>,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize)]
struct Fixture {
    #[serde(default)]
    subscriptions: Vec<Subscription>,
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
    subscriptions: Arc<Store<Subscription>>,
}

impl Elan {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("elan")?;
        let subscriptions = wiring.store(
            "elan",
            "subscriptions",
            fixture.subscriptions.into_iter().map(|s| (s.id, s)),
        );
        let this = Self {
            context: wiring.context.clone(),
            engine: wiring.engine.clone(),
            subscriptions,
        };
        wiring.emitters.add("elan", Arc::new(this.clone()));
        Ok(this)
    }

    /// The message that delivers `event` to `s`: ELAN's payload, signed when it has a secret.
    fn message(&self, tenant: &str, s: &Subscription, event: &str, data: &Value) -> Message {
        let workflow_id = data
            .get("workflow_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let payload = json!({
            "event_id": format!("evt_{}", self.context.hex(24)),
            "event_type": event,
            "workflow_id": workflow_id.unwrap_or_else(|| format!("wf_{}", self.context.hex(12))),
            "organization_id": s.organization_id,
            "timestamp": crate::clock::format(self.context.now()),
            "data": data,
        });
        let (store, tenant_key, id) = (self.subscriptions.clone(), tenant.to_owned(), s.id);
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
                store.write(&tenant_key, |all| {
                    all.get_mut(id).map(|s| s.is_active = false)
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
        let (id, org) = (subscription_id(request), organization(request));
        let found = self.subscriptions.read(&request.tenant, |all| {
            all.get(id).filter(|s| s.organization_id == org).cloned()
        });
        found.ok_or_else(not_found)
    }
}

impl ElanApi for Elan {
    async fn list_webhook_subscriptions(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = call.request;
        let org = organization(request);
        self.subscriptions.read(&request.tenant, |all| {
            let listed: Vec<Shown> = all
                .iter()
                .filter(|s| s.organization_id == org)
                .map(view)
                .collect();
            Reply::ok(&listed)
        })
    }

    async fn create_webhook_subscription(
        &self,
        call: Call<'_>,
        body: WebhookSubscriptionCreate,
    ) -> Result<Reply, ApiError> {
        let request = call.request;
        check_url(&body.url)?;
        check_headers(&body.headers)?;
        let now = self.context.now();
        let org = organization(request).to_owned();
        let created = self.subscriptions.write(&request.tenant, |all| {
            all.insert_with(|id| Subscription {
                id,
                organization_id: org,
                name: String::from(body.name),
                url: String::from(body.url),
                events: body.events,
                secret: body.secret.map(String::from),
                headers: body.headers,
                is_active: true,
                created_at: now,
                updated_at: now,
            })
            .clone()
        });
        Reply::created(&view(&created))
    }

    async fn list_all_delivery_logs(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = call.request;
        let event = request.param_str("event_type").map(str::to_owned);
        let org = organization(request).to_owned();
        let in_org: Vec<String> = self.subscriptions.read(&request.tenant, |all| {
            all.iter()
                .filter(|s| s.organization_id == org)
                .map(|s| s.id.to_string())
                .collect()
        });
        self.logs(request, |d| {
            event.as_deref().is_none_or(|e| d.event_type == e) && in_org.contains(&d.subscription)
        })
    }

    async fn get_webhook_subscription(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = call.request;
        Reply::ok(&view(&self.find(request)?))
    }

    async fn update_webhook_subscription(
        &self,
        call: Call<'_>,
        body: WebhookSubscriptionUpdate,
    ) -> Result<Reply, ApiError> {
        let request = call.request;
        if let Some(url) = &body.url {
            check_url(url)?;
        }
        check_headers(&body.headers)?;
        // `headers: {}` clears them; an absent `headers` keeps them. The generated type cannot
        // tell the two apart (an absent map is empty), the raw body can.
        let headers_sent = request.body().is_some_and(|b| b.get("headers").is_some());
        let (id, org) = (subscription_id(request), organization(request));
        let now = self.context.now();
        let updated = self.subscriptions.write(&request.tenant, |all| {
            let s = all.get_mut(id).filter(|s| s.organization_id == org)?;
            if let Some(name) = body.name {
                s.name = String::from(name);
            }
            if let Some(url) = body.url {
                s.url = String::from(url);
            }
            if !body.events.is_empty() {
                s.events = body.events;
            }
            if let Some(secret) = body.secret {
                s.secret = Some(String::from(secret));
            }
            if headers_sent {
                s.headers = body.headers;
            }
            if let Some(active) = body.is_active {
                s.is_active = active;
            }
            s.updated_at = now;
            Some(s.clone())
        });
        Reply::ok(&view(&updated.ok_or_else(not_found)?))
    }

    async fn delete_webhook_subscription(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = call.request;
        let (id, org) = (subscription_id(request), organization(request));
        let deleted = self.subscriptions.write(&request.tenant, |all| {
            all.get(id).filter(|s| s.organization_id == org)?;
            all.remove(id)
        });
        deleted.ok_or_else(not_found)?;
        Ok(Reply::no_content())
    }

    async fn list_subscription_delivery_logs(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = call.request;
        let id = self.find(request)?.id.to_string();
        self.logs(request, |d| d.subscription == id)
    }

    /// Queues a `workflow.completed` test event; the attempt shows in the subscription's logs.
    async fn test_webhook_subscription(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = call.request;
        let subscription = self.find(request)?;
        let message = self.message(
            &request.tenant,
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

fn organization(request: &Request) -> &str {
    request
        .param_str(ORGANIZATION_HEADER)
        .unwrap_or(DEFAULT_ORGANIZATION)
}

fn subscription_id(request: &Request) -> u64 {
    request
        .param_i64("subscription_id")
        .and_then(|id| u64::try_from(id).ok())
        .unwrap_or(0)
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

/// The subscription as the API shows it: everything but the secret.
fn view(s: &Subscription) -> Shown<'_> {
    Shown {
        id: s.id,
        name: &s.name,
        url: &s.url,
        events: &s.events,
        headers: &s.headers,
        is_active: s.is_active,
        created_at: &s.created_at,
        updated_at: &s.updated_at,
    }
}

/// A subscription as the API shows it (no organization, no secret), serialised straight from
/// the stored record.
#[derive(Serialize)]
struct Shown<'a> {
    id: u64,
    name: &'a str,
    url: &'a str,
    events: &'a [EventType],
    headers: &'a IndexMap<String, String>,
    is_active: bool,
    #[serde(serialize_with = "crate::clock::serialize")]
    created_at: &'a DateTime<Utc>,
    #[serde(serialize_with = "crate::clock::serialize")]
    updated_at: &'a DateTime<Utc>,
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
        let subscribed =
            |s: &Subscription| s.is_active && s.events.iter().any(|e| e.to_string() == event);
        delivery::fan_out(
            &self.engine,
            &self.subscriptions,
            tenant,
            subscribed,
            |tenant, s| self.message(tenant, s, event, data),
        )
    }

    fn events(&self) -> Vec<String> {
        EVENTS.iter().map(ToString::to_string).collect()
    }

    fn probe(&self, event: &str, data: &Value, url: &str, secret: &str) -> Result<Message, String> {
        let now = self.context.now();
        let subscription = Subscription {
            id: 1,
            organization_id: crate::apis::PROBE_TENANT.to_owned(),
            name: "hookmock check-receiver".to_owned(),
            url: url.to_owned(),
            events: Vec::new(),
            secret: Some(secret.to_owned()),
            headers: IndexMap::new(),
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        Ok(self.message(crate::apis::PROBE_TENANT, &subscription, event, data))
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
