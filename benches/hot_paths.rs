//! Micro-benchmarks (criterion) of what every request or delivery runs: route matching,
//! request validation, response and error serialisation, signing and verifying.
//!
//! `cargo bench --bench hot_paths` (add a name to run one group: `-- validation`). Each group
//! also times a baseline from the same run, so the figures read as ratios: matching against a
//! `HashMap` lookup of the literal path, validation against parsing the same body with
//! serde_json alone, a timestamp against chrono's own `Serialize`, signing against one SHA-256 of
//! the body.

use std::hint::black_box;
use std::time::Duration;

use axum::http::{HeaderMap, Method};
use criterion::{Criterion, criterion_group, criterion_main};
use hookmock::apis::shapes::ErrorStyle;
use hookmock::error::{ApiError, Violation};
use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::recorder::verify::{self, Secret};
use hookmock::request::to_json;
use hookmock::router::Routes;
use hookmock::signing::{self, Scheme};
use hookmock::validate::{Contracts, Incoming};
use serde_json::{Value, json};
use sha2::Digest;

const CREATE_BODY: &str = include_str!("../fixtures/requests/fieldnation-create-webhook.json");

fn routes() -> Routes {
    Routes::new(OPERATIONS, |_| true).expect("the bundled routes")
}

fn route_matching(c: &mut Criterion) {
    let routes = routes();
    let mut group = c.benchmark_group("route matching");
    let paths = [
        (Method::GET, "/api/v1/webhooks"),
        (Method::PUT, "/api/v1/webhooks/wh_abc123"),
        (Method::GET, "/api/v3/notification/webhooks/12"),
        (Method::GET, "/api/v1/flows/12/callbacks/7"),
    ];
    group.bench_function("hookmock Routes::find, 4 paths", |b| {
        b.iter(|| {
            for (method, path) in &paths {
                black_box(routes.find(method, path).is_ok());
            }
        })
    });
    let literal: std::collections::HashMap<&str, usize> = paths
        .iter()
        .enumerate()
        .map(|(i, (_, p))| (*p, i))
        .collect();
    group.bench_function(
        "baseline: HashMap lookup of the literal path, 4 paths",
        |b| {
            b.iter(|| {
                for (_, path) in &paths {
                    black_box(literal.get(path));
                }
            })
        },
    );
    group.bench_function(
        "hookmock Routes::find, a miss (closest routes named)",
        |b| b.iter(|| black_box(routes.find(&Method::GET, "/api/v1/webhook").is_err())),
    );
    group.finish();
}

fn operation(api: &str, operation_id: &str) -> usize {
    OPERATIONS
        .iter()
        .position(|op| op.api == api && op.operation_id == operation_id)
        .expect("a bundled operation")
}

fn validation(c: &mut Criterion) {
    let contracts = Contracts::compile(DOCUMENTS, OPERATIONS, false).expect("the contracts");
    let create = operation("fieldnation", "createWebhook");
    let list = operation("ingedata", "listNotificationWebhooks");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().expect("a value"));
    headers.insert("authorization", "Bearer token".parse().expect("a value"));
    let invalid = json!({"url": "https://hooks.example.com/fn", "events": []}).to_string();
    let incoming = |query, body: &'static [u8]| Incoming {
        path_params: &[],
        query,
        headers: &headers,
        body,
    };
    let mut group = c.benchmark_group("validation");
    group.bench_function("FN create: a valid body", |b| {
        let request = incoming(None, CREATE_BODY.as_bytes());
        b.iter(|| black_box(contracts.check_request(create, &request).is_ok()))
    });
    let invalid: &'static str = Box::leak(invalid.into_boxed_str());
    group.bench_function("FN create: an invalid body (the error named)", |b| {
        let request = incoming(None, invalid.as_bytes());
        b.iter(|| black_box(contracts.check_request(create, &request).is_err()))
    });
    group.bench_function("baseline: serde_json parse of the valid body", |b| {
        b.iter(|| black_box(serde_json::from_str::<Value>(CREATE_BODY).is_ok()))
    });
    group.bench_function("Ingedata list: page[size], sort, filter[name]", |b| {
        let request = incoming(Some("page[size]=50&sort=-created_at&filter[name]=QA"), b"");
        b.iter(|| black_box(contracts.check_request(list, &request).is_ok()))
    });
    group.finish();
}

