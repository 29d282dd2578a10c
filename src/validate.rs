//! Validation of requests (and, for tests and `--validate-responses`, responses) against the
//! bundled documents.
//!
//! Everything is driven by the route table: [`Contracts::compile`] turns each operation's
//! parameter and body schemas into compiled validators once, at start-up. OpenAPI 3.0 schemas are
//! validated as JSON Schema draft 4 (the draft 3.0 is based on) after `nullable` is rewritten.

use std::collections::HashMap;

use axum::http::HeaderMap;
use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, Location, Violation};
use crate::spec::extract::is_json;
use crate::spec::{Document, Operation, Param, ParamIn, ParamStyle, ResponseDef, json_schema};

/// At most this many violations are reported for one request; the rest add nothing a client
/// needs to fix the first ones.
const MAX_VIOLATIONS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("openapi/{api}.json does not parse: {reason}")]
    Document { api: &'static str, reason: String },
    #[error("{api}.{operation}: schema {pointer} does not compile: {reason}")]
    Schema {
        api: &'static str,
        operation: &'static str,
        pointer: &'static str,
        reason: String,
    },
}

/// The JSON Schema dialect of a document's schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAPI 3.0: draft 4, after `nullable` is rewritten.
    OpenApi30,
    /// OpenAPI 3.1: JSON Schema 2020-12.
    OpenApi31,
}

impl Dialect {
    fn draft(self) -> Draft {
        match self {
            Dialect::OpenApi30 => Draft::Draft4,
            Dialect::OpenApi31 => Draft::Draft202012,
        }
    }
}

/// A document whose operations are compiled.
pub struct Source {
    pub api: &'static str,
    /// The document, `nullable` already rewritten for 3.0.
    pub document: Value,
    pub dialect: Dialect,
    /// A schema that does not compile (a pattern the regex engine cannot read, …) accepts
    /// anything instead, and [`Contracts::warnings`] says so: for documents brought at run
    /// time, where one odd schema should not refuse the whole document. The bundled documents
    /// are not lenient: their schemas must compile.
    pub lenient: bool,
}

/// The compiled contract of every operation, index-aligned with the route table.
pub struct Contracts {
    operations: Vec<Option<OperationContract>>,
    /// The documents (`nullable` rewritten), for the strict check's walk over body schemas.
    docs: HashMap<&'static str, Value>,
    /// `--strict`: unknown query parameters and undocumented body fields are violations too.
    strict: bool,
    /// Schemas of lenient sources that did not compile, as `api.operation: pointer: why`.
    warnings: Vec<String>,
}

struct OperationContract {
    operation: &'static Operation,
    params: Vec<ParamContract>,
    body: Option<Validator>,
    /// How a form-encoded body's fields are typed (empty for other media types).
    form_fields: HashMap<String, Kind>,
    /// Compiled only when response validation is asked for.
    responses: Vec<(ResponseDef, Option<Validator>)>,
}

struct ParamContract {
    param: &'static Param,
    shape: Shape,
    default: Option<Value>,
    validator: Validator,
}

/// The JSON type a raw parameter string is coerced to before it is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Scalar(Kind),
    Array(Kind),
    Object(HashMap<String, Kind>),
}

/// The raw parts of a request that validation reads.
pub struct Incoming<'a> {
    /// Path parameters as matched, already percent-decoded.
    pub path_params: &'a [(String, String)],
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// What passed: parameters by name, coerced to their schema types, and the parsed body.
pub struct Checked {
    pub params: crate::request::Params,
    pub body: Option<Value>,
}

impl Contracts {
    /// Compiles the validators of the bundled `operations`. With `responses`, the documented
    /// response schemas are compiled too, for [`Self::check_response`].
    pub fn compile(
        documents: &[Document],
        operations: &'static [Operation],
        responses: bool,
    ) -> Result<Self, CompileError> {
        Self::compile_sources(sources_of(documents)?, operations, responses, |_| true)
    }

