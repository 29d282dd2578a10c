//! What is being served: the bundled operations, then those of the documents loaded at run
//! time, with their routes, compiled contracts and inferred plans. A catalog is built whole and
//! swapped whole (`--watch`), so a request sees one consistent version from start to end.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::table::{RouteConflict, Routes};
use crate::generated::{DOCUMENTS, OPERATIONS};
use crate::mock::{Collections, Plan};
use crate::shape::Compiled;
use crate::spec::Operation;
use crate::spec::load::{Loaded, Version};
use crate::validate::{CompileError, Contracts, Dialect, Source};

/// A document loaded at run time, as served.
pub struct Served {
    pub api: &'static str,
    pub title: String,
    /// `openapi` as the document writes it.
    pub openapi: String,
    /// The file and every file it references.
    pub files: Vec<PathBuf>,
    /// Where its routes are mounted (`""` for the root).
    pub prefix: String,
    /// What the engine assumed to serve it (see `spec::extract`).
    pub warnings: Vec<String>,
    pub version: Version,
    /// Its collections: kept across reloads.
    pub state: Arc<Collections>,
    /// Its schemas as answers are made from them: compiled as they are first used, for the
    /// document this catalog holds (a reload starts anew).
    pub schemas: RwLock<Compiled>,
}

/// A bundled API's side of the generic engine, which serves the operations its vendor module
/// does not override: their records (kept across reloads) and the document's compiled schemas.
pub struct Bundled {
    pub api: &'static str,
    pub state: Arc<Collections>,
    pub schemas: RwLock<Compiled>,
}

