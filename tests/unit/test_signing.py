"""Webhook signatures and the encryption of stored secrets."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hooks import signing
from hooks.sealing import InvalidToken, SecretBox


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":"e1","event":"post_save"}'
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signing.signature("whsec_abc", 1700000000, body) == f"sha256={expected}"
    assert signing.signature("whsec_abc", "1700000000", body) == f"sha256={expected}"


def test_verify_accepts_only_the_right_secret_body_and_a_recent_timestamp() -> None:
    body = b'{"a":1}'
    header = signing.signature("k" * 20, 1000, body)
    assert signing.verify("k" * 20, "1000", body, header, now=1000)
    assert signing.verify("k" * 20, "1000", body, header, now=1000 + 299)
    assert not signing.verify("k" * 20, "1000", body, header, now=1000 + 301)  # replayed too late
    assert not signing.verify("x" * 20, "1000", body, header, now=1000)
    assert not signing.verify("k" * 20, "1000", b'{"a":2}', header, now=1000)
    assert not signing.verify("k" * 20, "1001", body, header, now=1000)
    assert not signing.verify("k" * 20, "soon", body, header, now=1000)
    assert not signing.verify("k" * 20, "1000", body, "sha256=" + "0" * 64, now=1000)


def test_sealed_secrets_open_only_with_the_same_key() -> None:
    box = SecretBox("jwt-secret-one")
    sealed = box.seal("whsec_plain")
    assert "whsec_plain" not in sealed
    assert box.open(sealed) == "whsec_plain"
    assert SecretBox("jwt-secret-one").open(sealed) == "whsec_plain"
    with pytest.raises(InvalidToken):
        SecretBox("jwt-secret-two").open(sealed)
    with pytest.raises(ValueError):
        SecretBox("")
