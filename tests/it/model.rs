//! Model-based property tests of each API's store, through HTTP: random sequences of create,
//! update, delete, get and list give the answers a plain in-test model predicts (proptest shrinks
//! a failing sequence to a short one). Each case is a fresh tenant of one server.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestServer;

#[derive(Debug, Clone)]
pub enum Action {
    Create(u8),
    Update(usize, u8),
    Delete(usize),
    Get(usize),
    List,
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    let action = prop_oneof![
        3 => any::<u8>().prop_map(Action::Create),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Action::Update(i, v)),
        2 => any::<usize>().prop_map(Action::Delete),
        1 => any::<usize>().prop_map(Action::Get),
        1 => Just(Action::List),
    ];
    proptest::collection::vec(action, 1..25)
}

/// One API's store as HTTP sees it: each record carries a `mark` (a URL, or a Patchworks
/// body) that the model predicts.
#[derive(Clone, Copy, Debug)]
pub enum Api {
    Elan,
    FieldNation,
    Ingedata,
    Patchworks,
}

fn mark(v: u8) -> String {
    format!("https://hooks.example.com/model/{v}")
}

impl Api {
    /// Creates a record; answers its ID.
    pub async fn create(self, s: &TestServer, t: &str, v: u8) -> String {
        let (status, body) = match self {
            Api::Elan => s.call(Some(t), Method::POST, "/webhooks", Some(json!({"name": "m", "url": mark(v), "events": ["workflow.completed"]}))).await,
            Api::FieldNation => s.call(Some(t), Method::POST, "/api/v1/webhooks", Some(json!({"url": mark(v), "events": ["workorder.created"]}))).await,
            Api::Ingedata => s.call(Some(t), Method::POST, "/api/v3/notification/webhooks", Some(json!({"data": {"type": "webhooks", "attributes": {"url": mark(v), "events": ["task.completed"]}}}))).await,
            Api::Patchworks => s.call(Some(t), Method::POST, "/api/v1/flows/12/webhooks", Some(json!({"body": mark(v)}))).await,
        };
        assert!(
            matches!(status, 200 | 201),
            "{self:?} create: {status} {body}"
        );
        let id = match self {
            Api::Elan => body["id"].to_string(),
            Api::FieldNation => body["result"]["webhookId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Api::Ingedata => body["data"]["id"].as_str().unwrap_or_default().to_owned(),
            Api::Patchworks => body["data"]["id"].to_string(),
        };
        assert_eq!(
            self.mark_of(&body).as_deref(),
            Some(mark(v).as_str()),
            "{body}"
        );
        id
    }

    fn path(self, id: &str) -> String {
        match self {
            Api::Elan => format!("/webhooks/{id}"),
            Api::FieldNation => format!("/api/v1/webhooks/{id}"),
            Api::Ingedata => format!("/api/v3/notification/webhooks/{id}"),
            Api::Patchworks => format!("/api/v1/flows/12/webhooks/{id}"),
        }
    }

    async fn update(self, s: &TestServer, t: &str, id: &str, v: u8) -> u16 {
        let (method, body) = match self {
            Api::Elan => (Method::PATCH, json!({"url": mark(v)})),
            Api::FieldNation => (Method::PUT, json!({"url": mark(v)})),
            Api::Ingedata => (
                Method::PATCH,
                json!({"data": {"type": "webhooks", "id": id, "attributes": {"url": mark(v)}}}),
            ),
            Api::Patchworks => (Method::PUT, json!({"body": mark(v)})),
        };
        s.call(Some(t), method, &self.path(id), Some(body)).await.0
    }

    pub async fn delete(self, s: &TestServer, t: &str, id: &str) -> u16 {
        s.call(Some(t), Method::DELETE, &self.path(id), None)
            .await
            .0
    }

    /// The record's mark, or `None` when it is not found. (Patchworks has no single GET: its
    /// list stands in.)
    async fn get(self, s: &TestServer, t: &str, id: &str) -> Option<String> {
        if let Api::Patchworks = self {
            return self
                .list(s, t)
                .await
                .into_iter()
                .find(|(i, _)| i == id)
                .map(|(_, m)| m);
        }
        let (status, body) = s.get(t, &self.path(id)).await;
        match status {
            200 => self.mark_of(&body),
            404 => None,
            other => panic!("{self:?} get {id}: {other} {body}"),
        }
    }

    /// (ID, mark) of every record, in ID order.
    pub async fn list(self, s: &TestServer, t: &str) -> Vec<(String, String)> {
        let path = match self {
            Api::Elan => "/webhooks",
            Api::FieldNation => "/api/v1/webhooks?perPage=100&sortBy=id&sortDirection=ASC",
            Api::Ingedata => "/api/v3/notification/webhooks",
            Api::Patchworks => "/api/v1/flows/12/webhooks?per_page=100",
        };
        let (status, body) = s.get(t, path).await;
        assert_eq!(status, 200, "{self:?} list: {body}");
        let items = match self {
            Api::Elan => body.as_array().cloned(),
            Api::FieldNation => body["result"].as_array().cloned(),
            Api::Ingedata | Api::Patchworks => body["data"].as_array().cloned(),
        };
        items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let id = match self {
                    Api::FieldNation => item["webhookId"].as_str().unwrap_or_default().to_owned(),
                    Api::Ingedata => item["id"].as_str().unwrap_or_default().to_owned(),
                    Api::Elan | Api::Patchworks => item["id"].to_string(),
                };
                (id, self.mark_of(item).unwrap_or_default())
            })
            .collect()
    }

    /// The mark in an answer: a record, or a document holding one.
    fn mark_of(self, v: &Value) -> Option<String> {
        let record = match self {
            Api::FieldNation => v.get("result").unwrap_or(v),
            Api::Ingedata => v
                .get("data")
                .map_or(v, |d| d.get("attributes").unwrap_or(d)),
            Api::Patchworks => v.get("data").unwrap_or(v),
            Api::Elan => v,
        };
        let record = record.get("attributes").unwrap_or(record);
        let field = if let Api::Patchworks = self {
            "body"
        } else {
            "url"
        };
        record[field].as_str().map(str::to_owned)
    }
}

