//! A team brings its own OpenAPI document: `hookmock serve --spec` / `hookmock mock` serve it as a
//! stateful, validating mock with no code. Every server here runs with `--validate-responses`,
//! and [`DocServer::assert_answers_conform`] fails a test whose answers broke the document.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hookmock::server::{Bound, Config};
use hookmock::specs::SpecSource;
use serde_json::{Value, json};

use crate::harness::{Receiver, Served};

/// The public documents of `fixtures/specs/` (nobody here wrote them).
fn spec(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/specs")
        .join(name)
}

/// A server of run-time documents only, on port 0, checking its own answers.
struct DocServer {
    url: String,
    http: reqwest::Client,
}

impl DocServer {
    async fn start(specs: &[&str]) -> Self {
        let specs = specs
            .iter()
            .map(|s| s.parse::<SpecSource>().expect("a --spec argument"))
            .collect();
        Self::with_config(Config { specs, ..config() }).await
    }

    async fn with_config(config: Config) -> Self {
        let bound = Bound::new(&config).await.expect("starts");
        Self {
            url: crate::harness::spawn(bound).await,
            http: hookmock::wire::client(),
        }
    }

    /// `METHOD path` with `token` as a Bearer credential (none: no Authorization).
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_with(method, path, &[], token, body).await
    }

    /// [`Self::call`] with `headers` besides.
    async fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("answered");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// No answer so far broke its document (hookmock checked each one).
    async fn assert_answers_conform(&self) {
        let (_, listing) = self.call("GET", "/__admin/violations", None, None).await;
        let broken: Vec<&Value> = listing["violations"]
            .as_array()
            .expect("a listing")
            .iter()
            .filter(|v| v["source"] == "response")
            .collect();
        assert!(broken.is_empty(), "answers broke the document: {broken:#?}");
    }
}

fn config() -> Config {
    Config {
        port: 0,
        bundled: false,
        validate_responses: true,
        ..Config::default()
    }
}

