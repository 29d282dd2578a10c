//! The records of every inferred collection, per tenant: what a create stores, a read finds, a
//! list pages through and a delete removes (with the collections nested inside the item).

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::infer::Action;
use super::json_api;
use super::kept_lists::{KeptLists, ListKey};
use super::listing::{Filters, Listed, Order, Page, Repeat, list_reply};
use super::record::Record;
use super::{Call, text_of};
use crate::error::ApiError;
use crate::request::{Reply, Request};
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

impl Tenant {
    /// The next number of the sequence `key`.
    fn next(&mut self, key: &str) -> u64 {
        let number = match self.sequences.get_mut(key) {
            Some(number) => number,
            None => self.sequences.entry(key.to_owned()).or_default(),
        };
        *number += 1;
        *number
    }
}

/// The state of one document: kept across reloads of a run-time document.
#[derive(Debug, Default)]
pub struct Collections {
    tenants: RwLock<HashMap<String, Tenant>>,
    /// What every tenant starts from, and is reset to: a bundled API's fixtures.
    fixtures: Tenant,
    /// What makes the fixtures a tenant's own (see [`Collections::personalized`]).
    personal: Option<Personal>,
    changes: AtomicU64,
    /// List answers kept while nothing changes (see [`KeptLists`]).
    lists: KeptLists,
    /// What a record shows that depends on the request (see [`Collections::shown_with`]).
    shown: Option<Shown>,
    /// What every imported record must be (see [`Collections::checked_by`]).
    check: Option<Check>,
}

/// Changes a fixture record for the tenant it is given to.
type Personalize = dyn Fn(&str, &mut Value) + Send + Sync;

struct Personal(Box<Personalize>);

impl std::fmt::Debug for Personal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Personal")
    }
}

/// Changes a record as one request is shown it: the request, where the record is kept, its
/// identifier, the record.
type Show = dyn Fn(&Request, &str, &str, &mut Value) + Send + Sync;

struct Shown(Box<Show>);

impl std::fmt::Debug for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shown")
    }
}

/// Says why a record (where it is kept, the record) cannot be stored, if it cannot.
type Checker = dyn Fn(&str, &Value) -> Result<(), String> + Send + Sync;

struct Check(Box<Checker>);

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Check")
    }
}

/// A tenant of an earlier version's numbered store, as its export shows it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Numbered {
    last_id: Option<u64>,
    /// Read as they are written, and parsed one at a time: a tenant's records parsed at once
    /// would hold every one as a value.
    items: BTreeMap<u64, Box<RawValue>>,
}

/// Tenants of an earlier hookmock's numbered stores in this state's shape: for a vendor whose
/// stores became one state (see [`crate::store::Stores::upgrading`]). Each tenant starts from
/// the state's fixtures, as it did in every earlier store it had not written to.
#[derive(Debug)]
pub struct Upgraded {
    fixtures: Tenant,
    tenants: BTreeMap<String, Tenant>,
}

impl Upgraded {
    /// Tenants to be made of the earlier stores of `state`.
    pub fn of(state: &Collections) -> Self {
        Self {
            fixtures: state.fixtures.clone(),
            tenants: BTreeMap::new(),
        }
    }

    /// Adds the records of one earlier store's `export` (`{tenant: {last_id, items: {"<n>":
    /// record}}}`), each placed by `place` (its number and record → where it is kept, its
    /// identifier, the record), `last_id` the sequence `sequence`. For each tenant the store
    /// lists, what it held replaces the fixtures' records kept where `held` says.
    pub fn add(
        &mut self,
        export: &RawValue,
        sequence: &str,
        held: impl Fn(&str) -> bool,
        place: impl Fn(u64, Value) -> (String, String, Value),
    ) -> Result<(), String> {
        let numbered: BTreeMap<String, Numbered> = serde_json::from_str(export.get())
            .map_err(|e| format!("expected {{tenant: {{last_id, items}}}}: {e}"))?;
        for (name, numbered) in numbered {
            let tenant = self
                .tenants
                .entry(name)
                .or_insert_with(|| self.fixtures.clone());
            tenant.collections.retain(|instance, _| !held(instance));
            let last = numbered.items.keys().next_back().copied().unwrap_or(0);
            for (number, record) in numbered.items {
                let record = serde_json::from_str(record.get())
                    .map_err(|e| format!("item {number}: {e}"))?;
                let (instance, id, record) = place(number, record);
                let records = tenant.collections.entry(instance).or_default();
                records.insert(id, Record::new(&record));
            }
            let kept = tenant.sequences.entry(sequence.to_owned()).or_default();
            *kept = (*kept).max(numbered.last_id.unwrap_or(last).max(last));
        }
        Ok(())
    }

