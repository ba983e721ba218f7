"""Users of a workspace: the admin-only CRUD, plus creation without a check for the bootstrap admin and the CLI.

DELETE deactivates rather than removes: records keep meaningful ``created_by`` ids, the email stays
reserved, and an admin can reactivate the account. Deactivation, a password change or "log out
everywhere" bump ``token_version`` and revoke refresh tokens, so access tokens, refresh tokens and
API keys of the user stop working on the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from bson import ObjectId
from email_validator import EmailNotValidError, validate_email
from pymongo.errors import DuplicateKeyError

from gateway.errors import Conflict, NotFound, ValidationFailed, field_error
from gateway.passwords import Passwords
from gateway.services.context import Context, Permission
from storage.documents import RefreshToken, Role, User, utcnow
from storage.records import iso, parse_id
from storage.workspace import WorkspaceStore

MIN_PASSWORD_LENGTH = 8
ADMIN_CHANGE = "users:admin-change"
ADMIN_CHANGE_LEASE = timedelta(seconds=30)  # a holder that died lets go after this
ADMIN_CHANGE_ATTEMPTS = 10
MAX_PASSWORD_LENGTH = 1024  # Argon2 accepts more, but nobody needs it and it bounds the hashing cost


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _valid_email(email: str) -> str:
    try:
        validate_email(email, check_deliverability=False, test_environment=True, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("Invalid email.", details=[field_error("email", str(exc))]) from None
    return normalize_email(email)


def valid_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            "Invalid password.",
            details=[field_error("password", f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.")],
        )
    return password


def user_view(user: Any) -> dict[str, Any]:
    """A user as the API shows it (never the password hash)."""
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "active": user.active,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }


async def create_user_in(
    ws: WorkspaceStore, passwords: Passwords, *, email: str, password: str, role: Role, name: str | None = None
) -> Any:
    """Create a user without a permission check: for the bootstrap admin, the CLI and admin services."""
    email = _valid_email(email)
    valid_password(password)
    model = ws.model(User)
    if await model.find_one(model.email == email) is not None:
        raise Conflict(f"A user with email '{email}' already exists.", details=[field_error("email", "Taken.")])
    user = model(email=email, password_hash=await passwords.hash_async(password), role=role, name=name)
    try:
        await user.insert()
    except DuplicateKeyError:  # created concurrently
        raise Conflict(
            f"A user with email '{email}' already exists.", details=[field_error("email", "Taken.")]
        ) from None
    return user


async def ensure_bootstrap_admin(
    ws: WorkspaceStore, passwords: Passwords, email: str | None, password: str | None
) -> bool:
    """Create the configured admin when the workspace has no user at all. True when created."""
    if not email or not password:
        return False
    model = ws.model(User)
    if await model.find_one() is not None:
        return False
    try:
        await create_user_in(ws, passwords, email=email, password=password, role=Role.admin, name="Administrator")
    except Conflict:  # another process bootstrapped it first
        return False
    return True


async def find_user(ws: WorkspaceStore, user_id: str) -> Any | None:
    oid = parse_id(user_id)
    return await ws.model(User).get(oid) if oid else None


async def end_sessions(ws: WorkspaceStore, user: Any) -> None:
    """Every access token and refresh token of ``user`` stops working now (API keys are not sessions)."""
    user.token_version += 1
    tokens = ws.model(RefreshToken)
    await tokens.get_pymongo_collection().update_many(
        {"user_id": str(user.id), "revoked_at": None}, {"$set": {"revoked_at": utcnow()}}
    )


async def list_users(ctx: Context) -> list[dict[str, Any]]:
    ctx.require(Permission.users_manage)
    model = ctx.ws.model(User)
    return [user_view(u) for u in await model.find_all().sort("email").to_list()]


async def get_user(ctx: Context, user_id: str) -> dict[str, Any]:
    ctx.require(Permission.users_manage)
    return user_view(await _existing(ctx, user_id))


async def create_user(
    ctx: Context, *, email: str, password: str, role: Role = Role.viewer, name: str | None = None
) -> dict[str, Any]:
    ctx.require(Permission.users_manage)
    user = await create_user_in(ctx.ws, ctx.runtime.passwords, email=email, password=password, role=role, name=name)
    return user_view(user)


async def update_user(ctx: Context, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the fields sent (email, name, role, active, password)."""
    ctx.require(Permission.users_manage)
    user = await _existing(ctx, user_id)
    model = ctx.ws.model(User)
    if "email" in changes and changes["email"] is not None:
        email = _valid_email(changes["email"])
        other = await model.find_one(model.email == email)
        if other is not None and other.id != user.id:
            raise Conflict(f"A user with email '{email}' already exists.", details=[field_error("email", "Taken.")])
        user.email = email
    if "name" in changes:
        user.name = changes["name"]
    new_role = changes.get("role")
    new_active = changes.get("active")
    losing_admin = (
        user.role == Role.admin
        and user.active
        and ((new_role is not None and new_role != Role.admin) or new_active is False)
    )
    if not losing_admin:
        return await _apply(ctx, user, changes)
    # Two admins demoted at once must not each count the other as the one that remains: one such change at a time.
    async with _admin_change(ctx):
        await _keep_an_admin(ctx, user.id)
        return await _apply(ctx, user, changes)


async def _apply(ctx: Context, user: Any, changes: dict[str, Any]) -> dict[str, Any]:
    new_role = changes.get("role")
    new_active = changes.get("active")
    if new_role is not None:
        user.role = Role(new_role)
    if new_active is not None and new_active != user.active:
        user.active = bool(new_active)
        if not user.active:
            await end_sessions(ctx.ws, user)
    if changes.get("password") is not None:
        user.password_hash = await ctx.runtime.passwords.hash_async(valid_password(changes["password"]))
        await end_sessions(ctx.ws, user)
    user.updated_at = utcnow()
    try:
        await user.save()
    except DuplicateKeyError:
        raise Conflict("A user with this email already exists.", details=[field_error("email", "Taken.")]) from None
    return user_view(user)


async def deactivate_user(ctx: Context, user_id: str) -> None:
    """DELETE /api/users/{id}: the account is deactivated (kept, reversible); its tokens and keys stop at once."""
    await update_user(ctx, user_id, {"active": False})


async def _existing(ctx: Context, user_id: str) -> Any:
    user = await find_user(ctx.ws, user_id)
    if user is None:
        raise NotFound(f"No user with id '{user_id}'.", code="user_not_found")
    return user


@contextlib.asynccontextmanager
async def _admin_change(ctx: Context) -> AsyncIterator[None]:
    """Hold the workspace's "admin-change" claim (an insert, exclusive on FerretDB too; see storage/claims.py)."""
    for attempt in range(ADMIN_CHANGE_ATTEMPTS):
        if await ctx.ws.claims.take(ADMIN_CHANGE, lease=ADMIN_CHANGE_LEASE):
            break
        await asyncio.sleep(0.05 * (attempt + 1))
    else:
        raise Conflict("Another admin is being changed right now; try again.", code="concurrent_update")
    try:
        yield
    finally:
        await ctx.ws.claims.release(ADMIN_CHANGE)


async def _keep_an_admin(ctx: Context, leaving: ObjectId) -> None:
    model = ctx.ws.model(User)
    others = await model.find({"role": Role.admin.value, "active": True, "_id": {"$ne": leaving}}).count()
    if others == 0:
        raise Conflict("This is the last active admin of the workspace; promote another user first.", code="last_admin")
