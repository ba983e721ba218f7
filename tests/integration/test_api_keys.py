"""/api/settings/api-keys: shown once, stored hashed, listed without secrets, revoked at once, acting as the creator."""

from __future__ import annotations

import hashlib
import re

import httpx
from pymongo import MongoClient

from tests.support.identity import bearer, create_key, user_auth


async def test_create_returns_the_secret_once(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post("/api/settings/api-keys", json={"name": "zapier"}, headers=auth)
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"hari_[0-9a-f]{48}", body["key"])
    assert body["name"] == "zapier" and body["prefix"] == body["key"][:13]
    assert len(body["id"]) == 24 and body["created_at"] and body["last_used_at"] is None

    listed = await client.get("/api/settings/api-keys", headers=auth)
    assert listed.status_code == 200
    assert listed.json()["data"] == [{k: v for k, v in body.items() if k != "key"}]
    assert body["key"] not in listed.text


async def test_only_a_hash_and_the_prefix_are_stored(
    client: httpx.AsyncClient, auth: dict[str, str], settings, ferretdb
) -> None:
    body = await create_key(client, auth)
    with MongoClient(ferretdb.url) as mongo:
        stored = mongo[f"{settings.db_prefix}_ws_default"]["api_keys"].find_one()
    assert stored is not None
    assert body["key"] not in str(stored)
    assert stored["key_hash"] == hashlib.sha256(body["key"].encode()).hexdigest()
    assert stored["prefix"] == body["prefix"]


async def test_the_overview_example_works_with_a_key(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    key = (await create_key(client, auth))["key"]
    response = await client.get("/api/records/contact", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    me = (await client.get("/api/auth/me", headers=bearer(key))).json()
    assert me["auth"] == "api_key" and me["role"] == "admin"


async def test_last_used_at_is_recorded(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    key = await create_key(client, auth)
    await client.get("/api/records/contact", headers=bearer(key["key"]))
    listed = (await client.get("/api/settings/api-keys", headers=auth)).json()["data"]
    assert listed[0]["last_used_at"] is not None


async def test_revoked_key_fails_at_once(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    key = await create_key(client, auth)
    headers = bearer(key["key"])
    assert (await client.get("/api/records/contact", headers=headers)).status_code == 200
    assert (await client.delete(f"/api/settings/api-keys/{key['id']}", headers=auth)).status_code == 204
    response = await client.get("/api/records/contact", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert (await client.get("/api/settings/api-keys", headers=auth)).json()["data"] == []
    again = await client.delete(f"/api/settings/api-keys/{key['id']}", headers=auth)
    assert again.status_code == 404


async def test_made_up_keys_are_401(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    real = (await create_key(client, auth))["key"]
    for fake in ("hari_", "hari_" + "0" * 48, real[:-1] + ("0" if real[-1] != "0" else "1"), real.upper()):
        assert (await client.get("/api/records/contact", headers=bearer(fake))).status_code == 401, fake


async def test_key_acts_with_the_creators_role(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    editor = await user_auth(client, auth, "ed@example.com", "editor")
    key = bearer((await create_key(client, editor))["key"])
    assert (await client.post("/api/records/company", json={"name": "Acme"}, headers=key)).status_code == 201
    assert (await client.get("/api/users", headers=key)).status_code == 403  # an editor's key is not an admin


async def test_editors_see_and_revoke_only_their_own_keys(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    admin_key = await create_key(client, auth, "admin key")
    editor = await user_auth(client, auth, "ed@example.com", "editor")
    editor_key = await create_key(client, editor, "editor key")

    own = (await client.get("/api/settings/api-keys", headers=editor)).json()["data"]
    assert [k["name"] for k in own] == ["editor key"]
    everything = (await client.get("/api/settings/api-keys", headers=auth)).json()["data"]
    assert sorted(k["name"] for k in everything) == ["admin key", "editor key"]

    response = await client.delete(f"/api/settings/api-keys/{admin_key['id']}", headers=editor)
    assert response.status_code == 404  # someone else's key: not revealed, not revoked
    assert (await client.get("/api/auth/me", headers=bearer(admin_key["key"]))).status_code == 200

    # Admins may revoke anyone's key.
    assert (await client.delete(f"/api/settings/api-keys/{editor_key['id']}", headers=auth)).status_code == 204
    assert (await client.get("/api/auth/me", headers=bearer(editor_key["key"]))).status_code == 401


async def test_viewers_and_anonymous_callers_cannot_manage_keys(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    key = await create_key(client, auth)
    viewer = await user_auth(client, auth, "vi@example.com", "viewer")
    for headers, status in ((viewer, 403), ({}, 401)):
        assert (await client.post("/api/settings/api-keys", json={"name": "x"}, headers=headers)).status_code == status
        assert (await client.get("/api/settings/api-keys", headers=headers)).status_code == status
        response = await client.delete(f"/api/settings/api-keys/{key['id']}", headers=headers)
        assert response.status_code == status


async def test_key_name_is_validated(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": "ok", "role": "admin"}):
        response = await client.post("/api/settings/api-keys", json=body, headers=auth)
        assert response.status_code == 400, body
    assert (await client.get("/api/settings/api-keys", headers=auth)).json()["data"] == []
