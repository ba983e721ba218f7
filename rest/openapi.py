"""The OpenAPI 3.0 document, built from FastAPI's route table, and the endpoint map derived from it.

Every route is described automatically: FastAPI's 3.1 output is downgraded to 3.0.3, its 422
responses (never sent: invalid input is 400 here) are replaced by the error envelope for every
status an operation can return, the security schemes are added, and the records list gets its
query language (``filter``, ``filterN``, ``satisfy``, ``sort``, ``include``, paging) documented.
An authenticated caller's document also has per-entity paths and schemas. The endpoint map is
read from the same document, so the two never disagree.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from rest.deps import get_context
from rest.openapi_convert import to_openapi_30
from rest.openapi_entities import RECORDS_PREFIX, add_entity_paths
from storage.documents import EntityDefinition

JSON = "application/json"
METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
DESCRIPTION = """One REST API over a CRM's dynamic entities (contact, company, deal and any entity an admin defines).

Authenticate with `Authorization: Bearer <token>`: an access token from `POST /api/auth/login`, or a `hari_` API key
(which acts with the permissions of the user who created it). Every error has the same envelope
(`components/schemas/Error`). Fetch this document with your token to get typed paths and schemas for each entity
of your workspace (`/api/records/contact` with `Contact`, `ContactInput`, ...); anonymously it is generic.
"""

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Access token from POST /api/auth/login (expires after `expires_in` seconds; "
        "renew with POST /api/auth/refresh).",
    },
    "apiKeyAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "hari_ API key",
        "description": "An API key from POST /api/settings/api-keys, sent as `Authorization: Bearer hari_...`. "
        "It has the current permissions of the user who created it.",
    },
}
AUTHENTICATED: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyAuth": []}]
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{}, *AUTHENTICATED]

# Operations that use the request context but need no credential (login itself, token refresh).
PUBLIC_OPERATIONS = frozenset({("post", "/api/auth/login"), ("post", "/api/auth/refresh")})
# Operations that touch no workspace (no authentication, no rate limit), with the errors they can still return.
CONTEXT_FREE: dict[tuple[str, str], tuple[int, ...]] = {("get", "/api/health"): (), ("get", "/api/ready"): (503,)}

ERROR_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "The one error envelope of the API, for every 4xx and 5xx.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable, machine-readable.", "example": "bad_request"},
                    "message": {"type": "string", "description": "For humans."},
                    "details": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}},
                },
            }
        },
    },
    "ErrorDetail": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}

GRAPHQL_PATH = "/api/graphql"
GRAPHQL_SCHEMAS: dict[str, Any] = {
    "GraphQLResponse": {
        "type": "object",
        "description": "A GraphQL response. Errors carry the REST error `code` in `extensions.code`.",
        "properties": {
            "data": {"type": "object", "nullable": True, "additionalProperties": True},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/GraphQLError"}},
        },
    },
    "GraphQLError": {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string"},
            "path": {"type": "array", "items": {}},
            "locations": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
            "extensions": {
                "type": "object",
                "additionalProperties": True,
                "properties": {
                    "code": {"type": "string"},
                    "details": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}},
                },
            },
        },
    },
}
_GRAPHQL_QUERY_PARAMETER = {
    "name": "query",
    "in": "query",
    "required": False,
    "description": "A GraphQL query (not a mutation) to run; without it the page is GraphiQL.",
    "schema": {"type": "string"},
}

HEADERS: dict[str, Any] = {
    "X-Request-ID": {
        "description": "The request's id (yours, when you sent a valid `X-Request-ID`); every log line carries it.",
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {"description": "Requests allowed in the window.", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the window.", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Unix time when the window resets.", "schema": {"type": "integer"}},
    "Retry-After": {"description": "Seconds until a retry can succeed.", "schema": {"type": "integer"}},
}
_RATE = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


_RATE_HEADERS = _header_refs("Retry-After", *_RATE)
ERROR_RESPONSES: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Invalid input; `details` names each bad field or parameter.", {}),
    401: (
        "Missing, malformed, expired or revoked credential.",
        {"WWW-Authenticate": {"description": "Always `Bearer`.", "schema": {"type": "string"}}},
    ),
    403: ("Your role does not allow this operation.", {}),
    404: ("Unknown workspace, entity or record (a malformed id is 404 too).", {}),
    409: ("A unique field already holds this value, or the request conflicts with existing data.", {}),
    412: ("`If-Match` does not match the current ETag: the resource changed since you read it.", {}),
    413: ("The request body is larger than the limit.", {}),
    422: ("A blocking webhook (a pre_save / pre_delete subscription) refused the write (`hook_rejected`).", {}),
    429: ("Rate limited: retry after `Retry-After` seconds.", _RATE_HEADERS),
    502: ("A blocking webhook could not be reached, so the write was not made (`hook_unreachable`).", {}),
    503: ("The database is not reachable or busy; try again shortly.", _header_refs("Retry-After")),
}

# The records query language, documented on every list operation of records.
_FILTER_HELP = (
    "`field,op,value`. Operators: eq, neq, gt, gte, lt, lte, cs (contains), sw (starts with), ew (ends with), "
    "in, nin, bt (between: `a,b`), is (`null` / `not_null`). The value is everything after the second comma; "
    "in/nin/bt split it on commas. Values are coerced by the field's type; cs/sw/ew are case-insensitive and "
    "literal. An unknown field or operator is a 400 naming it."
)
LIST_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "filter",
        "in": "query",
        "required": False,
        "description": "A filter, " + _FILTER_HELP + " Repeat `filter` (form style, exploded: "
        "`?filter=a,eq,1&filter=b,gt,2`) or use `filter1`, `filter2`, ... for more; all are ANDed "
        "unless `satisfy=any`.",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string"}},
        "example": ["source,eq,website"],
    },
    *(
        {
            "name": f"filter{n}",
            "in": "query",
            "required": False,
            "description": f"Filter number {n}, same syntax as `filter`. Any `filterN` (N = 1, 2, 3, ...) is accepted; "
            "the first five are listed here because OpenAPI cannot describe a pattern of names.",
            "schema": {"type": "string"},
            **({"example": "_score,gt,20"} if n == 1 else {}),
        }
        for n in range(1, 6)
    ),
    {
        "name": "satisfy",
        "in": "query",
        "required": False,
        "description": "`all` (default) ANDs the filters, `any` ORs them.",
        "schema": {"type": "string", "enum": ["all", "any"], "default": "all"},
    },
    {
        "name": "sort",
        "in": "query",
        "required": False,
        "description": "`field,asc|desc`. Repeat `sort` or use `sort1`, `sort2`, ... for more keys; the id breaks "
        "ties so pages are stable.",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string"}},
        "example": ["created_at,desc"],
    },
    *(
        {
            "name": f"sort{n}",
            "in": "query",
            "required": False,
            "description": f"Sort key number {n}, same syntax as `sort`.",
            "schema": {"type": "string"},
        }
        for n in range(1, 4)
    ),
    {
        "name": "include",
        "in": "query",
        "required": False,
        "description": "Comma-separated fields to return (plus `id`), e.g. `first_name,last_name`.",
        "schema": {"type": "string"},
        "example": "first_name,last_name,email_address",
    },
    {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "Page number, from 1.",
        "schema": {"type": "integer", "minimum": 1, "default": 1},
    },
    {
        "name": "page_size",
        "in": "query",
        "required": False,
        "description": "Records per page, 1 to 100.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
    },
]


TAG_DESCRIPTIONS = {
    "records": "CRUD on any entity's records: `/api/records/{entity}`. Typed per-entity tags appear when signed in.",
    "schema": "Entity definitions: fields, types, scoring rules.",
    "auth": "Login, token refresh and logout; the current user.",
    "users": "Users of the workspace (admins).",
    "api-keys": "`hari_` API keys: shown once, stored hashed.",
    "webhooks": "Subscriptions to pre_save, post_save, pre_delete and post_delete, and their delivery log.",
    "graphql": "The same operations in GraphQL; GraphiQL at GET /api/graphql.",
    "description": "This document, the endpoint map and Swagger UI (`/api/docs`).",
    "health": "Liveness and readiness.",
}

_ETAG = {
    "ETag": {
        "description": "The record's version; send it as `If-Match` to write only if unchanged.",
        "schema": {"type": "string"},
    }
}
# Success headers of the records operations: (method, path) -> headers of the 2xx response.
RECORD_HEADERS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", RECORDS_PREFIX + "/{record_id}"): _ETAG,
    ("put", RECORDS_PREFIX + "/{record_id}"): _ETAG,
    ("patch", RECORDS_PREFIX + "/{record_id}"): _ETAG,
    ("post", RECORDS_PREFIX): {
        **_ETAG,
        "Location": {"description": "Path of the new record.", "schema": {"type": "string"}},
        "Idempotent-Replayed": {
            "description": "`true` when this is the stored answer to an earlier request with the same "
            "`Idempotency-Key`.",
            "schema": {"type": "string"},
        },
    },
}


def _uses_context(dependant: Dependant) -> bool:
    return dependant.call is get_context or any(_uses_context(d) for d in dependant.dependencies)


def _route_facts(app: FastAPI) -> tuple[dict[tuple[str, str], Any], dict[str, str]]:
    """(method, path) -> route, and FastAPI's generated operation ids -> readable ones (the function names)."""
    routes: dict[tuple[str, str], Any] = {}
    names: dict[str, int] = {}
    for route in iter_route_contexts(app.routes):  # FastAPI 0.165: included routers are nested contexts
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                routes[(method.lower(), route.path_format)] = route
            names[route.name] = names.get(route.name, 0) + 1
    renames: dict[str, str] = {}
    for (method, _path), route in routes.items():
        unique = route.name if names[route.name] == 1 else None
        if unique is None or len(route.methods) > 1:
            unique = f"{route.name}_{method}"
        renames[f"{route.unique_id}|{method}"] = unique
    return routes, renames


