//! The `hookmock` command line.

/// mimalloc rather than glibc's allocator: a request allocates and frees many small strings and
/// maps, and glibc spent a quarter of the request's time in malloc/free (perf, benches/RESULTS.md)
/// and keeps freed peaks resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod check;
mod received;
mod report;

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
use hookmock::limits::Limits;
use hookmock::recorder::verify::Secret;
use hookmock::recorder::{self, Fsync};
use hookmock::server::{Bound, Config};
use hookmock::specs::SpecSource;
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
    /// Serve the bundled APIs at their native paths, and any OpenAPI document given with --spec.
    Serve(Box<ServeArgs>),
    /// Serve OpenAPI documents (files or folders) as a stateful, validating mock, reloaded
    /// when they change: `hookmock mock openapi.yaml` (the bundled APIs are not served).
    Mock(Box<MockArgs>),
    /// List the bundled APIs and their routes.
    Apis,
    /// Run only the webhook recorder: capture every request, verify its signature, keep it.
    Record(RecordArgs),
    /// Wait until a recorder holds enough matching webhooks (for CI): exit 0, or 1 with a report.
    Received(ReceivedArgs),
    /// Print the contract violations a server saw, by operation; exit 1 if there is any.
    Violations {
        #[command(flatten)]
        report: ReportArgs,
        /// Also write them as JUnit XML: a test case per operation exercised, a failure per violation.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Print which operations and documented responses a client's run exercised.
    Coverage(ReportArgs),
    /// Send a vendor's real, signed deliveries and hostile variants (forged, replayed,
    /// tampered) to your webhook receiver, and grade its answers; exit 1 if any case fails.
    CheckReceiver(check::CheckArgs),
    /// Forward one API's requests to the real vendor, checking requests and answers against
    /// the bundled document (violations: /__admin/violations and `x-hookmock-violations`).
    Proxy(ProxyArgs),
}

#[derive(clap::Args)]
struct ProxyArgs {
    /// The bundled API whose document applies (see `hookmock apis`).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "spec",
        conflicts_with = "spec"
    )]
    api: Option<String>,
    /// Or an OpenAPI document (3.0 or 3.1, JSON or YAML) whose contract applies.
    #[arg(long, value_name = "PATH")]
    spec: Option<SpecSource>,
    /// Where the real API is, e.g. https://api-sandbox.fndev.net
    #[arg(long, value_name = "URL")]
    upstream: String,
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long, default_value_t = 4020)]
    port: u16,
    /// Violations kept.
    #[arg(long, value_name = "N", default_value_t = hookmock::journal::DEFAULT_CAPACITY)]
    journal_size: usize,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Where `violations` and `coverage` ask.
#[derive(clap::Args)]
struct ReportArgs {
    /// The hookmock server.
    #[arg(long, default_value = "http://127.0.0.1:4010")]
    url: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The server's --admin-token.
    #[arg(long, value_name = "TOKEN", env = "HOOKMOCK_ADMIN_TOKEN")]
    admin_token: Option<String>,
}

/// The recorder's options, shared by `serve --record` and `record`.
#[derive(clap::Args)]
struct RecorderArgs {
    /// Verify signatures with this secret, `[NAME=]SECRET` (repeatable; HOOKMOCK_SECRETS takes a
    /// comma-separated list).
    #[arg(
        long = "secret",
        value_name = "[NAME=]SECRET",
        env = "HOOKMOCK_SECRETS",
        value_delimiter = ','
    )]
    secrets: Vec<String>,
    /// Read more secrets from a file, one `[NAME=]SECRET` per line.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// How far a signed timestamp may be from now, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    tolerance: u64,
    /// Answer 401 to requests whose signature is invalid.
    #[arg(long)]
    reject_invalid: bool,
    /// The status to answer with.
    #[arg(long, value_name = "STATUS", default_value_t = 200)]
    respond: u16,
    /// Wait this long before answering, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay: u64,
    /// Answer 500 to the first N attempts of each event ID (to exercise a sender's retries).
    #[arg(long, value_name = "N", default_value_t = 0)]
    fail_first: u32,
    /// `always`: sync each record to disk before answering; `batch`: hand it to the OS before
    /// answering (survives a crash of hookmock, not of the machine) and sync every second.
    #[arg(long, value_enum, default_value = "always")]
    fsync: Fsync,
    /// Records kept in memory for queries (the file keeps all).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    max_records: usize,
    /// Also send every captured request, byte for byte, to this URL (your local app); its
    /// answer is logged.
    #[arg(long, value_name = "URL")]
    forward: Option<String>,
}

