//! The state of every API, for the admin API and `--state-file`: export, import and reset,
//! whatever keeps it (the generic engine's collections).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

/// What replaces a store's contents once every store of an import has been checked.
pub type Commit<'a> = Box<dyn FnOnce() + 'a>;

/// The admin API's view of a store: export, import and reset.
///
/// Both directions go straight between the records and JSON text, never through one
/// `serde_json::Value` tree: a 100,000-webhook store would need several times its own size
/// for the tree, and the allocator keeps that peak as resident memory.
pub trait State: Send + Sync {
    /// Every tenant's records, tenants in order.
    fn export(&self) -> Box<RawValue>;
    /// Checks an export of this store and returns what replaces every tenant's collection with
    /// it, so that a caller can check several stores before changing any.
    fn import(&self, state: &RawValue) -> Result<Commit<'_>, String>;
    /// Back to the fixtures: one tenant, or all when `None`.
    fn reset(&self, tenant: Option<&str>);
    /// How many changes so far: a different number means a different state.
    fn changes(&self) -> u64;
}

/// Every store of every API, by name, for the admin API (export, import, reset).
#[derive(Default)]
pub struct Stores {
    entries: Vec<(&'static str, &'static str, Arc<dyn State>)>,
    upgrades: Vec<(&'static str, Box<Upgrade>)>,
}

/// Rewrites an API's stores as an earlier hookmock exported them (store name → export) into
/// this version's; it leaves a document already in this version's shape as it is.
pub type Upgrade = dyn Fn(&mut BTreeMap<String, Box<RawValue>>) -> Result<(), String> + Send + Sync;

impl Stores {
    pub fn add(&mut self, api: &'static str, name: &'static str, state: Arc<dyn State>) {
        self.entries.push((api, name, state));
    }

    /// Reads `api`'s part of an import through `upgrade` first: a `--state-file` saved before
    /// its stores changed shape keeps loading.
    pub fn upgrading(
        &mut self,
        api: &'static str,
        upgrade: impl Fn(&mut BTreeMap<String, Box<RawValue>>) -> Result<(), String>
        + Send
        + Sync
        + 'static,
    ) {
        self.upgrades.push((api, Box::new(upgrade)));
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
        struct Document {
            apis: BTreeMap<String, BTreeMap<String, Box<RawValue>>>,
        }
        let mut document: Document = serde_json::from_slice(document)
            .map_err(|e| format!("expected {{\"apis\": {{api: {{store: …}}}}}}: {e}"))?;
        for (api, upgrade) in &self.upgrades {
            if let Some(stores) = document.apis.get_mut(*api) {
                upgrade(stores).map_err(|e| format!("/apis/{api}: {e}"))?;
            }
        }
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
