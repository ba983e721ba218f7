"""``hari_`` API keys: shown once at creation, stored as SHA-256 + a short prefix, acting as their creator.

A key has no role of its own: every request loads the creator and uses its current role, so a
demoted or deactivated creator's keys follow at once. Revocation deletes the key, so it fails on
the next request. ``last_used_at`` is written at most once per ``api_key_touch_seconds``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.errors import NotFound, Unauthorized, ValidationFailed, field_error
from gateway.services.context import Context, Permission, Principal
from gateway.services.users import find_user
from gateway.tokens import api_key_prefix, digest, new_api_key
from storage.documents import ApiKey, utcnow
from storage.records import iso, parse_id
from storage.workspace import WorkspaceStore

MAX_NAME_LENGTH = 100
INVALID_KEY = "Invalid or revoked API key."


def key_view(key: Any) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix,
        "user_id": key.user_id,
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at) if key.last_used_at else None,
    }


async def create_key(ctx: Context, name: str) -> dict[str, Any]:
    """A new key for the caller; the secret is in the answer and nowhere else."""
    principal = ctx.require(Permission.api_keys_own)
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValidationFailed(
            "Invalid key name.", details=[field_error("name", f"1 to {MAX_NAME_LENGTH} characters.")]
        )
    secret = new_api_key()
    key = ctx.ws.model(ApiKey)(
        name=name, prefix=api_key_prefix(secret), key_hash=digest(secret), user_id=principal.user_id
    )
    await key.insert()
    view = key_view(key)
    return {"id": view.pop("id"), "name": view.pop("name"), "key": secret, **view}


async def list_keys(ctx: Context) -> list[dict[str, Any]]:
    """Admins see every key of the workspace; others their own."""
    principal = ctx.require(Permission.api_keys_own)
    model = ctx.ws.model(ApiKey)
    query = (
        model.find_all() if principal.can(Permission.api_keys_all) else model.find(model.user_id == principal.user_id)
    )
    return [key_view(k) for k in await query.sort("created_at").to_list()]


async def revoke_key(ctx: Context, key_id: str) -> None:
    """Delete a key (an admin: any; others: their own; someone else's is a 404, its existence is not revealed)."""
    principal = ctx.require(Permission.api_keys_own)
    model = ctx.ws.model(ApiKey)
    oid = parse_id(key_id)
    key = await model.get(oid) if oid else None
    if key is None or (key.user_id != principal.user_id and not principal.can(Permission.api_keys_all)):
        raise NotFound(f"No API key with id '{key_id}'.", code="api_key_not_found")
    await key.delete()


async def authenticate_key(ws: WorkspaceStore, secret: str, touch_seconds: int) -> Principal:
    """The principal a key of this workspace acts as: its creator, with the creator's current role."""
    model = ws.model(ApiKey)
    key = await model.find_one(model.key_hash == digest(secret))
    if key is None:
        raise Unauthorized(INVALID_KEY)
    user = await find_user(ws, key.user_id)
    if user is None or not user.active:
        raise Unauthorized("The user behind this API key is deactivated or no longer exists.")
    await _touch(ws, key, touch_seconds)
    return Principal(
        user_id=str(user.id), email=user.email, role=user.role, workspace=ws.name, via="api_key", key_id=str(key.id)
    )


async def _touch(ws: WorkspaceStore, key: Any, touch_seconds: int) -> None:
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < timedelta(seconds=touch_seconds):
        return
    await ws.model(ApiKey).get_pymongo_collection().update_one({"_id": key.id}, {"$set": {"last_used_at": now}})
