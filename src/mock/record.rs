//! A stored record and the list items already made from it.
//!
//! A record is kept as compact JSON, not as a `serde_json::Value`: a value spends a map, a
//! hash table and a heap string per key on every object, about nine times the bytes of its
//! JSON (3.3 KB against 377 for an Ingedata webhook), and a store of 100,000 records is mostly
//! that. A read parses the record (about what copying the value cost); what a list filters and
//! sorts by is picked from the JSON without parsing the rest ([`Record::field`]).
//!
//! A list answer makes each of its items from the item schema; for a record that has not
//! changed, and an item that did not read the clock, the item is the same every time. Keeping
//! its JSON beside the record makes a list of stored records about as cheap as serialising
//! them, which is what a compiled vendor route does.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use chrono::{DateTime, Utc};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::shape::ItemSlot;

/// How many differently shaped items of one record are kept (the item of a list, of a nested
/// list, of another document version…); more are made each time.
const KEPT: usize = 2;

#[derive(Debug)]
pub struct Record {
    json: Box<RawValue>,
    /// Boxed: most records are never listed, and an empty cell is then 16 bytes, not 64.
    items: [OnceLock<Box<Made>>; KEPT],
}

/// An item made from a record, and where it sits.
type Made = (ItemSlot, Box<RawValue>);

impl Record {
    pub fn new(value: &Value) -> Self {
        Self {
            json: compact(value),
            items: Default::default(),
        }
    }

    /// The record, parsed.
    pub fn value(&self) -> Value {
        // It was written from a value: it parses.
        serde_json::from_str(self.json.get()).unwrap_or_default()
    }

    /// Changes the record by `change`: the items made from it are dropped.
    pub fn update<R>(&mut self, change: impl FnOnce(&mut Value) -> R) -> R {
        let mut value = self.value();
        let result = change(&mut value);
        *self = Self::new(&value);
        result
    }

    /// The field `name` at the top of the record, else in its JSON:API `attributes`, where a
    /// list's filters and sorts look: read from the JSON, the rest of the record skipped.
    pub fn field(&self, name: &str) -> Option<Value> {
        let mut json = serde_json::Deserializer::from_str(self.json.get());
        Pick { name, inner: true }
            .deserialize(&mut json)
            .ok()
            .flatten()
    }

    pub fn forget_items(&mut self) {
        self.items = Default::default();
    }

    /// The item at `slot` made from this record: kept from an earlier list, else made by
    /// `make` (which says whether it read the clock; such an item is not kept).
    pub fn item(
        &self,
        slot: &ItemSlot,
        make: impl FnOnce(&Value) -> (Value, bool),
    ) -> Cow<'_, RawValue> {
        let kept = self.items.iter().filter_map(OnceLock::get);
        if let Some(made) = kept.into_iter().find(|made| made.0 == *slot) {
            return Cow::Borrowed(&made.1);
        }
        let (item, clock_read) = make(&self.value());
        let Ok(json) = serde_json::value::to_raw_value(&item) else {
            return Cow::Borrowed(RawValue::NULL);
        };
        let free = self.items.iter().find(|cell| cell.get().is_none());
        match free {
            Some(cell) if !clock_read => match cell.set(Box::new((slot.clone(), json))) {
                Ok(()) => cell
                    .get()
                    .map_or(Cow::Borrowed(RawValue::NULL), |made| Cow::Borrowed(&made.1)),
                // Another list filled the cell first.
                Err(made) => Cow::Owned(made.1),
            },
            _ => Cow::Owned(json),
        }
    }
}

/// `value` as compact JSON.
fn compact(value: &Value) -> Box<RawValue> {
    // A `Value`'s keys are strings: it always serialises.
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Reads the field `name` of a JSON object, else (with `inner`) of its object `attributes`;
/// `None` for anything else. Every other value is skipped unparsed.
struct Pick<'n> {
    name: &'n str,
    inner: bool,
}

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut found, mut inside) = (None, None);
        while let Some(key) = map.next_key_seed(KeyOf(self.name))? {
            match key {
                Key::Wanted if found.is_none() => found = Some(map.next_value()?),
                Key::Attributes if self.inner && inside.is_none() => {
                    inside = map.next_value_seed(Pick {
                        name: self.name,
                        inner: false,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found.or(inside))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// What a key of the object [`Pick`] reads is to it.
enum Key {
    Wanted,
    Attributes,
    Other,
}

/// Reads a key as a [`Key`], without keeping its text.
struct KeyOf<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for KeyOf<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyOf<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            _ if key == self.0 => Key::Wanted,
            "attributes" => Key::Attributes,
            _ => Key::Other,
        })
    }
}

// A copy starts with no items made.
impl Clone for Record {
    fn clone(&self) -> Self {
        Self {
            json: self.json.clone(),
            items: Default::default(),
        }
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

// Read as a value, not kept as the text read: a state file may be indented, and may be read
// from a value.
impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(|value| Self::new(&value))
    }
}

/// The answer around a created item (Field Nation's `metadata`, a `{status, message}`
/// envelope) is made from the schema alone: the same for every create of an operation, but for
/// the time it may show. It is kept with that time (whole seconds), and made again when the
/// clock has moved on.
#[derive(Debug, Default)]
pub struct KeptEnvelope(RwLock<Option<Dated>>);

