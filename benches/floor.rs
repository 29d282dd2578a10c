//! The floor of `benches/compare.py`: the fastest a plain axum server answers on this machine,
//! with nothing hookmock does (no routing table, validation, store or journal).
//!
//! `GET` anything: a fixed 566-byte JSON (a Field Nation webhook list of one). `POST` anything:
//! the request body echoed back with 201, which is the least a create can do.
//!
//! `compare.py` runs it as `floor --serve PORT`; run by `cargo bench` (which passes `--bench`), it
//! only checks that it can answer once and exits, so `cargo bench` stays bounded.

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// A 566-byte JSON body, the size of the benchmark's reference figure.
fn fixed_body() -> String {
    let item = r#"{"id":1,"url":"https://hooks.example.com/fieldnation","method":"post","status":"active","events":["workorder.created","workorder.status.published"],"secret":"whsec_0123456789abcdef","notificationEmail":"ops@example.com","createdAt":"2025-01-15T10:30:00Z","updatedAt":"2025-01-15T10:30:00Z"}"#;
    let mut body = format!(
        r#"{{"metadata":{{"timestamp":"2025-01-15T10:30:00Z","count":1,"total":1}},"result":[{item}],"pad":""}}"#
    );
    let pad = 566usize.saturating_sub(body.len());
    body.insert_str(body.len() - 2, &"x".repeat(pad));
    body
}

fn app() -> Router {
    let body: &'static str = Box::leak(fixed_body().into_boxed_str());
    let json = || [(header::CONTENT_TYPE, "application/json")];
    Router::new().fallback(get(move || async move { (json(), body) }).post(
        move |bytes: Bytes| async move { (StatusCode::CREATED, json(), bytes).into_response() },
    ))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let serve = args.iter().position(|a| a == "--serve");
    let port: u16 = serve
        .and_then(|at| args.get(at + 1))
        .map_or(0, |port| port.parse().expect("--serve PORT"));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    if serve.is_some() {
        println!("floor listening on http://{addr}");
        axum::serve(listener, app()).await.expect("serve");
        return;
    }
    tokio::spawn(async move { axum::serve(listener, app()).await });
    let answer = hookmock::wire::client()
        .get(format!("http://{addr}/api/v1/webhooks"))
        .send()
        .await
        .expect("the floor answers");
    let body = answer.bytes().await.expect("a body");
    assert_eq!(body.len(), 566, "the fixed body is 566 bytes");
    println!(
        "floor: answers {} bytes; benches/compare.py runs it with --serve PORT",
        body.len()
    );
}
