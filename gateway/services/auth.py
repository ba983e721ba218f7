"""Login and tokens. Refresh, logout and API keys grow here."""

from __future__ import annotations

from typing import Any

from gateway.errors import Unauthorized
from gateway.services.context import Context
from gateway.services.users import normalize_email
from gateway.tokens import issue_access_token
from storage.documents import User

INVALID_LOGIN = "Invalid email or password."


async def login(ctx: Context, email: str, password: str) -> dict[str, Any]:
    settings = ctx.runtime.settings
    passwords = ctx.runtime.passwords
    model = ctx.ws.model(User)
    user = await model.find_one(model.email == normalize_email(email))
    # Verify against a dummy hash for unknown emails so both failures look and cost the same.
    ok = passwords.verify(user.password_hash if user else passwords.dummy_hash, password)
    if user is None or not ok or not user.active:
        raise Unauthorized(INVALID_LOGIN, code="invalid_credentials")
    access = issue_access_token(
        secret=ctx.runtime.jwt_secret,
        algorithm=settings.jwt_algorithm,
        user_id=str(user.id),
        role=user.role.value,
        workspace=ctx.ws.name,
        ttl=settings.access_token_ttl_seconds,
    )
    return {"access_token": access, "token_type": "bearer", "expires_in": settings.access_token_ttl_seconds}