/// Runs `actions` against the API and the model; panics at the first answer that differs.
pub async fn check(server: &TestServer, api: Api, tenant: &str, actions: &[Action]) {
    // The model: every ID ever seen, with its mark while it exists; it starts as the tenant's
    // fixtures.
    let mut model: Vec<(String, Option<String>)> = api
        .list(server, tenant)
        .await
        .into_iter()
        .map(|(id, mark)| (id, Some(mark)))
        .collect();
    let pick = |model: &[(String, Option<String>)], i: usize| {
        (!model.is_empty()).then(|| model[i % model.len()].clone())
    };
    for action in actions {
        match *action {
            Action::Create(v) => {
                let id = api.create(server, tenant, v).await;
                assert!(
                    model.iter().all(|(known, _)| *known != id),
                    "{api:?}: ID {id} reused"
                );
                model.push((id, Some(mark(v))));
            }
            Action::Update(i, v) => {
                let Some((id, exists)) = pick(&model, i) else {
                    continue;
                };
                let status = api.update(server, tenant, &id, v).await;
                assert_eq!(
                    status == 200,
                    exists.is_some(),
                    "{api:?} update {id}: {status}"
                );
                if exists.is_some() {
                    model
                        .iter_mut()
                        .filter(|(k, _)| *k == id)
                        .for_each(|e| e.1 = Some(mark(v)));
                }
            }
            Action::Delete(i) => {
                let Some((id, exists)) = pick(&model, i) else {
                    continue;
                };
                let status = api.delete(server, tenant, &id).await;
                assert_eq!(
                    (200..300).contains(&status),
                    exists.is_some(),
                    "{api:?} delete {id}: {status}"
                );
                model
                    .iter_mut()
                    .filter(|(k, _)| *k == id)
                    .for_each(|e| e.1 = None);
            }
            Action::Get(i) => {
                let Some((id, expected)) = pick(&model, i) else {
                    continue;
                };
                assert_eq!(
                    api.get(server, tenant, &id).await,
                    expected,
                    "{api:?} get {id}"
                );
            }
            Action::List => {
                let expected: Vec<(String, String)> = model
                    .iter()
                    .filter_map(|(id, m)| m.clone().map(|m| (id.clone(), m)))
                    .collect();
                assert_eq!(api.list(server, tenant).await, expected, "{api:?} list");
            }
        }
    }
}

static TENANTS: AtomicUsize = AtomicUsize::new(0);

fn run_model(api: Api) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(TestServer::with_fixtures());
    let config = ProptestConfig {
        cases: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(actions in actions())| {
        let tenant = format!("model-{}", TENANTS.fetch_add(1, Ordering::SeqCst));
        runtime.block_on(check(&server, api, &tenant, &actions));
    });
}

#[test]
fn elan_store_matches_the_model() {
    run_model(Api::Elan);
}

#[test]
fn field_nation_store_matches_the_model() {
    run_model(Api::FieldNation);
}

#[test]
fn ingedata_store_matches_the_model() {
    run_model(Api::Ingedata);
}

#[test]
fn patchworks_store_matches_the_model() {
    run_model(Api::Patchworks);
}
