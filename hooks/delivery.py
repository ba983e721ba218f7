"""Sends one signed webhook request with aiohttp and says what happened.

One ``Sender`` (one pooled ``ClientSession``) serves a whole process: the outbox worker,
blocking hooks and the ``test`` endpoint. Redirects are not followed (a redirect could point
at an internal address) and proxies from the environment are not used.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson

from hooks import signing, ssrf

USER_AGENT = "HARi-Webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return str(value)  # ObjectId, Decimal128, ...


def encode_body(
    *,
    event_id: str,
    event: str,
    entity: str,
    operation: str,
    record: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    occurred_at: datetime,
    **extra: Any,
) -> str:
    """The delivery body, as the exact JSON text that is stored, signed and sent."""
    body = {
        "id": event_id,
        "event": event,
        "entity": entity,
        "operation": operation,
        "record": record,
        "previous": previous,
        "occurred_at": iso(occurred_at),
        **extra,
    }
    return orjson.dumps(body, default=_default).decode()


@dataclass
class Outcome:
    """What one attempt produced. ``status`` is None when no HTTP answer came back."""

    status: int | None = None
    error: str | None = None
    body: bytes = b""
    retry_after: float | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410

    @property
    def retryable(self) -> bool:
        """Timeouts, connection errors, 5xx and 408/425/429 are retried; other answers are final."""
        if self.ok or self.gone:
            return False
        if self.status is None:
            return not (self.error or "").startswith("refused:")
        return self.status >= 500 or self.status in RETRYABLE_STATUSES

    def json(self) -> Any:
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def message(self) -> str:
        """The target's own explanation: ``message`` or ``error.message`` of a JSON body, else its text."""
        data = self.json()
        if isinstance(data, dict):
            err = data.get("error")
            for candidate in (data.get("message"), err.get("message") if isinstance(err, dict) else err):
                if isinstance(candidate, str) and candidate.strip():
                    return candidate.strip()[:500]
        text = self.body.decode(errors="replace").strip()
        return text[:500] if text else (self.error or f"HTTP {self.status}")


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Sender:
    def __init__(self, allow_private: bool, concurrency: int = 32, per_target: int = 4) -> None:
        self.allow_private = allow_private
        self._concurrency = concurrency
        self._per_target = per_target
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=ssrf.GuardedResolver(self.allow_private),
                limit=self._concurrency,
                limit_per_host=self._per_target,
                ttl_dns_cache=10,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                headers={"User-Agent": USER_AGENT},
                json_serialize=lambda o: orjson.dumps(o).decode(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, url: str, secret: str, event: str, delivery_id: str, body: str, timeout_seconds: float
    ) -> Outcome:
        """POST ``body`` to ``url`` signed with ``secret``; never raises for network or HTTP failures."""
        started = time.monotonic()
        outcome = await self._send(url, secret, event, delivery_id, body.encode(), timeout_seconds)
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        return outcome

    async def _send(
        self, url: str, secret: str, event: str, delivery_id: str, body: bytes, timeout_seconds: float
    ) -> Outcome:
        try:
            _, host, _ = ssrf.parse_target(url)
            if ssrf.is_ip_literal(host):  # aiohttp does not consult the resolver for literal addresses
                ssrf.check_addresses(host, [host], self.allow_private)
        except ssrf.TargetRefused as exc:
            return Outcome(error=f"refused: {exc}")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Hari-Event": event,
            "X-Hari-Delivery": delivery_id,
            "X-Hari-Timestamp": timestamp,
            "X-Hari-Signature": signing.signature(secret, timestamp, body),
        }
        try:
            async with self.session().post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=min(timeout_seconds, 5.0)),
            ) as response:
                content = await response.content.read(MAX_RESPONSE_BYTES)
                return Outcome(
                    status=response.status,
                    body=content,
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                    error=None if 200 <= response.status < 300 else f"HTTP {response.status}",
                )
        except ssrf.TargetRefused as exc:  # raised by GuardedResolver, not wrapped by aiohttp
            return Outcome(error=f"refused: {exc}")
        except TimeoutError:
            return Outcome(error=f"timeout after {timeout_seconds:g}s")
        except aiohttp.ClientError as exc:
            reason = ssrf.describe(exc)
            refused = any(isinstance(c, ssrf.TargetRefused) for c in _causes(exc))
            return Outcome(error=f"refused: {reason}" if refused else reason)
        except (OSError, asyncio.IncompleteReadError) as exc:
            return Outcome(error=f"{type(exc).__name__}: {exc}")


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
