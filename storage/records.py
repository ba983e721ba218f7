"""One entity's records in one collection, fields at top level so filters and indexes apply directly.

Stored shape: ``_id`` (ObjectId), the entity's fields, ``created_at``, ``updated_at``,
``created_by``, ``updated_by``, ``_score`` and ``_version`` (a counter behind the ETag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

Doc = dict[str, Any]
SortSpec = Sequence[tuple[str, int]]


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
    """A stored record as the API shows it: ``id`` first, times in ISO 8601 UTC, no internals."""
    out: Doc = {"id": str(doc["_id"])}
    for key, value in doc.items():
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

    async def insert(self, doc: Doc) -> Doc:
        doc = {**doc, "_version": 1}
        result = await self.collection.insert_one(doc)
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
        """Apply the change and bump ``_version``; None when the id (or expected version) does not match."""
        query: Doc = {"_id": oid}
        if expected_version is not None:
            query["_version"] = expected_version
        change: Doc = {"$inc": {"_version": 1}}
        if set_fields:
            change["$set"] = dict(set_fields)
        if unset_fields:
            change["$unset"] = {name: "" for name in unset_fields}
        return await self.collection.find_one_and_update(query, change, return_document=ReturnDocument.AFTER)

    async def delete(self, oid: ObjectId, expected_version: int | None = None) -> Doc | None:
        query: Doc = {"_id": oid}
        if expected_version is not None:
            query["_version"] = expected_version
        return await self.collection.find_one_and_delete(query)

    async def drop(self) -> None:
        await self.collection.drop()
