"""Identity writes racing each other, through HTTP: an admin's edit of a user must not undo that user's
"log out everywhere" or password change (the bumped ``token_version``), and neither may lose the edit.

FerretDB v1.24 rewrites the whole stored document even for ``$set``/``$inc`` (see storage/claims.py), so the
requests are fired together with asyncio.gather, a few rounds each.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from tests.conftest import login
from tests.support.identity import PASSWORD, bearer, create_user

Auth = dict[str, str]
ROUNDS = 6


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(rate_limit_login="1000/minute", rate_limit_authenticated="100000/minute")


async def _assert_ended(client: httpx.AsyncClient, old_token: str) -> None:
    me = await client.get("/api/auth/me", headers=bearer(old_token))
    assert me.status_code == 401, me.text


async def _stored(client: httpx.AsyncClient, auth: Auth, user_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/users/{user_id}", headers=auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_admin_edit_racing_log_out_everywhere_keeps_the_session_ended(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    user = await create_user(client, auth, "racer@example.com", "editor")
    for round_ in range(ROUNDS):
        old = await login(client, user["email"], PASSWORD)
        renamed, logged_out = await asyncio.gather(
            client.put(f"/api/users/{user['id']}", json={"name": f"Racer {round_}"}, headers=auth),
            client.post("/api/auth/logout", headers=bearer(old)),
        )
        assert renamed.status_code == 200, renamed.text
        assert logged_out.status_code == 204, logged_out.text
        await _assert_ended(client, old)
        assert (await _stored(client, auth, user["id"]))["name"] == f"Racer {round_}"  # the edit is kept too


async def test_an_admin_edit_racing_a_password_change_keeps_both(client: httpx.AsyncClient, auth: Auth) -> None:
    user = await create_user(client, auth, "changer@example.com", "viewer")
    password = PASSWORD
    for round_ in range(ROUNDS):
        old = await login(client, user["email"], password)
        new_password = f"{PASSWORD}-{round_}"
        renamed, changed = await asyncio.gather(
            client.put(f"/api/users/{user['id']}", json={"name": f"Changer {round_}"}, headers=auth),
            client.post(
                "/api/auth/password",
                json={"current_password": password, "new_password": new_password},
                headers=bearer(old),
            ),
        )
        assert renamed.status_code == 200, renamed.text
        assert changed.status_code == 200, changed.text
        await _assert_ended(client, old)
        fresh = await client.get("/api/auth/me", headers=bearer(changed.json()["access_token"]))
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["name"] == f"Changer {round_}"
        stale = await client.post("/api/auth/login", json={"email": user["email"], "password": password})
        assert stale.status_code == 401, stale.text  # the admin's write did not bring the old password back
        password = new_password


async def test_an_admin_edit_racing_a_deactivation_keeps_the_user_deactivated(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    user = await create_user(client, auth, "leaver@example.com", "editor")
    url = f"/api/users/{user['id']}"
    for round_ in range(ROUNDS):
        assert (await client.put(url, json={"active": True}, headers=auth)).status_code == 200
        old = await login(client, user["email"], PASSWORD)
        renamed, deactivated = await asyncio.gather(
            client.put(url, json={"name": f"Leaver {round_}"}, headers=auth),
            client.delete(url, headers=auth),
        )
        assert renamed.status_code == 200, renamed.text
        assert deactivated.status_code == 204, deactivated.text
        stored = await _stored(client, auth, user["id"])
        assert stored["active"] is False and stored["name"] == f"Leaver {round_}"
        await _assert_ended(client, old)


async def test_two_password_changes_with_one_current_password_let_one_win(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    user = await create_user(client, auth, "twice@example.com", "viewer")
    password = PASSWORD
    for round_ in range(ROUNDS):
        token = await login(client, user["email"], password)
        candidates = [f"{PASSWORD}-{round_}-a", f"{PASSWORD}-{round_}-b"]
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/auth/password",
                    json={"current_password": password, "new_password": new},
                    headers=bearer(token),
                )
                for new in candidates
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 401], [a.text for a in answers]
        winner = candidates[[a.status_code for a in answers].index(200)]
        loser = candidates[1 - candidates.index(winner)]
        refused = await client.post("/api/auth/login", json={"email": user["email"], "password": loser})
        assert refused.status_code == 401, refused.text
        password = winner
        await login(client, user["email"], password)
