//! `hookmock violations` and `hookmock coverage`: what a CI job runs after its tests, against a
//! running server. `violations` exits 1 when the client broke a contract, and can write JUnit XML
//! (one test case per operation exercised, a failure per violation) for CI systems to show.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use hookmock::journal::{CoverageReport, ViolationListing, ViolationRecord};
use serde::de::DeserializeOwned;

use super::ReportArgs;

async fn fetch<T: DeserializeOwned>(args: &ReportArgs, path: &str) -> Result<T, String> {
    get_json(
        &hookmock::wire::client(),
        &args.url,
        path,
        args.admin_token.as_deref(),
    )
    .await
}

/// `GET <base><path>` with the admin token, as JSON; a message that says what went wrong.
pub async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
) -> Result<T, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut request = client.get(&url).timeout(std::time::Duration::from_secs(5));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "{url} answered {status}: {}",
            response.text().await.unwrap_or_default()
        ));
    }
    response
        .json()
        .await
        .map_err(|e| format!("{url}: unexpected answer: {e}"))
}

fn operation_of(record: &ViolationRecord) -> String {
    match (&record.api, &record.operation) {
        (Some(api), Some(op)) => format!("{api}.{op}"),
        _ => "(no operation)".to_owned(),
    }
}

pub async fn violations(args: ReportArgs, junit: Option<std::path::PathBuf>) -> ExitCode {
    let (listing, coverage) = match (
        fetch::<ViolationListing>(&args, "/__admin/violations").await,
        fetch::<CoverageReport>(&args, "/__admin/coverage").await,
    ) {
        (Ok(listing), Ok(coverage)) => (listing, coverage),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("hookmock violations: {e}");
            return ExitCode::from(2);
        }
    };
    let mut by_operation: BTreeMap<String, Vec<&ViolationRecord>> = BTreeMap::new();
    for record in &listing.violations {
        by_operation
            .entry(operation_of(record))
            .or_default()
            .push(record);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&by_operation).unwrap_or_default()
        );
    } else {
        print!("{}", text(&by_operation, &listing));
    }
    if let Some(path) = junit
        && let Err(e) = std::fs::write(&path, junit_xml(&coverage, &by_operation))
    {
        eprintln!("hookmock violations: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    if listing.recorded == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn text(
    by_operation: &BTreeMap<String, Vec<&ViolationRecord>>,
    listing: &ViolationListing,
) -> String {
    if listing.recorded == 0 {
        return "no contract violations\n".to_owned();
    }
    let mut out = format!("{} request(s) broke their contract", listing.recorded);
    if listing.dropped > 0 {
        write!(out, " ({} oldest no longer kept)", listing.dropped).ok();
    }
    out.push('\n');
    for (operation, records) in by_operation {
        writeln!(out, "\n{operation}: {} violating request(s)", records.len()).ok();
        for record in records {
            let query = record
                .request
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {}{query} → {} ({})",
                record.request.method, record.request.path, record.status, record.source
            )
            .ok();
            for v in &record.violations {
                let detail = match (&v.expected, &v.found) {
                    (Some(expected), Some(found)) => format!(" expected {expected}, found {found}"),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "    {} [{}]{detail}: {}",
                    v.location, v.rule, v.message
                )
                .ok();
            }
        }
    }
    out
}

fn junit_xml(
    coverage: &CoverageReport,
    by_operation: &BTreeMap<String, Vec<&ViolationRecord>>,
) -> String {
    let mut suites: BTreeMap<String, Vec<(String, Vec<&ViolationRecord>)>> = BTreeMap::new();
    for op in coverage.operations.iter().filter(|o| o.requests > 0) {
        let key = format!("{}.{}", op.api, op.operation);
        let records = by_operation.get(&key).cloned().unwrap_or_default();
        suites
            .entry(op.api.clone())
            .or_default()
            .push((op.operation.clone(), records));
    }
    let failures = |cases: &[(String, Vec<&ViolationRecord>)]| {
        cases
            .iter()
            .map(|(_, r)| r.iter().map(|r| r.violations.len()).sum::<usize>())
            .sum::<usize>()
    };
    let (tests, total_failures): (usize, usize) = suites.values().fold((0, 0), |(t, f), cases| {
        (t + cases.len(), f + failures(cases))
    });
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hookmock contract\" tests=\"{tests}\" failures=\"{total_failures}\">\n"
    );
    for (api, cases) in &suites {
        writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
            escape(api),
            cases.len(),
            failures(cases)
        )
        .ok();
        for (operation, records) in cases {
            writeln!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}\">",
                escape(api),
                escape(operation)
            )
            .ok();
            for record in records {
                for v in &record.violations {
                    let text = format!(
                        "{} {} → {}: {} [{}]",
                        record.request.method,
                        record.request.path,
                        record.status,
                        v.location,
                        v.rule
                    );
                    writeln!(
                        xml,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        escape(&v.message),
                        escape(&v.rule),
                        escape(&text)
                    )
                    .ok();
                }
            }
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn coverage(args: ReportArgs) -> ExitCode {
    let report = match fetch::<CoverageReport>(&args, "/__admin/coverage").await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("hookmock coverage: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "operations exercised: {}/{}; documented responses exercised: {}/{}\n",
        report.operations_exercised,
        report.operations_total,
        report.responses_exercised,
        report.responses_documented
    );
    println!("| API | operation | requests | responses exercised | missing | undocumented |");
    println!("| --- | --- | ---: | --- | --- | --- |");
    for op in &report.operations {
        let exercised: Vec<String> = op
            .exercised
            .iter()
            .map(|(code, n)| format!("{code}×{n}"))
            .collect();
        let undocumented: Vec<String> = op
            .undocumented
            .iter()
            .map(|(code, n)| format!("{code}×{n}"))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            op.api,
            op.operation,
            op.requests,
            exercised.join(" "),
            op.missing.join(" "),
            undocumented.join(" ")
        );
    }
    ExitCode::SUCCESS
}
