"""GraphQL that depends on the running gateway: subscriptions over graphql-transport-ws (fed by REST writes),
the schema following entity definitions without a restart, and the DataLoader query count."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from pymongo import monitoring

from gateway.config import Settings
from gateway.services.workspaces import create_workspace
from tests.conftest import login
from tests.integration.test_graphql import data_of, error_of, gql, rest_create
from tests.support.identity import PASSWORD, create_user, user_auth

PROTOCOL = "graphql-transport-ws"


class RecordQueries(monitoring.CommandListener):
    """Counts the commands the gateway sends to record collections (``rec_*``) of one test's databases.

    Registered once, globally (pymongo's public API), before the gateway creates its client.
    """

    def __init__(self) -> None:
        self.db_prefix: str | None = None
        self.commands: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.db_prefix is None or not event.database_name.startswith(self.db_prefix):
            return
        target = event.command.get(event.command_name)
        if isinstance(target, str) and target.startswith("rec_"):
            with self._lock:
                self.commands.append((event.command_name, target))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[tuple[str, str]]]:
        self.commands = []
        yield self.commands


QUERIES = RecordQueries()
monitoring.register(QUERIES)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Subscribers' credentials are checked again before every event here (30 s apart by default)."""
    return make_settings(graphql_subscription_recheck_seconds=0)


@pytest.fixture(autouse=True)
def count_this_test(db_prefix: str) -> Iterator[None]:
    QUERIES.db_prefix = db_prefix
    yield
    QUERIES.db_prefix = None


@contextlib.asynccontextmanager
async def websocket_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose transport also speaks websocket, on the app the ``client`` fixture started.

    Opened inside the test (not as a fixture): its task group must start and end in the same task.
    """
    async with ASGIWebSocketTransport(app=app) as transport:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def _bus_handlers(app: FastAPI) -> int:
    return len(app.state.runtime.bus._handlers)


async def subscribe(ws: Any, app: FastAPI, query: str, sub_id: str = "1") -> None:
    """Send a subscribe and wait until the gateway listens on the bus, so no write can slip in before."""
    before = await _bus_handlers(app)
    await ws.send_json({"id": sub_id, "type": "subscribe", "payload": {"query": query}})
    for _ in range(200):
        if await _bus_handlers(app) >= before + 2:  # post_save + post_delete
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never started listening")


async def connect(ws: Any, auth: dict[str, str] | None) -> dict[str, Any]:
    await ws.send_json({"type": "connection_init", "payload": auth or {}})
    return await ws.receive_json(timeout=5)  # type: ignore[no-any-return]


async def test_subscription_receives_rest_writes(client: httpx.AsyncClient, app: FastAPI, auth: dict[str, str]) -> None:
    async with websocket_client(app) as wsc, aconnect_ws("/api/graphql", wsc, subprotocols=[PROTOCOL]) as ws:
        assert (await connect(ws, auth))["type"] == "connection_ack"
        await subscribe(
            ws, app, "subscription { contact_events { operation actor record { id first_name company { name } } } }"
        )
        company = await rest_create(client, auth, "company", {"name": "Acme"})
        created = await rest_create(client, auth, "contact", {"first_name": "Ada", "company_id": company["id"]})
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "next" and message["id"] == "1"
        event = message["payload"]["data"]["contact_events"]
        assert event["operation"] == "create"
        assert event["record"] == {"id": created["id"], "first_name": "Ada", "company": {"name": "Acme"}}
        assert event["actor"] == created["created_by"]

        updated = await client.put(f"/api/records/contact/{created['id']}", json={"first_name": "Ida"}, headers=auth)
        assert updated.status_code == 200
        event = (await ws.receive_json(timeout=5))["payload"]["data"]["contact_events"]
        assert (event["operation"], event["record"]["first_name"]) == ("update", "Ida")

        assert (await client.delete(f"/api/records/contact/{created['id']}", headers=auth)).status_code == 204
        event = (await ws.receive_json(timeout=5))["payload"]["data"]["contact_events"]
        assert (event["operation"], event["record"]["id"]) == ("delete", created["id"])

        await ws.send_json({"id": "1", "type": "complete"})
    for _ in range(100):  # the stream leaves the bus when the client goes
        if await _bus_handlers(app) == 0 or not any(
            getattr(h, "__self__", None).__class__.__name__ == "RecordStream"
            for _, _, h in app.state.runtime.bus._handlers
        ):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the subscription still listens after the client left")


async def test_subscription_filters_operations_and_entities(
    client: httpx.AsyncClient, app: FastAPI, auth: dict[str, str]
) -> None:
    viewer = await user_auth(client, auth, "watcher@example.com", "viewer")  # records:read is enough
    async with websocket_client(app) as wsc, aconnect_ws("/api/graphql", wsc, subprotocols=[PROTOCOL]) as ws:
        assert (await connect(ws, viewer))["type"] == "connection_ack"
        await subscribe(ws, app, "subscription { company_events(operations: [delete]) { operation record { name } } }")
        await rest_create(client, auth, "contact", {"first_name": "Not a company"})
        doomed = await rest_create(client, auth, "company", {"name": "Doomed"})
        # a GraphQL write fires the same events as a REST one
        gone = await gql(client, "mutation($id: ID!) { delete_company(id: $id) { id } }", {"id": doomed["id"]}, auth)
        assert data_of(gone)["delete_company"]["id"] == doomed["id"]
        event = (await ws.receive_json(timeout=5))["payload"]["data"]["company_events"]
        assert event == {"operation": "delete", "record": {"name": "Doomed"}}


async def test_subscription_sees_only_its_workspace(
    client: httpx.AsyncClient, app: FastAPI, auth: dict[str, str]
) -> None:
    await create_workspace(app.state.runtime, "other")
    other = {"Authorization": f"Bearer {await login(client, **{'X-Workspace': 'other'})}", "X-Workspace": "other"}
    async with websocket_client(app) as wsc, aconnect_ws("/api/graphql", wsc, subprotocols=[PROTOCOL]) as ws:
        assert (await connect(ws, auth))["type"] == "connection_ack"
        await subscribe(ws, app, 'subscription { record_events(entity: "*") { entity operation record } }')
        await rest_create(client, other, "company", {"name": "Elsewhere"})
        mine = await rest_create(client, auth, "company", {"name": "Here"})
        event = (await ws.receive_json(timeout=5))["payload"]["data"]["record_events"]
        assert (event["entity"], event["operation"], event["record"]["id"]) == ("company", "create", mine["id"])


async def test_subscription_ends_when_the_user_is_deactivated(
    client: httpx.AsyncClient, app: FastAPI, auth: dict[str, str]
) -> None:
    user = await create_user(client, auth, "leaver@example.com", "viewer")
    leaver = {"Authorization": f"Bearer {await login(client, 'leaver@example.com', PASSWORD)}"}
    async with websocket_client(app) as wsc, aconnect_ws("/api/graphql", wsc, subprotocols=[PROTOCOL]) as ws:
        assert (await connect(ws, leaver))["type"] == "connection_ack"
        await subscribe(ws, app, "subscription { company_events { record { name } } }")
        await rest_create(client, auth, "company", {"name": "Seen"})
        event = (await ws.receive_json(timeout=5))["payload"]["data"]["company_events"]
        assert event == {"record": {"name": "Seen"}}

        assert (await client.delete(f"/api/users/{user['id']}", headers=auth)).status_code == 204
        await rest_create(client, auth, "company", {"name": "Unseen"})
        message = await ws.receive_json(timeout=5)
        assert message["type"] in ("next", "error")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "unauthorized"
        assert "Unseen" not in json.dumps(message)


async def test_subscription_needs_authentication(client: httpx.AsyncClient, app: FastAPI) -> None:
    async with websocket_client(app) as wsc, aconnect_ws("/api/graphql", wsc, subprotocols=[PROTOCOL]) as ws:
        assert (await connect(ws, None))["type"] == "connection_ack"
        await ws.send_json(
            {"id": "9", "type": "subscribe", "payload": {"query": "subscription { contact_events { operation } }"}}
        )
        message = await ws.receive_json(timeout=5)
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "unauthorized"
        await ws.send_json(
            {"id": "10", "type": "subscribe", "payload": {"query": "subscription { contact_events { operaton } }"}}
        )
        message = await ws.receive_json(timeout=5)
        while message.get("id") != "10" or message["type"] == "complete":  # skip the end of subscription 9
            message = await ws.receive_json(timeout=5)
        assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "bad_request"
        assert "Did you mean" not in json.dumps(message)  # no schema hints for an anonymous socket

    async with websocket_client(app) as wsc, aconnect_ws("/api/graphql", wsc, subprotocols=[PROTOCOL]) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer not-a-token"}})
        with pytest.raises(WebSocketDisconnect) as refused:
            await ws.receive_json(timeout=5)
    assert refused.value.code == 4403


async def test_new_entity_type_appears_without_restart(
    client: httpx.AsyncClient, app: FastAPI, auth: dict[str, str]
) -> None:
    before = await gql(client, "{ projects { meta { total } } }", headers=auth)
    assert error_of(before)["extensions"]["code"] == "bad_request"
    views = await _views(client, app, auth)

    spec = {
        "name": "project",
        "label": "Project",
        "fields": [
            {"name": "title", "type": "string", "required": True},
            {"name": "budget", "type": "number"},
            {"name": "starts_on", "type": "date"},
            {"name": "tags", "type": "multiselect", "options": ["a", "b"]},
            {"name": "meta", "type": "json"},
            {"name": "company_id", "type": "reference", "ref": "company"},
        ],
    }
    created = await client.post("/api/schema/entities", json=spec, headers=auth)
    assert created.status_code == 201, created.text
    company = await rest_create(client, auth, "company", {"name": "Acme"})

    made = data_of(
        await gql(
            client,
            """mutation($data: ProjectInput!) { create_project(data: $data) {
                 id title budget starts_on tags meta company { name } } }""",
            {
                "data": {
                    "title": "Apollo",
                    "budget": 1.5,
                    "starts_on": "2026-01-31",
                    "tags": ["a"],
                    "meta": {"k": [1, 2]},
                    "company_id": company["id"],
                }
            },
            headers=auth,
        )
    )["create_project"]
    assert made["starts_on"] == "2026-01-31" and made["meta"] == {"k": [1, 2]}
    assert made["company"] == {"name": "Acme"}
    listed = data_of(
        await gql(
            client,
            '{ projects(where: {starts_on: {gte: "2026-01-01"}, budget: {gt: 1}}) { data { title } meta { total } } }',
            headers=auth,
        )
    )
    assert listed["projects"] == {"data": [{"title": "Apollo"}], "meta": {"total": 1}}
    reverse = data_of(await gql(client, "{ companies { data { projects { meta { total } } } } }", headers=auth))
    assert reverse["companies"]["data"] == [{"projects": {"meta": {"total": 1}}}]

    # the same schema serves later requests: it is not rebuilt per request
    first = await _views(client, app, auth)
    await gql(client, "{ projects { meta { total } } }", headers=auth)
    assert await _views(client, app, auth) is first is not views

    # changing the definition changes the schema on the next request
    spec["fields"].append({"name": "code", "type": "string"})
    changed = await client.put("/api/schema/entities/project", json=spec, headers=auth)
    assert changed.status_code == 200, changed.text
    assert data_of(await gql(client, "{ projects { data { code } } }", headers=auth))["projects"]["data"] == [
        {"code": None}
    ]
    removed = await client.delete("/api/schema/entities/project?confirm=true", headers=auth)
    assert removed.status_code == 204, removed.text
    assert error_of(await gql(client, "{ projects { meta { total } } }", headers=auth))["extensions"]["code"] == (
        "bad_request"
    )


async def _views(client: httpx.AsyncClient, app: FastAPI, auth: dict[str, str]) -> Any:
    """The cached GraphQL view of the default workspace (after one request has built it)."""
    await gql(client, "{ __typename }", headers=auth)
    ws = await app.state.runtime.storage.workspace("default")
    return ws.cache["graphql_view"][1]


async def _bulk(client: httpx.AsyncClient, auth: dict[str, str], entity: str, items: list[dict]) -> list[str]:
    response = await client.post(f"/api/records/{entity}/bulk", json=items, headers=auth)
    assert response.status_code in (200, 201, 207), response.text
    body = response.json()
    results = body["data"]
    assert all(r["status"] == 201 for r in results), results
    return [r["id"] for r in results]


async def test_dataloaders_keep_query_count_constant(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    companies = await _bulk(client, auth, "company", [{"name": f"C{i:03}"} for i in range(100)])
    contacts = [{"first_name": f"P{i:03}", "company_id": companies[i]} for i in range(100)]
    contacts += [{"first_name": f"Q{i:03}", "company_id": companies[i]} for i in range(50)]
    await _bulk(client, auth, "contact", contacts)

    query = """query($n: Int!) { contacts(page_size: $n, sort: [{field: first_name}]) {
                 data { first_name company { name } } } }"""
    with QUERIES.counting() as few:
        page = data_of(await gql(client, query, {"n": 5}, headers=auth))["contacts"]["data"]
    assert page[0] == {"first_name": "P000", "company": {"name": "C000"}}
    with QUERIES.counting() as many:
        page = data_of(await gql(client, query, {"n": 100}, headers=auth))["contacts"]["data"]
    assert len(page) == 100 and all(c["company"]["name"] == f"C{c['first_name'][1:]}" for c in page)
    assert len(many) == len(few) <= 3, many  # find + count + one get_many, whatever the page size

    # reverse: one batched page of children for all parents (fewer than 100 children match here)
    reverse = """query($n: Int!) { companies(page_size: $n, sort: [{field: name}]) { data { name
                   contacts(where: {first_name: {sw: "Q"}}) { data { first_name } meta { total } } } } }"""
    with QUERIES.counting() as few:
        data_of(await gql(client, reverse, {"n": 3}, headers=auth))
    with QUERIES.counting() as many:
        result = data_of(await gql(client, reverse, {"n": 100}, headers=auth))["companies"]["data"]
    assert result[0] == {"name": "C000", "contacts": {"data": [{"first_name": "Q000"}], "meta": {"total": 1}}}
    assert result[99]["contacts"] == {"data": [], "meta": {"total": 0}}
    assert len(many) == len(few) <= 4, many  # companies page (find + count) + one batched page of contacts
    assert json.dumps(many).count("rec_contact") <= 2
