//! Patchworks flow triggers (`openapi/patchworks.json`): webhooks and callbacks of a flow, with
//! Laravel's paginator and validation errors.
//!
//! The generic engine serves the triggers from the document: each flow's webhooks and callbacks
//! are collections inside it (`/api/v1/flows/{flow}/webhooks`), with integer identifiers, the
//! paginator's `data`, `links` and `meta`, and `flow_id` set from the path. What Patchworks does
//! beyond that is here:
//! - flows come from the fixtures (the API has no call that makes one), kept in the same state
//!   at `/api/v1/flows`; a call naming an unknown one is Laravel's 404;
//! - Laravel's validated input: a create or update stores only the fields its request declares,
//!   a field left out keeps its value and `null` clears it (an ORM's `fill`);
//! - a new trigger is a Draft in JSON, a callback gets a static token;
//! - each trigger shows an absolute `url` on this server, which starts a flow run when called
//!   ([`trigger`]), checking the webhook's HMAC or the callback's token.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::apis::Wiring;
use crate::apis::flow_runs::{FlowRun, FlowRuns};
use crate::apis::stubs::PatchworksApi;
use crate::context::Context;
use crate::error::{ApiError, Violation};
use crate::fixtures::{FixtureError, Fixtures};
use crate::mock::{Call, Collections, Upgraded, fields_sent, sequence_key};
use crate::request::{Reply, Request};
use crate::signing;

/// Where the flows are kept: the document has no route of its own for them.
const FLOWS: &str = "/api/v1/flows";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Webhook,
    Callback,
}

impl Kind {
    /// The path segment, and the segment of the trigger URL hookmock serves.
    fn plural(self) -> &'static str {
        match self {
            Kind::Webhook => "webhooks",
            Kind::Callback => "callbacks",
        }
    }

    /// The model a Laravel 404 names.
    fn model(self) -> &'static str {
        match self {
            Kind::Webhook => "FlowWebhook",
            Kind::Callback => "FlowCallback",
        }
    }

    /// The path parameter naming one, and what a flow run says started it.
    fn param(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Callback => "callback",
        }
    }

    /// Where the triggers of `flow` are kept.
    fn instance(self, flow: impl std::fmt::Display) -> String {
        format!("{FLOWS}/{flow}/{}", self.plural())
    }

    /// The kind kept at `instance`, if triggers are kept there.
    fn kept_at(instance: &str) -> Option<Self> {
        let inside = instance.strip_prefix(FLOWS)?.strip_prefix('/')?;
        match inside.split_once('/')?.1 {
            "webhooks" => Some(Kind::Webhook),
            "callbacks" => Some(Kind::Callback),
            _ => None,
        }
    }
}

/// A trigger's status (the document's `TriggerStatus`): only a Deployed one starts a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Status {
    Draft,
    Deployed,
    Inactive,
}

/// The hashes a webhook's `X-HMAC-HASH` may use: the document's `hmac_algorithm` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum HmacAlgorithm {
    Sha256,
    Ripemd128,
}

impl HmacAlgorithm {
    fn name(self) -> &'static str {
        match self {
            HmacAlgorithm::Sha256 => "sha256",
            HmacAlgorithm::Ripemd128 => "ripemd128",
        }
    }

    fn digest(self, key: &str, body: &[u8]) -> Vec<u8> {
        match self {
            HmacAlgorithm::Sha256 => signing::hmac_sha256(key.as_bytes(), &[body]).to_vec(),
            HmacAlgorithm::Ripemd128 => signing::hmac_ripemd128(key.as_bytes(), body).to_vec(),
        }
    }
}

