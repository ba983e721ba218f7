"""Drill: 200 concurrent clients doing mixed CRUD for 60 s against a real gateway process.

Zero 5xx, every answer in the error envelope, and zero lost writes: every acknowledged create is
readable, every acknowledged update visible, every acknowledged delete gone.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.drills.conftest import env_number, gateway_env
from tests.drills.crud import Clients, login, lost_writes
from tests.support.server import GatewayProcess

pytestmark = [pytest.mark.drill, pytest.mark.slow]


async def test_200_clients_mixed_crud_no_5xx_no_lost_writes(
    ferretdb: EmbeddedFerretDB, db_prefix: str, start_gateway: Callable[..., GatewayProcess]
) -> None:
    seconds = env_number("DRILL_SECONDS", 60)
    clients = int(env_number("DRILL_CLIENTS", 200))
    gateway = start_gateway(gateway_env(ferretdb.url, db_prefix))
    token = await login(gateway.url, ADMIN_EMAIL, ADMIN_PASSWORD)

    ledger = await Clients(gateway.url, token, clients, timeout=180).run_for(seconds)

    summary = f"{dict(ledger.by_op)} no answer: {dict(ledger.no_answer)} slowest {ledger.slowest:.1f}s"
    print(f"\nmixed CRUD, {clients} clients for {seconds:g}s: {summary}")
    assert ledger.acknowledged_creates > clients, f"the drill did too little work to mean anything: {summary}"
    assert not ledger.server_errors, ledger.server_errors[:5]
    assert not [s for s in ledger.statuses if s >= 500], summary
    assert not ledger.no_answer, f"requests without an answer (hang or reset): {summary}"
    assert set(ledger.statuses) <= {200, 201, 204}, summary
    assert not ledger.stale_reads, ledger.stale_reads[:5]
    assert await lost_writes(gateway.url, token, ledger) == []
    assert gateway.proc is not None and gateway.proc.poll() is None, "the gateway died under load"
