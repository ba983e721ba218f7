"""The fixed part of every workspace schema: page meta, filter operator inputs, enums, error shapes.

Per-entity types are generated in ``graph.builder``; these are shared by all of them.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types.unset import UNSET

from graph.scalars import Date, DateTime, Long


@strawberry.enum(description="Sort direction.")
class SortDirection(Enum):
    asc = "asc"
    desc = "desc"


@strawberry.enum(description="Null check for the `is` operator: NULL (missing or null) or NOT_NULL.")
class NullCheck(Enum):
    NULL = "null"
    NOT_NULL = "not_null"


@strawberry.enum(description="How the conditions of the generic `records` query combine.")
class Satisfy(Enum):
    all = "all"
    any = "any"


@strawberry.enum(description="What happened to a record.")
class RecordOperation(Enum):
    create = "create"
    update = "update"
    delete = "delete"


@strawberry.type(description="Where a page sits in the whole result, as in REST's `meta`.")
class PageMeta:
    page: int
    page_size: int
    total: int


@strawberry.type(name="ApiErrorDetail", description="One invalid field.")
class ApiErrorDetail:
    field: str | None
    message: str


@strawberry.type(name="ApiError", description="The REST error envelope's content.")
class ApiErrorType:
    code: str
    message: str
    details: list[ApiErrorDetail] | None


@strawberry.type(description="A page of records of any entity, as JSON objects (the generic `records` query).")
class RecordPage:
    data: list[JSON]
    meta: PageMeta


@strawberry.input(description="One condition of the generic `records` query: the REST `field,op,value` triple.")
class RecordCondition:
    field: str
    op: str
    value: JSON | None = None


@strawberry.input(description="One sort key of the generic `records` query.")
class RecordSort:
    field: str
    direction: SortDirection = SortDirection.asc


@strawberry.type(description="A record event of any entity (the generic `record_events` subscription).")
class RecordEvent:
    id: str
    entity: str
    operation: RecordOperation
    record: JSON | None
    previous: JSON | None
    actor: str | None
    occurred_at: DateTime


# Filter operators per value type. `in`/`is` are Python keywords, hence the trailing underscores.
def _ops(name: str, value: type, *, ordered: bool = True, text: bool = False) -> type:
    annotations: dict[str, object] = {"eq": value | None, "neq": value | None}
    namespace: dict[str, object] = {"eq": UNSET, "neq": UNSET}
    if ordered:
        for op in ("gt", "gte", "lt", "lte"):
            annotations[op] = value | None
            namespace[op] = UNSET
    if text:
        for op, doc in (("cs", "contains"), ("sw", "starts with"), ("ew", "ends with")):
            annotations[op] = value | None
            namespace[op] = strawberry.field(default=UNSET, description=f"{doc}, case-insensitive, literal text")
    annotations["in_"] = list[value] | None  # type: ignore[valid-type]
    annotations["nin"] = list[value] | None  # type: ignore[valid-type]
    annotations["is_"] = NullCheck | None
    namespace["in_"] = strawberry.field(name="in", default=UNSET)
    namespace["nin"] = UNSET
    namespace["is_"] = strawberry.field(name="is", default=UNSET)
    namespace["__annotations__"] = annotations
    cls = type(name, (), namespace)
    return strawberry.input(cls, description=f"Conditions on a {name.removesuffix('Filter')} field; all must hold.")


StringFilter = _ops("StringFilter", str, text=True)
LongFilter = _ops("LongFilter", Long)
FloatFilter = _ops("FloatFilter", float)
BooleanFilter = _ops("BooleanFilter", bool, ordered=False)
DateFilter = _ops("DateFilter", Date)
DateTimeFilter = _ops("DateTimeFilter", DateTime)
IDFilter = _ops("IDFilter", strawberry.ID, ordered=False)


@strawberry.input(description="Null checks on a JSON field.")
class JSONFilter:
    is_: NullCheck | None = strawberry.field(name="is", default=UNSET)


# Attribute of an operator input -> the REST operator name.
OPERATORS = {
    "eq": "eq",
    "neq": "neq",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "cs": "cs",
    "sw": "sw",
    "ew": "ew",
    "in_": "in",
    "nin": "nin",
    "is_": "is",
}
