"""Binds document templates to a database as Beanie Documents.

Beanie attaches query expressions to a Document class and to its Document parents when
it initialises one, so a class cannot serve two databases, and subclassing an
initialised one inherits the pollution. Templates are therefore plain pydantic models,
and every binding creates a fresh ``(template, Document)`` class with a unique name.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar, TypeVar

from beanie import Document, init_beanie
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

T = TypeVar("T", bound=BaseModel)
_serial = itertools.count(1)


class Bindings:
    """The Document classes bound to one database, looked up by their template."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self._bound: dict[type[BaseModel], type[Document]] = {}

    async def bind(self, templates: list[type[BaseModel]]) -> None:
        serial = next(_serial)
        for template in templates:
            settings = type(
                "Settings",
                (),
                {"name": template.__collection__},  # type: ignore[attr-defined]
            )
            self._bound[template] = type(
                f"{template.__name__}_{serial}",
                (template, Document),
                {
                    "__module__": template.__module__,
                    "Settings": settings,
                    "__annotations__": {"Settings": ClassVar[type]},
                },
            )
        await init_beanie(database=self.db, document_models=list(self._bound.values()))
        # Indexes one createIndexes call each, not Beanie's one call for all: FerretDB 1.24 drops the
        # connection (a server panic) when a multi-index createIndexes names indexes that already exist,
        # i.e. on every restart. One at a time is idempotent on FerretDB and MongoDB alike.
        for template in templates:
            collection = self.db[template.__collection__]  # type: ignore[attr-defined]
            for index in template.__indexes__:  # type: ignore[attr-defined]
                await collection.create_indexes([index])

    def model(self, template: type[T]) -> Any:
        """The Document class for ``template`` (typed ``Any``: it is both the template and a Beanie Document)."""
        return self._bound[template]
