//! Bad input never hurts it: a corpus of hostile requests, each answered with a clear 4xx, and
//! the server healthy after every one. Sent to the server directly (not through the test
//! forwarder), some as raw bytes.

use hookmock::server::{Bound, Config};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::TestServer;

async fn start(config: Config) -> String {
    crate::harness::spawn(Bound::new(&config).await.expect("starts")).await
}

async fn healthy(http: &reqwest::Client, base: &str) {
    let status = http
        .get(format!("{base}/api/v1/webhooks"))
        .bearer_auth("t")
        .send()
        .await
        .expect("still answering")
        .status();
    assert_eq!(status, 200, "the server is healthy");
}

/// A request as raw bytes over TCP; answers the status line.
async fn raw(base: &str, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .expect("connects");
    stream.write_all(request).await.expect("written");
    let mut answer = vec![0; 512];
    let n = stream.read(&mut answer).await.unwrap_or(0);
    String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn hostile_bodies_get_a_clear_4xx_and_the_server_stays_healthy() {
    let base = start(TestServer::config()).await;
    let http = hookmock::wire::client();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge_url = format!(
        "{{\"url\": \"https://x.example.com/{}\", \"events\": [\"x\"]}}",
        "a".repeat(900_000)
    );
    let corpus: Vec<(&str, Vec<u8>, &str, u16)> = vec![
        ("truncated JSON", b"{\"url\": ".to_vec(), "application/json", 400),
        ("100,000-deep nesting", deep.into_bytes(), "application/json", 400),
        ("a number beyond f64", b"{\"url\": 1e400}".to_vec(), "application/json", 400),
        ("a 900 KB string", huge_url.into_bytes(), "application/json", 400),
        ("duplicate keys", b"{\"url\": \"https://a.example.com\", \"url\": \"https://b.example.com\", \"events\": [\"x\"]}".to_vec(), "application/json", 400),
        ("invalid UTF-8", b"{\"url\": \"\xff\xfe\"}".to_vec(), "application/json", 400),
        ("a raw NUL byte", b"{\"url\": \"a\x00b\"}".to_vec(), "application/json", 400),
        ("over the body limit", vec![b' '; 2 * 1024 * 1024], "application/json", 413),
        ("a wrong content type", b"{}".to_vec(), "text/plain", 415),
        ("no content type", b"{}".to_vec(), "", 415),
    ];
    for (name, body, content_type, expected) in corpus {
        let mut request = http
            .post(format!("{base}/api/v1/webhooks"))
            .bearer_auth("t")
            .body(body);
        if !content_type.is_empty() {
            request = request.header("Content-Type", content_type);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, expected, "{name}: {text}");
        assert!(
            text.contains("\"errors\""),
            "{name}: a body that says what is wrong: {text}"
        );
        healthy(&http, &base).await;
    }
}

#[tokio::test]
async fn hostile_paths_headers_and_parameters_get_a_clear_4xx() {
    let base = start(TestServer::config()).await;
    let http = hookmock::wire::client();
    let get = |path: &str| http.get(format!("{base}{path}")).bearer_auth("t").send();
    for (path, expected) in [
        ("/api/v1/webhooks/%00", 404),
        ("/api/v1/webhooks/..%2F..%2Fetc%2Fpasswd", 404),
        ("/api/v3/notification/webhooks?page%5B=1", 400),
        ("/api/v3/notification/webhooks?filter%5B%5D%5B%5D=1", 400),
        ("/api/v1/webhooks?perPage=99999999999999999999999", 400),
    ] {
        let response = get(path).await.expect("sent");
        assert_eq!(
            response.status().as_u16(),
            expected,
            "{path}: {}",
            response.text().await.unwrap_or_default()
        );
        healthy(&http, &base).await;
    }
    let big = HeaderValue::from_str(&"a".repeat(100_000)).expect("a header");
    let response = http
        .get(format!("{base}/api/v1/webhooks"))
        .bearer_auth("t")
        .header(HeaderName::from_static("x-big"), big)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 431);
    let obs_text =
        HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("obs-text is allowed on the wire");
    let response = http
        .get(format!("{base}/api/v1/webhooks"))
        .header("Authorization", obs_text)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);
    assert!(
        raw(
            &base,
            b"GET /api/v1/webhooks/\xff\x00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n"
        )
        .await
        .contains(" 400 "),
        "invalid bytes in the path"
    );
    assert!(
        raw(&base, b"GARBAGE\r\n\r\n").await.contains(" 400 "),
        "not HTTP at all"
    );
    healthy(&http, &base).await;
}

/// Every route answers every method it does not have with 405 and `Allow`.
#[tokio::test]
async fn every_route_refuses_every_wrong_method() {
    let base = start(TestServer::config()).await;
    let http = hookmock::wire::client();
    let mut checked = 0;
    for op in hookmock::generated::OPERATIONS {
        let path = op
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let allowed: Vec<&str> = hookmock::generated::OPERATIONS
            .iter()
            .filter(|o| o.path == op.path)
            .map(|o| o.method)
            .collect();
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .into_iter()
            .filter(|m| !allowed.contains(m))
        {
            let response = http
                .request(
                    Method::from_bytes(method.as_bytes()).expect("a method"),
                    format!("{base}{path}"),
                )
                .bearer_auth("t")
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 405, "{method} {path}");
            assert!(response.headers().contains_key("allow"), "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked}");
    healthy(&http, &base).await;
}
