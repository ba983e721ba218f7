"""The bench harness's own logic: wrk scripts (run against a local receiver when wrk is installed), ratios,
percentiles and the results table. The measurements themselves are `make bench`, not tests."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from aiohttp import web

from bench import report, wrk
from gateway.embedded_db import free_port


def test_script_cycles_paths_and_makes_each_body_unique() -> None:
    load = wrk.Load("POST", ["/a", "/b"], {"Authorization": "Bearer x"}, ['{"email": "u{n}-{run}@x.example"}'])
    first, second = load.script(), load.script()
    assert '"/a", "/b"' in first
    assert '["Authorization"] = "Bearer x"' in first
    assert "function done(summary, latency, requests)" in first
    nonce = lambda script: script.split("@x.example")[0].rsplit("-", 1)[1]  # noqa: E731
    assert nonce(first) != nonce(second), "two wrk invocations must not send the same bodies"


def test_ratios_and_table() -> None:
    fig = {"rps": 50.0, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "non_2xx": 0}
    scenarios = {"get_one": {"gateway": fig, "floor": {**fig, "rps": 100.0}, "eve": {**fig, "rps": 25.0}}}
    assert report.ratios(scenarios) == {"get_one": {"gateway/floor": 0.5, "gateway/eve": 2.0, "graphql/rest": None}}
    results = {
        "date": "2026-01-01T00:00:00+00:00",
        "command": "make bench",
        "machine": {"nproc": 2, "cpu": "cpu", "memory_gib": 1.0, "python": "3.11"},
        "settings": {"connections": 8, "duration": 1.0, "workers": 1},
        "scenarios": scenarios,
        "skipped": {"login/eve": "Eve has no login"},
    }
    text = report.table(results)
    assert "| get_one | gateway | 50.0 | 1.00 | 2.00 | 3.00 | 0 | 0.50 | 2.00 |" in text
    assert "- login/eve: Eve has no login" in text


def test_summary_percentiles() -> None:
    summary = report.summary_ms([float(n) for n in range(1, 101)])
    assert (summary["n"], summary["p50_ms"], summary["p99_ms"]) == (100, 51.0, 100.0)
    assert report.summary_ms([]) == {"n": 0}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
async def test_wrk_run_reports_requests_and_unique_bodies() -> None:
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(json.loads(await request.read())["email"])
        return web.json_response({}, status=201 if request.path == "/ok" else 500)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        body = ['{"email": "u{n}-{run}@x.example"}']
        ok = await asyncio.to_thread(
            wrk.run, f"http://127.0.0.1:{port}", wrk.Load("POST", ["/ok"], {}, body), duration=1, connections=4
        )
        failing = await asyncio.to_thread(
            wrk.run, f"http://127.0.0.1:{port}", wrk.Load("POST", ["/bad"], {}, body), duration=1, connections=2
        )
    finally:
        await runner.cleanup()
    assert ok["requests"] > 10 and ok["non_2xx"] == 0 and ok["rps"] > 0
    assert 0 < ok["p50_ms"] <= ok["p95_ms"] <= ok["p99_ms"]
    assert failing["non_2xx"] == failing["requests"] > 0
    assert len(seen) == len(set(seen)), "bodies repeated across requests"
