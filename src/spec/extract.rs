//! The route table of a document read at run time: the same [`Operation`]s `build.rs` writes
//! for the bundled documents, found by walking the document as JSON (3.0 and 3.1 share every
//! part of the shape read here).
//!
//! Where a real document is looser than the engine (no `operationId`, a path parameter not
//! declared, a cookie parameter), the operation is still served and a warning says what was
//! assumed: a team's document should serve as it is.

use serde_json::{Value, json};

use super::{Body, Operation, Param, ParamIn, ParamStyle, ResponseDef, escape, intern};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A schema that accepts anything, for parameters the document gives none.
pub const ANY_SCHEMA: &str = "/x-hookmock-any";

/// The operations of one document, and what was assumed to serve them.
#[derive(Debug, Default)]
pub struct Extracted {
    pub operations: Vec<Operation>,
    pub warnings: Vec<String>,
}

/// The operations of `document` (API `api`), their paths under `prefix`.
pub fn operations(
    api: &'static str,
    document: &mut Value,
    prefix: &str,
) -> Result<Extracted, String> {
    if let Value::Object(map) = document {
        map.insert(ANY_SCHEMA[1..].to_owned(), json!({}));
    }
    let doc: &Value = document;
    let mut extracted = Extracted::default();
    let Some(paths) = doc.get("paths") else {
        return Ok(extracted);
    };
    let paths = paths
        .as_object()
        .ok_or("`paths` is not an object".to_owned())?;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        let item_ptr = format!("/paths/{}", escape(path));
        let (item_ptr, item) = follow(doc, &item_ptr, item);
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let op_ptr = format!("{item_ptr}/{method}");
            let mut walk = Walk {
                doc,
                warnings: &mut extracted.warnings,
                place: format!("{} {path}", method.to_uppercase()),
            };
            let params = walk.params(path, item, &item_ptr, operation, &op_ptr);
            let operation_id = unique_id(operation, method, path, &mut ids);
            extracted.operations.push(Operation {
                api,
                operation_id: intern(&operation_id),
                method: intern(&method.to_uppercase()),
                path: intern(&format!("{}{path}", prefix.trim_end_matches('/'))),
                summary: intern(
                    operation
                        .get("summary")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                ),
                params: Box::leak(params.into_boxed_slice()),
                body: walk.body(operation, &op_ptr),
                responses: Box::leak(walk.responses(operation, &op_ptr).into_boxed_slice()),
            });
        }
    }
    Ok(extracted)
}

/// `value` at `pointer`, or what its `$ref` chain points to, with the pointer it was found at.
pub fn follow<'a>(doc: &'a Value, pointer: &str, value: &'a Value) -> (String, &'a Value) {
    let (mut pointer, mut value) = (pointer.to_owned(), value);
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(target) = reference
            .strip_prefix('#')
            .and_then(|p| Some((p, doc.pointer(p)?)))
        else {
            break;
        };
        pointer = target.0.to_owned();
        value = target.1;
    }
    (pointer, value)
}

/// The operation's `operationId`, or one made of its method and path (`get_pets_id`), made
/// unique within the document.
fn unique_id(
    operation: &Value,
    method: &str,
    path: &str,
    ids: &mut std::collections::HashSet<String>,
) -> String {
    let base = match operation.get("operationId").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => {
            let words: Vec<String> = path
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            format!("{method}_{}", words.join("_"))
        }
    };
    let mut id = base.clone();
    let mut n = 2;
    while !ids.insert(id.clone()) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

struct Walk<'a> {
    doc: &'a Value,
    warnings: &'a mut Vec<String>,
    place: String,
}