    /// Compiles the validators of `operations` against `sources`, the documents they come
    /// from, each in its own dialect.
    /// Only the operations `serves` accepts (by index) are compiled.
    pub fn compile_sources(
        sources: Vec<Source>,
        operations: &'static [Operation],
        responses: bool,
        serves: impl Fn(usize) -> bool,
    ) -> Result<Self, CompileError> {
        let lenient: Vec<&'static str> = sources
            .iter()
            .filter(|s| s.lenient)
            .map(|s| s.api)
            .collect();
        let docs: HashMap<&'static str, (Value, Dialect)> = sources
            .into_iter()
            .map(|s| (s.api, (s.document, s.dialect)))
            .collect();
        let warnings = std::cell::RefCell::new(Vec::new());
        let operations = {
            // The registries borrow the documents: a large document is not copied for them.
            let mut registries = HashMap::new();
            for (api, (document, dialect)) in &docs {
                let registry = jsonschema::Registry::new()
                    .draft(dialect.draft())
                    .extend([(document_uri(api), document)])
                    .and_then(|builder| builder.prepare())
                    .map_err(|e| CompileError::Document {
                        api,
                        reason: e.to_string(),
                    })?;
                registries.insert(*api, (registry, dialect.draft()));
            }
            let compiler = SchemaCompiler {
                docs: &docs,
                registries: &registries,
                lenient: &lenient,
                warnings: &warnings,
            };
            // Operations not served (of bundled APIs not served) have no contract.
            operations
                .iter()
                .enumerate()
                .map(|(index, op)| {
                    serves(index)
                        .then(|| compiler.operation(op, responses))
                        .transpose()
                })
                .collect::<Result<_, _>>()?
        };
        Ok(Self {
            operations,
            docs: docs.into_iter().map(|(api, (doc, _))| (api, doc)).collect(),
            strict: false,
            warnings: warnings.into_inner(),
        })
    }

    /// With `strict`, requests are also refused for query parameters the operation does not
    /// declare and body fields its schema does not describe.
    pub fn strict(self, strict: bool) -> Self {
        Self { strict, ..self }
    }

    /// The schemas of lenient sources that did not compile and accept anything instead.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A document, `nullable` rewritten, by API name.
    pub fn document(&self, api: &str) -> Option<&Value> {
        self.docs.get(api)
    }

    /// Checks a request for `OPERATIONS[index]`: every parameter, the content type and the body.
    pub fn check_request(
        &self,
        index: usize,
        incoming: &Incoming<'_>,
    ) -> Result<Checked, ApiError> {
        let contract = self
            .operations
            .get(index)
            .and_then(Option::as_ref)
            .ok_or(ApiError::UnknownOperation(index))?;
        let query = parse_query(incoming.query);
        let mut violations = Vec::new();
        let mut params = Vec::with_capacity(contract.params.len());
        for p in &contract.params {
            if let Some(value) = p.read(incoming, &query, &mut violations) {
                params.push((p.param.name, value));
            }
        }
        let body = contract.check_body(incoming, &mut violations)?;
        if !self.strict {
            violations.extend(malformed_brackets(contract, &query));
        }
        if self.strict {
            violations.extend(unknown_parameters(contract, &query));
            if let (Some(body), Some(declared), Some(doc)) = (
                &body,
                contract.operation.body,
                self.docs.get(contract.operation.api),
            ) {
                undocumented_fields(doc, doc.pointer(declared.schema), body, "", &mut violations);
            }
        }
        if violations.is_empty() {
            Ok(Checked { params, body })
        } else {
            violations.truncate(MAX_VIOLATIONS);
            Err(ApiError::Invalid(violations))
        }
    }

