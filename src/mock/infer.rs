//! What each operation of a run-time document does, inferred from the document alone.
//!
//! Collections come from the path templates: `/pets` is a collection when the document also has
//! `/pets/{id}` or lists `/pets`; `/app/{app_id}/endpoint` is a collection inside the item
//! `/app/{app_id}`. The identifier field, the list envelope and the pagination come from the
//! schemas and parameters. An operation can say otherwise with `x-hookmock-*` extensions (in the
//! document or added by an overlay); `GET /__admin/specs` shows every plan and where it came from.

use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::shape::{ItemSlot, ObjectView, resolve, type_of};
use crate::spec::{Operation, ParamIn, ParamStyle};

/// What an operation does to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    List,
    Read,
    Replace,
    Merge,
    Delete,
    /// Not CRUD: the documented example, else a body generated from the schema.
    Example,
}

/// How an operation behaves, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub action: Action,
    /// The collection's path template (`/pets`, `/app/{app_id}/endpoint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// The property of an item that holds its identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
    /// How new identifiers are made: `integer`, `uuid`, `prefix:<p>` or `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_style: Option<String>,
    /// The path parameter naming the item, on item operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_param: Option<&'static str>,
    /// Where the item (or the list's array) sits in the answer: a JSON pointer, `""` for the
    /// whole body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope: Option<String>,
    /// The pagination the list reads: `offset`, `page`, `cursor` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<String>,
    /// The item the operation's path needs to exist (`/pets/{id}` for `/pets/{id}/photos`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Item fields that hold a parameter of the collection's path (`flow_id` in
    /// `/flows/{flow}/webhooks`): set from the path when an item is created or replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from_path: Vec<FromPath>,
    /// The status answered on success.
    pub status: u16,
    /// `inferred`, `x-hookmock` (the document says), or both when only some parts were said.
    pub source: &'static str,
    /// Where the credential (the tenant) is read from.
    pub security: Security,
    /// The item schema (JSON pointer): what a stored record is filled from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_schema: Option<String>,
    /// The query parameter that limits the fields shown (`fields=id,url`,
    /// `fields[webhooks]=name`): a sparse fieldset, on lists and reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<&'static str>,
    /// The parameter whose value keeps records apart within a tenant (an organization header),
    /// said by `x-hookmock-partition` on the operation or the document: its collections are
    /// separate per value, as if each value were a tenant of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<&'static str>,
    /// The query parameters a list is ordered by (see [`SORT`]): field names (`-` or a
    /// direction parameter for descending), or a direction alone (of the creation order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<&'static str>,
    /// The pagination fields a list's envelope declares, where they sit in the answer
    /// (`/metadata/total`), and what each says.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub list_fields: IndexMap<String, ListField>,
    /// How a list's page links are written, as the operation's example writes them.
    #[serde(skip_serializing_if = "LinkStyle::is_default")]
    pub links: LinkStyle,
    /// The pagination fields shown only when a query parameter is true (`meta.count` when
    /// `count=true`), said by `x-hookmock-when` on the field's schema.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub list_when: IndexMap<String, &'static str>,
    /// The query parameters that filter a list, and how each compares.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<super::listing::FilterPlan>,
    /// What the engine reads of the item schema on every change, read once.
    #[serde(skip)]
    pub item: ItemFacts,
    /// The keys of the collection's integer sequences: its identifiers', and a numeric `id`'s
    /// kept beside another identifier (see [`super::sequence_key`]).
    #[serde(skip)]
    pub sequences: [String; 2],
    /// Where the answer holds its whole item (a create's, see [`Shaper::single_slot`]) or its
    /// items (a list's, see [`Shaper::item_slot`]): found on the operation's first answer, the
    /// same for every later one. A plan lives in one catalog with the compiled schemas the
    /// slot's nodes are of.
    #[serde(skip)]
    pub answer_slot: OnceLock<Option<ItemSlot>>,
    /// The answer around a created item, kept for the clock second it shows (see
    /// [`super::record::KeptEnvelope`]).
    #[serde(skip)]
    pub around: super::record::KeptEnvelope,
}

/// An item field set from a path parameter (see [`Plan::from_path`]).
#[derive(Debug, Clone, Serialize)]
pub struct FromPath {
    pub param: &'static str,
    pub field: String,
    /// The field holds text (a number in the path is written as text).
    #[serde(skip)]
    pub text: bool,
}

