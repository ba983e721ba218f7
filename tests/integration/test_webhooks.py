"""Webhooks end to end: REST writes -> outbox -> aiohttp delivery -> a real aiohttp receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from hooks import signing
from tests.support.webhook_receiver import Call, Receiver, Reply

SECRET = "s3cret-for-tests-0123456789"


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        webhook_retry_schedule=[0.2, 0.4, 0.8],
        webhook_poll_interval_seconds=0.1,
        webhook_timeout_seconds=2,
        webhook_blocking_timeout_seconds=1,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


async def subscribe(
    client: httpx.AsyncClient, auth: dict[str, str], url: str, event: str, entity: str = "contact", **extra: Any
) -> dict[str, Any]:
    body = {"target_url": url, "entity": entity, "event": event, "secret": SECRET, **extra}
    response = await client.post("/api/webhooks/subscribe", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def assert_signed(call: Call, secret: str = SECRET) -> None:
    timestamp = call.headers["X-Hari-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = signing.signature(secret, timestamp, call.body)
    assert call.headers["X-Hari-Signature"] == expected
    assert signing.verify(secret, timestamp, call.body, call.headers["X-Hari-Signature"])
    assert not signing.verify("another-secret-xxxxxxxx", timestamp, call.body, call.headers["X-Hari-Signature"])
    assert call.headers["X-Hari-Delivery"] == call.json["id"]
    assert call.headers["X-Hari-Event"] == call.json["event"]
    assert call.headers["Content-Type"] == "application/json"


async def deliveries(client: httpx.AsyncClient, auth: dict[str, str], sub_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/webhooks/{sub_id}/deliveries", headers=auth)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def wait_deliveries(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    sub_id: str,
    predicate: Callable[[list[dict[str, Any]]], bool],
    within: float = 10.0,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        found = await deliveries(client, auth, sub_id)
        if predicate(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries never matched: {found}")
        await asyncio.sleep(0.1)


# --- events for every kind of write ---------------------------------------------------------------------


async def test_signed_events_for_create_update_delete(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    for event in ("pre_save", "post_save", "pre_delete", "post_delete"):
        await subscribe(client, auth, f"{receiver.url}/{event}", event)

    created = await client.post("/api/records/contact", json={"first_name": "Ada", "last_name": "L"}, headers=auth)
    assert created.status_code == 201, created.text
    record = created.json()
    updated = await client.put(f"/api/records/contact/{record['id']}", json={"first_name": "Grace"}, headers=auth)
    assert updated.status_code == 200, updated.text
    deleted = await client.delete(f"/api/records/contact/{record['id']}", headers=auth)
    assert deleted.status_code == 204, deleted.text

    calls = await receiver.wait_for(lambda calls: len(calls) >= 6)
    by_path = {
        p: [c.json for c in receiver.on(f"/{p}")] for p in ("pre_save", "post_save", "pre_delete", "post_delete")
    }
    assert [b["operation"] for b in by_path["pre_save"]] == ["create", "update"]
    assert [b["operation"] for b in by_path["post_save"]] == ["create", "update"]
    assert [b["operation"] for b in by_path["pre_delete"]] == ["delete"]
    assert [b["operation"] for b in by_path["post_delete"]] == ["delete"]
    for call in calls:
        assert_signed(call)
        body = call.json
        assert set(body) == {"id", "event", "entity", "operation", "record", "previous", "occurred_at"}
        assert body["entity"] == "contact"
        assert body["record"]["id"] == record["id"]
    create_post, update_post = by_path["post_save"]
    assert create_post["record"] == record
    assert create_post["previous"] is None
    assert update_post["record"] == updated.json()
    assert update_post["previous"]["first_name"] == "Ada"
    assert update_post["record"]["first_name"] == "Grace"
    assert by_path["pre_save"][1]["record"]["first_name"] == "Grace"
    assert by_path["post_delete"][0]["record"]["first_name"] == "Grace"
    # Every event has its own id, which is the X-Hari-Delivery header.
    assert len({c.headers["X-Hari-Delivery"] for c in calls}) == 6
    assert len(calls) == 6


async def test_bulk_writes_reach_subscribers(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    await subscribe(client, auth, f"{receiver.url}/all-save", "post_save", entity="*")
    await subscribe(client, auth, f"{receiver.url}/all-delete", "post_delete", entity="*")
    response = await client.post(
        "/api/records/company/bulk", json=[{"name": "A"}, {"name": "B"}, {"name": "C"}], headers=auth
    )
    assert response.status_code in (200, 201, 207), response.text
    ids = [item["id"] for item in (response.json().get("data") or response.json().get("results") or [])]
    assert len(ids) == 3, response.text
    response = await client.request("DELETE", "/api/records/company/bulk", json={"ids": ids}, headers=auth)
    assert response.status_code in (200, 207), response.text
    await receiver.wait_for(lambda calls: len(calls) >= 6)
    saved = {c.json["record"]["id"] for c in receiver.on("/all-save")}
    removed = {c.json["record"]["id"] for c in receiver.on("/all-delete")}
    assert saved == removed == set(ids)
    for call in receiver.calls:
        assert_signed(call)
        assert call.json["entity"] == "company"


async def test_entity_filter_and_deliveries_log(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    sub = await subscribe(client, auth, f"{receiver.url}/companies", "post_save", entity="company")
    await client.post("/api/records/contact", json={"first_name": "Not", "last_name": "Company"}, headers=auth)
    company = (await client.post("/api/records/company", json={"name": "Acme"}, headers=auth)).json()
    await receiver.wait_for(lambda calls: len(calls) >= 1)
    found = await wait_deliveries(client, auth, sub["id"], lambda d: bool(d) and d[0]["status"] == "delivered")
    assert len(found) == 1
    assert found[0]["record_id"] == company["id"]
    assert found[0]["attempts"] == 1
    assert found[0]["status_code"] == 200
    assert found[0]["event_id"] == receiver.calls[0].json["id"]
    assert [c.json["entity"] for c in receiver.calls] == ["company"]


# --- subscriptions API ----------------------------------------------------------------------------------


async def test_subscribe_list_get_delete_and_secret_shown_once(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    response = await client.post(
        "/api/webhooks/subscribe",
        json={"target_url": f"{receiver.url}/x", "entity": "*", "event": "post_save"},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    assert response.headers["location"] == f"/api/webhooks/{created['id']}"
    assert created["entity"] == "*" and created["event"] == "post_save" and created["blocking"] is False

    listed = (await client.get("/api/webhooks", headers=auth)).json()
    assert [s["id"] for s in listed["data"]] == [created["id"]]
    fetched = (await client.get(f"/api/webhooks/{created['id']}", headers=auth)).json()
    assert "secret" not in fetched and "secret" not in listed["data"][0]
    assert "secret_sealed" not in fetched
    assert fetched == {k: v for k, v in created.items() if k != "secret"}

    # The generated secret signs the deliveries.
    await client.post("/api/records/company", json={"name": "Signed"}, headers=auth)
    calls = await receiver.wait_for(lambda calls: len(calls) >= 1)
    assert_signed(calls[0], created["secret"])

    assert (await client.delete(f"/api/webhooks/{created['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/api/webhooks/{created['id']}", headers=auth)).status_code == 404
    assert (await client.delete(f"/api/webhooks/{created['id']}", headers=auth)).status_code == 404
    assert (await client.get("/api/webhooks", headers=auth)).json()["data"] == []
    await client.post("/api/records/company", json={"name": "Unheard"}, headers=auth)
    assert len(receiver.calls) == 1


async def test_secret_is_stored_encrypted(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver, app: Any
) -> None:
    sub = await subscribe(client, auth, f"{receiver.url}/x", "post_save")
    ws = await app.state.runtime.storage.workspace("default")
    raw = await ws.db["webhook_subscriptions"].find_one({})
    assert raw is not None and SECRET not in str(raw)
    assert app.state.runtime.extras["webhooks"].box.open(raw["secret_sealed"]) == SECRET
    assert sub["id"] == str(raw["_id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target_url": "ftp://example.com/x", "entity": "contact", "event": "post_save"}, "target_url"),
        ({"target_url": "not a url", "entity": "contact", "event": "post_save"}, "target_url"),
        ({"target_url": "http://u:p@example.com/", "entity": "contact", "event": "post_save"}, "target_url"),
        ({"target_url": "http://127.0.0.1/x", "entity": "nope", "event": "post_save"}, "entity"),
        ({"target_url": "http://127.0.0.1/x", "entity": "contact", "event": "saved"}, "event"),
        ({"target_url": "http://127.0.0.1/x", "entity": "contact", "event": "post_save", "secret": "short"}, "secret"),
        ({"target_url": "http://127.0.0.1/x", "entity": "contact", "event": "post_save", "blocking": True}, "blocking"),
        ({"target_url": "http://127.0.0.1/x", "entity": "contact", "event": "post_save", "extra": 1}, "extra"),
        ({"entity": "contact", "event": "post_save"}, "target_url"),
    ],
)
async def test_invalid_subscriptions_are_400(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/webhooks/subscribe", json=body, headers=auth)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]]
    assert (await client.get("/api/webhooks", headers=auth)).json()["data"] == []


async def test_webhooks_need_permission(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    assert (await client.get("/api/webhooks")).status_code == 401
    body = {"target_url": "http://127.0.0.1:9/x", "entity": "contact", "event": "post_save"}
    assert (await client.post("/api/webhooks/subscribe", json=body)).status_code == 401
    response = await client.post(
        "/api/users",
        json={"email": "viewer@example.com", "password": "viewer-password", "role": "viewer"},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    from tests.conftest import login

    viewer = {"Authorization": f"Bearer {await login(client, 'viewer@example.com', 'viewer-password')}"}
    forbidden = await client.post("/api/webhooks/subscribe", json=body, headers=viewer)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/webhooks", headers=viewer)).status_code == 403


async def test_unknown_or_malformed_id_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for path in ("/api/webhooks/nope", "/api/webhooks/" + "0" * 24, "/api/webhooks/nope/deliveries"):
        response = await client.get(path, headers=auth)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "webhook_not_found"
    assert (await client.post("/api/webhooks/nope/test", headers=auth)).status_code == 404


async def test_test_endpoint_sends_a_signed_sample(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    sub = await subscribe(client, auth, f"{receiver.url}/test", "post_save", entity="*")
    response = await client.post(f"/api/webhooks/{sub['id']}/test", headers=auth)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True and result["status_code"] == 200
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert_signed(call)
    assert call.json["test"] is True and call.json["event"] == "post_save"
    assert call.json["id"] == result["event_id"]
    log = await deliveries(client, auth, sub["id"])
    assert [d["status"] for d in log] == ["delivered"]

    receiver.responder = lambda call: Reply(500, {"message": "down"})
    result = (await client.post(f"/api/webhooks/{sub['id']}/test", headers=auth)).json()
    assert result["ok"] is False and result["status_code"] == 500
    assert len(receiver.calls) == 2  # no retries for a test send


async def test_graphql_writes_reach_subscribers_too(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    await subscribe(client, auth, f"{receiver.url}/gql", "post_save", entity="company")
    response = await client.post(
        "/api/graphql",
        json={"query": 'mutation { create_company(data: {name: "Via GraphQL"}) { id } }'},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    created = response.json()["data"]["create_company"]
    calls = await receiver.wait_for(lambda calls: len(calls) >= 1)
    assert calls[0].json["record"]["id"] == created["id"]
    assert calls[0].json["record"]["name"] == "Via GraphQL"
    assert_signed(calls[0])


async def test_in_process_handlers_are_the_documented_extension_point(
    client: httpx.AsyncClient, auth: dict[str, str], app: Any
) -> None:
    from hooks.bus import RecordEvent

    seen: list[tuple[str, str, str]] = []

    async def stamp(event: RecordEvent) -> dict[str, Any] | None:
        assert event.record is not None
        return {**event.record, "source": event.record.get("source") or "other"}

    def audit(event: RecordEvent) -> None:
        seen.append((event.event, event.operation, (event.record or {})["id"]))

    bus = app.state.runtime.bus
    off = bus.on("pre_save", stamp, entity="contact")
    bus.on("post_delete", audit)
    created = await client.post("/api/records/contact", json={"first_name": "In", "last_name": "Proc"}, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "other"
    off()
    second = await client.post("/api/records/contact", json={"first_name": "No", "last_name": "Stamp"}, headers=auth)
    assert "source" not in second.json()
    await client.delete(f"/api/records/contact/{created.json()['id']}", headers=auth)
    assert seen == [("post_delete", "delete", created.json()["id"])]
