//! The web page in a real browser: Debian's Chromium, driven by its chromedriver over the W3C
//! WebDriver protocol. Open `/__ui`, send a signed webhook, see it appear without a reload, open
//! it, read its verdict.
//!
//! `.ci/run` installs chromium and chromium-driver and sets `HOOKMOCK_BROWSER_TESTS=1`, which
//! makes a missing driver a failure; elsewhere the test says it was skipped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt as _;
use hookmock::recorder::verify::Secret;
use hookmock::recorder::{Fsync, Settings};
use hookmock::server::Bound;
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
        let http = hookmock::wire::client();
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

    /// Runs `script` in the page (a function body; `arguments` are `args`) and answers its value.
    async fn execute(&self, script: &str, args: Value) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Waits (at most 20 s) until `script` answers `true`; fails with what it last answered.
    async fn wait_until(&self, what: &str, script: &str) {
        let mut last = Value::Null;
        for _ in 0..400 {
            last = self.execute(script, json!([])).await;
            if last == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: still {last} after 20 s");
    }

    /// Types `keys` (WebDriver key codes allowed) into the element that has the focus.
    async fn press(&self, keys: &str) {
        let active = self
            .command(reqwest::Method::GET, "/element/active", None)
            .await;
        let id = active
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": keys })),
        )
        .await;
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

/// Whether the browser tests can run here; with `HOOKMOCK_BROWSER_TESTS` set they must.
fn browser_available() -> bool {
    if std::path::Path::new(DRIVER).exists() {
        return true;
    }
    assert!(
        std::env::var_os("HOOKMOCK_BROWSER_TESTS").is_none(),
        "HOOKMOCK_BROWSER_TESTS is set but {DRIVER} is missing"
    );
    eprintln!("skipped: no {DRIVER} (install chromium and chromium-driver, as .ci/run does)");
    false
}

const SECRET: &str = "It's a Secret to Everybody";

/// `hookmock record` in-process on a free port, verifying GitHub signatures with [`SECRET`];
/// stopped (as Ctrl-C stops it) when `stop` is sent or dropped.
struct Recording {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    out: std::path::PathBuf,
}

impl Recording {
    async fn start(max_records: usize) -> Self {
        let out = std::env::temp_dir().join(format!(
            "hookmock-ui-{}.ndjson",
            uuid::Uuid::new_v4().simple()
        ));
        Self::on(out, max_records).await
    }

    /// On an existing NDJSON file.
    async fn on(out: std::path::PathBuf, max_records: usize) -> Self {
        let settings = Settings {
            fsync: Fsync::Batch,
            max_records,
            secrets: vec![Secret::parse(&format!("github={SECRET}"), 1)],
            ..Settings::new(out.clone())
        };
        let bound = Bound::recorder(settings, "127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("starts");
        let base = format!("http://{}", bound.local_addr().expect("an address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.run(
            async move {
                let _ = stopped.await;
            },
            Duration::ZERO,
        ));
        Self {
            base,
            stop: Some(stop),
            out,
        }
    }

    fn stop(&mut self) {
        self.stop.take();
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.out);
    }
}

/// A GitHub-signed webhook to `path`.
async fn send(http: &reqwest::Client, base: &str, path: &str, body: String) {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("a key");
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    http.post(format!("{base}{path}"))
        .header("X-Hub-Signature-256", signature)
        .header("X-GitHub-Event", "push")
        .body(body)
        .send()
        .await
        .expect("sent");
}

/// `count` signed webhooks of about `size` bytes, 16 at a time.
async fn burst(base: &str, count: usize, size: usize) {
    let http = hookmock::wire::client();
    let padding = "x".repeat(size);
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |n| {
            let (http, padding) = (&http, &padding);
            async move {
                let body = json!({"n": n, "padding": padding}).to_string();
                send(http, base, &format!("/burst/{n}"), body).await;
            }
        })
        .await;
}

/// Opens the page and waits until it is live.
async fn open_live(browser: &Browser, base: &str) {
    browser.open(&format!("{base}/__ui")).await;
    browser
        .wait_until(
            "the status",
            "return document.getElementById('status').textContent === 'live'",
        )
        .await;
}

/// Records the main thread's long tasks (over 50 ms), for [`longest_task`].
const WATCH_LONG_TASKS: &str = "window.longTasks = []; new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true }); return true;";

