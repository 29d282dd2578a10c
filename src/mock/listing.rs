//! A list's query and page: which records it shows ([`Filters`]), in which order ([`Order`]),
//! which page of them ([`Page`]), and the answer that says so (the envelope's pagination fields
//! and page links, [`list_source`]), with the items spliced in ([`list_reply`]).

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::infer::{CURSOR_AFTER, CURSOR_BEFORE, LIMIT, ListField, OFFSET, PAGE, SORT};
use super::record::{Inner, Record, Spliced};
use super::{Call, text_of};
use crate::error::ApiError;
use crate::request::Reply;
use crate::shape::At;

/// What a list answer says about its page besides the items.
pub(super) struct Listed<'a> {
    pub(super) total: usize,
    pub(super) has_more: bool,
    pub(super) next: Option<&'a str>,
    /// The identifier of the first item shown, when items come before it.
    pub(super) previous: Option<&'a str>,
    pub(super) page: &'a Page,
}

/// The answer listing `records`: the envelope made without them, then their items spliced in
/// where the envelope's array is; the whole answer made at once where the items cannot be made
/// alone (an array inside a `oneOf`…). And when the same request would be answered the same
/// while the records do not change: always, at the time it shows, or (the whole answer made at
/// once) not known.
pub(super) fn list_reply<'r>(
    call: &Call<'_>,
    records: impl ExactSizeIterator<Item = (&'r str, &'r Record)>,
    listed: &Listed<'_>,
    show: Option<&impl Fn(&str, &mut Value)>,
) -> Result<(Reply, Repeat), ApiError> {
    let status = axum::http::StatusCode::from_u16(call.plan.status).unwrap_or_default();
    let shaper = call.shaper();
    let count = records.len();
    // A sparse fieldset makes the whole answer, to leave fields out of each item, and so does
    // a request that asks for properties shown only when asked.
    let whole = call
        .plan
        .fields
        .is_some_and(|f| call.request.param(f).is_some())
        || shaper.asks_conditions();
    let item_slot = (!whole)
        .then(|| call.success_pointer().zip(call.list_slot(&shaper)))
        .flatten();
    let shown = |(id, record): (&str, &Record)| {
        let mut value = record.value();
        if let Some(show) = show {
            show(id, &mut value);
        }
        value
    };
    let Some((schema, item_slot)) = item_slot else {
        let items = records.map(shown).collect();
        let reply = call.reply(Some(list_source(call, items, count, listed)))?;
        return Ok((reply, Repeat::Never));
    };
    let path = call.envelope_path();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let mut envelope = list_source(call, Vec::new(), count, listed);
    shaper.complete(At::Pointer(schema), &mut envelope);
    let items: Vec<_> = records
        .map(|(id, record)| match show {
            // Made for this request: not kept beside the record.
            Some(_) => {
                let (item, _) = shaper.fill_item(item_slot, &shown((id, record)));
                let json = serde_json::value::to_raw_value(&item);
                Cow::Owned(json.unwrap_or_else(|_| RawValue::NULL.to_owned()))
            }
            None => record.item(item_slot, |value| shaper.fill_item(item_slot, value)),
        })
        .collect();
    let reply = Reply::json(
        status,
        &Spliced::<RawValue> {
            value: &envelope,
            path: &path,
            inner: Inner::Items(&items),
        },
    )?;
    Ok((reply, Repeat::At(shaper.clock_shown())))
}

/// When a list's answer may be sent again for the same request on the same records.
pub(super) enum Repeat {
    Never,
    /// While the clock shows this time, or whatever the time with `None`.
    At(Option<chrono::DateTime<chrono::Utc>>),
}

/// The order a list's query asks for (see [`SORT`]): fields, each ascending or descending
/// (`None`: as the direction parameter says); with none, the creation order, maybe reversed.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Order<'a> {
    keys: Vec<(&'a str, Option<bool>)>,
    descending: bool,
}

impl<'a> Order<'a> {
    pub(super) fn of(call: &'a Call<'a>) -> Self {
        let mut order = Self::default();
        let values = call
            .plan
            .sort
            .iter()
            .filter_map(|name| call.request.param(name)?.as_str());
        for value in values {
            order.read(value);
        }
        order
    }