def _error_response(status: int) -> dict[str, Any]:
    description, headers = ERROR_RESPONSES[status]
    response: dict[str, Any] = {
        "description": description,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = copy.deepcopy(headers)
    return response


def _error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can return. Every operation that opens a workspace (the REST context,
    or GraphQL's own) can fail authentication, permission, workspace lookup, rate limit and database."""
    if (method, path) in CONTEXT_FREE:
        return list(CONTEXT_FREE[(method, path)])
    statuses = [400, 401, 403, 404, 429, 503]
    if "requestBody" in operation:
        statuses.append(413)
        if method in ("post", "put", "patch"):
            statuses.append(409)
    if method in ("put", "patch", "delete"):
        statuses.append(412)
    if path.startswith(RECORDS_PREFIX) and not path.endswith("/bulk") and method != "get":
        statuses += [422, 502]  # blocking webhooks run before single-record writes
    return sorted(set(statuses))


def _merge_parameters(operation: dict[str, Any], extra: Sequence[dict[str, Any]]) -> None:
    """Add (or replace, by name) the documented query parameters; path parameters stay first."""
    names = {p["name"] for p in extra}
    kept = [p for p in operation.get("parameters", []) if not (p.get("in") == "query" and p["name"] in names)]
    operation["parameters"] = [*kept, *copy.deepcopy(list(extra))]


def build_generic(app: FastAPI) -> dict[str, Any]:
    """The document every caller gets (no workspace data), as OpenAPI 3.0.3."""
    doc = to_openapi_30(app.openapi())
    doc["info"]["description"] = DESCRIPTION
    routes, renames = _route_facts(app)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(copy.deepcopy(ERROR_SCHEMAS))
    if GRAPHQL_PATH in doc.get("paths", {}):
        schemas.update(copy.deepcopy(GRAPHQL_SCHEMAS))
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    components["headers"] = copy.deepcopy(HEADERS)
    doc["security"] = copy.deepcopy(AUTHENTICATED)
    used: set[str] = set()
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            route = routes.get((method, path))
            with_context = route is not None and _uses_context(route.dependant)
            readable = renames.get(f"{operation.get('operationId')}|{method}")
            if readable and readable not in used:
                operation["operationId"] = readable
            used.add(operation["operationId"])
            if path.startswith(RECORDS_PREFIX) and path.count("/") == 3 and method == "get":
                _merge_parameters(operation, LIST_PARAMETERS)
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for code, response in responses.items():
                if code.startswith("2") and (method, path) in RECORD_HEADERS:
                    response.setdefault("headers", {}).update(copy.deepcopy(RECORD_HEADERS[(method, path)]))
            for status in _error_statuses(method, path, operation):
                responses.setdefault(str(status), _error_response(status))
            for code, response in responses.items():
                names = ("X-Request-ID", *_RATE) if code.startswith("2") and (method, path) not in CONTEXT_FREE else ()
                response.setdefault("headers", {}).update(_header_refs(*(names or ("X-Request-ID",))))
            if path == GRAPHQL_PATH:
                _describe_graphql(method, operation)
            if "security" not in operation:
                if (method, path) in CONTEXT_FREE or (method, path) in PUBLIC_OPERATIONS:
                    operation["security"] = []
                elif not with_context:  # reads credentials itself (GraphQL): optional, errors in its body
                    operation["security"] = copy.deepcopy(OPTIONAL_AUTH)
    _add_tags(doc)
    return doc


def _add_tags(doc: dict[str, Any]) -> None:
    """The tags in use, in order of first use, described where we know them (Swagger UI shows the descriptions)."""
    names: list[str] = []
    for item in doc.get("paths", {}).values():
        for method in METHODS:
            for tag in item.get(method, {}).get("tags", []):
                if tag not in names:
                    names.append(tag)
    doc["tags"] = [
        {"name": n, **({"description": TAG_DESCRIPTIONS[n]} if n in TAG_DESCRIPTIONS else {})} for n in names
    ]


def _describe_graphql(method: str, operation: dict[str, Any]) -> None:
    """GraphQL answers in its own shape, errors included (only the body-size limit answers before it)."""
    graphql = {"schema": {"$ref": "#/components/schemas/GraphQLResponse"}}
    for code, response in operation.get("responses", {}).items():
        if code == "413":
            continue
        content = response.setdefault("content", {})
        if code.startswith("2") and method == "get":
            content[JSON] = copy.deepcopy(graphql)  # the page itself stays text/html
        else:
            response["content"] = {JSON: copy.deepcopy(graphql)}
    if method == "get":
        _merge_parameters(operation, [_GRAPHQL_QUERY_PARAMETER])


def build_for_workspace(generic: dict[str, Any], definitions: Sequence[EntityDefinition]) -> dict[str, Any]:
    """The generic document plus typed per-entity paths and schemas of one workspace."""
    return add_entity_paths(copy.deepcopy(generic), definitions)


def _resolve(schema: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Inline ``$ref``s so each map entry is self-contained; a recursive reference stays a ``$ref``."""
    if isinstance(schema, list):
        return [_resolve(s, schemas, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name in seen or name not in schemas:
            return schema
        return _resolve(schemas[name], schemas, (*seen, name))
    return {key: _resolve(value, schemas, seen) for key, value in schema.items()}


def endpoint_map(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{method, path, summary, body_schema}]``, one per operation of ``document``, in its order."""
    schemas = document.get("components", {}).get("schemas", {})
    entries = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema")
            entries.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "body_schema": _resolve(body, schemas) if body is not None else None,
                }
            )
    return entries


class DocumentCache:
    """Built documents and maps: the generic one per route table, one per workspace schema version."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._generic: tuple[Any, dict[str, Any]] | None = None
        self._entries: OrderedDict[Any, tuple[dict[str, Any], list[dict[str, Any]]]] = OrderedDict()

    def generic(self, app: FastAPI) -> dict[str, Any]:
        version = len(app.routes), id(app.openapi())
        if self._generic is None or self._generic[0] != version:
            self._generic = (version, build_generic(app))
            self._entries.clear()
        return self._generic[1]

    def get(
        self, app: FastAPI, key: Any, definitions: Sequence[EntityDefinition] | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        generic = self.generic(app)
        key = (key if definitions is not None else None, id(generic))
        found = self._entries.get(key)
        if found is None:
            document = generic if definitions is None else build_for_workspace(generic, definitions)
            found = (document, endpoint_map(document))
            self._entries[key] = found
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return found


def cache_of(app: FastAPI) -> DocumentCache:
    cache = getattr(app.state, "openapi_cache", None)
    if cache is None:
        cache = app.state.openapi_cache = DocumentCache()
    return cache
