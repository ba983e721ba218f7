"""Conditional writes (ETag / If-Match), idempotent creates, and the events every write emits."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from gateway.errors import Forbidden
from hooks.bus import RecordEvent

Auth = dict[str, str]


async def test_if_match_makes_updates_and_deletes_conditional(client: httpx.AsyncClient, auth: Auth) -> None:
    created = await client.post("/api/records/company", json={"name": "Acme"}, headers=auth)
    url, first_tag = created.headers["location"], created.headers["etag"]
    assert (await client.get(url, headers=auth)).headers["etag"] == first_tag

    # Editor 1 saves with the tag it read; editor 2, still holding that old tag, is refused.
    one = await client.put(url, json={"industry": "rockets"}, headers={**auth, "If-Match": first_tag})
    assert one.status_code == 200 and one.headers["etag"] != first_tag
    two = await client.patch(url, json={"industry": "boats"}, headers={**auth, "If-Match": first_tag})
    assert two.status_code == 412 and two.json()["error"]["code"] == "precondition_failed"
    assert (await client.get(url, headers=auth)).json()["industry"] == "rockets"

    gone = await client.delete(url, headers={**auth, "If-Match": first_tag})
    assert gone.status_code == 412
    assert (await client.get(url, headers=auth)).status_code == 200
    weak_and_list = f'"nope", W/{one.headers["etag"]}'
    assert (
        await client.put(url, json={"industry": "x"}, headers={**auth, "If-Match": weak_and_list})
    ).status_code == 200
    assert (await client.put(url, json={"industry": "y"}, headers={**auth, "If-Match": "*"})).status_code == 200
    latest = (await client.get(url, headers=auth)).headers["etag"]
    assert (await client.delete(url, headers={**auth, "If-Match": latest})).status_code == 204


async def test_idempotency_key_returns_the_first_result(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = {**auth, "Idempotency-Key": "order-1234"}
    first = await client.post("/api/records/company", json={"name": "Acme"}, headers=headers)
    again = await client.post("/api/records/company", json={"name": "Acme"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert (await client.get("/api/records/company", headers=auth)).json()["meta"]["total"] == 1

    reused = await client.post("/api/records/company", json={"name": "Other"}, headers=headers)
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    other_key = await client.post(
        "/api/records/company", json={"name": "Acme"}, headers={**auth, "Idempotency-Key": "order-1235"}
    )
    assert other_key.status_code == 201 and other_key.json()["id"] != first.json()["id"]


async def test_a_failed_create_does_not_burn_its_idempotency_key(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = {**auth, "Idempotency-Key": "k-1"}
    bad = await client.post("/api/records/company", json={"name": 1}, headers=headers)
    assert bad.status_code == 400
    good = await client.post("/api/records/company", json={"name": "Fixed"}, headers=headers)
    assert good.status_code == 201
    assert (await client.get("/api/records/company", headers=auth)).json()["meta"]["total"] == 1


async def test_events_for_every_write(app: FastAPI, client: httpx.AsyncClient, auth: Auth) -> None:
    seen: list[RecordEvent] = []
    app.state.runtime.bus.on("pre_save", seen.append)
    app.state.runtime.bus.on("post_save", seen.append)
    app.state.runtime.bus.on("pre_delete", seen.append)
    app.state.runtime.bus.on("post_delete", seen.append, entity="company")

    created = (await client.post("/api/records/company", json={"name": "Acme"}, headers=auth)).json()
    await client.put(f"/api/records/company/{created['id']}", json={"industry": "x"}, headers=auth)
    await client.delete(f"/api/records/company/{created['id']}", headers=auth)
    await client.post("/api/records/contact", json={"first_name": "Ada"}, headers=auth)

    kinds = [(e.event, e.entity, e.operation) for e in seen]
    assert kinds == [
        ("pre_save", "company", "create"),
        ("post_save", "company", "create"),
        ("pre_save", "company", "update"),
        ("post_save", "company", "update"),
        ("pre_delete", "company", "delete"),
        ("post_delete", "company", "delete"),
        ("pre_save", "contact", "create"),
        ("post_save", "contact", "create"),
    ]
    pre, post = seen[0], seen[1]
    assert pre.record is not None and pre.record["id"] == created["id"]  # the id is known before the write
    assert post.record == created and pre.write_id == post.write_id and pre.id != post.id
    update_pre, update_post = seen[2], seen[3]
    assert update_pre.previous is not None and "industry" not in update_pre.previous
    assert update_pre.record is not None and update_pre.record["industry"] == "x"
    assert update_post.record is not None and update_post.record["industry"] == "x"
    assert seen[5].record is not None and seen[5].record["id"] == created["id"]
    assert all(e.actor == created["created_by"] and e.workspace == "default" for e in seen)


async def test_pre_save_hook_may_change_the_record_and_is_revalidated(
    app: FastAPI, client: httpx.AsyncClient, auth: Auth
) -> None:
    def enrich(event: RecordEvent) -> dict[str, Any]:
        assert event.record is not None
        return {**event.record, "source": "referral", "last_name": str(event.record["first_name"]).upper()}

    off = app.state.runtime.bus.on("pre_save", enrich, entity="contact")
    created = await client.post("/api/records/contact", json={"first_name": "ada"}, headers=auth)
    assert created.status_code == 201
    assert created.json()["last_name"] == "ADA" and created.json()["_score"] == 15  # scored after the hook
    off()

    app.state.runtime.bus.on("pre_save", lambda e: {**(e.record or {}), "source": "television"}, entity="contact")
    refused = await client.post("/api/records/contact", json={"first_name": "bob"}, headers=auth)
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["field"] == "source"
    assert (await client.get("/api/records/contact", headers=auth)).json()["meta"]["total"] == 1


async def test_a_hook_raising_an_api_error_refuses_the_write(
    app: FastAPI, client: httpx.AsyncClient, auth: Auth
) -> None:
    created = (await client.post("/api/records/company", json={"name": "Acme"}, headers=auth)).json()

    def veto(event: RecordEvent) -> None:
        raise Forbidden("Frozen by policy.")

    app.state.runtime.bus.on("pre_save", veto)
    app.state.runtime.bus.on("pre_delete", veto)
    assert (await client.post("/api/records/company", json={"name": "B"}, headers=auth)).status_code == 403
    changed = await client.put(f"/api/records/company/{created['id']}", json={"name": "C"}, headers=auth)
    assert changed.status_code == 403
    assert (await client.delete(f"/api/records/company/{created['id']}", headers=auth)).status_code == 403
    listed = (await client.get("/api/records/company", headers=auth)).json()
    assert listed["data"] == [created]
