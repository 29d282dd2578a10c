//! The in-memory store: one collection of records per tenant, safe to share between tasks.
//!
//! Each vendor module owns `Store`s of its own record types; the store knows nothing of vendors.
//! A tenant's collection starts as a copy of the store's fixtures the first time the tenant is
//! seen. Locks are held only for the closure passed in, never across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Records keyed by a numeric ID that is never reused within a tenant, even after a delete.
#[derive(Debug, Clone)]
pub struct Collection<T> {
    last_id: u64,
    items: BTreeMap<u64, T>,
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Self {
            last_id: 0,
            items: BTreeMap::new(),
        }
    }
}

impl<T> Collection<T> {
    /// A collection holding `records`; new IDs continue after the largest.
    pub fn from_records(records: impl IntoIterator<Item = (u64, T)>) -> Self {
        let items: BTreeMap<u64, T> = records.into_iter().collect();
        let last_id = items.keys().next_back().copied().unwrap_or(0);
        Self { last_id, items }
    }

    /// Inserts the record that `make` builds from the next ID.
    pub fn insert_with(&mut self, make: impl FnOnce(u64) -> T) -> &T {
        self.last_id += 1;
        let id = self.last_id;
        self.items.entry(id).or_insert(make(id))
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        self.items.get(&id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.items.get_mut(&id)
    }

    pub fn find(&self, pred: impl Fn(&T) -> bool) -> Option<(u64, &T)> {
        self.items
            .iter()
            .find(|(_, item)| pred(item))
            .map(|(id, item)| (*id, item))
    }

    pub fn remove(&mut self, id: u64) -> Option<T> {
        self.items.remove(&id)
    }

    /// Records in ID (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.values()
    }
}

/// One [`Collection`] per tenant, each starting as a copy of the fixtures.
#[derive(Debug)]
pub struct Store<T> {
    tenants: RwLock<HashMap<String, Collection<T>>>,
    fixtures: Collection<T>,
}

impl<T: Clone> Store<T> {
    pub fn new(fixtures: Collection<T>) -> Self {
        Self {
            tenants: RwLock::new(HashMap::new()),
            fixtures,
        }
    }

    /// Runs `f` on the tenant's collection under a shared lock.
    pub fn read<R>(&self, tenant: &str, f: impl FnOnce(&Collection<T>) -> R) -> R {
        // A panic in another holder cannot leave a collection half-written (each mutation is one
        // map operation), so a poisoned lock is still safe to use.
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        match tenants.get(tenant) {
            Some(collection) => f(collection),
            None => f(&self.fixtures),
        }
    }

    /// The tenants seen so far.
    pub fn tenants(&self) -> Vec<String> {
        self.tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Runs `f` on the tenant's collection under an exclusive lock.
    pub fn write<R>(&self, tenant: &str, f: impl FnOnce(&mut Collection<T>) -> R) -> R {
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        let collection = tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| self.fixtures.clone());
        f(collection)
    }
}

/// The admin API's view of a store: export, import and reset, whatever its record type.
pub trait State: Send + Sync {
    /// `{tenant: {"last_id": n, "items": {"<id>": record}}}`
    fn export(&self) -> Value;
    /// Checks an export of this store and returns what replaces every tenant's collection with
    /// it, so that a caller can check several stores before changing any.
    fn import(&self, state: &Value) -> Result<Box<dyn FnOnce() + '_>, String>;
    /// Back to the fixtures: one tenant, or all when `None`.
    fn reset(&self, tenant: Option<&str>);
}

impl<T: Clone + Serialize + DeserializeOwned + Send + Sync> State for Store<T> {
    fn export(&self) -> Value {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        let exported: serde_json::Map<String, Value> = tenants
            .iter()
            .map(|(tenant, c)| {
                let items: serde_json::Map<String, Value> = c
                    .items
                    .iter()
                    .map(|(id, item)| {
                        (
                            id.to_string(),
                            serde_json::to_value(item).unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                (
                    tenant.clone(),
                    json!({ "last_id": c.last_id, "items": items }),
                )
            })
            .collect();
        Value::Object(exported)
    }

    fn import(&self, state: &Value) -> Result<Box<dyn FnOnce() + '_>, String> {
        let tenants = state.as_object().ok_or("expected an object of tenants")?;
        let mut imported = HashMap::new();
        for (tenant, collection) in tenants {
            let at = |what: &str| format!("tenant {tenant:?}: {what}");
            let items = collection
                .get("items")
                .and_then(Value::as_object)
                .ok_or_else(|| at("`items` must be an object"))?;
            let mut records = BTreeMap::new();
            for (id, item) in items {
                let id: u64 = id
                    .parse()
                    .map_err(|_| at(&format!("item key {id:?} is not a numeric ID")))?;
                let record = T::deserialize(item).map_err(|e| at(&format!("item {id}: {e}")))?;
                records.insert(id, record);
            }
            let largest = records.keys().next_back().copied().unwrap_or(0);
            let last_id = collection
                .get("last_id")
                .and_then(Value::as_u64)
                .unwrap_or(largest)
                .max(largest);
            imported.insert(
                tenant.clone(),
                Collection {
                    last_id,
                    items: records,
                },
            );
        }
        Ok(Box::new(move || {
            *self.tenants.write().unwrap_or_else(PoisonError::into_inner) = imported
        }))
    }

    fn reset(&self, tenant: Option<&str>) {
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        match tenant {
            Some(tenant) => {
                tenants.remove(tenant);
            }
            None => tenants.clear(),
        }
    }
}

/// Every store of every API, by name, for the admin API (export, import, reset).
#[derive(Default)]
pub struct Stores {
    entries: Vec<(&'static str, &'static str, Arc<dyn State>)>,
}

impl Stores {
    pub fn add(&mut self, api: &'static str, name: &'static str, state: Arc<dyn State>) {
        self.entries.push((api, name, state));
    }

    /// (API, store name, store)
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str, &dyn State)> {
        self.entries
            .iter()
            .map(|(api, name, state)| (*api, *name, state.as_ref()))
    }
}
