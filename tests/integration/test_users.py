"""/api/users: admin-only CRUD, no password hashes out, deactivation and demotion take effect at once."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, login
from tests.support.identity import PASSWORD, bearer, create_key, create_user, user_auth


async def test_admin_creates_lists_reads_and_updates_users(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    created = await client.post(
        "/api/users",
        json={"email": "Ed@Example.com", "password": PASSWORD, "role": "editor", "name": "Ed"},
        headers=auth,
    )
    assert created.status_code == 201
    user = created.json()
    assert user["email"] == "ed@example.com" and user["role"] == "editor" and user["active"] is True
    assert set(user) == {"id", "email", "name", "role", "active", "created_at", "updated_at"}
    assert created.headers["location"] == f"/api/users/{user['id']}"

    listed = await client.get("/api/users", headers=auth)
    assert listed.status_code == 200
    assert [u["email"] for u in listed.json()["data"]] == [ADMIN_EMAIL, "ed@example.com"]
    assert "password" not in listed.text and "argon2" not in listed.text

    fetched = await client.get(f"/api/users/{user['id']}", headers=auth)
    assert fetched.json() == user

    updated = await client.put(f"/api/users/{user['id']}", json={"role": "viewer", "name": "Edward"}, headers=auth)
    assert updated.status_code == 200
    assert updated.json()["role"] == "viewer" and updated.json()["name"] == "Edward"
    assert updated.json()["email"] == "ed@example.com"  # fields not sent are kept


async def test_new_user_defaults_to_viewer_and_can_log_in(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    user = await create_user(client, auth, "vi@example.com", role="viewer")
    response = await client.post("/api/users", json={"email": "v2@example.com", "password": PASSWORD}, headers=auth)
    assert response.json()["role"] == "viewer"
    token = await login(client, "vi@example.com", PASSWORD)
    me = await client.get("/api/auth/me", headers=bearer(token))
    assert me.json()["id"] == user["id"] and me.json()["role"] == "viewer"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "short@example.com", "password": "short"}, "password"),
        ({"email": "r@example.com", "password": PASSWORD, "role": "owner"}, "role"),
        ({"email": "x@example.com", "password": PASSWORD, "is_admin": True}, "is_admin"),
        ({"password": PASSWORD}, "email"),
    ],
)
async def test_invalid_user_is_400_and_creates_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict, field: str
) -> None:
    response = await client.post("/api/users", json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert len((await client.get("/api/users", headers=auth)).json()["data"]) == 1


async def test_duplicate_email_is_409(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_user(client, auth, "dup@example.com")
    again = await client.post("/api/users", json={"email": "DUP@example.com", "password": PASSWORD}, headers=auth)
    assert again.status_code == 409
    other = await create_user(client, auth, "other@example.com")
    clash = await client.put(f"/api/users/{other['id']}", json={"email": "dup@example.com"}, headers=auth)
    assert clash.status_code == 409


async def test_unknown_or_malformed_user_id_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for user_id in ("000000000000000000000000", "nope"):
        for method in ("GET", "PUT", "DELETE"):
            kwargs = {"json": {"name": "x"}} if method == "PUT" else {}
            response = await client.request(method, f"/api/users/{user_id}", headers=auth, **kwargs)
            assert response.status_code == 404, (method, user_id)
            assert response.json()["error"]["code"] == "user_not_found"


@pytest.mark.parametrize("role", ["editor", "viewer"])
async def test_only_admins_manage_users(client: httpx.AsyncClient, auth: dict[str, str], role: str) -> None:
    target = await create_user(client, auth, "target@example.com")
    headers = await user_auth(client, auth, f"{role}@example.com", role)
    calls = [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"email": "new@example.com", "password": PASSWORD}),
        ("GET", f"/api/users/{target['id']}", None),
        ("PUT", f"/api/users/{target['id']}", {"role": "admin"}),
        ("DELETE", f"/api/users/{target['id']}", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    unchanged = (await client.get(f"/api/users/{target['id']}", headers=auth)).json()
    assert unchanged["role"] == "viewer" and unchanged["active"] is True
    for method, path, body in calls:
        assert (await client.request(method, path, json=body)).status_code == 401


async def test_deactivation_stops_tokens_and_keys_at_once(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    user = await create_user(client, auth, "gone@example.com", "editor")
    token = bearer(await login(client, "gone@example.com", PASSWORD))
    key = bearer((await create_key(client, token))["key"])
    assert (await client.get("/api/records/contact", headers=token)).status_code == 200
    assert (await client.get("/api/records/contact", headers=key)).status_code == 200

    assert (await client.delete(f"/api/users/{user['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/api/users/{user['id']}", headers=auth)).json()["active"] is False
    assert (await client.get("/api/records/contact", headers=token)).status_code == 401
    assert (await client.get("/api/records/contact", headers=key)).status_code == 401

    # Reactivation restores the keys (their creator is back) but not the ended sessions.
    await client.put(f"/api/users/{user['id']}", json={"active": True}, headers=auth)
    assert (await client.get("/api/records/contact", headers=key)).status_code == 200
    assert (await client.get("/api/records/contact", headers=token)).status_code == 401


async def test_demotion_applies_to_existing_tokens_and_keys(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    user = await create_user(client, auth, "demoted@example.com", "editor")
    token = bearer(await login(client, "demoted@example.com", PASSWORD))
    key = bearer((await create_key(client, token))["key"])
    assert (await client.post("/api/records/company", json={"name": "A"}, headers=key)).status_code == 201

    await client.put(f"/api/users/{user['id']}", json={"role": "viewer"}, headers=auth)
    for headers in (token, key):
        assert (await client.post("/api/records/company", json={"name": "B"}, headers=headers)).status_code == 403
        assert (await client.get("/api/records/company", headers=headers)).status_code == 200


async def test_password_change_ends_sessions(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    user = await create_user(client, auth, "pw@example.com", "viewer")
    token = bearer(await login(client, "pw@example.com", PASSWORD))
    await client.put(f"/api/users/{user['id']}", json={"password": "a-brand-new-password"}, headers=auth)
    assert (await client.get("/api/auth/me", headers=token)).status_code == 401
    assert (
        await client.post("/api/auth/login", json={"email": "pw@example.com", "password": PASSWORD})
    ).status_code == 401
    await login(client, "pw@example.com", "a-brand-new-password")


async def test_the_last_active_admin_cannot_be_removed(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    me = (await client.get("/api/auth/me", headers=auth)).json()
    for change in ({"role": "editor"}, {"active": False}):
        response = await client.put(f"/api/users/{me['id']}", json=change, headers=auth)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "last_admin"
    assert (await client.delete(f"/api/users/{me['id']}", headers=auth)).status_code == 409

    await create_user(client, auth, "second-admin@example.com", "admin")
    assert (await client.put(f"/api/users/{me['id']}", json={"role": "editor"}, headers=auth)).status_code == 200


async def test_patch_is_an_alias_of_put(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    user = await create_user(client, auth, "patched@example.com", "viewer")
    response = await client.patch(f"/api/users/{user['id']}", json={"name": "Pat"}, headers=auth)
    assert response.status_code == 200
    assert response.json()["name"] == "Pat" and response.json()["role"] == "viewer"


async def test_users_change_their_own_password(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_user(client, auth, "self@example.com", "viewer")
    # One login (attempt 1 of the 5 per email), a second session by refresh (not a login attempt).
    pair = (await client.post("/api/auth/login", json={"email": "self@example.com", "password": PASSWORD})).json()
    current = bearer(pair["access_token"])
    refreshed = await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    old_session = bearer(refreshed.json()["access_token"])
    wrong = await client.post(
        "/api/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "new-password-1"},
        headers=current,
    )
    assert wrong.status_code == 401
    short = await client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=current
    )
    assert short.status_code == 400
    changed = await client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "new-password-1"}, headers=current
    )
    assert changed.status_code == 200
    fresh = bearer(changed.json()["access_token"])
    assert (await client.get("/api/auth/me", headers=fresh)).status_code == 200
    assert (await client.get("/api/auth/me", headers=old_session)).status_code == 401
    assert (await client.get("/api/auth/me", headers=current)).status_code == 401
    await login(client, "self@example.com", "new-password-1")


async def test_an_api_key_cannot_change_the_password(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    key = bearer((await create_key(client, auth))["key"])
    body = {"current_password": "admin-password-1", "new_password": "taken-over-123"}
    response = await client.post("/api/auth/password", json=body, headers=key)
    assert response.status_code == 403
    assert (await client.post("/api/auth/password", json=body)).status_code == 401
