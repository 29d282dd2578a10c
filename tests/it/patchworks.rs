//! A team automating Patchworks manages a flow's webhook and callback triggers with a client
//! generated from the document.

use crate::clients::patchworks::{Error, types};
use crate::harness::{TestServer, error_response, error_status};
use serde_json::{Value, json};

fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a request body")
}

#[tokio::test]
async fn flow_webhooks_are_created_listed_updated_and_deleted() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");

    let listed = client
        .list_flow_webhooks("12", None, None)
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.data.len(), 1, "the fixture's webhook");
    assert_eq!(listed.data[0].id, 41);
    assert_eq!(listed.meta.total, 1);

    let created = client
        .create_flow_webhook("12", &body(json!({"format": "xml", "body": "<order/>"})))
        .await
        .expect("created");
    let webhook = created.into_inner().data;
    assert_eq!(
        webhook.status,
        types::TriggerStatus::Draft,
        "status defaults to Draft"
    );
    assert_eq!(webhook.format, types::PayloadFormat::Xml);
    assert_eq!(webhook.body.as_deref(), Some("<order/>"));
    assert_eq!(webhook.flow_id, 12);
    assert!(
        webhook
            .url
            .ends_with(&format!("/flows/12/webhooks/{}", webhook.id)),
        "{}",
        webhook.url
    );
    assert!(
        webhook.url.starts_with(&server.url),
        "absolute, on this server: {}",
        webhook.url
    );

    let id = webhook.id.to_string();
    let update =
        body(json!({"status": "Deployed", "hmac_algorithm": "sha256", "hmac_secret_key": "k3y"}));
    let updated = client
        .update_flow_webhook("12", &id, &update)
        .await
        .expect("updated")
        .into_inner()
        .data;
    assert_eq!(updated.status, types::TriggerStatus::Deployed);
    assert_eq!(
        updated.format,
        types::PayloadFormat::Xml,
        "unsent fields keep their value"
    );
    assert_eq!(
        updated.body.as_deref(),
        Some("<order/>"),
        "unsent fields keep their value"
    );
    // The generated client cannot send `null` (its Option skips None), so this one goes raw.
    let path = format!("/api/v1/flows/12/webhooks/{id}");
    let cleared = server
        .client("pw-api-key")
        .put(server.url(&path))
        .json(&json!({"body": null}))
        .send()
        .await
        .expect("sent");
    let cleared: Value = cleared.json().await.expect("JSON");
    assert_eq!(cleared["data"]["body"], Value::Null, "null clears");
    assert_eq!(cleared["data"]["hmac_algorithm"], "sha256", "absent keeps");
    let raw: Value = server
        .get("pw-api-key", "/api/v1/flows/12/webhooks")
        .await
        .1;
    assert!(
        raw["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|w| w.get("hmac_secret_key").is_none()),
        "the key is never shown"
    );

    let deleted = client
        .delete_flow_webhook("12", &id)
        .await
        .expect("deleted")
        .into_inner();
    assert_eq!(deleted.message, "Webhook deleted successfully.");
    assert_eq!(
        error_status(client.delete_flow_webhook("12", &id).await),
        404
    );
}