/// Facts of an operation's item schema.
#[derive(Debug, Clone, Default)]
pub struct ItemFacts {
    /// A JSON:API resource object (`type`, `id`, `attributes`).
    pub json_api: bool,
    /// It declares an integer `id`.
    pub numeric_id: bool,
    /// Its `readOnly` properties: a client does not set them.
    pub read_only: Vec<String>,
    /// The fields it declares: its properties, or its JSON:API `attributes`' ones.
    pub fields: Vec<String>,
    /// Its properties' names.
    pub properties: Vec<String>,
}

impl ItemFacts {
    fn of(doc: &Value, item: &Value) -> Self {
        let view = ObjectView::of(doc, item);
        Self {
            json_api: ["type", "id", "attributes"]
                .iter()
                .all(|name| view.property(name).is_some()),
            numeric_id: view
                .property("id")
                .is_some_and(|p| type_of(doc, resolve(doc, p)) == Some("integer")),
            read_only: view
                .properties
                .iter()
                .filter(|(_, p)| resolve(doc, p).get("readOnly") == Some(&Value::Bool(true)))
                .map(|(name, _)| (*name).to_owned())
                .collect(),
            fields: super::item_fields(doc, item),
            properties: view
                .properties
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .collect(),
        }
    }
}

/// What a pagination field of a list envelope says, known by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListField {
    Total,
    Count,
    HasMore,
    Done,
    Next,
    Limit,
    Pages,
    Offset,
    Page,
    /// Laravel's `last_page`: the number of the last page, 1 for an empty list.
    LastPage,
    /// The 1-based positions of the first and last item shown (`null` on an empty page).
    From,
    To,
    /// The list's URL without its query (Laravel's `path`).
    Path,
    /// URLs of pages: this, the first, the last, the previous and the next (`null` when there
    /// is none).
    SelfUrl,
    FirstUrl,
    LastUrl,
    PrevUrl,
    NextUrl,
}

/// How page links are written: absolute (`http://host/pets?page=2`, without an example to
/// follow) or from the path (`/pets?page=2`), with a JSON:API page parameter's brackets
/// percent-encoded or as they are (`page[number]=2`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LinkStyle {
    pub relative: bool,
    pub raw_brackets: bool,
}

impl LinkStyle {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The style of the first page link in `example`, the answer documented for `op`.
    fn of(example: Option<&Value>, fields: &IndexMap<String, ListField>) -> Self {
        let first_link = fields
            .iter()
            .filter(|(_, field)| field.is_url())
            .find_map(|(at, _)| example?.pointer(at)?.as_str());
        first_link.map_or_else(Self::default, |link| Self {
            relative: link.starts_with('/'),
            raw_brackets: link.contains('['),
        })
    }
}

impl ListField {
    fn is_url(self) -> bool {
        matches!(
            self,
            Self::Path
                | Self::SelfUrl
                | Self::FirstUrl
                | Self::LastUrl
                | Self::PrevUrl
                | Self::NextUrl
        )
    }

    /// A field of an object that holds page links (`links`: JSON:API's and Laravel's), where
    /// `next` is a URL rather than a cursor.
    fn linked(name: &str) -> Option<Self> {
        Some(match name {
            "self" => Self::SelfUrl,
            "first" => Self::FirstUrl,
            "last" => Self::LastUrl,
            "prev" | "previous" => Self::PrevUrl,
            "next" => Self::NextUrl,
            _ => return None,
        })
    }

    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "current_page" | "currentPage" => Self::Page,
            "last_page" | "lastPage" => Self::LastPage,
            "from" => Self::From,
            "to" => Self::To,
            "path" => Self::Path,
            "first_page_url" | "firstPageUrl" => Self::FirstUrl,
            "last_page_url" | "lastPageUrl" => Self::LastUrl,
            "prev_page_url" | "prevPageUrl" | "previous_page_url" => Self::PrevUrl,
            "next_page_url" | "nextPageUrl" => Self::NextUrl,
            "total" | "total_count" | "totalCount" | "total_items" | "totalItems"
            | "totalResults" | "total_results" | "totalElements" => Self::Total,
            "count" => Self::Count,
            "has_more" | "hasMore" | "has_next" | "hasNext" | "more" => Self::HasMore,
            "done" => Self::Done,
            "next" | "next_cursor" | "nextCursor" | "iterator" | "next_page_token"
            | "nextPageToken" | "cursor" => Self::Next,
            "limit" | "per_page" | "perPage" | "page_size" | "pageSize" => Self::Limit,
            "total_pages" | "totalPages" | "pages" => Self::Pages,
            "offset" => Self::Offset,
            "page" => Self::Page,
            _ => return None,
        })
    }
}

