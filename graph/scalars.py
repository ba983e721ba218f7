"""``Date`` and ``DateTime`` scalars: ISO 8601 strings on the wire, exactly as REST returns them.

Values are validated on input but passed to the service as the same strings a REST body would
carry, so coercion (and its error messages) is the records service's alone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NewType

import strawberry

from storage.records import iso

Date = NewType("Date", str)
DateTime = NewType("DateTime", str)


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


def _parse_date(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Date must be a string like 2026-01-31.")
    date.fromisoformat(value)
    return value


def _parse_datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string like 2026-01-31T12:00:00Z.")
    datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith(("Z", "z")) else value)
    return value


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
}
