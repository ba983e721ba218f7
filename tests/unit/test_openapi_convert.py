"""The OpenAPI 3.1 -> 3.0.3 downgrade of FastAPI's schemas."""

from __future__ import annotations

import copy

from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV30SpecValidator

from rest.openapi_convert import convert_schema, to_openapi_30


def test_optional_becomes_nullable() -> None:
    assert convert_schema({"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Name"}) == {
        "type": "string",
        "title": "Name",
        "nullable": True,
    }
    assert convert_schema({"type": ["integer", "null"]}) == {"type": "integer", "nullable": True}


def test_optional_reference_is_wrapped_because_ref_siblings_are_ignored_in_30() -> None:
    ref = {"$ref": "#/components/schemas/Thing"}
    assert convert_schema({"anyOf": [ref, {"type": "null"}]}) == {"allOf": [ref], "nullable": True}
    assert convert_schema({**ref, "description": "A thing"}) == {"description": "A thing", "allOf": [ref]}


def test_unions_keep_their_members() -> None:
    union = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
    assert convert_schema(union) == {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True}


def test_keywords_30_lacks() -> None:
    assert convert_schema({"const": "x"}) == {"enum": ["x"]}
    assert convert_schema({"type": "integer", "exclusiveMinimum": 0}) == {
        "type": "integer",
        "minimum": 0,
        "exclusiveMinimum": True,
    }
    assert convert_schema({"type": "string", "examples": ["a", "b"]}) == {"type": "string", "example": "a"}
    assert convert_schema({"type": "array", "prefixItems": [{"type": "string"}]}) == {"type": "array", "items": {}}
    assert convert_schema({"type": "object", "propertyNames": {"pattern": "^a"}}) == {"type": "object"}


def test_nested_schemas_are_converted() -> None:
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
        "additionalProperties": {"const": 1},
    }
    assert convert_schema(schema) == {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string", "nullable": True}}},
        "additionalProperties": {"enum": [1]},
    }


def test_whole_document_validates_and_input_is_untouched() -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "summary": "s"},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": {
            "/x/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "q", "in": "query", "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/M"}}},
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {"M": {"type": "object", "properties": {"n": {"type": ["number", "null"], "examples": [1]}}}}
        },
    }
    original = copy.deepcopy(document)
    converted = to_openapi_30(document)
    assert document == original
    assert converted["openapi"] == "3.0.3" and "jsonSchemaDialect" not in converted
    assert converted["info"]["description"] == "s" and "summary" not in converted["info"]
    assert converted["components"]["schemas"]["M"]["properties"]["n"] == {
        "type": "number",
        "example": 1,
        "nullable": True,
    }
    validate(converted, cls=OpenAPIV30SpecValidator)
