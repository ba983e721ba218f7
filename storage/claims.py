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
from pymongo.errors import DuplicateKeyError, PyMongoError

from storage.documents import utcnow
from storage.transient import retry_transient

COLLECTION = "claims"


class Claims:
    """Claims of one database: ``_id`` is the key, ``at`` when it was taken, ``expires_at`` when it may go."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]
        # key -> "at" of the claims this process holds, and of those it could not release (the database went
        # away): the latter are removed on their key's next take, so a database crash does not block those keys
        # until their lease ends.
        self._held: dict[str, datetime] = {}
        self._unreleased: dict[str, datetime] = {}

    async def take(self, key: str, *, lease: timedelta | None = None, expires_at: datetime | None = None) -> bool:
        """True for exactly one of several concurrent callers with the same ``key``.

        With a ``lease``, a claim older than the lease was left by a holder that died, and is taken over by the one
        caller that inserts the take-over marker named after that stale claim.
        """
        left = self._unreleased.pop(key, None)
        if left is not None:
            await retry_transient(lambda: self.collection.delete_one({"_id": key, "at": left}))
        now = utcnow()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored (BSON dates are milliseconds)
        doc: dict[str, Any] = {"_id": key, "at": now}
        if expires_at is not None:
            doc["expires_at"] = expires_at
        try:
            await retry_transient(lambda: self.collection.insert_one(doc))
            if lease is not None:  # only leased claims are released; the others expire
                self._held[key] = now
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
            self._held[key] = now
            return True
        except DuplicateKeyError:
            return False

    async def held(self, key: str) -> bool:
        return await self.collection.find_one({"_id": key}, {"_id": 1}) is not None

    async def release(self, key: str) -> None:
        at = self._held.pop(key, None)
        query: dict[str, Any] = {"_id": key} if at is None else {"_id": key, "at": at}
        try:
            await retry_transient(lambda: self.collection.delete_one(query))
        except PyMongoError:
            if at is not None:
                self._unreleased[key] = at
            raise

    async def purge_expired(self) -> None:
        """No TTL index on FerretDB: claims that carry ``expires_at`` are removed by whoever calls this."""
        await self.collection.delete_many({"expires_at": {"$lt": utcnow()}})
