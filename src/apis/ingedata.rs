//! Ingedata notification webhooks (`openapi/ingedata.json`), JSON:API: resource objects,
//! `page[number]`/`page[size]`, `sort`, `count`, `filter[…]`, sparse fieldsets and links.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::apis::stubs::IngedataApi;
use crate::apis::{Page, Wiring, numeric_id_for};
use crate::context::Context;
use crate::delivery::{self, EmitError, Emitter, Engine, Message};
use crate::error::{ApiError, Location, Violation};
use crate::fixtures::{FixtureError, Fixtures};
use crate::generated::types::ingedata::{WebhookCreateDocument, WebhookUpdateDocument};
use crate::mock::Call;
use crate::request::{Change, Reply, Request};
use crate::store::Store;

const TYPE: &str = "webhooks";
const BASE_PATH: &str = "/api/v3/notification/webhooks";
const PAGE_SIZE: i64 = 1000;
/// The event `POST …/test/{id}` sends.
const TEST_EVENT: &str = "webhook.test";

/// The attributes a resource shows, in order; also what `fields[webhooks]` may name.
const ATTRIBUTES: &[&str] = &[
    "id",
    "account_id",
    "name",
    "url",
    "secret",
    "events",
    "scopes",
    "created_at",
    "updated_at",
];
const SORTABLE: &[&str] = &["id", "name", "url", "created_at", "updated_at"];

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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Webhook {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    url: String,
    secret: String,
    events: Vec<String>,
    #[serde(default)]
    scopes: Map<String, Value>,
    /// Set when a receiver answered 410 Gone: no more deliveries. Not an attribute of the
    /// vendor's resource, so not shown.
    #[serde(default)]
    disabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize)]
struct Fixture {
    #[serde(default)]
    webhooks: Vec<Webhook>,
}

#[derive(Clone)]
pub struct Ingedata {
    context: Arc<Context>,
    engine: Engine,
    webhooks: Arc<Store<Webhook>>,
}

impl Ingedata {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("ingedata")?;
        let webhooks = wiring.store(
            "ingedata",
            "webhooks",
            fixture.webhooks.into_iter().map(|w| (w.id, w)),
        );
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
                store.write(&tenant_key, |all| {
                    all.get_mut(key).map(|w| w.disabled = true)
                });
            })),
            ..Message::standard_webhooks("ingedata", w.url.clone(), &payload, w.secret.clone())
        }
    }

    fn find(&self, request: &Request, param: &str) -> Result<Webhook, ApiError> {
        let id = request
            .param_i64(param)
            .and_then(|id| u64::try_from(id).ok())
            .unwrap_or(0);
        let found = self
            .webhooks
            .read(&request.tenant, |all| all.get(id).cloned());
        found.ok_or_else(|| ApiError::NotFound(format!("notification/webhooks {id} not found")))
    }
}

impl IngedataApi for Ingedata {
    async fn list_notification_webhooks(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let fields = request.field_list("fields[webhooks]", ATTRIBUTES)?;
        let order = sort_keys(request.param_str("sort"))?;
        let filters = Filters::new(request);
        // Serialised under the read lock, straight from the records: no copy of them is made.
        self.webhooks.read(&request.tenant, |all| {
            // The validated `sort` text names its order.
            let name = request.param_str("sort").unwrap_or("id");
            let ordered = all.ordered(name, |a, b| compare(a, b, &order));
            let (page, shown) = Page::of(
                ordered.filter(|w| filters.matches(w)),
                filters.is_empty().then(|| all.len()),
                request.param_i64("page[number]").unwrap_or(1),
                request.param_i64("page[size]").unwrap_or(PAGE_SIZE),
            );
            Reply::ok(&ListDocument {
                data: shown
                    .into_iter()
                    .map(|w| resource(w, request, fields.as_deref()))
                    .collect(),
                links: links(request, &page),
                meta: (request.param_bool("count") == Some(true))
                    .then_some(Count { count: page.total }),
            })
        })
    }

