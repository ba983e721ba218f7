"""Query translation: filter text and typed values to MongoDB documents, sort keys, projections."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bson import ObjectId

from gateway.errors import BadRequest
from storage.documents import EntityDefinition
from storage.query import (
    AllOf,
    AnyOf,
    Condition,
    filter_from_params,
    include_from_params,
    parse_filter_param,
    parse_sort,
    projection,
    sort_from_params,
    to_mongo,
    to_mongo_sort,
)

DEF = EntityDefinition.model_validate(
    {
        "name": "thing",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "age", "type": "integer"},
            {"name": "price", "type": "number"},
            {"name": "active", "type": "boolean"},
            {"name": "born", "type": "date"},
            {"name": "seen", "type": "datetime"},
            {"name": "tags", "type": "multiselect", "options": ["a", "b"]},
            {"name": "meta", "type": "json"},
            {"name": "owner", "type": "reference", "ref": "thing"},
        ],
    }
)


def q(text: str) -> dict:
    return to_mongo(parse_filter_param(text), DEF)


def error_of(text: str) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        q(text)
    return info.value


def test_value_is_everything_after_the_second_comma() -> None:
    assert parse_filter_param("name,eq,Smith, John") == Condition("name", "eq", "Smith, John")
    assert parse_filter_param("name,EQ,") == Condition("name", "eq", "")


@pytest.mark.parametrize("text", ["name", "name,eq", ",eq,x", "name,,x"])
def test_malformed_filter_is_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_filter_param(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name,eq,Bob", {"name": "Bob"}),
        ("name,neq,Bob", {"name": {"$ne": "Bob"}}),
        ("age,gt,20", {"age": {"$gt": 20}}),
        ("age,gte,20", {"age": {"$gte": 20}}),
        ("age,lt,-3", {"age": {"$lt": -3}}),
        ("price,lte,2.5", {"price": {"$lte": 2.5}}),
        ("age,in,1,2,3", {"age": {"$in": [1, 2, 3]}}),
        ("name,nin,a,b", {"name": {"$nin": ["a", "b"]}}),
        ("price,bt,1,2.5", {"price": {"$gte": 1, "$lte": 2.5}}),
        ("active,eq,true", {"active": True}),
        ("active,eq,0", {"active": False}),
        ("born,gt,2024-02-29", {"born": {"$gt": "2024-02-29"}}),
        ("name,is,null", {"name": None}),
        ("name,is,NOT_NULL", {"name": {"$ne": None}}),
        ("meta,is,not_null", {"meta": {"$ne": None}}),
        ("tags,eq,a", {"tags": "a"}),
        ("_score,gt,20", {"_score": {"$gt": 20}}),
        ("created_by,eq,u1", {"created_by": "u1"}),
    ],
)
def test_operators(text: str, expected: dict) -> None:
    assert q(text) == expected


def test_text_operators_are_case_insensitive_and_literal() -> None:
    assert q("name,cs,a.b*(c)") == {"name": {"$regex": r"a\.b\*\(c\)", "$options": "i"}}
    assert q("name,sw,^x") == {"name": {"$regex": r"^\^x", "$options": "i"}}
    assert q("name,ew,$") == {"name": {"$regex": r"\$$", "$options": "i"}}


def test_dates_and_ids_are_coerced() -> None:
    assert q("seen,gte,2024-05-01") == {"seen": {"$gte": datetime(2024, 5, 1, tzinfo=UTC)}}
    assert q("created_at,lt,2024-05-01T12:00:00+02:00") == {"created_at": {"$lt": datetime(2024, 5, 1, 10, tzinfo=UTC)}}
    oid = ObjectId()
    assert q(f"id,eq,{oid}") == {"_id": oid}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("nope,eq,1", "nope"),
        ("age,like,1", "like"),
        ("age,gt,ten", "ten"),
        ("age,eq,1.5", "1.5"),
        ("price,gt,nan", "nan"),
        ("active,eq,maybe", "maybe"),
        ("born,eq,2024-13-01", "2024-13-01"),
        ("seen,eq,yesterday", "yesterday"),
        ("id,eq,zzz", "zzz"),
        ("age,bt,1", "bt"),
        ("age,cs,1", "cs"),
        ("meta,eq,1", "json"),
        ("active,gt,true", "boolean"),
        ("name,is,nothing", "nothing"),
    ],
)
def test_bad_field_operator_or_value_is_400_naming_it(text: str, named: str) -> None:
    error = error_of(text)
    assert named in error.message
    assert error.details and error.details[0]["field"] == text.split(",")[0]


@pytest.mark.parametrize("field", ["$where", "name.first", "_id", "_version", "__proto__"])
def test_operator_and_path_injection_in_field_names_is_refused(field: str) -> None:
    assert "Unknown field" in error_of(f"{field},eq,1").message


def test_operator_documents_as_values_stay_literal_text() -> None:
    assert q('name,eq,{"$ne": null}') == {"name": '{"$ne": null}'}
    assert q("name,in,$gt,$where") == {"name": {"$in": ["$gt", "$where"]}}


def test_typed_values_from_graphql() -> None:
    assert to_mongo(Condition("age", "in", [1, 2]), DEF) == {"age": {"$in": [1, 2]}}
    assert to_mongo(Condition("name", "is", None), DEF) == {"name": None}
    assert to_mongo(Condition("active", "eq", True), DEF) == {"active": True}
    with pytest.raises(BadRequest):
        to_mongo(Condition("name", "eq", {"$ne": None}), DEF)
    with pytest.raises(BadRequest):
        to_mongo(Condition("age", "eq", True), DEF)


def test_trees_and_params() -> None:
    params = [("filter", "age,gt,1"), ("filter1", "name,eq,x"), ("page", "2"), ("filter", "price,lt,3")]
    assert filter_from_params(params) == AllOf(
        (Condition("age", "gt", "1"), Condition("name", "eq", "x"), Condition("price", "lt", "3"))
    )
    assert to_mongo(filter_from_params(params), DEF) == {
        "$and": [{"age": {"$gt": 1}}, {"name": "x"}, {"price": {"$lt": 3}}]
    }
    any_of = filter_from_params([*params, ("satisfy", "any")])
    assert isinstance(any_of, AnyOf)
    assert set(to_mongo(any_of, DEF)) == {"$or"}
    assert filter_from_params([("page", "1")]) is None
    assert to_mongo(AllOf((Condition("age", "eq", "1"),)), DEF) == {"age": 1}
    with pytest.raises(BadRequest):
        filter_from_params([("filter", "age,eq,1"), ("satisfy", "some")])


def test_sort() -> None:
    assert parse_sort("age,desc") == ("age", "desc")
    assert parse_sort("-age") == ("age", "desc")
    assert parse_sort("age") == ("age", "asc")
    params = [("sort2", "price,asc"), ("sort", "age,desc"), ("sort1", "name,asc"), ("sort", "id,desc")]
    assert sort_from_params(params) == [("age", "desc"), ("id", "desc"), ("name", "asc"), ("price", "asc")]
    assert to_mongo_sort([("age", "desc"), ("name", "asc")], DEF) == [("age", -1), ("name", 1), ("_id", 1)]
    assert to_mongo_sort([("id", "desc")], DEF) == [("_id", -1)]
    assert to_mongo_sort(None, DEF) == [("_id", 1)]
    for bad in (lambda: parse_sort("age,up"), lambda: to_mongo_sort([("nope", "asc")], DEF)):
        with pytest.raises(BadRequest):
            bad()


def test_include() -> None:
    assert include_from_params([("include", "name, age"), ("include", "price")]) == ["name", "age", "price"]
    assert include_from_params([]) is None
    assert projection(["name", "id", "_score"], DEF) == {"_id": 1, "name": 1, "_score": 1}
    assert projection(None, DEF) is None
    with pytest.raises(BadRequest):
        projection(["password_hash"], DEF)