fn serialisation(c: &mut Criterion) {
    let webhook = |id: u64| {
        json!({"id": id, "webhookId": format!("wh_{id:06}"), "companyId": 2524, "userId": 3914,
               "url": "https://hooks.example.com/fn", "method": "post", "status": "active",
               "events": ["workorder.status.published", "workorder.status.assigned"],
               "notificationEmail": "alerts@example.com", "modelProperties": [],
               "isIntegrationOnly": false, "createdAt": "2025-01-15T10:00:00Z",
               "updatedAt": "2025-01-15T10:00:00Z"})
    };
    let list = json!({
        "metadata": {"timestamp": "2025-01-15T10:00:00Z", "count": 25, "total": 25},
        "result": (1..=25).map(webhook).collect::<Vec<_>>(),
    });
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("serialisation");
    group.bench_function("a Field Nation list of 25 webhooks to bytes", |b| {
        b.iter(|| black_box(to_json(&list).map(|v| v.len())))
    });
    group.bench_function("a timestamp, clock::serialize", |b| {
        b.iter(|| black_box(to_json(&Stamped { at: now }).map(|v| v.len())))
    });
    group.bench_function("baseline: a timestamp, chrono's own Serialize", |b| {
        b.iter(|| black_box(to_json(&Plain { at: now }).map(|v| v.len())))
    });
    group.finish();
}

/// A time as the APIs write it.
#[derive(serde::Serialize)]
struct Stamped {
    #[serde(serialize_with = "hookmock::clock::serialize")]
    at: chrono::DateTime<chrono::Utc>,
}

/// A time as chrono's `Serialize` writes it: `collect_str`, each character escaped on its own.
#[derive(serde::Serialize)]
struct Plain {
    at: chrono::DateTime<chrono::Utc>,
}

fn error_shapes(c: &mut Criterion) {
    let error = ApiError::Invalid(vec![Violation::body(
        "/events",
        "[] has less than 1 item".to_owned(),
    )]);
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("error shapes");
    for style in [
        ErrorStyle::FieldNation,
        ErrorStyle::JsonApi,
        ErrorStyle::Laravel,
        ErrorStyle::FastApi,
    ] {
        group.bench_function(format!("a validation error in the {style:?} shape"), |b| {
            b.iter(|| {
                let (_, body) =
                    hookmock::apis::shapes::render(style, &error, "/api/v1/webhooks", now);
                black_box(to_json(&body).map(|v| v.len()))
            })
        });
    }
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let body = CREATE_BODY.as_bytes();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut group = c.benchmark_group("signatures");
    let hex = Scheme::HexHmac {
        header: "X-Hub-Signature-256",
        prefix: "sha256=",
    };
    for scheme in [hex, Scheme::StandardWebhooks] {
        group.bench_function(format!("sign {scheme:?}"), |b| {
            b.iter(|| {
                black_box(signing::headers(
                    scheme,
                    secret,
                    "msg_1",
                    1_700_000_000,
                    body,
                ))
            })
        });
    }
    group.bench_function("baseline: one SHA-256 of the body", |b| {
        b.iter(|| black_box(sha2::Sha256::digest(body)))
    });
    let signed = signing::headers(
        Scheme::StandardWebhooks,
        secret,
        "msg_1",
        1_700_000_000,
        body,
    );
    let headers: Vec<(String, String)> = signed
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let secrets = [Secret::parse(secret, 1)];
    group.bench_function("verify a Standard Webhooks signature (recorder)", |b| {
        b.iter(|| {
            black_box(verify::verify(
                &headers,
                body,
                &secrets,
                1_700_000_000,
                Duration::from_secs(300),
            ))
        })
    });
    group.finish();
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = route_matching, validation, serialisation, error_shapes, signatures
}
criterion_main!(hot_paths);
