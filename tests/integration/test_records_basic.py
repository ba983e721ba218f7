"""The path from HTTP through the service layer to the database and back."""

from __future__ import annotations

import httpx


async def test_create_then_read_then_list(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    created = await client.post("/api/records/company", json={"name": "Acme"}, headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "Acme"
    assert len(body["id"]) == 24
    assert created.headers["location"] == f"/api/records/company/{body['id']}"

    fetched = await client.get(created.headers["location"], headers=auth)
    assert fetched.status_code == 200
    assert fetched.json() == body

    listed = await client.get("/api/records/company?page=1&page_size=25", headers=auth)
    assert listed.status_code == 200
    assert listed.json() == {"data": [body], "meta": {"page": 1, "page_size": 25, "total": 1}}


async def test_records_need_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/records/contact")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_malformed_id_is_404_not_500(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/records/contact/not-an-id", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "record_not_found"