    /// One parameter's value: a direction word, else field names (`-name`, `name:desc`).
    fn read(&mut self, text: &'a str) {
        let word = |w: &str| text.trim().eq_ignore_ascii_case(w);
        if word("desc") || word("descending") {
            self.descending = true;
            return;
        }
        if word("asc") || word("ascending") {
            self.descending = false;
            return;
        }
        for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let (key, descending) = match key.strip_prefix('-') {
                Some(rest) => (rest, Some(true)),
                None => (key.strip_prefix('+').unwrap_or(key), None),
            };
            let (key, descending) = match key.rsplit_once([':', ' ']) {
                Some((field, "desc" | "DESC")) => (field, Some(true)),
                Some((field, "asc" | "ASC")) => (field, Some(false)),
                _ => (key, descending),
            };
            self.keys.push((key, descending));
        }
    }

    /// Orders `records` (in creation order) stably: by the keys (a field at the top of the
    /// record or in its JSON:API `attributes`; absent ones after the others, before them when
    /// descending, as SQL does), the direction asked applying to keys that name none. Ties keep
    /// the creation order, reversed when the first key descends (newest first).
    pub(super) fn apply(&self, records: &mut [(&String, &Record)]) {
        let first = self.keys.first().and_then(|(_, descending)| *descending);
        if first.unwrap_or(self.descending) {
            records.reverse();
        }
        if self.keys.is_empty() {
            return;
        }
        // Each record's fields are read once, not at every comparison.
        let mut keyed: Vec<(Vec<Option<Value>>, _)> = records
            .iter()
            .map(|&(id, record)| {
                let fields = self
                    .keys
                    .iter()
                    .map(|(key, _)| record.field(key).filter(|v| !v.is_null()));
                (fields.collect(), (id, record))
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            self.keys
                .iter()
                .zip(a.iter().zip(b))
                .map(|((_, descending), (a, b))| {
                    let order = compare_fields(a.as_ref(), b.as_ref());
                    if descending.unwrap_or(self.descending) {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for (slot, (_, record)) in records.iter_mut().zip(keyed) {
            *slot = record;
        }
    }
}

/// Numbers by value, text by its characters (RFC 3339 times sort by time) unless both are
/// whole numbers written as text (JSON:API's ids: `"9"` before `"10"`), anything before nothing.
fn compare_fields(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::Number(a)), Some(Value::Number(b))) => {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            a.total_cmp(&b)
        }
        (Some(Value::String(a)), Some(Value::String(b))) => {
            match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => a.cmp(b),
            }
        }
        (Some(a), Some(b)) => text_of(a).cmp(&text_of(b)),
    }
}

/// A query parameter that filters a list: named like an item's field (`status=active`, `tags=dog`
/// for a field `tags`, else `tag`), JSON:API's `filter[name]=…` or a deepObject `filter`; on a
/// field at the top of the item or in its `attributes`. Equality (an array on either side: any
/// in common), unless the parameter's `x-hookmock-match` says otherwise ([`Match`]); a parameter
/// with `x-hookmock-search: [fields]` finds its text in any of those fields. Inferred once per
/// operation ([`Plan::filters`](super::Plan::filters)).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FilterPlan {
    pub parameter: &'static str,
    /// The fields it may compare with, in order: the first the item declares, else the first
    /// the record has (a search: any of them). Empty for a deepObject `filter`, whose keys
    /// name them.
    pub fields: Vec<String>,
    #[serde(rename = "match")]
    pub matching: Match,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub search: bool,
    /// Whether the item declares `fields[0]`.
    #[serde(skip)]
    declared: bool,
}

/// The filters of a list operation: its query parameters that are not pagination, order or a
/// sparse fieldset. `item_fields` are those the item declares.
pub fn filter_plans(
    doc: &Value,
    operation: &crate::spec::Operation,
    fields_parameter: Option<&str>,
    item_fields: &[String],
) -> Vec<FilterPlan> {
    let other = |name: &str| {
        [LIMIT, OFFSET, PAGE, CURSOR_AFTER, CURSOR_BEFORE, SORT]
            .iter()
            .any(|names| names.contains(&name))
            || fields_parameter == Some(name)
            || name.starts_with("page[")
    };
    operation
        .params
        .iter()
        .filter(|p| p.location == crate::spec::ParamIn::Query && !other(p.name))
        .map(|param| {
            let said = |key: &str| said(doc, param, key);
            let search = said("search").and_then(Value::as_array);
            let fields: Vec<String> = match (search, param.name) {
                (Some(fields), _) => fields
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                (None, "filter") => Vec::new(),
                (None, name) => match name
                    .strip_prefix("filter[")
                    .and_then(|n| n.strip_suffix(']'))
                {
                    Some(field) => vec![field.to_owned()],
                    None => vec![name.to_owned(), super::infer::singular(name)],
                },
            };
            let mut fields = fields;
            if search.is_none()
                && let Some(at) = fields.iter().position(|f| item_fields.contains(f))
            {
                fields.swap(0, at);
            }
            FilterPlan {
                parameter: param.name,
                declared: search.is_none()
                    && fields.first().is_some_and(|f| item_fields.contains(f)),
                matching: match (search, said("match").and_then(Value::as_str)) {
                    (Some(_), _) | (None, Some("contains")) => Match::Contains,
                    (None, Some("prefix")) => Match::Prefix,
                    (None, Some("one-of")) => Match::OneOf,
                    (None, Some("has-key")) => Match::HasKey,
                    _ => Match::Equals,
                },
                search: search.is_some(),
                fields,
            }
        })
        .collect()
}

