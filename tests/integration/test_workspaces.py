"""Workspaces: chosen by Host or X-Workspace, created by the CLI, and isolated from each other in every way."""

from __future__ import annotations

import httpx
import pytest

from gateway.access import workspace_name
from gateway.embedded_db import EmbeddedFerretDB
from gateway.errors import BadRequest
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, login
from tests.support.cli import run_cli
from tests.support.identity import bearer, create_key

ACME_ADMIN = "boss@acme.example"
ACME_PASSWORD = "acme-password-1"


@pytest.mark.parametrize(
    ("host", "header", "expected"),
    [
        ("acme.localhost:8000", None, "acme"),
        ("ACME.localhost", None, "acme"),
        ("acme.haricrm.com", None, "acme"),
        ("localhost:8000", None, "default"),
        ("127.0.0.1:8000", None, "default"),
        ("[::1]:8000", None, "default"),
        ("a.b.localhost", None, "default"),
        ("example.org", None, "default"),
        ("localhost:8000", "Acme", "acme"),
        ("acme.localhost", "acme", "acme"),
    ],
)
def test_workspace_name_resolution(host: str, header: str | None, expected: str) -> None:
    assert workspace_name(host, header, "default", ["localhost", "haricrm.com"]) == expected


def test_a_host_and_header_that_disagree_are_refused() -> None:
    with pytest.raises(BadRequest):
        workspace_name("acme.localhost", "globex", "default", ["localhost"])


