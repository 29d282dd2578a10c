//! The request journal behind `GET /__admin/requests`: every API request with the operation it
//! matched, its status and its validation verdict.
//!
//! It is bounded: past `capacity` the oldest entries are dropped and counted, so a long run or a
//! load test cannot grow it without limit.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Violation;

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
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ViolationEntry {
    /// A JSON pointer into the body, or `query:NAME`, `path:NAME`, `header:NAME`, `status`.
    pub location: String,
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
            message: v.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Entry {
    /// Sequential, from 1.
    pub id: u64,
    /// RFC 3339.
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub api: Option<String>,
    pub operation: Option<String>,
    /// The credential, masked: its first four characters and its length.
    pub tenant: Option<String>,
    pub status: u16,
    pub duration_us: u64,
    pub verdict: Verdict,
    /// Where the request broke its contract.
    pub violations: Vec<ViolationEntry>,
    /// Where the answer broke its contract (only with `--validate-responses`).
    pub response_violations: Vec<ViolationEntry>,
    /// The unmasked credential, for filtering; never shown.
    #[serde(skip)]
    #[schemars(skip)]
    pub tenant_key: Option<String>,
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
        let same = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
        let requests = inner
            .entries
            .iter()
            .rev()
            .filter(|e| same(&filter.api, &e.api) && same(&filter.operation, &e.operation))
            .filter(|e| same(&filter.tenant, &e.tenant_key))
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

/// `abcd…(12)`: enough to tell tenants apart in a listing, not enough to use the credential.
pub fn mask(credential: &str) -> String {
    let shown: String = credential.chars().take(4).collect();
    format!("{shown}…({})", credential.chars().count())
}

/// A Patchworks flow started by a call to one of its trigger URLs (`GET /__admin/flow-runs`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FlowRun {
    /// Sequential, from 1.
    pub id: u64,
    pub flow_id: u64,
    /// `webhook` or `callback`.
    pub trigger: String,
    pub trigger_id: u64,
    /// The tenant, masked like the request journal's.
    pub tenant: String,
    pub received_at: String,
    pub content_type: Option<String>,
    /// The body as received: text when it is UTF-8, else base64 (see `body_encoding`).
    pub body: String,
    /// `utf8` or `base64`.
    pub body_encoding: String,
}

/// The flow runs started so far, the newest `capacity` of them.
#[derive(Debug)]
pub struct FlowRuns {
    capacity: usize,
    runs: Mutex<(u64, VecDeque<FlowRun>)>,
}

impl FlowRuns {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            runs: Mutex::new((0, VecDeque::new())),
        }
    }

    /// Records `run` with the next ID, which it answers.
    pub fn record(&self, mut run: FlowRun) -> u64 {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.0 += 1;
        run.id = runs.0;
        if runs.1.len() == self.capacity {
            runs.1.pop_front();
        }
        runs.1.push_back(run);
        runs.0
    }

    /// Newest first.
    pub fn list(&self) -> Vec<FlowRun> {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .iter()
            .rev()
            .cloned()
            .collect()
    }
}
