"""Property-based: filters sent over HTTP select exactly the records a plain Python model of the overview's
operators selects, on a real gateway over FerretDB (so the translation means what it says, not only looks right)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import LiveGateway

NAMES = ["Acme", "acme labs", "Globex", "Initech", "Umbrella (EU)", "Stark.Industries", "Wayne*Corp", "Soylent", "ACME"]
EMPLOYEES: list[int | None] = [10, 250, None, 0, -5, 10, 99, 1000, None]
ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
}
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def dataset(live_gateway: LiveGateway) -> tuple[httpx.Client, list[dict[str, Any]]]:
    client = httpx.Client(
        base_url=live_gateway.url, headers={"Authorization": f"Bearer {live_gateway.token()}"}, timeout=30
    )
    records = []
    for name, employees in zip(NAMES, EMPLOYEES, strict=True):
        body: dict[str, Any] = {"name": name}
        if employees is not None:
            body["employees"] = employees
        response = client.post("/api/records/company", json=body)
        assert response.status_code == 201, response.text
        records.append(response.json())
    return client, records


def _ids(client: httpx.Client, *filters: str, satisfy: str = "all") -> set[str]:
    params = [("filter", f) for f in filters] + [("satisfy", satisfy), ("page_size", "100")]
    response = client.get("/api/records/company", params=params)
    assert response.status_code == 200, response.text
    return {r["id"] for r in response.json()["data"]}


def _expect_number(record: dict[str, Any], op: str, value: int) -> bool:
    have = record.get("employees")
    if op == "neq":
        return have != value  # a missing value is "not equal" too
    return have is not None and ORDER[op](have, value)


def _expect_text(record: dict[str, Any], op: str, needle: str) -> bool:
    name, needle = record["name"].lower(), needle.lower()
    return {"cs": needle in name, "sw": name.startswith(needle), "ew": name.endswith(needle)}[op]


@EXAMPLES
@given(op=st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]), value=st.integers(-10, 1100))
def test_number_operators(dataset: tuple[httpx.Client, list[dict[str, Any]]], op: str, value: int) -> None:
    client, records = dataset
    expected = {r["id"] for r in records if _expect_number(r, op, value)}
    assert _ids(client, f"employees,{op},{value}") == expected


@EXAMPLES
@given(
    op=st.sampled_from(["cs", "sw", "ew"]),
    needle=st.one_of(
        st.sampled_from(NAMES).flatmap(lambda n: st.integers(0, len(n) - 1).map(lambda i: n[i : i + 3])),
        st.text(st.sampled_from("aceLM.*()E "), min_size=1, max_size=4),
    ),
)
def test_text_operators_are_literal_and_case_insensitive(
    dataset: tuple[httpx.Client, list[dict[str, Any]]], op: str, needle: str
) -> None:
    client, records = dataset
    expected = {r["id"] for r in records if _expect_text(r, op, needle)}
    assert _ids(client, f"name,{op},{needle}") == expected


@EXAMPLES
@given(
    low=st.integers(-10, 300),
    name=st.sampled_from(NAMES),
    satisfy=st.sampled_from(["all", "any"]),
)
def test_filters_combine_with_satisfy(
    dataset: tuple[httpx.Client, list[dict[str, Any]]], low: int, name: str, satisfy: str
) -> None:
    client, records = dataset
    combine = all if satisfy == "all" else any
    expected = {r["id"] for r in records if combine([_expect_number(r, "gte", low), _expect_text(r, "sw", name)])}
    assert _ids(client, f"employees,gte,{low}", f"name,sw,{name}", satisfy=satisfy) == expected
