"""Helpers for identity tests: users of a given role, their tokens and API keys, all through HTTP."""

from __future__ import annotations

import httpx

from tests.conftest import login

PASSWORD = "password-of-a-user-1"


async def create_user(
    client: httpx.AsyncClient, auth: dict[str, str], email: str, role: str = "viewer", **headers: str
) -> dict:
    response = await client.post(
        "/api/users", json={"email": email, "password": PASSWORD, "role": role}, headers={**auth, **headers}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def user_auth(client: httpx.AsyncClient, auth: dict[str, str], email: str, role: str) -> dict[str, str]:
    """Create a user with ``role`` and return its Authorization header."""
    await create_user(client, auth, email, role)
    return {"Authorization": f"Bearer {await login(client, email, PASSWORD)}"}


async def create_key(client: httpx.AsyncClient, auth: dict[str, str], name: str = "integration") -> dict:
    response = await client.post("/api/settings/api-keys", json={"name": name}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
