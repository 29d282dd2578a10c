//! The one router. Every request to a bundled API takes the same way through [`handle`]:
//! match the route table → authenticate → read and validate → dispatch to the vendor
//! implementation (generated `Implementations::dispatch`) → render, in the vendor's shape.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};

use chrono::{DateTime, Utc};

use crate::apis::shapes::{self, ErrorStyle};
use crate::apis::{self, Apis};
use crate::connection::Peer;
use crate::context::Context;
use crate::error::{ApiError, Violation};
use crate::faults::{Break, Faults, Rule as FaultRule, Target};
use crate::journal::{
    Coverage, Entry, Journal, RequestCopy, Verdict, ViolationEntry, ViolationRecord, Violations,
};
use crate::mock::Call;
use crate::mock::infer::Security;
use crate::request::{Reply, Request};
use crate::spec::Operation;
use crate::validate::Incoming;
use arc_swap::ArcSwap;

mod catalog;
mod table;
pub use catalog::{
    Catalog, CatalogError, Incoming as IncomingDocument, ReloadStatus, Reloads, Served, Settings,
};
pub use table::{Found, Miss, RouteConflict, Routes};

/// The most header bytes (names and values) a request may carry.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Everything a request needs, shared by all requests.
pub struct Edge {
    /// What is served; swapped whole when a run-time document is reloaded.
    pub catalog: Arc<ArcSwap<Catalog>>,
    pub apis: Apis,
    pub context: Arc<Context>,
    pub journal: Arc<Journal>,
    pub violations: Arc<Violations>,
    pub coverage: Arc<Coverage>,
    pub faults: Arc<Faults>,
    /// Accepted credentials (`--token`); empty accepts any non-empty one.
    pub tokens: Vec<String>,
    pub max_body: usize,
    /// Check every answer against its document (`--validate-responses`).
    pub validate_responses: bool,
}

/// What became of a request, before it is rendered.
struct Outcome {
    api: Option<&'static str>,
    found: Option<(usize, &'static Operation)>,
    tenant: Option<String>,
    /// The body as read (absent when the request was refused before reading it).
    body: Option<axum::body::Bytes>,
    result: Result<Reply, ApiError>,
}

/// The fallback handler: every request not claimed by another router (`/__admin`) is an API call.
pub async fn handle(State(edge): State<Arc<Edge>>, request: axum::extract::Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let catalog = edge.catalog.load_full();
    let route = catalog.routes.find(&parts.method, parts.uri.path());
    let fault = edge.fault_for(&parts, &route).await;
    let mut outcome = match (route, fault.as_ref().and_then(|f| f.status)) {
        (Ok(found), Some(status)) => {
            let (api, found) = (
                Some(found.operation.api),
                Some((found.index, found.operation)),
            );
            Outcome {
                api,
                found,
                tenant: None,
                body: None,
                result: Err(ApiError::Injected(status)),
            }
        }
        (Ok(found), None) => edge.call(&catalog, found, &parts, body).await,
        (Err(miss), _) => Outcome {
            api: miss.api,
            found: None,
            tenant: None,
            body: None,
            result: Err(miss.error),
        },
    };
    // The answer's bytes move into `rendered`; what `observe` reads of a success is there.
    let rendered = match &mut outcome.result {
        Ok(reply) => render_reply(outcome.found.map(|(_, op)| op), reply),
        Err(error) => {
            let operation = outcome.found.map(|(_, op)| op);
            render_error(
                &catalog,
                outcome.api,
                operation,
                parts.uri.path(),
                error,
                edge.context.now(),
            )
        }
    };
    edge.observe(&catalog, &parts, outcome, &rendered, started.elapsed());
    match fault.and_then(|f| f.connection) {
        Some(broken) => break_connection(broken, rendered, &parts),
        None => rendered.into_response(),
    }
}

/// The answer, with its connection set to break as `broken` says (see [`crate::connection`]).
fn break_connection(broken: Break, rendered: Rendered, parts: &Parts) -> Response {
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<Peer>>() else {
        tracing::warn!("a fault rule wants to break a connection this server does not control");
        return rendered.into_response();
    };
    match broken {
        Break::EmptyReply => peer.switch.empty_reply(),
        Break::Reset => peer.switch.reset(),
        Break::TruncatedBody => peer.switch.truncate_after(rendered.body.len() as u64 / 2),
    }
    rendered.into_response()
}

impl Edge {
    /// The fault rule that applies to this request, if any, after the latency and the rule's
    /// delay have passed.
    async fn fault_for(&self, parts: &Parts, route: &Result<Found, Miss>) -> Option<FaultRule> {
        let operation = route.as_ref().ok().map(|f| f.operation);
        let target = Target {
            api: operation
                .map(|op| op.api)
                .or(route.as_ref().err().and_then(|m| m.api)),
            operation: operation.map(|op| op.operation_id),
            method: parts.method.as_str(),
            path: parts.uri.path(),
        };
        let rule = self.faults.pick(&target, || self.context.random());
        let delay = self.faults.latency(|| self.context.random())
            + Duration::from_millis(rule.as_ref().and_then(|r| r.delay_ms).unwrap_or(0));
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        rule
    }