#[tokio::test]
async fn a_petstore_pet_is_created_read_listed_deleted_and_then_missing() {
    let server =
        DocServer::start(&[spec("v3.0-petstore-expanded.yaml").to_str().expect("utf-8")]).await;
    let (status, rex) = server
        .call(
            "POST",
            "/pets",
            None,
            Some(json!({"name": "Rex", "tag": "dog"})),
        )
        .await;
    assert_eq!(status, 200, "{rex}");
    assert_eq!(rex["name"], "Rex");
    let id = rex["id"]
        .as_i64()
        .expect("an integer id, as the schema says");
    let (status, read) = server.call("GET", &format!("/pets/{id}"), None, None).await;
    assert_eq!((status, &read), (200, &rex));
    server
        .call("POST", "/pets", None, Some(json!({"name": "Bo"})))
        .await;
    let (_, all) = server.call("GET", "/pets", None, None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let (_, first) = server.call("GET", "/pets?limit=1", None, None).await;
    assert_eq!(first, json!([rex]));
    let (_, dogs) = server.call("GET", "/pets?tags=dog", None, None).await;
    assert_eq!(
        dogs,
        json!([rex]),
        "a query parameter named like a field filters"
    );
    let (status, _) = server
        .call("DELETE", &format!("/pets/{id}"), None, None)
        .await;
    assert_eq!(status, 204);
    let (status, gone) = server.call("GET", &format!("/pets/{id}"), None, None).await;
    assert_eq!(status, 404);
    assert_eq!(gone["code"], 404, "the document's own Error shape: {gone}");
    let (status, refused) = server
        .call("POST", "/pets", None, Some(json!({"tag": "cat"})))
        .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().expect("the Error's message");
    assert!(
        message.contains("/name"),
        "the missing field is named: {message}"
    );
    server.assert_answers_conform().await;
}

#[tokio::test]
async fn resend_webhooks_round_trip_with_cursor_pages_and_merge_patch() {
    let server = DocServer::start(&[spec("resend-3.1.yaml").to_str().expect("utf-8")]).await;
    let token = Some("re_team_a");
    let (status, denied) = server.call("GET", "/webhooks", None, None).await;
    assert_eq!(
        status, 401,
        "the document requires a bearer token: {denied}"
    );
    assert_eq!(denied["status"], 401, "problem+json: {denied}");
    let mut ids = Vec::new();
    for n in 0..3 {
        let body =
            json!({"endpoint": format!("https://example.com/hook/{n}"), "events": ["email.sent"]});
        let (status, created) = server.call("POST", "/webhooks", token, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["object"], "webhook");
        let id = created["id"].as_str().expect("an id").to_owned();
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "a uuid, as the schema says: {id}"
        );
        ids.push(id);
    }
    let (_, page) = server.call("GET", "/webhooks?limit=2", token, None).await;
    let listed: Vec<&str> = page["data"]
        .as_array()
        .expect("the envelope's data")
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(listed, [ids[0].as_str(), ids[1].as_str()]);
    assert_eq!(page["has_more"], true);
    let (_, rest) = server
        .call(
            "GET",
            &format!("/webhooks?limit=2&after={}", ids[1]),
            token,
            None,
        )
        .await;
    assert_eq!(rest["data"][0]["id"], ids[2].as_str());
    assert_eq!(rest["has_more"], false);
    let (_, other_team) = server
        .call("GET", "/webhooks", Some("re_team_b"), None)
        .await;
    assert_eq!(other_team["data"], json!([]), "tenants are per credential");
    let path = format!("/webhooks/{}", ids[0]);
    let (status, _) = server
        .call("PATCH", &path, token, Some(json!({"status": "disabled"})))
        .await;
    assert_eq!(status, 200);
    let (_, read) = server.call("GET", &path, token, None).await;
    assert_eq!(read["status"], "disabled", "merged: {read}");
    let (_, listed) = server.call("GET", "/webhooks", token, None).await;
    assert_eq!(
        listed["data"][0]["status"], "disabled",
        "a list made before the change does not answer for it: {listed}"
    );
    assert_eq!(
        read["endpoint"], "https://example.com/hook/0",
        "kept: {read}"
    );
    let (status, _) = server.call("DELETE", &path, token, None).await;
    assert_eq!(status, 200);
    let (status, _) = server.call("GET", &path, token, None).await;
    assert_eq!(status, 404);
    let (status, invalid) = server
        .call(
            "POST",
            "/webhooks",
            token,
            Some(json!({"endpoint": "https://x.example"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(invalid["errors"][0]["pointer"], "/events", "{invalid}");
    server.assert_answers_conform().await;
}

#[tokio::test]
async fn a_lists_counts_are_true_in_the_object_the_envelope_keeps_them_in() {
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/fieldnation.json");
    let server = DocServer::start(&[document.to_str().expect("utf-8")]).await;
    let body: Value = serde_json::from_str(include_str!(
        "../../fixtures/requests/fieldnation-create-webhook.json"
    ))
    .expect("JSON");
    for _ in 0..3 {
        let (status, created) = server
            .call("POST", "/api/v1/webhooks", Some("t"), Some(body.clone()))
            .await;
        assert_eq!(status, 200, "{created}");
    }
    let (_, all) = server
        .call("GET", "/api/v1/webhooks", Some("t"), None)
        .await;
    assert_eq!(all["result"].as_array().map(Vec::len), Some(3), "{all}");
    assert_eq!(all["metadata"]["total"], 3, "{all}");
    assert_eq!(all["metadata"]["count"], 3, "{all}");
    let (_, page) = server
        .call("GET", "/api/v1/webhooks?page=2&perPage=2", Some("t"), None)
        .await;
    assert_eq!(page["result"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["metadata"]["count"], 1, "{page}");
    assert_eq!(page["metadata"]["total"], 3, "{page}");
    let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
    let operations = specs["documents"][0]["operations"]
        .as_array()
        .expect("operations");
    assert_eq!(
        operations.len(),
        6,
        "each once, though the bundled API has the same name: {operations:#?}"
    );
    let list = operations
        .iter()
        .find(|o| o["operationId"] == "listWebhooks")
        .expect("the list is shown");
    assert_eq!(
        list["plan"]["list_fields"],
        json!({"/metadata/count": "count", "/metadata/total": "total"}),
        "{list}"
    );
    server.assert_answers_conform().await;
}

#[tokio::test]
async fn a_3_1_document_serves_its_examples_and_generated_answers() {
    let server = DocServer::start(&[spec("v3.1-tictactoe.yaml").to_str().expect("utf-8")]).await;
    let (status, board) = server.call("GET", "/board", Some("key"), None).await;
    assert_eq!(status, 200, "{board}");
    assert!(board["board"].is_array(), "{board}");
    let (status, _) = server.call("GET", "/board/1/1", Some("key"), None).await;
    assert_eq!(status, 200);
    let (status, refused) = server.call("GET", "/board/9/1", Some("key"), None).await;
    assert_eq!(status, 400, "row 9 is past the schema's maximum: {refused}");
    server.assert_answers_conform().await;
}

#[tokio::test]
async fn every_public_example_document_loads() {
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(spec("")).expect("the folder") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let server = DocServer::start(&[path.to_str().expect("utf-8")]).await;
            let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
            let api = specs["documents"][0]["api"].as_str().expect("served");
            loaded.push(api.to_owned());
        }
    }
    loaded.sort_unstable();
    assert_eq!(
        loaded,
        [
            "resend-3.1",
            "v3.0-api-with-examples",
            "v3.0-callback-example",
            "v3.0-link-example",
            "v3.0-petstore",
            "v3.0-petstore-expanded",
            "v3.0-uspto",
            "v3.1-non-oauth-scopes",
            "v3.1-tictactoe",
            "v3.1-webhook-example",
        ]
    );
}

#[tokio::test]
async fn a_document_says_where_inference_guessed_wrong_and_specs_shows_it() {
    let dir = tempdir("extensions");
    let doc = dir.join("notes.yaml");
    std::fs::write(
        &doc,
        "openapi: 3.1.0\ninfo: {title: Notes, version: '1'}\npaths:\n  /notes/search:\n    post:\n      x-hookmock-action: list\n      x-hookmock-collection: /notes\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {type: object, properties: {results: {type: array, items: {$ref: 'parts/note.yaml'}}}}\n  /notes:\n    post:\n      requestBody: {content: {application/json: {schema: {$ref: 'parts/note.yaml'}}}}\n      responses:\n        '201': {description: ok, content: {application/json: {schema: {$ref: 'parts/note.yaml'}}}}\n  /notes/{noteId}:\n    get:\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: 'parts/note.yaml'}}}}\n",
    )
    .expect("writes");
    std::fs::create_dir_all(dir.join("parts")).expect("a folder");
    std::fs::write(
        dir.join("parts/note.yaml"),
        "type: object\nrequired: [text]\nproperties:\n  noteId: {type: string, readOnly: true, examples: [note_8f2kq9x1]}\n  text: {type: string}\n",
    )
    .expect("writes");
    let server = DocServer::start(&[doc.to_str().expect("utf-8")]).await;
    let (status, note) = server
        .call(
            "POST",
            "/notes",
            None,
            Some(json!({"text": "hi", "noteId": "mine"})),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let id = note["noteId"]
        .as_str()
        .expect("the id field, found by its name");
    assert!(
        id.starts_with("note_") && id != "note_8f2kq9x1",
        "the examples' prefix: {id}"
    );
    let (_, found) = server.call("POST", "/notes/search", None, None).await;
    assert_eq!(found["results"][0]["text"], "hi", "{found}");
    let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
    let plans = &specs["documents"][0]["operations"];
    let search = plans
        .as_array()
        .expect("operations")
        .iter()
        .find(|o| o["path"] == "/notes/search")
        .expect("listed");
    assert_eq!(search["plan"]["action"], "list");
    assert_eq!(search["plan"]["source"], "x-hookmock");
    assert_eq!(search["plan"]["envelope"], "/results");
    assert_eq!(
        specs["documents"][0]["files"].as_array().map(Vec::len),
        Some(2)
    );
    server.assert_answers_conform().await;
}

/// A workspace header named by `x-hookmock-partition` keeps each workspace's notes apart (as
/// ELAN's organization header does for the bundled API); `fields=` limits what a list shows and
/// names an unknown field; an unknown note is the documented 404 in the document's words; a
/// change stamps `updated_at` now.
#[tokio::test]
async fn a_partition_header_keeps_records_apart_and_a_change_is_stamped_now() {
    let dir = tempdir("partition");
    let doc = dir.join("notes.yaml");
    std::fs::write(
        &doc,
        "openapi: 3.0.3\ninfo: {title: Notes, version: '1'}\nx-hookmock-partition: X-Workspace\ncomponents:\n  parameters:\n    workspace: {name: X-Workspace, in: header, schema: {type: string, default: main}}\n  schemas:\n    Note:\n      type: object\n      properties:\n        id: {type: integer, readOnly: true}\n        text: {type: string}\n        updated_at: {type: string, format: date-time}\npaths:\n  /notes:\n    parameters: [{$ref: '#/components/parameters/workspace'}]\n    get:\n      parameters: [{name: fields, in: query, schema: {type: string}}]\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Note'}}}}}\n    post:\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}}\n      responses:\n        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}}\n  /notes/{id}:\n    parameters: [{$ref: '#/components/parameters/workspace'}, {name: id, in: path, required: true, schema: {type: integer}}]\n    get:\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}}\n        '404': {description: missing, content: {application/json: {schema: {type: object, properties: {message: {type: string}}}, example: {message: Note not found}}}}\n    patch:\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}}\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}}\n",
    )
    .expect("writes");
    let server = DocServer::start(&[doc.to_str().expect("utf-8")]).await;
    let (a, b) = ([("X-Workspace", "a")], [("X-Workspace", "b")]);
    let old = "2020-01-01T00:00:00Z";
    let body = json!({"text": "hi", "updated_at": old});
    let (status, note) = server
        .call_with("POST", "/notes", &a, Some("t"), Some(body))
        .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["updated_at"], old, "{note}");
    let listed = |headers: &'static [(&'static str, &'static str)]| {
        let server = &server;
        async move {
            server
                .call_with("GET", "/notes", headers, Some("t"), None)
                .await
                .1
        }
    };
    assert_eq!(listed(&[("X-Workspace", "a")]).await[0]["text"], "hi");
    assert_eq!(listed(&[("X-Workspace", "b")]).await, json!([]));
    assert_eq!(
        listed(&[]).await,
        json!([]),
        "no header: the default workspace"
    );
    let (_, sparse) = server
        .call_with("GET", "/notes?fields=text", &a, Some("t"), None)
        .await;
    assert_eq!(sparse, json!([{"text": "hi"}]), "a sparse fieldset");
    let (status, refused) = server
        .call_with("GET", "/notes?fields=text,colour", &a, Some("t"), None)
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["errors"][0]["parameter"], "fields", "{refused}");
    let (status, missing) = server
        .call_with("GET", "/notes/1", &b, Some("t"), None)
        .await;
    assert_eq!(
        (status, &missing["message"]),
        (404, &json!("Note not found"))
    );
    let (status, patched) = server
        .call_with(
            "PATCH",
            "/notes/1",
            &a,
            Some("t"),
            Some(json!({"text": "ho"})),
        )
        .await;
    assert_eq!((status, &patched["text"]), (200, &json!("ho")), "{patched}");
    assert_ne!(patched["updated_at"], old, "a change is stamped now");
    let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
    let operations = specs["documents"][0]["operations"]
        .as_array()
        .expect("operations");
    assert!(
        operations
            .iter()
            .all(|o| o["plan"]["partition"] == "X-Workspace"),
        "{operations:#?}"
    );
    server.assert_answers_conform().await;
}

/// A client polling a list (a dashboard, a test waiting for its item) sees every change at
/// once, and the time an answer shows moves on with the clock: answers kept between requests
/// (lists, see `mock::kept_lists`; the envelope around a created item, `KeptEnvelope`) never
/// outlive the records or the second they showed.
#[tokio::test]
async fn a_polled_list_follows_every_change_and_the_clock() {
    let dir = tempdir("polled");
    let doc = dir.join("tasks.yaml");
    std::fs::write(
        &doc,
        "openapi: 3.0.3\ninfo: {title: Tasks, version: '1'}\ncomponents:\n  schemas:\n    Task:\n      type: object\n      properties:\n        id: {type: integer, readOnly: true}\n        title: {type: string}\n    Tasks:\n      type: object\n      required: [generated_at, data]\n      properties:\n        generated_at: {type: string, format: date-time, readOnly: true}\n        data: {type: array, items: {$ref: '#/components/schemas/Task'}}\npaths:\n  /tasks:\n    get:\n      parameters: [{name: title, in: query, schema: {type: string}}]\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Tasks'}}}}\n    post:\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Task'}}}}\n      responses:\n        '201': {description: ok, content: {application/json: {schema: {type: object, required: [generated_at, data], properties: {generated_at: {type: string, format: date-time, readOnly: true}, data: {$ref: '#/components/schemas/Task'}}}}}}\n  /tasks/{id}:\n    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]\n    put:\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Task'}}}}\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Task'}}}}\n    delete:\n      responses:\n        '204': {description: gone}\n",
    )
    .expect("writes");
    let server = DocServer::start(&[doc.to_str().expect("utf-8")]).await;
    let titles = |path: &'static str| {
        let server = &server;
        async move {
            let (status, list) = server.call("GET", path, Some("t"), None).await;
            assert_eq!(status, 200, "{list}");
            let data = list["data"].as_array().expect("the envelope's items");
            data.iter().map(|t| t["title"].clone()).collect::<Vec<_>>()
        }
    };
    assert_eq!(titles("/tasks").await, Vec::<Value>::new());
    assert_eq!(titles("/tasks").await, Vec::<Value>::new(), "asked again");
    server
        .call("POST", "/tasks", Some("t"), Some(json!({"title": "a"})))
        .await;
    assert_eq!(titles("/tasks").await, [json!("a")], "after a create");
    assert_eq!(titles("/tasks?title=b").await, Vec::<Value>::new());
    server
        .call("PUT", "/tasks/1", Some("t"), Some(json!({"title": "b"})))
        .await;
    assert_eq!(titles("/tasks").await, [json!("b")], "after a replace");
    assert_eq!(
        titles("/tasks?title=b").await,
        [json!("b")],
        "its own query"
    );
    let (_, other) = server.call("GET", "/tasks", Some("u"), None).await;
    assert_eq!(other["data"], json!([]), "another tenant: {other}");
    server.call("DELETE", "/tasks/1", Some("t"), None).await;
    assert_eq!(
        titles("/tasks").await,
        Vec::<Value>::new(),
        "after a delete"
    );
    let shown = || async {
        let (_, list) = server.call("GET", "/tasks", Some("t"), None).await;
        let body = json!({"title": "c"});
        let (_, created) = server.call("POST", "/tasks", Some("t"), Some(body)).await;
        (
            list["generated_at"].clone(),
            created["generated_at"].clone(),
        )
    };
    let before = shown().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = shown().await;
    assert!(
        before.0.is_string() && before.0 != after.0,
        "a list's time moves on: {before:?} {after:?}"
    );
    assert!(
        before.1.is_string() && before.1 != after.1,
        "a create's time moves on: {before:?} {after:?}"
    );
    server.assert_answers_conform().await;
}

