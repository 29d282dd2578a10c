//! The web page in a real browser: Debian's Chromium, driven by its chromedriver over the W3C
//! WebDriver protocol. Open `/__ui`, send a signed webhook, see it appear without a reload, open
//! it, read its verdict.
//!
//! `.ci/run` installs chromium and chromium-driver and sets `HOOKMOCK_BROWSER_TESTS=1`, which
//! makes a missing driver a failure; elsewhere the test says it was skipped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hookmock::recorder::{Fsync, Settings};
use hookmock::server::Bound;
use hookmock::verify::Secret;
use serde_json::{Value, json};

const DRIVER: &str = "/usr/bin/chromedriver";
const BROWSER: &str = "/usr/bin/chromium";

/// A chromedriver process and one headless browser session, both ended on drop.
struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    profile: std::path::PathBuf,
}

impl Browser {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(format!(
            "hookmock-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": BROWSER, "args": args}}}});
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut session = None;
        for _ in 0..100 {
            if let Ok(response) = http
                .post(format!("{base}/session"))
                .json(&capabilities)
                .send()
                .await
            {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                session = body["value"]["sessionId"]
                    .as_str()
                    .map(|id| format!("{base}/session/{id}"));
                assert!(session.is_some(), "no session: {body}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            driver,
            http,
            session: session.expect("chromedriver answered"),
            profile,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The elements matching `css`, waiting up to 10 s for at least one.
    async fn find_all(&self, css: &str) -> Vec<String> {
        for _ in 0..200 {
            let found = self
                .command(
                    reqwest::Method::POST,
                    "/elements",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            let ids: Vec<String> = found
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_object()?.values().next()?.as_str().map(str::to_owned))
                .collect();
            if !ids.is_empty() {
                return ids;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no element matches {css}");
    }

    async fn text(&self, element: &str) -> String {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn click(&self, element: &str) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }
}

impl Browser {
    /// Ends the WebDriver session, which closes Chromium (killing chromedriver alone would leave
    /// the browser running).
    async fn quit(&self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed before `quit`: Chromium's processes are the ones with our profile.
        let _ = std::process::Command::new("pkill")
            .arg("-f")
            .arg(self.profile.as_os_str())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[tokio::test]
async fn the_page_shows_a_new_webhook_without_reload_and_its_verdict() {
    if !std::path::Path::new(DRIVER).exists() {
        assert!(
            std::env::var_os("HOOKMOCK_BROWSER_TESTS").is_none(),
            "HOOKMOCK_BROWSER_TESTS is set but {DRIVER} is missing"
        );
        eprintln!("skipped: no {DRIVER} (install chromium and chromium-driver, as .ci/run does)");
        return;
    }
    let out = std::env::temp_dir().join(format!(
        "hookmock-ui-{}.ndjson",
        uuid::Uuid::new_v4().simple()
    ));
    let settings = Settings {
        fsync: Fsync::Batch,
        secrets: vec![Secret::parse("github=It's a Secret to Everybody", 1)],
        ..Settings::new(out.clone())
    };
    let bound = Bound::recorder(settings, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    let base = crate::harness::spawn(bound).await;

    let browser = Browser::start().await;
    browser.open(&format!("{base}/__ui")).await;
    let status = browser.find_all("#status").await;
    for _ in 0..200 {
        if browser.text(&status[0]).await == "live" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    reqwest::Client::new()
        .post(format!("{base}/github/push"))
        .header(
            "X-Hub-Signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )
        .header("X-GitHub-Event", "push")
        .body("Hello, World!")
        .send()
        .await
        .expect("sent");

    let rows = browser.find_all("#records tr").await;
    assert_eq!(rows.len(), 1);
    let row = browser.text(&rows[0]).await;
    assert!(
        row.contains("/github/push") && row.contains("push") && row.contains("verified"),
        "{row}"
    );
    browser.click(&rows[0]).await;
    let verdict = browser.find_all("#verdict").await;
    assert_eq!(
        browser.text(&verdict[0]).await,
        "Signature: verified (github, github)"
    );
    let raw = browser.find_all("#body-raw").await;
    assert_eq!(browser.text(&raw[0]).await, "Hello, World!");
    browser.quit().await;
    let _ = std::fs::remove_file(out);
}
