//! `hookmock received`: the step a CI job runs after its tests. It asks a recorder until enough
//! matching webhooks have arrived (exit 0), or the time is up (exit 1, with a report of what did
//! arrive, so the failure explains itself).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hookmock::recorder::Record;

use super::ReceivedArgs;
use crate::report::get_json;

/// How often the recorder is asked.
const POLL: Duration = Duration::from_millis(200);

pub async fn run(args: ReceivedArgs) -> ExitCode {
    let client = hookmock::wire::client();
    let deadline = Instant::now() + args.timeout;
    let last = loop {
        let last = fetch(&client, &args).await;
        if let Ok(records) = &last
            && matching(records, &args).len() >= args.wait
        {
            break last;
        }
        if Instant::now() + POLL > deadline {
            return report_failure(&args, &last);
        }
        tokio::time::sleep(POLL).await;
    };
    let records = last.unwrap_or_default();
    let found = matching(&records, &args);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&found).unwrap_or_default()
        );
    } else {
        println!(
            "ok: {} matching webhook(s) at {} ({})",
            found.len(),
            args.url,
            describe(&args)
        );
    }
    ExitCode::SUCCESS
}

async fn fetch(client: &reqwest::Client, args: &ReceivedArgs) -> Result<Vec<Record>, String> {
    get_json(
        client,
        &args.url,
        "/__admin/received",
        args.admin_token.as_deref(),
    )
    .await
}

fn matching<'a>(records: &'a [Record], args: &ReceivedArgs) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| {
            args.event
                .as_deref()
                .is_none_or(|e| r.event_type.as_deref() == Some(e))
        })
        .filter(|r| !args.verified || r.signature.name() == "verified")
        .collect()
}

fn describe(args: &ReceivedArgs) -> String {
    let event = args
        .event
        .as_deref()
        .map(|e| format!("event {e}"))
        .unwrap_or_else(|| "any event".to_owned());
    let signature = if args.verified {
        ", verified signature"
    } else {
        ""
    };
    format!("{event}{signature}")
}

fn report_failure(args: &ReceivedArgs, last: &Result<Vec<Record>, String>) -> ExitCode {
    let wanted = format!("{} webhook(s) with {}", args.wait, describe(args));
    match last {
        Err(reason) => eprintln!(
            "hookmock received: wanted {wanted} within {:?}, but {reason}",
            args.timeout
        ),
        Ok(records) => {
            let found = matching(records, args).len();
            eprintln!(
                "hookmock received: wanted {wanted} within {:?}; {found} matched. What arrived ({}):",
                args.timeout,
                records.len()
            );
            let mut by_kind: BTreeMap<(String, String), usize> = BTreeMap::new();
            for r in records {
                let kind = (
                    r.event_type
                        .clone()
                        .unwrap_or_else(|| "(no event type)".to_owned()),
                    signature(r),
                );
                *by_kind.entry(kind).or_default() += 1;
            }
            for ((event, verdict), count) in by_kind {
                eprintln!("  {count} × {event}, {verdict}");
            }
        }
    }
    ExitCode::FAILURE
}

fn signature(record: &Record) -> String {
    match &record.signature {
        hookmock::recorder::verify::Verdict::Verified { scheme, secret } => {
            format!("verified ({scheme}, {secret})")
        }
        hookmock::recorder::verify::Verdict::Invalid { scheme, reason } => {
            format!("invalid ({scheme}: {reason})")
        }
        hookmock::recorder::verify::Verdict::Unsigned => "unsigned".to_owned(),
    }
}
