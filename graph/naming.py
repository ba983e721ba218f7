"""GraphQL names derived from entity and field names: types, plurals, reference and reverse fields.

Field and argument names stay as in REST (no camel-casing); only type names are PascalCase.
Pure functions, so the naming rules are unit-tested without a schema.
"""

from __future__ import annotations

import re

_GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")

# Type names the generated schema always defines, and GraphQL's own scalars.
RESERVED_TYPE_NAMES = frozenset(
    {
        "Query",
        "Mutation",
        "Subscription",
        "String",
        "Int",
        "Float",
        "Boolean",
        "ID",
        "JSON",
        "Date",
        "DateTime",
        "Long",
        "PageMeta",
        "RecordPage",
        "RecordCondition",
        "RecordSort",
        "RecordEvent",
        "ApiError",
        "ApiErrorDetail",
        "SortDirection",
        "NullCheck",
        "Satisfy",
        "RecordOperation",
        "StringFilter",
        "LongFilter",
        "FloatFilter",
        "BooleanFilter",
        "DateFilter",
        "DateTimeFilter",
        "IDFilter",
        "JSONFilter",
    }
)
# Types generated per entity: ``Contact``, ``ContactPage``, ``ContactFilter``...
TYPE_SUFFIXES = ("", "Page", "Filter", "Input", "UpdateInput", "Sort", "SortField", "BulkResult", "Event")
# Enum values GraphQL forbids.
RESERVED_ENUM_VALUES = frozenset({"true", "false", "null"})


def is_graphql_name(name: str) -> bool:
    """A legal GraphQL name that is not reserved for introspection (``__...``)."""
    return bool(_GRAPHQL_NAME.fullmatch(name)) and not name.startswith("__")


def python_name(name: str) -> str:
    """The attribute name behind a GraphQL field: prefixed, so ``class`` or ``in`` never clash with Python."""
    return "f_" + name


def graphql_key(attribute: str) -> str:
    """Inverse of ``python_name`` for generated fields; other attributes pass through."""
    return attribute[2:] if attribute.startswith("f_") else attribute


def pascal(name: str) -> str:
    parts = [p for p in re.split(r"_+", name) if p]
    joined = "".join(p[:1].upper() + p[1:] for p in parts)
    return joined or "Entity"


def type_names(entities: list[str]) -> dict[str, str]:
    """A distinct PascalCase type name per entity (``sales_order`` -> ``SalesOrder``)."""
    taken: set[str] = set(RESERVED_TYPE_NAMES)
    out: dict[str, str] = {}
    for entity in sorted(entities):
        base = pascal(entity)
        candidate = base
        n = 1
        while any(candidate + s in taken for s in TYPE_SUFFIXES):
            n += 1
            candidate = f"{base}Entity" if n == 2 else f"{base}Entity{n}"
        taken.update(candidate + s for s in TYPE_SUFFIXES)
        out[entity] = candidate
    return out


def plural(name: str) -> str:
    """English plural of a snake_case name, good enough for field names (``company`` -> ``companies``)."""
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", name):
        return name + "es"
    return name + "s"


def list_field_name(entity: str, taken: set[str]) -> str:
    """The root query field for a page of ``entity``: its plural, or ``<entity>_list`` when that is taken."""
    name = plural(entity)
    return name if name not in taken and name != entity else f"{entity}_list"


def reference_field_name(field: str, taken: set[str]) -> str:
    """``company_id`` -> ``company`` (the referenced record); ``<field>_record`` when that is not free."""
    if field.endswith("_id") and len(field) > 3:
        candidate = field[:-3]
        if candidate not in taken:
            return candidate
    return f"{field}_record"


def reverse_field_name(source: str, field: str, single: bool, taken: set[str]) -> str:
    """The field on a referenced type listing the records that point at it.

    ``contact.company_id -> company`` gives ``company.contacts``; when one entity references the
    same target through several fields, each is ``<plural>_by_<field>`` (``deals_by_partner_id``).
    """
    candidate = plural(source) if single else f"{plural(source)}_by_{field}"
    if candidate in taken:
        candidate = f"{plural(source)}_by_{field}"
    n = 2
    base = candidate
    while candidate in taken:
        candidate = f"{base}_{n}"
        n += 1
    return candidate
