"""A local webhook receiver (aiohttp, loopback) that notes when each delivery arrived."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime
from typing import Any

from aiohttp import web


class Receiver:
    """Runs in its own thread and event loop; ``arrivals`` maps delivery id -> (arrival time, event body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: dict[str, tuple[float, dict[str, Any]]] = {}
        self.duplicates = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.headers.get("X-Hari-Delivery") or str(body.get("id"))
        if key in self.arrivals:
            self.duplicates += 1
        else:
            self.arrivals[key] = (time.time(), body)
        return web.Response(status=204)

    def start(self) -> Receiver:
        threading.Thread(target=self._run, daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError("webhook receiver did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def latencies_ms(self) -> list[float]:
        """Write (event ``occurred_at``) to arrival, per delivery."""
        out = []
        for arrived, body in self.arrivals.values():
            occurred = body.get("occurred_at")
            if isinstance(occurred, str):
                at = datetime.fromisoformat(occurred.replace("Z", "+00:00")).timestamp()
                out.append((arrived - at) * 1000)
        return out
