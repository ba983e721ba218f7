"""Filters, sort, include and paging through HTTP, evaluated by the real database."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

Auth = dict[str, str]

PEOPLE = [
    {"first_name": "Ada", "last_name": "Lovelace", "source": "website", "email_address": "ada@example.com"},
    {"first_name": "Alan", "last_name": "Turing", "source": "referral", "phone": "+44 20 7946 0000"},
    {"first_name": "Grace", "last_name": "Hopper", "source": "website"},
    {"first_name": "Edsger", "last_name": "Dijkstra", "source": "event", "email_address": "ed@example.com"},
    {"first_name": "Barbara", "last_name": "Liskov (MIT)"},
]


@pytest.fixture
async def people(client: httpx.AsyncClient, auth: Auth) -> dict[str, dict]:
    made = {}
    for person in PEOPLE:
        response = await client.post("/api/records/contact", json=person, headers=auth)
        assert response.status_code == 201, response.text
        made[person["first_name"]] = response.json()
    return made


async def names(client: httpx.AsyncClient, auth: Auth, query: str) -> list[str]:
    response = await client.get(f"/api/records/contact?{query}", headers=auth)
    assert response.status_code == 200, response.text
    return [r["first_name"] for r in response.json()["data"]]


async def error(client: httpx.AsyncClient, auth: Auth, query: str) -> dict:
    response = await client.get(f"/api/records/contact?{query}", headers=auth)
    assert response.status_code == 400, response.text
    return response.json()["error"]


async def test_overview_filter_examples(client: httpx.AsyncClient, auth: Auth, people: dict) -> None:
    assert sorted(await names(client, auth, "filter=source,eq,website")) == ["Ada", "Grace"]
    # Ada: email 10 + website 5 = 15; Alan: phone 5 + referral 15 = 20; Edsger: email 10 = 10.
    assert await names(client, auth, "filter=source,eq,website&filter1=_score,gt,10") == ["Ada"]
    assert await names(client, auth, "filter=_score,gte,20") == ["Alan"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filter=source,neq,website", ["Alan", "Edsger", "Barbara"]),
        ("filter=_score,lt,10", ["Grace", "Barbara"]),
        ("filter=_score,lte,10", ["Grace", "Edsger", "Barbara"]),
        ("filter=last_name,cs,OVE", ["Ada"]),
        ("filter=last_name,sw,h", ["Grace"]),
        ("filter=last_name,ew,RA", ["Edsger"]),
        ("filter=last_name,cs,(mit)", ["Barbara"]),
        ("filter=last_name,cs,.*", []),
        ("filter=source,in,event,referral", ["Alan", "Edsger"]),
        ("filter=source,nin,website,event", ["Alan", "Barbara"]),
        ("filter=_score,bt,10,15", ["Ada", "Edsger"]),
        ("filter=source,is,null", ["Barbara"]),
        ("filter=email_address,is,not_null", ["Ada", "Edsger"]),
        ("filter=source,eq,website&filter=email_address,is,null", ["Grace"]),
        ("filter=source,eq,event&filter1=source,eq,referral&satisfy=any", ["Alan", "Edsger"]),
        ("filter=first_name,eq,Nobody", []),
    ],
)
async def test_operators(client: httpx.AsyncClient, auth: Auth, people: dict, query: str, expected: list[str]) -> None:
    assert await names(client, auth, query) == expected


async def test_system_fields_filter(client: httpx.AsyncClient, auth: Auth, people: dict) -> None:
    ada = people["Ada"]
    assert await names(client, auth, f"filter=id,eq,{ada['id']}") == ["Ada"]
    assert await names(client, auth, f"filter=created_by,eq,{ada['created_by']}&page_size=1") == ["Ada"]
    stamp = quote(ada["created_at"])
    assert "Ada" not in await names(client, auth, f"filter=created_at,gt,{stamp}")
    assert "Ada" in await names(client, auth, f"filter=created_at,lte,{stamp}")
    assert await names(client, auth, "filter=created_at,lt,2000-01-01") == []


async def test_bad_filters_are_400_naming_the_problem(client: httpx.AsyncClient, auth: Auth, people: dict) -> None:
    assert "nickname" in (await error(client, auth, "filter=nickname,eq,x"))["message"]
    assert "like" in (await error(client, auth, "filter=source,like,x"))["message"]
    assert "ten" in (await error(client, auth, "filter=_score,gt,ten"))["message"]
    assert (await error(client, auth, "filter=source"))["code"] == "bad_request"
    assert "nope" in (await error(client, auth, "sort=nope,asc"))["message"]
    assert "up" in (await error(client, auth, "sort=first_name,up"))["message"]
    assert "secret" in (await error(client, auth, "include=first_name,secret"))["message"]


@pytest.mark.parametrize(
    "query",
    [
        'filter=first_name,eq,{"$ne": null}',
        "filter=first_name,eq,{$ne:null}",
        "filter=first_name,in,$ne,$gt",
        "filter=first_name,cs,.*",
        "filter=first_name,sw,^",
    ],
)
async def test_mongo_operators_in_values_are_literal(
    client: httpx.AsyncClient, auth: Auth, people: dict, query: str
) -> None:
    assert await names(client, auth, quote(query, safe="=&,")) == []


@pytest.mark.parametrize("field", ["$where", "_id", "_version", "company_id.name", "first_name.$ne", "password_hash"])
async def test_mongo_operators_and_paths_in_fields_are_refused(
    client: httpx.AsyncClient, auth: Auth, people: dict, field: str
) -> None:
    body = await error(client, auth, quote(f"filter={field},eq,1", safe="=&,"))
    assert body["details"][0]["field"] == field


async def test_sort(client: httpx.AsyncClient, auth: Auth, people: dict) -> None:
    assert await names(client, auth, "sort=first_name,asc") == ["Ada", "Alan", "Barbara", "Edsger", "Grace"]
    assert await names(client, auth, "sort=created_at,desc&sort=id,desc") == [
        "Barbara",
        "Edsger",
        "Grace",
        "Alan",
        "Ada",
    ]
    assert await names(client, auth, "sort=-first_name") == ["Grace", "Edsger", "Barbara", "Alan", "Ada"]
    # Equal keys: the second key, then the id (creation order) decides.
    assert await names(client, auth, "sort=source,desc&sort1=last_name,asc") == [
        "Grace",
        "Ada",
        "Alan",
        "Edsger",
        "Barbara",
    ]
    assert await names(client, auth, "sort=source,asc&sort=_score,desc") == [
        "Barbara",
        "Edsger",
        "Alan",
        "Ada",
        "Grace",
    ]
    assert await names(client, auth, "sort=email_address,asc") == ["Alan", "Grace", "Barbara", "Ada", "Edsger"]


async def test_include(client: httpx.AsyncClient, auth: Auth, people: dict) -> None:
    response = await client.get(
        "/api/records/contact?include=first_name,last_name,email_address,company_id&sort=first_name,asc", headers=auth
    )
    assert response.status_code == 200
    first = response.json()["data"][0]
    assert first == {
        "id": people["Ada"]["id"],
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email_address": "ada@example.com",
    }
    scored = await client.get("/api/records/contact?include=_score&filter=first_name,eq,Alan", headers=auth)
    assert scored.json()["data"] == [{"id": people["Alan"]["id"], "_score": 20}]


async def test_paging_edges(client: httpx.AsyncClient, auth: Auth, people: dict) -> None:
    async def page(query: str) -> dict:
        response = await client.get(f"/api/records/contact?sort=first_name,asc&{query}", headers=auth)
        assert response.status_code == 200, response.text
        return response.json()

    first = await page("page=1&page_size=2")
    assert [r["first_name"] for r in first["data"]] == ["Ada", "Alan"]
    assert first["meta"] == {"page": 1, "page_size": 2, "total": 5}
    last = await page("page=3&page_size=2")
    assert [r["first_name"] for r in last["data"]] == ["Grace"]
    assert last["meta"] == {"page": 3, "page_size": 2, "total": 5}
    past = await page("page=9&page_size=2")
    assert past == {"data": [], "meta": {"page": 9, "page_size": 2, "total": 5}}
    whole = await page("page_size=100")
    assert len(whole["data"]) == 5 and whole["meta"]["page"] == 1
    filtered = await page("filter=source,eq,website&page_size=1&page=2")
    assert [r["first_name"] for r in filtered["data"]] == ["Grace"] and filtered["meta"]["total"] == 2
    empty = await page("filter=source,eq,import")
    assert empty == {"data": [], "meta": {"page": 1, "page_size": 25, "total": 0}}
    far = await page("page=1000000000&page_size=100")
    assert far["data"] == [] and far["meta"]["total"] == 5
    bad_paging = ("page=0", "page=-1", "page=1000000001", "page=" + "9" * 30, "page_size=0", "page_size=101")
    for bad in (*bad_paging, "page=abc", "page_size=1.5"):
        response = await client.get(f"/api/records/contact?{bad}", headers=auth)
        assert response.status_code == 400, bad
        assert response.json()["error"]["details"][0]["field"] in ("page", "page_size")
