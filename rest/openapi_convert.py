"""Downgrade FastAPI's OpenAPI 3.1 document to OpenAPI 3.0.3.

The overview promises OpenAPI 3.0, and many generators and Postman still read only 3.0. FastAPI
emits 3.1 (JSON Schema 2020-12), so every schema is rewritten to the 3.0 dialect: ``anyOf [X, null]``
becomes ``nullable``, ``examples`` becomes ``example``, ``const`` becomes a one-value ``enum``,
numeric ``exclusiveMinimum`` becomes the boolean form, and keywords 3.0 lacks are dropped.
"""

from __future__ import annotations

import copy
from typing import Any

OPENAPI_30 = "3.0.3"

# JSON Schema keywords OpenAPI 3.0's schema object does not know; dropping them only loosens a schema.
_UNSUPPORTED = frozenset(
    {
        "$schema",
        "$id",
        "$anchor",
        "$defs",
        "$comment",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
        "dependentRequired",
        "dependentSchemas",
        "if",
        "then",
        "else",
        "patternProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "prefixItems",
        "contains",
        "minContains",
        "maxContains",
        "const",
        "examples",
    }
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMA_ONE = ("items", "not", "additionalProperties")


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


def convert_schema(schema: Any) -> Any:
    """One JSON Schema 2020-12 (as FastAPI writes it) to an OpenAPI 3.0 schema object."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    nullable = bool(schema.get("nullable"))
    for key, value in schema.items():
        if key in _SUBSCHEMA_LISTS:
            members = [m for m in value if not _is_null(m)]
            nullable = nullable or len(members) < len(value)
            if not members:
                continue
            if len(members) == 1 and key != "allOf":
                # anyOf [X, null] -> X + nullable; a $ref cannot carry siblings in 3.0, so wrap it.
                single = convert_schema(members[0])
                if "$ref" in single:
                    out["allOf"] = [single]
                else:
                    out.update({k: v for k, v in single.items() if k not in out})
            else:
                out[key] = [convert_schema(m) for m in members]
        elif key in _SUBSCHEMA_ONE:
            out[key] = convert_schema(value) if isinstance(value, dict) else value
        elif key == "properties":
            out[key] = {name: convert_schema(sub) for name, sub in value.items()}
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            nullable = nullable or len(types) < len(value)
            if len(types) == 1:
                out["type"] = types[0]
            elif types:
                out["anyOf"] = [{"type": t} for t in types]
        elif key == "type" and value == "null":
            nullable = True
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[bound] = value
            out[key] = True
        elif key == "const":
            out["enum"] = [value]
        elif key == "examples":
            if isinstance(value, list) and value:
                out.setdefault("example", value[0])
        elif key not in _UNSUPPORTED:
            out[key] = value
    if "prefixItems" in schema and "items" not in out:
        out["type"] = "array"
        out["items"] = {}
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {}
    if "$ref" in out and len(out) > 1:
        # 3.0 ignores siblings of $ref: keep them by wrapping the reference.
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}]
    if nullable:
        if "$ref" in out:
            out = {"allOf": [{"$ref": out["$ref"]}]}
        out["nullable"] = True
    return out


def _convert_media(content: dict[str, Any]) -> None:
    for media in content.values():
        if "schema" in media:
            media["schema"] = convert_schema(media["schema"])


def _convert_parameter(param: dict[str, Any]) -> None:
    if "schema" in param:
        param["schema"] = convert_schema(param["schema"])
    if "content" in param:
        _convert_media(param["content"])


def _convert_operation(operation: dict[str, Any]) -> None:
    for param in operation.get("parameters", []):
        _convert_parameter(param)
    body = operation.get("requestBody")
    if isinstance(body, dict) and "content" in body:
        _convert_media(body["content"])
    for response in operation.get("responses", {}).values():
        if "content" in response:
            _convert_media(response["content"])
        for header in response.get("headers", {}).values():
            _convert_parameter(header)


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def to_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """A converted deep copy of an OpenAPI 3.1 document; the input is left untouched."""
    doc = copy.deepcopy(document)
    doc["openapi"] = OPENAPI_30
    for key in ("jsonSchemaDialect", "webhooks"):
        doc.pop(key, None)
    info = doc.setdefault("info", {})
    summary = info.pop("summary", None)
    if summary and "description" not in info:
        info["description"] = summary
    if isinstance(info.get("license"), dict):
        info["license"].pop("identifier", None)
    for item in doc.get("paths", {}).values():
        for param in item.get("parameters", []):
            _convert_parameter(param)
        for method in _METHODS:
            if method in item:
                _convert_operation(item[method])
    components = doc.get("components", {})
    components["schemas"] = {name: convert_schema(s) for name, s in components.get("schemas", {}).items()}
    for response in components.get("responses", {}).values():
        if "content" in response:
            _convert_media(response["content"])
    for param in components.get("parameters", {}).values():
        _convert_parameter(param)
    return doc