impl RecorderArgs {
    fn settings(self, out: PathBuf) -> Result<recorder::Settings, String> {
        let mut texts = self.secrets;
        if let Some(file) = &self.secret_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("--secret-file {}: {e}", file.display()))?;
            texts.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        let secrets = texts
            .iter()
            .enumerate()
            .map(|(i, text)| Secret::parse(text, i + 1))
            .collect();
        Ok(recorder::Settings {
            out,
            fsync: self.fsync,
            max_records: self.max_records,
            secrets,
            tolerance: Duration::from_secs(self.tolerance),
            reject_invalid: self.reject_invalid,
            answer: recorder::Answer {
                status: self.respond,
                delay_ms: self.delay,
                fail_first: self.fail_first,
            },
            forward: self.forward,
        })
    }
}

#[derive(clap::Args)]
struct RecordArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one (the bound address is printed).
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// The NDJSON file that keeps every record (read back on start).
    #[arg(long, value_name = "FILE", default_value = "webhooks.ndjson")]
    out: PathBuf,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    recorder: RecorderArgs,
}

#[derive(clap::Args)]
struct ReceivedArgs {
    /// The recorder (or `serve --record` server) to ask.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    url: String,
    /// How many matching records to wait for.
    #[arg(long, value_name = "N", default_value_t = 1)]
    wait: usize,
    /// Only records of this event type.
    #[arg(long, value_name = "NAME")]
    event: Option<String>,
    /// Only records whose signature verified.
    #[arg(long)]
    verified: bool,
    /// How long to wait: e.g. 10s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the matching records as JSON.
    #[arg(long)]
    json: bool,
    /// The --admin-token of a `serve --record` server.
    #[arg(long, value_name = "TOKEN", env = "HOOKMOCK_ADMIN_TOKEN")]
    admin_token: Option<String>,
}

/// Limits on clients, for every command that listens (see src/limits.rs).
#[derive(clap::Args)]
struct LimitArgs {
    /// Connections open at once; past it, new ones wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Time allowed for a request's head (10s, 500ms); a slower client is disconnected.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// Time allowed for a request's whole body; a slower one is answered 408.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    body_timeout: Duration,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
        }
    }
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len()),
    );
    let n: f64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s, 500ms or 2m"))?;
    let seconds = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}; use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one (the bound address is printed).
    #[arg(long, default_value_t = 4010)]
    port: u16,
    /// Serve only this bundled API (repeatable); see `hookmock apis`.
    #[arg(long = "api", value_name = "NAME")]
    apis: Vec<String>,
    /// Also serve this OpenAPI document (3.0 or 3.1, JSON or YAML), or every document of a
    /// folder; `/PREFIX=PATH` mounts it under a prefix. Repeatable.
    #[arg(long = "spec", value_name = "[/PREFIX=]PATH")]
    specs: Vec<SpecSource>,
    /// Do not serve the bundled vendor APIs (only the --spec documents).
    #[arg(long)]
    no_bundled: bool,
    /// Reload the --spec documents (and the files they reference) when they change.
    #[arg(long)]
    watch: bool,
    /// Amend every --spec document with this OpenAPI Overlay 1.0 file (repeatable, in order).
    #[arg(long = "overlay", value_name = "FILE")]
    overlays: Vec<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
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
    /// Keep the stores in this file: loaded at start, saved (atomically) within 250 ms of a
    /// change and at shutdown.
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Also record webhooks sent to /__sink/... in this NDJSON file (see `hookmock record`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[command(flatten)]
    recorder: RecorderArgs,
    /// Deterministic mode: freeze time at this RFC 3339 instant and draw IDs from a fixed seed.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    clock: Option<DateTime<Utc>>,
    /// Accept only this credential (repeatable); without it any non-empty one is accepted.
    #[arg(long = "token", value_name = "TOKEN")]
    tokens: Vec<String>,
    /// Require `Authorization: Bearer TOKEN` on /__admin.
    #[arg(long, value_name = "TOKEN", env = "HOOKMOCK_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Also refuse query parameters and body fields the document does not describe (for CI).
    #[arg(long)]
    strict: bool,
    /// Add latency to every answer, drawn uniformly: e.g. 20..200ms.
    #[arg(long, value_name = "MIN..MAX", value_parser = hookmock::faults::parse_latency)]
    latency: Option<std::ops::RangeInclusive<Duration>>,
    /// Check every answer against its document; violations are logged and shown in /__admin/requests.
    #[arg(long)]
    validate_responses: bool,
    /// How many requests /__admin/requests keeps; older ones are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = hookmock::journal::DEFAULT_CAPACITY)]
    journal_size: usize,
    /// How many deliveries /__admin/deliveries (and ELAN's delivery logs) keep; the oldest
    /// finished ones are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = hookmock::journal::DEFAULT_CAPACITY)]
    delivery_log_size: usize,
    /// How long a delivery attempt may take before it counts as failed, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    delivery_timeout: f64,
    /// Refuse delivery targets in this host's own networks: loopback, private, link-local
    /// (cloud metadata) addresses, by IP or by what a name resolves to. For shared hosts.
    #[arg(long)]
    deliver_deny_private: bool,
    /// Multiply every retry delay by this (0.001 turns the 5-minute retry into 0.3 s).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    time_scale: f64,
}