/// Objects beside a list's array that hold its pagination fields (`metadata.total`).
const LIST_FIELD_HOLDERS: [&str; 6] = [
    "meta",
    "metadata",
    "pagination",
    "paging",
    "page_info",
    "pageInfo",
];

/// A collection path template with its parameters ignored (`/app/{}/endpoint`): how
/// collections are matched between operations that name their parameters differently.
pub fn shape(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.contains('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The last segment is a parameter: the template without it, and the parameter's name.
fn item_of(path: &str) -> Option<(&str, &str)> {
    let (collection, last) = path.rsplit_once('/')?;
    let name = last.strip_prefix('{')?.strip_suffix('}')?;
    (!collection.is_empty()).then_some((collection, name))
}

/// Plans for every operation of one document, index-aligned with `operations`.
pub fn plans(doc: &Value, operations: &[Operation]) -> Vec<Plan> {
    let site = Site { doc, operations };
    operations.iter().map(|op| site.plan(op)).collect()
}

struct Site<'a> {
    doc: &'a Value,
    operations: &'a [Operation],
}

impl<'a> Site<'a> {
    fn op_value(&self, op: &Operation) -> &Value {
        let pointer = format!(
            "/paths/{}/{}",
            crate::spec::escape(self.unprefixed(op)),
            op.method.to_ascii_lowercase()
        );
        self.doc.pointer(&pointer).unwrap_or(&Value::Null)
    }

    /// The path as the document writes it (without a mount prefix).
    fn unprefixed<'p>(&self, op: &'p Operation) -> &'p str {
        let paths = self.doc.get("paths").and_then(Value::as_object);
        let mut candidate = op.path;
        while !paths.is_some_and(|p| p.contains_key(candidate)) {
            match candidate[1..].find('/') {
                Some(at) => candidate = &candidate[at + 1..],
                None => return op.path,
            }
        }
        candidate
    }

    fn find(&self, method: &str, path_shape: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|o| o.method == method && shape(o.path) == path_shape)
    }

    fn has_item_route(&self, collection: &str) -> bool {
        let wanted = format!("{}/{{}}", shape(collection));
        self.operations.iter().any(|o| shape(o.path) == wanted)
    }

    fn plan(&self, op: &Operation) -> Plan {
        let said = |key: &str| {
            self.op_value(op)
                .get(format!("x-hookmock-{key}"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let inferred_action = self.action(op);
        let action = said("action")
            .and_then(|a| parse_action(&a))
            .unwrap_or(inferred_action);
        let collection = said("collection").or_else(|| self.collection_of(op, action));
        let mut plan = Plan {
            action,
            collection: collection.clone(),
            id_field: None,
            id_style: None,
            id_param: item_of(op.path)
                .filter(|_| {
                    matches!(
                        action,
                        Action::Read | Action::Replace | Action::Merge | Action::Delete
                    )
                })
                .and_then(|(_, name)| {
                    op.params
                        .iter()
                        .find(|p| p.location == ParamIn::Path && p.name == name)
                })
                .map(|p| p.name),
            envelope: None,
            pagination: None,
            parent: None,
            from_path: Vec::new(),
            status: success_status(op, action),
            source: "inferred",
            security: security(self.doc, self.op_value(op)),
            item_schema: None,
            sort: Vec::new(),
            fields: op
                .params
                .iter()
                .filter(|_| matches!(action, Action::List | Action::Read))
                .find(|p| {
                    p.location == ParamIn::Query
                        && (p.name == "fields" || p.name.starts_with("fields["))
                })
                .map(|p| p.name),
            partition: said("partition")
                .or_else(|| {
                    let root = self.doc.get("x-hookmock-partition")?;
                    root.as_str().map(str::to_owned)
                })
                .and_then(|name| op.params.iter().find(|p| p.name == name))
                .map(|p| p.name),
            list_fields: IndexMap::new(),
            links: LinkStyle::default(),
            list_when: IndexMap::new(),
            filters: Vec::new(),
            item: ItemFacts::default(),
            sequences: Default::default(),
            answer_slot: OnceLock::new(),
            around: Default::default(),
        };
        if let Some(collection) = &collection {
            plan.parent = collection
                .rsplit_once('/')
                .map(|(parent, _)| parent)
                .filter(|parent| item_of(parent).is_some_and(|(c, _)| self.is_collection(c)))
                .map(str::to_owned);
            plan.item_schema = self.item_schema(collection);
            let item = plan
                .item_schema
                .as_deref()
                .and_then(|p| self.doc.pointer(p));
            plan.item = item.map(|i| ItemFacts::of(self.doc, i)).unwrap_or_default();
            plan.sequences = [
                super::sequence_key(op.api, collection),
                super::collections::id_sequence_key(op.api, collection),
            ];
            let (field, style) = self.identifier(collection, item);
            plan.id_field = said("id").or(field);
            plan.id_style = Some(style);
            if matches!(action, Action::Create | Action::Replace) && !plan.item.json_api {
                plan.from_path =
                    self.fields_from_path(op, collection, item, plan.id_field.as_deref());
            }
        } else {
            plan.parent = self.parent_item(op.path);
        }
        plan.envelope = said("envelope").or_else(|| self.envelope(op, &plan));
        if action == Action::List {
            plan.pagination = said("pagination").or_else(|| Some(pagination(op).to_owned()));
            plan.sort = op
                .params
                .iter()
                .filter(|p| p.location == ParamIn::Query && SORT.contains(&p.name))
                .map(|p| p.name)
                .collect();
            (plan.list_fields, plan.list_when) =
                self.list_fields(op, plan.envelope.as_deref().unwrap_or_default());
            plan.links = LinkStyle::of(self.success_example(op, plan.status), &plan.list_fields);
            plan.filters =
                super::listing::filter_plans(self.doc, op, plan.fields, &plan.item.fields);
        }
        let any_said = [
            "action",
            "collection",
            "id",
            "envelope",
            "pagination",
            "partition",
        ]
        .iter()
        .any(|k| said(k).is_some());
        if any_said {
            plan.source = "x-hookmock";
        }
        plan
    }

    fn action(&self, op: &Operation) -> Action {
        if let Some((collection, _)) = item_of(op.path) {
            let known = self.is_collection(collection);
            return match op.method {
                "GET" if known => Action::Read,
                "PUT" if known => Action::Replace,
                "PATCH" if known => Action::Merge,
                "DELETE" if known => Action::Delete,
                _ => Action::Example,
            };
        }
        match op.method {
            "POST" if self.is_collection(op.path) => Action::Create,
            "GET" if self.is_collection(op.path) && self.list_array(op).is_some() => Action::List,
            _ => Action::Example,
        }
    }

    /// A path that holds items a client makes: it has an item route and is created in (POST)
    /// or listed, or it is both. (An item route alone, such as a board's squares, is not a
    /// collection: nothing creates its items, so it answers from the document.)
    fn is_collection(&self, path: &str) -> bool {
        let path_shape = shape(path);
        let listed = self
            .find("GET", &path_shape)
            .is_some_and(|get| self.list_array(get).is_some());
        let created = self.find("POST", &path_shape).is_some();
        self.has_item_route(path) && (listed || created) || (listed && created)
    }

    fn collection_of(&self, op: &Operation, action: Action) -> Option<String> {
        match action {
            Action::Create | Action::List => Some(op.path.to_owned()),
            Action::Read | Action::Replace | Action::Merge | Action::Delete => {
                item_of(op.path).map(|(c, _)| c.to_owned())
            }
            Action::Example => None,
        }
    }

    /// The nearest enclosing item route of a non-CRUD operation (`/pets/{id}` for
    /// `/pets/{id}/pause`), if that item belongs to a collection.
    fn parent_item(&self, path: &str) -> Option<String> {
        let mut current = path;
        while let Some((head, _)) = current.rsplit_once('/') {
            if let Some((collection, _)) = item_of(head)
                && self.is_collection(collection)
            {
                return Some(head.to_owned());
            }
            current = head;
        }
        None
    }

    /// The schema of one item: the read's answer, else the list's items, else the create's
    /// answer (envelopes taken off), as a JSON pointer.
    fn item_schema(&self, collection: &str) -> Option<String> {
        let item_shape = format!("{}/{{}}", shape(collection));
        let read = self.find("GET", &item_shape);
        let list = self.find("GET", &shape(collection));
        let create = self.find("POST", &shape(collection));
        let from_item = |op: &Operation| {
            let pointer = success_schema(op)?;
            let slot = self.item_slot(&pointer)?;
            schema_at(self.doc, &pointer, &slot, false)
        };
        read.and_then(from_item)
            .or_else(|| {
                let get = list?;
                let pointer = success_schema(get)?;
                let array = self.list_array(get)?;
                schema_at(self.doc, &pointer, &array, true)
            })
            .or_else(|| create.and_then(from_item))
            .or_else(|| create.and_then(|c| c.body).map(|b| b.schema.to_owned()))
    }

    /// Where the item sits in a single-item answer: the whole body, or a `data`-like property.
    fn item_slot(&self, pointer: &str) -> Option<String> {
        let schema = self.doc.pointer(pointer)?;
        let view = ObjectView::of(self.doc, schema);
        for slot in ["data", "item", "result", "resource", "record"] {
            if let Some(property) = view.property(slot)
                && type_of(self.doc, property) == Some("object")
                && view.properties.len() <= 4
            {
                return Some(format!("/{slot}"));
            }
        }
        Some(String::new())
    }

    /// Where the items' array sits in a list answer (`""` for a bare array).
    fn list_array(&self, op: &Operation) -> Option<String> {
        let pointer = success_schema(op)?;
        let schema = self.doc.pointer(&pointer)?;
        array_in(self.doc, schema, 0)
    }

    /// The pagination fields of a list envelope whose array is at `array` (beside the array, at
    /// the top, or in an object there that holds them), known by their names or as
    /// `x-hookmock-list-field` says; and those shown only when a query parameter is true
    /// (`x-hookmock-when`).
    fn list_fields(
        &self,
        op: &Operation,
        array: &str,
    ) -> (IndexMap<String, ListField>, IndexMap<String, &'static str>) {
        let (mut fields, mut when) = (IndexMap::new(), IndexMap::new());
        let (Some(answer), Some((beside, _))) = (success_schema(op), array.rsplit_once('/')) else {
            return (fields, when);
        };
        let mut found = |at: String, schema: &Value, by_name: Option<ListField>| {
            let schema = resolve(self.doc, schema);
            let said = schema
                .get("x-hookmock-list-field")
                .and_then(|f| serde_json::from_value(f.clone()).ok());
            let Some(field) = said.or(by_name) else {
                return;
            };
            let condition = schema.get("x-hookmock-when").and_then(Value::as_str);
            let declared = op.params.iter().find(|p| Some(p.name) == condition);
            if let Some(param) = declared {
                when.insert(at.clone(), param.name);
            }
            fields.insert(at, field);
        };
        let mut levels = vec![beside];
        if !beside.is_empty() {
            levels.push("");
        }
        for level in levels {
            let Some(at) = schema_at(self.doc, &answer, level, false) else {
                continue;
            };
            let view = self.doc.pointer(&at).map(|s| ObjectView::of(self.doc, s));
            for (name, schema) in view.map(|v| v.properties).unwrap_or_default() {
                let here = format!("{level}/{}", crate::spec::escape(name));
                if !LIST_FIELD_HOLDERS.contains(&name) && name != "links" {
                    found(here, schema, ListField::named(name));
                    continue;
                }
                let inner = schema_at(self.doc, &answer, &here, false);
                let inner = inner.and_then(|p| self.doc.pointer(&p));
                let view = inner
                    .map(|s| ObjectView::of(self.doc, s))
                    .unwrap_or_default();
                let known = if name == "links" {
                    ListField::linked
                } else {
                    ListField::named
                };
                for (name, schema) in &view.properties {
                    let at = format!("{here}/{}", crate::spec::escape(name));
                    found(at, schema, known(name));
                }
            }
        }
        (fields, when)
    }

    fn envelope(&self, op: &Operation, plan: &Plan) -> Option<String> {
        match plan.action {
            Action::List => self.list_array(op),
            Action::Create | Action::Read | Action::Replace | Action::Merge | Action::Delete => {
                success_schema(op).and_then(|p| self.item_slot(&p))
            }
            Action::Example => None,
        }
    }

    /// The identifier field and how identifiers are made.
    fn identifier(&self, collection: &str, item: Option<&Value>) -> (Option<String>, String) {
        let singular = singular(collection.rsplit('/').next().unwrap_or_default());
        let item_shape = format!("{}/{{}}", shape(collection));
        let path_param = self
            .operations
            .iter()
            .find(|o| shape(o.path) == item_shape)
            .and_then(|o| {
                let (_, name) = item_of(o.path)?;
                o.params
                    .iter()
                    .find(|p| p.location == ParamIn::Path && p.name == name)
            });
        let view = item
            .map(|i| ObjectView::of(self.doc, i))
            .unwrap_or_default();
        let camel = format!("{}Id", to_camel(&singular));
        // The field the item route's parameter is named after comes first: it is the one
        // clients put in paths (Field Nation's `webhookId`, beside a numeric `id`).
        let candidates = [
            path_param.map(|p| p.name.to_owned()).unwrap_or_default(),
            "id".to_owned(),
            "uid".to_owned(),
            "uuid".to_owned(),
            format!("{singular}_id"),
            camel,
        ];
        let field = candidates
            .iter()
            .find(|c| !c.is_empty() && view.property(c).is_some())
            .cloned()
            .or_else(|| {
                view.properties
                    .iter()
                    .find(|(_, p)| resolve(self.doc, p).get("readOnly") == Some(&Value::Bool(true)))
                    .map(|(n, _)| (*n).to_owned())
            });
        let schema = field
            .as_deref()
            .and_then(|f| view.property(f))
            .or_else(|| path_param.and_then(|p| self.doc.pointer(p.schema)));
        // The path must take the identifiers made: an integer path parameter means integers,
        // even where the field holds them as text (JSON:API's `"id": "42"`).
        let path_integer = path_param
            .and_then(|p| self.doc.pointer(p.schema))
            .is_some_and(|s| type_of(self.doc, resolve(self.doc, s)) == Some("integer"));
        let style = if path_integer {
            "integer".to_owned()
        } else {
            let documented = field
                .as_deref()
                .and_then(|f| self.documented_value(collection, f));
            id_style(self.doc, schema, documented)
        };
        (field, style)
    }

    /// The item fields named after a parameter of the collection's path: the parameter's own
    /// name, `<name>_id` or `<name>Id`, if the item declares it (and it is not the identifier).
    fn fields_from_path(
        &self,
        op: &Operation,
        collection: &str,
        item: Option<&Value>,
        id_field: Option<&str>,
    ) -> Vec<FromPath> {
        let Some(item) = item else {
            return Vec::new();
        };
        let view = ObjectView::of(self.doc, item);
        let names = collection
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'));
        names
            .filter_map(|name| {
                let param = op
                    .params
                    .iter()
                    .find(|p| p.location == ParamIn::Path && p.name == name)?;
                let candidates = [
                    name.to_owned(),
                    format!("{name}_id"),
                    format!("{}Id", to_camel(name)),
                ];
                let (field, property) = candidates.into_iter().find_map(|field| {
                    let property = view.property(&field)?;
                    (Some(field.as_str()) != id_field).then_some((field, property))
                })?;
                let text = type_of(self.doc, resolve(self.doc, property)) == Some("string");
                Some(FromPath {
                    param: param.name,
                    field,
                    text,
                })
            })
            .collect()
    }

    /// The example of `op`'s answer with `status`.
    fn success_example(&self, op: &Operation, status: u16) -> Option<&'a Value> {
        let status = status.to_string();
        let answer = op.responses.iter().find(|r| r.status == status)?;
        let media = answer.schema?.strip_suffix("/schema")?;
        crate::shape::media_example(self.doc, self.doc.pointer(media)?)
    }

    /// A value of the item field `field` in the examples the collection's operations document
    /// for their answers (`{"result": {"webhookId": "wh_abc123def456"}}`).
    fn documented_value(&self, collection: &str, field: &str) -> Option<&'a str> {
        let shapes = [shape(collection), format!("{}/{{}}", shape(collection))];
        self.operations
            .iter()
            .filter(|o| shapes.contains(&shape(o.path)))
            .flat_map(|o| o.responses.iter())
            .filter(|r| r.status.starts_with('2'))
            .filter_map(|r| {
                let media = r.schema?.strip_suffix("/schema")?;
                crate::shape::media_example(self.doc, self.doc.pointer(media)?)
            })
            .find_map(|example| string_at(example, field, 4))
    }
}

