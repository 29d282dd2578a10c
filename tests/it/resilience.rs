//! Whatever a client stores through valid calls, nothing it stored can make a later call fail:
//! after random sequences of creates and updates of each API (with every optional field, and
//! fields the request does not declare), every trigger, test and delivery answers without a 5xx,
//! every answer validates against its document (the harness checks each one), and every
//! delivery to a subscription that has a secret arrives signed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Receiver, TestServer};

#[derive(Clone, Copy, Debug)]
enum Api {
    Elan,
    FieldNation,
    Ingedata,
    Patchworks,
}

/// A create, or an update of the `n`-th record created so far (modulo their number), sending
/// these optional fields.
#[derive(Clone, Debug)]
struct Write {
    update: Option<usize>,
    fields: Vec<(&'static str, Value)>,
}

/// The optional fields of each API's create and update, each with values that pass the
/// contract (the vendor may still refuse a combination with a 4xx), and one the request does
/// not declare.
fn optional_fields(api: Api) -> Vec<(&'static str, Vec<Value>)> {
    match api {
        Api::Elan => vec![
            ("secret", vec![json!("s3cret"), json!("x")]),
            (
                "headers",
                vec![json!({}), json!({"X-Team": "l10n"}), json!({"Host": "h"})],
            ),
            ("is_active", vec![json!(true), json!(false)]),
            ("name", vec![json!("renamed")]),
            ("undeclared", vec![json!(1), json!({"nested": true})]),
        ],
        Api::FieldNation => vec![
            ("method", vec![json!("post"), json!("put")]),
            ("status", vec![json!("active"), json!("inactive")]),
            (
                "notificationEmail",
                vec![Value::Null, json!("ops@example.com")],
            ),
            ("isIntegrationOnly", vec![json!(true), json!(false)]),
            (
                "webhookAttribute",
                vec![
                    json!({"header": {"X-A": "1"}}),
                    json!({"legacy_field": {"a": "b"}}),
                    json!({"header": {"Content-Length": "5"}}),
                ],
            ),
            (
                "secret",
                vec![json!("8f14e45f-ceea-467a-9a36-2c5b1e0b9c11")],
            ),
            ("undeclared", vec![json!("x")]),
        ],
        Api::Ingedata => vec![
            ("name", vec![Value::Null, json!("n")]),
            (
                "secret",
                vec![
                    json!("my secret!"),
                    json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                    json!("whsec_not base64"),
                ],
            ),
            ("scopes", vec![json!({}), json!({"project": "p1"})]),
            ("undeclared", vec![json!([1, 2])]),
        ],
        Api::Patchworks => vec![
            (
                "status",
                vec![json!("Draft"), json!("Deployed"), json!("Inactive")],
            ),
            ("body", vec![Value::Null, json!("{\"a\": 1}")]),
            ("format", vec![json!("json"), json!("xml")]),
            (
                "hmac_algorithm",
                vec![
                    Value::Null,
                    json!("sha256"),
                    json!("ripemd128"),
                    json!("md5"),
                ],
            ),
            (
                "hmac_secret_key",
                vec![Value::Null, json!("k3y"), json!("k".repeat(300))],
            ),
            ("token", vec![json!("chosen")]),
        ],
    }
}

fn writes(api: Api) -> impl Strategy<Value = Vec<Write>> {
    let choices: Vec<_> = optional_fields(api)
        .into_iter()
        .map(|(name, values)| {
            proptest::option::of(proptest::sample::select(values)).prop_map(move |v| (name, v))
        })
        .collect();
    let write =
        (proptest::option::of(any::<usize>()), choices).prop_map(|(update, fields)| Write {
            update,
            fields: fields
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name, v)))
                .collect(),
        });
    proptest::collection::vec(write, 1..10)
}

impl Api {
    /// The collection's path and the create body's required fields.
    fn create(self, url: &str) -> (&'static str, Value) {
        match self {
            Api::Elan => (
                "/webhooks",
                json!({"name": "n", "url": url, "events": ["workflow.completed"]}),
            ),
            Api::FieldNation => (
                "/api/v1/webhooks",
                json!({"url": url, "events": ["workorder.created"]}),
            ),
            Api::Ingedata => (
                "/api/v3/notification/webhooks",
                json!({"url": url, "events": ["task.completed"]}),
            ),
            Api::Patchworks => ("/api/v1/flows/12/webhooks", json!({})),
        }
    }

