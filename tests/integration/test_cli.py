"""Admin commands of `hari-gateway`, run as a separate process against the test database."""

from __future__ import annotations

import httpx

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import login
from tests.support.cli import run_cli


async def test_create_user_then_log_in(client: httpx.AsyncClient, ferretdb: EmbeddedFerretDB, db_prefix: str) -> None:
    done = run_cli(
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
    duplicate = run_cli(
        ferretdb, db_prefix, "create-user", "--email", "admin@example.com", "--password", "whatever-123"
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    short = run_cli(ferretdb, db_prefix, "create-user", "--email", "x@example.com", "--password", "short")
    assert short.returncode == 1
    assert "password" in short.stderr


def test_create_and_list_workspaces(ferretdb: EmbeddedFerretDB, db_prefix: str) -> None:
    created = run_cli(ferretdb, db_prefix, "create-workspace", "acme")
    assert created.returncode == 0, created.stderr
    invalid = run_cli(ferretdb, db_prefix, "create-workspace", "Not_Valid")
    assert invalid.returncode == 1
    listed = run_cli(ferretdb, db_prefix, "list-workspaces")
    assert listed.stdout.split() == ["acme"]
