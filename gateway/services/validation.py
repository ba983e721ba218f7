"""Record input checked against an entity definition: known fields, types, formats, required, defaults.

Pure (no database): reference targets and unique values are checked by the records service. Every problem is
collected, so one 400 names every bad field at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from gateway.errors import ValidationFailed, field_error
from storage.documents import EntityDefinition, FieldDef, FieldType
from storage.query import SYSTEM_TYPES, InvalidValue, parse_date, parse_datetime
from storage.records import iso

SYSTEM_FIELDS = tuple(SYSTEM_TYPES)
MAX_STRING = 4096
MAX_TEXT = 200_000
MAX_URL = 2048
MAX_JSON_DEPTH = 20
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]*$")
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidValue("Expected text.")
    if len(value) > limit:
        raise InvalidValue(f"At most {limit} characters.")
    return value


def _email(value: Any) -> str:
    text = _text(value, 320)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidValue(f"Not a valid email address: {exc}") from None


def _url(value: Any) -> str:
    text = _text(value, MAX_URL)
    parts = urlsplit(text) if not re.search(r"[\s\x00-\x1f]", text) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidValue("Not a valid URL: expected http:// or https:// followed by a host.")
    return text


def _phone(value: Any) -> str:
    text = _text(value, 40).strip()
    digits = sum(c.isdigit() for c in text)
    if not _PHONE.fullmatch(text) or not 6 <= digits <= 15:
        raise InvalidValue("Not a valid phone number: digits with an optional leading +, spaces, '-', '.', '()'.")
    return text


def _check_json(value: Any, depth: int = 0, in_array: bool = False) -> None:
    if depth > MAX_JSON_DEPTH:
        raise InvalidValue(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or "." in key or key.startswith("$"):
                raise InvalidValue(f"JSON object keys must not contain '.' or start with '$' ('{key}').")
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        if in_array:
            raise InvalidValue("JSON arrays directly inside arrays are not supported; wrap them in an object.")
        for item in value:
            _check_json(item, depth + 1, in_array=True)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidValue("Numbers must be finite.")
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise InvalidValue("Not a JSON value.")


def clean_value(field: FieldDef, value: Any) -> Any:
    """``value`` as stored for ``field`` (never None); raise InvalidValue with a message for the caller."""
    kind = field.type
    if kind is FieldType.string:
        return _text(value, MAX_STRING)
    if kind is FieldType.text:
        return _text(value, MAX_TEXT)
    if kind is FieldType.integer:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue("Expected an integer.")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise InvalidValue("Expected an integer.")
        if not -(2**63) <= int(value) < 2**63:
            raise InvalidValue("The integer is out of range (64-bit).")
        return int(value)
    if kind is FieldType.number:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidValue("Expected a number.")
        return value
    if kind is FieldType.boolean:
        if not isinstance(value, bool):
            raise InvalidValue("Expected true or false.")
        return value
    if kind is FieldType.date:
        return parse_date(value if not isinstance(value, datetime) else value.date())
    if kind is FieldType.datetime:
        return parse_datetime(value)
    if kind is FieldType.email:
        return _email(value)
    if kind is FieldType.url:
        return _url(value)
    if kind is FieldType.phone:
        return _phone(value)
    if kind is FieldType.select:
        if not isinstance(value, str) or value not in (field.options or []):
            raise InvalidValue(f"Must be one of: {', '.join(field.options or [])}.")
        return value
    if kind is FieldType.multiselect:
        if not isinstance(value, list):
            raise InvalidValue("Expected a list of options.")
        bad = [v for v in value if not isinstance(v, str) or v not in (field.options or [])]
        if bad:
            raise InvalidValue(f"Not an option: {bad[0]!r}. Options: {', '.join(field.options or [])}.")
        return list(dict.fromkeys(value))
    if kind is FieldType.reference:
        if not isinstance(value, str) or not _OBJECT_ID.fullmatch(value):
            raise InvalidValue(f"Expected the id of a {field.ref} record (24 hexadecimal characters).")
        return value.lower()
    _check_json(value)
    return value


def api_value(value: Any) -> Any:
    """A stored value as the API shows it (datetimes as ISO 8601 text)."""
    return iso(value) if isinstance(value, datetime) else value


def _fail(definition: EntityDefinition, errors: list[dict[str, str]]) -> None:
    if errors:
        names = ", ".join(dict.fromkeys(e["field"] for e in errors))
        raise ValidationFailed(f"Invalid {definition.name} record ({names}).", details=errors)


def _clean_input(definition: EntityDefinition, data: Mapping[str, Any], errors: list[dict[str, str]]) -> dict[str, Any]:
    """The sent fields cleaned (None kept: it clears); unknown and system fields are errors."""
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        field = definition.field(name)
        if field is None:
            message = "Read-only system field." if name in SYSTEM_FIELDS else f"Unknown field for {definition.name}."
            errors.append(field_error(str(name), message))
            continue
        if value is None:
            cleaned[name] = None
            continue
        try:
            cleaned[name] = clean_value(field, value)
        except InvalidValue as exc:
            errors.append(field_error(name, str(exc)))
    return cleaned


def _check_required(definition: EntityDefinition, values: Mapping[str, Any], errors: list[dict[str, str]]) -> None:
    seen = {e["field"] for e in errors}
    for field in definition.fields:
        if field.required and field.name not in seen and values.get(field.name) in (None, "", []):
            errors.append(field_error(field.name, "This field is required."))


def for_create(definition: EntityDefinition, data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored field values of a new record: sent values, then defaults; None values are left out."""
    errors: list[dict[str, str]] = []
    cleaned = _clean_input(definition, data, errors)
    values: dict[str, Any] = {}
    for field in definition.fields:
        value = cleaned.get(field.name)
        if value is None and field.name not in cleaned and field.default is not None:
            value = clean_value(field, field.default)
        if value is not None:
            values[field.name] = value
    _check_required(definition, values, errors)
    _fail(definition, errors)
    return values


def for_update(
    definition: EntityDefinition, current: Mapping[str, Any], data: Mapping[str, Any], *, replace: bool = False
) -> dict[str, Any]:
    """The complete stored values after applying ``data`` to ``current`` (None clears a field).

    With ``replace`` the fields not sent are cleared too (defaults apply as on create)."""
    if replace:
        return for_create(definition, data)
    errors: list[dict[str, str]] = []
    cleaned = _clean_input(definition, data, errors)
    values = {k: v for k, v in current.items() if definition.field(k) is not None}
    for name, value in cleaned.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    _check_required(definition, values, errors)
    _fail(definition, errors)
    return values


def for_record(definition: EntityDefinition, record: Mapping[str, Any]) -> dict[str, Any]:
    """Re-check a whole record in API shape (e.g. one a pre_save hook replaced); system fields are ignored."""
    errors: list[dict[str, str]] = []
    data = {k: v for k, v in record.items() if k not in SYSTEM_FIELDS}
    cleaned = _clean_input(definition, data, errors)
    values = {k: v for k, v in cleaned.items() if v is not None}
    _check_required(definition, values, errors)
    _fail(definition, errors)
    return values


def user_values(definition: EntityDefinition, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The declared fields of a stored record."""
    return {f.name: doc[f.name] for f in definition.fields if doc.get(f.name) is not None}
