"""Generates one workspace's Strawberry schema from its entity definitions.

Per entity ``contact`` (type name ``Contact``):
- ``type Contact``: ``id``, the defined fields (names as in REST), the system fields, each reference
  field's record (``company`` for ``company_id``) and reverse connections (``company.contacts``);
- queries ``contact(id)`` and ``contacts(where, sort, page, page_size) -> ContactPage {data, meta}``;
- mutations ``create_/update_/delete_contact`` and ``bulk_create_/bulk_update_/bulk_delete_contact``;
- subscription ``contact_events(operations)``.
Plus the schema-agnostic ``record``/``records`` queries, ``create_/update_/delete_record`` mutations
and ``record_events`` subscription, whose records are JSON.

Every resolver is a thin call into ``gateway.services``; the schema holds no rule of its own.
Resolvers get dicts (the service's record shape); a default resolver reads them by field name.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import AsyncGenerator, Callable
from typing import Any

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import create_type
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from gateway.errors import ApiError, ValidationFailed, field_error
from gateway.services import record_stream, records
from graph import naming, types
from graph.errors import ErrorCodes, as_graphql_error, log_unexpected
from graph.limits import QueryLimits
from graph.loaders import page_dict
from graph.naming import graphql_key, python_name
from graph.scalars import SCALAR_MAP, Date, DateTime, Long
from hooks.bus import RecordEvent
from storage.documents import EntityDefinition, FieldDef, FieldType
from storage.query import AllOf, AnyOf, Condition
from storage.records import iso

ID = strawberry.ID

VALUE_TYPES: dict[FieldType, Any] = {
    FieldType.string: str,
    FieldType.text: str,
    FieldType.integer: Long,
    FieldType.number: float,
    FieldType.boolean: bool,
    FieldType.date: Date,
    FieldType.datetime: DateTime,
    FieldType.email: str,
    FieldType.url: str,
    FieldType.phone: str,
    FieldType.select: str,
    FieldType.multiselect: list[str],
    FieldType.reference: ID,
    FieldType.json: JSON,
}
FILTER_TYPES: dict[FieldType, Any] = {
    FieldType.string: types.StringFilter,
    FieldType.text: types.StringFilter,
    FieldType.integer: types.LongFilter,
    FieldType.number: types.FloatFilter,
    FieldType.boolean: types.BooleanFilter,
    FieldType.date: types.DateFilter,
    FieldType.datetime: types.DateTimeFilter,
    FieldType.email: types.StringFilter,
    FieldType.url: types.StringFilter,
    FieldType.phone: types.StringFilter,
    FieldType.select: types.StringFilter,
    FieldType.multiselect: types.StringFilter,
    FieldType.reference: types.IDFilter,
    FieldType.json: types.JSONFilter,
}
# System fields on every record: (name, output type, filter input).
SYSTEM_FIELDS: list[tuple[str, Any, Any]] = [
    ("created_at", DateTime, types.DateTimeFilter),
    ("updated_at", DateTime, types.DateTimeFilter),
    ("created_by", ID, types.IDFilter),
    ("updated_by", ID, types.IDFilter),
    ("_score", float, types.FloatFilter),
]
SYSTEM_NAMES = {"id", *(name for name, _, _ in SYSTEM_FIELDS)}
FILTER_COMBINATORS = ("and", "or")
DEFAULT_PAGE_SIZE = 25

_P = inspect.Parameter


@dataclasses.dataclass(frozen=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 20000


# --- helpers ---------------------------------------------------------------------------------------


def _field(name: str, annotation: Any, *, default: Any = dataclasses.MISSING, description: str | None = None) -> Any:
    return StrawberryField(
        python_name=python_name(name),
        graphql_name=name,
        type_annotation=StrawberryAnnotation(annotation),
        default=default,
        description=description,
    )


def _resolver(
    name: str,
    fn: Callable[..., Any],
    returns: Any,
    *,
    description: str | None = None,
    subscription: bool = False,
    **arguments: tuple[Any, Any],
) -> Any:
    """A field resolved by ``fn(root, info, **arguments)``; argument types are given, not annotated."""
    params = [_P("root", _P.POSITIONAL_OR_KEYWORD), _P("info", _P.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info)]
    params += [_P(arg, _P.KEYWORD_ONLY, annotation=ann, default=default) for arg, (ann, default) in arguments.items()]
    fn.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    field = strawberry.field(resolver=fn, name=name, description=description, is_subscription=subscription)
    field.python_name = python_name(name)
    return field


def _attach(cls: Any, field: Any) -> None:
    """Add a field to an already created type (for relations between types that reference each other)."""
    field.origin = cls
    cls.__strawberry_definition__.fields.append(field)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _given(value: Any) -> bool:
    return value is not UNSET and value is not None


def to_filter(where: Any) -> Any:
    """A generated ``<Type>Filter`` input as the service's filter tree (``Condition``/``AllOf``/``AnyOf``)."""
    if not _given(where):
        return None
    items: list[Any] = []
    for spec in dataclasses.fields(where):
        value = getattr(where, spec.name)
        if not _given(value):
            continue
        key = graphql_key(spec.name)
        if key in FILTER_COMBINATORS:
            parts = [p for p in (to_filter(v) for v in value) if p is not None]
            if parts:
                items.append(AllOf(tuple(parts)) if key == "and" else AnyOf(tuple(parts)))
            continue
        for attribute, op in types.OPERATORS.items():
            operand = getattr(value, attribute, UNSET)
            if not _given(operand):
                continue
            items.append(Condition(key, op, operand.value if isinstance(operand, enum.Enum) else operand))
    if not items:
        return None
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def to_sort(sort: Any) -> list[tuple[str, str]] | None:
    if not _given(sort):
        return None
    return [(s.f_field.value, s.f_direction.value) for s in sort] or None


