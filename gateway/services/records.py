"""Records of dynamic entities: the operations REST and GraphQL both call.

Every write, single or bulk, takes one path: permission, validation against the definition, pre_ event (a hook may
change the record, which is then checked again, or refuse it), reference and unique checks, ``_score``, the
database write (optimistic, on ``_version``), post_ event.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from gateway import ratelimit
from gateway.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from gateway.services import entities, scoring, validation
from gateway.services.context import Context, Permission, Principal
from hooks.bus import RecordEvent
from storage.documents import EntityDefinition, FieldType, IdempotencyRecord, utcnow
from storage.query import Filter, projection, to_mongo, to_mongo_sort
from storage.records import Doc, etag, parse_id, to_api

SYSTEM_FIELDS = validation.SYSTEM_FIELDS
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000_000  # keeps the skip within 64 bits
MAX_BULK_ITEMS = 1000
IDEMPOTENCY_TTL = timedelta(hours=24)
_WRITE_ATTEMPTS = 5


class Record(dict[str, Any]):
    """A record exactly as the API shows it, plus its ``etag`` (and whether it replays an earlier create)."""

    def __init__(self, data: Mapping[str, Any], etag: str = "", replayed: bool = False) -> None:
        super().__init__(data)
        self.etag = etag
        self.replayed = replayed


@dataclass
class Page:
    data: list[dict[str, Any]]
    page: int
    page_size: int
    total: int


def _record(doc: Doc) -> Record:
    return Record(to_api(doc), etag(doc))


def _not_found(entity: str, record_id: str) -> NotFound:
    return NotFound(f"No {entity} with id '{record_id}'.", code="record_not_found")


def etag_matches(if_match: str, doc: Doc) -> bool:
    """RFC 9110 If-Match: ``*`` or a list of entity tags (weak ones compared by value)."""
    current = etag(doc)
    return any(tag == "*" or tag.removeprefix("W/") == current for tag in (t.strip() for t in if_match.split(",")))


async def _load(ctx: Context, entity: str, record_id: str) -> tuple[ObjectId, Doc]:
    oid = parse_id(record_id)
    doc = await ctx.ws.records(entity).get(oid) if oid else None
    if oid is None or doc is None:
        raise _not_found(entity, record_id)
    return oid, doc


# --- reading ----------------------------------------------------------------------------------------------


async def list_page(
    ctx: Context,
    entity: str,
    *,
    where: Filter | None = None,
    sort: list[tuple[str, str]] | None = None,
    include: list[str] | None = None,
    page: int = 1,
    page_size: int = 25,
) -> Page:
    """One page of records: filtered, sorted (id breaks ties) and paged by the database."""
    ctx.require(Permission.records_read)
    definition = await entities.definition(ctx.ws, entity)
    errors = []
    if not 1 <= page <= MAX_PAGE:
        errors.append(field_error("page", f"Must be between 1 and {MAX_PAGE}."))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append(field_error("page_size", f"Must be between 1 and {MAX_PAGE_SIZE}."))
    if errors:
        raise BadRequest("Invalid paging: page 1..1000000000, page_size 1..100.", details=errors)
    query = to_mongo(where, definition)
    keys = to_mongo_sort(sort, definition)
    fields = projection(include, definition)
    records = ctx.ws.records(entity)
    docs = await records.find(query, sort=keys, projection=fields, skip=(page - 1) * page_size, limit=page_size)
    total = await records.count(query)
    return Page([to_api(d) for d in docs], page, page_size, total)


async def get(ctx: Context, entity: str, record_id: str) -> Record:
    ctx.require(Permission.records_read)
    await entities.definition(ctx.ws, entity)
    _, doc = await _load(ctx, entity, record_id)
    return _record(doc)


async def get_many(ctx: Context, entity: str, ids: list[str]) -> list[Record]:
    """The records with these ids, in one query (unknown and malformed ids are left out), in the order asked."""
    ctx.require(Permission.records_read)
    await entities.definition(ctx.ws, entity)
    oids = [oid for oid in (parse_id(i) for i in ids) if oid is not None]
    if not oids:
        return []
    found = {doc["_id"]: doc for doc in await ctx.ws.records(entity).get_many(list(dict.fromkeys(oids)))}
    return [_record(found[oid]) for oid in oids if oid in found]


# --- checks that need the database ------------------------------------------------------------------------


async def _check_links(
    ctx: Context,
    definition: EntityDefinition,
    values: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    oid: ObjectId,
) -> None:
    """Reference targets exist (400). Only values that change are checked.

    Unique values are left to the collection's unique indexes (``_duplicate`` names the field on a conflict): a
    pre-check would read the collection on every write, and on FerretDB, which uses no index for it, scan it."""
    errors: list[dict[str, str]] = []
    for field in definition.fields:
        value = values.get(field.name)
        if value is None or (current is not None and current.get(field.name) == value):
            continue
        if field.type is FieldType.reference and field.ref:
            target = parse_id(value)
            if target is None or not await ctx.ws.records(field.ref).exists({"_id": target}):
                errors.append(field_error(field.name, f"No {field.ref} with id '{value}'."))
    if errors:
        raise ValidationFailed(f"Invalid {definition.name} record.", details=errors)


async def _duplicate(
    ctx: Context, definition: EntityDefinition, values: Mapping[str, Any], oid: ObjectId, error: DuplicateKeyError
) -> Conflict:
    """A unique index refused the write: name the field(s) another record holds the value of.

    MongoDB says which index (``keyPattern``); FerretDB does not, so the values are looked up, on this rare path only.
    """
    unique = [f.name for f in definition.fields if f.unique and values.get(f.name) is not None]
    pattern = (error.details or {}).get("keyPattern") or {}
    fields = [name for name in unique if name in pattern]
    if not fields:
        records = ctx.ws.records(definition.name)
        fields = [n for n in unique if await records.exists({n: values[n], "_id": {"$ne": oid}})] or unique
    return Conflict(
        f"A {definition.name} with this value already exists.",
        details=[field_error(name, "Another record already has this value.") for name in fields],
        code="duplicate_value",
    )


def _api_shape(values: Mapping[str, Any], system: Mapping[str, Any]) -> dict[str, Any]:
    return to_api({**values, **system})


async def _pre_save(
    ctx: Context, definition: EntityDefinition, event: RecordEvent, values: dict[str, Any]
) -> dict[str, Any]:
    """Emit pre_save; when a hook replaced the record, the replacement is validated like any input."""
    original = event.record
    snapshot = dict(original or {})
    emitted = await ctx.runtime.bus.emit(event)
    if emitted.record is original and emitted.record == snapshot:
        return values
    if not isinstance(emitted.record, dict):
        raise ValidationFailed("A pre_save hook returned no record.")
    return validation.for_record(definition, emitted.record)


# --- writes -----------------------------------------------------------------------------------------------


async def _create(ctx: Context, principal: Principal, definition: EntityDefinition, data: Any) -> Record:
    if not isinstance(data, dict):
        raise ValidationFailed("A record is a JSON object.", details=[field_error("body", "Expected an object.")])
    values = validation.for_create(definition, data)
    oid = ObjectId()
    await _check_links(ctx, definition, values, None, oid)
    now = utcnow()
    system = {
        "_id": oid,
        "created_at": now,
        "updated_at": now,
        "created_by": principal.user_id,
        "updated_by": principal.user_id,
    }
    event = RecordEvent(
        "pre_save",
        ctx.ws.name,
        definition.name,
        "create",
        _api_shape(values, {**system, "_score": scoring.score(definition, values)}),
        actor=principal.user_id,
    )
    final = await _pre_save(ctx, definition, event, values)
    if final is not values:
        await _check_links(ctx, definition, final, None, oid)
    try:
        stored = await ctx.ws.records(definition.name).insert(
            {**system, **final, "_score": scoring.score(definition, final)}
        )
    except DuplicateKeyError as exc:
        raise await _duplicate(ctx, definition, final, oid, exc) from None
    record = _record(stored)
    await ctx.runtime.bus.emit(
        RecordEvent(
            "post_save",
            ctx.ws.name,
            definition.name,
            "create",
            dict(record),
            actor=principal.user_id,
            write_id=event.write_id,
        )
    )
    return record


async def _update(
    ctx: Context,
    principal: Principal,
    definition: EntityDefinition,
    record_id: str,
    data: Any,
    if_match: str | None,
    replace: bool,
) -> Record:
    if not isinstance(data, dict):
        raise ValidationFailed("A record is a JSON object.", details=[field_error("body", "Expected an object.")])
    records = ctx.ws.records(definition.name)
    for attempt in range(_WRITE_ATTEMPTS):
        oid, doc = await _load(ctx, definition.name, record_id)
        if if_match is not None and not etag_matches(if_match, doc):
            raise PreconditionFailed(f"The {definition.name} changed since you read it (ETag {etag(doc)}).")
        current = validation.user_values(definition, doc)
        shown = to_api(doc)
        # A record sent back as it was read may carry its system fields: unchanged ones are not an error.
        sent = {k: v for k, v in data.items() if not (k in SYSTEM_FIELDS and shown.get(k) == v)}
        values = validation.for_update(definition, current, sent, replace=replace)
        await _check_links(ctx, definition, values, current, oid)
        system = {
            "_id": oid,
            "created_at": doc.get("created_at"),
            "updated_at": utcnow(),
            "created_by": doc.get("created_by"),
            "updated_by": principal.user_id,
        }
        event = RecordEvent(
            "pre_save",
            ctx.ws.name,
            definition.name,
            "update",
            _api_shape(values, {**system, "_score": scoring.score(definition, values)}),
            previous=shown,
            actor=principal.user_id,
        )
        final = await _pre_save(ctx, definition, event, values)
        if final is not values:
            await _check_links(ctx, definition, final, current, oid)
        changed = {k: v for k, v in final.items() if current.get(k) != v or k not in doc}
        removed = [f.name for f in definition.fields if f.name in doc and f.name not in final]
        changes = {
            **changed,
            "updated_at": system["updated_at"],
            "updated_by": principal.user_id,
            "_score": scoring.score(definition, final),
        }
        try:
            stored = await records.update(oid, changes, removed, expected_version=doc.get("_version", 1))
        except DuplicateKeyError as exc:
            raise await _duplicate(ctx, definition, final, oid, exc) from None
        if stored is not None:
            record = _record(stored)
            await ctx.runtime.bus.emit(
                RecordEvent(
                    "post_save",
                    ctx.ws.name,
                    definition.name,
                    "update",
                    dict(record),
                    previous=to_api(doc),
                    actor=principal.user_id,
                    write_id=event.write_id,
                )
            )
            return record
        if if_match is not None:
            raise PreconditionFailed(f"The {definition.name} changed since you read it.")
        await _backoff(attempt)
    raise Conflict(f"The {definition.name} is being changed by others; try again.", code="concurrent_update")


async def _delete(
    ctx: Context, principal: Principal, definition: EntityDefinition, record_id: str, if_match: str | None
) -> Record:
    records = ctx.ws.records(definition.name)
    for attempt in range(_WRITE_ATTEMPTS):
        oid, doc = await _load(ctx, definition.name, record_id)
        if if_match is not None and not etag_matches(if_match, doc):
            raise PreconditionFailed(f"The {definition.name} changed since you read it (ETag {etag(doc)}).")
        record = _record(doc)
        event = await ctx.runtime.bus.emit(
            RecordEvent("pre_delete", ctx.ws.name, definition.name, "delete", dict(record), actor=principal.user_id)
        )
        # Always conditional on the version read: of concurrent deletes exactly one deletes (and emits post_delete).
        deleted = await records.delete(oid, expected_version=doc.get("_version", 1))
        if deleted is not None:
            await ctx.runtime.bus.emit(
                RecordEvent(
                    "post_delete",
                    ctx.ws.name,
                    definition.name,
                    "delete",
                    dict(record),
                    actor=principal.user_id,
                    write_id=event.write_id,
                )
            )
            return record
        if if_match is not None:
            if await records.exists({"_id": oid}):
                raise PreconditionFailed(f"The {definition.name} changed while it was being deleted; read it again.")
            raise _not_found(definition.name, record_id)
        await _backoff(attempt)
    raise Conflict(f"The {definition.name} is being changed by others; try again.", code="concurrent_update")


async def _backoff(attempt: int) -> None:
    """Let a concurrent writer of the same record finish before reading it again."""
    await asyncio.sleep(0.01 * (attempt + 1) * (0.5 + random.random()))


# --- idempotent create ------------------------------------------------------------------------------------


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _idempotent(
    ctx: Context, principal: Principal, entity: str, key: str, data: Any, run: Callable[[], Awaitable[Record]]
) -> Record:
    """Run ``run`` once per (user, entity, key): a retry gets the first record back instead of a second one."""
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise BadRequest("Idempotency-Key must be 1 to 255 printable characters.")
    model = ctx.ws.model(IdempotencyRecord)
    fingerprint = _fingerprint(data)
    query = (model.user_id == principal.user_id, model.entity == entity, model.key == key)
    claim = model(key=key, entity=entity, user_id=principal.user_id, fingerprint=fingerprint)
    try:
        await claim.insert()
    except DuplicateKeyError:
        first = await model.find_one(*query)
        if first is not None and utcnow() - first.created_at > IDEMPOTENCY_TTL:
            await first.delete()
            return await _idempotent(ctx, principal, entity, key, data, run)
        if first is None or first.fingerprint != fingerprint:
            raise Conflict(
                "This Idempotency-Key was used with a different request body.", code="idempotency_key_reused"
            ) from None
        if not first.status or first.body is None:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress.", code="idempotency_in_progress"
            ) from None
        return Record(first.body, first.etag or "", replayed=True)
    try:
        record = await run()
    except Exception:
        await claim.delete()  # a failed request may be retried with the same key
        raise
    claim.status, claim.record_id, claim.body, claim.etag = 201, record["id"], dict(record), record.etag
    await claim.save()
    return record


# --- the public single-record operations ------------------------------------------------------------------


async def create(ctx: Context, entity: str, data: dict[str, Any], *, idempotency_key: str | None = None) -> Record:
    principal = ctx.require(Permission.records_write)
    definition = await entities.definition(ctx.ws, entity)
    if idempotency_key is None:
        return await _create(ctx, principal, definition, data)
    return await _idempotent(
        ctx, principal, entity, idempotency_key, data, lambda: _create(ctx, principal, definition, data)
    )


async def update(
    ctx: Context,
    entity: str,
    record_id: str,
    data: dict[str, Any],
    *,
    if_match: str | None = None,
    replace: bool = False,
) -> Record:
    """Change only the fields sent (``None`` clears one); ``replace`` clears the others too."""
    principal = ctx.require(Permission.records_write)
    definition = await entities.definition(ctx.ws, entity)
    return await _update(ctx, principal, definition, record_id, data, if_match, replace)


async def delete(ctx: Context, entity: str, record_id: str, *, if_match: str | None = None) -> Record:
    """Delete a record and return it as it was."""
    principal = ctx.require(Permission.records_write)
    definition = await entities.definition(ctx.ws, entity)
    return await _delete(ctx, principal, definition, record_id, if_match)


# --- bulk -------------------------------------------------------------------------------------------------


async def _bulk(
    ctx: Context,
    entity: str,
    items: Any,
    status: int,
    run: Callable[[Principal, EntityDefinition, Any], Awaitable[Record]],
) -> list[dict[str, Any]]:
    principal = ctx.require(Permission.records_write)
    await ratelimit.hit_bulk(ctx)
    definition = await entities.definition(ctx.ws, entity)
    if not isinstance(items, list) or not items:
        raise BadRequest("A bulk request needs a non-empty list of items.", details=[field_error("body", "Empty.")])
    if len(items) > MAX_BULK_ITEMS:
        raise PayloadTooLarge(f"At most {MAX_BULK_ITEMS} items per bulk request; got {len(items)}.")
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            record = await run(principal, definition, item)
        except ApiError as exc:
            result: dict[str, Any] = {"index": index, "status": exc.status, "error": exc.envelope()["error"]}
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                result["id"] = item["id"]
            elif isinstance(item, str):
                result["id"] = item
            results.append(result)
        else:
            results.append({"index": index, "status": status, "id": record["id"], "record": dict(record)})
    return results


def _item_id(item: Any) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise ValidationFailed("Each item needs an 'id'.", details=[field_error("id", "Required.")])
    return str(item["id"])


async def bulk_create(ctx: Context, entity: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async def run(principal: Principal, definition: EntityDefinition, item: Any) -> Record:
        return await _create(ctx, principal, definition, item)

    return await _bulk(ctx, entity, items, 201, run)


async def bulk_update(ctx: Context, entity: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item is ``{"id": ..., field: value, ...}``; only the fields sent change."""

    async def run(principal: Principal, definition: EntityDefinition, item: Any) -> Record:
        record_id = _item_id(item)
        data = {k: v for k, v in item.items() if k != "id"}
        return await _update(ctx, principal, definition, record_id, data, None, False)

    return await _bulk(ctx, entity, items, 200, run)


async def bulk_delete(ctx: Context, entity: str, ids: list[str]) -> list[dict[str, Any]]:
    async def run(principal: Principal, definition: EntityDefinition, item: Any) -> Record:
        if not isinstance(item, str):
            raise ValidationFailed("Each id is a string.", details=[field_error("id", "Expected a string.")])
        return await _delete(ctx, principal, definition, item, None)

    return await _bulk(ctx, entity, ids, 200, run)
