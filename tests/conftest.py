"""Shared fixtures: one real FerretDB for the session (started by the gateway's own launcher), a fresh
set of databases per test, the app in-process over ASGI, and an admin token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import Settings
from gateway.embedded_db import EmbeddedFerretDB

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
JWT_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def ferretdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFerretDB]:
    db = EmbeddedFerretDB(tmp_path_factory.mktemp("ferretdb"), ROOT / ".cache")
    db.start()
    yield db
    db.stop()


@pytest.fixture
def db_prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def make_settings(ferretdb: EmbeddedFerretDB, db_prefix: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mongodb_url": ferretdb.url,
            "db_prefix": db_prefix,
            "admin_email": ADMIN_EMAIL,
            "admin_password": ADMIN_PASSWORD,
            "jwt_secret": JWT_SECRET,
            "argon2_time_cost": 1,
            "argon2_memory_cost": 8192,
            "webhook_allow_private": True,
            "mongodb_timeout_ms": 3000,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # Shutdown waits for in-flight webhook deliveries (a test's slow receiver among them) up to their timeout.
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def login(
    client: httpx.AsyncClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, **headers: str
) -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
async def admin_token(client: httpx.AsyncClient) -> str:
    return await login(client)


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}
