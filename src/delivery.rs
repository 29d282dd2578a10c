//! Outgoing webhooks: a bounded queue, worker tasks, per-vendor retry schedules and a log of
//! every attempt.
//!
//! A vendor module builds a [`Message`] (payload bytes, URL, custom headers, signing secret,
//! retry policy) and enqueues it; the API call that caused it never waits. A worker sends each
//! attempt over HTTP, signing the exact bytes it sends; a failed attempt is rescheduled after
//! the policy's next delay (or the receiver's `Retry-After`), scaled by `--time-scale`. The
//! event ID stays the same across attempts, so receivers can deduplicate on it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::context::Context;
use crate::signing::{self, Scheme};
use crate::wire::Header;

/// Standard Webhooks' retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h.
pub const STANDARD_SCHEDULE: &[u64] = &[0, 5, 300, 1800, 7200, 18000, 36000, 36000];

/// Finished deliveries the log keeps by default (`--delivery-log-size`).
pub const DEFAULT_LOG_SIZE: usize = 10_000;

/// Response bodies are logged up to this many bytes.
const LOGGED_BODY: usize = 4096;

/// When to try again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub schedule: &'static [u64],
    /// Field Nation never retries a 4xx; Standard Webhooks senders retry anything but 2xx.
    pub retry_client_errors: bool,
}

/// The headers of attempt `attempt` of delivery `delivery` of `message`, sent `at`: the content
/// type, the subscription's own headers, the vendor's stamp and the signature. The one place a
/// delivery's headers are made: `hookmock check-receiver` sends exactly these.
pub fn request_headers(
    message: &Message,
    delivery: &str,
    attempt: u32,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> =
        vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(message.headers.iter().cloned());
    if let Some(stamp) = message.stamp {
        headers.extend(stamp(&Attempting {
            subscription: &message.subscription,
            delivery,
            attempt,
            at,
        }));
    }
    if let Some((scheme, secret)) = &message.signing {
        let signed = signing::headers(
            *scheme,
            secret,
            &message.event_id,
            at.timestamp(),
            &message.body,
        );
        headers.extend(signed.into_iter().map(|(k, v)| (k.to_owned(), v)));
    }
    headers
}

/// What a vendor's [`Stamp`] knows of the attempt being sent.
pub struct Attempting<'a> {
    pub subscription: &'a str,
    /// The delivery's ID, the same on every attempt.
    pub delivery: &'a str,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the attempt is sent, to the millisecond.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The headers a vendor adds to each attempt.
