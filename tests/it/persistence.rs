//! Nothing lost: `--state-file` keeps the stores across restarts, and a `kill -9` at any moment,
//! mid-save included, leaves the old state or the new one, never a broken file. Against the
//! real binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::Served;

fn scratch(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("hookmock-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a scratch folder");
    folder
}

async fn create(http: &reqwest::Client, url: &str, n: usize) -> bool {
    let body =
        json!({"url": format!("https://hooks.example.com/{n}"), "events": ["workorder.created"]});
    http.post(format!("{url}/api/v1/webhooks"))
        .bearer_auth("team-a")
        .json(&body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

/// How many Field Nation webhooks team A has.
async fn count(url: &str) -> u64 {
    count_of(url, "team-a").await
}

async fn count_of(url: &str, tenant: &str) -> u64 {
    let listing: Value = hookmock::wire::client()
        .get(format!("{url}/api/v1/webhooks?perPage=1"))
        .bearer_auth(tenant)
        .send()
        .await
        .expect("listed")
        .json()
        .await
        .expect("JSON");
    listing["metadata"]["total"].as_u64().expect("a total")
}

fn start(file: &Path) -> Served {
    Served::start(&["--no-fixtures", "--state-file", &file.to_string_lossy()])
}

#[tokio::test]
async fn the_state_survives_a_restart() {
    let folder = scratch("state-restart");
    let file = folder.join("state.json");
    let served = start(&file);
    let http = hookmock::wire::client();
    for n in 0..3 {
        assert!(create(&http, &served.url, n).await);
    }
    assert!(served.terminate().success(), "a clean exit on SIGTERM");
    let again = start(&file);
    assert_eq!(
        count(&again.url).await,
        3,
        "saved at shutdown, loaded at start"
    );
    // Another tenant still starts from the fixtures (here: none).
    assert_eq!(count_of(&again.url, "team-b").await, 0);
    drop(again);
    std::fs::remove_dir_all(&folder).expect("cleaned up");
}

/// A state file saved by a hookmock from before Field Nation, Ingedata and Patchworks stood on
/// the generic engine (each kept its records as `{last_id, items}`) keeps loading: the records
/// are there under their identifiers, a create takes the next number, a webhook whose receiver
/// had answered 410 is still not delivered to, and a Patchworks trigger still starts its flow.
#[tokio::test]
async fn a_state_file_of_the_earlier_shape_keeps_loading() {
    let folder = scratch("state-earlier");
    let file = folder.join("state.json");
    let state = json!({"apis": {
        "fieldnation": {"webhooks": {"team-a": {"last_id": 41, "items": {"41": {
            "id": 41, "webhookId": "wh_old000000041", "companyId": 1, "userId": 1,
            "url": "https://hooks.example.com/old", "method": "post", "status": "active",
            "events": ["workorder.created"], "modelProperties": [], "isIntegrationOnly": false,
            "createdAt": "2025-01-15T10:00:00Z", "updatedAt": "2025-01-15T10:00:00Z"}}}}},
        "ingedata": {"webhooks": {"team-a": {"last_id": 7, "items": {"7": {
            "id": 7, "name": "Old", "url": "https://hooks.example.com/gone", "secret": "whsec_b2xk",
            "events": ["task.created"], "scopes": {}, "disabled": true,
            "created_at": "2025-01-15T10:00:00Z", "updated_at": "2025-01-15T10:00:00Z"}}}}},
        "patchworks": {
            "flows": {"team-a": {"last_id": 15, "items": {"15": {"id": 15, "name": "Nightly"}}}},
            "callbacks": {"team-a": {"last_id": 9, "items": {}}},
            "webhooks": {"team-a": {"last_id": 50, "items": {"50": {
            "id": 50, "flow_id": 15, "status": "Deployed", "format": "json", "body": "b",
            "hmac_algorithm": null, "hmac_secret_key": null, "token": null,
            "created_at": "2025-01-15T10:00:00Z", "updated_at": "2025-01-15T10:00:00Z"}}}}}}});
    std::fs::write(&file, state.to_string()).expect("written");
    let served = start(&file);
    let http = hookmock::wire::client();
    let get = |path: String| {
        let http = &http;
        async move {
            let answer = http
                .get(path)
                .bearer_auth("team-a")
                .send()
                .await
                .expect("answered");
            (
                answer.status().as_u16(),
                answer.json::<Value>().await.expect("JSON"),
            )
        }
    };
    let post = |path: String, body: Value| {
        let http = &http;
        async move {
            let answer = http.post(path).bearer_auth("team-a").json(&body).send();
            let answer = answer.await.expect("answered");
            answer.json::<Value>().await.expect("JSON")
        }
    };
    let (status, old) = get(format!("{}/api/v1/webhooks/wh_old000000041", served.url)).await;
    assert_eq!((status, &old["result"]["id"]), (200, &json!(41)), "{old}");
    assert!(create(&http, &served.url, 1).await);
    let (_, listed) = get(format!(
        "{}/api/v1/webhooks?sortBy=id&sortDir=desc",
        served.url
    ))
    .await;
    assert_eq!(listed["result"][0]["id"], 42, "the next number: {listed}");
    let (status, old) = get(format!("{}/api/v3/notification/webhooks/7", served.url)).await;
    assert_eq!(
        (status, &old["data"]["attributes"]["name"]),
        (200, &json!("Old")),
        "{old}"
    );
    assert!(old["data"]["attributes"].get("disabled").is_none(), "{old}");
    let event = json!({"api": "ingedata", "event": "task.created", "tenant": "team-a"});
    let queued = post(format!("{}/__admin/events", served.url), event).await;
    assert_eq!(queued["queued"], json!([]), "gone stays gone: {queued}");

    let (status, triggers) = get(format!("{}/api/v1/flows/15/webhooks", served.url)).await;
    assert_eq!(status, 200, "{triggers}");
    let ids: Vec<&Value> = triggers["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(
        ids,
        [&json!(50)],
        "what team-a had, not the fixtures: {triggers}"
    );
    let url = triggers["data"][0]["url"].as_str().expect("a trigger URL");
    let run = http.post(url).body("{}").send().await.expect("answered");
    assert_eq!(
        run.status().as_u16(),
        200,
        "a Deployed trigger starts its flow"
    );
    for (kind, next) in [("webhooks", 51), ("callbacks", 10)] {
        let created = post(format!("{}/api/v1/flows/15/{kind}", served.url), json!({})).await;
        assert_eq!(created["data"]["id"], next, "the next number: {created}");
    }
    drop(served);
    std::fs::remove_dir_all(&folder).expect("cleaned up");
}

/// A state file that is not one stops the start, naming the file: it is never overwritten.
#[tokio::test]
async fn a_broken_state_file_stops_the_start_and_is_kept() {
    let folder = scratch("state-broken");
    let file = folder.join("state.json");
    std::fs::write(&file, b"{\"apis\": {\"fieldnation\": ").expect("written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hookmock"))
        .args(["serve", "--port", "0", "--state-file"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("state.json") && stderr.contains("not a state document"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&file).expect("kept"),
        b"{\"apis\": {\"fieldnation\": "
    );
    std::fs::remove_dir_all(&folder).expect("cleaned up");
}

/// Four writers create webhooks while the server is killed with SIGKILL, six times: at fixed
/// moments, and (every other round) as soon as a save's temporary file appears, so that kills
/// land mid-save (the 20,000-webhook store makes a save take a while). After every kill the file parses and the restarted server holds at
/// least what it held before and at most what was acknowledged.
#[tokio::test]
async fn a_sigkill_at_any_moment_leaves_a_whole_state_file() {
    let folder = scratch("state-kill");
    let file = folder.join("state.json");
    let seed = json!({"apis": {"fieldnation": {"webhooks": {"team-a": {
        "sequences": {"fieldnation /api/v1/webhooks id": 20_000},
        "collections": {"/api/v1/webhooks": (1..=20_000).map(|id| (format!("wh_{id:012}"), json!({
            "id": id, "webhookId": format!("wh_{id:012}"), "companyId": 1, "userId": 1,
            "url": format!("https://hooks.example.com/{id}"), "method": "post", "status": "active",
            "events": ["workorder.created"], "modelProperties": [], "isIntegrationOnly": false,
            "createdAt": "2025-01-15T10:00:00Z", "updatedAt": "2025-01-15T10:00:00Z"})))
            .collect::<serde_json::Map<_, _>>()}}}}}});
    std::fs::write(&file, seed.to_string()).expect("seeded");
    let acknowledged = Arc::new(AtomicU64::new(20_000));
    let mut held: u64 = 20_000;
    let mut mid_save = 0;
    for (round, run_for) in [150u64, 420, 260, 610, 330, 500].into_iter().enumerate() {
        let served = start(&file);
        assert!(
            count(&served.url).await >= held,
            "round {round}: lost state"
        );
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (url, stop, acknowledged) =
                    (served.url.clone(), stop.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    let http = hookmock::wire::client();
                    // Bounded: at most 2,000 creates a writer a round.
                    for n in 0..2_000 {
                        if stop.load(Ordering::SeqCst) || !create(&http, &url, w * 10_000 + n).await
                        {
                            break;
                        }
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(run_for)).await;
        if round % 2 == 1 {
            // Aim at a save: kill as soon as its temporary file appears (within 3 s).
            let temporary = folder.join(".state.json.tmp");
            for _ in 0..3_000 {
                if temporary.exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        drop(served); // SIGKILL, mid-stream
        stop.store(true, Ordering::SeqCst);
        for writer in writers {
            writer.await.expect("a writer");
        }
        if folder.join(".state.json.tmp").exists() {
            mid_save += 1;
        }
        let text = std::fs::read(&file).expect("the state file is there");
        let state: Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("round {round}: the state file is torn: {e}"));
        let saved =
            state["apis"]["fieldnation"]["webhooks"]["team-a"]["collections"]["/api/v1/webhooks"]
                .as_object()
                .map_or(0, |items| items.len() as u64);
        assert!(
            saved >= held,
            "round {round}: {saved} saved, {held} held before"
        );
        assert!(
            saved <= acknowledged.load(Ordering::SeqCst),
            "round {round}: more than created"
        );
        held = saved;
    }
    eprintln!("{mid_save} of 6 kills left a temporary file behind (killed mid-save)");
    assert!(mid_save > 0, "no kill landed mid-save");
    let last = start(&file);
    assert_eq!(count(&last.url).await, held, "the last state loads");
    drop(last);
    std::fs::remove_dir_all(&folder).expect("cleaned up");
}
