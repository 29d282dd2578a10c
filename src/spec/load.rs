//! Documents a team brings at run time: read from a file (JSON or YAML), checked to be OpenAPI
//! 3.0 or 3.1, with `$ref`s to other files bundled in, and turned into the same route table the
//! bundled documents compile to ([`super::extract`]).
//!
//! Files a document `$ref`s are copied under `/x-hookmock-files/<n>` of the document and their
//! references rewritten to point there, so that everything downstream (validation, generation,
//! inference) resolves references inside one JSON value.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::extract::{self, Extracted};
use super::json_schema;

/// Where bundled files are kept inside the document.
pub(super) const FILES_KEY: &str = "x-hookmock-files";

/// Which OpenAPI line a document follows: it decides the JSON Schema dialect of its schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Version {
    /// 3.0.x: schemas are JSON Schema draft 4 with `nullable`.
    #[serde(rename = "3.0")]
    V30,
    /// 3.1.x: schemas are JSON Schema 2020-12.
    #[serde(rename = "3.1")]
    V31,
}

/// A document loaded at run time.
#[derive(Debug)]
pub struct Loaded {
    /// The API's name: the file's stem (`v3.0-petstore.yaml` → `v3.0-petstore`).
    pub api: &'static str,
    pub title: String,
    /// `openapi` as written, e.g. `3.1.0`.
    pub openapi: String,
    pub version: Version,
    /// The main file, every file it references, then the overlays: what `--watch` watches.
    pub files: Vec<PathBuf>,
    /// The whole document, other files bundled in, 3.0's `nullable` rewritten.
    pub document: Value,
    pub extracted: Extracted,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: is neither JSON nor YAML: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error(
        "{path}: {found} is not supported; hookmock serves OpenAPI 3.0.x and 3.1.x{hint}",
        hint = if found.starts_with("Swagger") { " (convert it first, e.g. `npx swagger2openapi`)" } else { "" }
    )]
    Version { path: PathBuf, found: String },
    #[error("{path}: $ref {reference:?} at {pointer}: {reason}")]
    Reference {
        path: PathBuf,
        pointer: String,
        reference: String,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error(transparent)]
    Overlay(#[from] super::overlay::OverlayError),
}

/// Loads the document at `path`, amended by `overlays` (OpenAPI Overlay 1.0), its routes
/// mounted under `prefix` (`""` for none).
pub fn load(path: &Path, prefix: &str, overlays: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut document = read_value(path)?;
    let (openapi, version) = version(path, &document)?;
    for overlay in overlays {
        super::overlay::apply(overlay, &mut document)?;
    }
    let mut bundler = Bundler {
        files: vec![path.to_path_buf()],
        known: HashMap::new(),
        bundled: Vec::new(),
    };
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    bundler.walk(&mut document, &base, "", path, "")?;
    if !bundler.bundled.is_empty()
        && let Value::Object(map) = &mut document
    {
        map.insert(FILES_KEY.to_owned(), Value::Array(bundler.bundled));
    }
    if version == Version::V30 {
        json_schema::rewrite_nullable(&mut document);
    }
    json_schema::bound_integer_formats(&mut document);
    let api = super::intern(&api_name(path));
    let extracted =
        extract::operations(api, &mut document, prefix).map_err(|reason| LoadError::Invalid {
            path: path.to_path_buf(),
            reason,
        })?;
    let title = document
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or(api)
        .to_owned();
    let mut files = bundler.files;
    files.extend(overlays.iter().cloned());
    Ok(Loaded {
        api,
        title,
        openapi,
        version,
        files,
        document,
        extracted,
    })
}

/// Removes the prose from a YAML document, as [`super::prune`] does while parsing JSON.
fn drop_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if matches!(map.get("description"), Some(Value::String(_))) {
                map.remove("description");
            }
            for (key, child) in map.iter_mut() {
                if !super::prune::is_data(key) {
                    drop_descriptions(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_descriptions),
        _ => {}
    }
}

/// The documents at `path`: the file itself, or every `.json`, `.yaml` and `.yml` file of a
/// folder (not its subfolders: those usually hold the files the documents `$ref`), by name.
pub fn documents_at(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let read_error = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_error)? {
        let file = entry.map_err(read_error)?.path();
        let is_document = matches!(
            file.extension().and_then(|e| e.to_str()),
            Some("json" | "yaml" | "yml")
        );
        if is_document && file.is_file() {
            found.push(file);
        }
    }
    found.sort();
    Ok(found)
}

/// A file's stem as an API name: what `--api`, errors and `/__admin` call it.
fn api_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("api")
        .to_owned()
}

