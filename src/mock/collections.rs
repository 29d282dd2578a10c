//! The records of every inferred collection, per tenant: what a create stores, a read finds, a
//! list pages through and a delete removes (with the collections nested inside the item).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::infer::{Action, CURSOR_AFTER, CURSOR_BEFORE, LIMIT, ListField, OFFSET, PAGE, SORT};
use super::record::Record;
use super::{Call, text_of};
use crate::error::ApiError;
use crate::request::Reply;
use crate::shape::At;
use crate::shape::ObjectView;
use crate::store::{Commit, State};

/// One tenant's records: collection instance (its concrete path, `/app/app_1/endpoint`) →
/// identifier → record, in the order they were created; and the integer sequences.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Tenant {
    collections: BTreeMap<String, IndexMap<String, Record>>,
    #[serde(default)]
    sequences: BTreeMap<String, u64>,
}

/// The state of one document: kept across reloads of a run-time document.
#[derive(Debug, Default)]
pub struct Collections {
    tenants: RwLock<HashMap<String, Tenant>>,
    /// What every tenant starts from, and is reset to: a bundled API's fixtures.
    fixtures: Tenant,
    changes: AtomicU64,
}

/// The key of the integer sequence of `api`'s collection `template`.
pub fn sequence_key(api: &str, template: &str) -> String {
    format!("{api} {}", super::infer::shape(template))
}

impl Collections {
    /// A state whose every tenant starts with `records` (where each is kept, its identifier
    /// and the record), the integer sequence `sequence` past the largest identifier.
    pub fn seeded(
        sequence: String,
        records: impl IntoIterator<Item = (String, u64, Value)>,
    ) -> Self {
        let mut fixtures = Tenant::default();
        let mut last = 0;
        for (instance, id, record) in records {
            last = last.max(id);
            fixtures
                .collections
                .entry(instance)
                .or_default()
                .insert(id.to_string(), Record::new(record));
        }
        fixtures.sequences.insert(sequence, last);
        Self {
            fixtures,
            ..Self::default()
        }
    }

    fn read<R>(&self, tenant: &str, f: impl FnOnce(Option<&Tenant>) -> R) -> R {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(Some(tenants.get(tenant).unwrap_or(&self.fixtures)))
    }

