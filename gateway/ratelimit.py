"""Rate limits (the `limits` package). Placeholder: the identity issue fills this in."""

from __future__ import annotations

from gateway.services.context import Context


async def hit_bulk(ctx: Context) -> None:
    """Count one bulk operation against the caller's bulk budget; raise RateLimited past it."""
    return None
