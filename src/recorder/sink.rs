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
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::connection::Closing;
use crate::connection::Peer;
use crate::context::Context;
use crate::recorder::{Batch, Change, Filter, Incoming, Record, Recorder, Rule};

/// The largest body the sink captures.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct Sink {
    pub recorder: Arc<Recorder>,
    pub context: Arc<Context>,
    /// Sends replays.
    pub client: reqwest::Client,
    /// Where webhooks are captured: `/` for `hookmock record`, `/__sink/` beside the mock.
    pub prefix: &'static str,
    /// Ends the event streams when the server stops.
    pub closing: Closing,
}

impl Sink {
    pub fn new(
        recorder: Arc<Recorder>,
        context: Arc<Context>,
        prefix: &'static str,
        closing: Closing,
    ) -> Arc<Self> {
        let client = crate::wire::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            recorder,
            context,
            client,
            prefix,
            closing,
        })
    }
}

/// Captures any request: records it (durably, before answering), then answers as configured.
pub async fn capture(State(sink): State<Arc<Sink>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            let status =
                match crate::error::cause::<crate::connection::BodyTimedOut>(&e).map(|t| t.0) {
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

/// `GET /__admin/received`: matching records, newest first (`view=summary` leaves out headers
/// and bodies). The headers say what the page is a part of: `X-Total-Count` records match (the
/// limit aside), `X-Stored-Count` are kept, `X-Last-Id` is the newest captured (a stream opened
/// with `since=` that ID misses nothing), and `X-Sink-Prefix` is where webhooks are captured.
async fn list(
    State(sink): State<Arc<Sink>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (summary, query) = view(query);
    let filter = match filter(&query) {
        Ok(filter) => filter,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let listing = sink.recorder.list(&filter);
    let counts = [
        ("x-total-count", listing.matched.to_string()),
        ("x-stored-count", listing.stored.to_string()),
        ("x-last-id", listing.last_id.to_string()),
        ("x-sink-prefix", sink.prefix.to_owned()),
    ];
    let mut response = if summary {
        let summaries: Vec<_> = listing.records.iter().map(Record::summary).collect();
        axum::Json(summaries).into_response()
    } else {
        axum::Json(listing.records).into_response()
    };
    for (name, value) in counts {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Takes `view` out of the query: `summary`, or `full` (the default).
fn view(mut query: HashMap<String, String>) -> (bool, HashMap<String, String>) {
    let summary = query.remove("view").is_some_and(|v| v == "summary");
    (summary, query)
}

/// A query the recorder's API cannot read.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("unknown query parameter {0:?}; known: {known}, view", known = FILTERS.join(", "))]
    Unknown(String),
    #[error("{name}: {value:?} is not a whole number")]
    NotANumber { name: &'static str, value: String },
    #[error("verdict: {0:?} is not one of verified, invalid, unsigned")]
    Verdict(String),
}

/// The filters of `GET /__admin/received` and its stream.
const FILTERS: &[&str] = &[
    "path", "method", "scheme", "verdict", "event", "q", "since", "before", "limit",
];

/// `GET /__admin/received` filters: path (prefix), method, scheme, verdict, event, q (text),
/// since and before (IDs), limit.
pub fn filter(query: &HashMap<String, String>) -> Result<Filter, QueryError> {
    if let Some(unknown) = query.keys().find(|k| !FILTERS.contains(&k.as_str())) {
        return Err(QueryError::Unknown(unknown.clone()));
    }
    let number = |name: &'static str| -> Result<Option<u64>, QueryError> {
        query
            .get(name)
            .map(|value| {
                value.parse().map_err(|_| QueryError::NotANumber {
                    name,
                    value: value.clone(),
                })
            })
            .transpose()
    };
    if let Some(v) = query
        .get("verdict")
        .filter(|v| !["verified", "invalid", "unsigned"].contains(&v.as_str()))
    {
        return Err(QueryError::Verdict(v.clone()));
    }
    let text = |name: &str| query.get(name).filter(|v| !v.is_empty()).cloned();
    Ok(Filter {
        path: text("path"),
        method: text("method"),
        scheme: text("scheme"),
        verdict: text("verdict"),
        event: text("event"),
        text: text("q"),
        since: number("since")?,
        before: number("before")?,
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
    // A shell argument cannot carry a NUL byte (`"$(… | base64 -d)"` dropped them): a binary
    // body is piped to curl's standard input instead, byte for byte.
    let piped = record.size > 0 && (record.body_encoding == "base64" || record.body.contains('\0'));
    if piped {
        let encoded = match record.body_encoding.as_str() {
            "base64" => record.body.clone(),
            _ => base64::engine::general_purpose::STANDARD.encode(&record.body),
        };
        command = format!(
            "printf %s {} | base64 -d | {command} \\\n  --data-binary @-",
            quote(&encoded)
        );
    } else if record.size > 0 {
        command.push_str(&format!(" \\\n  --data-binary {}", quote(&record.body)));
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

/// Where to replay a record, and what to change in it first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    url: String,
    /// Replaces the recorded headers (`Host` and `Content-Length` are always the sender's).
    #[serde(default)]
    headers: Option<Vec<crate::wire::Header>>,
    /// Replaces the recorded body: text, or base64 with `body_encoding: "base64"`.
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_encoding: Option<String>,
}

/// A replay's edit that cannot be applied.
#[derive(Debug, thiserror::Error)]
enum EditError {
    #[error("body_encoding: {0:?} is not one of utf8, base64")]
    Encoding(String),
    #[error("body: not base64: {0}")]
    NotBase64(base64::DecodeError),
}

impl ReplayRequest {
    /// `record` with the edits applied.
    fn edit(self, mut record: Record) -> Result<Record, EditError> {
        if let Some(headers) = self.headers {
            record.headers = headers;
        }
        if let Some(body) = self.body {
            let encoding = self.body_encoding.unwrap_or_else(|| "utf8".to_owned());
            if !["utf8", "base64"].contains(&encoding.as_str()) {
                return Err(EditError::Encoding(encoding));
            }
            if encoding == "base64" {
                base64::engine::general_purpose::STANDARD
                    .decode(&body)
                    .map_err(EditError::NotBase64)?;
            }
            record.body = body;
            record.body_encoding = encoding;
        }
        Ok(record)
    }
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
                format!(
                    "the body must be {{\"url\": \"…\"}}, optionally with \"headers\", \"body\", \"body_encoding\": {e}"
                ),
            );
        }
    };
    let url = target.url.clone();
    let record = match target.edit(record) {
        Ok(record) => record,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match resend(&sink.client, &record, &url).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            axum::Json(json!({ "status": status, "body": text })).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            format!("replay to {url} failed: {e}"),
        ),
    }
}

async fn clear(State(sink): State<Arc<Sink>>) -> Response {
    match sink.recorder.clear() {
        Ok(cleared) => axum::Json(json!({ "cleared": cleared })).into_response(),
        Err(e) => error(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
    }
}

/// Records a stream reads from the recorder at a time.
const STREAM_BATCH: usize = 256;

/// `GET /__admin/received/stream`: Server-Sent Events, in ID order, each with its ID:
/// - `record`: a captured record (`view=summary`: without headers and body);
/// - `missed`: `{"from", "to"}`, IDs the stream should have sent that are no longer kept
///   (`--max-records` evicted them, or a clear): a record is never skipped silently;
/// - `cleared`: every record was forgotten.
///
/// It starts after the `Last-Event-ID` a reconnecting browser sends, or `since=ID`, else with
/// the next capture, and takes the list's filters. Captures only wake it: the records come from
/// the recorder's memory, so a reader that falls behind catches up instead of losing any. It
/// ends when the server stops.
async fn stream(
    State(sink): State<Arc<Sink>>,
    Query(query): Query<HashMap<String, String>>,
    headers: header::HeaderMap,
) -> Response {
    let (summary, mut query) = view(query);
    let since = query.remove("since");
    let filter = match filter(&query) {
        Ok(filter) => filter,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Subscribed before the starting point is read: a capture in between is not lost.
    let changes = sink.recorder.subscribe();
    // A reconnecting browser's Last-Event-ID wins over the `since` of the URL it reopens.
    let next = match last_event.or(since).map(|v| v.parse::<u64>()) {
        Some(Ok(after)) => after + 1,
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "since (or Last-Event-ID) is not a whole number".to_owned(),
            );
        }
        None => sink.recorder.last_id() + 1,
    };
    let reader = StreamReader {
        sink: sink.clone(),
        filter,
        summary,
        changes,
        next,
        ready: std::collections::VecDeque::new(),
    };
    let events = futures_util::stream::unfold(reader, |mut reader| async move {
        let event = reader.next_event().await?;
        Some((Ok::<_, Infallible>(event), reader))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// One event stream's place in the recorder.
struct StreamReader {
    sink: Arc<Sink>,
    filter: Filter,
    summary: bool,
    changes: tokio::sync::broadcast::Receiver<Change>,
    /// The ID the stream expects next.
    next: u64,
    ready: std::collections::VecDeque<Event>,
}

impl StreamReader {
    /// The next event, waiting for a capture when there is none; `None` once the server stops.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let batch = self
                .sink
                .recorder
                .after(self.next, &self.filter, STREAM_BATCH);
            if batch.next != self.next {
                self.queue(batch);
                continue;
            }
            tokio::select! {
                () = self.sink.closing.closed() => return None,
                change = self.changes.recv() => match change {
                    Ok(Change::Cleared) => self.ready.push_back(
                        Event::default().event("cleared").data("{}"),
                    ),
                    // A lag only means the wake-ups were merged: the records are read anyway.
                    Ok(Change::Captured(_)) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    fn queue(&mut self, batch: Batch) {
        if let Some((from, to)) = batch.missed {
            self.ready.push_back(
                Event::default()
                    .event("missed")
                    .id(to.to_string())
                    .data(json!({ "from": from, "to": to }).to_string()),
            );
        }
        for record in &batch.records {
            let event = Event::default().event("record").id(record.id.to_string());
            let event = if self.summary {
                event.json_data(record.summary())
            } else {
                event.json_data(record)
            };
            self.ready.push_back(event.unwrap_or_default());
        }
        self.next = batch.next;
    }
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