    async fn create_notification_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let body: WebhookCreateDocument = call.request.typed_body()?;
        let request = &call.request;
        let attributes = body.data.attributes;
        let now = self.context.now();
        let secret = attributes
            .secret
            .map(String::from)
            .unwrap_or_else(|| self.context.webhook_secret());
        let created = self.webhooks.write(&request.tenant, |all| {
            all.insert_with(|id| Webhook {
                id,
                name: attributes.name.map(String::from),
                url: String::from(attributes.url),
                secret,
                events: attributes.events.iter().map(ToString::to_string).collect(),
                scopes: attributes.scopes,
                disabled: false,
                created_at: now,
                updated_at: now,
            })
            .clone()
        });
        Reply::created(&Document {
            data: resource(&created, request, None),
        })
    }

    /// Sends `webhook.test` now and answers with what the receiver did.
    async fn test_notification_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let webhook = self.find(request, "id")?;
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

    async fn get_notification_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let fields = request.field_list("fields[webhooks]", ATTRIBUTES)?;
        let webhook = self.find(request, "resource_id")?;
        Reply::ok(&Document {
            data: resource(&webhook, request, fields.as_deref()),
        })
    }

    async fn update_notification_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let body: WebhookUpdateDocument = call.request.typed_body()?;
        let request = &call.request;
        let id = self.find(request, "resource_id")?.id;
        if let Some(sent) = body
            .data
            .id
            .as_deref()
            .filter(|sent| *sent != id.to_string())
        {
            return Err(ApiError::Conflict(format!(
                "data.id {sent:?} does not match the resource id {id} in the path"
            )));
        }
        let attributes = body.data.attributes;
        let now = self.context.now();
        let nullable: NullableDocument = request.typed_body()?;
        let updated = self.webhooks.write(&request.tenant, |all| {
            let w = all.get_mut(id)?;
            nullable.data.attributes.name.apply(&mut w.name);
            if let Some(url) = attributes.url {
                w.url = String::from(url);
            }
            if let Some(secret) = attributes.secret {
                w.secret = String::from(secret);
            }
            // An absent `events` deserializes as empty; an empty list sent is refused by `minItems`.
            if !attributes.events.is_empty() {
                w.events = attributes.events.iter().map(ToString::to_string).collect();
            }
            if !attributes.scopes.is_empty() {
                w.scopes = attributes.scopes;
            }
            w.updated_at = now;
            Some(w.clone())
        });
        let updated = updated
            .ok_or_else(|| ApiError::NotFound(format!("notification/webhooks {id} not found")))?;
        Reply::ok(&Document {
            data: resource(&updated, request, None),
        })
    }

    async fn delete_notification_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        let request = &call.request;
        let id = self.find(request, "resource_id")?.id;
        self.webhooks.write(&request.tenant, |all| all.remove(id));
        Ok(Reply::no_content())
    }
}

/// The update's nullable attributes, read from the raw body: `null` clears, absent keeps.
#[derive(Debug, Default, Deserialize)]
struct NullableDocument {
    #[serde(default)]
    data: NullableData,
}

#[derive(Debug, Default, Deserialize)]
struct NullableData {
    #[serde(default)]
    attributes: NullableAttributes,
}

#[derive(Debug, Default, Deserialize)]
struct NullableAttributes {
    #[serde(default)]
    name: Change<String>,
}

/// A JSON:API resource object; `fields` limits the attributes shown.
fn resource<'a>(w: &'a Webhook, request: &Request, fields: Option<&[String]>) -> Resource<'a> {
    let shown = |name: &str| fields.is_none_or(|f| f.iter().any(|n| n == name));
    let time = |name: &str, time: DateTime<Utc>| shown(name).then(|| crate::clock::format(time));
    Resource {
        kind: TYPE,
        id: w.id.to_string(),
        attributes: Attributes {
            id: shown("id").then_some(w.id),
            account_id: shown("account_id").then(|| numeric_id_for("account", &request.tenant)),
            name: shown("name").then_some(w.name.as_deref()),
            url: shown("url").then_some(&w.url),
            secret: shown("secret").then_some(&w.secret),
            events: shown("events").then_some(&w.events),
            scopes: shown("scopes").then_some(&w.scopes),
            created_at: time("created_at", w.created_at),
            updated_at: time("updated_at", w.updated_at),
        },
        relationships: Relationships {},
        links: SelfLink {
            this: format!("{BASE_PATH}/{}", w.id),
        },
    }
}

