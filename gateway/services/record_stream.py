"""Live record events for subscribers (GraphQL subscriptions): committed writes of one workspace.

Fed by the event bus's post_save / post_delete, so a subscriber sees exactly the writes that webhooks
see, whichever API made them. Reading the stream needs ``records:read``, checked when it opens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from gateway.errors import ApiError
from gateway.services import entities
from gateway.services.context import Context, Permission
from hooks.bus import RecordEvent

ALL_ENTITIES = "*"
MAX_PENDING_EVENTS = 1000


class SubscriberTooSlow(ApiError):
    """The subscriber did not keep up; resubscribe and re-read what you need."""

    status = 429
    code = "subscriber_too_slow"


Revalidate = Callable[[], Awaitable[Context]]


class RecordStream:
    """An async iterator of RecordEvents; ``close()`` unregisters it from the bus.

    A subscription can outlive its caller's rights (user deactivated, key revoked, role lowered): with
    ``revalidate`` (a fresh Context from the caller's credentials), they are checked again before an event
    once ``recheck_seconds`` have passed, and the stream ends with 401/403 when they no longer hold.
    """

    def __init__(
        self,
        ctx: Context,
        entity: str,
        operations: set[str] | None,
        revalidate: Revalidate | None = None,
        recheck_seconds: float = 30.0,
    ) -> None:
        self.workspace = ctx.ws.name
        self.operations = operations
        self._revalidate = revalidate
        self._recheck_seconds = recheck_seconds
        self._checked_at = time.monotonic()
        self._queue: asyncio.Queue[RecordEvent] = asyncio.Queue(MAX_PENDING_EVENTS)
        self._overflowed = False
        bus = ctx.runtime.bus
        self._off: list[Callable[[], None]] = [
            bus.on("post_save", self._receive, entity),
            bus.on("post_delete", self._receive, entity),
        ]

    def _receive(self, event: RecordEvent) -> None:
        if event.workspace != self.workspace:
            return
        if self.operations is not None and event.operation not in self.operations:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._overflowed = True

    def __aiter__(self) -> RecordStream:
        return self

    async def __anext__(self) -> RecordEvent:
        if self._overflowed:
            self.close()
            raise SubscriberTooSlow(f"More than {MAX_PENDING_EVENTS} events were waiting; the stream was stopped.")
        event = await self._queue.get()
        if self._revalidate is not None and time.monotonic() - self._checked_at >= self._recheck_seconds:
            try:
                (await self._revalidate()).require(Permission.records_read)
            except ApiError:
                self.close()
                raise
            self._checked_at = time.monotonic()
        return event

    def close(self) -> None:
        for off in self._off:
            off()
        self._off = []


async def open_stream(
    ctx: Context,
    entity: str,
    operations: set[str] | None = None,
    *,
    revalidate: Revalidate | None = None,
    recheck_seconds: float = 30.0,
) -> RecordStream:
    """Start receiving events of ``entity`` (``*`` for every entity); 401/403/404 as for reading records."""
    ctx.require(Permission.records_read)
    if entity != ALL_ENTITIES:
        await entities.definition(ctx.ws, entity)
    return RecordStream(ctx, entity, operations, revalidate, recheck_seconds)
