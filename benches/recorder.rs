//! Recorder throughput: signed webhooks recorded per second with `--fsync always` and
//! `--fsync batch`, against a floor measured in the same run: an axum server that answers 200
//! and keeps nothing, under the same load (same body, same signature header, same concurrency).
//!
//! `cargo bench --bench recorder` (loopback only; bounded; stops by itself). Prints a Markdown table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hookmock::recorder::verify::Secret;
use hookmock::recorder::{Fsync, Settings};
use hookmock::server::Bound;

const SENDERS: usize = 16;
const ROUNDS: usize = 3;
const BODY: &str = "Hello, World!";
const SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

/// Sends `total` signed POSTs to `url`, `SENDERS` at a time; answers requests per second.
async fn load(url: &str, total: usize) -> f64 {
    let http = hookmock::wire::client();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..SENDERS {
        let (http, next, url) = (http.clone(), next.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let sent = http
                    .post(&url)
                    .header("X-Hub-Signature-256", SIGNATURE)
                    .body(BODY)
                    .send()
                    .await;
                assert!(
                    sent.is_ok_and(|r| r.status().is_success()),
                    "every webhook is answered 2xx"
                );
            }
        }));
    }
    for task in tasks {
        task.await.expect("a sender");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn floor() -> String {
    let app = axum::Router::new().fallback(|| async { "{}" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn recorder(fsync: Fsync, out: &std::path::Path) -> String {
    let _ = std::fs::remove_file(out);
    let settings = Settings {
        fsync,
        secrets: vec![Secret::parse("gh=It's a Secret to Everybody", 1)],
        ..Settings::new(out.to_owned())
    };
    let bound = Bound::recorder(settings, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    let url = format!("http://{}/hook", bound.local_addr().expect("address"));
    tokio::spawn(bound.run(std::future::pending(), Duration::ZERO));
    url
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir();
    let floor_url = floor().await;
    let (mut floors, mut always, mut batch) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        floors.push(load(&floor_url, 20_000).await);
        let out = dir.join(format!("hookmock-bench-always-{round}.ndjson"));
        always.push(load(&recorder(Fsync::Always, &out).await, 2_000).await);
        let _ = std::fs::remove_file(out);
        let out = dir.join(format!("hookmock-bench-batch-{round}.ndjson"));
        batch.push(load(&recorder(Fsync::Batch, &out).await, 20_000).await);
        let _ = std::fs::remove_file(out);
    }
    let (floor, always, batch) = (median(floors), median(always), median(batch));
    println!(
        "| case ({SENDERS} senders, signed GitHub-style webhook, median of {ROUNDS}) | requests/s | ratio to floor |"
    );
    println!("| --- | ---: | ---: |");
    println!("| floor: axum answering 200, keeping nothing | {floor:.0} | 1.00 |");
    println!(
        "| hookmock record --fsync batch | {batch:.0} | {:.2} |",
        batch / floor
    );
    println!(
        "| hookmock record --fsync always | {always:.0} | {:.3} |",
        always / floor
    );
}