/// What a parameter (or its schema) says with the extension `x-hookmock-<key>`.
fn said<'d>(doc: &'d Value, param: &crate::spec::Param, key: &str) -> Option<&'d Value> {
    let parameter = param.schema.strip_suffix("/schema");
    [parameter, Some(param.schema)]
        .into_iter()
        .flatten()
        .filter_map(|at| crate::shape::pointer(doc, at))
        .find_map(|p| p.get(format!("x-hookmock-{key}")))
}

/// How a filter compares its value with a field, as the parameter's `x-hookmock-match` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// The same value (the default).
    Equals,
    /// Text that contains the value, in any case.
    Contains,
    /// Text that starts with the value (a day, `2026-01-15`, of a timestamp).
    Prefix,
    /// Any of the comma-separated values.
    OneOf,
    /// An object with the key the value names, or, as `key:value`, that key with that value
    /// (a string as it is, anything else as its JSON text).
    HasKey,
}

impl Match {
    /// The value a filter compares: read once per list, not once per item.
    fn prepared(self, value: &Value) -> Cow<'_, Value> {
        match self {
            Self::Contains => Cow::Owned(Value::String(text_of(value).to_lowercase())),
            _ => Cow::Borrowed(value),
        }
    }

    fn accepts(self, wanted: &Value, found: &Value) -> bool {
        let text = |v: &Value| (!v.is_null()).then(|| text_of(v));
        match self {
            Self::Equals => equal(wanted, found),
            // `wanted` is already in lower case (see `Match::prepared`).
            Self::Contains => text(found).is_some_and(|found| {
                found
                    .to_lowercase()
                    .contains(wanted.as_str().unwrap_or_default())
            }),
            Self::Prefix => text(found).is_some_and(|found| found.starts_with(&text_of(wanted))),
            Self::OneOf => text_of(wanted)
                .split(',')
                .any(|one| equal(&Value::String(one.trim().to_owned()), found)),
            Self::HasKey => {
                let wanted = text_of(wanted);
                let (key, value) = match wanted.split_once(':') {
                    Some((key, value)) => (key, Some(value)),
                    None => (wanted.as_str(), None),
                };
                match (found.get(key), value) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(Value::String(text)), Some(value)) => text == value,
                    (Some(other), Some(value)) => {
                        serde_json::from_str::<Value>(value).is_ok_and(|v| v == *other)
                    }
                }
            }
        }
    }
}

/// Equality of a filter's value and a field: an array on either side, any in common; text and
/// numbers by their text (`?id=7` finds `7` and `"7"`).
fn equal(wanted: &Value, found: &Value) -> bool {
    match (wanted, found) {
        (Value::Array(options), Value::Array(values)) => options.iter().any(|o| values.contains(o)),
        (Value::Array(options), found) => options.contains(found),
        (wanted, Value::Array(values)) => values.contains(wanted),
        (wanted, found) => wanted == found || text_of(wanted) == text_of(found),
    }
}

/// The filters a list request sends, with their values.
pub(super) struct Filters<'a> {
    wanted: Vec<(Cow<'a, FilterPlan>, Cow<'a, Value>)>,
}

impl<'a> Filters<'a> {
    pub(super) fn of(call: &'a Call<'a>) -> Self {
        let mut wanted = Vec::new();
        for plan in &call.plan.filters {
            let Some(value) = call.request.param(plan.parameter) else {
                continue;
            };
            match (plan.parameter, value) {
                // A deepObject `filter`: each key a field.
                ("filter", Value::Object(fields)) => {
                    wanted.extend(fields.iter().map(|(field, value)| {
                        let plan = FilterPlan {
                            fields: vec![field.clone()],
                            ..plan.clone()
                        };
                        (
                            Cow::Owned(FilterPlan {
                                declared: false,
                                ..plan
                            }),
                            plan.matching.prepared(value),
                        )
                    }))
                }
                _ => wanted.push((Cow::Borrowed(plan), plan.matching.prepared(value))),
            }
        }
        Self { wanted }
    }