    /// Everything kept about a request once it is answered: the log line, the journal, the
    /// coverage counters, and the violations of the request and (with `--validate-responses`)
    /// of the answer.
    fn observe(
        &self,
        catalog: &Catalog,
        parts: &Parts,
        outcome: Outcome,
        rendered: &Rendered,
        elapsed: Duration,
    ) {
        let status = rendered.status.as_u16();
        let operation = outcome.found.map(|(_, op)| op.operation_id);
        let request_violations = outcome
            .result
            .as_ref()
            .err()
            .map(ApiError::violations)
            .unwrap_or_default();
        let response_violations = match outcome.found {
            Some((index, _)) if self.validate_responses => catalog.contracts.check_response(
                index,
                status,
                Some(rendered.media_type),
                &rendered.body,
            ),
            _ => Vec::new(),
        };
        let (method, path) = (parts.method.as_str(), parts.uri.path());
        // Debug, not info: a line per request costs a locked write to stderr, a fifth of the
        // time of a cheap request under load, and /__admin/requests keeps them anyway.
        // `RUST_LOG=hookmock=debug` shows them.
        tracing::debug!(
            method,
            path,
            operation = operation.unwrap_or("-"),
            status,
            latency_us = elapsed.as_micros() as u64,
            "request"
        );
        if let Some((_, op)) = outcome.found {
            self.coverage.record(op, status);
        }
        let now = self.context.now();
        for (source, violations) in [
            ("request", &request_violations),
            ("response", &response_violations),
        ] {
            if violations.is_empty() {
                continue;
            }
            if source == "response" {
                let described: Vec<String> = violations.iter().map(Violation::describe).collect();
                tracing::warn!(operation = operation.unwrap_or("-"), violations = %described.join("; "), "answer broke its contract");
            }
            self.violations.record(ViolationRecord {
                id: 0,
                time: crate::clock::format(now),
                api: outcome.api.map(str::to_owned),
                operation: operation.map(str::to_owned),
                tenant: outcome.tenant.as_deref().map(crate::wire::mask),
                source: source.to_owned(),
                status,
                request: RequestCopy::new(
                    method,
                    path,
                    parts.uri.query(),
                    &parts.headers,
                    outcome.body.as_deref(),
                ),
                violations: violations.iter().map(ViolationEntry::from).collect(),
            });
        }
        let verdict = match &outcome.result {
            _ if outcome.found.is_none() => Verdict::Unmatched,
            Err(ApiError::Unauthenticated(_)) => Verdict::Unauthenticated,
            _ if !request_violations.is_empty() => Verdict::Invalid,
            _ => Verdict::Valid,
        };
        self.journal.record(Entry {
            id: 0,
            time: now,
            method: method.to_owned(),
            path: path.to_owned(),
            query: parts.uri.query().map(str::to_owned),
            api: outcome.api,
            operation,
            tenant: outcome.tenant,
            status,
            duration_us: elapsed.as_micros().try_into().unwrap_or(u64::MAX),
            verdict,
            violations: request_violations
                .iter()
                .map(ViolationEntry::from)
                .collect(),
            response_violations: response_violations
                .iter()
                .map(ViolationEntry::from)
                .collect(),
        });
    }
}

impl Edge {
    /// Authenticates, reads, validates and dispatches a request matched to `found`.
    async fn call(&self, catalog: &Catalog, found: Found, parts: &Parts, body: Body) -> Outcome {
        let (index, op) = (found.index, found.operation);
        let mut outcome = Outcome {
            api: Some(op.api),
            found: Some((index, op)),
            tenant: None,
            body: None,
            result: Ok(Reply::no_content()),
        };
        let credential = match catalog.plan(index) {
            Some(plan) if !Catalog::is_bundled(index) => {
                credential(parts, &plan.security, &self.tokens)
            }
            _ => authenticate(&parts.headers, &self.tokens),
        };
        let tenant = match credential {
            Ok(tenant) => tenant,
            Err(error) => {
                return Outcome {
                    result: Err(error),
                    ..outcome
                };
            }
        };
        outcome.tenant = Some(tenant.clone());
        let header_bytes: usize = parts
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        if header_bytes > MAX_HEADER_BYTES {
            return Outcome {
                result: Err(ApiError::HeadersTooLarge {
                    size: header_bytes,
                    limit: MAX_HEADER_BYTES,
                }),
                ..outcome
            };
        }
        let bytes = match read_body(body, self.max_body).await {
            Ok(bytes) => bytes,
            Err(error) => {
                return Outcome {
                    result: Err(error),
                    ..outcome
                };
            }
        };
        outcome.result = self
            .validate_and_dispatch(catalog, found, parts, &bytes, tenant)
            .await;
        outcome.body = Some(bytes);
        outcome
    }