/// What a trigger URL reads of a stored trigger. Read typed, so that no stored state (an
/// import) can hold one the trigger cannot act on: the import is refused instead.
#[derive(Debug, Deserialize)]
struct Trigger {
    status: Status,
    #[serde(default)]
    hmac_algorithm: Option<HmacAlgorithm>,
    #[serde(default)]
    hmac_secret_key: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Fixture {
    #[serde(default)]
    flows: Vec<serde_json::Map<String, Value>>,
    #[serde(default)]
    webhooks: Vec<serde_json::Map<String, Value>>,
    #[serde(default)]
    callbacks: Vec<serde_json::Map<String, Value>>,
}

/// A record's integer field `name` (0 when it has none).
fn number(record: &serde_json::Map<String, Value>, name: &str) -> u64 {
    record.get(name).and_then(Value::as_u64).unwrap_or(0)
}

#[derive(Clone)]
pub struct Patchworks {
    context: Arc<Context>,
    runs: Arc<FlowRuns>,
    keys: Arc<Mutex<Keys>>,
    state: Arc<Collections>,
}

impl Patchworks {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("patchworks")?;
        let flows = fixture.flows.into_iter().map(|flow| {
            let id = number(&flow, "id");
            (FLOWS.to_owned(), id.to_string(), id, Value::Object(flow))
        });
        let triggers = |kind: Kind, records: Vec<serde_json::Map<String, Value>>| {
            records.into_iter().map(move |record| {
                let id = number(&record, "id");
                let instance = kind.instance(number(&record, "flow_id"));
                (instance, id.to_string(), id, Value::Object(record))
            })
        };
        let keys: Arc<Mutex<Keys>> = Arc::default();
        let shown_to = keys.clone();
        let state = Collections::seeded(sequence_key("patchworks", FLOWS), flows)
            .seeding(
                sequence("webhooks"),
                triggers(Kind::Webhook, fixture.webhooks),
            )
            .seeding(
                sequence("callbacks"),
                triggers(Kind::Callback, fixture.callbacks),
            )
            .shown_with(move |request, instance, id, record| {
                if Kind::kept_at(instance).is_some() {
                    let key = Keys::remember(&shown_to, &request.tenant);
                    record["url"] = json!(trigger_url(request, &key, instance, id));
                }
            })
            .checked_by(|instance, record| match Kind::kept_at(instance) {
                Some(_) => Trigger::deserialize(record)
                    .map(drop)
                    .map_err(|e| e.to_string()),
                None => Ok(()),
            });
        let state = Arc::new(state);
        wiring
            .stores
            .add("patchworks", "collections", state.clone());
        let earlier = state.clone();
        wiring
            .stores
            .upgrading("patchworks", move |stores| upgrade(&earlier, stores));
        wiring.generic.push(("patchworks", state.clone()));
        Ok(Self {
            context: wiring.context.clone(),
            runs: wiring.flow_runs.clone(),
            keys,
            state,
        })
    }

    /// The flow the path names, or Laravel's 404.
    fn flow(&self, request: &Request) -> Result<u64, ApiError> {
        let raw = request.param_str("flow").unwrap_or_default();
        raw.parse::<u64>()
            .ok()
            .filter(|id| {
                self.state
                    .get(&request.tenant, FLOWS, &id.to_string())
                    .is_some()
            })
            .ok_or_else(|| not_found("Flow", raw))
    }

    /// The engine's answer to a call on the triggers of a flow that exists, its 404 naming the
    /// model and identifier as Laravel's does.
    fn answer<'c>(
        &self,
        kind: Kind,
        call: Call<'c>,
        answer: impl FnOnce(Call<'c>) -> Result<Reply, ApiError>,
    ) -> Result<Reply, ApiError> {
        self.flow(&call.request)?;
        let id = call.request.param_str(kind.param()).map(str::to_owned);
        answer(call).map_err(|error| match (error, id) {
            (ApiError::NotFound(_), Some(id)) => not_found(kind.model(), &id),
            (error, _) => error,
        })
    }

    fn create(&self, kind: Kind, call: Call<'_>) -> Result<Reply, ApiError> {
        let token = (kind == Kind::Callback).then(|| self.context.hex(32));
        self.answer(kind, call, |mut call| {
            let declared = call.declared_fields();
            call.state.create_with(&mut call, |record| {
                if let Value::Object(record) = record {
                    record.retain(|name, _| declared.contains(name));
                    let mut default = |name: &str, value: Value| {
                        record.entry(name).or_insert(value);
                    };
                    default("status", json!("Draft"));
                    default("format", json!("json"));
                    match token {
                        Some(token) => default("token", json!(token)),
                        None => {
                            default("body", Value::Null);
                            default("hmac_algorithm", Value::Null);
                        }
                    }
                }
            })
        })
    }

    fn update(&self, kind: Kind, call: Call<'_>) -> Result<Reply, ApiError> {
        self.answer(kind, call, |mut call| {
            let declared = call.declared_fields();
            call.state.update_with(&mut call, |_, stored, mut sent| {
                if let Value::Object(sent) = &mut sent {
                    sent.retain(|name, _| declared.contains(name));
                }
                let updated = fields_sent(stored, sent);
                check_hmac(&updated)?;
                Ok(updated)
            })
        })
    }
}

/// The key of the identifier sequence of the triggers kept as `plural`.
fn sequence(plural: &str) -> String {
    sequence_key("patchworks", &format!("{FLOWS}/{{flow}}/{plural}"))
}

impl PatchworksApi for Patchworks {
    async fn list_flow_webhooks(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.answer(Kind::Webhook, call, Call::answer)
    }