pub type Stamp = fn(&Attempting<'_>) -> Vec<(String, String)>;

/// Called when a receiver answers 410 Gone: the vendor disables the subscription.
pub type OnGone = Arc<dyn Fn() + Send + Sync>;

/// One event for one subscription, as the vendor module builds it.
#[derive(Clone)]
pub struct Message {
    pub api: &'static str,
    pub tenant: String,
    /// The subscription as the vendor names it (`wh_abc123`, `42`).
    pub subscription: String,
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    pub method: reqwest::Method,
    /// The subscription's custom headers, sent on every attempt.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub signing: Option<(Scheme, String)>,
    /// Headers the vendor stamps on each attempt besides its signature (IDs, times).
    pub stamp: Option<Stamp>,
    pub policy: RetryPolicy,
    /// Where to send a notice when every attempt failed (Field Nation's `notificationEmail`).
    pub notify: Option<String>,
    pub on_gone: Option<OnGone>,
}

impl Message {
    /// A Standard Webhooks delivery of `body` to `url`: a POST signed with `secret`, retried on
    /// the standard schedule (after a 4xx too). The caller names the tenant, subscription and
    /// event (`Message { tenant, …, ..Message::standard_webhooks(…) }`).
    pub fn standard_webhooks(api: &'static str, url: String, body: &Value, secret: String) -> Self {
        Self {
            api,
            tenant: String::new(),
            subscription: String::new(),
            event_id: String::new(),
            event_type: String::new(),
            url,
            method: reqwest::Method::POST,
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            signing: Some((Scheme::StandardWebhooks, secret)),
            stamp: None,
            policy: RetryPolicy {
                schedule: STANDARD_SCHEDULE,
                retry_client_errors: true,
            },
            notify: None,
            on_gone: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Succeeded,
    /// Every attempt failed, or a response said not to retry.
    Failed,
    /// The receiver answered 410 Gone; the subscription was disabled.
    Gone,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Attempt {
    /// Unique across all deliveries, in the order attempts finished.
    pub seq: u64,
    pub number: u32,
    /// RFC 3339.
    pub at: String,
    pub url: String,
    /// In the order sent.
    pub request_headers: Vec<Header>,
    pub status: Option<u16>,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Delivery {
    pub id: String,
    pub api: String,
    pub subscription: String,
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    /// The request body sent (the same bytes on every attempt).
    pub body: String,
    #[serde(skip)]
    #[schemars(skip)]
    pub tenant: String,
}

/// The notices sent when a delivery exhausted its retries (`GET /__admin/outbox`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Notice {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub delivery_id: String,
    pub at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the delivery queue is full ({0} waiting); try again later")]
    QueueFull(usize),
    #[error("the delivery engine is shutting down")]
    ShuttingDown,
    #[error("no delivery {0}")]
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub workers: usize,
    pub queue: usize,
    pub timeout: Duration,
    /// Multiplies every delay (0.001 turns minutes into tenths of a second).
    pub time_scale: f64,
    /// Deliveries (and outbox notices) the log keeps; past it the oldest finished ones are
    /// dropped and counted, so a long load test cannot grow memory without limit.
    pub log_size: usize,
    /// `--deliver-deny-private`: refuse targets in the host's own networks (see
    /// [`crate::egress`]).
    pub deny_private: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            workers: 8,
            queue: 10_000,
            timeout: Duration::from_secs(30),
            time_scale: 1.0,
            log_size: DEFAULT_LOG_SIZE,
            deny_private: false,
        }
    }
}

/// The handle every module shares.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    client: reqwest::Client,
    context: Arc<Context>,
    queue: mpsc::Sender<Job>,
    state: Mutex<Shared>,
    /// Attempts being sent right now, or waiting in the queue or for their delay.
    pending: AtomicUsize,
}

#[derive(Default)]
struct Shared {
    /// Attempts recorded so far (the last `Attempt::seq`).
    attempts: u64,
    /// Deliveries by the order they were queued in (the key), and their IDs' keys.
    deliveries: BTreeMap<u64, (Message, Delivery)>,
    keys: HashMap<String, u64>,
    /// Deliveries queued so far (the last key).
    queued: u64,
    /// Finished deliveries dropped from the log because it was full.
    dropped: u64,
    waiters: HashMap<String, oneshot::Sender<Attempt>>,
    outbox: VecDeque<Notice>,
}

impl Shared {
    fn get(&self, id: &str) -> Option<&(Message, Delivery)> {
        self.keys.get(id).and_then(|key| self.deliveries.get(key))
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut (Message, Delivery)> {
        self.keys
            .get(id)
            .and_then(|key| self.deliveries.get_mut(key))
    }

    fn insert(&mut self, message: Message, delivery: Delivery, log_size: usize) {
        self.queued += 1;
        self.keys.insert(delivery.id.clone(), self.queued);
        self.deliveries.insert(self.queued, (message, delivery));
        while self.deliveries.len() > log_size.max(1) {
            // Pending deliveries stay: dropping one would cancel its retries.
            let oldest_finished = self
                .deliveries
                .iter()
                .find(|(_, (_, d))| d.state != DeliveryState::Pending)
                .map(|(key, _)| *key);
            let Some(key) = oldest_finished else { break };
            self.remove_key(key);
            self.dropped += 1;
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(key) = self.keys.get(id).copied() {
            self.remove_key(key);
        }
    }

    fn remove_key(&mut self, key: u64) {
        if let Some((_, delivery)) = self.deliveries.remove(&key) {
            self.keys.remove(&delivery.id);
        }
    }

    fn notify(&mut self, notice: Notice, log_size: usize) {
        if self.outbox.len() >= log_size.max(1) {
            self.outbox.pop_front();
        }
        self.outbox.push_back(notice);
    }
}

struct Job {
    id: String,
    attempt: u32,
}

impl Engine {
    /// Starts the workers on the current runtime.
    pub fn start(context: Arc<Context>, settings: Settings) -> Self {
        let (queue, receiver) = mpsc::channel(settings.queue.max(1));
        // Redirects are never followed: the receiver's answer is the outcome.
        let mut client = crate::wire::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout);
        if settings.deny_private {
            client = client.dns_resolver(Arc::new(crate::egress::PublicOnly));
        }
        let client = client.build().unwrap_or_default();
        let inner = Arc::new(Inner {
            settings,
            client,
            context,
            queue,
            state: Mutex::default(),
            pending: AtomicUsize::new(0),
        });
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..inner.settings.workers.max(1) {
            let (inner, receiver) = (inner.clone(), receiver.clone());
            tokio::spawn(async move {
                loop {
                    let job = receiver.lock().await.recv().await;
                    let Some(job) = job else { break };
                    inner.attempt(job).await;
                }
            });
        }
        Self { inner }
    }

    /// Queues the first attempt; answers the delivery's ID at once.
    pub fn enqueue(&self, message: Message) -> Result<String, DeliveryError> {
        self.inner.enqueue(message, None)
    }

    /// Queues every message: the identifiers of their deliveries.
    pub fn enqueue_all(
        &self,
        messages: impl IntoIterator<Item = Message>,
    ) -> Result<Vec<String>, DeliveryError> {
        messages.into_iter().map(|m| self.enqueue(m)).collect()
    }

    /// Queues the first attempt and waits for its outcome (the test endpoints answer with it).
    pub async fn send_now(&self, message: Message) -> Result<Attempt, DeliveryError> {
        let (sender, receiver) = oneshot::channel();
        let id = self.inner.enqueue(message, Some(sender))?;
        receiver.await.map_err(|_| DeliveryError::Unknown(id))
    }

    /// Finished deliveries dropped from the log because it was full.
    pub fn dropped(&self) -> u64 {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped
    }

    /// Deliveries matching `keep`, newest first.
    pub fn deliveries(&self, keep: impl Fn(&Delivery) -> bool) -> Vec<Delivery> {
        let state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state
            .deliveries
            .values()
            .rev()
            .map(|(_, d)| d)
            .filter(|d| keep(d))
            .cloned()
            .collect()
    }

    /// Sends a delivery again, from its next attempt number, on its policy's schedule.
    pub fn retry(&self, id: &str) -> Result<(), DeliveryError> {
        let attempt = {
            let mut state = self
                .inner
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (_, delivery) = state
                .get_mut(id)
                .ok_or_else(|| DeliveryError::Unknown(id.to_owned()))?;
            delivery.state = DeliveryState::Pending;
            delivery.attempts.len() as u32 + 1
        };
        self.inner.push(Job {
            id: id.to_owned(),
            attempt,
        })
    }

    pub fn outbox(&self) -> Vec<Notice> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .outbox
            .iter()
            .cloned()
            .collect()
    }

    /// Attempts queued, in flight or waiting for their retry delay.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::SeqCst)
    }

    /// Waits up to `limit` for the attempts in flight; answers how many are still pending.
    pub async fn drain(&self, limit: Duration) -> usize {
        let until = Instant::now() + limit;
        while self.pending() > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.pending()
    }
}

