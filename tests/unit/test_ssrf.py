"""Which webhook targets are refused, and that the delivery resolver refuses them too."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from hooks import ssrf
from hooks.delivery import Outcome, Sender, retry_after_seconds
from hooks.worker import Policy, write_happened


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "::1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.1.1",
        "fe80::1",
        "fc00::1",
        "100.64.0.1",
        "0.0.0.0",
        "::",
        "224.0.0.251",
        "ff02::1",
        "240.0.0.1",
        "::ffff:10.0.0.1",
        "2002:c0a8:0101::1",  # 6to4 wrapping 192.168.1.1
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert ssrf.address_refusal(address) is not None
    assert ssrf.address_refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"])
def test_metadata_addresses_are_refused_even_when_private_is_allowed(address: str) -> None:
    assert "metadata" in (ssrf.address_refusal(address, allow_private=True) or "")


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert ssrf.address_refusal(address) is None


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "gopher://x", "http://", "http://user:pw@example.com/", "http://[::1"],
)
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(ssrf.TargetRefused):
        ssrf.parse_target(url)


def test_parse_target_and_origin() -> None:
    assert ssrf.parse_target("https://Hooks.Example.com/x?y=1") == ("https", "hooks.example.com", 443)
    assert ssrf.origin("http://example.com:8080/a") == "http://example.com:8080"


async def test_check_target_resolves_names() -> None:
    with pytest.raises(ssrf.TargetRefused, match="loopback"):
        await ssrf.check_target("http://localhost:9/x", allow_private=False)
    await ssrf.check_target("http://localhost:9/x", allow_private=True)
    with pytest.raises(ssrf.TargetRefused, match="loopback"):
        await ssrf.check_target("http://2130706433/x", allow_private=False)  # 127.0.0.1 as a decimal number


class _Rebinding(AbstractResolver):
    """A DNS answer that changed since subscribe time: the name now points at loopback."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host="93.184.215.14", port=port, family=socket.AF_INET, proto=0, flags=0),
            ResolveResult(hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0, flags=0),
        ]

    async def close(self) -> None:
        pass


async def test_guarded_resolver_refuses_a_host_with_any_bad_address() -> None:
    resolver = ssrf.GuardedResolver(allow_private=False, inner=_Rebinding())
    with pytest.raises(ssrf.TargetRefused, match=r"127\.0\.0\.1"):
        await resolver.resolve("hooks.example.com", 443)
    allowed = ssrf.GuardedResolver(allow_private=True, inner=_Rebinding())
    assert len(await allowed.resolve("hooks.example.com", 443)) == 2


async def test_sender_refuses_private_targets_without_connecting() -> None:
    sender = Sender(allow_private=False)
    try:
        for url in ("http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x"):
            outcome = await sender.send(url, "s" * 20, "post_save", "e1", "{}", timeout_seconds=2)
            assert outcome.status is None
            assert outcome.error is not None and outcome.error.startswith("refused:"), outcome.error
            assert not outcome.retryable
    finally:
        await sender.close()


def test_outcome_classification() -> None:
    assert Outcome(status=204).ok
    assert Outcome(status=503).retryable and Outcome(status=429).retryable and Outcome(status=408).retryable
    assert not Outcome(status=400).retryable and not Outcome(status=404).retryable
    assert Outcome(status=410).gone and not Outcome(status=410).retryable
    assert Outcome(error="timeout after 2s").retryable
    assert Outcome(status=422, body=b'{"error": {"message": "nope"}}').message() == "nope"
    assert Outcome(status=422, body=b'{"message": "no"}').message() == "no"
    assert Outcome(status=422, body=b"plain").message() == "plain"


def test_retry_after_forms() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None
    assert 0 <= (retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") or 0) == 0


def test_backoff_follows_the_schedule_with_jitter_and_retry_after() -> None:
    policy = Policy(retry_schedule=[5, 30, 120])
    assert policy.max_attempts == 4
    for attempts, base in ((1, 5), (2, 30), (3, 120)):
        for _ in range(50):
            assert base * 0.8 <= policy.backoff(attempts) <= base * 1.2
    assert policy.backoff(1, retry_after=600) >= 600
    assert policy.backoff(1, retry_after=10**9) <= 24 * 3600


def test_write_happened() -> None:
    current = {"_id": "x", "first_name": "A", "updated_at": None}
    assert write_happened("create", {"first_name": "A"}, current)
    assert not write_happened("create", {"first_name": "A"}, None)
    assert write_happened("delete", {"first_name": "A"}, None)
    assert not write_happened("delete", {"first_name": "A"}, current)
    assert write_happened("update", {"id": "x", "first_name": "A", "updated_at": "later"}, current)
    assert not write_happened("update", {"first_name": "B"}, current)
