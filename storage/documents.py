"""Fixed-shape system documents. Each is a plain pydantic template that ``storage.binding`` turns
into a Beanie Document bound to one database (each workspace gets its own bound copy)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

import pymongo
from pydantic import BaseModel, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    admin = "admin"
    editor = "editor"
    viewer = "viewer"


class FieldType(StrEnum):
    string = "string"
    text = "text"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"
    email = "email"
    url = "url"
    phone = "phone"
    select = "select"
    multiselect = "multiselect"
    reference = "reference"
    json = "json"


class FieldDef(BaseModel):
    name: str
    type: FieldType
    label: str | None = None
    required: bool = False
    unique: bool = False
    indexed: bool = False
    default: Any = None
    options: list[str] | None = None
    ref: str | None = None


class ScoreRule(BaseModel):
    """Adds ``points`` to a record's ``_score`` when ``field op value`` holds (same operators as filters)."""

    field: str
    op: str = "eq"
    value: Any = None
    points: float


# --- control database (one per deployment) -------------------------------------------


class Workspace(BaseModel):
    __collection__: ClassVar[str] = "workspaces"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [pymongo.IndexModel("name", unique=True)]

    name: str
    created_at: datetime = Field(default_factory=utcnow)


class ControlSetting(BaseModel):
    """Deployment-wide values generated once and shared by every process (e.g. a JWT secret)."""

    __collection__: ClassVar[str] = "settings"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [pymongo.IndexModel("key", unique=True)]

    key: str
    value: str


CONTROL_DOCUMENTS: list[type[BaseModel]] = [Workspace, ControlSetting]


# --- workspace databases (one per workspace) ------------------------------------------


class User(BaseModel):
    __collection__: ClassVar[str] = "users"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [pymongo.IndexModel("email", unique=True)]

    email: str
    password_hash: str
    role: Role = Role.viewer
    name: str | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EntityDefinition(BaseModel):
    __collection__: ClassVar[str] = "entities"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [pymongo.IndexModel("name", unique=True)]

    name: str
    label: str | None = None
    fields: list[FieldDef] = Field(default_factory=list)
    scoring: list[ScoreRule] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)


WORKSPACE_DOCUMENTS: list[type[BaseModel]] = [User, EntityDefinition]
