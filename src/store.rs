//! The in-memory store: one collection of records per tenant, safe to share between tasks.
//!
//! Each vendor module owns `Store`s of its own record types; the store knows nothing of vendors.
//! A tenant's collection starts as a copy of the store's fixtures the first time the tenant is
//! seen. Locks are held only for the closure passed in, never across an `.await`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Records keyed by a numeric ID that is never reused within a tenant, even after a delete.
#[derive(Debug, Clone)]
pub struct Collection<T> {
    last_id: u64,
    items: BTreeMap<u64, T>,
    orders: Orders,
}

/// How many orders a collection remembers (a list sorted by one key in one direction is one).
const REMEMBERED_ORDERS: usize = 8;

/// The IDs of a collection in the orders lists asked for, kept until the collection changes:
/// a list of 100,000 records sorted the same way as the last one then reads only its page,
/// instead of touching every record. Every `&mut` method of [`Collection`] forgets them.
#[derive(Debug, Default)]
struct Orders(Mutex<HashMap<String, Arc<[u64]>>>);

impl Clone for Orders {
    /// A copy starts with nothing remembered (it will be changed on its own).
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Orders {
    fn forget(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Self::from_records([])
    }
}

impl<T> Collection<T> {
    /// A collection holding `records`; new IDs continue after the largest.
    pub fn from_records(records: impl IntoIterator<Item = (u64, T)>) -> Self {
        let items: BTreeMap<u64, T> = records.into_iter().collect();
        let last_id = items.keys().next_back().copied().unwrap_or(0);
        Self::with_last_id(last_id, items)
    }

    fn with_last_id(last_id: u64, items: BTreeMap<u64, T>) -> Self {
        Self {
            last_id,
            items,
            orders: Orders::default(),
        }
    }

    /// Inserts the record that `make` builds from the next ID.
    pub fn insert_with(&mut self, make: impl FnOnce(u64) -> T) -> &T {
        self.orders.forget();
        self.last_id += 1;
        let id = self.last_id;
        self.items.entry(id).or_insert(make(id))
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        self.items.get(&id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.orders.forget();
        self.items.get_mut(&id)
    }

    pub fn find(&self, pred: impl Fn(&T) -> bool) -> Option<(u64, &T)> {
        self.items
            .iter()
            .find(|(_, item)| pred(item))
            .map(|(id, item)| (*id, item))
    }

    pub fn remove(&mut self, id: u64) -> Option<T> {
        self.orders.forget();
        self.items.remove(&id)
    }

    /// Records in ID (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.values()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every record in the order `compare` gives, which `name` names: sorted once, then
    /// remembered until the collection changes. `compare` must be a total order (ties broken by
    /// ID) and the same whenever `name` is.
    pub fn ordered<'a>(
        &'a self,
        name: &str,
        compare: impl Fn(&T, &T) -> Ordering,
    ) -> impl Iterator<Item = &'a T> + 'a {
        let ids = {
            let mut orders = self.orders.0.lock().unwrap_or_else(PoisonError::into_inner);
            match orders.get(name) {
                Some(ids) => ids.clone(),
                None => {
                    let mut records: Vec<(&u64, &T)> = self.items.iter().collect();
                    records.sort_unstable_by(|a, b| compare(a.1, b.1));
                    let ids: Arc<[u64]> = records.into_iter().map(|(id, _)| *id).collect();
                    if orders.len() >= REMEMBERED_ORDERS {
                        orders.clear();
                    }
                    orders.insert(name.to_owned(), ids.clone());
                    ids
                }
            }
        };
        (0..ids.len()).filter_map(move |at| self.items.get(&ids[at]))
    }
}

/// One [`Collection`] per tenant, each starting as a copy of the fixtures.
#[derive(Debug)]
pub struct Store<T> {
    tenants: RwLock<HashMap<String, Collection<T>>>,
    fixtures: Collection<T>,
    /// Bumped by every write, import and reset: `--state-file` saves when it moved.
    changes: AtomicU64,
}

impl<T: Clone> Store<T> {
    pub fn new(fixtures: Collection<T>) -> Self {
        Self {
            tenants: RwLock::new(HashMap::new()),
            fixtures,
            changes: AtomicU64::new(0),
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
        self.changes.fetch_add(1, AtomicOrdering::SeqCst);
        // Looked up by `&str` first: a known tenant's write allocates nothing.
        if let Some(collection) = tenants.get_mut(tenant) {
            return f(collection);
        }
        f(tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| self.fixtures.clone()))
    }
}

/// What replaces a store's contents once every store of an import has been checked.
pub type Commit<'a> = Box<dyn FnOnce() + 'a>;

/// The admin API's view of a store: export, import and reset, whatever its record type.
///
/// Both directions go straight between the typed records and JSON text, never through a
/// `serde_json::Value` tree: a 100,000-webhook store would need several times its own size
/// for the tree, and the allocator keeps that peak as resident memory.
pub trait State: Send + Sync {
    /// `{tenant: {"last_id": n, "items": {"<id>": record}}}`, tenants in order.
    fn export(&self) -> Box<RawValue>;
    /// Checks an export of this store and returns what replaces every tenant's collection with
    /// it, so that a caller can check several stores before changing any.
    fn import(&self, state: &RawValue) -> Result<Commit<'_>, String>;
    /// Back to the fixtures: one tenant, or all when `None`.
    fn reset(&self, tenant: Option<&str>);
    /// How many changes so far: a different number means a different state.
    fn changes(&self) -> u64;
}

/// A tenant's collection as an export shows it.
#[derive(Serialize)]
struct Exported<'a, T> {
    last_id: u64,
    items: &'a BTreeMap<u64, T>,
}

