"""ASGI middleware for every request: request id, access log, metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ApiError, PayloadTooLarge
from gateway.logs import request_id_var
from gateway.metrics import Metrics
from gateway.ratelimit import RateHolder, current_request

access_log = logging.getLogger("hari.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        sent_id = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = sent_id if _VALID_REQUEST_ID.fullmatch(sent_id) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        rate_holder = RateHolder()  # filled by gateway.ratelimit while the request runs
        rate_token = current_request.set(rate_holder)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                rate = rate_holder.tightest()
                if rate is not None:
                    message["headers"] += [(k.lower().encode(), v.encode()) for k, v in rate.headers().items()]
            await send(message)

        try:
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                # Refused before reading it, in the envelope; streamed bodies are cut by FastAPI's max_body_size.
                await _send_error(send_with_id, PayloadTooLarge(f"The body exceeds {self.max_body_bytes} bytes."))
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self._finish(scope, status, started)
            request_id_var.reset(token)
            current_request.reset(rate_token)

    def _finish(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = _route_template(scope)
        self.metrics.observe(scope["method"], route, status, elapsed)
        extra: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
        }
        access_log.info("request", extra=extra)


async def _send_error(send: Send, error: ApiError) -> None:
    body = orjson.dumps(error.envelope())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
