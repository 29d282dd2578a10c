//! The starting data every new tenant gets: `fixtures/<api>.json`, embedded in the binary, or
//! read from `--fixtures DIR`, or none with `--no-fixtures`.

use std::path::PathBuf;

use serde::de::DeserializeOwned;

/// The embedded defaults, by API name.
const EMBEDDED: &[(&str, &str)] = &[
    ("elan", include_str!("../fixtures/elan.json")),
    ("fieldnation", include_str!("../fixtures/fieldnation.json")),
    ("ingedata", include_str!("../fixtures/ingedata.json")),
    ("patchworks", include_str!("../fixtures/patchworks.json")),
];

#[derive(Debug, Clone, Default)]
pub enum Fixtures {
    #[default]
    Embedded,
    /// `<dir>/<api>.json`; an API without a file starts empty.
    Dir(PathBuf),
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read fixture {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("fixture {path}: {reason}")]
    Parse { path: String, reason: String },
}

impl Fixtures {
    /// The fixture of `api`, parsed; the type's default when there is none.
    pub fn load<F: DeserializeOwned + Default>(&self, api: &str) -> Result<F, FixtureError> {
        let (path, text) = match self {
            Fixtures::None => return Ok(F::default()),
            Fixtures::Embedded => match EMBEDDED.iter().find(|(name, _)| *name == api) {
                Some((_, text)) => (
                    format!("fixtures/{api}.json (embedded)"),
                    (*text).to_owned(),
                ),
                None => return Ok(F::default()),
            },
            Fixtures::Dir(dir) => {
                let path = dir.join(format!("{api}.json"));
                let shown = path.display().to_string();
                match std::fs::read_to_string(&path) {
                    Ok(text) => (shown, text),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(F::default()),
                    Err(e) => {
                        return Err(FixtureError::Read {
                            path: shown,
                            reason: e.to_string(),
                        });
                    }
                }
            }
        };
        // serde_json's message names the line and column, and the field that did not fit.
        serde_json::from_str(&text).map_err(|e| FixtureError::Parse {
            path,
            reason: e.to_string(),
        })
    }
}
