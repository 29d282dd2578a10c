//! The in-memory store: one collection of records per tenant, safe to share between tasks.
//!
//! Each vendor module owns a `Store` of its own record type; the store knows nothing of vendors.
//! Locks are held only for the closure passed in, never across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};

/// Records keyed by a numeric ID that is never reused within a tenant, even after a delete.
#[derive(Debug)]
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
    /// Inserts the record that `make` builds from the next ID.
    pub fn insert_with(&mut self, make: impl FnOnce(u64) -> T) -> &T {
        self.last_id += 1;
        let id = self.last_id;
        self.items.entry(id).or_insert(make(id))
    }

    pub fn find(&self, pred: impl Fn(&T) -> bool) -> Option<(u64, &T)> {
        self.items
            .iter()
            .find(|(_, item)| pred(item))
            .map(|(id, item)| (*id, item))
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.items.get_mut(&id)
    }

    pub fn remove(&mut self, id: u64) -> Option<T> {
        self.items.remove(&id)
    }

    /// Records in ID (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.values()
    }
}

/// One [`Collection`] per tenant, created empty on first use.
#[derive(Debug)]
pub struct Store<T> {
    tenants: RwLock<HashMap<String, Collection<T>>>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Self {
            tenants: RwLock::new(HashMap::new()),
        }
    }
}

impl<T> Store<T> {
    /// Runs `f` on the tenant's collection under a shared lock.
    pub fn read<R>(&self, tenant: &str, f: impl FnOnce(&Collection<T>) -> R) -> R {
        // A panic in another holder cannot leave a collection half-written (each mutation is one
        // map operation), so a poisoned lock is still safe to use.
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        match tenants.get(tenant) {
            Some(collection) => f(collection),
            None => f(&Collection::default()),
        }
    }

    /// Runs `f` on the tenant's collection under an exclusive lock.
    pub fn write<R>(&self, tenant: &str, f: impl FnOnce(&mut Collection<T>) -> R) -> R {
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        f(tenants.entry(tenant.to_owned()).or_default())
    }
}
