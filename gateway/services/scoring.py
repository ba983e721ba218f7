"""``_score``: the sum of the points of an entity's scoring rules that a record satisfies.

Rules use the filter operators, so a rule reads like a filter (``source,eq,referral`` → 15 points). The score is
computed here, in Python, at every write, and stored; filtering and sorting on ``_score`` then run in the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.documents import EntityDefinition, ScoreRule
from storage.query import Condition, InvalidValue, coerce, field_type, to_mongo

_NOT_NULL = {"not_null", "notnull", "not null"}


def check_rule(rule: ScoreRule, definition: EntityDefinition) -> None:
    """Raise BadRequest naming the field, operator or value when the rule could not be evaluated."""
    to_mongo(Condition(rule.field, rule.op, rule.value), definition)


def _values(raw: Any, ftype: str) -> list[Any]:
    parts = raw if isinstance(raw, list | tuple) else raw.split(",") if isinstance(raw, str) else [raw]
    return [coerce(v, ftype) for v in parts]


def _cmp(stored: Any, op: str, target: Any) -> bool:
    try:
        return bool(
            {
                "gt": lambda: stored > target,
                "gte": lambda: stored >= target,
                "lt": lambda: stored < target,
                "lte": lambda: stored <= target,
            }[op]()
        )
    except TypeError:
        return False


def matches(rule: ScoreRule, definition: EntityDefinition, values: Mapping[str, Any]) -> bool:
    """Whether stored ``values`` satisfy the rule, with the semantics the database gives the same filter."""
    stored = values.get(rule.field)
    op = rule.op
    if op == "is":
        wants_null = not (isinstance(rule.value, str) and rule.value.strip().lower() in _NOT_NULL)
        return (stored is None) == wants_null
    ftype = field_type(definition, rule.field)
    try:
        targets = _values(rule.value, ftype) if op in ("in", "nin", "bt") else [coerce(rule.value, ftype)]
    except InvalidValue:
        return False
    items = stored if isinstance(stored, list) else [stored]
    if op in ("cs", "sw", "ew"):
        needle = str(targets[0]).casefold()
        texts = [str(i).casefold() for i in items if isinstance(i, str)]
        test = {"cs": lambda t: needle in t, "sw": lambda t: t.startswith(needle), "ew": lambda t: t.endswith(needle)}
        return any(test[op](t) for t in texts)
    if op == "eq":
        return targets[0] in items
    if op == "neq":
        return targets[0] not in items
    if op == "in":
        return any(t in items for t in targets)
    if op == "nin":
        return not any(t in items for t in targets)
    if stored is None:
        return False
    if op == "bt":
        return len(targets) == 2 and _cmp(stored, "gte", targets[0]) and _cmp(stored, "lte", targets[1])
    return _cmp(stored, op, targets[0])


def score(definition: EntityDefinition, values: Mapping[str, Any]) -> int | float:
    total = sum(rule.points for rule in definition.scoring if matches(rule, definition, values))
    return int(total) if float(total).is_integer() else total
