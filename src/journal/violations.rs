//! The violations journal behind `GET /__admin/violations`: every request, and every answer
//! with `--validate-responses`, that broke its contract, with a masked copy of the request.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::journal::ViolationEntry;
use crate::wire::mask;

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