    /// Whether the item whose fields `lookup` reads (at the top of the item or in its
    /// `attributes`) has what every filter asks (a parameter naming no field filters nothing).
    pub(super) fn accept(&self, lookup: impl Fn(&str) -> Option<Value>) -> bool {
        self.wanted.iter().all(|(plan, value)| {
            if plan.search {
                return plan.fields.iter().any(|name| {
                    lookup(name).is_some_and(|found| plan.matching.accepts(value, &found))
                });
            }
            let found = match plan.declared {
                true => plan.fields.first().and_then(|name| lookup(name)),
                false => plan.fields.iter().find_map(|n| lookup(n)),
            };
            match (found, plan.declared) {
                (Some(found), _) => plan.matching.accepts(value, &found),
                (None, true) => plan.matching.accepts(value, &Value::Null),
                (None, false) => true,
            }
        })
    }
}

/// The slice of a list a request asks for.
pub(super) struct Page {
    pub(super) start: usize,
    pub(super) end: usize,
    limit: Option<usize>,
    number: Option<usize>,
}

impl Page {
    pub(super) fn read(call: &Call<'_>, items: &[&str]) -> Self {
        let number_of = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| call.request.param(n).and_then(as_count))
        };
        // JSON:API's `page[…]`: one deepObject parameter, or parameters named `page[size]`.
        let deep = call.request.param("page").and_then(Value::as_object);
        let in_page = |keys: [(&str, &str); 2]| {
            keys.iter().find_map(|(key, named)| {
                let value = deep.and_then(|d| d.get(*key));
                value
                    .or_else(|| call.request.param(named))
                    .and_then(as_count)
            })
        };
        let limit = number_of(LIMIT)
            .or_else(|| in_page([("size", "page[size]"), ("limit", "page[limit]")]))
            .or_else(|| default_limit(call));
        let number = number_of(PAGE)
            .or_else(|| in_page([("number", "page[number]"), ("page", "page[page]")]));
        let position = |names: &[&str], after: bool| {
            let id = names
                .iter()
                .find_map(|n| call.request.param(n).map(text_of))?;
            let at = items.iter().position(|k| *k == id)?;
            Some(if after { at + 1 } else { at })
        };
        let offset = number_of(OFFSET)
            .or_else(|| Some(number?.saturating_sub(1) * limit?))
            .or_else(|| position(CURSOR_AFTER, true))
            .unwrap_or(0)
            .min(items.len());
        let (start, end) = match position(CURSOR_BEFORE, false) {
            Some(before) => {
                let start = limit.map_or(0, |l| before.saturating_sub(l));
                (start, before)
            }
            None => (
                offset,
                limit.map_or(items.len(), |l| offset.saturating_add(l)),
            ),
        };
        Self {
            start: start.min(items.len()),
            end: end.min(items.len()).max(start.min(items.len())),
            limit,
            number,
        }
    }
}

impl Page {
    /// The 1-based number of this page.
    fn current(&self) -> usize {
        self.number
            .unwrap_or_else(|| self.limit.map_or(1, |l| self.start / l.max(1) + 1))
    }
}

/// The URLs of a list's pages: the request's own, its position parameters replaced (the
/// limit and every other parameter kept), absolute as `format: uri` wants.
struct Links<'a> {
    /// `http://<host><path>`, or the path alone where the document's example links so.
    base: String,
    /// The request's query without its position parameters, each pair ending in `&`.
    kept: String,
    call: &'a Call<'a>,
    listed: &'a Listed<'a>,
}

