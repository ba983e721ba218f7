"""Drill fixtures: real gateway processes (``hari-gateway serve``) on loopback, sized by env.

DRILL_SECONDS (default 60) and DRILL_CLIENTS (default 200) size the load drill; DRILL_OUTAGE_SECONDS
(default 10) the database outage.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET
from tests.support.server import GatewayProcess

UNLIMITED = "1000000000/minute"


def env_number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def gateway_env(mongodb_url: str, db_prefix: str, **extra: str) -> dict[str, str | None]:
    return {
        "HARI_MONGODB_URL": mongodb_url,
        "HARI_DB_PREFIX": db_prefix,
        "HARI_ADMIN_EMAIL": ADMIN_EMAIL,
        "HARI_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HARI_JWT_SECRET": JWT_SECRET,
        "HARI_ARGON2_TIME_COST": "1",
        "HARI_ARGON2_MEMORY_COST": "8192",
        "HARI_RATE_LIMIT_AUTHENTICATED": UNLIMITED,
        "HARI_RATE_LIMIT_ANONYMOUS": UNLIMITED,
        "HARI_RATE_LIMIT_LOGIN": UNLIMITED,
        "HARI_RATE_LIMIT_BULK": UNLIMITED,
        "HARI_WEBHOOK_ALLOW_PRIVATE": "true",
        "HARI_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Start ``hari-gateway serve`` processes; every one started is killed at teardown."""
    started: list[GatewayProcess] = []

    def start(env: dict[str, str | None], port: int | None = None) -> GatewayProcess:
        process = GatewayProcess(env, port=port, log_path=tmp_path / f"gateway-{len(started)}.log")
        started.append(process)
        return process.start(timeout=60)

    yield start
    for process in started:
        process.kill()
