"""Records CRUD through HTTP on the seeded CRM schema: the overview's examples, PATCH, null, errors, permissions."""

from __future__ import annotations

import httpx

from tests.support.identity import user_auth

Auth = dict[str, str]


async def make(client: httpx.AsyncClient, auth: Auth, entity: str, **data: object) -> dict:
    response = await client.post(f"/api/records/{entity}", json=data, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def test_overview_crud_cycle(client: httpx.AsyncClient, auth: Auth) -> None:
    company = await make(client, auth, "company", name="Acme")
    created = await client.post(
        "/api/records/contact",
        json={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email_address": "ada@example.com",
            "company_id": company["id"],
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/records/contact/{body['id']}"
    assert created.headers["etag"]
    assert body["first_name"] == "Ada" and body["company_id"] == company["id"]
    assert body["created_by"] == body["updated_by"] and body["created_at"] == body["updated_at"]
    assert body["created_at"].endswith("Z")
    assert body["_score"] == 20  # email (10) + company (10)
    assert "_version" not in body and "_id" not in body

    fetched = await client.get(f"/api/records/contact/{body['id']}", headers=auth)
    assert fetched.json() == body and fetched.headers["etag"] == created.headers["etag"]

    updated = await client.put(f"/api/records/contact/{body['id']}", json={"source": "referral"}, headers=auth)
    assert updated.status_code == 200, updated.text
    new = updated.json()
    assert new["source"] == "referral" and new["first_name"] == "Ada" and new["_score"] == 35
    assert new["updated_at"] >= body["updated_at"] and new["created_at"] == body["created_at"]
    assert updated.headers["etag"] != created.headers["etag"]

    patched = await client.patch(f"/api/records/contact/{body['id']}", json={"company_id": None}, headers=auth)
    assert patched.status_code == 200
    assert "company_id" not in patched.json() and patched.json()["_score"] == 25
    assert "company_id" not in (await client.get(f"/api/records/contact/{body['id']}", headers=auth)).json()

    deleted = await client.delete(f"/api/records/contact/{body['id']}", headers=auth)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(f"/api/records/contact/{body['id']}", headers=auth)).status_code == 404
    assert (await client.delete(f"/api/records/contact/{body['id']}", headers=auth)).status_code == 404


async def test_defaults_apply_on_create(client: httpx.AsyncClient, auth: Auth) -> None:
    deal = await make(client, auth, "deal", title="Big one")
    assert deal["stage"] == "lead" and deal["currency"] == "EUR"
    changed = await client.put(f"/api/records/deal/{deal['id']}", json={"currency": None}, headers=auth)
    assert "currency" not in changed.json()  # a default is for creation only


async def test_invalid_input_is_400_naming_every_field_and_changes_nothing(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    response = await client.post(
        "/api/records/contact",
        json={"last_name": 3, "email_address": "not-an-email", "source": "tv", "nickname": "x", "created_at": "x"},
        headers=auth,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {d["field"] for d in error["details"]} == {
        "first_name",
        "last_name",
        "email_address",
        "source",
        "nickname",
        "created_at",
    }
    messages = {d["field"]: d["message"] for d in error["details"]}
    assert "Unknown field" in messages["nickname"] and "required" in messages["first_name"]
    assert "read-only" in messages["created_at"].lower()
    listed = await client.get("/api/records/contact", headers=auth)
    assert listed.json()["meta"]["total"] == 0


async def test_update_errors(client: httpx.AsyncClient, auth: Auth) -> None:
    contact = await make(client, auth, "contact", first_name="Ada")
    url = f"/api/records/contact/{contact['id']}"
    cleared = await client.put(url, json={"first_name": None}, headers=auth)
    assert cleared.status_code == 400 and cleared.json()["error"]["details"][0]["field"] == "first_name"
    unknown = await client.patch(url, json={"age": 3}, headers=auth)
    assert unknown.status_code == 400 and unknown.json()["error"]["details"][0]["field"] == "age"
    not_object = await client.put(url, json=["first_name"], headers=auth)
    assert not_object.status_code == 400
    assert (await client.get(url, headers=auth)).json() == contact
    assert (await client.put("/api/records/contact/" + "0" * 24, json={}, headers=auth)).status_code == 404
    assert (await client.put("/api/records/contact/xyz", json={}, headers=auth)).status_code == 404


async def test_unknown_entity_and_bad_json(client: httpx.AsyncClient, auth: Auth) -> None:
    response = await client.get("/api/records/spaceship", headers=auth)
    assert response.status_code == 404 and response.json()["error"]["code"] == "entity_not_found"
    response = await client.post("/api/records/spaceship", json={}, headers=auth)
    assert response.status_code == 404
    broken = await client.post(
        "/api/records/company", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and "error" in broken.json()


async def test_references_must_exist(client: httpx.AsyncClient, auth: Auth) -> None:
    missing = await client.post("/api/records/contact", json={"first_name": "A", "company_id": "0" * 24}, headers=auth)
    assert missing.status_code == 400
    assert missing.json()["error"]["details"] == [
        {"field": "company_id", "message": f"No company with id '{'0' * 24}'."}
    ]
    malformed = await client.post("/api/records/contact", json={"first_name": "A", "company_id": "acme"}, headers=auth)
    assert malformed.status_code == 400 and malformed.json()["error"]["details"][0]["field"] == "company_id"
    contact = await make(client, auth, "contact", first_name="A")
    other_entity = await client.post(
        "/api/records/deal", json={"title": "t", "company_id": contact["id"]}, headers=auth
    )
    assert other_entity.status_code == 400  # a contact id is not a company


async def test_unique_field_conflict_is_409_naming_it(client: httpx.AsyncClient, auth: Auth) -> None:
    first = await make(client, auth, "contact", first_name="A", email_address="a@example.com")
    again = await client.post(
        "/api/records/contact", json={"first_name": "B", "email_address": "a@example.com"}, headers=auth
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"][0]["field"] == "email_address"
    second = await make(client, auth, "contact", first_name="B")  # no email: no collision
    await make(client, auth, "contact", first_name="C")
    taken = await client.put(
        f"/api/records/contact/{second['id']}", json={"email_address": "a@example.com"}, headers=auth
    )
    assert taken.status_code == 409
    same = await client.put(
        f"/api/records/contact/{first['id']}", json={"email_address": "a@example.com"}, headers=auth
    )
    assert same.status_code == 200  # keeping its own value is no conflict


async def test_viewer_reads_but_cannot_write(client: httpx.AsyncClient, auth: Auth) -> None:
    company = await make(client, auth, "company", name="Acme")
    viewer = await user_auth(client, auth, "viewer@example.com", "viewer")
    assert (await client.get(f"/api/records/company/{company['id']}", headers=viewer)).status_code == 200
    for response in (
        await client.post("/api/records/company", json={"name": "X"}, headers=viewer),
        await client.put(f"/api/records/company/{company['id']}", json={"name": "X"}, headers=viewer),
        await client.delete(f"/api/records/company/{company['id']}", headers=viewer),
        await client.post("/api/records/company/bulk", json=[{"name": "X"}], headers=viewer),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    editor = await user_auth(client, auth, "editor@example.com", "editor")
    made = await client.post("/api/records/company", json={"name": "Y"}, headers=editor)
    assert made.status_code == 201
    assert made.json()["created_by"] != company["created_by"]


async def test_a_record_sent_back_as_read_may_carry_its_system_fields(client: httpx.AsyncClient, auth: Auth) -> None:
    contact = await make(client, auth, "contact", first_name="Ada")
    url = f"/api/records/contact/{contact['id']}"
    saved = await client.put(url, json={**contact, "last_name": "Lovelace"}, headers=auth)
    assert saved.status_code == 200, saved.text
    assert saved.json()["last_name"] == "Lovelace"
    forged = await client.put(url, json={**saved.json(), "created_by": "someone-else", "_score": 99}, headers=auth)
    assert forged.status_code == 400
    assert {d["field"] for d in forged.json()["error"]["details"]} == {"created_by", "_score"}


async def test_a_conflict_names_the_unique_field_that_collides(client: httpx.AsyncClient, auth: Auth) -> None:
    definition = {
        "name": "member",
        "fields": [
            {"name": "badge", "type": "string", "unique": True},
            {"name": "login", "type": "string", "unique": True},
        ],
    }
    assert (await client.post("/api/schema/entities", json=definition, headers=auth)).status_code == 201
    await make(client, auth, "member", badge="B1", login="ann")
    other = await make(client, auth, "member", badge="B2", login="bob")
    created = await client.post("/api/records/member", json={"badge": "B3", "login": "ann"}, headers=auth)
    assert created.status_code == 409
    assert [d["field"] for d in created.json()["error"]["details"]] == ["login"]
    updated = await client.patch(f"/api/records/member/{other['id']}", json={"badge": "B1"}, headers=auth)
    assert updated.status_code == 409
    assert [d["field"] for d in updated.json()["error"]["details"]] == ["badge"]
    listed = await client.get("/api/records/member", headers=auth)
    assert {r["badge"] for r in listed.json()["data"]} == {"B1", "B2"}  # nothing of the refused writes stayed
