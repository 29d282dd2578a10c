//! ELAN Languages workflow webhook subscriptions (`openapi/elan.json`), FastAPI-style.
//!
//! Subscriptions belong to an organization: the `X-Organization-ID` header chooses it, and
//! without it every tenant's default organization is `org_default`. The secret is write-only.
//! Delivery logs are what the delivery engine records; until it exists they are empty.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::apis::{loopback_or_https, not_yet};
use crate::context::Context;
use crate::error::{ApiError, Violation};
use crate::fixtures::{FixtureError, Fixtures};
use crate::generated::ElanApi;
use crate::generated::types::elan::{
    EventType, WebhookSubscriptionCreate, WebhookSubscriptionUpdate,
};
use crate::request::{Reply, Request};
use crate::store::{Collection, Store, Stores};

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

pub struct Elan {
    context: Arc<Context>,
    subscriptions: Arc<Store<Subscription>>,
}

impl Elan {
    pub fn new(
        context: Arc<Context>,
        fixtures: &Fixtures,
        stores: &mut Stores,
    ) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("elan")?;
        let records = fixture.subscriptions.into_iter().map(|s| (s.id, s));
        let subscriptions = Arc::new(Store::new(Collection::from_records(records)));
        stores.add("elan", "subscriptions", subscriptions.clone());
        Ok(Self {
            context,
            subscriptions,
        })
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
    async fn list_webhook_subscriptions(&self, request: Request) -> Result<Reply, ApiError> {
        let org = organization(&request);
        let listed: Vec<Value> = self.subscriptions.read(&request.tenant, |all| {
            all.iter()
                .filter(|s| s.organization_id == org)
                .map(view)
                .collect()
        });
        Ok(Reply::ok(Value::Array(listed)))
    }

    async fn create_webhook_subscription(
        &self,
        request: Request,
        body: WebhookSubscriptionCreate,
    ) -> Result<Reply, ApiError> {
        check_url(&body.url)?;
        let now = self.context.now();
        let org = organization(&request).to_owned();
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
        Ok(Reply::created(view(&created)))
    }

    async fn list_all_delivery_logs(&self, _request: Request) -> Result<Reply, ApiError> {
        Ok(Reply::ok(json!([])))
    }

    async fn get_webhook_subscription(&self, request: Request) -> Result<Reply, ApiError> {
        Ok(Reply::ok(view(&self.find(&request)?)))
    }

    async fn update_webhook_subscription(
        &self,
        request: Request,
        body: WebhookSubscriptionUpdate,
    ) -> Result<Reply, ApiError> {
        if let Some(url) = &body.url {
            check_url(url)?;
        }
        // `headers: {}` clears them; an absent `headers` keeps them. The generated type cannot
        // tell the two apart (an absent map is empty), the raw body can.
        let headers_sent = request.body().is_some_and(|b| b.get("headers").is_some());
        let (id, org) = (subscription_id(&request), organization(&request));
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
        Ok(Reply::ok(view(&updated.ok_or_else(not_found)?)))
    }

    async fn delete_webhook_subscription(&self, request: Request) -> Result<Reply, ApiError> {
        let (id, org) = (subscription_id(&request), organization(&request));
        let deleted = self.subscriptions.write(&request.tenant, |all| {
            all.get(id).filter(|s| s.organization_id == org)?;
            all.remove(id)
        });
        deleted.ok_or_else(not_found)?;
        Ok(Reply::no_content())
    }

    async fn list_subscription_delivery_logs(&self, request: Request) -> Result<Reply, ApiError> {
        self.find(&request)?;
        Ok(Reply::ok(json!([])))
    }

    async fn test_webhook_subscription(&self, request: Request) -> Result<Reply, ApiError> {
        self.find(&request)?;
        // Sending the test event needs the delivery engine (the issue "Webhook delivery").
        not_yet(request, ())
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

/// The subscription as the API shows it: everything but the secret.
fn view(s: &Subscription) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "url": s.url,
        "events": s.events,
        "headers": s.headers,
        "is_active": s.is_active,
        "created_at": crate::clock::format(s.created_at),
        "updated_at": crate::clock::format(s.updated_at),
    })
}
