//! `--state-file FILE`: the stores kept on disk across restarts.
//!
//! Loaded at start (a file that does not parse stops the start: it is never overwritten by an
//! empty store). Saved after changes, at most every [`SAVE_EVERY`] (a burst of writes is one
//! save), and at shutdown. Each save writes the whole state to a temporary file beside it,
//! syncs it, renames it over the old one and syncs the folder, so a `kill -9` at any moment
//! leaves the old state or the new one, never a torn file. What changed in the last
//! [`SAVE_EVERY`] before a crash is lost: this is a test double's memory, not a database.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::store::Stores;

/// How long changes gather before they are saved.
pub const SAVE_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("--state-file {path}: {error}")]
    Read { path: PathBuf, error: io::Error },
    #[error("--state-file {path} is not a state document hookmock wrote: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

pub struct StateFile {
    path: PathBuf,
    stores: Arc<Stores>,
    /// [`Stores::changes`] when last saved (or loaded).
    saved: AtomicU64,
    /// One save at a time (the saver task and the final save at shutdown).
    saving: Mutex<()>,
}

impl StateFile {
    /// The state file at `path`, its contents loaded into `stores` when it exists.
    pub fn open(path: PathBuf, stores: Arc<Stores>) -> Result<Arc<Self>, StateFileError> {
        match fs::read(&path) {
            Ok(bytes) => {
                stores
                    .import(&bytes)
                    .map_err(|reason| StateFileError::Invalid {
                        path: path.clone(),
                        reason,
                    })?;
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(StateFileError::Read { path, error }),
        }
        let saved = AtomicU64::new(stores.changes());
        Ok(Arc::new(Self {
            path,
            stores,
            saved,
            saving: Mutex::new(()),
        }))
    }

    /// Saves every [`SAVE_EVERY`] while something changed, until the runtime stops.
    pub fn keep_saved(self: &Arc<Self>) {
        let file = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SAVE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                file.save_off_the_runtime().await;
            }
        });
    }

    /// [`Self::save`] on a blocking thread; a failure is logged (the next change tries again).
    pub async fn save_off_the_runtime(self: &Arc<Self>) {
        let file = self.clone();
        if let Ok(Err(error)) = tokio::task::spawn_blocking(move || file.save()).await {
            tracing::error!("saving {}: {error}", self.path.display());
        }
    }

    /// Writes the state if it changed since the last save; answers whether it wrote.
    pub fn save(&self) -> io::Result<bool> {
        let _one_at_a_time = self.saving.lock().unwrap_or_else(PoisonError::into_inner);
        let changes = self.stores.changes();
        if changes == self.saved.load(Ordering::SeqCst) {
            return Ok(false);
        }
        write_atomically(&self.path, self.stores.export().as_bytes())?;
        self.saved.store(changes, Ordering::SeqCst);
        Ok(true)
    }
}

/// `bytes` at `path`, replacing what was there in one step: write a temporary file in the same
/// folder, sync it, rename it over `path`, sync the folder (so the rename itself survives a
/// power cut).
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = folder.join(format!(".{name}.tmp"));
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)?;
    File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let folder = std::env::temp_dir().join(format!("hookmock-persist-{}", std::process::id()));
        fs::create_dir_all(&folder).expect("a folder");
        let path = folder.join("state.json");
        write_atomically(&path, b"{\"old\": 1}").expect("written");
        write_atomically(&path, b"{\"new\": 2}").expect("written");
        assert_eq!(fs::read(&path).expect("read"), b"{\"new\": 2}");
        assert!(!folder.join(".state.json.tmp").exists());
        fs::remove_dir_all(&folder).expect("cleaned up");
    }
}