    fn write<R>(&self, tenant: &str, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.changes.fetch_add(1, Ordering::SeqCst);
        f(tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| self.fixtures.clone()))
    }

    /// Calls `f` with every record (its tenant, where it is kept, the record) of `tenant`, or
    /// of every tenant that has changed its state when `None`.
    pub fn each(&self, tenant: Option<&str>, mut f: impl FnMut(&str, &str, &Value)) {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let chosen: Vec<(&str, &Tenant)> = match tenant {
            Some(name) => vec![(name, tenants.get(name).unwrap_or(&self.fixtures))],
            None => tenants.iter().map(|(n, t)| (n.as_str(), t)).collect(),
        };
        for (name, state) in chosen {
            for (instance, records) in &state.collections {
                for record in records.values() {
                    f(name, instance, record.value());
                }
            }
        }
    }

    /// The record `id` kept at `instance`, if there is one.
    pub fn get(&self, tenant: &str, instance: &str, id: &str) -> Option<Value> {
        self.read(tenant, |t| {
            Some(t?.collections.get(instance)?.get(id)?.value().clone())
        })
    }

    /// Changes the record `id` kept at `instance`; false when there is none.
    pub fn modify(
        &self,
        tenant: &str,
        instance: &str,
        id: &str,
        f: impl FnOnce(&mut Value),
    ) -> bool {
        self.write(tenant, |t| {
            let record = t.collections.get_mut(instance).and_then(|c| c.get_mut(id));
            record.map(|r| f(r.value_mut())).is_some()
        })
    }

    /// Drops the list items kept beside the records (their schemas were compiled anew).
    pub fn forget_items(&self) {
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let records = tenants
            .values_mut()
            .flat_map(|t| t.collections.values_mut())
            .flat_map(IndexMap::values_mut);
        for record in records {
            record.forget_items();
        }
    }

    /// Answers one call of an operation of this document.
    pub fn answer(&self, call: &Call<'_>) -> Result<Reply, ApiError> {
        if let Some(parent) = &call.plan.parent {
            self.require_item(call, parent)?;
        }
        let Some(collection) = call.plan.collection.as_deref() else {
            return call.example();
        };
        let instance = call.instance(collection);
        let tenant = call.request.tenant.as_str();
        match call.plan.action {
            Action::Create => self.create(call, collection, &instance),
            Action::List => self.list(call, &instance),
            Action::Read => {
                let id = self.item_id(call)?;
                let found = self.read(tenant, |t| {
                    t.and_then(|t| Some(t.collections.get(&instance)?.get(&id)?.value().clone()))
                });
                call.reply(Some(found.ok_or_else(|| not_found(call, &id))?))
            }
            Action::Replace | Action::Merge => self.update(call),
            Action::Delete => {
                let id = self.item_id(call)?;
                let removed = self.write(tenant, |t| {
                    let removed = t.collections.get_mut(&instance)?.shift_remove(&id)?;
                    let inside = format!("{instance}/{id}/");
                    t.collections.retain(|path, _| !path.starts_with(&inside));
                    Some(removed.into_value())
                });
                call.reply(Some(removed.ok_or_else(|| not_found(call, &id))?))
            }
            Action::Example => call.example(),
        }
    }

    /// The item `template` (with the request's parameters) exists, or the call is a 404.
    fn require_item(&self, call: &Call<'_>, template: &str) -> Result<(), ApiError> {
        let Some((collection, last)) = template.rsplit_once('/') else {
            return Ok(());
        };
        let Some(name) = last.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            return Ok(());
        };
        let id = call.request.param(name).map(text_of).unwrap_or_default();
        let instance = call.instance(collection);
        let exists = self.read(&call.request.tenant, |t| {
            t.and_then(|t| t.collections.get(&instance))
                .is_some_and(|items| items.contains_key(&id))
        });
        if exists {
            Ok(())
        } else {
            Err(not_found(call, &id))
        }
    }

    fn item_id(&self, call: &Call<'_>) -> Result<String, ApiError> {
        call.plan
            .id_param
            .and_then(|name| call.request.param(name))
            .map(text_of)
            .ok_or_else(|| ApiError::NotFound("the path names no item".to_owned()))
    }

    fn create(&self, call: &Call<'_>, collection: &str, instance: &str) -> Result<Reply, ApiError> {
        let mut record = call.record_of_body();
        let style = call.plan.id_style.as_deref().unwrap_or("uuid");
        let sequence_key = sequence_key(call.operation.api, collection);
        let record = self.write(&call.request.tenant, |tenant| {
            let (id_text, id_value) = match style {
                "integer" => {
                    let next = tenant.sequences.entry(sequence_key.clone()).or_default();
                    *next += 1;
                    (next.to_string(), id_value(call, &next.to_string()))
                }
                _ => {
                    let id = new_id(style, call);
                    (id.clone(), json!(id))
                }
            };
            if let (Some(field), Value::Object(record)) = (&call.plan.id_field, &mut record) {
                record.insert(field.clone(), id_value);
                // A numeric `id` beside the identifier (Field Nation's database id) counts too.
                if field != "id" && numeric_id_declared(call) && !record.contains_key("id") {
                    let next = tenant
                        .sequences
                        .entry(format!("{sequence_key} id"))
                        .or_default();
                    *next += 1;
                    record.insert("id".to_owned(), json!(*next));
                }
            }
            let complete = call.complete(record);
            tenant
                .collections
                .entry(instance.to_owned())
                .or_default()
                .insert(id_text, Record::new(complete.clone()));
            complete
        });
        call.reply(Some(record))
    }

    /// A replace (PUT) or merge (PATCH) of an item that exists.
    fn update(&self, call: &Call<'_>) -> Result<Reply, ApiError> {
        self.update_with(call, |stored, body| match call.plan.action {
            Action::Merge => {
                let mut merged = stored.clone();
                merge_patch(&mut merged, &body);
                merged
            }
            _ => {
                // A replace keeps what the server set: the identifier and read-only fields.
                let mut replaced = body;
                if let (Value::Object(replaced), Some(old)) = (&mut replaced, stored.as_object()) {
                    for (name, value) in server_set(call, old) {
                        replaced.insert(name, value);
                    }
                }
                replaced
            }
        })
    }

    /// The item the call names, made anew by `change` from the stored record and the request's
    /// body (without the fields the server sets), completed by the item schema and answered as
    /// every update is. For a vendor whose update is neither a replace nor a merge patch.
    pub fn update_with(
        &self,
        call: &Call<'_>,
        change: impl FnOnce(&Value, Value) -> Value,
    ) -> Result<Reply, ApiError> {
        let collection = call.plan.collection.as_deref().unwrap_or_default();
        let instance = call.instance(collection);
        let id = self.item_id(call)?;
        let body = call.record_of_body();
        let updated = self.write(&call.request.tenant, |tenant| {
            let stored = tenant
                .collections
                .get_mut(&instance)?
                .get_mut(&id)?
                .value_mut();
            let mut record = change(stored, body);
            if let (Some(field), Value::Object(record)) = (&call.plan.id_field, &mut record) {
                let kept = stored.get(field.as_str()).cloned();
                record.insert(field.clone(), kept.unwrap_or_else(|| id_value(call, &id)));
            }
            // Made anew by `complete`: now.
            for path in update_stamps(call) {
                let Some((last, parents)) = path.split_last() else {
                    continue;
                };
                let holder = parents
                    .iter()
                    .try_fold(&mut record, |at, key| at.get_mut(key));
                if let Some(Value::Object(holder)) = holder {
                    holder.remove(last);
                }
            }
            *stored = call.complete(record);
            Some(stored.clone())
        });
        call.reply(Some(updated.ok_or_else(|| not_found(call, &id))?))
    }

    /// A page of the items that match the query's filters, made while the store is read: each
    /// item is made once per version of its record (see [`Record::item`]).
    fn list(&self, call: &Call<'_>, instance: &str) -> Result<Reply, ApiError> {
        let filters = Filters::of(call);
        let order = Order::of(call);
        self.read(&call.request.tenant, |t| {
            let mut matching: Vec<(&String, &Record)> = t
                .and_then(|t| t.collections.get(instance))
                .into_iter()
                .flatten()
                .filter(|(_, record)| filters.accept(record.value()))
                .collect();
            order.apply(&mut matching);
            let ids: Vec<&str> = matching.iter().map(|(id, _)| id.as_str()).collect();
            let page = Page::read(call, &ids);
            let shown = matching[page.start..page.end].iter().map(|(_, r)| *r);
            let next = (page.end < ids.len())
                .then(|| ids.get(page.end.saturating_sub(1)).copied())
                .flatten();
            let previous = ids.get(page.start).filter(|_| page.start > 0).copied();
            let listed = Listed {
                total: ids.len(),
                has_more: page.end < ids.len(),
                next,
                previous,
                page: &page,
            };
            list_reply(call, shown, &listed)
        })
    }
}

