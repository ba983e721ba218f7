"""Transient database refusals, retried where a retry is safe.

FerretDB's SQLite backend answers a write it could not start or commit with ``database is locked
(SQLITE_BUSY)`` when writers contend (found by the 200-client drill, tests/drills). The transaction was
rolled back, so the write did not happen and running it again is safe; MongoDB never sends this error, so
on MongoDB the retry is never taken. After the last try the error goes up and the REST adapter answers 503.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.errors import OperationFailure

T = TypeVar("T")
ATTEMPTS = 14
FIRST_DELAY_SECONDS = 0.02
MAX_DELAY_SECONDS = 1.0  # about 8 s in all before giving up


def is_transient(exc: BaseException) -> bool:
    """A refusal that changed nothing and may succeed when tried again (SQLite lock contention)."""
    return isinstance(exc, OperationFailure) and ("SQLITE_BUSY" in str(exc) or "database is locked" in str(exc))


async def retry_transient(operation: Callable[[], Awaitable[T]]) -> T:
    """Run ``operation``; on a transient refusal wait (exponential backoff with jitter) and run it again."""
    delay = FIRST_DELAY_SECONDS
    for _ in range(ATTEMPTS - 1):
        try:
            return await operation()
        except OperationFailure as exc:
            if not is_transient(exc):
                raise
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, MAX_DELAY_SECONDS)
    return await operation()
