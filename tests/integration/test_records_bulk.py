"""Bulk create, update and delete: per-item results, partial failure, limits, the same path as single writes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import Settings
from hooks.bus import RecordEvent
from tests.conftest import login

Auth = dict[str, str]


async def test_bulk_create_reports_each_item(app: FastAPI, client: httpx.AsyncClient, auth: Auth) -> None:
    events: list[RecordEvent] = []
    app.state.runtime.bus.on("post_save", events.append)
    items = [
        {"first_name": "Ada", "email_address": "ada@example.com"},
        {"last_name": "no first name"},
        {"first_name": "Twin", "email_address": "ada@example.com"},
        "not an object",
        {"first_name": "Bob", "nickname": "b"},
        {"first_name": "Cy", "source": "referral"},
    ]
    response = await client.post("/api/records/contact/bulk", json=items, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"total": 6, "succeeded": 2, "failed": 4}
    results = body["data"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [201, 400, 409, 400, 400, 201]
    assert results[0]["record"]["first_name"] == "Ada" and results[0]["id"] == results[0]["record"]["id"]
    assert results[1]["error"]["code"] == "validation_error"
    assert results[1]["error"]["details"][0]["field"] == "first_name"
    assert results[2]["error"]["details"][0]["field"] == "email_address"
    assert results[4]["error"]["details"][0]["field"] == "nickname"
    assert results[5]["record"]["_score"] == 15
    listed = (await client.get("/api/records/contact?sort=first_name,asc", headers=auth)).json()
    assert [r["first_name"] for r in listed["data"]] == ["Ada", "Cy"]
    assert len(events) == 2 and all(e.operation == "create" for e in events)


async def test_bulk_update_and_delete(client: httpx.AsyncClient, auth: Auth) -> None:
    made = await client.post("/api/records/company/bulk", json=[{"name": f"C{i}"} for i in range(3)], headers=auth)
    ids = [r["id"] for r in made.json()["data"]]
    updates = [
        {"id": ids[0], "industry": "rockets"},
        {"id": ids[1], "employees": "many"},
        {"industry": "no id"},
        {"id": "0" * 24, "industry": "ghost"},
        {"id": ids[2], "name": "Renamed", "domain": None},
    ]
    response = await client.put("/api/records/company/bulk", json=updates, headers=auth)
    assert response.status_code == 200
    results = response.json()["data"]
    assert [r["status"] for r in results] == [200, 400, 400, 404, 200]
    assert results[0]["record"]["industry"] == "rockets" and results[0]["record"]["name"] == "C0"
    assert results[1]["id"] == ids[1] and results[1]["error"]["details"][0]["field"] == "employees"
    assert results[3]["error"]["code"] == "record_not_found"
    assert results[4]["record"]["name"] == "Renamed"
    assert "industry" not in (await client.get(f"/api/records/company/{ids[1]}", headers=auth)).json()

    deleted = await client.request(
        "DELETE", "/api/records/company/bulk", json={"ids": [ids[0], "bogus", ids[0], ids[2]]}, headers=auth
    )
    assert deleted.status_code == 200
    results = deleted.json()["data"]
    assert [(r["status"], r["id"]) for r in results] == [(200, ids[0]), (404, "bogus"), (404, ids[0]), (200, ids[2])]
    assert results[0]["record"]["name"] == "C0"
    remaining = (await client.get("/api/records/company", headers=auth)).json()["data"]
    assert [r["id"] for r in remaining] == [ids[1]]


async def test_bulk_limits_and_shapes(client: httpx.AsyncClient, auth: Auth) -> None:
    too_many = await client.post("/api/records/company/bulk", json=[{"name": "x"}] * 1001, headers=auth)
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "payload_too_large"
    assert (await client.post("/api/records/company/bulk", json=[], headers=auth)).status_code == 400
    assert (await client.post("/api/records/company/bulk", json={"name": "x"}, headers=auth)).status_code == 400
    no_ids = await client.request("DELETE", "/api/records/company/bulk", json=["a"], headers=auth)
    assert no_ids.status_code == 400
    assert (await client.post("/api/records/nothing/bulk", json=[{}], headers=auth)).status_code == 404
    assert (await client.get("/api/records/company", headers=auth)).json()["meta"]["total"] == 0


async def test_bulk_of_a_thousand(client: httpx.AsyncClient, auth: Auth) -> None:
    response = await client.post(
        "/api/records/company/bulk", json=[{"name": f"Company {i:04}"} for i in range(1000)], headers=auth
    )
    assert response.status_code == 200
    assert response.json()["meta"] == {"total": 1000, "succeeded": 1000, "failed": 0}
    page = (await client.get("/api/records/company?page=10&page_size=100&sort=name,desc", headers=auth)).json()
    assert page["meta"]["total"] == 1000 and page["data"][-1]["name"] == "Company 0000"


async def test_each_bulk_request_counts_once_against_the_bulk_limit(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(rate_limit_bulk="2/minute"))
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            auth = {"Authorization": f"Bearer {await login(client)}"}
            for _ in range(2):
                many = [{"name": f"C{i}"} for i in range(5)]
                assert (await client.post("/api/records/company/bulk", json=many, headers=auth)).status_code == 200
            limited = await client.request("DELETE", "/api/records/company/bulk", json={"ids": ["x"]}, headers=auth)
            assert limited.status_code == 429 and "retry-after" in limited.headers
            assert (await client.post("/api/records/company", json={"name": "single"}, headers=auth)).status_code == 201
            assert (await client.get("/api/records/company", headers=auth)).json()["meta"]["total"] == 11
