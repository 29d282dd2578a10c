//! Reading schemas the way a mock needs them, and making values that fit them.
//!
//! [`Shaper::fill`] is the one way every answer of a run-time document is made: it walks the
//! response schema, takes what the stored record has where its type fits, and generates the
//! rest (the example, the default, the first enum value, else the smallest value that meets the
//! constraints). Properties marked `writeOnly` are never written; timestamps are the clock's.

mod compiled;

use std::cell::{Cell, OnceCell, RefCell};
use std::sync::{PoisonError, RwLock};

use compiled::ANY;
pub use compiled::{Compiled, Kind, Node, NodeId};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// How deep generation goes into optional parts before it stops adding them.
const MAX_DEPTH: usize = 12;

/// The schema at `schema`, its `$ref` chain followed (within `doc`).
pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..32 {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| pointer(doc, r.strip_prefix('#')?))
        {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// `value` at the JSON pointer `at`, as `Value::pointer` finds it, without allocating for the
/// segments that need no unescaping (all of them, in practice): every answer resolves its
/// schema's `$ref`s many times.
pub fn pointer<'a>(value: &'a Value, at: &str) -> Option<&'a Value> {
    if at.is_empty() {
        return Some(value);
    }
    let mut current = value;
    for segment in at.strip_prefix('/')?.split('/') {
        let key = crate::spec::unescape(segment);
        current = match current {
            Value::Object(map) => map.get(key.as_ref())?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// The properties and required names of an object schema, `allOf` branches merged in.
#[derive(Default)]
pub struct ObjectView<'a> {
    pub properties: Vec<(&'a str, &'a Value)>,
    pub required: Vec<&'a str>,
    /// `additionalProperties: false` somewhere in the merge.
    pub closed: bool,
}

impl<'a> ObjectView<'a> {
    pub fn of(doc: &'a Value, schema: &'a Value) -> Self {
        let mut view = Self::default();
        view.add(doc, schema, 0);
        view
    }

    fn add(&mut self, doc: &'a Value, schema: &'a Value, depth: usize) {
        let schema = resolve(doc, schema);
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                match self.properties.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = property,
                    None => self.properties.push((name, property)),
                }
            }
        }
        let required = schema.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if !self.required.contains(&name) {
                self.required.push(name);
            }
        }
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            self.closed = true;
        }
        for branch in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.add(doc, branch, depth + 1);
        }
    }

    pub fn property(&self, name: &str) -> Option<&'a Value> {
        self.properties
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }
}

/// The non-null type a schema names (`["string", "null"]` is `string`), or the one its shape
/// implies (`properties` → object, `items` → array).
pub fn type_of<'a>(doc: &'a Value, schema: &'a Value) -> Option<&'a str> {
    let schema = resolve(doc, schema);
    let named = match schema.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    };
    named.or_else(|| {
        if schema.get("properties").is_some() {
            Some("object")
        } else if schema.get("items").is_some() {
            Some("array")
        } else {
            schema
                .get("allOf")
                .and_then(Value::as_array)
                .and_then(|b| b.iter().find_map(|b| type_of(doc, b)))
        }
    })
}

/// Whether `null` is a value the schema allows.
pub fn allows_null(doc: &Value, schema: &Value) -> bool {
    let schema = resolve(doc, schema);
    match schema.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => schema.get("nullable") == Some(&Value::Bool(true)),
    }
}

/// The branches of `oneOf`/`anyOf`, if the schema is a choice.
fn choices(schema: &Value) -> Option<&Vec<Value>> {
    ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| schema.get(*k)?.as_array())
        .filter(|b| !b.is_empty())
}

/// A media type object's example: its `example`, else the value of the first of its named
/// `examples` (followed through a `$ref`).
pub fn media_example<'v>(doc: &'v Value, media: &'v Value) -> Option<&'v Value> {
    media.get("example").or_else(|| {
        let first = media.get("examples")?.as_object()?.values().next()?;
        resolve(doc, first).get("value")
    })
}

