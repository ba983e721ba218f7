"""Query translation: a filter tree, sort keys and an include list, checked against an entity definition and
turned into MongoDB documents. Pure functions, shared by REST (raw query-string text) and GraphQL (typed values).

Values are always coerced to the field's type and placed as plain values (never as operator documents), fields must
be declared (or system) names, so caller input can never become a Mongo operator, a ``$where`` or a dotted path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from bson import ObjectId

from gateway.errors import BadRequest, field_error
from storage.documents import EntityDefinition

# System fields every record has, with the type they filter and sort as.
SYSTEM_TYPES: dict[str, str] = {
    "id": "id",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "string",
    "updated_by": "string",
    "_score": "number",
}
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "cs", "sw", "ew", "in", "nin", "bt", "is")
TEXT_TYPES = frozenset({"string", "text", "email", "url", "phone", "select", "multiselect", "reference"})
_ORDER_OPS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
_NULL_WORDS = {"null": True, "not_null": False, "notnull": False, "not null": False}
_INT = re.compile(r"^[+-]?\d{1,19}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FILTER_PARAM = re.compile(r"^filter(\d*)$")
_SORT_PARAM = re.compile(r"^sort(\d*)$")
MAX_LIST_VALUES = 1000


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class AllOf:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Filter, ...]


Filter = Condition | AllOf | AnyOf


class InvalidValue(ValueError):
    """A value that does not fit a field type; the message is for the caller."""


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(message, details=[field_error(field, message)])


# --- value parsing shared with record validation ----------------------------------------------------------


def parse_date(value: Any) -> str:
    """A calendar date as stored: ``YYYY-MM-DD`` text, which sorts and compares as a date."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InvalidValue("Expected a date as YYYY-MM-DD.")


