"""A real gateway process (uvicorn, the CLI's ``serve``) on a free port, for tools that speak HTTP themselves:
a browser, a generated client, a fuzzer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET
from tests.support.server import GatewayProcess


@dataclass
class LiveGateway:
    url: str
    process: GatewayProcess

    def token(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
        response = httpx.post(self.url + "/api/auth/login", json={"email": email, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def live_env(ferretdb: EmbeddedFerretDB, **extra: str) -> dict[str, str]:
    """Settings of a gateway of its own: fresh databases, the test admin, cheap hashing, no outbound webhooks."""
    return {
        "HARI_MONGODB_URL": ferretdb.url,
        "HARI_DB_PREFIX": "e" + uuid.uuid4().hex[:12],
        "HARI_ADMIN_EMAIL": ADMIN_EMAIL,
        "HARI_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HARI_JWT_SECRET": JWT_SECRET,
        "HARI_ARGON2_TIME_COST": "1",
        "HARI_ARGON2_MEMORY_COST": "8192",
        "HARI_WEBHOOK_WORKER": "false",
        "HARI_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture(scope="module")
def live_gateway(ferretdb: EmbeddedFerretDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    log: Path = tmp_path_factory.mktemp("gateway") / "gateway.log"
    process = GatewayProcess(live_env(ferretdb), log_path=log).start(timeout=60)
    try:
        yield LiveGateway(process.url, process)
    finally:
        process.kill()
