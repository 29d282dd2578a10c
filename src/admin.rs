//! The admin API under `/__admin`: reset, export and import the store, read the request
//! journal, and fetch the bundled documents. Its own OpenAPI document is generated from these
//! types with schemars and served at `/__admin/openapi.json`.
//!
//! With `--admin-token`, every admin call needs `Authorization: Bearer <token>`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::apis::flow_runs::{FlowRun, FlowRuns};
use crate::delivery::{self, Delivery, DeliveryError, EmitError, Emitters, Engine, Notice};
use crate::faults::{Faults, Rule as FaultRule};
use crate::generated::DOCUMENTS;
use crate::journal::{
    Coverage, CoverageReport, Filter, Journal, Listing, Verdict, ViolationListing, Violations,
};
use crate::mock::events::{self, EventError, Outgoing};
use crate::recorder::sink::Sink;
use crate::router::{Catalog, ReloadStatus, Reloads};
use crate::signing::constant_time_eq;
use crate::store::Stores;
use arc_swap::ArcSwap;

pub struct Admin {
    /// The recorder, with `--record`: its `/received` API joins this one.
    pub sink: Option<Arc<Sink>>,
    pub stores: Arc<Stores>,
    pub emitters: Emitters,
    pub engine: Engine,
    pub flow_runs: Arc<FlowRuns>,
    pub journal: Arc<Journal>,
    pub violations: Arc<Violations>,
    pub coverage: Arc<Coverage>,
    pub faults: Arc<Faults>,
    /// What is served (coverage reports only these; `/specs` shows the run-time documents).
    pub catalog: Arc<ArcSwap<Catalog>>,
    /// The clock and identifiers (secrets of a document's webhooks).
    pub context: Arc<crate::context::Context>,
    /// What became of each run-time document's last reload.
    pub reloads: Arc<Reloads>,
    pub token: Option<String>,
}

/// The largest state document `PUT /__admin/state` takes. axum's default (2 MiB) would refuse a
/// store's own export once it holds a few thousand webhooks; this fits the 100,000-webhook
/// scale benchmark many times over while still bounding what one request can make us hold.
const MAX_STATE_BYTES: usize = 512 * 1024 * 1024;

/// The admin routes, to be nested under `/__admin`.
pub fn router(admin: Arc<Admin>) -> Router {
    let received = admin
        .sink
        .clone()
        .map(crate::recorder::sink::admin_routes)
        .unwrap_or_default();
    Router::new()
        .route("/reset", post(reset))
        .route(
            "/state",
            get(export_state)
                .put(import_state)
                .layer(DefaultBodyLimit::max(MAX_STATE_BYTES)),
        )
        .route("/requests", get(requests))
        .route(
            "/faults",
            get(list_faults).put(set_faults).delete(clear_faults),
        )
        .route("/events", post(emit_event))
        .route("/deliveries", get(deliveries))
        .route("/deliveries/{id}/retry", post(retry_delivery))
        .route("/outbox", get(outbox))
        .route("/flow-runs", get(flow_runs))
        .route("/specs", get(specs))
        .route("/check-receiver", post(check_receiver))
        .route("/openapi.json", get(own_document))
        .route("/openapi/{file}", get(bundled_document))
        .with_state(admin.clone())
        .merge(violations_routes(admin.violations.clone()))
        .merge(coverage_routes(
            admin.coverage.clone(),
            admin.catalog.clone(),
        ))
        .merge(received)
        .layer(middleware::from_fn_with_state(admin, require_token))
}

/// Every admin error: `{"error": "..."}` with a status that says whose mistake it is.
struct AdminError(StatusCode, String);

#[derive(Serialize, JsonSchema)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(ErrorBody { error: self.1 })).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> AdminError {
    AdminError(StatusCode::BAD_REQUEST, message.into())
}

/// `/__ui`, behind the admin token like the admin API.
pub fn ui_router(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/__ui", get(crate::ui::page))
        .layer(middleware::from_fn_with_state(admin, require_token))
}

