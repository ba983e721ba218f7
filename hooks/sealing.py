"""Encrypts webhook signing secrets at rest.

The gateway needs the plain secret to compute each HMAC, so it cannot store a hash; it
stores the secret sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived by
HKDF from ``HARI_WEBHOOK_SECRET_KEY`` or, when unset, the JWT secret. A database dump
alone therefore does not reveal any secret.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "SecretBox"]


class SecretBox:
    def __init__(self, key_material: str) -> None:
        if not key_material:
            raise ValueError("SecretBox needs key material")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hari-webhook-secrets", info=b"v1").derive(
            key_material.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plain secret; raises ``InvalidToken`` when sealed under another key."""
        return self._fernet.decrypt(sealed.encode()).decode()
