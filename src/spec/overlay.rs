//! OpenAPI Overlay 1.0: amending a document without editing it. Each action names its targets
//! with a JSONPath (RFC 9535, `serde_json_path`) and either merges `update` into them or removes
//! them. This is how a user tells hookmock what inference got wrong (`x-hookmock-*` extensions)
//! in a document they do not own.

use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_json_path::JsonPath;

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("overlay {path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("overlay {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Applies the overlay at `path` to `document`, its actions in order.
pub fn apply(path: &Path, document: &mut Value) -> Result<(), OverlayError> {
    let invalid = |reason: String| OverlayError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let overlay = super::load::read_value(path).map_err(|e| match e {
        super::load::LoadError::Read { source, .. } => OverlayError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => invalid(other.to_string()),
    })?;
    if overlay.get("overlay").and_then(Value::as_str).is_none() {
        return Err(invalid(
            "not an Overlay document (it has no `overlay` version field)".to_owned(),
        ));
    }
    let actions = overlay
        .get("actions")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`actions` is not a list".to_owned()))?;
    for (i, action) in actions.iter().enumerate() {
        let at = |reason: String| invalid(format!("/actions/{i}: {reason}"));
        let target = action
            .get("target")
            .and_then(Value::as_str)
            .ok_or_else(|| at("`target` (a JSONPath) is missing".to_owned()))?;
        let query = JsonPath::parse(target).map_err(|e| at(format!("target {target:?}: {e}")))?;
        let pointers: Vec<String> = query
            .query_located(document)
            .locations()
            .map(|l| l.to_json_pointer())
            .collect();
        let remove = action.get("remove").and_then(Value::as_bool) == Some(true);
        // Removing the last first keeps the earlier array indices valid.
        for pointer in pointers.iter().rev() {
            if remove {
                remove_at(document, pointer);
            } else if let (Some(update), Some(node)) =
                (action.get("update"), document.pointer_mut(pointer))
            {
                merge(node, update);
            }
        }
    }
    Ok(())
}

/// Overlay's update: objects merge key by key, arrays gain the update's items, anything else is
/// replaced.
fn merge(target: &mut Value, update: &Value) {
    match (target, update) {
        (Value::Object(target), Value::Object(update)) => {
            for (key, value) in update {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(items), Value::Array(more)) => items.extend(more.iter().cloned()),
        (Value::Array(items), value) => items.push(value.clone()),
        (target, value) => *target = value.clone(),
    }
}

fn remove_at(document: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = crate::spec::unescape(last).into_owned();
    match document.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(index) = key.parse::<usize>()
                && index < items.len()
            {
                items.remove(index);
            }
        }
        _ => {}
    }
}