fn parse_action(text: &str) -> Option<Action> {
    Some(match text {
        "create" => Action::Create,
        "list" => Action::List,
        "read" => Action::Read,
        "replace" => Action::Replace,
        "merge" => Action::Merge,
        "delete" => Action::Delete,
        "example" => Action::Example,
        _ => return None,
    })
}

/// The pointer of the schema that describes `slot` (a pointer into an instance, `/data`) of
/// the schema at `pointer`, following `$ref`s and looking into `allOf` branches; with `items`,
/// of that array's items.
fn schema_at(doc: &Value, pointer: &str, slot: &str, items: bool) -> Option<String> {
    let mut at = resolved_pointer(doc, pointer)?;
    for segment in slot.split('/').filter(|s| !s.is_empty()) {
        at = property_pointer(doc, &at, segment, 0)?;
    }
    if items {
        at = resolved_pointer(doc, &format!("{at}/items"))?;
    }
    Some(at)
}

/// `pointer`, or where its `$ref` chain ends.
fn resolved_pointer(doc: &Value, pointer: &str) -> Option<String> {
    let mut pointer = pointer.to_owned();
    for _ in 0..32 {
        let reference = doc.pointer(&pointer)?.get("$ref").and_then(Value::as_str);
        match reference.and_then(|r| r.strip_prefix('#')) {
            Some(target) => pointer = target.to_owned(),
            None => return Some(pointer),
        }
    }
    None
}