    /// The tenants as this state exports them.
    pub fn export(&self) -> Result<Box<RawValue>, String> {
        serde_json::value::to_raw_value(&self.tenants).map_err(|e| e.to_string())
    }

    /// Rewrites the store `name` of an import into this state's shape where it is an earlier
    /// numbered one (a vendor module's store of the records now kept at `instance`): each
    /// record identified by `convert` (its number and record → its identifier and record),
    /// `last_id` the sequence `sequence`. A store in this state's shape is left as it is.
    pub fn store(
        state: &Collections,
        stores: &mut BTreeMap<String, Box<RawValue>>,
        name: &str,
        (instance, sequence): (&str, &str),
        convert: impl Fn(u64, Value) -> (String, Value),
    ) -> Result<(), String> {
        let Some(export) = stores.get(name) else {
            return Ok(());
        };
        if serde_json::from_str::<BTreeMap<String, Numbered>>(export.get()).is_err() {
            return Ok(());
        }
        let mut upgraded = Upgraded::of(state);
        let held = |kept: &str| kept == instance;
        upgraded.add(export, sequence, held, |number, record| {
            let (id, record) = convert(number, record);
            (instance.to_owned(), id, record)
        })?;
        stores.insert(name.to_owned(), upgraded.export()?);
        Ok(())
    }
}

/// The key of the integer sequence of `api`'s collection `template`.
pub fn sequence_key(api: &str, template: &str) -> String {
    format!("{api} {}", super::infer::shape(template))
}

/// The key of the sequence of a numeric `id` kept beside another identifier (Field Nation's
/// database id beside its `webhookId`).
pub fn id_sequence_key(api: &str, template: &str) -> String {
    format!("{} id", sequence_key(api, template))
}

impl Collections {
    /// A state whose every tenant starts with `records` (where each is kept, its identifier,
    /// the number it counts as and the record), the integer sequence `sequence` past the
    /// largest number.
    pub fn seeded(
        sequence: String,
        records: impl IntoIterator<Item = (String, String, u64, Value)>,
    ) -> Self {
        Self::default().seeding(sequence, records)
    }

    /// The same state, its tenants also starting with `records` (as in
    /// [`Collections::seeded`]) of another sequence: for a document with several collections.
    pub fn seeding(
        mut self,
        sequence: String,
        records: impl IntoIterator<Item = (String, String, u64, Value)>,
    ) -> Self {
        let mut last = 0;
        for (instance, id, number, record) in records {
            last = last.max(number);
            self.fixtures
                .collections
                .entry(instance)
                .or_default()
                .insert(id, Record::new(&record));
        }
        let kept = self.fixtures.sequences.entry(sequence).or_default();
        *kept = (*kept).max(last);
        self
    }

    /// The same state, its fixture records changed by `personal` for each tenant when the
    /// tenant first reads or writes (a vendor's account number, made from the credential).
    pub fn personalized(self, personal: impl Fn(&str, &mut Value) + Send + Sync + 'static) -> Self {
        Self {
            personal: Some(Personal(Box::new(personal))),
            ..self
        }
    }

    /// The same state, its records shown as `show` changes them for the request that reads
    /// them (a vendor's absolute URLs, made from the request's host): every answer made from
    /// a record passes through it. A create stores its record as its creator was shown it;
    /// other answers leave the stored record as it is. Such records' list items are made for
    /// each answer, not kept beside the record.
    pub fn shown_with(
        self,
        show: impl Fn(&Request, &str, &str, &mut Value) + Send + Sync + 'static,
    ) -> Self {
        Self {
            shown: Some(Shown(Box::new(show))),
            ..self
        }
    }

    /// The same state, refusing an import with a record `check` refuses (one a vendor's
    /// route could not act on): the import is refused whole, naming the record.
    pub fn checked_by(
        self,
        check: impl Fn(&str, &Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            check: Some(Check(Box::new(check))),
            ..self
        }
    }

