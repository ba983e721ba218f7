"""Every field type through HTTP: accepted values, refused values, and filters coerced by type."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

Auth = dict[str, str]

GADGET = {
    "name": "gadget",
    "label": "Gadget",
    "fields": [
        {"name": "code", "type": "string", "required": True},
        {"name": "notes", "type": "text"},
        {"name": "count", "type": "integer"},
        {"name": "price", "type": "number"},
        {"name": "active", "type": "boolean"},
        {"name": "released", "type": "date"},
        {"name": "checked_at", "type": "datetime"},
        {"name": "contact_email", "type": "email"},
        {"name": "homepage", "type": "url"},
        {"name": "hotline", "type": "phone"},
        {"name": "size", "type": "select", "options": ["s", "m", "l"]},
        {"name": "colors", "type": "multiselect", "options": ["red", "green", "blue"]},
        {"name": "maker", "type": "reference", "ref": "company"},
        {"name": "specs", "type": "json"},
    ],
}


@pytest.fixture
async def gadget(client: httpx.AsyncClient, auth: Auth) -> None:
    response = await client.post("/api/schema/entities", json=GADGET, headers=auth)
    assert response.status_code == 201, response.text


async def create(client: httpx.AsyncClient, auth: Auth, **data: Any) -> httpx.Response:
    return await client.post("/api/records/gadget", json={"code": "g", **data}, headers=auth)


@pytest.mark.parametrize(
    ("field", "sent", "stored"),
    [
        ("notes", "long " * 1000, "long " * 1000),
        ("count", 42, 42),
        ("count", 3.0, 3),
        ("price", 9.99, 9.99),
        ("price", 10, 10),
        ("active", False, False),
        ("released", "2024-02-29", "2024-02-29"),
        ("checked_at", "2024-05-01T12:30:00+02:00", "2024-05-01T10:30:00.000Z"),
        ("checked_at", "2024-05-01T10:30:00.123456Z", "2024-05-01T10:30:00.123Z"),
        ("contact_email", "Info@Example.COM", "info@example.com"),
        ("homepage", "https://example.com/a?b=c", "https://example.com/a?b=c"),
        ("hotline", "+1 (555) 010-9999", "+1 (555) 010-9999"),
        ("size", "m", "m"),
        ("colors", ["red", "blue", "red"], ["red", "blue"]),
        ("specs", {"weight": {"kg": 1.5}, "parts": [1, "two", {"three": None}]}, None),
        ("specs", [1, 2], [1, 2]),
    ],
)
async def test_valid_values(
    client: httpx.AsyncClient, auth: Auth, gadget: None, field: str, sent: Any, stored: Any
) -> None:
    response = await create(client, auth, **{field: sent})
    assert response.status_code == 201, response.text
    expected = sent if stored is None else stored
    assert response.json()[field] == expected
    fetched = await client.get(response.headers["location"], headers=auth)
    assert fetched.json()[field] == expected


@pytest.mark.parametrize(
    ("field", "sent"),
    [
        ("code", 5),
        ("code", "x" * 5000),
        ("count", "5"),
        ("count", 1.5),
        ("count", True),
        ("count", 2**70),
        ("price", "9.99"),
        ("price", False),
        ("active", "true"),
        ("active", 1),
        ("released", "2023-02-29"),
        ("released", "29/02/2024"),
        ("checked_at", "yesterday"),
        ("checked_at", 1714557000),
        ("contact_email", "nobody"),
        ("contact_email", "a@b"),
        ("homepage", "example.com"),
        ("homepage", "javascript:alert(1)"),
        ("homepage", "https://exa mple.com"),
        ("hotline", "call me"),
        ("hotline", "123"),
        ("size", "xl"),
        ("size", ["s"]),
        ("colors", "red"),
        ("colors", ["red", "pink"]),
        ("colors", [["red"]]),
        ("maker", "not-an-id"),
        ("maker", "0" * 24),
        ("specs", {"$where": "1"}),
        ("specs", {"a.b": 1}),
        ("specs", [[1, 2]]),
    ],
)
async def test_invalid_values_are_400_naming_the_field(
    client: httpx.AsyncClient, auth: Auth, gadget: None, field: str, sent: Any
) -> None:
    response = await create(client, auth, **{field: sent})
    assert response.status_code == 400, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert (await client.get("/api/records/gadget", headers=auth)).json()["meta"]["total"] == 0


async def test_filters_coerce_by_type(client: httpx.AsyncClient, auth: Auth, gadget: None) -> None:
    company = await client.post("/api/records/company", json={"name": "Acme"}, headers=auth)
    maker = company.json()["id"]
    rows = [
        {"code": "a", "count": 2, "price": 2.5, "active": True, "released": "2024-01-31", "colors": ["red"]},
        {"code": "b", "count": 10, "price": 10, "active": False, "released": "2024-02-01", "colors": ["green", "blue"]},
        {"code": "c", "count": 9, "checked_at": "2024-06-01T00:00:00Z", "maker": maker, "specs": {"x": 1}},
    ]
    for row in rows:
        assert (await client.post("/api/records/gadget", json=row, headers=auth)).status_code == 201

    async def codes(query: str) -> list[str]:
        response = await client.get(f"/api/records/gadget?{query}", headers=auth)
        assert response.status_code == 200, response.text
        return [r["code"] for r in response.json()["data"]]

    assert await codes("filter=count,gt,9") == ["b"]  # numbers, not text ("10" < "9")
    assert await codes("sort=count,desc") == ["b", "c", "a"]
    assert await codes("filter=price,gte,2.5") == ["a", "b"]
    assert await codes("filter=price,bt,3,10") == ["b"]
    assert await codes("filter=active,eq,false") == ["b"]
    assert await codes("filter=active,neq,true") == ["b", "c"]
    assert await codes("filter=released,lt,2024-02-01") == ["a"]
    assert await codes("filter=checked_at,gt,2024-05-31") == ["c"]
    assert await codes("filter=checked_at,gt," + quote("2024-06-01T01:00:00+02:00")) == ["c"]
    assert await codes("filter=colors,eq,blue") == ["b"]
    assert await codes("filter=colors,in,red,blue") == ["a", "b"]
    assert await codes("filter=colors,sw,GR") == ["b"]
    assert await codes(f"filter=maker,eq,{maker}") == ["c"]
    assert await codes("filter=specs,is,not_null") == ["c"]
    for bad in ("filter=count,gt,many", "filter=released,eq,2024-02-30", "filter=specs,eq,1", "filter=active,eq,yes"):
        response = await client.get(f"/api/records/gadget?{bad}", headers=auth)
        assert response.status_code == 400, bad
        assert response.json()["error"]["details"][0]["field"] == bad.split("=")[1].split(",")[0]
