"""Per-entity paths and schemas for the OpenAPI document of an authenticated caller.

Each generic ``/api/records/{entity}...`` operation is copied once per entity of the workspace, with
``{entity}`` filled in and the free-form bodies replaced by schemas generated from the entity's
definition (``Contact``, ``ContactInput``, ``ContactUpdate``, ``ContactBulkUpdate``, ``ContactPage``), so generators and
Swagger UI show typed records.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any

from gateway.services import records, validation
from storage.documents import EntityDefinition, FieldDef, FieldType
from storage.query import OPERATORS, SYSTEM_TYPES

RECORDS_PREFIX = "/api/records/{entity}"
OBJECT_ID_PATTERN = "^[0-9a-fA-F]{24}$"
JSON = "application/json"

# What the records service accepts per field type (gateway/services/validation.py), so generated valid data is valid.
_INPUT_TYPES: dict[FieldType, dict[str, Any]] = {
    FieldType.string: {"type": "string", "maxLength": validation.MAX_STRING},
    FieldType.text: {"type": "string", "maxLength": validation.MAX_TEXT},
    FieldType.phone: {
        "type": "string",
        "maxLength": 40,
        "pattern": r"^\+?[0-9](?:[ ().\-]*[0-9]){5,14}[ ().\-]*$",
        "description": "6 to 15 digits, an optional leading +, spaces, '-', '.', '()'",
    },
    FieldType.integer: {"type": "integer", "format": "int64"},
    FieldType.number: {"type": "number"},
    FieldType.boolean: {"type": "boolean"},
    FieldType.date: {"type": "string", "format": "date"},
    FieldType.datetime: {"type": "string", "format": "date-time"},
    FieldType.email: {"type": "string", "format": "email", "maxLength": 320},
    FieldType.url: {
        "type": "string",
        "format": "uri",
        "maxLength": validation.MAX_URL,
        "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.\-]*(:[0-9]{1,5})?([/?#][^\s\x00-\x1f]*)?$",
    },
    FieldType.select: {"type": "string"},
    FieldType.multiselect: {"type": "array", "items": {"type": "string"}},
    FieldType.reference: {"type": "string", "pattern": OBJECT_ID_PATTERN},
    FieldType.json: {},
}

# (method, path suffix) of a generic records operation -> the name stem of its per-entity copy.
_OPERATIONS: dict[tuple[str, str], str] = {
    ("get", ""): "list",
    ("post", ""): "create",
    ("get", "/{record_id}"): "get",
    ("put", "/{record_id}"): "update",
    ("patch", "/{record_id}"): "patch",
    ("delete", "/{record_id}"): "delete",
    ("post", "/bulk"): "bulk_create",
    ("put", "/bulk"): "bulk_update",
    ("delete", "/bulk"): "bulk_delete",
}

_SUMMARIES = {
    "list": "List {label} records (filter, sort, include, page)",
    "create": "Create a {label}",
    "get": "Get one {label}",
    "update": "Update a {label}: only the fields sent, null clears",
    "patch": "Update a {label}: only the fields sent, null clears",
    "delete": "Delete a {label}",
    "bulk_create": "Create {label} records in bulk",
    "bulk_update": "Update {label} records in bulk",
    "bulk_delete": "Delete {label} records in bulk",
}


def schema_name(entity: str) -> str:
    """``deal_stage`` -> ``DealStage``: a component name that generators turn into a class name."""
    parts = re.split(r"[^0-9A-Za-z]+", entity)
    name = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return name if name[:1].isalpha() else "Entity" + name


def _field_schema(field: FieldDef, *, for_input: bool) -> dict[str, Any]:
    schema = copy.deepcopy(_INPUT_TYPES[field.type]) if for_input else _output_type(field)
    description = field.label or field.name.replace("_", " ").capitalize()
    if schema.get("description"):
        description += f" ({schema['description']})"
    if field.required and for_input and schema.get("type") == "string":
        schema["minLength"] = 1  # an empty string counts as missing
    if field.required and for_input and field.type == FieldType.multiselect:
        schema["minItems"] = 1
    if field.options and for_input:
        target = schema["items"] if field.type == FieldType.multiselect else schema
        target["enum"] = list(field.options)
    elif field.options:  # records written before the options changed may hold other values
        description += " (one of: " + ", ".join(field.options) + ")"
    if field.type == FieldType.reference and field.ref:
        description += f" (id of a {field.ref})"
    schema["description"] = description
    if field.default is not None and for_input:
        schema["default"] = field.default
    return schema


def _output_type(field: FieldDef) -> dict[str, Any]:
    """Output schemas state types but no formats: a stored value is what the server returns."""
    schema = copy.deepcopy(_INPUT_TYPES[field.type])
    for constraint in ("format", "pattern", "maxLength", "description"):
        schema.pop(constraint, None)
    if field.type == FieldType.multiselect:
        schema["items"] = {"type": "string"}
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """null is allowed (it clears a field). An enum keeps its values only: generators read nullable."""
    if schema.get("type") is not None:
        schema["nullable"] = True
    return schema


def entity_schemas(definition: EntityDefinition, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The component schemas of one entity (record, input, update, bulk update item, page), keyed by name."""
    label = definition.label or definition.name
    record: dict[str, Any] = {
        "type": "object",
        "description": f"A {label} record: its fields plus the system fields.",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "description": "Record id (24 hex characters)."},
            "created_at": {"type": "string", "description": "ISO 8601 UTC."},
            "updated_at": {"type": "string", "description": "ISO 8601 UTC."},
            "created_by": {"type": "string", "nullable": True, "description": "User id of the creator."},
            "updated_by": {"type": "string", "nullable": True, "description": "User id of the last writer."},
            "_score": {"type": "number", "description": "From the entity's scoring rules; 0 when none."},
        },
        "additionalProperties": True,
    }
    created: dict[str, Any] = {
        "type": "object",
        "description": f"Fields of a new {label}. Unknown fields are rejected.",
        "properties": {},
        "additionalProperties": False,
    }
    update: dict[str, Any] = {
        "type": "object",
        "description": f"Fields to change on a {label}; fields not sent keep their value, null clears one.",
        "properties": {},
        "additionalProperties": False,
    }
    required = []
    for field in definition.fields:
        record["properties"][field.name] = _nullable(_field_schema(field, for_input=False))
        schema = _field_schema(field, for_input=True)
        if field.required:
            required.append(field.name)
            created["properties"][field.name] = schema
            update["properties"][field.name] = copy.deepcopy(schema)
        else:
            update["properties"][field.name] = _nullable(copy.deepcopy(schema))
            created["properties"][field.name] = _nullable(schema)
    if required:
        created["required"] = required
    page = {
        "type": "object",
        "required": ["data", "meta"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": _ref(names["record"])}},
            "meta": {"$ref": "#/components/schemas/PageMeta"},
        },
    }
    bulk_item = copy.deepcopy(update)
    bulk_item["description"] = f"One {label} of a bulk update: its id and the fields to change."
    bulk_item["properties"] = {"id": {"type": "string", "description": "Record id."}, **bulk_item["properties"]}
    bulk_item["required"] = ["id"]
    return {
        names["record"]: record,
        names["input"]: created,
        names["update"]: update,
        names["bulk"]: bulk_item,
        names["page"]: page,
    }