/// An envelope and the time it shows, if any.
type Dated = (Option<DateTime<Utc>>, Arc<Value>);

// A plan copied (to show it) starts with nothing kept.
impl Clone for KeptEnvelope {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl KeptEnvelope {
    /// The kept envelope, if it shows no time or shows `now()`.
    pub fn get(&self, now: impl FnOnce() -> DateTime<Utc>) -> Option<Arc<Value>> {
        let kept = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let (at, envelope) = kept.as_ref()?;
        at.is_none_or(|at| at == now()).then(|| envelope.clone())
    }

    /// Keeps `envelope`, showing the time `at` if any.
    pub fn keep(&self, at: Option<DateTime<Utc>>, envelope: &Arc<Value>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some((at, envelope.clone()));
    }
}

/// `value` with `inner` at `path` (property names): an answer made without its items, and
/// the items, already JSON, spliced in as it is written.
pub struct Spliced<'a, T: ?Sized = RawValue> {
    pub value: &'a Value,
    pub path: &'a [&'a str],
    pub inner: Inner<'a, T>,
}

/// What [`Spliced`] puts in its place.
pub enum Inner<'a, T: ?Sized = RawValue> {
    /// The array of a list.
    Items(&'a [Cow<'a, RawValue>]),
    /// The item of a single-item answer: written as it is serialised, not copied first.
    Item(&'a T),
}

// Derived, these would ask `T: Copy`; only references are copied.
impl<T: ?Sized> Clone for Inner<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Inner<'_, T> {}

impl<T: Serialize + ?Sized> Serialize for Spliced<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some((head, rest)) = self.path.split_first() else {
            return match self.inner {
                Inner::Items(items) => serializer.collect_seq(items.iter().map(|item| &**item)),
                Inner::Item(item) => item.serialize(serializer),
            };
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
                    inner: self.inner,
                };
                map.serialize_entry(key, &inner)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::shape::Shaper;

    /// A slot of a schema compiled anew, as after a reload (each shaper compiles its own).
    fn new_slot(doc: &Value) -> ItemSlot {
        let shaper = Shaper::new(doc, chrono::Utc::now());
        shaper.item_slot(doc, &[]).expect("a plain array")
    }

    #[test]
    fn a_field_is_read_at_the_top_else_in_the_attributes() {
        let record = Record::new(&json!({
            "id": "7",
            "type": "webhooks",
            "links": {"self": "/webhooks/7", "name": "not this one"},
            "attributes": {"id": 7, "name": "Hook", "events": ["a", "b"], "gone": null},
            "tags": [{"name": "inside an array"}],
            "quo\"ted": "escaped key",
            "unset": null,
        }));
        assert_eq!(record.field("id"), Some(json!("7")), "the top first");
        assert_eq!(record.field("name"), Some(json!("Hook")));
        assert_eq!(record.field("events"), Some(json!(["a", "b"])));
        assert_eq!(record.field("gone"), Some(Value::Null));
        assert_eq!(
            record.field("unset"),
            Some(Value::Null),
            "null at the top stays"
        );
        assert_eq!(record.field("quo\"ted"), Some(json!("escaped key")));
        assert_eq!(
            record.field("self"),
            None,
            "only `attributes` is looked into"
        );
        assert_eq!(record.field("missing"), None);
        let odd = Record::new(&json!({"attributes": [1, {"name": "x"}], "n": 1.5}));
        assert_eq!(odd.field("name"), None, "attributes that are not an object");
        assert_eq!(odd.field("n"), Some(json!(1.5)));
        assert_eq!(Record::new(&json!([{"id": 1}])).field("id"), None);
        assert_eq!(
            record.value()["attributes"]["id"],
            json!(7),
            "parsed back whole"
        );
    }

    #[test]
    fn items_are_kept_until_the_record_changes_or_its_schemas_are_compiled_anew() {
        let doc = json!({"type": "array", "items": {"type": "object"}});
        let made = |value: &Value| (value.clone(), false);
        let mut record = Record::new(&json!({"id": 1}));
        let slots: Vec<ItemSlot> = (0..=KEPT).map(|_| new_slot(&doc)).collect();
        for slot in &slots[..KEPT] {
            assert!(matches!(record.item(slot, made), Cow::Borrowed(_)));
        }
        assert!(
            matches!(record.item(&slots[KEPT], made), Cow::Owned(_)),
            "no room is left"
        );
        record.forget_items();
        assert!(matches!(record.item(&slots[KEPT], made), Cow::Borrowed(_)));
        record.update(|value| *value = json!({"id": 2}));
        let again = record.item(&slots[KEPT], |v| (v.clone(), false));
        assert_eq!(
            again.get(),
            r#"{"id":2}"#,
            "a change drops what was made before"
        );
        let clocked = Record::new(&json!({}));
        assert!(
            matches!(
                clocked.item(&slots[0], |v| (v.clone(), true)),
                Cow::Owned(_)
            ),
            "an item that read the clock is made every time"
        );
    }
}
