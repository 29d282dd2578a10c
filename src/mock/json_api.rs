//! What JSON:API (jsonapi.org, 1.1) says a server does with a resource, for items whose schema
//! is a resource object (`type`, `id`, `attributes`): the engine applies it to any document that
//! uses the format, as it applies the schema to every other.

use serde_json::{Map, Value, json};

use super::Call;
use crate::error::ApiError;
use crate::shape::{ObjectView, resolve};

/// Whether the call's items are JSON:API resource objects.
pub(super) fn is_resource(call: &Call<'_>) -> bool {
    call.plan.item.json_api
}

/// A new resource's server-made members: `links.self` (the item's path) where the resource
/// declares links, an `id` its attributes declare (the identifier, as a number where they want
/// one), and `null` for each nullable attribute not sent (a resource shows all its attributes).
pub(super) fn stamp(call: &Call<'_>, record: &mut Value, id: &str) {
    let Some(item) = call.item_schema() else {
        return;
    };
    let view = ObjectView::of(call.doc, item);
    let Value::Object(record) = record else {
        return;
    };
    if view.property("links").is_some() {
        let path = format!("{}/{id}", call.request.path.trim_end_matches('/'));
        let links = record.entry("links").or_insert_with(|| json!({}));
        if let Value::Object(links) = links {
            links.insert("self".to_owned(), json!(path));
        }
    }
    let attributes = view
        .property("attributes")
        .map(|a| ObjectView::of(call.doc, resolve(call.doc, a)));
    if let (Some(Value::Object(sent)), Some(attributes)) =
        (record.get_mut("attributes"), &attributes)
    {
        for (name, schema) in &attributes.properties {
            if crate::shape::allows_null(call.doc, resolve(call.doc, schema)) {
                sent.entry(*name).or_insert(Value::Null);
            }
        }
    }
    let attribute_id = attributes.and_then(|a| a.property("id").map(|p| resolve(call.doc, p)));
    if let Some(schema) = attribute_id {
        let numeric = crate::shape::type_of(call.doc, schema) == Some("integer");
        let value = match id.parse::<i64>() {
            Ok(n) if numeric => json!(n),
            _ => json!(id),
        };
        let attributes = record.entry("attributes").or_insert_with(|| json!({}));
        if let Value::Object(attributes) = attributes {
            attributes.insert("id".to_owned(), value);
        }
    }
}

/// JSON:API's 409: an update whose resource object names another `type` or `id` than the
/// endpoint's.
pub(super) fn check_update(call: &Call<'_>, id: &str) -> Result<(), ApiError> {
    let Some(data) = call.request.body().and_then(|b| b.get("data")) else {
        return Ok(());
    };
    if let Some(sent) = data.get("id").and_then(Value::as_str).filter(|s| *s != id) {
        return Err(ApiError::Conflict(format!(
            "data.id {sent:?} does not match the resource id {id} in the path"
        )));
    }
    let declared = call
        .item_schema()
        .and_then(|item| ObjectView::of(call.doc, item).property("type"))
        .map(|t| resolve(call.doc, t));
    let types = declared.and_then(|t| t.get("enum").or_else(|| t.get("const")));
    let known = |sent: &Value| match types {
        Some(Value::Array(options)) => options.contains(sent),
        Some(one) => one == sent,
        None => true,
    };
    match data.get("type").filter(|sent| !known(sent)) {
        Some(sent) => Err(ApiError::Conflict(format!(
            "data.type {sent} is not the type of the resources at this endpoint"
        ))),
        None => Ok(()),
    }
}

/// An update of a resource: each attribute sent replaces the stored one (`null` too); those
/// not sent are kept, as if sent with their current values.
pub(super) fn update(stored: &Value, sent: &Value) -> Value {
    let mut updated = stored.clone();
    let (Value::Object(updated_map), Value::Object(sent)) = (&mut updated, sent) else {
        return updated;
    };
    for (member, value) in sent {
        match (member.as_str(), value) {
            ("attributes", Value::Object(attributes)) => {
                let holder = updated_map
                    .entry("attributes")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(holder) = holder {
                    holder.extend(attributes.clone());
                }
            }
            (_, value) => {
                updated_map.insert(member.clone(), value.clone());
            }
        }
    }
    updated
}