/// The schema's own example: 3.0's `example`, 3.1's first `examples`, else its `default`.
pub fn example(schema: &Value) -> Option<&Value> {
    schema
        .get("example")
        .or_else(|| schema.get("examples")?.as_array()?.first())
        .or_else(|| schema.get("const"))
        .or_else(|| schema.get("default"))
}

/// Makes values that fit schemas of one document.
pub struct Shaper<'a> {
    doc: &'a Value,
    compiled: Schemas<'a>,
    /// Read once, and only when a value shows the time: most answers of stored records do not.
    now: OnceCell<DateTime<Utc>>,
    /// Where `now` is read from; none when it was given.
    clock: Option<&'a crate::context::Context>,
    /// Whether a value made so far read the clock (and so differs from one made later).
    clock_read: Cell<bool>,
    /// Whether sources are stored records (see [`Shaper::of_records`]).
    records: bool,
    /// Whether the answer is a create's (see [`Shaper::creating`]).
    creating: bool,
    /// The request answered, for `x-hookmock-when`; none when not told.
    request: Option<&'a crate::request::Request>,
}

/// Where the items of a list sit in its answer's schema: each can be made alone, the same way
/// the whole answer would make it (see [`Shaper::item_slot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSlot {
    /// The [`Compiled::generation`] the node belongs to.
    pub generation: u64,
    node: NodeId,
    depth: usize,
    name: Box<str>,
}

/// A schema to shape by: the JSON of one, or the pointer (into the document) to it.
#[derive(Clone, Copy)]
pub enum At<'v> {
    Schema(&'v Value),
    Pointer(&'v str),
}

impl<'v> From<&'v Value> for At<'v> {
    fn from(schema: &'v Value) -> Self {
        Self::Schema(schema)
    }
}

/// Where a shaper finds its compiled schemas: a document's shared schemas (every answer of a
/// run-time operation), or its own (one value, made once).
enum Schemas<'a> {
    Shared(&'a RwLock<Compiled>),
    Own(RefCell<Compiled>),
}

impl<'a> Shaper<'a> {
    /// Shapes values of `doc`'s schemas; timestamps are `now`.
    pub fn new(doc: &'a Value, now: DateTime<Utc>) -> Self {
        Self {
            doc,
            compiled: Schemas::Own(RefCell::default()),
            now: OnceCell::from(now),
            clock: None,
            clock_read: Cell::new(false),
            records: false,
            creating: false,
            request: None,
        }
    }

    /// Shapes values of `doc`'s schemas with the schemas kept beside it, compiling there what was
    /// not compiled yet. Every schema given must be part of `doc`. Timestamps are `clock`'s now.
    pub fn with_compiled(
        doc: &'a Value,
        schemas: &'a RwLock<Compiled>,
        clock: &'a crate::context::Context,
    ) -> Self {
        Self {
            doc,
            compiled: Schemas::Shared(schemas),
            now: OnceCell::new(),
            clock: Some(clock),
            clock_read: Cell::new(false),
            records: false,
            creating: false,
            request: None,
        }
    }

    /// A shaper of answers made from stored records: an optional property a record lacks is
    /// shown only where the document says what it would be (a `const`, `example`, `default` or
    /// `enum`, a read-only or timestamp field the server sets),
    /// not invented: a record without a `name` is not answered with `"name": "string"`. A
    /// required array it lacks is empty, a required boolean `false`.
    pub fn of_records(mut self) -> Self {
        self.records = true;
        self
    }

    /// The clock's time a value made so far showed, if any (a value made at another time would
    /// not be the same).
    pub fn clock_shown(&self) -> Option<DateTime<Utc>> {
        self.clock.and(self.now.get().copied())
    }

    /// The time the values this shaper makes show (read on first use).
    pub fn now(&self) -> DateTime<Utc> {
        *self.now.get_or_init(|| {
            self.clock
                .map_or_else(Utc::now, crate::context::Context::now)
        })
    }

    /// A shaper of a create's answer, which shows what `x-hookmock-once` marks (a secret shown
    /// once).
    pub fn creating(mut self, creating: bool) -> Self {
        self.creating = creating;
        self
    }