/// A JSON:API document (Ingedata's, served from the document alone): the resource a client
/// sends inside `data` is what is kept (its `links.self` and `attributes.id` the server's, no
/// optional attribute invented), an update replaces the attributes sent and stamps them, a
/// contradicting `data.id` is a 409, a sparse fieldset limits the attributes, filters compare
/// as the document's `x-hookmock-match` says (contains, one-of, has-key, prefix), `meta.count` is the total when `count=true`, and
/// errors are JSON:API error objects naming the parameter, never an empty list.
#[tokio::test]
async fn a_json_api_documents_resources_keep_their_attributes() {
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/ingedata.json");
    let server = DocServer::start(&[document.to_str().expect("utf-8")]).await;
    let path = "/api/v3/notification/webhooks";
    let old = "2020-01-01T00:00:00Z";
    let resource = json!({"data": {"type": "webhooks", "attributes": {
        "name": "qa", "url": "https://hooks.example.com/qa", "events": ["task.completed"],
        "updated_at": old
    }}});
    let (status, created) = server.call("POST", path, Some("t"), Some(resource)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["data"]["id"], "1",
        "JSON:API ids are text: {created}"
    );
    assert_eq!(created["data"]["attributes"]["name"], "qa", "{created}");
    let patch = json!({"data": {"type": "webhooks", "id": "1", "attributes": {"name": "renamed"}}});
    let (status, patched) = server
        .call("PATCH", &format!("{path}/1"), Some("t"), Some(patch))
        .await;
    assert_eq!(status, 200, "{patched}");
    let attributes = &patched["data"]["attributes"];
    assert_eq!(
        (&attributes["name"], &attributes["url"]),
        (&json!("renamed"), &json!("https://hooks.example.com/qa")),
        "{patched}"
    );
    assert_ne!(attributes["updated_at"], old, "a change is stamped now");
    let (_, sparse) = server
        .call(
            "GET",
            &format!("{path}/1?fields%5Bwebhooks%5D=name"),
            Some("t"),
            None,
        )
        .await;
    assert_eq!(
        sparse["data"]["attributes"],
        json!({"name": "renamed"}),
        "{sparse}"
    );
    assert_eq!(
        sparse["data"]["id"], "1",
        "the resource's type and id stay: {sparse}"
    );
    let second = json!({"data": {"type": "webhooks", "attributes": {
        "url": "https://hooks.example.com/second", "events": ["task.completed"],
        "scopes": {"project": "p1", "level": 2}
    }}});
    let (status, second) = server.call("POST", path, Some("t"), Some(second)).await;
    assert_eq!(status, 201);
    let attributes = &second["data"]["attributes"];
    assert_eq!(
        attributes["id"], 2,
        "attributes.id is the resource's: {second}"
    );
    assert_eq!(
        second["data"]["links"]["self"],
        format!("{path}/2"),
        "{second}"
    );
    assert_eq!(
        attributes["name"],
        Value::Null,
        "nullable, not sent: {second}"
    );
    assert!(
        attributes.get("secret").is_none() && second.get("included").is_none(),
        "nothing the document cannot tell is invented: {second}"
    );
    let (_, page) = server
        .call(
            "GET",
            &format!("{path}?page%5Bsize%5D=1&count=true"),
            Some("t"),
            None,
        )
        .await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1), "{page}");
    let next = page["links"]["next"].as_str().unwrap_or_default();
    assert!(
        next.starts_with("/api/v3/") && next.ends_with("page[number]=2"),
        "written as the document's example writes its links: {page}"
    );
    assert_eq!(
        page["meta"]["count"], 2,
        "x-hookmock-list-field: total, x-hookmock-when: count: {page}"
    );
    let (_, filtered) = server
        .call(
            "GET",
            &format!("{path}?filter%5Burl%5D=SECOND"),
            Some("t"),
            None,
        )
        .await;
    assert_eq!(
        filtered["data"][0]["id"], "2",
        "x-hookmock-match: contains, on an attribute: {filtered}"
    );
    assert_eq!(filtered["data"].as_array().map(Vec::len), Some(1));
    assert!(filtered.get("meta").is_none(), "{filtered}");
    // Each `x-hookmock-match` the document gives its filters.
    let day = second["data"]["attributes"]["created_at"]
        .as_str()
        .and_then(|t| t.get(..10))
        .expect("a timestamp");
    for (filter, expected) in [
        ("id%5D=1,2".to_owned(), vec!["1", "2"]),
        ("id%5D=2".to_owned(), vec!["2"]),
        ("name%5D=REN".to_owned(), vec!["1"]),
        ("scopes%5D=project".to_owned(), vec!["2"]),
        ("scopes%5D=project:p1".to_owned(), vec!["2"]),
        ("scopes%5D=level:2".to_owned(), vec!["2"]),
        ("scopes%5D=project:p2".to_owned(), vec![]),
        (format!("created_at%5D={day}"), vec!["1", "2"]),
        ("created_at%5D=1999-01-01".to_owned(), vec![]),
    ] {
        let query = format!("{path}?filter%5B{filter}");
        let (status, listed) = server.call("GET", &query, Some("t"), None).await;
        let ids: Vec<&str> = listed["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!((status, ids), (200, expected), "{query}: {listed}");
    }
    let contradicting = json!({"data": {"type": "webhooks", "id": "2", "attributes": {}}});
    let (status, conflict) = server
        .call(
            "PATCH",
            &format!("{path}/1"),
            Some("t"),
            Some(contradicting),
        )
        .await;
    assert_eq!(
        status, 409,
        "JSON:API: data.id names another resource: {conflict}"
    );
    let (status, refused) = server
        .call("GET", &format!("{path}/abc"), Some("t"), None)
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["errors"][0]["source"]["parameter"], "resource_id");
    assert_eq!(refused["errors"][0]["status"], "400");
    let (status, _) = server
        .call("DELETE", &format!("{path}/1"), Some("t"), None)
        .await;
    assert_eq!(status, 204);
    let (status, gone) = server
        .call("GET", &format!("{path}/1"), Some("t"), None)
        .await;
    assert_eq!(status, 404, "{gone}");
    assert_eq!(gone["errors"][0]["status"], "404", "{gone}");
    assert!(gone["errors"][0]["detail"].is_string(), "{gone}");
    server.assert_answers_conform().await;
}