/// `{"data": …}`: a single resource.
#[derive(Serialize)]
struct Document<T> {
    data: T,
}

/// A page of resources, with the links to the others and, when `count=true`, their number.
#[derive(Serialize)]
struct ListDocument<'a> {
    data: Vec<Resource<'a>>,
    links: Links,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<Count>,
}

#[derive(Serialize)]
struct Count {
    count: usize,
}

/// A webhook as a JSON:API resource, borrowed from the stored record.
#[derive(Serialize)]
struct Resource<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    attributes: Attributes<'a>,
    relationships: Relationships,
    links: SelfLink,
}

/// [`ATTRIBUTES`], each absent when a sparse fieldset leaves it out.
#[derive(Serialize)]
struct Attributes<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<i64>,
    /// Shown as `null` when the webhook has no name.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

/// A webhook has no relationships; JSON:API still shows the empty object.
#[derive(Serialize)]
struct Relationships {}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

/// `self`, `first`, `prev`, `next`, `last` of a page.
#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    first: String,
    prev: Option<String>,
    next: Option<String>,
    last: String,
}

fn parameter_error(name: &str, message: String) -> ApiError {
    ApiError::Invalid(vec![Violation::new(
        Location::Query(name.to_owned()),
        "vendor",
        message,
    )])
}

/// An attribute `sort` may name.
#[derive(Debug, Clone, Copy)]
enum SortKey {
    Id,
    Name,
    Url,
    CreatedAt,
    UpdatedAt,
}

/// `sort=-created_at,name` as (attribute, descending) pairs, ending with the id so that the
/// order is total; the default is by id.
fn sort_keys(sort: Option<&str>) -> Result<Vec<(SortKey, bool)>, ApiError> {
    let mut keys = Vec::new();
    for part in sort
        .unwrap_or("id")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (name, descending) = match part.strip_prefix('-') {
            Some(name) => (name, true),
            None => (part, false),
        };
        let key = match name {
            "id" => SortKey::Id,
            "name" => SortKey::Name,
            "url" => SortKey::Url,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            _ => {
                return Err(parameter_error(
                    "sort",
                    format!("cannot sort by {name:?}; sortable: {}", SORTABLE.join(", ")),
                ));
            }
        };
        keys.push((key, descending));
    }
    keys.push((SortKey::Id, false));
    Ok(keys)
}

