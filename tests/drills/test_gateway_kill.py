"""Drill: the gateway is SIGKILLed under load and restarted.

No acknowledged write is lost, and no acknowledged write's post_save webhook either: the outbox holds the
event before the write is acknowledged, and the restarted gateway delivers what was pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.drills.conftest import gateway_env
from tests.drills.crud import Clients, login, lost_writes
from tests.support.server import GatewayProcess
from tests.support.webhook_receiver import Receiver

pytestmark = [pytest.mark.drill, pytest.mark.slow]

CLIENTS = 30


async def test_gateway_sigkilled_under_load_loses_no_acknowledged_write_or_event(
    ferretdb: EmbeddedFerretDB, db_prefix: str, start_gateway: Callable[..., GatewayProcess]
) -> None:
    gateway = start_gateway(gateway_env(ferretdb.url, db_prefix))
    token = await login(gateway.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    receiver = await Receiver().start()
    try:
        async with httpx.AsyncClient(base_url=gateway.url, headers=auth) as http:
            subscribed = await http.post(
                "/api/webhooks/subscribe",
                json={"target_url": receiver.url + "/hook", "entity": "contact", "event": "post_save"},
            )
        webhooks = subscribed.status_code == 201
        if not webhooks:
            print(f"\nwebhooks not checked: subscribe answered {subscribed.status_code}")

        clients = Clients(gateway.url, token, CLIENTS, timeout=30)
        load = asyncio.create_task(clients.run_for(8))
        await asyncio.sleep(4)
        gateway.kill()  # SIGKILL: no shutdown hooks, in-flight requests cut
        ledger = await load
        gateway.start(timeout=60)

        summary = f"{dict(ledger.by_op)} no answer: {dict(ledger.no_answer)}"
        print(f"\nSIGKILL under load: {summary}")
        assert ledger.acknowledged_creates > 0, summary
        assert not ledger.server_errors, ledger.server_errors[:5]
        assert await lost_writes(gateway.url, token, ledger) == []

        if webhooks:
            created = {
                rid for rid, state in ledger.expected.items() if rid not in ledger.uncertain and state is not None
            }

            def delivered(calls: list) -> set[str]:  # type: ignore[type-arg]
                return {
                    c.json["record"]["id"]
                    for c in calls
                    if c.headers.get("X-Hari-Event") == "post_save" and c.json.get("operation") == "create"
                }

            await receiver.wait_for(lambda calls: created <= delivered(calls), 120)
    finally:
        await receiver.stop()
