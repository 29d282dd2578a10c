//! The recorder over HTTP: the capture handler (every request, or `/__sink/...` on the mock
//! server) and the `/__admin/received` API that reads what was captured.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;

use crate::connection::Peer;
use crate::context::Context;
use crate::recorder::{Filter, Incoming, Record, Recorder, Rule};

/// The largest body the sink captures.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct Sink {
    pub recorder: Arc<Recorder>,
    pub context: Arc<Context>,
    /// Sends replays.
    pub client: reqwest::Client,
}

impl Sink {
    pub fn new(recorder: Arc<Recorder>, context: Arc<Context>) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            recorder,
            context,
            client,
        })
    }
}

/// Captures any request: records it (durably, before answering), then answers as configured.
pub async fn capture(State(sink): State<Arc<Sink>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            let status = match crate::error::cause::<crate::limits::BodyTimedOut>(&e).map(|t| t.0) {
                Some(_) => StatusCode::REQUEST_TIMEOUT,
                None => StatusCode::PAYLOAD_TOO_LARGE,
            };
            return error(
                status,
                format!("the body could not be read (limit {MAX_BODY} bytes): {e}"),
            );
        }
    };
    let incoming = Incoming {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        remote: parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0.addr.to_string()),
    };
    let (recorder, now) = (sink.recorder.clone(), sink.context.now());
    // Writing and syncing the file blocks; keep it off the async workers.
    let captured = tokio::task::spawn_blocking(move || recorder.capture(incoming, now)).await;
    let (record, delay) = match captured {
        Ok(Ok(captured)) => captured,
        Ok(Err(e)) => return error(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the recorder stopped: {e}"),
            );
        }
    };
    if let Some(url) = sink.recorder.forward_to() {
        tokio::spawn(forward(sink.client.clone(), url.to_owned(), record.clone()));
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(record.answered).unwrap_or(StatusCode::OK);
    (
        status,
        axum::Json(json!({ "received": record.id, "signature": record.signature.name() })),
    )
        .into_response()
}

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// `/received…` and `/sink/rules`, to be nested under `/__admin`.
pub fn admin_routes(sink: Arc<Sink>) -> Router {
    Router::new()
        .route("/received", get(list).delete(clear))
        .route("/received/stream", get(stream))
        .route("/received/{id}", get(one))
        .route("/received/{id}/curl", get(curl))
        .route("/received/{id}/replay", post(replay))
        .route("/sink/rules", put(set_rules).get(rules))
        // On `hookmock record`, an unknown admin path is a mistake, not a webhook to capture.
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such admin call; see /__admin/received".to_owned(),
            )
        })
        .with_state(sink)
}

async fn list(
    State(sink): State<Arc<Sink>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match filter(&query) {
        Ok(filter) => axum::Json(sink.recorder.list(&filter)).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// `GET /__admin/received` filters: path (prefix), method, scheme, verdict, event, q (text),
/// since (an ID), limit.
pub fn filter(query: &HashMap<String, String>) -> Result<Filter, String> {
    let known = [
        "path", "method", "scheme", "verdict", "event", "q", "since", "limit",
    ];
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "unknown query parameter {unknown:?}; known: {}",
            known.join(", ")
        ));
    }
    let number = |name: &str| -> Result<Option<u64>, String> {
        query
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("{name}: {v:?} is not a whole number"))
            })
            .transpose()
    };
    if let Some(v) = query
        .get("verdict")
        .filter(|v| !["verified", "invalid", "unsigned"].contains(&v.as_str()))
    {
        return Err(format!(
            "verdict: {v:?} is not one of verified, invalid, unsigned"
        ));
    }
    Ok(Filter {
        path: query.get("path").cloned(),
        method: query.get("method").cloned(),
        scheme: query.get("scheme").cloned(),
        verdict: query.get("verdict").cloned(),
        event: query.get("event").cloned(),
        text: query.get("q").cloned(),
        since: number("since")?,
        limit: number("limit")?.and_then(|n| usize::try_from(n).ok()),
    })
}

fn not_found(id: u64) -> Response {
    error(StatusCode::NOT_FOUND, format!("no received request {id}"))
}