    /// A shaper of the answer to `request`, which shows what `x-hookmock-when: <parameter>`
    /// marks when the request sends that parameter (not `false`).
    pub fn answering(mut self, request: &'a crate::request::Request) -> Self {
        self.request = Some(request);
        self
    }

    /// A value of `schema` made from `source` where its types fit, generated where not.
    pub fn fill<'v>(&self, schema: impl Into<At<'v>>, source: Option<&Value>) -> Value {
        self.with(schema.into(), |schemas, id| {
            id.map_or(Value::Null, |id| self.fill_at(schemas, id, source, "", 0))
        })
    }

    /// A value of `schema` alone.
    pub fn generate(&self, schema: &Value) -> Value {
        self.fill(schema, None)
    }

    /// Whether the object `schema` declares the property `name`.
    pub fn declares<'v>(&self, schema: impl Into<At<'v>>, name: &str) -> bool {
        self.with(schema.into(), |compiled, id| {
            id.is_some_and(|id| compiled.node(id).property(name).is_some())
        })
    }

    /// The slot of the array at `path` (property names) in answers of `schema`, if every step
    /// there is a plain object property and the array a plain array: then an item made alone
    /// is the item the whole answer would hold.
    pub fn item_slot<'v>(&self, schema: impl Into<At<'v>>, path: &[&str]) -> Option<ItemSlot> {
        self.with(schema.into(), |compiled, id| {
            let array = compiled.node(self.walk(compiled, id?, path)?);
            (plain(array) && array.kind == Some(Kind::Array)).then(|| ItemSlot {
                generation: compiled.generation(),
                node: array.items.unwrap_or(ANY),
                depth: path.len() + 1,
                name: path.last().copied().unwrap_or_default().into(),
            })
        })
    }

    /// The slot of the single item at `path` in answers of `schema`, if every step there is a
    /// plain object property and the item's schema is `item`: then the item made alone
    /// ([`Shaper::fill_item`]) is the one the whole answer would hold, and the record it is
    /// made from, made whole by `item`.
    pub fn single_slot<'v>(
        &self,
        schema: impl Into<At<'v>>,
        path: &[&str],
        item: &Value,
    ) -> Option<ItemSlot> {
        let wanted = self.with(At::Schema(item), |_, id| id)?;
        self.with(schema.into(), |compiled, id| {
            let at = self.walk(compiled, id?, path)?;
            (at == wanted).then(|| ItemSlot {
                generation: compiled.generation(),
                node: at,
                depth: path.len(),
                name: path.last().copied().unwrap_or_default().into(),
            })
        })
    }

    /// An answer of `schema` without its item: as [`Shaper::fill`] makes it from no source but
    /// the item, with `null` where the item at `path` goes (see [`Shaper::single_slot`]).
    pub fn fill_around<'v>(&self, schema: impl Into<At<'v>>, path: &[&str]) -> Value {
        self.with(schema.into(), |compiled, id| {
            id.map_or(Value::Null, |id| self.around(compiled, id, path, 0))
        })
    }

    /// The node at `path` (property names) from `id`, if every step there is a plain object
    /// property this answer shows.
    fn walk(&self, compiled: &Compiled, mut id: NodeId, path: &[&str]) -> Option<NodeId> {
        for segment in path {
            let node = compiled.node(id);
            if !plain(node) || !matches!(node.kind, Some(Kind::Object) | None) {
                return None;
            }
            id = node.property(segment)?;
            if !self.shows(compiled.node(id)) {
                return None;
            }
        }
        Some(id)
    }

    fn around(&self, schemas: &Compiled, id: NodeId, path: &[&str], depth: usize) -> Value {
        let Some((head, rest)) = path.split_first() else {
            return Value::Null;
        };
        let node = schemas.node(id);
        let mut object = self.object(schemas, node, None, depth, Some(head));
        if let (Value::Object(map), Some(inner)) = (&mut object, node.property(head)) {
            map.insert(
                (*head).to_owned(),
                self.around(schemas, inner, rest, depth + 1),
            );
        }
        object
    }

    /// The item `source` at `slot`, and whether making it read the clock.
    pub fn fill_item(&self, slot: &ItemSlot, source: &Value) -> (Value, bool) {
        self.clock_read.set(false);
        let value = self.compiled(|schemas| {
            self.fill_at(schemas, slot.node, Some(source), &slot.name, slot.depth)
        });
        (value, self.clock_read.get())
    }

    /// Makes `record` whole in place, as [`Shaper::fill_item`] would make the item at `slot`
    /// from it, and gives `answer` that item to write: what it lacks is made, what does not fit
    /// is made anew, and what the schema does not describe is kept (not shown). A create's
    /// record is then neither copied nor made twice, once to keep and once to answer, and its
    /// answer is written straight from it.
    pub fn complete_item<R>(
        &self,
        slot: &ItemSlot,
        record: &mut Value,
        answer: impl FnOnce(&Shown<'_>) -> R,
    ) -> R {
        self.compiled(|schemas| {
            self.complete_at(schemas, slot.node, record, &slot.name, slot.depth);
            answer(&Shown {
                shaper: self,
                schemas,
                id: slot.node,
                value: record,
                depth: slot.depth,
            })
        })
    }

    /// Makes `value` in place what [`Shaper::fill`] would make from it, except that what the
    /// schema does not describe is kept: for a value made to fit its schema (a list's
    /// envelope), copying it again would be work for nothing.
    pub fn complete<'v>(&self, schema: impl Into<At<'v>>, value: &mut Value) {
        self.with(schema.into(), |compiled, id| {
            if let Some(id) = id {
                self.complete_at(compiled, id, value, "", 0);
            }
        });
    }

    /// Runs `f` on the compiled schemas.
    fn compiled<R>(&self, f: impl FnOnce(&Compiled) -> R) -> R {
        match &self.compiled {
            Schemas::Own(schemas) => f(&schemas.borrow()),
            Schemas::Shared(lock) => f(&read(lock)),
        }
    }

    /// Runs `f` on the compiled `schema` (`None`: a pointer to nothing), compiling it first if
    /// needed.
    fn with<R>(&self, schema: At<'_>, f: impl FnOnce(&Compiled, Option<NodeId>) -> R) -> R {
        let compile = |compiled: &mut Compiled| match schema {
            At::Schema(schema) => Some(compiled.compile(self.doc, schema)),
            At::Pointer(pointer) => compiled.compile_at(self.doc, pointer),
        };
        match &self.compiled {
            Schemas::Own(schemas) => {
                let id = compile(&mut schemas.borrow_mut());
                f(&schemas.borrow(), id)
            }
            Schemas::Shared(lock) => {
                let schemas = read(lock);
                let known = match schema {
                    At::Schema(schema) => schemas.id(self.doc, schema).map(Some),
                    At::Pointer(pointer) => schemas.id_at(pointer),
                };
                if let Some(id) = known {
                    return f(&schemas, id);
                }
                drop(schemas);
                let id = compile(&mut lock.write().unwrap_or_else(PoisonError::into_inner));
                f(&read(lock), id)
            }
        }
    }
}

