//! Patchworks flow triggers (`openapi/patchworks.json`): webhooks and callbacks of a flow, with
//! Laravel's paginator and validation errors.
//!
//! Webhooks and callbacks are the same resource with different extras (a webhook has a body
//! template and HMAC settings, a callback a static token), so one implementation serves both,
//! told apart by [`Kind`]. Flows come from the fixtures: the API has no call that creates one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::apis::{Page, Wiring};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::apis::flow_runs::{FlowRun, FlowRuns};
use crate::apis::stubs::PatchworksApi;
use crate::context::Context;
use crate::error::{ApiError, Violation};
use crate::fixtures::{FixtureError, Fixtures};
use crate::generated::types::patchworks::{PayloadFormat, TriggerStatus};
use crate::mock::Call;
use crate::request::{Change, Reply, Request};
use crate::signing;
use crate::store::Store;

/// Laravel's default page size.
const PER_PAGE: i64 = 15;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flow {
    id: u64,
    name: String,
}

/// A flow webhook or callback as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Trigger {
    id: u64,
    flow_id: u64,
    status: TriggerStatus,
    format: PayloadFormat,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    hmac_algorithm: Option<HmacAlgorithm>,
    #[serde(default)]
    hmac_secret_key: Option<String>,
    #[serde(default)]
    token: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

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

    fn model(self) -> &'static str {
        match self {
            Kind::Webhook => "FlowWebhook",
            Kind::Callback => "FlowCallback",
        }
    }

    fn param(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Callback => "callback",
        }
    }
}

/// The hashes a webhook's `X-HMAC-HASH` may use: the document's `hmac_algorithm` enum. Stored
/// typed, so no stored state (an import, a fixture) can name one the trigger cannot compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// The fields a create or update sends, read from the raw body so that a nullable one sent as
/// `null` clears it and an absent one keeps it ([`Change`]).
#[derive(Debug, Default, Deserialize)]
struct Changes {
    status: Option<TriggerStatus>,
    format: Option<PayloadFormat>,
    #[serde(default)]
    body: Change<String>,
    #[serde(default)]
    hmac_algorithm: Change<HmacAlgorithm>,
    #[serde(default)]
    hmac_secret_key: Change<String>,
}

/// What the other requests declare: a webhook's create has no HMAC settings (its update has,
/// and validates them), a callback neither a body template nor HMAC settings. Like Laravel's
/// validated input, anything else sent is ignored, so it cannot be stored.
#[derive(Debug, Default, Deserialize)]
struct Declared {
    status: Option<TriggerStatus>,
    format: Option<PayloadFormat>,
    #[serde(default)]
    body: Change<String>,
}

/// The changes a create or update asks for, reading only the fields its request declares.
fn read_changes(kind: Kind, create: bool, request: &Request) -> Result<Changes, ApiError> {
    if kind == Kind::Webhook && !create {
        return request.typed_body();
    }
    let declared: Declared = request.typed_body()?;
    Ok(Changes {
        status: declared.status,
        format: declared.format,
        body: match kind {
            Kind::Webhook => declared.body,
            Kind::Callback => Change::Keep,
        },
        ..Changes::default()
    })
}

#[derive(Debug, Default, Deserialize)]
struct Fixture {
    #[serde(default)]
    flows: Vec<Flow>,
    #[serde(default)]
    webhooks: Vec<Trigger>,
    #[serde(default)]
    callbacks: Vec<Trigger>,
}

#[derive(Clone)]
pub struct Patchworks {
    context: Arc<Context>,
    runs: Arc<FlowRuns>,
    /// Trigger URL keys → tenants, for every tenant whose trigger URLs were shown.
    keys: Arc<Mutex<HashMap<String, String>>>,
    flows: Arc<Store<Flow>>,
    webhooks: Arc<Store<Trigger>>,
    callbacks: Arc<Store<Trigger>>,
}

