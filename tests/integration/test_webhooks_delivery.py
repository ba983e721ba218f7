"""Delivery behaviour against a real receiver: retries with backoff, Retry-After, failure after the last try,
410 unsubscribe, ordering per record, slow targets, blocking hooks, SSRF at delivery time, crash recovery."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from hooks.bus import RecordEvent
from tests.integration.test_webhooks import assert_signed, deliveries, subscribe, wait_deliveries
from tests.support.webhook_receiver import Call, Receiver, Reply

SCHEDULE = [0.3, 0.6, 1.2]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        webhook_retry_schedule=SCHEDULE,
        webhook_poll_interval_seconds=0.1,
        webhook_timeout_seconds=1,
        webhook_blocking_timeout_seconds=0.5,
        webhook_stage_timeout_seconds=0.5,
        webhook_concurrency_per_target=2,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


def gaps(calls: list[Call]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(calls)]


async def test_retries_with_backoff_until_success(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    answers = iter([Reply(503), Reply(500, {"message": "boom"}), Reply(200)])
    receiver.responder = lambda call: next(answers)
    sub = await subscribe(client, auth, f"{receiver.url}/flaky", "post_save")
    await client.post("/api/records/contact", json={"first_name": "A", "last_name": "B"}, headers=auth)
    calls = await receiver.wait_for(lambda calls: len(calls) >= 3)
    assert len({c.headers["X-Hari-Delivery"] for c in calls}) == 1  # the same event, tried again
    assert all(c.body == calls[0].body for c in calls)
    for call in calls:
        assert_signed(call)
    first, second = gaps(calls)
    # Jitter is +-20% of each step; polling and a busy machine add a little.
    assert SCHEDULE[0] * 0.8 <= first < SCHEDULE[0] * 1.2 + 1.5
    assert SCHEDULE[1] * 0.8 <= second < SCHEDULE[1] * 1.2 + 1.5
    log = await wait_deliveries(client, auth, sub["id"], lambda d: d and d[0]["status"] == "delivered")
    assert log[0]["attempts"] == 3 and log[0]["status_code"] == 200 and log[0]["last_error"] is None


async def test_failed_after_the_last_try(client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver) -> None:
    receiver.responder = lambda call: Reply(502, {"message": "bad gateway"})
    sub = await subscribe(client, auth, f"{receiver.url}/dead", "post_save")
    await client.post("/api/records/contact", json={"first_name": "A", "last_name": "B"}, headers=auth)
    log = await wait_deliveries(client, auth, sub["id"], lambda d: d and d[0]["status"] == "failed", within=15)
    assert log[0]["attempts"] == len(SCHEDULE) + 1
    assert log[0]["status_code"] == 502
    assert log[0]["last_error"] == "HTTP 502"
    assert len(receiver.calls) == len(SCHEDULE) + 1
    await asyncio.sleep(SCHEDULE[-1] * 1.5)
    assert len(receiver.calls) == len(SCHEDULE) + 1  # nothing after the last try


async def test_timeouts_and_connection_errors_are_retried(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    answers = iter([Reply(200, delay=1.5), Reply(200)])  # the first answer comes after the 1 s timeout
    receiver.responder = lambda call: next(answers)
    slow = await subscribe(client, auth, f"{receiver.url}/slow", "post_save")
    closed = Receiver()
    await closed.start()
    closed_url = closed.url
    await closed.stop()  # nothing listens there any more: connection refused
    refused = await subscribe(client, auth, f"{closed_url}/gone", "post_save")
    await client.post("/api/records/contact", json={"first_name": "A", "last_name": "B"}, headers=auth)
    log = await wait_deliveries(client, auth, slow["id"], lambda d: d and d[0]["status"] == "delivered")
    assert log[0]["attempts"] == 2
    log = await wait_deliveries(client, auth, refused["id"], lambda d: d and d[0]["attempts"] >= 2)
    assert log[0]["status"] in ("pending", "failed") and log[0]["status_code"] is None
    assert log[0]["last_error"]


async def test_429_honours_retry_after(client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver) -> None:
    answers = iter([Reply(429, headers={"Retry-After": "2"}), Reply(200)])
    receiver.responder = lambda call: next(answers)
    await subscribe(client, auth, f"{receiver.url}/limited", "post_save")
    await client.post("/api/records/contact", json={"first_name": "A", "last_name": "B"}, headers=auth)
    calls = await receiver.wait_for(lambda calls: len(calls) >= 2, within=10)
    assert gaps(calls)[0] >= 1.9  # not the 0.3 s of the schedule


async def test_client_errors_other_than_429_are_final(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    receiver.responder = lambda call: Reply(400, {"message": "no"})
    sub = await subscribe(client, auth, f"{receiver.url}/picky", "post_save")
    await client.post("/api/records/contact", json={"first_name": "A", "last_name": "B"}, headers=auth)
    log = await wait_deliveries(client, auth, sub["id"], lambda d: d and d[0]["status"] == "failed")
    assert log[0]["attempts"] == 1 and log[0]["status_code"] == 400


async def test_410_gone_unsubscribes(client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver) -> None:
    receiver.responder = lambda call: Reply(410)
    sub = await subscribe(client, auth, f"{receiver.url}/gone", "post_save")
    await client.post("/api/records/contact", json={"first_name": "A", "last_name": "B"}, headers=auth)
    await receiver.wait_for(lambda calls: len(calls) >= 1)
    for _ in range(50):
        if (await client.get(f"/api/webhooks/{sub['id']}", headers=auth)).status_code == 404:
            break
        await asyncio.sleep(0.1)
    assert (await client.get(f"/api/webhooks/{sub['id']}", headers=auth)).status_code == 404
    await client.post("/api/records/contact", json={"first_name": "C", "last_name": "D"}, headers=auth)
    await asyncio.sleep(SCHEDULE[0] * 2)
    assert len(receiver.calls) == 1


async def test_deliveries_of_one_record_keep_write_order(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    # The first delivery fails twice; the later writes of the same record must wait for it.
    failures = {"left": 2}

    def respond(call: Call) -> Reply:
        if call.json["record"].get("first_name") == "v0" and failures["left"]:
            failures["left"] -= 1
            return Reply(503)
        return Reply(200)

    receiver.responder = respond
    await subscribe(client, auth, f"{receiver.url}/ordered", "post_save")
    record = (
        await client.post("/api/records/contact", json={"first_name": "v0", "last_name": "x"}, headers=auth)
    ).json()
    for n in range(1, 5):
        response = await client.put(f"/api/records/contact/{record['id']}", json={"first_name": f"v{n}"}, headers=auth)
        assert response.status_code == 200
    await receiver.wait_for(lambda calls: sum(c.headers.get("X-Hari-Event") == "post_save" for c in calls) >= 7)
    sent = [c.json["record"]["first_name"] for c in receiver.calls]
    assert sent == ["v0", "v0", "v0", "v1", "v2", "v3", "v4"]


async def test_a_slow_target_does_not_delay_others(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    slow = await Receiver().start()
    slow.responder = lambda call: Reply(200, delay=0.9)
    try:
        await subscribe(client, auth, f"{slow.url}/slow", "post_save", entity="company")
        await subscribe(client, auth, f"{receiver.url}/fast", "post_save", entity="company")
        for n in range(6):
            await client.post("/api/records/company", json={"name": f"c{n}"}, headers=auth)
        started = asyncio.get_running_loop().time()
        await receiver.wait_for(lambda calls: len(calls) >= 6, within=5)
        fast_done = asyncio.get_running_loop().time() - started
        # 6 slow deliveries at 2 at a time take ~2.7 s; the fast target is served meanwhile.
        assert fast_done < 2.5
        assert len(slow.calls) < 6
        await slow.wait_for(lambda calls: len(calls) >= 6, within=10)
    finally:
        await slow.stop()


# --- blocking hooks -------------------------------------------------------------------------------------


async def test_blocking_pre_save_veto(client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver) -> None:
    def respond(call: Call) -> Reply:
        if call.json["record"].get("last_name") == "Banned":
            details = [{"field": "last_name", "message": "Banned."}, {"bad": "ignored"}]
            return Reply(422, {"message": "Banned people are not welcome.", "details": details})
        return Reply(200)

    receiver.responder = respond
    await subscribe(client, auth, f"{receiver.url}/guard", "pre_save", blocking=True)
    post_sub = await subscribe(client, auth, f"{receiver.url}/after", "post_save")
    refused = await client.post("/api/records/contact", json={"first_name": "X", "last_name": "Banned"}, headers=auth)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "hook_rejected"
    assert error["message"] == "Banned people are not welcome."
    assert error["details"] == [{"field": "last_name", "message": "Banned."}]
    listed = (await client.get("/api/records/contact", headers=auth)).json()
    assert listed["meta"]["total"] == 0
    assert len(receiver.on("/guard")) == 1
    assert_signed(receiver.on("/guard")[0])

    allowed = await client.post("/api/records/contact", json={"first_name": "Y", "last_name": "Fine"}, headers=auth)
    assert allowed.status_code == 201, allowed.text
    await receiver.wait_for(lambda calls: len([c for c in calls if c.path == "/after"]) >= 1)
    await asyncio.sleep(0.8)  # past the stage timeout: the refused write's post_save is never sent
    assert [c.json["record"]["last_name"] for c in receiver.on("/after")] == ["Fine"]
    log = await deliveries(client, auth, post_sub["id"])
    assert [d["status"] for d in log] == ["delivered"]


async def test_blocking_pre_save_modifies_the_record(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    def respond(call: Call) -> Reply:
        record = call.json["record"]
        return Reply(200, {"record": {"first_name": record["first_name"].title(), "source": "referral"}})

    receiver.responder = respond
    await subscribe(client, auth, f"{receiver.url}/fix", "pre_save", blocking=True)
    created = await client.post("/api/records/contact", json={"first_name": "ada", "last_name": "L"}, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["first_name"] == "Ada"
    assert created.json()["source"] == "referral"
    stored = (await client.get(f"/api/records/contact/{created.json()['id']}", headers=auth)).json()
    assert stored["first_name"] == "Ada" and stored["source"] == "referral"

    # What the hook returns is validated again like any input.
    receiver.responder = lambda call: Reply(200, {"record": {"no_such_field": 1}})
    invalid = await client.post("/api/records/contact", json={"first_name": "b", "last_name": "L"}, headers=auth)
    assert invalid.status_code == 400, invalid.text


async def test_blocking_hook_unreachable_refuses_the_write(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    receiver.responder = lambda call: Reply(200, delay=1.5)  # beyond the 0.5 s blocking timeout
    await subscribe(client, auth, f"{receiver.url}/slow", "pre_delete", entity="company", blocking=True)
    record = (await client.post("/api/records/company", json={"name": "Keep"}, headers=auth)).json()
    response = await client.delete(f"/api/records/company/{record['id']}", headers=auth)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "hook_unreachable"
    assert (await client.get(f"/api/records/company/{record['id']}", headers=auth)).status_code == 200


async def test_non_blocking_pre_save_is_delivered_after_the_write(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    receiver.responder = lambda call: Reply(500)  # a non-blocking hook's answer never affects the write
    await subscribe(client, auth, f"{receiver.url}/pre", "pre_save", entity="company")
    created = await client.post("/api/records/company", json={"name": "Async"}, headers=auth)
    assert created.status_code == 201
    calls = await receiver.wait_for(lambda calls: len(calls) >= 1)
    assert calls[0].json["event"] == "pre_save" and calls[0].json["record"]["id"] == created.json()["id"]


# --- SSRF ----------------------------------------------------------------------------------------------


async def test_private_targets_refused_at_subscribe(make_settings: Callable[..., Settings], receiver: Receiver) -> None:
    from asgi_lifespan import LifespanManager

    from gateway.app import create_app
    from tests.conftest import login

    app = create_app(make_settings(webhook_allow_private=False))
    async with LifespanManager(app, startup_timeout=60) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as client:
            auth = {"Authorization": f"Bearer {await login(client)}"}
            for url in (
                receiver.url,
                "http://localhost:8080/x",
                "http://[::1]/x",
                "http://10.1.2.3/x",
                "http://192.168.0.10/x",
                "http://169.254.169.254/latest/meta-data/",
                "http://[fd00:ec2::254]/",
                "http://[::ffff:127.0.0.1]/x",
                "http://0.0.0.0/x",
                "http://224.0.0.1/x",
            ):
                body = {"target_url": url, "entity": "contact", "event": "post_save"}
                response = await client.post("/api/webhooks/subscribe", json=body, headers=auth)
                assert response.status_code == 400, url
                detail = response.json()["error"]["details"][0]
                assert detail["field"] == "target_url"
                assert "refused" in detail["message"] or "not" in detail["message"], detail
            assert (await client.get("/api/webhooks", headers=auth)).json()["data"] == []

            # Stored when private targets were allowed (or DNS changed since): refused again at delivery time.
            runtime = app.state.runtime
            ws = await runtime.storage.workspace("default")
            model = ws.model(__import__("storage.documents", fromlist=["x"]).WebhookSubscription)
            sub = model(
                target_url=f"{receiver.url}/x",
                entity="contact",
                event="post_save",
                secret_sealed=runtime.extras["webhooks"].box.seal("x" * 20),
            )
            await sub.insert()
            await client.post("/api/records/contact", json={"first_name": "A", "last_name": "B"}, headers=auth)
            for _ in range(50):
                log = (await client.get(f"/api/webhooks/{sub.id}/deliveries", headers=auth)).json()["data"]
                if log and log[0]["status"] == "failed":
                    break
                await asyncio.sleep(0.1)
            assert log[0]["status"] == "failed", log
            assert "loopback" in log[0]["last_error"]
            assert log[0]["attempts"] == 1  # a refusal is not retried
            assert receiver.calls == []


async def test_metadata_address_refused_even_when_private_allowed(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {"target_url": "http://169.254.169.254/latest", "entity": "contact", "event": "post_save"}
    response = await client.post("/api/webhooks/subscribe", json=body, headers=auth)
    assert response.status_code == 400
    assert "metadata" in response.json()["error"]["details"][0]["message"]


# --- crash between the pre_ and post_ event -------------------------------------------------------------


async def test_staged_events_are_recovered_when_the_write_happened(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver, app: Any
) -> None:
    """Simulates a crash after the record was written but before post_save: only pre_save was emitted."""
    sub = await subscribe(client, auth, f"{receiver.url}/post", "post_save")
    runtime = app.state.runtime
    ws = await runtime.storage.workspace("default")
    written = await ws.records("contact").insert({"first_name": "Crash", "last_name": "Survivor"})
    record = {"id": str(written["_id"]), "first_name": "Crash", "last_name": "Survivor"}
    await runtime.bus.emit(RecordEvent("pre_save", "default", "contact", "create", record))
    # ... and a write that never reached the database must not be announced.
    ghost = {"id": "0123456789abcdef01234567", "first_name": "Ghost", "last_name": "Never"}
    await runtime.bus.emit(RecordEvent("pre_save", "default", "contact", "create", ghost))

    calls = await receiver.wait_for(lambda calls: len(calls) >= 1, within=10)
    await asyncio.sleep(1.2)
    assert len(receiver.calls) == 1
    body = calls[0].json
    assert body["event"] == "post_save" and body["operation"] == "create"
    assert body["record"]["id"] == record["id"] and body["record"]["first_name"] == "Crash"
    assert_signed(calls[0])
    log = await deliveries(client, auth, sub["id"])
    assert [d["status"] for d in log] == ["delivered"]
    raw = await ws.db["webhook_deliveries"].find_one({"record_id": ghost["id"]})
    assert raw is not None and raw["status"] == "discarded"


async def test_two_gateways_share_the_outbox_without_sending_twice(
    client: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver, settings: Settings, app: Any
) -> None:
    """A second gateway on the same database: every event is claimed and sent by exactly one of them."""
    from asgi_lifespan import LifespanManager

    from gateway.app import create_app

    other = create_app(settings)
    async with LifespanManager(other, startup_timeout=60) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as second:
            await subscribe(client, auth, f"{receiver.url}/shared", "post_save", entity="company")
            ids = []
            for n in range(20):
                http = client if n % 2 else second
                created = await http.post("/api/records/company", json={"name": f"s{n}"}, headers=auth)
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
            await receiver.wait_for(lambda calls: len(calls) >= 20)
            await asyncio.sleep(0.5)
            assert sorted(c.json["record"]["id"] for c in receiver.calls) == sorted(ids)
            ws = await app.state.runtime.storage.workspace("default")
            workers = await ws.db["webhook_deliveries"].distinct("claimed_by", {"status": "delivered"})
            assert len(workers) == 2  # both processes took part


async def test_claims_have_one_winner_and_expire_with_the_lease(app: Any, client: httpx.AsyncClient) -> None:
    """Against the real database: concurrent claims of one entry (FerretDB's findAndModify is not atomic)."""
    from datetime import timedelta

    from hooks import outbox as ob
    from storage.workspace import WorkspaceStore

    storage = app.state.runtime.storage
    ws = WorkspaceStore("claims", storage.client[storage.database_name("claims")])  # not a workspace the worker scans
    await ws.init()
    box = ob.Outbox(ws)
    now = ob.utcnow()
    await box.deliveries.insert_one(
        {"status": ob.PENDING, "next_attempt_at": now, "lease_until": now, "claims": 0, "subscription_id": "s"}
    )
    entry = await box.deliveries.find_one({"subscription_id": "s"})
    results = await asyncio.gather(*(box.claim(entry, ob.utcnow(), 30, f"w{n}") for n in range(8)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert (await box.deliveries.find_one({"_id": entry["_id"]}))["claims"] == 1

    # The holder died right after its claim insert (the entry never recorded it): after the lease it is passed over.
    await box.deliveries.update_one({"_id": entry["_id"]}, {"$set": {"claims": 0, "lease_until": now}})
    assert await box.claim(entry, ob.utcnow(), 30, "late") is None  # the claim is still fresh
    later = ob.utcnow() + timedelta(seconds=31)
    taken = await box.claim(entry, later, 30, "late")
    assert taken is not None and taken["claims"] == 2 and taken["claimed_by"] == "late"
