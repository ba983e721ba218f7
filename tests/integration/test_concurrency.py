"""Compare-and-set under concurrency, through HTTP: requests racing on the same token, ETag or key.

FerretDB v1.24 lets several concurrent conditional updates on one document all "match" (see README, Design
notes), so these tests fire the racing requests together with asyncio.gather, a few rounds each.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.config import Settings
from hooks.bus import RecordEvent
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, login
from tests.support.identity import PASSWORD, bearer, create_user

Auth = dict[str, str]
ROUNDS = 5
RACERS = 4


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(rate_limit_login="1000/minute", rate_limit_authenticated="100000/minute")


async def _login_pair(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_concurrent_refreshes_with_one_token_give_one_pair(client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS):
        token = (await _login_pair(client))["refresh_token"]
        answers = await client_gather(client, [("POST", "/api/auth/refresh", {"refresh_token": token}, {})] * RACERS)
        winners = [a for a in answers if a.status_code == 200]
        assert len(winners) == 1, [a.text for a in answers]
        losers = [a for a in answers if a.status_code != 200]
        assert all(a.status_code == 401 for a in losers)
        codes = Counter(a.json()["error"]["code"] for a in losers)
        # A loser that reads the token after another loser revoked its family finds it revoked.
        assert codes["refresh_token_reused"] >= 1 and set(codes) <= {"refresh_token_reused", "invalid_refresh_token"}
        # The reuse revoked the family, including the pair the winner got (however the race was ordered).
        after = await client.post("/api/auth/refresh", json={"refresh_token": winners[0].json()["refresh_token"]})
        assert after.status_code == 401, after.text


async def client_gather(
    client: httpx.AsyncClient, calls: list[tuple[str, str, Any, dict[str, str]]]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(client.request(method, url, json=body, headers=headers) for method, url, body, headers in calls)
        )
    )


def _events(app: FastAPI) -> Counter[str]:
    seen: Counter[str] = Counter()

    async def count(event: RecordEvent) -> None:
        seen[f"{event.event}:{event.record['id']}"] += 1

    app.state.runtime.bus.on("post_save", count)
    app.state.runtime.bus.on("post_delete", count)
    return seen


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_concurrent_writes_with_one_etag_let_exactly_one_win(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, method: str
) -> None:
    seen = _events(app)
    for round_ in range(ROUNDS):
        created = await client.post("/api/records/company", json={"name": f"Acme {round_}"}, headers=auth)
        url, tag = created.headers["location"], created.headers["etag"]
        calls = [(method, url, {"industry": f"i{n}"}, {**auth, "If-Match": tag}) for n in range(RACERS)]
        answers = await client_gather(client, calls)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] + [412] * (RACERS - 1), [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200)
        stored = await client.get(url, headers=auth)
        assert stored.json()["industry"] == winner.json()["industry"]
        assert stored.headers["etag"] == winner.headers["etag"]  # the version moved exactly once
        assert seen[f"post_save:{created.json()['id']}"] == 2  # the create and the one update


async def test_concurrent_deletes_with_one_etag_delete_once(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI
) -> None:
    seen = _events(app)
    for round_ in range(ROUNDS):
        created = await client.post("/api/records/company", json={"name": f"Acme {round_}"}, headers=auth)
        url, tag = created.headers["location"], created.headers["etag"]
        answers = await client_gather(client, [("DELETE", url, None, {**auth, "If-Match": tag})] * RACERS)
        statuses = Counter(a.status_code for a in answers)
        assert statuses[204] == 1 and statuses[204] + statuses[412] + statuses[404] == RACERS, statuses
        assert seen[f"post_delete:{created.json()['id']}"] == 1


async def test_concurrent_deletes_without_etag_delete_once(client: httpx.AsyncClient, auth: Auth, app: FastAPI) -> None:
    seen = _events(app)
    for round_ in range(ROUNDS):
        created = await client.post("/api/records/company", json={"name": f"Acme {round_}"}, headers=auth)
        url = created.headers["location"]
        answers = await client_gather(client, [("DELETE", url, None, auth)] * RACERS)
        statuses = Counter(a.status_code for a in answers)
        assert statuses[204] == 1 and statuses[404] == RACERS - 1, statuses
        assert seen[f"post_delete:{created.json()['id']}"] == 1


async def test_concurrent_patches_of_different_fields_lose_nothing(client: httpx.AsyncClient, auth: Auth) -> None:
    fields = {"industry": "rockets", "domain": "acme.example", "phone": "+1 555 0100", "employees": 12}
    for round_ in range(ROUNDS):
        created = await client.post("/api/records/company", json={"name": f"Acme {round_}"}, headers=auth)
        url = created.headers["location"]
        answers = await client_gather(client, [("PATCH", url, {k: v}, auth) for k, v in fields.items()])
        assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
        applied = {k: v for (k, v), a in zip(fields.items(), answers, strict=True) if a.status_code == 200}
        assert applied, [a.text for a in answers]
        stored = (await client.get(url, headers=auth)).json()
        assert {k: stored.get(k) for k in applied} == applied  # no acknowledged change was overwritten


async def test_concurrent_posts_with_one_idempotency_key_create_one_record(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    for round_ in range(ROUNDS):
        body = {"name": f"Idem {round_}"}
        headers = {**auth, "Idempotency-Key": f"key-{round_}"}
        answers = await client_gather(client, [("POST", "/api/records/company", body, headers)] * RACERS)
        created = [a for a in answers if a.status_code == 201]
        assert created, [a.text for a in answers]
        assert len({a.json()["id"] for a in created}) == 1
        others = [a for a in answers if a.status_code != 201]
        assert all(a.json()["error"]["code"] == "idempotency_in_progress" for a in others), [a.text for a in others]
        listed = await client.get("/api/records/company", params={"filter": f"name,eq,{body['name']}"}, headers=auth)
        assert listed.json()["meta"]["total"] == 1, listed.text


async def test_two_admins_demoted_at_once_leave_one_admin(client: httpx.AsyncClient, auth: Auth) -> None:
    current = {"Authorization": auth["Authorization"]}
    me = (await client.get("/api/auth/me", headers=current)).json()
    current_id = me["id"]
    for round_ in range(ROUNDS):
        other = await create_user(client, current, f"admin{round_}@example.com", "admin")
        calls = [("PUT", f"/api/users/{uid}", {"role": "editor"}, current) for uid in (current_id, other["id"])]
        answers = await client_gather(client, calls)
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        assert next(a for a in answers if a.status_code == 409).json()["error"]["code"] == "last_admin"
        demoted = next(a for a in answers if a.status_code == 200).json()["id"]
        if demoted == current_id:  # the other one stayed admin: continue as that one
            current_id, current = other["id"], bearer(await login(client, other["email"], PASSWORD))
        listed = await client.get("/api/users", headers=current)
        assert listed.status_code == 200, listed.text
        users = listed.json()
        admins = [u["id"] for u in (users["data"] if isinstance(users, dict) else users) if u["role"] == "admin"]
        assert admins == [current_id]


async def test_a_refresh_racing_log_out_everywhere_does_not_survive_it(client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS * 2):
        pair = await _login_pair(client)
        calls = [
            ("POST", "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, {}),
            ("POST", "/api/auth/logout", None, bearer(pair["access_token"])),
        ]
        refreshed, logged_out = await client_gather(client, calls)
        assert logged_out.status_code == 204, logged_out.text
        if refreshed.status_code == 200:  # issued during the logout: it must have ended with the others
            again = await client.post("/api/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]})
            assert again.status_code == 401, again.text
