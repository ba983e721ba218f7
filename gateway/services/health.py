"""Readiness: the database answers within a short timeout."""

from __future__ import annotations

import asyncio

from pymongo.errors import PyMongoError

from gateway.errors import ServiceUnavailable
from gateway.runtime import Runtime

READY_TIMEOUT_SECONDS = 2.0


async def ready(runtime: Runtime) -> None:
    try:
        await asyncio.wait_for(runtime.storage.ping(), READY_TIMEOUT_SECONDS)
    except (TimeoutError, PyMongoError) as exc:
        raise ServiceUnavailable(f"The database is not reachable: {type(exc).__name__}.") from exc
