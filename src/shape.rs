//! Reading schemas the way a mock needs them, and making values that fit them.
//!
//! [`Shaper::fill`] is the one way every answer of a run-time document is made: it walks the
//! response schema, takes what the stored record has where its type fits, and generates the
//! rest (the example, the default, the first enum value, else the smallest value that meets the
//! constraints). Properties marked `writeOnly` are never written; timestamps are the clock's.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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
        let key: std::borrow::Cow<'_, str> = if segment.contains('~') {
            segment.replace("~1", "/").replace("~0", "~").into()
        } else {
            segment.into()
        };
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
    now: DateTime<Utc>,
    /// Object views by schema: a list shapes the same item schema once per item.
    views: RefCell<HashMap<*const Value, Rc<ObjectView<'a>>>>,
}

impl<'a> Shaper<'a> {
    /// Shapes values of `doc`'s schemas; timestamps are `now`.
    pub fn new(doc: &'a Value, now: DateTime<Utc>) -> Self {
        Self {
            doc,
            now,
            views: RefCell::default(),
        }
    }

    /// A value of `schema` made from `source` where its types fit, generated where not.
    pub fn fill(&self, schema: &'a Value, source: Option<&Value>) -> Value {
        self.fill_at(schema, source, "", 0)
    }

    /// A value of `schema` alone.
    pub fn generate(&self, schema: &'a Value) -> Value {
        self.fill_at(schema, None, "", 0)
    }

