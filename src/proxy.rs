//! `hookmock proxy`: a validating proxy in front of the real vendor. Each request is forwarded
//! unchanged and its answer returned unchanged, but both are checked against the bundled
//! document; violations go to the same journal as the mock server's (`GET /__admin/violations`,
//! so `hookmock violations` works against the proxy) and to an `x-hookmock-violations: N`
//! header on the answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::context::Context;
use crate::error::Violation;
use crate::journal::{Coverage, RequestCopy, ViolationEntry, ViolationRecord, Violations};
use crate::router::Catalog;
use crate::validate::Incoming;
use arc_swap::ArcSwap;

/// The largest body passed through.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct Proxy {
    api: String,
    upstream: String,
    client: reqwest::Client,
    catalog: Arc<ArcSwap<Catalog>>,
    violations: Arc<Violations>,
    coverage: Arc<Coverage>,
    context: Context,
}

/// The proxy for `api`, forwarding to `upstream` (scheme, host and optional base path), checking
/// both ways with `catalog` (the server builds it for `api` alone, responses included).
pub fn app(api: &str, upstream: &str, catalog: Catalog, journal_size: usize) -> Router {
    let client = crate::wire::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let violations = Arc::new(Violations::new(journal_size));
    let coverage = Arc::new(Coverage::default());
    let catalog = Arc::new(ArcSwap::from_pointee(catalog));
    let proxy = Proxy {
        api: api.to_owned(),
        upstream: upstream.trim_end_matches('/').to_owned(),
        client,
        catalog: catalog.clone(),
        violations: violations.clone(),
        coverage: coverage.clone(),
        context: Context::live(),
    };
    Router::new()
        .fallback(forward)
        .with_state(Arc::new(proxy))
        .nest(
            "/__admin",
            crate::admin::violations_routes(violations)
                .merge(crate::admin::coverage_routes(coverage, catalog)),
        )
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            let (status, error) =
                match crate::error::cause::<crate::connection::BodyTimedOut>(&e).map(|t| t.0) {
                    Some(_) => (StatusCode::REQUEST_TIMEOUT, e.to_string()),
                    None => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("bodies over {MAX_BODY} bytes are not proxied"),
                    ),
                };
            return (status, axum::Json(json!({ "error": error }))).into_response();
        }
    };
    let catalog = proxy.catalog.load_full();
    let route = catalog.routes.find(&parts.method, parts.uri.path()).ok();
    let request_violations = match &route {
        Some(found) => {
            let incoming = Incoming {
                path_params: &found.params,
                query: parts.uri.query(),
                headers: &parts.headers,
                body: &body,
            };
            catalog
                .contracts
                .check_request(found.index, &incoming)
                .err()
                .map(|e| e.violations())
                .unwrap_or_default()
        }
        None => vec![Violation::new(
            crate::error::Location::Status,
            "route",
            format!(
                "{} {} is not an operation of {}",
                parts.method,
                parts.uri.path(),
                proxy.api
            ),
        )],
    };
    let target = format!(
        "{}{}",
        proxy.upstream,
        parts.uri.path_and_query().map_or("", |pq| pq.as_str())
    );
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    let sent = proxy
        .client
        .request(parts.method.clone(), &target)
        .headers(headers)
        .body(body.clone())
        .send()
        .await;
    let upstream = match sent {
        Ok(upstream) => upstream,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                axum::Json(json!({ "error": format!("{target}: {e}") })),
            )
                .into_response();
        }
    };
    let (status, mut answer_headers) = (upstream.status(), upstream.headers().clone());
    let answer = upstream.bytes().await.unwrap_or_default();
    let response_violations = match &route {
        Some(found) => {
            let content_type = answer_headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            catalog
                .contracts
                .check_response(found.index, status.as_u16(), content_type, &answer)
        }
        None => Vec::new(),
    };
    let operation = route.as_ref().map(|f| f.operation.operation_id);
    if let Some(found) = &route {
        proxy.coverage.record(found.operation, status.as_u16());
    }
    for (source, violations) in [
        ("request", &request_violations),
        ("response", &response_violations),
    ] {
        if !violations.is_empty() {
            proxy.violations.record(ViolationRecord {
                id: 0,
                time: crate::clock::format(proxy.context.now()),
                api: Some(proxy.api.clone()),
                operation: operation.map(str::to_owned),
                // A proxy does not know tenants: the credential belongs to the vendor.
                tenant: None,
                source: source.to_owned(),
                status: status.as_u16(),
                request: RequestCopy::new(
                    parts.method.as_str(),
                    parts.uri.path(),
                    parts.uri.query(),
                    &parts.headers,
                    Some(&body),
                ),
                violations: violations.iter().map(ViolationEntry::from).collect(),
            });
        }
    }
    let count = request_violations.len() + response_violations.len();
    answer_headers.remove(header::TRANSFER_ENCODING);
    answer_headers.remove(header::CONNECTION);
    answer_headers.insert("x-hookmock-violations", HeaderValue::from(count));
    let mut response = Response::new(Body::from(answer));
    *response.status_mut() = status;
    *response.headers_mut() = answer_headers;
    response
}
