"""Login, access tokens, refresh rotation with reuse detection, logout and /me, through HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import jwt
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET
from tests.support.identity import PASSWORD, bearer, create_user


async def _login(client: httpx.AsyncClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> dict:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def test_login_returns_exactly_the_documented_fields(client: httpx.AsyncClient) -> None:
    body = await _login(client)
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["role"] == "admin" and claims["ws"] == "default"
    assert claims["exp"] - claims["iat"] == 3600
    assert not body["refresh_token"].startswith("eyJ")  # opaque, not a JWT


async def test_login_email_is_case_insensitive(client: httpx.AsyncClient) -> None:
    await _login(client, email="  Admin@Example.COM ")


async def test_unknown_email_and_wrong_password_get_the_same_401(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "whatever-123"})
    wrong = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "invalid_credentials"


async def test_login_body_must_be_valid(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "password"


async def test_me_shows_the_user_without_secrets(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/auth/me", headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == ADMIN_EMAIL and body["role"] == "admin" and body["workspace"] == "default"
    assert body["auth"] == "jwt"
    assert "users:manage" in body["permissions"]
    assert "password_hash" not in body and "password_hash" not in response.text


async def test_me_needs_a_credential(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_malformed_authorization_header_is_401(client: httpx.AsyncClient) -> None:
    for value in ("Basic YWRtaW46eA==", "Bearer", "Bearer    ", "token"):
        response = await client.get("/api/records/contact", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json()["error"]["code"] == "unauthorized"


async def test_garbage_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/records/contact", headers=bearer("not-a-jwt"))
    assert response.status_code == 401


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_alg_none_token_is_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    me = (await client.get("/api/auth/me", headers=auth)).json()
    now = int(time.time())
    claims = {"sub": me["id"], "role": "admin", "ws": "default", "ver": 0, "iat": now, "exp": now + 60, "typ": "access"}
    for alg in ("none", "None", "NONE"):
        forged = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
        response = await client.get("/api/records/contact", headers=bearer(forged))
        assert response.status_code == 401, alg


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_token_signed_with_another_key_or_algorithm_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    me = (await client.get("/api/auth/me", headers=auth)).json()
    now = int(time.time())
    claims = {"sub": me["id"], "role": "admin", "ws": "default", "ver": 0, "iat": now, "exp": now + 60, "typ": "access"}
    other_key = jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")
    other_alg = jwt.encode(claims, JWT_SECRET, algorithm="HS512")
    genuine = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert (await client.get("/api/records/contact", headers=bearer(other_key))).status_code == 401
    assert (await client.get("/api/records/contact", headers=bearer(other_alg))).status_code == 401
    assert (await client.get("/api/records/contact", headers=bearer(genuine))).status_code == 200


async def test_expired_token_is_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    me = (await client.get("/api/auth/me", headers=auth)).json()
    now = int(time.time())
    claims = {"sub": me["id"], "role": "admin", "ws": "default", "ver": 0, "iat": now - 7200, "exp": now - 3600}
    expired = jwt.encode({**claims, "typ": "access"}, JWT_SECRET, algorithm="HS256")
    response = await client.get("/api/records/contact", headers=bearer(expired))
    assert response.status_code == 401


async def test_refresh_rotates_and_the_old_token_stops_working(client: httpx.AsyncClient) -> None:
    first = await _login(client)
    second = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    pair = second.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/auth/me", headers=bearer(pair["access_token"]))).status_code == 200
    third = await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert third.status_code == 200


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(client: httpx.AsyncClient) -> None:
    first = await _login(client)
    other_login = await _login(client)  # another session of the same user: a different family
    rotated = (await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()

    reuse = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "refresh_token_reused"
    # The legitimate holder's newer token of the same family is revoked too.
    after = await client.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    # The other login is untouched.
    ok = await client.post("/api/auth/refresh", json={"refresh_token": other_login["refresh_token"]})
    assert ok.status_code == 200


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/refresh", json={"refresh_token": "made-up"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_refresh_token"
    missing = await client.post("/api/auth/refresh", json={})
    assert missing.status_code == 400


async def test_expired_refresh_token_is_401(make_settings) -> None:
    from asgi_lifespan import LifespanManager

    from gateway.app import create_app

    app = create_app(make_settings(refresh_token_ttl_seconds=1))
    async with LifespanManager(app, startup_timeout=60) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c:
            pair = (await c.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).json()
            await asyncio.sleep(1.1)
            response = await c.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401


async def test_logout_with_a_refresh_token_ends_that_login_only(client: httpx.AsyncClient) -> None:
    one = await _login(client)
    two = await _login(client)
    response = await client.post("/api/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert response.status_code == 204
    assert (await client.post("/api/auth/refresh", json={"refresh_token": one["refresh_token"]})).status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refresh_token": two["refresh_token"]})).status_code == 200


async def test_logout_without_a_body_ends_every_session_at_once(client: httpx.AsyncClient) -> None:
    one = await _login(client)
    two = await _login(client)
    response = await client.post("/api/auth/logout", headers=bearer(one["access_token"]))
    assert response.status_code == 204
    for pair in (one, two):
        assert (await client.get("/api/auth/me", headers=bearer(pair["access_token"]))).status_code == 401
        refreshed = await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 401
    fresh = await _login(client)
    assert (await client.get("/api/auth/me", headers=bearer(fresh["access_token"]))).status_code == 200


async def test_logout_without_anything_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/auth/logout")).status_code == 401


async def test_deactivated_user_cannot_log_in_or_refresh(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    user = await create_user(client, auth, "leaver@example.com", "editor")
    pair = await _login(client, "leaver@example.com", PASSWORD)
    assert (await client.delete(f"/api/users/{user['id']}", headers=auth)).status_code == 204
    denied = await client.post("/api/auth/login", json={"email": "leaver@example.com", "password": PASSWORD})
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "invalid_credentials"  # same answer as a wrong password
    assert (await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 401
    assert (await client.get("/api/auth/me", headers=bearer(pair["access_token"]))).status_code == 401


async def test_login_upgrades_a_hash_made_with_older_argon2_settings(make_settings, ferretdb) -> None:
    from asgi_lifespan import LifespanManager
    from pymongo import MongoClient

    from gateway.app import create_app

    settings = make_settings(argon2_time_cost=2)  # the bootstrap admin was not created yet: it gets t=2 now
    with MongoClient(ferretdb.url) as mongo:
        for time_cost, expected in ((2, "t=2"), (1, "t=1")):
            app = create_app(make_settings(argon2_time_cost=time_cost))
            async with LifespanManager(app, startup_timeout=60) as manager:
                transport = httpx.ASGITransport(app=manager.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                    response = await c.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
                    assert response.status_code == 200
            stored = mongo[f"{settings.db_prefix}_ws_default"]["users"].find_one({"email": ADMIN_EMAIL})
            assert stored is not None and f",{expected}," in stored["password_hash"]
