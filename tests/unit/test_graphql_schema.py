"""Pure parts of the GraphQL adapter: naming rules, the generated schema's shape, filter translation, limits.

These run the schema without a database: only documents that validation refuses, or that need no resolver.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.services.crm_schema import SEED_ENTITIES
from graph import naming
from graph.builder import Limits, build_schema, to_filter, to_sort
from graph.types import NullCheck
from storage.documents import EntityDefinition
from storage.query import AllOf, AnyOf, Condition


def definitions(*extra: dict[str, Any]) -> dict[str, EntityDefinition]:
    specs = [*SEED_ENTITIES, *extra]
    return {s["name"]: EntityDefinition.model_validate(s) for s in specs}


@dataclass
class FakePrincipal:
    """Stands in for a logged-in caller: the limits only ask whether there is one."""

    user_id: str = "u1"


@dataclass
class Ctx:
    principal: Any = None


@dataclass
class GraphCtx:
    ctx: Ctx


def run(schema: Any, query: str, *, signed_in: bool = True, variables: dict[str, Any] | None = None) -> Any:
    context = GraphCtx(Ctx(FakePrincipal() if signed_in else None))
    return asyncio.run(schema.execute(query, variable_values=variables, context_value=context))


# --- naming ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "plural"),
    [("contact", "contacts"), ("company", "companies"), ("address", "addresses"), ("day", "days"), ("box", "boxes")],
)
def test_plural(name: str, plural: str) -> None:
    assert naming.plural(name) == plural


def test_type_names_are_pascal_and_distinct() -> None:
    names = naming.type_names(["sales_order", "contact", "page_meta", "query"])
    assert names["sales_order"] == "SalesOrder"
    assert names["contact"] == "Contact"
    assert names["page_meta"] not in naming.RESERVED_TYPE_NAMES  # PageMeta is ours
    assert names["query"] != "Query"
    assert len(set(names.values())) == 4


def test_reference_and_reverse_names() -> None:
    assert naming.reference_field_name("company_id", {"name"}) == "company"
    assert naming.reference_field_name("company_id", {"company"}) == "company_id_record"
    assert naming.reference_field_name("owner", set()) == "owner_record"
    assert naming.reverse_field_name("contact", "company_id", True, set()) == "contacts"
    assert naming.reverse_field_name("deal", "partner_id", False, set()) == "deals_by_partner_id"
    assert naming.reverse_field_name("deal", "company_id", True, {"deals"}) == "deals_by_company_id"


def test_graphql_names() -> None:
    assert naming.is_graphql_name("_score")
    assert not naming.is_graphql_name("__secret")
    assert not naming.is_graphql_name("first-name")
    assert naming.graphql_key(naming.python_name("class")) == "class"


# --- schema shape ------------------------------------------------------------------------------------------


def test_schema_types_follow_field_types() -> None:
    extra = {
        "name": "thing",
        "fields": [
            {"name": "class", "type": "string"},  # a Python keyword is fine as a GraphQL field
            {"name": "count", "type": "integer"},
            {"name": "ratio", "type": "number"},
            {"name": "active", "type": "boolean"},
            {"name": "day", "type": "date"},
            {"name": "at", "type": "datetime"},
            {"name": "tags", "type": "multiselect", "options": ["a"]},
            {"name": "blob", "type": "json"},
            {"name": "bad-name", "type": "string"},  # not a GraphQL name: left out, not fatal
        ],
    }
    sdl = build_schema(definitions(extra)).as_str()
    thing = sdl.split("type Thing {", 1)[1].split("}", 1)[0]
    for line in (
        "id: ID!",
        "class: String",
        "count: Long",
        "ratio: Float",
        "active: Boolean",
        "day: Date",
        "at: DateTime",
        "tags: [String!]",
        "blob: JSON",
        "_score: Float",
    ):
        assert line in thing
    assert "bad-name" not in sdl
    assert "things(where: ThingFilter, sort: [ThingSort!], page: Int! = 1, page_size: Int! = 25): ThingPage!" in sdl
    assert "create_thing(data: ThingInput!): Thing!" in sdl
    assert "thing_events(operations: [RecordOperation!]): ThingEvent!" in sdl


def test_type_names_in_queries_are_validated_without_a_database() -> None:
    schema = build_schema(definitions())
    result = run(schema, "{ contacts { data { nope } } }")
    assert result.errors and result.errors[0].extensions["code"] == "bad_request"


# --- filters and sort ------------------------------------------------------------------------------------


def test_filter_inputs_become_the_service_filter_tree() -> None:
    """Generated inputs are dataclasses with ``f_``-prefixed attributes; these mirror their shape."""

    @dataclass
    class Ops:
        eq: Any = None
        in_: Any = None
        is_: Any = None

    @dataclass
    class Where:
        f_source: Any = None
        f_first_name: Any = None
        f_and: Any = None
        f_or: Any = None

    where = Where(
        f_source=Ops(eq="website"),
        f_or=[Where(f_first_name=Ops(in_=["a", "b"])), Where(f_first_name=Ops(is_=NullCheck.NULL))],
    )
    assert to_filter(where) == AllOf(
        (
            Condition("source", "eq", "website"),
            AnyOf((Condition("first_name", "in", ["a", "b"]), Condition("first_name", "is", "null"))),
        )
    )
    assert to_filter(Where()) is None
    assert to_filter(None) is None
    assert to_sort(None) is None


# --- limits ------------------------------------------------------------------------------------------------


def test_depth_limit_and_cost_limit_refuse_before_running() -> None:
    deep = run(
        build_schema(definitions(), Limits(max_depth=4)),
        "{ contacts { data { company { contacts { data { id } } } } } }",
    )
    assert [e.extensions["code"] for e in deep.errors] == ["query_too_complex"]
    assert "depth" in deep.errors[0].message
    costly = run(
        build_schema(definitions(), Limits(max_cost=500)),
        "{ contacts(page_size: 100) { data { id first_name last_name email_address phone source } } }",
    )
    assert costly.errors[0].extensions["code"] == "query_too_complex"
    assert "701" in costly.errors[0].message  # contacts 1 + data 100 + 6 fields x 100 rows


def test_cost_counts_fragments_and_variables() -> None:
    schema = build_schema(definitions(), Limits(max_cost=500))
    query = """query($n: Int!) { contacts(page_size: $n) { ...F } }
               fragment F on ContactPage { data { id first_name last_name email_address phone source company_id } }"""
    result = run(schema, query, variables={"n": 1})
    assert result.errors[0].extensions["code"] == "query_too_complex"  # a variable page size counts as 100
    assert "801" in result.errors[0].message


def test_introspection_only_for_signed_in_callers() -> None:
    schema = build_schema(definitions())
    anonymous = run(schema, "{ __schema { queryType { name } } }", signed_in=False)
    assert anonymous.errors[0].extensions["code"] == "unauthorized"
    signed_in = run(schema, "{ __schema { queryType { name } } }")
    assert signed_in.errors is None
    assert signed_in.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_token_limit() -> None:
    schema = build_schema(definitions(), Limits(max_tokens=100))
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(60)) + " }"
    result = run(schema, query)
    assert result.errors[0].extensions["code"] == "query_too_complex"


def test_unexpected_errors_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    schema = build_schema(definitions())
    result = run(schema, "{ contacts { data { id } } }")  # the stand-in context has no workspace: a real fault
    assert result.errors[0].message == "An unexpected error occurred."
    assert result.errors[0].extensions == {"code": "internal_error", "details": []}
    assert "unhandled error" in caplog.text


def test_anonymous_callers_get_no_field_suggestions() -> None:
    schema = build_schema(definitions())
    for query in (
        "{ contacts { data { first_nme } } }",
        "{ contacts(where: {sorce: {eq: 1}}) { meta { total } } }",
        "{ contacts(sort: [{field: frst_name}]) { meta { total } } }",
    ):
        signed_in = run(schema, query).errors[0].message
        anonymous = run(schema, query, signed_in=False).errors[0].message
        assert "Did you mean" in signed_in and "Did you mean" not in anonymous
        assert anonymous.startswith(signed_in.split(" Did you mean")[0])


@pytest.mark.parametrize(
    ("literal", "fragment"),
    [("9223372036854775808", "64-bit"), ("-9223372036854775809", "64-bit"), ("1.5", "integer"), ('"3"', "integer")],
)
def test_long_literals_outside_int64_or_not_integers_are_refused(literal: str, fragment: str) -> None:
    schema = build_schema(definitions())
    error = run(schema, f"{{ companies(where: {{employees: {{gt: {literal}}}}}) {{ meta {{ total }} }} }}").errors[0]
    assert error.extensions["code"] == "bad_request" and "Long" in error.message and fragment in error.message
