//! `hookmock check-receiver`: grades a team's webhook receiver the way the vendor will treat it.
//!
//! Every delivery is the vendor's own: its payload comes from the vendor module
//! ([`Emitter::probe`], the code that builds real deliveries) and its headers from
//! [`delivery::request_headers`], the one place deliveries are stamped and signed. The hostile
//! variants change one thing each (a byte of the body, the secret, the signature header, the
//! signing time) so a failure names exactly what the receiver let through.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::Context;
use crate::delivery::{self, Emitter, Emitters, Message};
use crate::signing::Scheme;

/// How far outside the signing tolerance the stale and future deliveries are signed: twice
/// the five minutes Standard Webhooks' libraries allow.
const SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// The size of the large payload's padding: a work order's long notes.
const LARGE: usize = 256 * 1024;

/// Every case, in the order they run; `--only` takes these names (`events` for every event).
pub const CASES: &[&str] = &[
    "events",
    "duplicate",
    "out-of-order",
    "unknown-event",
    "tampered-body",
    "wrong-secret",
    "missing-signature",
    "malformed-signature",
    "stale-timestamp",
    "future-timestamp",
    "large-payload",
];

/// What to check, as `check-receiver`'s options and `POST /__admin/check-receiver`'s body say.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub api: String,
    pub url: String,
    pub secret: String,
    /// Events to send (default: the vendor's whole catalogue).
    #[serde(default)]
    pub events: Vec<String>,
    /// Cases to run (default: all).
    #[serde(default)]
    pub only: Vec<String>,
    /// The most an answer may take, in milliseconds (default 10,000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    10_000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not applicable to this vendor's signing.
    Skip,
}

/// One case's outcome.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    pub case: String,
    /// What was sent, in a few words.
    pub sent: String,
    /// What a correct receiver answers (`2xx`, `4xx`).
    pub expected: String,
    /// The statuses answered, in order (none when no answer came).
    pub answered: Vec<u16>,
    pub latency_ms: u64,
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub api: String,
    pub url: String,
    pub passed: bool,
    pub cases: Vec<Outcome>,
}

/// A request that cannot be checked: a usage error.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("unknown API {api:?}; APIs that send webhooks: {known}")]
    UnknownApi { api: String, known: String },
    #[error("{api} has no event {event:?}; its events: {known}")]
    UnknownEvent {
        api: String,
        event: String,
        known: String,
    },
    #[error("unknown case {0:?}; cases: {known}", known = CASES.join(", "))]
    UnknownCase(String),
    #[error("--url {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("{0}")]
    Probe(String),
}