fn read(lock: &RwLock<Compiled>) -> std::sync::RwLockReadGuard<'_, Compiled> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

impl<'a> Shaper<'a> {
    fn fill_at(
        &self,
        schemas: &Compiled,
        id: NodeId,
        source: Option<&Value>,
        name: &str,
        depth: usize,
    ) -> Value {
        let node = schemas.node(id);
        if depth > MAX_DEPTH * 2 {
            return Value::Null;
        }
        if let Some(constant) = &node.constant {
            return constant.clone();
        }
        if let Some(Value::Null) = source
            && node.nullable
        {
            return Value::Null;
        }
        if !node.choices.is_empty() {
            let branch = pick(schemas, &node.choices, source);
            return self.fill_at(schemas, branch, source, name, depth + 1);
        }
        let kind = node.kind;
        let items = node.items.unwrap_or(ANY);
        if let Some(source) = source.filter(|s| Kind::fits(kind, s) && node.in_enum(s)) {
            return match (kind, source) {
                (Some(Kind::Object) | None, Value::Object(map)) => {
                    self.object(schemas, node, Some(map), depth, None)
                }
                (Some(Kind::Array), Value::Array(all)) => all
                    .iter()
                    .map(|i| self.fill_at(schemas, items, Some(i), name, depth + 1))
                    .collect(),
                _ => source.clone(),
            };
        }
        // A timestamp the server sets is now (or the --clock), not the document's example.
        if kind == Some(Kind::String) && node_is_timestamp(name, node) {
            return json!(self.string(node, name));
        }
        if let Some(example) = node.example.as_ref().filter(|e| Kind::fits(kind, e)) {
            return example.clone();
        }
        if let Some(first) = node.enumeration.as_ref().and_then(|e| e.first()) {
            return first.clone();
        }
        match kind {
            Some(Kind::Object) => self.object(schemas, node, None, depth, None),
            Some(Kind::Array) => {
                let count = if node.min_items == 0 && depth < 3 && !self.records {
                    1
                } else {
                    node.min_items.min(8)
                };
                (0..count)
                    .map(|_| self.fill_at(schemas, items, None, name, depth + 1))
                    .collect()
            }
            Some(Kind::Integer) => json!(node.integer),
            Some(Kind::Number) => node.number.clone(),
            Some(Kind::Boolean) => json!(!self.records),
            Some(Kind::String) => json!(self.string(node, name)),
            Some(Kind::Null) => Value::Null,
            Some(Kind::Other) | None => match source {
                Some(source) => source.clone(),
                None if node.all_of => self.object(schemas, node, None, depth, None),
                None => Value::Null,
            },
        }
    }