PAGE_META = {
    "type": "object",
    "required": ["page", "page_size", "total"],
    "properties": {
        "page": {"type": "integer"},
        "page_size": {"type": "integer"},
        "total": {"type": "integer", "description": "Records matching the filters, all pages together."},
    },
}


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _component_names(entity: str, taken: set[str]) -> dict[str, str]:
    base = schema_name(entity)
    suffixes = {"record": "", "input": "Input", "update": "Update", "bulk": "BulkUpdate", "page": "Page"}
    if {base + suffix for suffix in suffixes.values()} & taken:
        base += "Record"
    return {role: base + suffix for role, suffix in suffixes.items()}


def _set_json_schema(container: dict[str, Any] | None, schema: dict[str, Any]) -> None:
    if container is not None and JSON in container.get("content", {}):
        container["content"][JSON]["schema"] = schema


def _body_items(body: dict[str, Any] | None, items: dict[str, Any]) -> None:
    """A bulk body: a list of items, or an object with one list property of items."""
    if body is None or JSON not in body.get("content", {}):
        return
    schema = body["content"][JSON].get("schema", {})
    if schema.get("type") == "array":
        schema["items"] = items
        schema.setdefault("minItems", 1)
        schema.setdefault("maxItems", records.MAX_BULK_ITEMS)
        return
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict) and prop.get("type") == "array" and prop.get("items", {}).get("type") != "string":
            prop["items"] = items


def _alternatives(words: Iterable[str]) -> str:
    return "(" + "|".join(re.escape(w) for w in words) + ")"


def _entity_list_parameters(op: dict[str, Any], entity: str, definition: EntityDefinition) -> None:
    """The query language spelled out with this entity's fields: sort keys as an enum, filter and include patterns."""
    fields = [f.name for f in definition.fields] + list(SYSTEM_TYPES)
    sortable = [f.name for f in definition.fields if f.type != FieldType.json] + list(SYSTEM_TYPES)
    filter_pattern = f"^{_alternatives(fields)},{_alternatives(OPERATORS)},[\\s\\S]*$"
    sort_keys = [f"{name},{direction}" for name in sortable for direction in ("asc", "desc")]
    listed = ", ".join(fields)
    for param in op.get("parameters", []):
        name, schema = param["name"], param.get("schema", {})
        target = schema.get("items", schema) if schema.get("type") == "array" else schema
        if name == "filter" or re.fullmatch(r"filter\d+", name):
            target["pattern"] = filter_pattern
            if name == "filter":
                param["description"] = param.get("description", "") + f" Fields of {entity}: {listed}."
        elif name == "sort" or re.fullmatch(r"sort\d+", name):
            target["enum"] = sort_keys
        elif name == "include":
            target["pattern"] = f"^{_alternatives(fields)}(,{_alternatives(fields)})*$"
            param["description"] = param.get("description", "") + f" Fields of {entity}: {listed}."


