"""Schemathesis fuzzes the live API from its own OpenAPI document, signed in as the admin.

The document an authenticated caller gets (generic and per-entity paths) is fetched from a real
gateway process and every operation is exercised with generated valid and invalid requests. The run
fails on any 5xx, any response whose status, content type, headers or body the document does not describe.
Bounded: a few examples per operation, a fixed seed so a failure reproduces.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.embedded_db import EmbeddedFerretDB
from tests.e2e.conftest import LiveGateway, live_env
from tests.support.server import GatewayProcess

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)
MAX_EXAMPLES = os.environ.get("HARI_FUZZ_EXAMPLES", "8")
SEED = os.environ.get("HARI_FUZZ_SEED", "20261204")
TIME_LIMIT_SECONDS = 420


@pytest.fixture(scope="module")
def fuzz_gateway(ferretdb: EmbeddedFerretDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    # Limits high enough that the fuzzer tests the API rather than the rate limiter (which has its own tests).
    env = live_env(
        ferretdb,
        HARI_RATE_LIMIT_AUTHENTICATED="100000/minute",
        HARI_RATE_LIMIT_LOGIN="100000/minute",
        HARI_RATE_LIMIT_BULK="100000/minute",
        HARI_RATE_LIMIT_ANONYMOUS="100000/minute",
    )
    log = tmp_path_factory.mktemp("fuzz") / "gateway.log"
    process = GatewayProcess(env, log_path=log).start(timeout=60)
    try:
        yield LiveGateway(process.url, process)
    finally:
        process.kill()


def test_fuzz_the_whole_api(fuzz_gateway: LiveGateway, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {fuzz_gateway.token()}"}
    # The fuzzer signs in with an admin API key: a fuzzed POST /api/auth/logout ends every JWT session.
    key = httpx.post(fuzz_gateway.url + "/api/settings/api-keys", json={"name": "fuzzer"}, headers=auth)
    assert key.status_code == 201, key.text
    token = key.json()["key"]
    # Some data, so that reads and filters have something to find.
    company = httpx.post(fuzz_gateway.url + "/api/records/company", json={"name": "Acme"}, headers=auth)
    assert company.status_code == 201, company.text
    contact = {"first_name": "Ada", "email_address": "ada@example.com", "company_id": company.json()["id"]}
    assert httpx.post(fuzz_gateway.url + "/api/records/contact", json=contact, headers=auth).status_code == 201

    document = httpx.get(fuzz_gateway.url + "/api/openapi", headers=auth, timeout=30).json()
    assert "/api/records/contact" in document["paths"]
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(document))
    report = tmp_path / "report"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(schema),
        "--url",
        fuzz_gateway.url,
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--no-color",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIME_LIMIT_SECONDS, cwd=tmp_path)
    output = result.stdout + result.stderr
    # Long lines are reproduction commands with whole request bodies: keep their start.
    report_text = "\n".join(line[:400] for line in output.splitlines())
    start = min((i for i in (report_text.find("=== ERRORS"), report_text.find("=== FAILURES")) if i >= 0), default=0)
    assert result.returncode == 0, report_text[start:][:20000] + "\n--- gateway log ---\n" + fuzz_gateway.process.logs()
    print(report_text[report_text.find("SUMMARY") :])
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts is not None, report_text[-3000:]
    operations = sum(1 for item in document["paths"].values() for _ in item)
    assert int(counts.group(1)) == int(counts.group(2)) >= 5 * operations  # every operation was really exercised