impl Patchworks {
    pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Self, FixtureError> {
        let fixture: Fixture = fixtures.load("patchworks")?;
        let by_id = |items: Vec<Trigger>| items.into_iter().map(|t| (t.id, t));
        let this = Self {
            context: wiring.context.clone(),
            runs: wiring.flow_runs.clone(),
            keys: Arc::default(),
            flows: wiring.store(
                "patchworks",
                "flows",
                fixture.flows.into_iter().map(|f| (f.id, f)),
            ),
            webhooks: wiring.store("patchworks", "webhooks", by_id(fixture.webhooks)),
            callbacks: wiring.store("patchworks", "callbacks", by_id(fixture.callbacks)),
        };
        Ok(this)
    }

    /// Remembers the tenant behind the key of the trigger URLs about to be shown to it.
    fn remember(&self, tenant: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.entry(tenant_key(tenant))
            .or_insert_with(|| tenant.to_owned());
    }

    fn store(&self, kind: Kind) -> &Store<Trigger> {
        match kind {
            Kind::Webhook => &self.webhooks,
            Kind::Callback => &self.callbacks,
        }
    }

    /// The flow named in the path, or Laravel's 404.
    fn flow(&self, request: &Request) -> Result<u64, ApiError> {
        let raw = request.param_str("flow").unwrap_or_default();
        let id = raw
            .parse::<u64>()
            .ok()
            .filter(|id| self.flows.read(&request.tenant, |f| f.get(*id).is_some()));
        id.ok_or_else(|| not_found("Flow", raw))
    }

    fn list(&self, kind: Kind, request: &Request) -> Result<Reply, ApiError> {
        self.remember(&request.tenant);
        let flow = self.flow(request)?;
        let per_page = request.param_i64("per_page").unwrap_or(PER_PAGE);
        let explicit_per_page = request.param("per_page").is_some();
        // Serialised under the read lock, straight from the records: no copy of them is made.
        self.store(kind).read(&request.tenant, |all| {
            let (page, shown) = Page::of(
                all.iter().filter(|t| t.flow_id == flow),
                None,
                request.param_i64("page").unwrap_or(1),
                per_page,
            );
            let triggers = triggers_url(request);
            let items = shown
                .into_iter()
                .map(|t| view(kind, t, &triggers))
                .collect();
            Reply::ok(&laravel_page(items, &page, request, explicit_per_page))
        })
    }

    fn create(&self, kind: Kind, request: &Request) -> Result<Reply, ApiError> {
        self.remember(&request.tenant);
        let flow = self.flow(request)?;
        let changes = read_changes(kind, true, request)?;
        let now = self.context.now();
        let token = (kind == Kind::Callback).then(|| self.context.hex(32));
        let created = self.store(kind).write(&request.tenant, |all| {
            let mut trigger = Trigger {
                id: 0,
                flow_id: flow,
                status: TriggerStatus::Draft,
                format: PayloadFormat::Json,
                body: None,
                hmac_algorithm: None,
                hmac_secret_key: None,
                token,
                created_at: now,
                updated_at: now,
            };
            apply(&mut trigger, changes, now);
            all.insert_with(|id| Trigger { id, ..trigger }).clone()
        });
        Reply::ok(&Data {
            data: view(kind, &created, &triggers_url(request)),
        })
    }

    fn update(&self, kind: Kind, request: &Request) -> Result<Reply, ApiError> {
        self.remember(&request.tenant);
        let flow = self.flow(request)?;
        let changes = read_changes(kind, false, request)?;
        let raw = request.param_str(kind.param()).unwrap_or_default();
        let now = self.context.now();
        let updated = self.store(kind).write(&request.tenant, |all| {
            let trigger = raw
                .parse()
                .ok()
                .and_then(|id| all.get_mut(id))
                .filter(|t| t.flow_id == flow);
            let trigger = trigger.ok_or_else(|| not_found(kind.model(), raw))?;
            check_hmac(&changes, trigger)?;
            apply(trigger, changes, now);
            Ok::<_, ApiError>(trigger.clone())
        })?;
        Reply::ok(&Data {
            data: view(kind, &updated, &triggers_url(request)),
        })
    }