/// A tenant's collection as an import reads it: each record is parsed on its own, so that an
/// error can name the tenant and the item.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Imported<'a> {
    last_id: Option<u64>,
    #[serde(borrow)]
    items: BTreeMap<String, &'a RawValue>,
}

impl<T: Clone + Serialize + DeserializeOwned + Send + Sync> State for Store<T> {
    fn export(&self) -> Box<RawValue> {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        let exported: BTreeMap<&String, Exported<'_, T>> = tenants
            .iter()
            .map(|(tenant, c)| {
                let items = &c.items;
                (
                    tenant,
                    Exported {
                        last_id: c.last_id,
                        items,
                    },
                )
            })
            .collect();
        // Records are plain data (strings, numbers, maps with string keys): always serializable.
        serde_json::value::to_raw_value(&exported)
            .unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).unwrap_or_default())
    }

    fn import(&self, state: &RawValue) -> Result<Commit<'_>, String> {
        let tenants: BTreeMap<String, Imported<'_>> = serde_json::from_str(state.get())
            .map_err(|e| format!("expected {{tenant: {{last_id, items}}}}: {e}"))?;
        let mut imported = HashMap::new();
        for (tenant, collection) in tenants {
            let at = |what: &str| format!("tenant {tenant:?}: {what}");
            let mut records = BTreeMap::new();
            for (id, item) in collection.items {
                let id: u64 = id
                    .parse()
                    .map_err(|_| at(&format!("item key {id:?} is not a numeric ID")))?;
                let record: T =
                    serde_json::from_str(item.get()).map_err(|e| at(&format!("item {id}: {e}")))?;
                records.insert(id, record);
            }
            let largest = records.keys().next_back().copied().unwrap_or(0);
            let last_id = collection.last_id.unwrap_or(largest).max(largest);
            imported.insert(tenant, Collection::with_last_id(last_id, records));
        }
        Ok(Box::new(move || {
            *self.tenants.write().unwrap_or_else(PoisonError::into_inner) = imported;
            self.changes.fetch_add(1, AtomicOrdering::SeqCst);
        }))
    }

    fn changes(&self) -> u64 {
        self.changes.load(AtomicOrdering::SeqCst)
    }

    fn reset(&self, tenant: Option<&str>) {
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        self.changes.fetch_add(1, AtomicOrdering::SeqCst);
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

    /// `{"apis": {api: {store: export}}}`: the whole state, as `GET /__admin/state` answers
    /// and `--state-file` keeps it.
    pub fn export(&self) -> String {
        let mut apis: BTreeMap<&str, BTreeMap<&str, Box<RawValue>>> = BTreeMap::new();
        for (api, name, store) in self.iter() {
            apis.entry(api).or_default().insert(name, store.export());
        }
        serde_json::json!({ "apis": apis }).to_string()
    }

    /// Replaces the stores a state document names, all or nothing: every part is checked
    /// before any is applied; stores it does not name are left as they are. Answers the stores
    /// replaced, as `api.store`; an error names the part that was wrong.
    pub fn import(&self, document: &[u8]) -> Result<Vec<String>, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Document<'a> {
            #[serde(borrow)]
            apis: BTreeMap<String, BTreeMap<String, &'a RawValue>>,
        }
        let document: Document<'_> = serde_json::from_slice(document)
            .map_err(|e| format!("expected {{\"apis\": {{api: {{store: …}}}}}}: {e}"))?;
        let mut commits = Vec::new();
        for (api, stores) in &document.apis {
            for (name, state) in stores {
                let store = self
                    .iter()
                    .find(|(a, n, _)| a == api && n == name)
                    .map(|(_, _, s)| s)
                    .ok_or_else(|| format!("/apis/{api}/{name}: no such store"))?;
                let commit = store
                    .import(state)
                    .map_err(|e| format!("/apis/{api}/{name}: {e}"))?;
                commits.push((format!("{api}.{name}"), commit));
            }
        }
        Ok(commits
            .into_iter()
            .map(|(name, commit)| {
                commit();
                name
            })
            .collect())
    }

    /// Changes to any store so far (see [`State::changes`]).
    pub fn changes(&self) -> u64 {
        self.iter().map(|(_, _, store)| store.changes()).sum()
    }

    /// (API, store name, store)
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str, &dyn State)> {
        self.entries
            .iter()
            .map(|(api, name, state)| (*api, *name, state.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descending(c: &Collection<i32>) -> Vec<i32> {
        c.ordered("desc", |a, b| b.cmp(a)).copied().collect()
    }

    /// A remembered order is forgotten by every change: insert, update and remove.
    #[test]
    fn an_order_follows_every_change() {
        let mut c = Collection::from_records([(1, 10), (2, 30), (3, 20)]);
        assert_eq!(descending(&c), [30, 20, 10]);
        c.insert_with(|_| 25);
        assert_eq!(descending(&c), [30, 25, 20, 10]);
        if let Some(v) = c.get_mut(1) {
            *v = 40;
        }
        assert_eq!(descending(&c), [40, 30, 25, 20]);
        c.remove(2);
        assert_eq!(descending(&c), [40, 25, 20]);
        assert_eq!(c.clone().ordered("desc", |a, b| b.cmp(a)).count(), 3);
    }
}
