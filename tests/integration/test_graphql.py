"""GraphQL over HTTP against the real database: schema, queries, mutations, errors, permissions, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import login
from tests.support.identity import create_key, user_auth

CONTACT_FIELDS = "id first_name last_name email_address phone source company_id created_at updated_at _score"


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await client.post("/api/graphql", json={"query": query, "variables": variables}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def data_of(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result, result
    return result["data"]  # type: ignore[no-any-return]


def error_of(result: dict[str, Any]) -> dict[str, Any]:
    assert result.get("errors"), result
    return result["errors"][0]  # type: ignore[no-any-return]


async def rest_create(client: httpx.AsyncClient, auth: dict[str, str], entity: str, body: dict[str, Any]) -> dict:
    response = await client.post(f"/api/records/{entity}", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_introspection_shows_typed_entities(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    result = data_of(
        await gql(
            client,
            """{ __type(name: "Contact") { fields { name type { kind name ofType { name } } } } }""",
            headers=auth,
        )
    )
    fields = {f["name"]: f["type"] for f in result["__type"]["fields"]}
    assert fields["id"]["kind"] == "NON_NULL" and fields["id"]["ofType"]["name"] == "ID"
    assert fields["first_name"]["name"] == "String"
    assert fields["company_id"]["name"] == "ID"
    assert fields["company"]["name"] == "Company"
    assert fields["created_at"]["name"] == "DateTime"
    assert fields["_score"]["name"] == "Float"
    company = data_of(await gql(client, '{ __type(name: "Company") { fields { name } } }', headers=auth))
    names = {f["name"] for f in company["__type"]["fields"]}
    assert {"employees", "contacts", "deals"} <= names
    schema = data_of(await gql(client, "{ __schema { mutationType { fields { name } } } }", headers=auth))
    mutations = {f["name"] for f in schema["__schema"]["mutationType"]["fields"]}
    assert {"create_contact", "update_contact", "delete_contact", "bulk_create_contact"} <= mutations


async def test_anonymous_requests_are_401_before_validation(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """No token, no schema: neither introspection nor "did you mean" hints that name fields."""
    for query in (
        "{ __schema { types { name } } }",
        "{ contacts { data { id } } }",
        "{ contacts { data { first_nme } } }",
    ):
        for response in (
            await client.post("/api/graphql", json={"query": query}),
            await client.get("/api/graphql", params={"query": query}),
        ):
            assert response.status_code == 401, response.text
            body = response.json()
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
            assert "first_name" not in response.text and "Did you mean" not in response.text
    assert (await client.get("/api/graphql")).status_code == 200  # the GraphiQL page stays public
    signed_in = error_of(await gql(client, "{ contacts { data { first_nme } } }", headers=auth))
    assert signed_in["extensions"]["code"] == "bad_request"  # a signed-in caller still gets the hint
    assert "first_name" in signed_in["message"]


async def test_contacts_filtered_by_source_with_company_names(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    acme = await rest_create(client, auth, "company", {"name": "Acme"})
    globex = await rest_create(client, auth, "company", {"name": "Globex"})
    await rest_create(client, auth, "contact", {"first_name": "Ada", "source": "website", "company_id": acme["id"]})
    await rest_create(client, auth, "contact", {"first_name": "Bob", "source": "referral", "company_id": globex["id"]})
    await rest_create(client, auth, "contact", {"first_name": "Cy", "source": "website", "company_id": globex["id"]})
    await rest_create(client, auth, "contact", {"first_name": "Di", "source": "website"})
    result = data_of(
        await gql(
            client,
            """query($source: String!) {
                 contacts(where: {source: {eq: $source}}, sort: [{field: first_name}]) {
                   data { first_name source company { name } }
                   meta { page page_size total }
                 }
               }""",
            {"source": "website"},
            headers=auth,
        )
    )
    page = result["contacts"]
    assert page["meta"] == {"page": 1, "page_size": 25, "total": 3}
    assert [(c["first_name"], c["company"] and c["company"]["name"]) for c in page["data"]] == [
        ("Ada", "Acme"),
        ("Cy", "Globex"),
        ("Di", None),
    ]
    # the reverse connection: each company's contacts, paged
    companies = data_of(
        await gql(
            client,
            """{ companies(sort: [{field: name}]) { data { name contacts(page_size: 1, sort: [{field: first_name}])
                 { data { first_name } meta { total page_size } } } } }""",
            headers=auth,
        )
    )["companies"]["data"]
    assert companies == [
        {"name": "Acme", "contacts": {"data": [{"first_name": "Ada"}], "meta": {"total": 1, "page_size": 1}}},
        {"name": "Globex", "contacts": {"data": [{"first_name": "Bob"}], "meta": {"total": 2, "page_size": 1}}},
    ]


async def test_results_equal_rest_for_the_same_filter(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for i, (name, source) in enumerate([("Ann", "website"), ("Abe", "event"), ("Al", "website"), ("Zed", "website")]):
        await rest_create(
            client,
            auth,
            "contact",
            {"first_name": name, "last_name": f"L{i}", "source": source, "phone": f"+1 555 0100{i}"},
        )
    rest = await client.get(
        "/api/records/contact",
        params=[
            ("filter", "source,eq,website"),
            ("filter1", "first_name,sw,a"),
            ("sort", "_score,desc"),
            ("sort1", "last_name,asc"),
            ("page_size", "2"),
        ],
        headers=auth,
    )
    assert rest.status_code == 200, rest.text
    graph = data_of(
        await gql(
            client,
            f"""{{ contacts(where: {{source: {{eq: "website"}}, first_name: {{sw: "a"}}}},
                   sort: [{{field: _score, direction: desc}}, {{field: last_name}}], page_size: 2)
                 {{ data {{ {CONTACT_FIELDS} created_by updated_by }} meta {{ page page_size total }} }} }}""",
            headers=auth,
        )
    )["contacts"]
    expected = rest.json()
    for record in expected["data"]:
        record.setdefault("company_id", None)
        record.setdefault("email_address", None)
    assert graph == expected
    # and the generic query, with the REST triple
    generic = data_of(
        await gql(
            client,
            """{ records(entity: "contact", where: [{field: "source", op: "eq", value: "website"},
                   {field: "first_name", op: "sw", value: "a"}],
                   sort: [{field: "_score", direction: desc}, {field: "last_name"}], page_size: 2)
                 { data meta { total } } }""",
            headers=auth,
        )
    )["records"]
    assert [r["id"] for r in generic["data"]] == [r["id"] for r in expected["data"]]
    assert generic["meta"]["total"] == expected["meta"]["total"] == 2


async def test_generic_operations_for_schema_agnostic_tools(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    made = data_of(
        await gql(
            client,
            'mutation($d: JSON!) { create_record(entity: "company", data: $d) }',
            {"d": {"name": "Generic", "employees": 12}},
            headers=auth,
        )
    )["create_record"]
    assert made == (await client.get(f"/api/records/company/{made['id']}", headers=auth)).json()
    changed = data_of(
        await gql(
            client,
            'mutation($id: ID!) { update_record(entity: "company", id: $id, data: {employees: 13}) }',
            {"id": made["id"]},
            headers=auth,
        )
    )["update_record"]
    assert changed["employees"] == 13 and changed["name"] == "Generic"
    fetched = data_of(
        await gql(client, 'query($id: ID!) { record(entity: "company", id: $id) }', {"id": made["id"]}, headers=auth)
    )
    assert fetched["record"] == changed
    listed = data_of(
        await gql(
            client,
            '{ records(entity: "company", include: ["name"], where: [{field: "employees", op: "gt", value: 12}]) '
            "{ data meta { total } } }",
            headers=auth,
        )
    )["records"]
    assert listed == {"data": [{"id": made["id"], "name": "Generic"}], "meta": {"total": 1}}
    error = error_of(await gql(client, 'mutation { create_record(entity: "company", data: [1]) }', headers=auth))
    assert error["extensions"]["code"] == "validation_error"
    gone = data_of(
        await gql(client, 'mutation($id: ID!) { delete_record(entity: "company", id: $id) }', {"id": made["id"]}, auth)
    )
    assert gone["delete_record"]["id"] == made["id"]
    assert (await client.get(f"/api/records/company/{made['id']}", headers=auth)).status_code == 404


async def test_or_and_in_filters(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for name, source in [("A", "website"), ("B", "event"), ("C", "referral"), ("D", None)]:
        await rest_create(client, auth, "contact", {"first_name": name, **({"source": source} if source else {})})
    query = """query($where: ContactFilter) { contacts(where: $where, sort: [{field: first_name}])
               { data { first_name } meta { total } } }"""

    async def names(where: dict[str, Any]) -> list[str]:
        page = data_of(await gql(client, query, {"where": where}, headers=auth))["contacts"]
        return [c["first_name"] for c in page["data"]]

    assert await names({"or": [{"source": {"eq": "event"}}, {"first_name": {"eq": "A"}}]}) == ["A", "B"]
    assert await names({"source": {"in": ["event", "referral"]}}) == ["B", "C"]
    assert await names({"source": {"is": "NULL"}}) == ["D"]
    assert await names({"and": [{"source": {"is": "NOT_NULL"}}, {"source": {"neq": "website"}}]}) == ["B", "C"]


async def test_create_contact_then_rest_returns_it(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    company = await rest_create(client, auth, "company", {"name": "Initech"})
    created = data_of(
        await gql(
            client,
            """mutation($data: ContactInput!) { create_contact(data: $data) { id first_name email_address
                 company { id name } created_at } }""",
            {"data": {"first_name": "Peter", "email_address": "peter@initech.example", "company_id": company["id"]}},
            headers=auth,
        )
    )["create_contact"]
    assert created["company"] == {"id": company["id"], "name": "Initech"}
    rest = await client.get(f"/api/records/contact/{created['id']}", headers=auth)
    assert rest.status_code == 200
    body = rest.json()
    assert body["first_name"] == "Peter" and body["company_id"] == company["id"]
    assert body["created_at"] == created["created_at"]

    updated = data_of(
        await gql(
            client,
            """mutation($id: ID!) { update_contact(id: $id, data: {last_name: "Gibbons", email_address: null})
                 { first_name last_name email_address } }""",
            {"id": created["id"]},
            headers=auth,
        )
    )["update_contact"]
    assert updated == {"first_name": "Peter", "last_name": "Gibbons", "email_address": None}
    assert (await client.get(f"/api/records/contact/{created['id']}", headers=auth)).json()["last_name"] == "Gibbons"

    deleted = data_of(
        await gql(client, "mutation($id: ID!) { delete_contact(id: $id) { id } }", {"id": created["id"]}, headers=auth)
    )
    assert deleted["delete_contact"]["id"] == created["id"]
    assert (await client.get(f"/api/records/contact/{created['id']}", headers=auth)).status_code == 404


async def test_bulk_mutations_report_each_item(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    result = data_of(
        await gql(
            client,
            """mutation { bulk_create_company(items: [{name: "One"}, {domain: "no-name.example"}, {name: "Two"}])
                 { index status id record { name } error { code details { field } } } }""",
            headers=auth,
        )
    )["bulk_create_company"]
    assert [r["status"] for r in result] == [201, 400, 201]
    assert result[0]["record"] == {"name": "One"}
    assert result[1]["error"]["code"] == "validation_error"
    assert {"field": "name"} in result[1]["error"]["details"]
    ids = [result[0]["id"], result[2]["id"]]
    updated = data_of(
        await gql(
            client,
            """mutation($items: [CompanyUpdateInput!]!) {
                 bulk_update_company(items: $items) { status record { name } } }""",
            {"items": [{"id": ids[0], "name": "Uno"}, {"id": ids[1], "industry": "Toys"}]},
            headers=auth,
        )
    )["bulk_update_company"]
    assert updated == [{"status": 200, "record": {"name": "Uno"}}, {"status": 200, "record": {"name": "Two"}}]
    removed = data_of(
        await gql(client, "mutation($ids: [ID!]!) { bulk_delete_company(ids: $ids) { status } }", {"ids": ids}, auth)
    )["bulk_delete_company"]
    assert [r["status"] for r in removed] in ([200, 200], [204, 204])
    listed = await client.get("/api/records/company", headers=auth)
    assert listed.json()["meta"]["total"] == 0


async def test_validation_errors_match_rest(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = {"first_name": "", "email_address": "not-an-email"}
    rest = await client.post("/api/records/contact", json=body, headers=auth)
    assert rest.status_code == 400
    envelope = rest.json()["error"]
    error = error_of(
        await gql(
            client,
            "mutation($data: ContactInput!) { create_contact(data: $data) { id } }",
            {"data": body},
            headers=auth,
        )
    )
    assert error["extensions"]["code"] == envelope["code"] == "validation_error"
    assert error["extensions"]["details"] == envelope["details"]
    assert error["message"] == envelope["message"]
    assert error["path"] == ["create_contact"]
    # nothing was written
    assert (await client.get("/api/records/contact", headers=auth)).json()["meta"]["total"] == 0


async def test_not_found_and_bad_filter_codes_match_rest(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    missing = "0" * 24
    rest = await client.get(f"/api/records/contact/{missing}", headers=auth)
    error = error_of(await gql(client, f'{{ contact(id: "{missing}") {{ id }} }}', headers=auth))
    assert error["extensions"]["code"] == rest.json()["error"]["code"] == "record_not_found"
    error = error_of(await gql(client, '{ contact(id: "not-an-id") { id } }', headers=auth))
    assert error["extensions"]["code"] == "record_not_found"

    rest = await client.get("/api/records/contact?filter=_score,gt,lots", headers=auth)
    assert rest.status_code == 400
    error = error_of(
        await gql(
            client,
            '{ records(entity: "contact", where: [{field: "_score", op: "gt", value: "lots"}]) { data } }',
            headers=auth,
        )
    )
    assert error["extensions"]["code"] == rest.json()["error"]["code"]
    assert error["extensions"]["details"] == rest.json()["error"]["details"]

    rest = await client.get("/api/records/contact?page_size=500", headers=auth)
    error = error_of(await gql(client, "{ contacts(page_size: 500) { data { id } } }", headers=auth))
    assert error["extensions"]["code"] == rest.json()["error"]["code"]
    assert error["extensions"]["details"] == rest.json()["error"]["details"]

    error = error_of(await gql(client, '{ records(entity: "nope") { data } }', headers=auth))
    assert error["extensions"]["code"] == (await client.get("/api/records/nope", headers=auth)).json()["error"]["code"]


async def test_type_mismatch_is_refused_before_running(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    result = await gql(
        client,
        "mutation($data: CompanyInput!) { create_company(data: $data) { id } }",
        {"data": {"name": "X", "employees": "many"}},
        headers=auth,
    )
    assert error_of(result)["extensions"]["code"] == "validation_error"
    result = await gql(client, "{ contacts { data { no_such_field } } }", headers=auth)
    assert error_of(result)["extensions"]["code"] == "bad_request"
    assert (await client.get("/api/records/company", headers=auth)).json()["meta"]["total"] == 0


async def test_viewer_can_read_but_not_mutate(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    viewer = await user_auth(client, auth, "viewer@example.com", "viewer")
    await rest_create(client, auth, "company", {"name": "Visible"})
    listed = data_of(await gql(client, "{ companies { data { name } } }", headers=viewer))
    assert listed["companies"]["data"] == [{"name": "Visible"}]
    result = await gql(client, 'mutation { create_company(data: {name: "Nope"}) { id } }', headers=viewer)
    assert result["data"] is None
    error = error_of(result)
    rest = await client.post("/api/records/company", json={"name": "Nope"}, headers=viewer)
    assert rest.status_code == 403
    assert error["extensions"]["code"] == rest.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/records/company", headers=auth)).json()["meta"]["total"] == 1


async def test_api_key_works_like_the_user(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    key = await create_key(client, auth)
    key_auth = {"Authorization": f"Bearer {key['key']}"}
    made = data_of(await gql(client, 'mutation { create_company(data: {name: "Keyed"}) { id } }', headers=key_auth))
    listed = data_of(await gql(client, "{ companies { data { id name } } }", headers=key_auth))
    assert listed["companies"]["data"] == [{"id": made["create_company"]["id"], "name": "Keyed"}]


async def test_bad_token_is_401_in_graphql_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/graphql", json={"query": "{ contacts { data { id } } }"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_malformed_request_is_400(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/graphql", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "bad_request"


async def test_subscription_over_http_is_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    error = error_of(await gql(client, "subscription { contact_events { operation } }", headers=auth))
    assert error["extensions"]["code"] == "bad_request"
    assert "websocket" in error["message"]


async def test_depth_limit(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    nested = "contacts(page_size: 1) { data { company { %s } } }"
    deep = "{ " + nested % (nested % (nested % (nested % "id"))) + " }"  # depth 13 > 10, cheap pages
    result = await gql(client, deep, headers=auth)
    error = error_of(result)
    assert error["extensions"]["code"] == "query_too_complex"
    assert "depth" in error["message"]
    assert result.get("data") is None


async def test_cost_and_alias_limits(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    costly = (
        "{ companies(page_size: 100) { data { name contacts(page_size: 100) { data { id first_name last_name } } } } }"
    )
    error = error_of(await gql(client, costly, headers=auth))
    assert error["extensions"]["code"] == "query_too_complex"
    assert "cost" in error["message"].lower()
    aliases = "{ " + " ".join(f"a{i}: contacts {{ meta {{ total }} }}" for i in range(40)) + " }"
    error = error_of(await gql(client, aliases, headers=auth))
    assert error["extensions"]["code"] == "query_too_complex"


async def test_query_via_get_and_graphiql_page(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    page = await client.get("/api/graphql")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    html = page.text
    assert "unpkg" not in html and "jsdelivr" not in html and "https://" not in html
    for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"):
        assert f"/api/graphql/static/{asset}" in html
        served = await client.get(f"/api/graphql/static/{asset}")
        assert served.status_code == 200 and len(served.content) > 1000
    assert (await client.get("/api/graphql/static/../router.py")).status_code == 404
    assert (await client.get("/api/graphql/static/nope.js")).status_code == 404

    response = await client.get("/api/graphql", params={"query": "{ companies { meta { total } } }"}, headers=auth)
    assert response.status_code == 200
    assert response.json() == {"data": {"companies": {"meta": {"total": 0}}}}
    mutation = await client.get(
        "/api/graphql", params={"query": 'mutation { create_company(data: {name: "X"}) { id } }'}, headers=auth
    )
    assert mutation.status_code in (400, 405)


async def test_each_request_is_rate_counted(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    first = await client.post("/api/graphql", json={"query": "{ companies { meta { total } } }"}, headers=auth)
    second = await client.post("/api/graphql", json={"query": "{ companies { meta { total } } }"}, headers=auth)
    assert first.headers["x-ratelimit-limit"] == "300"
    assert int(first.headers["x-ratelimit-remaining"]) - int(second.headers["x-ratelimit-remaining"]) == 1


async def test_rate_limit_answers_429_in_graphql_shape(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(rate_limit_authenticated="2/minute"))
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            headers = {"Authorization": f"Bearer {await login(http)}"}
            query = {"query": "{ companies { meta { total } } }"}
            statuses = [(await http.post("/api/graphql", json=query, headers=headers)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[2]
    assert limited.json()["errors"][0]["extensions"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


async def test_integers_beyond_32_bits_round_trip_as_long(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """REST stores any int64; GraphQL's 32-bit Int could not serialise it, so integer fields are ``Long``."""
    big, huge = 2**40, 2**63 - 1
    small = await rest_create(client, auth, "company", {"name": "Small", "employees": 7})
    large = await rest_create(client, auth, "company", {"name": "Large", "employees": big})
    fields = data_of(await gql(client, '{ __type(name: "Company") { fields { name type { name } } } }', headers=auth))
    assert {"name": "employees", "type": {"name": "Long"}} in fields["__type"]["fields"]

    query = """query($min: Long!) { companies(where: {employees: {gt: $min}}) { data { id employees } } }"""
    found = data_of(await gql(client, query, {"min": 2**31}, headers=auth))["companies"]["data"]
    assert found == [{"id": large["id"], "employees": big}]
    literal = data_of(
        await gql(
            client, f"{{ companies(where: {{employees: {{lte: {big}, gt: 7}}}}) {{ data {{ id }} }} }}", headers=auth
        )
    )
    assert literal["companies"]["data"] == [{"id": large["id"]}]
    listed = data_of(await gql(client, "{ companies(where: {employees: {in: [7]}}) { data { id } } }", headers=auth))
    assert listed["companies"]["data"] == [{"id": small["id"]}]

    made = data_of(
        await gql(
            client,
            'mutation($n: Long) { create_company(data: {name: "Huge", employees: $n}) { id employees } }',
            {"n": huge},
            headers=auth,
        )
    )["create_company"]
    assert made["employees"] == huge
    rest = (await client.get(f"/api/records/company/{made['id']}", headers=auth)).json()
    assert rest["employees"] == huge

    create = 'mutation($n: Long) { create_company(data: {name: "Bad", employees: $n}) { id } }'
    for value in (2**63, -(2**63) - 1, 1.5, "12", True):
        error = error_of(await gql(client, create, {"n": value}, headers=auth))
        assert error["extensions"]["code"] == "validation_error", error
        assert "Long" in error["message"] and error["extensions"]["details"][0]["field"] == "n"
    for literal_value in ("9223372036854775808", "1.5", '"12"'):
        error = error_of(
            await gql(
                client,
                f'mutation {{ create_company(data: {{name: "Bad", employees: {literal_value}}}) {{ id }} }}',
                headers=auth,
            )
        )
        assert error["extensions"]["code"] == "bad_request" and "Long" in error["message"], error
    total = data_of(await gql(client, "{ companies { meta { total } } }", headers=auth))["companies"]["meta"]["total"]
    assert total == 3  # nothing was created by the refused mutations
