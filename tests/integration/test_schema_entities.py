"""The schema API: define entities at run time, evolve them safely on populated data, delete them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pymongo import AsyncMongoClient

from gateway.app import create_app
from gateway.config import Settings
from gateway.embedded_db import EmbeddedFerretDB
from gateway.services import entities
from tests.support.identity import user_auth

Auth = dict[str, str]
URL = "/api/schema/entities"

TICKET: dict[str, Any] = {
    "name": "ticket",
    "label": "Ticket",
    "fields": [
        {"name": "subject", "type": "string", "required": True},
        {"name": "priority", "type": "select", "options": ["low", "high"]},
        {"name": "votes", "type": "integer"},
        {"name": "contact_id", "type": "reference", "ref": "contact"},
    ],
    "scoring": [{"field": "priority", "op": "eq", "value": "high", "points": 50}],
}


def with_fields(*fields: dict[str, Any], scoring: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        **TICKET,
        "fields": [*TICKET["fields"], *fields],
        "scoring": TICKET["scoring"] if scoring is None else scoring,
    }


def replace_field(name: str, **changes: Any) -> dict[str, Any]:
    fields = [{**f, **changes} if f["name"] == name else f for f in TICKET["fields"]]
    return {**TICKET, "fields": fields}


@pytest.fixture
async def ticket(client: httpx.AsyncClient, auth: Auth) -> dict[str, Any]:
    response = await client.post(URL, json=TICKET, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def add(client: httpx.AsyncClient, auth: Auth, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/records/ticket", json=data, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def put(client: httpx.AsyncClient, auth: Auth, spec: dict[str, Any], query: str = "") -> httpx.Response:
    return await client.put(f"{URL}/ticket{query}", json=spec, headers=auth)


async def test_seeded_crm_schema(client: httpx.AsyncClient, auth: Auth) -> None:
    listed = await client.get(URL, headers=auth)
    assert listed.status_code == 200
    assert [e["name"] for e in listed.json()["data"]] == ["company", "contact", "deal"]
    contact = (await client.get(f"{URL}/contact", headers=auth)).json()
    fields = {f["name"]: f for f in contact["fields"]}
    assert set(fields) == {"first_name", "last_name", "email_address", "phone", "source", "company_id"}
    assert fields["company_id"]["type"] == "reference" and fields["company_id"]["ref"] == "company"
    assert fields["email_address"]["unique"] is True
    assert contact["scoring"] and contact["created_at"].endswith("Z")
    assert (await client.get(f"{URL}/nothing", headers=auth)).status_code == 404


async def test_create_an_entity_and_use_it(client: httpx.AsyncClient, auth: Auth, ticket: dict[str, Any]) -> None:
    assert ticket["name"] == "ticket" and ticket["fields"][0]["name"] == "subject"
    assert (await client.get(f"{URL}/ticket", headers=auth)).json() == ticket
    record = await add(client, auth, subject="Printer on fire", priority="high", votes=3)
    assert record["_score"] == 50
    assert (await client.post(URL, json=TICKET, headers=auth)).status_code == 409


async def test_indexes_follow_the_definition(
    client: httpx.AsyncClient, auth: Auth, ferretdb: EmbeddedFerretDB, db_prefix: str
) -> None:
    spec = with_fields(
        {"name": "code", "type": "string", "unique": True}, {"name": "team", "type": "string", "indexed": True}
    )
    assert (await client.post(URL, json=spec, headers=auth)).status_code == 201
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ferretdb.url)
    try:
        collection = mongo[f"{db_prefix}_ws_default"]["rec_ticket"]
        names = set(await collection.index_information())
        assert {"s_created_at", "s_updated_at", "s__score", "u_code", "f_team"} <= names
        assert {"u_email_address", "f_company_id"} <= set(
            await mongo[f"{db_prefix}_ws_default"]["rec_contact"].index_information()
        )
        changed = with_fields({"name": "code", "type": "string"}, {"name": "team", "type": "string", "indexed": True})
        assert (await put(client, auth, changed)).status_code == 200
        names = set(await collection.index_information())
        assert "u_code" not in names and "f_team" in names
    finally:
        await mongo.close()


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({**TICKET, "name": "Ticket"}, "name"),
        ({**TICKET, "name": "a.b"}, "name"),
        ({**TICKET, "name": "x" * 41}, "name"),
        ({**TICKET, "name": "$where"}, "name"),
        (with_fields({"name": "a.b", "type": "string"}), "fields.4.name"),
        (with_fields({"name": "$gt", "type": "string"}), "fields.4.name"),
        (with_fields({"name": "_secret", "type": "string"}), "fields.4.name"),
        (with_fields({"name": "created_at", "type": "string"}), "fields.4.name"),
        (with_fields({"name": "x" * 65, "type": "string"}), "fields.4.name"),
        (with_fields({"name": "subject", "type": "string"}), "fields.4.name"),
        (with_fields({"name": "x", "type": "color"}), "fields.4.type"),
        (with_fields({"name": "x", "type": "select"}), "fields.4.options"),
        (with_fields({"name": "x", "type": "string", "options": ["a"]}), "fields.4.options"),
        (with_fields({"name": "x", "type": "reference"}), "fields.4.ref"),
        (with_fields({"name": "x", "type": "reference", "ref": "spaceship"}), "fields.4.ref"),
        (with_fields({"name": "x", "type": "integer", "default": "five"}), "fields.4.default"),
        (with_fields({"name": "x", "type": "json", "unique": True}), "fields.4.unique"),
        (with_fields({"name": "x", "type": "string", "colour": "red"}), "fields.4.colour"),
        (with_fields(scoring=[{"field": "nope", "op": "eq", "value": 1, "points": 1}]), "scoring.0"),
        (with_fields(scoring=[{"field": "votes", "op": "gt", "value": "many", "points": 1}]), "scoring.0"),
    ],
)
async def test_invalid_definitions_are_400_naming_the_problem(
    client: httpx.AsyncClient, auth: Auth, spec: dict[str, Any], field: str
) -> None:
    response = await client.post(URL, json=spec, headers=auth)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert [e["name"] for e in (await client.get(URL, headers=auth)).json()["data"]] == ["company", "contact", "deal"]


async def test_a_reference_to_itself_is_allowed(client: httpx.AsyncClient, auth: Auth) -> None:
    spec = {"name": "node", "fields": [{"name": "parent", "type": "reference", "ref": "node"}]}
    assert (await client.post(URL, json=spec, headers=auth)).status_code == 201
    root = (await client.post("/api/records/node", json={}, headers=auth)).json()
    child = await client.post("/api/records/node", json={"parent": root["id"]}, headers=auth)
    assert child.status_code == 201


async def test_safe_changes_on_a_populated_entity(
    client: httpx.AsyncClient, auth: Auth, ticket: dict[str, Any]
) -> None:
    old = await add(client, auth, subject="Old", priority="low", votes=1)
    spec = with_fields(
        {"name": "notes", "type": "text"},
        {"name": "status", "type": "select", "options": ["open", "closed"], "required": True, "default": "open"},
    )
    spec["fields"][1]["options"] = ["low", "high", "urgent"]  # an option added
    spec["scoring"] = [{"field": "priority", "op": "in", "value": "high,urgent", "points": 70}]
    response = await put(client, auth, spec)
    assert response.status_code == 200, response.text
    refreshed = (await client.get(f"/api/records/ticket/{old['id']}", headers=auth)).json()
    assert refreshed["status"] == "open"  # a new required field backfilled with its default
    assert refreshed["subject"] == "Old" and refreshed["_score"] == 0
    urgent = await add(client, auth, subject="New", priority="urgent")
    assert urgent["_score"] == 70 and urgent["status"] == "open"
    spec["fields"][0]["required"] = False  # subject made optional
    spec["fields"][2]["type"] = "number"  # integer widened to number
    assert (await put(client, auth, spec)).status_code == 200
    assert (await client.post("/api/records/ticket", json={"votes": 1.5}, headers=auth)).status_code == 201


async def test_scoring_change_rescores_existing_records(
    client: httpx.AsyncClient, auth: Auth, ticket: dict[str, Any]
) -> None:
    record = await add(client, auth, subject="A", votes=10)
    assert record["_score"] == 0
    spec = {**TICKET, "scoring": [{"field": "votes", "op": "gte", "value": 5, "points": 7}]}
    assert (await put(client, auth, spec)).status_code == 200
    assert (await client.get(f"/api/records/ticket/{record['id']}", headers=auth)).json()["_score"] == 7
    listed = await client.get("/api/records/ticket?filter=_score,eq,7", headers=auth)
    assert listed.json()["meta"]["total"] == 1


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (with_fields({"name": "due", "type": "date", "required": True}), "due"),
        (replace_field("priority", options=["high"]), "priority"),
        (replace_field("votes", type="string"), "votes"),
        (replace_field("votes", type="boolean"), "votes"),
        (replace_field("subject", unique=True), "subject"),
        (replace_field("contact_id", ref="company"), "contact_id"),
        (replace_field("votes", required=True), "votes"),
        ({**TICKET, "fields": [f for f in TICKET["fields"] if f["name"] != "priority"], "scoring": []}, "priority"),
    ],
)
async def test_changes_existing_data_violates_are_refused(
    client: httpx.AsyncClient, auth: Auth, ticket: dict[str, Any], spec: dict[str, Any], field: str
) -> None:
    contact = (await client.post("/api/records/contact", json={"first_name": "A"}, headers=auth)).json()
    await add(client, auth, subject="Same", priority="low", votes=2, contact_id=contact["id"])
    await add(client, auth, subject="Same")
    response = await put(client, auth, spec)
    assert response.status_code == 409, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert (await client.get(f"{URL}/ticket", headers=auth)).json() == ticket
    assert (
        await client.post("/api/records/ticket", json={"subject": "still", "priority": "low"}, headers=auth)
    ).status_code == 201


async def test_removing_a_field_with_data_needs_confirmation(
    client: httpx.AsyncClient, auth: Auth, ticket: dict[str, Any]
) -> None:
    record = await add(client, auth, subject="A", votes=3)
    spec = {**TICKET, "fields": [f for f in TICKET["fields"] if f["name"] != "votes"]}
    assert (await put(client, auth, spec)).status_code == 409
    assert (await put(client, auth, spec, "?confirm=true")).status_code == 200
    after = (await client.get(f"/api/records/ticket/{record['id']}", headers=auth)).json()
    assert "votes" not in after and after["subject"] == "A"
    assert (
        await client.patch(f"/api/records/ticket/{record['id']}", json={"votes": 1}, headers=auth)
    ).status_code == 400


async def test_rename_is_refused(client: httpx.AsyncClient, auth: Auth, ticket: dict[str, Any]) -> None:
    response = await put(client, auth, {**TICKET, "name": "issue"})
    assert response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "name"
    assert (await client.put(f"{URL}/nothing", json=TICKET, headers=auth)).status_code == 404


async def test_delete_needs_confirmation_when_records_exist(
    client: httpx.AsyncClient, auth: Auth, ticket: dict[str, Any]
) -> None:
    await add(client, auth, subject="A")
    refused = await client.delete(f"{URL}/ticket", headers=auth)
    assert refused.status_code == 409 and "confirm" in refused.json()["error"]["message"]
    assert (await client.get("/api/records/ticket", headers=auth)).json()["meta"]["total"] == 1
    assert (await client.delete(f"{URL}/ticket?confirm=true", headers=auth)).status_code == 204
    assert (await client.get("/api/records/ticket", headers=auth)).status_code == 404
    again = await client.post(URL, json=TICKET, headers=auth)  # the name is free again, without old records
    assert again.status_code == 201
    assert (await client.get("/api/records/ticket", headers=auth)).json()["meta"]["total"] == 0
    empty = {"name": "empty", "fields": []}
    assert (await client.post(URL, json=empty, headers=auth)).status_code == 201
    assert (await client.delete(f"{URL}/empty", headers=auth)).status_code == 204


async def test_a_referenced_entity_cannot_be_deleted(client: httpx.AsyncClient, auth: Auth) -> None:
    response = await client.delete(f"{URL}/company?confirm=true", headers=auth)
    assert response.status_code == 409
    assert {d["field"] for d in response.json()["error"]["details"]} == {"contact.company_id", "deal.company_id"}


async def test_only_admins_change_the_schema(client: httpx.AsyncClient, auth: Auth) -> None:
    editor = await user_auth(client, auth, "editor@example.com", "editor")
    assert (await client.get(URL, headers=editor)).status_code == 200
    assert (await client.post(URL, json=TICKET, headers=editor)).status_code == 403
    assert (await client.put(f"{URL}/contact", json={"name": "contact"}, headers=editor)).status_code == 403
    assert (await client.delete(f"{URL}/deal", headers=editor)).status_code == 403
    assert (await client.get(URL)).status_code == 401


async def test_another_gateway_process_sees_schema_changes(
    client: httpx.AsyncClient, auth: Auth, make_settings: Callable[..., Settings]
) -> None:
    other_app = create_app(make_settings())  # a second gateway on the same databases
    async with LifespanManager(other_app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            assert (await other.get("/api/records/ticket", headers=auth)).status_code == 404
            assert (await client.post(URL, json=TICKET, headers=auth)).status_code == 201
            await asyncio.sleep(entities.RECHECK_SECONDS + 0.1)
            response = await other.post("/api/records/ticket", json={"subject": "seen"}, headers=auth)
            assert response.status_code == 201, response.text