/// The pointer of property `name` of the (resolved) object schema at `pointer`.
fn property_pointer(doc: &Value, pointer: &str, name: &str, depth: usize) -> Option<String> {
    let schema = doc.pointer(pointer)?;
    let escaped = crate::spec::escape(name);
    if schema.pointer(&format!("/properties/{escaped}")).is_some() {
        return resolved_pointer(doc, &format!("{pointer}/properties/{escaped}"));
    }
    let branches = schema.get("allOf").and_then(Value::as_array)?;
    (0..branches.len()).find_map(|i| {
        let branch = resolved_pointer(doc, &format!("{pointer}/allOf/{i}"))?;
        (depth < 8).then(|| property_pointer(doc, &branch, name, depth + 1))?
    })
}

/// Where an array of items sits in a list schema: bare, or in an envelope property.
fn array_in(doc: &Value, schema: &Value, depth: usize) -> Option<String> {
    match type_of(doc, schema) {
        Some("array") => return Some(String::new()),
        Some("object") | None => {}
        _ => return None,
    }
    let view = ObjectView::of(doc, schema);
    const NAMES: [&str; 9] = [
        "data", "items", "results", "content", "records", "list", "entries", "values", "elements",
    ];
    let arrays: Vec<&str> = view
        .properties
        .iter()
        .filter(|(_, p)| type_of(doc, p) == Some("array"))
        .map(|(n, _)| *n)
        .collect();
    if let Some(name) = NAMES
        .iter()
        .find(|n| arrays.contains(n))
        .copied()
        .or_else(|| (arrays.len() == 1).then(|| arrays[0]))
    {
        return Some(format!("/{name}"));
    }
    if depth == 0
        && let Some(data) = view.property("data")
    {
        return array_in(doc, data, 1).map(|inner| format!("/data{inner}"));
    }
    None
}

