//! A document's schemas compiled for [`Shaper`](super::Shaper): every fact making a value
//! reads, found once per schema instead of once per property of every answer.
//!
//! A list answer shapes each of its items from the same schema; reading `type`, `enum`,
//! `format`, `writeOnly`… out of the document's JSON maps (a hash per key) for each of them made
//! a run-time route several times slower than a compiled one. Nodes are compiled when a schema
//! is first shaped and refer to each other by index, so recursive schemas compile to cycles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::{ObjectView, allows_null, choices, example, integer, number, resolve, type_of};

/// Where a compiled schema sits in its [`Compiled`].
pub type NodeId = usize;

/// The node of the schema `true`: anything, no facts (an array without `items`).
pub const ANY: NodeId = 0;

/// The JSON type a schema names or implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
    Null,
    /// A type name JSON Schema does not have (`file`): no value fits it.
    Other,
}

impl Kind {
    fn of(name: Option<&str>) -> Option<Self> {
        Some(match name? {
            "object" => Self::Object,
            "array" => Self::Array,
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "null" => Self::Null,
            _ => Self::Other,
        })
    }

    /// Whether `value` is of this type (any, when the schema names none).
    pub fn fits(kind: Option<Self>, value: &Value) -> bool {
        match (kind, value) {
            (None, _) => true,
            (Some(Self::Object), Value::Object(_)) | (Some(Self::Array), Value::Array(_)) => true,
            (Some(Self::String), Value::String(_)) | (Some(Self::Boolean), Value::Bool(_)) => true,
            (Some(Self::Integer), Value::Number(n)) => n.is_i64() || n.is_u64(),
            (Some(Self::Number), Value::Number(_)) => true,
            (Some(Self::Null), Value::Null) => true,
            _ => false,
        }
    }
}

/// What one schema (its `$ref` chain followed) says, as making a value reads it.
#[derive(Debug, Default)]
pub struct Node {
    pub constant: Option<Value>,
    pub nullable: bool,
    /// The branches of `oneOf`/`anyOf`.
    pub choices: Vec<NodeId>,
    pub kind: Option<Kind>,
    pub enumeration: Option<Vec<Value>>,
    /// `example`, the first of `examples`, `const` or `default`.
    pub example: Option<Value>,
    pub read_only: bool,
    pub write_only: bool,
    /// `x-hookmock-once`: shown only in the answer of the create that made it (a secret).
    pub once: bool,
    /// `x-hookmock-when`: shown only when the request sends this parameter (not `false`).
    pub when: Option<Box<str>>,
    /// `items` (`None`: any item).
    pub items: Option<NodeId>,
    pub min_items: u64,
    pub format: Option<Box<str>>,
    /// `type: string` written as such (not inferred), for timestamps named like one.
    pub typed_string: bool,
    pub min_length: usize,
    pub max_length: Option<usize>,
    /// The integer and number that meet the constraints.
    pub integer: i64,
    pub number: Value,
    pub all_of: bool,
    /// Its properties, `allOf` branches merged in.
    pub properties: Vec<(Box<str>, NodeId)>,
    pub required: Vec<Box<str>>,
    /// `additionalProperties: false` somewhere in the merge.
    pub closed: bool,
}

impl Node {
    pub fn in_enum(&self, value: &Value) -> bool {
        self.enumeration
            .as_ref()
            .is_none_or(|options| options.contains(value))
    }

    pub fn property(&self, name: &str) -> Option<NodeId> {
        self.properties
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, id)| *id)
    }
}

/// The compiled schemas of one document, by the address of their JSON in it. A plan is only
/// valid with the document it was compiled from, which must outlive it unchanged.
pub struct Compiled {
    /// Unique in the process: what was made from one compiled set is not mistaken for what
    /// another (a reloaded document) makes.
    generation: u64,
    nodes: Vec<Node>,
    ids: HashMap<usize, NodeId, BuildHasherDefault<QuickHasher>>,
    /// Nodes by the JSON pointer that names them (`#/paths/…/schema`): resolving a pointer
    /// is a hash per segment, for every answer.
    pointers: HashMap<Box<str>, Option<NodeId>, BuildHasherDefault<QuickHasher>>,
    /// The parameters `x-hookmock-when` names anywhere in the compiled schemas.
    conditions: Vec<Box<str>>,
}

impl Default for Compiled {
    fn default() -> Self {
        static GENERATIONS: AtomicU64 = AtomicU64::new(0);
        Self {
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            nodes: vec![Node::default()],
            ids: HashMap::default(),
            pointers: HashMap::default(),
            conditions: Vec::new(),
        }
    }
}

