//! List answers kept while nothing changes.
//!
//! A client that polls a list (a dashboard, a test waiting for its webhook to show up, a load
//! test) asks the same question of the same records again and again. A list's answer depends
//! only on the operation, the request (tenant, host, path, query, header parameters), the
//! records and, when it shows the time (Field Nation's `metadata.timestamp`), the clock's
//! second. So it is kept until the next change of the state, or the next second, and sent again
//! as it was. Filtering, sorting, paging and the envelope are then skipped, which
//! is most of what a list costs the engine beyond what a hand-written route costs.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use chrono::{DateTime, Utc};

use super::Call;
use crate::request::Reply;
use crate::spec::ParamIn;

/// How many answers are kept per document; when full, all are dropped and kept anew (a client
/// that asks many different questions gains little from any one of them).
const KEPT: usize = 64;

#[derive(Debug, Default)]
pub struct KeptLists {
    answers: RwLock<HashMap<ListKey, Kept>>,
}

/// What a list's answer depends on besides the records.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ListKey {
    /// The operation's address: operations live as long as the process, and a reloaded
    /// document has new ones.
    operation: usize,
    /// Tenant, host, path, query and the header parameters sent (`name=value`), one per line.
    request: String,
}

#[derive(Debug)]
struct Kept {
    /// The state's change count the answer was made at.
    changes: u64,
    /// The time it shows, if it shows one.
    at: Option<DateTime<Utc>>,
    status: axum::http::StatusCode,
    body: Option<Vec<u8>>,
}

impl ListKey {
    pub fn of(call: &Call<'_>) -> Self {
        let request = &call.request;
        let host = request
            .host
            .as_ref()
            .map(|h| h.as_bytes())
            .unwrap_or_default();
        let mut text =
            String::with_capacity(request.tenant.len() + host.len() + request.path.len() + 64);
        for part in [
            request.tenant.as_str(),
            &String::from_utf8_lossy(host),
            &request.path,
            request.query.as_deref().unwrap_or_default(),
        ] {
            text.push_str(part);
            text.push('\n');
        }
        let headers = call
            .operation
            .params
            .iter()
            .filter(|p| p.location == ParamIn::Header);
        // Named: with one of two header parameters absent, values alone could not tell which.
        for param in headers {
            if let Some(value) = request.param(param.name) {
                text.push_str(param.name);
                text.push('=');
                text.push_str(&value.to_string());
                text.push('\n');
            }
        }
        Self {
            operation: std::ptr::from_ref(request.operation) as usize,
            request: text,
        }
    }
}

impl KeptLists {
    /// The answer kept for `key` when the state has not changed since (`changes`) and, if it
    /// shows the time, it is still that time (`now`, in the clock's whole seconds).
    pub fn get(
        &self,
        key: &ListKey,
        changes: u64,
        now: impl FnOnce() -> DateTime<Utc>,
    ) -> Option<Reply> {
        let answers = self.answers.read().unwrap_or_else(PoisonError::into_inner);
        let kept = answers.get(key).filter(|kept| kept.changes == changes)?;
        if kept.at.is_some_and(|at| at != now()) {
            return None;
        }
        Some(Reply {
            status: kept.status,
            body: kept.body.clone(),
        })
    }

    /// Keeps `reply` as the answer to `key` at `changes`, showing the time `at` if any.
    pub fn keep(&self, key: ListKey, changes: u64, at: Option<DateTime<Utc>>, reply: &Reply) {
        let mut answers = self.answers.write().unwrap_or_else(PoisonError::into_inner);
        if answers.len() >= KEPT && !answers.contains_key(&key) {
            answers.clear();
        }
        let kept = Kept {
            changes,
            at,
            status: reply.status,
            body: reply.body.clone(),
        };
        answers.insert(key, kept);
    }

    /// Drops every kept answer (the document's schemas were compiled anew).
    pub fn forget(&self) {
        self.answers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
