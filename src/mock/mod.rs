//! The stateful mock of any document: collections inferred from the paths ([`infer`]), kept
//! per tenant, and every answer shaped by its response schema ([`crate::shape`]).
//!
//! The bundled vendor APIs have their behaviour written in `apis/`; a document loaded at run time
//! has only what it says, and this engine reads everything it does from there.

pub mod events;
pub mod infer;

mod answer;
mod collections;
mod json_api;
mod kept_lists;
mod listing;
mod record;

pub use answer::documented_error;
pub use collections::{Collections, Upgraded, fields_sent, id_sequence_key, sequence_key};
pub use infer::{Action, Plan};

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::ApiError;
use crate::request::{Reply, Request};
use crate::shape::{At, Compiled, ItemSlot, ObjectView, Shaper, resolve};
use crate::spec::Operation;
use record::{Inner, Spliced};

/// One call of an operation: what the engine reads to answer it.
pub struct Call<'a> {
    pub doc: &'a Value,
    pub operation: &'a Operation,
    pub plan: &'a Plan,
    /// Owned: a create or update keeps the body it is given instead of copying it (the copy
    /// was 5% of a create's time).
    pub request: Request,
    pub context: &'a Context,
    /// `doc`'s compiled schemas.
    pub schemas: &'a RwLock<Compiled>,
    /// The records of `doc`'s collections.
    pub state: &'a Collections,
}

impl<'a> Call<'a> {
    /// The answer of the generic engine: what the document alone says this call does.
    pub fn answer(mut self) -> Result<Reply, ApiError> {
        self.state.answer(&mut self)
    }

