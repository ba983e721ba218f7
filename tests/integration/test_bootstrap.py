"""The bootstrap admin from HARI_ADMIN_EMAIL / HARI_ADMIN_PASSWORD."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


async def _login_status(settings, email: str, password: str) -> int:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c:
            return (await c.post("/api/auth/login", json={"email": email, "password": password})).status_code


async def test_bootstrap_admin_is_created_once_and_never_overwritten(make_settings) -> None:
    assert await _login_status(make_settings(), ADMIN_EMAIL, ADMIN_PASSWORD) == 200
    # A later start with another configured password must not reset the existing admin.
    changed = make_settings(admin_password="another-password-9")
    assert await _login_status(changed, ADMIN_EMAIL, "another-password-9") == 401
    assert await _login_status(changed, ADMIN_EMAIL, ADMIN_PASSWORD) == 200


async def test_no_admin_without_configuration(make_settings) -> None:
    settings = make_settings(admin_email=None, admin_password=None)
    assert await _login_status(settings, ADMIN_EMAIL, ADMIN_PASSWORD) == 401