/// The schema pointer of an operation's success answer.
pub fn success_schema(op: &Operation) -> Option<String> {
    op.responses
        .iter()
        .filter(|r| r.status.starts_with('2'))
        .find_map(|r| r.schema.map(str::to_owned))
}

/// The documented success status: 201 for a create if documented, 204 for a delete, else the
/// first 2xx (200 when none is documented).
fn success_status(op: &Operation, action: Action) -> u16 {
    let documented: Vec<u16> = op
        .responses
        .iter()
        .filter_map(|r| r.status.parse().ok())
        .filter(|s| (200..300).contains(s))
        .collect();
    let preferred = match action {
        Action::Create => [201, 200],
        Action::Delete => [204, 200],
        _ => [200, 201],
    };
    preferred
        .iter()
        .find(|s| documented.contains(s))
        .or(documented.first())
        .copied()
        .unwrap_or(200)
}

/// How a list pages: the query parameters the operation declares.
fn pagination(op: &Operation) -> &'static str {
    let has = |names: &[&str]| {
        op.params
            .iter()
            .any(|p| p.location == ParamIn::Query && names.contains(&p.name))
    };
    // JSON:API's `page[number]`/`page[size]`, as one deepObject or as names of their own.
    let deep_page = op.params.iter().any(|p| {
        p.name == "page" && p.style == ParamStyle::DeepObject || p.name.starts_with("page[")
    });
    if has(CURSOR_AFTER) || has(CURSOR_BEFORE) {
        "cursor"
    } else if deep_page || has(PAGE) {
        "page"
    } else if has(OFFSET) || has(LIMIT) {
        "offset"
    } else {
        "none"
    }
}

