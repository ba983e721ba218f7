"""Access tokens (HS256 JWTs carrying user, role, workspace and session version), refresh tokens and API keys.

The JWT algorithm is fixed server-side: a token's own ``alg`` header is never trusted, so ``alg: none``
and tokens signed with another key fail. Refresh tokens and API keys are opaque, high-entropy
strings; only their SHA-256 is stored (a slow hash buys nothing for 256 random bits).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import jwt

API_KEY_PREFIX = "hari_"
API_KEY_DISPLAY_CHARS = 8  # characters after ``hari_`` kept in clear to tell keys apart in listings


def issue_access_token(
    *, secret: str, algorithm: str, user_id: str, role: str, workspace: str, ttl: int, version: int = 0
) -> str:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "role": role,
        "ws": workspace,
        "ver": version,
        "iat": now,
        "exp": now + ttl,
        "typ": "access",
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=algorithm)


def decode_access_token(token: str, *, secret: str, algorithm: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token signed with our key and algorithm; None otherwise."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[algorithm], options={"require": ["exp", "iat", "sub", "ws", "typ"]}
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == "access" else None


def digest(secret: str) -> str:
    """The stored form of a refresh token or an API key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    """``hari_`` + 48 hex characters (192 random bits)."""
    return API_KEY_PREFIX + secrets.token_hex(24)


def api_key_prefix(key: str) -> str:
    """The part shown in listings, e.g. ``hari_1a2b3c4d``."""
    return key[: len(API_KEY_PREFIX) + API_KEY_DISPLAY_CHARS]