/// Field Nation's document served at run time: a webhook is read back by the identifier its
/// item route names (made with the prefix its documented answers show), its secret shown once
/// and its custom attributes when asked, and a list is in the order its query asks for, with the
/// defaults its parameters document (`sortBy=createdAt`, `sortDirection=DESC`: newest first),
/// searched as the document's `x-hookmock-search` says.
#[tokio::test]
async fn items_are_found_by_their_routes_identifier_and_lists_sorted_as_asked() {
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/fieldnation.json");
    let server = DocServer::start(&[document.to_str().expect("utf-8")]).await;
    let mut body: Value = serde_json::from_str(include_str!(
        "../../fixtures/requests/fieldnation-create-webhook.json"
    ))
    .expect("JSON");
    let mut numbers = Vec::new();
    body["secret"] = json!("3fa85f64-5717-4562-b3fc-2c963f66afa6");
    for host in ["c", "a", "b"] {
        body["url"] = json!(format!("https://{host}.example.com/hook"));
        let (status, created) = server
            .call("POST", "/api/v1/webhooks", Some("t"), Some(body.clone()))
            .await;
        assert_eq!(status, 200, "{created}");
        // The identifier is the field the item route is named after, `webhookId`; the numeric
        // `id` beside it counts on its own.
        let key = created["result"]["webhookId"]
            .as_str()
            .expect("a webhookId");
        assert!(
            key.starts_with("wh_"),
            "the prefix the answers' examples show: {key}"
        );
        let path = format!("/api/v1/webhooks/{key}");
        let (status, read) = server.call("GET", &path, Some("t"), None).await;
        assert_eq!(
            (status, &read["result"]["url"]),
            (200, &body["url"]),
            "{read}"
        );
        // `x-hookmock-once`: the secret is shown by the create only; `x-hookmock-when`: the
        // custom attributes only when `?webhookAttribute=` is sent.
        assert_eq!(created["result"]["secret"], body["secret"], "{created}");
        let shown = |answer: &Value, field: &str| answer["result"].get(field).is_some();
        assert!(
            !shown(&read, "secret") && !shown(&read, "webhookAttribute"),
            "{read}"
        );
        let (_, asked) = server
            .call(
                "GET",
                &format!("{path}?webhookAttribute=header"),
                Some("t"),
                None,
            )
            .await;
        assert_eq!(
            asked["result"]["webhookAttribute"]["header"]["X-Custom-ID"], "prod-webhook-001",
            "{asked}"
        );
        numbers.push(created["result"]["id"].clone());
    }
    assert_eq!(numbers, [json!(1), json!(2), json!(3)]);
    let hosts = |list: &Value| -> Vec<String> {
        list["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w["url"].as_str()?.strip_prefix("https://")?.get(..1))
            .map(str::to_owned)
            .collect()
    };
    let list = |query: &'static str| {
        let server = &server;
        async move {
            let path = format!("/api/v1/webhooks{query}");
            server.call("GET", &path, Some("t"), None).await.1
        }
    };
    assert_eq!(
        hosts(&list("?sortBy=url&sortDirection=ASC").await),
        ["a", "b", "c"]
    );
    assert_eq!(
        hosts(&list("?sortBy=url").await),
        ["c", "b", "a"],
        "DESC by default"
    );
    assert_eq!(
        hosts(&list("").await),
        ["b", "a", "c"],
        "newest first by default"
    );
    assert_eq!(
        hosts(&list("?search=A.EXAMPLE").await),
        ["a"],
        "x-hookmock-search: the URL, in any case"
    );
    assert_eq!(
        hosts(&list("?search=webhook-alerts").await).len(),
        3,
        "x-hookmock-search: the notification email too"
    );
    let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
    let operations = specs["documents"][0]["operations"]
        .as_array()
        .expect("operations");
    let plan = operations
        .iter()
        .find(|o| o["operationId"] == "listWebhooks")
        .map(|o| &o["plan"]);
    assert_eq!(
        plan.map(|p| &p["sort"]),
        Some(&json!(["sortBy", "sortDirection"]))
    );
    server.assert_answers_conform().await;
}