#[tokio::test]
async fn an_hmac_algorithm_needs_a_key() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    let created = client
        .create_flow_webhook("15", &body(json!({})))
        .await
        .expect("created")
        .into_inner()
        .data;
    let result = client
        .update_flow_webhook(
            "15",
            &created.id.to_string(),
            &body(json!({"hmac_algorithm": "ripemd128"})),
        )
        .await;
    match result {
        Err(Error::ErrorResponse(r)) => {
            assert_eq!(r.status().as_u16(), 422);
            let errors = r.into_inner().errors;
            assert!(errors.contains_key("hmac_secret_key"), "{errors:?}");
        }
        other => panic!("expected 422, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_flows_and_triggers_are_404_and_other_flows_do_not_see_them() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    let (status, error) = error_response(client.list_flow_webhooks("999", None, None).await);
    assert_eq!(
        (status, error.message.as_str()),
        (404, "No query results for model [Flow] 999.")
    );
    assert_eq!(
        error_response(
            client
                .update_flow_webhook("12", "9999", &body(json!({})))
                .await
        )
        .0,
        404
    );
    assert_eq!(
        error_status(client.delete_flow_webhook("15", "41").await),
        404,
        "webhook 41 belongs to flow 12"
    );
    assert_eq!(
        error_status(client.list_flow_callbacks("abc", None, None).await),
        404
    );
}

#[tokio::test]
async fn lists_are_laravel_pages_with_working_links() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    for _ in 0..11 {
        client
            .create_flow_callback("15", &body(json!({"format": "json"})))
            .await
            .expect("created");
    }
    let http = server.client("pw-api-key");
    let page: Value = http
        .get(server.url("/api/v1/flows/15/callbacks?per_page=5&page=2"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let path = server.url("/api/v1/flows/15/callbacks");
    assert_eq!(
        page["meta"],
        json!({"current_page": 2, "from": 6, "last_page": 3, "path": path, "per_page": 5, "to": 10, "total": 11})
    );
    assert_eq!(page["data"].as_array().map(Vec::len), Some(5));
    let next = page["links"]["next"].as_str().expect("a next page");
    // Laravel's `withQueryString()` puts the query first, then the page.
    assert!(
        next.ends_with("/api/v1/flows/15/callbacks?per_page=5&page=3"),
        "{next}"
    );
    let last: Value = http
        .get(next)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (last["meta"]["from"].as_u64(), last["meta"]["to"].as_u64()),
        (Some(11), Some(11))
    );
    assert_eq!(last["links"]["next"], Value::Null);

    let empty = client
        .list_flow_callbacks("15", std::num::NonZeroU64::new(9), None)
        .await
        .expect("listed")
        .into_inner();
    assert!(empty.data.is_empty());
    assert_eq!((empty.meta.from, empty.meta.to), (None, None));
}

#[tokio::test]
async fn callbacks_carry_a_static_token() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    let created = client
        .create_flow_callback("12", &body(json!({"status": "Deployed"})))
        .await
        .expect("created")
        .into_inner()
        .data;
    assert_eq!(created.token.len(), 32);
    assert!(created.token.chars().all(|c| c.is_ascii_hexdigit()));
    let id = created.id.to_string();
    let updated = client
        .update_flow_callback("12", &id, &body(json!({"format": "txt"})))
        .await
        .expect("updated")
        .into_inner()
        .data;
    assert_eq!(
        (updated.format, updated.token.as_str()),
        (types::PayloadFormat::Txt, created.token.as_str())
    );
    let deleted = client
        .delete_flow_callback("12", &id)
        .await
        .expect("deleted")
        .into_inner();
    assert_eq!(deleted.message, "Callback deleted successfully.");
}

/// Calls a trigger URL the way a Patchworks user's system does.
async fn call_trigger(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut request = hookmock::wire::client()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("sent");
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn hmac_hex<M: hmac::Mac + hmac::digest::KeyInit>(key: &str, body: &str) -> String {
    let mut mac =
        <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_deployed_webhook_url_starts_a_flow_run_when_the_hmac_matches() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    let created = client
        .create_flow_webhook("12", &body(json!({"status": "Deployed"})))
        .await
        .expect("created")
        .into_inner()
        .data;
    let (status, answer) = call_trigger(&created.url, &[], r#"{"order": 1}"#).await;
    assert_eq!(
        (status, answer["run_id"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );

    let update = body(json!({"hmac_algorithm": "sha256", "hmac_secret_key": "k3y"}));
    client
        .update_flow_webhook("12", &created.id.to_string(), &update)
        .await
        .expect("updated");
    let payload = r#"{"order": 2}"#;
    let (status, answer) = call_trigger(&created.url, &[], payload).await;
    assert_eq!(status, 401);
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("X-HMAC-HASH is missing") && m.contains("sha256")),
        "{answer}"
    );
    let (status, _) =
        call_trigger(&created.url, &[("X-HMAC-HASH", &"0".repeat(64))], payload).await;
    assert_eq!(status, 401);
    let good = hmac_hex::<hmac::Hmac<sha2::Sha256>>("k3y", payload);
    assert_eq!(
        call_trigger(&created.url, &[("X-HMAC-HASH", &good)], payload)
            .await
            .0,
        200
    );

    let update = body(json!({"hmac_algorithm": "ripemd128"}));
    client
        .update_flow_webhook("12", &created.id.to_string(), &update)
        .await
        .expect("updated");
    let ripemd = hmac_hex::<hmac::Hmac<ripemd::Ripemd128>>("k3y", payload);
    assert_eq!(
        call_trigger(&created.url, &[("X-HMAC-HASH", &ripemd)], payload)
            .await
            .0,
        200
    );

    let (_, runs) = server
        .call(None, reqwest::Method::GET, "/__admin/flow-runs", None)
        .await;
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    assert_eq!(
        (
            runs[0]["body"].as_str(),
            runs[0]["trigger"].as_str(),
            runs[0]["flow_id"].as_u64()
        ),
        (Some(payload), Some("webhook"), Some(12))
    );
}

#[tokio::test]
async fn only_deployed_triggers_start_flows_and_callbacks_need_their_token() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    let draft = client
        .create_flow_webhook("12", &body(json!({})))
        .await
        .expect("created")
        .into_inner()
        .data;
    let (status, answer) = call_trigger(&draft.url, &[], "{}").await;
    assert_eq!(status, 409);
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("Draft")),
        "{answer}"
    );

    let callback = client
        .create_flow_callback("12", &body(json!({"status": "Deployed"})))
        .await
        .expect("created")
        .into_inner()
        .data;
    assert_eq!(call_trigger(&callback.url, &[], "{}").await.0, 401);
    assert_eq!(
        call_trigger(
            &callback.url,
            &[("patchworks-signature", &callback.token)],
            "{}"
        )
        .await
        .0,
        200
    );
    let in_query = format!("{}?patchworks_signature={}", callback.url, callback.token);
    assert_eq!(call_trigger(&in_query, &[], "{}").await.0, 200);
    let elsewhere = callback.url.replace("/flows/12/", "/flows/15/");
    assert_eq!(
        call_trigger(
            &elsewhere,
            &[("patchworks-signature", &callback.token)],
            "{}"
        )
        .await
        .0,
        404
    );
}