    /// An object: the declared properties the source has (fitted), then the required ones and
    /// (near the top) the optional ones that have an example, generated. `writeOnly` ones never.
    /// `hole`: a property left `null` (wanted whatever the source has), for [`Shaper::around`].
    fn object(
        &self,
        schemas: &Compiled,
        node: &Node,
        source: Option<&Map<String, Value>>,
        depth: usize,
        hole: Option<&str>,
    ) -> Value {
        if node.properties.is_empty() && !node.closed {
            // A free-form object: the source is the answer.
            return Value::Object(source.cloned().unwrap_or_default());
        }
        let mut object = Map::with_capacity(node.properties.len());
        for (name, property) in &node.properties {
            if !self.shows(schemas.node(*property)) {
                continue;
            }
            if hole == Some(&**name) {
                object.insert((**name).to_owned(), Value::Null);
                continue;
            }
            let given = source.and_then(|s| s.get(&**name));
            let wanted = given.is_some()
                || self.wanted_when_absent(node, schemas.node(*property), name, depth);
            if wanted {
                let value = self.fill_at(schemas, *property, given, name, depth + 1);
                object.insert((**name).to_owned(), value);
            }
        }
        Value::Object(object)
    }

    /// `value` made what [`Shaper::fill_at`] would make from it, in place (see
    /// [`Shaper::complete_item`]).
    fn complete_at(
        &self,
        schemas: &Compiled,
        id: NodeId,
        value: &mut Value,
        name: &str,
        depth: usize,
    ) {
        let node = schemas.node(id);
        if depth > MAX_DEPTH * 2 || node.constant.is_none() && value.is_null() && node.nullable {
            return;
        }
        let fits = Kind::fits(node.kind, value) && node.in_enum(value);
        if node.constant.is_some() || !node.choices.is_empty() || !fits {
            *value = self.fill_at(schemas, id, Some(value), name, depth);
            return;
        }
        match (node.kind, value) {
            (Some(Kind::Object) | None, Value::Object(map)) => {
                self.complete_object(schemas, node, map, depth);
            }
            (Some(Kind::Array), Value::Array(items)) => {
                for item in items {
                    self.complete_at(schemas, node.items.unwrap_or(ANY), item, name, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// The object `map` made what [`Shaper::object`] would make from it, in place; what its
    /// schema does not describe, or this answer does not show, is kept.
    fn complete_object(
        &self,
        schemas: &Compiled,
        node: &Node,
        map: &mut Map<String, Value>,
        depth: usize,
    ) {
        if node.properties.is_empty() && !node.closed {
            return;
        }
        for (name, property) in &node.properties {
            let child = schemas.node(*property);
            if !self.shows(child) {
                continue;
            }
            if let Some(value) = map.get_mut(&**name) {
                self.complete_at(schemas, *property, value, name, depth + 1);
            } else if self.wanted_when_absent(node, child, name, depth) {
                let made = self.fill_at(schemas, *property, None, name, depth + 1);
                map.insert((**name).to_owned(), made);
            }
        }
    }

    /// Whether an object (`node`) that lacks its property `name` (`property`) shows it:
    /// near the top, every property is shown, as a real answer would; deeper, only what the
    /// schema requires (a recursive schema must end somewhere). A record shows only what the
    /// document can tell of an absent property.
    fn wanted_when_absent(&self, node: &Node, property: &Node, name: &str, depth: usize) -> bool {
        node.required.iter().any(|r| &**r == name)
            || if self.records {
                Self::known_when_absent(property, name)
            } else {
                depth < 2
            }
    }

    /// Whether a property is shown in this answer: never `writeOnly` ones, `x-hookmock-once`
    /// ones only by a create, `x-hookmock-when` ones only when asked.
    fn shows(&self, property: &Node) -> bool {
        if property.write_only || property.once && !self.creating {
            return false;
        }
        property.when.as_deref().is_none_or(|p| self.asks(p))
    }

    /// Whether the request sends `parameter` (and not as `false`).
    fn asks(&self, parameter: &str) -> bool {
        self.request
            .and_then(|r| r.param(parameter))
            .is_some_and(|value| *value != Value::Bool(false))
    }

    /// Whether the request asks for a property `x-hookmock-when` marks: then items made for
    /// others (kept beside their records) are not this answer's.
    pub fn asks_conditions(&self) -> bool {
        self.compiled(|compiled| compiled.conditions().iter().any(|p| self.asks(p)))
    }

    /// Whether the value of a property a record lacks is known without inventing one.
    fn known_when_absent(property: &Node, name: &str) -> bool {
        property.constant.is_some()
            || property.example.is_some()
            || property.enumeration.is_some()
            || property.read_only
            || node_is_timestamp(name, property)
    }

    fn string(&self, node: &Node, name: &str) -> String {
        if matches!(node.format.as_deref(), Some("date-time" | "date" | "time"))
            || node_is_timestamp(name, node)
        {
            self.clock_read.set(true);
        }
        let mut text = match node.format.as_deref() {
            Some("date-time") => self.now().to_rfc3339_opts(SecondsFormat::Secs, true),
            Some("date") => self.now().format("%Y-%m-%d").to_string(),
            Some("time") => self.now().format("%H:%M:%S").to_string(),
            Some("uri" | "url" | "uri-reference" | "iri") => "https://example.com/".to_owned(),
            Some("email" | "idn-email") => "user@example.com".to_owned(),
            Some("uuid") => "3fa85f64-5717-4562-b3fc-2c963f66afa6".to_owned(),
            Some("ipv4") => "192.0.2.1".to_owned(),
            Some("ipv6") => "2001:db8::1".to_owned(),
            Some("hostname" | "idn-hostname") => "example.com".to_owned(),
            Some("byte") => "aGVsbG8=".to_owned(),
            _ if node_is_timestamp(name, node) => {
                self.now().to_rfc3339_opts(SecondsFormat::Secs, true)
            }
            _ => "string".to_owned(),
        };
        while text.chars().count() < node.min_length {
            text.push('x');
        }
        if let Some(max) = node.max_length {
            text = text.chars().take(max).collect();
        }
        text
    }
}

/// A value made whole by [`Shaper::complete_at`], written as [`Shaper::fill_at`] would have
/// made it: the declared properties this answer shows, in the schema's order. Only written.
pub struct Shown<'s> {
    shaper: &'s Shaper<'s>,
    schemas: &'s Compiled,
    id: NodeId,
    value: &'s Value,
    depth: usize,
}

impl serde::Serialize for Shown<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let node = self.schemas.node(self.id);
        if self.depth > MAX_DEPTH * 2 {
            return serializer.serialize_unit();
        }
        let inner = |id, value| Shown {
            id,
            value,
            depth: self.depth + 1,
            ..*self
        };
        let free = node.properties.is_empty() && !node.closed;
        match (node.kind, self.value) {
            _ if !plain(node) => self.value.serialize(serializer),
            (Some(Kind::Object) | None, Value::Object(map)) if !free => {
                let mut out = serializer.serialize_map(None)?;
                for (name, property) in &node.properties {
                    let shown = self.shaper.shows(self.schemas.node(*property));
                    if let Some(value) = map.get(&**name).filter(|_| shown) {
                        out.serialize_entry(&**name, &inner(*property, value))?;
                    }
                }
                out.end()
            }
            (Some(Kind::Array), Value::Array(items)) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&inner(node.items.unwrap_or(ANY), item))?;
                }
                out.end()
            }
            _ => self.value.serialize(serializer),
        }
    }
}