    /// The shaper of answers made from records.
    fn shaper(&self) -> Shaper<'_> {
        Shaper::with_compiled(self.doc, self.schemas, self.context)
            .of_records()
            .creating(self.plan.action == Action::Create)
            .answering(&self.request)
    }

    /// Where the records of the collection `template` are kept for this call: its concrete
    /// path, after the partition's value when the operation has one (`org_acme:/webhooks`).
    pub fn instance(&self, template: &str) -> String {
        let concrete = self.concrete(template);
        match self
            .plan
            .partition
            .and_then(|name| self.request.param(name))
        {
            Some(value) => within(&text_of(value), &concrete),
            None => concrete,
        }
    }

    /// The path template with the request's parameters in it.
    fn concrete(&self, template: &str) -> String {
        if !template.contains('{') {
            return template.to_owned();
        }
        template
            .split('/')
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => self
                        .request
                        .param(name)
                        .map_or_else(|| segment.to_owned(), text_of),
                    None => segment.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }

    fn item_schema(&self) -> Option<&'a Value> {
        self.plan
            .item_schema
            .as_deref()
            .and_then(|p| crate::shape::pointer(self.doc, p))
    }

    /// Where the success response's schema is in the document.
    fn success_pointer(&self) -> Option<&'static str> {
        let status = self.plan.status.to_string();
        self.operation
            .responses
            .iter()
            .find(|r| r.status == status)
            .and_then(|r| r.schema)
    }

    /// The path (property names) to the array of a list's envelope, or to the item in an
    /// item's envelope: empty when the answer is the array or item itself.
    fn envelope_path(&self) -> Vec<String> {
        self.plan
            .envelope
            .as_deref()
            .unwrap_or_default()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| crate::spec::unescape(s).into_owned())
            .collect()
    }

    /// The success answer for `item` (or a list source), in the documented envelope.
    fn reply(&self, source: Option<Value>) -> Result<Reply, ApiError> {
        let status = StatusCode::from_u16(self.plan.status).unwrap_or(StatusCode::OK);
        let Some(schema) = self.success_pointer() else {
            return Ok(Reply { status, body: None });
        };
        // A list builds its own envelope (with the pagination fields); an item goes into its.
        let source = match (&self.plan.envelope, source) {
            (Some(slot), Some(inner)) if !slot.is_empty() && self.plan.action != Action::List => {
                Some(wrap(slot, inner))
            }
            (_, source) => source,
        };
        let mut body = self.shaper().fill(At::Pointer(schema), source.as_ref());
        if let Some(fields) = self.sparse_fields()? {
            let path = self.envelope_path();
            let at = path.iter().try_fold(&mut body, |at, key| at.get_mut(key));
            match at {
                Some(Value::Array(items)) => {
                    for item in items {
                        keep_only(item, &fields);
                    }
                }
                Some(item) => keep_only(item, &fields),
                None => {}
            }
        }
        Reply::json(status, &body)
    }

    /// The fields the query's sparse fieldset names (see [`Plan::fields`]), each one the item
    /// declares (at its top or in its JSON:API `attributes`).
    fn sparse_fields(&self) -> Result<Option<Vec<String>>, ApiError> {
        let Some(name) = self.plan.fields else {
            return Ok(None);
        };
        let known: Vec<&str> = self.plan.item.fields.iter().map(String::as_str).collect();
        self.request.field_list(name, &known)
    }

    /// The properties the request body's schema declares: what a framework's validated input
    /// (Laravel's) keeps of a body.
    pub fn declared_fields(&self) -> Vec<String> {
        let schema = self
            .operation
            .body
            .and_then(|body| crate::shape::pointer(self.doc, body.schema));
        schema.map_or_else(Vec::new, |schema| {
            let view = ObjectView::of(self.doc, resolve(self.doc, schema));
            view.properties
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .collect()
        })
    }

    /// A non-CRUD answer: the documented example, else the schema filled from the request body.
    fn example(&self) -> Result<Reply, ApiError> {
        let status = StatusCode::from_u16(self.plan.status).unwrap_or(StatusCode::OK);
        let code = self.plan.status.to_string();
        let Some(pointer) = self.response_schema(&code) else {
            return Ok(Reply { status, body: None });
        };
        let body = match self.documented_example(&code) {
            Some(example) => example,
            None => {
                // The request is not a record: the answer shows every property near its top.
                let schema = self.doc.pointer(pointer).unwrap_or(&Value::Null);
                Shaper::with_compiled(self.doc, self.schemas, self.context)
                    .fill(schema, self.request.body())
            }
        };
        Reply::json(status, &body)
    }

    /// Whether the success answer shows anything of `record`: its schema (or the item in its
    /// envelope) declares one of the record's fields. A delete answered with a message does
    /// not, and answers the documented example instead.
    fn answer_shows(&self, record: &Value) -> bool {
        let Some(schema) = self.success_pointer().and_then(|p| self.doc.pointer(p)) else {
            return false;
        };
        let envelope = self.plan.envelope.as_deref().unwrap_or_default();
        let declares = |schema: &Value| {
            let view = ObjectView::of(self.doc, resolve(self.doc, schema));
            view.properties
                .iter()
                .any(|(name, _)| record.get(*name).is_some())
        };
        declares(schema) || (!envelope.is_empty() && self.item_schema().is_some_and(declares))
    }

    /// Whether the operation documents an answer of `status`.
    fn documents(&self, status: &str) -> bool {
        self.operation.responses.iter().any(|r| r.status == status)
    }

    /// Where the schema of the response documented for `status` is.
    fn response_schema(&self, status: &str) -> Option<&'static str> {
        let def = self
            .operation
            .responses
            .iter()
            .find(|r| r.status == status)?;
        def.schema
    }

    /// The example of the response documented for `status`: `example`, else the first of
    /// `examples`.
    fn documented_example(&self, status: &str) -> Option<Value> {
        let media = self
            .response_schema(status)?
            .strip_suffix("/schema")
            .and_then(|p| crate::shape::pointer(self.doc, p))?;
        crate::shape::media_example(self.doc, media).cloned()
    }

    /// The message of the documented 404's example (`{"detail": "Webhook not found"}`, or of
    /// its first error: `{"errors": [{"message": …}]}`), which
    /// an unknown item is answered with in the document's own words.
    fn documented_not_found(&self) -> Option<String> {
        let example = self.documented_example("404")?;
        let nested = example.get("error").filter(|e| e.is_object());
        let listed = example.pointer("/errors/0").filter(|e| e.is_object());
        let holder = nested.or(listed).unwrap_or(&example);
        ["detail", "message", "error", "title", "description"]
            .iter()
            .find_map(|key| holder.get(key)?.as_str())
            .map(str::to_owned)
    }

    /// The request body as a record, without the fields the server sets. The body is taken:
    /// what reads it must read it before.
    fn record_of_body(&mut self) -> Value {
        let body = self.request.body.take();
        let body = match self.sent_in_envelope(body.as_ref()) {
            Some(pointer) => body.and_then(|mut b| b.pointer_mut(pointer).map(Value::take)),
            None => body,
        };
        match body {
            Some(Value::Object(sent)) => {
                let read_only = &self.plan.item.read_only;
                // Room for what the server adds: growing the map costs more than moving it (a
                // map grown by the fields `complete` adds cost three times as much, measured).
                let room = sent.len().max(self.plan.item.properties.len()) + 2;
                let mut record = Map::with_capacity(room);
                record.extend(
                    sent.into_iter()
                        .filter(|(name, _)| !read_only.contains(name)),
                );
                Value::Object(record)
            }
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(other) => other,
        }
    }

    /// Sets the item fields that hold a parameter of the collection's path (see
    /// [`Plan::from_path`]): the path says where the item lives, whatever the body says.
    fn set_from_path(&self, record: &mut Value) {
        let Value::Object(record) = record else {
            return;
        };
        for from in &self.plan.from_path {
            let Some(value) = self.request.param(from.param) else {
                continue;
            };
            let value = match value {
                Value::String(text) if !from.text => text
                    .parse::<i64>()
                    .map_or_else(|_| value.clone(), Value::from),
                Value::String(_) => value.clone(),
                other if from.text => Value::String(text_of(other)),
                other => other.clone(),
            };
            record.insert(from.field.clone(), value);
        }
    }

    /// The item a request body sends inside the envelope its answers keep it in (JSON:API's
    /// `{"data": {"type", "attributes"}}`, `{"data": {…}}`): the envelope is not part of the item
    /// unless the item itself declares its first property.
    fn sent_in_envelope(&self, body: Option<&Value>) -> Option<&'a str> {
        let envelope = self.plan.envelope.as_deref().filter(|e| !e.is_empty())?;
        let first = envelope.split('/').nth(1).map(crate::spec::unescape)?;
        let declared = self.plan.item.properties.iter().any(|p| *p == first);
        let inner = crate::shape::pointer(body?, envelope).filter(|inner| inner.is_object());
        (inner.is_some() && !declared).then_some(envelope)
    }

    /// A record made whole by the item schema: required and example'd fields generated,
    /// timestamps set now. Fields the schema does not describe are kept as sent.
    fn complete(&self, record: Value) -> Value {
        let Some(schema) = self.item_schema() else {
            return record;
        };
        with_undeclared(self.shaper().fill(schema, Some(&record)), record)
    }

    /// Where a create's answer holds its item, when the item made alone from the record (see
    /// [`Shaper::single_slot`]) is the one the answer holds, every field included.
    fn single_slot(&self, shaper: &Shaper<'_>) -> Option<Cow<'a, ItemSlot>> {
        if self
            .plan
            .fields
            .and_then(|f| self.request.param(f))
            .is_some()
        {
            return None;
        }
        let find = || {
            let schema = self.success_pointer()?;
            let path = self.envelope_path();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            shaper.single_slot(At::Pointer(schema), &path, self.item_schema()?)
        };
        // What the answer shows on the way to its item changes only with `x-hookmock-when`.
        if shaper.asks_conditions() {
            return find().map(Cow::Owned);
        }
        self.answer_slot(find).map(Cow::Borrowed)
    }

    /// Where a list's answer holds its items (see [`Shaper::item_slot`]).
    fn list_slot(&self, shaper: &Shaper<'_>) -> Option<&'a ItemSlot> {
        self.answer_slot(|| {
            let path = self.envelope_path();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            shaper.item_slot(At::Pointer(self.success_pointer()?), &path)
        })
    }

    /// The plan's [`Plan::answer_slot`], found by `find` on the operation's first answer.
    fn answer_slot(&self, find: impl FnOnce() -> Option<ItemSlot>) -> Option<&'a ItemSlot> {
        let plan = self.plan;
        plan.answer_slot.get_or_init(find).as_ref()
    }

    /// The answer around a created item at `path`: kept per operation (see
    /// [`record::KeptEnvelope`]) unless the request asks for what is shown only when asked.
    fn around_item(&self, shaper: &Shaper<'_>, schema: &str, path: &[&str]) -> Arc<Value> {
        let conditional = shaper.asks_conditions();
        if let Some(kept) = self
            .plan
            .around
            .get(|| shaper.now())
            .filter(|_| !conditional)
        {
            return kept;
        }
        let envelope = Arc::new(shaper.fill_around(At::Pointer(schema), path));
        if !conditional {
            self.plan.around.keep(shaper.clock_shown(), &envelope);
        }
        envelope
    }

    /// The record made whole (see [`Call::complete`]) and the success answer showing it: the
    /// answer is written straight from the record where it holds the whole item (`slot`).
    fn made(
        &self,
        shaper: &Shaper<'_>,
        slot: Option<&ItemSlot>,
        mut record: Value,
    ) -> Result<(Reply, Value), ApiError> {
        let (Some(slot), Some(schema)) = (slot, self.success_pointer()) else {
            let complete = self.complete(record);
            return Ok((self.reply(Some(complete.clone()))?, complete));
        };
        let status = StatusCode::from_u16(self.plan.status).unwrap_or(StatusCode::OK);
        let path = self.envelope_path();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        // Made before the item: the compiled schemas are read once at a time.
        let envelope = self.around_item(shaper, schema, &path);
        let reply = shaper.complete_item(slot, &mut record, |item| {
            let inner = Inner::Item(item);
            Reply::json(
                status,
                &Spliced {
                    value: &envelope,
                    path: &path,
                    inner,
                },
            )
        })?;
        Ok((reply, record))
    }
}