/// Reads JSON, else YAML (YAML keys that are numbers, `200:`, become strings).
pub fn read_value(path: &Path) -> Result<Value, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Ok(value) = super::prune::from_json(&text) {
        return Ok(value);
    }
    let mut yaml: serde_norway::Value =
        serde_norway::from_str(&text).map_err(|e| LoadError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    yaml.apply_merge().map_err(|e| LoadError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut value = from_yaml(yaml);
    drop_descriptions(&mut value);
    Ok(value)
}

fn from_yaml(value: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => items.into_iter().map(from_yaml).collect(),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (yaml_key(k), from_yaml(v)))
                .collect::<Map<_, _>>(),
        ),
        Y::Tagged(tagged) => from_yaml(tagged.value),
    }
}

fn yaml_key(key: serde_norway::Value) -> String {
    match key {
        serde_norway::Value::String(s) => s,
        other => match from_yaml(other) {
            Value::String(s) => s,
            value => value.to_string(),
        },
    }
}

/// The `openapi` version, or the error that names what the document is instead.
fn version(path: &Path, document: &Value) -> Result<(String, Version), LoadError> {
    let refuse = |found: String| LoadError::Version {
        path: path.to_path_buf(),
        found,
    };
    if let Some(swagger) = document.get("swagger") {
        let shown = swagger
            .as_str()
            .map_or_else(|| swagger.to_string(), str::to_owned);
        return Err(refuse(format!("Swagger {shown}")));
    }
    let Some(openapi) = document.get("openapi") else {
        return Err(refuse(
            "a document without an `openapi` version field".to_owned(),
        ));
    };
    let text = openapi
        .as_str()
        .map_or_else(|| openapi.to_string(), str::to_owned);
    if text.starts_with("3.0.") || text == "3.0" {
        Ok((text, Version::V30))
    } else if text.starts_with("3.1.") || text == "3.1" {
        Ok((text, Version::V31))
    } else {
        Err(refuse(format!("OpenAPI {text}")))
    }
}

/// Rewrites references to other files into references into the document itself.
struct Bundler {
    files: Vec<PathBuf>,
    /// Canonical path → index under `/x-hookmock-files`.
    known: HashMap<PathBuf, usize>,
    bundled: Vec<Value>,
}

impl Bundler {
    /// Rewrites every `$ref` in `value`, a part of the file `file` (in folder `base`) that is
    /// copied at `root` of the document (`""` for the main file); `pointer` is where `value` is.
    fn walk(
        &mut self,
        value: &mut Value,
        base: &Path,
        root: &str,
        file: &Path,
        pointer: &str,
    ) -> Result<(), LoadError> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get_mut("$ref") {
                    let rewritten = self.target(reference, base, root, file, pointer)?;
                    *reference = rewritten;
                }
                for (key, child) in map.iter_mut().filter(|(k, _)| *k != "$ref") {
                    let at = format!("{pointer}/{}", super::escape(key));
                    self.walk(child, base, root, file, &at)?;
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    self.walk(child, base, root, file, &format!("{pointer}/{i}"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Where `reference` (in `file`, bundled at `root`) points inside the bundled document.
    fn target(
        &mut self,
        reference: &str,
        base: &Path,
        root: &str,
        file: &Path,
        pointer: &str,
    ) -> Result<String, LoadError> {
        let (location, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        if location.is_empty() {
            return Ok(format!("#{root}{fragment}"));
        }
        let refuse = |reason: String| LoadError::Reference {
            path: file.to_path_buf(),
            pointer: pointer.to_owned(),
            reference: reference.to_owned(),
            reason,
        };
        if location.contains("://") {
            return Err(refuse(
                "references to URLs are not fetched; save the file beside the document and refer to it by a relative path".to_owned(),
            ));
        }
        let target = base.join(location);
        let canonical = target
            .canonicalize()
            .map_err(|e| refuse(format!("{}: {e}", target.display())))?;
        let main = self.files.first().and_then(|f| f.canonicalize().ok());
        if main.as_ref() == Some(&canonical) {
            return Ok(format!("#{fragment}"));
        }
        let index = match self.known.get(&canonical) {
            Some(index) => *index,
            None => self.bundle(&target, canonical)?,
        };
        Ok(format!("#/{FILES_KEY}/{index}{fragment}"))
    }

    /// Copies a referenced file into the document, its own references rewritten.
    fn bundle(&mut self, target: &Path, canonical: PathBuf) -> Result<usize, LoadError> {
        let index = self.bundled.len();
        self.known.insert(canonical, index);
        self.files.push(target.to_path_buf());
        self.bundled.push(Value::Null);
        let mut content = read_value(target)?;
        let base = target.parent().unwrap_or(Path::new(".")).to_path_buf();
        self.walk(
            &mut content,
            &base,
            &format!("/{FILES_KEY}/{index}"),
            target,
            "",
        )?;
        if let Some(slot) = self.bundled.get_mut(index) {
            *slot = content;
        }
        Ok(index)
    }
}