def _entity_operation(
    operation: dict[str, Any], stem: str, names: dict[str, str], definition: EntityDefinition, id_suffix: str
) -> dict[str, Any]:
    entity = definition.name
    op = copy.deepcopy(operation)
    op["operationId"] = f"{stem}_{id_suffix}"
    op["tags"] = [entity]
    op["parameters"] = [p for p in op.get("parameters", []) if not (p.get("in") == "path" and p["name"] == "entity")]
    if not op["parameters"]:
        del op["parameters"]
    label = definition.label or entity
    summary = _SUMMARIES.get(stem)
    op["summary"] = summary.format(label=label) if summary else f"{op.get('summary', stem)} ({entity})"
    responses = op.get("responses", {})
    ok = responses.get("200") or responses.get("201")
    record, page = {"$ref": _ref(names["record"])}, {"$ref": _ref(names["page"])}
    if stem == "list":
        _set_json_schema(ok, page)
        _entity_list_parameters(op, entity, definition)
    elif stem in ("create", "get", "update", "patch"):
        _set_json_schema(ok, record)
    if stem == "create":
        _set_json_schema(op.get("requestBody"), {"$ref": _ref(names["input"])})
        if ok is not None:
            ok["links"] = {
                f"{verb.capitalize()}{names['record']}": {
                    "operationId": f"{verb}_{id_suffix}",
                    "parameters": {"record_id": "$response.body#/id"},
                    "description": f"The new {label}'s id as `record_id` of {verb}_{id_suffix}.",
                }
                for verb in ("get", "update", "delete")
            }
    elif stem in ("update", "patch"):
        _set_json_schema(op.get("requestBody"), {"$ref": _ref(names["update"])})
    elif stem == "bulk_create":
        _body_items(op.get("requestBody"), {"$ref": _ref(names["input"])})
    elif stem == "bulk_update":
        _body_items(op.get("requestBody"), {"$ref": _ref(names["bulk"])})
    return op


def add_entity_paths(document: dict[str, Any], definitions: Sequence[EntityDefinition]) -> dict[str, Any]:
    """Add per-entity copies of the generic records operations and their schemas (in place)."""
    paths: dict[str, Any] = document["paths"]
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("PageMeta", copy.deepcopy(PAGE_META))
    generic = {path: item for path, item in paths.items() if path.startswith(RECORDS_PREFIX)}
    taken_ids = {op.get("operationId") for item in paths.values() for op in item.values() if isinstance(op, dict)}
    new_paths: dict[str, Any] = {}
    for definition in definitions:
        entity = definition.name
        names = _component_names(entity, set(schemas))
        schemas.update(entity_schemas(definition, names))
        # An entity named like another route's object ("users": list_users) gets operation ids of its own.
        clash = any(f"{stem}_{entity}" in taken_ids for stem in _OPERATIONS.values())
        id_suffix = f"{entity}_records" if clash else entity
        for path, item in generic.items():
            suffix = path[len(RECORDS_PREFIX) :]
            concrete = "/api/records/" + entity + suffix
            for method, operation in item.items():
                if method == "parameters" or not isinstance(operation, dict):
                    continue
                stem = _OPERATIONS.get((method, suffix), operation.get("operationId", method))
                new_item = new_paths.setdefault(concrete, {})
                new_item[method] = _entity_operation(operation, stem, names, definition, id_suffix)
    paths.update(new_paths)
    _drop_dangling_links(paths)
    known = {tag["name"] for tag in document.get("tags", [])}
    document.setdefault("tags", []).extend(
        {"name": d.name, "description": f"{d.label or d.name} records of this workspace, typed."}
        for d in definitions
        if d.name not in known
    )
    return document


def _drop_dangling_links(paths: dict[str, Any]) -> None:
    """Links may only name operations that exist (a route table without PUT has no update_<entity>)."""
    ids = {op.get("operationId") for item in paths.values() for op in item.values() if isinstance(op, dict)}
    for item in paths.values():
        for op in item.values():
            for response in op.get("responses", {}).values() if isinstance(op, dict) else ():
                links = response.get("links")
                if links:
                    response["links"] = {k: v for k, v in links.items() if v.get("operationId") in ids}
                    if not response["links"]:
                        del response["links"]