/// `hookmock mock`: Prism's command line (`-p`, `-h`), hookmock's engine.
#[derive(clap::Args)]
#[command(disable_help_flag = true)]
struct MockArgs {
    /// OpenAPI documents (3.0 or 3.1, JSON or YAML), or folders of them; `/PREFIX=PATH` mounts
    /// one under a prefix.
    #[arg(required = true, value_name = "[/PREFIX=]PATH")]
    specs: Vec<SpecSource>,
    /// Port to listen on; 0 picks a free one (the bound address is printed).
    #[arg(short, long, default_value_t = 4010)]
    port: u16,
    /// Address to listen on.
    #[arg(short, long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Do not reload the documents when they change.
    #[arg(long)]
    no_watch: bool,
    /// Amend every document with this OpenAPI Overlay 1.0 file (repeatable, in order).
    #[arg(long = "overlay", value_name = "FILE")]
    overlays: Vec<PathBuf>,
    /// Serve the bundled vendor APIs too.
    #[arg(long)]
    with_bundled: bool,
    /// Accept only this credential (repeatable), where a document requires one.
    #[arg(long = "token", value_name = "TOKEN")]
    tokens: Vec<String>,
    /// Require `Authorization: Bearer TOKEN` on /__admin.
    #[arg(long, value_name = "TOKEN", env = "HOOKMOCK_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Also refuse query parameters and body fields the document does not describe.
    #[arg(long)]
    strict: bool,
    /// Check every answer against its document; violations are logged and journaled.
    #[arg(long)]
    validate_responses: bool,
    /// Deterministic mode: freeze time at this RFC 3339 instant and draw IDs from a fixed seed.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    clock: Option<DateTime<Utc>>,
    /// Keep the collections in this file: loaded at start, saved after changes.
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Add latency to every answer, drawn uniformly: e.g. 20..200ms.
    #[arg(long, value_name = "MIN..MAX", value_parser = hookmock::faults::parse_latency)]
    latency: Option<std::ops::RangeInclusive<Duration>>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

async fn mock(args: MockArgs) -> ExitCode {
    let config = Config {
        host: args.host,
        port: args.port,
        specs: args.specs,
        bundled: args.with_bundled,
        watch: !args.no_watch,
        overlays: args.overlays,
        tokens: args.tokens,
        admin_token: args.admin_token,
        strict: args.strict,
        validate_responses: args.validate_responses,
        clock: args.clock,
        state_file: args.state_file,
        latency: args.latency,
        ..Config::default()
    };
    run(Bound::new(&config).await).await
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
        Command::Mock(args) => mock(*args).await,
        Command::Record(args) => record(args).await,
        Command::Received(args) => received::run(args).await,
        Command::Violations { report, junit } => report::violations(report, junit).await,
        Command::Coverage(args) => report::coverage(args).await,
        Command::CheckReceiver(args) => check::run(args).await,
        Command::Proxy(args) => {
            let addr = std::net::SocketAddr::new(args.host, args.port);
            let bound = Bound::proxy(
                args.api.as_deref(),
                args.spec.as_ref(),
                &args.upstream,
                addr,
                args.journal_size,
            )
            .await;
            run(bound.map(|b| b.with_limits(args.limits.limits()))).await
        }
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
    let record = match args
        .record
        .map(|out| args.recorder.settings(out))
        .transpose()
    {
        Ok(record) => record,
        Err(message) => {
            eprintln!("hookmock: {message}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config {
        record,
        state_file: args.state_file,
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
        strict: args.strict,
        latency: args.latency,
        journal_size: args.journal_size,
        delivery: Settings {
            timeout: Duration::try_from_secs_f64(args.delivery_timeout)
                .unwrap_or(Duration::from_secs(30)),
            time_scale: args.time_scale,
            log_size: args.delivery_log_size,
            deny_private: args.deliver_deny_private,
            ..Settings::default()
        },
        specs: args.specs,
        bundled: !args.no_bundled,
        watch: args.watch,
        overlays: args.overlays,
    };
    let limits = args.limits.limits();
    run(Bound::new(&config).await.map(|b| b.with_limits(limits))).await
}

async fn record(args: RecordArgs) -> ExitCode {
    let addr = std::net::SocketAddr::new(args.host, args.port);
    match args.recorder.settings(args.out) {
        Ok(settings) => {
            let bound = Bound::recorder(settings, addr).await;
            run(bound.map(|b| b.with_limits(args.limits.limits()))).await
        }
        Err(message) => {
            eprintln!("hookmock: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the bound address and serves until Ctrl-C or SIGTERM.
async fn run(bound: Result<Bound, hookmock::server::StartError>) -> ExitCode {
    let bound = match bound {
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