/// Runs the cases `options` ask for against the receiver.
pub async fn check(
    emitters: &Emitters,
    options: &Options,
    context: &Context,
) -> Result<Report, CheckError> {
    let emitter = emitters
        .get(&options.api)
        .ok_or_else(|| CheckError::UnknownApi {
            api: options.api.clone(),
            known: emitters.names().join(", "),
        })?;
    let catalogue = emitter.events();
    for event in &options.events {
        if !catalogue.contains(event) {
            return Err(CheckError::UnknownEvent {
                api: options.api.clone(),
                event: event.clone(),
                known: catalogue.join(", "),
            });
        }
    }
    if let Some(unknown) = options.only.iter().find(|c| !CASES.contains(&c.as_str())) {
        return Err(CheckError::UnknownCase(unknown.clone()));
    }
    if !(options.url.starts_with("http://") || options.url.starts_with("https://")) {
        return Err(CheckError::BadUrl(options.url.clone()));
    }
    let events = if options.events.is_empty() {
        catalogue.clone()
    } else {
        options.events.clone()
    };
    // A later event before an earlier one: of the events chosen, or of the catalogue.
    let first = events.first().cloned().unwrap_or_default();
    let later = events
        .iter()
        .rev()
        .chain(catalogue.iter().rev())
        .find(|e| **e != first)
        .cloned()
        .unwrap_or_else(|| first.clone());
    let run = Run {
        emitter,
        options,
        context,
        client: crate::wire::client_builder()
            .timeout(Duration::from_millis(options.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default(),
    };
    let mut cases = Vec::new();
    for case in CASES.iter().filter(|c| run.wanted(c)) {
        match *case {
            "events" => {
                for event in &events {
                    cases.push(run.event(event).await?);
                }
            }
            other => cases.push(run.case(other, &first, &later).await?),
        }
    }
    Ok(Report {
        api: options.api.clone(),
        url: options.url.clone(),
        passed: cases.iter().all(|c| c.verdict != Verdict::Fail),
        cases,
    })
}

/// One delivery as it goes on the wire.
struct Wire {
    message: Message,
    /// The delivery's ID (the same on a retry).
    id: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct Run<'a> {
    emitter: &'a dyn Emitter,
    options: &'a Options,
    context: &'a Context,
    client: reqwest::Client,
}

/// What a correct receiver does with a case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Accept,
    Reject,
}

impl Run<'_> {
    fn wanted(&self, case: &str) -> bool {
        self.options.only.is_empty() || self.options.only.iter().any(|c| c == case)
    }

    /// The vendor's delivery of `event` (with `data`), signed now (or `at`).
    fn delivery(&self, event: &str, data: &Value, at: DateTime<Utc>) -> Result<Wire, CheckError> {
        let message = self
            .emitter
            .probe(event, data, &self.options.url, &self.options.secret)
            .map_err(CheckError::Probe)?;
        Ok(self.wire(message, at))
    }

    fn wire(&self, message: Message, at: DateTime<Utc>) -> Wire {
        let id = format!("chk_{}", self.context.hex(16));
        let headers = delivery::request_headers(&message, &id, 1, at);
        let body = message.body.clone();
        Wire {
            message,
            id,
            headers,
            body,
        }
    }

    fn scheme(&self, wire: &Wire) -> Option<Scheme> {
        wire.message.signing.as_ref().map(|(scheme, _)| *scheme)
    }

    async fn event(&self, event: &str) -> Result<Outcome, CheckError> {
        let wire = self.delivery(event, &json!({}), Utc::now())?;
        let sent = format!("{event}, signed");
        Ok(self
            .grade(&format!("event {event}"), sent, Expect::Accept, &[wire])
            .await)
    }

    async fn case(&self, case: &str, first: &str, last: &str) -> Result<Outcome, CheckError> {
        let now = Utc::now();
        let base = self.delivery(first, &json!({}), now)?;
        let scheme = self.scheme(&base);
        let (sent, expect, wires): (String, Expect, Vec<Wire>) = match case {
            "duplicate" => {
                let again = self.resend(&base);
                (
                    "the same delivery twice (same ID)".to_owned(),
                    Expect::Accept,
                    vec![base, again],
                )
            }
            "out-of-order" => {
                let later = self.delivery(last, &json!({}), now)?;
                (
                    format!("{last}, then {first}"),
                    Expect::Accept,
                    vec![later, base],
                )
            }
            "unknown-event" => {
                let unknown = self.delivery("hookmock.unknown_event", &json!({}), now)?;
                (
                    "an event not in the catalogue, signed".to_owned(),
                    Expect::Accept,
                    vec![unknown],
                )
            }
            "large-payload" => {
                let half = "n".repeat(LARGE / 2);
                let data = json!({"params": {"notes": half}, "workorder": {"notes": half}});
                let large = self.delivery(first, &data, now)?;
                let size = large.body.len() / 1024;
                (
                    format!("{first}, {size} KiB, signed"),
                    Expect::Accept,
                    vec![large],
                )
            }
            "tampered-body" => {
                let mut tampered = base;
                change_one_byte(&mut tampered.body);
                (
                    "one byte of the body changed, the signature kept".to_owned(),
                    Expect::Reject,
                    vec![tampered],
                )
            }
            _ if scheme.is_none() => {
                return Ok(skipped(
                    case,
                    "the vendor does not sign this subscription's deliveries",
                ));
            }
            "wrong-secret" => {
                let mut message = base.message;
                if let Some((_, secret)) = &mut message.signing {
                    *secret = other_secret(secret, self.context);
                }
                (
                    "signed with another secret".to_owned(),
                    Expect::Reject,
                    vec![self.wire(message, now)],
                )
            }
            "missing-signature" if !self.emitter.always_signs() => {
                return Ok(skipped(
                    case,
                    "the vendor sends unsigned deliveries too (subscriptions without a secret)",
                ));
            }
            "missing-signature" => {
                let mut unsigned = base;
                if let Some(scheme) = scheme {
                    let signature = scheme.signature_header();
                    unsigned
                        .headers
                        .retain(|(name, _)| !name.eq_ignore_ascii_case(signature));
                }
                (
                    "the signature header removed".to_owned(),
                    Expect::Reject,
                    vec![unsigned],
                )
            }
            "malformed-signature" => {
                let mut malformed = base;
                if let Some(scheme) = scheme {
                    let header = scheme.signature_header();
                    malformed
                        .headers
                        .retain(|(name, _)| !name.eq_ignore_ascii_case(header));
                    malformed
                        .headers
                        .push((header.to_owned(), scheme.malformed().to_owned()));
                }
                (
                    "a signature header that does not parse".to_owned(),
                    Expect::Reject,
                    vec![malformed],
                )
            }
            "stale-timestamp" | "future-timestamp"
                if !scheme.is_some_and(Scheme::covers_timestamp) =>
            {
                return Ok(skipped(case, "the signature does not cover a timestamp"));
            }
            "stale-timestamp" => {
                let stale = self.wire(base.message, now - SKEW);
                (
                    "signed 10 minutes ago".to_owned(),
                    Expect::Reject,
                    vec![stale],
                )
            }
            _ => {
                let future = self.wire(base.message, now + SKEW);
                (
                    "signed 10 minutes from now".to_owned(),
                    Expect::Reject,
                    vec![future],
                )
            }
        };
        Ok(self.grade(case, sent, expect, &wires).await)
    }

    /// The same delivery again, as a vendor's retry sends it: the same message and delivery
    /// ID, its second attempt, signed anew.
    fn resend(&self, wire: &Wire) -> Wire {
        Wire {
            message: wire.message.clone(),
            id: wire.id.clone(),
            headers: delivery::request_headers(&wire.message, &wire.id, 2, Utc::now()),
            body: wire.body.clone(),
        }
    }

    /// Sends `wires` in order and grades the answers together.
    async fn grade(&self, case: &str, sent: String, expect: Expect, wires: &[Wire]) -> Outcome {
        let started = Instant::now();
        let mut answered = Vec::new();
        let mut failure = None;
        for wire in wires {
            match self.send(wire).await {
                Ok(status) => answered.push(status),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let latency_ms = started.elapsed().as_millis().try_into().unwrap_or(u64::MAX);
        let (verdict, reason) = match (failure, expect) {
            (Some(error), _) => (Verdict::Fail, error),
            (None, Expect::Accept) => match answered.iter().find(|s| !(200..300).contains(*s)) {
                None => (Verdict::Pass, "accepted".to_owned()),
                Some(status) => (
                    Verdict::Fail,
                    format!(
                        "answered {status}: a valid delivery must get a 2xx, or the vendor retries it"
                    ),
                ),
            },
            (None, Expect::Reject) => match answered.last().copied().unwrap_or(0) {
                400..=499 => (Verdict::Pass, "rejected".to_owned()),
                status @ 200..=299 => (
                    Verdict::Fail,
                    format!("answered {status}: accepted a delivery it cannot trust"),
                ),
                status @ 500..=599 => (
                    Verdict::Fail,
                    format!(
                        "answered {status}: a bad signature is the sender's fault (4xx), not a crash"
                    ),
                ),
                status => (Verdict::Fail, format!("answered {status}: expected a 4xx")),
            },
        };
        Outcome {
            case: case.to_owned(),
            sent,
            expected: match expect {
                Expect::Accept => "2xx",
                Expect::Reject => "4xx",
            }
            .to_owned(),
            answered,
            latency_ms,
            verdict,
            reason,
        }
    }

    async fn send(&self, wire: &Wire) -> Result<u16, String> {
        let mut request = self
            .client
            .request(wire.message.method.clone(), &wire.message.url)
            .body(wire.body.clone());
        for (name, value) in &wire.headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) if e.is_timeout() => Err(format!(
                "no answer within {} ms (the vendor gives up and retries)",
                self.options.timeout_ms
            )),
            Err(e) => {
                let causes: Vec<String> =
                    std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
                        .map(ToString::to_string)
                        .collect();
                Err(format!("not delivered: {}", causes.join(": ")))
            }
        }
    }
}

fn skipped(case: &str, reason: &str) -> Outcome {
    Outcome {
        case: case.to_owned(),
        sent: "-".to_owned(),
        expected: "-".to_owned(),
        answered: Vec::new(),
        latency_ms: 0,
        verdict: Verdict::Skip,
        reason: reason.to_owned(),
    }
}

/// Changes one byte in the middle of the body, keeping it JSON: a letter or digit becomes
/// another.
fn change_one_byte(body: &mut [u8]) {
    let middle = body.len() / 2;
    let at = (middle..body.len())
        .chain(0..middle)
        .find(|i| body.get(*i).is_some_and(u8::is_ascii_alphanumeric));
    if let Some(byte) = at.and_then(|i| body.get_mut(i)) {
        *byte = match *byte {
            b'9' => b'0',
            b'z' => b'a',
            b'Z' => b'A',
            other => other + 1,
        };
    }
}

/// A secret of the same kind as `secret` that is not it.
fn other_secret(secret: &str, context: &Context) -> String {
    if secret.starts_with("whsec_") {
        context.webhook_secret()
    } else {
        format!("{secret}-not")
    }
}