impl Walk<'_> {
    fn warn(&mut self, what: String) {
        self.warnings.push(format!("{}: {what}", self.place));
    }

    /// Path-level and operation-level parameters, merged (the operation's win), with every
    /// `{name}` of the template declared.
    fn params(
        &mut self,
        path: &str,
        item: &Value,
        item_ptr: &str,
        operation: &Value,
        op_ptr: &str,
    ) -> Vec<Param> {
        let mut params: Vec<Param> = Vec::new();
        for (owner, owner_ptr) in [(item, item_ptr), (operation, op_ptr)] {
            let declared = owner.get("parameters").and_then(Value::as_array);
            for (i, p) in declared.into_iter().flatten().enumerate() {
                let pointer = format!("{owner_ptr}/parameters/{i}");
                if let Some(param) = self.param(&pointer, p) {
                    params.retain(|q| !(q.name == param.name && q.location == param.location));
                    params.push(param);
                }
            }
        }
        let in_template: Vec<&str> = path
            .split('/')
            .filter_map(|s| Some(s.split_once('{')?.1.split_once('}')?.0))
            .collect();
        params.retain(|p| {
            let kept = p.location != ParamIn::Path || in_template.contains(&p.name);
            if !kept {
                self.warnings.push(format!(
                    "{}: path parameter {} is not in the path; ignored",
                    self.place, p.name
                ));
            }
            kept
        });
        for name in in_template {
            if !params
                .iter()
                .any(|p| p.location == ParamIn::Path && p.name == name)
            {
                self.warn(format!(
                    "path parameter {{{name}}} is not declared; any text accepted"
                ));
                params.push(Param {
                    name: intern(name),
                    location: ParamIn::Path,
                    required: true,
                    style: ParamStyle::Simple,
                    explode: false,
                    schema: ANY_SCHEMA,
                });
            }
        }
        params
    }

    fn param(&mut self, pointer: &str, p: &Value) -> Option<Param> {
        let (pointer, p) = follow(self.doc, pointer, p);
        let name = p.get("name").and_then(Value::as_str)?;
        let style = p.get("style").and_then(Value::as_str);
        let (location, style) = match (p.get("in").and_then(Value::as_str), style) {
            (Some("path"), _) => (ParamIn::Path, ParamStyle::Simple),
            (Some("header"), _) => (ParamIn::Header, ParamStyle::Simple),
            (Some("query"), Some("deepObject")) => (ParamIn::Query, ParamStyle::DeepObject),
            (Some("query"), None | Some("form")) => (ParamIn::Query, ParamStyle::Form),
            (Some("query"), Some(other)) => {
                self.warn(format!(
                    "query parameter {name}: style {other} is read as form"
                ));
                (ParamIn::Query, ParamStyle::Form)
            }
            (found, _) => {
                self.warn(format!(
                    "parameter {name} in {}: not checked",
                    found.unwrap_or("(none)")
                ));
                return None;
            }
        };
        let schema = if p.get("schema").is_some() {
            format!("{pointer}/schema")
        } else if let Some((media_type, _)) = p
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
        {
            format!("{pointer}/content/{}/schema", escape(media_type))
        } else {
            ANY_SCHEMA.to_owned()
        };
        let required = location == ParamIn::Path
            || p.get("required").and_then(Value::as_bool).unwrap_or(false);
        let form = matches!(style, ParamStyle::Form | ParamStyle::DeepObject);
        Some(Param {
            name: intern(name),
            location,
            required,
            style,
            explode: p.get("explode").and_then(Value::as_bool).unwrap_or(form),
            schema: intern(&schema),
        })
    }

    /// The request body: its JSON media type if it has one, else form-encoded, else the first.
    fn body(&mut self, operation: &Value, op_ptr: &str) -> Option<Body> {
        let body = operation.get("requestBody")?;
        let (pointer, body) = follow(self.doc, &format!("{op_ptr}/requestBody"), body);
        let content = body.get("content").and_then(Value::as_object)?;
        let media_type = content
            .keys()
            .find(|m| is_json(m))
            .or_else(|| {
                content
                    .keys()
                    .find(|m| *m == "application/x-www-form-urlencoded")
            })
            .or_else(|| content.keys().next())?;
        let schema_ptr = format!("{pointer}/content/{}/schema", escape(media_type));
        let schema = if self.doc.pointer(&schema_ptr).is_some() {
            schema_ptr
        } else {
            ANY_SCHEMA.to_owned()
        };
        Some(Body {
            required: body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            media_type: intern(media_type),
            schema: intern(&schema),
        })
    }

    fn responses(&mut self, operation: &Value, op_ptr: &str) -> Vec<ResponseDef> {
        let responses = operation.get("responses").and_then(Value::as_object);
        let mut defs = Vec::new();
        for (status, response) in responses.into_iter().flatten() {
            let pointer = format!("{op_ptr}/responses/{}", escape(status));
            let (pointer, response) = follow(self.doc, &pointer, response);
            let content = response.get("content").and_then(Value::as_object);
            let media_type =
                content.and_then(|c| c.keys().find(|m| is_json(m)).or_else(|| c.keys().next()));
            let schema = media_type
                .map(|m| format!("{pointer}/content/{}/schema", escape(m)))
                .filter(|p| {
                    self.doc.pointer(p).is_some() && media_type.is_some_and(|m| is_json(m))
                });
            defs.push(ResponseDef {
                status: intern(&status.to_ascii_uppercase().replace("DEFAULT", "default")),
                media_type: media_type.map(|m| intern(m)),
                schema: schema.map(|s| intern(&s)),
            });
        }
        defs
    }
}

/// Whether a media type is JSON (`application/json` or any `+json`), parameters ignored.
pub fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}