/// What a list answer says about its page besides the items.
struct Listed<'a> {
    total: usize,
    has_more: bool,
    next: Option<&'a str>,
    /// The identifier of the first item shown, when items come before it.
    previous: Option<&'a str>,
    page: &'a Page,
}

/// The answer listing `records`: the envelope made without them, then their items spliced in
/// where the envelope's array is; the whole answer made at once where the items cannot be made
/// alone (an array inside a `oneOf`…).
fn list_reply<'r>(
    call: &Call<'_>,
    records: impl ExactSizeIterator<Item = &'r Record>,
    listed: &Listed<'_>,
) -> Result<Reply, ApiError> {
    let status = axum::http::StatusCode::from_u16(call.plan.status).unwrap_or_default();
    let path = call.envelope_path();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let shaper = call.shaper();
    let item_slot = call
        .success_pointer()
        .and_then(|schema| Some((schema, shaper.item_slot(At::Pointer(schema), &path)?)));
    let count = records.len();
    // A sparse fieldset makes the whole answer, to leave fields out of each item.
    let item_slot = item_slot.filter(|_| {
        call.plan
            .fields
            .is_none_or(|f| call.request.param(f).is_none())
    });
    let Some((schema, item_slot)) = item_slot else {
        let items = records.map(|r| r.value().clone()).collect();
        return call.reply(Some(list_source(call, items, count, listed)));
    };
    let source = list_source(call, Vec::new(), count, listed);
    let envelope = shaper.fill(At::Pointer(schema), Some(&source));
    let items: Vec<_> = records
        .map(|r| r.item(&item_slot, |value| shaper.fill_item(&item_slot, value)))
        .collect();
    Reply::json(
        status,
        &Spliced {
            value: &envelope,
            path: &path,
            items: &items,
        },
    )
}

