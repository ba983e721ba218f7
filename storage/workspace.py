"""A workspace's database: its own bound Beanie models and its record collections.

Each workspace gets the system documents bound to its own database, so
a query cannot reach another workspace's users, keys or definitions by forgetting a
filter: isolation is by database, not by a ``workspace`` field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from storage.binding import Bindings
from storage.claims import Claims
from storage.documents import WORKSPACE_DOCUMENTS
from storage.records import RecordCollection

RECORD_COLLECTION_PREFIX = "rec_"


class WorkspaceStore:
    def __init__(self, name: str, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.name = name
        self.db = db
        self._bindings = Bindings(db)
        self.claims = Claims(db)  # exclusive claims (compare-and-set that holds on FerretDB too)
        self._records: dict[str, RecordCollection] = {}
        # Bumped on every entity definition change; caches (GraphQL schema, definitions) key on it.
        self.schema_version = 0
        self.cache: dict[str, Any] = {}

    async def init(self) -> None:
        await self._bindings.bind(WORKSPACE_DOCUMENTS)

    def model(self, template: type[BaseModel]) -> Any:
        """The Beanie Document for ``template`` bound to this workspace's database."""
        return self._bindings.model(template)

    def records(self, entity: str) -> RecordCollection:
        coll = self._records.get(entity)
        if coll is None:
            coll = RecordCollection(self.db[RECORD_COLLECTION_PREFIX + entity])
            self._records[entity] = coll
        return coll

    def schema_changed(self) -> None:
        self.schema_version += 1
        self.cache.clear()
