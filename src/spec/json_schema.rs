//! OpenAPI 3.0 schemas are not quite JSON Schema: `nullable: true` has no JSON Schema meaning.
//! Both typify (at build time) and jsonschema (at run time) need it rewritten first.
//!
//! This file is compiled twice: into `build.rs` (through `#[path]`) and into the crate.

use serde_json::{Map, Value};

/// Rewrites every `nullable: true` in `value`, recursively, into a JSON Schema equivalent:
/// `type: T` becomes `type: [T, "null"]`, an `enum` gains `null`, and a `$ref` (whose siblings
/// JSON Schema ignores) becomes `anyOf: [{$ref}, {type: null}]`.
pub fn rewrite_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                rewrite_nullable(child);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                make_nullable(map);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

fn make_nullable(map: &mut Map<String, Value>) {
    if let Some(reference) = map.remove("$ref") {
        let any_of = vec![
            Value::Object(Map::from_iter([("$ref".to_owned(), reference)])),
            Value::Object(Map::from_iter([("type".to_owned(), "null".into())])),
        ];
        map.insert("anyOf".to_owned(), Value::Array(any_of));
        return;
    }
    if let Some(Value::String(ty)) = map.get("type") {
        let types = vec![Value::String(ty.clone()), "null".into()];
        map.insert("type".to_owned(), Value::Array(types));
    }
    if let Some(Value::Array(values)) = map.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// Gives `int32` and `int64` integers (OpenAPI's data type formats) the bounds they mean, as
/// `minimum`/`maximum`, where the schema sets none: JSON Schema validators check only string
/// formats, so `2147483648` would pass an `int32`.
pub fn bound_integer_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                bound_integer_formats(child);
            }
            let integer = match map.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
                _ => false,
            };
            let (low, high) = match map.get("format").and_then(Value::as_str) {
                Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
                Some("int64") => (i64::MIN, i64::MAX),
                _ => return,
            };
            if integer {
                map.entry("minimum").or_insert(Value::from(low));
                map.entry("maximum").or_insert(Value::from(high));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integer_formats),
        _ => {}
    }
}
