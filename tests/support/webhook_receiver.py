"""A real webhook receiver for tests: an aiohttp.web server on 127.0.0.1 that records every call,
verifies nothing itself, and answers what the test tells it to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers["X-Hari-Event"]


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[Call], Reply]


class Receiver:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responder: Responder = lambda call: Reply()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._changed = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = Call(request.path, dict(request.headers), await request.read(), time.monotonic())
        reply = self.responder(call)
        self.calls.append(call)  # recorded on arrival, whatever happens to the answer
        async with self._changed:
            self._changed.notify_all()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.json is None:
            return web.Response(status=reply.status, headers=reply.headers)
        return web.json_response(reply.json, status=reply.status, headers=reply.headers)

    def on(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    async def wait_for(self, predicate: Callable[[list[Call]], bool], within: float = 10.0) -> list[Call]:
        """Wait until ``predicate(calls)`` holds; fails the test after ``timeout`` seconds."""
        deadline = time.monotonic() + within
        async with self._changed:
            while not predicate(self.calls):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"receiver: condition not met in {within}s; got {len(self.calls)} calls")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    continue
        return self.calls