    /// Checks a response of `OPERATIONS[index]` against its documented status, media type and
    /// schema. Empty when it conforms (and when responses were not compiled).
    pub fn check_response(
        &self,
        index: usize,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<Violation> {
        let Some(contract) = self.operations.get(index).and_then(Option::as_ref) else {
            return vec![Violation::new(
                Location::Status,
                "route",
                format!("operation #{index} is not in the route table"),
            )];
        };
        let documents_errors = contract
            .responses
            .iter()
            .any(|(d, _)| d.status.starts_with(['4', '5']) || d.status == "default");
        if status >= 400 && !documents_errors {
            // A document that describes no error at all leaves errors to the server: they are
            // answered as RFC 9457 problems, which it cannot contradict.
            return Vec::new();
        }
        let Some((def, validator)) = find_response(&contract.responses, status) else {
            let documented: Vec<_> = contract.responses.iter().map(|(d, _)| d.status).collect();
            let message = format!(
                "status {status} is not documented for {}; documented: {}",
                contract.operation.operation_id,
                documented.join(", ")
            );
            return vec![Violation::new(Location::Status, "status", message)];
        };
        check_response_body(def, validator.as_ref(), content_type, body)
    }
}

/// The bundled documents as sources: OpenAPI 3.0, `nullable` rewritten.
pub fn sources_of(documents: &[Document]) -> Result<Vec<Source>, CompileError> {
    documents
        .iter()
        .map(|doc| {
            let mut document: Value =
                serde_json::from_str(doc.source).map_err(|e| CompileError::Document {
                    api: doc.api,
                    reason: e.to_string(),
                })?;
            json_schema::rewrite_nullable(&mut document);
            Ok(Source {
                api: doc.api,
                document,
                dialect: Dialect::OpenApi30,
                lenient: false,
            })
        })
        .collect()
}

fn document_uri(api: &str) -> String {
    format!("urn:hookmock:{api}")
}

/// Compiles schemas found by JSON pointer in the registered documents.
struct SchemaCompiler<'a> {
    docs: &'a HashMap<&'static str, (Value, Dialect)>,
    lenient: &'a [&'static str],
    warnings: &'a std::cell::RefCell<Vec<String>>,
    registries: &'a HashMap<&'static str, (jsonschema::Registry<'a>, Draft)>,
}

impl SchemaCompiler<'_> {
    fn operation(
        &self,
        op: &'static Operation,
        responses: bool,
    ) -> Result<OperationContract, CompileError> {
        let params = op
            .params
            .iter()
            .map(|param| {
                let schema = self.resolve(op.api, param.schema);
                Ok(ParamContract {
                    param,
                    shape: self.shape(op.api, schema),
                    default: schema.and_then(|s| s.get("default")).cloned(),
                    validator: self.validator(op, param.schema)?,
                })
            })
            .collect::<Result<_, CompileError>>()?;
        let body = op.body.map(|b| self.validator(op, b.schema)).transpose()?;
        let form_fields = match op.body {
            Some(b) if b.media_type == FORM || b.media_type == MULTIPART => {
                match self.shape(op.api, self.resolve(op.api, b.schema)) {
                    Shape::Object(kinds) => kinds,
                    _ => HashMap::new(),
                }
            }
            _ => HashMap::new(),
        };
        let responses = if responses {
            op.responses
                .iter()
                .map(|r| Ok((*r, r.schema.map(|s| self.validator(op, s)).transpose()?)))
                .collect::<Result<_, CompileError>>()?
        } else {
            Vec::new()
        };
        Ok(OperationContract {
            operation: op,
            params,
            body,
            form_fields,
            responses,
        })
    }

    fn validator(
        &self,
        op: &'static Operation,
        pointer: &'static str,
    ) -> Result<Validator, CompileError> {
        let reference =
            json!({ "$ref": format!("{}#{}", document_uri(op.api), fragment(pointer)) });
        let (registry, draft) =
            self.registries
                .get(op.api)
                .ok_or_else(|| CompileError::Schema {
                    api: op.api,
                    operation: op.operation_id,
                    pointer,
                    reason: "its document was not given".to_owned(),
                })?;
        let options = || {
            jsonschema::options()
                .with_draft(*draft)
                .with_registry(registry)
                .should_validate_formats(true)
                .with_format("uuid", |s: &str| uuid::Uuid::parse_str(s).is_ok())
        };
        match options().build(&reference) {
            Ok(validator) => Ok(validator),
            Err(e) if self.lenient.contains(&op.api) => {
                self.warnings.borrow_mut().push(format!(
                    "{}.{}: schema {pointer} does not compile ({e}); anything is accepted there",
                    op.api, op.operation_id
                ));
                options()
                    .build(&json!({}))
                    .map_err(|e| CompileError::Schema {
                        api: op.api,
                        operation: op.operation_id,
                        pointer,
                        reason: e.to_string(),
                    })
            }
            Err(e) => Err(CompileError::Schema {
                api: op.api,
                operation: op.operation_id,
                pointer,
                reason: e.to_string(),
            }),
        }
    }

    /// The schema at `pointer`, following `$ref`s within the same document.
    fn resolve(&self, api: &str, pointer: &str) -> Option<&Value> {
        let mut schema = self.docs.get(api)?.0.pointer(pointer)?;
        for _ in 0..16 {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    schema = self
                        .docs
                        .get(api)?
                        .0
                        .pointer(reference.trim_start_matches('#'))?
                }
                None => return Some(schema),
            }
        }
        None
    }

    fn shape(&self, api: &str, schema: Option<&Value>) -> Shape {
        let Some(schema) = schema else {
            return Shape::Scalar(Kind::String);
        };
        match schema_type(schema) {
            Some("array") => Shape::Array(self.kind(api, schema.get("items"))),
            Some("object") => {
                let properties = schema.get("properties").and_then(Value::as_object);
                let kinds = properties
                    .into_iter()
                    .flatten()
                    .map(|(name, prop)| (name.clone(), self.kind(api, Some(prop))))
                    .collect();
                Shape::Object(kinds)
            }
            _ => Shape::Scalar(self.kind(api, Some(schema))),
        }
    }

    fn kind(&self, api: &str, schema: Option<&Value>) -> Kind {
        let schema = match schema.and_then(|s| s.get("$ref")).and_then(Value::as_str) {
            Some(reference) => self
                .docs
                .get(api)
                .and_then(|(d, _)| d.pointer(reference.trim_start_matches('#'))),
            None => schema,
        };
        match schema.and_then(schema_type) {
            Some("integer") => Kind::Integer,
            Some("number") => Kind::Number,
            Some("boolean") => Kind::Boolean,
            _ => Kind::String,
        }
    }
}

