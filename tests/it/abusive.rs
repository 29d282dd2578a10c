//! Slow and abusive clients do not hold the server: a head that trickles in is cut off, a body
//! that never completes is answered 408, and past the connection cap new clients wait their
//! turn instead of exhausting the server. Every wait here is bounded.

use std::time::{Duration, Instant};

use hookmock::limits::Limits;
use hookmock::server::Bound;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::TestServer;

async fn start(limits: Limits) -> String {
    let bound = Bound::new(&TestServer::config()).await.expect("starts");
    crate::harness::spawn(bound.with_limits(limits)).await
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// Reads until the server closes or `limit` passes; answers what arrived and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&answer).into(), true),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => break,
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), false)
}

async fn get_ok(http: &reqwest::Client, base: &str) -> bool {
    let answer = http
        .get(format!("{base}/api/v1/webhooks"))
        .bearer_auth("t")
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    answer.is_ok_and(|a| a.status() == 200)
}

/// A slowloris client sends a header line every 100 ms and never finishes its head: it is
/// disconnected at the header deadline, and other clients are answered all the while.
#[tokio::test]
async fn a_head_that_trickles_in_is_cut_off_without_holding_others_up() {
    let base = start(Limits {
        header_timeout: Duration::from_millis(500),
        ..Limits::default()
    })
    .await;
    let mut slow = connect(&base).await;
    slow.write_all(b"GET /api/v1/webhooks HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("written");
    let http = hookmock::wire::client();
    let started = Instant::now();
    let mut cut_off = None;
    for line in 0..40 {
        if slow
            .write_all(format!("X-Slow-{line}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            cut_off = Some(started.elapsed());
            break;
        }
        assert!(
            get_ok(&http, &base).await,
            "another client is answered meanwhile"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if cut_off.is_none() {
        let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(1)).await;
        assert!(closed, "the slow connection is still open after 4 s");
        cut_off = Some(started.elapsed());
    }
    let cut_off = cut_off.unwrap_or_default();
    assert!(
        cut_off < Duration::from_secs(3),
        "cut off after {cut_off:?}"
    );
}

/// A body announced as 100 bytes of which 10 arrive is answered 408 at the body deadline, in
/// the vendor's error shape.
#[tokio::test]
async fn a_body_that_never_completes_is_answered_408() {
    let base = start(Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut stream = connect(&base).await;
    let head = "POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\
                Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"url\": \"h";
    stream.write_all(head.as_bytes()).await.expect("written");
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within"), "{answer}");
}

/// With a cap of 2, two idle connections fill it: a third client waits (it is not refused) and
/// is answered as soon as one of them closes.
#[tokio::test]
async fn past_the_connection_cap_a_client_waits_for_a_free_slot() {
    let base = start(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let first = connect(&base).await;
    let _second = connect(&base).await;
    let http = hookmock::wire::client();
    let waiting = tokio::spawn({
        let base = base.clone();
        async move { get_ok(&http, &base).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the third client was served past the cap"
    );
    drop(first);
    let answered = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("answered once a slot is free")
        .expect("the task");
    assert!(answered, "the third client gets its 200");
}
