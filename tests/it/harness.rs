//! Shared test helpers: the real server on port 0, reached through a validating forwarder.
//!
//! Every response a test receives, from a progenitor client or from raw `reqwest`, passes the
//! forwarder, which checks it against the bundled document (status, media type, schema). A test
//! that received a non-conforming response fails when its [`TestServer`] is dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use hookmock::fixtures::Fixtures;
use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::router::Routes;
use hookmock::server::{Bound, Config};
use hookmock::validate::Contracts;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};

/// A running hookmock and the validating forwarder in front of it.
pub struct TestServer {
    /// The forwarder's base URL: what tests talk to.
    pub url: String,
    violations: Arc<Mutex<Vec<String>>>,
}

/// `GET url` with a client of [`hookmock::wire::client`] (TLS ready), as `reqwest::get` would.
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    hookmock::wire::client().get(url).send().await
}

/// Runs a bound server (`serve`, `record` or `proxy`) in the background; answers its base URL.
/// For tests that talk to a server directly, without the validating forwarder.
pub async fn spawn(bound: Bound) -> String {
    let base = format!("http://{}", bound.local_addr().expect("a bound address"));
    tokio::spawn(bound.run(std::future::pending(), std::time::Duration::ZERO));
    base
}

impl TestServer {
    /// A server whose tenants start empty (see [`Self::config`]).
    pub async fn start() -> Self {
        Self::with_config(Self::config()).await
    }

    /// A server whose tenants start from the embedded fixtures, as `hookmock serve` does.
    pub async fn with_fixtures() -> Self {
        Self::with_config(Config {
            fixtures: Fixtures::Embedded,
            ..Self::config()
        })
        .await
    }

    /// The tests' default configuration: port 0 and no fixtures, so counts are predictable.
    /// Tests of the fixtures turn them back on.
    pub fn config() -> Config {
        Config {
            port: 0,
            fixtures: Fixtures::None,
            ..Config::default()
        }
    }

