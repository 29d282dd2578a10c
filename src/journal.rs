//! The request journal behind `GET /__admin/requests`: every API request with the operation it
//! matched, its status and its validation verdict.
//!
//! It is bounded: past `capacity` the oldest entries are dropped and counted, so a long run or a
//! load test cannot grow it without limit.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Violation;
use crate::wire::mask;

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// What validation said of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It matched an operation and passed its contract.
    Valid,
    /// It matched an operation and broke its contract (violations say where).
    Invalid,
    /// It matched no operation (unknown path, or a method the path does not have).
    Unmatched,
    /// It was refused before validation: no or an unknown credential.
    Unauthenticated,
}

/// One contract violation, as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ViolationEntry {
    /// A JSON pointer into the body, or `query:NAME`, `path:NAME`, `header:NAME`, `status`.
    pub location: String,
    /// The rule broken: a JSON Schema keyword, or `vendor`, `media-type`, `json`, `max-body`, ….
    pub rule: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    pub message: String,
}

impl From<&Violation> for ViolationEntry {
    fn from(v: &Violation) -> Self {
        use crate::error::Location;
        let location = match &v.location {
            Location::Body(pointer) => pointer.clone(),
            Location::Path(name) => format!("path:{name}"),
            Location::Query(name) => format!("query:{name}"),
            Location::Header(name) => format!("header:{name}"),
            Location::Status => "status".to_owned(),
        };
        Self {
            location,
            rule: v.rule.clone(),
            expected: v.expected.clone(),
            found: v.found.clone(),
            message: v.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Entry {
    /// Sequential, from 1.
    pub id: u64,
    /// RFC 3339. Kept as a time and written only when listed, like the masked tenant: a
    /// request pays for what the journal keeps, not for how it is shown.
    #[serde(serialize_with = "crate::clock::serialize")]
    #[schemars(with = "String")]
    pub time: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub api: Option<&'static str>,
    pub operation: Option<&'static str>,
    /// The credential, shown masked: its first four characters and its length.
    #[serde(serialize_with = "serialize_masked")]
    #[schemars(with = "Option<String>")]
    pub tenant: Option<String>,
    pub status: u16,
    pub duration_us: u64,
    pub verdict: Verdict,
    /// Where the request broke its contract.
    pub violations: Vec<ViolationEntry>,
    /// Where the answer broke its contract (only with `--validate-responses`).
    pub response_violations: Vec<ViolationEntry>,
}

fn serialize_masked<S: serde::Serializer>(
    tenant: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match tenant {
        Some(credential) => s.serialize_some(&mask(credential)),
        None => s.serialize_none(),
    }
}

/// Which entries to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub api: Option<String>,
    pub operation: Option<String>,
    pub tenant: Option<String>,
    pub verdict: Option<Verdict>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Listing {
    /// Entries recorded since start (or the last clear), dropped ones included.
    pub recorded: u64,
    /// Entries dropped because the journal was full.
    pub dropped: u64,
    /// Answers that broke their contract (with `--validate-responses`), dropped ones included.
    pub response_violations: u64,
    /// Matching entries, newest first.
    pub requests: Vec<Entry>,
}

#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Entry>,
    recorded: u64,
    dropped: u64,
    response_violations: u64,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records `entry`, giving it the next ID.
    pub fn record(&self, mut entry: Entry) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.recorded += 1;
        entry.id = inner.recorded;
        if !entry.response_violations.is_empty() {
            inner.response_violations += 1;
        }
        if self.capacity == 0 {
            inner.dropped += 1;
            return;
        }
        if inner.entries.len() == self.capacity {
            inner.entries.pop_front();
            inner.dropped += 1;
        }
        inner.entries.push_back(entry);
    }

    pub fn list(&self, filter: &Filter) -> Listing {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|want| Some(want) == have)
        };
        let requests = inner
            .entries
            .iter()
            .rev()
            .filter(|e| same(&filter.api, e.api) && same(&filter.operation, e.operation))
            .filter(|e| same(&filter.tenant, e.tenant.as_deref()))
            .filter(|e| filter.verdict.is_none_or(|v| v == e.verdict))
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        Listing {
            recorded: inner.recorded,
            dropped: inner.dropped,
            response_violations: inner.response_violations,
            requests,
        }
    }
}

/// A request as the violations journal keeps it: credentials and signatures masked.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RequestCopy {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<crate::wire::Header>,
    /// The body as text (lossy when not UTF-8), at most 64 KiB.
    pub body: Option<String>,
}

/// Headers whose values are secrets: masked wherever requests are kept. `name` is lower case,
/// as `HeaderMap` keeps names.
fn is_secret_header(name: &str) -> bool {
    const SECRET: [&[u8]; 7] = [
        b"authorization",
        b"cookie",
        b"token",
        b"secret",
        b"signature",
        b"api-key",
        b"hmac",
    ];
    // A plain window scan: header names are short, and `str::contains` sets up a Two-Way
    // searcher per call, which made masking the costliest part of keeping a violation.
    SECRET.iter().any(|secret| {
        name.as_bytes()
            .windows(secret.len())
            .any(|window| window == *secret)
    })
}

