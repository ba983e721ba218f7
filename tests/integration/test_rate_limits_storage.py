"""The MongoDB counter storage against the real FerretDB: moving-window semantics and shared state."""

from __future__ import annotations

import asyncio

from gateway.config import Settings
from gateway.errors import RateLimited
from gateway.ratelimit import CompatibleMongoDBStorage, RateLimiter, make_storage


async def test_mongodb_storage_is_chosen_by_url(make_settings) -> None:
    settings: Settings = make_settings(rate_limit_storage=make_settings().mongodb_url)
    storage = make_storage(settings)
    assert isinstance(storage, CompatibleMongoDBStorage)
    assert storage.database.name == f"{settings.db_prefix}_ratelimits"


async def test_two_limiters_on_one_database_share_a_moving_window(make_settings) -> None:
    settings: Settings = make_settings(rate_limit_storage=make_settings().mongodb_url, rate_limit_bulk="4/2second")
    one, two = RateLimiter(settings), RateLimiter(settings)
    remaining = []
    for limiter in (one, two, one, two):
        remaining.append((await limiter.hit(limiter.bulk, "bulk", "ws", "u1")).remaining)
    assert remaining == [3, 2, 1, 0]
    for limiter in (one, two):
        try:
            await limiter.hit(limiter.bulk, "bulk", "ws", "u1")
        except RateLimited as exc:
            assert 1 <= int(exc.headers["Retry-After"]) <= 2
        else:
            raise AssertionError("the fifth hit within the window must be refused")
    assert (await one.hit(one.bulk, "bulk", "ws", "someone-else")).remaining == 3  # keys are separate
    await asyncio.sleep(2.1)
    assert (await two.hit(two.bulk, "bulk", "ws", "u1")).remaining == 3  # the window moved on
