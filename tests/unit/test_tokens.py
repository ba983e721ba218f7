"""Access tokens, refresh tokens and API keys as pure functions."""

from __future__ import annotations

import base64
import json
import re
import time

import jwt
import pytest

from gateway.tokens import (
    api_key_prefix,
    decode_access_token,
    digest,
    issue_access_token,
    new_api_key,
    new_refresh_token,
)

SECRET = "unit-test-secret-" + "z" * 48


def _issue(**overrides: object) -> str:
    values: dict = {"secret": SECRET, "algorithm": "HS256", "user_id": "u1", "role": "editor", "workspace": "acme"}
    values.update(ttl=60, version=3)
    values.update(overrides)
    return issue_access_token(**values)


def test_round_trip_carries_user_role_workspace_and_version() -> None:
    claims = decode_access_token(_issue(), secret=SECRET, algorithm="HS256")
    assert claims is not None
    assert (claims["sub"], claims["role"], claims["ws"], claims["ver"], claims["typ"]) == (
        "u1",
        "editor",
        "acme",
        3,
        "access",
    )
    assert claims["exp"] - claims["iat"] == 60


def test_wrong_key_is_refused() -> None:
    assert decode_access_token(_issue(secret="another-" + "k" * 48), secret=SECRET, algorithm="HS256") is None


def test_the_servers_algorithm_wins_over_the_tokens_header() -> None:
    token = _issue(algorithm="HS512")
    assert decode_access_token(token, secret=SECRET, algorithm="HS256") is None
    assert decode_access_token(token, secret=SECRET, algorithm="HS512") is not None


def test_alg_none_is_refused() -> None:
    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": "u1", "role": "admin", "ws": "acme", "iat": now, "exp": now + 60, "typ": "access"}
    assert decode_access_token(f"{b64({'alg': 'none'})}.{b64(claims)}.", secret=SECRET, algorithm="HS256") is None


def test_expired_token_is_refused() -> None:
    assert decode_access_token(_issue(ttl=-1), secret=SECRET, algorithm="HS256") is None


@pytest.mark.parametrize("missing", ["exp", "sub", "ws", "typ"])
def test_tokens_missing_a_required_claim_are_refused(missing: str) -> None:
    now = int(time.time())
    claims = {"sub": "u1", "ws": "acme", "iat": now, "exp": now + 60, "typ": "access"}
    del claims[missing]
    assert decode_access_token(jwt.encode(claims, SECRET, algorithm="HS256"), secret=SECRET, algorithm="HS256") is None


def test_a_token_of_another_type_is_refused() -> None:
    now = int(time.time())
    claims = {"sub": "u1", "ws": "acme", "iat": now, "exp": now + 60, "typ": "refresh"}
    assert decode_access_token(jwt.encode(claims, SECRET, algorithm="HS256"), secret=SECRET, algorithm="HS256") is None


def test_api_keys_and_refresh_tokens_are_high_entropy_and_distinct() -> None:
    keys = {new_api_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(re.fullmatch(r"hari_[0-9a-f]{48}", k) for k in keys)
    key = next(iter(keys))
    assert api_key_prefix(key) == key[:13] and len(api_key_prefix(key)) == 13
    assert len(new_refresh_token()) >= 43 and new_refresh_token() != new_refresh_token()


def test_digest_is_sha256_hex() -> None:
    assert digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_short_jwt_secret_is_refused_at_startup() -> None:
    from pydantic import ValidationError

    from gateway.config import Settings

    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(_env_file=None, jwt_secret="secret")  # type: ignore[call-arg]
    assert Settings(_env_file=None, jwt_secret="s" * 32).jwt_secret is not None  # type: ignore[call-arg]
