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
    points: int | float


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
    # Bumped when every session must end (logout everywhere, deactivation, password change):
    # access tokens carry it as ``ver`` and stop working once it moves on.
    token_version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ApiKey(BaseModel):
    """A ``hari_`` key: only its SHA-256 and a short display prefix are stored; it acts as ``user_id``."""

    __collection__: ClassVar[str] = "api_keys"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [
        pymongo.IndexModel("key_hash", unique=True),
        pymongo.IndexModel("user_id"),
    ]

    name: str
    prefix: str
    key_hash: str
    user_id: str
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None


class RefreshToken(BaseModel):
    """One opaque refresh token (stored as SHA-256). Rotation chains tokens in a ``family_id``."""

    __collection__: ClassVar[str] = "refresh_tokens"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [
        pymongo.IndexModel("token_hash", unique=True),
        pymongo.IndexModel("family_id"),
        pymongo.IndexModel("user_id"),
    ]

    token_hash: str
    family_id: str
    user_id: str
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    token_version: int | None = None  # the user's token_version at issue: "log out everywhere" ends it


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


WORKSPACE_DOCUMENTS: list[type[BaseModel]] = [User, ApiKey, RefreshToken, EntityDefinition]


# --- webhooks (workspace databases; see hooks/ and gateway/services/webhooks.py) -------


class WebhookSubscription(BaseModel):
    """A target URL subscribed to one event of one entity (or ``*``). The signing secret is stored
    encrypted (it must be usable for HMAC, so it cannot be hashed) and shown only at creation."""

    __collection__: ClassVar[str] = "webhook_subscriptions"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [pymongo.IndexModel([("event", 1), ("entity", 1)])]

    target_url: str
    entity: str
    event: str
    blocking: bool = False
    secret_sealed: str
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(BaseModel):
    """One event for one subscription: the durable outbox entry and its delivery log.

    ``status``: staged (written before the record write, not yet confirmed) -> pending -> delivered |
    failed | cancelled; staged entries whose write never happened become discarded.
    """

    __collection__: ClassVar[str] = "webhook_deliveries"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [
        pymongo.IndexModel("key", unique=True),
        pymongo.IndexModel([("status", 1), ("next_attempt_at", 1)]),
        pymongo.IndexModel([("subscription_id", 1), ("record_key", 1), ("seq", 1)]),
        pymongo.IndexModel([("subscription_id", 1), ("created_at", -1)]),
        pymongo.IndexModel("write_id"),
    ]

    key: str  # "<write_id>:<event>:<subscription_id>": one entry per event and subscription
    subscription_id: str
    target: str  # scheme://host:port, the unit of per-target concurrency
    event_id: str
    event: str
    entity: str
    operation: str
    record_id: str | None = None
    record_key: str  # "<entity>:<record id>": deliveries with one key are sent in ``seq`` order
    write_id: str
    body: str  # the exact JSON that is signed and sent
    status: str
    seq: int = 0
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime = Field(default_factory=utcnow)
    claimed_by: str | None = None
    claims: int = 0  # claims taken so far; the next one is webhook_claims "<id>:<claims>"
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class WebhookClaim(BaseModel):
    """A claim on one delivery attempt, ``_id`` "<delivery id>:<n>". Claims are inserts, because a unique
    ``_id`` is the one atomic check-and-set FerretDB 1.24 offers (its findAndModify is not atomic)."""

    __collection__: ClassVar[str] = "webhook_claims"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [pymongo.IndexModel("entry_id")]

    entry_id: str
    worker: str
    at: datetime = Field(default_factory=utcnow)


WORKSPACE_DOCUMENTS.extend([WebhookSubscription, WebhookDelivery, WebhookClaim])


# --- records: idempotent creates -------------------------------------------------------


class IdempotencyRecord(BaseModel):
    """The first result of a POST sent with an ``Idempotency-Key``; a retry with the same key gets it back."""

    __collection__: ClassVar[str] = "idempotency_keys"
    __indexes__: ClassVar[list[pymongo.IndexModel]] = [
        pymongo.IndexModel([("user_id", 1), ("entity", 1), ("key", 1)], unique=True, name="idempotency_key")
    ]

    key: str
    entity: str
    user_id: str
    fingerprint: str  # hash of the request body: the same key with another body is refused
    status: int = 0  # 0 while the first request runs, then its HTTP status
    record_id: str | None = None
    body: dict[str, Any] | None = None
    etag: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


WORKSPACE_DOCUMENTS.append(IdempotencyRecord)