impl<'a> Links<'a> {
    fn of(call: &'a Call<'a>, listed: &'a Listed<'a>) -> Self {
        let base = if call.plan.links.relative {
            call.request.path.clone()
        } else {
            let host = call.request.host.as_ref().and_then(|h| h.to_str().ok());
            ["http://", host.unwrap_or("localhost"), &call.request.path].concat()
        };
        let position = |pair: &&str| {
            let name = pair.split('=').next().unwrap_or_default();
            let name = match name.contains('%') {
                true => percent_encoding::percent_decode_str(name).decode_utf8_lossy(),
                false => name.into(),
            };
            [PAGE, OFFSET, CURSOR_AFTER, CURSOR_BEFORE]
                .iter()
                .any(|names| names.contains(&name.as_ref()))
                || name.starts_with("page[") && !name.ends_with("[size]")
        };
        let query = call.request.query.as_deref().unwrap_or_default();
        let mut kept = String::with_capacity(query.len() + 1);
        for pair in query.split('&').filter(|p| !p.is_empty() && !position(p)) {
            kept.push_str(pair);
            kept.push('&');
        }
        Self {
            base,
            kept,
            call,
            listed,
        }
    }

    /// The URL with `name=value` as its position.
    fn with(&self, name: &str, value: &str) -> String {
        // Joined, not formatted: a list with page links makes five of these.
        [self.base.as_str(), "?", &self.kept, name, "=", value].concat()
    }

    /// The declared parameter of `names`, else `fallback`.
    fn parameter(&self, names: &[&'static str], fallback: &'static str) -> &'static str {
        let declared = self.call.operation.params.iter();
        declared
            .map(|p| p.name)
            .find(|n| names.contains(n))
            .unwrap_or(fallback)
    }

    /// Whether pages are numbered JSON:API's way, `page[number]`.
    fn deep_page(&self) -> bool {
        self.call.operation.params.iter().any(|p| {
            p.name.starts_with("page[")
                || p.name == "page" && p.style == crate::spec::ParamStyle::DeepObject
        }) && !self
            .call
            .operation
            .params
            .iter()
            .any(|p| PAGE.contains(&p.name) && p.style != crate::spec::ParamStyle::DeepObject)
    }

    /// Page `number` (1-based), by the pagination the operation declares.
    fn at(&self, number: usize) -> String {
        let limit = self.listed.page.limit.unwrap_or(0);
        match self.call.plan.pagination.as_deref() {
            Some("page") if self.deep_page() => {
                let name = match self.call.plan.links.raw_brackets {
                    true => "page[number]",
                    false => "page%5Bnumber%5D",
                };
                self.with(name, &number.to_string())
            }
            Some("page") => self.with(self.parameter(PAGE, "page"), &number.to_string()),
            Some("offset") => {
                let offset = number.saturating_sub(1).saturating_mul(limit);
                self.with(self.parameter(OFFSET, "offset"), &offset.to_string())
            }
            _ if number <= 1 => match self.kept.strip_suffix('&') {
                Some(query) => format!("{}?{query}", self.base),
                None => self.base.clone(),
            },
            _ => self.with("page", &number.to_string()),
        }
    }

    fn last(&self, pages: Option<usize>) -> Option<String> {
        let cursor = self.call.plan.pagination.as_deref() == Some("cursor");
        (!cursor).then(|| self.at(pages.unwrap_or(1).max(1)))
    }

    fn next(&self) -> Option<String> {
        if !self.listed.has_more {
            return None;
        }
        match self.call.plan.pagination.as_deref() {
            Some("cursor") => {
                let after = self.parameter(CURSOR_AFTER, "after");
                Some(self.with(after, self.listed.next?))
            }
            _ => Some(self.at(self.listed.page.current() + 1)),
        }
    }

    fn previous(&self) -> Option<String> {
        match self.call.plan.pagination.as_deref() {
            Some("cursor") => {
                let before = self.parameter(CURSOR_BEFORE, "before");
                Some(self.with(before, self.listed.previous?))
            }
            _ => {
                let current = self.listed.page.current();
                (current > 1).then(|| self.at(current - 1))
            }
        }
    }
}

fn as_count(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|n| usize::try_from(n).ok())
}

/// The `default` of the operation's limit parameter, if it documents one.
fn default_limit(call: &Call<'_>) -> Option<usize> {
    call.operation
        .params
        .iter()
        .filter(|p| LIMIT.contains(&p.name))
        .find_map(|p| {
            call.doc
                .pointer(p.schema)?
                .get("default")
                .and_then(as_count)
        })
}

