//! Documents given on the command line (`--spec`, `hookmock mock`): loading them at start and,
//! with `--watch`, reloading them when they or the files they `$ref` change.
//!
//! Watching polls the files' modification times and sizes a few times a second instead of
//! subscribing to file-system events: editors save by writing a new file and renaming it over
//! the old one (which an inotify watch on the old file misses), a document is a handful of
//! files, and polling behaves the same on every file system, container mounts included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::context::Context;
use crate::mock::Collections;
use crate::router::{Catalog, IncomingDocument, Reloads, Settings};
use crate::spec::extract::Extracted;
use crate::spec::load::{self, LoadError, Loaded};

/// How often watched files are looked at.
const POLL: Duration = Duration::from_millis(250);

/// One `--spec` argument: a file or a folder of documents, optionally mounted under a prefix
/// (`/v2=./petstore.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecSource {
    pub path: PathBuf,
    pub prefix: String,
}

impl FromStr for SpecSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("a document path is needed".to_owned());
        }
        // `/prefix=PATH`, unless the whole text is an existing file.
        if let Some((prefix, path)) = text.split_once('=')
            && prefix.starts_with('/')
            && !Path::new(text).exists()
        {
            if prefix.contains(['{', '}', '?', '#']) || prefix.len() < 2 {
                return Err(format!("{prefix:?}: a prefix is a plain path such as /v2"));
            }
            return Ok(Self {
                path: PathBuf::from(path),
                prefix: prefix.trim_end_matches('/').to_owned(),
            });
        }
        Ok(Self {
            path: PathBuf::from(text),
            prefix: String::new(),
        })
    }
}

/// Every document `sources` name, loaded (with `overlays` applied), each with new (empty)
/// collections.
pub fn load_all(
    sources: &[SpecSource],
    overlays: &[PathBuf],
) -> Result<Vec<IncomingDocument>, LoadError> {
    let mut documents = Vec::new();
    for source in sources {
        for path in load::documents_at(&source.path)? {
            documents.push(IncomingDocument {
                loaded: load::load(&path, &source.prefix, overlays)?,
                prefix: source.prefix.clone(),
                state: Arc::new(Collections::default()),
            });
        }
    }
    Ok(documents)
}

/// Reloads the documents of `sources` into `catalog` whenever their files change, until the
/// runtime stops.
pub fn watch(
    catalog: Arc<ArcSwap<Catalog>>,
    settings: Settings,
    sources: Vec<SpecSource>,
    overlays: Vec<PathBuf>,
    reloads: Arc<Reloads>,
    context: Arc<Context>,
) {
    let mut watcher = Watcher {
        catalog,
        settings,
        sources,
        overlays,
        reloads,
        context,
        seen: HashMap::new(),
    };
    watcher.note_current();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let changed = watcher.changed();
            if !changed.is_empty() {
                // Loading and compiling is CPU work: off the runtime's worker threads.
                watcher = match tokio::task::spawn_blocking(move || {
                    watcher.reload(&changed);
                    watcher
                })
                .await
                {
                    Ok(watcher) => watcher,
                    Err(_) => return,
                };
            }
        }
    });
}

/// A file's modification time and size: what tells a change.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

struct Watcher {
    catalog: Arc<ArcSwap<Catalog>>,
    settings: Settings,
    sources: Vec<SpecSource>,
    overlays: Vec<PathBuf>,
    reloads: Arc<Reloads>,
    context: Arc<Context>,
    /// Every watched file (documents, the files they reference, the documents of folders).
    seen: HashMap<PathBuf, Stamp>,
}

impl Watcher {
    /// The files to watch now: those of every document served, and every document of the
    /// folders given (so that a new file is noticed).
    fn files(&self) -> Vec<PathBuf> {
        let catalog = self.catalog.load();
        let mut files: Vec<PathBuf> = catalog
            .documents
            .iter()
            .flat_map(|d| d.files.iter().cloned())
            .collect();
        for source in &self.sources {
            files.extend(load::documents_at(&source.path).unwrap_or_default());
        }
        files.sort();
        files.dedup();
        files
    }

    fn note_current(&mut self) {
        self.seen = self
            .files()
            .into_iter()
            .map(|f| (f.clone(), stamp(&f)))
            .collect();
    }

    /// The watched files whose stamp changed (or that appeared) since last looked at.
    fn changed(&mut self) -> Vec<PathBuf> {
        let mut changed = Vec::new();
        for file in self.files() {
            let now = stamp(&file);
            if self.seen.get(&file) != Some(&now) {
                self.seen.insert(file.clone(), now);
                changed.push(file);
            }
        }
        changed
    }

    /// Loads again the documents `changed` touches; the others keep their current version.
    fn reload(&mut self, changed: &[PathBuf]) {
        let current = self.catalog.load_full();
        let mut documents = Vec::new();
        let mut reloaded = Vec::new();
        for source in &self.sources {
            let paths = load::documents_at(&source.path).unwrap_or_default();
            for path in paths {
                let served = current
                    .documents
                    .iter()
                    .find(|d| d.files.first() == Some(&path));
                let touched = served.is_none_or(|d| d.files.iter().any(|f| changed.contains(f)));
                let state = served.map_or_else(Default::default, |d| d.state.clone());
                let loaded = if touched {
                    match load::load(&path, &source.prefix, &self.overlays) {
                        Ok(loaded) => {
                            reloaded.push(loaded.api);
                            Some(loaded)
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the document was not reloaded; the last good version keeps serving");
                            let api = served.map_or_else(|| file_stem(&path), |d| d.api.to_owned());
                            self.reloads.refused(&api, error.to_string());
                            served.and_then(|d| previous(&current, d.api))
                        }
                    }
                } else {
                    served.and_then(|d| previous(&current, d.api))
                };
                if let Some(loaded) = loaded {
                    documents.push(IncomingDocument {
                        loaded,
                        prefix: source.prefix.clone(),
                        state,
                    });
                }
            }
        }
        match Catalog::build(&self.settings, documents) {
            Ok(catalog) => {
                let catalog = Arc::new(catalog);
                self.catalog.store(catalog.clone());
                // The new catalog compiled its schemas anew: items made from the old ones
                // would only take the records' room.
                for served in &catalog.documents {
                    served.state.forget_items();
                }
                let at = crate::clock::format(self.context.now());
                for api in reloaded {
                    tracing::info!(api, "reloaded");
                    self.reloads.loaded(api, at.clone());
                }
            }
            Err(error) => {
                tracing::warn!(%error, "the edit was not applied; the last good version keeps serving");
                for api in reloaded {
                    self.reloads.refused(api, error.to_string());
                }
            }
        }
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("api")
        .to_owned()
}

/// The document `api` as the current catalog serves it, to be served again unchanged.
fn previous(catalog: &Catalog, api: &'static str) -> Option<Loaded> {
    let served = catalog.document(api)?;
    Some(Loaded {
        api,
        title: served.title.clone(),
        openapi: served.openapi.clone(),
        version: served.version,
        files: served.files.clone(),
        document: catalog.contracts.document(api)?.clone(),
        extracted: Extracted {
            operations: catalog
                .operations
                .iter()
                .filter(|op| op.api == api)
                .copied()
                .collect(),
            warnings: served.warnings.clone(),
        },
    })
}