    async fn validate_and_dispatch(
        &self,
        catalog: &Catalog,
        found: Found,
        parts: &Parts,
        body: &[u8],
        tenant: String,
    ) -> Result<Reply, ApiError> {
        let incoming = Incoming {
            path_params: &found.params,
            query: parts.uri.query(),
            headers: &parts.headers,
            body,
        };
        let checked = catalog.contracts.check_request(found.index, &incoming)?;
        let doc = catalog
            .contracts
            .document(found.operation.api)
            .unwrap_or(&serde_json::Value::Null);
        // `Prefer: code=…` answers with a documented response instead of the stateful fake.
        if let Some(preference) = crate::prefer::requested(&parts.headers) {
            return crate::prefer::respond(doc, found.operation, &preference, self.context.now());
        }
        let request = Request {
            operation: found.operation,
            tenant,
            host: parts.headers.get(header::HOST).cloned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            params: checked.params,
            body: checked.body,
        };
        let (Some(plan), Some((state, schemas))) = (
            catalog.plan(found.index),
            catalog.generic(found.operation.api),
        ) else {
            return Err(ApiError::UnknownOperation(found.index));
        };
        let call = Call {
            doc,
            operation: found.operation,
            plan,
            request,
            context: &self.context,
            schemas,
            state,
        };
        if Catalog::is_bundled(found.index) {
            self.apis.dispatch(found.index, call).await
        } else {
            call.answer()
        }
    }
}

/// The credential in `Authorization`, without a `Bearer` scheme: it names the tenant. With
/// `--token`, only those credentials are accepted.
fn authenticate(headers: &HeaderMap, allowed: &[String]) -> Result<String, ApiError> {
    check_allowed(bearer(headers)?, allowed)
}

/// The credential in `Authorization`, its scheme (`Bearer`, `Basic`, …) taken off.
fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthenticated("the Authorization header is missing".to_owned())
    })?;
    let text = value
        .to_str()
        .map_err(|_| {
            ApiError::Unauthenticated("the Authorization header is not visible ASCII".to_owned())
        })?
        .trim();
    let token = match text.split_once(' ') {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") =>
        {
            rest.trim()
        }
        _ => text,
    };
    if token.is_empty() || token.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated(
            "the Authorization header carries no credential".to_owned(),
        ));
    }
    Ok(token.to_owned())
}

/// `token`, if `--token` accepts it (without `--token`, any is).
fn check_allowed(token: String, allowed: &[String]) -> Result<String, ApiError> {
    if !allowed.is_empty()
        && !allowed
            .iter()
            .any(|a| crate::signing::constant_time_eq(a.as_bytes(), token.as_bytes()))
    {
        return Err(ApiError::Unauthenticated(
            "invalid or expired access token".to_owned(),
        ));
    }
    Ok(token)
}

