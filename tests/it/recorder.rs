//! A team points its webhooks at hookmock's recorder, in development and in CI: every request is
//! kept byte for byte with a signature verdict, survives restarts, and can be looked at,
//! replayed and waited for.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::{Receiver, TestServer};
use futures::StreamExt;
use hookmock::delivery::Settings as DeliverySettings;
use hookmock::recorder::Settings;
use hookmock::recorder::verify::Secret;
use hookmock::server::{Bound, Config};
use reqwest::Method;
use serde_json::{Value, json};

/// A fresh NDJSON path in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "hookmock-{name}-{}-{}.ndjson",
            std::process::id(),
            rand_suffix()
        ));
        let _ = std::fs::remove_file(&path);
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

fn settings(out: &TempFile, secrets: &[&str]) -> Settings {
    let secrets = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| Secret::parse(s, i + 1))
        .collect();
    Settings {
        max_records: 1000,
        secrets,
        ..Settings::new(out.0.clone())
    }
}

/// `hookmock record` in-process on a free port; answers its base URL.
async fn recorder(settings: Settings) -> String {
    let bound = Bound::recorder(settings, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    crate::harness::spawn(bound).await
}

async fn received(base: &str, query: &str) -> Vec<Value> {
    let list: Value = crate::harness::get(format!("{base}/__admin/received{query}"))
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    list.as_array().cloned().unwrap_or_default()
}

/// One process delivers to itself: ELAN's signed test event lands in `/__sink` and verifies.
#[tokio::test]
async fn hookmock_deliveries_land_in_its_own_recorder_verified() {
    let out = TempFile::new("self");
    let config = Config {
        record: Some(settings(&out, &["elan=elan-secret"])),
        ..TestServer::config()
    };
    let server = TestServer::with_config(config).await;
    let sink = server.url("/__sink/elan");
    let body = json!({"name": "self", "url": sink, "events": ["workflow.completed"], "secret": "elan-secret"});
    let (_, created) = server
        .call(Some("elan-key"), Method::POST, "/webhooks", Some(body))
        .await;
    server
        .call(
            Some("elan-key"),
            Method::POST,
            &format!("/webhooks/{}/test", created["id"]),
            None,
        )
        .await;

    let mut records = Vec::new();
    for _ in 0..300 {
        records = server
            .call(
                None,
                Method::GET,
                "/__admin/received?path=/__sink/elan",
                None,
            )
            .await
            .1
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !records.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let record = records.first().expect("the delivery was recorded");
    assert_eq!(
        record["signature"],
        json!({"verdict": "verified", "scheme": "elan", "secret": "elan"})
    );
    assert_eq!(record["event_type"], "workflow.completed");
    let on_disk = std::fs::read_to_string(&out.0).expect("the NDJSON file");
    assert_eq!(on_disk.lines().count(), 1);
}

/// `--fail-first 2`: a sender's retries are exercised; the recorder keeps every attempt.
#[tokio::test]
async fn fail_first_exercises_a_senders_retries() {
    let out = TempFile::new("fail-first");
    let mut recording = settings(&out, &[]);
    recording.answer.fail_first = 2;
    let delivery = DeliverySettings {
        time_scale: 0.001,
        ..DeliverySettings::default()
    };
    let config = Config {
        record: Some(recording),
        delivery,
        ..TestServer::config()
    };
    let server = TestServer::with_config(config).await;
    let body = json!({"url": server.url("/__sink/fn"), "events": ["workorder.status.assigned"]});
    server
        .call(Some("fn"), Method::POST, "/api/v1/webhooks", Some(body))
        .await;
    server
        .call(
            None,
            Method::POST,
            "/__admin/events",
            Some(json!({"api": "fieldnation", "event": "workorder.status.assigned"})),
        )
        .await;
    let mut answered = Vec::new();
    for _ in 0..300 {
        let (_, list) = server
            .call(None, Method::GET, "/__admin/received", None)
            .await;
        answered = list
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["answered"].as_u64().unwrap_or(0))
            .collect();
        if answered.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(answered, [200, 500, 500], "newest first");
}

#[tokio::test]
async fn rules_and_reject_invalid_decide_the_answer() {
    let out = TempFile::new("rules");
    let mut recording = settings(&out, &["It's a Secret to Everybody"]);
    recording.reject_invalid = true;
    let base = recorder(recording).await;
    let http = hookmock::wire::client();
    let rules = json!([{"path": "/flaky", "status": 503}]);
    assert_eq!(
        http.put(format!("{base}/__admin/sink/rules"))
            .json(&rules)
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
    assert_eq!(
        http.post(format!("{base}/flaky/x"))
            .body("{}")
            .send()
            .await
            .expect("sent")
            .status(),
        503
    );
    assert_eq!(
        http.post(format!("{base}/steady"))
            .body("{}")
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
    let forged = http
        .post(format!("{base}/github"))
        .header("X-Hub-Signature-256", "sha256=00")
        .body("Hello, World!")
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), 401);
    let bad_rules = http
        .put(format!("{base}/__admin/sink/rules"))
        .json(&json!([{"path": "/x", "colour": 1}]))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad_rules.status(), 400);

    let invalid = received(&base, "?verdict=invalid").await;
    assert_eq!(invalid.len(), 1);
    assert!(
        invalid[0]["signature"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("mismatch")),
        "{}",
        invalid[0]
    );
}

/// Records survive a restart; a torn last line (a crash mid-write) is cut off, not fatal.
#[tokio::test]
async fn records_survive_a_restart_and_a_torn_last_line() {
    let out = TempFile::new("restart");
    let base = recorder(settings(&out, &[])).await;
    let http = hookmock::wire::client();
    for n in 0..3 {
        http.post(format!("{base}/hook/{n}"))
            .body(format!("{{\"n\": {n}}}"))
            .send()
            .await
            .expect("sent");
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&out.0)
        .expect("the file");
    std::io::Write::write_all(&mut file, b"{\"id\": 4, \"method\": \"PO").expect("a torn write");
    drop(file);

    let again = recorder(settings(&out, &[])).await;
    let records = received(&again, "").await;
    assert_eq!(
        records
            .iter()
            .map(|r| r["path"].as_str().unwrap_or("-"))
            .collect::<Vec<_>>(),
        ["/hook/2", "/hook/1", "/hook/0"]
    );
    http.post(format!("{again}/hook/3"))
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        received(&again, "?limit=1").await[0]["id"],
        4,
        "IDs continue after the kept records"
    );
    let text = std::fs::read_to_string(&out.0).expect("the file");
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "the torn line is gone:\n{text}"
    );
}