/// `filled` (an item made from `record`) with the fields of `record` its schema does not
/// describe, kept as sent.
fn with_undeclared(mut filled: Value, record: Value) -> Value {
    if let (Value::Object(filled), Value::Object(sent)) = (&mut filled, record) {
        for (name, value) in sent {
            filled.entry(name).or_insert(value);
        }
    }
    filled
}

/// The fields an item of the schema `item` declares: its properties, or its JSON:API
/// `attributes`' ones.
fn item_fields(doc: &Value, item: &Value) -> Vec<String> {
    let view = ObjectView::of(doc, item);
    let attributes = view
        .property("attributes")
        .map(|a| ObjectView::of(doc, resolve(doc, a)));
    let names = match &attributes {
        Some(attributes) => &attributes.properties,
        None => &view.properties,
    };
    names.iter().map(|(name, _)| (*name).to_owned()).collect()
}

/// `item` with only `fields`: of its JSON:API `attributes` when it has them (its type, id and
/// links stay), else of the item itself.
fn keep_only(item: &mut Value, fields: &[String]) {
    let holder = match item.get_mut("attributes") {
        Some(attributes @ Value::Object(_)) => attributes,
        _ => item,
    };
    if let Value::Object(map) = holder {
        map.retain(|name, _| fields.contains(name));
    }
}

/// Where the records of `path` are kept for the partition value `partition`.
pub fn within(partition: &str, path: &str) -> String {
    format!("{partition}:{path}")
}

/// The partition value a place made by [`within`] for `path` keeps records for.
pub fn partition_of<'i>(instance: &'i str, path: &str) -> Option<&'i str> {
    instance.strip_suffix(path)?.strip_suffix(':')
}

/// `inner` placed at `slot` (`/data`, `/data/items`) of an otherwise empty object.
fn wrap(slot: &str, inner: Value) -> Value {
    slot.rsplit('/')
        .filter(|s| !s.is_empty())
        .fold(inner, |value, key| {
            Value::Object(Map::from_iter([(
                crate::spec::unescape(key).into_owned(),
                value,
            )]))
        })
}

/// A parameter's value as path text: a string as is, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
