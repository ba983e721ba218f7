"""Role checks on every endpoint family: anonymous 401, a role without the permission 403, the right role passes."""

from __future__ import annotations

import httpx
import pytest

from tests.support.identity import bearer, create_key, user_auth

ENTITY = {"name": "ticket", "label": "Ticket", "fields": [{"name": "title", "type": "string"}]}
HOOK = {"target_url": "http://127.0.0.1:9/hook", "entity": "contact", "event": "post_save"}


@pytest.fixture
async def roles(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "admin": auth,
        "editor": await user_auth(client, auth, "editor@example.com", "editor"),
        "viewer": await user_auth(client, auth, "viewer@example.com", "viewer"),
        "anonymous": {},
    }


async def _status(client: httpx.AsyncClient, method: str, path: str, headers: dict, body: object = None) -> int:
    response = await client.request(method, path, json=body, headers=headers)
    if response.status_code >= 400:
        expected = {401: "unauthorized", 403: "forbidden"}.get(response.status_code)
        if expected:
            assert response.json()["error"]["code"] == expected
    return response.status_code


async def test_records(client: httpx.AsyncClient, roles: dict) -> None:
    record = (await client.post("/api/records/company", json={"name": "Seed"}, headers=roles["admin"])).json()
    one = f"/api/records/company/{record['id']}"
    reads = [("GET", "/api/records/company", None), ("GET", one, None)]
    writes = [
        ("POST", "/api/records/company", {"name": "New"}),
        ("PUT", one, {"name": "Renamed"}),
        ("POST", "/api/records/company/bulk", [{"name": "Bulk"}]),
    ]
    for role, read_ok, write_ok in (("viewer", True, False), ("editor", True, True), ("admin", True, True)):
        for method, path, body in reads:
            assert (await _status(client, method, path, roles[role], body) < 400) is read_ok, (role, method, path)
        for method, path, body in writes:
            status = await _status(client, method, path, roles[role], body)
            assert (status < 400) is write_ok and (write_ok or status == 403), (role, method, path, status)
    for method, path, body in [*reads, *writes, ("DELETE", one, None)]:
        assert await _status(client, method, path, {}, body) == 401
    assert await _status(client, "DELETE", one, roles["viewer"]) == 403
    assert await _status(client, "DELETE", one, roles["editor"]) == 204


async def test_schema(client: httpx.AsyncClient, roles: dict) -> None:
    for role in ("viewer", "editor", "admin"):
        assert await _status(client, "GET", "/api/schema/entities", roles[role]) == 200
        assert await _status(client, "GET", "/api/schema/entities/contact", roles[role]) == 200
    for role in ("viewer", "editor"):
        assert await _status(client, "POST", "/api/schema/entities", roles[role], ENTITY) == 403
        assert await _status(client, "PUT", "/api/schema/entities/contact", roles[role], {"label": "X"}) == 403
        assert await _status(client, "DELETE", "/api/schema/entities/deal", roles[role]) == 403
    assert await _status(client, "GET", "/api/schema/entities", {}) == 401
    assert await _status(client, "POST", "/api/schema/entities", {}, ENTITY) == 401
    assert await _status(client, "POST", "/api/schema/entities", roles["admin"], ENTITY) == 201
    assert await _status(client, "DELETE", "/api/schema/entities/ticket", roles["admin"]) == 204


async def test_webhooks(client: httpx.AsyncClient, roles: dict) -> None:
    for role in ("editor", "admin"):
        response = await client.post("/api/webhooks/subscribe", json=HOOK, headers=roles[role])
        assert response.status_code == 201, response.text
        hook = response.json()["id"]
        assert await _status(client, "GET", "/api/webhooks", roles[role]) == 200
        assert await _status(client, "GET", f"/api/webhooks/{hook}/deliveries", roles[role]) == 200
        assert await _status(client, "GET", f"/api/webhooks/{hook}", roles["viewer"]) == 403
        assert await _status(client, "DELETE", f"/api/webhooks/{hook}", roles["viewer"]) == 403
        assert await _status(client, "DELETE", f"/api/webhooks/{hook}", roles[role]) == 204
    assert await _status(client, "POST", "/api/webhooks/subscribe", roles["viewer"], HOOK) == 403
    assert await _status(client, "GET", "/api/webhooks", roles["viewer"]) == 403
    assert await _status(client, "POST", "/api/webhooks/subscribe", {}, HOOK) == 401
    assert await _status(client, "GET", "/api/webhooks", {}) == 401


async def test_users_and_keys_families(client: httpx.AsyncClient, roles: dict) -> None:
    for role, users_status, keys_status in (("viewer", 403, 403), ("editor", 403, 200), ("admin", 200, 200)):
        assert await _status(client, "GET", "/api/users", roles[role]) == users_status, role
        assert await _status(client, "GET", "/api/settings/api-keys", roles[role]) == keys_status, role
    assert await _status(client, "GET", "/api/users", {}) == 401
    assert await _status(client, "GET", "/api/settings/api-keys", {}) == 401


async def test_a_viewer_key_is_a_viewer(client: httpx.AsyncClient, auth: dict[str, str], roles: dict) -> None:
    # Viewers cannot make keys; an editor's key demoted to viewer acts as a viewer on every family.
    editor_key = bearer((await create_key(client, roles["editor"]))["key"])
    me = (await client.get("/api/auth/me", headers=roles["editor"])).json()
    await client.put(f"/api/users/{me['id']}", json={"role": "viewer"}, headers=auth)
    assert await _status(client, "GET", "/api/records/contact", editor_key) == 200
    assert await _status(client, "POST", "/api/records/company", editor_key, {"name": "No"}) == 403
    assert await _status(client, "POST", "/api/webhooks/subscribe", editor_key, HOOK) == 403
    assert await _status(client, "GET", "/api/settings/api-keys", editor_key) == 403