@pytest.fixture
async def acme(client: httpx.AsyncClient, ferretdb: EmbeddedFerretDB, db_prefix: str) -> dict[str, str]:
    """Workspace ``acme`` made with the CLI, with its own admin; returns that admin's auth headers for acme."""
    done = run_cli(
        ferretdb,
        db_prefix,
        *("create-workspace", "acme", "--admin-email", ACME_ADMIN, "--admin-password", ACME_PASSWORD),
        # The deployment's bootstrap admin is not copied into a workspace created with its own admin.
        HARI_ADMIN_EMAIL=ADMIN_EMAIL,
        HARI_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    assert done.returncode == 0, done.stderr
    assert "workspace 'acme' ready" in done.stdout
    token = await login(client, ACME_ADMIN, ACME_PASSWORD, host="acme.localhost:8000")
    return {"Authorization": f"Bearer {token}", "Host": "acme.localhost:8000"}


async def test_cli_workspace_is_reachable_by_host_and_by_header(client: httpx.AsyncClient, acme: dict) -> None:
    me = await client.get("/api/auth/me", headers=acme)
    assert me.status_code == 200
    assert me.json()["workspace"] == "acme" and me.json()["email"] == ACME_ADMIN
    by_header = await client.get(
        "/api/auth/me", headers={"Authorization": acme["Authorization"], "X-Workspace": "acme"}
    )
    assert by_header.status_code == 200
    # The CLI seeded the CRM schema in the new workspace.
    names = [e["name"] for e in (await client.get("/api/schema/entities", headers=acme)).json()["data"]]
    assert {"contact", "company", "deal"} <= set(names)


async def test_unknown_workspace_is_404(client: httpx.AsyncClient) -> None:
    for headers in ({"Host": "nope.localhost"}, {"X-Workspace": "nope"}, {"X-Workspace": "Not Valid!"}):
        response = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": "x"}, headers=headers)
        assert response.status_code == 404, headers
        assert response.json()["error"]["code"] == "workspace_not_found"


async def test_contradicting_host_and_header_is_400(client: httpx.AsyncClient, acme: dict) -> None:
    response = await client.get("/api/auth/me", headers={**acme, "X-Workspace": "default"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


async def test_users_are_per_workspace(client: httpx.AsyncClient, acme: dict) -> None:
    # The default workspace's admin does not exist in acme, and the other way round.
    elsewhere = await client.post(
        "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, headers={"X-Workspace": "acme"}
    )
    assert elsewhere.status_code == 401
    assert (
        await client.post("/api/auth/login", json={"email": ACME_ADMIN, "password": ACME_PASSWORD})
    ).status_code == 401
    listed = (await client.get("/api/users", headers=acme)).json()["data"]
    assert [u["email"] for u in listed] == [ACME_ADMIN]


async def test_tokens_of_one_workspace_are_401_in_another(
    client: httpx.AsyncClient, auth: dict[str, str], acme: dict
) -> None:
    assert (await client.get("/api/records/contact", headers={**auth, "X-Workspace": "acme"})).status_code == 401
    assert (await client.get("/api/records/contact", headers={**auth, "Host": "acme.localhost"})).status_code == 401
    acme_token = {"Authorization": acme["Authorization"]}
    assert (await client.get("/api/records/contact", headers=acme_token)).status_code == 401  # default workspace


async def test_keys_of_one_workspace_are_401_in_another(
    client: httpx.AsyncClient, auth: dict[str, str], acme: dict
) -> None:
    default_key = bearer((await create_key(client, auth))["key"])
    acme_key = bearer((await create_key(client, acme))["key"])
    assert (await client.get("/api/records/contact", headers={**default_key, "X-Workspace": "acme"})).status_code == 401
    assert (await client.get("/api/records/contact", headers=acme_key)).status_code == 401
    assert (await client.get("/api/records/contact", headers={**acme_key, "X-Workspace": "acme"})).status_code == 200
    assert (await client.get("/api/records/contact", headers=default_key)).status_code == 200
    assert len((await client.get("/api/settings/api-keys", headers=acme)).json()["data"]) == 1


async def test_records_are_invisible_across_workspaces(
    client: httpx.AsyncClient, auth: dict[str, str], acme: dict
) -> None:
    mine = (await client.post("/api/records/company", json={"name": "Default Co"}, headers=auth)).json()
    theirs = (await client.post("/api/records/company", json={"name": "Acme Co"}, headers=acme)).json()
    default_list = (await client.get("/api/records/company", headers=auth)).json()
    acme_list = (await client.get("/api/records/company", headers=acme)).json()
    assert [r["name"] for r in default_list["data"]] == ["Default Co"]
    assert [r["name"] for r in acme_list["data"]] == ["Acme Co"]
    assert (await client.get(f"/api/records/company/{theirs['id']}", headers=auth)).status_code == 404
    assert (await client.get(f"/api/records/company/{mine['id']}", headers=acme)).status_code == 404
    assert (await client.delete(f"/api/records/company/{mine['id']}", headers=acme)).status_code == 404
    assert (await client.get(f"/api/records/company/{mine['id']}", headers=auth)).status_code == 200


async def test_entities_are_invisible_across_workspaces(
    client: httpx.AsyncClient, auth: dict[str, str], acme: dict
) -> None:
    created = await client.post(
        "/api/schema/entities",
        json={"name": "ticket", "label": "Ticket", "fields": [{"name": "title", "type": "string"}]},
        headers=acme,
    )
    assert created.status_code == 201, created.text
    assert (await client.get("/api/schema/entities/ticket", headers=acme)).status_code == 200
    assert (await client.get("/api/schema/entities/ticket", headers=auth)).status_code == 404
    assert (await client.get("/api/records/ticket", headers=auth)).status_code == 404
    names = [e["name"] for e in (await client.get("/api/schema/entities", headers=auth)).json()["data"]]
    assert "ticket" not in names


async def test_webhooks_are_invisible_across_workspaces(
    client: httpx.AsyncClient, auth: dict[str, str], acme: dict
) -> None:
    subscribed = await client.post(
        "/api/webhooks/subscribe",
        json={"target_url": "http://127.0.0.1:9/acme-hook", "entity": "contact", "event": "post_save"},
        headers=acme,
    )
    assert subscribed.status_code == 201, subscribed.text
    hook_id = subscribed.json()["id"]
    assert len(_items((await client.get("/api/webhooks", headers=acme)).json())) == 1
    assert _items((await client.get("/api/webhooks", headers=auth)).json()) == []
    assert (await client.delete(f"/api/webhooks/{hook_id}", headers=auth)).status_code == 404
    assert len(_items((await client.get("/api/webhooks", headers=acme)).json())) == 1


def _items(body: object) -> list:
    return body["data"] if isinstance(body, dict) else body  # type: ignore[index,return-value]


def test_cli_workspace_without_an_admin_says_how_to_add_one(ferretdb: EmbeddedFerretDB, db_prefix: str) -> None:
    done = run_cli(ferretdb, db_prefix, "create-workspace", "globex")
    assert done.returncode == 0, done.stderr
    assert "create-user --workspace globex" in done.stdout
    bad = run_cli(ferretdb, db_prefix, "create-workspace", "Not_Valid")
    assert bad.returncode == 1 and "Invalid workspace name" in bad.stderr