/// Whether a schema makes its value from its properties alone: no constant, choice or enum.
fn plain(node: &Node) -> bool {
    node.constant.is_none() && node.choices.is_empty() && node.enumeration.is_none()
}

/// The branch of a choice the source fits best (most of its property names, all of the
/// branch's required ones), else the first that is not `null`.
fn pick(schemas: &Compiled, branches: &[NodeId], source: Option<&Value>) -> NodeId {
    let score = |branch: NodeId| -> i64 {
        let node = schemas.node(branch);
        match source {
            Some(Value::Object(map)) => {
                let missing = node
                    .required
                    .iter()
                    .filter(|r| !map.contains_key(&***r))
                    .count();
                let known = map.keys().filter(|k| node.property(k).is_some()).count();
                known as i64 - 100 * missing as i64
            }
            Some(value) => i64::from(Kind::fits(node.kind, value)),
            None => i64::from(node.kind != Some(Kind::Null)),
        }
    };
    branches
        .iter()
        .enumerate()
        .max_by_key(|(i, b)| (score(**b), -(*i as i64)))
        .map_or(branches[0], |(_, b)| *b)
}

fn node_is_timestamp(name: &str, node: &Node) -> bool {
    let format = node.format.as_deref();
    format == Some("date-time")
        || (named_like_timestamp(name) && node.typed_string && format.is_none())
}