/// With `--admin-token`: `Authorization: Bearer <token>`, or `?token=` (the page's event stream
/// cannot send headers).
async fn require_token(State(admin): State<Arc<Admin>>, request: Request, next: Next) -> Response {
    let Some(expected) = &admin.token else {
        return next.run(request).await;
    };
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let from_query = request.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    let sent = from_header
        .map(str::to_owned)
        .or(from_query)
        .unwrap_or_default();
    if constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        next.run(request).await
    } else {
        AdminError(
            StatusCode::UNAUTHORIZED,
            "the admin API needs Authorization: Bearer <--admin-token>".to_owned(),
        )
        .into_response()
    }
}

/// What `POST /__admin/reset` resets: everything, or one tenant, or one API, or both.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    /// The credential whose data to reset; all tenants when absent.
    tenant: Option<String>,
    /// The API to reset (`fieldnation`, …); all APIs when absent.
    api: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ResetResult {
    /// The stores reset, as `api.store`.
    reset: Vec<String>,
}

async fn reset(
    State(admin): State<Arc<Admin>>,
    body: Bytes,
) -> Result<axum::Json<ResetResult>, AdminError> {
    let request: ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResetRequest::default()
    } else {
        parse(&body)?
    };
    if let Some(api) = &request.api
        && !admin.catalog.load().served().contains(&api.as_str())
    {
        return Err(bad_request(format!("/api: unknown API {api:?}")));
    }
    let mut reset = Vec::new();
    for (api, name, store) in admin
        .stores
        .iter()
        .filter(|(api, _, _)| request.api.as_deref().is_none_or(|a| a == *api))
    {
        store.reset(request.tenant.as_deref());
        reset.push(format!("{api}.{name}"));
    }
    Ok(axum::Json(ResetResult { reset }))
}

/// The whole store: `apis.<api>.<store>.<tenant>` = `{last_id, items: {"<id>": record}}`.
/// (For the admin document only: the handlers go through [`crate::store::Stores`].)
#[derive(JsonSchema)]
#[expect(
    dead_code,
    reason = "never built: it only describes the document to schemars"
)]
struct StateDocument {
    apis: BTreeMap<String, BTreeMap<String, Value>>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ImportResult {
    /// The stores replaced, as `api.store`.
    replaced: Vec<String>,
}

/// `GET /__admin/state`: the document is serialized from the records directly (see
/// [`crate::store::State`]); [`StateDocument`] only describes it.
async fn export_state(State(admin): State<Arc<Admin>>) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json")];
    (json, admin.stores.export()).into_response()
}

/// Replaces the stores named in the document, all or nothing: every part is checked before any
/// is applied. Stores the document does not name are left as they are.
async fn import_state(
    State(admin): State<Arc<Admin>>,
    body: Bytes,
) -> Result<axum::Json<ImportResult>, AdminError> {
    let replaced = admin.stores.import(&body).map_err(bad_request)?;
    Ok(axum::Json(ImportResult { replaced }))
}

async fn requests(
    State(admin): State<Arc<Admin>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<axum::Json<Listing>, AdminError> {
    let known = ["api", "operation", "tenant", "verdict", "limit"];
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad_request(format!(
            "unknown query parameter {unknown:?}; known: {}",
            known.join(", ")
        )));
    }
    let verdict = match query.get("verdict") {
        None => None,
        Some(text) => Some(
            serde_json::from_value::<Verdict>(Value::String(text.clone())).map_err(|_| {
                bad_request(format!(
                    "verdict: {text:?} is not one of valid, invalid, unmatched, unauthenticated"
                ))
            })?,
        ),
    };
    let limit = match query.get("limit") {
        None => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| bad_request(format!("limit: {text:?} is not a count")))?,
        ),
    };
    let filter = Filter {
        api: query.get("api").cloned(),
        operation: query.get("operation").cloned(),
        tenant: query.get("tenant").cloned(),
        verdict,
        limit,
    };
    Ok(axum::Json(admin.journal.list(&filter)))
}