async fn longest_task(browser: &Browser) -> f64 {
    browser
        .execute("return Math.max(0, ...window.longTasks);", json!([]))
        .await
        .as_f64()
        .unwrap_or(f64::MAX)
}

#[tokio::test]
async fn the_page_shows_a_new_webhook_without_reload_and_its_verdict() {
    if !browser_available() {
        return;
    }
    let recording = Recording::start(1000).await;
    let base = recording.base.clone();
    let browser = Browser::start().await;
    browser.open(&format!("{base}/__ui")).await;
    let status = browser.find_all("#status").await;
    for _ in 0..200 {
        if browser.text(&status[0]).await == "live" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    hookmock::wire::client()
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

    let rows = browser.find_all("#records tr[data-id]").await;
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
}

/// A CI-sized burst with the page open: every record reaches the list, all of it can be
/// scrolled to, the page never freezes, a deep row opens in a pane that stays in view, and the
/// keyboard alone can move, open and close.
#[tokio::test]
async fn a_burst_of_2000_reaches_the_page_which_stays_responsive() {
    if !browser_available() {
        return;
    }
    let recording = Recording::start(10_000).await;
    let browser = Browser::start().await;
    browser
        .command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 1400, "height": 900})),
        )
        .await;
    open_live(&browser, &recording.base).await;
    browser.execute(WATCH_LONG_TASKS, json!([])).await;
    burst(&recording.base, 2000, 1024).await;
    browser
        .wait_until(
            "every record counted",
            "return document.getElementById('counts').textContent.startsWith('2000 of 2000')",
        )
        .await;
    let longest = longest_task(&browser).await;
    // The benchmark holds the page to 200 ms; here a freeze (the old page's was 31 s) fails.
    assert!(longest < 1000.0, "a main-thread task took {longest} ms");

    browser
        .execute(
            "const v = document.getElementById('viewport'); v.scrollTop = v.scrollHeight; return true;",
            json!([]),
        )
        .await;
    browser
        .wait_until(
            "the oldest row drawn",
            "return !!document.querySelector('#records tr[data-id=\"1\"]')",
        )
        .await;
    browser
        .execute(
            "document.getElementById('viewport').scrollTop = 1500 * 28; return true;",
            json!([]),
        )
        .await;
    browser
        .wait_until(
            "row 500 drawn",
            "return !!document.querySelector('#records tr[data-id=\"500\"]')",
        )
        .await;
    let row = browser.find_all("#records tr[data-id=\"500\"]").await;
    browser.click(&row[0]).await;
    browser
        .wait_until(
            "the detail pane of row 500, in view",
            "const d = document.getElementById('detail'); const r = d.getBoundingClientRect(); return !d.hidden && !!d.querySelector('#verdict') && d.textContent.includes('#500,') && r.top >= 0 && r.top < window.innerHeight && r.right <= window.innerWidth + 1;",
        )
        .await;
    browser
        .wait_until(
            "every column of the list in view beside the pane",
            "const t = document.getElementById('received-table').getBoundingClientRect(); const d = document.getElementById('detail').getBoundingClientRect(); return t.right <= d.left && document.documentElement.scrollWidth <= window.innerWidth;",
        )
        .await;

    // The keyboard: Esc closes, / filters, arrows move, Enter opens.
    browser.press("\u{E00C}").await;
    browser
        .wait_until(
            "Esc closes the pane",
            "return document.getElementById('detail').hidden",
        )
        .await;
    browser.press("/").await;
    browser
        .wait_until(
            "/ focuses the filter",
            "return document.activeElement.id === 'filter'",
        )
        .await;
    browser.press("\u{E00C}").await;
    browser
        .execute(
            "document.getElementById('viewport').scrollTop = 0; return true;",
            json!([]),
        )
        .await;
    browser.press("\u{E015}").await;
    browser.press("\u{E015}").await;
    browser
        .wait_until(
            "two arrows down focus the second row",
            "return document.activeElement.dataset.id === '1999'",
        )
        .await;
    browser.press("\u{E007}").await;
    browser
        .wait_until(
            "Enter opens it",
            "const d = document.getElementById('detail'); return !d.hidden && d.textContent.includes('#1999,');",
        )
        .await;
    browser.quit().await;
}

