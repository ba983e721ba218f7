"""Webhook signatures: ``X-Hari-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">``.

Signing the timestamp with the body lets receivers refuse replays of an old delivery
(check ``X-Hari-Timestamp`` is recent), as Stripe's scheme does.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SCHEME = "sha256"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Hari-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and ``timestamp`` is within ``tolerance`` of now."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header.strip())