/// `/violations` (GET, DELETE), to be nested under `/__admin`: shared by the mock server and
/// `hookmock proxy`, so `hookmock violations` works against either.
pub fn violations_routes(violations: Arc<Violations>) -> Router {
    Router::new()
        .route("/violations", get(list_violations).delete(clear_violations))
        .with_state(violations)
}

/// `GET /__admin/violations`: every request (and, with `--validate-responses` or through the
/// proxy, every answer) that broke its contract, oldest first. The CI gate: `hookmock violations`.
async fn list_violations(
    State(violations): State<Arc<Violations>>,
) -> axum::Json<ViolationListing> {
    axum::Json(violations.list())
}

#[derive(Debug, Serialize, JsonSchema)]
struct Cleared {
    cleared: usize,
}

async fn clear_violations(State(violations): State<Arc<Violations>>) -> axum::Json<Cleared> {
    axum::Json(Cleared {
        cleared: violations.clear(),
    })
}

/// `/coverage` (GET, DELETE), to be nested under `/__admin`: shared by the mock server and
/// `hookmock proxy`. Reports the operations of the APIs `catalog` serves.
pub fn coverage_routes(coverage: Arc<Coverage>, catalog: Arc<ArcSwap<Catalog>>) -> Router {
    Router::new()
        .route("/coverage", get(coverage_report).delete(clear_coverage))
        .with_state((coverage, catalog))
}

type CoverageState = (Arc<Coverage>, Arc<ArcSwap<Catalog>>);

/// `GET /__admin/coverage`: which operations and documented responses the client exercised.
async fn coverage_report(
    State((coverage, catalog)): State<CoverageState>,
) -> axum::Json<CoverageReport> {
    let catalog = catalog.load();
    let served = (0..catalog.operations.len()).filter(|i| catalog.serves(*i));
    axum::Json(coverage.report(served.filter_map(|i| catalog.operations.get(i))))
}

async fn clear_coverage(State((coverage, _)): State<CoverageState>) -> axum::Json<Cleared> {
    coverage.clear();
    axum::Json(Cleared { cleared: 0 })
}

/// `PUT /__admin/faults`: the fault rules, replacing the previous ones.
async fn set_faults(
    State(admin): State<Arc<Admin>>,
    body: Bytes,
) -> Result<axum::Json<Vec<FaultRule>>, AdminError> {
    let rules: Vec<FaultRule> = parse(&body)?;
    admin
        .faults
        .set(rules.clone())
        .map_err(|e| bad_request(e.to_string()))?;
    Ok(axum::Json(rules))
}

async fn list_faults(State(admin): State<Arc<Admin>>) -> axum::Json<Vec<FaultRule>> {
    axum::Json(admin.faults.rules())
}

async fn clear_faults(State(admin): State<Arc<Admin>>) -> axum::Json<Cleared> {
    let cleared = admin.faults.rules().len();
    admin.faults.set(Vec::new()).unwrap_or_default();
    axum::Json(Cleared { cleared })
}