def to_data(data: Any) -> dict[str, Any]:
    """An input object as the body REST would send: only the fields given (``null`` clears)."""
    return {
        graphql_key(spec.name): getattr(data, spec.name)
        for spec in dataclasses.fields(data)
        if getattr(data, spec.name) is not UNSET
    }


def event_payload(event: RecordEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "entity": event.entity,
        "operation": types.RecordOperation(event.operation),
        "record": event.record,
        "previous": event.previous,
        "actor": event.actor,
        "occurred_at": iso(event.occurred_at),
    }


def resolve_default(obj: Any, attribute: str) -> Any:
    """Records, pages and events are dicts: read them by GraphQL field name."""
    if isinstance(obj, dict):
        return obj.get(graphql_key(attribute))
    return getattr(obj, attribute, None)


def _bulk_result(item: dict[str, Any]) -> dict[str, Any]:
    error = item.get("error")
    if isinstance(error, dict) and "error" in error:  # a whole REST envelope
        error = error["error"]
    return {**item, "error": error}


class HariSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Log only real faults (as REST logs its 500s); expected 4xx are not worth a traceback."""
        log_unexpected(errors)


# --- the build -------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Entity:
    name: str
    type_name: str
    fields: list[FieldDef]
    record: Any = None
    page: Any = None
    filter: Any = None
    sort: Any = None
    input: Any = None
    update_input: Any = None
    bulk_result: Any = None
    event: Any = None
    taken: set[str] = dataclasses.field(default_factory=set)


class _Builder:
    def __init__(self, definitions: dict[str, EntityDefinition]) -> None:
        usable = {n: d for n, d in definitions.items() if naming.is_graphql_name(n)}
        names = naming.type_names(list(usable))
        self.entities = {
            n: _Entity(
                name=n,
                type_name=names[n],
                fields=[f for f in d.fields if naming.is_graphql_name(f.name) and f.name not in SYSTEM_NAMES],
            )
            for n, d in sorted(usable.items())
        }

    def build(self, limits: Limits) -> HariSchema:
        for e in self.entities.values():
            self._types(e)
        for e in self.entities.values():
            self._relations(e)
        return HariSchema(
            query=self._query(),
            mutation=self._mutation(),
            subscription=self._subscription(),
            types=[types.JSONFilter],
            config=StrawberryConfig(auto_camel_case=False, default_resolver=resolve_default, scalar_map=SCALAR_MAP),
            extensions=[
                lambda: QueryLimits(
                    max_depth=limits.max_depth,
                    max_aliases=limits.max_aliases,
                    max_tokens=limits.max_tokens,
                    max_cost=limits.max_cost,
                ),
                ErrorCodes,
            ],
        )

    # per-entity types
    def _types(self, e: _Entity) -> None:
        t = e.type_name
        values = [_field(f.name, VALUE_TYPES[f.type] | None, description=f.label) for f in e.fields]
        system = [_field(name, kind | None) for name, kind, _ in SYSTEM_FIELDS]
        e.record = create_type(t, [_field("id", ID), *values, *system], description=f"A {e.name} record.")
        e.taken = {"id", *(f.name for f in e.fields), *SYSTEM_NAMES}
        e.page = create_type(
            f"{t}Page",
            [_field("data", list[e.record]), _field("meta", types.PageMeta)],
            description=f"A page of {e.name} records.",
        )

        filterable = [(f.name, FILTER_TYPES[f.type]) for f in e.fields if f.name not in FILTER_COMBINATORS]
        filterable += [("id", types.IDFilter)] + [(n, flt) for n, _, flt in SYSTEM_FIELDS]
        e.filter = create_type(
            f"{t}Filter",
            [_field(n, flt | None, default=UNSET) for n, flt in filterable]
            + [_field(c, object, default=UNSET) for c in FILTER_COMBINATORS],
            is_input=True,
            description=f"Conditions on {e.name} records; all given conditions must hold (`or` for alternatives).",
        )
        for spec in e.filter.__strawberry_definition__.fields:
            if spec.graphql_name in FILTER_COMBINATORS:
                spec.type_annotation = StrawberryAnnotation(list[e.filter] | None)

        sortable = [n for n, _ in filterable if n not in naming.RESERVED_ENUM_VALUES]
        sort_enum = strawberry.enum(enum.Enum(f"{t}SortField", [(n, n) for n in sortable]))  # type: ignore[misc]
        e.sort = create_type(
            f"{t}Sort",
            [_field("field", sort_enum), _field("direction", types.SortDirection, default=types.SortDirection.asc)],
            is_input=True,
            description=f"A sort key for {e.name} records; ties are broken by id.",
        )

        inputs = [_field(f.name, VALUE_TYPES[f.type] | None, default=UNSET, description=f.label) for f in e.fields]
        if not inputs:  # an entity without fields still gets a valid (empty-ish) input type
            inputs = [_field("_unused", str | None, default=UNSET)]
        e.input = create_type(
            f"{t}Input",
            inputs,
            is_input=True,
            description=f"Values of a {e.name}; on update only the fields sent change, null clears one.",
        )
        e.update_input = create_type(
            f"{t}UpdateInput",
            [_field("id", ID), *[_field(f.graphql_name, f.type_annotation.annotation, default=UNSET) for f in inputs]],
            is_input=True,
            description=f"One item of bulk_update_{e.name}: the id and the fields to change.",
        )
        e.bulk_result = create_type(
            f"{t}BulkResult",
            [
                _field("index", int),
                _field("status", int),
                _field("id", ID | None),
                _field("record", e.record | None),
                _field("error", types.ApiErrorType | None),
            ],
            description="The outcome of one item of a bulk operation (status as the HTTP status REST gives).",
        )
        e.event = create_type(
            f"{t}Event",
            [
                _field("id", str),
                _field("operation", types.RecordOperation),
                _field("record", e.record | None),
                _field("previous", e.record | None),
                _field("actor", str | None),
                _field("occurred_at", DateTime),
            ],
            description=f"A committed change to a {e.name}.",
        )

    def _relations(self, e: _Entity) -> None:
        for f in e.fields:
            if f.type != FieldType.reference or f.ref not in self.entities:
                continue
            target = self.entities[f.ref]
            fk = f.name
            name = naming.reference_field_name(fk, e.taken)
            e.taken.add(name)

            async def forward(root: Any, info: Any, _fk: str = fk, _target: str = target.name) -> Any:
                value = root.get(_fk)
                return await info.context.records_by_id(_target).load(str(value)) if value else None

            _attach(
                e.record,
                _resolver(name, forward, target.record | None, description=f"The {target.name} that {fk} points to."),
            )

            single = sum(1 for g in e.fields if g.type == FieldType.reference and g.ref == f.ref) == 1
            reverse = naming.reverse_field_name(e.name, fk, single, target.taken)
            target.taken.add(reverse)

            async def backward(
                root: Any,
                info: Any,
                where: Any = UNSET,
                sort: Any = UNSET,
                page: int = 1,
                page_size: int = DEFAULT_PAGE_SIZE,
                _fk: str = fk,
                _source: str = e.name,
            ) -> Any:
                loader = info.context.children(_source, _fk, to_filter(where), to_sort(sort), page, page_size)
                return await loader.load(root["id"])

            _attach(
                target.record,
                _resolver(
                    reverse,
                    backward,
                    e.page,
                    description=f"The {e.name} records whose {fk} points here, paged.",
                    where=(e.filter | None, UNSET),
                    sort=(list[e.sort] | None, UNSET),
                    page=(int, 1),
                    page_size=(int, DEFAULT_PAGE_SIZE),
                ),
            )

    # root types
    def _query(self) -> Any:
        taken = {"record", "records"}
        fields = [
            _resolver(
                "record",
                _generic_get,
                JSON | None,
                description="One record of any entity, as JSON.",
                entity=(str, UNSET),
                id=(ID, UNSET),
            ),
            _resolver(
                "records",
                _generic_list,
                types.RecordPage,
                description="A page of records of any entity, as JSON (same filters, sort and paging as REST).",
                entity=(str, UNSET),
                where=(list[types.RecordCondition] | None, UNSET),
                satisfy=(types.Satisfy, types.Satisfy.all),
                sort=(list[types.RecordSort] | None, UNSET),
                include=(list[str] | None, UNSET),
                page=(int, 1),
                page_size=(int, DEFAULT_PAGE_SIZE),
            ),
        ]
        for e in self.entities.values():
            fields.append(
                _resolver(
                    _unique(e.name, taken),
                    _one(e.name),
                    e.record | None,
                    description=f"One {e.name} by id.",
                    id=(ID, UNSET),
                )
            )
            list_name = naming.list_field_name(e.name, taken | set(self.entities))
            fields.append(
                _resolver(
                    _unique(list_name, taken),
                    _page(e.name),
                    e.page,
                    description=f"A page of {e.name} records: filter, sort, page (page_size 1..100).",
                    where=(e.filter | None, UNSET),
                    sort=(list[e.sort] | None, UNSET),
                    page=(int, 1),
                    page_size=(int, DEFAULT_PAGE_SIZE),
                )
            )
        return create_type("Query", fields)

    def _mutation(self) -> Any:
        taken = {"create_record", "update_record", "delete_record"}
        fields = [
            _resolver(
                "create_record",
                _generic_create,
                JSON,
                description="Create a record of any entity from a JSON object.",
                entity=(str, UNSET),
                data=(JSON, UNSET),
            ),
            _resolver(
                "update_record",
                _generic_update,
                JSON,
                description="Update the fields given of a record of any entity; null clears one.",
                entity=(str, UNSET),
                id=(ID, UNSET),
                data=(JSON, UNSET),
            ),
            _resolver(
                "delete_record",
                _generic_delete,
                JSON,
                description="Delete a record of any entity; returns it as it was.",
                entity=(str, UNSET),
                id=(ID, UNSET),
            ),
        ]
        for e in self.entities.values():
            n = e.name
            fields += [
                _resolver(
                    _unique(f"create_{n}", taken),
                    _create(n),
                    e.record,
                    description=f"Create a {n}.",
                    data=(e.input, UNSET),
                ),
                _resolver(
                    _unique(f"update_{n}", taken),
                    _update(n),
                    e.record,
                    description=f"Change the fields given of a {n}; null clears a field.",
                    id=(ID, UNSET),
                    data=(e.input, UNSET),
                ),
                _resolver(
                    _unique(f"delete_{n}", taken),
                    _delete(n),
                    e.record,
                    description=f"Delete a {n}; returns it as it was.",
                    id=(ID, UNSET),
                ),
                _resolver(
                    _unique(f"bulk_create_{n}", taken),
                    _bulk(n, "create"),
                    list[e.bulk_result],
                    description=f"Create up to 1000 {n} records; one result per item.",
                    items=(list[e.input], UNSET),
                ),
                _resolver(
                    _unique(f"bulk_update_{n}", taken),
                    _bulk(n, "update"),
                    list[e.bulk_result],
                    description=f"Update up to 1000 {n} records; one result per item.",
                    items=(list[e.update_input], UNSET),
                ),
                _resolver(
                    _unique(f"bulk_delete_{n}", taken),
                    _bulk(n, "delete"),
                    list[e.bulk_result],
                    description=f"Delete up to 1000 {n} records; one result per id.",
                    ids=(list[ID], UNSET),
                ),
            ]
        return create_type("Mutation", fields)

    def _subscription(self) -> Any:
        taken = {"record_events"}
        operations = (list[types.RecordOperation] | None, UNSET)
        fields = [
            _resolver(
                "record_events",
                _events("*"),
                AsyncGenerator[types.RecordEvent, None],
                description="Committed changes to records of an entity ('*' for all), as JSON.",
                subscription=True,
                entity=(str, UNSET),
                operations=operations,
            )
        ]
        for e in self.entities.values():
            fields.append(
                _resolver(
                    _unique(f"{e.name}_events", taken),
                    _events(e.name),
                    AsyncGenerator[e.event, None],
                    description=f"Committed changes to {e.name} records (created, updated, deleted).",
                    subscription=True,
                    operations=operations,
                )
            )
        return create_type("Subscription", fields)


# --- resolvers -------------------------------------------------------------------------------------


def _one(entity: str) -> Callable[..., Any]:
    async def resolve(root: Any, info: Any, id: str) -> Any:
        return await records.get(info.context.ctx, entity, id)

    return resolve


def _page(entity: str) -> Callable[..., Any]:
    async def resolve(
        root: Any, info: Any, where: Any = UNSET, sort: Any = UNSET, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Any:
        result = await records.list_page(
            info.context.ctx, entity, where=to_filter(where), sort=to_sort(sort), page=page, page_size=page_size
        )
        return page_dict(result)

    return resolve


def _create(entity: str) -> Callable[..., Any]:
    async def resolve(root: Any, info: Any, data: Any) -> Any:
        record = await records.create(info.context.ctx, entity, to_data(data))
        info.context.forget()
        return record

    return resolve


def _update(entity: str) -> Callable[..., Any]:
    async def resolve(root: Any, info: Any, id: str, data: Any) -> Any:
        record = await records.update(info.context.ctx, entity, id, to_data(data))
        info.context.forget()
        return record

    return resolve


def _delete(entity: str) -> Callable[..., Any]:
    async def resolve(root: Any, info: Any, id: str) -> Any:
        record = await records.delete(info.context.ctx, entity, id)
        info.context.forget()
        return record

    return resolve


def _bulk(entity: str, operation: str) -> Callable[..., Any]:
    async def resolve(root: Any, info: Any, items: Any = UNSET, ids: Any = UNSET) -> Any:
        ctx = info.context.ctx
        if operation == "create":
            results = await records.bulk_create(ctx, entity, [to_data(i) for i in items])
        elif operation == "update":
            results = await records.bulk_update(ctx, entity, [to_data(i) for i in items])
        else:
            results = await records.bulk_delete(ctx, entity, list(ids))
        info.context.forget()
        return [_bulk_result(r) for r in results]

    return resolve


def _events(entity: str) -> Callable[..., Any]:
    async def resolve(root: Any, info: Any, operations: Any = UNSET, entity: str = entity) -> AsyncGenerator[Any, None]:
        wanted = {o.value for o in operations} if _given(operations) else None
        try:
            stream = await record_stream.open_stream(
                info.context.ctx,
                entity,
                wanted,
                revalidate=info.context.reauthenticate,
                recheck_seconds=info.context.ctx.runtime.settings.graphql_subscription_recheck_seconds,
            )
        except ApiError as exc:
            raise as_graphql_error(exc) from exc
        try:
            async for event in stream:
                yield event_payload(event)
        except ApiError as exc:
            raise as_graphql_error(exc) from exc
        finally:
            stream.close()

    return resolve


async def _generic_get(root: Any, info: Any, entity: str, id: str) -> Any:
    return await records.get(info.context.ctx, entity, id)


async def _generic_list(
    root: Any,
    info: Any,
    entity: str,
    where: Any = UNSET,
    satisfy: Any = types.Satisfy.all,
    sort: Any = UNSET,
    include: Any = UNSET,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Any:
    conditions = [Condition(c.field, c.op, c.value) for c in where] if _given(where) else []
    combined: Any = None
    if len(conditions) == 1:
        combined = conditions[0]
    elif conditions:
        combined = AnyOf(tuple(conditions)) if satisfy == types.Satisfy.any else AllOf(tuple(conditions))
    result = await records.list_page(
        info.context.ctx,
        entity,
        where=combined,
        sort=[(s.field, s.direction.value) for s in sort] if _given(sort) else None,
        include=list(include) if _given(include) else None,
        page=page,
        page_size=page_size,
    )
    return page_dict(result)


async def _generic_create(root: Any, info: Any, entity: str, data: Any) -> Any:
    record = await records.create(info.context.ctx, entity, _json_object(data))
    info.context.forget()
    return record


async def _generic_update(root: Any, info: Any, entity: str, id: str, data: Any) -> Any:
    record = await records.update(info.context.ctx, entity, id, _json_object(data))
    info.context.forget()
    return record


async def _generic_delete(root: Any, info: Any, entity: str, id: str) -> Any:
    record = await records.delete(info.context.ctx, entity, id)
    info.context.forget()
    return record


def _json_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("data must be a JSON object.", details=[field_error("data", "Expected an object.")])
    return data


def build_schema(definitions: dict[str, EntityDefinition], limits: Limits | None = None) -> HariSchema:
    return _Builder(definitions).build(limits or Limits())