impl RequestCopy {
    pub fn new(
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &axum::http::HeaderMap,
        body: Option<&[u8]>,
    ) -> Self {
        const KEPT: usize = 64 * 1024;
        let headers = headers
            .iter()
            .map(|(name, value)| {
                let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
                let value = if is_secret_header(name.as_str()) {
                    mask(&text)
                } else {
                    text
                };
                crate::wire::Header {
                    name: name.as_str().to_owned(),
                    value,
                }
            })
            .collect();
        let body = body
            .filter(|b| !b.is_empty())
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(KEPT)]).into_owned());
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers,
            body,
        }
    }
}

/// One request, or one answer, that broke its contract (`GET /__admin/violations`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ViolationRecord {
    pub id: u64,
    pub time: String,
    pub api: Option<String>,
    pub operation: Option<String>,
    pub tenant: Option<String>,
    /// `request`: the client broke the contract; `response`: hookmock's answer did
    /// (`--validate-responses`).
    pub source: String,
    pub status: u16,
    pub request: RequestCopy,
    pub violations: Vec<ViolationEntry>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ViolationListing {
    pub recorded: u64,
    pub dropped: u64,
    /// Oldest first.
    pub violations: Vec<ViolationRecord>,
}

/// The violations journal: bounded like the request journal, and cleared by the CI job.
#[derive(Debug)]
pub struct Violations {
    capacity: usize,
    inner: Mutex<(u64, u64, VecDeque<ViolationRecord>)>,
}

impl Violations {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new((0, 0, VecDeque::new())),
        }
    }

    pub fn record(&self, mut record: ViolationRecord) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.0 += 1;
        record.id = inner.0;
        if inner.2.len() >= self.capacity {
            inner.2.pop_front();
            inner.1 += 1;
        }
        if self.capacity > 0 {
            inner.2.push_back(record);
        }
    }

    pub fn list(&self) -> ViolationListing {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        ViolationListing {
            recorded: inner.0,
            dropped: inner.1,
            violations: inner.2.iter().cloned().collect(),
        }
    }

    /// Forgets them all; answers how many were kept.
    pub fn clear(&self) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = inner.2.len();
        *inner = (0, 0, VecDeque::new());
        kept
    }
}

/// How often each operation answered each status: what a client's test run exercised.
#[derive(Debug, Default)]
pub struct Coverage {
    counts: Mutex<std::collections::BTreeMap<(usize, u16), u64>>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CoverageReport {
    pub operations_total: usize,
    pub operations_exercised: usize,
    pub responses_documented: usize,
    pub responses_exercised: usize,
    pub operations: Vec<OperationCoverage>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OperationCoverage {
    pub api: String,
    pub operation: String,
    pub method: String,
    pub path: String,
    pub requests: u64,
    /// The documented response codes (`200`, `4XX`, `default`).
    pub documented: Vec<String>,
    /// Documented codes answered, with how often.
    pub exercised: std::collections::BTreeMap<String, u64>,
    /// Documented codes never answered.
    pub missing: Vec<String>,
    /// Statuses answered that the document does not list (401, 413, …), with how often.
    pub undocumented: std::collections::BTreeMap<String, u64>,
}

impl Coverage {
    pub fn record(&self, operation: usize, status: u16) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((operation, status))
            .or_default() += 1;
    }

    pub fn clear(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The report over `operations` (the route table; indices as recorded).
    pub fn report(
        &self,
        operations: &[crate::spec::Operation],
        serves: impl Fn(&str) -> bool,
    ) -> CoverageReport {
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut report = Vec::new();
        for (index, op) in operations
            .iter()
            .enumerate()
            .filter(|(_, op)| serves(op.api))
        {
            let documented: Vec<String> =
                op.responses.iter().map(|r| r.status.to_owned()).collect();
            let mut exercised = std::collections::BTreeMap::new();
            let mut undocumented = std::collections::BTreeMap::new();
            for ((_, status), n) in counts.range((index, 0)..=(index, u16::MAX)) {
                match documented_code(&documented, *status) {
                    Some(code) => *exercised.entry(code).or_default() += n,
                    None => *undocumented.entry(status.to_string()).or_default() += n,
                }
            }
            let missing = documented
                .iter()
                .filter(|c| !exercised.contains_key(*c))
                .cloned()
                .collect();
            report.push(OperationCoverage {
                api: op.api.to_owned(),
                operation: op.operation_id.to_owned(),
                method: op.method.to_owned(),
                path: op.path.to_owned(),
                requests: exercised.values().chain(undocumented.values()).sum(),
                documented,
                exercised,
                missing,
                undocumented,
            });
        }
        CoverageReport {
            operations_total: report.len(),
            operations_exercised: report.iter().filter(|o| o.requests > 0).count(),
            responses_documented: report.iter().map(|o| o.documented.len()).sum(),
            responses_exercised: report.iter().map(|o| o.exercised.len()).sum(),
            operations: report,
        }
    }
}

/// The documented code a status counts for: itself, its range (`4XX`), or `default`.
fn documented_code(documented: &[String], status: u16) -> Option<String> {
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    [exact, range, "default".to_owned()]
        .into_iter()
        .find(|c| documented.iter().any(|d| d.eq_ignore_ascii_case(c)))
}