impl Inner {
    fn enqueue(
        &self,
        message: Message,
        waiter: Option<oneshot::Sender<Attempt>>,
    ) -> Result<String, DeliveryError> {
        let id = self.context.uuid().to_string();
        let delivery = Delivery {
            id: id.clone(),
            api: message.api.to_owned(),
            subscription: message.subscription.clone(),
            event_id: message.event_id.clone(),
            event_type: message.event_type.clone(),
            url: message.url.clone(),
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            body: String::from_utf8_lossy(&message.body).into_owned(),
            tenant: message.tenant.clone(),
        };
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.insert(message, delivery, self.settings.log_size);
            if let Some(waiter) = waiter {
                state.waiters.insert(id.clone(), waiter);
            }
        }
        self.push(Job {
            id: id.clone(),
            attempt: 1,
        })
        .inspect_err(|_| {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.remove(&id);
            state.waiters.remove(&id);
        })?;
        Ok(id)
    }

    fn push(&self, job: Job) -> Result<(), DeliveryError> {
        self.pending.fetch_add(1, Ordering::SeqCst);
        self.queue.try_send(job).map_err(|e| {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            match e {
                mpsc::error::TrySendError::Full(_) => DeliveryError::QueueFull(self.settings.queue),
                mpsc::error::TrySendError::Closed(_) => DeliveryError::ShuttingDown,
            }
        })
    }

    async fn attempt(self: &Arc<Self>, job: Job) {
        let message = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.get(&job.id).map(|(m, _)| m.clone())
        };
        let Some(message) = message else {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return;
        };
        let (attempt, next) = self.send(&message, &job).await;
        let retry_after = match next {
            Next::Scheduled(retry_after) => retry_after,
            Next::Never => None,
        };
        let next = self.record(&message, &job, attempt, matches!(next, Next::Never));
        match next {
            Some(delay) => {
                let delay = retry_after
                    .unwrap_or(delay)
                    .mul_f64(self.settings.time_scale.max(0.0));
                let inner = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let next_job = Job {
                        id: job.id,
                        attempt: job.attempt + 1,
                    };
                    if inner.queue.send(next_job).await.is_err() {
                        inner.pending.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
            None => {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// One HTTP attempt. Answers what happened and what it says of the next one.
    async fn send(&self, message: &Message, job: &Job) -> (Attempt, Next) {
        let now = self.context.now_precise();
        let headers = request_headers(message, &job.id, job.attempt, now);
        let mut request = self
            .client
            .request(message.method.clone(), &message.url)
            .body(message.body.clone());
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let refused = self
            .settings
            .deny_private
            .then(|| crate::egress::refused_literal(&message.url))
            .flatten();
        let result = match refused {
            Some(refused) => Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>),
            None => request.send().await.map_err(|e| Box::new(e) as _),
        };
        let mut attempt = Attempt {
            seq: 0,
            number: job.attempt,
            at: crate::clock::format(chrono::SubsecRound::trunc_subsecs(now, 0)),
            url: message.url.clone(),
            request_headers: headers
                .into_iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
            status: None,
            response_body: None,
            duration_ms: 0,
            error: None,
        };
        let next = match result {
            Ok(response) => {
                attempt.status = Some(response.status().as_u16());
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = response.bytes().await.unwrap_or_default();
                attempt.response_body = Some(
                    String::from_utf8_lossy(&body[..body.len().min(LOGGED_BODY)]).into_owned(),
                );
                Next::Scheduled(retry_after)
            }
            Err(e) => {
                let timed_out = e
                    .downcast_ref::<reqwest::Error>()
                    .is_some_and(reqwest::Error::is_timeout);
                attempt.error = Some(if timed_out {
                    format!("timed out after {:?}", self.settings.timeout)
                } else {
                    error_chain(e.as_ref())
                });
                if crate::error::cause::<crate::egress::Refused>(e.as_ref()).is_some() {
                    Next::Never
                } else {
                    Next::Scheduled(None)
                }
            }
        };
        attempt.duration_ms = started.elapsed().as_millis().try_into().unwrap_or(u64::MAX);
        (attempt, next)
    }

    /// Logs the attempt and decides what follows: `Some(delay)` before the next attempt.
    fn record(
        &self,
        message: &Message,
        job: &Job,
        mut attempt: Attempt,
        final_attempt: bool,
    ) -> Option<Duration> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.attempts += 1;
        attempt.seq = state.attempts;
        if let Some(waiter) = state.waiters.remove(&job.id) {
            let _ = waiter.send(attempt.clone());
        }
        let status = attempt.status;
        let (next_state, delay) = match status {
            _ if attempt.succeeded() => (DeliveryState::Succeeded, None),
            _ if final_attempt => (DeliveryState::Failed, None),
            Some(410) => (DeliveryState::Gone, None),
            Some(s) if (400..500).contains(&s) && !message.policy.retry_client_errors => {
                (DeliveryState::Failed, None)
            }
            _ => match message.policy.schedule.get(job.attempt as usize) {
                Some(seconds) => (DeliveryState::Pending, Some(Duration::from_secs(*seconds))),
                None => (DeliveryState::Failed, None),
            },
        };
        let at = attempt.at.clone();
        if let Some((_, delivery)) = state.get_mut(&job.id) {
            delivery.attempts.push(attempt);
            delivery.state = next_state;
        }
        if next_state == DeliveryState::Failed
            && let Some(to) = &message.notify
        {
            let notice = Notice {
                to: to.clone(),
                subject: format!(
                    "Webhook {} failed to deliver {}",
                    message.subscription, message.event_type
                ),
                body: format!(
                    "All {} attempts to deliver event {} to {} failed.",
                    job.attempt, message.event_id, message.url
                ),
                delivery_id: job.id.clone(),
                at,
            };
            state.notify(notice, self.settings.log_size);
        }
        drop(state);
        if next_state == DeliveryState::Gone
            && let Some(on_gone) = &message.on_gone
        {
            on_gone();
        }
        delay
    }
}

/// What an attempt says of the next one.
enum Next {
    /// On the policy's schedule, or after the receiver's `Retry-After`.
    Scheduled(Option<Duration>),
    /// Never: the target is refused (`--deliver-deny-private`), and will be every time.
    Never,
}

/// reqwest's error and its causes, which say what actually failed (refused, reset, DNS).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The deliveries of one API as `GET /__admin/deliveries` filters them.
pub fn matches(delivery: &Delivery, filters: &HashMap<String, String>) -> bool {
    let want = |key: &str, have: &str| filters.get(key).is_none_or(|w| w == have);
    let state = serde_json::to_value(delivery.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    want("api", &delivery.api)
        && want("subscription", &delivery.subscription)
        && want("event", &delivery.event_type)
        && want("status", &state)
}

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("unknown event {event:?}; this API's events: {known}")]
    UnknownEvent { event: String, known: String },
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// What `POST /__admin/events` asks of a vendor: deliver `event` with `data` to every active
/// subscription to it, of one tenant or of all. Answers the queued deliveries' IDs.
pub trait Emitter: Send + Sync {
    fn emit(
        &self,
        event: &str,
        data: &Value,
        tenant: Option<&str>,
    ) -> Result<Vec<String>, EmitError>;

    /// The vendor's event catalogue, in the order its events happen.
    fn events(&self) -> Vec<String>;

    /// The message the vendor sends for `event` (with `data`) to a subscription of `url`
    /// signed with `secret`: what `hookmock check-receiver` sends a team's receiver.
    /// Refused when the vendor could not hold such a subscription (the reason says why).
    fn probe(&self, event: &str, data: &Value, url: &str, secret: &str) -> Result<Message, String>;

    /// Whether every delivery is signed (else only those of subscriptions with a secret).
    fn always_signs(&self) -> bool;
}

/// The vendors that emit events, by API name.
#[derive(Default, Clone)]
pub struct Emitters {
    entries: Vec<(&'static str, Arc<dyn Emitter>)>,
}

impl Emitters {
    pub fn add(&mut self, api: &'static str, emitter: Arc<dyn Emitter>) {
        self.entries.push((api, emitter));
    }

    pub fn get(&self, api: &str) -> Option<&dyn Emitter> {
        self.entries
            .iter()
            .find(|(a, _)| *a == api)
            .map(|(_, e)| e.as_ref())
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|(a, _)| *a).collect()
    }
}

/// `name` checked against a vendor's event catalogue.
pub fn known_event(event: &str, catalogue: &[&str]) -> Result<(), EmitError> {
    if catalogue.contains(&event) {
        Ok(())
    } else {
        Err(EmitError::UnknownEvent {
            event: event.to_owned(),
            known: catalogue.join(", "),
        })
    }
}

/// Headers that frame or route a request, or describe its body: the hop-by-hop set (RFC 9110
/// §7.6.1) and the ones the engine sets for every attempt. A custom header among them would
/// contradict the bytes sent (`Content-Length: 5` truncates the body the receiver reads).
const FRAMING_HEADERS: &[&str] = &[
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "expect",
    "host",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The one rule for the custom headers a subscription may carry (`headers`,
/// `webhookAttribute.header`): neither a framing header nor a header `scheme` signs with.
/// `pointer` locates the map of headers in the request body; the violations name each refused
/// header by its own pointer. A name or value HTTP cannot carry is accepted, as the documents
/// allow any string, and the attempts that would send it fail saying why (the delivery log).
pub fn custom_header_violations<'a>(
    names: impl IntoIterator<Item = &'a String>,
    scheme: Scheme,
    pointer: &str,
) -> Vec<crate::error::Violation> {
    names
        .into_iter()
        .filter_map(|name| {
            let lower = name.to_ascii_lowercase();
            let reason = if FRAMING_HEADERS.contains(&lower.as_str()) {
                format!(
                    "custom header {name:?} is refused: it frames or routes the request, which the sender sets itself"
                )
            } else if scheme.sets(name) {
                format!("custom header {name:?} is refused: the signature headers are the sender's")
            } else {
                return None;
            };
            let escaped = name.replace('~', "~0").replace('/', "~1");
            Some(crate::error::Violation::body(
                format!("{pointer}/{escaped}"),
                reason,
            ))
        })
        .collect()
}
