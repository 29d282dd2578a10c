//! The `hookmock` command line.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hookmock::delivery::Settings;
use hookmock::fixtures::Fixtures;
use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::server::{Bound, Config};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "hookmock",
    version,
    about = "A stateful, contract-validating mock of webhook-management APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the bundled APIs at their native paths.
    Serve(ServeArgs),
    /// List the bundled APIs and their routes.
    Apis,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one (the bound address is printed).
    #[arg(long, default_value_t = 4010)]
    port: u16,
    /// Serve only this API (repeatable); see `hookmock apis`.
    #[arg(long = "api", value_name = "NAME")]
    apis: Vec<String>,
    /// Largest request body accepted: bytes, or with a KiB/MiB suffix.
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    max_body: usize,
    /// Do not answer CORS preflights or add CORS headers.
    #[arg(long)]
    no_cors: bool,
    /// Read each API's starting data from DIR/<api>.json instead of the embedded fixtures.
    #[arg(long, value_name = "DIR", conflicts_with = "no_fixtures")]
    fixtures: Option<PathBuf>,
    /// Start every tenant empty.
    #[arg(long)]
    no_fixtures: bool,
    /// Deterministic mode: freeze time at this RFC 3339 instant and draw IDs from a fixed seed.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    clock: Option<DateTime<Utc>>,
    /// Accept only this credential (repeatable); without it any non-empty one is accepted.
    #[arg(long = "token", value_name = "TOKEN")]
    tokens: Vec<String>,
    /// Require `Authorization: Bearer TOKEN` on /__admin.
    #[arg(long, value_name = "TOKEN", env = "HOOKMOCK_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Check every answer against its document; violations are logged and shown in /__admin/requests.
    #[arg(long)]
    validate_responses: bool,
    /// How many requests /__admin/requests keeps; older ones are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = hookmock::journal::DEFAULT_CAPACITY)]
    journal_size: usize,
    /// How long a delivery attempt may take before it counts as failed, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    delivery_timeout: f64,
    /// Multiply every retry delay by this (0.001 turns the 5-minute retry into 0.3 s).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    time_scale: f64,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like 2025-01-15T10:30:00Z: {e}"))
}

fn parse_size(text: &str) -> Result<usize, String> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1024,
        "mib" | "m" => 1024 * 1024,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; use bytes, KiB or MiB"
            ));
        }
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{text:?} is not a size"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("hookmock=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        // A closed pipe (`hookmock apis | head`) ends the listing quietly.
        Command::Apis => match print_apis(&mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("hookmock: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    let config = Config {
        host: args.host,
        port: args.port,
        apis: args.apis,
        max_body: args.max_body,
        cors: !args.no_cors,
        fixtures: match (args.fixtures, args.no_fixtures) {
            (_, true) => Fixtures::None,
            (Some(dir), false) => Fixtures::Dir(dir),
            (None, false) => Fixtures::Embedded,
        },
        clock: args.clock,
        tokens: args.tokens,
        admin_token: args.admin_token,
        validate_responses: args.validate_responses,
        journal_size: args.journal_size,
        delivery: Settings {
            timeout: Duration::try_from_secs_f64(args.delivery_timeout)
                .unwrap_or(Duration::from_secs(30)),
            time_scale: args.time_scale,
            ..Settings::default()
        },
    };
    let bound = match Bound::new(&config).await {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("hookmock: {error}");
            return ExitCode::FAILURE;
        }
    };
    match bound.local_addr() {
        // On stdout, so that scripts starting it on port 0 can read the address.
        Ok(addr) => println!("hookmock listening on http://{addr}"),
        Err(error) => eprintln!("hookmock: cannot read the bound address: {error}"),
    }
    match bound.run(shutdown_signal(), SHUTDOWN_DRAIN).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(pending) => {
            eprintln!(
                "hookmock: stopped with {pending} deliveries still pending (in flight, queued or waiting to be retried)"
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("hookmock: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How long a stopping server waits for delivery attempts in flight.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

fn print_apis(out: &mut impl Write) -> std::io::Result<()> {
    for doc in DOCUMENTS {
        writeln!(out, "{}  {}", doc.api, doc.title)?;
        for op in OPERATIONS.iter().filter(|op| op.api == doc.api) {
            writeln!(out, "  {:<7}{:<62}{}", op.method, op.path, op.operation_id)?;
        }
    }
    Ok(())
}
