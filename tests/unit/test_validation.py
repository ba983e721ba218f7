"""Record validation and scoring against a definition (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.errors import ValidationFailed
from gateway.services import scoring, validation
from storage.documents import EntityDefinition

DEF = EntityDefinition.model_validate(
    {
        "name": "thing",
        "fields": [
            {"name": "name", "type": "string", "required": True},
            {"name": "stage", "type": "select", "options": ["lead", "won"], "default": "lead"},
            {"name": "tags", "type": "multiselect", "options": ["a", "b"]},
            {"name": "when", "type": "datetime"},
            {"name": "n", "type": "integer"},
        ],
        "scoring": [
            {"field": "stage", "op": "eq", "value": "won", "points": 10},
            {"field": "tags", "op": "in", "value": "a,b", "points": 2.5},
            {"field": "n", "op": "bt", "value": "1,5", "points": 1},
            {"field": "name", "op": "cs", "value": "VIP", "points": 4},
            {"field": "when", "op": "is", "value": "not_null", "points": 3},
        ],
    }
)


def fields_of(data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationFailed) as info:
        validation.for_create(DEF, data)
    return {d["field"] for d in info.value.details}


def test_create_applies_defaults_and_normalises() -> None:
    values = validation.for_create(DEF, {"name": "x", "tags": ["a", "a", "b"], "when": "2024-01-01T10:00:00+02:00"})
    assert values == {"name": "x", "stage": "lead", "tags": ["a", "b"], "when": datetime(2024, 1, 1, 8, tzinfo=UTC)}


def test_every_problem_is_reported_with_its_field() -> None:
    assert fields_of({"stage": "lost", "tags": "a", "n": 1.5, "nope": 1, "_score": 3}) == {
        "name",
        "stage",
        "tags",
        "n",
        "nope",
        "_score",
    }


def test_update_merges_and_null_clears() -> None:
    current = {"name": "x", "stage": "won", "n": 3}
    assert validation.for_update(DEF, current, {"n": None, "tags": ["b"]}) == {
        "name": "x",
        "stage": "won",
        "tags": ["b"],
    }
    with pytest.raises(ValidationFailed):
        validation.for_update(DEF, current, {"name": None})


def test_json_values_that_mongodb_or_ferretdb_cannot_store_are_refused() -> None:
    definition = EntityDefinition.model_validate({"name": "j", "fields": [{"name": "data", "type": "json"}]})
    assert validation.for_create(definition, {"data": {"a": [1, {"b": None}]}}) == {"data": {"a": [1, {"b": None}]}}
    for bad in ({"$where": 1}, {"a.b": 1}, [[1]]):
        with pytest.raises(ValidationFailed):
            validation.for_create(definition, {"data": bad})


def test_score() -> None:
    assert scoring.score(DEF, {"name": "a vip", "stage": "won", "tags": ["b"], "n": 5}) == 17.5
    assert scoring.score(DEF, {"name": "x", "n": 6, "when": datetime.now(UTC)}) == 3
    assert scoring.score(DEF, {"name": "x"}) == 0
