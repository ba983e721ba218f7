"""Turns a request's Host, headers and client into a service Context: workspace, principal, limits.

REST (``rest.deps``) and GraphQL (``graph``) both call ``build_context``, so a caller is
authenticated the same way whichever API it uses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from bson import ObjectId
from bson.errors import InvalidId

from gateway.errors import Unauthorized
from gateway.runtime import Runtime
from gateway.services.context import Context, Principal
from gateway.services.workspaces import open_workspace
from gateway.tokens import decode_access_token
from storage.documents import User
from storage.workspace import WorkspaceStore

API_KEY_PREFIX = "hari_"


def workspace_name(host: str | None, header: str | None, default: str, base_domains: list[str]) -> str:
    """``X-Workspace`` if sent; else ``acme`` for ``acme.<base domain>``; else the default workspace."""
    if header:
        return header.strip().lower()
    hostname = (host or "").strip().lower()
    if hostname.startswith("["):  # [::1]:8000
        return default
    hostname = hostname.rsplit(":", 1)[0] if hostname.count(":") == 1 else hostname
    try:
        ipaddress.ip_address(hostname)
        return default
    except ValueError:
        pass
    for base in base_domains:
        suffix = "." + base.lower()
        if hostname.endswith(suffix):
            label = hostname[: -len(suffix)]
            if label and "." not in label:
                return label
    return default


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'.")
    return token.strip()


async def authenticate(runtime: Runtime, ws: WorkspaceStore, token: str) -> Principal:
    """The principal behind a JWT access token or a ``hari_`` API key of this workspace; 401 otherwise."""
    if token.startswith(API_KEY_PREFIX):
        raise Unauthorized("Invalid API key.")
    settings = runtime.settings
    claims = decode_access_token(token, secret=runtime.jwt_secret, algorithm=settings.jwt_algorithm)
    if claims is None or claims.get("ws") != ws.name:
        raise Unauthorized("Invalid or expired access token.")
    user = await _active_user(ws, str(claims["sub"]))
    return Principal(user_id=str(user.id), email=user.email, role=user.role, workspace=ws.name)


async def _active_user(ws: WorkspaceStore, user_id: str) -> User:
    try:
        oid = ObjectId(user_id)
    except (InvalidId, TypeError):
        raise Unauthorized("Invalid or expired access token.") from None
    user = await ws.model(User).get(oid)
    if user is None or not user.active:
        raise Unauthorized("This account is deactivated or no longer exists.")
    return user


async def build_context(
    runtime: Runtime,
    headers: Mapping[str, str],
    client_ip: str | None,
    request_id: str | None = None,
) -> Context:
    """Resolve workspace and (optional) principal. Anonymous contexts fail at ``ctx.require``."""
    settings = runtime.settings
    name = workspace_name(
        headers.get("host"), headers.get("x-workspace"), settings.default_workspace, settings.base_domains
    )
    ws = await open_workspace(runtime, name)
    token = bearer_token(headers.get("authorization"))
    principal = await authenticate(runtime, ws, token) if token else None
    return Context(runtime=runtime, ws=ws, principal=principal, request_id=request_id, client_ip=client_ip)