/// A Laravel paginator (Patchworks' document served from the document alone) says which items
/// it shows and links its neighbours with the request's own URL, as Laravel does.
#[tokio::test]
async fn a_laravel_page_says_where_it_is_and_links_its_neighbours_and_its_items_their_flow() {
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/patchworks.json");
    let server = DocServer::start(&[document.to_str().expect("utf-8")]).await;
    for _ in 0..3 {
        let body = json!({"status": "Draft"});
        let (status, created) = server
            .call("POST", "/api/v1/flows/1/webhooks", Some("t"), Some(body))
            .await;
        assert_eq!(status, 200, "{created}");
    }
    // Another flow (not the example's 1): the item's `flow_id` is the path's.
    let body = json!({"status": "Draft"});
    let (_, created) = server
        .call("POST", "/api/v1/flows/7/webhooks", Some("t"), Some(body))
        .await;
    assert_eq!(created["data"]["flow_id"], 7, "{created}");
    let id = &created["data"]["id"];
    let body = json!({"status": "Inactive"});
    let (_, replaced) = server
        .call(
            "PUT",
            &format!("/api/v1/flows/7/webhooks/{id}"),
            Some("t"),
            Some(body),
        )
        .await;
    assert_eq!(
        [&replaced["data"]["flow_id"], &replaced["data"]["status"]],
        [&json!(7), &json!("Inactive")],
        "a replace keeps the flow the path names: {replaced}"
    );
    let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
    let plans = specs["documents"][0]["operations"].as_array().cloned();
    let plans = plans.unwrap_or_default();
    let create = plans
        .iter()
        .find(|o| o["operationId"] == "createFlowWebhook");
    assert_eq!(
        create.map(|o| &o["plan"]["from_path"]),
        Some(&json!([{"param": "flow", "field": "flow_id"}])),
        "{specs}"
    );
    let (_, page) = server
        .call(
            "GET",
            "/api/v1/flows/1/webhooks?per_page=2&page=2",
            Some("t"),
            None,
        )
        .await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1), "{page}");
    let meta = &page["meta"];
    assert_eq!(
        [
            &meta["current_page"],
            &meta["from"],
            &meta["to"],
            &meta["last_page"],
            &meta["total"]
        ],
        [&json!(2), &json!(3), &json!(3), &json!(2), &json!(3)],
        "{page}"
    );
    assert_eq!(
        meta["path"],
        format!("{}/api/v1/flows/1/webhooks", server.url),
        "{page}"
    );
    let link = |name: &str| page["links"][name].as_str().map(str::to_owned);
    let url = |query: &str| Some(format!("{}/api/v1/flows/1/webhooks?{query}", server.url));
    assert_eq!(link("prev"), url("per_page=2&page=1"));
    assert_eq!(link("last"), url("per_page=2&page=2"));
    assert_eq!(page["links"]["next"], Value::Null, "{page}");
    let (_, empty) = server
        .call("GET", "/api/v1/flows/2/webhooks", Some("t"), None)
        .await;
    assert_eq!(
        [
            &empty["meta"]["from"],
            &empty["meta"]["to"],
            &empty["meta"]["last_page"]
        ],
        [&Value::Null, &Value::Null, &json!(1)],
        "an empty page: {empty}"
    );
    server.assert_answers_conform().await;
}

