//! The soak test: mixed traffic on all four APIs, plus signed deliveries into the same server's
//! recorder, against the release binary for a bounded time, checking that no request failed
//! unexpectedly, memory stays flat and every tenant's final state matches the model.
//!
//! Not in the default run (it takes minutes). One command:
//!   cargo test --release --test it soak -- --ignored --nocapture
//! `HOOKMOCK_SOAK_SECONDS` sets the duration (default 300).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::harness::{Served, TestServer};
use crate::model::{Action, Api, check};

/// A small seeded generator: the same run twice sends the same traffic.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }

    fn actions(&mut self) -> Vec<Action> {
        (0..5 + self.below(20))
            .map(|_| match self.below(9) {
                0..=2 => Action::Create(self.below(256) as u8),
                3 | 4 => Action::Update(self.below(64), self.below(256) as u8),
                5 | 6 => Action::Delete(self.below(64)),
                7 => Action::Get(self.below(64)),
                _ => Action::List,
            })
            .collect()
    }
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes long: cargo test --release --test it soak -- --ignored"]
async fn soak_mixed_traffic_deliveries_and_recording() {
    let seconds: u64 = std::env::var("HOOKMOCK_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let folder = std::env::temp_dir().join(format!("hookmock-soak-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a folder");
    let record = folder.join("received.ndjson");
    let served = Served::start(&[
        "--record",
        &record.to_string_lossy(),
        "--secret",
        "elan=soak-secret",
        "--max-records",
        "1000",
    ]);
    let pid = served.child.id();
    let server = Arc::new(TestServer::at(served.url.clone()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let rounds = Arc::new(AtomicU64::new(0));

    // Eight model workers: two a API, each its own tenant, each round checked against the
    // model and then emptied (so memory measures leaks, not data).
    let apis = [Api::Elan, Api::FieldNation, Api::Ingedata, Api::Patchworks];
    let mut workers = Vec::new();
    for (n, api) in apis.iter().cycle().take(8).enumerate() {
        let (server, rounds, api) = (server.clone(), rounds.clone(), *api);
        workers.push(tokio::spawn(async move {
            let tenant = format!("soak-{n}");
            let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1));
            while Instant::now() < deadline {
                check(&server, api, &tenant, &rng.actions()).await;
                for (id, _) in api.list(&server, &tenant).await {
                    let status = api.delete(&server, &tenant, &id).await;
                    assert!(
                        (200..300).contains(&status),
                        "{api:?} cleanup {id}: {status}"
                    );
                }
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // Deliveries: an ELAN subscription into this server's own recorder, tested in a loop; each
    // test queues one delivery; at the end every one must have arrived and verified.
    let sink = format!("{}/__sink/elan", served.url);
    let (status, created) = server
        .call(Some("soak-delivery"), Method::POST, "/webhooks",
            Some(json!({"name": "soak", "url": sink, "events": ["workflow.completed"], "secret": "soak-secret"})))
        .await;
    assert_eq!(status, 201, "{created}");
    let test = format!("/webhooks/{}/test", created["id"]);
    let delivered = {
        let server = server.clone();
        tokio::spawn(async move {
            let mut delivered = 0u64;
            while Instant::now() < deadline {
                let (status, answer) = server
                    .call(Some("soak-delivery"), Method::POST, &test, None)
                    .await;
                assert_eq!(status, 200, "{answer}");
                assert_eq!(answer["success"], true, "{answer}");
                delivered += 1;
                // Paced: the point is a steady stream alongside the API traffic.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            delivered
        })
    };

    // Memory, every 5 s.
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        samples.push(rss_mb(pid));
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    for worker in workers {
        worker.await.expect("a model worker found no difference");
    }
    let delivered = delivered.await.expect("the delivery worker");
    // Every queued delivery arrives (within 30 s), and every one verifies.
    let mut recorded = 0;
    for _ in 0..300 {
        let (_, newest) = server.get("admin", "/__admin/received?limit=1").await;
        recorded = newest[0]["id"].as_u64().unwrap_or(0);
        if recorded >= delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recorded, delivered, "every delivery recorded, nothing else");
    for verdict in ["invalid", "unsigned"] {
        let path = format!("/__admin/received?verdict={verdict}");
        let (_, listed) = server.get("admin", &path).await;
        assert_eq!(
            listed.as_array().map(Vec::len),
            Some(0),
            "{verdict}: {listed}"
        );
    }
    let (_, failed) = server
        .get("admin", "/__admin/deliveries?status=failed")
        .await;
    assert_eq!(
        failed["deliveries"].as_array().map(Vec::len),
        Some(0),
        "{failed}"
    );
    samples.push(rss_mb(pid));

    let half = samples.len() / 2;
    let first = samples[..half.max(1)].iter().copied().fold(0.0, f64::max);
    let second = samples[half..].iter().copied().fold(0.0, f64::max);
    eprintln!(
        "soak: {seconds} s, {} model rounds, {delivered} deliveries recorded and verified; RSS MB {samples:?}",
        rounds.load(Ordering::Relaxed)
    );
    assert!(delivered > 0 && rounds.load(Ordering::Relaxed) > 0);
    assert!(
        second <= first * 1.2 + 5.0,
        "memory grew: {first:.1} MB then {second:.1} MB"
    );
    drop(served);
    let _ = std::fs::remove_dir_all(&folder);
}
