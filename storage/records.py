"""One entity's records in one collection, fields at top level so filters and indexes apply directly.

Stored shape: ``_id`` (ObjectId), the entity's fields, ``created_at``, ``updated_at``,
``created_by``, ``updated_by``, ``_score`` and ``_version`` (a counter behind the ETag).

A write conditional on ``_version`` first takes the claim "<collection>:<id>:<version>" (storage/claims.py), so
it stays exclusive on FerretDB, whose conditional updates are not atomic; the claim goes once the write is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, OperationFailure

from storage.claims import Claims
from storage.documents import utcnow
from storage.transient import retry_transient

Doc = dict[str, Any]
SortSpec = Sequence[tuple[str, int]]
# Indexes every record collection has; field indexes are named ``f_<field>`` (plain) or ``u_<field>`` (unique).
SYSTEM_INDEXES = ("created_at", "updated_at", "_score")
_MANAGED_PREFIXES = ("f_", "u_", "s_")
_TRAILING = ("created_at", "updated_at", "created_by", "updated_by", "_score")
# A version claim older than this was left by a process that died mid-write and is taken over.
WRITE_CLAIM_LEASE = timedelta(seconds=30)


def parse_id(value: str) -> ObjectId | None:
    """An ObjectId from its 24-hex text, or None for anything else (a malformed id is a 404, not a 500)."""
    if not isinstance(value, str) or len(value) != 24:
        return None
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_api(doc: Mapping[str, Any]) -> Doc:
    """A stored record as the API shows it: ``id``, its fields, then the system fields; times in ISO 8601 UTC."""
    out: Doc = {"id": str(doc["_id"])}
    keys = [k for k in doc if k not in _TRAILING] + [k for k in _TRAILING if k in doc]
    for key in keys:
        value = doc[key]
        if key in ("_id", "_version"):
            continue
        if isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, ObjectId):
            value = str(value)
        out[key] = value
    return out


def etag(doc: Mapping[str, Any]) -> str:
    return f'"{doc["_id"]}-{doc.get("_version", 1)}"'


class RecordCollection:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self.collection = collection
        self.claims = Claims(collection.database)

    async def insert(self, doc: Doc) -> Doc:
        doc = {**doc, "_version": 1}
        result = await retry_transient(lambda: self.collection.insert_one(doc))
        doc["_id"] = result.inserted_id
        return doc

    async def insert_many(self, docs: list[Doc]) -> list[Doc]:
        docs = [{**d, "_version": 1} for d in docs]
        result = await self.collection.insert_many(docs, ordered=False)
        for doc, oid in zip(docs, result.inserted_ids, strict=True):
            doc["_id"] = oid
        return docs

    async def get(self, oid: ObjectId, projection: Mapping[str, Any] | None = None) -> Doc | None:
        return await self.collection.find_one({"_id": oid}, projection)

    async def get_many(self, oids: Sequence[ObjectId], projection: Mapping[str, Any] | None = None) -> list[Doc]:
        return await self.collection.find({"_id": {"$in": list(oids)}}, projection).to_list()

    async def find(
        self,
        query: Mapping[str, Any],
        *,
        sort: SortSpec = (),
        projection: Mapping[str, Any] | None = None,
        skip: int = 0,
        limit: int = 25,
    ) -> list[Doc]:
        cursor = self.collection.find(dict(query), projection)
        if sort:
            cursor = cursor.sort(list(sort))
        return await cursor.skip(skip).limit(limit).to_list()

    async def count(self, query: Mapping[str, Any]) -> int:
        return await self.collection.count_documents(dict(query))

    async def exists(self, query: Mapping[str, Any]) -> bool:
        return await self.collection.find_one(dict(query), {"_id": 1}) is not None

    async def update(
        self,
        oid: ObjectId,
        set_fields: Mapping[str, Any],
        unset_fields: Sequence[str] = (),
        expected_version: int | None = None,
    ) -> Doc | None:
        """Apply the change and bump ``_version``; None when the id (or expected version) does not match, or when
        a concurrent write holds that version."""
        query: Doc = {"_id": oid} if expected_version is None else {"_id": oid, "_version": expected_version}
        change: Doc = {"$inc": {"_version": 1}}
        if set_fields:
            change["$set"] = dict(set_fields)
        if unset_fields:
            change["$unset"] = {name: "" for name in unset_fields}

        async def write() -> Doc | None:
            try:
                return await self.collection.find_one_and_update(query, change, return_document=ReturnDocument.AFTER)
            except OperationFailure as exc:
                # FerretDB reports a unique-index violation in findAndModify as InternalError (code 1), with
                # SQLite's message; MongoDB raises DuplicateKeyError. Make both the same for the service layer.
                if "UNIQUE constraint failed" in str(exc):
                    raise DuplicateKeyError(str(exc), 11000) from exc
                raise

        return await self._write(oid, expected_version, write)

    async def delete(self, oid: ObjectId, expected_version: int | None = None) -> Doc | None:
        """Delete and return the record; None when the id (or expected version) does not match, or when a
        concurrent write holds that version."""
        query: Doc = {"_id": oid} if expected_version is None else {"_id": oid, "_version": expected_version}
        return await self._write(oid, expected_version, lambda: self.collection.find_one_and_delete(query))

    async def _write(
        self, oid: ObjectId, version: int | None, write: Callable[[], Awaitable[Doc | None]]
    ) -> Doc | None:
        """Run ``write``; when it is conditional on ``version``, only while holding the claim on that version."""
        if version is None:
            return await retry_transient(write)
        key = f"{self.collection.name}:{oid}:{version}"
        if not await self.claims.take(key, lease=WRITE_CLAIM_LEASE, expires_at=utcnow() + WRITE_CLAIM_LEASE):
            return None
        try:
            return await retry_transient(write)
        finally:
            await self.claims.release(key)

    async def drop(self) -> None:
        await self.collection.drop()

    async def sync_indexes(self, fields: Sequence[tuple[str, bool]]) -> None:
        """Make the collection's managed indexes exactly: system fields, plus ``(field, unique)`` for each field.

        Unique indexes are sparse: records without a value do not collide. Raises OperationFailure (e.g. a unique
        index over duplicate values) with the indexes created so far left in place."""
        wanted = {f"s_{name}": IndexModel([(name, 1)], name=f"s_{name}") for name in SYSTEM_INDEXES}
        for name, unique in fields:
            index_name = f"{'u' if unique else 'f'}_{name}"
            wanted[index_name] = IndexModel([(name, 1)], name=index_name, unique=unique, sparse=unique)
        existing = await self.collection.index_information()
        for name in existing:
            if name.startswith(_MANAGED_PREFIXES) and name not in wanted:
                await self.collection.drop_index(name)
        missing = [model for name, model in wanted.items() if name not in existing]
        if missing:
            await self.collection.create_indexes(missing)

    async def duplicate_value(self, field: str) -> Any | None:
        """A value of ``field`` held by more than one record, or None."""
        cursor = await self.collection.aggregate(
            [
                {"$match": {field: {"$ne": None}}},
                {"$group": {"_id": f"${field}", "n": {"$sum": 1}}},
                {"$match": {"n": {"$gt": 1}}},
                {"$limit": 1},
            ]
        )
        found = await cursor.to_list()
        return found[0]["_id"] if found else None

    async def scan(self, query: Mapping[str, Any], projection: Mapping[str, Any] | None = None) -> list[Doc]:
        """Every matching record (for schema migrations), in id order."""
        return await self.collection.find(dict(query), projection).sort([("_id", 1)]).to_list()

    async def update_many(self, query: Mapping[str, Any], change: Mapping[str, Any]) -> int:
        result = await self.collection.update_many(dict(query), dict(change))
        return result.modified_count

    async def set_each(self, changes: Sequence[tuple[ObjectId, Doc]], batch: int = 500) -> None:
        """``$set`` different values on many records (bumping their version), in batches."""
        for start in range(0, len(changes), batch):
            ops = [
                UpdateOne({"_id": oid}, {"$set": values, "$inc": {"_version": 1}})
                for oid, values in changes[start : start + batch]
            ]
            await self.collection.bulk_write(ops, ordered=False)