#[tokio::test]
async fn a_record_can_be_replayed_byte_for_byte_and_copied_as_curl() {
    let out = TempFile::new("replay");
    let base = recorder(settings(&out, &[])).await;
    let target = Receiver::start(&[]).await;
    let http = hookmock::wire::client();
    let bytes: Vec<u8> = vec![0xff, 0x00, b'{', 0xfe];
    http.post(format!("{base}/binary?x=1"))
        .header("X-Custom", "a")
        .body(bytes.clone())
        .send()
        .await
        .expect("sent");
    let record = &received(&base, "").await[0];
    assert_eq!(
        (record["body_encoding"].as_str(), record["size"].as_u64()),
        (Some("base64"), Some(4))
    );
    let id = record["id"].as_u64().expect("an id");

    let replayed: Value = http
        .post(format!("{base}/__admin/received/{id}/replay"))
        .json(&json!({"url": target.url}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(replayed["status"], 200);
    let got = target.wait_for(1).await;
    assert_eq!(got[0].body.to_vec(), bytes, "the exact bytes");
    assert_eq!(got[0].header("x-custom"), "a");

    let curl = crate::harness::get(format!("{base}/__admin/received/{id}/curl"))
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        curl.contains("curl -X POST 'http://")
            && curl.contains("/binary?x=1'")
            && curl.contains("-H 'x-custom: a'"),
        "{curl}"
    );
    assert!(
        curl.starts_with("printf %s ") && curl.contains("| base64 -d | curl -X POST 'http://"),
        "binary bodies are piped to curl: {curl}"
    );
    assert_eq!(
        crate::harness::get(format!("{base}/__admin/received/999"))
            .await
            .expect("sent")
            .status(),
        404
    );
}

#[tokio::test]
async fn the_stream_sends_each_new_record() {
    let out = TempFile::new("stream");
    let base = recorder(settings(&out, &[])).await;
    let response = crate::harness::get(format!("{base}/__admin/received/stream"))
        .await
        .expect("connected");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.bytes_stream();
    hookmock::wire::client()
        .post(format!("{base}/live"))
        .body("{\"event_type\": \"x.y\"}")
        .send()
        .await
        .expect("sent");
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event in time")
            .expect("open")
            .expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.contains("event: record")
            && text.contains("\"path\":\"/live\"")
            && text.contains("\"event_type\":\"x.y\""),
        "{text}"
    );
}