/// The list's answer before it is shaped: the items at the envelope's array, and every
/// pagination field a list envelope might have (the schema keeps those it declares).
fn list_source(call: &Call<'_>, items: Vec<Value>, count: usize, listed: &Listed<'_>) -> Value {
    let Listed {
        total,
        has_more,
        next,
        page,
        ..
    } = *listed;
    let pages = page.limit.map(|limit| total.div_ceil(limit.max(1)));
    let shown = |position: usize| (count > 0).then_some(position);
    // Made only for an envelope that declares a page URL.
    let links = std::cell::OnceCell::new();
    let links = || links.get_or_init(|| Links::of(call, listed));
    let value = |field: ListField| -> Option<Value> {
        Some(match field {
            ListField::Total => json!(total),
            ListField::Count => json!(count),
            ListField::HasMore => json!(has_more),
            ListField::Done => json!(!has_more),
            ListField::Next => json!(next?),
            ListField::Limit => json!(page.limit?),
            ListField::Pages => json!(pages?),
            ListField::LastPage => json!(pages.unwrap_or(1).max(1)),
            ListField::Offset => json!(page.start),
            ListField::Page => json!(page.current()),
            ListField::From => json!(shown(page.start + 1)),
            ListField::To => json!(shown(page.start + count)),
            ListField::Path => json!(links().base),
            ListField::SelfUrl => json!(links().at(page.current())),
            ListField::FirstUrl => json!(links().at(1)),
            ListField::LastUrl => json!(links().last(pages)),
            ListField::PrevUrl => json!(links().previous()),
            ListField::NextUrl => json!(links().next()),
        })
    };
    let array = Value::Array(items);
    let mut root = match call.plan.envelope.as_deref() {
        Some(slot) if !slot.is_empty() => super::wrap(slot, array),
        _ => return array,
    };
    let asked = |at: &String| {
        call.plan.list_when.get(at).is_none_or(|param| {
            call.request
                .param(param)
                .is_some_and(|value| *value != Value::Bool(false))
        })
    };
    for (at, field) in call.plan.list_fields.iter().filter(|(at, _)| asked(at)) {
        if let Some(value) = value(*field) {
            place(&mut root, at, value);
        }
    }
    root
}

/// `value` at the pointer `at` in `root`, the objects on the way made where missing; a value
/// already there is kept.
fn place(root: &mut Value, at: &str, value: Value) {
    let mut object = root;
    let mut segments = at.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        let Value::Object(map) = object else {
            return;
        };
        let key = crate::spec::unescape(segment);
        if segments.peek().is_none() {
            if !map.contains_key(key.as_ref()) {
                map.insert(key.into_owned(), value);
            }
            return;
        }
        // Several fields share a holder (`links`): it is made by the first, its name copied once.
        if !map.contains_key(key.as_ref()) {
            map.insert(key.to_string(), Value::Object(Map::new()));
        }
        let Some(next) = map.get_mut(key.as_ref()) else {
            return;
        };
        object = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(parameters: &[&str], records: &[Value]) -> Vec<usize> {
        let mut order = Order::default();
        for text in parameters {
            order.read(text);
        }
        let ids: Vec<String> = (0..records.len()).map(|i| i.to_string()).collect();
        let kept: Vec<Record> = records.iter().map(Record::new).collect();
        let mut listed: Vec<(&String, &Record)> = ids.iter().zip(&kept).collect();
        order.apply(&mut listed);
        listed
            .iter()
            .filter_map(|(id, _)| id.parse().ok())
            .collect()
    }

    /// Every way a list's query names its order: a direction alone, fields with `-`, `:desc`
    /// or a direction parameter, JSON:API attributes, absent values, ties.
    #[test]
    fn a_list_is_ordered_as_its_query_says() {
        let records = [
            json!({"name": "b", "n": 2, "attributes": {"rank": 1}}),
            json!({"name": "a", "n": 10}),
            json!({"name": "b", "n": 1, "attributes": {"rank": 0}}),
        ];
        assert_eq!(ordered(&[], &records), [0, 1, 2]);
        assert_eq!(ordered(&["descending"], &records), [2, 1, 0]);
        assert_eq!(ordered(&["n"], &records), [2, 0, 1], "numbers by value");
        assert_eq!(ordered(&["-n"], &records), [1, 0, 2]);
        assert_eq!(ordered(&["n:desc"], &records), [1, 0, 2]);
        assert_eq!(ordered(&["n", "DESC"], &records), [1, 0, 2]);
        assert_eq!(ordered(&["name,-n"], &records), [1, 0, 2]);
        assert_eq!(
            ordered(&["name"], &records),
            [1, 0, 2],
            "ties in creation order"
        );
        assert_eq!(
            ordered(&["-name"], &records),
            [2, 0, 1],
            "ties newest first when descending"
        );
        assert_eq!(ordered(&["rank"], &records), [2, 0, 1], "absent last");
    }
}