/// The non-null `type` of a schema (`["integer", "null"]` is `integer`).
fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

/// A JSON document parsed into a [`Value`], refusing any object that repeats a key: serde_json
/// would keep the last one silently. The check and the value come from the same single parse.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One lookup both finds a repeat and places the value.
            match object.entry(key) {
                serde_json::map::Entry::Occupied(repeated) => {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key {:?}",
                        repeated.key()
                    )));
                }
                serde_json::map::Entry::Vacant(slot) => {
                    let UniqueKeys(value) = map.next_value()?;
                    slot.insert(value);
                }
            }
        }
        Ok(UniqueKeys(Value::Object(object)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(UniqueKeys(Value::Array(items)))
    }

    fn visit_bool<E>(self, b: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::Bool(b)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::from(n)))
    }
    fn visit_u64<E>(self, n: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::from(n)))
    }
    fn visit_f64<E>(self, n: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::from(n)))
    }
    fn visit_str<E>(self, s: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::String(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::String(s)))
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::Null))
    }
}

/// Query keys with brackets that name no declared parameter (`page[`, `filter[][]`): refused
/// even without `--strict`, since a client sending them meant something the API cannot read.
fn malformed_brackets(contract: &OperationContract, query: &[(String, String)]) -> Vec<Violation> {
    if !query.iter().any(|(key, _)| key.contains(['[', ']'])) {
        return Vec::new();
    }
    unknown_parameters(contract, query)
        .into_iter()
        .filter(|v| matches!(&v.location, Location::Query(key) if key.contains(['[', ']'])))
        .map(|v| Violation {
            rule: "brackets".to_owned(),
            message: format!(
                "is not a bracket parameter this operation reads; {}",
                v.message
            ),
            ..v
        })
        .collect()
}

/// `--strict`: query parameters the operation does not declare.
fn unknown_parameters(contract: &OperationContract, query: &[(String, String)]) -> Vec<Violation> {
    let declared: Vec<&str> = contract
        .params
        .iter()
        .filter(|p| p.param.location == ParamIn::Query)
        .map(|p| p.param.name)
        .collect();
    let known = |key: &str| {
        declared.iter().any(|name| {
            key == *name
                || key
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('['))
        })
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, _) in query.iter().filter(|(key, _)| !known(key)) {
        if !seen.contains(&key.as_str()) {
            seen.push(key);
        }
    }
    seen.into_iter()
        .map(|key| {
            let message = format!(
                "is not a parameter of {}; it takes: {}",
                contract.operation.operation_id,
                if declared.is_empty() {
                    "none".to_owned()
                } else {
                    declared.join(", ")
                }
            );
            Violation::new(Location::Query(key.to_owned()), "strict", message)
        })
        .collect()
}