pub const LIMIT: &[&str] = &[
    "limit",
    "per_page",
    "perPage",
    "page_size",
    "pageSize",
    "size",
    "max",
    "top",
    "$top",
    "maxResults",
    "max_results",
    "first",
    "count",
];
pub const OFFSET: &[&str] = &["offset", "skip", "$skip", "start"];
pub const PAGE: &[&str] = &["page", "page_number", "pageNumber", "pageNo"];
pub const CURSOR_AFTER: &[&str] = &[
    "after",
    "starting_after",
    "cursor",
    "iterator",
    "next",
    "page_token",
    "pageToken",
    "continuation",
    "next_token",
    "nextToken",
    "startingAfter",
];
pub const CURSOR_BEFORE: &[&str] = &["before", "ending_before", "endingBefore", "prev"];
/// Parameters that order a list: by the fields they name (`sort=-created_at,name`,
/// `sortBy=createdAt`, `order_by=name`) or in a direction (`sortDirection=DESC`,
/// `order=descending`); which one a value is, is read from the value.
pub const SORT: &[&str] = &[
    "sort",
    "sort_by",
    "sortBy",
    "order_by",
    "orderBy",
    "ordering",
    "order",
    "sort_order",
    "sortOrder",
    "sort_direction",
    "sortDirection",
    "direction",
    "dir",
];