fn named_like_timestamp(name: &str) -> bool {
    name.ends_with("_at") || name.ends_with("At") || name == "created" || name == "updated"
}

/// A property the server sets to the current time: a date-time, or named like one.
pub fn is_timestamp(name: &str, schema: &Value) -> bool {
    let format = schema.get("format").and_then(Value::as_str);
    format == Some("date-time")
        || (named_like_timestamp(name)
            && schema.get("type").and_then(Value::as_str) == Some("string")
            && format.is_none())
}

/// Moves a bound one step inward (an exclusive bound made inclusive).
type Inward<T> = fn(T) -> T;

/// The lowest and highest values a schema allows, its exclusive bounds moved inward by `up` and
/// `down` (3.0 writes them as booleans beside the bound, 3.1 as the bound itself).
fn bounds<T: Copy>(
    schema: &Value,
    read: fn(&Value) -> Option<T>,
    (up, down): (Inward<T>, Inward<T>),
    (lowest, highest): (T, T),
) -> (T, T) {
    let side = |bound: &str, exclusive: &str, inward: Inward<T>, open: T| {
        let plain = schema.get(bound).and_then(read);
        let moved = match schema.get(exclusive) {
            Some(Value::Bool(true)) => plain.map(inward),
            Some(number @ Value::Number(_)) => read(number).map(inward),
            _ => None,
        };
        moved.or(plain).unwrap_or(open)
    };
    (
        side("minimum", "exclusiveMinimum", up, lowest),
        side("maximum", "exclusiveMaximum", down, highest),
    )
}

