"""Rate limits with the `limits` package, moving window, so a burst straddling a minute boundary gets no double budget.

Four budgets: per authenticated user (its tokens and keys together), per client IP for unauthenticated
requests, per email for login attempts, per user for bulk operations. Counters live in memory, or in
MongoDB / Redis (``HARI_RATE_LIMIT_STORAGE``) to be shared by every gateway process.

Each hit records the limit it counted against in a per-request holder (a context variable set by
``gateway.middleware``), which turns the tightest one into ``X-RateLimit-*`` headers for REST and GraphQL alike.
"""

from __future__ import annotations

import logging
import math
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, MongoDBStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from pymongo.errors import OperationFailure

from gateway.config import Settings
from gateway.errors import RateLimited
from gateway.runtime import Runtime
from gateway.services.context import Context

log = logging.getLogger("hari.ratelimit")
_EXTRAS_KEY = "rate_limiter"
_NOT_IMPLEMENTED = 238  # the error code FerretDB answers for a feature it lacks


@dataclass(frozen=True)
class RateState:
    """Where one budget stands after a hit: the headers' values."""

    limit: int
    remaining: int
    reset: float  # epoch seconds when the oldest hit in the window expires (one more request becomes possible)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset)),
        }


@dataclass
class RateHolder:
    """The budgets one request counted against; headers show the tightest (fewest remaining)."""

    states: list[RateState] = field(default_factory=list)

    def tightest(self) -> RateState | None:
        return min(reversed(self.states), key=lambda s: s.remaining, default=None)


current_request: ContextVar[RateHolder | None] = ContextVar("hari_rate_holder", default=None)


class CompatibleMongoDBStorage(MongoDBStorage):
    """limits' MongoDB storage, with fallbacks for servers (FerretDB 1.x) that lack TTL indexes and ``$filter``.

    Same data layout and atomic ``$push``/``$slice`` acquisition as upstream, so several processes share
    one window. On real MongoDB the upstream code paths run unchanged.
    """

    _SWEEP_SECONDS = 300.0

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri, **options)
        self._native_window = True
        self._ttl = True
        self._indexed = False
        self._next_sweep = 0.0

    async def create_indices(self) -> None:
        if self._indexed:
            return
        try:
            await super().create_indices()
        except OperationFailure as exc:
            if exc.code != _NOT_IMPLEMENTED:
                raise
            log.warning("rate-limit storage has no TTL indexes (%s); expired windows are swept instead", exc)
            self._ttl = False
        self._indexed = True

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        await self._sweep()
        return await super().acquire_entry(key, limit, expiry, amount)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        if self._native_window:
            try:
                return await super().get_moving_window(key, limit, expiry)
            except OperationFailure as exc:
                if exc.code != _NOT_IMPLEMENTED:
                    raise
                self._native_window = False
        now = time.time()
        doc = await self.database["windows"].find_one({"_id": key}, {"entries": 1})
        entries = [t for t in (doc or {}).get("entries", []) if t >= now - expiry]
        return (min(entries), len(entries)) if entries else (now, 0)

    async def _sweep(self) -> None:
        """Without TTL indexes, delete expired windows now and then so the collection stays small."""
        if self._ttl or time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self._SWEEP_SECONDS
        await self.database["windows"].delete_many({"expireAt": {"$lt": datetime.now(UTC)}})


def make_storage(settings: Settings) -> Storage:
    """The counter storage named by ``HARI_RATE_LIMIT_STORAGE``."""
    url = settings.rate_limit_storage.strip()
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("memory", "async+memory"):
        return MemoryStorage()
    if scheme in ("mongodb", "mongodb+srv", "async+mongodb", "async+mongodb+srv"):
        plain = url.removeprefix("async+")
        return CompatibleMongoDBStorage(
            "async+" + plain, database_name=f"{settings.db_prefix}_ratelimits", serverSelectionTimeoutMS=5000
        )
    if not scheme.startswith("async+"):
        url = "async+" + url
    storage = storage_from_string(url)
    assert isinstance(storage, Storage)
    return storage


class RateLimiter:
    """The gateway's budgets over one counter storage."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.storage = storage or make_storage(settings)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.authenticated = parse(settings.rate_limit_authenticated)
        self.anonymous = parse(settings.rate_limit_anonymous)
        self.login = parse(settings.rate_limit_login)
        self.bulk = parse(settings.rate_limit_bulk)
        self._namespace = settings.db_prefix

    async def hit(self, item: RateLimitItem, what: str, *identifiers: str) -> RateState:
        """Count one hit; record the budget's state for the response headers; RateLimited past the limit."""
        key = (self._namespace, what, *identifiers)
        allowed = await self.strategy.hit(item, *key)
        stats = await self.strategy.get_window_stats(item, *key)
        state = RateState(limit=item.amount, remaining=max(0, stats.remaining), reset=stats.reset_time)
        holder = current_request.get()
        if holder is not None:
            holder.states.append(state)
        if not allowed:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(
                f"Rate limit exceeded ({item.amount} per {_describe(item)}); retry in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )
        return state


def _describe(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


async def start(runtime: Runtime) -> None:
    """Create the limiter at startup: a bad ``HARI_RATE_LIMIT_STORAGE`` stops the gateway, not every request."""
    try:
        limiter(runtime)
    except ConfigurationError as exc:
        raise RuntimeError(f"HARI_RATE_LIMIT_STORAGE={runtime.settings.rate_limit_storage!r}: {exc}") from exc


def limiter(runtime: Runtime) -> RateLimiter:
    """The runtime's limiter, created on first use (inside the running event loop)."""
    found = runtime.extras.get(_EXTRAS_KEY)
    if found is None:
        found = RateLimiter(runtime.settings)
        runtime.extras[_EXTRAS_KEY] = found
    return found  # type: ignore[no-any-return]


async def hit_user(runtime: Runtime, workspace: str, user_id: str) -> RateState:
    """One authenticated request: all tokens and keys of a user share this budget."""
    rl = limiter(runtime)
    return await rl.hit(rl.authenticated, "user", workspace, user_id)


async def hit_anonymous(runtime: Runtime, client_ip: str | None) -> RateState:
    """One request without (valid) credentials, counted per client IP."""
    rl = limiter(runtime)
    return await rl.hit(rl.anonymous, "ip", client_ip or "unknown")


async def hit_login(ctx: Context, email: str) -> RateState:
    """One login attempt for ``email`` in this workspace, whether the account exists or not."""
    rl = limiter(ctx.runtime)
    return await rl.hit(rl.login, "login", ctx.ws.name, email)


async def hit_bulk(ctx: Context) -> None:
    """Count one bulk operation against the caller's bulk budget; raise RateLimited past it."""
    if ctx.principal is None:
        return
    rl = limiter(ctx.runtime)
    await rl.hit(rl.bulk, "bulk", ctx.ws.name, ctx.principal.user_id)