async fn one(State(sink): State<Arc<Sink>>, Path(id): Path<u64>) -> Response {
    match sink.recorder.get(id) {
        Some(record) => axum::Json(record).into_response(),
        None => not_found(id),
    }
}

/// A curl command that sends the request again, byte for byte, to where it was received.
async fn curl(State(sink): State<Arc<Sink>>, Path(id): Path<u64>) -> Response {
    let Some(record) = sink.recorder.get(id) else {
        return not_found(id);
    };
    let host = record
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map_or("127.0.0.1", |h| h.value.as_str());
    let query = record
        .query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let mut command = format!(
        "curl -X {} {}",
        record.method,
        quote(&format!("http://{host}{}{query}", record.path))
    );
    for h in record
        .headers
        .iter()
        .filter(|h| !["host", "content-length"].contains(&h.name.to_ascii_lowercase().as_str()))
    {
        command.push_str(&format!(
            " \\\n  -H {}",
            quote(&format!("{}: {}", h.name, h.value))
        ));
    }
    if record.size > 0 {
        let body = match record.body_encoding.as_str() {
            "base64" => format!("\"$(printf %s {} | base64 -d)\"", quote(&record.body)),
            _ => quote(&record.body),
        };
        command.push_str(&format!(" \\\n  --data-binary {body}"));
    }
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        command + "\n",
    )
        .into_response()
}

/// Single-quoted for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    url: String,
}

/// `--forward`: the captured request, byte for byte, to the local app; its answer is logged.
async fn forward(client: reqwest::Client, url: String, record: Record) {
    match resend(&client, &record, &url).await {
        Ok(response) => {
            tracing::info!(record = record.id, %url, status = response.status().as_u16(), "forwarded")
        }
        Err(e) => tracing::warn!(record = record.id, %url, "forwarding failed: {e}"),
    }
}

/// Sends a record's method, headers (but `Host` and `Content-Length`) and exact body to `url`.
async fn resend(
    client: &reqwest::Client,
    record: &Record,
    url: &str,
) -> reqwest::Result<reqwest::Response> {
    let method =
        reqwest::Method::from_bytes(record.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = client.request(method, url).body(record.body_bytes());
    for h in record
        .headers
        .iter()
        .filter(|h| !["host", "content-length"].contains(&h.name.to_ascii_lowercase().as_str()))
    {
        request = request.header(&h.name, &h.value);
    }
    request.send().await
}

/// Sends the exact bytes and headers again to `url`; answers what that endpoint answered.
async fn replay(State(sink): State<Arc<Sink>>, Path(id): Path<u64>, body: Bytes) -> Response {
    let Some(record) = sink.recorder.get(id) else {
        return not_found(id);
    };
    let target: ReplayRequest = match serde_json::from_slice(&body) {
        Ok(target) => target,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"url\": \"…\"}}: {e}"),
            );
        }
    };
    match resend(&sink.client, &record, &target.url).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            axum::Json(json!({ "status": status, "body": text })).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            format!("replay to {} failed: {e}", target.url),
        ),
    }
}

async fn clear(State(sink): State<Arc<Sink>>) -> Response {
    match sink.recorder.clear() {
        Ok(cleared) => axum::Json(json!({ "cleared": cleared })).into_response(),
        Err(e) => error(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
    }
}

/// Server-Sent Events, one `record` event per new capture.
async fn stream(
    State(sink): State<Arc<Sink>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = sink.recorder.subscribe();
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(record) => {
                    let event = Event::default()
                        .event("record")
                        .id(record.id.to_string())
                        .json_data(&record)
                        .unwrap_or_default();
                    return Some((Ok(event), receiver));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

async fn set_rules(State(sink): State<Arc<Sink>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Vec<Rule>>(&body) {
        Ok(rules) => {
            sink.recorder.set_rules(rules.clone());
            axum::Json(rules).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            format!(
                "rules are a list of {{\"path\", \"status\", \"delay_ms\", \"fail_first\"}}: {e}"
            ),
        ),
    }
}

async fn rules(State(sink): State<Arc<Sink>>) -> Response {
    axum::Json(sink.recorder.rules()).into_response()
}