def parse_datetime(value: Any) -> datetime:
    """An aware UTC datetime from ISO 8601 text (a date alone is midnight UTC, no offset means UTC)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
        except ValueError:
            raise InvalidValue("Expected an ISO 8601 date-time, e.g. 2024-05-01T12:30:00Z.") from None
    else:
        raise InvalidValue("Expected an ISO 8601 date-time, e.g. 2024-05-01T12:30:00Z.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    # BSON keeps milliseconds; truncating here makes stored and compared values agree.
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidValue("Expected a number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        if _INT.fullmatch(value.strip()):
            return int(value)
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise InvalidValue("Expected a number.")


def _integer(value: Any) -> int:
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise InvalidValue("Expected an integer.")
        number = int(number)
    if not -(2**63) <= number < 2**63:
        raise InvalidValue("The integer is out of range (64-bit).")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise InvalidValue("Expected true or false.")


def coerce(value: Any, ftype: str) -> Any:
    """A filter value (query-string text or an already typed value) as the type ``ftype`` stores."""
    if ftype == "id":
        if isinstance(value, ObjectId):
            return value
        if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{24}", value):
            return ObjectId(value)
        raise InvalidValue("Expected a record id (24 hexadecimal characters).")
    if ftype in TEXT_TYPES:
        if isinstance(value, str):
            return value
        raise InvalidValue("Expected text.")
    if ftype == "integer":
        return _integer(value)
    if ftype == "number":
        return _number(value)
    if ftype == "boolean":
        return _boolean(value)
    if ftype == "date":
        return parse_date(value)
    if ftype == "datetime":
        return parse_datetime(value)
    raise InvalidValue(f"Fields of type {ftype} can only be filtered with 'is' (null or not_null).")


# --- fields -----------------------------------------------------------------------------------------------


def field_type(definition: EntityDefinition, name: str, purpose: str = "filter") -> str:
    """The type of a declared or system field; 400 naming the field otherwise."""
    if name in SYSTEM_TYPES:
        return SYSTEM_TYPES[name]
    declared = definition.field(name) if isinstance(name, str) else None
    if declared is None:
        raise _bad(str(name), f"Unknown field '{name}' in {purpose}: {definition.name} has no such field.")
    return declared.type.value


def mongo_field(name: str) -> str:
    return "_id" if name == "id" else name


def _split(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return value.split(",")
    return [value]


# --- filters ----------------------------------------------------------------------------------------------


def parse_filter_param(text: str) -> Condition:
    """``field,op,value``; the value is everything after the second comma (it may contain commas)."""
    parts = text.split(",", 2)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise _bad("filter", f"Invalid filter '{text}': expected 'field,operator,value'.")
    return Condition(parts[0].strip(), parts[1].strip().lower(), parts[2])


def _condition(cond: Condition, definition: EntityDefinition) -> dict[str, Any]:
    ftype = field_type(definition, cond.field)
    op = cond.op
    if op not in OPERATORS:
        raise _bad(
            cond.field, f"Unknown operator '{op}' on field '{cond.field}'; expected one of {', '.join(OPERATORS)}."
        )
    key = mongo_field(cond.field)

    def value_of(raw: Any) -> Any:
        try:
            return coerce(raw, ftype)
        except InvalidValue as exc:
            raise _bad(cond.field, f"Invalid value '{raw}' for {cond.field} ({ftype}) in filter: {exc}") from None

    if op == "is":
        raw = "null" if cond.value is None else cond.value
        word = raw.strip().lower() if isinstance(raw, str) else None
        if word not in _NULL_WORDS:
            raise _bad(cond.field, f"Invalid value '{raw}' for operator 'is' on '{cond.field}': use null or not_null.")
        return {key: None} if _NULL_WORDS[word] else {key: {"$ne": None}}
    if ftype == "json":
        raise _bad(cond.field, f"Field '{cond.field}' (json) can only be filtered with 'is' (null or not_null).")
    if op in ("cs", "sw", "ew"):
        if ftype not in TEXT_TYPES:
            raise _bad(cond.field, f"Operator '{op}' needs a text field; '{cond.field}' is {ftype}.")
        text = re.escape(value_of(cond.value))
        pattern = {"cs": text, "sw": "^" + text, "ew": text + "$"}[op]
        return {key: {"$regex": pattern, "$options": "i"}}
    if op in ("in", "nin", "bt"):
        values = [value_of(v) for v in _split(cond.value)]
        if op == "bt":
            if len(values) != 2:
                raise _bad(cond.field, f"Operator 'bt' on '{cond.field}' needs two values: 'low,high'.")
            return {key: {"$gte": values[0], "$lte": values[1]}}
        if not 1 <= len(values) <= MAX_LIST_VALUES:
            raise _bad(cond.field, f"Operator '{op}' on '{cond.field}' needs 1 to {MAX_LIST_VALUES} values.")
        return {key: {"$" + op: values}}
    value = value_of(cond.value)
    if op == "eq":
        return {key: value}
    if op == "neq":
        return {key: {"$ne": value}}
    if ftype == "boolean":
        raise _bad(cond.field, f"Operator '{op}' does not apply to '{cond.field}' (boolean).")
    return {key: {_ORDER_OPS[op]: value}}


def to_mongo(where: Filter | None, definition: EntityDefinition) -> dict[str, Any]:
    """The MongoDB query for a filter tree (``{}`` for none)."""
    if where is None:
        return {}
    if isinstance(where, Condition):
        return _condition(where, definition)
    parts = [to_mongo(item, definition) for item in where.items]
    parts = [p for p in parts if p]
    if not parts:
        return {}
    if len(parts) == 1:
        return parts[0]
    return {"$and" if isinstance(where, AllOf) else "$or": parts}


def filter_from_params(params: Iterable[tuple[str, str]]) -> Filter | None:
    """``filter``, repeated ``filter`` and ``filter1..N`` ANDed (``satisfy=any`` ORs them); None when absent."""
    conditions: list[Condition] = []
    satisfy = "all"
    for name, value in params:
        if _FILTER_PARAM.fullmatch(name):
            conditions.append(parse_filter_param(value))
        elif name == "satisfy":
            satisfy = value.strip().lower()
            if satisfy not in ("all", "any"):
                raise _bad("satisfy", f"Invalid satisfy '{value}': use 'all' or 'any'.")
    if not conditions:
        return None
    return AnyOf(tuple(conditions)) if satisfy == "any" else AllOf(tuple(conditions))


# --- sort -------------------------------------------------------------------------------------------------


def parse_sort(text: str) -> tuple[str, str]:
    """``field,asc|desc``, ``field`` (ascending) or ``-field`` (descending)."""
    name, _, direction = text.partition(",")
    name, direction = name.strip(), direction.strip().lower() or "asc"
    if name.startswith("-") and not _:
        name, direction = name[1:], "desc"
    if not name:
        raise _bad("sort", f"Invalid sort '{text}': expected 'field,asc' or 'field,desc'.")
    if direction not in ("asc", "desc"):
        raise _bad(name, f"Invalid sort direction '{direction}' for '{name}': use asc or desc.")
    return name, direction


def sort_from_params(params: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``sort`` (repeated, in order) then ``sort1``, ``sort2``... by number."""
    keyed: list[tuple[int, int, str]] = []
    for position, (name, value) in enumerate(params):
        match = _SORT_PARAM.fullmatch(name)
        if match:
            keyed.append((int(match.group(1) or 0), position, value))
    return [parse_sort(value) for _, _, value in sorted(keyed)]


def to_mongo_sort(sort: Sequence[tuple[str, str]] | None, definition: EntityDefinition) -> list[tuple[str, int]]:
    """MongoDB sort keys, always ending with ``_id`` so that equal keys keep a stable page order."""
    keys: list[tuple[str, int]] = []
    for name, direction in sort or ():
        ftype = field_type(definition, name, "sort")
        if ftype == "json":
            raise _bad(name, f"Field '{name}' (json) cannot be sorted.")
        if direction not in ("asc", "desc"):
            raise _bad(name, f"Invalid sort direction '{direction}' for '{name}': use asc or desc.")
        key = mongo_field(name)
        if key not in (k for k, _ in keys):
            keys.append((key, 1 if direction == "asc" else -1))
    if "_id" not in (k for k, _ in keys):
        keys.append(("_id", 1))
    return keys


# --- include ----------------------------------------------------------------------------------------------


def include_from_params(params: Iterable[tuple[str, str]]) -> list[str] | None:
    """``include=a,b`` (repeatable) as a list of names; None when absent."""
    names: list[str] = []
    seen = False
    for name, value in params:
        if name == "include":
            seen = True
            names += [part.strip() for part in value.split(",") if part.strip()]
    return names if seen else None


def projection(include: Sequence[str] | None, definition: EntityDefinition) -> dict[str, int] | None:
    """The projection for ``include`` (``id`` always kept); None returns whole records."""
    if include is None:
        return None
    fields: dict[str, int] = {"_id": 1}
    for name in include:
        field_type(definition, name, "include")
        fields[mongo_field(name)] = 1
    return fields