/// The filter searches the whole history on the server, not the rows the page holds; when the
/// server goes away, the page says so.
#[tokio::test]
async fn the_filter_finds_an_old_record_and_a_stopped_server_is_shown() {
    if !browser_available() {
        return;
    }
    let mut recording = Recording::start(10_000).await;
    let http = hookmock::wire::client();
    send(
        &http,
        &recording.base,
        "/old",
        json!({"needle": "only-in-the-first"}).to_string(),
    )
    .await;
    burst(&recording.base, 400, 64).await;
    let browser = Browser::start().await;
    open_live(&browser, &recording.base).await;
    browser
        .wait_until(
            "one page of the newest, and the total",
            "return document.getElementById('counts').textContent.startsWith('200 of 401')",
        )
        .await;
    let filter = browser.find_all("#filter").await;
    browser
        .command(
            reqwest::Method::POST,
            &format!("/element/{}/value", filter[0]),
            Some(json!({"text": "only-in-the-first"})),
        )
        .await;
    browser
        .wait_until(
            "the old record alone",
            "const rows = [...document.querySelectorAll('#records tr[data-id]')]; return rows.length === 1 && rows[0].dataset.id === '1' && document.getElementById('counts').textContent === '1 of 1 matching (401 stored)';",
        )
        .await;
    assert!(
        browser
            .execute("return location.search;", json!([]))
            .await
            .as_str()
            .is_some_and(|q| q.contains("q=only-in-the-first")),
        "the filter is kept in the URL"
    );
    browser
        .command(
            reqwest::Method::POST,
            &format!("/element/{}/clear", filter[0]),
            Some(json!({})),
        )
        .await;
    browser
        .command(
            reqwest::Method::POST,
            &format!("/element/{}/value", filter[0]),
            Some(json!({"text": "matches-nothing"})),
        )
        .await;
    browser
        .wait_until(
            "no matches, said",
            "const e = document.getElementById('no-records'); return !e.hidden && e.textContent.includes('No received webhooks match');",
        )
        .await;

    recording.stop();
    browser
        .wait_until(
            "the lost connection, shown",
            "const e = document.getElementById('error'); return !e.hidden && e.textContent.includes('lost');",
        )
        .await;
    browser.quit().await;
}

/// The benchmark of the page at volume (not a test: it prints what it measures). Run with
/// `cargo test --release --test it page_at_volume -- --ignored --nocapture`; the targets are
/// 2,000 webhooks on screen within 2 s of the last one sent, no main-thread task over 200 ms,
/// and a page over 100,000 stored records loaded in under 1 s.
#[tokio::test]
#[ignore = "a benchmark: run it on purpose"]
async fn page_at_volume() {
    if !browser_available() {
        return;
    }
    let recording = Recording::start(200_000).await;
    let browser = Browser::start().await;
    open_live(&browser, &recording.base).await;
    browser.execute(WATCH_LONG_TASKS, json!([])).await;
    let started = std::time::Instant::now();
    burst(&recording.base, 2000, 1024).await;
    let sent = started.elapsed();
    browser
        .wait_until(
            "every record counted",
            "return document.getElementById('counts').textContent.startsWith('2000 of 2000')",
        )
        .await;
    let on_screen = started.elapsed() - sent;
    let longest = longest_task(&browser).await;
    println!(
        "burst: 2000 sent in {sent:.2?}; all on screen {on_screen:.2?} after the last (target 2 s); longest main-thread task {longest:.0} ms (target 200 ms)"
    );
    browser
        .command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 1400, "height": 900})),
        )
        .await;
    let row = browser.find_all("#records tr[data-id]").await;
    browser.click(&row[3]).await;
    browser.find_all("#verdict").await;
    let replay = browser.find_all("#replay").await;
    browser.click(&replay[0]).await;
    let png = browser
        .command(reqwest::Method::GET, "/screenshot", None)
        .await;
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap_or_default())
        .unwrap_or_default();
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("recorder-page-1400.png");
    std::fs::write(&shot, png).expect("the screenshot is written");
    println!(
        "screenshot at 1400 px with a record open: {}",
        shot.display()
    );

    burst(&recording.base, 98_000, 64).await;
    let reload = std::time::Instant::now();
    browser.open(&format!("{}/__ui", recording.base)).await;
    browser
        .wait_until(
            "the newest page of 100,000",
            "return document.getElementById('counts').textContent.startsWith('200 of 100000')",
        )
        .await;
    println!(
        "100,000 stored: page loaded and listed in {:.2?} (target 1 s)",
        reload.elapsed()
    );
    browser.quit().await;
}