/// `value` with `items` as the array at `path`.
struct Spliced<'a> {
    value: &'a Value,
    path: &'a [&'a str],
    items: &'a [Cow<'a, RawValue>],
}

impl serde::Serialize for Spliced<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some((head, rest)) = self.path.split_first() else {
            return serializer.collect_seq(self.items.iter().map(|item| &**item));
        };
        let Value::Object(object) = self.value else {
            return self.value.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(object.len()))?;
        for (key, value) in object {
            if key == head {
                let inner = Spliced {
                    value,
                    path: rest,
                    items: self.items,
                };
                map.serialize_entry(key, &inner)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The identifier `id` (path text) as the identifier field holds it: a number where the
/// identifiers are integers, unless the field holds text.
fn id_value(call: &Call<'_>, id: &str) -> Value {
    let text_field = call
        .item_schema()
        .zip(call.plan.id_field.as_deref())
        .is_some_and(|(item, field)| {
            ObjectView::of(call.doc, item)
                .property(field)
                .is_some_and(|p| {
                    crate::shape::type_of(call.doc, crate::shape::resolve(call.doc, p))
                        == Some("string")
                })
        });
    match (call.plan.id_style.as_deref(), id.parse::<i64>()) {
        (Some("integer"), Ok(n)) if !text_field => json!(n),
        _ => json!(id),
    }
}

/// The identifier and read-only fields of a stored record.
fn server_set(call: &Call<'_>, old: &Map<String, Value>) -> Vec<(String, Value)> {
    let Some(schema) = call.item_schema() else {
        return Vec::new();
    };
    let view = ObjectView::of(call.doc, schema);
    old.iter()
        .filter(|(name, _)| {
            view.property(name).is_some_and(|p| {
                let p = crate::shape::resolve(call.doc, p);
                p.get("readOnly") == Some(&Value::Bool(true))
                    || crate::shape::is_timestamp(name, p) && name.starts_with("created")
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether the item declares an integer `id`.
fn numeric_id_declared(call: &Call<'_>) -> bool {
    call.item_schema().is_some_and(|item| {
        ObjectView::of(call.doc, item)
            .property("id")
            .is_some_and(|p| {
                crate::shape::type_of(call.doc, crate::shape::resolve(call.doc, p))
                    == Some("integer")
            })
    })
}

/// The item's timestamps that every change sets to now (`updated_at`, `modifiedAt`…), as
/// paths of property names: at the top, or one object down (JSON:API's `attributes`).
fn update_stamps(call: &Call<'_>) -> Vec<Vec<String>> {
    let Some(schema) = call.item_schema() else {
        return Vec::new();
    };
    let stamps = |schema: &Value| -> Vec<String> {
        let view = ObjectView::of(call.doc, schema);
        view.properties
            .iter()
            .filter(|(name, property)| {
                let lower = name.to_ascii_lowercase();
                (lower.contains("updated") || lower.contains("modified"))
                    && crate::shape::is_timestamp(name, crate::shape::resolve(call.doc, property))
            })
            .map(|(name, _)| (*name).to_owned())
            .collect()
    };
    let view = ObjectView::of(call.doc, schema);
    let nested = view.properties.iter().flat_map(|(name, property)| {
        stamps(crate::shape::resolve(call.doc, property))
            .into_iter()
            .map(move |stamp| vec![(*name).to_owned(), stamp])
    });
    stamps(schema)
        .into_iter()
        .map(|s| vec![s])
        .chain(nested)
        .collect()
}

/// A new identifier of `style`: a UUID, or the prefix the examples show and as many random
/// letters and digits as they have.
fn new_id(style: &str, call: &Call<'_>) -> String {
    if let Some(rest) = style.strip_prefix("prefix:") {
        let (prefix, length) = rest.rsplit_once(':').unwrap_or((rest, "24"));
        let length = length.parse().unwrap_or(24usize).clamp(8, 64);
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let tail: String = (0..length)
            .map(|_| {
                let at = (call.context.random() * ALPHABET.len() as f64) as usize;
                ALPHABET[at.min(ALPHABET.len() - 1)] as char
            })
            .collect();
        return format!("{prefix}{tail}");
    }
    call.context.uuid().to_string()
}

/// The documented 404 of the operation (or the API's problem shape) for an unknown item.
fn not_found(call: &Call<'_>, id: &str) -> ApiError {
    if let Some(documented) = call.documented_not_found() {
        return ApiError::NotFound(documented);
    }
    ApiError::NotFound(format!(
        "{} {:?} does not exist",
        call.plan
            .collection
            .as_deref()
            .or(call.plan.parent.as_deref())
            .and_then(|c| c.rsplit('/').find(|s| !s.starts_with('{')))
            .map_or_else(|| "item".to_owned(), super::infer::singular),
        id
    ))
}

/// RFC 7396: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The order a list's query asks for (see [`SORT`]): fields, each ascending or descending
/// (`None`: as the direction parameter says); with none, the creation order, maybe reversed.
#[derive(Debug, Default, PartialEq)]
struct Order {
    keys: Vec<(String, Option<bool>)>,
    descending: bool,
}

impl Order {
    fn of(call: &Call<'_>) -> Self {
        let mut order = Self::default();
        let values = call
            .plan
            .sort
            .iter()
            .filter_map(|name| call.request.param(name));
        for value in values {
            order.read(&text_of(value));
        }
        order
    }

    /// One parameter's value: a direction word, else field names (`-name`, `name:desc`).
    fn read(&mut self, text: &str) {
        match text.trim().to_ascii_lowercase().as_str() {
            "desc" | "descending" => return self.descending = true,
            "asc" | "ascending" => return self.descending = false,
            _ => {}
        }
        for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let (key, descending) = match key.strip_prefix('-') {
                Some(rest) => (rest, Some(true)),
                None => (key.strip_prefix('+').unwrap_or(key), None),
            };
            let (key, descending) = match key.rsplit_once([':', ' ']) {
                Some((field, "desc" | "DESC")) => (field, Some(true)),
                Some((field, "asc" | "ASC")) => (field, Some(false)),
                _ => (key, descending),
            };
            self.keys.push((key.to_owned(), descending));
        }
    }

    /// Orders `records` (in creation order) stably: by the keys (a field at the top of the
    /// record or in its JSON:API `attributes`; absent ones after the others, before them when
    /// descending, as SQL does), the direction asked applying to keys that name none. Ties keep
    /// the creation order, reversed when the first key descends (newest first).
    fn apply(&self, records: &mut [(&String, &Record)]) {
        let first = self.keys.first().and_then(|(_, descending)| *descending);
        if first.unwrap_or(self.descending) {
            records.reverse();
        }
        if self.keys.is_empty() {
            return;
        }
        records.sort_by(|(_, a), (_, b)| {
            self.keys
                .iter()
                .map(|(key, descending)| {
                    let order = compare_fields(field(a.value(), key), field(b.value(), key));
                    if descending.unwrap_or(self.descending) {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
}

fn field<'v>(record: &'v Value, name: &str) -> Option<&'v Value> {
    record
        .get(name)
        .or_else(|| record.get("attributes")?.get(name))
        .filter(|v| !v.is_null())
}

/// Numbers by value, text by its characters (RFC 3339 times sort by time), anything before
/// nothing.
fn compare_fields(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::Number(a)), Some(Value::Number(b))) => {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            a.total_cmp(&b)
        }
        (Some(Value::String(a)), Some(Value::String(b))) => a.cmp(b),
        (Some(a), Some(b)) => text_of(a).cmp(&text_of(b)),
    }
}

/// Query parameters named like an item's fields filter the list by equality (an array
/// parameter: any of its values).
struct Filters<'a> {
    wanted: Vec<Filter<'a>>,
}

struct Filter<'a> {
    /// The value asked for.
    value: &'a Value,
    name: &'static str,
    singular: String,
    /// `name` or `singular`, where the item schema declares it.
    declared: Option<String>,
}

impl<'a> Filters<'a> {
    /// The query parameters sent that are not pagination.
    fn of(call: &'a Call<'a>) -> Self {
        let paging = |name: &str| {
            [LIMIT, OFFSET, PAGE, CURSOR_AFTER, CURSOR_BEFORE, SORT]
                .iter()
                .any(|names| names.contains(&name))
        };
        let shaper = call.shaper();
        let declares = |name: &str| {
            call.plan
                .item_schema
                .as_deref()
                .is_some_and(|item| shaper.declares(At::Pointer(item), name))
        };
        let wanted = call
            .operation
            .params
            .iter()
            .filter(|p| p.location == crate::spec::ParamIn::Query && !paging(p.name))
            .filter_map(|p| {
                let singular = super::infer::singular(p.name);
                let declared = [p.name, singular.as_str()]
                    .into_iter()
                    .find(|n| declares(n))
                    .map(str::to_owned);
                Some(Filter {
                    value: call.request.param(p.name)?,
                    name: p.name,
                    singular,
                    declared,
                })
            })
            .collect();
        Self { wanted }
    }

    /// Whether `item` has what every filter asks (`tags=dog` filters on a field `tags`, else
    /// on `tag`; a parameter naming no field filters nothing).
    fn accept(&self, item: &Value) -> bool {
        self.wanted.iter().all(|filter| {
            let field = filter.declared.as_deref().or_else(|| {
                [filter.name, filter.singular.as_str()]
                    .into_iter()
                    .find(|n| item.get(*n).is_some())
            });
            let Some(field) = field else {
                return true;
            };
            match (filter.value, item.get(field).unwrap_or(&Value::Null)) {
                (Value::Array(options), Value::Array(values)) => {
                    options.iter().any(|o| values.contains(o))
                }
                (Value::Array(options), found) => options.contains(found),
                (wanted, Value::Array(values)) => values.contains(wanted),
                (wanted, found) => wanted == found || text_of(wanted) == text_of(found),
            }
        })
    }
}

/// The slice of a list a request asks for.
struct Page {
    start: usize,
    end: usize,
    limit: Option<usize>,
    number: Option<usize>,
}

impl Page {
    fn read(call: &Call<'_>, items: &[&str]) -> Self {
        let number_of = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| call.request.param(n).and_then(as_count))
        };
        // JSON:API's `page[…]`: one deepObject parameter, or parameters named `page[size]`.
        let deep = call.request.param("page").and_then(Value::as_object);
        let in_page = |keys: [&str; 2]| {
            keys.iter().find_map(|key| {
                let value = deep.and_then(|d| d.get(*key));
                value
                    .or_else(|| call.request.param(&format!("page[{key}]")))
                    .and_then(as_count)
            })
        };
        let limit = number_of(LIMIT)
            .or_else(|| in_page(["size", "limit"]))
            .or_else(|| default_limit(call));
        let number = number_of(PAGE).or_else(|| in_page(["number", "page"]));
        let position = |names: &[&str], after: bool| {
            let id = names
                .iter()
                .find_map(|n| call.request.param(n).map(text_of))?;
            let at = items.iter().position(|k| *k == id)?;
            Some(if after { at + 1 } else { at })
        };
        let offset = number_of(OFFSET)
            .or_else(|| Some(number?.saturating_sub(1) * limit?))
            .or_else(|| position(CURSOR_AFTER, true))
            .unwrap_or(0)
            .min(items.len());
        let (start, end) = match position(CURSOR_BEFORE, false) {
            Some(before) => {
                let start = limit.map_or(0, |l| before.saturating_sub(l));
                (start, before)
            }
            None => (
                offset,
                limit.map_or(items.len(), |l| offset.saturating_add(l)),
            ),
        };
        Self {
            start: start.min(items.len()),
            end: end.min(items.len()).max(start.min(items.len())),
            limit,
            number,
        }
    }
}

impl Page {
    /// The 1-based number of this page.
    fn current(&self) -> usize {
        self.number
            .unwrap_or_else(|| self.limit.map_or(1, |l| self.start / l.max(1) + 1))
    }
}

/// The URLs of a list's pages: the request's own, its position parameters replaced (the
/// limit and every other parameter kept), absolute as `format: uri` wants.
struct Links<'a> {
    /// `http://<host><path>`.
    base: String,
    /// The request's query without its position parameters, each pair ending in `&`.
    kept: String,
    call: &'a Call<'a>,
    listed: &'a Listed<'a>,
}

impl<'a> Links<'a> {
    fn of(call: &'a Call<'a>, listed: &'a Listed<'a>) -> Self {
        let host = call.request.host.as_ref().and_then(|h| h.to_str().ok());
        let base = format!(
            "http://{}{}",
            host.unwrap_or("localhost"),
            call.request.path
        );
        let position = |pair: &&str| {
            let name = pair.split('=').next().unwrap_or_default();
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            [PAGE, OFFSET, CURSOR_AFTER, CURSOR_BEFORE]
                .iter()
                .any(|names| names.contains(&name.as_ref()))
                || name.starts_with("page[") && !name.ends_with("[size]")
        };
        let kept = call
            .request
            .query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty() && !position(pair))
            .map(|pair| format!("{pair}&"))
            .collect();
        Self {
            base,
            kept,
            call,
            listed,
        }
    }

    /// The URL with `name=value` as its position.
    fn with(&self, name: &str, value: &str) -> String {
        format!("{}?{}{name}={value}", self.base, self.kept)
    }

    /// The declared parameter of `names`, else `fallback`.
    fn parameter(&self, names: &[&'static str], fallback: &'static str) -> &'static str {
        let declared = self.call.operation.params.iter();
        declared
            .map(|p| p.name)
            .find(|n| names.contains(n))
            .unwrap_or(fallback)
    }

    /// Whether pages are numbered JSON:API's way, `page[number]`.
    fn deep_page(&self) -> bool {
        self.call.operation.params.iter().any(|p| {
            p.name.starts_with("page[")
                || p.name == "page" && p.style == crate::spec::ParamStyle::DeepObject
        }) && !self
            .call
            .operation
            .params
            .iter()
            .any(|p| PAGE.contains(&p.name) && p.style != crate::spec::ParamStyle::DeepObject)
    }

    /// Page `number` (1-based), by the pagination the operation declares.
    fn at(&self, number: usize) -> String {
        let limit = self.listed.page.limit.unwrap_or(0);
        match self.call.plan.pagination.as_deref() {
            Some("page") if self.deep_page() => self.with("page%5Bnumber%5D", &number.to_string()),
            Some("page") => self.with(self.parameter(PAGE, "page"), &number.to_string()),
            Some("offset") => {
                let offset = number.saturating_sub(1).saturating_mul(limit);
                self.with(self.parameter(OFFSET, "offset"), &offset.to_string())
            }
            _ if number <= 1 => match self.kept.strip_suffix('&') {
                Some(query) => format!("{}?{query}", self.base),
                None => self.base.clone(),
            },
            _ => self.with("page", &number.to_string()),
        }
    }

    fn last(&self, pages: Option<usize>) -> Option<String> {
        let cursor = self.call.plan.pagination.as_deref() == Some("cursor");
        (!cursor).then(|| self.at(pages.unwrap_or(1).max(1)))
    }

    fn next(&self) -> Option<String> {
        if !self.listed.has_more {
            return None;
        }
        match self.call.plan.pagination.as_deref() {
            Some("cursor") => {
                let after = self.parameter(CURSOR_AFTER, "after");
                Some(self.with(after, self.listed.next?))
            }
            _ => Some(self.at(self.listed.page.current() + 1)),
        }
    }

    fn previous(&self) -> Option<String> {
        match self.call.plan.pagination.as_deref() {
            Some("cursor") => {
                let before = self.parameter(CURSOR_BEFORE, "before");
                Some(self.with(before, self.listed.previous?))
            }
            _ => {
                let current = self.listed.page.current();
                (current > 1).then(|| self.at(current - 1))
            }
        }
    }
}

fn as_count(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|n| usize::try_from(n).ok())
}