    pub async fn with_config(config: Config) -> Self {
        let bound = Bound::new(&config).await.expect("the server starts");
        let server_addr = bound.local_addr().expect("a bound address");
        tokio::spawn(bound.run(std::future::pending(), std::time::Duration::ZERO));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let forwarder = Forwarder {
            upstream: format!("http://{server_addr}"),
            client: hookmock::wire::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            routes: Routes::new(OPERATIONS, |_| true).expect("routes"),
            contracts: Contracts::compile(DOCUMENTS, OPERATIONS, true).expect("contracts"),
            violations: violations.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Arc::new(forwarder));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, violations }
    }

    /// A handle on a server already running at `url` (a child process): no forwarder, so no
    /// response checks.
    pub fn at(url: String) -> Self {
        Self {
            url,
            violations: Arc::default(),
        }
    }

    /// A `reqwest` client that sends `Authorization: Bearer <token>`.
    pub fn client(&self, token: &str) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
        headers.insert(AUTHORIZATION, value);
        hookmock::wire::client_builder()
            .default_headers(headers)
            .build()
            .expect("a client")
    }

    pub fn fieldnation(&self, token: &str) -> crate::clients::fieldnation::Client {
        crate::clients::fieldnation::Client::new_with_client(&self.url, self.client(token))
    }

    pub fn patchworks(&self, token: &str) -> crate::clients::patchworks::Client {
        crate::clients::patchworks::Client::new_with_client(&self.url, self.client(token))
    }

    pub fn elan(&self, token: &str) -> crate::clients::elan::Client {
        crate::clients::elan::Client::new_with_client(&self.url, self.client(token))
    }

    pub fn ingedata(&self, token: &str) -> crate::clients::ingedata::Client {
        crate::clients::ingedata::Client::new_with_client(&self.url, self.client(token))
    }

    /// A raw request, with `Bearer <token>` when `token` is given; the status and the JSON body
    /// (null when the body is not JSON).
    pub async fn call(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let http = match token {
            Some(token) => self.client(token),
            None => hookmock::wire::client(),
        };
        let mut request = http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// `GET path` as `token`.
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.call(Some(token), reqwest::Method::GET, path, None)
            .await
    }

    /// An Ingedata webhook of `tenant` sending `task.completed` to `url`, with `secret` or a
    /// generated one; answers its ID and secret.
    pub async fn ingedata_webhook(
        &self,
        tenant: &str,
        url: &str,
        secret: Option<&str>,
    ) -> (String, String) {
        let mut attributes = json!({"url": url, "events": ["task.completed"]});
        if let Some(secret) = secret {
            attributes["secret"] = json!(secret);
        }
        let body = json!({"data": {"type": "webhooks", "attributes": attributes}});
        let (status, created) = self
            .call(
                Some(tenant),
                reqwest::Method::POST,
                "/api/v3/notification/webhooks",
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let field = |pointer: &str| {
            created
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{pointer} in {created}"))
                .to_owned()
        };
        (field("/data/id"), field("/data/attributes/secret"))
    }

    /// `POST …/test/{id}`: Ingedata sends `webhook.test` at once and answers with the outcome.
    pub async fn ingedata_test(&self, tenant: &str, id: &str) -> (u16, Value) {
        let path = format!("/api/v3/notification/webhooks/test/{id}");
        self.call(Some(tenant), reqwest::Method::POST, &path, None)
            .await
    }

    /// `POST /webhooks/{id}/test` as ELAN's `elan-key` tenant: a `workflow.completed` delivery
    /// is queued.
    pub async fn elan_test(&self, id: impl std::fmt::Display) -> (u16, Value) {
        let path = format!("/webhooks/{id}/test");
        self.call(Some("elan-key"), reqwest::Method::POST, &path, None)
            .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Contract violations in the responses received so far.
    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the violations seen so far, for a test that provokes one on purpose.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .violations
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

/// The status and body of a generated client's error response; anything else fails the test.
pub fn error_response<T: std::fmt::Debug, E: std::fmt::Debug>(
    result: Result<T, progenitor_client::Error<E>>,
) -> (u16, E) {
    match result {
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            (response.status().as_u16(), response.into_inner())
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// The status of a generated client's error response.
pub fn error_status<T: std::fmt::Debug, E: std::fmt::Debug>(
    result: Result<T, progenitor_client::Error<E>>,
) -> u16 {
    error_response(result).0
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let violations = self.violations();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!("responses broke their contract:\n{}", violations.join("\n"));
        }
    }
}

struct Forwarder {
    upstream: String,
    client: reqwest::Client,
    routes: Routes,
    contracts: Contracts,
    violations: Arc<Mutex<Vec<String>>>,
}

async fn forward(State(fwd): State<Arc<Forwarder>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the test's body");
    let target = match parts.uri.path_and_query() {
        Some(pq) => format!("{}{pq}", fwd.upstream),
        None => fwd.upstream.clone(),
    };
    // `Host` is kept, so absolute URLs the server builds name the address the client used.
    let headers = parts.headers.clone();
    let upstream = fwd
        .client
        .request(parts.method.clone(), target)
        .headers(headers)
        .body(body)
        .send()
        .await;
    // A connection the server broke on purpose (a fault rule) is broken here too.
    let Ok(upstream) = upstream else {
        let failure = std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the server closed the connection",
        );
        return Response::new(Body::from_stream(futures::stream::iter([Err::<
            axum::body::Bytes,
            _,
        >(
            failure
        )])));
    };
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    // Hop-by-hop: the forwarder frames its own answer.
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONNECTION);
    let bytes = upstream.bytes().await.expect("the server's body");
    if let Ok(found) = fwd.routes.find(&parts.method, parts.uri.path()) {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let problems =
            fwd.contracts
                .check_response(found.index, status.as_u16(), content_type, &bytes);
        if !problems.is_empty() {
            let op = OPERATIONS[found.index].operation_id;
            let mut all = fwd
                .violations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            all.extend(
                problems
                    .iter()
                    .map(|p| format!("{op} → {status}: {}", p.describe())),
            );
        }
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// One request a [`Receiver`] got, byte for byte.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: axum::http::HeaderMap,
    pub body: axum::body::Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A real webhook receiver on 127.0.0.1: records every request and answers the scripted
/// statuses in order, then 200.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(script: &[u16]) -> Self {
        Self::start_with(script, None).await
    }

    /// Like [`Self::start`], with `Retry-After: <seconds>` on every answer that is not a 2xx.
    pub async fn start_with(script: &[u16], retry_after: Option<u64>) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script.to_vec());
        let state = (received.clone(), script, retry_after);
        let app = axum::Router::new().fallback(record).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Waits (at most 10 s) until `n` requests arrived; answers all that did.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..1000 {
            let got = self
                .received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

type ReceiverState = (Arc<Mutex<Vec<Received>>>, Arc<Vec<u16>>, Option<u64>);

async fn record(
    State((received, script, retry_after)): State<ReceiverState>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut all = received.lock().unwrap_or_else(PoisonError::into_inner);
    let status = script.get(all.len()).copied().unwrap_or(200);
    all.push(Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body,
    });
    let mut response = Response::new(Body::from(format!("answer {status}")));
    *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap_or_default();
    if let Some(seconds) = retry_after.filter(|_| !response.status().is_success()) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

/// A `hookmock serve` child process (the real binary), killed when dropped.
pub struct Served {
    pub child: Child,
    pub url: String,
}

impl Served {
    /// `hookmock serve --port 0 ARGS`, once it prints where it listens.
    pub fn start(args: &[&str]) -> Self {
        Self::command(&[&["serve", "--port", "0"], args].concat())
    }

    /// `hookmock ARGS` (a command that listens, on port 0), once it prints where it listens.
    pub fn command(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookmock"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("hookmock starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the first line");
        let url = line
            .trim()
            .strip_prefix("hookmock listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// SIGTERM, and the exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.child.wait().expect("exits")
    }

    /// Sends `signal` (`INT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIG{signal} sent");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
