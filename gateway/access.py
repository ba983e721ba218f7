"""Turns a request's Host, headers and client into a service Context: workspace, principal, limits.

REST (``rest.deps``) and GraphQL (``graph``) both call ``build_context``, so a caller is
authenticated and rate-limited the same way whichever API it uses. Call it once per request:
each call counts one hit against the caller's budget.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from gateway import ratelimit
from gateway.errors import BadRequest, NotFound, Unauthorized, field_error
from gateway.runtime import Runtime
from gateway.services.api_keys import authenticate_key
from gateway.services.context import Context, Principal
from gateway.services.users import find_user
from gateway.services.workspaces import open_workspace
from gateway.tokens import API_KEY_PREFIX, decode_access_token
from storage.workspace import WorkspaceStore

INVALID_TOKEN = "Invalid or expired access token."


def host_workspace(host: str | None, base_domains: list[str]) -> str | None:
    """``acme`` for ``acme.<base domain>[:port]``; None for a bare domain, an IP address or another host."""
    hostname = (host or "").strip().lower()
    if hostname.startswith("["):  # [::1]:8000
        return None
    hostname = hostname.rsplit(":", 1)[0] if hostname.count(":") == 1 else hostname
    try:
        ipaddress.ip_address(hostname)
        return None
    except ValueError:
        pass
    for base in base_domains:
        suffix = "." + base.lower()
        if hostname.endswith(suffix):
            label = hostname[: -len(suffix)]
            if label and "." not in label:
                return label
    return None


def workspace_name(host: str | None, header: str | None, default: str, base_domains: list[str]) -> str:
    """The Host's workspace label, else ``X-Workspace``, else the default; a Host and header that disagree are 400."""
    from_host = host_workspace(host, base_domains)
    from_header = header.strip().lower() if header and header.strip() else None
    if from_host and from_header and from_host != from_header:
        raise BadRequest(
            f"X-Workspace '{from_header}' contradicts the host's workspace '{from_host}'.",
            details=[field_error("X-Workspace", "Omit it, or name the host's workspace.")],
        )
    return from_host or from_header or default


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'.")
    return token.strip()


async def authenticate(runtime: Runtime, ws: WorkspaceStore, token: str) -> Principal:
    """The principal behind a JWT access token or a ``hari_`` API key of this workspace; 401 otherwise.

    The user is loaded on every request, so deactivation, demotion and "log out everywhere" apply at once.
    """
    settings = runtime.settings
    if token.startswith(API_KEY_PREFIX):
        return await authenticate_key(ws, token, settings.api_key_touch_seconds)
    claims = decode_access_token(token, secret=runtime.jwt_secret, algorithm=settings.jwt_algorithm)
    if claims is None or claims.get("ws") != ws.name:
        raise Unauthorized(INVALID_TOKEN)
    user = await find_user(ws, str(claims["sub"]))
    if user is None or not user.active:
        raise Unauthorized("This account is deactivated or no longer exists.")
    if claims.get("ver", 0) != user.token_version:
        raise Unauthorized("This session has ended; log in again.")
    return Principal(user_id=str(user.id), email=user.email, role=user.role, workspace=ws.name)


async def build_context(
    runtime: Runtime,
    headers: Mapping[str, str],
    client_ip: str | None,
    request_id: str | None = None,
) -> Context:
    """Resolve workspace and (optional) principal, and count the request against its rate limit.

    Authenticated callers spend their per-user budget; anonymous ones, and any request whose
    credentials fail, spend the per-IP budget. Anonymous contexts fail later at ``ctx.require``.
    """
    settings = runtime.settings
    authorization = headers.get("authorization")
    if not authorization:
        await ratelimit.hit_anonymous(runtime, client_ip)
    try:
        token = bearer_token(authorization)
        name = workspace_name(
            headers.get("host"), headers.get("x-workspace"), settings.default_workspace, settings.base_domains
        )
        ws = await open_workspace(runtime, name)
        principal = await authenticate(runtime, ws, token) if token else None
    except (Unauthorized, NotFound, BadRequest):
        if authorization:  # failed credentials (or no workspace for them) spend the per-IP budget too
            await ratelimit.hit_anonymous(runtime, client_ip)
        raise
    if principal is not None:
        await ratelimit.hit_user(runtime, ws.name, principal.user_id)
    return Context(runtime=runtime, ws=ws, principal=principal, request_id=request_id, client_ip=client_ip)
