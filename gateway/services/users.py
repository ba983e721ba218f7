"""Users of a workspace: the admin-only CRUD, plus creation without a check for the bootstrap admin and the CLI.

DELETE deactivates rather than removes: records keep meaningful ``created_by`` ids, the email stays
reserved, and an admin can reactivate the account. Deactivation, a password change or "log out
everywhere" bump ``token_version`` and revoke refresh tokens, so access tokens, refresh tokens and
API keys of the user stop working on the next request.

A user document is only ever changed by ``write_user``: a targeted ``$set``/``$inc``, never a whole-document
save, so an admin's edit cannot put back a ``token_version`` that a logout moved on. FerretDB v1.24 still
rewrites the whole stored document for a ``$set`` (read, then write), so the write also holds the user's claim
(storage/claims.py): one writer of a given user at a time, on FerretDB as on MongoDB.
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
CLAIM_LEASE = timedelta(seconds=30)  # a holder that died lets go after this
CLAIM_ATTEMPTS = 10
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


async def write_user(
    ws: WorkspaceStore,
    user_id: ObjectId,
    fields: dict[str, Any],
    *,
    end_sessions: bool = False,
    expect: dict[str, Any] | None = None,
) -> Any | None:
    """``$set`` only ``fields`` (and ``$inc`` ``token_version`` to end every session); the user as stored after.

    ``expect`` adds conditions (compare-and-set, exact under the claim); None when they no longer hold.
    Ending sessions also revokes the user's refresh tokens (API keys are not sessions).
    """
    update: dict[str, Any] = {}
    if fields:
        update["$set"] = fields
    if end_sessions:
        update["$inc"] = {"token_version": 1}
    model = ws.model(User)
    async with _claimed(ws, f"users:write:{user_id}", "This user is being changed right now; try again."):
        if update:
            result = await model.get_pymongo_collection().update_one({**(expect or {}), "_id": user_id}, update)
            if result.matched_count == 0:
                return None
        if end_sessions:
            await (
                ws.model(RefreshToken)
                .get_pymongo_collection()
                .update_many({"user_id": str(user_id), "revoked_at": None}, {"$set": {"revoked_at": utcnow()}})
            )
        return await model.get(user_id)


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
    """Apply the fields sent (email, name, role, active, password), and only those."""
    ctx.require(Permission.users_manage)
    user = await _existing(ctx, user_id)
    model = ctx.ws.model(User)
    fields: dict[str, Any] = {}
    if "email" in changes and changes["email"] is not None:
        email = _valid_email(changes["email"])
        other = await model.find_one(model.email == email)
        if other is not None and other.id != user.id:
            raise Conflict(f"A user with email '{email}' already exists.", details=[field_error("email", "Taken.")])
        fields["email"] = email
    if "name" in changes:
        fields["name"] = changes["name"]
    new_role = changes.get("role")
    if new_role is not None:
        fields["role"] = Role(new_role).value
    new_active = changes.get("active")
    if new_active is not None:
        fields["active"] = bool(new_active)
    if changes.get("password") is not None:  # hashed before any claim is held: it is the slow part
        fields["password_hash"] = await ctx.runtime.passwords.hash_async(valid_password(changes["password"]))
    end = "password_hash" in fields or new_active is False
    losing_admin = (
        user.role == Role.admin
        and user.active
        and ((new_role is not None and new_role != Role.admin) or new_active is False)
    )
    if not losing_admin:
        return await _apply(ctx, user.id, fields, end)
    # Two admins demoted at once must not each count the other as the one that remains: one such change at a time.
    async with _admin_change(ctx):
        await _keep_an_admin(ctx, user.id)
        return await _apply(ctx, user.id, fields, end)


async def _apply(ctx: Context, user_id: ObjectId, fields: dict[str, Any], end: bool) -> dict[str, Any]:
    try:
        user = await write_user(ctx.ws, user_id, {**fields, "updated_at": utcnow()}, end_sessions=end)
    except DuplicateKeyError:
        raise Conflict("A user with this email already exists.", details=[field_error("email", "Taken.")]) from None
    if user is None:
        raise NotFound(f"No user with id '{user_id}'.", code="user_not_found")
    return user_view(user)


async def deactivate_user(ctx: Context, user_id: str) -> None:
    """DELETE /api/users/{id}: the account is deactivated (kept, reversible); its tokens and keys stop at once."""
    await update_user(ctx, user_id, {"active": False})


async def _existing(ctx: Context, user_id: str) -> Any:
    user = await find_user(ctx.ws, user_id)
    if user is None:
        raise NotFound(f"No user with id '{user_id}'.", code="user_not_found")
    return user


def _admin_change(ctx: Context) -> contextlib.AbstractAsyncContextManager[None]:
    """Hold the workspace's "admin-change" claim (an insert, exclusive on FerretDB too; see storage/claims.py)."""
    return _claimed(ctx.ws, ADMIN_CHANGE, "Another admin is being changed right now; try again.")


@contextlib.asynccontextmanager
async def _claimed(ws: WorkspaceStore, key: str, busy: str) -> AsyncIterator[None]:
    """Hold the claim ``key`` (waiting a little for its holder); 409 when it stays taken."""
    for attempt in range(CLAIM_ATTEMPTS):
        if await ws.claims.take(key, lease=CLAIM_LEASE):
            break
        await asyncio.sleep(0.05 * (attempt + 1))
    else:
        raise Conflict(busy, code="concurrent_update")
    try:
        yield
    finally:
        await ws.claims.release(key)


async def _keep_an_admin(ctx: Context, leaving: ObjectId) -> None:
    model = ctx.ws.model(User)
    others = await model.find({"role": Role.admin.value, "active": True, "_id": {"$ne": leaving}}).count()
    if others == 0:
        raise Conflict("This is the last active admin of the workspace; promote another user first.", code="last_admin")
