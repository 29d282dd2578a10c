//! Patchworks flow runs: what a call to a trigger URL starts (`GET /__admin/flow-runs`). hookmock
//! runs no flows; it keeps what started them, for a test to read.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use schemars::JsonSchema;
use serde::Serialize;

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
