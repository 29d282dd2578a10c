#!/usr/bin/env python3
"""Writes a large OpenAPI 3.1 document for the load benchmark (benches/compare.sh, `load`):
N resources, each a collection with five operations (list, create, read, update, delete), with
realistic schemas (nested objects, enums, formats, descriptions), padded to about SIZE bytes.

usage: big_document.py OUT [--operations 250] [--size 2500000]
"""
import json
import sys

def resource(n, padding):
    name = f"resource{n}"
    item = {
        "type": "object",
        "required": ["id", "name", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "readOnly": True},
            "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": padding},
            "status": {"type": "string", "enum": ["active", "paused", "archived"]},
            "url": {"type": "string", "format": "uri"},
            "count": {"type": "integer", "format": "int32", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
            "settings": {
                "type": "object",
                "properties": {
                    "retries": {"type": "integer", "minimum": 0, "maximum": 10},
                    "secret": {"type": ["string", "null"], "writeOnly": True},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        },
    }
    create = {"type": "object", "required": ["name"], "properties": {
        k: v for k, v in item["properties"].items() if k not in ("id", "created_at")}}
    error = {"$ref": "#/components/responses/Error"}
    ref = {"$ref": f"#/components/schemas/{name}"}
    list_schema = {"type": "object", "properties": {
        "data": {"type": "array", "items": ref}, "has_more": {"type": "boolean"}}}
    json_body = lambda schema: {"content": {"application/json": {"schema": schema}}}
    paths = {
        f"/{name}s": {
            "get": {"operationId": f"list{n}", "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "after", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", **json_body(list_schema)}, "default": error}},
            "post": {"operationId": f"create{n}", "requestBody": {"required": True, **json_body({"$ref": f"#/components/schemas/{name}Create"})},
                "responses": {"201": {"description": "created", **json_body(ref)}, "default": error}},
        },
        f"/{name}s/{{id}}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
            "get": {"operationId": f"get{n}", "responses": {"200": {"description": "ok", **json_body(ref)}, "default": error}},
            "patch": {"operationId": f"update{n}", "requestBody": json_body({"$ref": f"#/components/schemas/{name}Create"}),
                "responses": {"200": {"description": "ok", **json_body(ref)}, "default": error}},
            "delete": {"operationId": f"delete{n}", "responses": {"204": {"description": "gone"}, "default": error}},
        },
    }
    return paths, {name: item, f"{name}Create": create}

def main():
    out = sys.argv[1]
    operations = int(sys.argv[sys.argv.index("--operations") + 1]) if "--operations" in sys.argv else 250
    size = int(sys.argv[sys.argv.index("--size") + 1]) if "--size" in sys.argv else 2_500_000
    count = max(1, operations // 5)
    base = len(json.dumps(build(count, ""), indent=1))
    # Each resource's description appears twice (the item and its create schema).
    padding = "x" * max(0, (size - base) // (2 * count))
    text = json.dumps(build(count, padding), indent=1)
    with open(out, "w") as f:
        f.write(text)
    print(f"{out}: {len(text)} bytes, {count * 5} operations")

def build(count, padding):
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Large generated API", "version": "1"},
        "components": {"schemas": {}, "responses": {"Error": {"description": "error", "content": {
            "application/json": {"schema": {"type": "object", "required": ["message"], "properties": {
                "message": {"type": "string"}, "code": {"type": "integer"}}}}}}}},
        "paths": {},
    }
    for n in range(count):
        paths, schemas = resource(n, padding)
        doc["paths"].update(paths)
        doc["components"]["schemas"].update(schemas)
    return doc

main()
