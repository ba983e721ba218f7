"""Drill: the database stops for 10 s under load.

While it is down, requests fail fast with 503 in the error envelope (no 500, no hang); once it is back
the gateway recovers by itself, and nothing it acknowledged is lost. The database is SIGKILLed (the harsher
case: a crash, not a drain) and restarted on the same port and files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.embedded_db import EmbeddedFerretDB, free_port
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT
from tests.drills.conftest import env_number, gateway_env
from tests.drills.crud import Clients, login, lost_writes
from tests.support.server import GatewayProcess

pytestmark = [pytest.mark.drill, pytest.mark.slow]

CLIENTS = 20
# The production default of HARI_MONGODB_TIMEOUT_MS: how long a request waits for the database before its 503.
TIMEOUT_MS = Settings.model_fields["mongodb_timeout_ms"].default


def _kill(db: EmbeddedFerretDB) -> None:
    assert db.process is not None
    db.process.kill()
    db.process.wait()
    db.process = None


async def test_database_stopped_under_load_fails_fast_then_recovers(
    tmp_path: Path, db_prefix: str, start_gateway: Callable[..., GatewayProcess]
) -> None:
    outage = env_number("DRILL_OUTAGE_SECONDS", 10)
    db = EmbeddedFerretDB(tmp_path / "ferretdb", ROOT / ".cache", port=free_port())
    db.start()
    try:
        gateway = start_gateway(gateway_env(db.url, db_prefix))
        token = await login(gateway.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        clients = Clients(gateway.url, token, CLIENTS, timeout=60)

        load = asyncio.create_task(clients.run_for(3 + outage + 15))
        await asyncio.sleep(3)
        _kill(db)  # abruptly, like a crash or a lost host: no drain, nothing flushed on the way out
        stopped_at = time.monotonic()
        await asyncio.sleep(outage)
        await asyncio.to_thread(db.start)
        restarted_at = time.monotonic()
        ledger = await load

        # (start, op, status, seconds) of the requests made and answered while the database was down
        during = [t for t in ledger.timeline if t[0] >= stopped_at and t[0] + t[3] < restarted_at]
        after = [t for t in ledger.timeline if t[0] >= restarted_at + 5]
        summary = f"{dict(ledger.by_op)} no answer: {dict(ledger.no_answer)} slowest {ledger.slowest:.1f}s"
        print(f"\ndatabase outage {outage:g}s: {summary}")

        assert not ledger.server_errors, ledger.server_errors[:5]  # no 500, every error in the envelope
        assert during, "no request was made while the database was down"
        assert {status for _, _, status, _ in during} <= {503}, f"while down: {sorted({t[2] for t in during})}"
        assert max(seconds for *_, seconds in during) < TIMEOUT_MS / 1000 + 3, "a request hung while the db was down"
        # (seconds after the restart, op, status) of what still failed once the database was back. An update may
        # answer 409 concurrent_update (retryable, nothing lost): seen in one of several runs after a restart, when the
        # service's optimistic version check kept missing; reported, not failed on (see the issue 8 report).
        failed_after = [(round(t[0] - restarted_at, 2), t[1], t[2]) for t in after if t[2] not in (200, 201, 204)]
        print(f"failed after the restart: {failed_after}")
        assert after, "no request after the restart"
        assert all(op == "update" and status == 409 for _, op, status in failed_after), failed_after
        assert not ledger.no_answer, f"requests without an answer: {summary}"
        assert not ledger.stale_reads, ledger.stale_reads[:5]
        assert await lost_writes(gateway.url, token, ledger) == []
    finally:
        await asyncio.to_thread(db.stop)
