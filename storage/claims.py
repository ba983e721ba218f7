"""Exclusive claims, taken by inserting a document with a chosen ``_id``.

FerretDB v1.24 does not apply a conditional update atomically: of several concurrent ``update_one`` or
``find_one_and_update`` calls whose filter matches the same document, more than one can report the match
(the filter is checked on a read, the write follows). An insert of the same ``_id`` succeeds exactly once
there, as on MongoDB, and so does a ``delete_one``. Compare-and-set therefore takes a claim first; the
conditional write that follows is then the only one for that key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from storage.documents import utcnow
from storage.transient import retry_transient

COLLECTION = "claims"


class Claims:
    """Claims of one database: ``_id`` is the key, ``at`` when it was taken, ``expires_at`` when it may go."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def take(self, key: str, *, lease: timedelta | None = None, expires_at: datetime | None = None) -> bool:
        """True for exactly one of several concurrent callers with the same ``key``.

        With a ``lease``, a claim older than the lease was left by a holder that died, and is taken over by the one
        caller that inserts the take-over marker named after that stale claim.
        """
        now = utcnow()
        doc: dict[str, Any] = {"_id": key, "at": now}
        if expires_at is not None:
            doc["expires_at"] = expires_at
        try:
            await retry_transient(lambda: self.collection.insert_one(doc))
            return True
        except DuplicateKeyError:
            if lease is None:
                return False
        # Take-over: of the callers that find the same stale claim, the one that inserts the marker named after it
        # wins (an insert, exclusive on FerretDB too); a filtered delete alone is not (see the module docstring).
        found = await self.collection.find_one({"_id": key})
        if found is None or found["at"] > now - lease:
            return False
        marker = {"_id": f"{key}#takeover#{found['at'].isoformat()}", "at": now, "expires_at": now + lease}
        try:
            await retry_transient(lambda: self.collection.insert_one(marker))
        except DuplicateKeyError:
            return False
        await retry_transient(lambda: self.collection.delete_one({"_id": key, "at": found["at"]}))
        try:
            await retry_transient(lambda: self.collection.insert_one(doc))
            return True
        except DuplicateKeyError:
            return False

    async def held(self, key: str) -> bool:
        return await self.collection.find_one({"_id": key}, {"_id": 1}) is not None

    async def release(self, key: str) -> None:
        await retry_transient(lambda: self.collection.delete_one({"_id": key}))

    async def purge_expired(self) -> None:
        """No TTL index on FerretDB: claims that carry ``expires_at`` are removed by whoever calls this."""
        await self.collection.delete_many({"expires_at": {"$lt": utcnow()}})