/// The credential of a run-time operation, read where its document's security schemes put it
/// (with `--token`, only those are accepted). Where the document requires none, a bearer
/// credential sent anyway still names the tenant (teams sharing a server stay apart), and
/// without one the tenant is `anonymous`.
fn credential(parts: &Parts, security: &Security, allowed: &[String]) -> Result<String, ApiError> {
    if security.sources.is_empty() {
        return Ok(bearer(&parts.headers).unwrap_or_else(|_| "anonymous".to_owned()));
    }
    let query = parts.uri.query().unwrap_or_default();
    let sent: Vec<String> = security
        .sources
        .iter()
        .filter_map(|source| match source.split_once(':') {
            Some(("header", name)) => parts.headers.get(name)?.to_str().ok().map(str::to_owned),
            Some(("query", name)) => form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned()),
            _ => bearer(&parts.headers).ok(),
        })
        .collect();
    // Any one of the schemes the document accepts will do.
    let accepted = sent
        .iter()
        .find_map(|token| check_allowed(token.clone(), allowed).ok());
    match (accepted, sent.first()) {
        (Some(token), _) => Ok(token),
        (None, Some(token)) => check_allowed(token.clone(), allowed),
        (None, None) if security.required => Err(ApiError::Unauthenticated(format!(
            "this operation needs a credential: {}",
            security
                .sources
                .iter()
                .map(|s| match s.split_once(':') {
                    Some(("header", name)) => format!("header {name}"),
                    Some(("query", name)) => format!("query parameter {name}"),
                    _ => "Authorization".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" or ")
        ))),
        (None, None) => Ok("anonymous".to_owned()),
    }
}

async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if crate::error::cause::<http_body_util::LengthLimitError>(&e).is_some() {
            ApiError::PayloadTooLarge { limit }
        } else if let Some(after) =
            crate::error::cause::<crate::connection::BodyTimedOut>(&e).map(|t| t.0)
        {
            ApiError::BodyTimedOut(after)
        } else {
            ApiError::BodyUnreadable(e.to_string())
        }
    })
}

/// A response before it becomes one: what response validation reads.
struct Rendered {
    status: StatusCode,
    media_type: &'static str,
    body: Vec<u8>,
    allow: Option<String>,
}

impl Rendered {
    fn into_response(self) -> Response {
        if self.body.is_empty() && self.status == StatusCode::NO_CONTENT {
            return self.status.into_response();
        }
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.media_type),
            )],
            self.body,
        )
            .into_response();
        if let Some(value) = self
            .allow
            .and_then(|allow| HeaderValue::from_str(&allow).ok())
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    }
}

fn render_reply(operation: Option<&Operation>, reply: &mut Reply) -> Rendered {
    let status = reply.status.as_u16().to_string();
    let media_type = operation
        .and_then(|op| op.responses.iter().find(|r| r.status == status))
        .and_then(|r| r.media_type)
        .unwrap_or("application/json");
    Rendered {
        status: reply.status,
        media_type,
        body: reply.body.take().unwrap_or_default(),
        allow: None,
    }
}

fn render_error(
    catalog: &Catalog,
    api: Option<&str>,
    operation: Option<&Operation>,
    path: &str,
    error: &ApiError,
    now: DateTime<Utc>,
) -> Rendered {
    let allow = match error {
        ApiError::MethodNotAllowed { allow, .. } => Some(allow.join(", ")),
        _ => None,
    };
    let bundled = api.is_some_and(|api| catalog.bundled.contains(&api));
    let (status, media_type, body) = if bundled || (api.is_none() && !catalog.bundled.is_empty()) {
        let style = api.map(apis::error_style).unwrap_or(ErrorStyle::Laravel);
        let (status, body) = shapes::render(style, error, path, now);
        (status, style.media_type(), Some(body))
    } else {
        let doc = api.and_then(|api| catalog.contracts.document(api));
        crate::mock::documented_error(doc, operation, error, now)
    };
    if status.is_server_error() {
        tracing::error!(%error, "server error");
    }
    Rendered {
        status,
        media_type,
        // A Value has string keys only: it always serialises.
        body: body
            .map(|b| crate::request::to_json(&b).unwrap_or_default())
            .unwrap_or_default(),
        allow,
    }
}