    async fn create_flow_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.create(Kind::Webhook, call)
    }

    async fn update_flow_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.update(Kind::Webhook, call)
    }

    async fn delete_flow_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.answer(Kind::Webhook, call, Call::answer)
    }

    async fn list_flow_callbacks(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.answer(Kind::Callback, call, Call::answer)
    }

    async fn create_flow_callback(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.create(Kind::Callback, call)
    }

    async fn update_flow_callback(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.update(Kind::Callback, call)
    }

    async fn delete_flow_callback(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.answer(Kind::Callback, call, Call::answer)
    }
}

fn not_found(model: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("No query results for model [{model}] {id}."))
}

/// Laravel's `required_with`: an algorithm needs a key (sent now, or stored before).
fn check_hmac(trigger: &Value) -> Result<(), ApiError> {
    let set = |name: &str| trigger.get(name).is_some_and(|v| !v.is_null() && *v != "");
    if set("hmac_algorithm") && !set("hmac_secret_key") {
        let message = "The hmac secret key field is required when hmac algorithm is present.";
        return Err(ApiError::Invalid(vec![Violation::body(
            "/hmac_secret_key",
            message,
        )]));
    }
    Ok(())
}

/// The keys of the tenants whose trigger URLs were shown, both ways.
#[derive(Debug, Default)]
struct Keys {
    tenants: HashMap<String, String>,
    of_tenant: HashMap<String, String>,
}

impl Keys {
    /// The key of `tenant`'s trigger URLs, about to be shown to it: remembered, so that a call
    /// of one of them finds the tenant.
    fn remember(keys: &Mutex<Keys>, tenant: &str) -> String {
        let mut keys = keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = keys.of_tenant.get(tenant) {
            return key.clone();
        }
        let key = tenant_key(tenant);
        keys.tenants.insert(key.clone(), tenant.to_owned());
        keys.of_tenant.insert(tenant.to_owned(), key.clone());
        key
    }
}

/// The absolute URL that starts the flow of the trigger `id` kept at `instance`
/// (`http://host/triggers/<tenant key>/flows/12/webhooks/41`).
fn trigger_url(request: &Request, key: &str, instance: &str, id: &str) -> String {
    let inside = instance.strip_prefix("/api/v1").unwrap_or(instance);
    format!("{}/triggers/{key}{inside}/{id}", request.base_url())
}

/// The part of a trigger URL that names the tenant without revealing its credential: the first
/// 16 hex digits of the credential's SHA-256.
fn tenant_key(tenant: &str) -> String {
    use sha2::Digest as _;
    let mut key = hex::encode(sha2::Sha256::digest(tenant.as_bytes()));
    key.truncate(16);
    key
}

/// An export of the module Patchworks had before it stood on the engine (numbered stores
/// `flows`, `webhooks` and `callbacks`) as this state's `collections`.
fn upgrade(
    state: &Collections,
    stores: &mut BTreeMap<String, Box<RawValue>>,
) -> Result<(), String> {
    let earlier = ["flows", "webhooks", "callbacks"];
    if !earlier.iter().any(|name| stores.contains_key(*name)) {
        return Ok(());
    }
    if stores.contains_key("collections") {
        return Err("either collections or the earlier flows, webhooks and callbacks".to_owned());
    }
    let mut upgraded = Upgraded::of(state);
    if let Some(flows) = stores.remove("flows") {
        let held = |instance: &str| instance == FLOWS;
        upgraded
            .add(
                &flows,
                &sequence_key("patchworks", FLOWS),
                held,
                |id, flow| (FLOWS.to_owned(), id.to_string(), flow),
            )
            .map_err(|e| format!("flows: {e}"))?;
    }
    for kind in [Kind::Webhook, Kind::Callback] {
        let Some(triggers) = stores.remove(kind.plural()) else {
            continue;
        };
        let held = |instance: &str| Kind::kept_at(instance) == Some(kind);
        let place = |id: u64, record: Value| {
            let flow = record.get("flow_id").and_then(Value::as_u64).unwrap_or(0);
            (kind.instance(flow), id.to_string(), record)
        };
        upgraded
            .add(&triggers, &sequence(kind.plural()), held, place)
            .map_err(|e| format!("{}: {e}", kind.plural()))?;
    }
    stores.insert("collections".to_owned(), upgraded.export()?);
    Ok(())
}

