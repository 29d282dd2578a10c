//! OpenAPI documents as data: the route-table types (shared with `build.rs`), the
//! OpenAPI-to-JSON-Schema rewrite, and the documents loaded at run time.

pub mod extract;
pub mod json_schema;
pub mod load;
pub mod overlay;
mod prune;
mod table;

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

pub use table::{Body, Document, Operation, Param, ParamIn, ParamStyle, ResponseDef};

/// The one copy of `text` that lives as long as the process.
///
/// The route table is `'static` data (the bundled documents compile to it), so a document loaded
/// at run time has its names and pointers kept for the process too. Interned, a document
/// reloaded a hundred times costs only the names its edits added.
pub fn intern(text: &str) -> &'static str {
    static KEPT: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    let kept = kept.get_or_insert_with(HashSet::new);
    if let Some(found) = kept.get(text) {
        return found;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    kept.insert(leaked);
    leaked
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer segment as the key it names (RFC 6901), copied only where it is escaped.
pub fn unescape(segment: &str) -> std::borrow::Cow<'_, str> {
    if segment.contains('~') {
        segment.replace("~1", "/").replace("~0", "~").into()
    } else {
        segment.into()
    }
}
