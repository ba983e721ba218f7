"""Each limit hits 429 at the right count, with X-RateLimit-* headers and Retry-After, through HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.identity import PASSWORD, bearer, create_key, create_user


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def _token(client: httpx.AsyncClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _assert_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60 * 15
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) >= int(time.time())


async def test_authenticated_limit_counts_every_request_of_a_user(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings(rate_limit_authenticated="5/minute")) as client:
        headers = bearer(await _token(client))
        remaining = []
        for _ in range(5):
            response = await client.get("/api/records/contact", headers=headers)
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "5"
            remaining.append(int(response.headers["x-ratelimit-remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        _assert_limited(await client.get("/api/records/contact", headers=headers), 5)
        # Every endpoint family spends the same budget.
        _assert_limited(await client.get("/api/auth/me", headers=headers), 5)


async def test_tokens_and_keys_of_one_user_share_the_budget(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings(rate_limit_authenticated="6/minute")) as client:
        first = bearer(await _token(client))
        key = bearer((await create_key(client, first))["key"])  # 1
        second = bearer(await _token(client))
        for headers in (first, key, second, key, first):  # 2..6
            assert (await client.get("/api/records/contact", headers=headers)).status_code == 200
        for headers in (first, key, second):
            _assert_limited(await client.get("/api/records/contact", headers=headers), 6)


async def test_users_have_separate_budgets(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings(rate_limit_authenticated="3/minute")) as client:
        admin = bearer(await _token(client))
        await create_user(client, admin, "other@example.com", "viewer")  # 1
        other = bearer(await _token(client, "other@example.com", PASSWORD))
        for _ in range(2):
            assert (await client.get("/api/records/contact", headers=admin)).status_code == 200
        _assert_limited(await client.get("/api/records/contact", headers=admin), 3)
        assert (await client.get("/api/records/contact", headers=other)).status_code == 200


async def test_login_limit_is_per_email_whether_it_exists_or_not(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings()) as client:  # the default: 5 per email per 15 minutes
        admin_key = bearer((await create_key(client, bearer(await _token(client))))["key"])  # admin attempt 1
        for attempt in range(5):
            response = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x"})
            assert response.status_code == 401, attempt
        limited = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x"})
        _assert_limited(limited, 5)
        assert int(limited.headers["retry-after"]) > 60  # the window is 15 minutes
        # Case and spaces do not make a new budget.
        _assert_limited(await client.post("/api/auth/login", json={"email": " NOBODY@example.com", "password": "x"}), 5)

        for attempt in range(4):  # admin attempts 2..5; a successful login counted as an attempt too
            response = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password"})
            assert response.status_code == 401, attempt
        # Even the right password waits now: the budget is per email, not per failure.
        blocked = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        _assert_limited(blocked, 5)

        # Another email is unaffected.
        await create_user(client, admin_key, "fresh@example.com")
        assert (
            await client.post("/api/auth/login", json={"email": "fresh@example.com", "password": PASSWORD})
        ).status_code == 200


async def test_bulk_limit(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings(rate_limit_bulk="3/minute")) as client:
        headers = bearer(await _token(client))
        for _ in range(3):
            response = await client.post("/api/records/company/bulk", json=[{"name": "A"}], headers=headers)
            assert response.status_code in (200, 201, 207), response.text
        limited = await client.post("/api/records/company/bulk", json=[{"name": "B"}], headers=headers)
        _assert_limited(limited, 3)
        listed = await client.get("/api/records/company?page_size=100", headers=headers)
        assert listed.json()["meta"]["total"] == 3  # the refused bulk wrote nothing
        # Plain requests still pass: the bulk budget is separate from the per-user one.
        assert listed.status_code == 200


async def test_anonymous_requests_are_limited_per_ip(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings(rate_limit_anonymous="4/minute")) as client:
        statuses = [(await client.get("/api/records/contact")).status_code for _ in range(4)]
        assert statuses == [401] * 4
        response = await client.get("/api/records/contact")
        _assert_limited(response, 4)
        # Bad credentials count as anonymous too: guessing tokens is not free.
        _assert_limited(await client.get("/api/records/contact", headers=bearer("guess")), 4)
        _assert_limited(await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": "x"}), 4)


async def test_anonymous_limit_never_replaces_the_login_limit(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings(rate_limit_anonymous="100/minute", rate_limit_login="2/15minutes")) as client:
        for _ in range(2):
            response = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": "nope-nope"})
            assert response.status_code == 401
            assert response.headers["x-ratelimit-limit"] == "2"  # the tightest budget is shown
        _assert_limited(await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": "x"}), 2)


async def test_rate_limit_headers_on_ordinary_responses(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/records/contact", headers=auth)
    assert response.headers["x-ratelimit-limit"] == "300"
    assert 0 <= int(response.headers["x-ratelimit-remaining"]) < 300
    reset = int(response.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61
    assert "x-ratelimit-limit" not in (await client.get("/api/health")).headers


async def test_a_burst_straddling_a_window_boundary_gets_no_second_budget(
    make_settings: Callable[..., Settings],
) -> None:
    """3 per 2 s: one hit at t0 (just after a clock boundary), two at t0+1.5 s, then a burst at t0+2.1 s.

    A fixed window (anchored at the clock or at the first hit) would start afresh at t0+2 and take 3 more,
    so 5 requests would pass within 0.6 s. The moving window still holds the two hits of t0+1.5: one passes.
    """
    async with gateway(make_settings(rate_limit_authenticated="3/2second")) as client:
        admin = bearer(await _token(client))  # the login itself is anonymous: it spends no user budget
        await asyncio.sleep(2 - time.time() % 2 + 0.02)
        assert (await client.get("/api/records/contact", headers=admin)).status_code == 200
        t0 = time.monotonic()  # the first hit was counted before this instant
        await asyncio.sleep(1.5)
        for _ in range(2):
            assert (await client.get("/api/records/contact", headers=admin)).status_code == 200
        await asyncio.sleep(max(0.0, t0 + 2.1 - time.monotonic()))
        assert (await client.get("/api/records/contact", headers=admin)).status_code == 200
        _assert_limited(await client.get("/api/records/contact", headers=admin), 3)
        await asyncio.sleep(2.0)  # the whole window has moved on
        assert (await client.get("/api/records/contact", headers=admin)).status_code == 200


async def test_graphql_spends_the_same_budget_as_rest(make_settings: Callable[..., Settings]) -> None:
    async with gateway(make_settings(rate_limit_authenticated="3/minute")) as client:
        headers = bearer(await _token(client))
        assert (await client.get("/api/records/contact", headers=headers)).status_code == 200
        graphql = await client.post("/api/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert graphql.status_code == 200, graphql.text
        assert graphql.headers["x-ratelimit-remaining"] == "1"
        assert (await client.get("/api/records/contact", headers=headers)).status_code == 200
        limited = await client.post("/api/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert limited.status_code == 429
        assert limited.headers["x-ratelimit-remaining"] == "0" and int(limited.headers["retry-after"]) >= 1


async def test_an_unusable_counter_store_stops_startup(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(rate_limit_storage="bogus://somewhere"))
    with pytest.raises(RuntimeError, match="HARI_RATE_LIMIT_STORAGE"):
        async with LifespanManager(app, startup_timeout=60):
            pass