/// The first string held by a property `field` in `value`, at most `depth` levels down.
fn string_at<'v>(value: &'v Value, field: &str, depth: usize) -> Option<&'v str> {
    match value {
        Value::Object(map) => map.get(field).and_then(Value::as_str).or_else(|| {
            let deeper = depth.checked_sub(1)?;
            map.values().find_map(|v| string_at(v, field, deeper))
        }),
        Value::Array(items) => {
            let deeper = depth.checked_sub(1)?;
            items.iter().find_map(|v| string_at(v, field, deeper))
        }
        _ => None,
    }
}

/// `integer`, `uuid`, `prefix:<p>` (from an example such as `app_1srOrx2Z…`, the schema's or,
/// failing that, `documented` in an answer's example) or `text`.
fn id_style(doc: &Value, schema: Option<&Value>, documented: Option<&str>) -> String {
    let Some(schema) = schema.map(|s| resolve(doc, s)) else {
        return "uuid".to_owned();
    };
    if let Some("integer" | "number") = type_of(doc, schema) {
        return "integer".to_owned();
    }
    if schema.get("format").and_then(Value::as_str) == Some("uuid") {
        return "uuid".to_owned();
    }
    let example = crate::shape::example(schema).and_then(Value::as_str);
    if let Some(example) = example.or(documented)
        && let Some((prefix, rest)) = example.split_once('_')
        && !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        && rest.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return format!("prefix:{prefix}_:{}", rest.len());
    }
    if schema.get("pattern").is_some() || schema.get("maxLength").is_some() {
        return "text".to_owned();
    }
    "uuid".to_owned()
}

/// `pets` → `pet`, `categories` → `category`, `addresses` → `address`.
pub fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = word
        .strip_suffix("sses")
        .or_else(|| word.strip_suffix("xes"))
    {
        format!("{stem}{}", if word.ends_with("sses") { "ss" } else { "x" })
    } else if let Some(stem) = word.strip_suffix('s').filter(|s| !s.ends_with('s')) {
        stem.to_owned()
    } else {
        word.to_owned()
    }
}

fn to_camel(word: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in word.chars() {
        if c == '_' || c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Where an operation's credential is read from, and whether it must be there.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Security {
    /// A request without a credential is refused (the document requires one).
    pub required: bool,
    /// `authorization`, `header:<name>`, `query:<name>`, in the document's order.
    pub sources: Vec<String>,
}

/// The security an operation requires: its own `security`, else the document's.
pub fn security(doc: &Value, operation: &Value) -> Security {
    let requirements = operation
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array);
    let Some(requirements) = requirements.filter(|r| !r.is_empty()) else {
        return Security::default();
    };
    let optional = requirements
        .iter()
        .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
    let mut sources = Vec::new();
    for name in requirements
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|r| r.keys())
    {
        let scheme = doc
            .pointer(&format!(
                "/components/securitySchemes/{}",
                crate::spec::escape(name)
            ))
            .map(|s| resolve(doc, s));
        let source = match scheme {
            Some(s) if s.get("type").and_then(Value::as_str) == Some("apiKey") => {
                let key = s.get("name").and_then(Value::as_str).unwrap_or_default();
                match s.get("in").and_then(Value::as_str) {
                    Some("header") => format!("header:{}", key.to_ascii_lowercase()),
                    Some("query") => format!("query:{key}"),
                    _ => "authorization".to_owned(),
                }
            }
            _ => "authorization".to_owned(),
        };
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    Security {
        required: !optional,
        sources,
    }
}