/// `--strict`: object fields that the schema does not describe, anywhere in the body. Schemas
/// that say `additionalProperties` (any value) allow extra fields; `$ref`s are followed and
/// `allOf`/`anyOf`/`oneOf` branches pooled.
fn undocumented_fields(
    doc: &Value,
    schema: Option<&Value>,
    value: &Value,
    pointer: &str,
    out: &mut Vec<Violation>,
) {
    let Some(schema) = resolve_ref(doc, schema) else {
        return;
    };
    match value {
        Value::Object(map) => {
            if schema.get("additionalProperties").is_some() {
                return;
            }
            let mut described: HashMap<&str, &Value> = HashMap::new();
            for branch in std::iter::once(schema).chain(branches(doc, schema)) {
                if let Some(properties) = branch.get("properties").and_then(Value::as_object) {
                    described.extend(properties.iter().map(|(k, v)| (k.as_str(), v)));
                }
            }
            if described.is_empty() {
                return;
            }
            for (key, child) in map {
                let at = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                match described.get(key.as_str()) {
                    Some(child_schema) => {
                        undocumented_fields(doc, Some(child_schema), child, &at, out)
                    }
                    None => {
                        let known: Vec<&str> = described.keys().copied().collect();
                        out.push(Violation::new(
                            Location::Body(at),
                            "strict",
                            format!(
                                "{key:?} is not a documented field; documented: {}",
                                known.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                undocumented_fields(
                    doc,
                    schema.get("items"),
                    item,
                    &format!("{pointer}/{i}"),
                    out,
                );
            }
        }
        _ => {}
    }
}

fn resolve_ref<'a>(doc: &'a Value, schema: Option<&'a Value>) -> Option<&'a Value> {
    let mut schema = schema?;
    for _ in 0..16 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => schema = doc.pointer(reference.trim_start_matches('#'))?,
            None => return Some(schema),
        }
    }
    None
}

fn branches<'a>(doc: &'a Value, schema: &'a Value) -> impl Iterator<Item = &'a Value> {
    ["allOf", "anyOf", "oneOf"]
        .into_iter()
        .filter_map(move |k| schema.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(move |branch| resolve_ref(doc, Some(branch)))
}

/// A JSON pointer made safe for a URI fragment (`{` and `}` in path templates are not).
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What `value` breaks of its schema, at most [`MAX_VIOLATIONS`] errors. `is_valid` is asked
/// first: it stops at the first failure and makes no error, where `iter_errors` collects every
/// error with its locations, and almost every request is valid.
fn schema_errors<'i>(
    validator: &'i Validator,
    value: &'i Value,
) -> impl Iterator<Item = jsonschema::ValidationError<'i>> {
    let errors = (!validator.is_valid(value)).then(|| validator.iter_errors(value));
    errors.into_iter().flatten().take(MAX_VIOLATIONS)
}

fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

impl ParamContract {
    fn location(&self) -> Location {
        let name = self.param.name.to_owned();
        match self.param.location {
            ParamIn::Path => Location::Path(name),
            ParamIn::Query => Location::Query(name),
            ParamIn::Header => Location::Header(name),
        }
    }

    /// Reads, coerces and validates this parameter. `None` when it is absent (a violation is
    /// recorded if it is required) or invalid.
    fn read(
        &self,
        incoming: &Incoming<'_>,
        query: &[(String, String)],
        violations: &mut Vec<Violation>,
    ) -> Option<Value> {
        let raw = match self.raw(incoming, query) {
            Ok(raw) => raw,
            Err(message) => {
                violations.push(Violation::new(self.location(), "style", message));
                return None;
            }
        };
        let Some(value) = raw else {
            if self.param.required {
                violations.push(Violation::new(self.location(), "required", "is required"));
            }
            return self.default.clone();
        };
        let before = violations.len();
        for error in schema_errors(&self.validator, &value) {
            let pointer = error.instance_path().as_str().to_owned();
            let location = match (&self.param.style, pointer.is_empty()) {
                (ParamStyle::DeepObject, false) => Location::Query(format!(
                    "{}[{}]",
                    self.param.name,
                    pointer.trim_start_matches('/')
                )),
                _ => self.location(),
            };
            violations.push(Violation::schema(location, &error));
        }
        (violations.len() == before).then_some(value)
    }

    /// The parameter's value as JSON, before validation. `Ok(None)` when it was not sent.
    fn raw(
        &self,
        incoming: &Incoming<'_>,
        query: &[(String, String)],
    ) -> Result<Option<Value>, String> {
        let name = self.param.name;
        match (self.param.location, self.param.style) {
            (ParamIn::Path, _) => Ok(incoming
                .path_params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| self.coerce_text(v))),
            (ParamIn::Header, _) => match incoming.headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(self.coerce_text(s)))
                    .map_err(|_| "is not valid visible ASCII".to_owned()),
            },
            (ParamIn::Query, ParamStyle::DeepObject) => self.deep_object(query),
            (ParamIn::Query, _) => {
                let values: Vec<&str> = query
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                Ok(match (&self.shape, values.as_slice()) {
                    (_, []) => None,
                    (Shape::Array(kind), _) if self.param.explode => {
                        Some(values.iter().map(|v| coerce(*kind, v)).collect())
                    }
                    (_, [one]) => Some(self.coerce_text(one)),
                    _ => return Err(format!("is given {} times; send it once", values.len())),
                })
            }
        }
    }

    /// `name[key]=value` pairs, collected into one object.
    fn deep_object(&self, query: &[(String, String)]) -> Result<Option<Value>, String> {
        let name = self.param.name;
        let mut object = Map::new();
        for (key, value) in query {
            let Some(rest) = key.strip_prefix(name).filter(|r| r.starts_with('[')) else {
                continue;
            };
            let inner = rest
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .filter(|k| !k.is_empty() && !k.contains(['[', ']']))
                .ok_or_else(|| format!("`{key}` is not of the form {name}[key]=value"))?;
            let kind = match &self.shape {
                Shape::Object(kinds) => kinds.get(inner).copied().unwrap_or(Kind::String),
                _ => Kind::String,
            };
            object.insert(inner.to_owned(), coerce(kind, value));
        }
        Ok((!object.is_empty()).then_some(Value::Object(object)))
    }

    /// One text value: a scalar, or a comma-separated array (`simple` and non-exploded `form`).
    fn coerce_text(&self, text: &str) -> Value {
        match &self.shape {
            Shape::Scalar(kind) => coerce(*kind, text),
            // `ids=` is the empty list, as `ids=a,b` is a list of two.
            Shape::Array(_) if text.is_empty() => Value::Array(Vec::new()),
            Shape::Array(kind) => text.split(',').map(|v| coerce(*kind, v)).collect(),
            Shape::Object(_) => Value::String(text.to_owned()),
        }
    }
}

