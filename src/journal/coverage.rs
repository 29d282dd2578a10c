//! Coverage behind `GET /__admin/coverage`: how often each operation answered each status, set
//! against what its document says it can answer.

use std::sync::{Mutex, PoisonError};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How often each operation answered each status: what a client's test run exercised.
#[derive(Debug, Default)]
pub struct Coverage {
    /// (API, operation ID, status) → answers. Keyed by names, not table positions: a document
    /// reloaded at run time moves the positions.
    counts: Mutex<std::collections::BTreeMap<(&'static str, &'static str, u16), u64>>,
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
    pub fn record(&self, operation: &crate::spec::Operation, status: u16) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((operation.api, operation.operation_id, status))
            .or_default() += 1;
    }

    pub fn clear(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The report over the `operations` served.
    pub fn report<'a>(
        &self,
        operations: impl Iterator<Item = &'a crate::spec::Operation>,
    ) -> CoverageReport {
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut report = Vec::new();
        for op in operations {
            let documented: Vec<String> =
                op.responses.iter().map(|r| r.status.to_owned()).collect();
            let mut exercised = std::collections::BTreeMap::new();
            let mut undocumented = std::collections::BTreeMap::new();
            let range = (op.api, op.operation_id, 0)..=(op.api, op.operation_id, u16::MAX);
            for ((_, _, status), n) in counts.range(range) {
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