/// One version of everything being served.
pub struct Catalog {
    /// The bundled operations (all of them, whether served or not), then the run-time ones.
    pub operations: &'static [Operation],
    pub routes: Routes,
    pub contracts: Contracts,
    pub documents: Vec<Served>,
    /// The plan of each operation, index-aligned with `operations`.
    pub plans: Vec<Plan>,
    /// The bundled APIs being served.
    pub bundled: Vec<&'static str>,
    /// The generic engine's side of each bundled API served.
    pub generic: Vec<Bundled>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Routes(#[from] RouteConflict),
    #[error(transparent)]
    Contracts(#[from] CompileError),
    #[error("two documents are named {0}; rename one of the files")]
    SameName(&'static str),
}

/// A run-time document with what it keeps from an earlier version.
pub struct Incoming {
    pub loaded: Loaded,
    pub prefix: String,
    pub state: Arc<Collections>,
}

/// Settings that every version of the catalog is built with.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The bundled APIs to serve (their names).
    pub bundled: Vec<&'static str>,
    /// Compile response validators (`--validate-responses`).
    pub responses: bool,
    /// `--strict`.
    pub strict: bool,
    /// The records of the bundled APIs' operations that the generic engine serves, by API (an
    /// API not named keeps none).
    pub bundled_state: Vec<(&'static str, Arc<Collections>)>,
}

impl Catalog {
    pub fn build(settings: &Settings, documents: Vec<Incoming>) -> Result<Self, CatalogError> {
        // A document may share a bundled API's name when that API is not served (`mock
        // openapi/fieldnation.json`), not when both would answer.
        let mut names: Vec<&'static str> = settings.bundled.clone();
        for doc in &documents {
            if names.contains(&doc.loaded.api) {
                return Err(CatalogError::SameName(doc.loaded.api));
            }
            names.push(doc.loaded.api);
        }
        let mut operations = OPERATIONS.to_vec();
        let mut plans = bundled_plans();
        for doc in &documents {
            let ops = &doc.loaded.extracted.operations;
            plans.extend(crate::mock::infer::plans(&doc.loaded.document, ops));
            operations.extend_from_slice(ops);
        }
        // The route table is `'static` (see `spec::intern`): a reload leaks the previous
        // version's slice, a few hundred bytes per operation.
        let operations: &'static [Operation] = Box::leak(operations.into_boxed_slice());
        let bundled = OPERATIONS.len();
        let serves = |index: usize| {
            index >= bundled
                || operations
                    .get(index)
                    .is_some_and(|op| settings.bundled.contains(&op.api))
        };
        let routes = Routes::new(operations, serves)?;
        // Only the bundled documents served are compiled: `mock` serves none of them.
        let served: Vec<_> = DOCUMENTS
            .iter()
            .filter(|d| settings.bundled.contains(&d.api))
            .copied()
            .collect();
        let mut sources = crate::validate::sources_of(&served)?;
        let mut documents = documents;
        for doc in &mut documents {
            sources.push(Source {
                api: doc.loaded.api,
                document: std::mem::take(&mut doc.loaded.document),
                dialect: match doc.loaded.version {
                    Version::V30 => Dialect::OpenApi30,
                    Version::V31 => Dialect::OpenApi31,
                },
                lenient: true,
            });
        }
        let contracts =
            Contracts::compile_sources(sources, operations, settings.responses, serves)?
                .strict(settings.strict);
        let documents = documents
            .into_iter()
            .map(|doc| Served {
                warnings: warnings_of(&doc.loaded, &contracts),
                api: doc.loaded.api,
                title: doc.loaded.title,
                openapi: doc.loaded.openapi,
                files: doc.loaded.files,
                prefix: doc.prefix,
                version: doc.loaded.version,
                state: doc.state,
                schemas: RwLock::default(),
            })
            .collect();
        let generic = settings
            .bundled
            .iter()
            .map(|&api| Bundled {
                api,
                state: settings
                    .bundled_state
                    .iter()
                    .find(|(a, _)| *a == api)
                    .map(|(_, state)| state.clone())
                    .unwrap_or_default(),
                schemas: RwLock::default(),
            })
            .collect();
        Ok(Self {
            operations,
            routes,
            contracts,
            documents,
            plans,
            bundled: settings.bundled.clone(),
            generic,
        })
    }

    /// Whether `operations[index]` is served: a run-time one, or one of a bundled API served.
    pub fn serves(&self, index: usize) -> bool {
        index >= OPERATIONS.len()
            || self
                .operations
                .get(index)
                .is_some_and(|op| self.bundled.contains(&op.api))
    }

    /// What the generic engine inferred for `operations[index]`.
    pub fn plan(&self, index: usize) -> Option<&Plan> {
        self.plans.get(index)
    }

    /// Whether `operations[index]` is one of a bundled API (a vendor module may override it).
    pub fn is_bundled(index: usize) -> bool {
        index < OPERATIONS.len()
    }

    /// The records and compiled schemas the generic engine answers `api`'s calls with.
    pub fn generic(&self, api: &str) -> Option<(&Collections, &RwLock<Compiled>)> {
        let runtime = self.document(api).map(|d| (&*d.state, &d.schemas));
        runtime.or_else(|| {
            let bundled = self.generic.iter().find(|b| b.api == api)?;
            Some((&*bundled.state, &bundled.schemas))
        })
    }

    /// The run-time document named `api`.
    pub fn document(&self, api: &str) -> Option<&Served> {
        self.documents.iter().find(|d| d.api == api)
    }

    /// Every API served: the bundled ones, then the run-time ones.
    pub fn served(&self) -> Vec<&'static str> {
        let runtime = self.documents.iter().map(|d| d.api);
        self.bundled.iter().copied().chain(runtime).collect()
    }
}

/// What was assumed to serve `loaded`: its extraction's warnings, then its schemas that did
/// not compile, each once (a reload carries the previous ones over).
fn warnings_of(loaded: &Loaded, contracts: &Contracts) -> Vec<String> {
    let prefix = format!("{}.", loaded.api);
    let compiled = contracts
        .warnings()
        .iter()
        .filter(|w| w.starts_with(&prefix));
    let mut warnings: Vec<String> = Vec::new();
    for warning in loaded.extracted.warnings.iter().chain(compiled) {
        if !warnings.contains(warning) {
            warnings.push(warning.clone());
        }
    }
    warnings
}

/// What became of each run-time document's loads: when it was last loaded, how many times it
/// was reloaded, and why the last reload was refused (the previous version keeps serving).
#[derive(Debug, Default)]
pub struct Reloads {
    by_api: std::sync::Mutex<std::collections::BTreeMap<String, ReloadStatus>>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReloadStatus {
    pub loaded_at: String,
    pub reloads: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reloads {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut std::collections::BTreeMap<String, ReloadStatus>) -> R,
    ) -> R {
        f(&mut self
            .by_api
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// `api` was (re)loaded at `at`.
    pub fn loaded(&self, api: &str, at: String) {
        self.with(|m| {
            let status = m.entry(api.to_owned()).or_default();
            if !status.loaded_at.is_empty() {
                status.reloads += 1;
            }
            status.loaded_at = at;
            status.error = None;
        });
    }

    /// A reload of `api` was refused for `error`.
    pub fn refused(&self, api: &str, error: String) {
        self.with(|m| m.entry(api.to_owned()).or_default().error = Some(error));
    }

    pub fn status(&self, api: &str) -> Option<ReloadStatus> {
        self.with(|m| m.get(api).cloned())
    }
}

/// The plans of the bundled operations, in `OPERATIONS`' order (each API's are together).
fn bundled_plans() -> Vec<Plan> {
    OPERATIONS
        .chunk_by(|a, b| a.api == b.api)
        .flat_map(|ops| {
            let source = DOCUMENTS.iter().find(|d| d.api == ops[0].api);
            // The bundled documents are checked by `build.rs`: they parse.
            let doc = source
                .and_then(|d| serde_json::from_str(d.source).ok())
                .unwrap_or_default();
            crate::mock::infer::plans(&doc, ops)
        })
        .collect()
}
