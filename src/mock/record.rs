//! A stored record and the list items already made from it.
//!
//! A list answer makes each of its items from the item schema; for a record that has not
//! changed, and an item that did not read the clock, the item is the same every time. Keeping
//! its JSON beside the record makes a list of stored records about as cheap as serialising
//! them, which is what a compiled vendor route does.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use chrono::{DateTime, Utc};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::shape::ItemSlot;

/// How many differently shaped items of one record are kept (the item of a list, of a nested
/// list, of another document version…); more are made each time.
const KEPT: usize = 2;

#[derive(Debug, Default)]
pub struct Record {
    value: Value,
    items: [OnceLock<(ItemSlot, Box<RawValue>)>; KEPT],
}

impl Record {
    pub fn new(value: Value) -> Self {
        Self {
            value,
            items: Default::default(),
        }
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The value to change: the items made from it are dropped.
    pub fn value_mut(&mut self) -> &mut Value {
        self.forget_items();
        &mut self.value
    }

    pub fn forget_items(&mut self) {
        self.items = Default::default();
    }

    pub fn into_value(self) -> Value {
        self.value
    }

    /// The item at `slot` made from this record: kept from an earlier list, else made by
    /// `make` (which says whether it read the clock; such an item is not kept).
    pub fn item(
        &self,
        slot: &ItemSlot,
        make: impl FnOnce(&Value) -> (Value, bool),
    ) -> Cow<'_, RawValue> {
        let kept = self.items.iter().filter_map(OnceLock::get);
        if let Some((_, json)) = kept.into_iter().find(|(s, _)| s == slot) {
            return Cow::Borrowed(json);
        }
        let (item, clock_read) = make(&self.value);
        let Ok(json) = serde_json::value::to_raw_value(&item) else {
            return Cow::Borrowed(RawValue::NULL);
        };
        let free = self.items.iter().find(|cell| cell.get().is_none());
        match free {
            Some(cell) if !clock_read => match cell.set((slot.clone(), json)) {
                Ok(()) => cell
                    .get()
                    .map_or(Cow::Borrowed(RawValue::NULL), |(_, kept)| {
                        Cow::Borrowed(kept)
                    }),
                // Another list filled the cell first.
                Err((_, json)) => Cow::Owned(json),
            },
            _ => Cow::Owned(json),
        }
    }
}

impl Clone for Record {
    fn clone(&self) -> Self {
        Self::new(self.value.clone())
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::new)
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
    fn items_are_kept_until_the_record_changes_or_its_schemas_are_compiled_anew() {
        let doc = json!({"type": "array", "items": {"type": "object"}});
        let made = |value: &Value| (value.clone(), false);
        let mut record = Record::new(json!({"id": 1}));
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
        *record.value_mut() = json!({"id": 2});
        let again = record.item(&slots[KEPT], |v| (v.clone(), false));
        assert_eq!(
            again.get(),
            r#"{"id":2}"#,
            "a change drops what was made before"
        );
        let clocked = Record::new(json!({}));
        assert!(
            matches!(
                clocked.item(&slots[0], |v| (v.clone(), true)),
                Cow::Owned(_)
            ),
            "an item that read the clock is made every time"
        );
    }
}
