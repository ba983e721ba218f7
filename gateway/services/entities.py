"""Entity definitions: read (cached per workspace), create, change safely, delete, seed, and their indexes.

A change is checked against the records already stored: what existing data would violate is refused (409) before
anything is written, so a definition change never leaves records the definition calls invalid.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pymongo.errors import DuplicateKeyError, OperationFailure

from gateway.errors import ApiError, Conflict, NotFound, ValidationFailed, field_error
from gateway.services import scoring
from gateway.services.context import Context, Permission
from gateway.services.crm_schema import SEED_ENTITIES
from gateway.services.validation import SYSTEM_FIELDS, api_value, clean_value
from storage.documents import EntityDefinition, FieldDef, FieldType, IdempotencyRecord, ScoreRule, utcnow
from storage.query import InvalidValue
from storage.records import RecordCollection
from storage.workspace import WorkspaceStore

log = logging.getLogger("hari.entities")
_CACHE_KEY = "entities"
_CHECKED_KEY = "entities_checked_at"
RECHECK_SECONDS = 1.0
ENTITY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_FIELDS = 200
_NO_UNIQUE = {FieldType.json, FieldType.multiselect, FieldType.boolean}
# Type changes whose stored values need no conversion beyond a re-check.
_TEXT = {FieldType.string, FieldType.text, FieldType.email, FieldType.url, FieldType.phone, FieldType.select}


# --- reading ----------------------------------------------------------------------------------------------


async def definitions(ws: WorkspaceStore) -> dict[str, EntityDefinition]:
    """All definitions of a workspace, cached; re-read at most every ``RECHECK_SECONDS`` so that a change made by
    another gateway process is seen (and announced with ``ws.schema_changed()``) without a restart."""
    cached = ws.cache.get(_CACHE_KEY)
    now = time.monotonic()
    if cached is not None and now - ws.cache.get(_CHECKED_KEY, 0.0) < RECHECK_SECONDS:
        return cached  # type: ignore[no-any-return]
    model = ws.model(EntityDefinition)
    loaded = {d.name: d for d in await model.find_all().sort("name").to_list()}
    if cached is not None and _stamp(loaded) == _stamp(cached):
        loaded = cached  # unchanged: keep the objects (and everything cached on this version)
    elif cached is not None:
        ws.schema_changed()
    ws.cache[_CACHE_KEY] = loaded
    ws.cache[_CHECKED_KEY] = now
    return loaded


def _stamp(defs: dict[str, EntityDefinition]) -> list[tuple[str, Any]]:
    return [(name, d.updated_at) for name, d in defs.items()]


async def definition(ws: WorkspaceStore, name: str) -> EntityDefinition:
    found = (await definitions(ws)).get(name)
    if found is None:
        raise NotFound(f"Unknown entity '{name}'.", code="entity_not_found")
    return found


def as_api(definition: EntityDefinition) -> dict[str, Any]:
    """A definition as the schema API shows it."""
    return {
        "name": definition.name,
        "label": definition.label,
        "fields": [f.model_dump(mode="json") for f in definition.fields],
        "scoring": [r.model_dump(mode="json") for r in definition.scoring],
        "created_at": api_value(definition.created_at),
        "updated_at": api_value(definition.updated_at),
    }


async def list_entities(ctx: Context) -> list[EntityDefinition]:
    ctx.require(Permission.schema_read)
    return list((await definitions(ctx.ws)).values())


async def get_entity(ctx: Context, name: str) -> EntityDefinition:
    ctx.require(Permission.schema_read)
    return await definition(ctx.ws, name)


# --- input ------------------------------------------------------------------------------------------------


class _FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: FieldType
    label: str | None = Field(None, max_length=200)
    required: bool = False
    unique: bool = False
    indexed: bool = False
    default: Any = None
    options: list[str] | None = Field(None, max_length=500)
    ref: str | None = None


class _RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    op: str = "eq"
    value: Any = None
    points: int | float


class _EntityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    label: str | None = Field(None, max_length=200)
    fields: list[_FieldIn] = Field(default_factory=list, max_length=MAX_FIELDS)
    scoring: list[_RuleIn] = Field(default_factory=list, max_length=100)


def _pydantic_details(exc: ValidationError) -> list[dict[str, str]]:
    return [field_error(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()]


def _check_field(index: int, f: _FieldIn, entity: str, known: set[str], errors: list[dict[str, str]]) -> None:
    where = f"fields.{index}"
    if not FIELD_NAME.fullmatch(f.name):
        errors.append(
            field_error(
                f"{where}.name",
                f"Invalid field name '{f.name}': a letter, then letters, digits or '_', at most 64 characters "
                "(no '.', no leading '$' or '_').",
            )
        )
    elif f.name in SYSTEM_FIELDS:
        errors.append(field_error(f"{where}.name", f"'{f.name}' is a system field name."))
    if f.type in (FieldType.select, FieldType.multiselect):
        options = f.options or []
        if not options:
            errors.append(field_error(f"{where}.options", f"A {f.type.value} field needs a list of options."))
        elif len(set(options)) != len(options) or any(not o or len(o) > 200 for o in options):
            errors.append(field_error(f"{where}.options", "Options must be distinct, non-empty, <= 200 characters."))
    elif f.options is not None:
        errors.append(field_error(f"{where}.options", "Only select and multiselect fields have options."))
    if f.type is FieldType.reference:
        if not f.ref:
            errors.append(field_error(f"{where}.ref", "A reference field names its target entity in 'ref'."))
        elif f.ref not in known and f.ref != entity:
            errors.append(field_error(f"{where}.ref", f"Unknown entity '{f.ref}'."))
    elif f.ref is not None:
        errors.append(field_error(f"{where}.ref", "Only reference fields have a 'ref'."))
    if f.unique and f.type in _NO_UNIQUE:
        errors.append(field_error(f"{where}.unique", f"A {f.type.value} field cannot be unique."))
    if f.indexed and f.type is FieldType.json:
        errors.append(field_error(f"{where}.indexed", "A json field cannot be indexed."))


def parse_definition(spec: Any, known: set[str], *, name: str | None = None) -> EntityDefinition:
    """A definition from API input, fully checked (names, options, references, defaults, scoring rules)."""
    if not isinstance(spec, dict):
        raise ValidationFailed(
            "An entity definition is a JSON object.", details=[field_error("body", "Not an object.")]
        )
    if name is not None:
        if spec.get("name", name) != name:
            raise ValidationFailed(
                "An entity cannot be renamed.", details=[field_error("name", f"Must be '{name}' (as in the path).")]
            )
        spec = {**spec, "name": name}
    try:
        parsed = _EntityIn.model_validate(spec)
    except ValidationError as exc:
        raise ValidationFailed("Invalid entity definition.", details=_pydantic_details(exc)) from None
    errors: list[dict[str, str]] = []
    if not ENTITY_NAME.fullmatch(parsed.name):
        errors.append(
            field_error("name", "Lowercase letter, then lowercase letters, digits or '_', at most 40 characters.")
        )
    seen: set[str] = set()
    for index, f in enumerate(parsed.fields):
        if f.name in seen:
            errors.append(field_error(f"fields.{index}.name", f"Duplicate field name '{f.name}'."))
        seen.add(f.name)
        _check_field(index, f, parsed.name, known, errors)
    if errors:
        raise ValidationFailed("Invalid entity definition.", details=errors)
    fields = [FieldDef(**f.model_dump()) for f in parsed.fields]
    for index, f in enumerate(fields):
        if f.default is not None:
            try:
                f.default = api_value(clean_value(f, f.default))
            except InvalidValue as exc:
                errors.append(field_error(f"fields.{index}.default", f"Invalid default: {exc}"))
    result = EntityDefinition(
        name=parsed.name,
        label=parsed.label,
        fields=fields,
        scoring=[ScoreRule(**r.model_dump()) for r in parsed.scoring],
    )
    for index, rule in enumerate(result.scoring):
        if rule.field in SYSTEM_FIELDS:
            errors.append(field_error(f"scoring.{index}.field", "Scoring rules use the entity's own fields."))
            continue
        try:
            scoring.check_rule(rule, result)
        except ApiError as exc:
            errors.append(field_error(f"scoring.{index}", exc.message))
    if errors:
        raise ValidationFailed("Invalid entity definition.", details=errors)
    return result


# --- indexes and scores -----------------------------------------------------------------------------------


def index_fields(definition: EntityDefinition) -> list[tuple[str, bool]]:
    return [(f.name, f.unique) for f in definition.fields if f.unique or f.indexed]


async def sync_indexes(ws: WorkspaceStore, definition: EntityDefinition) -> None:
    await ws.records(definition.name).sync_indexes(index_fields(definition))


async def rescore(records: RecordCollection, definition: EntityDefinition) -> None:
    """Recompute ``_score`` of every record (after the scoring rules or stored values changed)."""
    changes = []
    for doc in await records.scan({}):
        value = scoring.score(definition, doc)
        if doc.get("_score") != value:
            changes.append((doc["_id"], {"_score": value}))
    await records.set_each(changes)


# --- changes ----------------------------------------------------------------------------------------------


async def create_entity(ctx: Context, spec: Any) -> EntityDefinition:
    ctx.require(Permission.schema_write)
    known = await definitions(ctx.ws)
    new = parse_definition(spec, set(known))
    if new.name in known:
        raise Conflict(f"Entity '{new.name}' already exists.", details=[field_error("name", "Already exists.")])
    model = ctx.ws.model(EntityDefinition)
    doc = model.model_validate(new.model_dump())
    try:
        await doc.insert()
    except DuplicateKeyError:
        raise Conflict(
            f"Entity '{new.name}' already exists.", details=[field_error("name", "Already exists.")]
        ) from None
    ctx.ws.schema_changed()
    await sync_indexes(ctx.ws, doc)
    return doc  # type: ignore[no-any-return]


async def _evolution(
    records: RecordCollection, old: EntityDefinition, new: EntityDefinition, confirm: bool
) -> tuple[list[dict[str, str]], list[tuple[str, Any]], list[str]]:
    """What existing records say about the change: problems (409), backfills (field, default), fields to drop."""
    problems: list[dict[str, str]] = []
    backfills: list[tuple[str, Any]] = []
    drops: list[str] = []
    has_records = await records.exists({})
    new_names = {f.name for f in new.fields}
    for f in old.fields:
        if f.name not in new_names and await records.exists({f.name: {"$ne": None}}):
            if confirm:
                drops.append(f.name)
            else:
                problems.append(
                    field_error(f.name, "Records hold values for this field; pass ?confirm=true to delete them.")
                )
    if not has_records:
        return problems, backfills, drops
    for f in new.fields:
        before = old.field(f.name)
        newly_required = f.required and (before is None or not before.required or before.type != f.type)
        if newly_required and await records.exists({f.name: None}):
            if f.default is None:
                problems.append(
                    field_error(f.name, "Records lack a value for this now required field; give it a default.")
                )
            else:
                backfills.append((f.name, clean_value(f, f.default)))
        if before is None:
            continue
        if before.type != f.type or (f.options or []) != (before.options or []) or before.ref != f.ref:
            problem = await _first_invalid(records, f, changed_ref=before.ref != f.ref)
            if problem:
                problems.append(field_error(f.name, problem))
        if f.unique and not before.unique:
            duplicate = await records.duplicate_value(f.name)
            if duplicate is not None:
                problems.append(
                    field_error(f.name, f"Cannot be unique: several records hold {api_value(duplicate)!r}.")
                )
    return problems, backfills, drops


async def _first_invalid(records: RecordCollection, field: FieldDef, *, changed_ref: bool) -> str | None:
    """Why a stored value no longer fits ``field`` (new type, fewer options, another target), or None."""
    if changed_ref and await records.exists({field.name: {"$ne": None}}):
        return f"Records reference the old target; cannot point this field to '{field.ref}'."
    for doc in await records.scan({field.name: {"$ne": None}}, {field.name: 1}):
        value = api_value(doc[field.name])
        try:
            converted = clean_value(field, value)
        except InvalidValue as exc:
            return f"Record {doc['_id']} holds {value!r}, which the new definition refuses: {exc}"
        if converted != doc[field.name] and not (field.type in _TEXT and isinstance(converted, str)):
            return f"Record {doc['_id']} holds {value!r}, which would change type; migrate the data first."
    return None


async def update_entity(ctx: Context, name: str, spec: Any, *, confirm: bool = False) -> EntityDefinition:
    """Replace a definition (PUT). Refused with 409 naming the fields existing records would violate."""
    ctx.require(Permission.schema_write)
    known = await definitions(ctx.ws)
    old = await definition(ctx.ws, name)
    new = parse_definition(spec, set(known), name=name)
    records = ctx.ws.records(name)
    problems, backfills, drops = await _evolution(records, old, new, confirm)
    if problems:
        raise Conflict(f"The change conflicts with existing {name} records.", details=problems)
    try:
        await sync_indexes(ctx.ws, new)
    except OperationFailure:
        with contextlib.suppress(OperationFailure):
            await sync_indexes(ctx.ws, old)
        raise Conflict(
            "A unique index could not be built: records hold duplicate values.",
            details=[field_error(f.name, "Duplicate values.") for f in new.fields if f.unique],
        ) from None
    for field_name, default in backfills:
        await records.update_many({field_name: None}, {"$set": {field_name: default}, "$inc": {"_version": 1}})
    if drops:
        await records.update_many({}, {"$unset": {n: "" for n in drops}, "$inc": {"_version": 1}})
    model = ctx.ws.model(EntityDefinition)
    doc = await model.find_one(model.name == name)
    if doc is None:
        raise NotFound(f"Unknown entity '{name}'.", code="entity_not_found")
    doc.label, doc.fields, doc.scoring, doc.updated_at = new.label, new.fields, new.scoring, utcnow()
    await doc.save()
    ctx.ws.schema_changed()
    if backfills or drops or new.scoring != old.scoring:
        await rescore(records, doc)
    return doc  # type: ignore[no-any-return]


async def delete_entity(ctx: Context, name: str, *, confirm: bool = False) -> None:
    """Delete a definition and its records; with records it needs ``confirm``; refused while others reference it."""
    ctx.require(Permission.schema_write)
    await definition(ctx.ws, name)
    referencing = [
        f"{d.name}.{f.name}"
        for d in (await definitions(ctx.ws)).values()
        if d.name != name
        for f in d.fields
        if f.type is FieldType.reference and f.ref == name
    ]
    if referencing:
        raise Conflict(
            f"Entity '{name}' is referenced by {', '.join(referencing)}; change those fields first.",
            details=[field_error(r, f"References {name}.") for r in referencing],
        )
    records = ctx.ws.records(name)
    count = await records.count({})
    if count and not confirm:
        raise Conflict(
            f"Entity '{name}' has {count} records; pass ?confirm=true to delete them with the entity.",
            code="confirmation_required",
        )
    model = ctx.ws.model(EntityDefinition)
    doc = await model.find_one(model.name == name)
    if doc is not None:
        await doc.delete()
    ctx.ws.schema_changed()
    await records.drop()
    keys = ctx.ws.model(IdempotencyRecord)
    await keys.find(keys.entity == name).delete()


async def seed(ws: WorkspaceStore) -> None:
    """Create the CRM schema in a workspace that has no entity yet; make sure every entity's indexes exist."""
    model = ws.model(EntityDefinition)
    existing = await model.find_all().to_list()
    if existing:
        for doc in existing:  # a workspace created by an earlier version gets its indexes now
            try:
                await sync_indexes(ws, doc)
            except OperationFailure as exc:  # e.g. old duplicates under a unique field: serve anyway, say so
                log.warning("indexes of %s/%s incomplete: %s", ws.name, doc.name, exc)
        return
    for spec in SEED_ENTITIES:
        doc = model.model_validate(spec)
        await doc.insert()
        await sync_indexes(ws, doc)
    ws.schema_changed()