/// A raw string as the JSON type its schema expects; left a string when it does not parse, so
/// the validator reports the mismatch with the value the client sent.
fn coerce(kind: Kind, text: &str) -> Value {
    let parsed = match kind {
        Kind::String => None,
        // Beyond i64 (and u64), still a number: the schema's bounds decide, not the parser.
        Kind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<u64>().map(Value::from))
            .ok()
            .or_else(|| {
                let digits = text.strip_prefix('-').unwrap_or(text);
                (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| text.parse::<f64>().ok())
                    .flatten()
                    .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            }),
        Kind::Number => text
            .parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number)),
        Kind::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

impl OperationContract {
    fn check_body(
        &self,
        incoming: &Incoming<'_>,
        violations: &mut Vec<Violation>,
    ) -> Result<Option<Value>, ApiError> {
        let (Some(declared), Some(validator)) = (self.operation.body, &self.body) else {
            return Ok(None);
        };
        if incoming.body.iter().all(u8::is_ascii_whitespace) {
            if declared.required {
                violations.push(Violation::new(
                    Location::Body(String::new()),
                    "required",
                    "a request body is required",
                ));
            }
            return Ok(None);
        }
        let content_type = incoming
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("(not ASCII)"));
        if !content_type.is_some_and(|found| media_type_matches(declared.media_type, found)) {
            return Err(ApiError::UnsupportedMediaType {
                found: content_type.unwrap_or("(none)").to_owned(),
                expected: declared.media_type,
            });
        }
        let body = if declared.media_type == FORM {
            self.form_body(incoming.body)
        } else if declared.media_type == MULTIPART {
            self.fields_body(multipart_fields(
                content_type.unwrap_or_default(),
                incoming.body,
            )?)
        } else if is_json(declared.media_type) {
            json_body(incoming.body)?
        } else {
            // Multipart, text, binary: the media type is checked, the content is not read.
            return Ok(None);
        };
        for error in schema_errors(validator, &body) {
            violations.push(Violation::schema(
                Location::Body(error.instance_path().as_str().to_owned()),
                &error,
            ));
        }
        Ok(Some(body))
    }
}

