"""Custom scalars: ``Date``/``DateTime`` (ISO 8601 strings, exactly as REST returns them) and ``Long``.

Dates are validated on input but passed to the service as the same strings a REST body would
carry, so coercion (and its error messages) is the records service's alone. ``Long`` exists because
GraphQL's ``Int`` is 32-bit while an entity ``integer`` field holds any int64 (REST accepts it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, IntValueNode, ValueNode, print_ast

from storage.records import iso

Date = NewType("Date", str)
DateTime = NewType("DateTime", str)
Long = NewType("Long", int)

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
_SAFE_FLOAT = 2**53  # a JSON number beyond this, written as a float, is no longer exact


def _serialize_date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# Parse errors are GraphQLErrors: graphql-core reports them as the caller's mistake (any other exception
# would be masked as an internal error).
_DATE_HINT = "Date must be a string like 2026-01-31"
_DATETIME_HINT = "DateTime must be an ISO 8601 string like 2026-01-31T12:00:00Z"


def _parse_date(value: Any) -> str:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise GraphQLError(f"{_DATE_HINT}; got {value!r}.") from None
    return value  # type: ignore[no-any-return]


def _parse_datetime(value: Any) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith(("Z", "z")) else value)
    except (AttributeError, TypeError, ValueError):
        raise GraphQLError(f"{_DATETIME_HINT}; got {value!r}.") from None
    return value  # type: ignore[no-any-return]


def _long(value: int) -> int:
    if not LONG_MIN <= value <= LONG_MAX:
        raise GraphQLError(f"Long must be between {LONG_MIN} and {LONG_MAX} (a 64-bit integer); got {value}.")
    return value


def _serialize_long(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"Long cannot represent a non-integer value: {value!r}.")
    return _long(value)


def _parse_long(value: Any) -> int:
    """A variable: a JSON integer (``3.0`` too, as JSON does not tell them apart), never a string or bool."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= _SAFE_FLOAT:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"Long must be an integer; got {value!r}.")
    return _long(value)


def _parse_long_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> int:
    if not isinstance(node, IntValueNode):
        raise GraphQLError(f"Long must be an integer; got {print_ast(node)}.")
    return _long(int(node.value))


SCALAR_MAP = {
    Date: strawberry.scalar(
        name="Date",
        description="A calendar date, ISO 8601 (2026-01-31).",
        serialize=_serialize_date,
        parse_value=_parse_date,
    ),
    DateTime: strawberry.scalar(
        name="DateTime",
        description="A point in time, ISO 8601 in UTC (2026-01-31T12:00:00.000Z).",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
    Long: strawberry.scalar(
        name="Long",
        description="A 64-bit signed integer (-2^63 .. 2^63-1), as a JSON number. Beyond 2^53 JavaScript "
        "clients need a big-integer aware JSON parser to keep every digit.",
        serialize=_serialize_long,
        parse_value=_parse_long,
        parse_literal=_parse_long_literal,
    ),
}
