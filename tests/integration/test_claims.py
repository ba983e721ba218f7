"""storage.claims against the real FerretDB: one winner among concurrent takers, stale claims taken over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from gateway.embedded_db import EmbeddedFerretDB
from storage.claims import Claims
from storage.documents import utcnow


@pytest.fixture
async def claims(ferretdb: EmbeddedFerretDB, db_prefix: str) -> AsyncIterator[Claims]:
    client: AsyncMongoClient = AsyncMongoClient(ferretdb.url, tz_aware=True)
    try:
        yield Claims(client[f"{db_prefix}_claims"])
        await client.drop_database(f"{db_prefix}_claims")
    finally:
        await client.close()


async def test_exactly_one_of_concurrent_takers_wins(claims: Claims) -> None:
    for n in range(10):
        won = await asyncio.gather(*(claims.take(f"k{n}", lease=timedelta(seconds=30)) for _ in range(6)))
        assert sum(won) == 1
        assert await claims.held(f"k{n}")


async def test_released_claims_can_be_taken_again(claims: Claims) -> None:
    assert await claims.take("k") and not await claims.take("k")
    await claims.release("k")
    assert not await claims.held("k") and await claims.take("k")


async def test_a_stale_claim_is_taken_over_once_only_with_a_lease(claims: Claims) -> None:
    await claims.collection.insert_one({"_id": "k", "at": utcnow() - timedelta(hours=1)})
    assert not await claims.take("k")  # no lease: a claim is forever
    assert not await claims.take("k", lease=timedelta(hours=2))  # not stale for this lease
    won = await asyncio.gather(*(claims.take("k", lease=timedelta(minutes=1)) for _ in range(6)))
    assert sum(won) == 1
    assert not await claims.take("k", lease=timedelta(minutes=1))  # the new holder's claim is fresh


async def test_purge_removes_only_expired_claims(claims: Claims) -> None:
    await claims.take("old", expires_at=utcnow() - timedelta(seconds=1))
    await claims.take("fresh", expires_at=utcnow() + timedelta(hours=1))
    await claims.take("forever")
    await claims.purge_expired()
    assert [await claims.held(k) for k in ("old", "fresh", "forever")] == [False, True, True]