    fn view(&self, schema: &'a Value) -> Rc<ObjectView<'a>> {
        let key = std::ptr::from_ref(schema);
        if let Some(view) = self.views.borrow().get(&key) {
            return view.clone();
        }
        let view = Rc::new(ObjectView::of(self.doc, schema));
        self.views.borrow_mut().insert(key, view.clone());
        view
    }

    fn fill_at(
        &self,
        schema: &'a Value,
        source: Option<&Value>,
        name: &str,
        depth: usize,
    ) -> Value {
        let schema = resolve(self.doc, schema);
        if depth > MAX_DEPTH * 2 {
            return Value::Null;
        }
        if let Some(constant) = schema.get("const") {
            return constant.clone();
        }
        if let Some(Value::Null) = source
            && allows_null(self.doc, schema)
        {
            return Value::Null;
        }
        if let Some(branches) = choices(schema) {
            let branch = self.pick(branches, source);
            return self.fill_at(branch, source, name, depth + 1);
        }
        let kind = type_of(self.doc, schema);
        if let Some(source) = source.filter(|s| fits(kind, s) && in_enum(schema, s)) {
            return match (kind, source) {
                (Some("object") | None, Value::Object(map)) => {
                    self.object(schema, Some(map), depth)
                }
                (Some("array"), Value::Array(items)) => {
                    let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
                    items
                        .iter()
                        .map(|i| self.fill_at(item_schema, Some(i), name, depth + 1))
                        .collect()
                }
                _ => source.clone(),
            };
        }
        // A timestamp the server sets is now (or the --clock), not the document's example.
        if kind == Some("string") && is_timestamp(name, schema) {
            return json!(self.string(schema, name));
        }
        if let Some(example) = example(schema).filter(|e| fits(kind, e)) {
            return example.clone();
        }
        if let Some(first) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        match kind {
            Some("object") => self.object(schema, None, depth),
            Some("array") => {
                let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
                let count = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                let count = if count == 0 && depth < 3 {
                    1
                } else {
                    count.min(8)
                };
                (0..count)
                    .map(|_| self.fill_at(item_schema, None, name, depth + 1))
                    .collect()
            }
            Some("integer") => json!(integer(schema)),
            Some("number") => number(schema),
            Some("boolean") => json!(true),
            Some("string") => json!(self.string(schema, name)),
            Some("null") => Value::Null,
            _ => match source {
                Some(source) => source.clone(),
                None if schema.get("allOf").is_some() => self.object(schema, None, depth),
                None => Value::Null,
            },
        }
    }

    /// An object: the declared properties the source has (fitted), then the required ones and
    /// (near the top) the optional ones that have an example, generated. `writeOnly` ones never.
    fn object(
        &self,
        schema: &'a Value,
        source: Option<&Map<String, Value>>,
        depth: usize,
    ) -> Value {
        let view = self.view(schema);
        let mut object = Map::new();
        if view.properties.is_empty() && !view.closed {
            // A free-form object: the source is the answer.
            return Value::Object(source.cloned().unwrap_or_default());
        }
        for (name, property) in &view.properties {
            let property_resolved = resolve(self.doc, property);
            if property_resolved.get("writeOnly") == Some(&Value::Bool(true)) {
                continue;
            }
            let given = source.and_then(|s| s.get(*name));
            // Near the top, every property is shown, as a real answer would; deeper, only
            // what the schema requires (a recursive schema must end somewhere).
            let wanted = given.is_some() || view.required.contains(name) || depth < 2;
            if wanted {
                let value = self.fill_at(property, given, name, depth + 1);
                object.insert((*name).to_owned(), value);
            }
        }
        Value::Object(object)
    }

    /// The branch of a choice the source fits best (most of its property names, all of the
    /// branch's required ones), else the first that is not `null`.
    fn pick(&self, branches: &'a [Value], source: Option<&Value>) -> &'a Value {
        let score = |branch: &'a Value| -> i64 {
            let view = self.view(branch);
            match source {
                Some(Value::Object(map)) => {
                    let missing = view
                        .required
                        .iter()
                        .filter(|r| !map.contains_key(**r))
                        .count();
                    let known = map.keys().filter(|k| view.property(k).is_some()).count();
                    known as i64 - 100 * missing as i64
                }
                Some(value) => i64::from(fits(type_of(self.doc, branch), value)),
                None => i64::from(type_of(self.doc, branch) != Some("null")),
            }
        };
        branches
            .iter()
            .enumerate()
            .max_by_key(|(i, b)| (score(b), -(*i as i64)))
            .map_or(&branches[0], |(_, b)| b)
    }

    fn string(&self, schema: &Value, name: &str) -> String {
        let format = schema.get("format").and_then(Value::as_str);
        let text = match format {
            Some("date-time") => self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
            Some("date") => self.now.format("%Y-%m-%d").to_string(),
            Some("time") => self.now.format("%H:%M:%S").to_string(),
            Some("uri" | "url" | "uri-reference" | "iri") => "https://example.com/".to_owned(),
            Some("email" | "idn-email") => "user@example.com".to_owned(),
            Some("uuid") => "3fa85f64-5717-4562-b3fc-2c963f66afa6".to_owned(),
            Some("ipv4") => "192.0.2.1".to_owned(),
            Some("ipv6") => "2001:db8::1".to_owned(),
            Some("hostname" | "idn-hostname") => "example.com".to_owned(),
            Some("byte") => "aGVsbG8=".to_owned(),
            _ if is_timestamp(name, schema) => self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
            _ => "string".to_owned(),
        };
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let mut text = text;
        while text.chars().count() < min {
            text.push('x');
        }
        if let Some(max) = max {
            text = text.chars().take(max).collect();
        }
        text
    }
}

/// A property the server sets to the current time: a date-time, or named like one.
pub fn is_timestamp(name: &str, schema: &Value) -> bool {
    let format = schema.get("format").and_then(Value::as_str);
    let named =
        name.ends_with("_at") || name.ends_with("At") || name == "created" || name == "updated";
    format == Some("date-time")
        || (named
            && schema.get("type").and_then(Value::as_str) == Some("string")
            && format.is_none())
}

fn integer(schema: &Value) -> i64 {
    let minimum = schema.get("minimum").and_then(Value::as_i64);
    let exclusive = match schema.get("exclusiveMinimum") {
        Some(Value::Bool(true)) => minimum.map(|m| m + 1),
        Some(Value::Number(n)) => n.as_i64().map(|m| m + 1),
        _ => None,
    };
    let low = exclusive.or(minimum).unwrap_or(i64::MIN);
    let maximum = schema.get("maximum").and_then(Value::as_i64);
    let exclusive_max = match schema.get("exclusiveMaximum") {
        Some(Value::Bool(true)) => maximum.map(|m| m - 1),
        Some(Value::Number(n)) => n.as_i64().map(|m| m - 1),
        _ => None,
    };
    let high = exclusive_max.or(maximum).unwrap_or(i64::MAX);
    // 1 where the bounds allow it: the smallest "real" count or identifier.
    let value = if low > high { low } else { 1.clamp(low, high) };
    match schema.get("multipleOf").and_then(Value::as_i64) {
        Some(step) if step > 0 => ((value + step - 1).div_euclid(step)) * step,
        _ => value,
    }
}

fn number(schema: &Value) -> Value {
    let minimum = schema.get("minimum").and_then(Value::as_f64);
    let exclusive = match schema.get("exclusiveMinimum") {
        Some(Value::Bool(true)) => minimum.map(|m| m + 1.0),
        Some(Value::Number(n)) => n.as_f64().map(|m| m + 1.0),
        _ => None,
    };
    let low = exclusive.or(minimum).unwrap_or(f64::MIN);
    let maximum = schema.get("maximum").and_then(Value::as_f64);
    let exclusive_max = match schema.get("exclusiveMaximum") {
        Some(Value::Bool(true)) => maximum.map(|m| m - 1.0),
        Some(Value::Number(n)) => n.as_f64().map(|m| m - 1.0),
        _ => None,
    };
    let high = exclusive_max.or(maximum).unwrap_or(f64::MAX);
    json!(if low > high {
        low
    } else {
        1.0_f64.clamp(low, high)
    })
}

/// Whether `value` is of the JSON type `kind` (any, when the schema names none).
pub fn fits(kind: Option<&str>, value: &Value) -> bool {
    match (kind, value) {
        (None, _) => true,
        (Some("object"), Value::Object(_)) | (Some("array"), Value::Array(_)) => true,
        (Some("string"), Value::String(_)) | (Some("boolean"), Value::Bool(_)) => true,
        (Some("integer"), Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Some("number"), Value::Number(_)) => true,
        (Some("null"), Value::Null) => true,
        _ => false,
    }
}

fn in_enum(schema: &Value, value: &Value) -> bool {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .is_none_or(|options| options.contains(value))
}