/// The `default` of the operation's limit parameter, if it documents one.
fn default_limit(call: &Call<'_>) -> Option<usize> {
    call.operation
        .params
        .iter()
        .filter(|p| LIMIT.contains(&p.name))
        .find_map(|p| {
            call.doc
                .pointer(p.schema)?
                .get("default")
                .and_then(as_count)
        })
}

/// The list's answer before it is shaped: the items at the envelope's array, and every
/// pagination field a list envelope might have (the schema keeps those it declares).
fn list_source(call: &Call<'_>, items: Vec<Value>, count: usize, listed: &Listed<'_>) -> Value {
    let Listed {
        total,
        has_more,
        next,
        page,
        ..
    } = *listed;
    let pages = page.limit.map(|limit| total.div_ceil(limit.max(1)));
    let shown = |position: usize| (count > 0).then_some(position);
    let links = Links::of(call, listed);
    let value = |field: ListField| -> Option<Value> {
        Some(match field {
            ListField::Total => json!(total),
            ListField::Count => json!(count),
            ListField::HasMore => json!(has_more),
            ListField::Done => json!(!has_more),
            ListField::Next => json!(next?),
            ListField::Limit => json!(page.limit?),
            ListField::Pages => json!(pages?),
            ListField::LastPage => json!(pages.unwrap_or(1).max(1)),
            ListField::Offset => json!(page.start),
            ListField::Page => json!(page.current()),
            ListField::From => json!(shown(page.start + 1)),
            ListField::To => json!(shown(page.start + count)),
            ListField::Path => json!(links.base),
            ListField::SelfUrl => json!(links.at(page.current())),
            ListField::FirstUrl => json!(links.at(1)),
            ListField::LastUrl => json!(links.last(pages)),
            ListField::PrevUrl => json!(links.previous()),
            ListField::NextUrl => json!(links.next()),
        })
    };
    let array = Value::Array(items);
    let mut root = match call.plan.envelope.as_deref() {
        Some(slot) if !slot.is_empty() => super::wrap(slot, array),
        _ => return array,
    };
    for (at, field) in &call.plan.list_fields {
        if let Some(value) = value(*field) {
            place(&mut root, at, value);
        }
    }
    root
}

