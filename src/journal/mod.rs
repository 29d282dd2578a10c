//! The request journal behind `GET /__admin/requests`: every API request with the operation it
//! matched, its status and its validation verdict.
//!
//! It is bounded: past `capacity` the oldest entries are dropped and counted, so a long run or a
//! load test cannot grow it without limit. Beside it, the journals a contract gate reads: the
//! [`violations`] (requests and answers that broke their contract) and the [`coverage`] (which
//! documented answers a test run exercised).

pub mod coverage;
pub mod violations;

pub use coverage::{Coverage, CoverageReport};
pub use violations::{RequestCopy, ViolationListing, ViolationRecord, Violations};

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