    fn delete(&self, kind: Kind, request: &Request) -> Result<Reply, ApiError> {
        let flow = self.flow(request)?;
        let raw = request.param_str(kind.param()).unwrap_or_default();
        let deleted = self.store(kind).write(&request.tenant, |all| {
            let id = raw
                .parse()
                .ok()
                .filter(|id| all.get(*id).is_some_and(|t| t.flow_id == flow))?;
            all.remove(id)
        });
        deleted.ok_or_else(|| not_found(kind.model(), raw))?;
        let message = match kind {
            Kind::Webhook => "Webhook deleted successfully.",
            Kind::Callback => "Callback deleted successfully.",
        };
        Reply::ok(&json!({ "message": message }))
    }
}

impl PatchworksApi for Patchworks {
    async fn list_flow_webhooks(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.list(Kind::Webhook, &call.request)
    }

    async fn create_flow_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.create(Kind::Webhook, &call.request)
    }

    async fn update_flow_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.update(Kind::Webhook, &call.request)
    }

    async fn delete_flow_webhook(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.delete(Kind::Webhook, &call.request)
    }

    async fn list_flow_callbacks(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.list(Kind::Callback, &call.request)
    }

    async fn create_flow_callback(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.create(Kind::Callback, &call.request)
    }

    async fn update_flow_callback(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.update(Kind::Callback, &call.request)
    }

    async fn delete_flow_callback(&self, call: Call<'_>) -> Result<Reply, ApiError> {
        self.delete(Kind::Callback, &call.request)
    }
}

fn not_found(model: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("No query results for model [{model}] {id}."))
}

/// Laravel's `required_with`: an algorithm needs a key (sent now, or stored before).
fn check_hmac(changes: &Changes, stored: &Trigger) -> Result<(), ApiError> {
    let algorithm = changes
        .hmac_algorithm
        .resolve(stored.hmac_algorithm.as_ref());
    let key = changes
        .hmac_secret_key
        .resolve(stored.hmac_secret_key.as_ref());
    if algorithm.is_some() && key.is_none_or(String::is_empty) {
        let message = "The hmac secret key field is required when hmac algorithm is present.";
        return Err(ApiError::Invalid(vec![Violation::body(
            "/hmac_secret_key",
            message,
        )]));
    }
    Ok(())
}

fn apply(trigger: &mut Trigger, changes: Changes, now: DateTime<Utc>) {
    if let Some(status) = changes.status {
        trigger.status = status;
    }
    if let Some(format) = changes.format {
        trigger.format = format;
    }
    changes.body.apply(&mut trigger.body);
    changes.hmac_algorithm.apply(&mut trigger.hmac_algorithm);
    changes.hmac_secret_key.apply(&mut trigger.hmac_secret_key);
    trigger.updated_at = now;
}

/// The trigger as the API shows it: never the HMAC key; the absolute URL that starts the flow.
/// Where the request's tenant's trigger URLs start: `http://host/triggers/<tenant key>`.
fn triggers_url(request: &Request) -> String {
    format!(
        "{}/triggers/{}",
        request.base_url(),
        tenant_key(&request.tenant)
    )
}

/// `t` as the API shows it; `triggers` is [`triggers_url`], worked out once per answer.
fn view<'a>(kind: Kind, t: &'a Trigger, triggers: &str) -> Shown<'a> {
    let url = format!("{triggers}/flows/{}/{}/{}", t.flow_id, kind.plural(), t.id);
    let webhook = kind == Kind::Webhook;
    Shown {
        id: t.id,
        flow_id: t.flow_id,
        status: &t.status,
        format: &t.format,
        body: webhook.then_some(t.body.as_deref()),
        hmac_algorithm: webhook.then_some(t.hmac_algorithm.map(HmacAlgorithm::name)),
        token: (!webhook).then_some(t.token.as_deref()),
        url,
        created_at: &t.created_at,
        updated_at: &t.updated_at,
    }
}

