"""Two `hari-gateway serve` processes on one database share the per-user budget (HARI_RATE_LIMIT_STORAGE=mongodb://)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT
from tests.support.server import GatewayProcess


@pytest.mark.slow
def test_two_processes_share_one_budget(ferretdb: EmbeddedFerretDB, db_prefix: str, tmp_path: Path) -> None:
    env: dict[str, str | None] = {
        "HARI_MONGODB_URL": ferretdb.url,
        "HARI_DB_PREFIX": db_prefix,
        "HARI_RATE_LIMIT_STORAGE": ferretdb.url,
        "HARI_RATE_LIMIT_AUTHENTICATED": "10/minute",
        "HARI_ADMIN_EMAIL": ADMIN_EMAIL,
        "HARI_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HARI_ARGON2_TIME_COST": "1",
        "HARI_ARGON2_MEMORY_COST": "8192",
        "HARI_CACHE_DIR": str(ROOT / ".cache"),
        "HARI_WEBHOOK_WORKER": "false",
    }
    first = GatewayProcess(env, log_path=tmp_path / "a.log")
    second = GatewayProcess(env, log_path=tmp_path / "b.log")
    try:
        first.start(timeout=60)
        second.start(timeout=60)
        login = httpx.post(f"{first.url}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        remaining = []
        for i in range(10):
            base = (first, second)[i % 2].url
            response = httpx.get(f"{base}/api/records/contact", headers=headers)
            assert response.status_code == 200, (i, response.text)
            remaining.append(int(response.headers["x-ratelimit-remaining"]))
        assert remaining == list(range(9, -1, -1))  # one window across both processes, not two of 10

        for process in (first, second):
            limited = httpx.get(f"{process.url}/api/records/contact", headers=headers)
            assert limited.status_code == 429, first.logs() + second.logs()
            assert limited.json()["error"]["code"] == "rate_limited"
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.headers["x-ratelimit-remaining"] == "0"
    finally:
        first.kill()
        second.kill()
    with MongoClient(ferretdb.url) as mongo:  # the counters live in their own database of this deployment
        assert mongo[f"{db_prefix}_ratelimits"]["windows"].count_documents({}) >= 1
