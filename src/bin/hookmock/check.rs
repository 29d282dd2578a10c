//! `hookmock check-receiver`: the receiver kit's command line. The cases are in
//! `hookmock::receiver`; this prints the table, the JSON or the JUnit XML, and exits 0 when every
//! case holds, 1 when one fails, 2 on a usage error.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hookmock::receiver::{CASES, Options, Report, Verdict};

use super::report::escape;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The vendor whose deliveries to send: elan, fieldnation or ingedata.
    #[arg(long, value_name = "NAME")]
    api: String,
    /// Your receiver.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The secret your receiver verifies signatures with.
    #[arg(long, value_name = "SECRET", env = "HOOKMOCK_RECEIVER_SECRET")]
    secret: String,
    /// Send only these events (repeatable; default: the vendor's whole catalogue).
    #[arg(long = "event", value_name = "NAME")]
    events: Vec<String>,
    /// Run only these cases (repeatable).
    #[arg(long = "only", value_name = "CASE", value_parser = clap::builder::PossibleValuesParser::new(CASES))]
    only: Vec<String>,
    /// Also write the results as JUnit XML, a test case per case.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The most an answer may take (10s, 500ms): past it a case fails, as the vendor would retry.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::parse_duration)]
    timeout: Duration,
    /// Draw identifiers from this seed (the same seed sends the same IDs).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Freeze the payloads' times at this RFC 3339 instant (signatures are always made now).
    #[arg(long, value_name = "TIME", value_parser = super::parse_time)]
    clock: Option<DateTime<Utc>>,
}

pub async fn run(args: CheckArgs) -> ExitCode {
    let options = Options {
        api: args.api,
        url: args.url,
        secret: args.secret,
        events: args.events,
        only: args.only,
        timeout_ms: args.timeout.as_millis().try_into().unwrap_or(u64::MAX),
    };
    let report = match hookmock::server::check_receiver(&options, args.seed, args.clock).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("hookmock check-receiver: {error}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", table(&report));
    }
    if let Some(path) = &args.junit
        && let Err(error) = std::fs::write(path, junit(&report))
    {
        eprintln!(
            "hookmock check-receiver: --junit {}: {error}",
            path.display()
        );
        return ExitCode::from(2);
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn table(report: &Report) -> String {
    let mut out = format!("{} receiver at {}\n\n", report.api, report.url);
    let _ = writeln!(
        out,
        "{:<34} {:<52} {:<8} {:<10} {:>8}  verdict",
        "case", "sent", "expected", "answered", "latency"
    );
    for case in &report.cases {
        let answered: Vec<String> = case.answered.iter().map(u16::to_string).collect();
        let answered = if answered.is_empty() {
            "-".to_owned()
        } else {
            answered.join(",")
        };
        let verdict = match case.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "n/a",
        };
        let _ = writeln!(
            out,
            "{:<34} {:<52} {:<8} {:<10} {:>6}ms  {verdict}: {}",
            case.case, case.sent, case.expected, answered, case.latency_ms, case.reason
        );
    }
    let failed = report
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .count();
    let _ = writeln!(
        out,
        "\n{}",
        if failed == 0 {
            "every case holds".to_owned()
        } else {
            format!("{failed} case(s) failed")
        }
    );
    out
}

fn junit(report: &Report) -> String {
    let failures = report
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .count();
    let skipped = report
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Skip)
        .count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuite name=\"check-receiver {}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        escape(&report.api),
        report.cases.len()
    );
    for case in &report.cases {
        let _ = write!(
            xml,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&report.api),
            escape(&case.case),
            case.latency_ms as f64 / 1000.0
        );
        match case.verdict {
            Verdict::Pass => xml.push_str("/>\n"),
            Verdict::Fail => {
                let _ = writeln!(
                    xml,
                    ">\n    <failure message=\"{}\">sent: {}; expected {}</failure>\n  </testcase>",
                    escape(&case.reason),
                    escape(&case.sent),
                    escape(&case.expected)
                );
            }
            Verdict::Skip => {
                let _ = writeln!(
                    xml,
                    ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                    escape(&case.reason)
                );
            }
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}