/// A trigger as the API shows it, borrowed from the stored record: a webhook shows its `body`
/// and `hmac_algorithm` (never the key), a callback its `token`.
#[derive(Serialize)]
struct Shown<'a> {
    id: u64,
    flow_id: u64,
    status: &'a TriggerStatus,
    format: &'a PayloadFormat,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hmac_algorithm: Option<Option<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<Option<&'a str>>,
    url: String,
    #[serde(serialize_with = "crate::clock::serialize")]
    created_at: &'a DateTime<Utc>,
    #[serde(serialize_with = "crate::clock::serialize")]
    updated_at: &'a DateTime<Utc>,
}

/// `{"data": …}`: one trigger.
#[derive(Serialize)]
struct Data<T> {
    data: T,
}

/// Laravel's `LengthAwarePaginator` as JSON: `data`, `links`, `meta`.
fn laravel_page<T>(
    data: Vec<T>,
    page: &Page,
    request: &Request,
    explicit_per_page: bool,
) -> LaravelPage<T> {
    let path = format!("{}{}", request.base_url(), request.path);
    let link = |n: usize| {
        let per_page = if explicit_per_page {
            format!("&per_page={}", page.per_page)
        } else {
            String::new()
        };
        format!("{path}?page={n}{per_page}")
    };
    LaravelPage {
        data,
        links: PageLinks {
            first: link(1),
            last: link(page.last_page()),
            prev: (page.number > 1).then(|| link(page.number - 1)),
            next: (page.number < page.last_page()).then(|| link(page.number + 1)),
        },
        meta: PageMeta {
            current_page: page.number,
            from: page.from(),
            last_page: page.last_page(),
            path,
            per_page: page.per_page,
            to: page.to(),
            total: page.total,
        },
    }
}

#[derive(Serialize)]
struct LaravelPage<T> {
    data: Vec<T>,
    links: PageLinks,
    meta: PageMeta,
}

#[derive(Serialize)]
struct PageLinks {
    first: String,
    last: String,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Serialize)]
struct PageMeta {
    current_page: usize,
    from: Option<usize>,
    last_page: usize,
    path: String,
    per_page: usize,
    to: Option<usize>,
    total: usize,
}

/// The part of a trigger URL that names the tenant without revealing its credential: the first
/// 16 hex digits of the credential's SHA-256.
pub fn tenant_key(tenant: &str) -> String {
    use sha2::Digest as _;
    let mut key = hex::encode(sha2::Sha256::digest(tenant.as_bytes()));
    key.truncate(16);
    key
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
    let (status, answer) =
        match patchworks.start_run(&key, &flow, &kind, &id, query.as_deref(), &headers, &body) {
            Ok(run) => (
                StatusCode::OK,
                json!({ "message": "Flow run queued.", "run_id": run }),
            ),
            Err((status, message)) => (status, json!({ "message": message })),
        };
    (status, axum::Json(answer)).into_response()
}

impl Patchworks {
    #[allow(clippy::too_many_arguments)]
    fn start_run(
        &self,
        key: &str,
        flow: &str,
        kind: &str,
        id: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<u64, (StatusCode, String)> {
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
            .get(key)
            .cloned();
        let tenant = known.ok_or_else(missing)?;
        let (flow_id, trigger_id) = (
            flow.parse::<u64>().map_err(|_| missing())?,
            id.parse::<u64>().map_err(|_| missing())?,
        );
        let trigger = self
            .store(kind)
            .read(&tenant, |all| {
                all.get(trigger_id)
                    .filter(|t| t.flow_id == flow_id)
                    .cloned()
            })
            .ok_or_else(missing)?;
        // The credential first: a caller without it learns nothing of the trigger's state.
        match kind {
            Kind::Webhook => check_hmac_header(&trigger, headers, body)?,
            Kind::Callback => check_token(&trigger, headers, query)?,
        }
        if trigger.status != TriggerStatus::Deployed {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "This {} is {}; only Deployed triggers start a flow.",
                    kind.param(),
                    trigger.status
                ),
            ));
        }
        let (body, body_encoding) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_owned(), "utf8"),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(body),
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
            content_type: headers
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
        Some(sent) if crate::signing::constant_time_eq(sent.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err((StatusCode::UNAUTHORIZED, "The patchworks-signature header (or ?patchworks_signature=) must carry the callback's token.".to_owned())),
    }
}
