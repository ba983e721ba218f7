"""The gateway as operators run it: `hari-gateway serve` in its own process."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT
from tests.support.server import GatewayProcess

BASE_ENV: dict[str, str | None] = {
    "HARI_ADMIN_EMAIL": ADMIN_EMAIL,
    "HARI_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "HARI_ARGON2_TIME_COST": "1",
    "HARI_ARGON2_MEMORY_COST": "8192",
    "HARI_CACHE_DIR": str(ROOT / ".cache"),
}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _token(base: str) -> str:
    response = httpx.post(f"{base}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_serve_runs_the_embedded_database_keeps_data_and_stops_it(tmp_path: Path) -> None:
    env = {**BASE_ENV, "HARI_MONGODB_URL": None, "HARI_DATA_DIR": str(tmp_path / "data")}
    gateway = GatewayProcess(env, log_path=tmp_path / "gateway.log").start(timeout=60)
    try:
        endpoint = json.loads((tmp_path / "data" / "ferretdb" / "endpoint.json").read_text())
        ferret_pid = int(endpoint["pid"])
        assert _pid_alive(ferret_pid)
        ready = httpx.get(gateway.url + "/api/ready", headers={"X-Request-ID": "trace-me-123"})
        assert ready.json() == {"status": "ready"}
        assert ready.headers["x-request-id"] == "trace-me-123"
        auth = {"Authorization": f"Bearer {_token(gateway.url)}"}
        created = httpx.post(gateway.url + "/api/records/company", json={"name": "Kept"}, headers=auth)
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert gateway.terminate() == 0
    finally:
        gateway.kill()
    deadline = time.monotonic() + 10
    while _pid_alive(ferret_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _pid_alive(ferret_pid), "the embedded FerretDB outlived the gateway"
    lines = [json.loads(line) for line in (tmp_path / "gateway.log").read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("request_id") == "trace-me-123"]
    assert access and access[-1]["path"] == "/api/ready" and access[-1]["status"] == 200
    assert any("embedded FerretDB" in line["message"] for line in lines)

    again = GatewayProcess(env, log_path=tmp_path / "gateway2.log").start(timeout=60)
    try:
        auth = {"Authorization": f"Bearer {_token(again.url)}"}
        fetched = httpx.get(again.url + location, headers=auth)
        assert fetched.status_code == 200
        assert fetched.json()["name"] == "Kept"
    finally:
        again.terminate()


def test_sigterm_finishes_an_in_flight_request(ferretdb: EmbeddedFerretDB, db_prefix: str, tmp_path: Path) -> None:
    env = {**BASE_ENV, "HARI_MONGODB_URL": ferretdb.url, "HARI_DB_PREFIX": db_prefix}
    gateway = GatewayProcess(env, log_path=tmp_path / "gateway.log").start()
    try:
        token = _token(gateway.url)
        body = json.dumps({"name": "Finished during shutdown"}).encode()
        head = (
            f"POST /api/records/company HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=15) as sock:
            sock.sendall(head + body[:5])  # the request is now in flight
            time.sleep(0.5)
            assert gateway.proc is not None
            gateway.proc.send_signal(15)
            time.sleep(0.5)
            assert gateway.proc.poll() is None, "the gateway exited with a request in flight"
            sock.sendall(body[5:])
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        assert response.startswith(b"HTTP/1.1 201"), response[:200]
        assert gateway.proc.wait(15) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(gateway.url + "/api/health", timeout=1)
    finally:
        gateway.kill()


def test_a_crashed_embedded_database_is_restarted(tmp_path: Path) -> None:
    env = {**BASE_ENV, "HARI_MONGODB_URL": None, "HARI_DATA_DIR": str(tmp_path / "data")}
    gateway = GatewayProcess(env, log_path=tmp_path / "gateway.log").start(timeout=60)
    try:
        endpoint_file = tmp_path / "data" / "ferretdb" / "endpoint.json"
        first_pid = int(json.loads(endpoint_file.read_text())["pid"])
        os.kill(first_pid, 9)
        deadline = time.monotonic() + 20
        recovered = False
        while time.monotonic() < deadline and not recovered:
            time.sleep(0.3)
            with contextlib.suppress(httpx.HTTPError):
                recovered = httpx.get(gateway.url + "/api/ready", timeout=3).status_code == 200
            recovered = recovered and int(json.loads(endpoint_file.read_text())["pid"]) != first_pid
        assert recovered, gateway.logs()
    finally:
        gateway.terminate()


async def test_the_app_factory_starts_and_stops_the_embedded_database_itself(tmp_path: Path, make_settings) -> None:
    from asgi_lifespan import LifespanManager

    from gateway.app import create_app

    app = create_app(make_settings(mongodb_url=None, data_dir=tmp_path / "data", cache_dir=ROOT / ".cache"))
    async with LifespanManager(app, startup_timeout=60) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c:
            assert (await c.get("/api/ready")).status_code == 200
        pid = int(json.loads((tmp_path / "data" / "ferretdb" / "endpoint.json").read_text())["pid"])
        assert _pid_alive(pid)
    assert not _pid_alive(pid), "shutdown returned before the embedded FerretDB was stopped and reaped"
