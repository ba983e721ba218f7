"""Records of dynamic entities: the operations REST and GraphQL both call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.errors import NotFound, ValidationFailed, field_error
from gateway.services import entities
from gateway.services.context import Context, Permission
from hooks.bus import RecordEvent
from storage.documents import EntityDefinition, utcnow
from storage.records import parse_id, to_api

SYSTEM_FIELDS = ("id", "created_at", "updated_at", "created_by", "updated_by", "_score")


@dataclass
class Page:
    data: list[dict[str, Any]]
    page: int
    page_size: int
    total: int


def _check_fields(definition: EntityDefinition, data: dict[str, Any]) -> None:
    known = {f.name for f in definition.fields}
    errors = [field_error(name, "Unknown field.") for name in data if name not in known]
    errors += [
        field_error(f.name, "This field is required.")
        for f in definition.fields
        if f.required and data.get(f.name) in (None, "")
    ]
    if errors:
        raise ValidationFailed(f"Invalid {definition.name} record.", details=errors)


async def create(ctx: Context, entity: str, data: dict[str, Any]) -> dict[str, Any]:
    principal = ctx.require(Permission.records_write)
    definition = await entities.definition(ctx.ws, entity)
    _check_fields(definition, data)
    event = await ctx.runtime.bus.emit(
        RecordEvent("pre_save", ctx.ws.name, entity, "create", dict(data), actor=principal.user_id)
    )
    now = utcnow()
    doc = {
        **(event.record or {}),
        "created_at": now,
        "updated_at": now,
        "created_by": principal.user_id,
        "updated_by": principal.user_id,
        "_score": 0,
    }
    stored = await ctx.ws.records(entity).insert(doc)
    record = to_api(stored)
    await ctx.runtime.bus.emit(RecordEvent("post_save", ctx.ws.name, entity, "create", record, actor=principal.user_id))
    return record


async def get(ctx: Context, entity: str, record_id: str) -> dict[str, Any]:
    ctx.require(Permission.records_read)
    await entities.definition(ctx.ws, entity)
    oid = parse_id(record_id)
    doc = await ctx.ws.records(entity).get(oid) if oid else None
    if doc is None:
        raise NotFound(f"No {entity} with id '{record_id}'.", code="record_not_found")
    return to_api(doc)


async def list_page(ctx: Context, entity: str, page: int = 1, page_size: int = 25) -> Page:
    ctx.require(Permission.records_read)
    await entities.definition(ctx.ws, entity)
    if page < 1:
        raise ValidationFailed("page must be 1 or more.", details=[field_error("page", "Must be >= 1.")])
    if not 1 <= page_size <= 100:
        raise ValidationFailed(
            "page_size must be between 1 and 100.", details=[field_error("page_size", "Must be 1..100.")]
        )
    records = ctx.ws.records(entity)
    docs = await records.find({}, sort=[("_id", 1)], skip=(page - 1) * page_size, limit=page_size)
    total = await records.count({})
    return Page([to_api(d) for d in docs], page, page_size, total)
