"""Admin commands of `hari-gateway`, run as a separate process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ROOT, login


def _cli(ferretdb: EmbeddedFerretDB, db_prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HARI_MONGODB_URL": ferretdb.url,
        "HARI_DB_PREFIX": db_prefix,
        "HARI_ARGON2_TIME_COST": "1",
        "HARI_ARGON2_MEMORY_COST": "8192",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


async def test_create_user_then_log_in(client: httpx.AsyncClient, ferretdb: EmbeddedFerretDB, db_prefix: str) -> None:
    done = _cli(
        ferretdb,
        db_prefix,
        "create-user",
        "--email",
        "Ops@Example.com",
        "--password",
        "long-enough-1",
        "--role",
        "editor",
    )
    assert done.returncode == 0, done.stderr
    assert "created editor ops@example.com" in done.stdout
    token = await login(client, "ops@example.com", "long-enough-1")
    me = await client.get("/api/records/contact", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


async def test_create_user_refuses_a_duplicate_and_a_short_password(
    client: httpx.AsyncClient, ferretdb: EmbeddedFerretDB, db_prefix: str
) -> None:
    duplicate = _cli(ferretdb, db_prefix, "create-user", "--email", "admin@example.com", "--password", "whatever-123")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    short = _cli(ferretdb, db_prefix, "create-user", "--email", "x@example.com", "--password", "short")
    assert short.returncode == 1
    assert "password" in short.stderr


def test_create_and_list_workspaces(ferretdb: EmbeddedFerretDB, db_prefix: str) -> None:
    created = _cli(ferretdb, db_prefix, "create-workspace", "acme")
    assert created.returncode == 0, created.stderr
    invalid = _cli(ferretdb, db_prefix, "create-workspace", "Not_Valid")
    assert invalid.returncode == 1
    listed = _cli(ferretdb, db_prefix, "list-workspaces")
    assert listed.stdout.split() == ["acme"]