#[tokio::test]
async fn documents_that_cannot_be_served_are_refused_naming_why() {
    let dir = tempdir("refused");
    let swagger = dir.join("old.json");
    std::fs::write(&swagger, r#"{"swagger": "2.0", "info": {}, "paths": {}}"#).expect("writes");
    let error = start_error(&[swagger.to_str().expect("utf-8")]).await;
    assert!(
        error.contains("Swagger 2.0") && error.contains("3.0.x and 3.1.x"),
        "{error}"
    );
    let petstore = spec("v3.0-petstore.yaml");
    let twin = dir.join("twin.yaml");
    std::fs::copy(&petstore, &twin).expect("copies");
    let error = start_error(&[
        petstore.to_str().expect("utf-8"),
        twin.to_str().expect("utf-8"),
    ])
    .await;
    assert!(
        error.contains("GET /pets is routed twice")
            && error.contains("v3.0-petstore.listPets")
            && error.contains("twin.listPets"),
        "{error}"
    );
    // Under a prefix, the same document serves twice.
    let mounted = format!("/v2={}", twin.display());
    let server = DocServer::start(&[petstore.to_str().expect("utf-8"), &mounted]).await;
    let (status, _) = server.call("GET", "/v2/pets", None, None).await;
    assert_eq!(status, 200);
}

async fn start_error(specs: &[&str]) -> String {
    let specs = specs
        .iter()
        .map(|s| s.parse::<SpecSource>().expect("an argument"))
        .collect();
    match Bound::new(&Config { specs, ..config() }).await {
        Ok(_) => panic!("started"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn an_edit_is_served_within_seconds_and_keeps_the_state() {
    let dir = tempdir("reload");
    let doc = dir.join("pets.yaml");
    let original = std::fs::read_to_string(spec("v3.0-petstore-expanded.yaml")).expect("reads");
    std::fs::write(&doc, &original).expect("writes");
    let served = Served::command(&["mock", "-p", "0", doc.to_str().expect("utf-8")]);
    let http = hookmock::wire::client();
    let created: Value = http
        .post(format!("{}/pets", served.url))
        .json(&json!({"name": "Rex"}))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    let edited = original.replace("  /pets/{id}:", "  /pets/{id}/toys:\n    get:\n      responses:\n        '200':\n          description: toys\n          content:\n            application/json:\n              schema: {type: array, items: {type: string, example: ball}}\n  /pets/{id}:");
    std::fs::write(&doc, edited).expect("edits");
    let toys = format!("{}/pets/{}/toys", served.url, created["id"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = http.get(&toys).send().await.expect("answered").status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the edit was not served: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    let pets: Value = http
        .get(format!("{}/pets", served.url))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(pets[0]["name"], "Rex", "the state was kept: {pets}");
    std::fs::write(&doc, "openapi: 3.0.0\npaths: [not, a, map]\n").expect("breaks it");
    let specs_url = format!("{}/__admin/specs", served.url);
    loop {
        let specs: Value = http
            .get(&specs_url)
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("json");
        if let Some(error) = specs["documents"][0]["reload"]["error"].as_str() {
            assert!(error.contains("paths"), "{error}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the refusal was not reported: {specs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = http.get(&toys).send().await.expect("answered").status();
    assert_eq!(status, 200, "the last good version keeps serving");
}

/// A fresh folder under the target directory for one test's files.
fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("any-document-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    dir
}

#[tokio::test]
async fn an_overlay_amends_a_document_the_user_does_not_own() {
    let dir = tempdir("overlay");
    let overlay = dir.join("overlay.yaml");
    std::fs::write(
        &overlay,
        "overlay: 1.0.0\ninfo: {title: pets as a catalogue, version: '1'}\nactions:\n  - target: \"$.paths['/pets/{id}'].get\"\n    update: {x-hookmock-action: example}\n  - target: \"$.paths['/pets/{id}'].delete\"\n    remove: true\n",
    )
    .expect("writes");
    let server = DocServer::with_config(Config {
        specs: vec![
            spec("v3.0-petstore-expanded.yaml")
                .to_str()
                .expect("utf-8")
                .parse()
                .expect("a spec"),
        ],
        overlays: vec![overlay.clone()],
        ..config()
    })
    .await;
    let (status, pet) = server.call("GET", "/pets/7", None, None).await;
    assert_eq!(
        status, 200,
        "answered from the schema, not the store: {pet}"
    );
    assert!(pet["name"].is_string(), "{pet}");
    let (status, _) = server.call("DELETE", "/pets/7", None, None).await;
    assert_eq!(status, 405, "the overlay removed the operation");
    let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
    let files = specs["documents"][0]["files"].to_string();
    assert!(
        files.contains("overlay.yaml"),
        "the overlay is watched too: {files}"
    );
    server.assert_answers_conform().await;

    std::fs::write(&overlay, "actions: []\n").expect("writes");
    let error = match Bound::new(&Config {
        specs: vec![
            spec("v3.0-petstore.yaml")
                .to_str()
                .expect("utf-8")
                .parse()
                .expect("a spec"),
        ],
        overlays: vec![overlay],
        ..config()
    })
    .await
    {
        Ok(_) => panic!("started"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("not an Overlay document"), "{error}");
}

#[tokio::test]
async fn a_documents_webhooks_and_callbacks_are_sent_signed() {
    let server = DocServer::start(&[
        spec("v3.1-webhook-example.yaml").to_str().expect("utf-8"),
        spec("v3.0-callback-example.yaml").to_str().expect("utf-8"),
    ])
    .await;
    let receiver = Receiver::start(&[]).await;
    let (status, queued) = server
        .call(
            "POST",
            "/__admin/events",
            None,
            Some(json!({"api": "v3.1-webhook-example", "webhook": "newPet", "url": receiver.url})),
        )
        .await;
    assert_eq!(status, 200, "{queued}");
    let secret = queued["secret"].as_str().expect("the signing secret");
    let hook = &receiver.wait_for(1).await[0];
    standardwebhooks::Webhook::new(secret)
        .expect("a whsec_ secret")
        .verify(&hook.body, &hook.headers)
        .expect("signed the Standard Webhooks way");
    let pet = hook.json();
    assert!(
        pet["id"].is_i64() && pet["name"].is_string(),
        "a Pet, generated: {pet}"
    );

    // The callback goes where the subscribing request said, plus the expression's suffix.
    let (status, _) = server
        .call(
            "POST",
            &format!("/streams?callbackUrl={}", receiver.url),
            None,
            None,
        )
        .await;
    assert_eq!(status, 201);
    let (status, queued) = server
        .call(
            "POST",
            "/__admin/events",
            None,
            Some(json!({"api": "v3.0-callback-example", "callback": "onData", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})),
        )
        .await;
    assert_eq!(status, 200, "{queued}");
    let hooks = receiver.wait_for(2).await;
    assert_eq!(hooks[1].path, "/hooks/data");
    assert!(
        hooks[1].json()["timestamp"].is_string(),
        "{}",
        hooks[1].json()
    );
    let (_, deliveries) = server
        .call(
            "GET",
            "/__admin/deliveries?api=v3.0-callback-example",
            None,
            None,
        )
        .await;
    assert_eq!(
        deliveries["deliveries"].as_array().map(Vec::len),
        Some(1),
        "{deliveries}"
    );

    let (status, refused) = server
        .call(
            "POST",
            "/__admin/events",
            None,
            Some(json!({"api": "v3.1-webhook-example", "webhook": "oldPet", "url": receiver.url})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("newPet")),
        "{refused}"
    );
}

#[tokio::test]
async fn a_documents_collections_reset_export_and_import_with_the_admin_api() {
    let server =
        DocServer::start(&[spec("v3.0-petstore-expanded.yaml").to_str().expect("utf-8")]).await;
    server
        .call("POST", "/pets", None, Some(json!({"name": "Rex"})))
        .await;
    let (_, theirs) = server.call("GET", "/pets", Some("team-b"), None).await;
    assert_eq!(
        theirs,
        json!([]),
        "a credential sent anyway is its own tenant"
    );
    let (status, state) = server.call("GET", "/__admin/state", None, None).await;
    assert_eq!(status, 200);
    let pets = &state["apis"]["v3.0-petstore-expanded"]["collections"]["anonymous"];
    assert_eq!(pets["collections"]["/pets"]["1"]["name"], "Rex", "{state}");
    let (status, _) = server
        .call(
            "POST",
            "/__admin/reset",
            None,
            Some(json!({"api": "v3.0-petstore-expanded"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, empty) = server.call("GET", "/pets", None, None).await;
    assert_eq!(empty, json!([]));
    let (status, imported) = server
        .call("PUT", "/__admin/state", None, Some(state))
        .await;
    assert_eq!(status, 200, "{imported}");
    let (_, back) = server.call("GET", "/pets/1", None, None).await;
    assert_eq!(back["name"], "Rex");
    let (_, next) = server
        .call("POST", "/pets", None, Some(json!({"name": "Bo"})))
        .await;
    assert_eq!(next["id"], 2, "the sequence came back too");
}

#[tokio::test]
async fn a_proxy_checks_a_real_api_against_a_run_time_document() {
    let petstore = spec("v3.0-petstore-expanded.yaml");
    let upstream = DocServer::start(&[petstore.to_str().expect("utf-8")]).await;
    let source: SpecSource = petstore.to_str().expect("utf-8").parse().expect("a spec");
    let bound = Bound::proxy(
        None,
        Some(&source),
        &upstream.url,
        "127.0.0.1:0".parse().expect("address"),
        100,
    )
    .await
    .expect("starts");
    let proxy = crate::harness::spawn(bound).await;
    let http = hookmock::wire::client();
    let answer = http
        .post(format!("{proxy}/pets"))
        .json(&json!({"tag": "no name"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        answer.status(),
        400,
        "the upstream's own answer, passed through"
    );
    assert_eq!(answer.headers()["x-hookmock-violations"], "1");
    let violations: Value = http
        .get(format!("{proxy}/__admin/violations"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    let found = &violations["violations"][0];
    assert_eq!(found["api"], "v3.0-petstore-expanded");
    assert_eq!(found["violations"][0]["location"], "/name", "{found}");
}

/// What hookmock generates for a documented response fits that response's schema, for every
/// response of every public example document (the generator is checked, not trusted).
#[test]
fn generated_answers_fit_every_documented_response_of_the_public_documents() {
    use hookmock::shape::Shaper;
    use hookmock::validate::{Contracts, Dialect, Source};
    let mut checked = 0;
    for entry in std::fs::read_dir(spec("")).expect("the folder") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let loaded = hookmock::spec::load::load(&path, "", &[]).expect("loads");
        let operations: &'static [hookmock::spec::Operation] =
            Box::leak(loaded.extracted.operations.clone().into_boxed_slice());
        let dialect = match loaded.version {
            hookmock::spec::load::Version::V30 => Dialect::OpenApi30,
            hookmock::spec::load::Version::V31 => Dialect::OpenApi31,
        };
        let source = Source {
            api: loaded.api,
            document: loaded.document.clone(),
            dialect,
            lenient: false,
        };
        let contracts =
            Contracts::compile_sources(vec![source], operations, true, |_| true).expect("compiles");
        let shaper = Shaper::new(&loaded.document, chrono::Utc::now());
        for (index, op) in operations.iter().enumerate() {
            for response in op.responses.iter().filter(|r| r.schema.is_some()) {
                let Ok(status) = response.status.parse::<u16>() else {
                    continue;
                };
                let schema = response
                    .schema
                    .and_then(|p| loaded.document.pointer(p))
                    .expect("the schema");
                let body = serde_json::to_vec(&shaper.generate(schema)).expect("serialises");
                let problems = contracts.check_response(index, status, response.media_type, &body);
                assert!(
                    problems.is_empty(),
                    "{} {} {}: {} → {problems:?}",
                    loaded.api,
                    op.operation_id,
                    response.status,
                    String::from_utf8_lossy(&body)
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} responses");
}

#[tokio::test]
async fn a_schema_the_engine_cannot_compile_does_not_refuse_the_whole_document() {
    let dir = tempdir("lenient");
    let doc = dir.join("odd.yaml");
    std::fs::write(
        &doc,
        "openapi: 3.0.3\ninfo: {title: Odd, version: '1'}\npaths:\n  /things:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              type: object\n              properties:\n                code: {type: string, pattern: '[a-z'}\n      responses:\n        '201': {description: made}\n    get:\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {type: array, items: {type: object}}}}}\n",
    )
    .expect("writes");
    let server = DocServer::start(&[doc.to_str().expect("utf-8")]).await;
    let (status, _) = server.call("GET", "/things", None, None).await;
    assert_eq!(status, 200);
    let (_, specs) = server.call("GET", "/__admin/specs", None, None).await;
    let warnings = specs["documents"][0]["warnings"].to_string();
    assert!(warnings.contains("does not compile"), "{warnings}");
}