/// `POST /triggers/{key}/flows/{flow}/{webhooks|callbacks}/{id}`: what a caller of a trigger URL
/// gets. A Deployed trigger starts a flow run (`GET /__admin/flow-runs`); a webhook with HMAC
/// settings needs `X-HMAC-HASH`, a callback its static token.
pub async fn trigger(
    State(patchworks): State<Patchworks>,
    Path((key, flow, kind, id)): Path<(String, String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let called = Called {
        key: &key,
        flow: &flow,
        kind: &kind,
        id: &id,
        query: query.as_deref(),
        headers: &headers,
        body: &body,
    };
    let (status, answer) = match patchworks.start_run(&called) {
        Ok(run) => (
            StatusCode::OK,
            json!({ "message": "Flow run queued.", "run_id": run }),
        ),
        Err((status, message)) => (status, json!({ "message": message })),
    };
    (status, axum::Json(answer)).into_response()
}

/// One call of a trigger URL.
struct Called<'a> {
    key: &'a str,
    flow: &'a str,
    kind: &'a str,
    id: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Patchworks {
    fn start_run(&self, called: &Called<'_>) -> Result<u64, (StatusCode, String)> {
        let Called {
            key,
            flow,
            kind,
            id,
            ..
        } = *called;
        let missing = || {
            (
                StatusCode::NOT_FOUND,
                format!("No flow trigger at /triggers/{key}/flows/{flow}/{kind}/{id}."),
            )
        };
        let kind = match kind {
            "webhooks" => Kind::Webhook,
            "callbacks" => Kind::Callback,
            _ => return Err(missing()),
        };
        let known = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tenants
            .get(key)
            .cloned();
        let tenant = known.ok_or_else(missing)?;
        let (flow_id, trigger_id) = (
            flow.parse::<u64>().map_err(|_| missing())?,
            id.parse::<u64>().map_err(|_| missing())?,
        );
        let stored = self
            .state
            .get(&tenant, &kind.instance(flow_id), &trigger_id.to_string())
            .ok_or_else(missing)?;
        let trigger = Trigger::deserialize(&stored).map_err(|e| {
            let what = format!("This {} cannot be called: {e}", kind.param());
            (StatusCode::CONFLICT, what)
        })?;
        // The credential first: a caller without it learns nothing of the trigger's state.
        match kind {
            Kind::Webhook => check_hmac_header(&trigger, called.headers, called.body)?,
            Kind::Callback => check_token(&trigger, called.headers, called.query)?,
        }
        if trigger.status != Status::Deployed {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "This {} is {:?}; only Deployed triggers start a flow.",
                    kind.param(),
                    trigger.status
                ),
            ));
        }
        let (body, body_encoding) = match std::str::from_utf8(called.body) {
            Ok(text) => (text.to_owned(), "utf8"),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(called.body),
                "base64",
            ),
        };
        Ok(self.runs.record(FlowRun {
            id: 0,
            flow_id,
            trigger: kind.param().to_owned(),
            trigger_id,
            tenant: crate::wire::mask(&tenant),
            received_at: crate::clock::format(self.context.now()),
            content_type: called
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
            body_encoding: body_encoding.to_owned(),
        }))
    }
}

/// A webhook with `hmac_algorithm` and a key needs `X-HMAC-HASH`: that HMAC of the raw body.
fn check_hmac_header(
    trigger: &Trigger,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (StatusCode, String)> {
    let (Some(algorithm), Some(key)) = (trigger.hmac_algorithm, &trigger.hmac_secret_key) else {
        return Ok(());
    };
    let expected = algorithm.digest(key, body);
    let algorithm = algorithm.name();
    let sent = headers.get("x-hmac-hash").and_then(|v| v.to_str().ok());
    match sent {
        Some(sent) if signing::matches_digest(&expected, sent) => Ok(()),
        Some(_) => Err((
            StatusCode::UNAUTHORIZED,
            format!(
                "X-HMAC-HASH does not match: expected the {algorithm} HMAC of the raw body, hex or base64."
            ),
        )),
        None => Err((
            StatusCode::UNAUTHORIZED,
            format!(
                "X-HMAC-HASH is missing: send the {algorithm} HMAC of the raw body, hex or base64."
            ),
        )),
    }
}

/// A callback needs its static token, as `patchworks-signature` or `?patchworks_signature=`.
fn check_token(
    trigger: &Trigger,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), (StatusCode, String)> {
    let Some(token) = &trigger.token else {
        return Ok(());
    };
    let from_query = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "patchworks_signature")
            .map(|(_, v)| v.into_owned())
    });
    let sent = headers
        .get("patchworks-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(from_query);
    match sent {
        Some(sent) if signing::constant_time_eq(sent.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err((
            StatusCode::UNAUTHORIZED,
            "The patchworks-signature header (or ?patchworks_signature=) must carry the callback's token."
                .to_owned(),
        )),
    }
}