/// `value` at the pointer `at` in `root`, the objects on the way made where missing; a value
/// already there is kept.
fn place(root: &mut Value, at: &str, value: Value) {
    let mut object = root;
    let mut segments = at.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        let Value::Object(map) = object else {
            return;
        };
        let key = crate::spec::unescape(segment).into_owned();
        if segments.peek().is_none() {
            map.entry(key).or_insert(value);
            return;
        }
        object = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

impl State for Collections {
    fn export(&self) -> Box<RawValue> {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ordered: BTreeMap<&String, &Tenant> = tenants.iter().collect();
        serde_json::value::to_raw_value(&ordered)
            .unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).unwrap_or_default())
    }

    fn import(&self, state: &RawValue) -> Result<Commit<'_>, String> {
        let tenants: HashMap<String, Tenant> = serde_json::from_str(state.get())
            .map_err(|e| format!("expected {{tenant: {{collections, sequences}}}}: {e}"))?;
        Ok(Box::new(move || {
            *self
                .tenants
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = tenants;
            self.changes.fetch_add(1, Ordering::SeqCst);
        }))
    }

    fn reset(&self, tenant: Option<&str>) {
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.changes.fetch_add(1, Ordering::SeqCst);
        match tenant {
            Some(tenant) => {
                tenants.remove(tenant);
            }
            None => tenants.clear(),
        }
    }

    fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(parameters: &[&str], records: &[Value]) -> Vec<usize> {
        let mut order = Order::default();
        for text in parameters {
            order.read(text);
        }
        let ids: Vec<String> = (0..records.len()).map(|i| i.to_string()).collect();
        let kept: Vec<Record> = records.iter().cloned().map(Record::new).collect();
        let mut listed: Vec<(&String, &Record)> = ids.iter().zip(&kept).collect();
        order.apply(&mut listed);
        listed
            .iter()
            .filter_map(|(id, _)| id.parse().ok())
            .collect()
    }

    /// Every way a list's query names its order: a direction alone, fields with `-`, `:desc`
    /// or a direction parameter, JSON:API attributes, absent values, ties.
    #[test]
    fn a_list_is_ordered_as_its_query_says() {
        let records = [
            json!({"name": "b", "n": 2, "attributes": {"rank": 1}}),
            json!({"name": "a", "n": 10}),
            json!({"name": "b", "n": 1, "attributes": {"rank": 0}}),
        ];
        assert_eq!(ordered(&[], &records), [0, 1, 2]);
        assert_eq!(ordered(&["descending"], &records), [2, 1, 0]);
        assert_eq!(ordered(&["n"], &records), [2, 0, 1], "numbers by value");
        assert_eq!(ordered(&["-n"], &records), [1, 0, 2]);
        assert_eq!(ordered(&["n:desc"], &records), [1, 0, 2]);
        assert_eq!(ordered(&["n", "DESC"], &records), [1, 0, 2]);
        assert_eq!(ordered(&["name,-n"], &records), [1, 0, 2]);
        assert_eq!(
            ordered(&["name"], &records),
            [1, 0, 2],
            "ties in creation order"
        );
        assert_eq!(
            ordered(&["-name"], &records),
            [2, 0, 1],
            "ties newest first when descending"
        );
        assert_eq!(ordered(&["rank"], &records), [2, 0, 1], "absent last");
    }
}