/// The JSON body, refused with where it breaks when it does not parse or repeats a key.
fn json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    // serde_json keeps the last of duplicate keys silently; a client sending two is told.
    let UniqueKeys(body) = serde_json::from_slice(bytes).map_err(|e| {
        // serde_json's message ends with its own " at line L column C"; say it once.
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let reason = e.to_string().trim_end_matches(&suffix).to_owned();
        ApiError::MalformedJson {
            line: e.line(),
            column: e.column(),
            reason,
        }
    })?;
    Ok(body)
}

impl OperationContract {
    /// A form-encoded body as the object its schema describes: fields coerced to their
    /// declared types, a repeated field collected into an array.
    fn form_body(&self, bytes: &[u8]) -> Value {
        let fields = form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned()));
        self.fields_body(fields.collect())
    }

    /// Named text fields (a form's, a multipart body's) as the object their schema describes.
    fn fields_body(&self, fields: Vec<(String, String)>) -> Value {
        let mut object = Map::new();
        for (name, text) in fields {
            let kind = self.form_fields.get(name.as_str()).copied();
            let value = coerce(kind.unwrap_or(Kind::String), &text);
            match object.get_mut(name.as_str()) {
                Some(Value::Array(items)) => items.push(value),
                Some(first) => *first = Value::Array(vec![first.take(), value]),
                None => {
                    object.insert(name, value);
                }
            }
        }
        Value::Object(object)
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";

/// The fields of a `multipart/form-data` body (RFC 7578), by name; a file's content is read as
/// text (lossily: a file is only ever checked to be present).
fn multipart_fields(content_type: &str, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let refuse = |why: &str| {
        ApiError::Invalid(vec![Violation::new(
            Location::Body(String::new()),
            "multipart",
            why.to_owned(),
        )])
    };
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| refuse("the Content-Type names no multipart boundary"))?;
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()).into_iter().skip(1) {
        if part.starts_with(b"--") {
            break;
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Err(refuse(
                "a multipart part has no blank line after its headers",
            ));
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let name = head
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .next()
            .map(|n| n.trim_matches('"').to_owned())
            .ok_or_else(|| refuse("a multipart part has no name in its Content-Disposition"))?;
        let content = String::from_utf8_lossy(&part[split + 4..]).into_owned();
        fields.push((name, content));
    }
    Ok(fields)
}

/// `bytes` cut at every occurrence of `delimiter`.
fn split_bytes<'a>(bytes: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = bytes;
    while let Some(at) = rest.windows(delimiter.len()).position(|w| w == delimiter) {
        parts.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    parts.push(rest);
    parts
}

/// Whether a request's `Content-Type` fits the declared media type. Parameters (`; charset=…`)
/// are ignored, and the JSON family is interchangeable: a server declaring
/// `application/vnd.api+json` accepts `application/json`, as JSON:API servers do in practice.
fn media_type_matches(declared: &str, found: &str) -> bool {
    let found = found
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    found == declared || (is_json(declared) && is_json(&found))
}