/// `a` against `b` by each key in turn, stopping at the first that tells them apart.
fn compare(a: &Webhook, b: &Webhook, keys: &[(SortKey, bool)]) -> Ordering {
    for (key, descending) in keys {
        let order = match key {
            SortKey::Id => a.id.cmp(&b.id),
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Url => a.url.cmp(&b.url),
            SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
            SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        };
        let order = if *descending { order.reverse() } else { order };
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

/// The request's `filter[…]` parameters, read once per list rather than once per webhook.
struct Filters {
    ids: Option<Vec<String>>,
    /// `filter[account_id]` names the caller's own account (or is absent).
    own_account: bool,
    name: Option<String>,
    url: Option<String>,
    secret: Option<String>,
    event: Option<String>,
    scope: Option<ScopeFilter>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

impl Filters {
    fn new(request: &Request) -> Self {
        let filter = |name: &str| request.param_str(name);
        let lower = |name: &str| filter(name).map(str::to_lowercase);
        let account = || numeric_id_for("account", &request.tenant).to_string();
        Self {
            ids: filter("filter[id]")
                .map(|ids| ids.split(',').map(|id| id.trim().to_owned()).collect()),
            own_account: filter("filter[account_id]").is_none_or(|id| id == account()),
            name: lower("filter[name]"),
            url: lower("filter[url]"),
            secret: filter("filter[secret]").map(str::to_owned),
            event: filter("filter[events]").map(str::to_owned),
            scope: filter("filter[scopes]").map(ScopeFilter::new),
            created_at: filter("filter[created_at]").map(str::to_owned),
            updated_at: filter("filter[updated_at]").map(str::to_owned),
        }
    }

    /// No filter but (perhaps) the caller's own account: every webhook matches.
    fn is_empty(&self) -> bool {
        self.own_account
            && self.ids.is_none()
            && self.name.is_none()
            && self.url.is_none()
            && self.secret.is_none()
            && self.event.is_none()
            && self.scope.is_none()
            && self.created_at.is_none()
            && self.updated_at.is_none()
    }

    fn matches(&self, w: &Webhook) -> bool {
        let contains = |text: Option<&str>, needle: &str| {
            text.is_some_and(|t| t.to_lowercase().contains(needle))
        };
        let on_day = |time, day: &str| crate::clock::format(time).starts_with(day);
        self.own_account
            && self
                .ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&w.id.to_string()))
            && self
                .name
                .as_deref()
                .is_none_or(|q| contains(w.name.as_deref(), q))
            && self
                .url
                .as_deref()
                .is_none_or(|q| contains(Some(&w.url), q))
            && self
                .secret
                .as_ref()
                .is_none_or(|secret| w.secret == *secret)
            && self
                .event
                .as_ref()
                .is_none_or(|event| w.events.contains(event))
            && self
                .scope
                .as_ref()
                .is_none_or(|scope| scope.matches(&w.scopes))
            && self
                .created_at
                .as_deref()
                .is_none_or(|day| on_day(w.created_at, day))
            && self
                .updated_at
                .as_deref()
                .is_none_or(|day| on_day(w.updated_at, day))
    }
}

/// `filter[scopes]=key` (the scopes have this key) or `key:value` (with this value: a string
/// as it is, any other value as its JSON text).
struct ScopeFilter {
    key: String,
    value: Option<String>,
}

impl ScopeFilter {
    fn new(text: &str) -> Self {
        match text.split_once(':') {
            Some((key, value)) => Self {
                key: key.to_owned(),
                value: Some(value.to_owned()),
            },
            None => Self {
                key: text.to_owned(),
                value: None,
            },
        }
    }

    fn matches(&self, scopes: &Map<String, Value>) -> bool {
        let Some(found) = scopes.get(&self.key) else {
            return false;
        };
        match (&self.value, found) {
            (None, _) => true,
            (Some(want), Value::String(text)) => text == want,
            (Some(want), other) => serde_json::from_str::<Value>(want).is_ok_and(|v| v == *other),
        }
    }
}

/// `self`, `first`, `prev`, `next`, `last`, keeping the request's other query parameters.
fn links(request: &Request, page: &Page) -> Links {
    let mut start = format!("{BASE_PATH}?");
    for other in request
        .query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page%5B") && !p.starts_with("page["))
    {
        start.push_str(other);
        start.push('&');
    }
    start.push_str("page[number]=");
    let size = format!("&page[size]={}", page.per_page);
    let link = |n: usize| {
        let number = n.to_string();
        let mut link = String::with_capacity(start.len() + number.len() + size.len());
        link.push_str(&start);
        link.push_str(&number);
        link.push_str(&size);
        link
    };
    Links {
        this: link(page.number),
        first: link(1),
        prev: (page.number > 1).then(|| link(page.number - 1)),
        next: (page.number < page.last_page()).then(|| link(page.number + 1)),
        last: link(page.last_page()),
    }
}

impl Ingedata {
    /// The subscription a probe is sent as.
    fn probe_webhook(&self, url: &str, secret: &str) -> Webhook {
        let now = self.context.now();
        Webhook {
            id: 1,
            name: Some("hookmock check-receiver".to_owned()),
            url: url.to_owned(),
            secret: secret.to_owned(),
            events: Vec::new(),
            scopes: Map::new(),
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Emitter for Ingedata {
    fn emit(
        &self,
        event: &str,
        data: &Value,
        tenant: Option<&str>,
    ) -> Result<Vec<String>, EmitError> {
        let catalogue: Vec<&str> = EVENTS.to_vec();
        delivery::known_event(event, &catalogue)?;
        let subscribed = |w: &Webhook| !w.disabled && w.events.iter().any(|e| e == event);
        delivery::fan_out(
            &self.engine,
            &self.webhooks,
            tenant,
            subscribed,
            |tenant, w| self.message(tenant, w, event, data),
        )
    }

    fn events(&self) -> Vec<String> {
        EVENTS.iter().map(|name| (*name).to_owned()).collect()
    }

    fn probe(&self, event: &str, data: &Value, url: &str, secret: &str) -> Result<Message, String> {
        let webhook = self.probe_webhook(url, secret);
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
