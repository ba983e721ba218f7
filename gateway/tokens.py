"""Access tokens: HS256 JWTs carrying user, role and workspace. The algorithm is fixed server-side."""

from __future__ import annotations

import time
from typing import Any

import jwt


def issue_access_token(*, secret: str, algorithm: str, user_id: str, role: str, workspace: str, ttl: int) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "role": role, "ws": workspace, "iat": now, "exp": now + ttl, "typ": "access"}
    return jwt.encode(claims, secret, algorithm=algorithm)


def decode_access_token(token: str, *, secret: str, algorithm: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token signed with our key and algorithm; None otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[algorithm], options={"require": ["exp", "iat", "sub", "ws"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == "access" else None