/// The documented response for `status`: the exact code, then its range (`4XX`), then `default`.
///
/// Errors that any operation can give (401, 413, 415, …) are not listed on every operation; an
/// error status an operation does not list is held to the schema of its first documented error
/// response, since all errors of a vendor share one envelope.
fn find_response(
    responses: &[(ResponseDef, Option<Validator>)],
    status: u16,
) -> Option<&(ResponseDef, Option<Validator>)> {
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    responses
        .iter()
        .find(|(d, _)| d.status == exact)
        .or_else(|| {
            responses
                .iter()
                .find(|(d, _)| d.status.eq_ignore_ascii_case(&range))
        })
        .or_else(|| responses.iter().find(|(d, _)| d.status == "default"))
        .or_else(|| {
            let is_error = |d: &ResponseDef| d.status.starts_with(['4', '5']);
            (status >= 400).then(|| responses.iter().find(|(d, v)| is_error(d) && v.is_some()))?
        })
}

fn check_response_body(
    def: &ResponseDef,
    validator: Option<&Validator>,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<Violation> {
    let problem = |message: String| {
        vec![Violation::new(
            Location::Body(String::new()),
            "body",
            message,
        )]
    };
    let (Some(media_type), Some(validator)) = (def.media_type, validator) else {
        return if body.is_empty() {
            Vec::new()
        } else {
            problem(format!(
                "status {} is documented without a body",
                def.status
            ))
        };
    };
    let found = content_type.unwrap_or("(none)");
    if found.split(';').next().map(str::trim) != Some(media_type) {
        return vec![Violation::new(
            Location::Header("content-type".to_owned()),
            "media-type",
            format!("is {found:?}; the document says {media_type:?}"),
        )];
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return problem(format!("is not JSON: {e}")),
    };
    schema_errors(validator, &value)
        .map(|e| Violation::schema(Location::Body(e.instance_path().as_str().to_owned()), &e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILTER: Param = Param {
        name: "filter",
        location: ParamIn::Query,
        required: false,
        style: ParamStyle::DeepObject,
        explode: true,
        schema: "",
    };

    fn contract(shape: Shape) -> ParamContract {
        let validator =
            jsonschema::validator_for(&json!({"type": "object"})).expect("valid schema");
        ParamContract {
            param: &FILTER,
            shape,
            default: None,
            validator,
        }
    }

    fn pairs(q: &str) -> Vec<(String, String)> {
        parse_query(Some(q))
    }

    #[test]
    fn deep_object_collects_bracketed_keys_and_coerces_them() {
        let kinds = HashMap::from([("size".to_owned(), Kind::Integer)]);
        let p = contract(Shape::Object(kinds));
        let value = p
            .deep_object(&pairs("filter%5Bname%5D=acme&filter[size]=50&other=1"))
            .expect("well formed");
        assert_eq!(value, Some(json!({"name": "acme", "size": 50})));
    }

    #[test]
    fn deep_object_rejects_malformed_brackets_naming_the_key() {
        let p = contract(Shape::Object(HashMap::new()));
        for bad in ["filter[=1", "filter[][]=1", "filter[]=1", "filter[a]b]=1"] {
            let error = p.deep_object(&pairs(bad)).expect_err(bad);
            assert!(error.contains("filter[key]=value"), "{bad}: {error}");
        }
        assert_eq!(
            p.deep_object(&pairs("filters[a]=1")).expect("not ours"),
            None
        );
    }

    #[test]
    fn coercion_keeps_unparseable_text_for_the_validator_to_report() {
        assert_eq!(coerce(Kind::Integer, "12"), json!(12));
        assert_eq!(coerce(Kind::Integer, "12x"), json!("12x"));
        assert_eq!(
            coerce(Kind::Integer, "15577374053816094720"),
            json!(15577374053816094720u64)
        );
        assert!(
            coerce(Kind::Integer, "155773740538160947201").is_number(),
            "beyond u64 is still a number"
        );
        assert_eq!(coerce(Kind::Boolean, "true"), json!(true));
        assert_eq!(coerce(Kind::Number, "1.5"), json!(1.5));
    }

    #[test]
    fn json_media_types_are_interchangeable_and_parameters_ignored() {
        assert!(media_type_matches(
            "application/json",
            "application/json; charset=utf-8"
        ));
        assert!(media_type_matches(
            "application/vnd.api+json",
            "application/json"
        ));
        assert!(!media_type_matches("application/json", "text/plain"));
    }

    #[test]
    fn fragments_escape_what_uris_forbid() {
        assert_eq!(fragment("/paths/~1a~1{id}/get"), "/paths/~1a~1%7Bid%7D/get");
    }
}