    /// `record` (kept at `instance` as `id`) as `request` is shown it.
    fn show(&self, request: &Request, instance: &str, id: &str, record: &mut Value) {
        if let Some(Shown(show)) = &self.shown {
            show(request, instance, id, record);
        }
    }

    /// What `tenant` starts from.
    fn fixtures_for(&self, tenant: &str) -> Tenant {
        let mut fixtures = self.fixtures.clone();
        if let Some(Personal(personal)) = &self.personal {
            for record in fixtures
                .collections
                .values_mut()
                .flat_map(IndexMap::values_mut)
            {
                record.update(|value| personal(tenant, value));
            }
        }
        fixtures
    }

    fn read<R>(&self, tenant: &str, f: impl FnOnce(Option<&Tenant>) -> R) -> R {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match tenants.get(tenant) {
            Some(state) => f(Some(state)),
            None if self.personal.is_none() => f(Some(&self.fixtures)),
            None => {
                drop(tenants);
                let mut tenants = self
                    .tenants
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                f(Some(
                    tenants
                        .entry(tenant.to_owned())
                        .or_insert_with(|| self.fixtures_for(tenant)),
                ))
            }
        }
    }

    fn write<R>(&self, tenant: &str, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.changes.fetch_add(1, Ordering::SeqCst);
        f(tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| self.fixtures_for(tenant)))
    }

    /// What `pick` makes of each record (where it is kept, the record) of `tenant`, or of every
    /// tenant that has changed its state when `None`, beside the record's tenant: a vendor's
    /// subscribers to an event.
    pub fn gather<T>(
        &self,
        tenant: Option<&str>,
        mut pick: impl FnMut(&str, &Value) -> Option<T>,
    ) -> Vec<(String, T)> {
        let mut found = Vec::new();
        self.each(tenant, |tenant, instance, record| {
            if let Some(picked) = pick(instance, record) {
                found.push((tenant.to_owned(), picked));
            }
        });
        found
    }

    /// Calls `f` with every record (its tenant, where it is kept, the record) of `tenant`, or
    /// of every tenant that has changed its state when `None`.
    pub fn each(&self, tenant: Option<&str>, mut f: impl FnMut(&str, &str, &Value)) {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fixtures;
        let chosen: Vec<(&str, &Tenant)> = match tenant {
            Some(name) => match tenants.get(name) {
                Some(state) => vec![(name, state)],
                None => {
                    fixtures = self.fixtures_for(name);
                    vec![(name, &fixtures)]
                }
            },
            None => tenants.iter().map(|(n, t)| (n.as_str(), t)).collect(),
        };
        for (name, state) in chosen {
            for (instance, records) in &state.collections {
                for record in records.values() {
                    f(name, instance, &record.value());
                }
            }
        }
    }

    /// The record `id` kept at `instance`, if there is one.
    pub fn get(&self, tenant: &str, instance: &str, id: &str) -> Option<Value> {
        self.read(tenant, |t| {
            Some(t?.collections.get(instance)?.get(id)?.value())
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
            record.map(|r| r.update(f)).is_some()
        })
    }

    /// Drops the list items kept beside the records, and the list answers kept (their schemas
    /// were compiled anew).
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
        self.lists.forget();
    }

    /// Answers one call of an operation of this document.
    pub fn answer(&self, call: &mut Call<'_>) -> Result<Reply, ApiError> {
        if let Some(parent) = &call.plan.parent {
            self.require_item(call, parent)?;
        }
        let Some(collection) = call.plan.collection.as_deref() else {
            return call.example();
        };
        let instance = call.instance(collection);
        let tenant = call.request.tenant.as_str();
        match call.plan.action {
            Action::Create => self.create_with(call, |_| ()),
            Action::List => self.list(call, &instance),
            Action::Read => self.read_with(call, |_| ()),
            Action::Replace | Action::Merge => self.update(call),
            Action::Delete => {
                let id = self.item_id(call)?;
                let removed = self.write(tenant, |t| {
                    let removed = t.collections.get_mut(&instance)?.shift_remove(&id)?;
                    let inside = format!("{instance}/{id}/");
                    t.collections.retain(|path, _| !path.starts_with(&inside));
                    Some(removed.value())
                });
                let mut removed = removed.ok_or_else(|| not_found(call, &id))?;
                if !call.answer_shows(&removed) {
                    // `{"message": "Webhook deleted successfully."}`: the document's words.
                    return call.example();
                }
                self.show(&call.request, &instance, &id, &mut removed);
                call.reply(Some(removed))
            }
            Action::Example => call.example(),
        }
    }

    /// A read whose answer is made from the record as `show` changes it (what the vendor shows
    /// of it); the stored record is not changed.
    pub fn read_with(
        &self,
        call: &Call<'_>,
        show: impl FnOnce(&mut Value),
    ) -> Result<Reply, ApiError> {
        let collection = call.plan.collection.as_deref().unwrap_or_default();
        let instance = call.instance(collection);
        let id = self.item_id(call)?;
        let found = self.read(&call.request.tenant, |t| {
            t.and_then(|t| Some(t.collections.get(&instance)?.get(&id)?.value()))
        });
        let mut record = found.ok_or_else(|| not_found(call, &id))?;
        self.show(&call.request, &instance, &id, &mut record);
        show(&mut record);
        call.reply(Some(record))
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

    /// A create whose new record (the body, without the fields the server sets) `prepare`
    /// changes before the server's fields are added: for a vendor that sets fields of its own.
    pub fn create_with(
        &self,
        call: &mut Call<'_>,
        prepare: impl FnOnce(&mut Value),
    ) -> Result<Reply, ApiError> {
        let Some(collection) = call.plan.collection.as_deref() else {
            return call.example();
        };
        let instance = call.instance(collection);
        let mut record = call.record_of_body();
        prepare(&mut record);
        call.set_from_path(&mut record);
        let shaper = call.shaper();
        let slot = call.single_slot(&shaper);
        let style = call.plan.id_style.as_deref().unwrap_or("uuid");
        let tenant = call.request.tenant.as_str();
        let id_field = call.plan.id_field.as_deref();
        // A numeric `id` beside the identifier (Field Nation's database id) counts too.
        let beside = id_field.is_some_and(|field| field != "id")
            && call.plan.item.numeric_id
            && record.get("id").is_none();
        // Numbers are taken under the lock; the record is made outside it (so creates racing
        // each other may be stored out of their numbers' order, as a database's would be).
        let (number, id_number) = match (style == "integer", beside) {
            (false, false) => (None, None),
            (numbered, beside) => self.write(tenant, |t| {
                let number = numbered.then(|| t.next(&call.plan.sequences[0]));
                (number, beside.then(|| t.next(&call.plan.sequences[1])))
            }),
        };
        let (id_text, id_value) = match number {
            Some(number) => (number.to_string(), id_value(call, &number.to_string())),
            None => {
                let id = new_id(style, call);
                (id.clone(), json!(id))
            }
        };
        if json_api::is_resource(call) {
            json_api::stamp(call, &mut record, &id_text);
        }
        if let (Some(field), Value::Object(record)) = (id_field, &mut record) {
            record.insert(field.to_owned(), id_value);
            if let Some(number) = id_number {
                record.insert("id".to_owned(), json!(number));
            }
        }
        self.show(&call.request, &instance, &id_text, &mut record);
        let (reply, stored) = call.made(&shaper, slot.as_deref(), record)?;
        self.write(tenant, |t| {
            let records = t.collections.entry(instance).or_default();
            records.insert(id_text, Record::new(&stored));
        });
        Ok(reply)
    }

    /// A replace (PUT) or merge (PATCH) of an item that exists.
    fn update(&self, call: &mut Call<'_>) -> Result<Reply, ApiError> {
        self.update_with(call, |call, stored, body| {
            Ok(match call.plan.action {
                Action::Merge if json_api::is_resource(call) => json_api::update(stored, &body),
                Action::Merge => {
                    let mut merged = stored.clone();
                    merge_patch(&mut merged, &body);
                    merged
                }
                _ => {
                    // A replace keeps what the server set: the identifier and read-only fields.
                    let mut replaced = body;
                    if let (Value::Object(replaced), Some(old)) =
                        (&mut replaced, stored.as_object())
                    {
                        for (name, value) in server_set(call, old) {
                            replaced.insert(name, value);
                        }
                    }
                    replaced
                }
            })
        })
    }

    /// The item the call names, made anew by `change` from the stored record and the request's
    /// body (without the fields the server sets), completed by the item schema and answered as
    /// every update is. For a vendor whose update is neither a replace nor a merge patch, or
    /// refuses a change that depends on what is stored.
    pub fn update_with(
        &self,
        call: &mut Call<'_>,
        change: impl FnOnce(&Call<'_>, &Value, Value) -> Result<Value, ApiError>,
    ) -> Result<Reply, ApiError> {
        let collection = call.plan.collection.as_deref().unwrap_or_default();
        let instance = call.instance(collection);
        let id = self.item_id(call)?;
        if json_api::is_resource(call) && call.documents("409") {
            // An unknown item is a 404 whatever its body says.
            if self.get(&call.request.tenant, &instance, &id).is_none() {
                return Err(not_found(call, &id));
            }
            json_api::check_update(call, &id)?;
        }
        let body = call.record_of_body();
        let updated = self.write(&call.request.tenant, |tenant| {
            let Some(kept) = tenant
                .collections
                .get_mut(&instance)
                .and_then(|c| c.get_mut(&id))
            else {
                return Ok(None);
            };
            let stored = kept.value();
            let mut record = change(call, &stored, body)?;
            call.set_from_path(&mut record);
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
            let updated = call.complete(record);
            *kept = Record::new(&updated);
            Ok::<_, ApiError>(Some(updated))
        })?;
        let mut updated = updated.ok_or_else(|| not_found(call, &id))?;
        self.show(&call.request, &instance, &id, &mut updated);
        call.reply(Some(updated))
    }

    /// A page of the items that match the query's filters, made while the store is read: each
    /// item is made once per version of its record (see [`Record::item`]).
    fn list(&self, call: &Call<'_>, instance: &str) -> Result<Reply, ApiError> {
        let key = ListKey::of(call);
        self.read(&call.request.tenant, |t| {
            // Read under the lock that keeps writers out: the count matches the records read.
            let changes = self.changes.load(Ordering::SeqCst);
            if let Some(reply) = self.lists.get(&key, changes, || call.context.now()) {
                return Ok(reply);
            }
            let filters = Filters::of(call);
            let order = Order::of(call);
            let mut matching: Vec<(&String, &Record)> = t
                .and_then(|t| t.collections.get(instance))
                .into_iter()
                .flatten()
                .filter(|(_, record)| filters.accept(|name| record.field(name)))
                .collect();
            order.apply(&mut matching);
            let ids: Vec<&str> = matching.iter().map(|(id, _)| id.as_str()).collect();
            let page = Page::read(call, &ids);
            let shown = matching[page.start..page.end]
                .iter()
                .map(|(id, r)| (id.as_str(), *r));
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
            let show = self.shown.as_ref().map(|_| {
                |id: &str, record: &mut Value| self.show(&call.request, instance, id, record)
            });
            let (reply, repeat) = list_reply(call, shown, &listed, show.as_ref())?;
            if let Repeat::At(at) = repeat {
                self.lists.keep(key, changes, at, &reply);
            }
            Ok(reply)
        })
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
        let mut id = String::with_capacity(prefix.len() + length);
        id.push_str(prefix);
        id.extend((0..length).map(|_| {
            let at = (call.context.random() * ALPHABET.len() as f64) as usize;
            char::from(ALPHABET[at.min(ALPHABET.len() - 1)])
        }));
        return id;
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

/// `stored` with each field of `sent` in place of its own, `null` included, and every other
/// field kept: the update of an ORM's `fill` (Laravel's, FastAPI's `exclude_unset`).
pub fn fields_sent(stored: &Value, sent: Value) -> Value {
    let mut updated = stored.clone();
    if let (Value::Object(updated), Value::Object(sent)) = (&mut updated, sent) {
        updated.extend(sent);
    }
    updated
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
        if let Some(Check(check)) = &self.check {
            for (name, tenant) in &tenants {
                for (instance, records) in &tenant.collections {
                    for (id, record) in records {
                        check(instance, &record.value())
                            .map_err(|e| format!("tenant {name:?}: {instance}/{id}: {e}"))?;
                    }
                }
            }
        }
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
