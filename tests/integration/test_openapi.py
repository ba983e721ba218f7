"""GET /api/openapi and GET /api/schema/endpoints: a valid OpenAPI 3.0 document, typed per entity for a
signed-in caller, and an endpoint map that always agrees with it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV30SpecValidator

ERROR_REF = "#/components/schemas/Error"
GRAPHQL_REF = "#/components/schemas/GraphQLResponse"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


async def test_anonymous_document_is_valid_openapi_30(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.get("/api/openapi")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.0.3"
    validate(document, cls=OpenAPIV30SpecValidator)
    tags = {tag["name"]: tag for tag in document["tags"]}
    assert {"records", "auth", "description"} <= set(tags) and tags["records"]["description"]
    # No workspace data for an anonymous caller.
    assert "/api/records/contact" not in document["paths"]
    assert "Contact" not in document["components"]["schemas"]
    # Every route FastAPI knows is documented.
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                assert method.lower() in document["paths"][route.path_format], (method, route.path_format)


async def test_every_operation_has_summary_and_error_envelope(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi")).json()
    operation_ids = [op["operationId"] for _, _, op in _operations(document)]
    assert len(operation_ids) == len(set(operation_ids))
    assert "HTTPValidationError" not in str(document)
    for method, path, op in _operations(document):
        assert op.get("summary"), (method, path)
        if "422" in op["responses"]:  # only a blocking webhook's veto, never FastAPI's validation error
            assert "webhook" in op["responses"]["422"]["description"], (method, path)
        errors = {code: r for code, r in op["responses"].items() if code.startswith(("4", "5"))}
        if path not in ("/api/health", "/api/ready"):  # these touch no workspace: no auth, no limits
            assert {"400", "401", "429"} <= set(errors), (method, path)
        for code, response in errors.items():
            # GraphQL answers errors in its own shape (errors[].extensions.code), except the body-size limit.
            ref = GRAPHQL_REF if path == "/api/graphql" and code != "413" else ERROR_REF
            assert response["content"]["application/json"]["schema"] == {"$ref": ref}, (method, path, code)
    records = document["paths"]["/api/records/{entity}/{record_id}"]
    assert {"401", "403", "404", "429", "503"} <= set(records["get"]["responses"])
    assert "Retry-After" in records["get"]["responses"]["429"]["headers"]
    ok_headers = records["get"]["responses"]["200"]["headers"]
    assert {"ETag", "X-Request-ID", "X-RateLimit-Remaining"} <= set(ok_headers)
    assert ok_headers["X-Request-ID"] == {"$ref": "#/components/headers/X-Request-ID"}
    assert set(document["components"]["headers"]) >= {"X-Request-ID", "Retry-After", "X-RateLimit-Reset"}
    assert {"409", "413"} <= set(document["paths"]["/api/records/{entity}"]["post"]["responses"])
    for method in ("put", "patch", "delete"):
        if method in records:
            assert "412" in records[method]["responses"]
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]


async def test_security_schemes_and_public_operations(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKeyAuth"]["scheme"] == "bearer"
    assert "hari_" in schemes["apiKeyAuth"]["description"]
    assert document["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    paths = document["paths"]
    assert paths["/api/auth/login"]["post"]["security"] == []
    assert paths["/api/health"]["get"]["security"] == []
    assert paths["/api/ready"]["get"]["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": ERROR_REF
    }
    assert "security" not in paths["/api/records/{entity}"]["get"]  # the global requirement applies
    assert {} in paths["/api/openapi"]["get"]["security"]  # optional: anonymous or signed in


async def test_list_operation_documents_the_query_language(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi")).json()
    params = {p["name"]: p for p in document["paths"]["/api/records/{entity}"]["get"]["parameters"]}
    for name in ("entity", "filter", "filter1", "filter5", "satisfy", "sort", "include", "page", "page_size"):
        assert name in params, name
    assert params["filter"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert params["filter"]["explode"] is True
    assert "filterN" in params["filter1"]["description"] or "filter2" in params["filter"]["description"]
    assert params["page_size"]["schema"]["maximum"] == 100
    assert params["satisfy"]["schema"]["enum"] == ["all", "any"]


async def test_signed_in_document_has_typed_entity_paths(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/openapi", headers=auth)
    assert response.status_code == 200
    document = response.json()
    validate(document, cls=OpenAPIV30SpecValidator)
    schemas = document["components"]["schemas"]
    for name in ("Contact", "ContactInput", "ContactUpdate", "ContactPage", "Company", "Deal"):
        assert name in schemas, name
    contact_input = schemas["ContactInput"]
    assert contact_input["required"] == ["first_name"]
    assert contact_input["additionalProperties"] is False
    assert contact_input["properties"]["email_address"]["format"] == "email"
    assert "referral" in contact_input["properties"]["source"]["enum"]
    assert contact_input["properties"]["company_id"]["pattern"] == "^[0-9a-fA-F]{24}$"

    paths = document["paths"]
    create = paths["/api/records/contact"]["post"]
    assert create["operationId"] == "create_contact"
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ContactInput"
    }
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Contact"
    }
    listing = paths["/api/records/contact"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ContactPage"
    }
    assert all(p["name"] != "entity" for p in listing["parameters"])
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"first_name,asc", "_score,desc"} <= set(params["sort"]["schema"]["items"]["enum"])
    filter_pattern = params["filter"]["schema"]["items"]["pattern"]
    assert re.match(filter_pattern, "source,eq,website") and re.match(filter_pattern, "_score,gt,20")
    assert not re.match(filter_pattern, "nosuch,eq,1") and not re.match(filter_pattern, "source,like,x")
    assert re.match(params["include"]["schema"]["pattern"], "first_name,last_name")
    assert schemas["ContactInput"]["properties"]["first_name"]["minLength"] == 1
    assert paths["/api/records/contact/bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "items"
    ] == {"$ref": "#/components/schemas/ContactInput"}
    one = paths["/api/records/contact/{record_id}"]
    assert one["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ContactUpdate")
    # The generic paths stay documented next to the typed ones.
    assert "/api/records/{entity}" in paths


async def test_document_follows_schema_changes(client: httpx.AsyncClient, app: FastAPI, auth: dict[str, str]) -> None:
    first = (await client.get("/api/openapi", headers=auth)).json()
    assert "/api/records/project" not in first["paths"]
    # Define an entity the way the service layer does, then announce the change.
    from storage.documents import EntityDefinition

    runtime = app.state.runtime
    ws = await runtime.storage.workspace(runtime.settings.default_workspace)
    await (
        ws.model(EntityDefinition)
        .model_validate(
            {"name": "project", "label": "Project", "fields": [{"name": "title", "type": "string", "required": True}]}
        )
        .insert()
    )
    # Names that clash with other routes' operation ids (list_users) or with components (Error) get their own.
    for name in ("users", "error"):
        await (
            ws.model(EntityDefinition)
            .model_validate({"name": name, "fields": [{"name": "note", "type": "text"}]})
            .insert()
        )
    ws.schema_changed()
    second = (await client.get("/api/openapi", headers=auth)).json()
    assert "/api/records/project" in second["paths"]
    assert second["components"]["schemas"]["ProjectInput"]["required"] == ["title"]
    validate(second, cls=OpenAPIV30SpecValidator)
    operation_ids = [op["operationId"] for _, _, op in _operations(second)]
    assert len(operation_ids) == len(set(operation_ids))
    assert second["paths"]["/api/records/users"]["get"]["operationId"] == "list_users_records"
    assert second["paths"]["/api/users"]["get"]["operationId"] == "list_users"
    assert "ErrorRecord" in second["components"]["schemas"]
    assert second["components"]["schemas"]["Error"]["required"] == ["error"]


async def test_bad_credential_is_401_not_a_silent_generic_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_endpoint_map_matches_the_document(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for headers in ({}, auth):
        document = (await client.get("/api/openapi", headers=headers)).json()
        response = await client.get("/api/schema/endpoints", headers=headers)
        assert response.status_code == 200
        endpoints = response.json()
        expected = {(m.upper(), p, op["summary"]) for m, p, op in _operations(document)}
        assert {(e["method"], e["path"], e["summary"]) for e in endpoints} == expected
        assert len(endpoints) == len(expected)
    by_key = {(e["method"], e["path"]): e for e in endpoints}
    create = by_key[("POST", "/api/records/contact")]["body_schema"]
    assert create["required"] == ["first_name"]  # references are inlined: self-contained for agents and CLIs
    assert "$ref" not in str(create)
    assert by_key[("GET", "/api/records/contact")]["body_schema"] is None
    login_body = by_key[("POST", "/api/auth/login")]["body_schema"]
    assert {"email", "password"} <= set(login_body["properties"])


async def test_swagger_ui_and_its_assets_are_served_locally(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "http" not in page.text.replace('charset="UTF-8"', "")  # no CDN: every asset is ours
    for asset in ("/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/docs/hari-init.js"):
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 100
    missing = await client.get("/api/docs/../../etc/passwd")
    assert missing.status_code == 404
    unknown = await client.get("/api/docs/swagger-ui.js.map")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


async def test_create_links_to_the_new_record(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """Links tell tools (Swagger UI, schemathesis' stateful phase) that the created id feeds get/update/delete."""
    document = (await client.get("/api/openapi", headers=auth)).json()
    links = document["paths"]["/api/records/contact"]["post"]["responses"]["201"]["links"]
    operation_ids = {op["operationId"] for _, _, op in _operations(document)}
    assert links["GetContact"] == {**links["GetContact"], "operationId": "get_contact"}
    assert links["GetContact"]["parameters"] == {"record_id": "$response.body#/id"}
    assert {link["operationId"] for link in links.values()} <= operation_ids