#[tokio::test]
async fn received_waits_for_matching_records_and_explains_a_miss() {
    let out = TempFile::new("cli");
    let base = recorder(settings(&out, &[])).await;
    hookmock::wire::client()
        .post(format!("{base}/h"))
        .body("{\"event_type\": \"order.paid\"}")
        .send()
        .await
        .expect("sent");
    let bin = env!("CARGO_BIN_EXE_hookmock");
    let ok = tokio::process::Command::new(bin)
        .args([
            "received",
            "--url",
            &base,
            "--wait",
            "1",
            "--event",
            "order.paid",
        ])
        .output()
        .await
        .expect("runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let miss = tokio::process::Command::new(bin)
        .args([
            "received",
            "--url",
            &base,
            "--wait",
            "2",
            "--timeout",
            "500ms",
            "--verified",
        ])
        .output()
        .await
        .expect("runs");
    assert_eq!(miss.status.code(), Some(1));
    let report = String::from_utf8_lossy(&miss.stderr);
    assert!(
        report.contains("wanted 2 webhook(s)") && report.contains("1 × order.paid, unsigned"),
        "{report}"
    );
}

/// The crash test: 4 concurrent senders stream webhooks at `hookmock record`, which is killed
/// with SIGKILL mid-stream and restarted. Every webhook that was answered 2xx is there, with
/// either fsync mode (batch hands each record to the OS before answering).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_mid_stream_loses_no_webhook_that_was_answered() {
    use std::io::BufRead;
    use std::sync::{Arc, Mutex};
    for fsync in ["always", "batch"] {
        let out = TempFile::new(&format!("crash-{fsync}"));
        let path = out.0.to_str().expect("a UTF-8 path").to_owned();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hookmock"))
            .args(["record", "--port", "0", "--out", &path, "--fsync", fsync])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("hookmock record starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the address line");
        let base = line
            .trim()
            .strip_prefix("hookmock listening on ")
            .expect("the address")
            .to_owned();

        let answered = Arc::new(Mutex::new(Vec::new()));
        let mut senders = Vec::new();
        for writer in 0..4 {
            let (base, answered) = (base.clone(), answered.clone());
            senders.push(tokio::spawn(async move {
                let http = hookmock::wire::client();
                for n in 0..2_000 {
                    let marker = format!("w{writer}-{n}");
                    let sent = http
                        .post(format!("{base}/crash"))
                        .body(format!("{{\"marker\": \"{marker}\"}}"))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().is_success() => {
                            answered.lock().expect("lock").push(marker)
                        }
                        _ => break,
                    }
                }
            }));
        }
        for _ in 0..1_000 {
            if answered.lock().expect("lock").len() >= 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        for sender in senders {
            sender.await.expect("a sender");
        }

        let mut restarted = settings(&out, &[]);
        restarted.max_records = 100_000;
        let again = recorder(restarted).await;
        let kept: std::collections::HashSet<String> = received(&again, "")
            .await
            .iter()
            .filter_map(|r| {
                serde_json::from_str::<Value>(r["body"].as_str()?).ok()?["marker"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        let answered = answered.lock().expect("lock").clone();
        assert!(
            answered.len() >= 200,
            "{fsync}: the stream was cut after {} answers",
            answered.len()
        );
        let lost: Vec<&String> = answered.iter().filter(|m| !kept.contains(*m)).collect();
        assert!(
            lost.is_empty(),
            "{fsync}: {} answered webhooks lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
    }
}

#[tokio::test]
async fn forward_sends_each_capture_to_a_local_app_byte_for_byte() {
    let out = TempFile::new("forward");
    let app = Receiver::start(&[]).await;
    let base = recorder(Settings {
        forward: Some(app.url.clone()),
        ..settings(&out, &[])
    })
    .await;
    let body = "{\"a\":  1}";
    hookmock::wire::client()
        .post(format!("{base}/stripe"))
        .header("Stripe-Signature", "t=1,v1=00")
        .body(body)
        .send()
        .await
        .expect("sent");
    let got = app.wait_for(1).await;
    assert_eq!(got[0].body, body.as_bytes(), "not re-serialised");
    assert_eq!(got[0].header("stripe-signature"), "t=1,v1=00");
}

#[tokio::test]
async fn max_records_bounds_memory_not_the_file() {
    let out = TempFile::new("max");
    let base = recorder(Settings {
        max_records: 2,
        ..settings(&out, &[])
    })
    .await;
    for n in 0..3 {
        hookmock::wire::client()
            .post(format!("{base}/n/{n}"))
            .body("{}")
            .send()
            .await
            .expect("sent");
    }
    let kept: Vec<u64> = received(&base, "")
        .await
        .iter()
        .filter_map(|r| r["id"].as_u64())
        .collect();
    assert_eq!(kept, [3, 2], "the oldest left memory");
    assert_eq!(
        std::fs::read_to_string(&out.0)
            .expect("the file")
            .lines()
            .count(),
        3,
        "the file keeps all"
    );
}

/// An Ingedata secret that is not of the `whsec_` form signs with its UTF-8 bytes, and the
/// recorder verifies it the same way.
#[tokio::test]
async fn an_ingedata_secret_of_any_form_is_verified_by_the_recorder() {
    let out = TempFile::new("ingedata-plain");
    let config = Config {
        record: Some(settings(&out, &["ingedata=my secret!"])),
        ..TestServer::config()
    };
    let server = TestServer::with_config(config).await;
    let sink = server.url("/__sink/ingedata");
    let (id, _) = server
        .ingedata_webhook("inge", &sink, Some("my secret!"))
        .await;
    let (status, answer) = server.ingedata_test("inge", &id).await;
    assert_eq!(
        (status, &answer["success"]),
        (200, &json!(true)),
        "{answer}"
    );
    let (_, records) = server
        .call(
            None,
            Method::GET,
            "/__admin/received?path=/__sink/ingedata",
            None,
        )
        .await;
    assert_eq!(
        records[0]["signature"],
        json!({"verdict": "verified", "scheme": "standard-webhooks", "secret": "ingedata"}),
        "{records}"
    );
}

/// The exported command sends the exact bytes of any body, NUL bytes included: run by a shell,
/// it sends the record again to the recorder, which captures the same bytes.
#[tokio::test]
async fn the_curl_command_of_a_binary_body_is_byte_exact() {
    let out = TempFile::new("curl");
    let base = recorder(settings(&out, &[])).await;
    let bytes: Vec<u8> = (0..2560u32).map(|n| (n % 256) as u8).collect();
    let text_with_nul = "a\0b 'quoted' $(not run)\n".as_bytes().to_vec();
    for (path, body) in [("/binary", bytes), ("/text", text_with_nul)] {
        hookmock::wire::client()
            .post(format!("{base}{path}"))
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        let original = received(&base, &format!("?path={path}")).await;
        let id = original[0]["id"].as_u64().expect("an id");
        let curl = crate::harness::get(format!("{base}/__admin/received/{id}/curl"))
            .await
            .expect("sent")
            .text()
            .await
            .expect("text");
        let ran = tokio::process::Command::new("sh")
            .args(["-c", &curl])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .expect("sh runs");
        assert!(ran.success(), "{curl}");
        let again = received(&base, &format!("?path={path}")).await;
        assert_eq!(again.len(), 2, "{curl}");
        let decode = |r: &Value| {
            use base64::Engine as _;
            match r["body_encoding"].as_str() {
                Some("base64") => base64::engine::general_purpose::STANDARD
                    .decode(r["body"].as_str().unwrap_or_default())
                    .expect("base64"),
                _ => r["body"].as_str().unwrap_or_default().as_bytes().to_vec(),
            }
        };
        assert_eq!(decode(&again[0]), body, "{path}: {curl}");
    }
}

/// Reads server-sent events from `stream` until `done` says so (at most 30 s); answers each
/// event's name and data.
async fn read_events(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    mut done: impl FnMut(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let (mut buffer, mut events) = (String::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(&events) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("{} events, then nothing", events.len()))
            .expect("open")
            .expect("bytes");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_owned)
            };
            if let (Some(event), Some(data)) = (field("event: "), field("data: ")) {
                events.push((event, serde_json::from_str(&data).expect("JSON data")));
            }
        }
    }
    events
}

/// A reader that falls far behind a burst gets every record still kept, and is told which
/// ones it missed because `--max-records` evicted them first: every ID is accounted for once.
#[tokio::test]
async fn a_slow_stream_reader_gets_every_record_or_is_told_it_missed_it() {
    let out = TempFile::new("slow");
    let base = recorder(Settings {
        max_records: 1000,
        fsync: hookmock::recorder::Fsync::Batch,
        ..Settings::new(out.0.clone())
    })
    .await;
    // Whole records (48 MiB in all), more than the socket buffers hold.
    let response = crate::harness::get(format!("{base}/__admin/received/stream"))
        .await
        .expect("connected");
    let mut stream = response.bytes_stream();
    // Nothing is read while 3,000 webhooks of 16 KiB arrive: the reader lags by far more than
    // the 1,024 wake-ups the recorder buffers, and the oldest records are evicted.
    let padding = "x".repeat(16 * 1024);
    let http = hookmock::wire::client();
    futures::stream::iter(0..3000)
        .for_each_concurrent(16, |n| {
            let (http, base, padding) = (&http, &base, &padding);
            async move {
                http.post(format!("{base}/burst"))
                    .body(format!("{{\"n\": {n}, \"p\": \"{padding}\"}}"))
                    .send()
                    .await
                    .expect("sent");
            }
        })
        .await;
    let covered = |events: &[(String, Value)]| {
        events
            .iter()
            .map(|(name, data)| match name.as_str() {
                "record" => 1,
                "missed" => {
                    data["to"].as_u64().unwrap_or(0) - data["from"].as_u64().unwrap_or(0) + 1
                }
                _ => 0,
            })
            .sum::<u64>()
    };
    let events = read_events(&mut stream, |events| covered(events) >= 3000).await;
    let mut seen = Vec::new();
    for (name, data) in &events {
        match name.as_str() {
            "record" => seen.push(data["id"].as_u64().expect("an id")),
            "missed" => {
                seen.extend(data["from"].as_u64().unwrap_or(0)..=data["to"].as_u64().unwrap_or(0))
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(
        seen,
        (1..=3000).collect::<Vec<u64>>(),
        "each ID once, in order"
    );
    assert!(
        events.iter().any(|(name, _)| name == "missed"),
        "the evicted ones are reported"
    );
    assert!(
        events.iter().filter(|(name, _)| name == "record").count() >= 1000,
        "the ones still kept are sent"
    );
}

/// A reconnecting reader resumes after the last event it got (the browser's Last-Event-ID),
/// and `since=` starts a stream in the past.
#[tokio::test]
async fn a_stream_resumes_after_the_last_event_id() {
    let out = TempFile::new("resume");
    let base = recorder(settings(&out, &[])).await;
    let http = hookmock::wire::client();
    for n in 0..5 {
        http.post(format!("{base}/n/{n}"))
            .body("{}")
            .send()
            .await
            .expect("sent");
    }
    let response = http
        .get(format!("{base}/__admin/received/stream?since=1"))
        .header("Last-Event-ID", "3")
        .send()
        .await
        .expect("connected");
    let mut stream = response.bytes_stream();
    let events = read_events(&mut stream, |events| events.len() >= 2).await;
    let ids: Vec<u64> = events
        .iter()
        .filter_map(|(_, d)| d["id"].as_u64())
        .collect();
    assert_eq!(ids, [4, 5]);
    let response = http
        .get(format!("{base}/__admin/received/stream?since=3&path=/n/4"))
        .send()
        .await
        .expect("connected");
    let mut stream = response.bytes_stream();
    let events = read_events(&mut stream, |events| !events.is_empty()).await;
    assert_eq!(events[0].1["path"], "/n/4", "filters apply to the stream");
}

/// Lists say what they are a page of, and older pages are reached by ID.
#[tokio::test]
async fn lists_count_what_matches_and_page_back_by_id() {
    let out = TempFile::new("pages");
    let base = recorder(settings(&out, &[])).await;
    let http = hookmock::wire::client();
    for n in 0..30 {
        let body = if n % 3 == 0 {
            "{\"kind\": \"Needle\"}"
        } else {
            "{}"
        };
        http.post(format!("{base}/p/{n}"))
            .body(body)
            .send()
            .await
            .expect("sent");
    }
    let response = http
        .get(format!(
            "{base}/__admin/received?q=needle&limit=4&view=summary"
        ))
        .send()
        .await
        .expect("sent");
    let header = |name: &str| response.headers()[name].to_str().expect("text").to_owned();
    assert_eq!(
        (
            header("x-total-count"),
            header("x-stored-count"),
            header("x-last-id")
        ),
        ("10".to_owned(), "30".to_owned(), "30".to_owned())
    );
    let page: Vec<Value> = response.json().await.expect("JSON");
    let ids: Vec<u64> = page.iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [28, 25, 22, 19]);
    assert!(page[0].get("body").is_none(), "a summary has no body");
    let older = received(&base, "?q=needle&limit=4&before=19").await;
    let ids: Vec<u64> = older.iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [16, 13, 10, 7]);
}

/// Ctrl-C ends the open event streams (an open page) and the process within two seconds, for
/// `hookmock record` and `serve --record` alike.
#[tokio::test]
async fn ctrl_c_exits_promptly_with_an_event_stream_open() {
    for name in ["record", "serve"] {
        let out = TempFile::new(&format!("sigint-{name}"));
        let file = out.0.to_string_lossy().into_owned();
        let args: Vec<&str> = match name {
            "record" => vec!["record", "--port", "0", "--out", &file],
            _ => vec!["serve", "--port", "0", "--record", &file],
        };
        let mut served = crate::harness::Served::command(&args);
        let response = crate::harness::get(format!("{}/__admin/received/stream", served.url))
            .await
            .expect("connected");
        assert_eq!(response.status(), 200, "{name}");
        let mut stream = response.bytes_stream();
        served.signal("INT");
        let asked = std::time::Instant::now();
        let exited = loop {
            if let Some(status) = served.child.try_wait().expect("waits") {
                break Some(status);
            }
            if asked.elapsed() > Duration::from_secs(2) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            exited.is_some_and(|s| s.success()),
            "{name}: still running 2 s after SIGINT ({exited:?})"
        );
        let end = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
        assert!(end.is_ok(), "{name}: the stream ended");
    }
}