fn integer(schema: &Value) -> i64 {
    let (low, high) = bounds(
        schema,
        Value::as_i64,
        (|m| m.saturating_add(1), |m| m.saturating_sub(1)),
        (i64::MIN, i64::MAX),
    );
    // 1 where the bounds allow it: the smallest "real" count or identifier.
    let value = if low > high { low } else { 1.clamp(low, high) };
    match schema.get("multipleOf").and_then(Value::as_i64) {
        Some(step) if step > 0 => value
            .checked_add(step - 1)
            .map_or(value, |v| v.div_euclid(step) * step),
        _ => value,
    }
}

fn number(schema: &Value) -> Value {
    let (low, high) = bounds(
        schema,
        Value::as_f64,
        (|m| m + 1.0, |m| m - 1.0),
        (f64::MIN, f64::MAX),
    );
    json!(if low > high {
        low
    } else {
        1.0_f64.clamp(low, high)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// An envelope around an item with a bit of everything a create's answer meets.
    fn doc() -> Value {
        json!({
            "Envelope": {"type": "object", "required": ["meta", "result"], "properties": {
                "meta": {"type": "object", "required": ["at"], "properties": {
                    "at": {"type": "string", "format": "date-time"}}},
                "result": {"$ref": "#/Item"}
            }},
            "Item": {"type": "object", "required": ["id", "tags", "active"], "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "secret": {"type": "string", "writeOnly": true},
                "token": {"type": "string", "x-hookmock-once": true, "example": "tok_1"},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "active": {"type": "boolean"},
                "nested": {"type": "object", "required": ["n"], "properties": {
                    "n": {"type": "integer"}}},
                "created_at": {"type": "string", "format": "date-time", "readOnly": true}
            }}
        })
    }

    #[test]
    fn an_item_completed_in_place_answers_what_filling_it_would() {
        let doc = doc();
        let now = chrono::Utc::now();
        let sent = json!({"id": 7, "name": "n", "secret": "s", "kind": "zzz", "extra": 1,
            "nested": {"other": true}});
        for creating in [true, false] {
            let shaper = Shaper::new(&doc, now).of_records().creating(creating);
            let slot = shaper
                .single_slot(At::Schema(&doc["Envelope"]), &["result"], &doc["Item"])
                .expect("the envelope's result is the item");
            let filled = shaper.fill_item(&slot, &sent).0;
            let mut record = sent.clone();
            let answered =
                shaper.complete_item(&slot, &mut record, |item| serde_json::to_string(item));
            let answered: Value =
                serde_json::from_str(&answered.expect("serialised")).expect("JSON");
            assert_eq!(answered, filled, "creating: {creating}");
            assert_eq!(
                serde_json::to_string(&answered).ok(),
                serde_json::to_string(&filled).ok(),
                "in the schema's order"
            );
            assert_eq!(record["secret"], "s", "kept, never answered");
            assert_eq!(record["extra"], 1, "kept as sent, not answered");
            assert_eq!(record["kind"], "a", "what does not fit is made anew");
            assert_eq!(record["nested"], json!({"other": true, "n": 1}));
            assert_eq!(record["tags"], json!([]));
            assert_eq!(answered.get("token").is_some(), creating, "{answered}");
        }
    }

    #[test]
    fn an_envelope_is_made_around_its_item_and_only_where_the_item_is_its_own() {
        let doc = doc();
        let shaper = Shaper::new(&doc, chrono::Utc::now()).of_records();
        let around = shaper.fill_around(At::Schema(&doc["Envelope"]), &["result"]);
        assert!(around["meta"]["at"].is_string(), "{around}");
        assert_eq!(around["result"], Value::Null, "left for the item");
        let other = json!({"type": "object"});
        assert!(
            shaper
                .single_slot(At::Schema(&doc["Envelope"]), &["result"], &other)
                .is_none(),
            "an answer whose item has another schema is made whole"
        );
        assert!(
            shaper
                .single_slot(At::Schema(&doc["Envelope"]), &["missing"], &doc["Item"])
                .is_none()
        );
    }
}