    fn item(self, id: &str) -> (Method, String) {
        match self {
            Api::Elan => (Method::PATCH, format!("/webhooks/{id}")),
            Api::FieldNation => (Method::PUT, format!("/api/v1/webhooks/{id}")),
            Api::Ingedata => (Method::PATCH, format!("/api/v3/notification/webhooks/{id}")),
            Api::Patchworks => (Method::PUT, format!("/api/v1/flows/12/webhooks/{id}")),
        }
    }

    /// Ingedata's attributes travel in a JSON:API document.
    fn document(self, attributes: Value, id: Option<&str>) -> Value {
        match (self, id) {
            (Api::Ingedata, Some(id)) => {
                json!({"data": {"type": "webhooks", "id": id, "attributes": attributes}})
            }
            (Api::Ingedata, None) => {
                json!({"data": {"type": "webhooks", "attributes": attributes}})
            }
            _ => attributes,
        }
    }

    fn id_of(self, answer: &Value) -> Option<String> {
        let id = match self {
            Api::Elan => answer.get("id"),
            Api::FieldNation => answer.pointer("/result/webhookId"),
            Api::Ingedata => answer.pointer("/data/id"),
            Api::Patchworks => answer.pointer("/data/id"),
        }?;
        Some(id.as_str().map_or_else(|| id.to_string(), str::to_owned))
    }

    fn name(self) -> &'static str {
        match self {
            Api::Elan => "elan",
            Api::FieldNation => "fieldnation",
            Api::Ingedata => "ingedata",
            Api::Patchworks => "patchworks",
        }
    }
}

/// Runs the writes, then every trigger, test and event; answers the IDs of the ELAN
/// subscriptions given a secret (the only vendor that signs only with one).
async fn exercise(
    server: &TestServer,
    receiver: &Receiver,
    api: Api,
    tenant: &str,
    writes: &[Write],
) -> HashSet<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut secret_set = HashSet::new();
    for write in writes {
        let target = write
            .update
            .filter(|_| !ids.is_empty())
            .map(|n| ids[n % ids.len()].clone());
        let (method, path, mut attributes) = match &target {
            Some(id) => {
                let (method, path) = api.item(id);
                (method, path, json!({}))
            }
            None => {
                let (path, required) = api.create(&receiver.url);
                (Method::POST, path.to_owned(), required)
            }
        };
        for (name, value) in &write.fields {
            attributes[*name] = value.clone();
        }
        let body = api.document(attributes, target.as_deref());
        let (status, answer) = server.call(Some(tenant), method, &path, Some(body)).await;
        assert!(status < 500, "{api:?} {path}: {status} {answer}");
        let written = (200..300).contains(&status);
        if let (true, None, Some(id)) = (written, &target, api.id_of(&answer)) {
            ids.push(id);
        }
        let has_secret = write.fields.iter().any(|(name, _)| *name == "secret");
        if let (true, Some(id)) = (written && has_secret, target.or_else(|| api.id_of(&answer))) {
            secret_set.insert(id);
        }
    }
    call_everything(server, api, tenant, &ids).await;
    secret_set
}

/// Every trigger URL (without credentials and with a wrong one), every test endpoint, every
/// event of the API: none may answer 5xx.
async fn call_everything(server: &TestServer, api: Api, tenant: &str, ids: &[String]) {
    let http = hookmock::wire::client();
    match api {
        Api::Patchworks => {
            let (_, list) = server
                .get(tenant, "/api/v1/flows/12/webhooks?per_page=100")
                .await;
            for trigger in list["data"].as_array().into_iter().flatten() {
                let url = trigger["url"].as_str().unwrap_or_default();
                for signature in ["", "00", "not hex"] {
                    let response = http
                        .post(url)
                        .header("X-HMAC-HASH", signature)
                        .body("{}")
                        .send()
                        .await
                        .expect("sent");
                    assert!(
                        response.status().as_u16() < 500,
                        "{url}: {}",
                        response.status()
                    );
                }
            }
        }
        Api::Elan | Api::Ingedata => {
            for id in ids {
                let path = match api {
                    Api::Elan => format!("/webhooks/{id}/test"),
                    _ => format!("/api/v3/notification/webhooks/test/{id}"),
                };
                let (status, answer) = server.call(Some(tenant), Method::POST, &path, None).await;
                assert!(status < 500, "{path}: {status} {answer}");
            }
        }
        Api::FieldNation => {}
    }
    let event = match api {
        Api::Elan => "workflow.completed",
        Api::FieldNation => "workorder.created",
        Api::Ingedata => "task.completed",
        Api::Patchworks => return,
    };
    let emit = json!({"api": api.name(), "event": event, "tenant": tenant});
    let (status, answer) = server
        .call(None, Method::POST, "/__admin/events", Some(emit))
        .await;
    assert!(status < 500, "events: {status} {answer}");
}

