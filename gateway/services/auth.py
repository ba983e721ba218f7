"""Login, refresh-token rotation, logout and "who am I".

Refresh tokens rotate on every use and are chained in a family (one per login). Presenting a
spent token means it was copied: the whole family is revoked, so both the thief and the victim
must log in again.

Spending a token is the insert of the claim "refresh:<hash>", and revoking a family first takes the claim
"revoked-family:<id>": on FerretDB a conditional update is not atomic, an insert under a unique ``_id`` is
(storage/claims.py). Of concurrent refreshes with one token exactly one gets a pair, the others are reuse; a pair
issued while its family was being revoked is revoked as well.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

from gateway import ratelimit
from gateway.errors import Conflict, Forbidden, Unauthorized
from gateway.services.context import ROLE_PERMISSIONS, Context, Principal
from gateway.services.users import find_user, normalize_email, user_view, valid_password, write_user
from gateway.tokens import digest, issue_access_token, new_refresh_token
from storage.documents import RefreshToken, User, utcnow

INVALID_LOGIN = "Invalid email or password."
INVALID_REFRESH = "Invalid, expired or revoked refresh token."


def authenticated(ctx: Context) -> Principal:
    """The caller, whatever its role; 401 when anonymous."""
    if ctx.principal is None:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token or hari_ key>'.")
    return ctx.principal


async def login(ctx: Context, email: str, password: str) -> dict[str, Any]:
    email = normalize_email(email)
    await ratelimit.hit_login(ctx, email)  # counted before checking, whether the email exists or not
    passwords = ctx.runtime.passwords
    model = ctx.ws.model(User)
    user = await model.find_one(model.email == email)
    # Verify against a dummy hash for unknown emails so both failures look and cost the same.
    ok = await passwords.verify_async(user.password_hash if user else passwords.dummy_hash, password)
    if user is None or not ok or not user.active:
        raise Unauthorized(INVALID_LOGIN, code="invalid_credentials")
    if passwords.needs_rehash(user.password_hash):  # Argon2 settings were raised since this hash was made
        await _rehash(ctx, user, password)
    await _purge_expired(ctx, str(user.id))
    return await _issue(ctx, user, family_id=uuid.uuid4().hex)


async def refresh(ctx: Context, token: str) -> dict[str, Any]:
    """Spend ``token`` for a new pair in the same family; a spent token revokes the family."""
    model = ctx.ws.model(RefreshToken)
    stored = await model.find_one(model.token_hash == digest(token))
    if stored is None or stored.revoked_at is not None:
        raise Unauthorized(INVALID_REFRESH, code="invalid_refresh_token")
    now = utcnow()
    if stored.used_at is not None:
        await _revoke_family(ctx, stored.family_id)
        raise Unauthorized(
            "This refresh token was already used; every token of its login has been revoked. Log in again.",
            code="refresh_token_reused",
        )
    if stored.expires_at <= now:
        raise Unauthorized(INVALID_REFRESH, code="invalid_refresh_token")
    if not await ctx.ws.claims.take(f"refresh:{stored.token_hash}", expires_at=stored.expires_at):
        await _revoke_family(ctx, stored.family_id)  # spent concurrently by someone else: the same reuse
        raise Unauthorized("This refresh token was already used.", code="refresh_token_reused")
    await model.get_pymongo_collection().update_one({"_id": stored.id}, {"$set": {"used_at": now}})
    user = await find_user(ctx.ws, stored.user_id)
    if user is None or not user.active:
        raise Unauthorized("This account is deactivated or no longer exists.")
    if stored.token_version is not None and stored.token_version != user.token_version:
        # Issued while its sessions were being ended (password change, log out everywhere) and missed by that.
        raise Unauthorized(INVALID_REFRESH, code="invalid_refresh_token")
    pair = await _issue(ctx, user, family_id=stored.family_id)
    # A revocation that started before the new token existed may have missed it; its claim is already there.
    # The pair is still returned, as when the revocation comes a moment later: its refresh token is dead.
    if await ctx.ws.claims.held(_revoked(stored.family_id)):
        await _revoke_family(ctx, stored.family_id)
    return pair


async def logout(ctx: Context, token: str | None) -> None:
    """With a refresh token: end that login (its family). Without: end every session of the caller now."""
    if token:
        model = ctx.ws.model(RefreshToken)
        stored = await model.find_one(model.token_hash == digest(token))
        if stored is not None:
            await _revoke_family(ctx, stored.family_id)
        return
    principal = authenticated(ctx)
    user = await find_user(ctx.ws, principal.user_id)
    if user is not None:
        await write_user(ctx.ws, user.id, {}, end_sessions=True)


async def change_password(ctx: Context, current_password: str, new_password: str) -> dict[str, Any]:
    """The caller changes its own password: every other session ends, and this one gets a fresh pair.

    Only with a login token (a leaked API key must not take the account over); the current password
    is checked under the login budget of the email, so it cannot be guessed faster than by logging in.
    """
    principal = authenticated(ctx)
    if principal.via != "jwt":
        raise Forbidden("Changing a password needs a login token, not an API key.")
    await ratelimit.hit_login(ctx, principal.email)
    user = await find_user(ctx.ws, principal.user_id)
    if user is None or not await ctx.runtime.passwords.verify_async(user.password_hash, current_password):
        raise Unauthorized("The current password is wrong.", code="invalid_credentials")
    new_hash = await ctx.runtime.passwords.hash_async(valid_password(new_password))
    # Only over the hash just verified: of two changes racing with one current password, the second is refused.
    changed = await write_user(
        ctx.ws,
        user.id,
        {"password_hash": new_hash, "updated_at": utcnow()},
        end_sessions=True,
        expect={"password_hash": user.password_hash},
    )
    if changed is None:
        raise Unauthorized("The current password is wrong.", code="invalid_credentials")
    return await _issue(ctx, changed, family_id=uuid.uuid4().hex)


async def me(ctx: Context) -> dict[str, Any]:
    principal = authenticated(ctx)
    user = await find_user(ctx.ws, principal.user_id)
    if user is None:
        raise Unauthorized("This account no longer exists.")
    return {
        **user_view(user),
        "workspace": ctx.ws.name,
        "auth": principal.via,
        "api_key_id": principal.key_id,
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
    }


async def _rehash(ctx: Context, user: Any, password: str) -> None:
    """Store a stronger hash of the password just verified, unless the password changed meanwhile (best effort)."""
    new_hash = await ctx.runtime.passwords.hash_async(password)
    with contextlib.suppress(Conflict):  # the user is being changed: rehash at a later login
        await write_user(ctx.ws, user.id, {"password_hash": new_hash}, expect={"password_hash": user.password_hash})


async def _issue(ctx: Context, user: Any, family_id: str) -> dict[str, Any]:
    settings = ctx.runtime.settings
    access = issue_access_token(
        secret=ctx.runtime.jwt_secret,
        algorithm=settings.jwt_algorithm,
        user_id=str(user.id),
        role=user.role.value,
        workspace=ctx.ws.name,
        ttl=settings.access_token_ttl_seconds,
        version=user.token_version,
    )
    secret = new_refresh_token()
    await ctx.ws.model(RefreshToken)(
        token_hash=digest(secret),
        family_id=family_id,
        user_id=str(user.id),
        token_version=user.token_version,
        expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
    ).insert()
    return {
        "access_token": access,
        "refresh_token": secret,
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }


def _revoked(family_id: str) -> str:
    return f"revoked-family:{family_id}"


async def _revoke_family(ctx: Context, family_id: str) -> None:
    """Revoke every token of the family, and any issued concurrently (``refresh`` checks the claim afterwards)."""
    ttl = timedelta(seconds=ctx.runtime.settings.refresh_token_ttl_seconds)
    await ctx.ws.claims.take(_revoked(family_id), expires_at=utcnow() + ttl)
    await (
        ctx.ws.model(RefreshToken)
        .get_pymongo_collection()
        .update_many({"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": utcnow()}})
    )


async def _purge_expired(ctx: Context, user_id: str) -> None:
    """No TTL index on FerretDB: drop this user's expired refresh tokens when they log in."""
    await (
        ctx.ws.model(RefreshToken)
        .get_pymongo_collection()
        .delete_many({"user_id": user_id, "expires_at": {"$lt": utcnow()}})
    )
    await ctx.ws.claims.purge_expired()