/// `POST /__admin/events`: an event of one bundled API, for one tenant or all; or a webhook or
/// callback of a run-time document, sent to one URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EventRequest {
    /// `elan`, `fieldnation`, `ingedata`, or a run-time document's name.
    api: String,
    /// An event of a bundled API's catalogue, e.g. `workflow.completed`.
    #[serde(default)]
    event: Option<String>,
    /// The event's data, placed in the vendor's payload; for a document's webhook or callback,
    /// the whole payload (instead of the documented example).
    #[serde(default)]
    data: Value,
    /// The credential whose subscriptions receive it; every tenant's when absent.
    tenant: Option<String>,
    /// A webhook of the document's top-level `webhooks` (OpenAPI 3.1).
    webhook: Option<String>,
    /// A callback of one of the document's operations.
    callback: Option<String>,
    /// Where a webhook goes; for a callback, what its URL expression stands for (else the
    /// expression is read from the last request to the operation that declares it).
    url: Option<String>,
    /// The Standard Webhooks secret that signs it; a new `whsec_` one when absent.
    secret: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct Queued {
    /// The IDs of the deliveries queued, one per subscription.
    queued: Vec<String>,
    /// The secret that signed a document's webhook or callback.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

async fn emit_event(
    State(admin): State<Arc<Admin>>,
    body: Bytes,
) -> Result<axum::Json<Queued>, AdminError> {
    let request: EventRequest = parse(&body)?;
    if admin.catalog.load().document(&request.api).is_some() {
        return send_document_event(&admin, request).map(axum::Json);
    }
    let emitter = admin.emitters.get(&request.api).ok_or_else(|| {
        bad_request(format!(
            "/api: {:?} emits no events; these do: {}",
            request.api,
            admin.emitters.names().join(", ")
        ))
    })?;
    let event = request
        .event
        .as_deref()
        .ok_or_else(|| bad_request("/event: name an event of the API's catalogue"))?;
    let queued = emitter
        .emit(event, &request.data, request.tenant.as_deref())
        .map_err(|e| match e {
            EmitError::UnknownEvent { .. } => bad_request(format!("/event: {e}")),
            EmitError::Delivery(e) => AdminError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        })?;
    Ok(axum::Json(Queued {
        queued,
        secret: None,
    }))
}

/// A webhook or callback of a run-time document, sent through the delivery engine.
fn send_document_event(admin: &Admin, request: EventRequest) -> Result<Queued, AdminError> {
    let catalog = admin.catalog.load();
    let Some(served) = catalog.document(&request.api) else {
        return Err(bad_request(format!("/api: no document {:?}", request.api)));
    };
    let doc = catalog
        .contracts
        .document(served.api)
        .unwrap_or(&Value::Null);
    let refuse = |e: EventError| bad_request(e.to_string());
    let target = match (&request.webhook, &request.callback) {
        (Some(_), _) => request
            .url
            .clone()
            .ok_or_else(|| bad_request("/url: a webhook needs the URL to send it to"))?,
        (None, Some(name)) => {
            let callback = events::callback(served.api, doc, name).map_err(refuse)?;
            let declaring = catalog.operations.iter().find(|op| {
                op.api == served.api
                    && op.method == callback.operation_method
                    && op.path.ends_with(callback.operation_path.as_str())
            });
            let listing = admin.journal.list(&crate::journal::Filter {
                api: Some(served.api.to_owned()),
                operation: declaring.map(|op| op.operation_id.to_owned()),
                tenant: None,
                verdict: None,
                limit: Some(1),
            });
            let query = listing.requests.first().and_then(|e| e.query.as_deref());
            events::resolve_target(&callback.expression, request.url.as_deref(), query)
                .map_err(refuse)?
        }
        (None, None) => return Err(refuse(EventError::NothingNamed(served.api))),
    };
    let secret = request
        .secret
        .clone()
        .unwrap_or_else(|| admin.context.webhook_secret());
    let outgoing = Outgoing {
        api: served.api,
        doc,
        webhook: request.webhook.as_deref(),
        callback: request.callback.as_deref(),
        data: (!request.data.is_null()).then_some(&request.data),
        url: request.url.as_deref(),
        secret: &secret,
    };
    let message = events::message(&outgoing, &target, &admin.context).map_err(refuse)?;
    let id = admin
        .engine
        .enqueue(message)
        .map_err(|e| AdminError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Queued {
        queued: vec![id],
        secret: Some(secret),
    })
}

#[derive(Debug, Serialize, JsonSchema)]
struct DeliveryListing {
    /// Attempts queued, in flight or waiting for their retry.
    pending: usize,
    /// Finished deliveries dropped from the log because it was full (`--delivery-log-size`).
    dropped: u64,
    /// Matching deliveries, newest first.
    deliveries: Vec<Delivery>,
}

/// `GET /__admin/deliveries?api=&subscription=&event=&status=`
async fn deliveries(
    State(admin): State<Arc<Admin>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<axum::Json<DeliveryListing>, AdminError> {
    let known = ["api", "subscription", "event", "status"];
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad_request(format!(
            "unknown query parameter {unknown:?}; known: {}",
            known.join(", ")
        )));
    }
    let deliveries = admin.engine.deliveries(|d| delivery::matches(d, &query));
    Ok(axum::Json(DeliveryListing {
        pending: admin.engine.pending(),
        dropped: admin.engine.dropped(),
        deliveries,
    }))
}