/// A tenant that only listed its fixture webhooks can call the URLs it was shown.
#[tokio::test]
async fn fixture_trigger_urls_work_for_a_tenant_that_only_read_them() {
    let server = TestServer::with_fixtures().await;
    let listed = server
        .patchworks("reader")
        .list_flow_webhooks("12", None, None)
        .await
        .expect("listed")
        .into_inner();
    let url = &listed.data[0].url;
    let payload = r#"{"order": 1001}"#;
    let signature = hmac_hex::<hmac::Hmac<sha2::Sha256>>("pw-hmac-7f3c9a1e5b2d4c6e", payload);
    assert_eq!(
        call_trigger(url, &[("X-HMAC-HASH", &signature)], payload)
            .await
            .0,
        200
    );
}

/// The create request declares no HMAC settings: like Laravel's validated input, it ignores
/// them, so nothing a create stores can make the trigger answer 5xx; the update validates them.
#[tokio::test]
async fn a_create_ignores_hmac_settings_it_does_not_declare_and_the_update_validates_them() {
    let server = TestServer::with_fixtures().await;
    let sent =
        json!({"status": "Deployed", "hmac_algorithm": "md5", "hmac_secret_key": "k".repeat(500)});
    let (status, created) = server
        .call(
            Some("pw-api-key"),
            reqwest::Method::POST,
            "/api/v1/flows/12/webhooks",
            Some(sent),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["data"]["hmac_algorithm"], Value::Null, "{created}");
    let url = created["data"]["url"].as_str().expect("a trigger URL");
    let (status, answer) = call_trigger(url, &[], "{}").await;
    assert_eq!(status, 200, "no HMAC is configured: {answer}");

    let path = format!("/api/v1/flows/12/webhooks/{}", created["data"]["id"]);
    for (update, field) in [
        (
            json!({"hmac_algorithm": "md5", "hmac_secret_key": "a"}),
            "hmac_algorithm",
        ),
        (
            json!({"hmac_algorithm": "sha256", "hmac_secret_key": "k".repeat(129)}),
            "hmac_secret_key",
        ),
    ] {
        let (status, answer) = server
            .call(
                Some("pw-api-key"),
                reqwest::Method::PUT,
                &path,
                Some(update),
            )
            .await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["errors"][field].is_array(), "{answer}");
    }
    assert_eq!(call_trigger(url, &[], "{}").await.0, 200);
}

/// Stored state comes in through imports too: one naming an algorithm the trigger cannot
/// compute is refused whole, and the triggers keep working.
#[tokio::test]
async fn an_import_with_an_unknown_hmac_algorithm_is_refused() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    let created = client
        .create_flow_webhook("12", &body(json!({"status": "Deployed"})))
        .await
        .expect("created")
        .into_inner()
        .data;
    let (_, mut state) = server
        .call(None, reqwest::Method::GET, "/__admin/state", None)
        .await;
    let stored = state
        .pointer_mut(&format!(
            "/apis/patchworks/collections/pw-api-key/collections/~1api~1v1~1flows~112~1webhooks/{}",
            created.id
        ))
        .unwrap_or_else(|| panic!("the webhook in the export"));
    stored["hmac_algorithm"] = json!("md5");
    stored["hmac_secret_key"] = json!("a");
    let (status, answer) = server
        .call(None, reqwest::Method::PUT, "/__admin/state", Some(state))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| e.contains("md5")),
        "{answer}"
    );
    assert_eq!(call_trigger(&created.url, &[], "{}").await.0, 200);
}

/// The credential is checked before the trigger's state is revealed.
#[tokio::test]
async fn an_inactive_callback_answers_401_to_a_caller_without_its_token() {
    let server = TestServer::with_fixtures().await;
    let client = server.patchworks("pw-api-key");
    let callback = client
        .create_flow_callback("12", &body(json!({"status": "Inactive"})))
        .await
        .expect("created")
        .into_inner()
        .data;
    assert_eq!(call_trigger(&callback.url, &[], "{}").await.0, 401);
    let (status, answer) = call_trigger(
        &callback.url,
        &[("patchworks-signature", &callback.token)],
        "{}",
    )
    .await;
    assert_eq!(status, 409, "{answer}");
}