impl Compiled {
    /// The parameters that change what the compiled schemas show (`x-hookmock-when`).
    pub fn conditions(&self) -> &[Box<str>] {
        &self.conditions
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The node of `schema`, if it was compiled.
    pub fn id(&self, doc: &Value, schema: &Value) -> Option<NodeId> {
        self.ids.get(&address(resolve(doc, schema))).copied()
    }

    /// The node of the schema at `pointer`, if it was compiled (`Some(None)`: nothing there).
    pub fn id_at(&self, pointer: &str) -> Option<Option<NodeId>> {
        self.pointers.get(pointer).copied()
    }

    /// Compiles the schema at `pointer` in `doc`, if there is one.
    pub fn compile_at(&mut self, doc: &Value, pointer: &str) -> Option<NodeId> {
        if let Some(known) = self.id_at(pointer) {
            return known;
        }
        let id = super::pointer(doc, pointer).map(|schema| self.compile(doc, schema));
        self.pointers.insert(pointer.into(), id);
        id
    }

    /// Compiles `schema` of `doc` and every schema it reaches.
    pub fn compile(&mut self, doc: &Value, schema: &Value) -> NodeId {
        let schema = resolve(doc, schema);
        if let Some(id) = self.ids.get(&address(schema)) {
            return *id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.ids.insert(address(schema), id);
        let view = ObjectView::of(doc, schema);
        let as_usize = |key: &str| schema.get(key).and_then(Value::as_u64).map(|n| n as usize);
        let node = Node {
            constant: schema.get("const").cloned(),
            nullable: allows_null(doc, schema),
            choices: choices(schema)
                .into_iter()
                .flatten()
                .map(|branch| self.compile(doc, branch))
                .collect(),
            kind: Kind::of(type_of(doc, schema)),
            enumeration: schema.get("enum").and_then(Value::as_array).cloned(),
            example: example(schema).cloned(),
            read_only: schema.get("readOnly") == Some(&Value::Bool(true)),
            write_only: schema.get("writeOnly") == Some(&Value::Bool(true)),
            once: schema.get("x-hookmock-once") == Some(&Value::Bool(true)),
            when: schema
                .get("x-hookmock-when")
                .and_then(Value::as_str)
                .map(Into::into),
            items: schema.get("items").map(|items| self.compile(doc, items)),
            min_items: schema.get("minItems").and_then(Value::as_u64).unwrap_or(0),
            format: schema.get("format").and_then(Value::as_str).map(Into::into),
            typed_string: schema.get("type").and_then(Value::as_str) == Some("string"),
            min_length: as_usize("minLength").unwrap_or(0),
            max_length: as_usize("maxLength"),
            integer: integer(schema),
            number: number(schema),
            all_of: schema.get("allOf").is_some(),
            properties: view
                .properties
                .iter()
                .map(|(name, property)| ((*name).into(), self.compile(doc, property)))
                .collect(),
            required: view.required.iter().map(|name| (*name).into()).collect(),
            closed: view.closed,
        };
        if let Some(when) = node.when.as_ref().filter(|w| !self.conditions.contains(w)) {
            self.conditions.push(when.clone());
        }
        self.nodes[id] = node;
        id
    }
}

fn address(value: &Value) -> usize {
    std::ptr::from_ref(value) as usize
}

/// A multiplicative hash: the keys are addresses and the document's own pointers, so std's
/// SipHash (which resists keys chosen to collide) is work for nothing on every answer.
#[derive(Default)]
struct QuickHasher(u64);

impl QuickHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for QuickHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut full = [0; 8];
            full.copy_from_slice(word);
            self.mix(u64::from_le_bytes(full));
        }
        let mut rest = [0; 8];
        rest[..words.remainder().len()].copy_from_slice(words.remainder());
        self.mix(u64::from_le_bytes(rest));
    }

    fn write_usize(&mut self, n: usize) {
        // Values are 8-aligned: the low bits say nothing.
        self.0 = ((n as u64) >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Shaper;

    #[test]
    fn a_recursive_schema_compiles_to_a_cycle_and_its_values_end() {
        let doc = json!({"components": {"schemas": {"Tree": {
            "type": "object",
            "required": ["name", "children"],
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Tree"}}
            }
        }}}});
        let shaper = Shaper::new(&doc, chrono::Utc::now());
        let tree = shaper.fill(super::super::At::Pointer("/components/schemas/Tree"), None);
        assert_eq!(tree["name"], "string");
        assert!(tree["children"][0]["children"].is_array(), "{tree}");
    }

    #[test]
    fn list_items_are_made_alone_only_where_the_whole_answer_would_make_them_the_same() {
        let doc = json!({
            "plain": {"type": "object", "properties": {
                "data": {"type": "array", "items": {"type": "object", "required": ["created_at"], "properties": {
                    "id": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"}
                }}}
            }},
            "choice": {"oneOf": [{"type": "object", "properties": {"data": {"type": "array"}}}]}
        });
        let shaper = Shaper::new(&doc, chrono::Utc::now());
        let slot = shaper
            .item_slot(&doc["plain"], &["data"])
            .expect("a plain array");
        assert!(shaper.item_slot(&doc["choice"], &["data"]).is_none());
        assert!(shaper.item_slot(&doc["plain"], &["missing"]).is_none());
        let (item, clock_read) = shaper.fill_item(&slot, &json!({"id": 7, "created_at": "x"}));
        assert_eq!(item, json!({"id": 7, "created_at": "x"}));
        assert!(!clock_read, "a stored timestamp is not the clock's");
        let (item, clock_read) = shaper.fill_item(&slot, &json!({"id": 7}));
        assert!(item["created_at"].is_string() && clock_read, "{item}");
    }

    #[test]
    fn numbers_at_the_edges_of_their_bounds_are_made_without_overflowing() {
        let doc = json!({
            "above": {"type": "integer", "exclusiveMinimum": i64::MAX},
            "below": {"type": "integer", "minimum": 0, "exclusiveMaximum": true, "maximum": i64::MIN},
            "step": {"type": "integer", "minimum": i64::MAX - 1, "multipleOf": 1_000_000},
            "between": {"type": "number", "exclusiveMinimum": 2.5, "maximum": 10}
        });
        let shaper = Shaper::new(&doc, chrono::Utc::now());
        assert_eq!(shaper.generate(&doc["above"]), json!(i64::MAX));
        assert!(shaper.generate(&doc["below"]).is_i64());
        assert_eq!(shaper.generate(&doc["step"]), json!(i64::MAX - 1));
        assert_eq!(shaper.generate(&doc["between"]), json!(3.5));
    }
}
