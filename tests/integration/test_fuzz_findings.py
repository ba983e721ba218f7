"""Regressions for what the schemathesis run (tests/e2e/test_schemathesis.py) found: each was a 5xx or an
undocumented answer."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("body", ['"AAA"', "1", "null", "true", b"\xff", b'{"query": "\xe9"}'])
async def test_graphql_body_that_is_not_an_object_is_400(
    client: httpx.AsyncClient, auth: dict[str, str], body: str | bytes
) -> None:
    """Strawberry crashed (500) on a JSON body that is a string, number or null, or is not UTF-8."""
    response = await client.post("/api/graphql", content=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "bad_request"
