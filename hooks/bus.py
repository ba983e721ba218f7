"""The event bus the service layer emits pre_save, post_save, pre_delete and post_delete on.

Python code registers in-process handlers with ``bus.on(event, handler, entity="*")``.
A pre_save handler may return a dict to replace the values about to be saved, or raise
an ``ApiError`` to refuse the write; the return value of other handlers is ignored.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

EventName = Literal["pre_save", "post_save", "pre_delete", "post_delete"]
Operation = Literal["create", "update", "delete"]
EVENTS: tuple[EventName, ...] = ("pre_save", "post_save", "pre_delete", "post_delete")


@dataclass
class RecordEvent:
    event: EventName
    workspace: str
    entity: str
    operation: Operation
    record: dict[str, Any] | None
    previous: dict[str, Any] | None = None
    actor: str | None = None
    # The same for the pre_ and post_ event of one write, so the outbox can pair them.
    write_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


Handler = Callable[[RecordEvent], Awaitable[dict[str, Any] | None] | dict[str, Any] | None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: list[tuple[EventName, str, Handler]] = []

    def on(self, event: EventName, handler: Handler, entity: str = "*") -> Callable[[], None]:
        """Register ``handler``; returns a function that unregisters it."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
        entry = (event, entity, handler)
        self._handlers.append(entry)
        return lambda: self._handlers.remove(entry) if entry in self._handlers else None

    async def emit(self, event: RecordEvent) -> RecordEvent:
        for name, entity, handler in list(self._handlers):
            if name != event.event or entity not in ("*", event.entity):
                continue
            result = handler(event)
            if inspect.isawaitable(result):
                result = await result
            if event.event == "pre_save" and isinstance(result, dict):
                event.record = result
        return event
