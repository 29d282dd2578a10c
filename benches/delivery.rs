//! Delivery throughput: signed Field Nation deliveries per second to a local receiver, with
//! 1,000 subscriptions, against a baseline measured in the same run: the same number of plain
//! POSTs of the same bytes, sent with the same concurrency by a bare reqwest loop.
//!
//! `cargo bench --bench delivery` (loopback only; stops by itself). Prints a Markdown table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hookmock::delivery::Settings;
use hookmock::fixtures::Fixtures;
use hookmock::server::{Bound, Config};
use serde_json::json;

const SUBSCRIPTIONS: usize = 1_000;
const EVENTS: usize = 5;
const WORKERS: usize = 8;
const ROUNDS: usize = 3;

/// A receiver that answers 200 and counts.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::Relaxed);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, count)
}

async fn wait_until(count: &AtomicUsize, target: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while count.load(Ordering::Relaxed) < target && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// hookmock: `EVENTS` events to `SUBSCRIPTIONS` webhooks, signed, through the engine.
async fn hookmock_rate(receiver_url: &str, count: &AtomicUsize) -> f64 {
    let delivery = Settings {
        workers: WORKERS,
        queue: SUBSCRIPTIONS * EVENTS,
        ..Settings::default()
    };
    let config = Config {
        port: 0,
        fixtures: Fixtures::None,
        delivery,
        ..Config::default()
    };
    let bound = Bound::new(&config).await.expect("starts");
    let base = format!("http://{}", bound.local_addr().expect("address"));
    tokio::spawn(bound.run(std::future::pending(), Duration::ZERO));
    let http = hookmock::wire::client();
    for n in 0..SUBSCRIPTIONS {
        let body =
            json!({"url": format!("{receiver_url}/{n}"), "events": ["workorder.status.assigned"]});
        http.post(format!("{base}/api/v1/webhooks"))
            .bearer_auth("bench")
            .json(&body)
            .send()
            .await
            .expect("created");
    }
    let start_count = count.load(Ordering::Relaxed);
    let started = Instant::now();
    for _ in 0..EVENTS {
        let event = json!({"api": "fieldnation", "event": "workorder.status.assigned", "tenant": "bench", "data": {"workorder": {"id": 1}}});
        http.post(format!("{base}/__admin/events"))
            .json(&event)
            .send()
            .await
            .expect("queued");
    }
    wait_until(count, start_count + SUBSCRIPTIONS * EVENTS).await;
    (SUBSCRIPTIONS * EVENTS) as f64 / started.elapsed().as_secs_f64()
}

/// The floor: the same number of POSTs of a payload of the same size, unsigned, `WORKERS` at a time.
async fn baseline_rate(receiver_url: &str, count: &AtomicUsize) -> f64 {
    let http = hookmock::wire::client();
    let body = json!({"event": {"name": "workorder.status.assigned", "params": {}}, "timestamp": "2025-01-15T10:30:00Z", "triggered_by_user": {"id": 1}, "workorder": {"id": 1}}).to_string();
    let next = Arc::new(AtomicUsize::new(0));
    let start_count = count.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let (http, body, next, url) = (
            http.clone(),
            body.clone(),
            next.clone(),
            receiver_url.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < SUBSCRIPTIONS * EVENTS {
                let _ = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    wait_until(count, start_count + SUBSCRIPTIONS * EVENTS).await;
    (SUBSCRIPTIONS * EVENTS) as f64 / started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let (url, count) = receiver().await;
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    // Alternate, so both see the same machine load.
    for _ in 0..ROUNDS {
        floor.push(baseline_rate(&url, &count).await);
        ours.push(hookmock_rate(&url, &count).await);
    }
    let (ours, floor) = (median(ours), median(floor));
    println!(
        "| case ({SUBSCRIPTIONS} subscriptions × {EVENTS} events, {WORKERS} workers, median of {ROUNDS}) | deliveries/s |"
    );
    println!("| --- | ---: |");
    println!("| baseline: plain POSTs, same bytes, same concurrency | {floor:.0} |");
    println!("| hookmock: signed Field Nation deliveries through the engine | {ours:.0} |");
    println!("| ratio hookmock / baseline | {:.2} |", ours / floor);
}