/// The signature header each vendor's deliveries carry.
fn signature_header(api: Api) -> &'static str {
    match api {
        Api::Elan => "x-webhook-signature",
        Api::FieldNation => "x-fn-signature",
        Api::Ingedata => "webhook-signature",
        Api::Patchworks => "",
    }
}

/// Waits for the deliveries of `api` to finish; each one to `receiver` (this case's) must have
/// reached it whole, and carry a signature unless it went to an ELAN subscription without a
/// secret.
async fn check_deliveries(
    server: &TestServer,
    receiver: &Receiver,
    api: Api,
    elan_signed: &HashSet<String>,
) {
    let path = format!("/__admin/deliveries?api={}", api.name());
    let mut ours = Vec::new();
    for _ in 0..500 {
        let listing = server.call(None, Method::GET, &path, None).await.1;
        ours = listing["deliveries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["url"] == receiver.url.as_str())
            .cloned()
            .collect();
        if ours.iter().all(|d| d["state"] != "pending") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let received = receiver.wait_for(0).await;
    for delivery in &ours {
        let sent = delivery["body"].as_str().unwrap_or_default().as_bytes();
        assert!(
            received.iter().any(|r| r.body == sent),
            "the receiver did not read the body sent: {delivery}"
        );
        let attempt = &delivery["attempts"][0];
        assert!(
            attempt["status"].as_u64().is_some_and(|s| s < 300),
            "a delivery that did not arrive: {delivery}"
        );
        let signed = attempt["request_headers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|h| {
                h["name"].as_str().map(str::to_ascii_lowercase).as_deref()
                    == Some(signature_header(api))
            });
        let subscription = delivery["subscription"].as_str().unwrap_or_default();
        let must_sign = !matches!(api, Api::Elan) || elan_signed.contains(subscription);
        assert!(signed || !must_sign, "an unsigned delivery: {delivery}");
    }
}

static TENANTS: AtomicUsize = AtomicUsize::new(0);

fn run(api: Api) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(async {
        TestServer::with_config(hookmock::server::Config {
            // Patchworks' flows come only from the fixtures; the others' fixtures deliver to
            // hosts that are not loopback.
            fixtures: match api {
                Api::Patchworks => hookmock::fixtures::Fixtures::Embedded,
                _ => hookmock::fixtures::Fixtures::None,
            },
            delivery: hookmock::delivery::Settings {
                time_scale: 0.001,
                ..hookmock::delivery::Settings::default()
            },
            ..TestServer::config()
        })
        .await
    });
    let config = ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(writes in writes(api))| {
        let tenant = format!("resilience-{}", TENANTS.fetch_add(1, Ordering::SeqCst));
        runtime.block_on(async {
            let receiver = Receiver::start(&[]).await;
            let elan_signed = exercise(&server, &receiver, api, &tenant, &writes).await;
            check_deliveries(&server, &receiver, api, &elan_signed).await;
        });
    });
}

#[test]
fn elan_answers_and_delivers_whatever_was_stored() {
    run(Api::Elan);
}

#[test]
fn field_nation_answers_and_delivers_whatever_was_stored() {
    run(Api::FieldNation);
}

#[test]
fn ingedata_answers_and_delivers_whatever_was_stored() {
    run(Api::Ingedata);
}

#[test]
fn patchworks_triggers_answer_whatever_was_stored() {
    run(Api::Patchworks);
}
