"""No event is lost when a real gateway process is SIGKILLed with deliveries pending and in flight."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, ROOT
from tests.integration.test_webhooks import SECRET, assert_signed
from tests.support.server import GatewayProcess
from tests.support.webhook_receiver import Receiver, Reply

RECORDS = 8


@pytest.mark.slow
async def test_sigkill_with_pending_deliveries_loses_nothing(
    ferretdb: EmbeddedFerretDB, db_prefix: str, tmp_path: Path
) -> None:
    receiver = await Receiver().start()
    # Phase 1: the target is slow and failing, so deliveries are in flight or waiting for a retry.
    receiver.responder = lambda call: Reply(503, delay=0.5)
    env = {
        "HARI_MONGODB_URL": ferretdb.url,
        "HARI_DB_PREFIX": db_prefix,
        "HARI_JWT_SECRET": JWT_SECRET,
        "HARI_ADMIN_EMAIL": ADMIN_EMAIL,
        "HARI_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HARI_ARGON2_TIME_COST": "1",
        "HARI_ARGON2_MEMORY_COST": "8192",
        "HARI_CACHE_DIR": str(ROOT / ".cache"),
        "HARI_WEBHOOK_ALLOW_PRIVATE": "true",
        "HARI_WEBHOOK_RETRY_SCHEDULE": "2,2,2,2,2,2",
        "HARI_WEBHOOK_TIMEOUT_SECONDS": "2",
        "HARI_WEBHOOK_LEASE_SECONDS": "3",
        "HARI_WEBHOOK_POLL_INTERVAL_SECONDS": "0.2",
        "HARI_WEBHOOK_CONCURRENCY_PER_TARGET": "2",
    }
    gateway = await asyncio.to_thread(GatewayProcess(env, log_path=tmp_path / "gateway1.log").start)
    restarted: GatewayProcess | None = None
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            login = await http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            body = {"target_url": f"{receiver.url}/hook", "entity": "company", "event": "post_save", "secret": SECRET}
            sub = await http.post("/api/webhooks/subscribe", json=body, headers=auth)
            assert sub.status_code == 201, sub.text
            ids = []
            for n in range(RECORDS):
                created = await http.post("/api/records/company", json={"name": f"k{n}"}, headers=auth)
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
        await receiver.wait_for(lambda calls: len(calls) >= 2)
        gateway.kill()  # SIGKILL: no shutdown code runs
        assert gateway.proc is not None and gateway.proc.returncode == -9

        # Phase 2: the target recovers and the gateway comes back.
        switched = time.monotonic()
        receiver.responder = lambda call: Reply(200)
        restarted = await asyncio.to_thread(
            GatewayProcess(env, port=gateway.port, log_path=tmp_path / "gateway2.log").start
        )

        def all_delivered(calls: list) -> bool:  # type: ignore[type-arg]
            after = {c.json["record"]["id"] for c in calls if c.at >= switched}
            return after >= set(ids)

        calls = await receiver.wait_for(all_delivered, within=30)
        late = [c for c in calls if c.at >= switched]
        for call in late:
            assert_signed(call)
            assert call.json["event"] == "post_save" and call.json["operation"] == "create"
        # One event per record; retries and re-sends after the crash reuse its id (receivers de-duplicate).
        event_ids = {c.json["record"]["id"]: c.headers["X-Hari-Delivery"] for c in calls}
        assert len(set(event_ids.values())) == RECORDS
        for call in calls:
            assert call.headers["X-Hari-Delivery"] == event_ids[call.json["record"]["id"]]

        async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as http:
            login = await http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            deadline = time.monotonic() + 10
            while True:
                log = (await http.get(f"/api/webhooks/{sub.json()['id']}/deliveries", headers=auth)).json()["data"]
                if [d["status"] for d in log] == ["delivered"] * RECORDS or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert [d["status"] for d in log] == ["delivered"] * RECORDS, log
    finally:
        gateway.kill()
        if restarted is not None:
            restarted.kill()
        await receiver.stop()
