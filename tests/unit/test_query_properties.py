"""Property tests: whatever a caller puts in a filter, the translation is either a 400 or a query whose only
operators are the ones we emit, whose fields are declared, and whose values are plain typed values."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bson import ObjectId
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import BadRequest
from storage.query import OPERATORS, parse_filter_param, parse_sort, to_mongo, to_mongo_sort
from tests.unit.test_query import DEF

ALLOWED_OPERATORS = {"$and", "$or", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex", "$options"}
FIELDS = [f.name for f in DEF.fields] + ["id", "_score", "created_at", "updated_by"]
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
fields = st.one_of(st.sampled_from(FIELDS), text)
ops = st.one_of(st.sampled_from(OPERATORS), text)


def assert_safe(query: Any, top: bool = True) -> None:
    if isinstance(query, dict):
        for key, value in query.items():
            if key.startswith("$"):
                assert key in ALLOWED_OPERATORS, key
            else:
                assert top and (key in FIELDS or key == "_id"), key
                assert "." not in key
            if key == "$regex":
                assert isinstance(value, str)
            elif key in ("$and", "$or"):
                for item in value:
                    assert_safe(item, top=True)
            else:
                assert_safe(value, top=False)
    elif isinstance(query, list):
        for item in query:
            assert not isinstance(item, dict | list), "operator documents or nested lists as values"
    else:
        assert query is None or isinstance(query, str | int | float | bool | datetime | ObjectId)


@given(fields, ops, text)
def test_any_filter_text_is_refused_or_safe(field: str, op: str, value: str) -> None:
    try:
        query = to_mongo(parse_filter_param(f"{field},{op},{value}"), DEF)
    except BadRequest as exc:
        assert exc.message and exc.details
        return
    assert_safe(query)


@given(st.sampled_from(["name", "tags", "owner"]), st.sampled_from(["cs", "sw", "ew"]), text)
def test_text_operators_match_the_value_literally(field: str, op: str, value: str) -> None:
    query = to_mongo(parse_filter_param(f"{field},{op},{value}"), DEF)
    pattern = query[field]["$regex"]
    inner = pattern.removeprefix("^") if op == "sw" else pattern.removesuffix("$") if op == "ew" else pattern
    assert re.fullmatch(inner, value, flags=re.IGNORECASE | re.DOTALL)


@given(st.sampled_from(["age", "price"]), st.integers(min_value=-(2**62), max_value=2**62))
def test_numbers_are_compared_as_numbers(field: str, number: int) -> None:
    assert to_mongo(parse_filter_param(f"{field},gt,{number}"), DEF) == {field: {"$gt": number}}


@given(text, st.sampled_from(["asc", "desc", "ASC", "up", ""]))
def test_sort_keys_are_declared_fields_and_end_with_the_id(field: str, direction: str) -> None:
    try:
        keys = to_mongo_sort([parse_sort(f"{field},{direction}")], DEF)
    except BadRequest:
        return
    assert keys[-1][0] == "_id"
    assert all((name in FIELDS or name == "_id") and value in (1, -1) for name, value in keys)