async fn retry_delivery(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> Result<axum::Json<Queued>, AdminError> {
    admin.engine.retry(&id).map_err(|e| match e {
        DeliveryError::Unknown(_) => AdminError(StatusCode::NOT_FOUND, e.to_string()),
        other => AdminError(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    })?;
    Ok(axum::Json(Queued {
        queued: vec![id],
        secret: None,
    }))
}

/// `GET /__admin/outbox`: the notices of deliveries that exhausted their retries.
async fn outbox(State(admin): State<Arc<Admin>>) -> axum::Json<Vec<Notice>> {
    axum::Json(admin.engine.outbox())
}

/// `POST /__admin/check-receiver`: `hookmock check-receiver` from a running server; the body
/// takes its options (`api`, `url`, `secret`, `events`, `only`, `timeout_ms`), the answer is
/// the report. A usage error is a 400 naming what was wrong.
async fn check_receiver(
    State(admin): State<Arc<Admin>>,
    body: Bytes,
) -> Result<axum::Json<crate::receiver::Report>, AdminError> {
    let options: crate::receiver::Options = parse(&body)?;
    crate::receiver::check(&admin.emitters, &options, &admin.context)
        .await
        .map(axum::Json)
        .map_err(|e| bad_request(e.to_string()))
}

/// `GET /__admin/specs`: the documents loaded at run time and, for each operation, what the
/// engine inferred it does (and from where), so a user can see why an answer looks as it does.
async fn specs(State(admin): State<Arc<Admin>>) -> axum::Json<SpecsListing> {
    let catalog = admin.catalog.load();
    let documents = catalog
        .documents
        .iter()
        .map(|doc| SpecListing {
            api: doc.api.to_owned(),
            title: doc.title.clone(),
            openapi: doc.openapi.clone(),
            files: doc.files.iter().map(|f| f.display().to_string()).collect(),
            prefix: doc.prefix.clone(),
            warnings: doc.warnings.clone(),
            reload: admin.reloads.status(doc.api),
            operations: catalog
                .operations
                .iter()
                .enumerate()
                .filter(|(index, op)| op.api == doc.api && !Catalog::is_bundled(*index))
                .filter_map(|(index, op)| {
                    Some(OperationPlan {
                        operation_id: op.operation_id.to_owned(),
                        method: op.method.to_owned(),
                        path: op.path.to_owned(),
                        plan: serde_json::to_value(catalog.plan(index)?).ok()?,
                    })
                })
                .collect(),
        })
        .collect();
    axum::Json(SpecsListing {
        bundled: catalog.bundled.iter().map(|a| (*a).to_owned()).collect(),
        documents,
    })
}

#[derive(Serialize, JsonSchema)]
struct SpecsListing {
    /// The bundled APIs served beside the documents.
    bundled: Vec<String>,
    documents: Vec<SpecListing>,
}

#[derive(Serialize, JsonSchema)]
struct SpecListing {
    api: String,
    title: String,
    openapi: String,
    /// The document's file, then the files it references (all watched with `--watch`).
    files: Vec<String>,
    prefix: String,
    /// What the engine assumed to serve the document as it is.
    warnings: Vec<String>,
    #[schemars(with = "Option<Value>")]
    reload: Option<ReloadStatus>,
    operations: Vec<OperationPlan>,
}

#[derive(Serialize, JsonSchema)]
struct OperationPlan {
    #[serde(rename = "operationId")]
    operation_id: String,
    method: String,
    path: String,
    /// `action` (create, list, read, replace, merge, delete, example), `collection`,
    /// `id_field`, `id_style`, `envelope`, `pagination`, `parent`, `status`, `security`,
    /// `source` (inferred or x-hookmock).
    plan: Value,
}

/// `GET /__admin/flow-runs`: the Patchworks flows started through trigger URLs, newest first.
async fn flow_runs(State(admin): State<Arc<Admin>>) -> axum::Json<Vec<FlowRun>> {
    axum::Json(admin.flow_runs.list())
}

async fn bundled_document(Path(file): Path<String>) -> Result<Response, AdminError> {
    let api = file.strip_suffix(".json").unwrap_or(&file);
    let document = DOCUMENTS.iter().find(|d| d.api == api).ok_or_else(|| {
        let known: Vec<String> = DOCUMENTS
            .iter()
            .map(|d| format!("{}.json", d.api))
            .collect();
        AdminError(
            StatusCode::NOT_FOUND,
            format!(
                "no bundled document {file:?}; bundled: {}",
                known.join(", ")
            ),
        )
    })?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        document.source,
    )
        .into_response())
}

