"""Liveness, readiness, request ids, metrics and CORS through HTTP."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.embedded_db import EmbeddedFerretDB, free_port


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_ready_is_503_in_the_envelope_while_the_database_is_stopped(
    tmp_path,
    make_settings,
) -> None:
    db = EmbeddedFerretDB(tmp_path / "db", tmp_path.parent.parent / "unused", port=free_port())
    from tests.conftest import ROOT

    db.cache_dir = ROOT / ".cache"
    db.start()
    app = create_app(make_settings(mongodb_url=db.url, mongodb_timeout_ms=1000))
    try:
        async with LifespanManager(app, startup_timeout=60) as manager:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c:
                assert (await c.get("/api/ready")).status_code == 200
                db.stop()
                down = await c.get("/api/ready")
                assert down.status_code == 503
                assert down.json()["error"]["code"] == "service_unavailable"
                assert (await c.get("/api/health")).status_code == 200  # the process itself is still up
                db.start()
                assert (await c.get("/api/ready")).status_code == 200
    finally:
        db.stop()


async def test_request_id_is_generated_or_echoed(client: httpx.AsyncClient) -> None:
    generated = await client.get("/api/health")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/api/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_metrics_count_requests_by_route_and_status(client: httpx.AsyncClient, auth) -> None:
    await client.get("/api/health")
    await client.get("/api/records/contact/000000000000000000000000", headers=auth)
    text = (await client.get("/metrics")).text
    assert 'hari_http_requests_total{method="GET",route="/api/health",status="200"} 1.0' in text
    assert 'route="/api/records/{entity}/{record_id}",status="404"' in text
    assert "hari_http_request_duration_seconds_bucket" in text


async def test_unknown_path_uses_the_error_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_oversized_body_is_413(make_settings) -> None:
    app = create_app(make_settings(max_body_bytes=100))
    async with LifespanManager(app, startup_timeout=60) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c:
            declared = await c.post("/api/auth/login", content=b"x" * 500, headers={"content-type": "application/json"})

            async def chunks():
                for _ in range(10):
                    yield b"x" * 50

            streamed = await c.post("/api/auth/login", content=chunks(), headers={"content-type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"


async def test_cors_allows_configured_origins_only(make_settings) -> None:
    app = create_app(make_settings(cors_origins=["https://app.example.com"]))
    async with LifespanManager(app, startup_timeout=60) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c:
            preflight = {"Access-Control-Request-Method": "GET"}
            ok = await c.options("/api/health", headers={"Origin": "https://app.example.com", **preflight})
            bad = await c.options("/api/health", headers={"Origin": "https://evil.example.com", **preflight})
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in bad.headers
