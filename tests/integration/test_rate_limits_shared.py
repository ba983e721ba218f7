"""Two `hari-gateway serve` processes share the per-user budget through HARI_RATE_LIMIT_STORAGE (MongoDB or Redis)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from gateway.embedded_db import EmbeddedFerretDB, free_port
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT
from tests.support.server import GatewayProcess


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port (.ci/run installs Debian's redis-server)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_two_processes_share_one_budget_in_redis(
    ferretdb: EmbeddedFerretDB, db_prefix: str, tmp_path: Path, redis_url: str
) -> None:
    _two_processes_share_one_budget(ferretdb, db_prefix, tmp_path, redis_url)


@pytest.mark.slow
def test_two_processes_share_one_budget(ferretdb: EmbeddedFerretDB, db_prefix: str, tmp_path: Path) -> None:
    _two_processes_share_one_budget(ferretdb, db_prefix, tmp_path, ferretdb.url)
    with MongoClient(ferretdb.url) as mongo:  # the counters live in their own database of this deployment
        assert mongo[f"{db_prefix}_ratelimits"]["windows"].count_documents({}) >= 1


def _two_processes_share_one_budget(ferretdb: EmbeddedFerretDB, db_prefix: str, tmp_path: Path, store: str) -> None:
    env: dict[str, str | None] = {
        "HARI_MONGODB_URL": ferretdb.url,
        "HARI_DB_PREFIX": db_prefix,
        "HARI_RATE_LIMIT_STORAGE": store,
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