async fn own_document() -> axum::Json<Value> {
    axum::Json(openapi())
}

/// The admin API's OpenAPI 3.0 document; its schemas come from the Rust types above.
pub fn openapi() -> Value {
    let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let schema = |name: &str, value: schemars::Schema| (name.to_owned(), value.to_value());
    let refs: HashMap<String, Value> = [
        schema("ResetRequest", generator.subschema_for::<ResetRequest>()),
        schema("ResetResult", generator.subschema_for::<ResetResult>()),
        schema("StateDocument", generator.subschema_for::<StateDocument>()),
        schema("ImportResult", generator.subschema_for::<ImportResult>()),
        schema("Listing", generator.subschema_for::<Listing>()),
        schema("ErrorBody", generator.subschema_for::<ErrorBody>()),
        schema("EventRequest", generator.subschema_for::<EventRequest>()),
        schema("Queued", generator.subschema_for::<Queued>()),
        schema(
            "DeliveryListing",
            generator.subschema_for::<DeliveryListing>(),
        ),
        schema("Outbox", generator.subschema_for::<Vec<Notice>>()),
        schema("FlowRuns", generator.subschema_for::<Vec<FlowRun>>()),
        schema(
            "ViolationListing",
            generator.subschema_for::<ViolationListing>(),
        ),
        schema(
            "CoverageReport",
            generator.subschema_for::<CoverageReport>(),
        ),
        schema("Cleared", generator.subschema_for::<Cleared>()),
        schema("FaultRules", generator.subschema_for::<Vec<FaultRule>>()),
    ]
    .into_iter()
    .collect();
    let body = |name: &str| json!({ "required": true, "content": { "application/json": { "schema": refs[name] } } });
    let ok = |name: &str, description: &str| json!({ "description": description, "content": { "application/json": { "schema": refs[name] } } });
    let error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": refs["ErrorBody"] } } });
    let query = |name: &str, description: &str| json!({ "name": name, "in": "query", "schema": { "type": "string" }, "description": description });
    json!({
        "openapi": "3.0.3",
        "info": { "title": "hookmock admin API", "version": env!("CARGO_PKG_VERSION") },
        "security": [{ "AdminToken": [] }],
        "paths": {
            "/__admin/reset": { "post": {
                "operationId": "reset", "summary": "Reset the store to the fixtures: all, one tenant, one API",
                "requestBody": { "required": false, "content": { "application/json": { "schema": refs["ResetRequest"] } } },
                "responses": { "200": ok("ResetResult", "The stores reset"), "400": error("Bad request"), "401": error("Admin token required") } } },
            "/__admin/state": {
                "get": { "operationId": "exportState", "summary": "Export the whole store",
                    "responses": { "200": ok("StateDocument", "The store"), "401": error("Admin token required") } },
                "put": { "operationId": "importState", "summary": "Replace the stores the document names (all or nothing)",
                    "requestBody": body("StateDocument"),
                    "responses": { "200": ok("ImportResult", "The stores replaced"), "400": error("Bad state document"), "401": error("Admin token required") } } },
            "/__admin/requests": { "get": {
                "operationId": "listRequests", "summary": "The request journal, newest first",
                "parameters": [query("api", "Only this API"), query("operation", "Only this operationId"), query("tenant", "Only this credential"),
                               query("verdict", "valid, invalid, unmatched or unauthenticated"), query("limit", "At most this many")],
                "responses": { "200": ok("Listing", "Matching requests"), "400": error("Bad filter"), "401": error("Admin token required") } } },
            "/__admin/events": { "post": {
                "operationId": "emitEvent", "summary": "Deliver an event to every active subscription to it",
                "requestBody": body("EventRequest"),
                "responses": { "200": ok("Queued", "The deliveries queued"), "400": error("Unknown API or event"), "401": error("Admin token required"), "503": error("The delivery queue is full") } } },
            "/__admin/deliveries": { "get": {
                "operationId": "listDeliveries", "summary": "Outgoing deliveries and their attempts, newest first",
                "parameters": [query("api", "Only this API"), query("subscription", "Only this subscription"), query("event", "Only this event"), query("status", "pending, succeeded, failed or gone")],
                "responses": { "200": ok("DeliveryListing", "Matching deliveries"), "400": error("Bad filter"), "401": error("Admin token required") } } },
            "/__admin/deliveries/{id}/retry": { "post": {
                "operationId": "retryDelivery", "summary": "Deliver again, from the next attempt",
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": ok("Queued", "Queued again"), "404": error("No such delivery"), "401": error("Admin token required"), "503": error("The delivery queue is full") } } },
            "/__admin/outbox": { "get": {
                "operationId": "outbox", "summary": "Notices sent when deliveries exhausted their retries",
                "responses": { "200": ok("Outbox", "The notices"), "401": error("Admin token required") } } },
            "/__admin/violations": {
                "get": { "operationId": "listViolations", "summary": "Requests (and answers) that broke their contract, oldest first",
                    "responses": { "200": ok("ViolationListing", "The violations"), "401": error("Admin token required") } },
                "delete": { "operationId": "clearViolations", "summary": "Forget the violations",
                    "responses": { "200": ok("Cleared", "How many were kept"), "401": error("Admin token required") } } },
            "/__admin/coverage": {
                "get": { "operationId": "coverage", "summary": "Operations and documented responses exercised",
                    "responses": { "200": ok("CoverageReport", "The report"), "401": error("Admin token required") } },
                "delete": { "operationId": "clearCoverage", "summary": "Start counting again",
                    "responses": { "200": ok("Cleared", "Counting starts again"), "401": error("Admin token required") } } },
            "/__admin/faults": {
                "get": { "operationId": "listFaults", "summary": "The fault rules",
                    "responses": { "200": ok("FaultRules", "The rules"), "401": error("Admin token required") } },
                "put": { "operationId": "setFaults", "summary": "Replace the fault rules",
                    "requestBody": body("FaultRules"),
                    "responses": { "200": ok("FaultRules", "The rules"), "400": error("Bad rules"), "401": error("Admin token required") } },
                "delete": { "operationId": "clearFaults", "summary": "No more faults",
                    "responses": { "200": ok("Cleared", "How many rules there were"), "401": error("Admin token required") } } },
            "/__admin/flow-runs": { "get": {
                "operationId": "listFlowRuns", "summary": "Patchworks flows started through their trigger URLs, newest first",
                "responses": { "200": ok("FlowRuns", "The runs"), "401": error("Admin token required") } } },
            "/__admin/openapi/{file}": { "get": {
                "operationId": "bundledDocument", "summary": "A bundled vendor document, e.g. fieldnation.json",
                "parameters": [{ "name": "file", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "The document", "content": { "application/json": { "schema": { "type": "object" } } } },
                               "404": error("No such document"), "401": error("Admin token required") } } },
            "/__admin/openapi.json": { "get": {
                "operationId": "adminDocument", "summary": "This document",
                "responses": { "200": { "description": "This document", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
        },
        "components": {
            "securitySchemes": { "AdminToken": { "type": "http", "scheme": "bearer", "description": "The --admin-token, when set" } },
            "schemas": generator.take_definitions(true),
        },
    })
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the body is not what this call takes: {e}")))
}
